"""``functional_call``: run a module with some of its parameters and buffers replaced by
given tensors for the one call (as ``torch.nn.utils.stateless.functional_call`` /
``torch.func.functional_call``), so the output is a function of those tensors and
gradients flow to them; the module's own tensors are put back afterwards, also on error.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Union

import numpy as np

from ...ops.base import const as _const
from ...tensor import Tensor
from ..module import Module

__all__ = ["functional_call"]


def _owner(module: Module, key: str) -> tuple:
    *path, name = key.split(".")
    m = module
    for p in path:
        m = m.get_submodule(p) if isinstance(m, Module) else None
    return m, name


def functional_call(module: Module, parameter_and_buffer_dicts: Union[dict, Sequence[dict]], args: Any = None,
                    kwargs: Optional[dict] = None, *, tie_weights: bool = True, strict: bool = False) -> Any:
    """``module(*args, **kwargs)`` with each tensor named in the dict(s) (state-dict keys,
    e.g. ``"0.weight"``) standing in for the module's. ``tie_weights``: a tensor the module
    holds under several names (tied weights) is replaced under all of them. ``strict``: every
    parameter and buffer must be given. A key the module does not have is a KeyError, and
    nothing is replaced."""
    if not isinstance(module, Module):
        raise TypeError(f"functional_call: expected a Module, got {type(module).__name__}")
    dicts = [parameter_and_buffer_dicts] if isinstance(parameter_and_buffer_dicts, dict) \
        else list(parameter_and_buffer_dicts)
    given: dict = {}
    for d in dicts:
        for k, v in d.items():
            if k in given:
                raise ValueError(f"functional_call: {k!r} appears in more than one dict")
            given[k] = v if isinstance(v, Tensor) else _const(np.asarray(v))
    current = module._state_tensors()
    for name, b in module.named_buffers():  # (non-persistent buffers too)
        current.setdefault(name, b)
    unknown = [k for k in given if k not in current]
    if unknown:
        raise KeyError(f"functional_call: {type(module).__name__} has no parameter or buffer {unknown}")
    if tie_weights:
        by_id: dict = {}
        for k, t in current.items():
            by_id.setdefault(id(t), []).append(k)
        for k in list(given):
            for other in by_id[id(current[k])]:
                if other in given and given[other] is not given[k]:
                    raise ValueError(f"functional_call: tied tensors {k!r} and {other!r} are given different values")
                given.setdefault(other, given[k])
    if strict:
        missing = [k for k in current if k not in given]
        if missing:
            raise RuntimeError(f"functional_call: missing key(s) with strict=True: {missing}")
    saved = []
    try:
        for k, t in given.items():
            m, name = _owner(module, k)
            saved.append((m, name, m.__dict__[name]))
            object.__setattr__(m, name, t)
        args = () if args is None else args if isinstance(args, tuple) else (args,)
        return module(*args, **(kwargs or {}))
    finally:
        for m, name, old in reversed(saved):
            object.__setattr__(m, name, old)
