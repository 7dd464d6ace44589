"""The kernels of a NABLA_NATIVE_BUILD=1 build (-march=native: this machine only)."""
