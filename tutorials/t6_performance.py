"""
Performance
===========

What decides how long a convolution takes in nabla, measured on the machine
that runs this script: the number of threads, the dtype, the memory layout and
the batch size; then what the Cython backend does to be fast, what the
reference backend costs, and the project's own recorded comparison with
PyTorch.

Every number below is a fresh measurement (the minimum over a few repeats,
which is the least disturbed by other work on the machine), so the figures
change from build to build, and on a busy machine they can be noisy.  For
careful numbers use the benchmark script (``make bench``, see
``benchmarks/README.md``) on a quiet machine.

Run:  ``.venv/bin/python tutorials/t6_performance.py``  (10 to 20 s).
"""
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import matplotlib
import numpy as np

import nabla as nb
from nabla import nn

matplotlib.use("Agg")  # no screen needed
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)

F = nn.functional
rng = np.random.default_rng(0)


def best_ms(fn, repeat=5, number=3):
    """Milliseconds per call of ``fn()``: the minimum over ``repeat`` runs of ``number`` calls,
    after one call to warm up."""
    fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - t0) / number)
    return best * 1e3


def conv_step(x, w, **kw):
    """forward + backward of one convolution: y, then dx and dw (for the gradient of sum(y))."""
    step = nb.grad(lambda xw: nb.sum(nb.conv2d(xw[0], xw[1], **kw)))
    return lambda: step((x, w))


def gflop(x_shape, w_shape, out_hw):
    """2 N Ho Wo Kh Kw Cin Cout: the floating-point operations of one forward convolution."""
    n, kh, kw, cin, cout = x_shape[0], *w_shape
    return 2 * n * out_hw[0] * out_hw[1] * kh * kw * cin * cout / 1e9


# The layer most of the measurements use: a ResNet-style 3x3 convolution,
# 64 -> 64 channels, on a batch of 16 images of 32x32, in NHWC.
X_SHAPE, W_SHAPE = (16, 32, 32, 64), (3, 3, 64, 64)
x32 = rng.standard_normal(X_SHAPE).astype(np.float32)
w32 = (rng.standard_normal(W_SHAPE) * 0.05).astype(np.float32)
GF = gflop(X_SHAPE, W_SHAPE, (32, 32))
print(f"nabla {nb.__version__}, backend {nb.get_backend()!r}, {os.cpu_count()} CPUs, load average "
      f"{os.getloadavg()[0]:.2f} over the last minute")
print(f"conv 3x3 {X_SHAPE} * {W_SHAPE}, padding 1: {GF:.2f} GFLOP per forward")

# %%
# Threads
# -------
#
# The Cython kernels run their outer loops in parallel with OpenMP.  The number
# of threads is the environment variable ``OMP_NUM_THREADS`` (by default, one per
# CPU), and the OpenMP runtime reads it once, when it is loaded: set it **before**
# ``import nabla``, in the shell (``OMP_NUM_THREADS=1 python train.py``) or at
# the top of the script (``os.environ["OMP_NUM_THREADS"] = "1"`` before the
# imports); setting it later changes nothing.  NumPy's matrix products
# (OpenBLAS, used by ``matmul`` and so by ``Linear``) read it too.  Calls too
# small to pay for waking a second thread (under about 5e5 multiply-adds) run
# on one thread whatever it says.
#
# To compare thread counts in one script, run each in a fresh process.  The
# child below times the layer's forward pass and its forward + backward:

CHILD = f"""
import json, time
import numpy as np
import nabla as nb
rng = np.random.default_rng(0)
x = rng.standard_normal({X_SHAPE}).astype(np.float32)
w = (rng.standard_normal({W_SHAPE}) * 0.05).astype(np.float32)
fwd = lambda: nb.conv2d(x, w, padding=1)
step = nb.grad(lambda xw: nb.sum(nb.conv2d(xw[0], xw[1], padding=1)))
def best_ms(fn, repeat=5, number=3):
    fn()
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        ts.append((time.perf_counter() - t0) / number)
    return min(ts) * 1e3
print(json.dumps({{"forward": best_ms(fwd), "forward+backward": best_ms(lambda: step((x, w)))}}))
"""

