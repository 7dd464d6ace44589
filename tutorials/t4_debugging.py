"""
Debugging a model
=================

When a model gives a wrong number, a NaN, or is slow, the question is always
*which op* and *which line of my code*.  nabla answers it with tools that all
sit on one seat that every primitive evaluation passes through (see
:doc:`/debugging`); none of them changes a result.  This tutorial uses four of
them on small models:

1. the **reference backend**: every kernel in plain NumPy, one formula per
   function, to read and to step through;
2. **checked mode** (:func:`nabla.checked`): every kernel on two backends,
   compared, stopping at the first that disagrees;
3. **anomaly detection** (:func:`nabla.detect_anomaly`): the first op that
   makes a NaN or an Inf, forward or backward;
4. the **profiler** (:func:`nabla.profile`): where the time of a training step goes.

Run:  ``.venv/bin/python tutorials/t4_debugging.py``  (a few seconds).
"""
import inspect
import os
import tempfile
import types

import matplotlib
import matplotlib.patches
import numpy as np

import nabla as nb
import nabla.reference
from nabla import nn

matplotlib.use("Agg")  # no screen needed
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)

F = nn.functional
rng = np.random.default_rng(0)

# %%
# 1. Step through the reference backend
# -------------------------------------
#
# Only a few kernels touch array data in loops: the forward and adjoint
# kernels of convolution and pooling.  The Cython backend (the default) runs
# them as compiled, register-blocked loops, which are fast but opaque.  The
# reference backend, ``nabla.reference``, has each of them in NumPy: a
# docstring that states the formula, and code that follows it.  Here is the
# whole forward convolution:

print(inspect.getsource(nabla.reference.conv2d))

# %%
# ``tap_slices`` (in ``nabla/reference/_windows.py``, where all the window
# arithmetic lives) gives, for one filter tap ``(a, b)``, the windows whose tap
# lands inside the input and the input cells they read, as two slices; the
# kernel adds, tap by tap, those cells times the tap's filter matrix into those
# windows.  To step through it, switch backends for a block and set a breakpoint
# in that function (``breakpoint()``, or your debugger's breakpoint on
# ``nabla/reference/conv.py``).
#
# The kernels are called with NumPy arrays and plain parameters, so one can
# also be called directly, outside any model.  The two backends' kernel
# modules are at hand as :func:`nabla.debug.backend_kernels`:

x = rng.standard_normal((2, 6, 6, 3)).astype(np.float32)
w = rng.standard_normal((3, 3, 3, 4)).astype(np.float32)
args = dict(out_hw=(6, 6), stride=(1, 1), padding=(1, 1, 1, 1), dilation=(1, 1), groups=1)
y_ref = nb.debug.backend_kernels("reference").conv2d(x, w, **args)
y_fast = nb.debug.backend_kernels("cython").conv2d(x, w, **args)
print(f"reference kernel -> {y_ref.shape} {y_ref.dtype}; cython kernel -> {y_fast.shape} {y_fast.dtype}")
print(f"largest difference: {np.max(np.abs(y_ref - y_fast)):.2e} (max |y| {np.max(np.abs(y_ref)):.2f})")

# %%
# Switching the backend changes which kernels run and nothing else (argument
# checking, output sizes and derivative rules are shared), so a whole model can
# be run on either.  The same model, the same batch, on both backends:

model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, seed=0), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Conv2d(8, 16, 3, padding=1, seed=1), nn.ReLU(), nn.AvgPool2d(2),
                      nn.Flatten(), nn.Linear(2 * 2 * 16, 10, seed=2))
images = rng.standard_normal((16, 8, 8, 1)).astype(np.float32)
labels = np.arange(16) % 10


def loss_fn(model, x, y):
    return F.cross_entropy_loss(model(x), y)


logits_fast = model(images).numpy()
with nb.use_backend("reference"):
    logits_ref = model(images).numpy()
    loss_ref, grads_ref = nb.value_and_grad(loss_fn)(model, images, labels)
loss_fast, grads_fast = nb.value_and_grad(loss_fn)(model, images, labels)

grad_diff = max(nb.tree_leaves(nb.tree_map(lambda a, b: float(np.max(np.abs(a.numpy() - b.numpy()))),
                                           grads_fast, grads_ref)))
print(f"logits: largest difference {np.max(np.abs(logits_fast - logits_ref)):.2e} "
      f"(max |logit| {np.max(np.abs(logits_ref)):.2f})")
print(f"loss: cython {float(loss_fast):.7f}, reference {float(loss_ref):.7f}")
print(f"gradients: largest difference over all parameters {grad_diff:.2e}")

# %%
# They agree to float32 rounding, not bit for bit: the Cython kernels add the
# products in another order.  :func:`nabla.testing.check_backends` makes the
# same comparison, value and gradient, with a tolerance:

