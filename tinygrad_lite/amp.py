"""torch's mixed-precision spellings: ``tl.amp.GradScaler``, ``tl.autocast`` / ``tl.amp.autocast``
(also as ``tl.cuda.amp``), so a training script written with them runs unchanged.

Every tensor here computes in its own dtype (there is no float16 / bfloat16 kernel to switch
to), so ``autocast(..., enabled=False)`` changes nothing and ``enabled=True`` raises an error
naming the fix. ``GradScaler`` is torch's loss scaler: with ``enabled=False`` (or for the
``"cuda"`` device, which does not exist here: disabled with a warning, as torch does without
CUDA) every method passes through; enabled (``"cpu"``) it multiplies the loss by ``scale``,
divides the gradients by it in ``unscale_`` / ``step``, skips the optimizer's step when a
gradient is inf or NaN, and ``update`` grows or backs off the scale. Each scaler keeps its
scale, growth tracker and the per-optimizer stage of the current iteration; it touches the
``.grad`` arrays of the optimizer's parameters and nothing else.
"""

from __future__ import annotations

import functools
import math
import numbers
import warnings
from collections.abc import Iterator
from typing import Any, Callable, Optional

import numpy as np

from .tensor import Tensor

__all__ = ["GradScaler", "autocast"]

_READY, _UNSCALED, _STEPPED = "ready", "unscaled", "stepped"


class autocast:  # noqa: N801  (torch's name)
    """``with autocast(device_type, dtype=None, enabled=True, cache_enabled=None):`` or as a
    decorator. Disabled it changes nothing; enabled it raises ``RuntimeError`` (mixed
    precision would need float16 / bfloat16 kernels, which this library does not have)."""

    def __init__(self, device_type: str = "cuda", dtype: Any = None, enabled: bool = True,
                 cache_enabled: Optional[bool] = None) -> None:
        if not isinstance(device_type, str):
            raise TypeError(f"autocast: device_type must be a str such as 'cpu', got {device_type!r}")
        if not isinstance(enabled, (bool, np.bool_)):
            raise TypeError(f"autocast: enabled must be a bool, got {enabled!r}")
        self.device_type, self.fast_dtype, self.enabled = device_type, dtype, bool(enabled)

    def __enter__(self) -> "autocast":
        if self.enabled:
            raise RuntimeError(
                f"autocast(device_type={self.device_type!r}, enabled=True): mixed precision is not supported "
                "(every tensor computes in its own dtype); pass enabled=False, or convert the model with "
                "model.float() / model.double()")
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            with autocast(self.device_type, self.fast_dtype, self.enabled):
                return fn(*args, **kwargs)

        return wrapped


def _number(v: Any) -> Any:
    """A one-element Tensor or ndarray as its number (torch takes 1-element tensors); else ``v``."""
    data = v.data if isinstance(v, Tensor) else v
    if isinstance(data, np.ndarray) and data.size == 1 and data.dtype.kind in "iuf":
        return data.reshape(()).item()
    return v


def _positive(name: str, v: Any, who: str = "GradScaler") -> float:
    """``v`` as a finite float > 0 (an inf scale would make every gradient inf or NaN)."""
    v = _number(v)
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real) or not v > 0 or not math.isfinite(v):
        raise ValueError(f"{who}: {name} must be a positive number (finite), got {v!r}")
    return float(v)


def _count(name: str, v: Any, low: int, who: str) -> int:
    """``v`` as an int >= ``low`` (a whole float, as a checkpoint may hold, is taken)."""
    v = _number(v)
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral) or v < low:
        raise ValueError(f"{who}: {name} must be an int >= {low}, got {v!r}")
    return int(v)