threads = {}
for n in (1, 2):
    env = dict(os.environ, OMP_NUM_THREADS=str(n))
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True)
    threads[n] = json.loads(out.stdout)
    print(f"OMP_NUM_THREADS={n}: forward {threads[n]['forward']:6.2f} ms ({GF / threads[n]['forward'] * 1e3:4.0f} "
          f"GFLOP/s), forward+backward {threads[n]['forward+backward']:6.2f} ms")
for mode in ("forward", "forward+backward"):
    print(f"{mode}: 2 threads are {threads[1][mode] / threads[2][mode]:.2f}x as fast as 1")

# %%
# On a quiet machine two threads take a little over half the time of one.
# When other processes keep the CPUs busy, though, one thread of a parallel loop
# can be descheduled while the other waits for it at the end of the loop, and
# two threads can then be *slower* than one (the load average printed at the top
# says how busy the machine was when this ran).

fig, ax = plt.subplots(figsize=(6.5, 3.2))
modes = ["forward", "forward+backward"]
pos = np.arange(len(modes))
for k, n in enumerate((1, 2)):
    bars = ax.bar(pos + (k - 0.5) * 0.38, [threads[n][m] for m in modes], 0.38, label=f"OMP_NUM_THREADS={n}")
    ax.bar_label(bars, fmt="%.1f ms", fontsize=8)
ax.set_xticks(pos, modes)
ax.set(ylabel="ms (minimum of 5 repeats)", title=f"conv 3x3, {X_SHAPE[3]} -> {W_SHAPE[3]} channels, "
       f"batch {X_SHAPE[0]} of {X_SHAPE[1]}x{X_SHAPE[2]}: one thread or two")
ax.title.set_fontsize(10)
ax.margins(y=0.15)
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# Dtypes
# ------
#
# The kernels exist for float32 and float64.  A float64 vector register holds
# half as many numbers and every array is twice the bytes, so float64 takes
# at least twice the time.  Use float64 for gradient checks and numerics, float32
# to train (the layers of :mod:`nabla.nn` create float32 parameters unless given
# ``dtype=np.float64``):

x64, w64 = x32.astype(np.float64), w32.astype(np.float64)
dtypes = {
    "float32": (best_ms(lambda: nb.conv2d(x32, w32, padding=1)), best_ms(conv_step(x32, w32, padding=1))),
    "float64": (best_ms(lambda: nb.conv2d(x64, w64, padding=1)), best_ms(conv_step(x64, w64, padding=1))),
}
for name, (f, fb) in dtypes.items():
    print(f"{name}: forward {f:6.2f} ms, forward+backward {fb:6.2f} ms")
print(f"float64 / float32: forward {dtypes['float64'][0] / dtypes['float32'][0]:.2f}x, "
      f"forward+backward {dtypes['float64'][1] / dtypes['float32'][1]:.2f}x")

# %%
# Layouts
# -------
#
# nabla's native layout is NHWC (channels last): the channels of one pixel are
# contiguous, which is what the kernels vectorise over.  ``input_layout="NCHW"``
# accepts and returns PyTorch's order, at the price of a transposed copy of the
# input on the way in and of the output on the way out (and of the gradients on
# the way back).  What that costs for this layer:

x_nchw = np.ascontiguousarray(x32.transpose(0, 3, 1, 2))
assert np.allclose(nb.conv2d(x_nchw, w32, padding=1, input_layout="NCHW").numpy().transpose(0, 2, 3, 1),
                   nb.conv2d(x32, w32, padding=1).numpy(), atol=1e-5)
layouts = {
    "NHWC": (best_ms(lambda: nb.conv2d(x32, w32, padding=1)), best_ms(conv_step(x32, w32, padding=1))),
    "NCHW": (best_ms(lambda: nb.conv2d(x_nchw, w32, padding=1, input_layout="NCHW")),
             best_ms(conv_step(x_nchw, w32, padding=1, input_layout="NCHW"))),
}
for name, (f, fb) in layouts.items():
    print(f"{name}: forward {f:6.2f} ms, forward+backward {fb:6.2f} ms")
print(f"NCHW costs {layouts['NCHW'][0] / layouts['NHWC'][0] - 1:+.0%} forward, "
      f"{layouts['NCHW'][1] / layouts['NHWC'][1] - 1:+.0%} forward+backward")

