"""Optional cross-check of nabla.nn.optim against torch.optim (CPU): the same initial
parameters and the same sequence of random gradients, five steps of each optimizer and
option, float32 and float64; the parameters after every step and the optimizer state
after the last must agree.  Schedules are checked against torch's StepLR and
CosineAnnealingLR driving the same optimizers.

PyTorch runs with ``foreach=False`` (its single-tensor loop, the reference formulas).
Skipped when PyTorch is not installed.  Run it with ``make crosscheck``.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch not installed; run make crosscheck")

import nabla as nb  # noqa: E402
from nabla.nn import optim  # noqa: E402

DTYPES = {"f32": (np.float32, torch.float32, 1e-6), "f64": (np.float64, torch.float64, 1e-12)}
N_STEPS = 5
SHAPES = {"b": (4,), "w": (3, 4)}  # sorted keys: the order nabla flattens a dict in

# name: (nabla class, torch class, hyper-parameters shared by both)
CASES = {
    "sgd": (optim.SGD, torch.optim.SGD, dict(lr=0.1)),
    "sgd_momentum": (optim.SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.9)),
    "sgd_dampening": (optim.SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.3)),
    "sgd_nesterov": (optim.SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True)),
    "sgd_weight_decay": (optim.SGD, torch.optim.SGD, dict(lr=0.1, weight_decay=0.05)),
    "sgd_all": (optim.SGD, torch.optim.SGD, dict(lr=0.03, momentum=0.8, nesterov=True, weight_decay=0.1)),
    "adam": (optim.Adam, torch.optim.Adam, dict(lr=1e-2)),
    "adam_betas_eps": (optim.Adam, torch.optim.Adam, dict(lr=0.05, betas=(0.8, 0.99), eps=1e-3)),
    "adam_weight_decay": (optim.Adam, torch.optim.Adam, dict(lr=1e-2, weight_decay=0.1)),
    "adamw": (optim.AdamW, torch.optim.AdamW, dict(lr=1e-2)),
    "adamw_weight_decay": (optim.AdamW, torch.optim.AdamW, dict(lr=0.05, betas=(0.5, 0.9), weight_decay=0.5)),
}


def compare(what, rtol, got, want):
    """got (nabla tensor) vs want (torch tensor), relative to the largest |want|."""
    want = want.detach().numpy()
    got = np.asarray(got)
    assert got.shape == want.shape and got.dtype == want.dtype, (what, got.dtype, want.dtype)
    err = float(np.abs(got.astype(np.float64) - want.astype(np.float64)).max())
    scale = max(float(np.abs(want).max()), np.finfo(np.float64).tiny)
    assert err <= rtol * scale, f"{what}: max abs diff {err:.3e}, relative {err / scale:.3e} > {rtol:.0e}"


def run_both(ncls, tcls, hyper, dtname, seed, schedules=None):
    """Step both optimizers on the same gradients, comparing the parameters each step.
    ``schedules``: (nabla lr schedule, function making a torch LR scheduler), or None."""
    ndt, tdt, rtol = DTYPES[dtname]
    r = np.random.default_rng(seed)
    init = {k: r.normal(size=s).astype(ndt) for k, s in SHAPES.items()}
    tparams = {k: torch.tensor(v, dtype=tdt, requires_grad=True) for k, v in init.items()}
    lr = hyper["lr"] if schedules is None else schedules[0]
    nopt = ncls({k: nb.asarray(v) for k, v in init.items()}, **{**hyper, "lr": lr})
    topt = tcls([tparams[k] for k in SHAPES], foreach=False, **hyper)
    sched = None if schedules is None else schedules[1](topt)
    for step in range(N_STEPS):
        grads = {k: r.normal(size=s).astype(ndt) for k, s in SHAPES.items()}
        for k, p in tparams.items():
            p.grad = torch.tensor(grads[k], dtype=tdt)
        topt.step()
        if sched is not None:
            sched.step()
        new = nopt.step({k: nb.asarray(g) for k, g in grads.items()})
        for k in SHAPES:
            compare(f"step {step + 1} param {k}", rtol, new[k], tparams[k])
    return nopt, topt, tparams, rtol


@pytest.mark.parametrize("dtname", list(DTYPES))
@pytest.mark.parametrize("case", list(CASES))
def test_trajectory_matches_torch(case, dtname):
    ncls, tcls, hyper = CASES[case]
    nopt, topt, tparams, rtol = run_both(ncls, tcls, hyper, dtname, seed=sorted(CASES).index(case))
    # the state after the last step
    assert nopt.state["step"] == N_STEPS
    for k, p in tparams.items():
        tstate = topt.state[p]
        if ncls is optim.SGD:
            buf = nopt.state["momentum_buffer"]
            if hyper.get("momentum", 0) == 0:
                assert buf is None and tstate.get("momentum_buffer") is None
            else:
                compare(f"momentum_buffer {k}", rtol, buf[k], tstate["momentum_buffer"])
        else:
            assert int(tstate["step"]) == N_STEPS
            compare(f"exp_avg {k}", rtol, nopt.state["exp_avg"][k], tstate["exp_avg"])
            compare(f"exp_avg_sq {k}", rtol, nopt.state["exp_avg_sq"][k], tstate["exp_avg_sq"])


@pytest.mark.parametrize("dtname", list(DTYPES))
def test_step_decay_matches_step_lr(dtname):
    sl = torch.optim.lr_scheduler.StepLR
    run_both(optim.SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.9), dtname, seed=100,
             schedules=(optim.step_decay(0.1, 2, gamma=0.5), lambda o: sl(o, step_size=2, gamma=0.5)))


@pytest.mark.parametrize("dtname", list(DTYPES))
def test_cosine_decay_matches_cosine_annealing(dtname):
    # CosineAnnealingLR(T_max, eta_min) = cosine_decay(lr, T_max, alpha=eta_min / lr) for t <= T_max
    ca = torch.optim.lr_scheduler.CosineAnnealingLR
    run_both(optim.Adam, torch.optim.Adam, dict(lr=0.05), dtname, seed=101,
             schedules=(optim.cosine_decay(0.05, N_STEPS - 1, alpha=0.2),
                        lambda o: ca(o, T_max=N_STEPS - 1, eta_min=0.01)))


def test_invalid_hyper_parameters_rejected_like_torch():
    p = [torch.zeros(2, requires_grad=True)]
    bad = [(optim.SGD, torch.optim.SGD, dict(lr=-0.1)),
           (optim.SGD, torch.optim.SGD, dict(momentum=-0.1)),
           (optim.SGD, torch.optim.SGD, dict(weight_decay=-0.1)),
           (optim.SGD, torch.optim.SGD, dict(lr=0.1, nesterov=True)),
           (optim.SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.5, nesterov=True)),
           (optim.Adam, torch.optim.Adam, dict(betas=(1.0, 0.999))),
           (optim.Adam, torch.optim.Adam, dict(betas=(0.9, -0.5))),
           (optim.Adam, torch.optim.Adam, dict(eps=-1.0)),
           (optim.AdamW, torch.optim.AdamW, dict(weight_decay=-1.0))]
    for ncls, tcls, hyper in bad:
        with pytest.raises(ValueError):
            tcls(p, **hyper)
        with pytest.raises(ValueError):
            ncls([nb.zeros(2)], **hyper)
