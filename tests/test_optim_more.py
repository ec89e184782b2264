"""NAdam, RAdam, Adamax, Adadelta, ASGD, Rprop and LBFGS against torch.optim in float64.

Both libraries start from the same weights and get the same numpy gradients of the
same function at their current weights each step (so the update rules alone are
compared), for every option; state dicts must have torch's layout, resuming from a saved
state (ours or torch's converted to numpy) must continue the uninterrupted run, bad
arguments raise ValueError naming the argument, and lr schedulers drive the new rules.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import Tensor, optim

torch = pytest.importorskip("torch")

N_STEPS = 25
TOL = {"rtol": 1e-12, "atol": 1e-12}


@pytest.fixture(autouse=True)
def _torch_float64() -> Any:
    """torch keeps scalar state (step, mu_product, eta, mu) in the default dtype: float64 here."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def problem() -> dict:
    rng = np.random.default_rng(7)
    return {"X": rng.standard_normal((10, 4)), "Y": rng.standard_normal((10, 3)),
            "W0": 0.5 * rng.standard_normal((3, 4)), "b0": 0.5 * rng.standard_normal(3)}


PROB = problem()


def loss_grads(W: np.ndarray, b: np.ndarray) -> tuple:
    """f = mean_n sum_j log cosh(r) + 0.5 r**2 with r = X W^T + b - Y, and (df/dW, df/db)."""
    r = PROB["X"] @ W.T + b - PROB["Y"]
    n = len(r)
    f = float((np.logaddexp(r, -r) - np.log(2) + 0.5 * r * r).sum() / n)
    G = (np.tanh(r) + r) / n
    return f, G.T @ PROB["X"], G.sum(axis=0)


def no_b_grad(k: int) -> bool:
    return k % 7 == 3  # b gets no gradient on these steps (it must be skipped)


