"""Optional cross-check of the ``nabla.nn`` layers against ``torch.nn`` (CPU).

Each test builds a PyTorch layer, copies its state into the nabla layer with
``load_state_dict`` (converting layouts), and compares, in float64 and float32:

* the forward output;
* the gradients of ``loss = sum(y * u)`` (``u`` a random cotangent) with respect
  to the input and to every parameter (``nabla.value_and_grad`` against
  ``torch.autograd``);
* for BatchNorm2d, the running statistics after two training steps.

Also ``nn.functional.cross_entropy_loss`` against ``F.cross_entropy``, and the
default initialisation (shapes, fans and bounds) against PyTorch's.

Layouts (PyTorch is NCHW):

* activations: nabla NHWC = torch ``x.permute(0, 2, 3, 1)``;
* Conv2d weight: nabla HWIO (K_h, K_w, C_in/g, C_out) = torch OIHW ``w.permute(2, 3, 1, 0)``;
* ConvTranspose2d weight: nabla (K_h, K_w, C_out/g, C_in) = torch IOHW
  (C_in, C_out/g, K_h, K_w) ``.permute(2, 3, 1, 0)``;
* Linear weight: nabla (in, out) = torch ``w.T``;
* Flatten: nabla flattens NHWC in (H, W, C) order, torch NCHW in (C, H, W) order,
  so the first Linear after a Flatten has its input rows permuted (see ``lenet``).

Skipped when PyTorch is not installed; ``make crosscheck`` builds a venv with it.
"""
import math
import zlib

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch not installed; run make crosscheck")
tnn = torch.nn
F = torch.nn.functional

import nabla as nb  # noqa: E402
from nabla import nn  # noqa: E402

# numpy dtype, torch dtype, tolerance on max|got - want| / max|want|
DTYPES = {"f64": (np.float64, torch.float64, 1e-10), "f32": (np.float32, torch.float32, 1e-5)}


@pytest.fixture(params=list(DTYPES))
def dtname(request):
    return request.param


@pytest.fixture(autouse=True)
def _seed_inits(request):
    """Both libraries' default initialisation, seeded per test: reproducible runs."""
    seed = zlib.crc32(request.node.nodeid.encode())
    torch.manual_seed(seed)
    nb.seed(seed)


# ------------------------------------------------------------------------- helpers
def nhwc(t):
    """A torch NCHW tensor as an NHWC numpy array (other ranks as they are)."""
    t = t.detach()
    return (t.permute(0, 2, 3, 1) if t.ndim == 4 else t).numpy()


def nchw(a):
    """An NHWC numpy array as NCHW (other ranks as they are)."""
    return a.transpose(0, 3, 1, 2) if a.ndim == 4 else a


def to_t(a, tdt, grad=False):
    return torch.tensor(np.ascontiguousarray(a), dtype=tdt, requires_grad=grad)


def compare(what, dtname, got, want, scale=None):
    """``got`` (nabla Tensor or numpy) against ``want`` (numpy), relative to ``scale``
    (default max|want|)."""
    tol = DTYPES[dtname][2]
    got = np.asarray(got.numpy() if isinstance(got, nb.Tensor) else got)
    want = np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, torch {want.shape}"
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype}, torch {want.dtype}"
    if want.size == 0:
        return
    scale = max(float(np.abs(want).max()) if scale is None else scale, np.finfo(np.float64).tiny)
    err = float(np.abs(got.astype(np.float64) - want.astype(np.float64)).max())
    assert err / scale <= tol, f"{what}: max abs diff {err:.3e}, relative {err / scale:.3e} > {tol:.0e}"


def to_nabla_layout(tmod, key, arr, fix=None):
    """Entry ``key`` of torch module ``tmod`` (a numpy parameter, buffer or gradient)
    in nabla's layout.  ``fix``: {key: function} applied afterwards (for the Linear
    after a Flatten, whose input features come in another order)."""
    prefix, _, name = key.rpartition(".")
    module = tmod.get_submodule(prefix)
    if name == "weight" and isinstance(module, (tnn.Conv2d, tnn.ConvTranspose2d)):
        arr = arr.transpose(2, 3, 1, 0)
    elif name == "weight" and isinstance(module, tnn.Linear):
        arr = arr.T
    return (fix or {}).get(key, lambda a: a)(arr)


def nabla_state(tmod, fix=None):
    """torch ``state_dict`` -> a dict for nabla's ``load_state_dict``."""
    return {k: to_nabla_layout(tmod, k, v.detach().numpy(), fix) for k, v in tmod.state_dict().items()}


