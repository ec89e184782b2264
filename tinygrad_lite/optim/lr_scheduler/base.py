"""The scheduler base class ``LRScheduler`` (epoch counting, ``get_last_lr()``, checked
``state_dict()`` / ``load_state_dict()``) and the argument checks the schedules share.

A scheduler writes a new ``"lr"`` into every parameter group of its optimizer each time
its ``step()`` is called (once per epoch, or once per batch for the cyclic schedules,
after ``optimizer.step()``).
"""

from __future__ import annotations

import copy
import functools
import math
import numbers
import warnings
from typing import Any, Optional

import numpy as np

from ...conventions import check_bool as _flag  # noqa: F401  (the schedulers' bool check)
from ...tensor import Tensor
from ..optimizer import Optimizer, check_number

__all__ = ["LRScheduler"]

_PACKAGE = __name__.split(".")[0] + "."  # "tinygrad_lite.": the library's own schedules live there


class MissingInitialLRError(KeyError, ValueError):
    """A scheduler resumed with ``last_epoch >= 0`` on groups that have no ``"initial_lr"``
    (a KeyError as in PyTorch, and a ValueError as every other bad argument here)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def _int(name: str, value: object, low: int) -> int:
    """``value`` as an int >= ``low`` (a float with an integer value counts, as torch takes
    ``StepLR(opt, 1.0)``), else TypeError / ValueError naming ``name``."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    return int(value)


