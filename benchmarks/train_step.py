"""One training step, end to end: nabla against the same model in PyTorch.

    python benchmarks/train_step.py [--seconds 3] [--threads N]

A step is the forward pass, the gradients of every parameter and an optimizer update
(SGD with momentum 0.9).  Two models:

* LeNet-5 on 28x28x1 images, batch 64: conv 5x5 6 (pad 2), max pool 2, conv 5x5 16,
  max pool 2, linear 400-120-84-10, ReLU.
* A CIFAR ResNet-8 on 32x32x3, batch 32: a 3x3 16-channel stem, three stages of one
  basic block (16, 32, 64 channels; stride 2 between stages, 1x1 projection shortcuts),
  BatchNorm after every conv, global average pool, linear 64-10.

Prints the median step time of each framework and nabla / PyTorch (below 1: nabla
faster).  PyTorch (CPU, NCHW, the same thread count) is optional: without it only
nabla's times are printed.  Run with the machine otherwise idle.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import nabla as nb  # noqa: E402
from nabla import nn  # noqa: E402
from threads import median_time, nabla_train_step  # noqa: E402  (benchmarks/threads.py)


# ------------------------------------------------------------------------ nabla

class BasicBlock(nn.Module):
    """conv-BN-ReLU-conv-BN plus the shortcut (a 1x1 conv + BN when the shape changes)."""

    def __init__(self, c_in, c_out, stride, seed):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False, seed=seed)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False, seed=seed + 1)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.project = stride != 1 or c_in != c_out
        if self.project:
            self.short = nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False, seed=seed + 2)
            self.short_bn = nn.BatchNorm2d(c_out)

    def forward(self, x):
        y = nb.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return nb.relu(y + (self.short_bn(self.short(x)) if self.project else x))


class ResNet8(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1, bias=False, seed=0)
        self.bn = nn.BatchNorm2d(16)
        self.blocks = [BasicBlock(16, 16, 1, 10), BasicBlock(16, 32, 2, 20), BasicBlock(32, 64, 2, 30)]
        self.fc = nn.Linear(64, 10, seed=40)

    def forward(self, x):
        x = nb.relu(self.bn(self.stem(x)))
        for block in self.blocks:
            x = block(x)
        return self.fc(nb.mean(x, axis=(1, 2)))


def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2, seed=0), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5, seed=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120, seed=2), nn.ReLU(), nn.Linear(120, 84, seed=3), nn.ReLU(),
        nn.Linear(84, 10, seed=4))


def nabla_step(model, x, y):
    return nabla_train_step(model, x, y, lambda m: nn.optim.SGD(m, lr=0.01, momentum=0.9))


# ---------------------------------------------------------------------- PyTorch

def torch_models():
    import torch
    from torch import nn as tnn

    class TBlock(tnn.Module):
        def __init__(self, c_in, c_out, stride):
            super().__init__()
            self.conv1 = tnn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
            self.bn1 = tnn.BatchNorm2d(c_out)
            self.conv2 = tnn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
            self.bn2 = tnn.BatchNorm2d(c_out)
            self.short = (tnn.Sequential(tnn.Conv2d(c_in, c_out, 1, stride, bias=False), tnn.BatchNorm2d(c_out))
                          if stride != 1 or c_in != c_out else tnn.Identity())

        def forward(self, x):
            y = torch.relu(self.bn1(self.conv1(x)))
            return torch.relu(self.bn2(self.conv2(y)) + self.short(x))

    resnet = tnn.Sequential(
        tnn.Conv2d(3, 16, 3, 1, 1, bias=False), tnn.BatchNorm2d(16), tnn.ReLU(),
        TBlock(16, 16, 1), TBlock(16, 32, 2), TBlock(32, 64, 2),
        tnn.AdaptiveAvgPool2d(1), tnn.Flatten(), tnn.Linear(64, 10))
    lenet = tnn.Sequential(
        tnn.Conv2d(1, 6, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Conv2d(6, 16, 5), tnn.ReLU(),
        tnn.MaxPool2d(2), tnn.Flatten(), tnn.Linear(400, 120), tnn.ReLU(), tnn.Linear(120, 84),
        tnn.ReLU(), tnn.Linear(84, 10))
    return lenet, resnet


def torch_step(model, x, y):
    import torch
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))), torch.from_numpy(y)

    def step():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=nb.get_num_threads())
    args = parser.parse_args()
    nb.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    data = {"LeNet-5, 28x28x1, batch 64": (rng.random((64, 28, 28, 1), dtype=np.float32),
                                            rng.integers(0, 10, 64)),
            "ResNet-8, 32x32x3, batch 32": (rng.random((32, 32, 32, 3), dtype=np.float32),
                                             rng.integers(0, 10, 32))}
    models = {"LeNet-5, 28x28x1, batch 64": lenet5(), "ResNet-8, 32x32x3, batch 32": ResNet8()}
    try:
        import torch
        torch.set_num_threads(args.threads)
        tmodels = dict(zip(data, torch_models()))
        peer = f"PyTorch {torch.__version__}"
    except ImportError:
        tmodels, peer = {}, None
    print(f"One training step (forward, all gradients, SGD momentum), {args.threads} threads, "
          f"nabla kernels: {nb.show_config(mode='dicts').get('isa', 'reference')}\n")
    print(f"| model | nabla ms | {peer or 'PyTorch'} ms | nabla / PyTorch |")
    print("|---|---|---|---|")
    for name, (x, y) in data.items():
        t_nabla = median_time(nabla_step(models[name], x, y), args.seconds, min_reps=10)
        if name in tmodels:
            t_torch = median_time(torch_step(tmodels[name], x, y), args.seconds, min_reps=10)
            print(f"| {name} | {t_nabla * 1e3:.2f} | {t_torch * 1e3:.2f} | {t_nabla / t_torch:.2f} |")
        else:
            print(f"| {name} | {t_nabla * 1e3:.2f} | - | - |")


if __name__ == "__main__":
    main()
