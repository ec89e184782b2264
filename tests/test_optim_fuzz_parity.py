"""Seeded random parity tests of the optimizers and lr schedules against torch.optim.

Optimizers: for each rule, each seed draws hyper-parameters from everything torch's
constructor accepts on the CPU (per-group overrides in 2-3 parameter groups, ``foreach``
/ ``fused`` where torch has them), parameters of several shapes (0-d included) in float32
or float64, and gradients with exact zeros, all-zero arrays and missing (None) entries.
Both libraries run 10-30 steps from the same values and gradients, with ``group["lr"]``
changed between steps and ``add_param_group`` mid-run; then the parameters (rtol 1e-12 in
float64, 1e-6 in float32) and the state dicts (keys, step counts, buffers, group entries)
must agree. A state saved mid-run (ours, or torch's as numpy) and loaded into a fresh
optimizer must continue the run: ours bit for bit, torch's within the tolerance. (torch's
Adagrad takes ``initial_accumulator_value`` from its constructor only and makes every
parameter's state on creation; ours honours a group's value and makes state on the first
step: groups here do not set it, and torch's extra step-0 entries are allowed.)

LBFGS (float64): random ``lr`` / ``max_iter`` / ``max_eval`` / ``history_size`` /
tolerances, with and without the strong-Wolfe line search, on a smooth non-quadratic loss.

Schedules: random single schedules and compositions (SequentialLR and ChainedScheduler,
nested too; CyclicLR and OneCycleLR cycling SGD's momentum or Adam's betas;
ReduceLROnPlateau with random modes and per-group min_lr), 50 steps with a group's lr
changed between steps: lrs, momenta and betas of every group, ``get_last_lr()`` and the
shared state_dict entries equal torch's every step; a state_dict saved mid-schedule and
loaded into freshly made objects continues exactly; torch's resume recipe (load the
optimizer, create the schedule with ``last_epoch``) gives torch's lrs.
"""

from __future__ import annotations

import copy
import inspect
import warnings
from typing import Any, Callable, Optional

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")

SHAPES = [(), (3,), (2, 3), (4, 1), (2, 2, 2), (1,)]
RULES = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam", "ASGD", "Rprop",
         "Adafactor", "SparseAdam"]
FUSED = {"SGD", "Adam", "AdamW", "Adagrad"}  # the rules torch runs fused on the CPU


@pytest.fixture(autouse=True)
def _restore_torch_dtype() -> Any:
    old = torch.get_default_dtype()
    yield
    torch.set_default_dtype(old)


# ------------------------------------------------------------------ optimizers --------
def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(10 ** rng.uniform(lo, hi))


def draw_hyper(name: str, rng: np.random.Generator) -> dict:
    """Random valid hyper-parameters of rule ``name`` (a subset: the rest stay inherited)."""
    h: dict = {}
    c, u = rng.random, lambda a, b: float(rng.uniform(a, b))
    if name == "SGD":
        h["lr"], h["nesterov"] = u(1e-3, 0.2), False
        if c() < 0.7:
            h["momentum"] = u(0.0, 0.99)
        if h.get("momentum", 0) > 0 and c() < 0.3:
            h["nesterov"], h["dampening"] = True, 0.0
        elif c() < 0.5:
            h["dampening"] = u(0, 0.9)
    elif name in ("Adam", "AdamW", "Adamax", "NAdam", "RAdam", "SparseAdam"):
        h["lr"] = u(1e-3, 0.1)
        if c() < 0.6:
            h["betas"] = (u(0, 0.99), u(0.5, 0.9999))
        if c() < 0.5:
            h["eps"] = _log_uniform(rng, -10, -2)
        if name in ("Adam", "AdamW") and c() < 0.5:
            h["amsgrad"] = bool(c() < 0.5)
        if name == "NAdam" and c() < 0.5:
            h["momentum_decay"] = u(0, 0.1)
        if name in ("NAdam", "RAdam") and c() < 0.4:
            h["decoupled_weight_decay"] = bool(c() < 0.6)
    elif name == "RMSprop":
        h["lr"] = u(1e-3, 0.05)
        if c() < 0.6:
            h["alpha"] = u(0.5, 0.999)
        if c() < 0.5:
            h["momentum"] = u(0, 0.95)
        if c() < 0.5:
            h["centered"] = bool(c() < 0.7)
        if c() < 0.4:
            h["eps"] = _log_uniform(rng, -10, -2)
    elif name == "Adagrad":
        h["lr"] = u(1e-3, 0.3)
        if c() < 0.5:
            h["lr_decay"] = u(0, 0.3)
        if c() < 0.4:
            h["eps"] = _log_uniform(rng, -12, -3)
    elif name == "Adadelta":
        h["lr"] = u(0.1, 2.0)
        if c() < 0.6:
            h["rho"] = u(0.0, 1.0)
        if c() < 0.5:
            h["eps"] = _log_uniform(rng, -8, -2)
    elif name == "ASGD":
        h["lr"] = u(1e-3, 0.2)
        if c() < 0.6:
            h["lambd"] = _log_uniform(rng, -5, -0.5)
        if c() < 0.6:
            h["alpha"] = u(0, 1.5)
        if c() < 0.6:
            h["t0"] = float(rng.integers(0, 15))
    elif name == "Rprop":
        h["lr"] = u(1e-3, 0.2)
        if c() < 0.6:
            h["etas"] = (u(0.1, 0.95), u(1.05, 2.0))
        if c() < 0.6:
            lo = _log_uniform(rng, -7, -2)
            h["step_sizes"] = (lo, lo + u(0, 1.0))
    elif name == "Adafactor":
        h["lr"] = u(1e-3, 0.1)
        if c() < 0.5:
            h["beta2_decay"] = u(-1.0, -0.2)
        if c() < 0.5:
            # (eps1 ** 2 stays a normal float32 number: no 0 / 0 where a gradient is 0)
            h["eps"] = (None if c() < 0.5 else _log_uniform(rng, -18, -10), _log_uniform(rng, -4, -2))
        if c() < 0.5:
            h["d"] = u(1.0, 3.0)
    if name not in ("Rprop", "SparseAdam") and c() < 0.5:
        h["weight_decay"] = u(0, 0.2)
    if c() < 0.3:
        h["maximize"] = True
    return h