def _count(owner: str, name: str, value: object, low: int) -> int:
    """An integer argument >= ``low`` of scheduler ``owner``: TypeError for a non-number or a
    bool, ValueError for a number that is not a whole int or is too small (as torch)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be an int >= {low}, got {value!r}")
    if not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{owner}: {name} must be an int >= {low}, got {value!r}")
    return int(value)


def _choice(owner: str, name: str, value: object, choices: tuple) -> str:
    """``value`` if it is one of the strings ``choices``, else ValueError naming both."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{owner}: {name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def _per_group(owner: str, name: str, optimizer: Optimizer, value: Any, high: float = math.inf) -> list:
    """One number per parameter group: a list/tuple of that length, or one number repeated;
    each a finite real in ``[0, high]``."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{owner}: {name} must be one number or a list of {n} (one per parameter group), "
                             f"got {len(value)} values")
        values = list(value)
    else:
        values = [value] * n
    return [check_number(f"{owner} {name}", v, 0.0, high) for v in values]


def _check_optimizer(optimizer: object) -> Optimizer:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
    return optimizer


def _check_last_epoch(owner: str, last_epoch: object) -> int:
    if isinstance(last_epoch, (bool, np.bool_)) or not isinstance(last_epoch, numbers.Integral):
        raise TypeError(f"{owner}: last_epoch must be an int >= -1, got {last_epoch!r}")
    if last_epoch < -1:
        raise ValueError(f"{owner}: last_epoch must be an int >= -1, got {last_epoch!r}")
    return int(last_epoch)


def _like(key: str, old: Any, new: Any) -> None:
    """A loaded entry must have the kind of the current one (number, string, bool, list of
    the same length); TypeError / ValueError naming ``key`` otherwise."""
    if isinstance(old, (bool, np.bool_)):
        ok = isinstance(new, (bool, np.bool_))
    elif isinstance(old, numbers.Real) or old is None:
        real = isinstance(new, numbers.Real) and not isinstance(new, (bool, np.bool_))
        if real and new != new:
            raise ValueError(f"{key} must be a number, got NaN")
        ok = real or (old is None and new is None)
    elif isinstance(old, str):
        ok = isinstance(new, str)
    elif isinstance(old, (list, tuple)):
        if not isinstance(new, (list, tuple)) or len(new) != len(old):
            raise ValueError(f"{key} must be a list of {len(old)} entries, got {new!r}")
        for i, (a, b) in enumerate(zip(old, new)):
            _like(f"{key}[{i}]", a, b)
        return
    else:
        ok = True
    if not ok:
        raise TypeError(f"{key} must be like {old!r}, got {new!r}")


def _groups_kept(init: Any) -> Any:
    """Wrap a scheduler's ``__init__`` so that a failure leaves the optimizer's parameter groups
    as they were (a schedule writes ``initial_lr``, ``lr`` or momenta into them while it
    starts; a bad argument found at the first step must not leave them half-changed)."""

    @functools.wraps(init)
    def wrapped(self: Any, *args: Any, **kwargs: Any) -> None:
        opts = [a for a in (*args, *kwargs.values()) if isinstance(a, Optimizer)]
        saved = [(g, dict(g)) for o in opts for g in o.param_groups]
        try:
            init(self, *args, **kwargs)
        except Exception:
            for group, before in saved:
                group.clear()
                group.update(before)
            raise

    return wrapped


class LRScheduler:
    """Base class of the learning-rate schedules.

    On creation (``last_epoch=-1``) every parameter group gets ``"initial_lr"`` (its
    current lr, unless it already has one); ``base_lrs`` are those values. Resuming with
    ``last_epoch >= 0`` needs the groups to hold ``"initial_lr"`` already. Creation counts
    as the first step: ``last_epoch`` becomes ``last_epoch + 1`` and the lrs of that epoch
    are set (``_initial_lrs()``: the current lrs unless the schedule starts elsewhere).
    Each call of ``step()`` then increments ``last_epoch`` and writes the lr of epoch
    ``last_epoch`` into every group.

    A subclass implements ``get_lr()``: the new lrs computed from the groups' current
    lrs and ``last_epoch``; it may define ``_closed_form()`` (the lrs of ``last_epoch``
    from ``base_lrs`` alone), used when ``SequentialLR`` restarts it at epoch 0.
    """

    _choices: dict = {}  # a string entry of the state -> its allowed values

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__init__ = _groups_kept(cls.__dict__["__init__"])  # type: ignore[method-assign]

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        last_epoch = _check_last_epoch(type(self).__name__, last_epoch)
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            lacking = [i for i, group in enumerate(optimizer.param_groups) if "initial_lr" not in group]
            if lacking:
                raise MissingInitialLRError(
                    f"{type(self).__name__}: resuming with last_epoch={last_epoch} needs 'initial_lr' in every "
                    f"parameter group; param_groups {lacking} have none (load the optimizer's state first, or "
                    "start with last_epoch=-1)")
        self.optimizer = optimizer
        self.base_lrs: list = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._last_lr: list = [group["lr"] for group in optimizer.param_groups]
        self._initial_step()  # (_step_count: torch's count of step() calls, creation's included)

    def _initial_step(self) -> None:
        """The step made on creation (the step count starts over: 1 after it, as torch's)."""
        self._step_count = 0
        self._advance(self._initial_lrs)

    def _advance(self, lrs: Any) -> None:
        """One epoch on, with the learning rates ``lrs()`` computed there; a failure (an error
        from ``lrs`` or from applying them) leaves the epoch where it was."""
        self.last_epoch += 1
        self._step_count = getattr(self, "_step_count", 0) + 1
        try:
            self._apply(lrs())
        except Exception:
            self.last_epoch -= 1
            self._step_count -= 1
            raise

    def _initial_lrs(self) -> list:
        """The lrs set on creation: the groups' current ones for this library's schedules
        (each overrides this where it starts elsewhere); a ``get_lr()`` written outside the
        library (a user's subclass) is called at epoch 0, as torch's creation step calls it,
        so a warm-up schedule starts at its first value."""
        owner = next(c for c in type(self).__mro__ if "get_lr" in c.__dict__)
        if not owner.__module__.startswith(_PACKAGE):
            return self.get_lr()
        return [group["lr"] for group in self.optimizer.param_groups]

    def get_lr(self) -> list:
        """The lr of every group for epoch ``self.last_epoch``."""
        raise NotImplementedError

    def _apply(self, lrs: Any) -> None:
        """Write ``lrs`` (one real number per group; checked whole before any is written)."""
        name, n = type(self).__name__, len(self.optimizer.param_groups)
        if not isinstance(lrs, (list, tuple)):
            raise TypeError(f"{name}.get_lr() must return a list of {n} learning rate(s), got {type(lrs).__name__}")
        if len(lrs) != n:
            raise ValueError(f"{name}.get_lr() returned {len(lrs)} learning rate(s), one per entry of the "
                             f"optimizer's parameter groups is needed ({n}; or the groups changed after the "
                             "scheduler was created)")
        lrs = list(lrs)
        for i, lr in enumerate(lrs):
            raw = lr._data if isinstance(lr, Tensor) else lr  # a one-element Tensor or array holds its number
            v = raw.item() if isinstance(raw, np.ndarray) and raw.size == 1 else raw
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real) or math.isnan(v):
                raise ValueError(f"{name}.get_lr() returned {lr!r} for parameter group {i}; a learning rate "
                                 "is a real number")
            bases = getattr(self, "base_lrs", ())
            if v < 0 and i < len(bases) and -v <= 1e-12 * abs(float(bases[i])):
                v = 0.0  # a schedule ending at 0 (LinearLR's end_factor=0.0) that rounding took below it
            lrs[i] = v  # (a Tensor's or array's number: the optimizer's lr is a real number)
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = list(lrs)

    def step(self, epoch: Optional[int] = None) -> None:
        """Advance one epoch and set the groups' learning rates (a failing step keeps the epoch).

        ``step(epoch)`` is torch's deprecated spelling, kept with torch's meaning and warning:
        go to ``epoch`` (an int >= 0) and set the lrs of the schedule's closed form there
        (``get_lr()`` at that epoch for a schedule without one)."""
        if epoch is None:
            self._advance(self.get_lr)
            return
        name = type(self).__name__
        if isinstance(epoch, (bool, np.bool_)) or not isinstance(epoch, numbers.Integral) or epoch < 0:
            raise TypeError(f"{name}.step(epoch): epoch must be an int >= 0 (or omitted, the usual spelling), "
                            f"got {epoch!r}")
        warnings.warn(f"{name}.step(epoch) is deprecated (as in torch): call step() once per epoch; the lrs of "
                      "the schedule's closed form at that epoch are set", UserWarning, stacklevel=2)
        previous = self.last_epoch
        self.last_epoch = int(epoch)
        try:
            closed = getattr(self, "_closed_form", None)
            self._apply(closed() if closed is not None else self.get_lr())
        except Exception:
            self.last_epoch = previous
            raise
        self._step_count = getattr(self, "_step_count", 0) + 1

    def _restart(self) -> None:
        """Go to epoch 0 (``SequentialLR`` at a milestone): the closed form there if the
        schedule has one, else ``get_lr()``."""
        self.last_epoch = 0
        self._step_count = 1  # (torch starts the part over there: its count too)
        closed = getattr(self, "_closed_form", None)
        self._apply(closed() if closed is not None else self.get_lr())

    def get_last_lr(self) -> list:
        """The learning rates set by the latest ``step()`` (or found at creation)."""
        return list(self._last_lr)

    def state_dict(self) -> dict:
        """Everything but the optimizer, as plain data."""
        return {k: copy.deepcopy(v) for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore a state made by ``state_dict()`` (all or nothing)."""
        self._check_state(state_dict)
        self._commit(state_dict)

    def _check_state(self, state_dict: Any, floor: int = -1) -> None:
        """Raise TypeError / ValueError if ``state_dict`` is not a state of this scheduler
        (``floor``: the lowest ``last_epoch`` it may hold; below -1 for a part not yet started
        of a ``SequentialLR`` nested in another, whose creation steps it back once more)."""
        if not isinstance(state_dict, dict):
            raise TypeError(f"a scheduler state_dict is a dict, got {type(state_dict).__name__}")
        own = self.state_dict()
        unknown = set(state_dict) - own.keys() - _TORCH_ONLY
        if unknown:
            raise ValueError(f"unknown entries for {type(self).__name__}: {sorted(unknown)}")
        n = len(self.optimizer.param_groups)
        for key, value in state_dict.items():  # every entry checked before anything changes
            if key in _TORCH_ONLY:
                continue
            if key == "last_epoch":  # -1: not started (a later part of a SequentialLR)
                _int(key, value, floor)
            elif key == "_step_count":
                _int(key, value, 0)
            elif key in ("base_lrs", "_last_lr"):
                if not isinstance(value, (list, tuple)) or len(value) != n:
                    raise ValueError(f"{key} must be a list of {n} learning rate(s), one per parameter group, "
                                     f"got {value!r}")
                for v in value:
                    check_number(f"{key} entry", v)
            elif key in ("step_size", "T_max", "total_steps"):
                _int(key, value, 1)
            elif key in ("patience", "cooldown", "num_bad_epochs", "cooldown_counter"):
                _int(key, value, 0)
            elif key == "factor":  # ReduceLROnPlateau's in [0, 1), ConstantLR's in (0, 1]
                plateau = "num_bad_epochs" in own
                check_number("factor", value, 0.0, 1.0, low_open=not plateau, high_open=plateau)
            elif key == "gamma":
                check_number("gamma", value, 0.0, low_open=True)
            elif key == "eta_min":
                check_number("eta_min", value)
            elif key in self._choices:
                _choice(type(self).__name__, key, value, self._choices[key])
            elif key == "use_beta1" and value is True and not all("betas" in g for g in self.optimizer.param_groups):
                raise ValueError("use_beta1=True cycles betas[0], which this optimizer's groups do not have")
            else:
                _like(key, own[key], value)

    def _commit(self, state_dict: dict) -> None:
        self.__dict__.update(copy.deepcopy({k: v for k, v in state_dict.items() if k not in _TORCH_ONLY}))


# entries of torch's scheduler state dicts about its own bookkeeping, which nothing here reads:
# a state dict saved by torch loads without them
_TORCH_ONLY = frozenset(("_is_initial", "_get_lr_called_within_step", "verbose"))


# a user's subclass without its own __init__ runs this one: its failure (a get_lr() refused at
# creation) must also leave the groups without the "initial_lr" it wrote
LRScheduler.__init__ = _groups_kept(LRScheduler.__init__)  # type: ignore[method-assign]


def _set_momentum(group: dict, use_beta1: bool, value: float) -> None:
    """Write a cycled momentum: Adam's ``betas[0]`` or SGD's / RMSprop's ``momentum``."""
    if use_beta1:
        group["betas"] = (value, *tuple(group["betas"])[1:])
    else:
        group["momentum"] = value


def _uses_beta1(owner: str, optimizer: Optimizer) -> bool:
    """Whether momentum is cycled through ``betas[0]`` (else ``momentum``); ValueError if the
    optimizer has neither."""
    if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
        raise ValueError(f"{owner}: cycle_momentum=True needs an optimizer with 'momentum' or 'betas', and "
                         f"{type(optimizer).__name__} has neither (pass cycle_momentum=False)")
    return "betas" in optimizer.defaults


def _metric(owner: str, value: Any) -> Optional[float]:
    """A monitored quantity as a float (a number, a 0-d array or a one-element Tensor)."""
    if hasattr(value, "item") and not isinstance(value, numbers.Real):
        size = getattr(value, "size", 1)
        size = size() if callable(size) else size  # (a Tensor's size() is its shape)
        if np.prod(size) != 1:
            raise ValueError(f"{owner}: metrics must be one number, got a {type(value).__name__} of shape "
                             f"{getattr(value, 'shape', size)}")
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: metrics must be a real number, got {type(value).__name__}")
    return float(value)
