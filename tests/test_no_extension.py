"""Without the compiled extension (an install with no C compiler: setup.py marks it
optional), nabla imports, says once why the Cython backend is missing, and runs on the
reference backend; asking for "cython" raises an ImportError naming the cause."""
import subprocess
import sys

SCRIPT = r"""
import sys, warnings
for isa in ("native", "avx512", "avx2", "generic"):   # as if no variant had been built
    sys.modules[f"nabla._kernels._{isa}.conv"] = None
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import nabla as nb
    import numpy as np
    y = nb.conv2d(np.ones((1, 4, 4, 2)), np.ones((3, 3, 2, 1)), padding=1)
    g = nb.grad(lambda x: nb.sum(nb.max_pool2d(x, kernel_size=2)))(np.ones((1, 4, 4, 1)))
print(nb.get_backend(), float(y.numpy()[0, 1, 1, 0]), float(nb.sum(g).item()))
print(len([w for w in caught if "Cython backend is unavailable" in str(w.message)]))
print([str(w.message) for w in caught][0])
try:
    nb.set_backend("cython")
except ImportError as e:
    print("ImportError:", e)
"""


def test_nabla_runs_on_the_reference_backend_without_the_extension():
    run = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    backend_line, count, warning, error = run.stdout.strip().splitlines()
    assert backend_line == "reference 18.0 4.0"
    assert count == "1"                                          # said once
    assert "nabla._kernels" in warning and "reference" in warning and "C compiler" in warning
    assert error.startswith("ImportError: nabla's Cython backend is unavailable")
    assert "import of nabla._kernels._" in error and "halted" in error   # the cause, named
