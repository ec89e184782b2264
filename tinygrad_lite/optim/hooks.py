"""Optimizer hooks, as PyTorch's: around ``step()``, ``state_dict()`` and ``load_state_dict()``.

* ``opt.register_step_pre_hook(hook)``: ``hook(optimizer, args, kwargs)`` runs before each
  step (``args``: the step's arguments with the optimizer first, as torch's); it may return
  ``(new_args, new_kwargs)`` to replace them.
* ``opt.register_step_post_hook(hook)``: ``hook(optimizer, args, kwargs)`` after each step.
* ``register_optimizer_step_pre_hook(hook)`` / ``register_optimizer_step_post_hook(hook)``:
  the same for every optimizer (global ones run before the optimizer's own pre hooks and
  after its own post hooks).
* ``opt.register_state_dict_pre_hook(hook, prepend=False)``: ``hook(optimizer)`` before
  ``state_dict()``; ``register_state_dict_post_hook(hook, prepend=False)``:
  ``hook(optimizer, state_dict)``, which may return a replacement state dict;
  ``register_load_state_dict_pre_hook(hook, prepend=False)``: ``hook(optimizer,
  state_dict)``, which may return the state dict to load instead;
  ``register_load_state_dict_post_hook(hook, prepend=False)``: ``hook(optimizer)``.

Each ``register_*`` returns a handle whose ``remove()`` detaches the hook. ``Optimizer``
wraps these three methods of every subclass that defines them (``wrap``); when no hook is
registered the wrapper costs one dict lookup per call, and a subclass's step calling its
base's step runs the hooks once.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import numpy as np

from ..hooks import insert

__all__ = ["register_optimizer_step_pre_hook", "register_optimizer_step_post_hook", "Handle", "HookMethods", "wrap"]

_GLOBAL_PRE: dict = {}
_GLOBAL_POST: dict = {}


class Handle:
    """What a ``register_*`` call returns: ``remove()`` detaches the hook (also on leaving a
    ``with`` block)."""

    def __init__(self, table: dict, key: int) -> None:
        self._table, self.id = table, key

    def remove(self) -> None:
        self._table.pop(self.id, None)

    def __enter__(self) -> "Handle":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


def _add(table: Any, hook: Callable, prepend: Any = False, who: str = "register_optimizer_hook") -> Handle:
    """Add ``hook`` to ``table`` (a dict, or ``(optimizer, attribute name)`` whose dict is made
    only once the arguments are checked); bad arguments raise naming ``who``."""
    if isinstance(table, tuple):
        who = f"{type(table[0]).__name__}.{who}"
    if not callable(hook):
        raise TypeError(f"{who}: the hook must be callable, got {type(hook).__name__}")
    if not isinstance(prepend, (bool, np.bool_)):
        raise TypeError(f"{who}: prepend must be a bool, got {prepend!r}")
    if isinstance(table, tuple):
        table = _table(*table)
    return Handle(table, insert(table, hook, bool(prepend)))


def register_optimizer_step_pre_hook(hook: Callable) -> Handle:
    """A pre hook of every optimizer's ``step`` (``hook(optimizer, args, kwargs)``)."""
    return _add(_GLOBAL_PRE, hook, who="register_optimizer_step_pre_hook")


def register_optimizer_step_post_hook(hook: Callable) -> Handle:
    """A post hook of every optimizer's ``step`` (``hook(optimizer, args, kwargs)``)."""
    return _add(_GLOBAL_POST, hook, who="register_optimizer_step_post_hook")


def _table(opt: Any, name: str) -> dict:
    return opt.__dict__.setdefault(name, {})


