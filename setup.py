"""Build nabla's Cython kernels (nabla/_kernels/*.pyx).

Every compiler flag and Cython directive of the build lives in this file, once:

    python setup.py build_ext --inplace     # development build, next to the sources
    pip install .   /   pip install -e .    # through pyproject.toml

One build runs on any CPU.  The kernels are cythonized once and the C compiled once
per instruction set (``ISAS``): ``nabla/_kernels/_avx512``, ``_avx2`` and ``_generic``
each hold a ``conv``, a ``pool``, a ``norm`` and an ``elementwise`` module, and ``nabla/_kernels/__init__.py`` imports
the best one the running CPU supports (``NABLA_ISA=avx2|generic|...`` forces one), as
NumPy, OpenBLAS and oneDNN pick their kernels at run time.  On other architectures
(aarch64, ...) only ``_generic`` is built, with the compiler's defaults.
``NABLA_NATIVE_BUILD=1`` builds a single ``_native`` variant with ``-march=native``
instead, for a local build that need not run elsewhere.

Release builds use ``-O3`` and OpenMP with bounds checking, negative-index wraparound
and initialisation checks off.  ``NABLA_DEBUG_BUILD=1``
gives a checked build for tests: those three checks come back on and the C code
is compiled with ``-O1 -g``.  ``NABLA_SANITIZE=1`` (``make sanitize``) builds with
AddressSanitizer and UndefinedBehaviorSanitizer, and with ``-fno-wrapv``: Python's
own flags carry ``-fwrapv``, which would define away the signed overflow that
UBSan is there to find.  Switching modes rebuilds everything (the generated C
goes to a per-mode directory and build_ext recompiles when the mode changed).

Without a C compiler the extension is skipped (``optional``): nabla then installs
with its reference backend only, and says so at import.
"""
import glob
import os
import platform

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, find_packages, setup
from setuptools.command.build_ext import build_ext as _build_ext

DEBUG = os.environ.get("NABLA_DEBUG_BUILD", "") == "1"
SANITIZE = os.environ.get("NABLA_SANITIZE", "") == "1"
MODE = "sanitize" if SANITIZE else "debug" if DEBUG else "release"
REQUIRE = os.environ.get("NABLA_REQUIRE_EXTENSION", "") == "1"

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
    COMPILE_ARGS = ["-O1", "-g", "-fno-omit-frame-pointer", "-fno-wrapv", *SANITIZERS, "-fopenmp"]
    LINK_ARGS = [*SANITIZERS, "-fopenmp"]
else:
    COMPILE_ARGS = (["-O1", "-g"] if DEBUG else ["-O3"]) + ["-fopenmp"]
    LINK_ARGS = ["-fopenmp"]

# Instruction sets, best first: name -> compiler flags.  x86-64-v4 is AVX-512 F/BW/DQ/VL
# (Skylake-X, Zen 4 on), x86-64-v3 is AVX2 + FMA (Haswell, Zen 1 on); "generic" is the
# compiler's default target (SSE2 on x86-64), which runs on every CPU of the platform.
# -mtune=generic: the code must run well on every CPU of its level, not one model.
if os.environ.get("NABLA_NATIVE_BUILD", "") == "1":
    ISAS = {"native": ["-march=native"]}
elif platform.machine().lower() in ("x86_64", "amd64"):
    ISAS = {"avx512": ["-march=x86-64-v4", "-mtune=generic"],
            "avx2": ["-march=x86-64-v3", "-mtune=generic"],
            "generic": []}
else:
    ISAS = {"generic": []}

OPTIONAL = not (REQUIRE or DEBUG or SANITIZE)
SOURCES = [
    Extension(
        f"nabla._kernels.{name}",
        [f"nabla/_kernels/{name}.pyx"],
        # The C micro-kernels' header sits next to the .pyx; listing it (and the
        # .pxd, .pxi files) as dependencies rebuilds the extension when they change.
        include_dirs=[np.get_include(), "nabla/_kernels"],
        depends=glob.glob("nabla/_kernels/*.h") + glob.glob("nabla/_kernels/*.pxd")
        + glob.glob("nabla/_kernels/*.pxi"),
    )
    for name in ("conv", "pool", "norm", "elementwise", "memory")
]
CYTHONIZED = cythonize(SOURCES, compiler_directives=DIRECTIVES,
                       build_dir=os.path.join("build", f"cython-{MODE}"))
# The same C, compiled once per instruction set (module nabla._kernels._<isa>.<name>).
EXTENSIONS = [
    Extension(
        f"nabla._kernels._{isa}.{ext.name.rsplit('.', 1)[1]}",
        ext.sources,
        include_dirs=ext.include_dirs,
        depends=ext.depends,
        define_macros=[("NB_ISA", f'"{isa}"')],
        extra_compile_args=COMPILE_ARGS + flags,
        extra_link_args=LINK_ARGS,
        # Without a C compiler (or OpenMP) the build goes on without the extension:
        # nabla then runs on its reference backend and says so at import.  Developer
        # builds (make, debug, sanitize) set NABLA_REQUIRE_EXTENSION=1: errors stop them.
        optional=OPTIONAL,
    )
    for isa, flags in ISAS.items()
    for ext in CYTHONIZED
]


class build_ext(_build_ext):
    """build_ext that recompiles everything when switching release <-> debug, and
    keeps each instruction set's object files apart (they share one C source)."""

    def build_extension(self, ext):
        temp = self.build_temp
        self.build_temp = os.path.join(temp, ext.name.rsplit(".", 2)[1])
        try:
            super().build_extension(ext)
        finally:
            self.build_temp = temp

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
    ext_modules=EXTENSIONS,
    cmdclass={"build_ext": build_ext},
    zip_safe=False,
)
