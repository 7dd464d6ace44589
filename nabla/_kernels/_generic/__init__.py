"""The kernels compiled for the platform's baseline (runs on any CPU); nabla._kernels picks a variant at import."""
