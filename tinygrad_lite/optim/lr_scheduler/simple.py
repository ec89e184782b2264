"""The schedules computed from the epoch alone: StepLR, MultiStepLR, ExponentialLR,
CosineAnnealingLR, LambdaLR, MultiplicativeLR, LinearLR, ConstantLR and PolynomialLR
(PyTorch's names, signatures and formulas)."""

from __future__ import annotations

import math
from bisect import bisect_right
from typing import Callable, Union

from ..optimizer import Optimizer, check_number
from .base import LRScheduler, _count, _int

__all__ = ["StepLR", "ExponentialLR", "CosineAnnealingLR", "MultiStepLR", "LambdaLR", "LinearLR", "ConstantLR",
           "PolynomialLR", "MultiplicativeLR"]


def _lambdas(owner: str, optimizer: Optimizer, lr_lambda: object) -> list:
    """One function per parameter group (a single function is shared)."""
    n = len(optimizer.param_groups) if isinstance(optimizer, Optimizer) else 0
    fns = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * n
    if not all(callable(f) for f in fns) or len(fns) != n:
        raise TypeError(f"{owner}: lr_lambda must be a function or a list of {n} functions, got {lr_lambda!r}")
    return fns


class StepLR(LRScheduler):
    """Multiply each group's lr by ``gamma`` every ``step_size`` epochs.

    ``lr(epoch) = initial_lr * gamma ** (epoch // step_size)``.
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1) -> None:
        self.step_size = _int("step_size", step_size, 1)
        self.gamma = check_number("gamma", gamma, 0.0, low_open=True)
        super().__init__(optimizer, last_epoch)

    def _initial_lrs(self) -> list:
        # resumed (``last_epoch >= 0``): the epoch reached on creation decays if it is a multiple
        return self.get_lr() if self.last_epoch > 0 else super()._initial_lrs()

    def get_lr(self) -> list:
        """The current lrs, times ``gamma`` when ``last_epoch`` is a non-zero multiple of
        ``step_size`` (epoch 0 keeps the lrs, also when stepped into: a part of a
        ``ChainedScheduler`` that starts a ``SequentialLR``)."""
        decay = self.last_epoch != 0 and self.last_epoch % self.step_size == 0
        return [group["lr"] * self.gamma if decay else group["lr"] for group in self.optimizer.param_groups]

    def _closed_form(self) -> list:
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply each group's lr by ``gamma`` every epoch: ``lr(epoch) = initial_lr * gamma ** epoch``."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = check_number("gamma", gamma, 0.0, low_open=True)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        """The current lrs times ``gamma``."""
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _closed_form(self) -> list:
        return [base * self.gamma ** self.last_epoch for base in self.base_lrs]


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

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1) -> None:
        self.T_max = _int("T_max", T_max, 1)
        self.eta_min = check_number("eta_min", eta_min)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        """The lrs of epoch ``last_epoch`` from those of the previous epoch."""
        e, period, low = self.last_epoch, self.T_max, self.eta_min
        groups = self.optimizer.param_groups
        if (e - 1 - period) % (2 * period) == 0:
            rise = (1 - math.cos(math.pi / period)) / 2
            return [group["lr"] + (base - low) * rise for base, group in zip(self.base_lrs, groups)]
        ratio = (1 + math.cos(math.pi * e / period)) / (1 + math.cos(math.pi * (e - 1) / period))
        return [low + (group["lr"] - low) * ratio for group in groups]

    def _closed_form(self) -> list:
        low = self.eta_min
        return [low + (base - low) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiply each group's lr by ``gamma`` at each epoch in ``milestones`` (a milestone
    listed twice decays twice): ``lr(epoch) = initial_lr * gamma ** (number of milestones <= epoch)``."""

    def __init__(self, optimizer: Optimizer, milestones: list, gamma: float = 0.1, last_epoch: int = -1) -> None:
        if isinstance(milestones, (str, bytes)) or not hasattr(milestones, "__iter__"):
            raise TypeError(f"milestones must be a list of ints, got {milestones!r}")
        self.milestones = sorted(_int("milestone", m, 0) for m in milestones)
        self.gamma = check_number("gamma", gamma, 0.0, low_open=True)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        """The current lrs, times ``gamma ** k`` when ``last_epoch`` is a milestone k times."""
        k = self.milestones.count(self.last_epoch)
        return [group["lr"] * self.gamma ** k if k else group["lr"] for group in self.optimizer.param_groups]

    def _initial_lrs(self) -> list:
        return self.get_lr()  # a milestone at 0 decays on creation

    def _closed_form(self) -> list:
        return [base * self.gamma ** bisect_right(self.milestones, self.last_epoch) for base in self.base_lrs]


class _FromEpochZero(LRScheduler):
    """A schedule whose epoch 0 already changes the lr (set when the scheduler is created)."""

    def _initial_lrs(self) -> list:
        return self.get_lr()


