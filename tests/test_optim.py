"""Tests of tinygrad_lite.optim.

The update rules are checked against PyTorch's: live when torch is importable,
and always against results recorded in tests/data/optim_reference.npz (made by
tests/data/make_optim_reference.py with the helpers below). Gradients are
computed in numpy and assigned to ``.grad`` / ``.grad_sample``, so these tests
do not depend on the autodiff core.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tinygrad_lite import Tensor, optim

REFERENCE = Path(__file__).resolve().parent / "data" / "optim_reference.npz"
REGENERATE = "record it with python tests/data/make_optim_reference.py (needs torch)"
N_STEPS = 25
N_EPOCHS = 30

# ----------------------------------------------------------------------------- the test problem


def make_problem(dtype: type = np.float64) -> dict[str, np.ndarray]:
    """A least-squares problem E(W, b) = 0.5 * mean_n |W x_n + b - y_n|^2 over 8 samples."""
    rng = np.random.default_rng(20240601)
    problem = {
        "X": rng.standard_normal((8, 4)),
        "Y": rng.standard_normal((8, 3)),
        "W0": 0.5 * rng.standard_normal((3, 4)),
        "b0": 0.5 * rng.standard_normal(3),
    }
    return {k: v.astype(dtype) for k, v in problem.items()}


def quadratic_grads(
    problem: dict[str, np.ndarray], W: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """dE/dW and dE/db of the least-squares problem at (W, b)."""
    X, Y = problem["X"], problem["Y"]
    r = X @ W.T + b - Y
    return r.T @ X / len(X), r.mean(axis=0)


def b_has_no_grad(step: int) -> bool:
    """On these steps b gets no gradient (it must then be skipped)."""
    return step % 7 == 3


# name -> (optimizer class name, keyword arguments, per-group settings for [W] and [b] or None)
OPTIM_CASES: dict[str, tuple[str, dict[str, Any], tuple[dict[str, Any], dict[str, Any]] | None]] = {
    "sgd": ("SGD", {"lr": 0.1}, None),
    "sgd_momentum": ("SGD", {"lr": 0.05, "momentum": 0.9}, None),
    "sgd_dampening_wd": ("SGD", {"lr": 0.05, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.02}, None),
    "sgd_nesterov": ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.05}, None),
    "sgd_maximize": ("SGD", {"lr": 0.01, "momentum": 0.5, "maximize": True}, None),
    "sgd_groups": ("SGD", {"lr": 0.1, "momentum": 0.9}, ({}, {"lr": 0.01, "momentum": 0.5})),
    "adam_defaults": ("Adam", {}, None),
    "adam": ("Adam", {"lr": 0.05, "betas": (0.8, 0.95), "eps": 1e-6}, None),
    "adam_amsgrad_wd": ("Adam", {"lr": 0.05, "weight_decay": 0.1, "amsgrad": True}, None),
    "adam_maximize": ("Adam", {"lr": 0.01, "maximize": True}, None),
    "adam_groups": ("Adam", {"lr": 0.05}, ({"lr": 0.1, "betas": (0.5, 0.9)}, {"weight_decay": 0.1})),
    "adamw_defaults": ("AdamW", {}, None),
    "adamw": ("AdamW", {"lr": 0.05, "weight_decay": 0.2, "amsgrad": True}, None),
    "rmsprop_defaults": ("RMSprop", {}, None),
    "rmsprop_momentum_wd": (
        "RMSprop",
        {"lr": 0.01, "alpha": 0.9, "momentum": 0.8, "weight_decay": 0.05},
        None,
    ),
    "rmsprop_centered": ("RMSprop", {"lr": 0.01, "centered": True, "eps": 1e-6}, None),
    "rmsprop_centered_momentum_maximize": (
        "RMSprop",
        {"lr": 0.005, "centered": True, "momentum": 0.5, "maximize": True},
        None,
    ),
    "adagrad_defaults": ("Adagrad", {}, None),
    "adagrad": (
        "Adagrad",
        {"lr": 0.2, "lr_decay": 0.05, "weight_decay": 0.01, "initial_accumulator_value": 0.1, "eps": 1e-8},
        None,
    ),
    "adagrad_maximize_groups": (
        "Adagrad",
        {"lr": 0.1, "maximize": True},
        ({}, {"lr": 0.02, "lr_decay": 0.1}),
    ),
}


def _groups(params: list[Any], per_group: tuple[dict[str, Any], dict[str, Any]] | None) -> list[Any]:
    if per_group is None:
        return params
    return [dict(settings, params=[p]) for settings, p in zip(per_group, params)]


def start_ours(case: str, problem: dict[str, np.ndarray]) -> tuple[list[Tensor], optim.Optimizer]:
    """Fresh parameters W, b at the problem's start and the case's optimizer over them."""
    name, kwargs, per_group = OPTIM_CASES[case]
    params = [Tensor(problem[k].copy(), requires_grad=True) for k in ("W0", "b0")]
    return params, getattr(optim, name)(_groups(params, per_group), **kwargs)


def advance(
    opt: optim.Optimizer, params: list[Tensor], problem: dict[str, np.ndarray], start: int, stop: int
) -> None:
    """Steps start .. stop-1 of the case run."""
    W, b = params
    for k in range(start, stop):
        gW, gb = quadratic_grads(problem, W.data, b.data)
        W.grad = gW
        b.grad = None if b_has_no_grad(k) else gb
        assert opt.step() is None


def run_ours(case: str, problem: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    params, opt = start_ours(case, problem)
    advance(opt, params, problem, 0, N_STEPS)
    return params[0].data, params[1].data


def run_torch(torch: Any, case: str, problem: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The same run with torch.optim."""
    name, kwargs, per_group = OPTIM_CASES[case]
    W = torch.tensor(problem["W0"], dtype=torch.float64, requires_grad=True)
    b = torch.tensor(problem["b0"], dtype=torch.float64, requires_grad=True)
    opt = getattr(torch.optim, name)(_groups([W, b], per_group), **kwargs)
    for k in range(N_STEPS):
        gW, gb = quadratic_grads(problem, W.detach().numpy().copy(), b.detach().numpy().copy())
        W.grad = torch.from_numpy(gW)
        b.grad = None if b_has_no_grad(k) else torch.from_numpy(gb)
        opt.step()
    return W.detach().numpy().copy(), b.detach().numpy().copy()


