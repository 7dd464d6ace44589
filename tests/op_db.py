"""The op database: one ``OpInfo`` per public op; the generic tests iterate it.

After PyTorch's OpInfo, kept small: an entry holds the public function, a
sample-inputs generator, an error-inputs generator (each with the expected
message pattern), a naive reference built on ``tests/naive.py``, which
arguments are differentiable, and a tolerance table per dtype.

* ``sample_inputs(dtype, rng)`` yields tiny ``SampleInput``s (a few hundred
  elements at most) covering the geometry the ops accept: strides, dilations,
  groups, every padding form ("SAME"/"VALID" included), conv2d's padding modes,
  ceil_mode, count_include_pad, odd sizes, 1x1 and whole-input kernels, N = 0,
  bias, output_paddings, both input and both filter layouts, pool windows over
  (or wholly in) padding; and for the ops built on those (max_unpool2d, the
  adaptive and global pools, pad) their own arguments.  Max-pool samples hold
  distinct values (a scaled permutation), so finite differences never flip a
  window's maximum.  A sample or error input may carry pytest ``marks`` (a
  warning filter; an xfail naming a known library bug).
* ``error_inputs()`` yields ``ErrorInput(args, kwargs, exc, match, id)``; the
  regex names the argument and the value received.
* ``naive(*args, **kwargs)`` computes the op with the nested loops of
  ``tests/naive.py``, normalising the arguments itself (no code shared with
  ``nabla._args``).

A database is not a proof: the hand-computed known answers live beside it, in
``tests/test_reference_vs_naive.py`` and the kernel tests.
"""
from __future__ import annotations

import math
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
    marks: tuple = ()   # pytest marks for every test of this sample (e.g. a warning filter)

    @property
    def dtype(self):
        return np.asarray(self.args[0]).dtype.type


class ErrorInput(NamedTuple):
    args: tuple
    kwargs: dict
    exc: type
    match: str
    id: str
    marks: tuple = ()   # e.g. an xfail for a known library bug


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
    # The primitives nabla.profile records for a call (at least one of them), when
    # the op is built on others' primitives (default: its own name).
    primitives: tuple = ()
    # False for an op that runs no backend kernel at all (pad: NumPy indexing).
    uses_kernels: bool = True

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
# Written again here, independently of nabla._args, from SEMANTICS.md and the
# options' documented rules (TensorFlow's SAME/VALID, PyTorch's ceil_mode).
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


def _same(n, k, s, d):
    """TensorFlow's SAME along one axis: ceil(n / s) outputs; the padding they need,
    max((out - 1)*s + d*(k - 1) + 1 - n, 0) cells, split with the odd one after."""
    out = math.ceil(n / s)
    total = max((out - 1) * s + d * (k - 1) + 1 - n, 0)
    return total // 2, total - total // 2


def _window_padding(padding, hw, k, s, d):
    """(top, bottom, left, right) of a window op: "SAME"/"VALID" in any case, or a number/tuple."""
    if isinstance(padding, str):
        if padding.upper() == "VALID":
            return (0, 0, 0, 0)
        assert padding.upper() == "SAME", padding
        return _same(hw[0], k[0], s[0], d[0]) + _same(hw[1], k[1], s[1], d[1])
    return _pad4(padding)


def _pool_out(n, k, s, d, p0, p1, ceil_mode):
    """PyTorch's pooling output size: floor (or ceil) of the span over the stride, plus
    one; in ceil mode less one when the last window would start past the input and
    its top/left padding."""
    span = n + p0 + p1 - d * (k - 1) - 1
    if not ceil_mode:
        return span // s + 1
    out = math.ceil(span / s) + 1
    if (out - 1) * s >= n + p0:
        out -= 1
    return out


def _to_nhwc(a, input_layout):
    return a.transpose(0, 2, 3, 1) if input_layout == "NCHW" else a


def _from_nhwc(a, input_layout):
    return a.transpose(0, 3, 1, 2) if input_layout == "NCHW" else a


_NAIVE_PAD_MODE = {"constant": "constant", "reflect": "reflect", "edge": "edge", "replicate": "edge",
                   "wrap": "wrap", "circular": "wrap"}


# -------------------------------------------------------- naive references
def naive_conv2d(x, filter, *, stride=(1, 1), dilation=(1, 1), padding=(0, 0, 0, 0), groups=1,
                 bias=None, input_layout=None, filter_layout=None, padding_mode="zeros"):
    x, w = np.asarray(x), np.asarray(filter)
    x = _to_nhwc(x, input_layout)
    if filter_layout == "OIHW":
        w = w.transpose(2, 3, 1, 0)
    s, d = _pair(stride), _pair(dilation)
    p = _window_padding(padding, x.shape[1:3], w.shape[:2], s, d)
    if padding_mode != "zeros":   # pad by copying cells, then convolve without padding
        x = naive.pad(x, ((0, 0), (p[0], p[1]), (p[2], p[3]), (0, 0)), mode=_NAIVE_PAD_MODE[padding_mode])
        p = (0, 0, 0, 0)
    out_hw = (_window_out(x.shape[1], w.shape[0], s[0], d[0], p[0], p[1]),
              _window_out(x.shape[2], w.shape[1], s[1], d[1], p[2], p[3]))
    y = naive.conv2d(x, w, out_hw, s, p, d, int(groups))
    if bias is not None:
        y = y + np.asarray(bias)
    return _from_nhwc(y, input_layout)


def naive_conv2d_transpose(x, filter, *, stride=(1, 1), dilation=(1, 1), padding=(0, 0, 0, 0),
                           output_paddings=(0, 0), bias=None, input_layout=None, filter_layout=None,
                           groups=1, padding_mode="zeros"):
    assert padding_mode == "zeros"
    x, w = np.asarray(x), np.asarray(filter)
    x = _to_nhwc(x, input_layout)
    if filter_layout == "IOHW":
        w = w.transpose(2, 3, 1, 0)
    s, d, o = _pair(stride), _pair(dilation), _pair(output_paddings)
    if isinstance(padding, str):
        # The adjoint of conv2d with the same string padding, from an input of the
        # transpose's output size: SAME n*s (conv2d SAME maps it back to n), VALID
        # n*s + max(d*(k - 1) + 1 - s, 0) (conv2d VALID maps it back to n).
        out_hw, p = [], ()
        for n, k, sa, da in zip(x.shape[1:3], w.shape[:2], s, d):
            if padding.upper() == "SAME":
                out_hw.append(n * sa)
                p += _same(n * sa, k, sa, da)
            else:
                out_hw.append(n * sa + max(da * (k - 1) + 1 - sa, 0))
                p += (0, 0)
        out_hw = tuple(out_hw)
    else:
        p = _pad4(padding)
        out_hw = (_transpose_out(x.shape[1], w.shape[0], s[0], d[0], p[0], p[1], o[0]),
                  _transpose_out(x.shape[2], w.shape[1], s[1], d[1], p[2], p[3], o[1]))
    # The transpose's filter (K_h, K_w, C_out/G, C_in) is conv2d's (K_h, K_w, Cg, C_out).
    y = naive.conv2d_transpose(x, w, out_hw, s, p, d, int(groups))
    if bias is not None:
        y = y + np.asarray(bias)
    return _from_nhwc(y, input_layout)


def _pool_geometry(x, kernel_size, stride, padding, dilation, ceil_mode=False):
    k = _pair(kernel_size)
    s = k if stride is None else _pair(stride)
    d = _pair(dilation)
    p = _window_padding(padding, x.shape[1:3], k, s, d)
    out_hw = (_pool_out(x.shape[1], k[0], s[0], d[0], p[0], p[1], ceil_mode),
              _pool_out(x.shape[2], k[1], s[1], d[1], p[2], p[3], ceil_mode))
    return out_hw, k, s, p, d


