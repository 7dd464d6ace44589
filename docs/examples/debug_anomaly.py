"""detect_anomaly: the first op that makes a NaN or an Inf, forward or backward."""
import numpy as np

import nabla as nb
from nabla import nn

x = np.random.default_rng(0).standard_normal((4, 8, 8, 1)).astype(np.float32)
conv = nn.Conv2d(1, 4, 3, padding=1, seed=0)


def loss_log(conv):
    h = conv(x)
    return nb.mean(nb.log(h * h - 0.1))       # a bug: h*h - 0.1 can be negative


def loss_sqrt(conv):
    h = nb.relu(conv(x))
    return nb.mean(nb.sqrt(h))                # finite forward; d sqrt(h) at h = 0 is inf


with np.errstate(all="ignore"):
    try:
        with nb.detect_anomaly():
            loss_log(conv)
    except FloatingPointError as e:
        print(e)

    try:
        with nb.detect_anomaly():
            value, grads = nb.value_and_grad(loss_sqrt)(conv)
    except FloatingPointError as e:
        print(e)