# name -> (scheduler class name, keyword arguments); two groups start at SCHED_LRS
SCHED_CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "step": ("StepLR", {"step_size": 3, "gamma": 0.5}),
    "step_default_gamma": ("StepLR", {"step_size": 4}),
    "exponential": ("ExponentialLR", {"gamma": 0.9}),
    "cosine": ("CosineAnnealingLR", {"T_max": 10, "eta_min": 0.001}),
    "cosine_no_min": ("CosineAnnealingLR", {"T_max": 7}),
}
SCHED_LRS = (0.1, 0.03)


def lr_sequence_ours(case: str) -> np.ndarray:
    """get_last_lr() at creation and after each of N_EPOCHS steps: shape (N_EPOCHS + 1, 2)."""
    name, kwargs = SCHED_CASES[case]
    groups = [{"params": [Tensor(np.zeros(2), requires_grad=True)], "lr": lr} for lr in SCHED_LRS]
    opt = optim.SGD(groups, lr=1.0)
    sched = getattr(optim, name)(opt, **kwargs)
    rows = [sched.get_last_lr()]
    for _ in range(N_EPOCHS):
        opt.step()
        sched.step()
        rows.append(sched.get_last_lr())
        assert rows[-1] == [g["lr"] for g in opt.param_groups]
    return np.array(rows)


def lr_sequence_torch(torch: Any, case: str) -> np.ndarray:
    name, kwargs = SCHED_CASES[case]
    groups = [{"params": [torch.zeros(2, requires_grad=True)], "lr": lr} for lr in SCHED_LRS]
    opt = torch.optim.SGD(groups, lr=1.0)
    sched = getattr(torch.optim.lr_scheduler, name)(opt, **kwargs)
    rows = [sched.get_last_lr()]
    for _ in range(N_EPOCHS):
        opt.step()
        sched.step()
        rows.append(sched.get_last_lr())
    return np.array(rows, dtype=np.float64)


# ----------------------------------------------------------------------------- helpers


def param(values: Any, dtype: type = np.float64) -> Tensor:
    return Tensor(np.array(values, dtype=dtype), requires_grad=True)


def assert_plain(obj: Any, where: str = "state_dict") -> None:
    """obj holds only arrays, Python numbers, strings, bools, None, lists, tuples and dicts."""
    if isinstance(obj, np.ndarray):
        assert obj.dtype != object, where
    elif isinstance(obj, dict):
        for k, v in obj.items():
            assert isinstance(k, (int, str)), f"{where}: key {k!r}"
            assert_plain(v, f"{where}[{k!r}]")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            assert_plain(v, f"{where}[{i}]")
    else:
        assert obj is None or type(obj) in (bool, int, float, str), f"{where}: {type(obj).__name__}"