def naive_max_pool2d(x, *, kernel_size, stride=None, padding=0, dilation=(1, 1), ceil_mode=False,
                     return_indices=False, input_layout=None):
    x = _to_nhwc(np.asarray(x), input_layout)
    y, argmax = naive.max_pool2d(x, *_pool_geometry(x, kernel_size, stride, padding, dilation, ceil_mode))
    y, argmax = _from_nhwc(y, input_layout), _from_nhwc(argmax, input_layout)
    return (y, argmax) if return_indices else y


def naive_avg_pool2d(x, *, kernel_size, stride=None, padding=0, dilation=(1, 1), ceil_mode=False,
                     count_include_pad=True, input_layout=None):
    x = _to_nhwc(np.asarray(x), input_layout)
    geometry = _pool_geometry(x, kernel_size, stride, padding, dilation, ceil_mode)
    if count_include_pad and not ceil_mode:   # every window lies in the padded input: k_h*k_w taps
        y = naive.avg_pool2d(x, *geometry)
    else:
        y = naive.avg_pool2d_counted(x, *geometry, count_include_pad=count_include_pad)
    return _from_nhwc(y, input_layout)


def naive_max_unpool2d(x, *, indices, kernel_size, stride=None, padding=0, output_size=None,
                       input_layout=None):
    x = _to_nhwc(np.asarray(x), input_layout)
    indices = _to_nhwc(np.asarray(indices), input_layout)
    k = _pair(kernel_size)
    s = k if stride is None else _pair(stride)
    p = _pad4(padding)
    if output_size is None:   # PyTorch's default: (H_in - 1)*s - (pt + pb) + k
        out_hw = ((x.shape[1] - 1) * s[0] - p[0] - p[1] + k[0], (x.shape[2] - 1) * s[1] - p[2] - p[3] + k[1])
    else:
        size = tuple(output_size)
        if len(size) == 4:   # a full shape, in the input's layout
            size = size[2:] if input_layout == "NCHW" else size[1:3]
        out_hw = _pair(size)
    return _from_nhwc(naive.max_unpool2d(x, indices, out_hw), input_layout)


def _adaptive_hw(x, output_size):
    size = tuple(output_size) if isinstance(output_size, (tuple, list)) else (output_size, output_size)
    return tuple(n if m is None else int(m) for n, m in zip(x.shape[1:3], size))


def naive_adaptive_avg_pool2d(x, *, output_size, input_layout=None):
    x = _to_nhwc(np.asarray(x), input_layout)
    return _from_nhwc(naive.adaptive_avg_pool2d(x, _adaptive_hw(x, output_size)), input_layout)


def naive_adaptive_max_pool2d(x, *, output_size, return_indices=False, input_layout=None):
    x = _to_nhwc(np.asarray(x), input_layout)
    y, argmax = naive.adaptive_max_pool2d(x, _adaptive_hw(x, output_size))
    y, argmax = _from_nhwc(y, input_layout), _from_nhwc(argmax, input_layout)
    return (y, argmax) if return_indices else y


def _global(pool, x, keepdims, input_layout):
    x = _to_nhwc(np.asarray(x), input_layout)
    y = pool(x, (1, 1))                      # one bin: the whole plane
    y = y[0] if isinstance(y, tuple) else y
    return _from_nhwc(y, input_layout) if keepdims else y.reshape(y.shape[0], y.shape[3])


def naive_global_avg_pool2d(x, *, keepdims=False, input_layout=None):
    return _global(naive.adaptive_avg_pool2d, x, keepdims, input_layout)


def naive_global_max_pool2d(x, *, keepdims=False, input_layout=None):
    return _global(naive.adaptive_max_pool2d, x, keepdims, input_layout)


def naive_batch_norm(x, running_mean=None, running_var=None, weight=None, bias=None, training=False,
                     momentum=0.1, eps=1e-5):
    x = np.asarray(x)
    batch = training or running_mean is None or running_var is None
    vector = (lambda v: None if v is None else np.asarray(v, np.float64))
    mean, var = (None, None) if batch else (vector(running_mean), vector(running_var))
    return naive.batch_norm(x, mean, var, vector(weight), vector(bias), eps)


def naive_pad(x, *, pad_width, value=0.0, mode="constant"):
    pw = [(int(lo), int(hi)) for lo, hi in pad_width]
    return naive.pad(np.asarray(x), pw, mode=_NAIVE_PAD_MODE[mode], value=value)


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
    ("stride_asym_pad_pair_replicate", (1, 6, 5, 2), (2, 3, 2, 2),
     dict(stride=(1, 2), padding=(1, 2), padding_mode="replicate"), 1),
    ("dilation2", (1, 6, 6, 2), (2, 2, 2, 2), dict(dilation=2), 1),
    ("dilation_asym_pad4_bias", (1, 7, 6, 1), (3, 2, 1, 2),
     dict(dilation=(2, 1), padding=(2, 0, 1, 3), bias=True), 1),
    ("groups2_bias", (1, 4, 4, 4), (3, 3, 2, 4), dict(groups=2, bias=True), 2),
    ("depthwise_stride2_pad1", (1, 5, 5, 3), (3, 3, 1, 3), dict(groups=3, stride=2, padding=1), 1),
    ("depthwise_multiplier2", (1, 4, 4, 3), (2, 2, 1, 6), dict(groups=3), 1),
    ("kernel1x1_bias", (2, 3, 3, 3), (1, 1, 3, 2), dict(bias=True), 1),
    ("kernel_eq_input_valid", (2, 3, 4, 2), (3, 4, 2, 2), dict(padding="VALID"), 1),
    # SAME, an even kernel at stride 2: H 5 -> 3, padding (0, 1); W 7 -> 3 (k 3, s 3), padding (1, 1)
    ("odd_sizes_stride23_same", (1, 5, 7, 3), (2, 3, 3, 1), dict(stride=(2, 3), padding="SAME"), 1),
    ("batch0_bias", (0, 4, 4, 2), (3, 3, 2, 3), dict(padding=1, bias=True), 1),
    ("height0_padded_bias", (1, 0, 3, 2), (2, 2, 2, 2), dict(padding=1, bias=True), 1),  # output: bias only
    ("batch1_numpy_ints", (1, 5, 5, 2), (2, 2, 1, 4),
     dict(stride=np.int64(2), dilation=(np.int32(1), 1), groups=np.int64(2)), 1),
    ("nchw_stride2_reflect", (1, 5, 4, 2), (3, 3, 2, 3),
     dict(input_layout="NCHW", stride=2, padding=1, padding_mode="reflect"), 2),
    ("oihw_bias", (1, 4, 5, 2), (3, 2, 2, 2), dict(filter_layout="OIHW", bias=True), 1),
    ("nchw_oihw_groups_dilation", (1, 4, 5, 4), (3, 3, 2, 4),
     dict(input_layout="NCHW", filter_layout="OIHW", groups=2, dilation=(1, 2), padding=(1, 1, 2, 0)), 2),
    ("all_mixed", (2, 6, 7, 4), (2, 3, 2, 4),
     dict(stride=(2, 1), dilation=(2, 2), padding=(1, 2, 2, 0), groups=2, bias=True), 1),
    # SAME (lower case) with dilation: H 5, span 3 -> padding (1, 1); W 6, k 3 -> (1, 1); copied circularly
    ("same_lower_dilation_circular_bias", (1, 5, 6, 2), (2, 3, 2, 2),
     dict(dilation=(2, 1), padding="same", padding_mode="circular", bias=True), 1),
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
    ("nchw_stride2_same", (1, 3, 4, 2), (2, 2, 3, 2), dict(input_layout="NCHW", stride=2, padding="SAME"), 1),
    ("iohw_bias", (1, 3, 3, 2), (2, 2, 3, 2), dict(filter_layout="IOHW", bias=True), 1),
    ("nchw_iohw_groups_outpad", (1, 3, 3, 4), (3, 2, 1, 4),
     dict(input_layout="NCHW", filter_layout="IOHW", groups=2, stride=(2, 1), dilation=(1, 2),
          padding=(1, 1, 0, 1), output_paddings=(1, 0)), 1),
    # SAME: output 3*2 = 6 both ways; H: span 3 > stride, cropped (0, 1); W: span 1 < stride, one row added
    ("same_stride2_k3_k1_bias", (1, 3, 3, 2), (3, 1, 2, 2), dict(stride=2, padding="SAME", bias=True), 1),
    # VALID: H 3*2 + (3 - 2) = 7 (k 2 dilated to 3); W 2*3 + 0 = 6 (k 1 < stride 3)
    ("valid_stride23_dilation2", (1, 3, 2, 2), (2, 1, 3, 2),
     dict(stride=(2, 3), dilation=(2, 1), padding="valid"), 1),
]

