"""torch's process-wide switches that training scripts set in their first lines, answered for
a library that computes with numpy on the CPU.

* ``tl.backends``: ``backends.cudnn`` (``deterministic``, ``benchmark``, ``enabled``,
  ``allow_tf32``: plain attributes, read and written freely; ``is_available()`` is False),
  ``backends.cuda.matmul.allow_tf32``, ``backends.mps.is_available()`` (False). They
  change nothing: every computation here is deterministic and in each tensor's own dtype.
* ``use_deterministic_algorithms(mode, warn_only=False)`` /
  ``are_deterministic_algorithms_enabled()``: the flag is kept; every algorithm is
  deterministic already.
* ``set_float32_matmul_precision("highest" | "high" | "medium")`` /
  ``get_float32_matmul_precision()``: kept; float32 products are always full float32.
* ``set_num_threads(n)`` / ``get_num_threads()``: the BLAS thread count, through
  ``threadpoolctl`` when it is installed (else only recorded).

The file keeps the recorded flags (module globals) and touches BLAS's thread pool only
when ``set_num_threads`` is called.
"""

from __future__ import annotations

import numbers
import os
from types import SimpleNamespace
from typing import Any

import numpy as np

__all__ = ["backends", "use_deterministic_algorithms", "are_deterministic_algorithms_enabled",
           "set_float32_matmul_precision", "get_float32_matmul_precision", "set_num_threads", "get_num_threads"]

_PRECISIONS = ("highest", "high", "medium")
_flags: dict[str, Any] = {"deterministic": False, "warn_only": False, "precision": "highest", "threads": None}


def _unavailable() -> bool:
    return False


backends = SimpleNamespace(
    cudnn=SimpleNamespace(enabled=True, benchmark=False, deterministic=False, allow_tf32=True,
                          is_available=_unavailable, version=lambda: None),
    cuda=SimpleNamespace(matmul=SimpleNamespace(allow_tf32=False, allow_fp16_reduced_precision_reduction=True),
                         is_built=_unavailable),
    mps=SimpleNamespace(is_available=_unavailable, is_built=_unavailable),
)


def _bool(who: str, name: str, v: Any) -> bool:
    if not isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{who}: {name} must be a bool, got {v!r}")
    return bool(v)


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Records the flag (every computation here is deterministic whatever it is)."""
    mode = _bool("use_deterministic_algorithms", "mode", mode)  # both checked before either is kept
    _flags["warn_only"] = _bool("use_deterministic_algorithms", "warn_only", warn_only)
    _flags["deterministic"] = mode


def are_deterministic_algorithms_enabled() -> bool:
    """The flag last given to ``use_deterministic_algorithms`` (False at first)."""
    return _flags["deterministic"]


def set_float32_matmul_precision(precision: str) -> None:
    """Records ``"highest"``, ``"high"`` or ``"medium"`` (float32 products here are always
    full float32); anything else is a ValueError (torch warns and ignores it)."""
    if precision not in _PRECISIONS:
        raise ValueError(f"set_float32_matmul_precision: precision must be one of {_PRECISIONS}, got "
                           f"{precision!r}")
    _flags["precision"] = str(precision)  # (a numpy str_ is kept as the plain str)


def get_float32_matmul_precision() -> str:
    """The precision last set (``"highest"`` at first)."""
    return _flags["precision"]


def set_num_threads(n: int) -> None:
    """Limits BLAS to ``n`` threads (through ``threadpoolctl`` when installed; otherwise the
    number is only recorded); ``n`` must be an int >= 1."""
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral):
        raise TypeError(f"set_num_threads: expected an int, got {n!r}")
    if n < 1:
        raise RuntimeError(f"set_num_threads: number of threads must be positive, got {n}")
    if n > 2**31 - 1:  # torch's int32 argument; checked before BLAS is touched
        raise ValueError(f"set_num_threads: number of threads must fit in 32 bits, got {n}")
    try:
        import threadpoolctl
    except ImportError:
        threadpoolctl = None
    if threadpoolctl is not None:
        threadpoolctl.threadpool_limits(limits=int(n), user_api="blas")
    _flags["threads"] = int(n)


def get_num_threads() -> int:
    """The number last given to ``set_num_threads``, else the number of CPUs."""
    return _flags["threads"] if _flags["threads"] is not None else (os.cpu_count() or 1)
