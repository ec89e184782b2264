"""Learning-rate schedules (PyTorch's ``torch.optim.lr_scheduler`` names and formulas).

A scheduler writes a new ``"lr"`` into every parameter group of its optimizer each time
its ``step()`` is called (once per epoch, after ``optimizer.step()``).
"""

from __future__ import annotations

import copy
import math
import numbers

import numpy as np

from .optimizer import Optimizer, check_number

__all__ = ["LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR", "MultiStepLR", "LambdaLR", "LinearLR",
           "ConstantLR"]


def _int(name: str, value: object, low: int) -> int:
    """``value`` as an int >= ``low``, else TypeError / ValueError naming ``name``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    return int(value)


class LRScheduler:
    """Base class of the learning-rate schedules.

    On creation every parameter group gets ``"initial_lr"`` (its current lr,
    unless it already has one); ``base_lrs`` are those values. Each call of
    ``step()`` (once per epoch, after ``optimizer.step()``) increments
    ``last_epoch`` and writes the lr of epoch ``last_epoch`` into every group.
    A subclass implements ``get_lr()``: the new lrs computed from the groups'
    current lrs and ``last_epoch``.
    """

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs: list = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = 0
        self._last_lr: list = [group["lr"] for group in optimizer.param_groups]

    def get_lr(self) -> list:
        """The lr of every group for epoch ``self.last_epoch``."""
        raise NotImplementedError

    def step(self) -> None:
        """Advance one epoch and set the groups' learning rates."""
        self.last_epoch += 1
        lrs = self.get_lr()
        if len(lrs) != len(self.optimizer.param_groups):
            self.last_epoch -= 1
            raise ValueError("the optimizer's parameter groups changed after the scheduler was created")
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = list(lrs)

    def get_last_lr(self) -> list:
        """The learning rates set by the latest ``step()`` (or found at creation)."""
        return list(self._last_lr)

    def state_dict(self) -> dict:
        """Everything but the optimizer, as plain data."""
        return {k: copy.deepcopy(v) for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore a state made by ``state_dict()`` (all or nothing)."""
        if not isinstance(state_dict, dict):
            raise TypeError(f"a scheduler state_dict is a dict, got {type(state_dict).__name__}")
        own = self.state_dict().keys()
        unknown = set(state_dict) - own
        if unknown:
            raise ValueError(f"unknown entries for {type(self).__name__}: {sorted(unknown)}")
        n = len(self.optimizer.param_groups)
        for key, value in state_dict.items():  # every entry checked before anything changes
            if key == "last_epoch":
                _int(key, value, 0)
            elif key in ("base_lrs", "_last_lr"):
                if not isinstance(value, (list, tuple)) or len(value) != n:
                    raise ValueError(f"{key} must be a list of {n} learning rate(s), one per parameter group, "
                                     f"got {value!r}")
                for v in value:
                    check_number(f"{key} entry", v)
            elif key in ("step_size", "T_max"):
                _int(key, value, 1)
            elif key == "gamma":
                check_number("gamma", value, 0.0, low_open=True)
            elif key == "eta_min":
                check_number("eta_min", value)
        self.__dict__.update(copy.deepcopy(state_dict))


class StepLR(LRScheduler):
    """Multiply each group's lr by ``gamma`` every ``step_size`` epochs.

    ``lr(epoch) = initial_lr * gamma ** (epoch // step_size)``.
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        self.step_size = _int("step_size", step_size, 1)
        self.gamma = check_number("gamma", gamma, 0.0, low_open=True)
        super().__init__(optimizer)

    def get_lr(self) -> list:
        """The current lrs, times ``gamma`` when ``last_epoch`` is a multiple of ``step_size``."""
        decay = self.last_epoch % self.step_size == 0
        return [group["lr"] * self.gamma if decay else group["lr"] for group in self.optimizer.param_groups]


class ExponentialLR(LRScheduler):
    """Multiply each group's lr by ``gamma`` every epoch: ``lr(epoch) = initial_lr * gamma ** epoch``."""

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        self.gamma = check_number("gamma", gamma, 0.0, low_open=True)
        super().__init__(optimizer)

    def get_lr(self) -> list:
        """The current lrs times ``gamma``."""
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing from the initial lr down to ``eta_min`` over ``T_max`` epochs.

    The schedule (for ``0 <= epoch <= T_max``, and continuing as a cosine
    wave of period ``2 * T_max`` afterwards) is::

        lr(epoch) = eta_min + (initial_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2

    It is applied as a multiplicative update of the groups' current lrs, so a
    change made to a group's lr between epochs carries on through the schedule::

        lr <- eta_min + (lr - eta_min) * (1 + cos(pi * e / T_max)) / (1 + cos(pi * (e - 1) / T_max))

    except where that ratio would divide by zero (``e - 1`` an odd multiple of
    ``T_max``: the bottom of the wave), where
    ``lr <- lr + (initial_lr - eta_min) * (1 - cos(pi / T_max)) / 2``.
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:
        self.T_max = _int("T_max", T_max, 1)
        self.eta_min = check_number("eta_min", eta_min)
        super().__init__(optimizer)

    def get_lr(self) -> list:
        """The lrs of epoch ``last_epoch`` from those of the previous epoch."""
        e, period, low = self.last_epoch, self.T_max, self.eta_min
        groups = self.optimizer.param_groups
        if (e - 1 - period) % (2 * period) == 0:
            rise = (1 - math.cos(math.pi / period)) / 2
            return [group["lr"] + (base - low) * rise for base, group in zip(self.base_lrs, groups)]
        ratio = (1 + math.cos(math.pi * e / period)) / (1 + math.cos(math.pi * (e - 1) / period))
        return [low + (group["lr"] - low) * ratio for group in groups]


class MultiStepLR(LRScheduler):
    """Multiply each group's lr by ``gamma`` at each epoch in ``milestones`` (a milestone
    listed twice decays twice): ``lr(epoch) = initial_lr * gamma ** (number of milestones <= epoch)``."""

    def __init__(self, optimizer: Optimizer, milestones: list, gamma: float = 0.1) -> None:
        if isinstance(milestones, (str, bytes)) or not hasattr(milestones, "__iter__"):
            raise TypeError(f"milestones must be a list of ints, got {milestones!r}")
        self.milestones = sorted(_int("milestone", m, 0) for m in milestones)
        self.gamma = check_number("gamma", gamma, 0.0, low_open=True)
        super().__init__(optimizer)

    def get_lr(self) -> list:
        """The current lrs, times ``gamma ** k`` when ``last_epoch`` is a milestone k times."""
        k = self.milestones.count(self.last_epoch)
        return [group["lr"] * self.gamma ** k if k else group["lr"] for group in self.optimizer.param_groups]


class _FromEpochZero(LRScheduler):
    """A schedule whose epoch 0 already changes the lr (set when the scheduler is created)."""

    def __init__(self, optimizer: Optimizer) -> None:
        super().__init__(optimizer)
        lrs = self.get_lr()
        for group, lr in zip(optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = list(lrs)


class LambdaLR(_FromEpochZero):
    """``lr(epoch) = initial_lr * lr_lambda(epoch)``; ``lr_lambda`` is one function or one per
    parameter group. ``state_dict()`` leaves the functions out (as torch for plain functions)."""

    def __init__(self, optimizer: Optimizer, lr_lambda: object) -> None:
        n = len(optimizer.param_groups) if isinstance(optimizer, Optimizer) else 0
        fns = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * n
        if not all(callable(f) for f in fns) or len(fns) != n:
            raise TypeError(f"lr_lambda must be a function or a list of {n} functions, got {lr_lambda!r}")
        self.lr_lambdas = fns
        super().__init__(optimizer)

    def get_lr(self) -> list:
        """Each group's initial lr times its factor for ``last_epoch``."""
        return [base * check_number("lr_lambda(epoch)", f(self.last_epoch))
                for base, f in zip(self.base_lrs, self.lr_lambdas)]

    def state_dict(self) -> dict:
        return {k: v for k, v in super().state_dict().items() if k != "lr_lambdas"}


class LinearLR(_FromEpochZero):
    """The lr factor moves linearly from ``start_factor`` (epoch 0) to ``end_factor`` (epoch
    ``total_iters`` and after): ``lr(epoch) = initial_lr * (start + (end - start) *
    min(epoch, total_iters) / total_iters)``, applied as torch does, epoch over epoch."""

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5) -> None:
        self.start_factor = check_number("start_factor", start_factor, 0.0, low_open=True)
        self.end_factor = check_number("end_factor", end_factor, 0.0)
        if self.start_factor > 1.0 or self.end_factor > 1.0:
            raise ValueError(f"start_factor and end_factor must be in (0, 1] and [0, 1], got {start_factor!r} and "
                             f"{end_factor!r}")
        self.total_iters = _int("total_iters", total_iters, 1)
        super().__init__(optimizer)

    def get_lr(self) -> list:
        """The lrs of epoch ``last_epoch`` from those of the previous epoch."""
        groups, e = self.optimizer.param_groups, self.last_epoch
        s, t, n = self.start_factor, self.end_factor, self.total_iters
        if e == 0:
            return [group["lr"] * s for group in groups]
        if e > n:
            return [group["lr"] for group in groups]
        return [group["lr"] * (1.0 + (t - s) / (n * s + (e - 1) * (t - s))) for group in groups]


class ConstantLR(_FromEpochZero):
    """The lr times ``factor`` for epochs ``0 .. total_iters - 1``, then the initial lr."""

    def __init__(self, optimizer: Optimizer, factor: float = 1.0 / 3, total_iters: int = 5) -> None:
        self.factor = check_number("factor", factor, 0.0, low_open=True)
        if self.factor > 1.0:
            raise ValueError(f"factor must be in (0, 1], got {factor!r}")
        self.total_iters = _int("total_iters", total_iters, 0)
        super().__init__(optimizer)

    def get_lr(self) -> list:
        """The lrs of epoch ``last_epoch`` from those of the previous epoch."""
        groups, e = self.optimizer.param_groups, self.last_epoch
        if e == 0:
            return [group["lr"] * self.factor for group in groups]
        if e != self.total_iters:
            return [group["lr"] for group in groups]
        return [group["lr"] * (1.0 / self.factor) for group in groups]
