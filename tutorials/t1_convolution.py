"""
Convolution from scratch
========================

What :func:`nabla.conv2d` computes, on arrays small enough to check by hand: a
5x5 single-channel image holding ``0 .. 24`` and a 3x3 filter holding
``0 .. 8``.  Padding, stride, dilation and groups come in turn.  For each: a
picture of where the windows fall (generated from nabla's own sizes), nabla's
output next to one output cell computed by hand, and the output-size formula
with the numbers filled in.  Then ``padding="SAME"`` against ``"VALID"``, and
at the end the whole definition as a NumPy loop, checked against nabla.

Arrays are NHWC (batch, height, width, channels) and filters HWIO (kernel
height, kernel width, input channels, output channels); :doc:`/semantics` has
the exact rules.

Run on its own:  ``.venv/bin/python tutorials/t1_convolution.py``
"""
import os
import sys

import matplotlib
import numpy as np

import nabla as nb

matplotlib.use("Agg")  # no screen needed
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)

# The picture helpers live next to this file (sphinx-gallery runs it with cwd = tutorials/).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) if "__file__" in globals() else os.getcwd())
import _pictures  # noqa: E402

img = np.arange(25, dtype=np.float32).reshape(5, 5)
w = np.arange(9, dtype=np.float32).reshape(3, 3)
x = img.reshape(1, 5, 5, 1)      # NHWC: one image, one channel
filt = w.reshape(3, 3, 1, 1)     # HWIO: 3x3, one channel in, one out
print("image:\n", img, "\nfilter:\n", w)


def by_hand(i, j, stride=1, padding=0, dilation=1):
    """y[i, j] as the definition reads: the sum over taps (a, b) of
    xpad[i*stride + a*dilation, j*stride + b*dilation] * w[a, b]."""
    xpad = np.pad(img, padding)            # zeros all round
    terms = [(xpad[i * stride + a * dilation, j * stride + b * dilation], w[a, b])
             for a in range(3) for b in range(3)]
    total = sum(float(v) * float(t) for v, t in terms)
    print(f"by hand: y[{i}, {j}] = " + " + ".join(f"{v:g}*{t:g}" for v, t in terms) + f" = {total:g}")


def out_size(n, k=3, stride=1, padding=0, dilation=1):
    """The output-size formula, printed with its numbers."""
    out = (n + 2 * padding - dilation * (k - 1) - 1) // stride + 1
    print(f"H_out = W_out = floor(({n} + {padding} + {padding} - {dilation}*({k} - 1) - 1) / {stride}) + 1"
          f" = {out}")


# %%
# The plain case
# --------------
#
# Without padding, the 3x3 window visits every position where it fits inside
# the image: 3 positions down, 3 across.  Output cell ``y[i, j]`` is the sum,
# over the window at rows ``i .. i+2`` and columns ``j .. j+2``, of each image
# value times the filter tap lying on it.  The filter is not flipped (a
# cross-correlation, as in PyTorch and JAX): ``w[0, 0]`` meets the window's
# top-left cell.  In the picture, a dot marks each of a window's nine taps.

y = nb.conv2d(x, filt).numpy()[0, :, :, 0]
_pictures.conv2d_windows(5, 5, 3, x=img, y=y, positions=[(1, 2), (0, 0)])
print(y)
print(f"nabla:   y[1, 2] = {y[1, 2]:g}")
by_hand(1, 2)
out_size(5)

# %%
# Padding
# -------
#
# ``padding=1`` puts one ring of zeros round the image before the window
# slides, so the window can be centred on every pixel and the output keeps the
# 5x5 size.  Taps that fall on padding read 0.  (``padding`` also takes a pair
# ``(ph, pw)`` or ``(top, bottom, left, right)``.)

y = nb.conv2d(x, filt, padding=1).numpy()[0, :, :, 0]
_pictures.conv2d_windows(5, 5, 3, padding=1, x=img, y=y, positions=[(0, 0), (4, 4)])
print(y)
print(f"nabla:   y[0, 0] = {y[0, 0]:g}")
by_hand(0, 0, padding=1)
out_size(5, padding=1)