nb.testing.check_backends(lambda m: loss_fn(m, images, labels), (model,))
print("check_backends: value and gradient agree")

# %%
# 2. Find a wrong kernel with checked mode
# ----------------------------------------
#
# Suppose a kernel of the fast backend had a bug: the model would train, a
# little worse, and nothing would say why.  To have something to find, plant
# one.  A backend is any object with the kernels as attributes
# (:func:`nabla.debug.kernel_names` lists them); this one takes every kernel
# from Cython, except the filter gradient, which is wrong by 0.05 in one cell,
# and is registered under the name ``"buggy"``:

cython = nb.debug.backend_kernels("cython")
buggy = types.SimpleNamespace(**{k: getattr(cython, k) for k in nb.debug.kernel_names() if hasattr(cython, k)})


def conv2d_filter_grad_with_a_bug(*args, **kwargs):
    dw = cython.conv2d_filter_grad(*args, **kwargs).copy()
    dw[1, 1, 0, 2] += 0.05
    return dw


buggy.conv2d_filter_grad = conv2d_filter_grad_with_a_bug
nb.debug.register_backend("buggy", buggy)
print("kernels:", ", ".join(nb.debug.kernel_names()))

# %%
# Training on it shows no error, only gradients that are slightly off:

with nb.use_backend("buggy"):
    loss_buggy, grads_buggy = nb.value_and_grad(loss_fn)(model, images, labels)
print(f"loss {float(loss_buggy):.7f}; conv 1 filter gradient differs from Cython's by up to "
      f"{np.max(np.abs(grads_buggy[0].weight.numpy() - grads_fast[0].weight.numpy())):.3f}")

# %%
# ``with nb.checked(fast="buggy"):`` runs every kernel on ``"buggy"`` *and* on the
# reference backend, returns the fast result, and raises
# :class:`nabla.BackendMismatchError` at the first kernel whose results differ.
# The message names the kernel, its role (here: inside the VJP of ``conv2d``),
# the line of this script that called the op, the inputs and parameters, and
# the worst entry with its index.  ``save_to=`` writes that kernel's inputs to a
# file:

repro = os.path.join(tempfile.gettempdir(), "nabla_t4_repro.npz")
try:
    with nb.checked(fast="buggy", save_to=repro):
        nb.value_and_grad(loss_fn)(model, images, labels)
except nb.BackendMismatchError as e:
    print(e)

# %%
# The line named is the one that called ``model(x)`` inside ``loss_fn``: the
# filter gradient is the derivative of the forward convolution called there.
# The saved file replays the one failing kernel call without the model, the
# data or the training loop, which is what a bug report needs:

try:
    nb.debug.replay(repro)
except nb.BackendMismatchError as e:
    print("replay:", str(e).splitlines()[0])

# %%
# The real Cython backend passes the same check:

with nb.checked():
    nb.value_and_grad(loss_fn)(model, images, labels)
print("checked mode: cython and reference agree on every kernel of the training step")

# %%
# 3. A NaN, and the op that made it
# ---------------------------------
#
# A small network that predicts, per pixel, a mean and a variance, trained with
# the Gaussian negative log-likelihood
# :math:`\tfrac12 \log \sigma^2 + (y - \mu)^2 / (2\sigma^2)`.  The variance is
# the second output channel of the convolution, used as it is:

target = rng.standard_normal((8, 8, 8, 1)).astype(np.float32)
inputs = rng.standard_normal((8, 8, 8, 2)).astype(np.float32)
head = nn.Conv2d(2, 2, 3, padding=1, seed=3)


def gaussian_nll(head, x, y):
    out = head(x)
    mu, var = out[..., 0:1], out[..., 1:2]
    return nb.mean(0.5 * nb.log(var) + (y - mu) ** 2 / (2.0 * var))   # a bug: var can be negative


with np.errstate(all="ignore"):
    loss, grads = nb.value_and_grad(gaussian_nll)(head, inputs, target)
print(f"loss {float(loss)}; NaN or Inf in the gradients: "
      f"{any(not np.isfinite(g.numpy()).all() for g in nb.tree_leaves(grads))}")

# %%
# The loss is NaN, yet the gradients are finite (the derivative of
# :math:`\log v` is :math:`1/v`, finite for a negative :math:`v` too), so an
# optimizer would go on stepping with them, and the first visible symptom, a
# NaN in a logged loss, says nothing about where it started.
# ``with nb.detect_anomaly():`` raises :class:`nabla.AnomalyError` (a
# ``FloatingPointError``) at the first op whose output holds a NaN or an Inf, and
# says whether the op made it (its inputs were finite) or passed it on:

with np.errstate(all="ignore"):
    try:
        with nb.detect_anomaly():
            nb.value_and_grad(gaussian_nll)(head, inputs, target)
    except FloatingPointError as e:
        print(e)
        print("the error's event:", e.event.op, e.event.kind, "at", e.event.where)

# %%
# It names ``log``, in the forward pass, at the line of ``gaussian_nll`` that
# takes it: the log of a negative variance.  (A NaN first made in a backward
# pass is named the same way, as ``in the VJP of <op>``, at the line of the
# forward call.)  The fix is to make the variance positive by construction:
# predict its logarithm, :math:`s = \log\sigma^2`, so that
# :math:`\tfrac12 \log\sigma^2 = s/2` and :math:`1/\sigma^2 = e^{-s}`:


def gaussian_nll_fixed(head, x, y):
    out = head(x)
    mu, log_var = out[..., 0:1], out[..., 1:2]
    return nb.mean(0.5 * log_var + 0.5 * (y - mu) ** 2 * nb.exp(-log_var))


with nb.detect_anomaly():   # silent now: no NaN or Inf anywhere, forward or backward
    loss, grads = nb.value_and_grad(gaussian_nll_fixed)(head, inputs, target)
print(f"loss {float(loss):.5f}; all gradients finite: "
      f"{all(np.isfinite(g.numpy()).all() for g in nb.tree_leaves(grads))}")

# %%
# 4. Where the time goes
# ----------------------
#
# ``with nb.profile() as prof:`` records every kernel evaluation (op, forward
# or the derivative of which op, backend, shapes, dtype, seconds) of the block.
# A small CNN on 32x32 RGB images, one training step (gradient and an SGD
# update), after one step to warm up:

cnn = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1, seed=0), nn.ReLU(), nn.MaxPool2d(2),
                    nn.Conv2d(32, 64, 3, padding=1, seed=1), nn.ReLU(), nn.MaxPool2d(2),
                    nn.Flatten(), nn.Linear(8 * 8 * 64, 10, seed=2))
batch = rng.standard_normal((32, 32, 32, 3)).astype(np.float32)
batch_labels = np.arange(32) % 10
opt = nn.optim.SGD(cnn, lr=0.01)
step = nb.value_and_grad(loss_fn)

loss, grads = step(cnn, batch, batch_labels)   # warm up
cnn = opt.step(grads)
with nb.profile() as prof:
    loss, grads = step(cnn, batch, batch_labels)
    cnn = opt.step(grads)
print(prof)

# %%
# ``print(prof)`` sums the calls per op and role, sorted by total time; the
# last line compares the time in kernels with the time of the whole block (the
# rest is Python).  :meth:`~nabla.debug.Profile.summary` gives the same rows as
# dicts, to plot or to compare; ``prof.to_csv(path)`` writes one row per call.
# The ten largest:

rows = prof.summary()[:10]
fig, ax = plt.subplots(figsize=(8, 4.2))
names = [f"{r['op']} ({r['role']})" for r in rows]
colors = ["C0" if r["role"] == "forward" else "C1" for r in rows]
ax.barh(names[::-1], [r["seconds"] * 1e3 for r in rows][::-1], color=colors[::-1])
for i, r in enumerate(rows[::-1]):
    ax.text(r["seconds"] * 1e3, i, f" {r['share']:.0%}", va="center", fontsize=8)
ax.set(xlabel="milliseconds in the kernel (one training step)",
       title=f"the ten largest of {prof.total_seconds * 1e3:.1f} ms in kernels "
             f"({prof.wall_seconds * 1e3:.1f} ms in the block)")
ax.title.set_fontsize(10)
ax.legend(handles=[matplotlib.patches.Patch(color="C0", label="forward"),
                   matplotlib.patches.Patch(color="C1", label="derivative (VJP)")], fontsize=8, loc="lower right")
ax.margins(x=0.12)
fig.tight_layout()

conv_kernels = ("conv2d", "conv2d_transpose", "conv2d_filter_grad")
conv_share = sum(r["share"] for r in prof.summary() if r["op"] in conv_kernels)
print(f"the convolution and its two adjoints: {conv_share:.0%} of the kernel time")

# %%
# In a CNN most of the arithmetic is in the convolutions and their two adjoints
# (``conv2d_transpose`` for the input gradient, ``conv2d_filter_grad`` for the
# filter gradient), so a training step costs about three forward passes.  The
# chart is of one step, on the machine that ran this script, at the moment it
# ran: profile a few steps, after warming up and on a quiet machine, before
# acting on it.  A kernel that takes much longer inside the step than alone
# (compare with a loop over that one call) is usually waiting for something
# else: other threads on its cores, or fresh memory from the operating system.
# :doc:`t6_performance` measures both, and what else changes the time of a
# convolution (threads, dtype, layout, batch size).
