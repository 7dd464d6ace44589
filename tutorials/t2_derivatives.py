"""
Derivatives of a convolution
============================

A convolution ``y = conv2d(x, w)`` is *bilinear*: linear in the image ``x`` for
a fixed filter and linear in the filter ``w`` for a fixed image.  Its
derivatives are therefore convolutions again, and this tutorial checks each
claim numerically:

* the VJP (reverse mode, :func:`nabla.vjp`): the cotangent of ``x`` is exactly
  ``conv2d_transpose(dy, w)`` with the same stride, padding and the very same
  filter array; the cotangent of ``w`` correlates the image with ``dy``;
* the JVP (forward mode, :func:`nabla.jvp`) is ``conv(tx, w) + conv(x, tw)``;
* the two modes are adjoint: ``<u, J v> = <J^T u, v>`` (the dot-product test);
* :func:`nabla.testing.check_grads` compares both modes, to second order, with
  finite differences;
* a Hessian-vector product (forward over reverse, ``jvp`` of ``grad``)
  against finite differences of the gradient;
* a picture: the gradient of a conv-pool "edge energy" with respect to the
  input image.

Everything runs in float64, so that the comparisons with finite differences
mean something.  See :doc:`/autodiff` for how the rules are built.

Run:  ``.venv/bin/python tutorials/t2_derivatives.py``
"""
import matplotlib
import numpy as np

import nabla as nb
from nabla.testing import check_grads

matplotlib.use("Agg")  # no screen needed
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)

rng = np.random.default_rng(0)


def vdot(a, b) -> float:
    """<a, b> over all entries, in float64."""
    return float(np.vdot(np.asarray(a, np.float64), np.asarray(b, np.float64)))


