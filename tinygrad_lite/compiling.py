"""``tl.compile``: torch.compile's signature, for code ported from torch; it keeps no state and
compiles nothing (this library runs every op eagerly on numpy). It keeps the names of the
backends torch knows (an unknown name is refused, as torch refuses it) and ``InvalidBackend``."""

from __future__ import annotations

from typing import Any, Callable, Optional, Union

__all__ = ["compile", "InvalidBackend", "list_backends"]

_MODES = (None, "default", "lite", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")

# The backend names torch.compile accepts (torch._dynamo.list_backends(exclude_tags=()) in torch
# 2.13, without its testing-only entries); here every one of them runs eagerly.
_BACKENDS = ("aot_eager", "aot_eager_decomp_partition", "aot_eager_decomp_partition_crossref",
             "aot_eager_decomp_partition_with_mode", "aot_eager_default_partitioner", "aot_ts", "cudagraphs",
             "eager", "eager_debug", "eager_noexcept", "inductor", "invoke_subgraph", "openxla", "openxla_eval",
             "pre_dispatch_eager", "ts", "tvm")


class InvalidBackend(RuntimeError):
    """``compile`` was given a backend name torch does not know (torch._dynamo.exc.InvalidBackend,
    also a RuntimeError)."""


def list_backends() -> list:
    """The backend names ``compile`` accepts, sorted (all of them run eagerly here)."""
    return sorted(_BACKENDS)


def compile(model: Optional[Callable] = None, *, fullgraph: bool = False, dynamic: Optional[bool] = None,
            backend: Union[str, Callable] = "inductor", mode: Optional[str] = None,
            options: Optional[dict] = None, disable: bool = False) -> Any:
    """Return ``model`` (a Module or a function) unchanged: it runs eagerly, op by op, exactly
    as without ``compile``; nothing is traced, cached or generated. As ``torch.compile`` it
    works as ``compile(model)``, as ``@compile`` and as ``@compile(mode=...)`` (``model``
    None: a decorator returning its function unchanged). The arguments are checked as torch
    checks them (``mode`` one of torch's modes, else RuntimeError; not both ``mode`` and ``options``; flags
    bools; ``backend`` a callable or the name of one of torch's backends) and otherwise ignored.
    An unknown backend name (names are case- and space-sensitive, as in torch) raises
    ``InvalidBackend`` (a RuntimeError) when ``compile`` is applied to the model, even with
    ``disable=True``, as torch raises it: at ``compile(model, ...)``, or when the decorator
    from ``compile(backend=...)`` is applied, never later at the first call.
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
            _check_backend(backend)
            return fn

        return decorator
    if not callable(model):
        raise TypeError(f"compile: model must be a Module or a callable, got {type(model).__name__}")
    _check_backend(backend)
    return model


def _check_backend(backend: Union[str, Callable]) -> None:
    if isinstance(backend, str) and backend not in _BACKENDS:
        raise InvalidBackend(f"compile: invalid backend {backend!r}; the known backends are "
                             f"{', '.join(map(repr, list_backends()))}")
