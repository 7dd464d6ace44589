"""
Training a CNN on handwritten digits
====================================

The ``make demo`` job: a small CNN written with :mod:`nabla.nn`, trained with
:mod:`nabla.nn.optim` on real handwritten digits.

The data are the 1,797 scans of handwritten digits that scikit-learn ships
inside its package (``sklearn.datasets.load_digits``: 8x8 grey images, 16
levels, from the UCI "Optical Recognition of Handwritten Digits" set; no
download).  They are split 80/20 with a fixed seed.  The network, in NHWC with
HWIO filters, is LeNet-shaped::

    Conv2d 3x3, 1 -> 16, pad 1 -> BatchNorm2d -> ReLU -> MaxPool2d 2   8x8 -> 4x4
    Conv2d 3x3, 16 -> 32, pad 1 -> BatchNorm2d -> ReLU -> MaxPool2d 2  4x4 -> 2x2
    Flatten (128) -> Linear 64 -> ReLU -> Linear 10                     logits

trained with Adam and a cosine learning-rate decay.  The training step is the
whole of nabla's training loop::

    loss, grads = nb.value_and_grad(loss_fn)(model, x, y)   # grads: shaped like the model
    model = opt.step(grads)                                 # a new model, nothing mutated

At the end it writes ``demo_digits.png`` (curves, the learned first-layer
filters, held-out digits with their predicted labels), then trains one more
epoch on the pure-NumPy reference backend and compares the two backends.

Run:  ``make demo``   (or: ``.venv/bin/python tutorials/t3_train_digits.py``)
"""
from __future__ import annotations

import sys
import time

import matplotlib
import numpy as np
from sklearn.datasets import load_digits
from tqdm import tqdm

import nabla as nb
from nabla import nn

matplotlib.use("Agg")  # no screen needed
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)

F = nn.functional
EPOCHS, BATCH, LR, SEED = 15, 32, 3e-3, 0
PNG = "demo_digits.png"


def load_data(seed: int = SEED):
    """Digits as NHWC float32 in [0, 1], split 80/20: (x_train, y_train, x_test, y_test)."""
    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[..., None]   # (1797, 8, 8, 1)
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(x))
    n_train = int(0.8 * len(x))
    train, test = order[:n_train], order[n_train:]
    return x[train], y[train], x[test], y[test]


def make_model(seed: int = SEED) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, seed=seed), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1, seed=seed + 1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(2 * 2 * 32, 64, seed=seed + 2), nn.ReLU(), nn.Linear(64, 10, seed=seed + 3),
    )


def loss_fn(model, x, y):
    return F.cross_entropy_loss(model(x), y)


def evaluate(model, x, y) -> tuple[float, np.ndarray]:
    """Held-out accuracy and predictions, in evaluation mode (BatchNorm's running statistics)."""
    model.eval()
    logits = model(x)
    model.train()
    return F.accuracy(logits, y), np.argmax(logits.numpy(), axis=-1)


def run_epoch(model, opt, step_fn, x, y, rng, desc: str, compare=None):
    """One pass over shuffled batches; returns (model, mean loss, seconds, largest backend
    differences [loss, gradient])."""
    order = rng.permutation(len(x))
    batches = [order[i:i + BATCH] for i in range(0, len(x), BATCH)]
    losses, worst = [], [0.0, 0.0]
    t0 = time.perf_counter()
    quiet = "sphinx_gallery" in sys.modules  # a progress bar is for a terminal, not the docs page
    with tqdm(batches, desc=desc, leave=False, unit="batch", disable=quiet) as bar:
        for idx in bar:
            loss, grads = step_fn(model, x[idx], y[idx])
            if compare is not None:  # the same step on the other backend: same model, same batch
                loss2, grads2 = compare(model, x[idx], y[idx])
                worst[0] = max(worst[0], abs(float(loss) - float(loss2)))
                worst[1] = max([worst[1]] + nb.tree_leaves(nb.tree_map(
                    lambda a, b: float(np.max(np.abs(a.numpy() - b.numpy()))), grads, grads2)))
            model = opt.step(grads)
            losses.append(float(loss))
            bar.set_postfix(loss=f"{losses[-1]:.4f}")
    return model, float(np.mean(losses)), time.perf_counter() - t0, worst