# (id, x shape NHWC, kwargs, order, finite, extra kwargs for avg_pool2d only)
_POOL = [
    ("k2_default_stride", (2, 4, 4, 3), dict(kernel_size=2), 2, True, {}),
    ("k3_stride1", (1, 5, 5, 2), dict(kernel_size=3, stride=1), 1, True, {}),
    ("k3_stride2_pad1_over_padding", (1, 5, 5, 2), dict(kernel_size=3, stride=2, padding=1), 2, True, {}),
    ("kernel_pair_stride_asym", (1, 6, 7, 2), dict(kernel_size=(2, 3), stride=(1, 2)), 1, True, {}),
    ("pad_pair_numpy_ints", (1, 4, 5, 2), dict(kernel_size=np.int64(2), stride=np.int32(1), padding=(1, 0)), 1,
     True, {}),
    ("pad4_asym", (1, 5, 4, 2), dict(kernel_size=(3, 2), stride=(2, 1), padding=(0, 2, 1, 0)), 1, True, {}),
    ("stride3", (1, 7, 7, 1), dict(kernel_size=2, stride=3), 1, True, {}),
    ("dilation2", (1, 6, 6, 2), dict(kernel_size=2, stride=1, dilation=2), 1, True, {}),
    ("dilation_asym_pad1", (1, 5, 6, 2), dict(kernel_size=2, stride=(2, 1), dilation=(1, 2), padding=1), 1, True,
     {}),
    # windows 0 and 2 of each axis lie wholly in padding: -inf for max pooling, 0 for avg
    # (finite=False: some max-pool outputs are -inf)
    ("windows_in_padding", (1, 2, 2, 2), dict(kernel_size=2, stride=3, padding=3), 1, False, {}),
    # all padding; avg with count_include_pad=False: every count is 0, every output 0
    ("height0_padded", (1, 0, 3, 2), dict(kernel_size=2, stride=1, padding=1), 1, False,
     dict(count_include_pad=False)),
    ("kernel_eq_input_valid", (2, 3, 4, 2), dict(kernel_size=(3, 4), padding="VALID"), 1, True, {}),
    ("kernel1x1_stride2", (1, 5, 5, 1), dict(kernel_size=1, stride=2), 1, True, {}),
    # ceil_mode: H 5, k 2, s 2 -> 3 windows (floor: 2), the last one row 4 alone; avg divides it by 1*2
    ("odd_sizes_ceil_mode", (3, 5, 3, 1), dict(kernel_size=2, stride=(2, 1), ceil_mode=True), 1, True, {}),
    ("batch0", (0, 4, 4, 2), dict(kernel_size=2), 1, True, {}),
    ("mixed", (2, 5, 6, 2), dict(kernel_size=(3, 2), stride=(1, 2), padding=(1, 2, 0, 1), dilation=(2, 1)), 2, True,
     dict(count_include_pad=False)),
    # SAME, even kernel, stride 2: 5 -> 3, padding (0, 1) in both axes
    ("same_k2_s2", (1, 5, 5, 2), dict(kernel_size=2, stride=2, padding="SAME"), 2, True, {}),
    # NCHW, "same": H 6 (k 3, s 2) -> 3, padding (0, 1); W 5 (k 2 dilated to 3, s 2) -> 3, padding (1, 1)
    ("same_lower_nchw_dilation", (1, 6, 5, 2),
     dict(kernel_size=(3, 2), stride=2, dilation=(1, 2), padding="same", input_layout="NCHW"), 1, True, {}),
    # ceil_mode with padding 1, stride 2: H 5, k 2 -> 3 (the 4th window would start in the bottom
    # padding: dropped, as in floor mode); W 6, k 3 -> 4 (floor: 3), the last covering column 5,
    # one padding and one extra cell (avg: divisor 2 per row, the extra cell never counts)
    ("ceil_mode_pad1_dropped_and_kept", (1, 5, 6, 2), dict(kernel_size=(2, 3), stride=2, padding=1, ceil_mode=True),
     1, True, {}),
]

# avg_pool2d only: count_include_pad=False with ceil_mode.  H 3, k 3, s 1, p 1: in-bounds counts 2, 3, 2;
# W 6, k 3, s 2, p 1, ceil: 4 windows (floor: 3) from columns -1, 1, 3, 5: counts 2, 3, 3, 1.
_AVG_ONLY = [
    ("count_include_pad_false_ceil_mode", (1, 3, 6, 2),
     dict(kernel_size=3, stride=(1, 2), padding=1, ceil_mode=True, count_include_pad=False), 1, True, {}),
]


def _nchw_if(x, kw):
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2)) if kw.get("input_layout") == "NCHW" else x


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
    for id_, xs, kw, order, finite, _ in _POOL:
        yield SampleInput((_nchw_if(_distinct(rng, xs, dtype), kw),), dict(kw), id_, order=order, finite=finite)


def sample_inputs_avg_pool2d(dtype, rng):
    for id_, xs, kw, order, _, avg_kw in _POOL + _AVG_ONLY:
        yield SampleInput((_nchw_if(_normal(rng, xs, dtype), kw),), dict(kw, **avg_kw), id_, order=order)