class LambdaLR(_FromEpochZero):
    """``lr(epoch) = initial_lr * lr_lambda(epoch)``; ``lr_lambda`` is one function or one per
    parameter group. ``state_dict()`` leaves the functions out (as torch for plain functions)."""

    def __init__(self, optimizer: Optimizer, lr_lambda: object, last_epoch: int = -1) -> None:
        n = len(optimizer.param_groups) if isinstance(optimizer, Optimizer) else 0
        fns = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * n
        if not all(callable(f) for f in fns) or len(fns) != n:
            raise TypeError(f"lr_lambda must be a function or a list of {n} functions, got {lr_lambda!r}")
        self.lr_lambdas = fns
        super().__init__(optimizer, last_epoch)

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
                 total_iters: int = 5, last_epoch: int = -1) -> None:
        self.start_factor = check_number("start_factor", start_factor, 0.0, low_open=True)
        self.end_factor = check_number("end_factor", end_factor, 0.0)
        if self.start_factor > 1.0 or self.end_factor > 1.0:
            raise ValueError(f"start_factor and end_factor must be in (0, 1] and [0, 1], got {start_factor!r} and "
                             f"{end_factor!r}")
        self.total_iters = _int("total_iters", total_iters, 1)
        super().__init__(optimizer, last_epoch)

    def _initial_lrs(self) -> list:
        # resumed (``last_epoch >= 0``): the groups' lrs already carry the factor reached
        return self.get_lr() if self.last_epoch == 0 else LRScheduler._initial_lrs(self)

    def get_lr(self) -> list:
        """The lrs of epoch ``last_epoch`` from those of the previous epoch."""
        groups, e = self.optimizer.param_groups, self.last_epoch
        s, t, n = self.start_factor, self.end_factor, self.total_iters
        if e == 0:
            return [group["lr"] * s for group in groups]
        if e > n:
            return [group["lr"] for group in groups]
        return [group["lr"] * (1.0 + (t - s) / (n * s + (e - 1) * (t - s))) for group in groups]

    def _closed_form(self) -> list:
        s, t, n = self.start_factor, self.end_factor, self.total_iters
        return [base * (s + (t - s) * min(n, self.last_epoch) / n) for base in self.base_lrs]


class ConstantLR(_FromEpochZero):
    """The lr times ``factor`` for epochs ``0 .. total_iters - 1``, then the initial lr."""

    def __init__(self, optimizer: Optimizer, factor: float = 1.0 / 3, total_iters: int = 5,
                 last_epoch: int = -1) -> None:
        self.factor = check_number("factor", factor, 0.0, low_open=True)
        if self.factor > 1.0:
            raise ValueError(f"factor must be in (0, 1], got {factor!r}")
        self.total_iters = _int("total_iters", total_iters, 0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        """The lrs of epoch ``last_epoch`` from those of the previous epoch."""
        groups, e = self.optimizer.param_groups, self.last_epoch
        if e == 0:
            return [group["lr"] * self.factor for group in groups]
        if e != self.total_iters:
            return [group["lr"] for group in groups]
        return [group["lr"] * (1.0 / self.factor) for group in groups]

    def _closed_form(self) -> list:
        after = self.last_epoch >= self.total_iters
        return [base * (self.factor + after * (1 - self.factor)) for base in self.base_lrs]


class MultiplicativeLR(LRScheduler):
    """Each step multiplies every group's lr by its factor for the new epoch:
    ``lr(epoch) = lr(epoch - 1) * lr_lambda(epoch)`` for ``epoch >= 1`` (``lr(0)`` is the
    lr found at creation), so ``lr(epoch) = initial_lr * prod(lr_lambda(k) for k in 1..epoch)``.
    ``lr_lambda`` is one function or one per parameter group; ``state_dict()`` leaves the
    functions out."""

    def __init__(self, optimizer: Optimizer, lr_lambda: Union[Callable[[int], float], list],
                 last_epoch: int = -1) -> None:
        self.lr_lambdas = _lambdas("MultiplicativeLR", optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        """The current lrs times each group's factor for ``last_epoch``."""
        return [group["lr"] * check_number("MultiplicativeLR lr_lambda(epoch)", f(self.last_epoch))
                for group, f in zip(self.optimizer.param_groups, self.lr_lambdas)]

    def state_dict(self) -> dict:
        return {k: v for k, v in super().state_dict().items() if k != "lr_lambdas"}


class PolynomialLR(LRScheduler):
    """Polynomial decay to 0 over ``total_iters`` epochs, then constant::

        lr(epoch) = initial_lr * (1 - min(epoch, total_iters) / total_iters) ** power

    applied as a ratio of consecutive epochs, ``lr <- lr * ((1 - e / T) / (1 - (e - 1) / T)) ** power``
    for ``1 <= e <= T``, so a change made to a group's lr between epochs carries on.
    """

    def __init__(self, optimizer: Optimizer, total_iters: int = 5, power: float = 1.0,
                 last_epoch: int = -1) -> None:
        self.total_iters = _count("PolynomialLR", "total_iters", total_iters, 1)
        self.power = check_number("PolynomialLR power", power)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        """The lrs of epoch ``last_epoch`` from those of the previous epoch."""
        e, n = self.last_epoch, self.total_iters
        if e > n:
            return [group["lr"] for group in self.optimizer.param_groups]
        factor = ((1.0 - e / n) / (1.0 - (e - 1) / n)) ** self.power
        return [group["lr"] * factor for group in self.optimizer.param_groups]

    def _closed_form(self) -> list:
        n = self.total_iters
        return [base * (1.0 - min(n, self.last_epoch) / n) ** self.power for base in self.base_lrs]
