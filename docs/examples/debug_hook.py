"""A tool of your own: a hook sees every evaluation.  Here, a FLOP counter for
the convolution kernels of one training step, in six lines."""
import numpy as np

import nabla as nb
from nabla import nn

flops = {}


def count_conv_flops(event):
    if event.op.startswith("conv2d"):
        x, w = event.inputs[0], event.inputs[1]          # conv2d: x, filter; adjoints: similar sizes
        out = event.output
        macs = out.size * (w.size // w.shape[-1]) if event.op == "conv2d" else x.size * w.shape[-1] * 9
        flops[(event.op, event.kind)] = flops.get((event.op, event.kind), 0) + 2 * macs


model = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, seed=0), nn.ReLU(),
                      nn.Conv2d(16, 16, 3, padding=1, seed=1), nn.Flatten(), nn.Linear(16 * 16 * 16, 10, seed=2))
x = np.random.default_rng(0).standard_normal((8, 16, 16, 3)).astype(np.float32)
with nb.debug.hook(count_conv_flops):
    nb.grad(lambda m: nn.functional.cross_entropy_loss(m(x), np.arange(8)))(model)
for (op, kind), n in sorted(flops.items()):
    print(f"{op:<20} {kind:<8} {n / 1e6:8.2f} MFLOP")