# max_unpool2d.  ``indices`` travel as a nabla Tensor or a nested list, never an
# ndarray: the generic input-layout tests rebuild every ndarray argument inside a
# NaN-filled buffer, which an integer array cannot hold (tests/test_options.py
# passes ndarray indices of several dtypes and layouts).
# (id, shape NHWC of the array max-pooled for the indices, pool kwargs, unpool kwargs, order)
_UNPOOL_FROM_POOL = [
    ("k2", (2, 4, 4, 3), dict(kernel_size=2), {}, 2),
    # default output (3 - 1)*2 - 2 + 3 = 5, the pooled size
    ("k3_s2_pad1_default_size", (1, 5, 5, 2), dict(kernel_size=3, stride=2, padding=1), {}, 1),
    # default output would be 4x4; the indices index a 5-wide plane
    ("odd_input_output_size", (1, 5, 5, 2), dict(kernel_size=2), dict(output_size=(5, 5)), 1),
    ("output_size_4d", (1, 5, 4, 2), dict(kernel_size=2), dict(output_size=(1, 5, 4, 2)), 1),
    ("kernel_pair_stride_asym", (1, 6, 7, 2), dict(kernel_size=(2, 3), stride=(1, 2)), {}, 1),
    # overlapping windows: one cell can be the maximum of several (a repeated index, summed)
    ("overlapping_windows", (1, 4, 4, 2), dict(kernel_size=3, stride=1), {}, 1),
    # windows wholly in padding have index -1: skipped
    ("minus_one_skipped", (1, 2, 2, 2), dict(kernel_size=2, stride=3, padding=3), {}, 1),
    ("pad4_asym", (1, 5, 4, 2), dict(kernel_size=(3, 2), stride=(2, 1), padding=(0, 2, 1, 0)), {}, 1),
    ("nchw", (1, 4, 6, 2), dict(kernel_size=2), dict(input_layout="NCHW"), 1),
    ("nchw_output_size_4d", (1, 5, 5, 3), dict(kernel_size=2), dict(input_layout="NCHW", output_size=(1, 3, 5, 5)),
     1),
    ("batch0", (0, 4, 4, 2), dict(kernel_size=2), {}, 1),
]


def sample_inputs_max_unpool2d(dtype, rng):
    for id_, xs, pool_kw, kw, order in _UNPOOL_FROM_POOL:
        src = _distinct(rng, xs, np.float64)
        out_hw, k, s, p, d = _pool_geometry(src, pool_kw["kernel_size"], pool_kw.get("stride"),
                                            pool_kw.get("padding", 0), (1, 1))
        _, indices = naive.max_pool2d(src, out_hw, k, s, p, d)
        x = _normal(rng, indices.shape, dtype)
        x, indices = _nchw_if(x, kw), _nchw_if(indices, kw)
        yield SampleInput((x,), dict(indices=nabla.asarray(indices), **pool_kw, **kw), id_, order=order)
    # hand-made indices, many repeated (their values add up)
    yield SampleInput((_normal(rng, (1, 3, 3, 2), dtype),),
                      dict(indices=nabla.asarray(rng.integers(0, 4, (1, 3, 3, 2))), kernel_size=2,
                           output_size=(2, 2)),
                      "repeated_indices_random")
    yield SampleInput((_normal(rng, (2, 2, 2, 1), dtype),),
                      dict(indices=nabla.asarray(np.zeros((2, 2, 2, 1), np.int64)), kernel_size=2),
                      "all_to_cell_0")
    yield SampleInput((_normal(rng, (1, 2, 3, 2), dtype),),
                      dict(indices=nabla.asarray(rng.integers(0, 9, (1, 2, 3, 2)).astype(np.uint8)),
                           kernel_size=np.int64(2), stride=np.int32(1), output_size=[3, 3]),
                      "uint8_indices_numpy_ints")
    yield SampleInput((_normal(rng, (1, 2, 2, 3), dtype),),
                      dict(indices=rng.integers(-1, 16, (1, 2, 2, 3)).tolist(), kernel_size=(2, 2)),
                      "list_indices_with_minus_one")


# adaptive pools: (id, x shape NHWC, kwargs, order)
_ADAPTIVE = [
    ("7_to_3", (1, 7, 7, 2), dict(output_size=3), 2),               # bins [0,3) [2,5) [4,7): overlapping
    ("5_to_7", (1, 5, 5, 1), dict(output_size=7), 1),               # more bins than cells
    ("divisible_4_to_2", (2, 4, 4, 3), dict(output_size=2), 1),     # equal bins: a plain pooling
    ("pair_6x5_to_4x3", (1, 6, 5, 2), dict(output_size=(4, 3)), 1),
    ("none_keeps_h", (1, 5, 6, 2), dict(output_size=(None, 4)), 1),
    ("none_keeps_w", (1, 5, 6, 2), dict(output_size=(2, None)), 1),
    ("to_1", (1, 3, 5, 2), dict(output_size=1), 1),
    ("identity", (1, 3, 4, 2), dict(output_size=(3, 4)), 1),
    ("nchw", (1, 5, 6, 2), dict(output_size=(3, 4), input_layout="NCHW"), 2),
    ("batch0", (0, 5, 5, 2), dict(output_size=3), 1),
    ("list_output_size", (1, 5, 4, 2), dict(output_size=[3, 2]), 1),
    ("numpy_int_output_size", (2, 4, 5, 1), dict(output_size=np.int64(3)), 1),
    ("larger_than_input", (1, 2, 3, 1), dict(output_size=(5, 4)), 1),
    ("h1_input", (1, 1, 5, 2), dict(output_size=(3, 2)), 1),
]



def sample_inputs_adaptive_avg_pool2d(dtype, rng):
    for id_, xs, kw, order in _ADAPTIVE:
        yield SampleInput((_nchw_if(_normal(rng, xs, dtype), kw),), dict(kw), id_, order=order)


def sample_inputs_adaptive_max_pool2d(dtype, rng):
    import pytest
    marks = ()
    for id_, xs, kw, order in _ADAPTIVE:
        yield SampleInput((_nchw_if(_distinct(rng, xs, dtype), kw),), dict(kw), id_, order=order, marks=marks)


# global pools: (id, x shape NHWC, kwargs, order)
_GLOBAL = [
    ("basic", (2, 4, 4, 3), {}, 2),
    ("keepdims", (1, 3, 5, 2), dict(keepdims=True), 1),
    ("keepdims_false", (1, 2, 3, 4), dict(keepdims=False), 1),
    ("nchw", (1, 4, 5, 3), dict(input_layout="NCHW"), 2),
    ("nchw_keepdims", (2, 3, 2, 2), dict(input_layout="NCHW", keepdims=True), 1),
    ("1x1", (2, 1, 1, 3), {}, 1),
    ("h1", (1, 1, 7, 2), {}, 1),
    ("w1", (1, 6, 1, 2), dict(keepdims=True), 1),
    ("odd", (3, 5, 7, 1), {}, 1),
    ("batch0", (0, 3, 3, 2), {}, 1),
    ("batch0_keepdims", (0, 2, 2, 1), dict(keepdims=True), 1),
    ("many_channels", (1, 2, 2, 16), {}, 1),
]


def sample_inputs_global_avg_pool2d(dtype, rng):
    for id_, xs, kw, order in _GLOBAL:
        yield SampleInput((_nchw_if(_normal(rng, xs, dtype), kw),), dict(kw), id_, order=order)


def sample_inputs_global_max_pool2d(dtype, rng):
    for id_, xs, kw, order in _GLOBAL:
        yield SampleInput((_nchw_if(_distinct(rng, xs, dtype), kw),), dict(kw), id_, order=order)


