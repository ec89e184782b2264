"""ReduceLROnPlateau: the schedule driven by a monitored metric (``step(metrics)``) instead
of the epoch count."""

from __future__ import annotations

import copy
import math
from typing import Any, Optional, Union

from ..optimizer import Optimizer, check_number
from .base import LRScheduler, _check_optimizer, _choice, _count, _int, _metric, _per_group

__all__ = ["ReduceLROnPlateau"]


class ReduceLROnPlateau(LRScheduler):
    """Multiply every group's lr by ``factor`` when the metric given to ``step(metrics)``
    has not improved for more than ``patience`` steps.

    A value ``a`` improves on the best so far, ``best``, when (``t = threshold``)::

        mode="min", threshold_mode="rel":  a < best * (1 - t)
        mode="min", threshold_mode="abs":  a < best - t
        mode="max", threshold_mode="rel":  a > best * (1 + t)
        mode="max", threshold_mode="abs":  a > best + t

    (``best`` starts at +inf for "min", -inf for "max"). Each step without improvement
    counts a bad epoch; once there are more than ``patience`` of them every group gets
    ``lr <- max(lr * factor, min_lr)``, the update being skipped when it would change the lr
    by ``eps`` or less, and the count restarts. For ``cooldown`` steps after a reduction bad
    epochs are not counted. ``min_lr`` is one number or one per parameter group.
    """

    _choices = {"mode": ("min", "max"), "threshold_mode": ("rel", "abs")}

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr: Union[float, list] = 0, eps: float = 1e-8) -> None:
        owner = "ReduceLROnPlateau"
        self.factor = check_number(f"{owner} factor", factor, 0.0, 1.0, high_open=True)
        self.optimizer = _check_optimizer(optimizer)
        self.min_lrs = _per_group(owner, "min_lr", optimizer, min_lr)
        self.default_min_lr = None if isinstance(min_lr, (list, tuple)) else self.min_lrs[0]
        self.patience = _count(owner, "patience", patience, 0)
        self.cooldown = _count(owner, "cooldown", cooldown, 0)
        self.eps = check_number(f"{owner} eps", eps)
        self.mode = _choice(owner, "mode", mode, ("min", "max"))
        self.threshold = check_number(f"{owner} threshold", threshold)
        self.threshold_mode = _choice(owner, "threshold_mode", threshold_mode, ("rel", "abs"))
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.last_epoch = 0
        self._last_lr: list = [group["lr"] for group in optimizer.param_groups]
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def is_better(self, a: float, best: float) -> bool:
        """Whether the value ``a`` improves on ``best`` (see the class docstring)."""
        t = self.threshold
        if self.mode == "min":
            return a < best * (1.0 - t) if self.threshold_mode == "rel" else a < best - t
        return a > best * (t + 1.0) if self.threshold_mode == "rel" else a > best + t

    def step(self, metrics: Any, epoch: Optional[int] = None) -> None:  # type: ignore[override]
        """Record the metric of one epoch, and reduce the lrs if it has stopped improving."""
        current = _metric("ReduceLROnPlateau", metrics)
        epoch = self.last_epoch + 1 if epoch is None else _int("ReduceLROnPlateau.step epoch", epoch, 0)
        best, bad, cooling = self.best, self.num_bad_epochs, self.cooldown_counter
        if self.is_better(current, best):
            best, bad = current, 0
        else:
            bad += 1
        if cooling > 0:
            cooling -= 1
            bad = 0  # bad epochs during a cooldown do not count
        lrs = [group["lr"] for group in self.optimizer.param_groups]
        if bad > self.patience:
            lrs = self._reduced(lrs)
            cooling, bad = self.cooldown, 0
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self.last_epoch, self.best, self.num_bad_epochs, self.cooldown_counter = epoch, best, bad, cooling
        self._last_lr = lrs

    def _reduced(self, lrs: list) -> list:
        if len(lrs) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise ValueError(f"ReduceLROnPlateau: the optimizer has {len(lrs)} parameter groups but min_lr "
                                 f"was given for {len(self.min_lrs)}; set min_lrs to one value per group")
            self.min_lrs = [self.default_min_lr] * len(lrs)
        out = []
        for lr, low in zip(lrs, self.min_lrs):
            new = max(float(lr) * self.factor, low)
            out.append(new if float(lr) - new > self.eps else lr)
        return out

    def _check_state(self, state_dict: Any, floor: int = -1) -> None:
        super()._check_state(state_dict, floor)
        for key in ("eps", "threshold"):
            if key in state_dict:
                check_number(key, state_dict[key], 0.0)
        if "default_min_lr" in state_dict and state_dict["default_min_lr"] is not None:
            check_number("default_min_lr", state_dict["default_min_lr"])
        if "min_lrs" in state_dict:
            for v in state_dict["min_lrs"]:
                check_number("min_lrs entry", v)

    def _commit(self, state_dict: dict) -> None:
        super()._commit(copy.deepcopy(state_dict))
        self.mode_worse = math.inf if self.mode == "min" else -math.inf
