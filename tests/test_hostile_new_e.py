"""Hostile inputs: optimizer and scheduler states, parameter groups, modules nested in
themselves or thousands deep. Each must give a clear error that changes nothing, or work."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

import tinygrad_lite as tl
import tinygrad_lite.nn as nn

S = tl.optim.lr_scheduler


def _adam_after_one_step() -> tuple:
    p = tl.tensor([1.0, 2.0], requires_grad=True)
    opt = tl.optim.Adam([p], lr=0.1)
    p.grad = tl.tensor([1.0, 1.0])
    opt.step()
    return p, opt


# ------------------------------------------------------------------ optimizer 'step' count ---
@pytest.mark.parametrize("bad", [np.array([1.0, 2.0]), np.array([3, 4], dtype=np.int64), np.zeros((2,))])
def test_optimizer_step_count_as_an_array_of_the_parameter_shape_is_refused(bad: np.ndarray) -> None:
    p, opt = _adam_after_one_step()
    sd = copy.deepcopy(opt.state_dict())
    before = repr(opt.state_dict())
    sd["state"][0]["step"] = bad
    with pytest.raises(ValueError, match=r"'step' of parameter 0.*shape \(2,\)"):
        opt.load_state_dict(sd)
    assert repr(opt.state_dict()) == before
    data = p.numpy().copy()
    p.grad = tl.tensor([1.0, 1.0])
    opt.step()  # still steps from the kept state
    assert opt.state[p]["step"] == 2 and not np.array_equal(p.numpy(), data)


@pytest.mark.parametrize("good", [np.array(3.0), np.array([3.0]), np.array([3], dtype=np.int32)])
def test_optimizer_step_count_as_a_one_element_array_loads_as_torch(good: np.ndarray) -> None:
    torch = pytest.importorskip("torch")
    p, opt = _adam_after_one_step()
    sd = copy.deepcopy(opt.state_dict())
    sd["state"][0]["step"] = good
    opt.load_state_dict(sd)
    start = p.numpy().copy()
    p.grad = tl.tensor([1.0, 1.0])
    opt.step()
    tp = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    topt = torch.optim.Adam([tp], lr=0.1)
    tp.grad = torch.ones(2, dtype=torch.float64)
    topt.step()
    tsd = copy.deepcopy(topt.state_dict())
    tsd["state"][0]["step"] = torch.tensor(good.astype(np.float64))
    tsd["state"][0]["exp_avg"] = torch.from_numpy(sd["state"][0]["exp_avg"].copy())
    tsd["state"][0]["exp_avg_sq"] = torch.from_numpy(sd["state"][0]["exp_avg_sq"].copy())
    topt.load_state_dict(tsd)
    with torch.no_grad():
        tp.copy_(torch.from_numpy(start))  # where our first step left the parameter
    tp.grad = torch.ones(2, dtype=torch.float64)
    topt.step()
    assert opt.state[p]["step"] == 4
    np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-12, atol=0)


# ------------------------------------------------------------- parameter groups as sets ---
@pytest.mark.parametrize("kind", [set, frozenset])
def test_a_parameter_group_given_as_a_set_is_refused_as_torch(kind: type) -> None:
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="ordered"):  # torch refuses a set (a frozenset too, here)
        torch.optim.SGD([{"params": {torch.zeros(1, requires_grad=True)}}], lr=0.1)
    p = tl.tensor([1.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"add_param_group.*'params'.*" + kind.__name__):
        tl.optim.SGD([{"params": kind([p])}], lr=0.1)
    q = tl.tensor([2.0], requires_grad=True)
    opt = tl.optim.SGD([q], lr=0.1)
    with pytest.raises(TypeError, match="ordered collection"):
        opt.add_param_group({"params": kind([p])})
    assert len(opt.param_groups) == 1 and opt.param_groups[0]["params"] == [q]


def test_a_set_of_parameters_at_the_top_level_is_taken_as_torch() -> None:
    torch = pytest.importorskip("torch")
    torch.optim.SGD({torch.zeros(1, requires_grad=True)}, lr=0.1)  # torch takes it
    p = tl.tensor([1.0], requires_grad=True)
    opt = tl.optim.SGD({p}, lr=0.1)
    assert opt.param_groups[0]["params"] == [p]


# ------------------------------------------------------------- scheduler states ---------------
def _plateau() -> tuple:
    p = tl.tensor([1.0], requires_grad=True)
    opt = tl.optim.SGD([p], lr=0.1)
    sched = S.ReduceLROnPlateau(opt, patience=0)
    sched.step(1.0)
    return opt, sched


@pytest.mark.parametrize("key,value,err", [
    ("factor", 2.0, ValueError), ("factor", 1.0, ValueError), ("factor", -0.5, ValueError),
    ("factor", float("nan"), ValueError), ("num_bad_epochs", -1, ValueError), ("num_bad_epochs", 1.5, TypeError),
    ("cooldown_counter", 1.5, TypeError), ("cooldown_counter", -2, ValueError), ("patience", -1, ValueError),
    ("cooldown", True, TypeError),
])
def test_plateau_load_state_dict_refuses_bad_counts_and_factor(key: str, value: Any, err: type) -> None:
    opt, sched = _plateau()
    sd = sched.state_dict()
    before = repr(sched.state_dict())
    sd[key] = value
    with pytest.raises(err, match=key):
        sched.load_state_dict(sd)
    assert repr(sched.state_dict()) == before
    sched.step(2.0)  # worse: the kept factor 0.1 applies
    assert opt.param_groups[0]["lr"] == pytest.approx(0.01, rel=1e-12)


def test_plateau_state_round_trip_still_loads() -> None:
    opt, sched = _plateau()
    sd = sched.state_dict()
    sd["factor"] = 0.5
    sd["num_bad_epochs"] = 0
    sched.load_state_dict(sd)
    sched.step(2.0)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.05, rel=1e-12)


def test_constant_lr_load_refuses_a_factor_outside_0_1() -> None:
    opt = tl.optim.SGD([tl.tensor([1.0], requires_grad=True)], lr=0.1)
    sched = S.ConstantLR(opt, factor=0.5, total_iters=3)
    sd = sched.state_dict()
    for bad in (0.0, 1.5):
        with pytest.raises(ValueError, match="factor"):
            sched.load_state_dict({**sd, "factor": bad})
    assert sched.factor == 0.5
    sched.load_state_dict({**sd, "factor": 1.0})  # the top of (0, 1] is allowed, as at creation
    assert sched.factor == 1.0


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_one_cycle_load_refuses_a_total_steps_below_one(bad: Any) -> None:
    opt = tl.optim.SGD([tl.tensor([1.0], requires_grad=True)], lr=0.1, momentum=0.9)
    sched = S.OneCycleLR(opt, 1.0, total_steps=10)
    sd = sched.state_dict()
    with pytest.raises((TypeError, ValueError), match="total_steps"):
        sched.load_state_dict({**sd, "total_steps": bad})
    assert sched.total_steps == 10


def test_cyclic_load_refuses_an_unknown_mode_but_not_with_a_custom_scale() -> None:
    opt = tl.optim.SGD([tl.tensor([1.0], requires_grad=True)], lr=0.1, momentum=0.9)
    sched = S.CyclicLR(opt, 0.01, 0.1, step_size_up=4)
    sd = sched.state_dict()
    with pytest.raises(ValueError, match="mode"):
        sched.load_state_dict({**sd, "mode": "weird"})
    assert sched.mode == "triangular"
    sched.load_state_dict({**sd, "mode": "triangular2"})
    assert sched.mode == "triangular2"
    opt2 = tl.optim.SGD([tl.tensor([1.0], requires_grad=True)], lr=0.1, momentum=0.9)
    custom = S.CyclicLR(opt2, 0.01, 0.1, step_size_up=4, scale_fn=lambda x: 1.0, mode="anything")
    custom.load_state_dict(custom.state_dict())  # with a scale_fn the mode is not used


# ------------------------------------------------------------- modules inside themselves ---
def test_a_module_holding_itself_prints() -> None:
    m = nn.Module()
    m.me = m
    m.lin = nn.Linear(1, 2)
    text = repr(m)
    assert "(me): Module(<itself>)" in text and "Linear(in_features=1, out_features=2" in text
    s = nn.Sequential(nn.Linear(1, 1))
    s.append(s)
    assert "(1): Sequential(<itself>)" in repr(s)
    lst = nn.ModuleList([nn.ReLU()])
    lst.append(lst)
    assert "ModuleList(<itself>)" in repr(lst)


def _deep(n: int) -> nn.Module:
    cur: nn.Module = nn.Sequential(nn.Linear(1, 1))
    for _ in range(n):
        cur = nn.Sequential(cur)
    return cur


def test_a_sequential_nested_5000_deep_refuses_forward_and_repr_clearly() -> None:
    m = _deep(5000)
    # a RecursionError, as torch raises, whose message says what happened
    with pytest.raises(RecursionError, match="Sequential: forward went past Python's recursion limit"):
        m(tl.ones(1, 1))
    with pytest.raises(RecursionError, match="repr of Sequential: modules nested too deeply"):
        repr(m)
    # the model is still usable afterwards
    assert len(list(m.parameters())) == 2 and len(m.state_dict()) == 2
    small = _deep(3)
    assert small(tl.ones(1, 1)).shape == (1, 1)


def test_apply_walks_a_sequential_nested_5000_deep() -> None:
    m = _deep(5000)
    seen: list = []
    m.apply(lambda mod: seen.append(type(mod).__name__))
    assert seen[0] == "Linear" and len(seen) == 5002 and seen[1:] == ["Sequential"] * 5001


def test_apply_order_matches_torch_with_shared_and_self_holding_modules() -> None:
    torch = pytest.importorskip("torch")

    def build(lib: Any) -> Any:
        shared = lib.Linear(1, 1)
        inner = lib.Sequential(shared, lib.ReLU())
        return lib.Sequential(inner, shared, lib.Sequential(lib.Tanh(), inner))

    ours: list = []
    build(nn).apply(lambda mod: ours.append(type(mod).__name__))
    theirs: list = []
    build(torch.nn).apply(lambda mod: theirs.append(type(mod).__name__))
    assert ours == theirs
    m = nn.Sequential(nn.Linear(1, 1))
    m.append(m)
    seen: list = []
    m.apply(lambda mod: seen.append(type(mod).__name__))
    assert seen == ["Linear", "Sequential"]


# ------------------------------------------------------------- integer buffers in state dicts ---
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_a_non_finite_float_into_an_integer_buffer_is_refused_and_changes_nothing(bad: float) -> None:
    bn = nn.BatchNorm1d(2)
    bn(tl.randn(4, 2))
    sd = bn.state_dict()
    before = {k: np.array(v, copy=True) for k, v in sd.items()}
    new = {k: np.array(v, copy=True) for k, v in sd.items()}
    new["running_mean"] = np.array([5.0, 6.0])
    new["num_batches_tracked"] = np.array(bad)
    with pytest.raises(ValueError, match=r"load_state_dict: 'num_batches_tracked'.*int64.*shape \(\)"):
        bn.load_state_dict(new)
    for k, v in bn.state_dict().items():
        np.testing.assert_array_equal(np.asarray(v), before[k])


def test_a_finite_float_into_an_integer_buffer_truncates_as_torch() -> None:
    torch = pytest.importorskip("torch")
    tbn = torch.nn.BatchNorm1d(2)
    tsd = tbn.state_dict()
    tsd["num_batches_tracked"] = torch.tensor(2.7, dtype=torch.float64)
    tbn.load_state_dict(tsd)
    bn = nn.BatchNorm1d(2)
    sd = bn.state_dict()
    bn.load_state_dict({**sd, "num_batches_tracked": np.array(2.7)})
    assert int(np.asarray(bn.state_dict()["num_batches_tracked"])) == int(tbn.num_batches_tracked) == 2
