"""The differential fuzzer (``tests/fuzz.py``; ``make fuzz`` runs it for FUZZ_SECONDS):
a short fixed run inside ``make test``, and proof that it catches what it is for."""
import numpy as np
import pytest

from tests import fuzz


def test_a_short_fuzz_run_is_clean(capsys):
    assert fuzz.main(["--cases", "400", "--batch", "200", "--seed", "20261130"]) == 0, \
        capsys.readouterr().out


def test_cases_cover_every_op_layout_special_value_and_invalid_argument():
    cases = [fuzz.make_case(seed) for seed in range(600)]
    assert {c["op"] for c in cases} == {"conv2d", "conv2d_transpose", "max_pool2d", "avg_pool2d"}
    assert {lay for c in cases for lay in c["layouts"].values()} == set(fuzz.LAYOUTS)
    assert {k for c in cases for v in c["specials"].values() for k, _ in v} == set(range(len(fuzz.SPECIALS)))
    assert sum(c["invalid"] is not None for c in cases) > 60
    assert fuzz.make_case(123) == fuzz.make_case(123)          # a seed is a case


def test_a_crash_is_reported_with_its_seed_and_the_run_goes_on(monkeypatch):
    monkeypatch.setenv("NABLA_FUZZ_CRASH_AT", "5")
    results, failures, last = fuzz.run_batch(list(range(3, 9)), timeout=120)
    assert [s for s, _ in failures] == [5] and "crash" in failures[0][1]
    assert results[3] in ("ok", "error") and results[5] == "crash" and last == 5


def _first(pred):
    return next(c for c in map(fuzz.make_case, range(10_000)) if pred(c))


def test_a_wrong_kernel_is_caught(monkeypatch):
    import nabla._kernels as K
    right = K.conv2d
    monkeypatch.setattr(K, "conv2d", lambda *a, **k: right(*a, **k) * np.float32(1 + 1e-3))
    case = _first(lambda c: c["op"] == "conv2d" and c["invalid"] is None and not c["specials"]
                  and c["shapes"]["x"][0] > 0 and "padding" in c["kwargs"]
                  and not isinstance(c["kwargs"]["padding"], str) and max(c["kwargs"]["stride"]) == 1)
    with pytest.raises(AssertionError, match="cython value"):
        fuzz.check_case(case)


def test_a_wrong_gradient_is_caught(monkeypatch):
    import nabla._kernels as K
    right = K.avg_pool2d_transpose
    monkeypatch.setattr(K, "avg_pool2d_transpose", lambda *a, **k: right(*a, **k) * 1.01)
    case = _first(lambda c: c["op"] == "avg_pool2d" and c["invalid"] is None and not c["specials"]
                  and c["shapes"]["x"][0] > 0 and "ceil_mode" not in c["kwargs"]
                  and c["kwargs"]["stride"] == (1, 1) and c["kwargs"].get("padding") == "VALID")
    with pytest.raises(AssertionError, match="cython VJP"):
        fuzz.check_case(case)
