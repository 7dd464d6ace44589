"""All nabla ops.  Each op is defined once, in one of these modules."""
from .basic import *  # noqa: F401,F403
from .conv import conv2d, conv2d_transpose  # noqa: F401
from .creation import *  # noqa: F401,F403
from .pool import *  # noqa: F401,F403

sum = reduce_sum  # noqa: A001,F405  (Nabla's aliases)
max = reduce_max  # noqa: A001,F405

# Written out, not built from the modules' lists: type checkers read only a literal
# __all__ (and nabla's own __all__ takes this one whole).  tests/test_typing.py checks
# that it is Nabla's aliases, then basic, creation, conv and pool's __all__, in order.
__all__ = [
    "sum", "max",
    # basic
    "add", "sub", "mul", "div", "neg", "pow", "matmul", "exp", "log", "sqrt", "tanh",
    "relu", "sigmoid", "maximum", "minimum", "where", "reduce_sum", "mean",
    "reduce_max", "reshape", "permute", "transpose", "flatten", "broadcast_to",
    "pad", "getitem", "softmax", "logsoftmax", "logsumexp", "astype", "squeeze",
    "expand_dims", "abs", "stack",
    # creation
    "zeros", "ones", "full", "zeros_like", "ones_like", "arange", "seed",
    "randn", "rand", "normal", "uniform",
    # conv
    "conv2d", "conv2d_transpose",
    # pool
    "max_pool2d", "avg_pool2d", "max_unpool2d", "adaptive_avg_pool2d", "adaptive_max_pool2d",
    "global_avg_pool2d", "global_max_pool2d",
]