def draw_case(name: str, seed: int) -> dict:
    """A random run of rule ``name``: groups, constructor arguments, steps and events."""
    rng = np.random.default_rng(seed)
    dtype = np.float64 if rng.random() < 0.6 else np.float32
    shapes = SHAPES if name != "SparseAdam" else SHAPES[1:]  # (torch's sparse gradients have rows)
    pick = lambda k: [shapes[int(i)] for i in rng.integers(0, len(shapes), k)]  # noqa: E731
    ngroups = int(rng.integers(2, 4))
    groups = [{"shapes": pick(int(rng.integers(1, 3))), "hyper": draw_hyper(name, rng) if i else {}}
              for i in range(ngroups)]
    ctor = draw_hyper(name, rng)
    if name != "SparseAdam":
        r = rng.random()
        if name in FUSED and r < 0.3:
            ctor["fused"] = True
        elif r < 0.6:
            ctor["foreach"] = bool(rng.random() < 0.6)
    accepted = inspect.signature(getattr(torch.optim, name)).parameters
    for flag in ("capturable", "differentiable"):  # (True: CUDA graphs / autograd through a step)
        if flag in accepted and rng.random() < 0.3:
            ctor[flag] = False
    nsteps = int(rng.integers(10, 31))
    return {"name": name, "dtype": dtype, "groups": groups, "ctor": ctor, "nsteps": nsteps,
            "add_at": int(rng.integers(2, nsteps - 2)) if rng.random() < 0.6 else None,
            "add": {"shapes": pick(2), "hyper": draw_hyper(name, rng)},
            "save_at": int(rng.integers(1, nsteps - 1)),
            "lr_changes": {int(t): (int(rng.integers(0, ngroups)), float(rng.uniform(0.3, 1.5)))
                           for t in rng.integers(1, nsteps, 3)},
            "seed": seed + 1000}


def gradients(case: dict, t: int, shapes: list) -> list:
    """The gradients of step ``t``: normal, with exact zeros, all-zero arrays and Nones."""
    rng = np.random.default_rng(case["seed"] * 7919 + t)
    # (torch's fused SGD fails on a parameter whose momentum buffer is still None while
    # others have one: a torch limitation, so those runs give every parameter a gradient)
    nones = not (case["name"] == "SGD" and case["ctor"].get("fused"))
    out: list = []
    for s in shapes:
        if nones and rng.random() < 0.15:
            out.append(None)
            continue
        g = np.where(rng.random(s) < 0.25, 0.0, rng.standard_normal(s))
        if rng.random() < 0.08:
            g = np.zeros(s)
        if case["name"] == "SparseAdam" and s[0] > 1 and rng.random() < 0.5:
            g[int(rng.integers(0, s[0]))] = 0.0  # an untouched row
        out.append(np.asarray(g).astype(case["dtype"]))
    return out