# %%
# Stride
# ------
#
# ``stride=2`` moves the window two cells at a time: output ``y[i, j]`` starts
# at padded row ``2*i`` and column ``2*j``.  The window of ``y[1, 2]`` covers
# input rows 1..3 and columns 3..5, and column 5 is padding.  The ``floor`` in
# the formula drops a last step that would not fit.

y = nb.conv2d(x, filt, stride=2, padding=1).numpy()[0, :, :, 0]
_pictures.conv2d_windows(5, 5, 3, stride=2, padding=1, x=img, y=y, positions=[(1, 2), (0, 0), (0, 1)])
print(y)
print(f"nabla:   y[1, 2] = {y[1, 2]:g}")
by_hand(1, 2, stride=2, padding=1)
out_size(5, stride=2, padding=1)

# %%
# Dilation
# --------
#
# ``dilation=2`` spreads the nine taps two cells apart: the window spans
# ``2*(3 - 1) + 1 = 5`` cells but still reads only nine of them (the dots).
# With ``padding=2`` the output is 5x5 again; the centre output ``y[2, 2]``
# reads input rows and columns 0, 2 and 4.

y = nb.conv2d(x, filt, dilation=2, padding=2).numpy()[0, :, :, 0]
_pictures.conv2d_windows(5, 5, 3, padding=2, dilation=2, x=img, y=y, positions=[(2, 2), (0, 0)])
print(y)
print(f"nabla:   y[2, 2] = {y[2, 2]:g}")
by_hand(2, 2, padding=2, dilation=2)
out_size(5, padding=2, dilation=2)

# %%
# Groups: a depthwise convolution
# -------------------------------
#
# With ``groups=G`` the channels are split into G groups that never meet:
# output channel ``o`` reads only the input channels of its group, and the
# filter's third axis is ``C_in / G``.  ``groups = C_in`` is a *depthwise*
# convolution: one filter per channel.  Here channel 0 is the image, channel 1
# is ``100 + image``; channel 0's filter is ``w``, channel 1's is all ones
# (a 3x3 box sum).

fig, axes = plt.subplots(1, 2, figsize=(8, 2.6))
_pictures.groups_diagram(2, 2, 1, ax=axes[0])
_pictures.groups_diagram(2, 2, 2, ax=axes[1])

x2 = np.stack([img, 100 + img], axis=-1)[None]                      # (1, 5, 5, 2)
w2 = np.stack([w, np.ones((3, 3), np.float32)], axis=-1)[:, :, None, :]   # (3, 3, 1, 2): C_in/groups = 1
y2 = nb.conv2d(x2, w2, padding=1, groups=2).numpy()[0]
print("filter shape:", w2.shape, "-> output shape:", y2.shape)
print("channel 0 is the padding example's output:",
      np.array_equal(y2[:, :, 0], nb.conv2d(x, filt, padding=1).numpy()[0, :, :, 0]))
print(f"nabla:   y[0, 0, 1] = {y2[0, 0, 1]:g}")
pad1 = np.pad(100 + img, 1)
print("by hand: y[0, 0, 1] = channel 1's 3x3 box sum round (0, 0) = "
      + " + ".join(f"{v:g}" for v in pad1[0:3, 0:3].ravel()) + f" = {pad1[0:3, 0:3].sum():g}")

# %%
# A grouped convolution is an ordinary one whose filter is zero between
# groups.  With ``groups=1`` the filter is ``(3, 3, 2, 2)``; putting each
# depthwise filter on the diagonal and zeros elsewhere gives the same numbers.
# The groups save those zeros: ``C_in / G`` times fewer weights and
# multiply-adds.

w_full = np.zeros((3, 3, 2, 2), np.float32)
for c in range(2):
    w_full[:, :, c, c] = w2[:, :, 0, c]
print("groups=1 with a block-diagonal filter equals groups=2:",
      np.array_equal(nb.conv2d(x2, w_full, padding=1).numpy()[0], y2))

