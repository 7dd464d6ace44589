"""Build nabla's Cython kernels (nabla/_kernels/*.pyx).

Every compiler flag and Cython directive of the build lives in this file, once:

    python setup.py build_ext --inplace     # development build, next to the sources
    pip install .   /   pip install -e .    # through pyproject.toml

Release builds use ``-O3 -march=native -fopenmp`` with bounds checking,
negative-index wraparound and initialisation checks off.  ``NABLA_DEBUG_BUILD=1``
gives a checked build for tests: those three checks come back on and the C code
is compiled with ``-O1 -g``.  ``NABLA_SANITIZE=1`` (``make sanitize``) builds with
AddressSanitizer and UndefinedBehaviorSanitizer, and with ``-fno-wrapv``: Python's
own flags carry ``-fwrapv``, which would define away the signed overflow that
UBSan is there to find.  Switching modes rebuilds everything (the generated C
goes to a per-mode directory and build_ext recompiles when the mode changed).
"""
import glob
import os

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, find_packages, setup
from setuptools.command.build_ext import build_ext as _build_ext

DEBUG = os.environ.get("NABLA_DEBUG_BUILD", "") == "1"
SANITIZE = os.environ.get("NABLA_SANITIZE", "") == "1"
MODE = "sanitize" if SANITIZE else "debug" if DEBUG else "release"

DIRECTIVES = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": True,  # kernels only divide non-negative indices by positive sizes
}
SANITIZERS = ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined"]
if SANITIZE:
    # -fno-wrapv comes after Python's -fwrapv on the command line, so it wins.
    COMPILE_ARGS = ["-O1", "-g", "-fno-omit-frame-pointer", "-fno-wrapv", "-march=native",
                    *SANITIZERS, "-fopenmp"]
    LINK_ARGS = [*SANITIZERS, "-fopenmp"]
else:
    COMPILE_ARGS = (["-O1", "-g"] if DEBUG else ["-O3", "-march=native"]) + ["-fopenmp"]
    LINK_ARGS = ["-fopenmp"]

EXTENSIONS = [
    Extension(
        f"nabla._kernels.{name}",
        [f"nabla/_kernels/{name}.pyx"],
        # The C micro-kernels' header sits next to the .pyx; listing it (and the
        # .pxd files) as dependencies rebuilds the extension when they change.
        include_dirs=[np.get_include(), "nabla/_kernels"],
        depends=glob.glob("nabla/_kernels/*.h") + glob.glob("nabla/_kernels/*.pxd"),
        extra_compile_args=COMPILE_ARGS,
        extra_link_args=LINK_ARGS,
    )
    for name in ("conv", "pool")
]


class build_ext(_build_ext):
    """build_ext that recompiles everything when switching release <-> debug."""

    def run(self):
        marker = os.path.join(self.build_temp, "nabla-build-mode")
        try:
            with open(marker) as f:
                self.force = self.force or f.read() != MODE
        except OSError:
            self.force = True
        super().run()
        os.makedirs(self.build_temp, exist_ok=True)
        with open(marker, "w") as f:
            f.write(MODE)


setup(
    packages=find_packages(include=["nabla", "nabla.*"]),
    ext_modules=cythonize(
        EXTENSIONS,
        compiler_directives=DIRECTIVES,
        build_dir=os.path.join("build", f"cython-{MODE}"),
    ),
    cmdclass={"build_ext": build_ext},
    zip_safe=False,
)
