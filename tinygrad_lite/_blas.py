"""Two BLAS calls numpy does not offer, from the OpenBLAS library that numpy's own wheels
ship and have already loaded:

* ``axpy(alpha, x, y)``: ``y <- alpha x + y`` in one pass over memory, for the optimizers'
  in-place updates. numpy has no fused multiply-add over arrays: ``p -= lr * g`` costs a
  temporary and two passes, about 2.5x the time of one ``axpy`` for a weight of 200k floats.
* ``outer(x, y, out)``: ``out <- x^T y`` for two one-row matrices, the weight gradient of a
  one-sample batch, through ``gemm`` with an inner dimension of 1. numpy's matmul does not
  call BLAS for that shape, and ``einsum`` takes about 1.4x the time for a 256 x 784 weight.
  Every element is one product, so the result is the same bits either way.

Each returns False, and touches nothing, when it cannot do the work exactly as asked: no
such library, fewer than ``MIN_SIZE`` elements, a dtype other than float32/float64,
arrays that are not contiguous, of different dtypes or sizes, or a read-only output. The
caller then uses numpy. Setting the environment variable ``TINYGRAD_LITE_NO_BLAS=1``
before import turns both off.
"""

from __future__ import annotations

import ctypes
import glob
import os
from typing import Any, Optional

import numpy as np

__all__ = ["axpy", "outer", "available", "MIN_SIZE"]

# (symbol prefix and suffix, C integer type of sizes and increments): numpy's wheels bundle
# scipy-openblas with 64-bit integers (ILP64) and these names; 32-bit builds bundle the
# LP64 variant.
_SYMBOLS = (("scipy_cblas_{}", "64_", ctypes.c_int64), ("scipy_cblas_{}", "", ctypes.c_int32))
_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


def _candidates() -> list:
    """Shared libraries next to numpy whose name says OpenBLAS (wheels on Linux, macOS, Windows)."""
    root = os.path.dirname(os.path.abspath(np.__file__))
    found = []
    for folder in (root + ".libs", os.path.join(root, ".dylibs"), os.path.join(root, "_core")):
        for pattern in ("*openblas*.so*", "*openblas*.dylib", "*openblas*.dll"):
            found += sorted(glob.glob(os.path.join(folder, pattern)))
    return found


def _load() -> dict:
    """{(name, dtype): (function, C int type)} for axpy and gemm in float32 and float64, or
    {} when not found."""
    if os.environ.get("TINYGRAD_LITE_NO_BLAS"):
        return {}
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix, cint in _SYMBOLS:
            try:
                found = {(name, np.dtype(dt)): getattr(lib, prefix.format(letter + name) + suffix)
                         for name in ("axpy", "gemm") for letter, dt in (("s", np.float32), ("d", np.float64))}
            except AttributeError:
                continue
            for (name, dt), fn in found.items():
                real = ctypes.c_float if dt == np.float32 else ctypes.c_double
                ptr = ctypes.c_void_p
                fn.argtypes = ([cint, real, ptr, cint, ptr, cint] if name == "axpy" else
                               [ctypes.c_int, ctypes.c_int, ctypes.c_int, cint, cint, cint, real, ptr, cint, ptr,
                                cint, real, ptr, cint])
                fn.restype = None
            return {key: (fn, cint) for key, fn in found.items()}
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
    entry: Optional[Any] = _FUNCS.get(("axpy", y.dtype))
    if (entry is None or y.size < MIN_SIZE or type(x) is not np.ndarray or x.dtype != y.dtype or x.size != y.size
            or not (x.flags.c_contiguous and y.flags.c_contiguous and y.flags.writeable)):
        return False
    n = y.size
    if n:
        fn, cint = entry
        fn(cint(n), alpha, x.ctypes.data, 1, y.ctypes.data, 1)
    return True


def outer(x: np.ndarray, y: np.ndarray, out: np.ndarray) -> bool:
    """``out <- x^T y`` for ``x`` of shape (1, m) and ``y`` of shape (1, n) into ``out`` of
    shape (m, n), through BLAS ``gemm`` (see the module docstring); returns whether it did."""
    entry: Optional[Any] = _FUNCS.get(("gemm", out.dtype))
    if (entry is None or out.size < MIN_SIZE or x.dtype != out.dtype or y.dtype != out.dtype
            or x.ndim != 2 or y.ndim != 2 or x.shape[0] != 1 or y.shape[0] != 1
            or out.shape != (x.shape[1], y.shape[1])
            or not (x.flags.c_contiguous and y.flags.c_contiguous and out.flags.c_contiguous
                    and out.flags.writeable)):
        return False
    fn, cint = entry
    m, n = out.shape
    fn(_ROW_MAJOR, _TRANS, _NO_TRANS, cint(m), cint(n), cint(1), 1.0, x.ctypes.data, cint(m), y.ctypes.data,
       cint(n), 0.0, out.ctypes.data, cint(n))
    return True
