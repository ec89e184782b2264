"""``tl.compile``: torch.compile's signature, for code ported from torch; it keeps no state and
compiles nothing (this library runs every op eagerly on numpy)."""

from __future__ import annotations

from typing import Any, Callable, Optional, Union

__all__ = ["compile"]

_MODES = (None, "default", "lite", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


def compile(model: Optional[Callable] = None, *, fullgraph: bool = False, dynamic: Optional[bool] = None,
            backend: Union[str, Callable] = "inductor", mode: Optional[str] = None,
            options: Optional[dict] = None, disable: bool = False) -> Any:
    """Return ``model`` (a Module or a function) unchanged: it runs eagerly, op by op, exactly
    as without ``compile``; nothing is traced, cached or generated. As ``torch.compile`` it
    works as ``compile(model)``, as ``@compile`` and as ``@compile(mode=...)`` (``model``
    None: a decorator returning its function unchanged). The arguments are checked as torch
    checks them (``mode`` one of torch's modes, else RuntimeError; not both ``mode`` and ``options``; flags
    bools; ``backend`` a string or a callable) and otherwise ignored.
    """
    for name, flag in (("fullgraph", fullgraph), ("disable", disable)):
        if not isinstance(flag, bool):
            raise TypeError(f"compile: {name} must be a bool, got {flag!r}")
    if dynamic is not None and not isinstance(dynamic, bool):
        raise TypeError(f"compile: dynamic must be a bool or None, got {dynamic!r}")
    if not (isinstance(backend, str) or callable(backend)):
        raise TypeError(f"compile: backend must be a string or a callable, got {backend!r}")
    if mode not in _MODES:
        raise RuntimeError(f"compile: mode must be one of {', '.join(map(repr, _MODES))}, got {mode!r}")
    if options is not None and not isinstance(options, dict):
        raise TypeError(f"compile: options must be a dict or None, got {type(options).__name__}")
    if mode is not None and options is not None:
        raise RuntimeError("compile: either mode or options can be given, not both")
    if model is None:
        def decorator(fn: Callable) -> Callable:
            if not callable(fn):
                raise TypeError(f"compile: the decorated object must be callable, got {type(fn).__name__}")
            return fn

        return decorator
    if not callable(model):
        raise TypeError(f"compile: model must be a Module or a callable, got {type(model).__name__}")
    return model