# pad: (id, x shape, kwargs, order)
_PAD = [
    ("constant_spatial", (1, 3, 4, 2), dict(pad_width=((0, 0), (1, 2), (2, 1), (0, 0))), 2),
    ("constant_value", (2, 3, 3, 1), dict(pad_width=((0, 0), (1, 1), (1, 1), (0, 0)), value=1.5), 1),
    ("constant_all_axes", (1, 2, 2, 2), dict(pad_width=((1, 0), (0, 1), (2, 0), (1, 1)), mode="constant"), 1),
    # reflect: at most size - 1 cells a side
    ("reflect", (1, 3, 4, 2), dict(pad_width=((0, 0), (2, 1), (3, 0), (0, 0)), mode="reflect"), 2),
    ("reflect_size2", (1, 2, 2, 1), dict(pad_width=((0, 0), (1, 1), (1, 1), (0, 0)), mode="reflect"), 1),
    # edge: any width
    ("edge_wider_than_input", (1, 3, 4, 2), dict(pad_width=((0, 0), (3, 2), (0, 4), (0, 0)), mode="edge"), 1),
    ("replicate", (1, 2, 3, 1), dict(pad_width=((0, 0), (1, 1), (1, 1), (0, 0)), mode="replicate"), 1),
    ("edge_size1", (1, 1, 1, 2), dict(pad_width=((0, 0), (2, 1), (1, 2), (0, 0)), mode="edge"), 1),
    # wrap: at most the size a side
    ("wrap_full_size", (1, 3, 4, 2), dict(pad_width=((0, 0), (3, 3), (4, 0), (0, 0)), mode="wrap"), 1),
    ("circular", (1, 3, 3, 1), dict(pad_width=((0, 0), (1, 1), (1, 2), (0, 0)), mode="circular"), 1),
    ("rank1_reflect", (5,), dict(pad_width=((2, 4),), mode="reflect"), 1),
    ("rank2_edge", (3, 4), dict(pad_width=((1, 2), (0, 3)), mode="edge"), 1),
    ("rank3_wrap", (2, 3, 2), dict(pad_width=((1, 1), (2, 0), (0, 2)), mode="wrap"), 1),
    ("batch0_reflect", (0, 3, 3, 2), dict(pad_width=((0, 0), (1, 1), (2, 1), (0, 0)), mode="reflect"), 1),
    ("batch0_constant", (0, 2, 2, 1), dict(pad_width=((0, 0), (1, 0), (0, 1), (0, 0))), 1),
    ("numpy_int_widths_lists", (1, 3, 3, 1),
     dict(pad_width=[[0, 0], [np.int64(1), np.int32(2)], [2, 0], [0, 0]], mode="wrap"), 1),
]


def sample_inputs_pad(dtype, rng):
    for id_, xs, kw, order in _PAD:
        yield SampleInput((_normal(rng, xs, dtype),), dict(kw), id_, order=order)


# batch_norm: (id, x shape, what to pass, order).  "weight", "bias": a (C,) vector;
# "stats": running_mean and running_var (positive); "mean_only": a running_mean
# alone (so the batch's statistics are used); "shift": added to x (a mean far
# from 0 against a spread of 1); "training", "eps": passed as they are.
_BATCH_NORM = [
    ("train_affine", (2, 3, 4, 3), dict(weight=True, bias=True, training=True), 2),
    ("train_no_affine", (2, 3, 3, 2), dict(training=True), 1),
    ("train_weight_only", (3, 2, 2, 4), dict(weight=True, training=True), 1),
    ("train_bias_only_eps0", (2, 2, 3, 2), dict(bias=True, training=True, eps=0.0), 1),
    ("train_features_2d", (8, 5), dict(weight=True, bias=True, training=True), 2),
    ("train_rank3", (4, 5, 3), dict(weight=True, bias=True, training=True), 1),
    ("train_rank5", (2, 2, 2, 2, 3), dict(weight=True, training=True), 1),
    ("train_one_channel", (6, 2, 2, 1), dict(weight=True, bias=True, training=True), 1),
    ("train_seven_channels", (2, 2, 3, 7), dict(weight=True, bias=True, training=True), 1),
    ("train_mean_100", (3, 3, 3, 2), dict(weight=True, bias=True, training=True, shift=100.0), 1),
    ("train_ignores_running_stats", (2, 3, 2, 3), dict(stats=True, weight=True, training=True), 1),
    ("eval_without_var_uses_batch", (2, 2, 3, 3), dict(mean_only=True, bias=True), 1),
    ("eval_affine", (2, 3, 4, 3), dict(stats=True, weight=True, bias=True), 2),
    ("eval_no_affine", (2, 3, 3, 2), dict(stats=True), 1),
    ("eval_features_2d_eps", (6, 4), dict(stats=True, weight=True, bias=True, eps=1e-2), 1),
    ("eval_batch0", (0, 3, 3, 2), dict(stats=True, weight=True, bias=True), 1),
]


def sample_inputs_batch_norm(dtype, rng):
    for id_, xs, what, order in _BATCH_NORM:
        what = dict(what)
        x = _normal(rng, xs, dtype) + np.asarray(what.pop("shift", 0.0), dtype)
        c = xs[-1]
        kw = {}
        if what.pop("stats", False):
            kw["running_mean"] = _normal(rng, (c,), dtype)
            kw["running_var"] = rng.uniform(0.5, 2.0, c).astype(dtype)
        if what.pop("mean_only", False):
            kw["running_mean"] = _normal(rng, (c,), dtype)
        if what.pop("weight", False):
            kw["weight"] = rng.uniform(0.5, 2.0, c).astype(dtype) * rng.choice([-1, 1], c).astype(dtype)
        if what.pop("bias", False):
            kw["bias"] = _normal(rng, (c,), dtype)
        yield SampleInput((x,), dict(kw, **what), id_, order=order)


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
    import pytest
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
    # padding strings and modes
    yield E((x, w), dict(padding="FULL"), ValueError, _m("'padding'", "'SAME' or 'VALID'", "'FULL'"),
            "padding_string_unknown")
    yield E((x, w), dict(padding=""), ValueError, _m("'padding'", "'SAME' or 'VALID'", "''"), "padding_string_empty")
    yield E((x, w), dict(padding="SAME "), ValueError, _m("'padding'", "'SAME '"), "padding_string_trailing_space")
    for id_, value in (("zero", "zero"), ("upper", "REFLECT"), ("numpy_name", "edge"), ("none", None)):
        yield E((x, w), dict(padding=1, padding_mode=value), ValueError,
                _m("'padding_mode'", "'zeros', 'reflect', 'replicate' or 'circular'", repr(value)),
                f"padding_mode_{id_}")
    # A padding mode that copies cells cannot pad more than the input has: the message
    # names the mode, the padding, the axis and its size.
    yield E((x, w), dict(padding=4, padding_mode="reflect"), ValueError,
            "^conv2d: " + _m("reflect", "(4, 4)", "height", "size 4"), "reflect_padding_ge_size")
    yield E((x, w), dict(padding=(0, 0, 0, 5), padding_mode="circular"), ValueError,
            "^conv2d: " + _m("circular", "(0, 5)", "width", "size 4"), "circular_padding_gt_size")


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
    # padding strings: the output size follows from the string, so output_paddings must be 0
    yield E((x, w), dict(padding="FULL"), ValueError, _m("'padding'", "'SAME' or 'VALID'", "'FULL'"),
            "padding_string_unknown")
    yield E((x, w), dict(padding="SAME", stride=2, output_paddings=1), ValueError,
            _m("output_paddings", "0", "'SAME'"), "output_paddings_with_same")
    yield E((x, w), dict(padding="valid", stride=2, output_paddings=(0, 1)), ValueError,
            _m("output_paddings", "0", "'valid'"), "output_paddings_with_valid")
    # only zero padding, as PyTorch
    for mode in ("reflect", "replicate", "circular", "ZEROS"):
        yield E((x, w), dict(padding=1, padding_mode=mode), ValueError,
                _m("'padding_mode'", "'zeros'", repr(mode)), f"padding_mode_{mode}")


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
    yield E((x,), dict(kernel_size=2, padding="FULL"), ValueError, _m("'padding'", "'SAME' or 'VALID'", "'FULL'"),
            "padding_string_unknown")
    yield E((x,), dict(kernel_size=2, padding="same_"), ValueError, _m("'padding'", "'same_'"),
            "padding_string_misspelt")
    for id_, value in (("int", 1), ("str", "True"), ("none", None)):
        yield E((x,), dict(kernel_size=2, ceil_mode=value), TypeError, _m("'ceil_mode'", "bool", repr(value)),
                f"ceil_mode_{id_}")
    # ceil mode keeps a partial window, but at stride 1 a kernel of 5 has none in 4 cells
    # (at the default stride 5 it has one: PyTorch's rule, tests/test_options.py)
    yield E((x,), dict(kernel_size=5, stride=1, ceil_mode=True), ValueError, _m("output height would be 0 < 1"),
            "ceil_mode_kernel_bigger_than_input_stride1")
    yield E((x,), dict(kernel_size=2, input_layout="NCWH"), ValueError,
            _m("'input_layout'", "['NHWC', 'NCHW']", "'NCWH'"), "input_layout_unknown")
    yield E((x,), dict(kernel_size=2, input_layout="nchw"), ValueError,
            _m("'input_layout'", "['NHWC', 'NCHW']", "'nchw'"), "input_layout_lowercase")
    yield E((x[0],), dict(kernel_size=2, input_layout="NCHW"), ValueError, _m("'x'", "rank 4", "N, C, H, W"),
            "nchw_rank3")
    yield E((_z(1, 0, 4, 4),), dict(kernel_size=2, input_layout="NCHW"), ValueError,
            _m("'x'", "0 channels"), "nchw_zero_channels")
    # read as NCHW, x (1, 4, 4, 2) is 4x2: a kernel of 3 does not fit its width
    yield E((x,), dict(kernel_size=3, input_layout="NCHW"), ValueError, _m("output width would be 0 < 1"),
            "nchw_kernel_bigger_than_width")


