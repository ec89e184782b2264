"""More of torch's Tensor methods: the remaining trigonometric and hyperbolic functions
(``tan``, ``atan``, ``asin``, ``acos``, ``sinh``, ``cosh``, ``asinh``, ``acosh``, ``atanh``
and their ``arc*`` spellings), ``erfinv``, ``hypot``, ``xlogy``, ``trunc`` / ``fix`` /
``frac``, ``nan_to_num``, ``lerp`` and ``logit``; the scans ``cumprod``, ``logcumsumexp``,
``cummax`` / ``cummin``, ``diff`` and ``count_nonzero``; the fused products ``addmm``,
``addmv``, ``baddbmm``, ``addbmm`` and ``kron``; and the index-valued ``nonzero``,
``unique``, ``bincount`` and ``histc``.

``Tensor`` inherits these through ``TorchMethods``. A differentiable method is one op call
(``ops.mathmore``) or a composition of differentiable ops, so gradients, per-sample
gradients and the mixing errors come from the ops; indices and counts carry no gradient.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple, Optional

import numpy as np

from . import factories, ops
from .batchstate import derived
from .conventions import ArgumentError, DtypeError, _int, _real, _torch_axis
from .ops import base
from .ops.base import axes_of, axis_of, make
from .torchmath import MathMethods, _floats, _function, _function2, _other

if TYPE_CHECKING:
    from .tensor import Tensor


class CumResult(NamedTuple):
    """``(values, indices)`` of ``cummax`` / ``cummin``, as torch's named tuple."""

    values: Any
    indices: Any


def _no_grad(out: Any, who: str, *inputs: Any, over_samples: bool = True) -> Any:
    """An index or count result outside any graph, with the batch state of a value derived
    from ``inputs`` (``over_samples``: it mixes the samples' rows)."""
    out = np.asarray(out)
    return make(out, None, (), None, False, *derived(who, out.shape, *inputs, over_samples=over_samples))


def _running_arg(x: np.ndarray, a: int, better: Any) -> np.ndarray:
    """For each position i along axis ``a``, the index of the running best of x[:i+1]
    (``better(new, best)`` true moves it; ties move it to the later index; a nan moves it, and
    once the best is nan only a later nan does, as torch)."""
    m = np.moveaxis(x, a, -1)
    idx = np.zeros(m.shape, np.int64)
    if m.shape[-1] == 0:
        return np.moveaxis(idx, -1, a)
    best = m[..., 0].copy()
    cur = np.zeros(m.shape[:-1], np.int64)
    for i in range(1, m.shape[-1]):
        v = m[..., i]
        with np.errstate(invalid="ignore"):
            move = np.isnan(v) | (~np.isnan(best) & better(v, best))
        best = np.where(move, v, best)
        cur = np.where(move, i, cur)
        idx[..., i] = cur
    return np.moveaxis(idx, -1, a)