# %%
# The copies are memory traffic, not arithmetic, so their share is largest for
# layers with little arithmetic per element (few channels, 1x1 filters).  Keep
# a whole model in NHWC and convert once, at the input, if the data come in NCHW.
#
# A chart of the two sections above, relative to float32 NHWC:

fig, ax = plt.subplots(figsize=(6.5, 3.2))
cases = {"float32 NHWC": dtypes["float32"], "float64 NHWC": dtypes["float64"], "float32 NCHW": layouts["NCHW"]}
for k, mode in enumerate(modes):
    rel = [v[k] / cases["float32 NHWC"][k] for v in cases.values()]
    bars = ax.bar(np.arange(3) + (k - 0.5) * 0.38, rel, 0.38, label=mode)
    ax.bar_label(bars, fmt="%.2fx", fontsize=8)
ax.axhline(1, color="grey", lw=0.8)
ax.set_xticks(np.arange(3), list(cases))
ax.set(ylabel="time relative to float32 NHWC", title="dtype and layout, same layer")
ax.title.set_fontsize(10)
ax.margins(y=0.15)
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# Batch size, and what else a training step waits for
# ----------------------------------------------------
#
# A training step of a small CNN on 32x32 RGB images (two convolutions, ReLU,
# max pooling and a ``Linear`` layer), per image, for a few batch sizes.  With
# one image each kernel call is small: fixed costs (Python, the autodiff
# bookkeeping) weigh more, and many calls fall under the single-thread
# threshold.  Larger batches amortise them and give both threads work.
#
# Two things outside nabla's kernels matter as much here, and each is set by
# the environment, so each series below runs in a fresh process:
#
# * NumPy's BLAS (OpenBLAS, which runs the ``Linear`` layer's ``matmul``) has a
#   thread pool of its own.  Its threads keep polling for work for a while
#   after each product, and on a machine with as many cores as threads they
#   then compete for the cores with the OpenMP threads of the next convolution
#   or pool.  ``OPENBLAS_NUM_THREADS=1`` leaves the cores to nabla's threads.
# * Every op returns a new array.  glibc's ``malloc`` hands large blocks to
#   and from the operating system directly (``mmap``), so each fresh result of
#   a megabyte or more is new memory whose pages fault in, one by one, when
#   first written.  ``MALLOC_MMAP_THRESHOLD_`` and ``MALLOC_TRIM_THRESHOLD_``
#   (see ``man mallopt``) make ``malloc`` keep and reuse that memory instead.
#
# The child reports milliseconds and minor page faults per image:

STEP_CHILD = """
import json, resource, time
import numpy as np
import nabla as nb
from nabla import nn
cnn = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1, seed=0), nn.ReLU(), nn.MaxPool2d(2),
                    nn.Conv2d(32, 64, 3, padding=1, seed=1), nn.ReLU(), nn.MaxPool2d(2),
                    nn.Flatten(), nn.Linear(8 * 8 * 64, 10, seed=2))
step = nb.value_and_grad(lambda m, x, y: nn.functional.cross_entropy_loss(m(x), y))
rng = np.random.default_rng(0)
out = {}
for b in (1, 8, 32):
    x = rng.standard_normal((b, 32, 32, 3)).astype(np.float32)
    y = np.arange(b) % 10
    for _ in range(3):
        step(cnn, x, y)
    n = max(5, 32 // b)
    faults, ts = resource.getrusage(resource.RUSAGE_SELF).ru_minflt, []
    for _ in range(n):
        t0 = time.perf_counter()
        step(cnn, x, y)
        ts.append(time.perf_counter() - t0)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    out[b] = {"ms": min(ts) * 1e3 / b, "faults": faults / n / b}
print(json.dumps(out))
"""

MALLOC = {"MALLOC_MMAP_THRESHOLD_": str(32 << 20), "MALLOC_TRIM_THRESHOLD_": str(256 << 20)}
configs = {
    "default": {},
    "OPENBLAS_NUM_THREADS=1": {"OPENBLAS_NUM_THREADS": "1"},
    "OPENBLAS_NUM_THREADS=1, malloc thresholds": {"OPENBLAS_NUM_THREADS": "1", **MALLOC},
}
per_image = {}
for label, extra in configs.items():
    out = subprocess.run([sys.executable, "-c", STEP_CHILD], env=dict(os.environ, **extra),
                         capture_output=True, text=True, check=True)
    per_image[label] = {int(b): v for b, v in json.loads(out.stdout).items()}