class GradScaler:
    """torch's loss scaler (``GradScaler(device="cuda", init_scale=2.**16, growth_factor=2.0,
    backoff_factor=0.5, growth_interval=2000, enabled=True)``).

    Per iteration: ``scaler.scale(loss).backward()`` (the loss times ``S``),
    optionally ``scaler.unscale_(opt)`` (every gradient times ``1 / S``; once per optimizer
    and iteration) before clipping, ``scaler.step(opt)`` (unscales if not done, then steps
    unless some gradient is inf / NaN) and ``scaler.update()``: after a skipped step
    ``S *= backoff_factor``, after ``growth_interval`` clean iterations in a row
    ``S *= growth_factor``. With a power-of-two scale the unscaled gradients are exactly
    those of the unscaled loss, so a run equals one without the scaler (except that steps
    with inf / NaN gradients are skipped). Only ``.grad`` is unscaled, not the per-sample
    gradients, so an enabled scaler is refused for ``DPSGD`` (a ``ValueError`` in ``unscale_``).
    """

    def __init__(self, device: str = "cuda", init_scale: float = 2.0**16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000, enabled: bool = True) -> None:
        if not isinstance(device, str):
            raise TypeError(f"GradScaler: device must be a str such as 'cpu', got {device!r}")
        if not isinstance(enabled, (bool, np.bool_)):
            raise TypeError(f"GradScaler: enabled must be a bool, got {enabled!r}")
        self._init_scale = _positive("init_scale", init_scale)
        self._growth_factor = _positive("growth_factor", growth_factor)
        self._backoff_factor = _positive("backoff_factor", backoff_factor)
        if self._growth_factor <= 1.0 or self._backoff_factor >= 1.0:
            raise ValueError(f"GradScaler: growth_factor must be > 1 and backoff_factor < 1, got "
                             f"{growth_factor!r} and {backoff_factor!r}")
        self._growth_interval = _count("growth_interval", growth_interval, 1, "GradScaler")
        self._enabled = bool(enabled)
        if self._enabled and device.split(":")[0] != "cpu":
            warnings.warn(f"GradScaler is enabled for device {device!r}, which is not available "
                          "(computation runs on the CPU). Disabling.", UserWarning, stacklevel=2)
            self._enabled = False
        self._device = device
        self._scale = self._init_scale
        self._growth_tracker = 0
        self._per_optimizer: dict[int, dict[str, Any]] = {}

    # ------------------------------------------------------------------ queries
    def is_enabled(self) -> bool:
        """Whether the scaler scales (False: every method passes through)."""
        return self._enabled

    def get_scale(self) -> float:
        """The current scale ``S`` (1.0 when disabled)."""
        return self._scale if self._enabled else 1.0

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def get_growth_interval(self) -> int:
        return self._growth_interval

    # ------------------------------------------------------------------ the iteration
    def scale(self, outputs: Any) -> Any:
        """``outputs * S`` (a Tensor, or a list / tuple of them, or an iterator of them, scaled
        as it is read); unchanged when disabled."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, Tensor):
            if outputs.dtype.kind != "f":  # an integer output becomes float, as torch's float scale makes it
                return outputs * self._scale
            return outputs * np.asarray(self._scale, dtype=outputs.dtype)
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        if isinstance(outputs, Iterator):  # (a generator or map: scaled lazily, as torch's)
            return map(self.scale, outputs)
        raise TypeError(f"GradScaler.scale: outputs must be a Tensor, a list / tuple of Tensors or an iterator of "
                        f"them, got {type(outputs).__name__}")

    def _state(self, optimizer: Any) -> dict[str, Any]:
        return self._per_optimizer.setdefault(id(optimizer), {"stage": _READY, "found_inf": False})

    def unscale_(self, optimizer: Any) -> None:
        """Every gradient of ``optimizer``'s parameters times ``1 / S``, in place; records
        whether any is inf / NaN. Once per optimizer between two ``update()`` calls."""
        if not self._enabled:
            return
        stage = self._per_optimizer.get(id(optimizer), {"stage": _READY})["stage"]
        if stage == _UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the last update().")
        if stage == _STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        groups = self._groups("unscale_", optimizer)
        inv = 1.0 / self._scale
        new: list = []  # every gradient computed before any is written: a failure changes nothing
        for group in groups:
            for p in group["params"]:
                if p.grad is not None:
                    new.append((p, np.asarray(p.grad * np.asarray(inv, dtype=p.grad.dtype), dtype=p.grad.dtype)))
        found = not all(bool(np.all(np.isfinite(g))) for _, g in new)
        for p, g in new:
            p.grad = g
        self._state(optimizer).update(stage=_UNSCALED, found_inf=found)

    @staticmethod
    def _groups(who: str, optimizer: Any) -> list:
        """The optimizer's parameter groups, or a TypeError / ValueError naming ``who``."""
        from .optim.dpsgd import DPSGD  # (here: the optimizers import the whole library)

        groups = getattr(optimizer, "param_groups", None)
        if not isinstance(groups, list):
            raise TypeError(f"GradScaler.{who}: expected an optimizer (with param_groups), got "
                            f"{type(optimizer).__name__}")
        if isinstance(optimizer, DPSGD):
            raise ValueError(f"GradScaler.unscale_: {type(optimizer).__name__} clips per-sample gradients, which the "
                             "scaler does not unscale; use GradScaler(enabled=False) with it")
        return groups

    def step(self, optimizer: Any, *args: Any, **kwargs: Any) -> Any:
        """``optimizer.step(*args, **kwargs)`` after ``unscale_`` (if not done yet), skipped
        (returning None) when a gradient is inf / NaN; disabled: just the step."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        stage = self._per_optimizer.get(id(optimizer), {"stage": _READY})["stage"]
        if stage == _STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if stage == _READY:
            groups = self._groups("step", optimizer)
            if all(p.grad is None for group in groups for p in group["params"]):
                raise RuntimeError("GradScaler.step: no inf checks were recorded for this optimizer (none of its "
                                   "parameters has a gradient; call scaler.scale(loss).backward() first)")
            self.unscale_(optimizer)
        state = self._state(optimizer)
        result = None if state["found_inf"] else optimizer.step(*args, **kwargs)
        state["stage"] = _STEPPED
        return result

    def update(self, new_scale: Optional[float] = None) -> None:
        """Ends the iteration: ``new_scale`` if given, else back off after an inf / NaN
        gradient or grow after ``growth_interval`` clean iterations."""
        if not self._enabled:
            return
        if new_scale is not None:
            self._scale = _positive("new_scale", new_scale, "GradScaler.update")
        else:
            if not self._per_optimizer:
                raise RuntimeError("GradScaler.update: no inf checks were recorded prior to update() "
                                   "(call scaler.step(optimizer) or scaler.unscale_(optimizer) first)")
            if any(s["found_inf"] for s in self._per_optimizer.values()):
                self._scale *= self._backoff_factor
                self._growth_tracker = 0
            else:
                self._growth_tracker += 1
                if self._growth_tracker == self._growth_interval:
                    self._scale *= self._growth_factor
                    self._growth_tracker = 0
        self._per_optimizer = {}

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """torch's keys (``scale``, ``growth_factor``, ``backoff_factor``, ``growth_interval``,
        ``_growth_tracker``); empty when disabled."""
        if not self._enabled:
            return {}
        return {"scale": self._scale, "growth_factor": self._growth_factor, "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval, "_growth_tracker": self._growth_tracker}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restores what ``state_dict`` saved (a disabled scaler ignores it; an empty state
        for an enabled one is a RuntimeError, as torch)."""
        if not self._enabled:
            return
        if not isinstance(state_dict, dict):
            raise TypeError(f"GradScaler.load_state_dict: expected a dict, got {type(state_dict).__name__}")
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved from a disabled "
                               "instance of GradScaler.")
        missing = [k for k in ("scale", "growth_factor", "backoff_factor", "growth_interval") if k not in state_dict]
        if missing:
            raise KeyError(f"GradScaler.load_state_dict: the state dict lacks {missing}")
        who = "GradScaler.load_state_dict"  # every entry checked before anything changes
        scale = _positive("scale", state_dict["scale"], who)
        growth = _positive("growth_factor", state_dict["growth_factor"], who)
        backoff = _positive("backoff_factor", state_dict["backoff_factor"], who)
        if growth <= 1.0 or backoff >= 1.0:
            raise ValueError(f"{who}: growth_factor must be > 1 and backoff_factor < 1, got {growth!r} and {backoff!r}")
        interval = _count("growth_interval", state_dict["growth_interval"], 1, who)
        tracker = _count("_growth_tracker", state_dict.get("_growth_tracker", 0), 0, who)
        self._scale, self._growth_factor, self._backoff_factor = scale, growth, backoff
        self._growth_interval, self._growth_tracker = interval, tracker
