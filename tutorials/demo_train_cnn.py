"""Train a tiny CNN with nabla: the ``make demo`` job.

The task is made up here, from a seed: 12x12 grey images that each hold one
bar, horizontal, vertical or diagonal (3 classes), at a random place, in
Gaussian noise.  The network, in NHWC with HWIO filters::

    conv2d 3x3, 1 -> 8, padding 1  ->  relu  ->  max_pool2d 2x2   (12x12 -> 6x6)
    conv2d 3x3, 8 -> 16, padding 1 ->  relu  ->  avg_pool2d 2x2   (6x6 -> 3x3)
    flatten (144)  ->  matmul + bias (3 logits)  ->  log-softmax cross-entropy

Parameters live in a dict (a pytree); one step of plain SGD is::

    loss, grads = nabla.value_and_grad(loss_fn, argnums=0)(params, x, y)
    params = nabla.tree_map(lambda p, g: p - lr * g, params, grads)

Training runs on the Cython backend (the default).  At the end, the same loss
and gradient are evaluated on the pure-NumPy reference backend, and the largest
difference is printed: the two backends agree to float32 rounding.

Run:  make demo   (or: .venv/bin/python tutorials/demo_train_cnn.py)
"""
from __future__ import annotations

import time

import numpy as np

import nabla as nb

SIZE = 12          # image side
CLASSES = ("horizontal", "vertical", "diagonal")
N_TRAIN, N_TEST = 384, 192
BATCH = 64
STEPS = 150
LR = 0.3


def make_data(n: int, seed: int):
    """``n`` noisy bar images (N, SIZE, SIZE, 1) float32 and their labels (N,) int."""
    rng = np.random.default_rng(seed)
    x = 0.3 * rng.standard_normal((n, SIZE, SIZE, 1)).astype(np.float32)
    y = rng.integers(0, len(CLASSES), n)
    length = SIZE // 2
    for i in range(n):
        r, c = rng.integers(1, SIZE - length, 2)  # top-left corner of the bar's box
        idx = np.arange(length)
        if y[i] == 0:      # horizontal
            x[i, r, c + idx, 0] += 1.0
        elif y[i] == 1:    # vertical
            x[i, r + idx, c, 0] += 1.0
        else:              # diagonal
            x[i, r + idx, c + idx, 0] += 1.0
    return x, y


def init_params(seed: int = 0) -> dict:
    """He-initialised filters (HWIO) and weights, zero biases; float32."""
    return {
        "conv1": nb.randn((3, 3, 1, 8), std=np.sqrt(2 / 9), seed=seed),
        "b1": nb.zeros((8,)),
        "conv2": nb.randn((3, 3, 8, 16), std=np.sqrt(2 / 72), seed=seed + 1),
        "b2": nb.zeros((16,)),
        "dense": nb.randn((3 * 3 * 16, len(CLASSES)), std=np.sqrt(1 / 144), seed=seed + 2),
        "b3": nb.zeros((len(CLASSES),)),
    }


def forward(params: dict, x) -> nb.Tensor:
    """Logits (N, classes) for images x (N, SIZE, SIZE, 1)."""
    h = nb.relu(nb.conv2d(x, params["conv1"], padding=1, bias=params["b1"]))
    h = nb.max_pool2d(h, kernel_size=2)
    h = nb.relu(nb.conv2d(h, params["conv2"], padding=1, bias=params["b2"]))
    h = nb.avg_pool2d(h, kernel_size=2)
    h = nb.flatten(h, start_dim=1)
    return h @ params["dense"] + params["b3"]


def loss_fn(params: dict, x, onehot) -> nb.Tensor:
    """Mean cross-entropy of the log-softmax of the logits."""
    logp = nb.logsoftmax(forward(params, x), axis=-1)
    return -nb.mean(nb.sum(logp * onehot, axis=-1))


def accuracy(params: dict, x, y) -> float:
    return float(np.mean(np.argmax(forward(params, x).numpy(), axis=-1) == y))


def main() -> None:
    x_train, y_train = make_data(N_TRAIN, seed=1)
    x_test, y_test = make_data(N_TEST, seed=2)
    eye = np.eye(len(CLASSES), dtype=np.float32)
    params = init_params(seed=0)
    step_fn = nb.value_and_grad(loss_fn, argnums=0)
    rng = np.random.default_rng(3)

    print(f"nabla {nb.__version__}, backend {nb.get_backend()!r}: "
          f"{N_TRAIN} training images {SIZE}x{SIZE}, classes {', '.join(CLASSES)}")
    print(f"{'step':>5} {'loss':>8} {'train acc':>10} {'test acc':>9}")
    t0 = time.perf_counter()
    for step in range(STEPS + 1):
        batch = rng.choice(N_TRAIN, BATCH, replace=False)
        loss, grads = step_fn(params, x_train[batch], eye[y_train[batch]])
        if step % 15 == 0:
            print(f"{step:5d} {float(loss):8.4f} {accuracy(params, x_train, y_train):10.3f} "
                  f"{accuracy(params, x_test, y_test):9.3f}")
        if step < STEPS:
            params = nb.tree_map(lambda p, g: p - LR * g, params, grads)
    print(f"trained {STEPS} SGD steps (batch {BATCH}, lr {LR}) in {time.perf_counter() - t0:.1f} s")

    # The same loss and gradient on both backends.
    x, onehot = x_test[:BATCH], eye[y_test[:BATCH]]
    loss_c, grads_c = step_fn(params, x, onehot)
    t0 = time.perf_counter()
    with nb.use_backend("reference"):
        loss_r, grads_r = step_fn(params, x, onehot)
    t_ref = time.perf_counter() - t0
    diffs = nb.tree_map(lambda a, b: float(np.max(np.abs(a.numpy() - b.numpy()))), grads_c, grads_r)
    worst = max(diffs, key=diffs.get)
    print(f"cython vs reference backend: |loss diff| = {abs(float(loss_c) - float(loss_r)):.2e}, "
          f"max |grad diff| = {diffs[worst]:.2e} (in {worst!r}); "
          f"one step on the reference backend took {t_ref * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
