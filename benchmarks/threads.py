"""Threads under pressure: a training step beside a busy process, and concurrent callers.

    python benchmarks/threads.py [--seconds 2] [--only load|concurrent] [--torch]

1. Under load.  One training step (forward, gradients of every parameter, Adam update)
   of a small CNN (the README's digits model, batch 32 of 8x8x1), timed on a quiet
   machine and then beside one busy process (a Python loop spinning on one core).
   Prints both medians and their ratio (target: loaded / quiet <= 2.5).  With --torch,
   the same model in PyTorch (CPU, same thread count) for comparison.
2. Concurrent callers.  Each op (conv2d forward, conv2d's two adjoints through grad,
   max_pool2d and avg_pool2d forward and backward) called repeatedly from one Python
   thread, then from two at once, in turn (5 pairs of windows; the median ratio):
   throughput of two over one (target: >= 1.0 with
   default settings; >= 1.7 on 2 cores with ``nabla.set_num_threads(1)``), quiet and
   beside a busy process.

Medians of repeated timings; the machine should be otherwise idle.
"""
import argparse
import contextlib
import os
import subprocess
import sys
import threading
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import nabla as nb  # noqa: E402
from nabla import nn  # noqa: E402

BUSY = [sys.executable, "-c", "while True: pass"]
PAIRS = 5   # concurrent-caller timings: alternating one-thread / two-thread windows


class busy_process:
    """``with busy_process():`` one process spinning on a core for the block."""

    def __enter__(self):
        self.proc = subprocess.Popen(BUSY)
        time.sleep(0.3)
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()


def median_time(fn, seconds, min_reps=20):
    fn()
    fn()
    samples, start = [], time.perf_counter()
    while len(samples) < min_reps or time.perf_counter() - start < seconds:
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return float(np.median(samples))


def nabla_train_step(model, x, y, make_optimizer):
    """A function that runs one training step of ``model`` (cross-entropy on x, y) and
    keeps the updated model for the next call (also used by train_step.py)."""
    opt = make_optimizer(model)
    loss_and_grad = nb.value_and_grad(lambda m, x, y: nn.functional.cross_entropy_loss(m(x), y))
    state = {"model": model}

    def step():
        _, grads = loss_and_grad(state["model"], x, y)
        state["model"] = opt.step(grads)
    return step


def nabla_step():
    rng = np.random.default_rng(0)
    x = rng.random((32, 8, 8, 1), dtype=np.float32)
    y = rng.integers(0, 10, 32)
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, seed=0), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1, seed=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(2 * 2 * 32, 64, seed=2), nn.ReLU(), nn.Linear(64, 10, seed=3))
    return nabla_train_step(model, x, y, lambda m: nn.optim.Adam(m, lr=1e-3))


def torch_step():
    import torch
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.BatchNorm2d(16), torch.nn.ReLU(),
        torch.nn.MaxPool2d(2), torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.BatchNorm2d(32),
        torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(128, 64),
        torch.nn.ReLU(), torch.nn.Linear(64, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = torch.rand(32, 1, 8, 8), torch.randint(0, 10, (32,))

    def step():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return step


def under_load(seconds, with_torch):
    print(f"## A training step beside one busy process ({nb.get_num_threads()} threads)\n")
    print("| framework | quiet ms | loaded ms | loaded / quiet |")
    print("|---|---|---|---|")
    steps = [("nabla", nabla_step())]
    if with_torch:
        import torch
        torch.set_num_threads(nb.get_num_threads())
        steps.append((f"PyTorch {torch.__version__}", torch_step()))
    for name, step in steps:
        quiet = median_time(step, seconds)
        with busy_process():
            loaded = median_time(step, seconds)
        print(f"| {name} | {quiet * 1e3:.2f} | {loaded * 1e3:.2f} | {loaded / quiet:.2f} |")
    print()


def op_calls():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 32, 32, 64), dtype=np.float32)
    w = rng.standard_normal((3, 3, 64, 64), dtype=np.float32)
    grad_conv = nb.grad(lambda x, w: nb.sum(nb.conv2d(x, w, padding=1)), argnums=(0, 1))
    grad_max = nb.grad(lambda x: nb.sum(nb.max_pool2d(x, kernel_size=2)))
    grad_avg = nb.grad(lambda x: nb.sum(nb.avg_pool2d(x, kernel_size=3, stride=1, padding=1)))
    return {
        "conv2d": lambda: nb.conv2d(x, w, padding=1),
        "conv2d fwd+bwd": lambda: grad_conv(x, w),
        "max_pool2d": lambda: nb.max_pool2d(x, kernel_size=2),
        "max_pool2d fwd+bwd": lambda: grad_max(x),
        "avg_pool2d": lambda: nb.avg_pool2d(x, kernel_size=3, stride=1, padding=1),
        "avg_pool2d fwd+bwd": lambda: grad_avg(x),
    }


def throughput(fn, threads, seconds):
    """Calls per second of ``threads`` Python threads each calling fn in a loop."""
    counts, stop = [0] * threads, threading.Event()

    def loop(k):
        while not stop.is_set():
            fn()
            counts[k] += 1
    fn()
    workers = [threading.Thread(target=loop, args=(k,)) for k in range(threads)]
    start = time.perf_counter()
    for t in workers:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in workers:
        t.join()
    return sum(counts) / (time.perf_counter() - start)


def concurrent(seconds):
    print("## Two Python threads calling an op at once: throughput over one thread\n")
    print("| op | default | set_num_threads(1) | default, busy process | set_num_threads(1), busy |")
    print("|---|---|---|---|---|")
    calls = op_calls()
    default = nb.get_num_threads()
    for name, fn in calls.items():
        row = []
        for loaded in (False, True):
            for n in (default, 1):
                with nb.num_threads(n), busy_process() if loaded else contextlib.nullcontext():
                    # One thread, then two, in turn: the median of the pairs' ratios, so
                    # that the machine's drift over seconds cancels out.
                    ratio = float(np.median([throughput(fn, 2, seconds / PAIRS)
                                             / throughput(fn, 1, seconds / PAIRS)
                                             for _ in range(PAIRS)]))
                row.append(f"{ratio:.2f}")
        print(f"| {name} | " + " | ".join(row) + " |")
    print()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--only", choices=["load", "concurrent"], default=None)
    parser.add_argument("--torch", action="store_true", help="also time the step in PyTorch")
    args = parser.parse_args()
    print(f"nabla threads: {nb.get_num_threads()}, CPUs usable: {len(os.sched_getaffinity(0))}, "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')}, "
          f"GOMP_SPINCOUNT={os.environ.get('GOMP_SPINCOUNT', '(unset)')}\n")
    if args.only in (None, "load"):
        under_load(args.seconds, args.torch)
    if args.only in (None, "concurrent"):
        concurrent(args.seconds)


if __name__ == "__main__":
    main()