def max_abs(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


# %%
# The pullback of a strided convolution
# -------------------------------------
#
# A batch of two 10x10 images with 3 channels, a 3x3 filter from 3 to 4
# channels (HWIO), stride 2 and padding 1.  The output is 5x5:
# ``floor((10 + 2 - 2 - 1) / 2) + 1 = 5``.  :func:`nabla.vjp` returns the output
# and the *pullback*, which maps an output cotangent ``dy`` to one cotangent per
# argument (a tuple, as in JAX).

GEO = dict(stride=2, padding=1)
x = rng.standard_normal((2, 10, 10, 3))        # NHWC, float64
w = rng.standard_normal((3, 3, 3, 4))          # HWIO


def conv(x, w):
    return nb.conv2d(x, w, **GEO)


y, pullback = nb.vjp(conv, x, w)
dy = rng.standard_normal(y.shape)              # any cotangent of the output
dx, dw = pullback(dy)
print(f"x {x.shape} -> y {y.shape}; pullback(dy): dx {dx.shape}, dw {dw.shape}")

# %%
# The cotangent of ``x`` is a transposed convolution
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# ``conv2d_transpose(dy, w)`` with the same stride and padding, and the same
# filter array ``w`` (conv2d's ``(K_h, K_w, C_in, C_out)`` is read by the
# transpose as ``(K_h, K_w, C_out, C_in)``: nothing is flipped or swapped).
# One detail of the geometry: with stride 2, inputs of 9 *and* 10 rows both
# give 5 output rows, so from 5 rows the transpose alone would rebuild 9.
# ``output_paddings=1`` asks for the tenth row (see the upsampling tutorial
# for the size rule).

dx_T = nb.conv2d_transpose(dy, w, **GEO, output_paddings=1)
print(f"conv2d_transpose(dy, w): shape {dx_T.shape}, "
      f"identical to dx: {np.array_equal(dx_T.numpy(), dx.numpy())}, "
      f"max |difference| {max_abs(dx_T.numpy(), dx.numpy()):.1e}")
dx_9 = nb.conv2d_transpose(dy, w, **GEO)       # output_paddings=0: one row and column short
print(f"without output_paddings: shape {dx_9.shape}, equal to dx[:, :9, :9]: "
      f"{np.array_equal(dx_9.numpy(), dx.numpy()[:, :9, :9])}")

# %%
# The cotangent of ``w`` correlates the image with ``dy``
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# From ``y[n, i, j, o] = sum_{a, b, c} xpad[n, 2i + a, 2j + b, c] w[a, b, c, o]``,
# each filter tap's cotangent is the sum, over the batch and every output
# position, of the input value that tap saw times ``dy`` there::
#
#     dw[a, b, c, o] = sum_{n, i, j} xpad[n, 2i + a, 2j + b, c] * dy[n, i, j, o]
#
# Written out in NumPy, one tap at a time:

xpad = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
H_out, W_out = y.shape[1:3]
dw_loop = np.zeros_like(w)
for a in range(3):
    for b in range(3):
        seen = xpad[:, a:a + 2 * H_out:2, b:b + 2 * W_out:2, :]     # (N, 5, 5, C_in)
        dw_loop[a, b] = np.einsum("nijc,nijo->co", seen, dy)
print(f"dw against the explicit sum: max |difference| {max_abs(dw.numpy(), dw_loop):.1e} "
      f"(dw itself up to {np.abs(dw_loop).max():.1f})")

# %%
# Forward mode, and bilinearity
# -----------------------------
#
# :func:`nabla.jvp` pushes a tangent ``(tx, tw)`` forward: it returns
# ``(f(x, w), J (tx, tw))``.  For a bilinear ``f`` the product rule gives
# ``J (tx, tw) = f(tx, w) + f(x, tw)``.

tx = rng.standard_normal(x.shape)
tw = rng.standard_normal(w.shape)
y2, ty = nb.jvp(conv, (x, w), (tx, tw))
by_hand = conv(tx, w) + conv(x, tw)
print(f"jvp tangent {ty.shape}; against conv(tx, w) + conv(x, tw): "
      f"max |difference| {max_abs(ty.numpy(), by_hand.numpy()):.1e}")
print(f"same primal output as vjp: {np.array_equal(y2.numpy(), y.numpy())}")

# %%
# And because ``f`` is bilinear, the *second* derivative is the constant
# ``f(tx, tw) + f(tx, tw)``: the JVP of the JVP, along the same direction,
# gives ``2 conv(tx, tw)`` whatever the point.


def tangent(x, w):
    return nb.jvp(conv, (x, w), (tx, tw))[1]


_, second = nb.jvp(tangent, (x, w), (tx, tw))
print(f"second directional derivative against 2 conv(tx, tw): "
      f"max |difference| {max_abs(second.numpy(), 2 * conv(tx, tw).numpy()):.1e}")

# %%
# The dot-product test
# --------------------
#
# Reverse mode computes ``J^T u``, forward mode ``J v``.  The first is the
# transpose of the second if and only if ``<u, J v> = <J^T u, v>`` for every
# ``u`` and ``v``.  With ``u = dy`` and ``v = (tx, tw)``, the right-hand side has a term
# per argument:

lhs = vdot(dy, ty.numpy())
rhs = vdot(dx.numpy(), tx) + vdot(dw.numpy(), tw)
print(f"<u, J v>   = {lhs:.12f}")
print(f"<J^T u, v> = {rhs:.12f}")
print(f"relative difference {abs(lhs - rhs) / abs(lhs):.1e}")

# %%
# This is exactly how nabla's conv rules are derived
# (``<dy, conv(x, w)> = <conv_T(dy, w), x> = <filter_grad(x, dy), w>``) and the
# reverse-mode half of what :func:`~nabla.testing.check_grads` verifies.
#
# ``check_grads`` on a conv + pool function
# -----------------------------------------
#
# ``check_grads(f, args, order=, modes=)`` draws random directions and compares
# the JVP and VJP (through the dot-product test) with central finite
# differences; with ``order=2`` it does the same for the derivative functions
# themselves.  It returns ``None`` and raises ``AssertionError`` on a
# mismatch.  Here: a convolution with a bias, ``tanh``, max pooling, average
# pooling.

xs = rng.standard_normal((2, 6, 6, 2))
ws = 0.5 * rng.standard_normal((3, 3, 2, 3))
bs = 0.1 * rng.standard_normal(3)


def small(x, w, b):
    h = nb.tanh(nb.conv2d(x, w, padding=1, bias=b))        # (2, 6, 6, 3)
    h = nb.max_pool2d(h, kernel_size=2)                    # (2, 3, 3, 3)
    return nb.avg_pool2d(h, kernel_size=2, stride=1)       # (2, 2, 2, 3)


for order in (1, 2):
    for modes in (("fwd",), ("rev",), ("fwd", "rev")):
        check_grads(small, (xs, ws, bs), order=order, modes=modes)
        print(f"check_grads(order={order}, modes={modes}): passed")

# %%
# It does catch mistakes.  An implicit detour through NumPy (``np.asarray(t)``,
# ``float(t)``) of a traced tensor is refused with a ``TypeError``; an explicit
# one, ``t.numpy()``, takes the value as a constant on purpose.  Here a term
# does that by mistake: its derivative is zero, and the check names the
# argument and the worst entry of the output's tangent:


def broken(x, w, b):
    h = small(x, w, b)
    return h + nb.asarray(nb.conv2d(x, w).numpy().sum())  # .numpy(): a constant to autodiff


try:
    check_grads(broken, (xs, ws, bs), order=1)
except AssertionError as err:
    print(f"AssertionError: {err}")

# %%
# A Hessian-vector product
# ------------------------
#
# For a scalar loss ``L(x)``, the Hessian-vector product ``H v`` is the
# directional derivative of the gradient: forward mode over reverse mode,
# ``jvp(grad(L), (x,), (v,))``.  It costs a small multiple of one gradient and
# never forms the Hessian.  Finite differences of the gradient,
# ``(grad L(x + eps v) - grad L(x - eps v)) / 2 eps``, must agree with it.

wl = 0.5 * rng.standard_normal((3, 3, 2, 4))


def loss(x):
    h = nb.tanh(nb.conv2d(x, wl, padding=1))
    return nb.sum(nb.max_pool2d(h, kernel_size=2) ** 2)


grad_L = nb.grad(loss)
v = rng.standard_normal(xs.shape)
_, hv = nb.jvp(grad_L, (xs,), (v,))
hv = hv.numpy()


def argmax(x):
    """Which cell won each 2x2 pooling window of loss(x)."""
    h = nb.tanh(nb.conv2d(x, wl, padding=1))
    return nb.max_pool2d(h, kernel_size=2, return_indices=True)[1].numpy()


print(f"|Hv| up to {np.abs(hv).max():.2f}; v^T H v = {vdot(v, hv):.6f}")
for eps in (1e-2, 1e-3, 1e-4, 1e-5, 1e-6):
    fd = (grad_L(xs + eps * v).numpy() - grad_L(xs - eps * v).numpy()) / (2 * eps)
    moved = int(np.count_nonzero(argmax(xs + eps * v) != argmax(xs - eps * v)))
    print(f"eps {eps:.0e}: max |Hv - finite difference| {max_abs(hv, fd):.1e}; "
          f"pooling windows whose maximum moved: {moved}")

# %%
# Where no pooling window changes its winner, the error falls as ``eps^2``
# (the truncation error of a central difference: a factor 100 per decade)
# until rounding takes over near ``eps = 1e-6``.  At ``eps = 1e-2`` the
# comparison is meaningless, not wrong: max pooling is only *piecewise*
# smooth, and between ``x - eps v`` and ``x + eps v`` some windows switched to
# another maximum, so the two gradients come from different pieces.
#
# Reverse over reverse works as well: the gradient of ``<grad L(x), v>`` is
# also ``H v`` (the Hessian is symmetric).

hv_rr = nb.grad(lambda x: nb.sum(grad_L(x) * v))(xs).numpy()
print(f"reverse-over-reverse against forward-over-reverse: max |difference| {max_abs(hv_rr, hv):.1e}")

# %%
# Where the gradient lands in the image
# -------------------------------------
#
# A picture of ``dL/dx``.  The image is a ring and a square on a dark
# background; the loss is the "vertical-edge energy": a Sobel filter, a ReLU
# (only dark-to-bright edges, left to right), 4x4 max pooling, then the sum of
# squares.  Its gradient with respect to the input lives only on the edges that
# won a pooling window: one pixel per window gets the whole signal, and the
# conv transpose spreads it over the 3x3 footprint of the Sobel filter (a
# negative column left of the edge, a positive one right of it: making the
# edge steeper raises the energy).  Every window has a winner, so the windows
# that hold only background noise get a faint gradient too.

n = 32
ii, jj = np.mgrid[0:n, 0:n]
img = ((np.hypot(ii - 11.5, jj - 11.5) < 8) & (np.hypot(ii - 11.5, jj - 11.5) > 4)).astype(np.float64)
img[18:28, 18:28] = 0.7
img += 0.05 * rng.standard_normal(img.shape)
image = img[None, :, :, None]                                  # (1, 32, 32, 1)
sobel = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float64)[:, :, None, None]


