"""Checked mode: find the kernel whose fast result is wrong.

A backend with a planted bug stands in for a broken Cython kernel: its filter
gradient is off by 0.05 in one cell.  Checked mode runs every kernel on it and
on the reference backend, and stops at the first that disagrees.
"""
import types

import numpy as np

import nabla as nb
from nabla import nn

cython = nb.debug.backend_kernels("cython")
buggy = types.SimpleNamespace(**{k: getattr(cython, k) for k in nb.debug.kernel_names() if hasattr(cython, k)})


def conv2d_filter_grad_with_a_bug(*args, **kwargs):
    dw = cython.conv2d_filter_grad(*args, **kwargs).copy()
    dw[1, 1, 0, 2] += 0.05
    return dw


buggy.conv2d_filter_grad = conv2d_filter_grad_with_a_bug
nb.debug.register_backend("buggy", buggy)

model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, seed=0), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Flatten(), nn.Linear(4 * 4 * 4, 10, seed=1))
x = np.random.default_rng(0).standard_normal((8, 8, 8, 1)).astype(np.float32)
y = np.arange(8)


def loss_fn(model):
    return nn.functional.cross_entropy_loss(model(x), y)


with nb.checked():                        # Cython against the reference: they agree
    nb.grad(loss_fn)(model)
print("cython and reference agree on every kernel of a training step")

try:
    with nb.checked(fast="buggy", save_to="repro.npz"):
        nb.grad(loss_fn)(model)
except nb.BackendMismatchError as e:
    print(e)

# The saved inputs reproduce it in one call, without the model:
try:
    nb.debug.replay("repro.npz")
except nb.BackendMismatchError as e:
    print("replay:", str(e).splitlines()[0])
