"""BLAS ``axpy`` (``y <- alpha x + y`` in one pass over memory) for the optimizers' in-place
updates, taken from the OpenBLAS library that numpy's own wheels ship and have already
loaded. numpy has no fused multiply-add over arrays: ``p -= lr * g`` costs a temporary and
two passes, about 2.5x the time of one ``axpy`` for a weight of 200k floats.

``axpy(alpha, x, y)`` returns False, and touches nothing, when it cannot do the update
exactly as asked: no such library, fewer than ``MIN_SIZE`` elements, a dtype other than
float32/float64, arrays that are not contiguous or not aligned, of different dtypes or
sizes, that share memory, or a read-only ``y``. The caller then uses numpy. Setting the environment variable
``TINYGRAD_LITE_NO_BLAS=1`` before import turns it off.
"""

from __future__ import annotations

import ctypes
import glob
import os
from typing import Any, Optional

import numpy as np

__all__ = ["axpy", "available", "MIN_SIZE"]

# (symbol template, C integer type of n and the increments): numpy's wheels bundle
# scipy-openblas with 64-bit integers (ILP64) and these prefixed names; 32-bit builds
# bundle the LP64 variant.
_SYMBOLS = (("scipy_cblas_{}axpy64_", ctypes.c_int64), ("scipy_cblas_{}axpy", ctypes.c_int32))


def _candidates() -> list:
    """Shared libraries next to numpy whose name says OpenBLAS (wheels on Linux, macOS, Windows)."""
    root = os.path.dirname(os.path.abspath(np.__file__))
    found = []
    for folder in (root + ".libs", os.path.join(root, ".dylibs"), os.path.join(root, "_core")):
        for pattern in ("*openblas*.so*", "*openblas*.dylib", "*openblas*.dll"):
            found += sorted(glob.glob(os.path.join(folder, pattern)))
    return found


def _load() -> dict:
    """{dtype: (function, C int type)} for float32 and float64, or {} when not found."""
    if os.environ.get("TINYGRAD_LITE_NO_BLAS"):
        return {}
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for template, cint in _SYMBOLS:
            try:
                fns = {np.dtype(np.float32): getattr(lib, template.format("s")),
                       np.dtype(np.float64): getattr(lib, template.format("d"))}
            except AttributeError:
                continue
            for dt, fn in fns.items():
                real = ctypes.c_float if dt == np.float32 else ctypes.c_double
                fn.argtypes = [cint, real, ctypes.c_void_p, cint, ctypes.c_void_p, cint]
                fn.restype = None
            return {dt: (fn, cint) for dt, fn in fns.items()}
    return {}


_FUNCS: dict = _load()
# below this many elements the call's fixed cost (about 4 us, mostly fetching the two
# addresses) exceeds what one pass saves; numpy does those
MIN_SIZE = 4096


def available() -> bool:
    """True when the BLAS ``axpy`` was found."""
    return bool(_FUNCS)


def axpy(alpha: float, x: np.ndarray, y: np.ndarray) -> bool:
    """``y <- alpha * x + y`` in place, in one pass, when BLAS can do it exactly (see the
    module docstring); returns whether it did. ``alpha`` is rounded to ``y``'s dtype, as
    numpy rounds a Python float multiplying a float32 array."""
    entry: Optional[Any] = _FUNCS.get(y.dtype)
    if (entry is None or y.size < MIN_SIZE or type(x) is not np.ndarray or x.dtype != y.dtype or x.size != y.size
            or not (x.flags.c_contiguous and y.flags.c_contiguous and y.flags.writeable)
            or not (x.flags.aligned and y.flags.aligned) or np.may_share_memory(x, y)):
        return False
    n = y.size
    if n:
        fn, cint = entry
        fn(cint(n), alpha, _address(x), 1, _address(y), 1)
    return True


_VIEW = ctypes.c_char * 0  # a zero-length ctypes view: its address is the buffer's first byte


def _address(a: np.ndarray) -> int:
    """The address of a contiguous array's first element (a third of the cost of
    ``a.ctypes.data``, which builds a helper object; a read-only array, which ctypes
    cannot view, takes that path)."""
    if a.flags.writeable:
        return ctypes.addressof(_VIEW.from_buffer(a))
    return a.ctypes.data