batches = sorted(per_image["default"])
print("malloc thresholds:", " ".join(f"{k}={v}" for k, v in MALLOC.items()))
print(f"{'per image: ms (minor page faults)':42s}" + "".join(f"{f'batch {b}':>16s}" for b in batches))
for label, v in per_image.items():
    print(f"{label:42s}" + "".join(f"{v[b]['ms']:>9.3f} ({v[b]['faults']:4.0f})" for b in batches))
best = per_image[list(configs)[-1]]
print(f"batch 32: {per_image['default'][32]['ms'] / best[32]['ms']:.1f}x faster per image with both settings; "
      f"batch 32 vs batch 1 per image: {per_image['default'][1]['ms'] / per_image['default'][32]['ms']:.1f}x "
      f"(default), {best[1]['ms'] / best[32]['ms']:.1f}x (both settings)")

fig, ax = plt.subplots(figsize=(6.5, 3.6))
for label, v in per_image.items():
    ax.plot(batches, [v[b]["ms"] for b in batches], "o-", label=label)
top = max(v[b]["ms"] for v in per_image.values() for b in batches)
ax.set(xscale="log", ylim=(0, 1.45 * top), xlabel="batch size", ylabel="ms per image (forward + backward)",
       title="training step of a small CNN (32x32 RGB), time per image")
ax.set_xticks(batches, [str(b) for b in batches])
ax.minorticks_off()
ax.title.set_fontsize(10)
ax.legend(fontsize=8, loc="upper right")
fig.tight_layout()

# %%
# Fresh pages are expensive: a fault costs on the order of a microsecond (the
# kernel maps and zeroes a 4 KiB page), and by default a step of this model
# takes a couple of hundred per image (the counts above).  ``nb.profile()`` (see :doc:`t4_debugging`) shows both effects
# as kernels, the element-wise ones included, that take several times longer
# inside a training step than alone.  With several processes on one machine the
# thread contention also happens between processes: give each
# ``OMP_NUM_THREADS=1`` (which OpenBLAS reads too, unless
# ``OPENBLAS_NUM_THREADS`` is set), or share the cores out between them.
#
# What the Cython backend does
# ----------------------------
#
# Only the convolution and pooling kernels (and their adjoints) loop over array
# data; the other ops are NumPy.  The Cython backend (``nabla/_kernels/``,
# compiled with ``-O3 -fopenmp`` once per instruction set: AVX-512, AVX2 + FMA
# and the baseline, picked at import; :func:`nabla.show_config` says which):
#
# * runs ungrouped convolutions, and both of their adjoints, as
#   **register-blocked micro-kernels** (``_microkernels.h``): a tile of 8 output
#   pixels x 32 output channels (float32) lives in 16 AVX-512 registers while
#   the loop runs over the filter taps and input channels, loading one filter
#   row and broadcasting one input value per step; each output is written once.
#   With AVX2 the tile is 6 pixels x 16 channels in 12 registers (one table
#   of vector operations serves both); on the baseline the same loops are
#   plain C, left to the compiler to vectorise.  Layers with few channels get narrower tiles, and
#   ``conv2d_transpose`` runs as a convolution of ``dy`` with the flipped filter,
#   one output phase of the stride at a time;
# * makes **no padded copy** of the input: taps that fall on the padding are
#   skipped, and border pixels read a row of zeros, so one code path serves the
#   interior and the border;
# * computes the filter gradient in partial sums over blocks of output rows,
#   fixed by the shapes (not the thread count, so the bits never depend on it)
#   and added up in order at the end, so threads never write to the same memory
#   and need no locks;
# * runs grouped convolutions group by group on the same micro-kernels (a group
#   of 8 outputs gives each output 2 lanes, so no lane idles), depthwise ones on
#   channel-vector kernels, 3x3 stride-1 layers with 16 to 256 input channels by
#   Winograd F(4x4, 3x3) (4x fewer multiply-adds; ``nb.set_conv_algorithm("direct")``
#   turns it off), and the pools in one vectorised pass over NHWC.  Which
#   algorithm a call takes, and why, is on the docs' performance page.
#
# The forward pass of the layer above (the child processes of `Threads`_), in
# floating-point operations per second:

f1, f2 = threads[1]["forward"], threads[2]["forward"]
print(f"conv forward float32: {GF / f1 * 1e3:.0f} GFLOP/s on 1 thread, {GF / f2 * 1e3:.0f} GFLOP/s on 2")

# %%
# For scale, the reports in ``benchmarks/results/`` (see the last section)
# record, for the 2-core AVX-512 development host they were measured on (which
# need not be the machine that ran this script), a register-only peak of about
# 245 GFLOP/s per core in float32, and a 2048x2048 matrix product at 200 to 430
# GFLOP/s in the BLAS libraries of NumPy and PyTorch.
#
# The reference backend
# ---------------------
#
# ``nabla.reference`` computes the same kernels in NumPy: a loop over the
# filter taps, each adding one matrix product of the input cells the tap reads
# into the windows that read them (no padded copy).  It is there to read,
# to debug with (see :doc:`t4_debugging`) and to check the fast kernels against,
# not to train with.  The same convolution, and a 2x2 max pool, on both:

xp = rng.standard_normal((16, 32, 32, 64)).astype(np.float32)


def pool_step():
    return nb.grad(lambda x: nb.sum(nb.max_pool2d(x, kernel_size=2)))(xp)


ref_cases = {
    "conv fwd": lambda: nb.conv2d(x32, w32, padding=1),
    "conv fwd+bwd": conv_step(x32, w32, padding=1),
    "max pool fwd": lambda: nb.max_pool2d(xp, kernel_size=2),
    "max pool fwd+bwd": pool_step,
}
speed = {}
for name, fn in ref_cases.items():
    fast = best_ms(fn, repeat=3, number=2)
    with nb.use_backend("reference"):
        ref = best_ms(fn, repeat=2, number=1)
    speed[name] = (fast, ref)
    print(f"{name:17s} cython {fast:7.2f} ms   reference {ref:8.2f} ms   reference / cython {ref / fast:5.1f}x")

fig, ax = plt.subplots(figsize=(6.5, 3.2))
pos = np.arange(len(speed))
for k, (label, color) in enumerate((("cython", "C0"), ("reference", "C3"))):
    bars = ax.bar(pos + (k - 0.5) * 0.38, [v[k] for v in speed.values()], 0.38, label=label, color=color)
    ax.bar_label(bars, fmt="%.1f", fontsize=7)
ax.set_xticks(pos, list(speed))
ax.set(yscale="log", ylabel="ms (log scale)", title="the same kernels on the two backends")
ax.title.set_fontsize(10)
ax.margins(y=0.2)
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# The project's benchmark against PyTorch
# ---------------------------------------
#
# ``benchmarks/results/`` keeps the peer benchmark's reports (Markdown tables of
# milliseconds per case: PyTorch in NCHW and in channels_last, JAX, NumPy and
# nabla, on the layer shapes of LeNet, CIFAR ResNets, a ResNet stem, a DCGAN
# transposed convolution and common pools; see ``benchmarks/README.md``).
# They were recorded on the development host, not on the machine that built
# this page, and are read here, not re-run.  Each report is one state of the
# Cython kernels:


def find_results():
    """benchmarks/results/ of this checkout (the script runs from the repository root,
    from tutorials/, or under sphinx-gallery, where sys.argv[0] is this file)."""
    starts = [Path(sys.argv[0]).resolve().parent, Path.cwd(), Path(nb.__file__).resolve().parent]
    for start in starts:
        for d in (start, *start.parents):
            if (d / "benchmarks" / "results").is_dir():
                return d / "benchmarks" / "results"
    return None


def first_number(cell):
    """'**0.164 (68 GF/s)**' -> 0.164; '' -> None."""
    text = cell.replace("*", "").strip()
    return float(text.split()[0]) if text else None