def assert_same(a: Any, b: Any, where: str = "") -> None:
    """Deep equality of state dicts (arrays compared exactly)."""
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype, where
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for k in a:
            assert_same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def torch_or_skip() -> Any:
    """The torch module, or skip the calling test when it cannot be imported."""
    try:
        import torch
    except ImportError as exc:
        pytest.skip(f"torch is not importable: {exc}")
    return torch


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    assert REFERENCE.exists(), f"{REFERENCE} is missing: {REGENERATE}"
    with np.load(REFERENCE, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


# ----------------------------------------------------------------------------- update rules vs PyTorch


@pytest.mark.parametrize("case", sorted(OPTIM_CASES))
def test_update_rule_matches_recorded_reference(case: str, reference: dict[str, np.ndarray]) -> None:
    problem = {k: reference[f"problem/{k}"] for k in ("X", "Y", "W0", "b0")}
    assert f"optim/{case}/W" in reference, f"no recorded result for {case}: {REGENERATE}"
    W, b = run_ours(case, problem)
    np.testing.assert_allclose(W, reference[f"optim/{case}/W"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b, reference[f"optim/{case}/b"], rtol=1e-10, atol=1e-12)
    # the run went somewhere, so agreeing is not trivial
    assert np.abs(W - problem["W0"]).max() > 1e-3
    assert np.abs(b - problem["b0"]).max() > 1e-3


@pytest.mark.parametrize("case", sorted(OPTIM_CASES))
def test_update_rule_matches_torch_live(case: str) -> None:
    torch = torch_or_skip()
    problem = make_problem()
    W, b = run_ours(case, problem)
    tW, tb = run_torch(torch, case, problem)
    np.testing.assert_allclose(W, tW, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b, tb, rtol=1e-10, atol=1e-12)


_FLAGS = {"foreach": None, "differentiable": False}  # torch's flags for how a step runs


def test_defaults_are_pytorchs() -> None:
    p = [param([1.0])]
    assert optim.Adam(p).defaults == {
        "lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False,
        "maximize": False, "capturable": False, "fused": None, "decoupled_weight_decay": False, **_FLAGS,
    }
    assert optim.AdamW(p).defaults["weight_decay"] == 1e-2
    assert optim.AdamW(p).defaults["decoupled_weight_decay"] is True
    assert optim.RMSprop(p).defaults == {
        "lr": 1e-2, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0, "momentum": 0.0, "centered": False,
        "maximize": False, "capturable": False, **_FLAGS,
    }
    assert optim.Adagrad(p).defaults == {
        "lr": 1e-2, "lr_decay": 0.0, "weight_decay": 0.0, "initial_accumulator_value": 0.0, "eps": 1e-10,
        "maximize": False, "fused": None, **_FLAGS,
    }
    assert optim.SGD(p, lr=0.1).defaults == {
        "lr": 0.1, "momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False,
        "maximize": False, "fused": None, **_FLAGS,
    }


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_defaults_equal_torchs_key_for_key(name: str) -> None:
    torch = torch_or_skip()
    ours = getattr(optim, name)([param([1.0])], lr=0.1).defaults
    theirs = getattr(torch.optim, name)([torch.zeros(1, requires_grad=True)], lr=0.1).defaults
    assert ours.keys() == theirs.keys()
    for k, v in theirs.items():
        assert ours[k] == (tuple(v) if isinstance(v, tuple) else v), k


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_torchs_flags_for_how_a_step_runs_give_the_same_step(name: str) -> None:
    def run(**kw: Any) -> np.ndarray:
        w = param([1.0, -2.0, 0.5])
        opt = getattr(optim, name)([w], lr=0.1, **kw)
        for _ in range(3):
            opt.zero_grad()
            ((w * w).sum() + w.sum()).backward()
            opt.step()
        return w.data
    base = run()
    kinds = {"foreach": (True, False), "fused": (True, False)}
    allowed = inspect.signature(getattr(optim, name)).parameters
    tried = 0
    for flag, values in kinds.items():
        for v in values if flag in allowed else ():
            np.testing.assert_array_equal(run(**{flag: v}), base)
            tried += 1
    assert tried >= 2
    for flag in ("differentiable", "capturable"):
        if flag in allowed:
            np.testing.assert_array_equal(run(**{flag: False}), base)
            with pytest.raises(ValueError, match=f"{name}: {flag}=True is not supported"):
                getattr(optim, name)([param([1.0])], lr=0.1, **{flag: True})
    with pytest.raises(TypeError, match="foreach"):
        getattr(optim, name)([param([1.0])], lr=0.1, foreach="yes")


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_a_state_saved_without_the_step_flags_still_loads(name: str) -> None:
    w = param([1.0, -2.0])
    opt = getattr(optim, name)([w], lr=0.1)
    (w * w).sum().backward()
    opt.step()
    sd = opt.state_dict()
    for k in ("foreach", "fused", "differentiable", "capturable", "decoupled_weight_decay"):
        sd["param_groups"][0].pop(k, None)
    sd["param_groups"][0]["lr"] = 0.05
    fresh = getattr(optim, name)([param([1.0, -2.0])], lr=0.1, foreach=True)
    fresh.load_state_dict(sd)
    group = fresh.param_groups[0]
    assert group["lr"] == 0.05 and group["foreach"] is True
    assert group.keys() == opt.param_groups[0].keys()


def test_adam_with_decoupled_weight_decay_is_adamw() -> None:
    def run(cls: type, **kw: Any) -> np.ndarray:
        w = param([1.0, -2.0, 0.5])
        opt = cls([w], lr=0.1, weight_decay=0.1, **kw)
        for _ in range(3):
            opt.zero_grad()
            (w * w).sum().backward()
            opt.step()
        return w.data
    np.testing.assert_array_equal(run(optim.Adam, decoupled_weight_decay=True), run(optim.AdamW))
    assert not np.array_equal(run(optim.Adam), run(optim.AdamW))


def test_lr_is_required_by_dpsgd_and_defaults_to_torchs_for_sgd() -> None:
    assert inspect.signature(optim.DPSGD).parameters["lr"].default is inspect.Parameter.empty
    with pytest.raises(TypeError):
        optim.DPSGD([param([1.0])])
    assert optim.SGD([param([1.0])]).defaults["lr"] == 1e-3  # (torch's default since 2.2)


def test_sgd_first_step_by_hand() -> None:
    # momentum buffer starts as the gradient; nesterov looks ahead by momentum * buffer
    p = param([1.0, 2.0])
    opt = optim.SGD([p], lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.5)
    p.grad = np.array([0.2, -0.4])
    opt.step()
    g = np.array([0.2, -0.4]) + 0.5 * np.array([1.0, 2.0])  # [0.7, 0.6]
    np.testing.assert_allclose(p.data, [1.0, 2.0] - 0.1 * (g + 0.9 * g), rtol=1e-15)
    np.testing.assert_allclose(opt.state[p]["momentum_buffer"], g, rtol=1e-15)


def test_adam_first_step_by_hand() -> None:
    # after bias correction the first Adam step is lr * g / (|g| + eps): a step of ~lr against the sign
    p = param([1.0, -1.0, 0.5])
    opt = optim.Adam([p], lr=0.01, eps=1e-8)
    p.grad = np.array([3.0, -0.2, 0.0])
    opt.step()
    np.testing.assert_allclose(p.data, [1.0 - 0.01 * 3 / (3 + 1e-8), -1.0 + 0.01 * 0.2 / (0.2 + 1e-8), 0.5])
    assert opt.state[p]["step"] == 1


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda p: optim.SGD(p, lr=-0.1), "learning rate"),
        (lambda p: optim.SGD(p, lr=0.1, momentum=-0.5), "momentum"),
        (lambda p: optim.SGD(p, lr=0.1, weight_decay=-1.0), "weight_decay"),
        (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "Nesterov"),
        (lambda p: optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "Nesterov"),
        (lambda p: optim.SGD([{"params": p, "lr": -1.0}], lr=0.1), "learning rate"),
        (lambda p: optim.Adam(p, lr=float("nan")), "learning rate"),
        (lambda p: optim.Adam(p, betas=(1.0, 0.999)), "beta parameter at index 0"),
        (lambda p: optim.Adam(p, betas=(0.9, -0.1)), "beta parameter at index 1"),
        (lambda p: optim.Adam(p, eps=-1e-8), "epsilon"),
        (lambda p: optim.AdamW(p, weight_decay=-0.1), "weight_decay"),
        (lambda p: optim.RMSprop(p, alpha=-0.5), "alpha"),
        (lambda p: optim.RMSprop(p, momentum=-0.5), "momentum"),
        (lambda p: optim.RMSprop(p, eps=-1.0), "epsilon"),
        (lambda p: optim.Adagrad(p, lr_decay=-0.1), "lr_decay"),
        (lambda p: optim.Adagrad(p, initial_accumulator_value=-1.0), "initial_accumulator_value"),
        (lambda p: optim.DPSGD(p, lr=0.1, max_grad_norm=0.0, noise_multiplier=1.0), "max_grad_norm"),
        (lambda p: optim.DPSGD(p, lr=0.1, max_grad_norm=1.0, noise_multiplier=-1.0), "noise_multiplier"),
    ],
)
def test_invalid_hyperparameters_raise(make: Callable[[list[Tensor]], Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make([param([1.0, 2.0])])


def test_invalid_params_raise() -> None:
    p = param([1.0])
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="single"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="Tensors"):
        optim.SGD([p, np.zeros(2)], lr=0.1)
    with pytest.raises(ValueError, match="more than once"):
        optim.SGD([p, p], lr=0.1)
    with pytest.raises(ValueError, match="more than once"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)


# ----------------------------------------------------------------------------- the Optimizer contract

ALL_OPTIMIZERS: dict[str, Callable[[Any], optim.Optimizer]] = {
    "SGD": lambda p: optim.SGD(p, lr=0.1),
    "SGD momentum": lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    "Adam": lambda p: optim.Adam(p, lr=0.1, amsgrad=True),
    "AdamW": lambda p: optim.AdamW(p, lr=0.1),
    "RMSprop": lambda p: optim.RMSprop(p, lr=0.1, momentum=0.5, centered=True),
    "Adagrad": lambda p: optim.Adagrad(p, lr=0.1),
    "DPSGD": lambda p: optim.DPSGD(p, lr=0.1, max_grad_norm=1.0, noise_multiplier=0.5, rng=0),
}


def _set_grads(p: Tensor, rng: np.random.Generator, batch: int = 4) -> None:
    p.grad_sample = rng.standard_normal((batch, *p.data.shape)).astype(p.data.dtype)
    p.grad = p.grad_sample.mean(axis=0)


@pytest.mark.parametrize("name", sorted(ALL_OPTIMIZERS))
def test_step_skips_params_without_grad_and_leaves_grads_alone(name: str) -> None:
    rng = np.random.default_rng(1)
    a, b = param([1.0, 2.0, 3.0]), param([[4.0, 5.0]])
    opt = ALL_OPTIMIZERS[name]([a, b])
    _set_grads(a, rng)
    grad, grad_sample = a.grad.copy(), a.grad_sample.copy()
    for step in range(3):
        if name == "DPSGD" and step:  # each sample may enter one noisy sum only (as Opacus)
            with pytest.raises(ValueError, match="already used by an earlier step"):
                opt.step()
        else:
            opt.step()
    if name != "DPSGD":  # (DP-SGD noises every trainable parameter: one without a gradient moves by noise)
        np.testing.assert_array_equal(b.data, [[4.0, 5.0]])
    assert not opt.state.get(b)
    assert not np.allclose(a.data, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(a.grad, grad)
    np.testing.assert_array_equal(a.grad_sample, grad_sample)


@pytest.mark.parametrize("name", sorted(ALL_OPTIMIZERS))
def test_step_calls_closure_and_returns_its_value(name: str) -> None:
    p = param([1.0, -1.0])
    opt = ALL_OPTIMIZERS[name]([p])
    calls = []

    def closure() -> float:
        calls.append(1)
        _set_grads(p, np.random.default_rng(2))
        return 3.5

    assert opt.step(closure) == 3.5
    assert calls == [1]
    assert not np.allclose(p.data, [1.0, -1.0])  # the gradients set by the closure were used
    if name == "DPSGD":  # a second DP step over the same per-sample gradients is refused: new ones
        p.zero_grad()
        _set_grads(p, np.random.default_rng(3))
    assert opt.step() is None


@pytest.mark.parametrize("name", sorted(ALL_OPTIMIZERS))
def test_zero_grad_clears_grad_and_grad_sample(name: str) -> None:
    a, b = param([1.0, 2.0]), param([3.0])
    opt = ALL_OPTIMIZERS[name]([{"params": [a]}, {"params": [b], "lr": 0.01}])
    rng = np.random.default_rng(3)
    _set_grads(a, rng)
    _set_grads(b, rng)
    opt.zero_grad()
    assert a.grad is None and a.grad_sample is None
    assert b.grad is None and b.grad_sample is None


FLOAT32_CASES = [
    "sgd", "sgd_nesterov", "adam_amsgrad_wd", "adamw", "rmsprop_centered_momentum_maximize", "adagrad"
]


@pytest.mark.parametrize("case", FLOAT32_CASES)
def test_float32_stays_float32_in_place(case: str) -> None:
    problem = make_problem(np.float32)
    params, opt = start_ours(case, problem)
    arrays = [p.data for p in params]
    assert all(a.dtype == np.float32 for a in arrays)
    advance(opt, params, problem, 0, N_STEPS)
    for p, a in zip(params, arrays):
        assert p.data is a  # updated in place, never replaced
        assert p.data.dtype == np.float32
        for name, buf in opt.state[p].items():
            if isinstance(buf, np.ndarray):
                assert buf.dtype == np.float32, name
    W64, b64 = run_ours(case, make_problem())
    np.testing.assert_allclose(params[0].data, W64, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(params[1].data, b64, rtol=1e-3, atol=1e-4)


def test_dpsgd_float32_stays_float32_in_place() -> None:
    p = param(np.ones((3, 2)), np.float32)
    a = p.data
    opt = optim.DPSGD([p], lr=0.1, max_grad_norm=1.0, noise_multiplier=1.0, rng=0)
    for _ in range(3):
        _set_grads(p, np.random.default_rng(4))
        opt.step()
    assert p.data is a and a.dtype == np.float32
    assert not np.allclose(a, 1.0)


def test_param_groups_have_their_own_hyperparameters() -> None:
    a, b = param([1.0, 1.0]), param([1.0, 1.0])
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.01}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01]
    assert [g["momentum"] for g in opt.param_groups] == [0.9, 0.9]
    a.grad, b.grad = np.ones(2), np.ones(2)
    opt.step()
    np.testing.assert_allclose(a.data, [0.9, 0.9])
    np.testing.assert_allclose(b.data, [0.99, 0.99])


def test_add_param_group() -> None:
    a, b = param([1.0]), param([2.0, 2.0])
    opt = optim.SGD([a], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": b, "lr": 0.5})
    assert len(opt.param_groups[1]["params"]) == 1 and opt.param_groups[1]["params"][0] is b
    assert opt.param_groups[1]["lr"] == 0.5 and opt.param_groups[1]["momentum"] == 0.9
    b.grad = np.array([1.0, -1.0])
    opt.step()
    np.testing.assert_allclose(b.data, [1.5, 2.5])
    with pytest.raises(ValueError, match="more than once"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(ValueError, match="Nesterov"):
        opt.add_param_group({"params": [param([0.0])], "nesterov": True, "dampening": 0.5})
    assert len(opt.param_groups) == 2


def test_a_new_optimizer_only_writes_step() -> None:
    class SignDescent(optim.Optimizer):
        def step(self, closure: Callable[[], Any] | None = None) -> Any:
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]
                    state["step"] = state.get("step", 0) + 1
                    p.data -= group["lr"] * np.sign(p.grad)
            return None

    a, b = param([1.0, -1.0]), param([0.0])
    opt = SignDescent([{"params": [a]}, {"params": [b], "lr": 0.5}], {"lr": 0.25})
    a.grad, b.grad = np.array([3.0, -0.1]), np.array([-2.0])
    opt.step()
    opt.step()
    np.testing.assert_allclose(a.data, [0.5, -0.5])
    np.testing.assert_allclose(b.data, [1.0])
    sd = opt.state_dict()
    assert sd["state"] == {0: {"step": 2}, 1: {"step": 2}}
    other = SignDescent([{"params": [param([1.0, -1.0])]}, {"params": [param([0.0])]}], {"lr": 0.25})
    other.load_state_dict(sd)
    assert other.param_groups[1]["lr"] == 0.5
    assert other.state_dict()["state"] == sd["state"]
    opt.zero_grad()
    assert a.grad is None and b.grad_sample is None


# ----------------------------------------------------------------------------- state_dict

ROUND_TRIP_CASES = [
    "sgd",
    "sgd_momentum",
    "sgd_nesterov",
    "sgd_groups",
    "adam_amsgrad_wd",
    "adam_groups",
    "adamw",
    "rmsprop_centered_momentum_maximize",
    "rmsprop_momentum_wd",
    "adagrad",
    "adagrad_maximize_groups",
]


@pytest.mark.parametrize("case", ROUND_TRIP_CASES)
def test_state_dict_round_trip_continues_exactly(case: str) -> None:
    problem = make_problem()
    full, opt = start_ours(case, problem)
    advance(opt, full, problem, 0, N_STEPS)

    first, opt1 = start_ours(case, problem)
    advance(opt1, first, problem, 0, 10)
    saved = opt1.state_dict()
    assert_plain(saved)

    # fresh parameters holding the weights reached so far, and a fresh optimizer whose lrs differ
    resumed, opt2 = start_ours(case, problem)
    for p, q in zip(resumed, first):
        p.data[...] = q.data
    for group in opt2.param_groups:
        group["lr"] *= 3.0
    opt2.load_state_dict(saved)
    assert [g["lr"] for g in opt2.param_groups] == [g["lr"] for g in opt1.param_groups]
    # the loaded arrays are copies: spoiling the saved dict afterwards changes nothing
    for buffers in saved["state"].values():
        for value in buffers.values():
            if isinstance(value, np.ndarray):
                value += 1.0
    advance(opt2, resumed, problem, 10, N_STEPS)
    for p, q in zip(resumed, full):
        np.testing.assert_array_equal(p.data, q.data)


def test_state_dict_layout_and_snapshot() -> None:
    W, b = param(np.ones((2, 3))), param(np.zeros(2))
    opt = optim.Adam([{"params": [W]}, {"params": [b], "lr": 0.5}], lr=0.1)
    W.grad = np.ones((2, 3))
    opt.step()
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1]]
    assert sd["param_groups"][1]["lr"] == 0.5 and sd["param_groups"][0]["betas"] == (0.9, 0.999)
    assert set(sd["state"]) == {0}  # b has had no step
    assert set(sd["state"][0]) == {"step", "exp_avg", "exp_avg_sq"}
    assert type(sd["state"][0]["step"]) is int and sd["state"][0]["step"] == 1
    assert_plain(sd)
    snapshot = sd["state"][0]["exp_avg"].copy()
    opt.step()
    np.testing.assert_array_equal(sd["state"][0]["exp_avg"], snapshot)  # later steps do not alter it


