"""
Transposed convolutions and upsampling
======================================

A strided convolution shrinks an image; its transpose,
:func:`nabla.conv2d_transpose`, grows one back by the same factor.  This
tutorial covers

* the output-size rule, and what ``output_paddings`` is for;
* nearest-neighbour and bilinear upsampling written as transposed
  convolutions with fixed filters, against a transposed convolution whose
  4x4 filter is *learned*;
* a tiny encoder-decoder built from :mod:`nabla.nn` layers (``Conv2d`` and
  ``MaxPool2d(return_indices=True)`` down, ``MaxUnpool2d`` and
  ``ConvTranspose2d`` up), trained with Adam to reconstruct small synthetic
  images.

Everything is NHWC with nabla's filter layouts: ``conv2d_transpose`` takes
``(K_h, K_w, C_out, C_in)``, the very array a ``conv2d`` from ``C_out`` to
``C_in`` channels would use (see :doc:`/semantics`).

Run:  ``.venv/bin/python tutorials/t5_upsampling.py``
"""
import matplotlib
import numpy as np

import nabla as nb
from nabla import nn

matplotlib.use("Agg")  # no screen needed
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)

F = nn.functional


# %%
# The output-size rule
# --------------------
#
# For a transposed convolution with kernel ``K``, stride ``s``, dilation
# ``d``, padding ``pt + pb`` and ``output_paddings`` ``op``::
#
#     H_out = (H - 1)*s - (pt + pb) + d*(K - 1) + op + 1
#
# The classic DCGAN generator layer doubles the size with ``K = 4``, ``s = 2``,
# ``p = 1``: from 16 rows, ``15*2 - 2 + 3 + 0 + 1 = 32``.


def transpose_size(h, k, s, p, op=0, d=1):
    """The rule above, with symmetric padding p on each side."""
    return (h - 1) * s - 2 * p + d * (k - 1) + op + 1


z = np.zeros((1, 16, 16, 8), np.float32)               # 16x16, 8 channels
w_dcgan = np.zeros((4, 4, 4, 8), np.float32)            # K_h, K_w, C_out=4, C_in=8
up = nb.conv2d_transpose(z, w_dcgan, stride=2, padding=1)
print(f"DCGAN layer: {z.shape} -> {up.shape}; the rule gives {transpose_size(16, 4, 2, 1)}")

# %%
# Why ``output_paddings`` exists
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# A transposed convolution is the adjoint (the input gradient) of a
# convolution, and a strided convolution rounds its output size down:
# ``floor((H + pt + pb - d*(K - 1) - 1) / s) + 1``.  With stride 2, two input
# sizes give the same output size, so going back up from that size is
# ambiguous.  The transpose picks the smaller one; ``output_paddings=1`` adds
# the row (and column) that the rounding dropped, at the bottom and right.


def conv_size(h, k, s, p):
    return nb.conv2d(np.zeros((1, h, h, 1), np.float32), np.zeros((k, k, 1, 1), np.float32),
                     stride=s, padding=p).shape[1]


def transposed_size(h, k, s, p, op):
    return nb.conv2d_transpose(np.zeros((1, h, h, 1), np.float32), np.zeros((k, k, 1, 1), np.float32),
                               stride=s, padding=p, output_paddings=op).shape[1]


for k in (3, 4):
    print(f"K={k}, stride 2, padding 1:")
    for h in range(29, 35):
        small = conv_size(h, k, 2, 1)
        back = [transposed_size(small, k, 2, 1, op) for op in (0, 1)]
        mark = "   <- needs output_paddings=1" if back[0] != h else ""
        print(f"  conv2d {h} -> {small}; conv2d_transpose {small} -> {back[0]} (op=0) or {back[1]} (op=1){mark}")

# %%
# So a 3x3, stride-2 encoder layer (the ResNet kind) maps both 31 and 32 rows
# to 16, and its mirror image in a decoder must say which one it wants:
# ``output_paddings=1`` for the even size.  The DCGAN kernel ``K = 4`` gets
# 32 with ``output_paddings=0``.  The extra row is real output, not zeros: it
# is exactly the row of the input gradient of the 32-row convolution.

