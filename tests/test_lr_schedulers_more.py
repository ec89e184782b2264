"""Tests of the learning-rate schedules ReduceLROnPlateau, OneCycleLR, CyclicLR,
CosineAnnealingWarmRestarts, PolynomialLR, MultiplicativeLR, SequentialLR and
ChainedScheduler.

Each schedule runs on the same optimizer here and in torch (three parameter groups with
different lrs; SGD with momentum and Adam where the momentum is cycled) through all its
phases, and every epoch the lrs, momenta / betas and epoch counts must agree. The
state_dict round trips and the argument checks run without torch too.
"""

from __future__ import annotations

import copy
import math
import warnings
from typing import Any, Callable

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import Tensor, optim
from tinygrad_lite.optim import lr_scheduler

LRS = (0.1, 0.03, 0.007)


def torch_or_skip() -> Any:
    """The torch module, or skip the calling test when it cannot be imported."""
    try:
        import torch
    except ImportError as exc:
        pytest.skip(f"torch is not importable: {exc}")
    return torch


def make_optimizer(kind: str, torch: Any = None) -> Any:
    """The same optimizer here (torch=None) or in torch: three groups with different lrs."""
    if torch is None:
        mod, new = optim, lambda: Tensor(np.zeros(2), requires_grad=True)
    else:
        mod, new = torch.optim, lambda: torch.zeros(2, dtype=torch.float64, requires_grad=True)
    groups: list = [{"params": [new()], "lr": lr} for lr in LRS]
    if kind == "sgd":
        groups[1]["momentum"] = 0.5
        return mod.SGD(groups, lr=1.0, momentum=0.9)
    if kind == "adam":
        groups[2]["betas"] = (0.8, 0.99)
        return mod.Adam(groups, lr=1.0)
    if kind == "adagrad":
        return mod.Adagrad(groups, lr=1.0)
    return mod.SGD(groups, lr=1.0)


def snapshot(sched: Any, opt: Any) -> list:
    """Everything a schedule sets: get_last_lr(), the groups' lrs, momenta, betas, the epoch."""
    row = [float(v) for v in sched.get_last_lr()]
    for g in opt.param_groups:
        row.append(float(g["lr"]))
        row += [float(g["momentum"])] if "momentum" in g else []
        row += [float(b) for b in g["betas"]] if "betas" in g else []
    return row + [float(getattr(sched, "last_epoch", -99))]