def test_state_dict_survives_a_checkpoint_file(tmp_path: Path) -> None:
    checkpoint = pytest.importorskip("tinygrad_lite.checkpoint")
    problem = make_problem()
    params, opt = start_ours("adam_amsgrad_wd", problem)
    advance(opt, params, problem, 0, 5)
    path = tmp_path / "optim.npz"
    checkpoint.save(opt.state_dict(), path)
    _, other = start_ours("adam_amsgrad_wd", problem)
    other.load_state_dict(checkpoint.load(path))
    assert_same(other.state_dict(), opt.state_dict())


def _two_group_adam() -> optim.Adam:
    W, b = param(np.ones((2, 3))), param(np.zeros(2))
    opt = optim.Adam([{"params": [W]}, {"params": [b], "lr": 0.5}], lr=0.1)
    for _ in range(3):
        W.grad, b.grad = np.full((2, 3), 0.5), np.array([1.0, -1.0])
        opt.step()
    return opt


def _spoil(how: str, sd: dict[str, Any]) -> dict[str, Any]:
    if how == "group count":
        sd["param_groups"] = sd["param_groups"][:1]
    elif how == "group size":
        sd["param_groups"][1]["params"] = [1, 2]
    elif how == "buffer shape":
        sd["state"][1]["exp_avg_sq"] = np.zeros(3)
    elif how == "unknown index":
        sd["state"][7] = {"step": 1}
    elif how == "bad hyper-parameter":
        sd["param_groups"][1]["betas"] = (0.9, 1.5)
    elif how == "not a state dict":
        del sd["param_groups"]
    elif how == "another optimizer's":
        sd = optim.SGD([param(np.ones((2, 3))), param(np.zeros(2))], lr=0.1, momentum=0.9).state_dict()
        sd["param_groups"].append({"params": [1], "lr": 0.1})
        sd["param_groups"][0]["params"] = [0]
    return sd