rng = np.random.default_rng(0)
w3 = rng.standard_normal((3, 3, 2, 3)).astype(np.float32)      # conv2d 2 -> 3 channels
x32 = rng.standard_normal((1, 32, 32, 2)).astype(np.float32)
y16, pullback = nb.vjp(lambda x: nb.conv2d(x, w3, stride=2, padding=1), x32)
g16 = rng.standard_normal(y16.shape).astype(np.float32)
(dx,) = pullback(g16)
dx_op1 = nb.conv2d_transpose(g16, w3, stride=2, padding=1, output_paddings=1)
print(f"conv2d_transpose(output_paddings=1): {dx_op1.shape}, equal to the VJP of the "
      f"32-row conv2d: {np.array_equal(dx_op1.numpy(), dx.numpy())}")

# %%
# ``output_paddings`` must be smaller than the stride (or the dilation): a
# larger one would ask for a size that no convolution with this geometry
# maps from.

try:
    nb.conv2d_transpose(g16, w3, stride=2, padding=1, output_paddings=2)
except ValueError as err:
    print(f"ValueError: {err}")

# %%
# Fixed and learned upsampling
# ----------------------------
#
# Two classic interpolations are transposed convolutions with a fixed filter,
# one channel to one channel:
#
# * **nearest neighbour**: ``K = s = 2``, a filter of ones: each input pixel
#   stamps a 2x2 block;
# * **bilinear** (half-pixel centres): ``K = 4``, ``s = 2``, ``p = 1``, the filter
#   the outer product of ``[1, 3, 3, 1] / 4`` with itself.  The border rows see
#   the zero padding and come out darker (a library resize would replicate the
#   edge instead).
#
# A *learned* upsampler has the same shape as the bilinear one, a 4x4 filter
# with stride 2 and padding 1 (plus a bias), but its 16 weights are trained.
# The task: images of 32x32 shapes are shrunk to 16x16 by 2x2 average pooling,
# and the filter must bring them back.  First, the images: discs, boxes and
# soft blobs, drawn with NumPy from a seed.


def shapes(n, size, seed):
    """n grey images (n, size, size, 1) in [0, 1]: 1 to 3 discs, boxes or Gaussian blobs each."""
    gen = np.random.default_rng(seed)
    ii, jj = (np.mgrid[0:size, 0:size] + 0.5) / size * 16      # shape sizes in units of 1/16 image
    out = np.zeros((n, size, size, 1), np.float32)
    for k in range(n):
        img = np.zeros((size, size))
        for _ in range(gen.integers(1, 4)):
            cy, cx = gen.uniform(3, 13, 2)
            kind = gen.integers(3)
            if kind == 0:
                blob = np.hypot(ii - cy, jj - cx) < gen.uniform(2, 4.5)
            elif kind == 1:
                hy, hx = gen.uniform(1.5, 4, 2)
                blob = (np.abs(ii - cy) < hy) & (np.abs(jj - cx) < hx)
            else:
                blob = np.exp(-((ii - cy) ** 2 + (jj - cx) ** 2) / (2 * gen.uniform(1.5, 3) ** 2))
            img = np.maximum(img, gen.uniform(0.5, 1.0) * blob)
        out[k, :, :, 0] = img
    return out


hi_train, hi_test = shapes(64, 32, seed=1), shapes(4, 32, seed=2)
lo_train = nb.avg_pool2d(hi_train, kernel_size=2).numpy()          # (64, 16, 16, 1)
lo_test = nb.avg_pool2d(hi_test, kernel_size=2).numpy()

nearest_filter = np.ones((2, 2, 1, 1), np.float32)
tap = np.array([1, 3, 3, 1], np.float32) / 4
bilinear_filter = np.outer(tap, tap)[:, :, None, None]


def nearest(lo):
    return nb.conv2d_transpose(lo, nearest_filter, stride=2).numpy()


def bilinear(lo):
    return nb.conv2d_transpose(lo, bilinear_filter, stride=2, padding=1).numpy()


print(f"nearest neighbour equals np.repeat: "
      f"{np.array_equal(nearest(lo_test), lo_test.repeat(2, axis=1).repeat(2, axis=2))}")