class Run:
    """One optimizer run of ``case`` in our library (``lib=tl``) or in torch."""

    def __init__(self, lib: Any, case: dict) -> None:
        self.lib, self.case = lib, case
        rng = np.random.default_rng(case["seed"])
        values = [[rng.standard_normal(s).astype(case["dtype"]) for s in g["shapes"]] for g in case["groups"]]
        extra = [rng.standard_normal(s).astype(case["dtype"]) for s in case["add"]["shapes"]]
        self.params = [[self._param(v) for v in vs] for vs in values]
        self.extra = [self._param(v) for v in extra]
        groups = [dict(params=ps, **g["hyper"]) for ps, g in zip(self.params, case["groups"])]
        self.opt = getattr(lib.optim, case["name"])(groups, **case["ctor"])

    def _param(self, v: np.ndarray) -> Any:
        if self.lib is tl:
            return tl.Tensor(v.copy(), requires_grad=True)
        return torch.tensor(v.copy(), requires_grad=True)

    def flat(self) -> list:
        return [p for g in self.opt.param_groups for p in g["params"]]

    def values(self) -> list:
        return [p.data.copy() if self.lib is tl else p.detach().numpy().copy() for p in self.flat()]

    def set_values(self, values: list) -> None:
        for p, v in zip(self.flat(), values):
            p.data[...] = v

    def add_group(self) -> None:
        self.opt.add_param_group(dict(params=self.extra, **self.case["add"]["hyper"]))

    def state_dict(self) -> dict:
        """The optimizer's state dict (torch's with numpy arrays in place of tensors)."""
        sd = self.opt.state_dict()
        return sd if self.lib is tl else _to_numpy(sd)

    def run(self, start: int = 0, save_at: Optional[int] = None) -> Optional[tuple]:
        """Steps ``start ..``; returns (state dict, values) after step ``save_at``."""
        saved, case = None, self.case
        for t in range(start, case["nsteps"]):
            if case["add_at"] == t:
                self.add_group()
            if t in case["lr_changes"]:
                i, factor = case["lr_changes"][t]
                self.opt.param_groups[i]["lr"] *= factor
            shapes = [tuple(p.shape) for p in self.flat()]
            for p, g in zip(self.flat(), gradients(case, t, shapes)):
                if g is None or self.lib is tl:
                    p.grad = g
                else:
                    g = torch.tensor(g)
                    p.grad = g.to_sparse(sparse_dim=1) if case["name"] == "SparseAdam" else g
            if self.lib is tl:
                self.opt.step()
            else:
                with torch.no_grad():
                    self.opt.step()
            if t == save_at:
                saved = (copy.deepcopy(self.state_dict()), self.values())
        return saved


def _to_numpy(x: Any) -> Any:
    if isinstance(x, torch.Tensor):
        return x.detach().numpy().copy()
    if isinstance(x, dict):
        return {k: _to_numpy(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_to_numpy(v) for v in x]
    return x


def assert_states_match(ours: dict, theirs: dict, rtol: float, where: str, eager: Optional[dict] = None) -> None:
    """Same parameter keys, buffer names, step counts and buffers; same group entries.
    ``eager``: torch's Adagrad makes every parameter's state on creation (step 0, sum the
    initial value); such entries we make on the first step instead are allowed."""
    extra = set(theirs["state"]) - set(ours["state"])
    for k in extra:
        assert eager is not None and float(theirs["state"][k]["step"]) == 0, (where, "missing state", k)
        np.testing.assert_array_equal(theirs["state"][k]["sum"], eager["initial_accumulator_value"])
    assert set(ours["state"]) == set(theirs["state"]) - extra, (where, sorted(ours["state"]), sorted(theirs["state"]))
    for k, buffers in ours["state"].items():
        assert set(buffers) == set(theirs["state"][k]), (where, k, sorted(buffers), sorted(theirs["state"][k]))
        for name, value in buffers.items():
            a = np.asarray(value, dtype=np.float64)
            b = np.asarray(theirs["state"][k][name], dtype=np.float64)
            assert a.shape == b.shape or a.size == b.size == 1, (where, k, name, a.shape, b.shape)
            np.testing.assert_allclose(a.reshape(b.shape), b, rtol=rtol, atol=rtol, err_msg=f"{where} {k} {name}")
    assert len(ours["param_groups"]) == len(theirs["param_groups"]), where
    for ga, gb in zip(ours["param_groups"], theirs["param_groups"]):
        assert set(ga) == set(gb), (where, set(ga) ^ set(gb))
        for key, vb in gb.items():
            va = tuple(ga[key]) if isinstance(vb, tuple) else ga[key]
            assert va == vb, (where, key, va, vb)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("name", RULES)
def test_random_optimizer_runs_match_torch(name: str, seed: int) -> None:
    case = draw_case(name, seed)
    # torch's Adagrad takes initial_accumulator_value from the constructor, whatever a group
    # sets (its creation step ignores the groups'); ours honours a group's: not drawn per group
    for g in [*case["groups"], case["add"]]:
        g["hyper"].pop("initial_accumulator_value", None)
    if name == "Adagrad" and seed % 2:
        case["ctor"]["initial_accumulator_value"] = float(np.random.default_rng(seed).uniform(0, 1))
    torch.set_default_dtype(torch.float64 if case["dtype"] == np.float64 else torch.float32)
    rtol = 1e-12 if case["dtype"] == np.float64 else 1e-6
    ours, theirs = Run(tl, case), Run(torch, case)
    saved = ours.run(save_at=case["save_at"])
    saved_torch = theirs.run(save_at=case["save_at"])
    where = f"{name} seed {seed}: {case}"
    for a, b in zip(ours.values(), theirs.values(), strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape and np.isfinite(a).all(), where
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol, err_msg=where)
    eager = {"initial_accumulator_value": case["ctor"].get("initial_accumulator_value", 0.0)} \
        if name == "Adagrad" else None
    assert_states_match(ours.state_dict(), theirs.state_dict(), rtol, where, eager)
    for (sd, values), reference, exact in ((saved, ours, True), (saved_torch, theirs, False)):
        fresh = Run(tl, case)
        if len(sd["param_groups"]) > len(fresh.opt.param_groups):
            fresh.add_group()
        fresh.set_values(values)
        fresh.opt.load_state_dict(sd)
        fresh.run(start=case["save_at"] + 1)
        for a, b in zip(fresh.values(), reference.values(), strict=True):
            if exact:
                np.testing.assert_array_equal(a, b, err_msg="resumed " + where)
            else:
                np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol, err_msg="resumed from torch's state " + where)