@pytest.mark.parametrize(
    ("how", "match"),
    [
        ("group count", "1 parameter group.*has 2"),
        ("group size", "parameter group 1 has 2 parameter"),
        ("buffer shape", "'exp_avg_sq' of parameter 1 has shape \\(3,\\).*\\(2,\\)"),
        ("unknown index", "parameter 7"),
        ("bad hyper-parameter", "beta parameter at index 1"),
        ("not a state dict", "param_groups"),
        ("another optimizer's", "group 0 of the loaded state_dict lacks amsgrad, betas, eps"),
    ],
)
def test_load_state_dict_failure_changes_nothing(how: str, match: str) -> None:
    opt = _two_group_adam()
    before = opt.state_dict()
    bad = _spoil(how, _two_group_adam().state_dict())
    if "param_groups" in bad:
        bad["param_groups"][0]["lr"] = 123.0  # would show if the groups were touched
    with pytest.raises(ValueError, match=match):
        opt.load_state_dict(bad)
    assert_same(opt.state_dict(), before)


# ----------------------------------------------------------------------------- DPSGD


def test_dpsgd_without_noise_and_clipping_is_sgd_on_the_mean() -> None:
    rng = np.random.default_rng(5)
    B = 5
    W0, b0 = rng.standard_normal((3, 4)), rng.standard_normal(3)
    dp_params, sgd_params = [param(W0), param(b0)], [param(W0), param(b0)]
    dp = optim.DPSGD([{"params": [dp_params[0]]}, {"params": [dp_params[1]], "lr": 0.05}],
                     lr=0.1, max_grad_norm=1e6, noise_multiplier=0.0)
    sgd = optim.SGD([{"params": [sgd_params[0]]}, {"params": [sgd_params[1]], "lr": 0.05}], lr=0.1)
    for _ in range(3):
        for p, q in zip(dp_params, sgd_params):
            p.grad_sample = rng.standard_normal((B, *p.data.shape))
            p.grad = p.grad_sample.mean(axis=0)
            q.grad = p.grad.copy()
        dp.step()
        sgd.step()
    for p, q in zip(dp_params, sgd_params):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-12, atol=1e-14)
    assert not np.allclose(dp_params[0].data, W0)
    assert dp.last_clipped_fraction == 0.0
    assert dp.last_batch_size == B