def nabla_grads(tmod, fix=None):
    """The ``.grad`` of every torch parameter, in nabla's layouts, by name."""
    return {k: to_nabla_layout(tmod, k, p.grad.numpy(), fix) for k, p in tmod.named_parameters()}


def run_pair(tmod, nmod, x, dtname, rng, image=True, fix=None):
    """Run ``tmod`` (torch) and ``nmod`` (nabla, state already loaded) on ``x`` (nabla
    layout; NHWC when ``image``) and compare output, loss, and gradients with respect
    to ``x`` and every parameter, for ``loss = sum(y * u)``; then the state dicts."""
    _, tdt, _ = DTYPES[dtname]
    xt = to_t(nchw(x) if image else x, tdt, True)
    yt = tmod(xt)
    y_want = nhwc(yt) if image else yt.detach().numpy()
    u = rng.standard_normal(y_want.shape).astype(x.dtype)
    ut = to_t(nchw(u) if image else u, tdt)
    tmod.zero_grad()
    loss_t = (yt * ut).sum()
    loss_t.backward()

    def loss(model, x):
        y = model(x)
        return nb.reduce_sum(y * u), y

    (value, y), (gmod, gx) = nb.value_and_grad(loss, argnums=(0, 1), has_aux=True)(nmod, nb.asarray(x))
    compare("output", dtname, y, y_want)
    # sum(y * u) cancels: relative to sum|y * u|, the size of its rounding errors
    compare("loss", dtname, value, loss_t.detach().numpy(), scale=float(np.abs(y_want * u).sum()))
    gx_want = nhwc(xt.grad) if image else xt.grad.numpy()
    compare("grad input", dtname, gx, gx_want)
    want = nabla_grads(tmod, fix)
    got = dict(gmod.named_parameters())
    assert list(got) == list(want), f"parameter names {list(got)}, torch {list(want)}"
    for name in want:
        compare(f"grad {name}", dtname, got[name], want[name])
    sd = nmod.state_dict()  # BatchNorm's buffers have moved; the rest is unchanged
    for key, value in nabla_state(tmod, fix).items():
        if value.dtype.kind == "f":
            compare(f"state {key}", dtname, sd[key], value)
        else:
            np.testing.assert_array_equal(sd[key], value, err_msg=key)
            assert sd[key].dtype == value.dtype, key


def _case_id(*args, kw):
    return "-".join([str(a) for a in args] + [f"{k}{v}" for k, v in kw.items()]).replace(" ", "")


def _image(rng, ndt, n, h, w, c):
    return rng.standard_normal((n, h, w, c)).astype(ndt)


# ------------------------------------------------------------------------ Conv2d
CONV = [  # (in, out, kernel_size, keyword arguments shared by both libraries)
    (3, 4, 3, {}),
    (3, 5, 3, dict(stride=2, padding=1)),
    (2, 3, (3, 2), dict(stride=(2, 1), padding=(1, 2), dilation=(2, 1))),
    (4, 6, 3, dict(groups=2, bias=False, padding=1)),
    (3, 6, 3, dict(groups=3, dilation=2, stride=(1, 2))),   # depthwise, channel multiplier 2
    (4, 4, 1, dict(groups=4)),
]


@pytest.mark.parametrize("cin, cout, k, kw", CONV, ids=[_case_id(*c[:3], kw=c[3]) for c in CONV])
def test_conv2d(cin, cout, k, kw, dtname, backend, rng):
    ndt, tdt, _ = DTYPES[dtname]
    tmod = tnn.Conv2d(cin, cout, k, **kw, dtype=tdt)
    nmod = nn.Conv2d(cin, cout, k, **kw, dtype=ndt)
    nmod.load_state_dict(nabla_state(tmod))
    run_pair(tmod, nmod, _image(rng, ndt, 2, 9, 8, cin), dtname, rng)


# --------------------------------------------------------------- ConvTranspose2d
TRANSPOSE = [
    (4, 3, 3, {}),
    (3, 2, 3, dict(stride=2, padding=1, output_padding=1)),
    (2, 3, (2, 3), dict(stride=(2, 3), padding=(0, 1), output_padding=(1, 2))),
    (4, 6, 3, dict(stride=2, output_padding=1, groups=2, bias=False)),
    (3, 6, 3, dict(groups=3, dilation=(1, 2), padding=1)),
    (2, 2, 3, dict(stride=2, dilation=2, output_padding=1)),  # output_padding < dilation only
]