# %%
# SAME and VALID
# --------------
#
# ``padding="VALID"`` means no padding.  ``padding="SAME"`` is TensorFlow's
# rule: the output has ``ceil(H / stride)`` rows, and the padding needed for
# that, ``max((H_out - 1)*stride + dilation*(K - 1) + 1 - H, 0)``, is split with
# the odd cell at the bottom (and right).  On a 6x6 image with stride 2 that is
# one row of padding, all of it at the bottom.

img6 = np.arange(36, dtype=np.float32).reshape(6, 6)
x6 = img6.reshape(1, 6, 6, 1)
same = nb.conv2d(x6, filt, stride=2, padding="SAME").numpy()[0, :, :, 0]
valid = nb.conv2d(x6, filt, stride=2, padding="VALID").numpy()[0, :, :, 0]
_pictures.conv2d_windows(6, 6, 3, stride=2, padding="SAME", x=img6, y=same)
_pictures.conv2d_windows(6, 6, 3, stride=2, padding="VALID", x=img6, y=valid)
h_out = -(-6 // 2)
total = max((h_out - 1) * 2 + 1 * (3 - 1) + 1 - 6, 0)
print(f"SAME:  H_out = ceil(6 / 2) = {h_out}; padding total = max(({h_out} - 1)*2 + 1*(3 - 1) + 1 - 6, 0) "
      f"= {total}: top {total // 2}, bottom {total - total // 2}")
print("SAME equals padding=(0, 1, 0, 1):",
      np.array_equal(same, nb.conv2d(x6, filt, stride=2, padding=(0, 1, 0, 1)).numpy()[0, :, :, 0]))
print(same)
print(f"VALID: H_out = floor((6 + 0 + 0 - 1*(3 - 1) - 1) / 2) + 1 = {(6 - 2 - 1) // 2 + 1}")
print(valid)

# %%
# The definition as a NumPy loop
# ------------------------------
#
# Everything above in one formula, with ``Cg = C_in / groups``, ``Og = C_out /
# groups`` and output channel ``o`` in group ``g = o // Og``::
#
#     y[n, i, j, o] = sum over a < K_h, b < K_w, c < Cg of
#                     xpad[n, i*sh + a*dh, j*sw + b*dw, g*Cg + c] * w[a, b, c, o]
#
# Written out as loops and run on random data with every option at once
# (uneven stride, padding and dilation, 4 channels in 2 groups), it agrees with
# nabla up to float32 rounding.


def conv2d_loops(x, w, stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1):
    """conv2d, one multiply-add at a time: NHWC input, HWIO filter, float64 sums."""
    (sh, sw), (dh, dw), (pt, pb, pl, pr) = stride, dilation, padding
    batch, h, wd, c_in = x.shape
    kh, kw, cg, c_out = w.shape
    og = c_out // groups
    xpad = np.pad(x.astype(np.float64), ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    ho = (h + pt + pb - dh * (kh - 1) - 1) // sh + 1
    wo = (wd + pl + pr - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((batch, ho, wo, c_out))
    for n in range(batch):
        for i in range(ho):
            for j in range(wo):
                for o in range(c_out):
                    g = o // og
                    for a in range(kh):
                        for b in range(kw):
                            for c in range(cg):
                                y[n, i, j, o] += (xpad[n, i * sh + a * dh, j * sw + b * dw, g * cg + c]
                                                  * w[a, b, c, o])
    return y


rng = np.random.default_rng(0)
xr = rng.standard_normal((2, 7, 6, 4)).astype(np.float32)
wr = rng.standard_normal((3, 2, 2, 6)).astype(np.float32)     # (K_h, K_w, C_in/groups, C_out)
opts = dict(stride=(2, 1), padding=(1, 0, 2, 1), dilation=(1, 2), groups=2)
ours = nb.conv2d(xr, wr, **opts).numpy()
loops = conv2d_loops(xr, wr, **opts)
print("shapes:", ours.shape, loops.shape)
print(f"largest difference: {np.abs(ours - loops).max():.1e}")
print("allclose:", np.allclose(ours, loops, atol=1e-5))