PLATEAU_METRICS = [5.0, 4.0, 3.9, 3.95, 3.9, 3.899, 4.0, 3.5, 3.5, 3.5, 3.5, 3.5, 3.0, 3.1, 3.2, 2.0, 2.0, 2.0,
                   2.0, 2.0, 2.0, 2.0, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
FRACTIONAL = [e + b / 4 for e in range(14) for b in range(4)] + [1.5, 0.25, 7.0, None, None, 30.5, None]


def drive_steps(n: int) -> Callable:
    def drive(sched: Any, k: int) -> None:
        sched.step()
    drive.n = n  # type: ignore[attr-defined]
    return drive


def drive_metrics(values: list) -> Callable:
    def drive(sched: Any, k: int) -> None:
        sched.step(values[k])
    drive.n = len(values)  # type: ignore[attr-defined]
    return drive


def drive_epochs(epochs: list) -> Callable:
    def drive(sched: Any, k: int) -> None:
        sched.step(epochs[k])
    drive.n = len(epochs)  # type: ignore[attr-defined]
    return drive


# name -> (optimizer kind, make(scheduler module, optimizer), driver)
CASES: dict = {
    "plateau_min_rel": ("sgd", lambda L, o: L.ReduceLROnPlateau(o, patience=2, factor=0.5, cooldown=1, threshold=0.01,
                                                                min_lr=[0.02, 0.001, 0.0]),
                        drive_metrics(PLATEAU_METRICS)),
    "plateau_max_abs": ("adam", lambda L, o: L.ReduceLROnPlateau(o, mode="max", threshold_mode="abs", threshold=0.1,
                                                                 patience=0, min_lr=0.005, eps=1e-3),
                        drive_metrics([-m for m in PLATEAU_METRICS])),
    "plateau_min_abs": ("plain", lambda L, o: L.ReduceLROnPlateau(o, threshold_mode="abs", threshold=0.05, patience=1,
                                                                  cooldown=3), drive_metrics(PLATEAU_METRICS)),
    "plateau_max_rel": ("plain", lambda L, o: L.ReduceLROnPlateau(o, mode="max", patience=3, factor=0.3),
                        drive_metrics([math.sin(k / 3.0) for k in range(40)])),
    "plateau_defaults_until_eps": ("plain", lambda L, o: L.ReduceLROnPlateau(o), drive_metrics([1.0] * 100)),
    "onecycle_cos_sgd": ("sgd", lambda L, o: L.OneCycleLR(o, max_lr=[1.0, 0.5, 0.2], total_steps=20), drive_steps(20)),
    "onecycle_linear_three_phase_adam": (
        "adam", lambda L, o: L.OneCycleLR(o, max_lr=0.4, epochs=4, steps_per_epoch=5, pct_start=0.25,
                                          anneal_strategy="linear", three_phase=True, div_factor=10.0,
                                          final_div_factor=100.0, base_momentum=[0.8, 0.7, 0.75], max_momentum=0.95),
        drive_steps(20)),
    "onecycle_cos_three_phase_sgd": ("sgd", lambda L, o: L.OneCycleLR(o, max_lr=[0.3, 0.2, 0.1], total_steps=31,
                                                                      pct_start=0.4, three_phase=True),
                                     drive_steps(31)),
    "onecycle_no_momentum": ("adagrad", lambda L, o: L.OneCycleLR(o, max_lr=0.5, total_steps=15, cycle_momentum=False,
                                                                  pct_start=0.5), drive_steps(15)),
    "onecycle_pct_start_zero": ("plain", lambda L, o: L.OneCycleLR(o, max_lr=0.5, total_steps=9, pct_start=0.0),
                                drive_steps(9)),
    "cyclic_triangular_sgd": ("sgd", lambda L, o: L.CyclicLR(o, base_lr=[0.01, 0.02, 0.005], max_lr=0.1, step_size_up=4,
                                                             step_size_down=6), drive_steps(35)),
    "cyclic_triangular2_adam": ("adam", lambda L, o: L.CyclicLR(o, base_lr=0.001, max_lr=[0.1, 0.05, 0.2],
                                                                step_size_up=3, mode="triangular2", base_momentum=0.85,
                                                                max_momentum=[0.95, 0.9, 0.99]), drive_steps(30)),
    "cyclic_exp_range": ("plain", lambda L, o: L.CyclicLR(o, base_lr=0.01, max_lr=0.2, step_size_up=5, mode="exp_range",
                                                          gamma=0.97, cycle_momentum=False), drive_steps(40)),
    "cyclic_scale_fn_cycle": ("sgd", lambda L, o: L.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=2,
                                                             step_size_down=3, scale_fn=lambda x: 1.0 / x),
                              drive_steps(25)),
    "cyclic_scale_fn_iterations": ("sgd", lambda L, o: L.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=3,
                                                                  scale_fn=lambda x: 0.9**x, scale_mode="iterations"),
                                   drive_steps(25)),
    "warm_restarts_mult2": ("plain", lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.001),
                            drive_steps(50)),
    "warm_restarts_mult1": ("sgd", lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=5), drive_steps(23)),
    "warm_restarts_fractional_mult2": ("plain", lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=2,
                                                                                           eta_min=0.002),
                                       drive_epochs(FRACTIONAL)),
    "warm_restarts_fractional_mult1": ("plain", lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=3),
                                       drive_epochs(FRACTIONAL)),
    "polynomial": ("plain", lambda L, o: L.PolynomialLR(o, total_iters=6, power=2.0), drive_steps(10)),
    "polynomial_defaults": ("sgd", lambda L, o: L.PolynomialLR(o), drive_steps(8)),
    "polynomial_root": ("plain", lambda L, o: L.PolynomialLR(o, total_iters=4, power=0.5), drive_steps(7)),
    "multiplicative": ("plain", lambda L, o: L.MultiplicativeLR(o, [lambda e: 0.9, lambda e: 0.95**e,
                                                                    lambda e: 1.0 if e % 2 else 0.8]), drive_steps(12)),
    "multiplicative_one_function": ("sgd", lambda L, o: L.MultiplicativeLR(o, lambda e: 1.0 / (1 + e)), drive_steps(8)),
    "sequential_warmup_cosine": ("sgd", lambda L, o: L.SequentialLR(o, [L.LinearLR(o, start_factor=0.1, total_iters=4),
                                                                        L.CosineAnnealingLR(o, T_max=8, eta_min=1e-3)],
                                                                    milestones=[4]), drive_steps(20)),
    "sequential_three": ("plain", lambda L, o: L.SequentialLR(o, [L.ConstantLR(o, factor=0.5, total_iters=2),
                                                                  L.ExponentialLR(o, gamma=0.9),
                                                                  L.StepLR(o, step_size=2, gamma=0.5)],
                                                              milestones=[3, 7]), drive_steps(15)),
    "sequential_new_parts": ("plain", lambda L, o: L.SequentialLR(o, [L.PolynomialLR(o, total_iters=4),
                                                                      L.MultiplicativeLR(o, lambda e: 0.8),
                                                                      L.CosineAnnealingWarmRestarts(o, T_0=3)],
                                                                  milestones=[5, 9]), drive_steps(20)),
    "sequential_multistep_lambda": ("plain", lambda L, o: L.SequentialLR(o, [L.LambdaLR(o, lambda e: 0.5 + 0.1 * e),
                                                                             L.MultiStepLR(o, [0, 2, 5], gamma=0.5)],
                                                                         milestones=[3]), drive_steps(12)),
    "sequential_cyclic_sgd": ("sgd", lambda L, o: L.SequentialLR(o, [L.ConstantLR(o, factor=0.2, total_iters=3),
                                                                     L.CyclicLR(o, base_lr=0.01, max_lr=0.1,
                                                                                step_size_up=2)],
                                                                 milestones=[4]), drive_steps(14)),
    "chained_constant_exponential": ("plain", lambda L, o: L.ChainedScheduler([L.ConstantLR(o, factor=0.1,
                                                                                            total_iters=5),
                                                                               L.ExponentialLR(o, gamma=0.9)]),
                                     drive_steps(12)),
    "chained_new_parts": ("sgd", lambda L, o: L.ChainedScheduler([L.LinearLR(o, start_factor=0.5, total_iters=3),
                                                                  L.MultiplicativeLR(o, lambda e: 0.97),
                                                                  L.PolynomialLR(o, total_iters=8, power=1.5)],
                                                                 optimizer=o), drive_steps(12)),
}


