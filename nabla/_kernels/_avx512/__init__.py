"""The kernels compiled for AVX-512 (x86-64-v4); nabla._kernels picks a variant at import."""
