"""The op database: one ``OpInfo`` per public op; the generic tests iterate it.

After PyTorch's OpInfo, kept small: an entry holds the public function, a
sample-inputs generator, an error-inputs generator (each with the expected
message pattern), a naive reference built on ``tests/naive.py``, which
arguments are differentiable, and a tolerance table per dtype.

* ``sample_inputs(dtype, rng)`` yields tiny ``SampleInput``s (a few hundred
  elements at most) covering the geometry the ops accept: strides, dilations,
  groups, every padding form, odd sizes, 1x1 and whole-input kernels, N = 0,
  bias, output_paddings, both input and both filter layouts, pool windows over
  (or wholly in) padding.  Max-pool samples hold distinct values (a scaled
  permutation), so finite differences never flip a window's maximum.
* ``error_inputs()`` yields ``ErrorInput(args, kwargs, exc, match, id)``; the
  regex names the argument and the value received.
* ``naive(*args, **kwargs)`` computes the op with the nested loops of
  ``tests/naive.py``, normalising the arguments itself (no code shared with
  ``nabla._args``).

A database is not a proof: the hand-computed known answers live beside it, in
``tests/test_reference_vs_naive.py`` and the kernel tests.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, NamedTuple

import numpy as np

import nabla
from tests import naive

DTYPES = (np.float32, np.float64)
# Forward comparisons (and, scaled by ``ADJOINT_FACTOR``, the dot-product test).
DEFAULT_TOL = {np.float32: dict(rtol=1e-5, atol=1e-5), np.float64: dict(rtol=1e-12, atol=1e-12)}


@dataclass
class SampleInput:
    """One call: ``op(*args, **kwargs)``.

    ``order``: the finite-difference check recurses to this order (2 for a
    few samples per op, 1 for the rest).  ``finite``: False when some outputs
    are -inf (max-pool windows wholly in padding); derivative tests then look
    at the finite outputs only.
    """
    args: tuple
    kwargs: dict
    id: str
    order: int = 1
    finite: bool = True

    @property
    def dtype(self):
        return np.asarray(self.args[0]).dtype.type


class ErrorInput(NamedTuple):
    args: tuple
    kwargs: dict
    exc: type
    match: str
    id: str


@dataclass
class OpInfo:
    name: str
    op: Callable
    sample_inputs: Callable[[Any, np.random.Generator], Iterator[SampleInput]]
    error_inputs: Callable[[], Iterator[ErrorInput]]
    naive: Callable[..., np.ndarray]
    arg_names: tuple                       # the positional arguments
    differentiable: tuple                  # names among arg_names and the kwargs
    tol: dict = field(default_factory=lambda: dict(DEFAULT_TOL))

    def diff_names(self, sample: SampleInput) -> tuple:
        """The differentiable arguments this sample actually passes."""
        present = dict(zip(self.arg_names, sample.args))
        present.update({k: v for k, v in sample.kwargs.items() if v is not None})
        return tuple(n for n in self.differentiable if n in present)

    def diff_inputs(self, sample: SampleInput) -> tuple:
        """The values of the differentiable arguments, in ``diff_names`` order."""
        present = dict(zip(self.arg_names, sample.args))
        present.update(sample.kwargs)
        return tuple(present[n] for n in self.diff_names(sample))

    def partial(self, sample: SampleInput) -> Callable:
        """``f(*diff_inputs) -> op(...)`` with the other arguments of the sample fixed."""
        names = self.diff_names(sample)

        def f(*diff):
            values = dict(zip(names, diff))
            args = [values.get(n, a) for n, a in zip(self.arg_names, sample.args)]
            kwargs = {k: values.get(k, v) for k, v in sample.kwargs.items()}
            return self.op(*args, **kwargs)
        f.__name__ = f"{self.name}[{sample.id}]"
        return f

    def with_args(self, sample: SampleInput, convert: Callable) -> tuple:
        """(args, kwargs) of the sample with every array passed through ``convert``."""
        args = tuple(convert(a) for a in sample.args)
        kwargs = {k: (convert(v) if isinstance(v, np.ndarray) else v) for k, v in sample.kwargs.items()}
        return args, kwargs


# ------------------------------------------------------------ normalisation
# Written again here, independently of nabla._args, from SEMANTICS.md.
def _pair(v):
    return (int(v[0]), int(v[1])) if isinstance(v, (tuple, list)) else (int(v), int(v))


def _pad4(p):
    if isinstance(p, (tuple, list)):
        return tuple(int(a) for a in p) if len(p) == 4 else (int(p[0]),) * 2 + (int(p[1]),) * 2
    return (int(p),) * 4


def _window_out(n, k, s, d, p0, p1):
    return (n + p0 + p1 - d * (k - 1) - 1) // s + 1


def _transpose_out(n, k, s, d, p0, p1, op_):
    return (n - 1) * s - (p0 + p1) + d * (k - 1) + op_ + 1


# -------------------------------------------------------- naive references
def naive_conv2d(x, filter, *, stride=(1, 1), dilation=(1, 1), padding=(0, 0, 0, 0), groups=1,
                 bias=None, input_layout=None, filter_layout=None):
    x, w = np.asarray(x), np.asarray(filter)
    if input_layout == "NCHW":
        x = x.transpose(0, 2, 3, 1)
    if filter_layout == "OIHW":
        w = w.transpose(2, 3, 1, 0)
    s, d, p = _pair(stride), _pair(dilation), _pad4(padding)
    out_hw = (_window_out(x.shape[1], w.shape[0], s[0], d[0], p[0], p[1]),
              _window_out(x.shape[2], w.shape[1], s[1], d[1], p[2], p[3]))
    y = naive.conv2d(x, w, out_hw, s, p, d, int(groups))
    if bias is not None:
        y = y + np.asarray(bias)
    return y.transpose(0, 3, 1, 2) if input_layout == "NCHW" else y


def naive_conv2d_transpose(x, filter, *, stride=(1, 1), dilation=(1, 1), padding=(0, 0, 0, 0),
                           output_paddings=(0, 0), bias=None, input_layout=None, filter_layout=None,
                           groups=1):
    x, w = np.asarray(x), np.asarray(filter)
    if input_layout == "NCHW":
        x = x.transpose(0, 2, 3, 1)
    if filter_layout == "IOHW":
        w = w.transpose(2, 3, 1, 0)
    s, d, p, o = _pair(stride), _pair(dilation), _pad4(padding), _pair(output_paddings)
    out_hw = (_transpose_out(x.shape[1], w.shape[0], s[0], d[0], p[0], p[1], o[0]),
              _transpose_out(x.shape[2], w.shape[1], s[1], d[1], p[2], p[3], o[1]))
    # The transpose's filter (K_h, K_w, C_out/G, C_in) is conv2d's (K_h, K_w, Cg, C_out).
    y = naive.conv2d_transpose(x, w, out_hw, s, p, d, int(groups))
    if bias is not None:
        y = y + np.asarray(bias)
    return y.transpose(0, 3, 1, 2) if input_layout == "NCHW" else y


def _pool_geometry(x, kernel_size, stride, padding, dilation):
    k = _pair(kernel_size)
    s = k if stride is None else _pair(stride)
    d, p = _pair(dilation), _pad4(padding)
    out_hw = (_window_out(x.shape[1], k[0], s[0], d[0], p[0], p[1]),
              _window_out(x.shape[2], k[1], s[1], d[1], p[2], p[3]))
    return out_hw, k, s, p, d


def naive_max_pool2d(x, *, kernel_size, stride=None, padding=0, dilation=(1, 1)):
    x = np.asarray(x)
    return naive.max_pool2d(x, *_pool_geometry(x, kernel_size, stride, padding, dilation))[0]


def naive_avg_pool2d(x, *, kernel_size, stride=None, padding=0, dilation=(1, 1)):
    x = np.asarray(x)
    return naive.avg_pool2d(x, *_pool_geometry(x, kernel_size, stride, padding, dilation))


# ------------------------------------------------------------ sample inputs
def _normal(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


def _distinct(rng, shape, dtype):
    """Distinct values 0.25 apart (exact in float32): no ties, so max pooling
    is differentiable and central differences with small eps never flip a window."""
    n = int(np.prod(shape))
    return ((rng.permutation(n) - n / 2) * 0.25).reshape(shape).astype(dtype)


# (id, x shape NHWC, filter shape HWIO, kwargs, order)
_CONV2D = [
    ("basic", (2, 5, 5, 3), (3, 3, 3, 2), {}, 2),
    ("stride2_pad1_bias", (1, 5, 5, 2), (3, 3, 2, 3), dict(stride=2, padding=1, bias=True), 2),
    ("stride3", (1, 7, 7, 1), (2, 2, 1, 2), dict(stride=3), 1),
    ("stride_asym_pad_pair", (1, 6, 5, 2), (2, 3, 2, 2), dict(stride=(1, 2), padding=(1, 0)), 1),
    ("dilation2", (1, 6, 6, 2), (2, 2, 2, 2), dict(dilation=2), 1),
    ("dilation_asym_pad4_bias", (1, 7, 6, 1), (3, 2, 1, 2),
     dict(dilation=(2, 1), padding=(2, 0, 1, 3), bias=True), 1),
    ("groups2_bias", (1, 4, 4, 4), (3, 3, 2, 4), dict(groups=2, bias=True), 2),
    ("depthwise_stride2_pad1", (1, 5, 5, 3), (3, 3, 1, 3), dict(groups=3, stride=2, padding=1), 1),
    ("depthwise_multiplier2", (1, 4, 4, 3), (2, 2, 1, 6), dict(groups=3), 1),
    ("kernel1x1_bias", (2, 3, 3, 3), (1, 1, 3, 2), dict(bias=True), 1),
    ("kernel_eq_input", (2, 3, 4, 2), (3, 4, 2, 2), {}, 1),
    ("odd_sizes_stride23", (1, 5, 7, 3), (2, 3, 3, 1), dict(stride=(2, 3)), 1),
    ("batch0_bias", (0, 4, 4, 2), (3, 3, 2, 3), dict(padding=1, bias=True), 1),
    ("height0_padded_bias", (1, 0, 3, 2), (2, 2, 2, 2), dict(padding=1, bias=True), 1),  # output: bias only
    ("batch1_numpy_ints", (1, 5, 5, 2), (2, 2, 1, 4),
     dict(stride=np.int64(2), dilation=(np.int32(1), 1), groups=np.int64(2)), 1),
    ("nchw_stride2", (1, 5, 4, 2), (3, 3, 2, 3), dict(input_layout="NCHW", stride=2, padding=1), 1),
    ("oihw_bias", (1, 4, 5, 2), (3, 2, 2, 2), dict(filter_layout="OIHW", bias=True), 1),
    ("nchw_oihw_groups_dilation", (1, 4, 5, 4), (3, 3, 2, 4),
     dict(input_layout="NCHW", filter_layout="OIHW", groups=2, dilation=(1, 2), padding=(1, 1, 2, 0)), 2),
    ("all_mixed", (2, 6, 7, 4), (2, 3, 2, 4),
     dict(stride=(2, 1), dilation=(2, 2), padding=(1, 2, 2, 0), groups=2, bias=True), 1),
]

# (id, x shape NHWC, filter shape HWOI = (K_h, K_w, C_out/G, C_in), kwargs, order)
_CONV2D_TRANSPOSE = [
    ("basic", (2, 3, 3, 2), (3, 3, 3, 2), {}, 2),
    ("stride2_pad1", (1, 3, 3, 2), (3, 3, 2, 2), dict(stride=2, padding=1), 1),
    ("stride2_pad1_outpad1_bias", (1, 3, 3, 2), (3, 3, 2, 2),
     dict(stride=2, padding=1, output_paddings=1, bias=True), 2),
    ("stride3_2_outpad_asym_bias", (1, 2, 3, 1), (2, 3, 2, 1),
     dict(stride=(3, 2), output_paddings=(2, 1), bias=True), 1),
    # output_padding >= stride but < dilation: the extra row/column gets the bias only
    ("outpad_ge_stride_lt_dilation", (1, 3, 3, 2), (2, 2, 2, 2),
     dict(stride=1, dilation=2, output_paddings=1, bias=True), 1),
    ("dilation_asym", (1, 3, 4, 2), (2, 2, 1, 2), dict(dilation=(2, 1)), 1),
    ("pad_pair_stride2", (1, 4, 4, 1), (3, 3, 2, 1), dict(stride=2, padding=(1, 0)), 1),
    ("pad4_stride_asym", (1, 3, 3, 2), (3, 3, 2, 2), dict(stride=(2, 1), padding=(1, 2, 0, 1)), 1),
    ("groups2_bias", (1, 3, 3, 4), (2, 2, 3, 4), dict(groups=2, bias=True), 2),
    ("depthwise_stride2", (1, 3, 3, 3), (3, 3, 1, 3), dict(groups=3, stride=2), 1),
    ("depthwise_multiplier2", (1, 3, 3, 6), (2, 2, 1, 6), dict(groups=3), 1),
    ("kernel1x1_stride2_bias", (2, 3, 4, 3), (1, 1, 2, 3), dict(stride=2, bias=True), 1),
    ("input1x1_odd_kernel", (1, 1, 1, 3), (3, 5, 2, 3), {}, 1),
    ("batch0_bias", (0, 3, 3, 2), (2, 2, 3, 2), dict(stride=2, bias=True), 1),
    ("height0_bias", (1, 0, 2, 2), (2, 2, 3, 2), dict(bias=True), 1),  # output height 1: bias only
    ("nchw_stride2", (1, 3, 4, 2), (2, 2, 3, 2), dict(input_layout="NCHW", stride=2), 1),
    ("iohw_bias", (1, 3, 3, 2), (2, 2, 3, 2), dict(filter_layout="IOHW", bias=True), 1),
    ("nchw_iohw_groups_outpad", (1, 3, 3, 4), (3, 2, 1, 4),
     dict(input_layout="NCHW", filter_layout="IOHW", groups=2, stride=(2, 1), dilation=(1, 2),
          padding=(1, 1, 0, 1), output_paddings=(1, 0)), 1),
]

# (id, x shape NHWC, kwargs, order, finite)
_POOL = [
    ("k2_default_stride", (2, 4, 4, 3), dict(kernel_size=2), 2, True),
    ("k3_stride1", (1, 5, 5, 2), dict(kernel_size=3, stride=1), 1, True),
    ("k3_stride2_pad1_over_padding", (1, 5, 5, 2), dict(kernel_size=3, stride=2, padding=1), 2, True),
    ("kernel_pair_stride_asym", (1, 6, 7, 2), dict(kernel_size=(2, 3), stride=(1, 2)), 1, True),
    ("pad_pair", (1, 4, 5, 2), dict(kernel_size=2, stride=1, padding=(1, 0)), 1, True),
    ("pad4_asym", (1, 5, 4, 2), dict(kernel_size=(3, 2), stride=(2, 1), padding=(0, 2, 1, 0)), 1, True),
    ("stride3", (1, 7, 7, 1), dict(kernel_size=2, stride=3), 1, True),
    ("dilation2", (1, 6, 6, 2), dict(kernel_size=2, stride=1, dilation=2), 1, True),
    ("dilation_asym_pad1", (1, 5, 6, 2), dict(kernel_size=2, stride=(2, 1), dilation=(1, 2), padding=1), 1, True),
    # windows 0 and 2 of each axis lie wholly in padding: -inf for max pooling, 0 for avg
    # (finite=False: some max-pool outputs are -inf)
    ("windows_in_padding", (1, 2, 2, 2), dict(kernel_size=2, stride=3, padding=3), 1, False),
    ("height0_padded", (1, 0, 3, 2), dict(kernel_size=2, stride=1, padding=1), 1, False),  # all padding
    ("kernel_eq_input", (2, 3, 4, 2), dict(kernel_size=(3, 4)), 1, True),
    ("kernel1x1_stride2", (1, 5, 5, 1), dict(kernel_size=1, stride=2), 1, True),
    ("odd_sizes", (3, 5, 3, 1), dict(kernel_size=2, stride=(2, 1)), 1, True),
    ("batch0", (0, 4, 4, 2), dict(kernel_size=2), 1, True),
    ("numpy_ints", (1, 4, 4, 2), dict(kernel_size=np.int64(2), stride=np.int32(1)), 1, True),
    ("mixed", (2, 5, 6, 2), dict(kernel_size=(3, 2), stride=(1, 2), padding=(1, 2, 0, 1), dilation=(2, 1)), 2, True),
]


def _conv_samples(table, dtype, rng, *, transposed):
    for id_, xs, fs, kw, order in table:
        kw = dict(kw)
        x = _normal(rng, xs, dtype)
        w = _normal(rng, fs, dtype)
        if kw.get("input_layout") == "NCHW":
            x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        if kw.get("filter_layout") in ("OIHW", "IOHW"):
            w = np.ascontiguousarray(w.transpose(3, 2, 0, 1))
        if kw.pop("bias", False):
            groups = int(kw.get("groups", 1))
            c_out = fs[2] * groups if transposed else fs[3]
            kw["bias"] = _normal(rng, (c_out,), dtype)
        yield SampleInput((x, w), kw, id_, order=order)


def sample_inputs_conv2d(dtype, rng):
    yield from _conv_samples(_CONV2D, dtype, rng, transposed=False)


def sample_inputs_conv2d_transpose(dtype, rng):
    yield from _conv_samples(_CONV2D_TRANSPOSE, dtype, rng, transposed=True)


def sample_inputs_max_pool2d(dtype, rng):
    for id_, xs, kw, order, finite in _POOL:
        yield SampleInput((_distinct(rng, xs, dtype),), dict(kw), id_, order=order, finite=finite)


def sample_inputs_avg_pool2d(dtype, rng):
    for id_, xs, kw, order, _ in _POOL:
        yield SampleInput((_normal(rng, xs, dtype),), dict(kw), id_, order=order)


# ------------------------------------------------------------- error inputs
def _m(*parts):
    """A regex matching the literal parts in order, anything in between."""
    return ".*".join(re.escape(p) for p in parts)


def _z(*shape, dtype=np.float64):
    return np.zeros(shape, dtype)


def _common_conv_errors(x, w, c_out):
    """Errors whose checks conv2d and conv2d_transpose share; x, w a valid pair."""
    E = ErrorInput
    huge = np.broadcast_to(np.zeros((), np.float64), (2**16, 2**16, 2**16, 1))  # a 2**48-element view
    # dtypes
    yield E((x.astype(np.int64), w), {}, TypeError, _m("'x'", "int64"), "x_int64")
    yield E((x, w.astype(bool)), {}, TypeError, _m("'filter'", "bool"), "filter_bool")
    yield E((x.astype(np.float16), w.astype(np.float16)), {}, TypeError, _m("'x'", "float16"), "float16")
    yield E((x.astype(np.complex128), w), {}, TypeError, _m("'x'", "complex128"), "x_complex")
    yield E((x.astype(np.float32), w), {}, TypeError,
            _m("'filter'", "float64", "'x'", "float32"), "mixed_float32_float64")
    yield E((x, w), dict(bias=np.zeros(c_out, np.float32)), TypeError,
            _m("'bias'", "float32", "'x'", "float64"), "bias_dtype_mismatch")
    yield E(("abc", w), {}, TypeError, _m("'x'", "<U3"), "x_str")
    yield E(({"a": 1}, w), {}, TypeError, _m("'x'", "dict"), "x_dict")
    # ranks
    yield E((x[0], w), {}, ValueError, _m("'x'", "rank 4", f"got shape {x[0].shape}"), "x_rank3")
    yield E((x, w[None]), {}, ValueError, _m("'filter'", "rank 4", f"got shape {w[None].shape}"), "filter_rank5")
    # stride / dilation / groups values and types
    for name in ("stride", "dilation"):
        yield E((x, w), {name: 0}, ValueError, _m(f"'{name}'", "positive", "got 0"), f"{name}_0")
        yield E((x, w), {name: (1, -2)}, ValueError, _m(f"'{name}'", "positive", "got -2"), f"{name}_negative")
        yield E((x, w), {name: True}, TypeError, _m(f"'{name}'", "True", "bool"), f"{name}_bool")
        yield E((x, w), {name: 1.0}, TypeError, _m(f"'{name}'", "1.0", "float"), f"{name}_float")
        yield E((x, w), {name: "2"}, TypeError, _m(f"'{name}'", "'2'", "str"), f"{name}_str")
        yield E((x, w), {name: (1, 2, 3)}, ValueError, _m(f"'{name}'", "pair", "(1, 2, 3)"), f"{name}_3tuple")
        yield E((x, w), {name: 2**40}, ValueError, _m(f"'{name}'", "too large", str(2**40)), f"{name}_2**40")
    yield E((x, w), dict(stride=(1, np.float64(2.0))), TypeError, _m("'stride'", "float64"), "stride_np_float")
    yield E((x, w), dict(groups=0), ValueError, _m("'groups'", "positive", "got 0"), "groups_0")
    yield E((x, w), dict(groups=True), TypeError, _m("'groups'", "True", "bool"), "groups_bool")
    yield E((x, w), dict(groups=1.0), TypeError, _m("'groups'", "1.0", "float"), "groups_float")
    # padding
    yield E((x, w), dict(padding=-1), ValueError, _m("'padding'", ">= 0", "got -1"), "padding_negative")
    yield E((x, w), dict(padding=(0, -1, 0, 0)), ValueError, _m("'padding'", ">= 0", "got -1"),
            "padding4_negative")
    yield E((x, w), dict(padding=(1, 2, 3)), ValueError, _m("'padding'", "4-tuple", "(1, 2, 3)"), "padding_3tuple")
    yield E((x, w), dict(padding=1.5), TypeError, _m("'padding'", "1.5", "float"), "padding_float")
    yield E((x, w), dict(padding=2**40), ValueError, _m("'padding'", "too large", str(2**40)), "padding_2**40")
    # bias shape
    yield E((x, w), dict(bias=np.zeros((1, c_out))), ValueError,
            _m("'bias'", f"({c_out},)", f"got (1, {c_out})"), "bias_2d")
    yield E((x, w), dict(bias=np.zeros(c_out + 1)), ValueError,
            _m("'bias'", f"({c_out},)", f"got ({c_out + 1},)"), "bias_wrong_length")
    yield E((x, w), dict(bias=np.zeros(())), ValueError, _m("'bias'", f"({c_out},)", "got ()"), "bias_scalar")
    # layouts
    yield E((x, w), dict(input_layout="NCWH"), ValueError,
            _m("'input_layout'", "['NHWC', 'NCHW']", "'NCWH'"), "input_layout_unknown")
    yield E((x, w), dict(input_layout="nhwc"), ValueError,
            _m("'input_layout'", "['NHWC', 'NCHW']", "'nhwc'"), "input_layout_lowercase")
    yield E((x, w), dict(input_layout=0), ValueError, _m("'input_layout'", "got 0"), "input_layout_int")
    # huge but malformed: refused before anything is allocated
    yield E((huge, w), {}, ValueError, _m("filter shape", "does not match x"),
            "huge_x_channel_mismatch")


def error_inputs_conv2d():
    E = ErrorInput
    x, w = _z(1, 4, 4, 2), _z(3, 3, 2, 4)
    yield from _common_conv_errors(x, w, c_out=4)
    yield E((x, _z(3, 3, 3, 4)), {}, ValueError, _m("filter.shape[2]", "C_in / groups = 2 / 1 = 2"),
            "channel_mismatch")
    yield E((x, w), dict(groups=2), ValueError, _m("filter.shape[2]", "C_in / groups = 2 / 2 = 1"),
            "filter_shape2_not_cin_over_groups")
    yield E((_z(1, 4, 4, 3), _z(3, 3, 1, 3)), dict(groups=2), ValueError,
            _m("groups=2", "divide", "3 input channels"), "groups_not_dividing_cin")
    yield E((_z(1, 4, 4, 4), _z(3, 3, 2, 3)), dict(groups=2), ValueError,
            _m("groups=2", "divide", "3 output channels"), "groups_not_dividing_cout")
    yield E((_z(1, 4, 4, 0), _z(3, 3, 0, 4)), {}, ValueError, _m("'x'", "0 channels", "(1, 4, 4, 0)"),
            "zero_input_channels")
    yield E((x, _z(3, 3, 2, 0)), {}, ValueError, _m("filter", "0 output channels", "(3, 3, 2, 0)"),
            "zero_output_channels")
    yield E((x, _z(0, 3, 2, 4)), {}, ValueError, _m("'filter'", "empty kernel", "(0, 3, 2, 4)"), "empty_kernel")
    yield E((_z(1, 2, 2, 1), _z(3, 3, 1, 1)), {}, ValueError,
            _m("output height would be 0 < 1",
               "floor((height_in 2 + padding 0 + 0 - dilation 1 * (kernel 3 - 1) - 1) / stride 1) + 1"),
            "kernel_bigger_than_input")
    yield E((_z(1, 5, 5, 1), _z(3, 3, 1, 1)), dict(dilation=(1, 3), padding=(0, 0, 0, 1)), ValueError,
            _m("output width would be 0 < 1",
               "floor((width_in 5 + padding 0 + 1 - dilation 3 * (kernel 3 - 1) - 1) / stride 1) + 1"),
            "dilated_kernel_bigger_than_padded_input")
    yield E((x, w), dict(filter_layout="HWOI"), ValueError,
            _m("'filter_layout'", "['HWIO', 'OIHW']", "'HWOI'"), "filter_layout_of_transpose")
    yield E((x, w), dict(filter_layout="IOHW"), ValueError,
            _m("'filter_layout'", "['HWIO', 'OIHW']", "'IOHW'"), "filter_layout_unknown")
    # x is valid as NHWC (2 channels) but read as NCHW it has 4
    yield E((x, w), dict(input_layout="NCHW"), ValueError,
            _m("filter.shape[2]", "C_in / groups = 4 / 1 = 4"), "nchw_channel_mismatch")
    yield E((_z(1, 4, 4), w), dict(input_layout="NCHW"), ValueError,
            _m("'x'", "rank 4", "N, C, H, W", "(1, 4, 4)"), "nchw_rank3")
    yield E((x, _z(4, 2, 3)), dict(filter_layout="OIHW"), ValueError,
            _m("'filter'", "rank 4", "C_out, C_in, K_h, K_w", "(4, 2, 3)"), "oihw_rank3")


def error_inputs_conv2d_transpose():
    E = ErrorInput
    x, w = _z(1, 3, 3, 2), _z(3, 3, 4, 2)   # HWOI: C_out/G = 4, C_in = 2
    yield from _common_conv_errors(x, w, c_out=4)
    yield E((x, _z(3, 3, 4, 3)), {}, ValueError, _m("filter.shape[3]", "2 input channels"), "channel_mismatch")
    yield E((_z(1, 3, 3, 3), _z(3, 3, 2, 3)), dict(groups=2), ValueError,
            _m("groups=2", "divide", "3 input channels"), "groups_not_dividing_cin")
    yield E((_z(1, 3, 3, 0), _z(3, 3, 4, 0)), {}, ValueError, _m("'x'", "0 channels", "(1, 3, 3, 0)"),
            "zero_input_channels")
    yield E((x, _z(3, 3, 0, 2)), {}, ValueError, _m("filter", "0 output channels", "(3, 3, 0, 2)"),
            "zero_output_channels")
    for id_, value, exc, msg in (
            ("1_stride1", 1, ValueError, _m("output_paddings height 1", "stride (1)", "dilation (1)")),
            ("w2_stride1", (0, 2), ValueError, _m("output_paddings width 2", "stride (1)", "dilation (1)")),
            ("negative", -1, ValueError, _m("'output_paddings'", ">= 0", "got -1")),
            ("3tuple", (0, 0, 0), ValueError, _m("'output_paddings'", "pair", "(0, 0, 0)")),
            ("float", 0.0, TypeError, _m("'output_paddings'", "0.0", "float")),
            ("bool", (False, 0), TypeError, _m("'output_paddings'", "False", "bool"))):
        yield E((x, w), dict(output_paddings=value), exc, msg, f"output_paddings_{id_}")
    yield E((x, w), dict(stride=2, dilation=3, output_paddings=(3, 0)), ValueError,
            _m("output_paddings height 3", "stride (2)", "dilation (3)"), "output_paddings_ge_stride_and_dilation")
    yield E((x, w), dict(output_paddings=2**40), ValueError,
            _m("'output_paddings'", "too large"), "output_paddings_2**40")
    yield E((_z(1, 1, 1, 2), _z(1, 1, 4, 2)), dict(padding=1), ValueError,
            _m("output height would be -1 < 1",
               "(height_in 1 - 1) * stride 1 - padding (1 + 1) + dilation 1 * (kernel 1 - 1) + output_padding 0 + 1"),
            "padding_larger_than_output")
    yield E((x, w), dict(filter_layout="HWIO"), ValueError,
            _m("'filter_layout'", "['HWOI', 'IOHW']", "'HWIO'"), "filter_layout_of_conv2d")
    yield E((x, w), dict(filter_layout="OIHW"), ValueError,
            _m("'filter_layout'", "['HWOI', 'IOHW']", "'OIHW'"), "filter_layout_oihw")
    yield E((x, _z(2, 4, 3)), dict(filter_layout="IOHW"), ValueError,
            _m("'filter'", "rank 4", "C_in, C_out, K_h, K_w", "(2, 4, 3)"), "iohw_rank3")


def _pool_errors():
    E = ErrorInput
    x = _z(1, 4, 4, 2)
    huge = np.broadcast_to(np.zeros((), np.float64), (2**16, 2**16, 2**16, 1))  # a 2**48-element view
    yield E((x.astype(np.int32),), dict(kernel_size=2), TypeError, _m("'x'", "int32"), "x_int32")
    yield E((x.astype(bool),), dict(kernel_size=2), TypeError, _m("'x'", "bool"), "x_bool")
    yield E((x.astype(np.float16),), dict(kernel_size=2), TypeError, _m("'x'", "float16"), "x_float16")
    yield E((x.astype(np.complex64),), dict(kernel_size=2), TypeError, _m("'x'", "complex64"), "x_complex")
    yield E((x[0],), dict(kernel_size=2), ValueError, _m("'x'", "rank 4", "(4, 4, 2)"), "x_rank3")
    yield E((_z(1, 4, 4, 0),), dict(kernel_size=2), ValueError, _m("'x'", "0 channels", "(1, 4, 4, 0)"),
            "zero_channels")
    yield E((huge,), dict(kernel_size=2**17), ValueError, _m("output height would be", "kernel 131072"),
            "huge_x_kernel_bigger")
    for name in ("kernel_size", "stride", "dilation"):
        yield E((x,), {"kernel_size": 2, name: 0}, ValueError, _m(f"'{name}'", "positive", "got 0"), f"{name}_0")
        yield E((x,), {"kernel_size": 2, name: (2, -1)}, ValueError, _m(f"'{name}'", "positive", "got -1"),
                f"{name}_negative")
        yield E((x,), {"kernel_size": 2, name: False}, TypeError, _m(f"'{name}'", "False", "bool"), f"{name}_bool")
        yield E((x,), {"kernel_size": 2, name: 2.0}, TypeError, _m(f"'{name}'", "2.0", "float"), f"{name}_float")
        yield E((x,), {"kernel_size": 2, name: "2"}, TypeError, _m(f"'{name}'", "'2'", "str"), f"{name}_str")
        yield E((x,), {"kernel_size": 2, name: (2, 2, 2)}, ValueError, _m(f"'{name}'", "pair", "(2, 2, 2)"),
                f"{name}_3tuple")
        yield E((x,), {"kernel_size": 2, name: 2**40}, ValueError, _m(f"'{name}'", "too large", str(2**40)),
                f"{name}_2**40")
    yield E((x,), dict(kernel_size=None), TypeError, _m("'kernel_size'", "None"), "kernel_size_none")
    yield E((x,), dict(kernel_size=2, padding=-1), ValueError, _m("'padding'", ">= 0", "got -1"), "padding_negative")
    yield E((x,), dict(kernel_size=2, padding=(1, 2, 3)), ValueError, _m("'padding'", "4-tuple", "(1, 2, 3)"),
            "padding_3tuple")
    yield E((x,), dict(kernel_size=2, padding=(0, 0, -3, 0)), ValueError, _m("'padding'", ">= 0", "got -3"),
            "padding4_negative")
    yield E((x,), dict(kernel_size=5), ValueError,
            _m("output height would be 0 < 1",
               "floor((height_in 4 + padding 0 + 0 - dilation 1 * (kernel 5 - 1) - 1) / stride 5) + 1"),
            "kernel_bigger_than_input")
    yield E((x,), dict(kernel_size=(1, 3), dilation=2, padding=(0, 0, 0, 0)), ValueError,
            _m("output width would be 0 < 1",
               "floor((width_in 4 + padding 0 + 0 - dilation 2 * (kernel 3 - 1) - 1) / stride 3) + 1"),
            "dilated_kernel_bigger_than_input")
    yield E((x,), dict(kernel_size=10**9), ValueError,
            _m("output height would be", "kernel 1000000000", "is larger than the padded input, 4"),
            "kernel_size_10**9")
    yield E((x,), dict(kernel_size=2, stride=-(2**40)), ValueError, _m("'stride'", "positive", str(-(2**40))),
            "stride_-2**40")


def error_inputs_max_pool2d():
    yield from _pool_errors()


def error_inputs_avg_pool2d():
    yield from _pool_errors()


# ----------------------------------------------------------------- database
op_db = [
    OpInfo("conv2d", nabla.conv2d, sample_inputs_conv2d, error_inputs_conv2d, naive_conv2d,
           arg_names=("x", "filter"), differentiable=("x", "filter", "bias")),
    OpInfo("conv2d_transpose", nabla.conv2d_transpose, sample_inputs_conv2d_transpose,
           error_inputs_conv2d_transpose, naive_conv2d_transpose,
           arg_names=("x", "filter"), differentiable=("x", "filter", "bias")),
    OpInfo("max_pool2d", nabla.max_pool2d, sample_inputs_max_pool2d, error_inputs_max_pool2d, naive_max_pool2d,
           arg_names=("x",), differentiable=("x",)),
    OpInfo("avg_pool2d", nabla.avg_pool2d, sample_inputs_avg_pool2d, error_inputs_avg_pool2d, naive_avg_pool2d,
           arg_names=("x",), differentiable=("x",)),
]
OPS = {op.name: op for op in op_db}
SEED = 20240611


def samples(dtypes=DTYPES, ops=None, where=None):
    """``pytest.param(op, sample, id="op-dtype-sample")`` for every sample of every op
    (restricted to ``ops`` names and to samples satisfying ``where(op, sample)``).
    Each (op, dtype) draws from its own seeded generator, so ids and values are
    reproducible."""
    import pytest
    params = []
    for op in op_db:
        if ops is not None and op.name not in ops:
            continue
        for dtype in dtypes:
            for s in op.sample_inputs(dtype, np.random.default_rng(SEED)):
                if where is None or where(op, s):
                    params.append(pytest.param(op, s, id=f"{op.name}-{np.dtype(dtype).name}-{s.id}"))
    return params


def errors(ops=None):
    """``pytest.param(op, error_input, id="op-error")`` for every error input."""
    import pytest
    return [pytest.param(op, e, id=f"{op.name}-{e.id}")
            for op in op_db if ops is None or op.name in ops for e in op.error_inputs()]