@pytest.mark.parametrize("cin, cout, k, kw", TRANSPOSE,
                         ids=[_case_id(*c[:3], kw=c[3]) for c in TRANSPOSE])
def test_conv_transpose2d(cin, cout, k, kw, dtname, backend, rng):
    ndt, tdt, _ = DTYPES[dtname]
    tmod = tnn.ConvTranspose2d(cin, cout, k, **kw, dtype=tdt)
    nmod = nn.ConvTranspose2d(cin, cout, k, **kw, dtype=ndt)
    nmod.load_state_dict(nabla_state(tmod))
    run_pair(tmod, nmod, _image(rng, ndt, 2, 5, 4, cin), dtname, rng)


# ------------------------------------------------------------------------ Linear
@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 5), (5,)], ids=str)
@pytest.mark.parametrize("bias", [True, False])
def test_linear(shape, bias, dtname, rng):
    ndt, tdt, _ = DTYPES[dtname]
    tmod = tnn.Linear(5, 3, bias=bias, dtype=tdt)
    nmod = nn.Linear(5, 3, bias=bias, dtype=ndt)
    nmod.load_state_dict(nabla_state(tmod))
    run_pair(tmod, nmod, rng.standard_normal(shape).astype(ndt), dtname, rng, image=False)


# ----------------------------------------------------------------------- pooling
POOLS = [  # (torch class, nabla class, arguments)
    (tnn.MaxPool2d, nn.MaxPool2d, dict(kernel_size=2)),
    (tnn.MaxPool2d, nn.MaxPool2d, dict(kernel_size=3, stride=2, padding=1)),
    (tnn.MaxPool2d, nn.MaxPool2d, dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 0), dilation=(2, 1))),
    (tnn.AvgPool2d, nn.AvgPool2d, dict(kernel_size=2)),
    (tnn.AvgPool2d, nn.AvgPool2d, dict(kernel_size=3, stride=2, padding=1)),
    (tnn.AvgPool2d, nn.AvgPool2d, dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 0))),
]


@pytest.mark.parametrize("tcls, ncls, kw", POOLS, ids=[_case_id(p[1].__name__, kw=p[2]) for p in POOLS])
def test_pool(tcls, ncls, kw, dtname, backend, rng):
    ndt, _, _ = DTYPES[dtname]
    run_pair(tcls(**kw), ncls(**kw), _image(rng, ndt, 2, 7, 8, 3), dtname, rng)


# ----------------------------------------------------- Flatten and activations
@pytest.mark.parametrize("dims", [(), (1, -1), (2, 3), (0, 2), (-3, -2)], ids=str)
def test_flatten(dims, dtname, rng):
    # Both on the same NHWC array: torch's Flatten does not care which axis is which.
    ndt, _, _ = DTYPES[dtname]
    run_pair(tnn.Flatten(*dims), nn.Flatten(*dims), _image(rng, ndt, 2, 3, 4, 5), dtname, rng, image=False)


@pytest.mark.parametrize("name", ["ReLU", "Tanh", "Sigmoid"])
def test_activation(name, dtname, rng):
    ndt, _, _ = DTYPES[dtname]
    x = 3 * _image(rng, ndt, 2, 3, 4, 5)
    x[0, 0, 0, :3] = 0.0  # ReLU at 0: both take the derivative 0
    run_pair(getattr(tnn, name)(), getattr(nn, name)(), x, dtname, rng)


def test_dropout_eval(dtname, rng):
    ndt, _, _ = DTYPES[dtname]
    tmod, nmod = tnn.Dropout(0.5).eval(), nn.Dropout(0.5, seed=0).eval()
    run_pair(tmod, nmod, _image(rng, ndt, 2, 3, 4, 5), dtname, rng)


def test_dropout_train_matches_its_mask(rng):
    # Not comparable draw for draw with torch; check the inverted-dropout rule instead.
    x = rng.standard_normal((4, 5, 6, 7))
    nmod = nn.Dropout(0.25, seed=1)
    y, gx = nb.value_and_grad(lambda x: nb.reduce_sum(nmod(x) * 2.0))(nb.asarray(x))
    g = gx.numpy()  # 2 * mask / (1 - p)
    assert set(np.unique(np.round(g, 12))) <= {0.0, round(2.0 / 0.75, 12)}
    assert 0.65 < (g != 0).mean() < 0.85
    np.testing.assert_allclose(float(y.numpy()), float((g * x).sum()), rtol=1e-12)