class MoreMethods(MathMethods):
    """Mixin of ``Tensor`` (see the module docstring)."""

    __slots__ = ()
    _data: np.ndarray

    # differentiable, elementwise (integer tensors compute in float64)
    tan, atan, asin, acos, sinh, cosh, asinh, acosh, atanh, erfinv = (_function(op) for op in (
        ops.TAN, ops.ATAN, ops.ASIN, ops.ACOS, ops.SINH, ops.COSH, ops.ASINH, ops.ACOSH, ops.ATANH, ops.ERFINV))
    arctan, arcsin, arccos, arcsinh, arccosh, arctanh = atan, asin, acos, asinh, acosh, atanh
    hypot = _function2(ops.HYPOT, True, "sqrt(self^2 + other^2) elementwise (broadcast).")
    xlogy = _function2(ops.XLOGY, True, "self * log(other), 0 where self == 0 (unless other is nan).")

    def trunc(self) -> "Tensor":
        """Rounded towards zero; the gradient is 0 (integer tensors unchanged)."""
        return ops.TRUNC(self)

    fix = trunc

    def frac(self) -> "Tensor":
        """self - trunc(self), the fractional part with the sign of self; d frac(a)/da = 1. A
        float tensor only (an integer has no fractional part: TypeError, as torch refuses it)."""
        if self._data.dtype.kind != "f":
            raise TypeError(f"frac: needs a floating-point tensor, got dtype {self._data.dtype}")
        return self - ops.TRUNC(self)  # type: ignore[operator]

    def nan_to_num(self, nan: float = 0.0, posinf: Optional[float] = None, neginf: Optional[float] = None) -> "Tensor":
        """nan, +inf and -inf replaced by ``nan``, ``posinf`` and ``neginf`` (default: the
        largest and the lowest finite value of the dtype); the gradient is 1 at finite values,
        0 at the replaced ones."""
        nan = _real("nan_to_num", "nan", nan)
        posinf, neginf = (None if v is None else _real("nan_to_num", name, v)
                          for name, v in (("posinf", posinf), ("neginf", neginf)))
        d = self._data
        if d.dtype.kind != "f":
            return self.clone()  # type: ignore[attr-defined]
        info = np.finfo(d.dtype)
        fill = np.where(np.isnan(d), nan, np.where(d > 0, info.max if posinf is None else posinf,
                                                   info.min if neginf is None else neginf)).astype(d.dtype)
        return self.where(np.isfinite(d), fill)  # type: ignore[attr-defined]

    def lerp(self, end: Any, weight: Any) -> "Tensor":
        """self + weight * (end - self) (``weight`` a number or a tensor, broadcast; integer
        tensors interpolate as floats); gradients 1 - weight, weight and end - self."""
        e = _other(end)
        w = weight if isinstance(weight, (int, float)) else _other(weight)
        shapes = [self._data.shape, e._data.shape] + ([] if isinstance(w, (int, float)) else [w._data.shape])
        try:
            np.broadcast_shapes(*shapes)
        except ValueError:
            raise ValueError(f"lerp: shapes {shapes} of input, end and weight do not broadcast") from None
        start = self
        if start._data.dtype.kind != "f" or e._data.dtype.kind != "f":  # (integers interpolate as floats:
            start, e = _floats(start, e), _floats(e, start)  # end - start would wrap in their dtype)
        return start + w * (e - start)  # type: ignore[operator]

    def logit(self, eps: Optional[float] = None) -> "Tensor":
        """log(z / (1 - z)) with z = self clamped to [eps, 1 - eps] when ``eps`` is given;
        d logit(z)/dz = 1 / (z (1 - z)) (0 where clamped)."""
        z = _floats(self)
        if eps is not None:  # (clamped values are constants: a 0 slope there; nan stays nan, slope too)
            eps = _real("logit", "eps", eps)
            clamped = (z.data < eps) | (z.data > 1.0 - eps)
            if clamped.any():
                z = factories.where(clamped, z.data.clip(eps, 1.0 - eps), z)
        else:
            outside = (z.data < 0) | (z.data > 1)
            if outside.any():  # (no logit there: nan values, and nan slopes, as torch)
                z = z * np.where(outside, np.nan, 1.0).astype(z.dtype)
        return z.log() - (-z).log1p()

    # ------------------------------------------------------------ scans ----------------
    def cumprod(self, dim: int, *, dtype: Any = None) -> "Tensor":
        """Running products along ``dim``; the gradient is exact where the input has zeros."""
        x = self if dtype is None else self.astype(factories.as_dtype("cumprod", dtype))  # type: ignore[attr-defined]
        return ops.reduce.asked_dtype(ops.CUMPROD(x, dim), dtype, x)

    def logcumsumexp(self, dim: int) -> "Tensor":
        """log(sum_{j<=i} exp(x_j)) along ``dim``, computed stably."""
        return ops.LOGCUMSUMEXP(_floats(self), dim)

    def _cum_extreme(self, who: str, dim: int, better: Any) -> CumResult:
        a = axis_of(self._data.ndim, dim, who)
        if self._data.ndim == 0:
            return CumResult(self.clone(), _no_grad(np.zeros((), np.int64), who, self, over_samples=False))  # type: ignore[attr-defined]
        idx = _running_arg(self._data, a, better)
        ind = _no_grad(idx, who, self, over_samples=a == 0)
        return CumResult(self.gather(a, idx), ind)  # type: ignore[attr-defined]

    def cummax(self, dim: int) -> CumResult:
        """(the running maximum along ``dim``, its index); the gradient goes to the element
        that holds each running maximum (the latest among ties, as torch)."""
        return self._cum_extreme("cummax", dim, np.greater_equal)

    def cummin(self, dim: int) -> CumResult:
        """(the running minimum along ``dim``, its index), as ``cummax``."""
        return self._cum_extreme("cummin", dim, np.less_equal)

    def diff(self, n: int = 1, dim: int = -1, prepend: Any = None, append: Any = None) -> "Tensor":
        """The n-th forward difference out_i = x_{i+1} - x_i along ``dim`` (applied ``n`` times),
        after joining ``prepend`` / ``append`` along ``dim``; linear, so the gradient is the
        transposed difference."""
        if self._data.ndim == 0:
            raise ValueError("diff: expects a tensor with at least one axis, got a 0-d tensor")
        if not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"diff: n must be a non-negative int, got {n!r}")
        a = axis_of(self._data.ndim, dim, "diff")
        parts = [self]
        for extra, at in ((prepend, 0), (append, 1)):
            if extra is not None:
                e = _other(extra)
                if e._data.ndim == 0:
                    shape = list(self._data.shape)
                    shape[a] = 1
                    e = e.expand(*shape)
                parts.insert(len(parts) if at else 0, e)
        from .ops.layout import cat
        x = cat(parts, a) if len(parts) > 1 else self
        lead = (slice(None),) * a
        for _ in range(n):
            if x._data.shape[a] == 0:
                break
            hi, lo = x[lead + (slice(1, None),)], x[lead + (slice(None, -1),)]
            x = hi ^ lo if x._data.dtype.kind == "b" else hi - lo  # (bool: torch's exclusive or)
        return x

    def count_nonzero(self, dim: Any = None) -> "Tensor":
        """The number of non-zero entries over ``dim`` (an int, a tuple, or all), int64."""
        axis, _ = _torch_axis(None, False, dim, None)
        axes = axes_of(self._data.ndim, axis, "count_nonzero")
        out = np.count_nonzero(self._data, axis=axes) if self._data.ndim else np.int64(self._data != 0)
        return _no_grad(np.asarray(out, np.int64), "count_nonzero", self, over_samples=axes is None or 0 in axes)

    # ------------------------------------------------------------ fused products -------
    def _fused(self, prod: Any, beta: Any, alpha: Any) -> "Tensor":
        """beta * self + alpha * prod (self is not read when beta == 0, as torch)."""
        p = prod if alpha == 1 else prod * alpha
        if beta == 0:
            shape = np.broadcast_shapes(self._data.shape, p._data.shape)
            return p if p._data.shape == shape else p.expand(*shape)
        return (self if beta == 1 else self * beta) + p  # type: ignore[operator]

    def addmm(self, mat1: Any, mat2: Any, *, beta: Any = 1, alpha: Any = 1) -> "Tensor":
        """beta * self + alpha * (mat1 @ mat2), with (n, m) @ (m, p)."""
        return self._fused(mat1.mm(mat2), beta, alpha)

    def addmv(self, mat: Any, vec: Any, *, beta: Any = 1, alpha: Any = 1) -> "Tensor":
        """beta * self + alpha * (mat @ vec), with (n, m) @ (m,)."""
        return self._fused(mat.mv(vec), beta, alpha)

    def baddbmm(self, batch1: Any, batch2: Any, *, beta: Any = 1, alpha: Any = 1) -> "Tensor":
        """beta * self + alpha * bmm(batch1, batch2), with (b, n, m) @ (b, m, p)."""
        return self._fused(batch1.bmm(batch2), beta, alpha)

    def addbmm(self, batch1: Any, batch2: Any, *, beta: Any = 1, alpha: Any = 1) -> "Tensor":
        """beta * self + alpha * sum_b batch1[b] @ batch2[b]."""
        return self._fused(batch1.bmm(batch2).sum(0), beta, alpha)

    def kron(self, other: Any) -> "Tensor":
        """The Kronecker product: out[i*q + k, ...] = self[i, ...] * other[k, ...] (the shorter
        shape padded with leading 1s); bilinear, so the gradients are the matching sums."""
        o = _other(other, "kron")
        nd = max(self._data.ndim, o._data.ndim)
        sa = (1,) * (nd - self._data.ndim) + self._data.shape
        sb = (1,) * (nd - o._data.ndim) + o._data.shape
        inter_a = tuple(x for n in sa for x in (n, 1))
        inter_b = tuple(x for n in sb for x in (1, n))
        prod = self.reshape(inter_a) * o.reshape(inter_b)  # type: ignore[attr-defined]
        return prod.reshape(tuple(m * n for m, n in zip(sa, sb)))

    # ------------------------------------------------------------ indices and counts ---
    def nonzero(self, *, as_tuple: bool = False) -> Any:
        """The indices of the non-zero entries: an (n, ndim) int64 tensor, or with
        ``as_tuple`` one 1-D int64 tensor per axis."""
        d = self._data if self._data.ndim else self._data.reshape(1)
        idx = np.nonzero(d)
        if as_tuple:
            return tuple(_no_grad(i.astype(np.int64), "nonzero", self) for i in idx)
        out = np.stack(idx, axis=1).astype(np.int64) if self._data.ndim else np.zeros((len(idx[0]), 0), np.int64)
        return _no_grad(out, "nonzero", self)

    def unique(self, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False,
               dim: Any = None) -> Any:
        """The distinct values in ascending order (no gradient); with ``return_inverse`` the
        index of each input entry in them (in the input's shape), with ``return_counts`` how
        often each occurs; with ``dim`` the distinct slices along it (inverse and counts
        per slice)."""
        if dim is not None:  # the distinct slices along dim, in lexicographic order
            from .torchlayout import unique_along
            ax = base.axis_of(self._data.ndim, dim, "unique")
            if not self._data.ndim:  # a 0-d tensor has no dim to take slices along, as torch
                raise base._AxisError(f"unique: dim {dim} was given, but the tensor is 0-d (it has no dimensions)")
            return unique_along(self, "unique", ax, False, return_inverse, return_counts)
        # NaN is unequal to everything, itself included: each NaN is a value of its own, as torch
        vals, inv, counts = np.unique(self._data.reshape(-1), return_inverse=True, return_counts=True,
                                      equal_nan=False)
        out = [_no_grad(vals, "unique", self)]
        if return_inverse:
            out.append(_no_grad(inv.reshape(self._data.shape).astype(np.int64), "unique", self))
        if return_counts:
            out.append(_no_grad(counts.astype(np.int64), "unique", self))
        return out[0] if len(out) == 1 else tuple(out)

    def bincount(self, weights: Any = None, minlength: int = 0) -> "Tensor":
        """out[k] = the number of entries equal to k (or the sum of their ``weights``) for a
        1-D non-negative integer tensor; length max(max + 1, minlength). No gradient."""
        d = self._data
        if d.ndim != 1 or d.dtype.kind not in "iu" or (d.size and d.min() < 0):
            error = ArgumentError if d.dtype.kind in "iu" else DtypeError
            raise error(f"bincount: needs a 1-D tensor of non-negative integers, got shape {d.shape} and "
                        f"dtype {d.dtype}")
        w = None if weights is None else np.asarray(weights._data if isinstance(weights, base.Tensor) else weights)
        if w is not None and w.shape != d.shape:
            raise ValueError(f"bincount: weights of shape {w.shape} must have the input's shape {d.shape}")
        out = np.bincount(d, weights=w, minlength=minlength)
        if w is None:
            out = out.astype(np.int64)
        elif w.dtype.kind == "f":
            out = out.astype(w.dtype)
        return _no_grad(out, "bincount", self)

    def histc(self, bins: int = 100, min: float = 0, max: float = 0) -> "Tensor":
        """A histogram of ``bins`` equal bins over [min, max] (the data's range when both are
        0); values outside are ignored, the top edge belongs to the last bin. No gradient."""
        d = self._data
        if d.dtype.kind != "f":
            raise TypeError(f"histc: needs a float tensor, got dtype {d.dtype}")
        bins = _int("histc", "bins", bins, 1)
        lo, hi = _real("histc", "min", min), _real("histc", "max", max)
        if lo == hi and d.size:
            lo, hi = float(d.min()), float(d.max())
        if lo == hi:
            lo, hi = lo - 1, hi + 1
        if lo > hi:
            raise ValueError(f"histc: max {max} must be larger than min {min}")
        from .torchstats import equal_bins
        counts, _ = equal_bins(d.reshape(-1), bins, lo, hi)  # (torch's bins: a value on an edge lands as there)
        return _no_grad(counts.astype(d.dtype), "histc", self)