def test_dpsgd_clips_each_samples_whole_gradient() -> None:
    # sample 0 has norm 5 over both parameters together (3 in a, 4 in b): scaled by 1/5;
    # sample 1 has norm 0.5 <= 1: kept. Clipping a and b separately would give a different a.
    a, b = param([1.0]), param([1.0, -1.0])
    a.grad_sample = np.array([[3.0], [0.3]])
    b.grad_sample = np.array([[0.0, 4.0], [0.4, 0.0]])
    opt = optim.DPSGD([a, b], lr=0.5, max_grad_norm=1.0, noise_multiplier=0.0)
    opt.step()
    # mean of clipped: a (0.6 + 0.3) / 2 = 0.45; b ([0, 0.8] + [0.4, 0]) / 2 = [0.2, 0.4]
    np.testing.assert_allclose(a.data, [1.0 - 0.5 * 0.45], rtol=1e-14)
    np.testing.assert_allclose(b.data, [1.0 - 0.5 * 0.2, -1.0 - 0.5 * 0.4], rtol=1e-14)
    assert opt.last_clipped_fraction == 0.5
    assert opt.last_batch_size == 2


def test_dpsgd_clipping_divides_by_the_actual_batch_size_and_handles_zero_gradients() -> None:
    p = param([0.0, 0.0])
    p.grad_sample = np.array([[6.0, 8.0], [0.0, 2.0], [0.0, 0.0]])  # norms 10, 2, 0
    opt = optim.DPSGD([p], lr=1.0, max_grad_norm=1.0, noise_multiplier=0.0)
    opt.step()
    # clipped [0.6, 0.8], [0, 1], [0, 0]; sum [0.6, 1.8]; divided by B = 3
    np.testing.assert_allclose(p.data, [-0.2, -0.6], rtol=1e-14)
    assert opt.last_clipped_fraction == pytest.approx(2 / 3)
    assert opt.last_batch_size == 3