def error_inputs_max_pool2d():
    yield from _pool_errors()


def error_inputs_avg_pool2d():
    yield from _pool_errors()
    x = _z(1, 4, 4, 2)
    for id_, value in (("int", 0), ("none", None), ("str", "False")):
        yield ErrorInput((x,), dict(kernel_size=2, count_include_pad=value), TypeError,
                         _m("'count_include_pad'", "bool", repr(value)), f"count_include_pad_{id_}")


def _x_errors(call_kwargs, x_shape=(1, 4, 4, 2)):
    """Errors in ``x`` (dtype, rank, channels, layout) of the pools that take only x
    and keyword arguments; ``call_kwargs`` makes the call otherwise valid."""
    import pytest
    E = ErrorInput
    x = _z(*x_shape)
    kw = dict(call_kwargs)
    for dtype in (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64, bool,
                  np.float16, np.longdouble, np.complex64, np.complex128, "datetime64[s]", "timedelta64[s]"):
        name = np.dtype(dtype).name
        if np.dtype(dtype) == np.float64:   # longdouble is float64 on some platforms
            continue
        yield E((x.astype(dtype),), kw, TypeError, _m("'x'", name), f"x_{name}")
    yield E(("abcd",), kw, TypeError, _m("'x'", "<U4"), "x_str")
    yield E((x.astype("S4"),), kw, TypeError, _m("'x'", "|S4"), "x_bytes")
    yield E((x.astype(object),), kw, TypeError, _m("'x'", "ndarray", "cannot be read"), "x_object_array")
    yield E(({"a": 1},), kw, TypeError, _m("'x'", "dict"), "x_dict")
    yield E((None,), kw, TypeError, _m("'x'", "None"), "x_none")
    yield E(([[1.0], [1.0, 2.0]],), kw, TypeError, _m("'x'", "list", "cannot be read"), "x_ragged_list")
    yield E((x[0],), kw, ValueError, _m("'x'", "rank 4", f"got shape {x[0].shape}"), "x_rank3")
    yield E((x[None],), kw, ValueError, _m("'x'", "rank 4", f"got shape {x[None].shape}"), "x_rank5")
    yield E((np.float64(1.0),), kw, ValueError, _m("'x'", "rank 4", "got shape ()"), "x_rank0")
    yield E((_z(*x_shape[:3], 0),), kw, ValueError, _m("'x'", "0 channels"), "zero_channels")
    yield E((_z(x_shape[0], 0, *x_shape[1:3]),), dict(kw, input_layout="NCHW"), ValueError,
            _m("'x'", "0 channels"), "nchw_zero_channels")
    yield E((x[0],), dict(kw, input_layout="NCHW"), ValueError, _m("'x'", "rank 4", "N, C, H, W"), "nchw_rank3")
    for id_, value in (("unknown", "NCWH"), ("lowercase", "nhwc"), ("int", 0), ("hwcn", "HWCN")):
        yield E((x,), dict(kw, input_layout=value), ValueError,
                _m("'input_layout'", "['NHWC', 'NCHW']", repr(value)), f"input_layout_{id_}")


def _unpool_call(x_shape=(1, 2, 2, 2)):
    """A valid unpooling call's x and indices (zeros: every value to cell 0)."""
    return _z(*x_shape), nabla.asarray(np.zeros(x_shape, np.int64))