def trace(case: str, torch: Any = None) -> np.ndarray:
    """A snapshot at creation and after every step: here (torch=None) or in torch."""
    kind, make, drive = CASES[case]
    opt = make_optimizer(kind, torch)
    module = lr_scheduler if torch is None else torch.optim.lr_scheduler
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's notes on step(epoch)
        sched = make(module, opt)
        rows = [snapshot(sched, opt)]
        for k in range(drive.n):
            opt.step()
            drive(sched, k)
            rows.append(snapshot(sched, opt))
    return np.array(rows)


@pytest.mark.parametrize("case", sorted(CASES))
def test_schedule_follows_torch_epoch_by_epoch(case: str) -> None:
    torch = torch_or_skip()
    ours, theirs = trace(case), trace(case, torch)
    assert ours.shape == theirs.shape
    for k, (a, b) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15, err_msg=f"{case}: step {k}")


@pytest.mark.parametrize("case", sorted(CASES))
def test_schedule_changes_the_lrs(case: str) -> None:
    """Every case moves the lrs of every group (a schedule that does nothing passes nothing)."""
    rows = trace(case)
    lr_columns = rows[:, : len(LRS)]
    assert all(len(np.unique(lr_columns[:, j])) > 1 for j in range(len(LRS))), case


def assert_plain(obj: Any, where: str = "state_dict") -> None:
    """obj holds only Python numbers, strings, bools, None, lists, tuples and dicts."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            assert isinstance(k, str), f"{where}: key {k!r}"
            assert_plain(v, f"{where}[{k!r}]")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            assert_plain(v, f"{where}[{i}]")
    else:
        assert obj is None or type(obj) in (bool, int, float, str), f"{where}: {type(obj).__name__}"


@pytest.mark.parametrize("at", ["start", "mid-run"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_state_dict_round_trip_continues_identically(case: str, at: str, tmp_path: Any) -> None:
    """Saved at creation or mid-run, loaded from memory and from a checkpoint file."""
    kind, make, drive = CASES[case]
    opt = make_optimizer(kind)
    sched = make(lr_scheduler, opt)
    half = 0 if at == "start" else drive.n // 2
    for k in range(half):
        opt.step()
        drive(sched, k)
    saved_opt, saved = copy.deepcopy(opt.state_dict()), sched.state_dict()
    assert_plain(saved)
    frozen = copy.deepcopy(saved)
    rest = []
    for k in range(half, drive.n):
        opt.step()
        drive(sched, k)
        rest.append(snapshot(sched, opt))
    assert sched.state_dict() != frozen or case.startswith("plateau")
    assert saved == frozen  # the saved state is a snapshot

    path = tmp_path / "sched.npz"
    tl.save({"optimizer": saved_opt, "scheduler": saved}, path)
    from_file = tl.load(path)
    for opt_state, sched_state in ((saved_opt, saved), (from_file["optimizer"], from_file["scheduler"])):
        opt2 = make_optimizer(kind)
        sched2 = make(lr_scheduler, opt2)
        opt2.load_state_dict(opt_state)
        sched2.load_state_dict(sched_state)
        again = []
        for k in range(half, drive.n):
            opt2.step()
            drive(sched2, k)
            again.append(snapshot(sched2, opt2))
        assert again == rest


def test_everything_is_exported_at_both_paths() -> None:
    names = ["ReduceLROnPlateau", "OneCycleLR", "CyclicLR", "CosineAnnealingWarmRestarts", "PolynomialLR",
             "MultiplicativeLR", "SequentialLR", "ChainedScheduler", "StepLR", "LambdaLR", "LRScheduler"]
    for name in names:
        assert getattr(optim, name) is getattr(lr_scheduler, name), name
        assert name in optim.__all__ and name in lr_scheduler.__all__, name
        assert issubclass(getattr(optim, name), optim.LRScheduler), name


def test_reduce_on_plateau_by_hand() -> None:
    opt = make_optimizer("plain")
    s = optim.ReduceLROnPlateau(opt, patience=1, factor=0.5, cooldown=1, min_lr=[0.0, 0.02, 0.0])
    got = []
    for m in [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5]:
        s.step(m)
        got.append(s.get_last_lr())
    # bad epochs: 0, 1, 2 -> cut; cooldown; 1, 2 -> cut; improvement
    assert got[2] == pytest.approx([0.05, 0.02, 0.0035]) and got[3] == got[2]
    assert got[5] == pytest.approx([0.025, 0.02, 0.00175]) and got[6] == got[5]
    assert s.best == 0.5 and s.num_bad_epochs == 0 and s.last_epoch == 7


def test_one_cycle_phases_by_hand() -> None:
    opt = make_optimizer("sgd")
    s = optim.OneCycleLR(opt, max_lr=1.0, total_steps=10, pct_start=0.3, anneal_strategy="linear")
    lrs, momenta = [s.get_last_lr()[0]], [opt.param_groups[0]["momentum"]]
    for _ in range(10):
        opt.step()
        s.step()
        lrs.append(s.get_last_lr()[0])
        momenta.append(opt.param_groups[0]["momentum"])
    # up from max_lr / 25 to the peak at step pct_start * 10 - 1, then down to it / 1e4 at step 9
    assert lrs[0] == pytest.approx(0.04) and lrs[2] == pytest.approx(1.0)
    assert lrs[1] == pytest.approx(0.52) and lrs[9] == pytest.approx(0.04 / 1e4, abs=1e-15)
    assert momenta[0] == 0.95 and momenta[2] == pytest.approx(0.85) and momenta[9] == pytest.approx(0.95)
    with pytest.raises(ValueError, match="total_steps"):
        s.step()
    assert s.last_epoch == 10  # a refused step keeps the epoch


def test_warm_restarts_closed_form() -> None:
    opt = make_optimizer("plain")
    s = optim.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=3, eta_min=0.0)
    for epoch in [0.0, 1.0, 2.0, 5.5, 7.9, 8.0, 26.0, 30.25]:
        s.step(epoch)
        start, period = 0, 2
        while epoch >= start + period:
            start, period = start + period, period * 3
        expected = [lr * (1 + math.cos(math.pi * (epoch - start) / period)) / 2 for lr in LRS]
        np.testing.assert_allclose(s.get_last_lr(), expected, rtol=1e-12, atol=1e-15)
        assert s.last_epoch == math.floor(epoch)


def test_cyclic_lr_starts_at_base_lr_and_peaks_at_max_lr() -> None:
    opt = make_optimizer("adam")
    s = optim.CyclicLR(opt, base_lr=0.01, max_lr=[0.1, 0.2, 0.3], step_size_up=2)
    assert s.get_last_lr() == [0.01, 0.01, 0.01] and opt.param_groups[0]["betas"] == (0.9, 0.999)
    s.step()
    s.step()
    assert s.get_last_lr() == pytest.approx([0.1, 0.2, 0.3])
    assert [g["betas"][0] for g in opt.param_groups] == pytest.approx([0.8] * 3)
    assert opt.param_groups[2]["betas"][1] == 0.99  # beta2 is left alone


def test_milestone_zero_decays_on_creation() -> None:
    opt = make_optimizer("plain")
    optim.MultiStepLR(opt, milestones=[0, 2], gamma=0.5)
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([lr / 2 for lr in LRS])


def test_resuming_with_last_epoch() -> None:
    opt = make_optimizer("plain")
    with pytest.raises(KeyError, match="initial_lr"):
        optim.PolynomialLR(opt, total_iters=4, last_epoch=2)
    with pytest.raises(ValueError, match="initial_lr"):
        optim.MultiplicativeLR(opt, lambda e: 0.5, last_epoch=2)
    for g in opt.param_groups:
        g["initial_lr"] = g["lr"]
    s = optim.PolynomialLR(opt, total_iters=4, last_epoch=2)
    assert s.last_epoch == 3 and s.get_last_lr() == list(LRS)
    s.step()
    assert s.get_last_lr() == [0.0, 0.0, 0.0]


# (make, exception, words the message must hold, torch raises the same exception type)
BAD: list = [
    (lambda L, o: L.ReduceLROnPlateau(o, factor=1.0), ValueError, "factor", True),
    (lambda L, o: L.ReduceLROnPlateau(o, mode="median"), ValueError, "mode", True),
    (lambda L, o: L.ReduceLROnPlateau(o, threshold_mode="pct"), ValueError, "threshold_mode", True),
    (lambda L, o: L.ReduceLROnPlateau(o, min_lr=[0.1, 0.2]), ValueError, "min_lr", True),
    (lambda L, o: L.ReduceLROnPlateau(object()), TypeError, "Optimizer", True),
    (lambda L, o: L.ReduceLROnPlateau(o, patience=-1), ValueError, "patience", False),
    (lambda L, o: L.ReduceLROnPlateau(o, cooldown=1.5), ValueError, "cooldown", False),
    (lambda L, o: L.ReduceLROnPlateau(o, eps="x"), TypeError, "eps", False),
    (lambda L, o: L.OneCycleLR(o, max_lr=1.0), ValueError, "total_steps", True),
    (lambda L, o: L.OneCycleLR(o, max_lr=1.0, total_steps=0), ValueError, "total_steps", True),
    (lambda L, o: L.OneCycleLR(o, max_lr=1.0, total_steps=2.5), ValueError, "total_steps", True),
    (lambda L, o: L.OneCycleLR(o, max_lr=1.0, epochs=0, steps_per_epoch=3), ValueError, "epochs", True),
    (lambda L, o: L.OneCycleLR(o, max_lr=1.0, epochs=2, steps_per_epoch=-3), ValueError, "steps_per_epoch", True),
    (lambda L, o: L.OneCycleLR(o, max_lr=1.0, total_steps=10, pct_start=1.5), ValueError, "pct_start", True),
    (lambda L, o: L.OneCycleLR(o, max_lr=1.0, total_steps=10, pct_start=1), ValueError, "pct_start", True),
    (lambda L, o: L.OneCycleLR(o, max_lr=1.0, total_steps=10, anneal_strategy="exp"), ValueError, "anneal_strategy",
     True),
    (lambda L, o: L.OneCycleLR(o, max_lr=[1.0, 2.0], total_steps=10), ValueError, "max_lr", True),
    (lambda L, o: L.OneCycleLR(o, max_lr=-1.0, total_steps=10), ValueError, "max_lr", False),
    (lambda L, o: L.OneCycleLR(o, max_lr=1.0, total_steps=10, div_factor=0), ValueError, "div_factor", False),
    (lambda L, o: L.OneCycleLR(o, max_lr=1.0, total_steps=10, pct_start=0.1), ValueError, "pct_start", False),
    (lambda L, o: L.CyclicLR(o, base_lr=0.1, max_lr=1.0, mode="sawtooth"), ValueError, "mode", True),
    (lambda L, o: L.CyclicLR(o, base_lr=[0.1], max_lr=1.0), ValueError, "base_lr", True),
    (lambda L, o: L.CyclicLR(o, base_lr=0.1, max_lr=[1.0] * 4), ValueError, "max_lr", True),
    (lambda L, o: L.CyclicLR(None, base_lr=0.1, max_lr=1.0), TypeError, "Optimizer", True),
    (lambda L, o: L.CyclicLR(o, base_lr=0.1, max_lr=1.0, step_size_up=0), ValueError, "step_size_up", False),
    (lambda L, o: L.CyclicLR(o, base_lr=0.1, max_lr=1.0, scale_mode="epochs"), ValueError, "scale_mode", False),
    (lambda L, o: L.CyclicLR(o, base_lr=0.1, max_lr=1.0, scale_fn=3), TypeError, "scale_fn", False),
    (lambda L, o: L.CyclicLR(o, base_lr=0.1, max_lr=1.0, max_momentum=1.5), ValueError, "max_momentum", False),
    (lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=0), ValueError, "T_0", True),
    (lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=2.5), ValueError, "T_0", True),
    (lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0), ValueError, "T_mult", True),
    (lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=1.5), ValueError, "T_mult", True),
    (lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=2, eta_min="0"), ValueError, "eta_min", True),
    (lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=2, last_epoch=-2), ValueError, "last_epoch", False),
    (lambda L, o: L.PolynomialLR(o, total_iters=0), ValueError, "total_iters", False),
    (lambda L, o: L.PolynomialLR(o, power=-1.0), ValueError, "power", False),
    (lambda L, o: L.MultiplicativeLR(o, [lambda e: 1.0]), TypeError, "lr_lambda", False),
    (lambda L, o: L.MultiplicativeLR(o, 0.9), TypeError, "lr_lambda", True),
    (lambda L, o: L.SequentialLR(o, [], milestones=[]), ValueError, "at least one", True),
    (lambda L, o: L.SequentialLR(o, [L.StepLR(o, 2), L.StepLR(o, 3)], milestones=[]), ValueError, "milestones", True),
    (lambda L, o: L.SequentialLR(o, [L.StepLR(o, 2), L.ReduceLROnPlateau(o)], milestones=[2]), ValueError,
     "ReduceLROnPlateau", True),
    (lambda L, o: L.SequentialLR(o, [L.StepLR(o, 2), 3], milestones=[2]), TypeError, "index 1", True),
    (lambda L, o: L.SequentialLR(o, [L.StepLR(o, 2), L.StepLR(o, 3), L.StepLR(o, 4)], milestones=[5, 2]), ValueError,
     "increasing", False),
    (lambda L, o: L.ChainedScheduler([]), ValueError, "at least one", True),
    (lambda L, o: L.ChainedScheduler([L.StepLR(o, 2), L.ReduceLROnPlateau(o)]), ValueError, "ReduceLROnPlateau", True),
]


def _other_optimizer_case(L: Any, o: Any) -> Any:
    other = type(o)([p for g in o.param_groups for p in g["params"]][:1], lr=0.5)
    return L.ChainedScheduler([L.StepLR(o, 2), L.StepLR(other, 2)])


BAD.append((_other_optimizer_case, ValueError, "optimizer", True))


@pytest.mark.parametrize("make,exc,words,_", BAD)
def test_bad_arguments_are_refused_naming_them(make: Callable, exc: type, words: str, _: bool) -> None:
    opt = make_optimizer("sgd")
    with pytest.raises(exc, match=words):
        make(lr_scheduler, opt)


@pytest.mark.parametrize("make,exc", [(m, e) for m, e, _, torch_too in BAD if torch_too])
def test_torch_refuses_the_same_arguments(make: Callable, exc: type) -> None:
    torch = torch_or_skip()
    with pytest.raises(exc):
        make(torch.optim.lr_scheduler, make_optimizer("sgd", torch))


def test_cycle_momentum_needs_momentum_or_betas() -> None:
    opt = make_optimizer("adagrad")
    for make in (lambda: optim.CyclicLR(opt, 0.01, 0.1), lambda: optim.OneCycleLR(opt, 0.1, total_steps=5)):
        with pytest.raises(ValueError, match="cycle_momentum"):
            make()
        assert "initial_lr" not in opt.param_groups[0] and opt.param_groups[0]["lr"] == LRS[0]


@pytest.mark.parametrize("bad,exc,match", [
    ({"mode": "median"}, ValueError, "mode"),
    ({"patience": "x"}, TypeError, "patience"),
    ({"min_lrs": [0.1]}, ValueError, "min_lrs"),
    ({"min_lrs": [0.1, -1.0, 0.0]}, ValueError, "min_lrs"),
    ({"best": None}, TypeError, "best"),
    ({"nope": 1}, ValueError, "unknown"),
])
def test_plateau_load_state_dict_all_or_nothing(bad: dict, exc: type, match: str) -> None:
    opt = make_optimizer("plain")
    s = optim.ReduceLROnPlateau(opt, patience=1)
    s.step(1.0)
    before = s.state_dict()
    with pytest.raises(exc, match=match):
        s.load_state_dict(bad)
    assert s.state_dict() == before


def test_combined_load_state_dict_checks_every_part_first() -> None:
    opt = make_optimizer("plain")
    s = optim.SequentialLR(opt, [optim.ConstantLR(opt, total_iters=2), optim.StepLR(opt, 2)], milestones=[3])
    s.step()
    before = s.state_dict()
    bad = copy.deepcopy(before)
    bad["last_epoch"] = 7
    bad["_schedulers"][1]["step_size"] = 0
    with pytest.raises(ValueError, match="step_size"):
        s.load_state_dict(bad)
    assert s.state_dict() == before
    with pytest.raises(ValueError, match="_schedulers"):
        s.load_state_dict({"_schedulers": [before["_schedulers"][0]]})
    assert s.state_dict() == before


def test_one_cycle_needs_its_group_entries_to_resume() -> None:
    opt = make_optimizer("sgd")
    for g in opt.param_groups:
        g["initial_lr"] = g["lr"]
    with pytest.raises(ValueError, match="max_lr"):
        optim.OneCycleLR(opt, max_lr=1.0, total_steps=10, last_epoch=3)


def test_plateau_takes_a_tensor_metric_and_refuses_a_string() -> None:
    opt = make_optimizer("plain")
    s = optim.ReduceLROnPlateau(opt, patience=0)
    s.step(Tensor(np.array(2.0)))
    assert s.best == 2.0
    with pytest.raises(TypeError, match="metrics"):
        s.step("low")
    assert s.last_epoch == 1
