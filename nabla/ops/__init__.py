"""All nabla ops.  Each op is defined once, in one of these modules."""
from .basic import *  # noqa: F401,F403
from .basic import __all__ as _basic_all
from .conv import conv2d, conv2d_transpose  # noqa: F401
from .creation import *  # noqa: F401,F403
from .creation import __all__ as _creation_all
from .pool import __all__ as _pool_all
from .pool import *  # noqa: F401,F403

sum = reduce_sum  # noqa: A001,F405  (Nabla's aliases)
max = reduce_max  # noqa: A001,F405

__all__ = ["sum", "max", *_basic_all, *_creation_all, "conv2d", "conv2d_transpose", *_pool_all]