# ------------------------------------------------------------------ LBFGS -------------
def lbfgs_case(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    shapes = [SHAPES[int(i)] for i in rng.integers(0, 4, int(rng.integers(1, 4)))]
    n = sum(int(np.prod(s)) for s in shapes)
    kw: dict = {"max_iter": int(rng.integers(1, 5))}
    if rng.random() < 0.6:
        kw["lr"] = float(rng.uniform(0.05, 1.0))
    if rng.random() < 0.3:
        kw["max_eval"] = int(rng.integers(1, 12))
    if rng.random() < 0.5:
        kw["history_size"] = int(rng.integers(1, 6))
    if rng.random() < 0.5:
        kw["line_search_fn"] = "strong_wolfe"
    if rng.random() < 0.3:
        kw["tolerance_grad"] = _log_uniform(rng, -9, -3)
    if rng.random() < 0.3:
        kw["tolerance_change"] = _log_uniform(rng, -12, -5)
    return {"kw": kw, "A": rng.standard_normal((n + 2, n)), "b": rng.standard_normal(n + 2),
            "x0": [rng.standard_normal(s) for s in shapes], "nsteps": int(rng.integers(2, 5)),
            "save_at": int(rng.integers(0, 2))}


def lbfgs_loss(case: dict, xs: list) -> tuple:
    """f(x) = sum log cosh(A x - b) + 0.05 |x|^2 + 0.3 sum(x^4) / n, and its gradient per parameter."""
    x = np.concatenate([np.reshape(v, -1) for v in xs])
    r = case["A"] @ x - case["b"]
    f = np.sum(np.logaddexp(r, -r)) + 0.05 * np.sum(x * x) + 0.3 * np.sum(x**4) / x.size
    g = case["A"].T @ np.tanh(r) + 0.1 * x + 1.2 * x**3 / x.size
    sizes = np.cumsum([np.size(v) for v in xs])[:-1]
    return float(f), [part.reshape(np.shape(v)) for part, v in zip(np.split(g, sizes), xs)]


def lbfgs_run(lib: Any, case: dict, start: int = 0, resume: Optional[tuple] = None) -> tuple:
    """(parameter values, losses, optimizer, state saved after step ``save_at``)."""
    values = case["x0"] if resume is None else resume[1]
    if lib is tl:
        params = [tl.Tensor(v.copy(), requires_grad=True) for v in values]
    else:
        params = [torch.tensor(v.copy(), requires_grad=True) for v in values]
    opt = lib.optim.LBFGS(params, **case["kw"])
    if resume is not None:
        opt.load_state_dict(resume[0])
    read = (lambda p: p.data) if lib is tl else (lambda p: p.detach().numpy())

    def closure() -> Any:
        f, grads = lbfgs_loss(case, [read(p) for p in params])
        for p, g in zip(params, grads):
            p.grad = g if lib is tl else torch.tensor(g)
        return f if lib is tl else torch.tensor(f)

    losses, saved = [], None
    for t in range(start, case["nsteps"]):
        losses.append(float(opt.step(closure)))
        if t == case["save_at"] and lib is tl:
            saved = (copy.deepcopy(opt.state_dict()), [p.data.copy() for p in params])
    return [read(p).copy() for p in params], losses, opt, saved


@pytest.mark.parametrize("seed", range(16))
def test_random_lbfgs_runs_match_torch(seed: int) -> None:
    torch.set_default_dtype(torch.float64)
    case = lbfgs_case(seed)
    x, losses, opt, saved = lbfgs_run(tl, case)
    tx, tlosses, topt, _ = lbfgs_run(torch, case)
    where = f"seed {seed}: {case['kw']}"
    # torch moves the parameters by fused multiply-adds (add_ with alpha) and its own dot
    # products: one-ulp differences from numpy's, which a line search and the curvature
    # pairs (differences of gradients, ro = 1 / (y.s)) amplify over the iterations; so
    # values are compared relative to the largest entry of each array, at 1e-10
    for a, b in zip(x, tx, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10 * max(1.0, float(np.abs(b).max())), err_msg=where)
    np.testing.assert_allclose(losses, tlosses, rtol=1e-10, err_msg=where)
    ours, theirs = opt.state_dict()["state"][0], _to_numpy(topt.state_dict()["state"][0])
    assert set(ours) == set(theirs), (where, sorted(ours), sorted(theirs))
    assert (ours["n_iter"], ours["func_evals"]) == (theirs["n_iter"], theirs["func_evals"]), where
    for name, b in theirs.items():
        a = ours[name]
        if name == "al":  # scratch of the two-loop recursion: only its layout is state
            assert [v is None for v in a] == [v is None for v in b], where
            continue
        items = list(zip(a, b, strict=True)) if isinstance(b, list) else [(a, b)]
        for u, v in items:
            v = np.asarray(v, dtype=np.float64)
            np.testing.assert_allclose(np.asarray(u, dtype=np.float64), v, rtol=1e-10,
                                       atol=1e-10 * max(1.0, float(np.abs(v).max())), err_msg=f"{where} {name}")
    resumed, _, _, _ = lbfgs_run(tl, case, start=case["save_at"] + 1, resume=saved)
    for a, b in zip(resumed, x, strict=True):
        np.testing.assert_array_equal(a, b, err_msg="resumed " + where)


# ------------------------------------------------------------------ schedules ---------
SIMPLE = ["StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "LinearLR",
          "ConstantLR", "PolynomialLR", "LambdaLR", "MultiplicativeLR"]
LAMBDAS = [lambda e: 0.95**e, lambda e: 1.0 / (1.0 + 0.1 * e), lambda e: 0.5 + 0.5 * ((e // 3) % 2)]
FACTORS = [lambda e: 0.97, lambda e: 1.0 if e % 4 else 0.8, lambda e: 1.02 if e < 10 else 0.9]
SCALES = [lambda x: 0.9**x, lambda x: 1.0 / (1.0 + x)]


def _per_group(rng: np.random.Generator, n: int, lo: float, hi: float) -> Any:
    return float(rng.uniform(lo, hi)) if rng.random() < 0.5 else [float(v) for v in rng.uniform(lo, hi, n)]


def draw_simple(rng: np.random.Generator, name: str, n: int) -> tuple:
    u = lambda a, b: float(rng.uniform(a, b))  # noqa: E731
    i = lambda a, b: int(rng.integers(a, b))  # noqa: E731
    kw: dict = {
        "StepLR": lambda: {"step_size": i(1, 8), "gamma": u(0.1, 0.99)},
        "MultiStepLR": lambda: {"milestones": sorted(int(m) for m in rng.integers(0, 40, i(1, 5))),
                                "gamma": u(0.1, 0.99)},
        "ExponentialLR": lambda: {"gamma": u(0.8, 0.999)},
        "CosineAnnealingLR": lambda: {"T_max": i(1, 25), "eta_min": u(0, 1e-3) if rng.random() < 0.5 else 0.0},
        "CosineAnnealingWarmRestarts": lambda: {"T_0": i(1, 12), "T_mult": i(1, 4),
                                                "eta_min": u(0, 1e-3) if rng.random() < 0.5 else 0.0},
        "LinearLR": lambda: {"start_factor": u(0.05, 1.0), "end_factor": u(0.0, 1.0), "total_iters": i(1, 20)},
        "ConstantLR": lambda: {"factor": u(0.05, 1.0), "total_iters": i(0, 20)},
        "PolynomialLR": lambda: {"total_iters": i(1, 30), "power": u(0.0, 3.0)},
        "LambdaLR": lambda: {"lr_lambda": ("L", [i(0, 3) for _ in range(n)] if rng.random() < 0.5 else i(0, 3))},
        "MultiplicativeLR": lambda: {"lr_lambda": ("M", [i(0, 3) for _ in range(n)] if rng.random() < 0.5
                                                   else i(0, 3))},
    }[name]()
    return name, kw


def draw_schedule(rng: np.random.Generator, n: int, nested: bool = False) -> tuple:
    """A random schedule spec (name, arguments); combinations hold specs of their parts."""
    r = rng.uniform(0.35, 0.87) if nested else rng.random()
    part = lambda: draw_schedule(rng, n, nested=True) if rng.random() < 0.25 else \
        draw_simple(rng, SIMPLE[int(rng.integers(0, len(SIMPLE)))], n)  # noqa: E731
    if r < 0.35:
        return draw_simple(rng, SIMPLE[int(rng.integers(0, len(SIMPLE)))], n)
    if r < 0.5:
        k = int(rng.integers(2, 4))
        return "SequentialLR", {"schedulers": [part() for _ in range(k)],
                                "milestones": sorted(int(m) for m in rng.integers(1, 45, k - 1))}
    if r < 0.62:
        return "ChainedScheduler", {"schedulers": [part() for _ in range(int(rng.integers(2, 4)))]}
    momentum = bool(rng.random() < 0.6)
    cycled = {"cycle_momentum": momentum}
    if momentum:
        cycled.update(base_momentum=_per_group(rng, n, 0.5, 0.85), max_momentum=_per_group(rng, n, 0.85, 0.99))
    if r < 0.75:
        kw = dict(base_lr=_per_group(rng, n, 1e-4, 1e-2), max_lr=_per_group(rng, n, 1e-2, 0.5),
                  step_size_up=int(rng.integers(1, 12)), gamma=float(rng.uniform(0.9, 1.0)),
                  mode=["triangular", "triangular2", "exp_range"][int(rng.integers(0, 3))], **cycled)
        if rng.random() < 0.5:
            kw["step_size_down"] = int(rng.integers(1, 12))
        if rng.random() < 0.3:
            kw.update(scale_fn=("S", int(rng.integers(0, 2))),
                      scale_mode=["cycle", "iterations"][int(rng.integers(0, 2))])
        return "CyclicLR", kw
    if r < 0.87:
        kw = dict(max_lr=_per_group(rng, n, 1e-2, 0.5), pct_start=float(rng.uniform(0.05, 0.45)),
                  anneal_strategy=["cos", "linear"][int(rng.integers(0, 2))], div_factor=float(rng.uniform(2, 50)),
                  final_div_factor=float(rng.uniform(10, 1e4)), three_phase=bool(rng.random() < 0.5), **cycled)
        if rng.random() < 0.7:
            kw["total_steps"] = int(rng.integers(51, 80))
        else:
            kw.update(epochs=int(rng.integers(6, 12)), steps_per_epoch=int(rng.integers(9, 12)))
        return "OneCycleLR", kw
    return "ReduceLROnPlateau", dict(
        mode=["min", "max"][int(rng.integers(0, 2))], factor=float(rng.uniform(0.1, 0.9)),
        patience=int(rng.integers(0, 5)), threshold=float(rng.uniform(0, 0.1)),
        threshold_mode=["rel", "abs"][int(rng.integers(0, 2))], cooldown=int(rng.integers(0, 4)),
        min_lr=_per_group(rng, n, 0, 1e-3), eps=_log_uniform(rng, -9, -4))


def build(lib: Any, opt: Any, spec: tuple, last_epoch: int = -1) -> Any:
    name, kw = spec
    kw, mod = dict(kw), lib.optim.lr_scheduler
    if name == "SequentialLR":
        return mod.SequentialLR(opt, [build(lib, opt, s) for s in kw.pop("schedulers")], **kw)
    if name == "ChainedScheduler":
        return mod.ChainedScheduler([build(lib, opt, s) for s in kw["schedulers"]], optimizer=opt)
    if "lr_lambda" in kw:
        table, which = (LAMBDAS if kw["lr_lambda"][0] == "L" else FACTORS), kw["lr_lambda"][1]
        kw["lr_lambda"] = [table[i] for i in which] if isinstance(which, list) else table[which]
    if "scale_fn" in kw:
        kw["scale_fn"] = SCALES[kw["scale_fn"][1]]
    if last_epoch != -1:
        kw["last_epoch"] = last_epoch
    return getattr(mod, name)(opt, **kw)


def schedule_case(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 4))
    return {"lrs": [float(v) for v in rng.uniform(0.01, 1.0, n)], "opt": "SGD" if rng.random() < 0.6 else "Adam",
            "spec": draw_schedule(rng, n), "metrics": list(np.round(rng.standard_normal(60).cumsum() * 0.3, 2)),
            "save_at": int(rng.integers(0, 45)),
            "lr_change": (int(rng.integers(1, 50)), int(rng.integers(0, n)), float(rng.uniform(0.5, 1.5)))
            if rng.random() < 0.5 else None}


def make_optimizer(lib: Any, case: dict) -> Any:
    new = (lambda: tl.Tensor(np.zeros(2), requires_grad=True)) if lib is tl else \
        (lambda: torch.zeros(2, dtype=torch.float64, requires_grad=True))
    groups = [{"params": [new()], "lr": lr} for lr in case["lrs"]]
    if case["opt"] == "SGD":
        return lib.optim.SGD(groups, lr=0.1, momentum=0.9)
    return lib.optim.Adam(groups, lr=0.1, betas=(0.9, 0.99))


def observe(opt: Any, sched: Any) -> tuple:
    """Every group's (lr, momentum, betas), and get_last_lr()."""
    return ([(g["lr"], g.get("momentum"), tuple(g["betas"]) if "betas" in g else None) for g in opt.param_groups],
            list(sched.get_last_lr()))


def same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    return abs(float(a) - float(b)) <= 1e-12 * abs(float(b))


def step_schedule(sched: Any, opt: Any, case: dict, start: int, trace: list, save: Optional[list] = None,
                  compare: Optional[Callable] = None) -> None:
    for t in range(start, 50):
        if case["lr_change"] is not None and case["lr_change"][0] == t:
            opt.param_groups[case["lr_change"][1]]["lr"] *= case["lr_change"][2]
        if case["spec"][0] == "ReduceLROnPlateau":
            sched.step(case["metrics"][t])
        else:
            sched.step()
        trace.append(observe(opt, sched))
        if save is not None and t == case["save_at"]:
            save.append((copy.deepcopy(opt.state_dict()), copy.deepcopy(sched.state_dict())))
        if compare is not None:
            compare(sched)


def assert_shared_state(ours: dict, theirs: dict, where: str) -> None:
    """The entries both state dicts hold are equal (torch keeps a few private flags more)."""
    for key in set(ours) & set(theirs):
        a, b = ours[key], theirs[key]
        if key == "_schedulers":
            for x, y in zip(a, b, strict=True):
                assert_shared_state(x, y, where)
        elif key == "milestones":
            assert sorted(a) == sorted(b.elements()), (where, key, a, b)
        elif key not in ("lr_lambdas", "_scale_fn_custom"):
            assert a == b or same(a, b), (where, key, a, b)


@pytest.mark.parametrize("seed", range(160))
def test_random_schedules_match_torch(seed: int) -> None:
    case = schedule_case(seed)
    where = f"seed {seed}: {case['spec']}"
    runs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (torch: "scheduler.step() before optimizer.step()")
        for lib in (tl, torch):
            opt = make_optimizer(lib, case)
            sched = build(lib, opt, case["spec"])
            trace, saved, error = [observe(opt, sched)], [], None
            try:
                step_schedule(sched, opt, case, 0, trace, saved if lib is tl else None)
            except (NotImplementedError, ValueError) as exc:  # (a combined part restarted: both refuse)
                error = type(exc)
            runs.append((opt, sched, trace, saved, error))
    (opt, sched, trace, saved, error), (topt, tsched, ttrace, _, terror) = runs
    assert error is terror and len(trace) == len(ttrace), (where, error, terror)
    for i, (a, b) in enumerate(zip(trace, ttrace)):
        assert same(a, b), (f"{where} step {i}", a, b)
    if error is not None:
        return
    assert_shared_state(sched.state_dict(), tsched.state_dict(), where)
    for ga, gb in zip(opt.state_dict()["param_groups"], topt.state_dict()["param_groups"]):
        assert set(ga) == set(gb) and all(same(ga[k], gb[k]) for k in gb if k != "params"), (where, ga, gb)
    opt_state, sched_state = saved[0]
    fresh_opt = make_optimizer(tl, case)
    fresh = build(tl, fresh_opt, case["spec"])
    fresh_opt.load_state_dict(opt_state)
    fresh.load_state_dict(sched_state)
    resumed: list = []
    step_schedule(fresh, fresh_opt, case, case["save_at"] + 1, resumed)
    assert resumed == trace[case["save_at"] + 2:], where


@pytest.mark.parametrize("seed", range(40))
def test_resuming_with_last_epoch_matches_torch(seed: int) -> None:
    """torch's recipe: load the optimizer's state, create the schedule with ``last_epoch``
    (CosineAnnealingWarmRestarts also stepped to fractional epochs first)."""
    rng = np.random.default_rng(seed + 50000)
    n = int(rng.integers(1, 4))
    case = {"lrs": [float(v) for v in rng.uniform(0.01, 1.0, n)], "opt": "SGD" if rng.random() < 0.6 else "Adam"}
    if rng.random() < 0.6:
        spec = draw_simple(rng, SIMPLE[int(rng.integers(0, len(SIMPLE)))], n)
    else:
        spec = draw_schedule(rng, n, nested=True)
        while spec[0] not in ("CyclicLR", "OneCycleLR"):
            spec = draw_schedule(rng, n, nested=True)
    k = int(rng.integers(0, 30))
    epochs = np.sort(rng.uniform(0, 40, 30)) if spec[0] == "CosineAnnealingWarmRestarts" else []
    traces = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for lib in (tl, torch):
            opt = make_optimizer(lib, case)
            sched = build(lib, opt, spec)
            trace = [observe(opt, sched)]
            for e in epochs:
                sched.step(float(e))
                trace.append(observe(opt, sched))
            for _ in range(k):
                sched.step()
                trace.append(observe(opt, sched))
            opt2 = make_optimizer(lib, case)
            opt2.load_state_dict(copy.deepcopy(opt.state_dict()))
            sched2 = build(lib, opt2, spec, last_epoch=sched.last_epoch)
            trace.append(observe(opt2, sched2))
            for _ in range(10):
                sched2.step()
                trace.append(observe(opt2, sched2))
            traces.append(trace)
    for i, (a, b) in enumerate(zip(*traces, strict=True)):
        assert same(a, b), (f"seed {seed} {spec} at {i}", a, b)


# ------------------------------------------------------------------ found by the above -
def test_step_lr_stepped_into_epoch_zero_keeps_the_lr() -> None:
    """A StepLR in a ChainedScheduler that starts a SequentialLR is stepped (not created)
    into epoch 0: torch leaves the lr there, as at creation; only epochs k * step_size
    with k >= 1 decay."""
    lrs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (torch: "scheduler.step() before optimizer.step()")
        for lib in (tl, torch):
            opt = make_optimizer(lib, {"lrs": [0.5, 0.2], "opt": "SGD"})
            mod = lib.optim.lr_scheduler
            chain = mod.ChainedScheduler([mod.StepLR(opt, 3, 0.5), mod.ExponentialLR(opt, 0.9)], optimizer=opt)
            seq = mod.SequentialLR(opt, [chain, mod.ConstantLR(opt, 0.5, 2)], milestones=[5])
            got = [[g["lr"] for g in opt.param_groups]]
            for _ in range(8):
                seq.step()
                got.append([g["lr"] for g in opt.param_groups])
            lrs.append(got)
    np.testing.assert_allclose(lrs[0], lrs[1], rtol=1e-14)
    np.testing.assert_allclose(lrs[0][0], [0.45, 0.18], rtol=1e-14)  # 0.9 once, no 0.5 at epoch 0


def test_nested_sequential_state_dict_round_trip() -> None:
    """A SequentialLR that starts a SequentialLR: the outer creation steps the inner parts
    back once more, so the inner later part's last_epoch is -2 (as in torch); the state_dict
    taken then must load, and the resumed lrs continue the run (which follows torch's)."""
    def make(lib: Any) -> tuple:
        opt = make_optimizer(lib, {"lrs": [0.5, 0.3], "opt": "SGD"})
        mod = lib.optim.lr_scheduler
        inner = mod.SequentialLR(opt, [mod.ExponentialLR(opt, 0.9), mod.StepLR(opt, 2, 0.5)], milestones=[3])
        return opt, mod.SequentialLR(opt, [inner, mod.ConstantLR(opt, 0.5, 2)], milestones=[8])

    runs, saved = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for lib in (tl, torch):
            opt, seq = make(lib)
            assert seq._schedulers[0]._schedulers[1].last_epoch == -2
            seq.step()
            saved.append(copy.deepcopy((opt.state_dict(), seq.state_dict())))
            lrs = []
            for _ in range(10):
                seq.step()
                lrs.append([g["lr"] for g in opt.param_groups])
            runs.append(lrs)
    np.testing.assert_allclose(runs[0], runs[1], rtol=1e-14)
    opt, seq = make(tl)
    opt.load_state_dict(saved[0][0])
    seq.load_state_dict(saved[0][1])
    resumed = []
    for _ in range(10):
        seq.step()
        resumed.append([g["lr"] for g in opt.param_groups])
    assert resumed == runs[0]
    bad = copy.deepcopy(saved[0][1])
    bad["last_epoch"] = -2  # the outer schedule itself is never below -1
    with pytest.raises(ValueError, match="last_epoch"):
        seq.load_state_dict(bad)


@pytest.mark.parametrize("name, args", [
    ("RMSprop", (0.05, 0.9, 1e-8, 0.0, 0.5, True, False, True, True, False)),  # ..., capturable, foreach, maximize
    ("Adagrad", (0.1, 0.01, 0.0, 0.2, 1e-10, True)),  # ..., eps, foreach (maximize is keyword-only)
])
def test_positional_arguments_mean_what_they_mean_in_torch(name: str, args: tuple) -> None:
    """A constructor called positionally sets the same hyper-parameters as torch's (a value
    meant for ``foreach`` must not land in ``maximize``), and the steps agree."""
    p = tl.Tensor(np.array([1.0, -2.0, 0.5]), requires_grad=True)
    tp = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64, requires_grad=True)
    ours, theirs = getattr(tl.optim, name)([p], *args), getattr(torch.optim, name)([tp], *args)
    group, tgroup = ours.param_groups[0], theirs.param_groups[0]
    assert {k: group[k] for k in tgroup if k != "params"} == {k: v for k, v in tgroup.items() if k != "params"}
    for k in range(3):
        g = np.array([0.3, -0.1, 0.2]) * (k + 1)
        p.grad, tp.grad = g, torch.tensor(g)
        ours.step()
        with torch.no_grad():
            theirs.step()
    np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-12)
