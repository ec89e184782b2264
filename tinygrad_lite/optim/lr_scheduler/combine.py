"""Schedules made of other schedules: SequentialLR (one after another, switching at
milestones) and ChainedScheduler (all of them every step)."""

from __future__ import annotations

import numbers
from bisect import bisect_right
from typing import Any, Optional, Sequence

import numpy as np

from ..optimizer import Optimizer
from .base import LRScheduler, _check_last_epoch, _check_optimizer
from .plateau import ReduceLROnPlateau

__all__ = ["SequentialLR", "ChainedScheduler"]


def _check_schedulers(owner: str, schedulers: Any, optimizer: Optimizer) -> list:
    """The schedulers to combine: at least one, all epoch-driven, all on ``optimizer``."""
    if isinstance(schedulers, (str, bytes)) or not isinstance(schedulers, Sequence):
        raise TypeError(f"{owner}: schedulers must be a list of schedulers, got {type(schedulers).__name__}")
    if len(schedulers) < 1:
        raise ValueError(f"{owner} expects at least one scheduler, got none")
    for i, s in enumerate(schedulers):
        if not hasattr(s, "optimizer"):
            raise TypeError(f"{owner}: the scheduler at index {i} ({type(s).__name__}) has no optimizer attribute")
        if isinstance(s, ReduceLROnPlateau):
            raise ValueError(f"{owner}: the scheduler at index {i} is a ReduceLROnPlateau, whose step() needs the "
                             "metric; it cannot be combined")
        if s.optimizer is not optimizer:
            raise ValueError(f"{owner}: the scheduler at index {i} ({type(s).__name__}) belongs to another "
                             "optimizer; all schedulers must share one")
    return list(schedulers)


class _Combined(LRScheduler):
    """State handling shared by the combinations: the parts' states are kept as a list."""

    _schedulers: list

    def _initial_step(self) -> None:
        self.step()

    def get_lr(self) -> list:
        raise NotImplementedError(f"{type(self).__name__} sets the lrs through its schedulers")

    def state_dict(self) -> dict:
        """The own entries, and ``"_schedulers"``: the state dict of each part."""
        state = {k: v for k, v in super().state_dict().items() if k != "_schedulers"}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def _check_state(self, state_dict: Any, floor: int = -1) -> None:
        parts = state_dict.get("_schedulers") if isinstance(state_dict, dict) else None
        if isinstance(state_dict, dict) and "_schedulers" in state_dict:
            if not isinstance(parts, (list, tuple)) or len(parts) != len(self._schedulers):
                raise ValueError(f"_schedulers must be a list of {len(self._schedulers)} scheduler states, "
                                 f"got {parts!r}")
            state_dict = {k: v for k, v in state_dict.items() if k != "_schedulers"}
        super()._check_state(state_dict, floor)
        for s, part in zip(self._schedulers, parts or ()):
            s._check_state(part, floor - 1)  # (each enclosing SequentialLR steps its parts back once)

    def _commit(self, state_dict: dict) -> None:
        parts = state_dict.get("_schedulers", ())
        super()._commit({k: v for k, v in state_dict.items() if k != "_schedulers"})
        for s, part in zip(self._schedulers, parts):
            s._commit(part)


class SequentialLR(_Combined):
    """Run ``schedulers[0]`` until epoch ``milestones[0]``, then ``schedulers[1]`` until
    ``milestones[1]``, and so on. At its milestone a scheduler restarts at its own epoch 0
    (its closed form there, from the initial lrs); in between it steps as usual. So with
    ``k`` the number of milestones ``<= epoch``, the lr of ``epoch`` is that of
    ``schedulers[k]`` at epoch ``epoch - milestones[k - 1]`` (``epoch`` when ``k = 0``).
    Creation resets the lrs to ``initial_lr`` and undoes the creation step of every part.
    """

    def __init__(self, optimizer: Optimizer, schedulers: list, milestones: list, last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        schedulers = _check_schedulers("SequentialLR", schedulers, optimizer)
        if isinstance(milestones, (str, bytes)) or not isinstance(milestones, Sequence):
            raise TypeError(f"SequentialLR: milestones must be a list of ints, got {milestones!r}")
        for m in milestones:
            if isinstance(m, (bool, np.bool_)) or not isinstance(m, numbers.Integral) or m < 0:
                raise ValueError(f"SequentialLR: milestones must be ints >= 0, got {list(milestones)!r}")
        if list(milestones) != sorted(milestones):
            raise ValueError(f"SequentialLR: milestones must be in increasing order, got {list(milestones)!r}")
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"SequentialLR: {len(schedulers)} schedulers need {len(schedulers) - 1} milestones, got "
                             f"{len(milestones)}")
        self.last_epoch = _check_last_epoch("SequentialLR", last_epoch) + 1
        self._schedulers = schedulers
        self._milestones = [int(m) for m in milestones]
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        for s in schedulers:
            _undo(s)
        first = schedulers[bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def step(self) -> None:
        """Advance one epoch in the scheduler whose turn it is."""
        self.last_epoch += 1
        k = bisect_right(self._milestones, self.last_epoch)
        current = self._schedulers[k]
        if k > 0 and self._milestones[k - 1] == self.last_epoch:
            current._restart()
        else:
            current.step()
        self._last_lr = current.get_last_lr()


def _undo(scheduler: Any) -> None:
    """Take back the creation step of a scheduler (of each part of a combination)."""
    if hasattr(scheduler, "_schedulers"):
        for s in scheduler._schedulers:
            _undo(s)
    elif hasattr(scheduler, "last_epoch"):
        scheduler.last_epoch -= 1


class ChainedScheduler(_Combined):
    """Step every scheduler of ``schedulers`` on each ``step()``, in order: their effects on
    the lrs compound (e.g. a warm-up factor times a decay)."""

    def __init__(self, schedulers: Sequence[LRScheduler], optimizer: Optional[Optimizer] = None) -> None:
        if optimizer is None and isinstance(schedulers, Sequence) and len(schedulers) > 0:
            optimizer = getattr(schedulers[0], "optimizer", None)
        if optimizer is not None:
            _check_optimizer(optimizer)
        self._schedulers = _check_schedulers("ChainedScheduler", schedulers, optimizer)
        self.optimizer = optimizer
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def step(self) -> None:
        """Step each scheduler once."""
        for s in self._schedulers:
            s.step()
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]