def error_inputs_max_unpool2d():
    E = ErrorInput
    x, idx = _unpool_call()
    kw = dict(indices=idx, kernel_size=2)
    for dtype in (np.int32, bool, np.float16, np.complex128):
        name = np.dtype(dtype).name
        yield E((x.astype(dtype),), kw, TypeError, _m("'x'", name), f"x_{name}")
    yield E(("ab",), kw, TypeError, _m("'x'", "<U2"), "x_str")
    yield E((x[0],), kw, ValueError, _m("'x'", "rank 4", f"got shape {x[0].shape}"), "x_rank3")
    yield E((_z(1, 2, 2, 0),), dict(kw, indices=np.zeros((1, 2, 2, 0), np.int64)), ValueError,
            _m("'x'", "0 channels"), "zero_channels")
    yield E((x,), dict(kw, input_layout="NCWH"), ValueError, _m("'input_layout'", "'NCWH'"), "input_layout_unknown")
    # indices: integers, x's shape, in [-1, H*W)
    for id_, value in (("float64", np.zeros((1, 2, 2, 2))), ("float32", np.zeros((1, 2, 2, 2), np.float32)),
                       ("bool", np.zeros((1, 2, 2, 2), bool)),
                       ("float_tensor", nabla.asarray(np.zeros((1, 2, 2, 2))))):
        yield E((x,), dict(kw, indices=value), ValueError, _m("'indices'", "integers", id_.split("_")[0]),
                f"indices_{id_}")
    yield E((x,), dict(kw, indices=None), ValueError, _m("'indices'", "integers", "object"), "indices_none")
    yield E((x,), dict(kw, indices=[[0, 1], [2, 3]]), ValueError, _m("'indices'", "x's shape", "(2, 2)"),
            "indices_rank2")
    yield E((x,), dict(kw, indices=np.zeros((1, 2, 2, 1), np.int64)), ValueError,
            _m("'indices'", "x's shape (1, 2, 2, 2)", "(1, 2, 2, 1)"), "indices_wrong_channels")
    yield E((x,), dict(kw, indices=np.zeros((2, 2, 2, 2), np.int64)), ValueError,
            _m("'indices'", "x's shape", "(2, 2, 2, 2)"), "indices_wrong_batch")
    # NCHW: x (1, 2, 2, 2) is N=1, C=2, H=2, W=2; indices shaped as NHWC (1, 2, 2, 3) do not match
    yield E((x,), dict(kw, indices=np.zeros((1, 2, 2, 3), np.int64), input_layout="NCHW"), ValueError,
            _m("'indices'", "x's shape"), "nchw_indices_wrong_shape")
    # default output 4x4: 16 cells, indices 0..15 (and -1)
    for id_, value, shown in (("16", 16, "16"), ("minus2", -2, "-2"), ("int64_max", 2**63 - 1, str(2**63 - 1))):
        bad = np.zeros((1, 2, 2, 2), np.int64)
        bad[0, 1, 0, 1] = value
        yield E((x,), dict(kw, indices=bad), ValueError, _m("'indices'", f"holds {shown}", "[-1, 16)", "4x4"),
                f"indices_out_of_range_{id_}")
    bad = np.full((1, 2, 2, 2), 2**64 - 1, np.uint64)
    yield E((x,), dict(kw, indices=bad), ValueError, _m("'indices'", str(2**64 - 1), "[-1, 16)"),
            "indices_out_of_range_uint64_max")
    bad = np.zeros((1, 2, 2, 2), np.int64)
    bad[..., 0] = 9
    yield E((x,), dict(kw, indices=bad, output_size=(3, 3)), ValueError, _m("'indices'", "holds 9", "[-1, 9)", "3x3"),
            "indices_out_of_range_of_output_size")
    # window geometry
    for name in ("kernel_size", "stride"):
        yield E((x,), dict(kw, **{name: 0}), ValueError, _m(f"'{name}'", "positive", "got 0"), f"{name}_0")
        yield E((x,), dict(kw, **{name: (2, -1)}), ValueError, _m(f"'{name}'", "positive", "got -1"),
                f"{name}_negative")
        yield E((x,), dict(kw, **{name: 2.0}), TypeError, _m(f"'{name}'", "2.0", "float"), f"{name}_float")
        yield E((x,), dict(kw, **{name: True}), TypeError, _m(f"'{name}'", "True", "bool"), f"{name}_bool")
        yield E((x,), dict(kw, **{name: (2, 2, 2)}), ValueError, _m(f"'{name}'", "pair", "(2, 2, 2)"),
                f"{name}_3tuple")
    yield E((x,), dict(kw, kernel_size=None), TypeError, _m("'kernel_size'", "None"), "kernel_size_none")
    yield E((x,), dict(kw, padding=-1), ValueError, _m("'padding'", ">= 0", "got -1"), "padding_negative")
    yield E((x,), dict(kw, padding=(1, 2, 3)), ValueError, _m("'padding'", "4-tuple", "(1, 2, 3)"), "padding_3tuple")
    yield E((x,), dict(kw, padding="SAME"), TypeError, _m("'padding'", "'SAME'"), "padding_string")
    # output size
    yield E((x,), dict(kw, output_size=(0, 4)), ValueError, _m("'output_size'", "positive", "got 0"),
            "output_size_0")
    yield E((x,), dict(kw, output_size=(4, -4)), ValueError, _m("'output_size'", "positive", "got -4"),
            "output_size_negative")
    yield E((x,), dict(kw, output_size=(4, 4, 4)), ValueError, _m("'output_size'", "pair", "(4, 4, 4)"),
            "output_size_3tuple")
    yield E((x,), dict(kw, output_size=(4.0, 4)), TypeError, _m("'output_size'", "4.0", "float"),
            "output_size_float")
    yield E((x,), dict(kw, output_size=(1, 2, 0, 2)), ValueError, _m("'output_size'", "positive", "got 0"),
            "output_size_4d_zero")
    # the default output, (1 - 1)*1 - (1 + 1) + 1 = -1 rows, is empty
    x1, idx1 = _unpool_call((1, 1, 1, 1))
    yield E((x1,), dict(indices=idx1, kernel_size=1, padding=1), ValueError, _m("output size (-1, -1)", "positive"),
            "default_output_size_negative")


def _output_size_errors(call_kwargs, suffix=""):
    E = ErrorInput
    x = _z(1, 4, 4, 2)
    kw = dict(call_kwargs)
    for id_, value, exc, msg in (
            ("0", 0, ValueError, _m("'output_size'", "positive", "got 0")),
            ("negative", -1, ValueError, _m("'output_size'", "positive", "got -1")),
            ("pair_0", (0, 2), ValueError, _m("'output_size'", "positive", "got 0")),
            ("pair_negative", (2, -3), ValueError, _m("'output_size'", "positive", "got -3")),
            ("none_and_0", (None, 0), ValueError, _m("'output_size'", "positive", "got 0")),
            ("bool", True, TypeError, _m("'output_size'", "True", "bool")),
            ("float", 2.0, TypeError, _m("'output_size'", "2.0", "float")),
            ("str", "2", TypeError, _m("'output_size'", "'2'", "str")),
            ("ndarray", np.array([2, 2]), TypeError, _m("'output_size'", "ndarray")),
            ("3tuple", (2, 2, 2), ValueError, _m("'output_size'", "pair", "(2, 2, 2)")),
            ("1tuple", (2,), ValueError, _m("'output_size'", "pair", "(2,)")),
            ("empty_list", [], ValueError, _m("'output_size'", "pair", "[]")),
            ("2**40", 2**40, ValueError, _m("'output_size'", "too large", str(2**40)))):
        yield E((x,), dict(kw, output_size=value), exc, msg, f"output_size_{id_}{suffix}")


def error_inputs_adaptive_avg_pool2d():
    yield from _x_errors(dict(output_size=2))
    yield from _output_size_errors({})


def error_inputs_adaptive_max_pool2d():
    yield from _x_errors(dict(output_size=2))
    yield from _output_size_errors({})
    yield from _output_size_errors(dict(return_indices=True), "_return_indices")   # the same with indices


def _global_errors(op_name):
    """The x errors, each message starting with the op's own name."""
    for e in _x_errors({}):
        yield e._replace(match=f"^{op_name}: .*" + e.match)


def error_inputs_global_avg_pool2d():
    yield from _global_errors("global_avg_pool2d")


def error_inputs_global_max_pool2d():
    yield from _global_errors("global_max_pool2d")