# ------------------------------------------------------------------- BatchNorm2d
@pytest.mark.parametrize("momentum", [0.1, None], ids=["momentum0.1", "momentumNone"])
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "noaffine"])
def test_batchnorm2d_train(momentum, affine, dtname, rng):
    ndt, tdt, _ = DTYPES[dtname]
    tmod = tnn.BatchNorm2d(3, momentum=momentum, affine=affine, dtype=tdt)
    nmod = nn.BatchNorm2d(3, momentum=momentum, affine=affine, dtype=ndt)
    if affine:  # not the trivial scale 1 / shift 0, so their gradients and effect are tested
        with torch.no_grad():
            tmod.weight.copy_(torch.tensor(rng.uniform(0.5, 2.0, 3)))
            tmod.bias.copy_(torch.tensor(rng.standard_normal(3)))
    nmod.load_state_dict(nabla_state(tmod))
    for _ in range(2):  # each run_pair is one forward pass; the state is compared after each
        x = 2.0 * _image(rng, ndt, 3, 4, 5, 3) + rng.standard_normal(3).astype(ndt)
        run_pair(tmod, nmod, x, dtname, rng)
    assert int(nmod.num_batches_tracked.item()) == int(tmod.num_batches_tracked) == 2
    assert nmod.num_batches_tracked.dtype == np.int64
    assert nmod.running_mean.dtype == nmod.running_var.dtype == ndt


def test_batchnorm2d_eval(dtname, rng):
    ndt, tdt, _ = DTYPES[dtname]
    tmod = tnn.BatchNorm2d(4, eps=1e-3, dtype=tdt)
    with torch.no_grad():
        tmod.weight.copy_(torch.tensor(rng.uniform(0.5, 2.0, 4)))
        tmod.bias.copy_(torch.tensor(rng.standard_normal(4)))
        tmod.running_mean.copy_(torch.tensor(rng.standard_normal(4)))
        tmod.running_var.copy_(torch.tensor(rng.uniform(0.2, 3.0, 4)))
        tmod.num_batches_tracked.fill_(7)
    nmod = nn.BatchNorm2d(4, eps=1e-3, dtype=ndt)
    nmod.load_state_dict(nabla_state(tmod))
    tmod.eval()
    nmod.eval()
    run_pair(tmod, nmod, _image(rng, ndt, 2, 3, 4, 4), dtname, rng)
    assert int(nmod.num_batches_tracked.item()) == int(tmod.num_batches_tracked) == 7  # untouched


def test_batchnorm2d_no_running_stats(dtname, rng):
    ndt, tdt, _ = DTYPES[dtname]
    tmod = tnn.BatchNorm2d(3, track_running_stats=False, dtype=tdt).eval()  # batch statistics even in eval
    nmod = nn.BatchNorm2d(3, track_running_stats=False, dtype=ndt).eval()
    nmod.load_state_dict(nabla_state(tmod))
    run_pair(tmod, nmod, _image(rng, ndt, 2, 3, 4, 3), dtname, rng)


def test_batchnorm2d_train_from_loaded_state(rng):
    # A loaded state (a checkpoint) continues as in torch: momentum=None averages over
    # all num_batches_tracked + 1 batches.
    tmod = tnn.BatchNorm2d(2, momentum=None, dtype=torch.float64)
    with torch.no_grad():
        tmod.running_mean.copy_(torch.tensor(rng.standard_normal(2)))
        tmod.running_var.copy_(torch.tensor(rng.uniform(0.5, 2.0, 2)))
        tmod.num_batches_tracked.fill_(4)
    nmod = nn.BatchNorm2d(2, momentum=None, dtype=np.float64)
    nmod.load_state_dict(nabla_state(tmod))
    run_pair(tmod, nmod, _image(rng, np.float64, 2, 3, 3, 2), "f64", rng)
    assert int(nmod.num_batches_tracked.item()) == 5


# ------------------------------------------------------------------ Sequential
def lenet(lib, p_drop, **dt):
    """A LeNet-5 for 1 x 28 x 28 inputs, written identically for torch.nn and nabla.nn.
    (No bias before the BatchNorm: in training mode its gradient is 0 up to rounding.)"""
    return lib.Sequential(
        lib.Conv2d(1, 6, 5, padding=2, bias=False, **dt), lib.BatchNorm2d(6, **dt),
        lib.ReLU(), lib.MaxPool2d(2),
        lib.Conv2d(6, 16, 5, **dt), lib.Tanh(), lib.AvgPool2d(2),
        lib.Flatten(), lib.Linear(16 * 5 * 5, 120, **dt), lib.ReLU(), lib.Dropout(p_drop),
        lib.Linear(120, 84, **dt), lib.Sigmoid(), lib.Linear(84, 10, **dt))


