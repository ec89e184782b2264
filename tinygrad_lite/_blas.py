"""BLAS ``axpy`` (``y <- alpha x + y`` in one pass over memory) and ``gemm`` / ``ger``
(``C <- alpha G^T X + beta C``, a weight update straight from a gradient's factors) for the
optimizers' in-place updates, taken from the OpenBLAS library that numpy's own wheels ship and have already
loaded. numpy has no fused multiply-add over arrays: ``p -= lr * g`` costs a temporary and
two passes, about 2.5x the time of one ``axpy`` for a weight of 200k floats.

``axpy(alpha, x, y)`` returns False, and touches nothing, when it cannot do the update
exactly as asked: no such library, fewer than ``MIN_SIZE`` elements, a dtype other than
float32/float64, arrays that are not contiguous in the same order (both C, or both Fortran
and of one shape) or not aligned, of different dtypes or sizes, that share memory, or a
read-only ``y``. The caller then uses numpy. Setting the environment variable
``TINYGRAD_LITE_NO_BLAS=1`` before import turns it off.
"""

from __future__ import annotations

import ctypes
import glob
import os
from typing import Any, Optional

import numpy as np

__all__ = ["axpy", "available", "MIN_SIZE", "tmm_fits", "tmm_update", "tmm_apply"]

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
            return {dt: (fn, cint, _matrix_fns(lib, template, dt, cint)) for dt, fn in fns.items()}
    return {}


def _matrix_fns(lib: Any, template: str, dt: np.dtype, cint: Any) -> Optional[tuple]:
    """(gemm, ger) of the same library and integer width as ``axpy``, or None."""
    letter = "s" if dt == np.float32 else "d"
    try:
        gemm = getattr(lib, template.replace("axpy", "gemm").format(letter))
        ger = getattr(lib, template.replace("axpy", "ger").format(letter))
    except AttributeError:
        return None
    real, p = (ctypes.c_float if dt == np.float32 else ctypes.c_double), ctypes.c_void_p
    gemm.argtypes = [cint, cint, cint, cint, cint, cint, real, p, cint, p, cint, real, p, cint]
    ger.argtypes = [cint, cint, cint, real, p, cint, p, cint, p, cint]
    gemm.restype = ger.restype = None
    return gemm, ger


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
            or not ((x.flags.c_contiguous and y.flags.c_contiguous)
                    or (x.shape == y.shape and x.flags.f_contiguous and y.flags.f_contiguous))
            or not y.flags.writeable
            or not (x.flags.aligned and y.flags.aligned) or np.may_share_memory(x, y)):
        return False
    n = y.size
    if n:
        if not y.flags.c_contiguous:  # (both in column order: the same pass over memory, through C-ordered views)
            x, y = x.T, y.T
        fn, cint = entry[0], entry[1]
        fn(cint(n), alpha, _address(x), 1, _address(y), 1)
    return True


_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


def tmm_fits(G: Any, X: Any, C: np.ndarray) -> bool:
    """Whether ``tmm_update(alpha, G, X, C, beta)`` can run (see there)."""
    if C.ndim == 2 and not C.flags.c_contiguous and C.flags.f_contiguous:  # (C^T <- alpha X^T G + beta C^T)
        return tmm_fits(X, G, C.T)
    entry: Optional[Any] = _FUNCS.get(C.dtype)
    return not (entry is None or entry[2] is None or C.size < MIN_SIZE or type(G) is not np.ndarray
            or type(X) is not np.ndarray or G.dtype != C.dtype or X.dtype != C.dtype
            or G.ndim != 2 or X.ndim != 2 or C.ndim != 2 or G.shape[0] != X.shape[0]
            or C.shape != (G.shape[1], X.shape[1])
            or not (G.flags.c_contiguous and X.flags.c_contiguous and C.flags.c_contiguous and C.flags.writeable)
            or not (G.flags.aligned and X.flags.aligned and C.flags.aligned)
            or np.may_share_memory(C, G) or np.may_share_memory(C, X))


def tmm_update(alpha: float, G: np.ndarray, X: np.ndarray, C: np.ndarray, beta: float) -> bool:
    """``C <- alpha * G^T X + beta * C`` in place for 2-D ``G`` (k, m), ``X`` (k, n) and ``C``
    (m, n) in one BLAS call (``ger``, a rank-1 update, when k = 1 and beta = 1; else ``gemm``),
    so ``G^T X`` is never written to memory of its own. ``C`` may be in row (C) or column
    (Fortran) order; a column-ordered ``C`` is updated as ``C^T <- alpha X^T G + beta C^T``.
    Returns False, touching nothing,
    when BLAS cannot do it exactly so: no library, ``C`` under ``MIN_SIZE`` elements, dtypes
    that differ or are not float32/float64, ``G``, ``X`` not C-contiguous, arrays not aligned,
    shapes that do not fit, a read-only ``C``, or ``C`` sharing memory with ``G`` or ``X``."""
    if not tmm_fits(G, X, C):
        return False
    tmm_apply(alpha, G, X, C, beta)
    return True


def tmm_apply(alpha: float, G: np.ndarray, X: np.ndarray, C: np.ndarray, beta: float) -> None:
    """``tmm_update`` without its check, for a caller that has checked ``tmm_fits(G, X, C)``."""
    if not C.flags.c_contiguous:  # column order: the same update of C^T, row order
        G, X, C = X, G, C.T
    (k, m), n = G.shape, X.shape[1]
    if k == 0:  # G^T X = 0
        if beta == 0:
            C.fill(0)
        elif beta != 1:
            C *= beta
        return
    gemm, ger = _FUNCS[C.dtype][2]
    if k == 1 and beta == 1:
        ger(_ROW_MAJOR, m, n, alpha, _address(G), 1, _address(X), 1, _address(C), n)
    else:
        gemm(_ROW_MAJOR, _TRANS, _NO_TRANS, m, n, k, alpha, _address(G), m, _address(X), n, beta, _address(C), n)


_VIEW = ctypes.c_char * 0  # a zero-length ctypes view: its address is the buffer's first byte


def _address(a: np.ndarray) -> int:
    """The address of a contiguous array's first element (a third of the cost of
    ``a.ctypes.data``, which builds a helper object; a read-only array, which ctypes
    cannot view, takes that path)."""
    if a.flags.writeable:
        return ctypes.addressof(_VIEW.from_buffer(a))
    return a.ctypes.data