def edge_energy(x):
    edges = nb.relu(nb.conv2d(x, sobel, padding=1))
    return nb.sum(nb.max_pool2d(edges, kernel_size=4) ** 2)


energy, g = nb.value_and_grad(edge_energy)(image)
response = nb.relu(nb.conv2d(image, sobel, padding=1)).numpy()
g = g.numpy()
print(f"edge energy {float(energy):.2f}; dL/dx is nonzero at {np.count_nonzero(g)} of {g.size} pixels")

fig, axes = plt.subplots(1, 3, figsize=(11, 3.8))
axes[0].imshow(img, cmap="gray")
axes[0].set_title("input image x")
axes[1].imshow(response[0, :, :, 0], cmap="magma")
axes[1].set_title("relu(conv2d(x, sobel))")
lim = np.abs(g).max()
im = axes[2].imshow(g[0, :, :, 0], cmap="RdBu_r", vmin=-lim, vmax=lim)
axes[2].set_title("dL/dx, L = sum(max_pool_4x4(...)^2)")
for ax in axes:
    ax.set_axis_off()
fig.colorbar(im, ax=axes[2], fraction=0.046, pad=0.04)
fig.suptitle("the gradient of a conv-pool loss with respect to the input image")
fig.tight_layout()
# The figure is left open: the docs build shows it here.
