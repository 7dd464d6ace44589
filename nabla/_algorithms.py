"""Which convolution algorithms the compiled kernels may use:
``nabla.set_conv_algorithm`` and ``nabla.get_conv_algorithm``.

``"auto"`` (the default) lets each call take the fastest algorithm nabla has for
its shape: Winograd F(4x4, 3x3) (Lavin & Gray, CVPR 2016) for 3x3 stride-1
ungrouped convolutions, dilated or not, with 16 to 256 reduction channels (conv2d
and conv2d_transpose) and F(3x3, 4x4) for their filter gradients at 128 to 256
channels,
the direct register-blocked form otherwise.  Winograd does 4x fewer multiply-adds
but rounds differently: its float32 results differ from the float64 result by about
1e-6 to 6e-6 of max|y| on unit-scale data (the direct form's: about 1e-6; float64:
about 1e-14).  ``"direct"`` keeps the direct form
everywhere, for users who need the same bits whatever the shape-based choice (as
``torch.backends.cudnn.deterministic`` users do).  The environment variable
``NABLA_CONV_ALGO`` sets the default.  The reference backend always computes the
formula directly; the setting only concerns the Cython backend.
"""
from __future__ import annotations

import os
from typing import Any

__all__ = ["set_conv_algorithm", "get_conv_algorithm"]

ALGORITHMS = ("auto", "direct")


def _check(name: object, what: str) -> str:
    if not isinstance(name, str) or name.strip().lower() not in ALGORITHMS:
        raise ValueError(f"{what} must be one of {list(ALGORITHMS)}, got {name!r}")
    return name.strip().lower()


_setting = _check(os.environ.get("NABLA_CONV_ALGO", "auto"), "NABLA_CONV_ALGO")


def _apply(module: Any) -> None:
    """Pass the setting to a compiled conv module (called when one is imported)."""
    module._conv_algorithm(_setting)


def set_conv_algorithm(name: str) -> None:
    """Choose the convolution algorithms of the Cython backend for the whole process.

    Parameters
    ----------
    name : {"auto", "direct"}
        ``"auto"``: the fastest algorithm for each call's shape (Winograd for
        eligible 3x3 layers); ``"direct"``: the direct form only.

    Raises
    ------
    ValueError
        If ``name`` is not one of the two.

    Examples
    --------
    >>> import nabla as nb
    >>> nb.set_conv_algorithm("direct")
    >>> nb.get_conv_algorithm()
    'direct'
    >>> nb.set_conv_algorithm("auto")
    """
    global _setting
    _setting = _check(name, "name")
    from . import _backend
    try:
        kernels = _backend._load("cython")
    except ImportError:          # no compiled backend: the setting waits for none
        return
    _apply(kernels.conv)


def get_conv_algorithm() -> str:
    """The current setting, ``"auto"`` or ``"direct"`` (see :func:`set_conv_algorithm`)."""
    return _setting
