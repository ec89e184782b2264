"""numpy's ``axis=`` / ``keepdims=`` spellings of torch's ``dim=`` / ``keepdim=``.

torch's Tensor methods and ``torch.*`` functions take both spellings (``x.cumsum(axis=0)``,
``torch.std(x, axis=0, keepdims=True)``, ``torch.softmax(x, axis=1)``). Here every method of
``Tensor`` and every function of the package namespace whose parameter is named ``dim``
(``keepdim``) and that has no parameter of the numpy name takes the numpy name as that same
argument. Giving both spellings is a TypeError naming the function.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Dict, MutableMapping

_ALIASES = (("axis", "dim"), ("keepdims", "keepdim"))
_MADE: Dict[Any, Callable[..., Any]] = {}  # one wrapper per function, so every namespace holds the same object


def _parameters(fn: Callable[..., Any]) -> Dict[str, Any]:
    try:
        return dict(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return {}


def accept_axis(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` itself when it needs no alias, else a wrapper (same name, docstring and signature)
    that reads ``axis=`` as ``dim=`` and ``keepdims=`` as ``keepdim=``."""
    if getattr(fn, "_numpy_axis_alias", False):
        return fn
    if fn in _MADE:
        return _MADE[fn]
    params = _parameters(fn)
    swaps = tuple((alias, name) for alias, name in _ALIASES if name in params and alias not in params)
    if not swaps:
        return fn
    who = getattr(fn, "__name__", "function")

    @functools.wraps(fn)
    def with_numpy_names(*args: Any, **kwargs: Any) -> Any:
        if kwargs:
            for alias, name in swaps:
                if alias in kwargs:
                    if name in kwargs:
                        raise TypeError(f"{who}: give either {name}= or {alias}= (one argument, two "
                                        f"spellings), not both")
                    kwargs[name] = kwargs.pop(alias)
        return fn(*args, **kwargs)

    with_numpy_names._numpy_axis_alias = True  # type: ignore[attr-defined]
    _MADE[fn] = with_numpy_names
    return with_numpy_names


def add_axis_aliases(cls: type) -> None:
    """Give every public method of ``cls`` (inherited ones included) the numpy spellings."""
    for name in dir(cls):
        if name.startswith("_"):
            continue
        attr = inspect.getattr_static(cls, name)
        if inspect.isfunction(attr):
            wrapped = accept_axis(attr)
            if wrapped is not attr:
                setattr(cls, name, wrapped)


def alias_functions(*namespaces: MutableMapping[str, Any]) -> None:
    """Give every public function of each namespace (a module's globals) the numpy spellings;
    a function found in several namespaces gets the same wrapper in each."""
    for namespace in namespaces:
        for name, attr in list(namespace.items()):
            if not name.startswith("_") and inspect.isfunction(attr):
                namespace[name] = accept_axis(attr)


__all__ = ["accept_axis", "add_axis_aliases", "alias_functions"]
