"""``nabla.nn``: layers, initialisers, losses and optimizers for training models.

A model is a :class:`Module`, which is also a pytree, so training is a plain
loop over nabla's transforms::

    import nabla as nb
    from nabla import nn

    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(4 * 4 * 8, 10))
    opt = nn.optim.Adam(model, lr=1e-3)

    def loss_fn(model, x, y):
        return nn.functional.cross_entropy_loss(model(x), y)

    loss, grads = nb.value_and_grad(loss_fn)(model, x, y)   # grads: a Sequential of gradients
    model = opt.step(grads)                                 # a new model; nothing mutated
"""
from . import functional, init, optim
from .layers import (AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, BatchNorm2d, Conv2d, ConvTranspose2d,
                     Dropout, Flatten, Identity, Linear, MaxPool2d, MaxUnpool2d, ReLU, Sigmoid, Tanh)
from .module import Module, Sequential

__all__ = [
    "Module", "Sequential", "Conv2d", "ConvTranspose2d", "Linear", "MaxPool2d", "AvgPool2d", "Flatten",
    "Identity", "ReLU", "Tanh", "Sigmoid", "Dropout", "BatchNorm2d", "MaxUnpool2d", "AdaptiveAvgPool2d",
    "AdaptiveMaxPool2d", "functional", "init", "optim",
]