def _flatten_rows(w):
    """Linear(400, 120) weight in nabla layout (400, 120): rows from torch's (C, H, W)
    feature order to nabla's (H, W, C)."""
    return w.reshape(16, 5, 5, 120).transpose(1, 2, 0, 3).reshape(400, 120)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_sequential_lenet(mode, dtname, backend, rng):
    ndt, tdt, _ = DTYPES[dtname]
    p = 0.0 if mode == "train" else 0.5  # training-mode dropout masks cannot be matched
    tmod = lenet(tnn, p, dtype=tdt)
    nmod = lenet(nn, p, dtype=ndt)
    assert list(nmod.state_dict()) == list(tmod.state_dict())
    fix = {"8.weight": _flatten_rows}
    nmod.load_state_dict(nabla_state(tmod, fix))
    tmod.train(mode == "train")
    nmod.train(mode == "train")
    run_pair(tmod, nmod, _image(rng, ndt, 3, 28, 28, 1), dtname, rng, fix=fix)


# ------------------------------------------------------------------ cross entropy
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("labels", ["int", "prob", "onehot"])
@pytest.mark.parametrize("shape", [(6, 5), (2, 3, 4, 5)], ids=["NC", "NHWC"])
@pytest.mark.parametrize("scale", [1.0, 1e4])
def test_cross_entropy(reduction, labels, shape, scale, dtname, rng):
    ndt, tdt, _ = DTYPES[dtname]
    logits = (scale * rng.standard_normal(shape)).astype(ndt)
    C = shape[-1]
    if labels == "int":
        target = rng.integers(0, C, shape[:-1])
    elif labels == "onehot":
        target = np.eye(C, dtype=ndt)[rng.integers(0, C, shape[:-1])]
    else:
        e = np.exp(rng.standard_normal(shape))
        target = (e / e.sum(-1, keepdims=True)).astype(ndt)
    soft = labels != "int"

    # torch: class axis 1
    def cl(a):
        return np.moveaxis(a, -1, 1) if a.ndim == len(shape) else a
    lt = to_t(cl(logits), tdt, True)
    tt = to_t(cl(target), tdt, True) if soft else torch.tensor(target)
    out_t = F.cross_entropy(lt, tt, reduction=reduction)
    u = rng.standard_normal(out_t.shape).astype(ndt)
    (out_t * to_t(u, tdt)).sum().backward()

    def loss(logits, target):
        out = nn.functional.cross_entropy_loss(logits, target, reduction=reduction)
        return nb.reduce_sum(out * u), out

    argnums = (0, 1) if soft else 0
    (_, out), grads = nb.value_and_grad(loss, argnums=argnums, has_aux=True)(
        nb.asarray(logits), nb.asarray(target) if soft else target)
    compare("loss", dtname, out, out_t.detach().numpy())
    g_logits, g_target = grads if soft else (grads, None)
    compare("grad logits", dtname, g_logits, np.moveaxis(lt.grad.numpy(), 1, -1))
    if soft:
        compare("grad target", dtname, g_target, np.moveaxis(tt.grad.numpy(), 1, -1))
    assert np.all(np.isfinite(out.numpy()))


@pytest.mark.filterwarnings("ignore:Mean of empty slice", "ignore:invalid value encountered")
@pytest.mark.parametrize("reduction", ["sum", "none", "mean"])
def test_cross_entropy_empty_batch(reduction):
    logits = np.zeros((0, 3))
    labels = np.zeros(0, np.int64)
    want = F.cross_entropy(torch.tensor(logits), torch.tensor(labels), reduction=reduction).numpy()
    got = nn.functional.cross_entropy_loss(logits, labels, reduction=reduction).numpy()
    np.testing.assert_array_equal(got, want)


@pytest.mark.filterwarnings("ignore:invalid value encountered in multiply")
def test_cross_entropy_masked_class_int_labels():
    logits = np.array([[-np.inf, 1.0, 0.0], [2.0, -np.inf, 0.5]])
    labels = np.array([1, 0])
    want = F.cross_entropy(torch.tensor(logits), torch.tensor(labels), reduction="none").numpy()
    got = nn.functional.cross_entropy_loss(logits, labels, reduction="none")
    compare("loss", "f64", got, want)