def parse_report(path):
    """(title, host line, rows): rows of (case, op, mode, {column: ms}) from the main table."""
    lines = path.read_text().splitlines()
    title = lines[0].lstrip("# ").strip()
    host = next((ln for ln in lines if ln.startswith("Run:")), "")
    rows, header, case, op = [], None, None, None
    for ln in lines:
        if ln.startswith("| case | op |"):
            header = [c.strip() for c in ln.strip("|").split("|")]
            continue
        if header is None or not ln.startswith("|"):
            if header is not None and rows:
                break
            continue
        cells = [c.strip() for c in ln.strip().strip("|").split("|")]
        if set(cells[0]) <= {"-"} and cells[0]:
            continue
        row = dict(zip(header, cells))
        case, op = row["case"] or case, row["op"] or op
        ms = {k: first_number(row[k]) for k in ("torch_nchw", "torch_cl", "nabla")}
        rows.append((case, op, row["mode"], ms))
    return title, host, rows


def ratio_to_torch(ms):
    """nabla's time / the faster PyTorch layout's, or NaN where a number is missing."""
    torch = [t for t in ((ms or {}).get("torch_nchw"), (ms or {}).get("torch_cl")) if t]
    return ms["nabla"] / min(torch) if torch and ms.get("nabla") else np.nan


results = find_results()
reports = sorted(results.glob("*.md")) if results is not None else []
parsed = {}
for path in reports:
    try:
        parsed[path.name] = parse_report(path)
    except (KeyError, ValueError, IndexError) as e:  # a report in another format: skip it
        print(f"{path.name}: not parsed ({e!r})")
# Only full peer-benchmark runs are compared below; other reports (one kernel's A/B
# timing, one case family on each instruction set) are listed and left out.
for name, (title, host, rows) in list(parsed.items()):
    print(f"{name}: {title}, {len(rows)} timings")
    if not title.startswith("Peer benchmark"):
        del parsed[name]
hosts = {m.group(1) for _, host, _ in parsed.values() for m in [re.search(r" on the (.*? host)", host)] if m}
print("recorded on:", "; ".join(sorted(hosts)) or "(not stated)")

# %%
# The ratio plotted is nabla's time divided by the faster of the two PyTorch
# layouts (almost always channels_last, PyTorch's oneDNN path), case by case:
# below 1, nabla was faster.  The reports are in the order they were recorded,
# from the first direct loops to the register-blocked kernels:

if parsed:
    order = ["2026-11-25-core.md", "2026-11-25-fast-conv.md", "2026-11-25-session-end.md"]
    names = [n for n in order if n in parsed] + [n for n in parsed if n not in order]
    cases = list(dict.fromkeys(c for c, _, _, _ in parsed[names[-1]][2]))
    fig, axes = plt.subplots(1, 2, figsize=(10, 5.2), sharey=True)
    for ax, mode in zip(axes, ("fwd", "fwd+bwd")):
        for k, name in enumerate(names):
            table = {(c, m): ms for c, _, m, ms in parsed[name][2]}
            ratios = [ratio_to_torch(table.get((c, mode))) for c in cases]
            ax.plot(ratios, np.arange(len(cases)) + (k - (len(names) - 1) / 2) * 0.22, "os^D"[k % 4],
                    color=f"C{k}", label=name.removesuffix(".md"))
        ax.axvline(1, color="black", lw=0.8)
        ax.set(xscale="log", title=mode, xlabel="nabla time / fastest PyTorch (log; < 1: nabla faster)")
        ax.grid(axis="x", which="both", alpha=0.3)
    axes[0].set_yticks(np.arange(len(cases)), [c.replace("_", " ") for c in cases], fontsize=8)
    axes[0].invert_yaxis()
    axes[1].legend(fontsize=8, loc="lower right")
    fig.suptitle("recorded peer benchmark (benchmarks/results/, on the development host)", fontsize=10)
    fig.tight_layout()
    for name in names:
        finite = np.array([r for r in (ratio_to_torch(ms) for _, _, _, ms in parsed[name][2]) if np.isfinite(r)])
        print(f"{name}: nabla / fastest PyTorch, median {np.median(finite):.2f}x, "
              f"range {finite.min():.2f}x to {finite.max():.2f}x over {len(finite)} timings")
else:
    print("no benchmarks/results/ in this checkout: nothing to plot")

# %%
# The first report has the correct but plain direct loops, roughly an order of
# magnitude behind PyTorch; the register-blocked micro-kernels brought the
# convolutions to within about 0.6x to 1.2x of PyTorch's time.  To record a new
# report, run the peer benchmark as ``benchmarks/README.md`` describes, on a
# quiet machine.
