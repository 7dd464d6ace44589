# nabla developer tasks.  Every target that runs code makes its own virtualenv first,
# so each works from a fresh clone:  make test | demo | docs | bench | crosscheck | clean
#
# The venv stamp depends on the build inputs: editing setup.py, pyproject.toml, the
# requirements or a kernel (nabla/_kernels/*.pyx, *.pxd) re-runs the editable install,
# which rebuilds the extension.  `--no-build-isolation` builds with the venv's own
# Cython/NumPy/setuptools (installed just before), so nothing is downloaded twice.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c

PYTHON ?= python3
PYTEST_ARGS ?=

VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
XVENV   := .venv-crosscheck
XPY     := $(XVENV)/bin/python
XSTAMP  := $(XVENV)/.installed
TORCH   := torch==2.13.0
# `$(call pip,PYTHON) ARGS`: a quiet pip install that drops the machine config's warnings
# about absent local index folders (pip's own exit status is kept).
pip = $(1) -m pip install --quiet 2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2)

BUILD_INPUTS := setup.py pyproject.toml requirements-dev.txt \
                $(wildcard nabla/_kernels/*.pyx nabla/_kernels/*.pxd nabla/_kernels/*.pxi nabla/_kernels/*.h)

.PHONY: venv test demo crosscheck docs bench fuzz sanitize wheel portable-check clean

venv: $(STAMP)

$(STAMP): $(BUILD_INPUTS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(call pip,$(PY)) -r requirements-dev.txt
	NABLA_REQUIRE_EXTENSION=1 $(call pip,$(PY)) --no-build-isolation -e .
	touch $@

test: $(STAMP)
	$(PY) -m pytest tests nabla --doctest-modules -q -n 2 --ignore=tests/crosscheck $(PYTEST_ARGS)

# The demo's own packages (scikit-learn for the digits, tqdm, matplotlib) go into the same
# venv, after the test set-up, behind their own stamp: never dependencies of `import nabla`.
$(VENV)/.demo-installed: $(STAMP) requirements-demo.txt
	$(call pip,$(PY)) -r requirements-demo.txt
	touch $@

demo: $(VENV)/.demo-installed
	$(PY) tutorials/t3_train_digits.py

# The differential fuzzer (tests/fuzz.py): both backends against the naive loops on
# random geometry, layouts, special values and invalid arguments, FUZZ_SECONDS long,
# each batch in a child process (a crash is reported with its seed).
FUZZ_SECONDS ?= 60
fuzz: $(STAMP)
	FUZZ_SECONDS=$(FUZZ_SECONDS) $(PY) -m tests.fuzz

# The extension built with ASan + UBSan and without -fwrapv (NABLA_SANITIZE=1 in
# setup.py), in a copy of the working tree (its files that git tracks or would track)
# under build/sanitize so the working build is left
# alone; then the test suite and a bounded fuzz run against it.  Python itself is not
# instrumented, so the sanitizer runtimes are preloaded, and leak checking (which
# would report the interpreter's own allocations) is off.
SANITIZE_DIR := build/sanitize
SANITIZE_ENV := LD_PRELOAD="$$(gcc -print-file-name=libasan.so) $$(gcc -print-file-name=libubsan.so)" \
                ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
                UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 PYTHONPATH=.
sanitize: $(STAMP)
	rm -rf $(SANITIZE_DIR) && mkdir -p $(SANITIZE_DIR)
	git ls-files -z --cached --others --exclude-standard | \
	    tar --null -T - --ignore-failed-read -cf - | tar -xf - -C $(SANITIZE_DIR)
	cd $(SANITIZE_DIR) && NABLA_SANITIZE=1 ../../$(PY) setup.py -q build_ext --inplace
	cd $(SANITIZE_DIR) && $(SANITIZE_ENV) ../../$(PY) -c "import nabla._kernels.conv as c, os; \
	    assert os.path.abspath(c.__file__).startswith(os.getcwd()), c.__file__"
	cd $(SANITIZE_DIR) && $(SANITIZE_ENV) ../../$(PY) -m pytest tests nabla --doctest-modules \
	    -q -n 2 -p no:cacheprovider --ignore=tests/crosscheck $(PYTEST_ARGS)
	cd $(SANITIZE_DIR) && $(SANITIZE_ENV) FUZZ_SECONDS=$(FUZZ_SECONDS) ../../$(PY) -m tests.fuzz

# A wheel that runs on any x86-64 CPU: the kernels compiled for AVX-512, AVX2 and the
# baseline, chosen at import (setup.py, nabla/_kernels/__init__.py).
# build/lib.* is setuptools' staging copy of the package: a variant built there earlier
# (a NABLA_NATIVE_BUILD=1 `_native`, say) would otherwise ride along into the wheel.
wheel: $(STAMP)
	rm -rf dist build/lib.*
	NABLA_REQUIRE_EXTENSION=1 $(PY) -m pip wheel --quiet --no-build-isolation --no-deps -w dist .
	@ls dist/*.whl

# That wheel, installed in a fresh venv, checked (tests/portable_check.py: the four ops
# and their gradients against the reference backend) on every variant this CPU runs,
# forced with NABLA_ISA, then on emulated CPUs without AVX-512 (Haswell: AVX2) and
# without AVX (Nehalem) under qemu-user (Debian: apt-get install qemu-user).
PVENV := build/portable-venv
QEMU ?= qemu-x86_64
portable-check: wheel
	rm -rf $(PVENV) && $(PYTHON) -m venv $(PVENV)
	$(call pip,$(PVENV)/bin/python) dist/*.whl
	cd build && for isa in $$(../$(PVENV)/bin/python -c "import nabla._kernels as K; print(*K.SUPPORTED)"); do \
	    NABLA_ISA=$$isa ../$(PVENV)/bin/python ../tests/portable_check.py; done
	# OPENBLAS_CORETYPE: NumPy's bundled OpenBLAS picks AVX kernels on qemu's emulated
	# Nehalem (SIGILL inside "import numpy", before nabla loads); this names its CPU.
	cd build && for cpu in Haswell Nehalem; do echo "qemu -cpu $$cpu:"; \
	    OPENBLAS_CORETYPE=$$cpu $(QEMU) -cpu $$cpu ../$(PVENV)/bin/python ../tests/portable_check.py \
	    2> >(grep -v "TCG doesn't support requested feature" >&2); done

bench: $(STAMP)
	$(PY) benchmarks/run.py

# A separate venv, so PyTorch (pinned: a CPU wheel of exactly this version is on disk;
# any other version would pull a multi-GB CUDA build) never enters the test venv.
$(XSTAMP): $(BUILD_INPUTS)
	test -x $(XPY) || $(PYTHON) -m venv $(XVENV)
	$(call pip,$(XPY)) "$(TORCH)"
	$(call pip,$(XPY)) "$(TORCH)" -r requirements-dev.txt
	NABLA_REQUIRE_EXTENSION=1 $(call pip,$(XPY)) --no-build-isolation -e .
	touch $@

crosscheck: $(XSTAMP)
	$(XPY) -m pytest tests/crosscheck -q $(PYTEST_ARGS)

$(VENV)/.docs-installed: $(VENV)/.demo-installed docs/requirements.txt
	$(call pip,$(PY)) -r docs/requirements.txt
	touch $@

# -W: any warning fails the build.  The doctest builder runs every example in the pages.
docs: $(VENV)/.docs-installed
	$(PY) -m sphinx -q -W --keep-going -b doctest docs docs/_build/doctest
	$(PY) -m sphinx -q -W --keep-going -b html docs docs/_build/html
	@echo "docs: open docs/_build/html/index.html"

clean:
	rm -rf $(VENV) $(XVENV) build docs/_build docs/_generated docs/generated docs/tutorials .pytest_cache .hypothesis *.egg-info
	rm -rf dist
	rm -f nabla/_kernels/*.so nabla/_kernels/_*/*.so nabla/_kernels/*.c nabla/_kernels/*.html
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