def error_inputs_pad():
    E = ErrorInput
    x = _z(1, 3, 4, 2)
    zero = ((0, 0),) * 4
    # pad_width: one (before, after) pair of non-negative ints per axis
    for id_, value, shown in (
            ("3_pairs", ((1, 1),) * 3, "((1, 1), (1, 1), (1, 1))"),
            ("5_pairs", ((1, 1),) * 5, "((1, 1),"),
            ("int", 1, "got 1"),
            ("none", None, "got None"),
            ("flat_list", [0, 0, 1, 1, 1, 1, 0, 0], "[0, 0, 1, 1"),
            ("triples", ((0, 0, 0),) * 4, "((0, 0, 0),"),
            ("singles", ((1,),) * 4, "((1,),"),
            ("str", "abcd", "'abcd'"),
            ("str_pairs", (("a", "b"),) * 4, "(('a', 'b'),"),
            ("none_in_pair", ((0, 0), (None, 1), (0, 0), (0, 0)), "(None, 1)"),
            ("negative_before", ((0, 0), (-1, 0), (0, 0), (0, 0)), "(-1, 0)"),
            ("negative_after", ((0, 0), (0, 0), (0, -2), (0, 0)), "(0, -2)")):
        yield E((x,), dict(pad_width=value), ValueError, _m("pad_width", f"{x.ndim} pairs", shown),
                f"pad_width_{id_}")
    yield E((x,), dict(pad_width=((0, 0),) * 3), ValueError, _m("pad_width", "4 pairs"), "pad_width_3_zero_pairs")
    # mode
    for id_, value in (("symmetric", "symmetric"), ("upper", "REFLECT"), ("zeros", "zeros"), ("none", None),
                       ("int", 0), ("mean", "mean")):
        yield E((x,), dict(pad_width=zero, mode=value), ValueError,
                _m("mode", "'constant'", "'reflect'", repr(value)),
                f"mode_{id_}")
    # a copying mode pads at most what the axis has: reflect < size, wrap <= size, none of an empty axis
    for id_, pw, mode, shown in (
            ("reflect_before_eq_size", ((0, 0), (3, 0), (0, 0), (0, 0)), "reflect", ("(3, 0)", "axis 1", "size 3")),
            ("reflect_after_gt_size", ((0, 0), (0, 0), (1, 5), (0, 0)), "reflect", ("(1, 5)", "axis 2", "size 4")),
            ("reflect_size1_axis", ((1, 0), (0, 0), (0, 0), (0, 0)), "reflect", ("(1, 0)", "axis 0", "size 1")),
            ("reflect_channels", ((0, 0), (0, 0), (0, 0), (2, 2)), "reflect", ("(2, 2)", "axis 3", "size 2")),
            ("wrap_gt_size", ((0, 0), (4, 0), (0, 0), (0, 0)), "wrap", ("(4, 0)", "axis 1", "size 3")),
            ("circular_gt_size", ((0, 0), (0, 0), (0, 5), (0, 0)), "circular", ("(0, 5)", "axis 2", "size 4"))):
        yield E((x,), dict(pad_width=pw, mode=mode), ValueError, _m(*shown), id_)
    for mode in ("reflect", "edge", "replicate", "wrap", "circular"):
        yield E((_z(0, 3, 3, 1),), dict(pad_width=((1, 0), (0, 0), (0, 0), (0, 0)), mode=mode), ValueError,
                _m("(1, 0)", "axis 0", "size 0"), f"{mode}_of_empty_axis")
    yield E((_z(5),), dict(pad_width=((2, 5),), mode="reflect"), ValueError, _m("(2, 5)", "axis 0", "size 5"),
            "rank1_reflect_eq_size")


def error_inputs_batch_norm():
    E = ErrorInput
    x = _z(2, 2, 2, 3)
    c3 = np.ones(3)
    for dtype in (np.int64, np.int32, bool, np.float16, np.complex128):
        name = np.dtype(dtype).name
        yield E((x.astype(dtype),), {}, TypeError, _m("'x'", name, "float32 or float64"), f"x_{name}")
    yield E(("abcd",), {}, TypeError, _m("'x'", "<U4"), "x_str")
    yield E((x.astype(object),), {}, TypeError, _m("'x'", "ndarray", "cannot be read"), "x_object_array")
    yield E(({"a": 1},), {}, TypeError, _m("'x'", "dict"), "x_dict")
    yield E((None,), {}, TypeError, _m("'x'", "None"), "x_none")
    yield E(([[1.0], [1.0, 2.0]],), {}, TypeError, _m("'x'", "list", "cannot be read"), "x_ragged_list")
    yield E((np.float64(1.0),), {}, ValueError, _m("'x'", "rank 2 or more", "got shape ()"), "x_rank0")
    yield E((np.zeros(3),), {}, ValueError, _m("'x'", "rank 2 or more", "got shape (3,)"), "x_rank1")
    # the (C,) vectors: float, one value per channel
    for name in ("weight", "bias", "running_mean", "running_var"):
        yield E((x,), {name: np.ones(4)}, ValueError, _m(f"'{name}'", "shape (3,)", "got shape (4,)"),
                f"{name}_wrong_length")
        yield E((x,), {name: np.ones((1, 3))}, ValueError, _m(f"'{name}'", "shape (3,)", "got shape (1, 3)"),
                f"{name}_2d")
        yield E((x,), {name: np.ones(())}, ValueError, _m(f"'{name}'", "shape (3,)", "got shape ()"),
                f"{name}_scalar")
    yield E((x,), dict(weight=c3.astype(np.int64)), TypeError, _m("'weight'", "int64"), "weight_int64")
    yield E((x,), dict(weight=c3.astype(np.complex128)), TypeError, _m("'weight'", "complex128"), "weight_complex")
    yield E((x,), dict(bias="abc"), TypeError, _m("'bias'", "<U3"), "bias_str")
    yield E((x,), dict(running_mean=c3.astype(bool), running_var=c3), TypeError, _m("'running_mean'", "bool"),
            "running_mean_bool")
    yield E((x,), dict(running_mean=c3, running_var=[1, 1, 1]), TypeError,
            _m("'running_var'", "int64"), "running_var_int_list")
    # eps: a number >= 0
    for id_, value in (("negative", -1e-5), ("str", "1e-5"), ("nan", float("nan")), ("none", None), ("bool", True),
                       ("array", np.array([1e-5]))):
        yield E((x,), dict(eps=value), ValueError, _m("'eps'", ">= 0", repr(value)), f"eps_{id_}")


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
    # The ops below take their second argument (indices, output_size, pad_width) by keyword
    # in the samples, so that the generic tests see one positional array, x.
    OpInfo("max_unpool2d", nabla.max_unpool2d, sample_inputs_max_unpool2d, error_inputs_max_unpool2d,
           naive_max_unpool2d, arg_names=("x",), differentiable=("x",), primitives=("max_pool2d_scatter",)),
    OpInfo("adaptive_avg_pool2d", nabla.adaptive_avg_pool2d, sample_inputs_adaptive_avg_pool2d,
           error_inputs_adaptive_avg_pool2d, naive_adaptive_avg_pool2d, arg_names=("x",), differentiable=("x",),
           primitives=("avg_pool2d", "matmul")),
    OpInfo("adaptive_max_pool2d", nabla.adaptive_max_pool2d, sample_inputs_adaptive_max_pool2d,
           error_inputs_adaptive_max_pool2d, naive_adaptive_max_pool2d, arg_names=("x",), differentiable=("x",),
           primitives=("adaptive_max_pool2d", "max_pool2d")),
    OpInfo("global_avg_pool2d", nabla.global_avg_pool2d, sample_inputs_global_avg_pool2d,
           error_inputs_global_avg_pool2d, naive_global_avg_pool2d, arg_names=("x",), differentiable=("x",),
           primitives=("avg_pool2d",)),
    OpInfo("global_max_pool2d", nabla.global_max_pool2d, sample_inputs_global_max_pool2d,
           error_inputs_global_max_pool2d, naive_global_max_pool2d, arg_names=("x",), differentiable=("x",),
           primitives=("max_pool2d",)),
    OpInfo("pad", nabla.pad, sample_inputs_pad, error_inputs_pad, naive_pad, arg_names=("x",),
           differentiable=("x",), primitives=("pad", "axes_gather"), uses_kernels=False),
    # nabla.nn.functional.batch_norm: x positional, the (C,) vectors and the mode by keyword.
    OpInfo("batch_norm", nabla.nn.functional.batch_norm, sample_inputs_batch_norm, error_inputs_batch_norm,
           naive_batch_norm, arg_names=("x",), differentiable=("x", "weight", "bias", "running_mean", "running_var"),
           primitives=("batch_norm", "batch_norm_eval")),
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
                    params.append(pytest.param(op, s, id=f"{op.name}-{np.dtype(dtype).name}-{s.id}",
                                               marks=s.marks))
    return params


def errors(ops=None):
    """``pytest.param(op, error_input, id="op-error")`` for every error input."""
    import pytest
    return [pytest.param(op, e, id=f"{op.name}-{e.id}", marks=e.marks)
            for op in op_db if ops is None or op.name in ops for e in op.error_inputs()]