CASES: dict = {
    "nadam_defaults": ("NAdam", {}, None),
    "nadam_wd": ("NAdam", {"lr": 0.05, "weight_decay": 0.1, "momentum_decay": 0.01}, None),
    "nadam_decoupled": ("NAdam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}, None),
    "nadam_maximize_groups": ("NAdam", {"lr": 0.01, "maximize": True},
                              ({"betas": (0.5, 0.9), "eps": 1e-3}, {"decoupled_weight_decay": True,
                                                                    "weight_decay": 0.2})),
    "radam_defaults": ("RAdam", {}, None),
    "radam_wd": ("RAdam", {"lr": 0.05, "weight_decay": 0.1, "betas": (0.8, 0.99)}, None),
    "radam_decoupled_maximize": ("RAdam", {"lr": 0.02, "weight_decay": 0.1, "decoupled_weight_decay": True,
                                           "maximize": True}, None),
    "radam_groups": ("RAdam", {"lr": 0.05}, ({"betas": (0.5, 0.8)}, {"eps": 1e-2})),
    "adamax_defaults": ("Adamax", {}, None),
    "adamax": ("Adamax", {"lr": 0.05, "betas": [0.8, 0.9], "eps": 1e-3, "weight_decay": 0.1}, None),
    "adamax_maximize_groups": ("Adamax", {"lr": 0.01, "maximize": True}, ({}, {"lr": 0.03})),
    "adadelta_defaults": ("Adadelta", {}, None),
    "adadelta": ("Adadelta", {"lr": 0.5, "rho": 0.7, "eps": 1e-4, "weight_decay": 0.1}, None),
    "adadelta_maximize_groups": ("Adadelta", {"maximize": True}, ({"rho": 0.5}, {"lr": 0.3})),
    "asgd_defaults": ("ASGD", {}, None),
    "asgd_averaging": ("ASGD", {"lr": 0.05, "lambd": 0.01, "alpha": 0.5, "t0": 5, "weight_decay": 0.1}, None),
    "asgd_maximize_groups": ("ASGD", {"lr": 0.02, "maximize": True, "t0": 3}, ({}, {"lambd": 0.1})),
    "rprop_defaults": ("Rprop", {}, None),
    "rprop": ("Rprop", {"lr": 0.1, "etas": [0.3, 1.5], "step_sizes": (1e-3, 0.2)}, None),
    "rprop_maximize_groups": ("Rprop", {"lr": 0.05, "maximize": True}, ({}, {"etas": (0.6, 1.1)})),
}


def _groups(params: list, per_group: Any) -> list:
    return params if per_group is None else [dict(s, params=[p]) for s, p in zip(per_group, params)]


def make(lib: Any, case: str, W0: np.ndarray = PROB["W0"], b0: np.ndarray = PROB["b0"]) -> tuple:
    """Parameters (W, b) and the case's optimizer in ``lib`` (tl or torch)."""
    name, kwargs, per_group = CASES[case]
    if lib is tl:
        params = [Tensor(W0.copy(), requires_grad=True), Tensor(b0.copy(), requires_grad=True)]
    else:
        params = [torch.tensor(W0, requires_grad=True), torch.tensor(b0, requires_grad=True)]
    return params, getattr(lib.optim, name)(_groups(params, per_group), **kwargs)


def values(params: list) -> list:
    return [np.array(p.detach().numpy() if isinstance(p, torch.Tensor) else p.data) for p in params]


def advance(params: list, opt: Any, start: int, stop: int, sched: Any = None) -> None:
    """Steps start .. stop-1: gradients from numpy at the current weights."""
    wrap = (lambda a: torch.from_numpy(a)) if isinstance(params[0], torch.Tensor) else (lambda a: a)
    for k in range(start, stop):
        _, gW, gb = loss_grads(*values(params))
        params[0].grad = wrap(gW)
        params[1].grad = None if no_b_grad(k) else wrap(gb)
        opt.step()
        if sched is not None:
            sched.step()


def to_numpy(obj: Any) -> Any:
    """A torch state_dict as plain numpy data (tensors become arrays)."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().numpy().copy()
    if isinstance(obj, dict):
        return {k: to_numpy(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_numpy(v) for v in obj)
    return obj


def assert_state_equal(ours: dict, theirs: dict) -> None:
    """Same layout (group keys, parameter indices, buffer names) and the same values."""
    assert len(ours["param_groups"]) == len(theirs["param_groups"])
    for g, h in zip(ours["param_groups"], theirs["param_groups"]):
        assert set(g) == set(h), (sorted(g), sorted(h))
        assert g["params"] == h["params"]
    assert set(ours["state"]) == set(theirs["state"])
    for key, bufs in ours["state"].items():
        assert set(bufs) == set(theirs["state"][key]), (sorted(bufs), sorted(theirs["state"][key]))
        for name, v in bufs.items():
            w = theirs["state"][key][name]
            if isinstance(v, list):
                assert len(v) == len(w)
                for a, c in zip(v, w):
                    assert (a is None) == (c is None)
                    if a is not None and name == "old_dirs":
                        # y = g_new - g_old: each gradient held to TOL, so y to the sum of theirs
                        # (y is far smaller than the gradients it is the difference of)
                        g = np.abs(theirs["state"][key]["prev_flat_grad"])
                        np.testing.assert_allclose(a, c, rtol=0, atol=float(2e-12 * (1 + g.max())), err_msg=name)
                    elif a is not None:
                        np.testing.assert_allclose(a, c, **TOL, err_msg=name)
            elif v is None:
                assert w is None, name
            else:
                np.testing.assert_allclose(v, w, **TOL, err_msg=name)


@pytest.mark.parametrize("case", sorted(CASES))
def test_steps_match_torch(case: str) -> None:
    ours, opt = make(tl, case)
    theirs, topt = make(torch, case)
    for k in range(N_STEPS):
        advance(ours, opt, k, k + 1)
        advance(theirs, topt, k, k + 1)
        for a, b in zip(values(ours), values(theirs)):
            np.testing.assert_allclose(a, b, **TOL, err_msg=f"{case} step {k}")
    assert_state_equal(opt.state_dict(), to_numpy(topt.state_dict()))
    moved = np.abs(values(ours)[0] - PROB["W0"]).max()
    assert moved > 1e-3  # the run did something


@pytest.mark.parametrize("case", sorted(CASES))
def test_resume_from_state_dict(case: str) -> None:
    """Ours saved after 10 steps, and torch's converted to numpy, both continue the full run."""
    full, opt = make(tl, case)
    advance(full, opt, 0, N_STEPS)
    half, opt = make(tl, case)
    advance(half, opt, 0, 10)
    saved, at10 = opt.state_dict(), values(half)
    advance(half, opt, 10, 12)  # later steps must not change the saved state
    fresh, opt3 = make(tl, case, *at10)
    opt3.load_state_dict(saved)
    advance(fresh, opt3, 10, N_STEPS)
    for a, b in zip(values(fresh), values(full)):
        np.testing.assert_allclose(a, b, **TOL)
    theirs, topt = make(torch, case)
    advance(theirs, topt, 0, 10)
    from_torch, opt4 = make(tl, case, *values(theirs))
    opt4.load_state_dict(to_numpy(topt.state_dict()))
    advance(from_torch, opt4, 10, N_STEPS)
    advance(theirs, topt, 10, N_STEPS)
    for a, b in zip(values(from_torch), values(theirs)):
        np.testing.assert_allclose(a, b, **TOL)


@pytest.mark.parametrize("name", ["NAdam", "RAdam", "Adamax", "Adadelta", "ASGD", "Rprop", "LBFGS"])
@pytest.mark.parametrize("sched_name, kwargs", [("StepLR", {"step_size": 3, "gamma": 0.5}),
                                                ("CosineAnnealingLR", {"T_max": 6})])
def test_with_lr_scheduler(name: str, sched_name: str, kwargs: dict) -> None:
    runs = []
    for lib in (tl, torch):
        params, _ = make(lib, "nadam_defaults")
        if name == "LBFGS":
            opt = lib.optim.LBFGS(params, lr=0.5, max_iter=3)
            sched = getattr(lib.optim.lr_scheduler, sched_name)(opt, **kwargs)
            for _ in range(8):
                opt.step(closure_for(params, opt))
                sched.step()
        else:
            opt = getattr(lib.optim, name)(params, lr=0.05)
            sched = getattr(lib.optim.lr_scheduler, sched_name)(opt, **kwargs)
            advance(params, opt, 0, 12, sched)
        runs.append((values(params), [g["lr"] for g in opt.param_groups]))
    for a, b in zip(runs[0][0], runs[1][0]):
        np.testing.assert_allclose(a, b, **TOL)
    np.testing.assert_allclose(runs[0][1], runs[1][1], rtol=1e-15)


BAD: list = [
    ("NAdam", {"lr": -1.0}, "learning rate"), ("NAdam", {"eps": -1.0}, "epsilon"),
    ("NAdam", {"betas": (1.0, 0.9)}, "beta parameter at index 0"),
    ("NAdam", {"betas": (0.9, -0.1)}, "beta parameter at index 1"),
    ("NAdam", {"weight_decay": -1.0}, "weight_decay"), ("NAdam", {"momentum_decay": -1.0}, "momentum_decay"),
    ("RAdam", {"lr": -1.0}, "learning rate"), ("RAdam", {"eps": -1.0}, "epsilon"),
    ("RAdam", {"betas": (0.9, 1.0)}, "beta parameter at index 1"), ("RAdam", {"weight_decay": -1.0}, "weight_decay"),
    ("Adamax", {"lr": -1.0}, "learning rate"), ("Adamax", {"eps": -1.0}, "epsilon"),
    ("Adamax", {"betas": (-0.5, 0.9)}, "beta parameter at index 0"),
    ("Adamax", {"weight_decay": -1.0}, "weight_decay"),
    ("Adadelta", {"lr": -1.0}, "learning rate"), ("Adadelta", {"rho": 1.5}, "rho"),
    ("Adadelta", {"eps": -1.0}, "epsilon"), ("Adadelta", {"weight_decay": -1.0}, "weight_decay"),
    ("ASGD", {"lr": -1.0}, "learning rate"), ("ASGD", {"weight_decay": -1.0}, "weight_decay"),
    ("Rprop", {"lr": -1.0}, "learning rate"), ("Rprop", {"etas": (1.5, 1.2)}, "eta"),
    ("Rprop", {"etas": (0.5, 0.9)}, "eta"),
    ("LBFGS", {"lr": -1.0}, "learning rate"),
]


@pytest.mark.parametrize("name, kwargs, match", BAD)
def test_bad_arguments_raise_like_torch(name: str, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError, match=f"(?i){match}"):
        getattr(optim, name)([Tensor(np.zeros(2), requires_grad=True)], **kwargs)


@pytest.mark.parametrize("name, kwargs, match", [
    ("LBFGS", {"line_search_fn": "armijo"}, "line_search_fn"), ("LBFGS", {"history_size": 0}, "history_size"),
    ("LBFGS", {"max_iter": 0}, "max_iter"), ("Rprop", {"step_sizes": (1.0, 0.1)}, "step_sizes"),
    ("NAdam", {"decoupled_weight_decay": "yes"}, "decoupled_weight_decay"),
])
def test_bad_arguments_of_ours(name: str, kwargs: dict, match: str) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        getattr(optim, name)([Tensor(np.zeros(2), requires_grad=True)], **kwargs)


def test_lbfgs_one_group_only() -> None:
    groups = [{"params": [Tensor(np.zeros(2), requires_grad=True)]}, {"params": [Tensor(np.zeros(1))]}]
    with pytest.raises(ValueError, match="parameter groups"):
        optim.LBFGS(groups)
    opt = optim.LBFGS([Tensor(np.zeros(2), requires_grad=True)])
    with pytest.raises(ValueError, match="parameter groups"):
        opt.add_param_group({"params": [Tensor(np.zeros(1), requires_grad=True)]})
    with pytest.raises(ValueError, match="closure"):
        opt.step()


# ----------------------------------------------------------------------------- LBFGS


def closure_for(params: list, opt: Any) -> Callable:
    """Zero the gradients, set them to the numpy gradient at the current weights, return f."""
    is_torch = isinstance(params[0], torch.Tensor)

    def closure() -> Any:
        opt.zero_grad()
        f, gW, gb = loss_grads(*values(params))
        params[0].grad = torch.from_numpy(gW) if is_torch else gW
        params[1].grad = torch.from_numpy(gb) if is_torch else gb
        return torch.tensor(f) if is_torch else f

    return closure


LBFGS_CASES = {
    "defaults": {},
    "short_history": {"history_size": 2, "max_iter": 6},
    "lr_max_eval": {"lr": 0.5, "max_iter": 10, "max_eval": 7},
    "tolerance_grad": {"tolerance_grad": 1e-2},
    "tolerance_change": {"tolerance_change": 1e-4},
    "strong_wolfe": {"line_search_fn": "strong_wolfe", "max_iter": 5},
    "strong_wolfe_history": {"line_search_fn": "strong_wolfe", "history_size": 3, "max_iter": 8, "lr": 2.0},
}


def lbfgs(lib: Any, case: str, W0: np.ndarray = PROB["W0"], b0: np.ndarray = PROB["b0"]) -> tuple:
    params, _ = make(lib, "nadam_defaults", W0, b0)
    return params, lib.optim.LBFGS(params, **LBFGS_CASES[case])


def dot_tol(a: np.ndarray, b: np.ndarray) -> float:
    """How far ``a.b`` may move when each entry of a and b moves by up to TOL."""
    da, db = 1e-12 * (1 + np.abs(a)), 1e-12 * (1 + np.abs(b))
    return float(np.abs(a) @ db + da @ np.abs(b) + da @ db)


def assert_curvature_equal(ours: dict, theirs: dict) -> None:
    """``ro = 1 / y.s`` and ``H_diag = y.s / y.y`` (newest pair), taken out of both states
    (with ``al = ro * s.q``).
    y is a difference of nearly equal gradients, so y.s can be far smaller than |y| |s|: it
    is held to what the y and s pairs (compared to TOL by ``assert_state_equal``) allow."""
    # "al" is scratch of the two-loop recursion, written before it is read: only its layout counts
    al, t_al = ours.pop("al", None), theirs.pop("al", None)
    assert (al is None) == (t_al is None) and [a is None for a in al or []] == [a is None for a in t_al or []]
    ro, t_ro = ours.pop("ro"), theirs.pop("ro")
    h, t_h = ours.pop("H_diag"), theirs.pop("H_diag")
    assert len(ro) == len(t_ro)
    for y, s, r, t_r in zip(theirs["old_dirs"], theirs["old_stps"], ro, t_ro):
        assert abs(1 / r - 1 / t_r) <= dot_tol(y, s)
    if ro:
        y, s = theirs["old_dirs"][-1], theirs["old_stps"][-1]
        yy = float(y @ y)
        assert abs(h * yy - t_h * yy) <= dot_tol(y, s) + abs(h) * dot_tol(y, y)
    else:
        assert h == t_h == 1


@pytest.mark.parametrize("case", sorted(LBFGS_CASES))
def test_lbfgs_matches_torch(case: str) -> None:
    ours, opt = lbfgs(tl, case)
    theirs, topt = lbfgs(torch, case)
    for k in range(4):
        f = opt.step(closure_for(ours, opt))
        tf = topt.step(closure_for(theirs, topt))
        assert f == pytest.approx(float(tf), rel=1e-12)
        for a, b in zip(values(ours), values(theirs)):
            np.testing.assert_allclose(a, b, **TOL, err_msg=f"{case} step {k}")
    ours_sd, theirs_sd = opt.state_dict(), to_numpy(topt.state_dict())
    assert_curvature_equal(ours_sd["state"][0], theirs_sd["state"][0])
    assert_state_equal(ours_sd, theirs_sd)
    if case == "defaults":  # the loss went down to the optimum
        assert loss_grads(*values(ours))[0] < loss_grads(PROB["W0"], PROB["b0"])[0] - 0.1


@pytest.mark.parametrize("case", ["short_history", "strong_wolfe_history"])
def test_lbfgs_resume(case: str, tmp_path: Any) -> None:
    full, opt = lbfgs(tl, case)
    for _ in range(3):
        opt.step(closure_for(full, opt))
    for source in ("ours", "torch", "checkpoint"):
        lib = torch if source == "torch" else tl
        first, opt1 = lbfgs(lib, case)
        opt1.step(closure_for(first, opt1))
        saved = opt1.state_dict() if lib is tl else to_numpy(opt1.state_dict())
        if source == "checkpoint":  # through tl.save / tl.load (lists of arrays, None entries)
            tl.save({"optim": saved}, tmp_path / "lbfgs.npz")
            saved = tl.load(tmp_path / "lbfgs.npz")["optim"]
        resumed, opt2 = lbfgs(tl, case, *values(first))
        opt2.load_state_dict(saved)
        for _ in range(2):
            opt2.step(closure_for(resumed, opt2))
        for a, b in zip(values(resumed), values(full)):
            np.testing.assert_allclose(a, b, **TOL, err_msg=source)


def test_lbfgs_with_autograd_closure() -> None:
    """A closure that runs backward() through a model, as training code writes it."""
    rng = np.random.default_rng(3)
    X, Y = rng.standard_normal((16, 3)), rng.standard_normal((16, 2))
    results = []
    for lib in (tl, torch):
        model = lib.nn.Linear(3, 2)
        w0 = np.random.default_rng(5).standard_normal((2, 3))
        with torch.no_grad() if lib is torch else _Null():
            if lib is torch:
                model.weight.copy_(torch.tensor(w0)), model.bias.zero_()
            else:
                model.weight.data[...] = w0
                model.bias.data[...] = 0.0
        x = lib.tensor(X) if lib is torch else Tensor(X)
        y = lib.tensor(Y) if lib is torch else Tensor(Y)
        opt = lib.optim.LBFGS(model.parameters(), line_search_fn="strong_wolfe")

        def closure(model: Any = model, opt: Any = opt, x: Any = x, y: Any = y) -> Any:
            opt.zero_grad()
            loss = ((model(x) - y) ** 2).mean()
            loss.backward()
            return loss

        for _ in range(3):
            opt.step(closure)
        results.append([np.array(v.detach().numpy() if lib is torch else v.data) for v in model.parameters()])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-10)
    A = np.c_[X, np.ones(16)]
    best = np.mean((A @ np.linalg.lstsq(A, Y, rcond=None)[0] - Y) ** 2)
    reached = np.mean((X @ results[0][0].T + results[0][1] - Y) ** 2)
    assert best <= reached < best + 1e-8  # least squares: it stops within tolerance_change of the minimum


