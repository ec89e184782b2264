"""The cyclic schedules, stepped once per batch or per (fractional) epoch: CyclicLR and
OneCycleLR (both may cycle the momentum, SGD's ``momentum`` or Adam's ``betas[0]``,
against the lr) and CosineAnnealingWarmRestarts."""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable, Optional, Union

import numpy as np

from ..optimizer import Optimizer, check_number
from .base import (
    LRScheduler,
    _check_last_epoch,
    _check_optimizer,
    _choice,
    _count,
    _flag,
    _per_group,
    _set_momentum,
    _uses_beta1,
)

__all__ = ["CyclicLR", "OneCycleLR", "CosineAnnealingWarmRestarts"]


class CyclicLR(LRScheduler):
    """The cyclical learning-rate policy: each group's lr climbs linearly from ``base_lr``
    towards ``max_lr`` over ``step_size_up`` steps, goes back down over ``step_size_down``
    steps (default: ``step_size_up``), and repeats. With ``S = up + down`` and the step
    count ``t = last_epoch``::

        cycle = floor(1 + t / S),   x = 1 + t / S - cycle          (x in [0, 1))
        h = x / r  if x <= r  else  (x - 1) / (r - 1)              (r = up / S)
        lr = base_lr + (max_lr - base_lr) * h * scale_fn(cycle or t)

    ``mode`` picks ``scale_fn``: ``"triangular"`` 1, ``"triangular2"`` ``1 / 2 ** (cycle - 1)``
    (both of the cycle), ``"exp_range"`` ``gamma ** t`` (of the step count); a ``scale_fn``
    given replaces it and is applied to the cycle or the step count per ``scale_mode``.
    With ``cycle_momentum`` the momentum moves the opposite way:
    ``momentum = max_momentum - (max_momentum - base_momentum) * h * scale_fn(...)``.
    Creation sets every group's lr to its ``base_lr``.
    """

    _choices = {"scale_mode": ("cycle", "iterations")}

    def __init__(self, optimizer: Optimizer, base_lr: Union[float, list], max_lr: Union[float, list],
                 step_size_up: int = 2000, step_size_down: Optional[int] = None, mode: str = "triangular",
                 gamma: float = 1.0, scale_fn: Optional[Callable[[float], float]] = None,
                 scale_mode: str = "cycle", cycle_momentum: bool = True, base_momentum: Union[float, list] = 0.8,
                 max_momentum: Union[float, list] = 0.9, last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        owner = "CyclicLR"
        base_lrs = _per_group(owner, "base_lr", optimizer, base_lr)
        self.max_lrs = _per_group(owner, "max_lr", optimizer, max_lr)
        up = check_number(f"{owner} step_size_up", step_size_up, 0.0, low_open=True)
        down = up if step_size_down is None else check_number(f"{owner} step_size_down", step_size_down)
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        if scale_fn is None:
            _choice(owner, "mode", mode, ("triangular", "triangular2", "exp_range"))
        elif not callable(scale_fn):
            raise TypeError(f"{owner}: scale_fn must be a function of one number or None, got {scale_fn!r}")
        self.mode = mode
        self.gamma = check_number(f"{owner} gamma", gamma, 0.0, low_open=True)
        self._custom_scale = scale_fn
        self.scale_mode = _choice(owner, "scale_mode", scale_mode, ("cycle", "iterations"))
        if scale_fn is None:  # the built-in modes fix what they scale by
            self.scale_mode = "iterations" if mode == "exp_range" else "cycle"
        self.cycle_momentum = _flag(owner, "cycle_momentum", cycle_momentum)
        last_epoch = _check_last_epoch(owner, last_epoch)
        if self.cycle_momentum:
            self.use_beta1 = _uses_beta1(owner, optimizer)
            self.base_momentums = _per_group(owner, "base_momentum", optimizer, base_momentum, 1.0)
            self.max_momentums = _per_group(owner, "max_momentum", optimizer, max_momentum, 1.0)
        if last_epoch == -1:  # everything checked: start the cycle
            for group, lr in zip(optimizer.param_groups, base_lrs):
                group["lr"] = lr
            if self.cycle_momentum:
                for group, low, high in zip(optimizer.param_groups, self.base_momentums, self.max_momentums):
                    _set_momentum(group, self.use_beta1, high)
                    group["max_momentum"] = high
                    group["base_momentum"] = low
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def _check_state(self, state_dict: Any, floor: int = -1) -> None:
        super()._check_state(state_dict, floor)
        if "total_size" in state_dict and not state_dict["total_size"] > 0:
            raise ValueError(f"total_size must be > 0, got {state_dict['total_size']!r}")
        if "step_ratio" in state_dict and not 0 < state_dict["step_ratio"] <= 1:
            raise ValueError(f"step_ratio must be in (0, 1], got {state_dict['step_ratio']!r}")
        if state_dict.get("_custom_scale", self._custom_scale) is None and "mode" in state_dict:
            _choice(type(self).__name__, "mode", state_dict["mode"], ("triangular", "triangular2", "exp_range"))

    def scale_fn(self, x: float) -> float:
        """The amplitude scale at ``x`` (a cycle number or a step count)."""
        if self._custom_scale is not None:
            return self._custom_scale(x)
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        if self.mode == "exp_range":
            return self.gamma**x
        return 1.0

    def _initial_lrs(self) -> list:
        return self.get_lr()

    def get_lr(self) -> list:
        """The lrs of step ``last_epoch`` (and, with ``cycle_momentum``, set the momenta)."""
        t = self.last_epoch
        cycle = math.floor(1 + t / self.total_size)
        x = 1.0 + t / self.total_size - cycle
        h = x / self.step_ratio if x <= self.step_ratio else (x - 1) / (self.step_ratio - 1)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else t)
        lrs = [base + (top - base) * h * scale for base, top in zip(self.base_lrs, self.max_lrs)]
        if self.cycle_momentum:
            for group, low, high in zip(self.optimizer.param_groups, self.base_momentums, self.max_momentums):
                _set_momentum(group, self.use_beta1, high - (high - low) * h * scale)
        return lrs

    def state_dict(self) -> dict:
        """The state without ``scale_fn`` (a function is not data)."""
        return {k: v for k, v in super().state_dict().items() if k != "_custom_scale"}