# %%
# The learned upsampler is a ``ConvTranspose2d(1, 1, 4, stride=2, padding=1)``
# (PyTorch's initialisation: small random weights), trained on the 64 pairs
# with Adam on the mean squared error, full batch.

learned = nn.ConvTranspose2d(1, 1, 4, stride=2, padding=1, seed=0)
untrained = learned            # opt.step returns new models: this one keeps the initial filter
opt = nn.optim.Adam(learned, lr=0.02)
step = nb.value_and_grad(lambda m, lo, hi: F.mse_loss(m(lo), hi))
for i in range(301):
    loss, grads = step(learned, lo_train, hi_train)
    learned = opt.step(grads)
    if i % 100 == 0:
        print(f"step {i:3d}: training MSE {float(loss):.5f}")


def test_mse(upsampled):
    return float(np.mean((upsampled - hi_test) ** 2))


results = {
    "nearest": nearest(lo_test),
    "bilinear": bilinear(lo_test),
    "untrained 4x4": untrained(lo_test).numpy(),
    "learned 4x4": learned(lo_test).numpy(),
}
for name, up in results.items():
    print(f"held-out MSE, {name:13s}: {test_mse(up):.5f}")
print("learned filter x 16 (bilinear's would read 1 3 3 1 / 3 9 9 3 / 3 9 9 3 / 1 3 3 1):")
print(np.array2string(16 * learned.weight.numpy()[:, :, 0, 0], precision=1, suppress_small=True))
print(f"bias {float(learned.bias.numpy()[0]):+.4f}")

# %%
# The learned filter is close to the bilinear one, with a heavier centre: it
# also has to undo some of the blur of the 2x2 average pooling that made its
# inputs.  The figure shows the upsampled test images and, under them, the
# three filters.  The untrained filter gives the well-known *checkerboard*:
# with stride 2, each output pixel's parity (even or odd row, even or odd
# column) decides which 4 of the 16 weights produce it, and unequal random
# weights give the four parities different gains.  Training removes it.

cols = ["16x16 input"] + list(results) + ["32x32 truth"]
fig = plt.figure(figsize=(12, 8.2))
grid = fig.add_gridspec(3, len(cols), height_ratios=[1, 1, 0.9])
for r in range(2):
    row = [lo_test[r]] + [results[k][r] for k in results] + [hi_test[r]]
    for c, (name, im) in enumerate(zip(cols, row)):
        ax = fig.add_subplot(grid[r, c])
        ax.imshow(im[:, :, 0], cmap="gray", vmin=0, vmax=1)
        mse = "" if c in (0, len(cols) - 1) else f"\nMSE {np.mean((im - hi_test[r]) ** 2):.4f}"
        ax.set_title(name + mse, fontsize=9)
        ax.set_axis_off()
filters = {"bilinear (fixed)": bilinear_filter, "untrained": untrained.weight.numpy(),
           "learned": learned.weight.numpy()}
for c, (name, f) in enumerate(filters.items()):
    ax = fig.add_subplot(grid[2, 2 * c:2 * c + 2])
    ax.imshow(f[:, :, 0, 0], cmap="RdBu_r", vmin=-0.8, vmax=0.8)
    for (a, b), v in np.ndenumerate(f[:, :, 0, 0]):
        ax.text(b, a, f"{v:.2f}", ha="center", va="center", fontsize=7)
    ax.set_title(f"4x4 filter: {name}", fontsize=9)
    ax.set_axis_off()
fig.suptitle("2x upsampling with conv2d_transpose: fixed filters and a learned one")
fig.tight_layout()

# %%
# A tiny encoder-decoder
# ----------------------
#
# Now a network that goes down and back up.  The encoder is two
# ``Conv2d`` + ``ReLU`` + ``MaxPool2d(2, return_indices=True)`` stages, 16x16 ->
# 8x8 -> 4x4; the pooling layers also return, for each output, the flat index
# ``h*W + w`` of the cell that won its window.  The decoder mirrors it:
# ``MaxUnpool2d`` puts each value back at the cell it came from (zeros
# elsewhere, the "where" of the encoder) and a ``ConvTranspose2d`` with the
# mirrored channel counts fills in around it.  (With stride 1 a transposed
# convolution is an ordinary one with the filter flipped; here the unpooling
# does the upsampling.)  ``Sequential`` passes one value from layer to layer,
# so a small ``Module`` wires the indices through.