class _Null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *args: Any) -> None:
        return None


@pytest.mark.parametrize("case", sorted(c for c in CASES if c.endswith("groups")))
def test_failing_step_changes_nothing(case: str) -> None:
    params, opt = make(tl, case)
    advance(params, opt, 0, 3)
    before, saved = values(params), opt.state_dict()
    params[0].grad, params[1].grad = np.ones((3, 4)), np.ones(3)
    opt.param_groups[1]["lr"] = -1.0  # the second group's: refused before the first is updated
    with pytest.raises(ValueError, match="lr"):
        opt.step()
    for a, b in zip(values(params), before):
        np.testing.assert_array_equal(a, b)
    opt.param_groups[1]["lr"] = saved["param_groups"][1]["lr"]
    assert_state_equal(opt.state_dict(), saved)


def test_state_of_torch_with_bad_scalar_is_refused() -> None:
    theirs, topt = make(torch, "nadam_defaults")
    advance(theirs, topt, 0, 2)
    sd = to_numpy(topt.state_dict())
    sd["state"][0]["mu_product"] = np.array(np.nan)
    ours, opt = make(tl, "nadam_defaults")
    with pytest.raises(ValueError, match="mu_product"):
        opt.load_state_dict(sd)
    assert opt.state_dict()["state"] == {}
