"""``inplace=True`` for the functions of ``tl.nn.functional`` that take it (``F.elu(x,
inplace=True)``, ``F.dropout(x, p, inplace=True)``, ...) and torch's in-place names
(``F.relu_``, ``F.elu_``, ...); and the modules' ``inplace=True`` (``forward``).

The function computes its out-of-place result, and the input takes it in place by the rule
of every in-place method (``Tensor._assign``): recorded in the graph when the input belongs
to one (``h = lin(x); F.relu(h, inplace=True)`` makes ``h`` the relu's output), a plain
write of the data otherwise. The input is returned, as torch's functions return it.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

import numpy as np

from ..tensor import Tensor

# torch's F names that are in-place by definition: name_ -> the function they call
UNDERSCORED = ("relu", "elu", "leaky_relu", "hardtanh", "threshold", "rrelu", "celu", "selu")


def in_place(x: Any, who: str, fn: Callable[[Tensor], Tensor]) -> Tensor:
    """``x`` takes the value ``fn(x)`` in place (recorded inside a graph); returns ``x``."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{who}: inplace=True needs a Tensor input, got {type(x).__name__}")
    return x._assign(who, None, fn)


def forward(module: Any, input: Any, fn: Callable[[Any], Tensor]) -> Tensor:
    """A module's result ``fn(input)``; with torch's ``inplace=True`` (``nn.ReLU(inplace=True)``)
    the input takes it in place and is returned, as torch's module does: code that reads the
    input again (``h + relu(h)``) sees the activation there too."""
    if module.inplace:
        return in_place(input, type(module).__name__, fn)
    return fn(input)


def checked_flag(v: Any, who: str) -> bool:
    """``inplace`` as a bool (numpy's bools too), else TypeError naming ``who``."""
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    raise TypeError(f"{who}: inplace must be a bool, got {v!r}")


def with_inplace(fn: Callable) -> Callable:
    """``fn`` (whose ``inplace`` parameter it refuses when True) taking ``inplace=True``."""
    pos = list(inspect.signature(fn).parameters).index("inplace")
    who = fn.__name__

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        flag = args[pos] if len(args) > pos else kwargs.get("inplace", False)
        if flag is False or not checked_flag(flag, who):
            return fn(*args, **kwargs)
        if len(args) > pos:
            args = (*args[:pos], False, *args[pos + 1:])
        else:
            kwargs["inplace"] = False
        if args:
            x, rest = args[0], args[1:]
        elif "input" in kwargs:
            x, rest = kwargs.pop("input"), ()
        else:
            raise TypeError(f"{who}: missing the input tensor")
        return in_place(x, who, lambda t: fn(t, *rest, **kwargs))

    return wrapper


def add_inplace(namespace: dict) -> None:
    """Wrap every function of ``namespace`` that has an ``inplace`` parameter and add the
    underscored names."""
    for name, fn in list(namespace.items()):
        if name.startswith("_") or not inspect.isfunction(fn) or name == "relu":
            continue
        try:
            params = inspect.signature(fn).parameters
        except (TypeError, ValueError):
            continue
        if "inplace" in params:
            namespace[name] = with_inplace(fn)
    for name in UNDERSCORED:
        if name in namespace and name + "_" not in namespace:
            namespace[name + "_"] = _underscored(namespace[name], name)
            if "__all__" in namespace:
                namespace["__all__"].append(name + "_")


def _underscored(fn: Callable, name: str) -> Callable:
    def method(input: Any, *args: Any, **kwargs: Any) -> Any:
        kwargs.pop("inplace", None)
        return fn(input, *args, inplace=True, **kwargs)

    method.__name__ = method.__qualname__ = name + "_"
    method.__doc__ = f"``{name}(input, ..., inplace=True)``: the input takes the result in place and is returned."
    return method