class OneCycleLR(LRScheduler):
    """The 1cycle policy over ``total_steps`` steps (or ``epochs * steps_per_epoch``).

    With ``initial_lr = max_lr / div_factor`` and ``min_lr = initial_lr / final_div_factor``
    (stored in each group), the lr is annealed through phases ending at steps
    ``pct_start * total_steps - 1`` and ``total_steps - 1``: initial_lr -> max_lr -> min_lr;
    with ``three_phase`` through ``pct_start * total_steps - 1``,
    ``2 * pct_start * total_steps - 2`` and ``total_steps - 1``: initial_lr -> max_lr ->
    initial_lr -> min_lr. Within a phase from step ``s0`` to ``s1`` at step ``t``, with
    ``p = (t - s0) / (s1 - s0)``::

        "cos":     lr = end + (start - end) / 2 * (1 + cos(pi * p))
        "linear":  lr = start + (end - start) * p

    With ``cycle_momentum`` the momentum (SGD's ``momentum``, Adam's ``betas[0]``) is
    annealed the opposite way, max_momentum -> base_momentum -> max_momentum (three
    phases: max -> base -> max -> max). Stepping past ``total_steps`` is an error.
    """

    _choices = {"_anneal": ("cos", "linear")}

    def __init__(self, optimizer: Optimizer, max_lr: Union[float, list], total_steps: Optional[int] = None,
                 epochs: Optional[int] = None, steps_per_epoch: Optional[int] = None, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", cycle_momentum: bool = True,
                 base_momentum: Union[float, list] = 0.85, max_momentum: Union[float, list] = 0.95,
                 div_factor: float = 25.0, final_div_factor: float = 1e4, three_phase: bool = False,
                 last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        owner = "OneCycleLR"
        if total_steps is not None:
            self.total_steps = _count(owner, "total_steps", total_steps, 1)
        elif epochs is not None and steps_per_epoch is not None:
            self.total_steps = (_count(owner, "epochs", epochs, 1)
                                * _count(owner, "steps_per_epoch", steps_per_epoch, 1))
        else:
            raise ValueError(f"{owner}: give total_steps, or both epochs and steps_per_epoch")
        if not isinstance(pct_start, (float, np.floating)) or not 0.0 <= pct_start <= 1.0:
            raise ValueError(f"{owner}: pct_start must be a float in [0, 1], got {pct_start!r}")
        self._anneal = _choice(owner, "anneal_strategy", anneal_strategy, ("cos", "linear"))
        max_lrs = _per_group(owner, "max_lr", optimizer, max_lr)
        div_factor = check_number(f"{owner} div_factor", div_factor, 0.0, low_open=True)
        final_div_factor = check_number(f"{owner} final_div_factor", final_div_factor, 0.0, low_open=True)
        three_phase = _flag(owner, "three_phase", three_phase)
        self.cycle_momentum = _flag(owner, "cycle_momentum", cycle_momentum)
        last_epoch = _check_last_epoch(owner, last_epoch)
        if self.cycle_momentum:
            self.use_beta1 = _uses_beta1(owner, optimizer)
            highs = _per_group(owner, "max_momentum", optimizer, max_momentum, 1.0)
            lows = _per_group(owner, "base_momentum", optimizer, base_momentum, 1.0)
        up = float(pct_start * self.total_steps) - 1
        if three_phase:  # [end step, lr from, lr to, momentum from, momentum to]
            self._phases = [[up, "initial_lr", "max_lr", "max_momentum", "base_momentum"],
                            [float(2 * pct_start * self.total_steps) - 2, "max_lr", "initial_lr", "base_momentum",
                             "max_momentum"],
                            [self.total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"]]
        else:
            self._phases = [[up, "initial_lr", "max_lr", "max_momentum", "base_momentum"],
                            [self.total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"]]
        keys = ["initial_lr", "max_lr", "min_lr"] + (["max_momentum", "base_momentum"] if self.cycle_momentum else [])
        if last_epoch == -1:  # everything checked: write the schedule's ends into the groups
            for i, group in enumerate(optimizer.param_groups):
                group["initial_lr"] = max_lrs[i] / div_factor
                group["max_lr"] = max_lrs[i]
                group["min_lr"] = group["initial_lr"] / final_div_factor
                if self.cycle_momentum:
                    _set_momentum(group, self.use_beta1, highs[i])
                    group["max_momentum"] = highs[i]
                    group["base_momentum"] = lows[i]
        else:
            lacking = sorted({k for group in optimizer.param_groups for k in keys if k not in group})
            if lacking:
                raise ValueError(f"{owner}: resuming with last_epoch={last_epoch} needs {lacking} in every "
                                 "parameter group (load the optimizer's state first)")
        super().__init__(optimizer, last_epoch)

    def _anneal_between(self, start: float, end: float, p: float) -> float:
        if self._anneal == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * p) + 1)
        return (end - start) * p + start

    def _initial_lrs(self) -> list:
        return self.get_lr()

    def get_lr(self) -> list:
        """The lrs of step ``last_epoch`` (and, with ``cycle_momentum``, set the momenta)."""
        t = self.last_epoch
        if t > self.total_steps:
            raise ValueError(f"OneCycleLR: stepped {t} times, but total_steps is {self.total_steps}")
        start, i = 0.0, 0
        while t > self._phases[i][0] and i < len(self._phases) - 1:
            start, i = self._phases[i][0], i + 1
        end, lr_from, lr_to, m_from, m_to = self._phases[i]
        if end == start:
            raise ValueError(f"OneCycleLR: phase {i + 1} of the schedule has no steps (ends at step {end} where the "
                             f"previous one ends); choose pct_start / total_steps so that every phase is non-empty")
        p = (t - start) / (end - start)
        lrs = []
        for group in self.optimizer.param_groups:
            lrs.append(self._anneal_between(group[lr_from], group[lr_to], p))
            if self.cycle_momentum:
                _set_momentum(group, self.use_beta1, self._anneal_between(group[m_from], group[m_to], p))
        return lrs


class CosineAnnealingWarmRestarts(LRScheduler):
    """Cosine annealing with warm restarts: with ``T_cur`` the epochs since the last restart
    and ``T_i`` the length of the current period (``T_0``, then times ``T_mult`` after each
    restart)::

        lr = eta_min + (initial_lr - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2

    ``step()`` advances one epoch; ``step(epoch)`` jumps to any epoch >= 0, fractional
    ones included (e.g. ``epoch + batch / batches_per_epoch``): for ``epoch >= T_0`` and
    ``T_mult > 1`` the period is ``n = floor(log(epoch / T_0 * (T_mult - 1) + 1, T_mult))``,
    so ``T_i = T_0 * T_mult ** n`` and ``T_cur = epoch - T_0 * (T_mult ** n - 1) / (T_mult - 1)``.
    """

    def __init__(self, optimizer: Optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        self.T_0 = _count("CosineAnnealingWarmRestarts", "T_0", T_0, 1)
        self.T_i = self.T_0
        self.T_mult = _count("CosineAnnealingWarmRestarts", "T_mult", T_mult, 1)
        if isinstance(eta_min, (bool, np.bool_)) or not isinstance(eta_min, numbers.Real):
            raise ValueError(f"CosineAnnealingWarmRestarts: eta_min must be a float or int, got {eta_min!r}")
        self.eta_min = check_number("CosineAnnealingWarmRestarts eta_min", eta_min)
        self.T_cur = _check_last_epoch("CosineAnnealingWarmRestarts", last_epoch)
        super().__init__(optimizer, last_epoch)

    def _initial_step(self) -> None:
        self._step_count = 0  # (torch's: this schedule's own step() does not count)
        self.step()

    def _lrs(self, T_cur: float, T_i: int) -> list:
        low = self.eta_min
        return [low + (base - low) * (1 + math.cos(math.pi * T_cur / T_i)) / 2 for base in self.base_lrs]

    def get_lr(self) -> list:
        """The lrs at ``T_cur`` in the current period."""
        return self._lrs(self.T_cur, self.T_i)

    def step(self, epoch: Optional[float] = None) -> None:
        """Advance one epoch, or go to ``epoch`` (a real >= 0), and set the lrs."""
        T_cur, T_i = self.T_cur, self.T_i
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            T_cur += 1
            if T_cur >= T_i:
                T_cur, T_i = T_cur % T_i, T_i * self.T_mult
        else:
            epoch = check_number("CosineAnnealingWarmRestarts.step epoch", epoch)
            if epoch < self.T_0:
                T_cur, T_i = epoch, self.T_0
            elif self.T_mult == 1:
                T_cur = epoch % self.T_0
            else:
                n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
                T_cur = epoch - self.T_0 * (self.T_mult**n - 1) / (self.T_mult - 1)
                T_i = self.T_0 * self.T_mult**n
        lrs = self._lrs(T_cur, T_i)
        self._apply(lrs)
        self.T_cur, self.T_i, self.last_epoch = T_cur, T_i, math.floor(epoch)
