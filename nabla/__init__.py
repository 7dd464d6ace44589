"""nabla: differentiable 2-D convolution and pooling for Python.

NHWC inputs, HWIO filters, autograd in reverse (``vjp``, ``grad``) and forward
(``jvp``) mode to any order, on a fast Cython backend or a pure-Python
reference backend that reads like the formulas::

    import numpy as np
    import nabla as nb

    x = nb.asarray(np.random.rand(8, 28, 28, 1).astype(np.float32))
    w = nb.randn((3, 3, 1, 16), std=0.1, seed=0)
    loss = lambda w: nb.mean(nb.relu(nb.conv2d(x, w, padding=1)) ** 2)
    g = nb.grad(loss)(w)                     # (3, 3, 1, 16)
    with nb.use_backend("reference"):
        g_ref = nb.grad(loss)(w)             # the same numbers, from readable code
"""
from ._tensor import Tensor, asarray  # first: Tensor's operators pull in the ops  # isort: skip
from ._autodiff import grad, jvp, stop_gradient, value_and_grad, vjp
from ._pytree import (PyTreeDef, register_pytree_node, tree_flatten, tree_leaves, tree_map,
                      tree_structure, tree_unflatten)
from ._backend import PerformanceWarning, backend_info, get_backend, set_backend, use_backend
from ._threads import get_num_threads, num_threads, set_num_threads
from ._config import show_config
from ._algorithms import get_conv_algorithm, set_conv_algorithm
from ._memory import cache_info, empty_cache, set_cache_limit
from .ops import *  # noqa: F401,F403
from .ops import __all__ as _ops_all
from . import nn  # noqa: E402  (layers and optimizers: nabla.nn, as torch.nn)  # isort: skip
from . import debug, testing  # noqa: E402  # isort: skip
from .debug import AnomalyError, BackendMismatchError, checked, detect_anomaly, profile  # noqa: E402
from . import _backend as _b  # noqa: E402

if _b._default == "checked":  # NABLA_BACKEND=checked: describe every evaluation from the start
    _b._observe("checked", +1)
del _b

float32 = __import__("numpy").float32
float64 = __import__("numpy").float64
array = asarray  # Nabla's name for building a tensor from data

from nabla._version import __version__ as __version__  # re-exported (PEP 484), for type checkers

__all__ = [
    "Tensor", "asarray", "array", "grad", "value_and_grad", "vjp", "jvp", "stop_gradient",
    "tree_map", "tree_flatten", "tree_unflatten", "tree_leaves", "tree_structure",
    "register_pytree_node", "PyTreeDef", "nn", "debug", "testing", "checked", "detect_anomaly", "profile",
    "BackendMismatchError", "AnomalyError", "PerformanceWarning", "backend_info", "get_backend", "set_backend", "use_backend",
    "set_num_threads", "get_num_threads", "num_threads", "show_config",
    "set_conv_algorithm", "get_conv_algorithm", "empty_cache", "set_cache_limit", "cache_info", "float32", "float64", *_ops_all,
]