class EncoderDecoder(nn.Module):
    def __init__(self, seed=0):
        super().__init__()
        self.down1 = nn.Conv2d(1, 16, 3, padding=1, seed=seed)
        self.down2 = nn.Conv2d(16, 16, 3, padding=1, seed=seed + 1)
        self.pool = nn.MaxPool2d(2, return_indices=True)
        self.unpool = nn.MaxUnpool2d(2)
        self.up2 = nn.ConvTranspose2d(16, 16, 3, padding=1, seed=seed + 2)
        self.up1 = nn.ConvTranspose2d(16, 1, 3, padding=1, seed=seed + 3)

    def encode(self, x):
        h1, where1 = self.pool(F.relu(self.down1(x)))        # (N, 8, 8, 16)
        h2, where2 = self.pool(F.relu(self.down2(h1)))       # (N, 4, 4, 16)
        return h2, (where1, where2)

    def decode(self, h2, where):
        where1, where2 = where
        u = F.relu(self.up2(self.unpool(h2, where2)))        # (N, 8, 8, 16)
        return self.up1(self.unpool(u, where1))              # (N, 16, 16, 1)

    def forward(self, x):
        return self.decode(*self.encode(x))


model = EncoderDecoder()
print(model)
print(f"{sum(p.size for p in model.parameters())} parameters")

images = shapes(512 + 8, 16, seed=3)
train, test = images[:512], images[512:]
code, where = model.encode(test)
print(f"input {test.shape} -> code {code.shape}, indices {where[0].shape} and {where[1].shape} "
      f"-> output {model(test).shape}")

# %%
# Training: batches of 32, 400 Adam steps on the mean squared reconstruction
# error, the learning rate decaying from 0.01 along a cosine.  (The code is
# 4x4x16 = 256 numbers for 256 pixels, plus the pooling indices, so this is no
# compression exercise: the point is the plumbing, and that gradients flow
# through the unpooling and the transposed convolutions.)


def reconstruction_loss(model, x):
    return F.mse_loss(model(x), x)


step = nb.value_and_grad(reconstruction_loss)
STEPS = 400
opt = nn.optim.Adam(model, lr=nn.optim.cosine_decay(1e-2, STEPS, alpha=0.05))
order_rng = np.random.default_rng(0)
losses = []
for i in range(STEPS):
    batch = train[order_rng.choice(len(train), 32, replace=False)]
    loss, grads = step(model, batch)
    model = opt.step(grads)
    losses.append(float(loss))
    if i % 50 == 0 or i == STEPS - 1:
        print(f"step {i:3d}: loss {losses[-1]:.5f}")
test_loss = float(reconstruction_loss(model, test))
print(f"after {len(losses)} steps: held-out MSE {test_loss:.5f} "
      f"(predicting the mean pixel would give {float(np.mean((test - train.mean()) ** 2)):.5f})")

# %%
# The loss curve, and the 8 held-out images with their reconstructions and
# the absolute error.

recon = model(test).numpy()
error = np.abs(recon - test)

fig = plt.figure(figsize=(12, 5.5))
grid = fig.add_gridspec(3, 12)
ax = fig.add_subplot(grid[:, :4])
ax.plot(losses, lw=1)
ax.set(title="training loss (MSE)", xlabel="Adam step", yscale="log")
ax.grid(alpha=0.3)
for k in range(8):
    for r, (im, name, cmap) in enumerate([(test[k, :, :, 0], "input", "gray"),
                                          (recon[k, :, :, 0], "reconstruction", "gray"),
                                          (error[k, :, :, 0], "|error|", "magma")]):
        ax = fig.add_subplot(grid[r, 4 + k])
        ax.imshow(im, cmap=cmap, vmin=0, vmax=1 if r < 2 else 0.5)
        ax.set_axis_off()
        if k == 0:
            ax.set_title(name, fontsize=9, loc="left")
fig.suptitle(f"encoder-decoder with MaxUnpool2d + ConvTranspose2d: held-out MSE {test_loss:.4f}")
fig.tight_layout()
