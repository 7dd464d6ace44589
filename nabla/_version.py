"""The version of nabla: the single place it is written.

``pyproject.toml`` reads it for the package metadata (``[tool.setuptools.dynamic]``),
``nabla.__version__`` re-exports it, and the documentation shows ``nabla.__version__``.
"""
__version__ = "0.1.0"
