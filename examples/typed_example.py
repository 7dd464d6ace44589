"""A fully annotated nabla program, checked by ``mypy --strict examples/typed_example.py``.

nabla ships its type annotations (PEP 561: ``nabla/py.typed``), so a type checker
knows what every public function takes and returns.  This script is the check that
they are right: ``tests/test_typing.py`` runs mypy on it in strict mode and runs it.
It trains a small CNN on a toy task (which quadrant of an 8x8 image is brightest)
with ``value_and_grad`` and Adam, then calls the four ops and the transforms
directly::

    python examples/typed_example.py
    mypy --strict examples/typed_example.py
"""
from __future__ import annotations

import numpy as np
import numpy.typing as npt

import nabla as nb
from nabla import nn

Labels = npt.NDArray[np.int64]


class QuadrantNet(nn.Module):
    """conv -> relu -> max pool -> conv -> relu -> global average -> linear, on (N, 8, 8, 1) images."""

    def __init__(self, classes: int = 4, seed: int = 0) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, kernel_size=3, padding=1, seed=seed)
        self.conv2 = nn.Conv2d(8, 16, kernel_size=3, padding="same", seed=seed + 1)
        self.head = nn.Linear(16, classes, seed=seed + 2)

    def forward(self, x: nb.Tensor) -> nb.Tensor:
        h = nb.relu(self.conv1(x))                           # (N, 8, 8, 8)
        h = nb.max_pool2d(h, kernel_size=2)                  # (N, 4, 4, 8)
        h = nb.relu(self.conv2(h))                           # (N, 4, 4, 16)
        logits: nb.Tensor = self.head(nb.global_avg_pool2d(h))   # (N, classes)
        return logits


def toy_data(n: int, seed: int = 0) -> tuple[nb.Tensor, Labels]:
    """Images of noise with one brighter quadrant; the label is that quadrant (0-3)."""
    rng = np.random.default_rng(seed)
    labels: Labels = rng.integers(0, 4, size=n)
    images = rng.standard_normal((n, 8, 8, 1)).astype(np.float32)
    for i, q in enumerate(labels):
        r, c = divmod(int(q), 2)
        images[i, 4 * r:4 * r + 4, 4 * c:4 * c + 4, 0] += 1.5
    return nb.asarray(images), labels


def loss_fn(model: QuadrantNet, x: nb.Tensor, y: Labels) -> nb.Tensor:
    logits: nb.Tensor = model(x)      # calling a module gives Any (as in PyTorch): say what it is
    return nn.functional.cross_entropy_loss(logits, y)


def train(model: QuadrantNet, x: nb.Tensor, y: Labels, steps: int) -> tuple[QuadrantNet, list[float]]:
    """Full-batch Adam: ``opt.step`` returns a new model of the same type; nothing is mutated."""
    opt = nn.optim.Adam(model, lr=3e-2)
    loss_and_grads = nb.value_and_grad(loss_fn)
    losses: list[float] = []
    for _ in range(steps):
        loss, grads = loss_and_grads(model, x, y)            # grads: a QuadrantNet of gradients
        model = opt.step(grads)
        losses.append(float(loss))
    return model, losses


def ops_and_transforms(seed: int = 0) -> dict[str, tuple[int, ...]]:
    """The four ops and grad, vjp and jvp, called directly; returns the shapes they gave."""
    x = nb.randn((2, 8, 8, 3), seed=seed)                     # NHWC
    w = nb.randn((3, 3, 3, 4), std=0.1, seed=seed + 1)        # HWIO: 3 -> 4 channels
    y = nb.conv2d(x, w, padding="SAME")                       # (2, 8, 8, 4)
    pooled = nb.max_pool2d(y, kernel_size=2)                  # a Tensor ...
    pooled_again, indices = nb.max_pool2d(y, kernel_size=2, return_indices=True)   # ... or a pair
    assert np.array_equal(pooled.numpy(), pooled_again.numpy())
    averaged = nb.avg_pool2d(y, kernel_size=2, stride=2, count_include_pad=False)  # (2, 4, 4, 4)
    upsampled = nb.conv2d_transpose(averaged, w, stride=2, padding="SAME")        # (2, 8, 8, 3)

    def energy(w: nb.Tensor) -> nb.Tensor:
        return nb.mean(nb.conv2d(x, w, padding=1) ** 2)

    g: nb.Tensor = nb.grad(energy)(w)                         # reverse mode
    v = nb.randn(w.shape, seed=seed + 2)
    value: nb.Tensor
    tangent: nb.Tensor
    value, tangent = nb.jvp(energy, (w,), (v,))              # forward mode: <grad, v>
    np.testing.assert_allclose(float(tangent), float(nb.sum(g * v)), rtol=1e-4)

    def pool(x: nb.Tensor) -> nb.Tensor:
        return nb.max_pool2d(x, kernel_size=2)

    out, pullback = nb.vjp(pool, x)                          # the cotangent of x, per max
    (x_bar,) = pullback(nb.ones_like(out))
    assert float(nb.sum(x_bar)) == out.size                  # each max gets a 1
    return {"conv2d": y.shape, "max_pool2d": pooled.shape, "indices": indices.shape,
            "avg_pool2d": averaged.shape, "conv2d_transpose": upsampled.shape, "grad": g.shape,
            "energy": value.shape}


def main() -> None:
    x, y = toy_data(64)
    model, losses = train(QuadrantNet(), x, y, steps=40)
    accuracy = nn.functional.accuracy(model(x), y)
    print(f"loss {losses[0]:.3f} -> {losses[-1]:.3f}, training accuracy {accuracy:.0%}")
    assert losses[-1] < losses[0]
    for name, shape in ops_and_transforms().items():
        print(f"{name:>16}: {shape}")


if __name__ == "__main__":
    main()