def test_dpsgd_noise_has_std_noise_multiplier_times_clip_over_batch() -> None:
    B, C, sigma, n = 4, 2.0, 1.5, 40_000
    p = param(np.zeros(n))
    p.grad_sample = np.zeros((B, n))
    opt = optim.DPSGD([p], lr=1.0, max_grad_norm=C, noise_multiplier=sigma, rng=12345)
    opt.step()
    expected = sigma * C / B  # 0.75; per-sample noise, no division, or no C would be off by 2x or more
    update = -p.data
    assert abs(update.std() / expected - 1) < 0.03  # about 8 standard errors
    assert abs(update.mean()) < 5 * expected / math.sqrt(n)
    within_one_std = np.mean(np.abs(update) < expected)
    assert abs(within_one_std - 0.6827) < 0.015  # Gaussian shape


def test_dpsgd_same_seed_same_result() -> None:
    def run(rng: Any) -> np.ndarray:
        p = param(np.zeros(10))
        opt = optim.DPSGD([p], lr=0.1, max_grad_norm=1.0, noise_multiplier=1.0, rng=rng)
        for _ in range(3):
            _set_grads(p, np.random.default_rng(6))
            opt.step()
        return p.data

    np.testing.assert_array_equal(run(7), run(7))
    np.testing.assert_array_equal(run(7), run(np.random.default_rng(7)))
    assert not np.allclose(run(7), run(8))
    assert not np.allclose(run(None), run(None))


def test_dpsgd_state_dict_resumes_the_noise() -> None:
    def start() -> tuple[Tensor, optim.DPSGD]:
        p = param(np.zeros(6))
        return p, optim.DPSGD([p], lr=0.1, max_grad_norm=1.0, noise_multiplier=1.0, rng=3)

    def advance_dp(p: Tensor, opt: optim.DPSGD, steps: range) -> None:
        for k in steps:
            _set_grads(p, np.random.default_rng(k))
            opt.step()

    p_full, full = start()
    advance_dp(p_full, full, range(6))
    p_half, half = start()
    advance_dp(p_half, half, range(3))
    saved = half.state_dict()
    assert_plain(saved)
    p_new = param(p_half.data.copy())
    resumed = optim.DPSGD([p_new], lr=0.1, max_grad_norm=1.0, noise_multiplier=1.0, rng=99)
    resumed.load_state_dict(saved)
    advance_dp(p_new, resumed, range(3, 6))
    np.testing.assert_array_equal(p_new.data, p_full.data)


def test_dpsgd_needs_grad_sample() -> None:
    p = param([1.0, 2.0])
    p.grad = np.ones(2)
    opt = optim.DPSGD([p], lr=0.1, max_grad_norm=1.0, noise_multiplier=0.0)
    with pytest.raises(RuntimeError, match=r"batched=True.*DataLoader"):
        opt.step()
    np.testing.assert_array_equal(p.data, [1.0, 2.0])


