"""The kernels compiled for AVX2 + FMA (x86-64-v3); nabla._kernels picks a variant at import."""