class HookMethods:
    """The ``register_*`` methods of ``Optimizer``."""

    def register_step_pre_hook(self, hook: Callable) -> Handle:
        """``hook(optimizer, args, kwargs)`` before each ``step``; may return ``(args, kwargs)``."""
        return _add((self, "_step_pre_hooks"), hook, False, "register_step_pre_hook")

    def register_step_post_hook(self, hook: Callable) -> Handle:
        """``hook(optimizer, args, kwargs)`` after each ``step``."""
        return _add((self, "_step_post_hooks"), hook, False, "register_step_post_hook")

    def register_state_dict_pre_hook(self, hook: Callable, prepend: bool = False) -> Handle:
        """``hook(optimizer)`` before ``state_dict()``."""
        return _add((self, "_state_dict_pre_hooks"), hook, prepend, "register_state_dict_pre_hook")

    def register_state_dict_post_hook(self, hook: Callable, prepend: bool = False) -> Handle:
        """``hook(optimizer, state_dict)`` after ``state_dict()``; may return a new state dict."""
        return _add((self, "_state_dict_post_hooks"), hook, prepend, "register_state_dict_post_hook")

    def register_load_state_dict_pre_hook(self, hook: Callable, prepend: bool = False) -> Handle:
        """``hook(optimizer, state_dict)`` before ``load_state_dict``; may return the dict to load."""
        return _add((self, "_load_state_dict_pre_hooks"), hook, prepend, "register_load_state_dict_pre_hook")

    def register_load_state_dict_post_hook(self, hook: Callable, prepend: bool = False) -> Handle:
        """``hook(optimizer)`` after ``load_state_dict``."""
        return _add((self, "_load_state_dict_post_hooks"), hook, prepend, "register_load_state_dict_post_hook")


def _step(fn: Callable) -> Callable:
    @functools.wraps(fn)
    def step(self: Any, *args: Any, **kwargs: Any) -> Any:
        d = self.__dict__
        if not (_GLOBAL_PRE or _GLOBAL_POST or d.get("_step_pre_hooks") or d.get("_step_post_hooks")) \
                or d.get("_in_step"):
            return fn(self, *args, **kwargs)
        args = (self, *args)  # (torch's hooks see the step's arguments with the optimizer first)
        for hook in list(_GLOBAL_PRE.values()) + list(d.get("_step_pre_hooks", {}).values()):
            res = hook(self, args, kwargs)
            if res is not None:
                if not (isinstance(res, tuple) and len(res) == 2 and isinstance(res[1], dict)):
                    raise RuntimeError(f"{type(self).__name__}.step: a step pre hook must return None or "
                                       f"(args, kwargs), got {res!r}")
                if not isinstance(res[0], (tuple, list)):
                    raise RuntimeError(f"{type(self).__name__}.step: a step pre hook returned args of type "
                                       f"{type(res[0]).__name__}; they must be a tuple (args, kwargs)")
                args, kwargs = tuple(res[0]), res[1]
        d["_in_step"] = True
        try:
            out = fn(*args, **kwargs)
        finally:
            d["_in_step"] = False
        for hook in list(d.get("_step_post_hooks", {}).values()) + list(_GLOBAL_POST.values()):
            hook(self, args, kwargs)
        return out
    return step


def _state_dict(fn: Callable) -> Callable:
    @functools.wraps(fn)
    def state_dict(self: Any) -> dict:
        d = self.__dict__
        if not (d.get("_state_dict_pre_hooks") or d.get("_state_dict_post_hooks")) or d.get("_in_state_dict"):
            return fn(self)
        for hook in list(d.get("_state_dict_pre_hooks", {}).values()):
            hook(self)
        d["_in_state_dict"] = True
        try:
            sd = fn(self)
        finally:
            d["_in_state_dict"] = False
        for hook in list(d.get("_state_dict_post_hooks", {}).values()):
            res = hook(self, sd)
            if res is not None:
                sd = res
        return sd
    return state_dict


def _load_state_dict(fn: Callable) -> Callable:
    @functools.wraps(fn)
    def load_state_dict(self: Any, state_dict: dict) -> None:
        d = self.__dict__
        if not (d.get("_load_state_dict_pre_hooks") or d.get("_load_state_dict_post_hooks")) \
                or d.get("_in_load_state_dict"):
            return fn(self, state_dict)
        for hook in list(d.get("_load_state_dict_pre_hooks", {}).values()):
            res = hook(self, state_dict)
            if res is not None:
                state_dict = res
        d["_in_load_state_dict"] = True
        try:
            fn(self, state_dict)
        finally:
            d["_in_load_state_dict"] = False
        for hook in list(d.get("_load_state_dict_post_hooks", {}).values()):
            hook(self)
        return None
    return load_state_dict


_WRAPPERS = {"step": _step, "state_dict": _state_dict, "load_state_dict": _load_state_dict}


def wrap(cls: type) -> None:
    """Wrap ``cls``'s own ``step`` / ``state_dict`` / ``load_state_dict`` with the hooks (once)."""
    for name, make in _WRAPPERS.items():
        fn = cls.__dict__.get(name)
        if fn is not None and callable(fn) and not getattr(fn, "_with_hooks", False):
            wrapped = make(fn)
            wrapped._with_hooks = True  # type: ignore[attr-defined]
            setattr(cls, name, wrapped)