def test_dpsgd_rejects_mismatched_batch_sizes() -> None:
    a, b = param([1.0]), param([1.0, 2.0])
    a.grad_sample, b.grad_sample = np.ones((4, 1)), np.ones((3, 2))
    opt = optim.DPSGD([a, b], lr=0.1, max_grad_norm=1.0, noise_multiplier=0.0)
    with pytest.raises(RuntimeError, match="batch size: 4 and 3"):
        opt.step()
    np.testing.assert_array_equal(a.data, [1.0])


def test_dpsgd_groups_must_share_the_clipping_settings() -> None:
    a, b = param([1.0]), param([1.0])
    a.grad_sample, b.grad_sample = np.ones((2, 1)), np.ones((2, 1))
    opt = optim.DPSGD([{"params": [a]}, {"params": [b], "max_grad_norm": 2.0}],
                      lr=0.1, max_grad_norm=1.0, noise_multiplier=0.0)
    with pytest.raises(ValueError, match="share max_grad_norm"):
        opt.step()


# ----------------------------------------------------------------------------- learning-rate schedules


@pytest.mark.parametrize("case", sorted(SCHED_CASES))
def test_schedule_matches_recorded_reference(case: str, reference: dict[str, np.ndarray]) -> None:
    assert f"sched/{case}" in reference, f"no recorded result for {case}: {REGENERATE}"
    np.testing.assert_allclose(lr_sequence_ours(case), reference[f"sched/{case}"], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("case", sorted(SCHED_CASES))
def test_schedule_matches_torch_live(case: str) -> None:
    torch = torch_or_skip()
    np.testing.assert_allclose(lr_sequence_ours(case), lr_sequence_torch(torch, case), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("case", sorted(SCHED_CASES))
def test_schedule_follows_its_closed_form(case: str) -> None:
    name, kw = SCHED_CASES[case]
    epochs = np.arange(N_EPOCHS + 1)[:, None]
    base = np.array(SCHED_LRS)[None, :]
    if name == "StepLR":
        expected = base * kw.get("gamma", 0.1) ** (epochs // kw["step_size"])
    elif name == "ExponentialLR":
        expected = base * kw["gamma"] ** epochs
    else:
        low = kw.get("eta_min", 0.0)
        expected = low + (base - low) * (1 + np.cos(np.pi * epochs / kw["T_max"])) / 2
    np.testing.assert_allclose(lr_sequence_ours(case), expected, rtol=1e-9, atol=1e-12)


def test_scheduler_sets_initial_lr_and_round_trips() -> None:
    def start() -> tuple[optim.SGD, optim.CosineAnnealingLR]:
        opt = optim.SGD([{"params": [param([0.0])]}, {"params": [param([0.0])], "lr": 0.2}], lr=0.1)
        return opt, optim.CosineAnnealingLR(opt, T_max=5, eta_min=0.01)

    opt, sched = start()
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.2]
    assert sched.base_lrs == [0.1, 0.2] and sched.last_epoch == 0
    assert sched.get_last_lr() == [0.1, 0.2]
    for _ in range(4):
        sched.step()
    opt_sd, sched_sd = opt.state_dict(), sched.state_dict()
    assert_plain(sched_sd)
    for _ in range(9):
        sched.step()

    opt2, sched2 = start()
    opt2.load_state_dict(opt_sd)
    sched2.load_state_dict(sched_sd)
    assert sched2.last_epoch == 4
    for _ in range(9):
        sched2.step()
    assert sched2.get_last_lr() == sched.get_last_lr()
    assert [g["lr"] for g in opt2.param_groups] == [g["lr"] for g in opt.param_groups]
    with pytest.raises(ValueError, match="unknown"):
        sched2.load_state_dict({"bogus": 1})


def test_scheduler_argument_checks() -> None:
    opt = optim.SGD([param([0.0])], lr=0.1)
    with pytest.raises(TypeError, match="not an Optimizer"):
        optim.StepLR(object(), step_size=2)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="step_size"):
        optim.StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="T_max"):
        optim.CosineAnnealingLR(opt, T_max=0)


@pytest.mark.parametrize("make", [
    lambda L, opt: L.MultiStepLR(opt, milestones=[2, 5, 5], gamma=0.5),
    lambda L, opt: L.LambdaLR(opt, lambda e: 0.9 ** e + 0.1),
    lambda L, opt: L.LinearLR(opt, start_factor=0.25, total_iters=4),
    lambda L, opt: L.LinearLR(opt),
    lambda L, opt: L.ConstantLR(opt, factor=0.5, total_iters=3),
])
def test_more_schedulers_follow_torch_epoch_by_epoch(make: Any) -> None:
    torch = pytest.importorskip("torch")
    w = Tensor(np.ones(2), requires_grad=True)
    opt = optim.SGD([w], lr=0.2)
    sched = make(optim.lr_scheduler, opt)
    tw = torch.zeros(2, requires_grad=True)
    topt = torch.optim.SGD([tw], lr=0.2)
    tsched = make(torch.optim.lr_scheduler, topt)
    for _ in range(9):
        assert sched.get_last_lr()[0] == pytest.approx(tsched.get_last_lr()[0], rel=1e-12)
        assert opt.param_groups[0]["lr"] == pytest.approx(topt.param_groups[0]["lr"], rel=1e-12)
        opt.step()
        topt.step()
        sched.step()
        tsched.step()
    state = sched.state_dict()
    again = make(optim.lr_scheduler, optim.SGD([w], lr=0.2))
    again.load_state_dict(state)
    assert again.last_epoch == sched.last_epoch