def plot(history, model, x_test, y_test, pred, path: str = PNG):
    fig = plt.figure(figsize=(12, 7.5))
    grid = fig.add_gridspec(3, 8, height_ratios=[1.2, 0.7, 1.0])
    epochs = np.arange(1, len(history["loss"]) + 1)

    ax = fig.add_subplot(grid[0, :4])
    ax.plot(epochs, history["loss"], "o-")
    ax.set(title="training loss (cross-entropy)", xlabel="epoch", yscale="log")
    ax = fig.add_subplot(grid[0, 4:])
    ax.plot(epochs, history["acc"], "o-", color="C2")
    ax.set(title="held-out accuracy", xlabel="epoch", ylim=(min(history["acc"]) - 0.01, 1.0))
    ax.grid(alpha=0.3)

    w = model[0].weight.numpy()  # (3, 3, 1, 16) HWIO
    row = grid[1, :].subgridspec(1, 16)
    for k in range(16):
        ax = fig.add_subplot(row[0, k])
        ax.imshow(w[:, :, 0, k], cmap="RdBu_r", vmin=-np.abs(w).max(), vmax=np.abs(w).max())
        ax.set_axis_off()
        ax.set_title(f"filter {k}", fontsize=7)

    sub = grid[2, :].subgridspec(2, 16)
    wrong = np.flatnonzero(pred != y_test)
    show = np.concatenate([wrong, np.flatnonzero(pred == y_test)])[:32]
    for k, i in enumerate(show):
        ax = fig.add_subplot(sub[k // 16, k % 16])
        ax.imshow(x_test[i, :, :, 0], cmap="gray_r")
        ok = pred[i] == y_test[i]
        ax.set_title(f"{pred[i]}" if ok else f"{pred[i]} (is {y_test[i]})", fontsize=8,
                     color="black" if ok else "red")
        ax.set_axis_off()
    fig.suptitle(f"nabla: a CNN on scikit-learn's handwritten digits -- held-out accuracy "
                 f"{history['acc'][-1]:.3f}; mistakes first, in red", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=100)  # left open: the docs build shows it below the script


def main() -> None:
    x_train, y_train, x_test, y_test = load_data()
    model = make_model()
    steps_per_epoch = -(-len(x_train) // BATCH)
    opt = nn.optim.Adam(model, lr=nn.optim.cosine_decay(LR, EPOCHS * steps_per_epoch, alpha=0.05))
    step_fn = nb.value_and_grad(loss_fn)
    rng = np.random.default_rng(SEED)
    n_params = sum(p.size for p in model.parameters())
    print(f"nabla {nb.__version__}, backend {nb.get_backend()!r}: {len(x_train)} training and "
          f"{len(x_test)} held-out digits (8x8), a {n_params:,}-parameter CNN, Adam, batch {BATCH}")

    history = {"loss": [], "acc": [], "seconds": []}
    for epoch in range(1, EPOCHS + 1):
        model, loss, seconds, _ = run_epoch(model, opt, step_fn, x_train, y_train, rng, f"epoch {epoch:2d}")
        acc, pred = evaluate(model, x_test, y_test)
        for k, v in zip(history, (loss, acc, seconds)):
            history[k].append(v)
        tqdm.write(f"epoch {epoch:2d}  training loss {loss:.4f}  held-out accuracy {acc:.3f}  {seconds:.2f} s")

    plot(history, model, x_test, y_test, pred)
    print(f"wrote {PNG}: loss and accuracy curves, first-layer filters, held-out digits")

    # One more epoch on the pure-NumPy reference backend, the Cython loss of each
    # batch computed beside it.  (A copy of the optimizer's state, so the epoch
    # above is not disturbed; BatchNorm's running statistics do move on.)
    ref_opt = nn.optim.Adam(model, lr=LR * 0.05)
    with nb.use_backend("reference"):
        _, _, ref_seconds, worst = run_epoch(model, ref_opt, step_fn, x_train, y_train, rng, "reference",
                                             compare=lambda m, x, y: _on_cython(step_fn, m, x, y))
    fast = float(np.median(history["seconds"]))
    print(f"seconds per epoch: cython {fast:.2f}, reference {ref_seconds:.2f} ({ref_seconds / fast:.0f}x); "
          f"largest difference between the backends on the same batch: |loss| {worst[0]:.1e}, "
          f"|gradient| {worst[1]:.1e}")
    print(f"held-out accuracy: {history['acc'][-1]:.3f}")


def _on_cython(fn, *args):
    with nb.use_backend("cython"):
        return fn(*args)


if __name__ == "__main__":
    main()