# --------------------------------------------------------------- initialisation
INIT_LAYERS = [  # constructors: called with lib = torch.nn and lib = nabla.nn
    lambda lib: lib.Conv2d(3, 8, 3),
    lambda lib: lib.Conv2d(6, 9, (2, 5), groups=3, bias=True),
    lambda lib: lib.Conv2d(4, 4, 3, groups=4, bias=False),
    lambda lib: lib.ConvTranspose2d(3, 8, 3, stride=2),
    lambda lib: lib.ConvTranspose2d(6, 4, (3, 2), groups=2),
    lambda lib: lib.Linear(7, 3),
    lambda lib: lib.Linear(7, 3, bias=False),
    lambda lib: lib.BatchNorm2d(5),
    lambda lib: lenet(lib, 0.5),
]
INIT_IDS = ["conv", "conv-groups", "depthwise-nobias", "convT", "convT-groups", "linear", "linear-nobias",
            "batchnorm", "lenet"]


@pytest.mark.parametrize("make", INIT_LAYERS, ids=INIT_IDS)
def test_init_shapes_and_names(make):
    tmod, nmod = make(tnn), make(nn)
    t_sd, n_sd = tmod.state_dict(), nmod.state_dict()
    assert list(n_sd) == list(t_sd)
    assert [k for k, _ in nmod.named_parameters()] == [k for k, _ in tmod.named_parameters()]
    assert [k for k, _ in nmod.named_buffers()] == [k for k, _ in tmod.named_buffers()]
    fix = {"8.weight": _flatten_rows} if "8.weight" in t_sd else None
    for key, want in nabla_state(tmod, fix).items():
        assert n_sd[key].shape == want.shape, key
    assert sum(p.size for p in nmod.parameters()) == sum(p.numel() for p in tmod.parameters())
    for key, p in nmod.named_parameters():
        assert p.dtype == np.float32, key
    if isinstance(tmod, tnn.BatchNorm2d):  # deterministic init: equal to torch's exactly
        for key, want in t_sd.items():
            np.testing.assert_array_equal(n_sd[key], want.numpy(), err_msg=key)
            assert n_sd[key].dtype == want.numpy().dtype, key


@pytest.mark.parametrize("make", INIT_LAYERS[:7], ids=INIT_IDS[:7])
def test_init_fans_and_bounds(make):
    tmod, nmod = make(tnn), make(nn)
    t_fans = torch.nn.init._calculate_fan_in_and_fan_out(tmod.weight)
    n_fans = nn.init.calculate_fan_in_and_fan_out(nmod.weight.shape)
    assert n_fans == t_fans
    bound = 1 / math.sqrt(t_fans[0])  # torch: kaiming_uniform(a=sqrt(5)) and the bias draw
    for name in ("weight", "bias"):
        t, n = getattr(tmod, name), getattr(nmod, name)
        assert (t is None) == (n is None)
        if n is not None:
            assert np.abs(n.numpy()).max() <= bound, name
            assert t.detach().abs().max().item() <= bound * (1 + 1e-6), name


@pytest.mark.parametrize("make, bound_fan_in", [
    (lambda lib: lib.Conv2d(64, 64, 3, groups=2), 32 * 9),
    (lambda lib: lib.ConvTranspose2d(64, 96, 3, groups=2), 48 * 9),
    (lambda lib: lib.Linear(300, 200), 300),
], ids=["conv", "convT", "linear"])
def test_init_distribution(make, bound_fan_in):
    """Large layers: nabla's weights fill U(-b, b), b = 1/sqrt(fan_in), as torch's do."""
    tmod, nmod = make(tnn), make(nn)
    b = 1 / math.sqrt(bound_fan_in)
    assert b == 1 / math.sqrt(torch.nn.init._calculate_fan_in_and_fan_out(tmod.weight)[0])
    for w in (nmod.weight.numpy(), tmod.weight.detach().numpy()):
        a = np.abs(w.ravel()) / b
        assert a.max() <= 1.0 and a.max() > 0.99
        assert abs(a.mean() - 0.5) < 0.01          # |U(-b, b)| / b is U(0, 1)
        assert abs((a ** 2).mean() - 1 / 3) < 0.01
        assert abs(w.mean()) < 0.03 * b                # about 7 standard errors
