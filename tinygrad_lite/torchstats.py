"""torch's order statistics and sample statistics as Tensor methods: ``median`` /
``nanmedian``, ``quantile`` / ``nanquantile``, ``kthvalue``, ``mode``, ``aminmax``,
``nanmean``, ``nansum``, ``cov``, ``corrcoef`` and ``histogram`` (``std_mean`` and
``var_mean`` are functions only, as in torch: ``statfunctions``).

The methods that pick values (median, kthvalue, mode) find the position in numpy and read
the value with ``gather``, so the gradient goes to the chosen position as torch's does;
``quantile`` sorts (``sort``, differentiable) and interpolates between the two neighbouring
order statistics, so the gradient is split between them by the interpolation weights.
``cov`` and ``corrcoef`` are compositions of mean, matmul and division. Gradients,
per-sample gradients and the mixing errors therefore come from the ops used; positions and
counts carry no gradient.
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any, NamedTuple, Optional

import numpy as np

from . import factories
from .batchstate import derived
from .conventions import ArgumentError, DtypeError, IndexRangeError, ShapeMismatchError, check_bool
from .ops import base
from .ops.base import allocating, axes_of, axis_of, make
from .ops.select import order

if TYPE_CHECKING:
    from .tensor import Tensor


class ValuesIndices(NamedTuple):
    """``(values, indices)`` of ``median(dim)``, ``nanmedian(dim)``, ``kthvalue`` and ``mode``."""

    values: Any
    indices: Any


class AMinMax(NamedTuple):
    """``(min, max)`` of ``aminmax``."""

    min: Any
    max: Any


class Histogram(NamedTuple):
    """``(hist, bin_edges)`` of ``histogram``."""

    hist: Any
    bin_edges: Any


_MODES = ("linear", "lower", "higher", "midpoint", "nearest")


def _floating(x: Any, who: str) -> None:
    if x._data.dtype.kind != "f":
        raise DtypeError(f"{who}: the input must be a floating-point tensor, got dtype {x._data.dtype}")


def _positions(d: np.ndarray, ax: int, kind: str, k: int = 0) -> np.ndarray:
    """The position along ``ax`` (keeping the axis, size 1) of the order statistic ``kind``
    picks in each row: "median" (the lower median; the first nan if the row has one),
    "nanmedian" (the lower median of the non-nan values; the first position if all are
    nan) or "kth" (the k-th smallest, 0-based; nan counts as the largest)."""
    o = order(d, ax, False)  # stable; nan last
    n = d.shape[ax]
    valid = np.sum(~np.isnan(d), axis=ax, keepdims=True) if d.dtype.kind == "f" else np.full(1, n)
    if kind == "median":
        r = np.where(valid < n, valid, (n - 1) // 2)
    elif kind == "nanmedian":
        r = np.maximum((valid - 1) // 2, 0)
    else:
        r = np.full(valid.shape, k)
    r = np.broadcast_to(r, d.shape[:ax] + (1,) + d.shape[ax + 1:]).astype(np.int64)
    if kind == "nanmedian":  # all nan: the first position, as torch
        r = np.where(valid == 0, 0, np.take_along_axis(o, r, ax))
        return r.astype(np.int64)
    return np.take_along_axis(o, r, ax)


def _mode_positions(d: np.ndarray, ax: int) -> np.ndarray:
    """The position of each row's most frequent value (the smallest such value; its last
    occurrence), keeping the axis."""
    m = np.moveaxis(d, ax, -1)
    rows = m.reshape(-1, m.shape[-1])
    out = np.empty(len(rows), np.int64)
    for i, row in enumerate(rows):
        vals, counts = np.unique(row, return_counts=True)
        out[i] = np.flatnonzero(row == vals[np.argmax(counts)])[-1] if not np.isnan(vals[np.argmax(counts)]) \
            else np.flatnonzero(np.isnan(row))[0]
    return np.moveaxis(out.reshape(m.shape[:-1] + (1,)), -1, ax)


class StatsMethods:
    """Mixin of ``Tensor`` (see the module docstring)."""

    __slots__ = ()
    _data: np.ndarray

    def _pick(self, dim: Any, keepdim: bool, who: str, kind: str, k: int = 0) -> Any:
        """``(values, indices)`` of the order statistic ``kind`` along ``dim``."""
        check_bool(who, "keepdim", keepdim)
        d = self._data
        if d.ndim == 0:
            axis_of(0, dim, who)
            v, i = self.reshape(1)._pick(0, False, who, kind, k)  # type: ignore[attr-defined]
            return ValuesIndices(v.reshape(()), i.reshape(()))
        ax = axis_of(d.ndim, dim, who)
        n = d.shape[ax]
        if n == 0:
            raise IndexRangeError(f"{who}: cannot compute over the empty dim {ax} of a tensor of shape {d.shape}")
        if kind == "kth" and not 0 <= k < n:
            raise IndexRangeError(f"{who}: k = {k + 1} is out of range for dim {ax} of size {n} (shape {d.shape})")
        idx = _mode_positions(d, ax) if kind == "mode" else _positions(d, ax, kind, k)
        values = self.gather(ax, idx)  # type: ignore[attr-defined]
        if not keepdim:
            values, idx = values.squeeze(ax), np.squeeze(idx, ax)
        return ValuesIndices(values, make(idx, None, (), None, False,
                                          *derived(who, idx.shape, self, over_samples=ax == 0)))

    def _median_all(self, who: str) -> "Tensor":
        """The median of all values, its gradient shared equally by every element equal to
        it (every nan when it is nan), as torch's."""
        flat = self.reshape(-1)  # type: ignore[attr-defined]
        if flat._data.size == 0 and flat._data.dtype.kind == "f":  # no values: nan, as torch (in the
            return flat.sum() + float("nan")  # graph, so a backward gives the empty gradient)
        picked = flat._pick(0, False, who, who).values
        d, v = flat._data, picked._data
        if d.dtype.kind != "f":  # (no gradient: the value itself, in the input's dtype)
            return picked
        with np.errstate(invalid="ignore"):
            mask = (d == v) | (np.isnan(d) & np.isnan(v))
        if not np.isfinite(v):  # (nan or an infinity: their sum over the ties / their count is the value)
            return flat.where(mask, np.zeros((), d.dtype)).sum() / np.asarray(mask.sum(), d.dtype)
        # s = sum of the tied elements / their count carries the shared gradient; its value is
        # within rounding of v, so v - s is exact (Sterbenz) and s + (v - s) is v exactly
        s = (flat.where(mask, np.zeros((), d.dtype)) * np.asarray(1 / mask.sum(), d.dtype)).sum()
        if not np.isfinite(s._data):  # (ties at the largest float: the value, its gradient to one of them)
            return picked
        return s + (v - s._data)

    def median(self, dim: Optional[int] = None, keepdim: bool = False) -> Any:
        """Without ``dim``: the lower median of all values (the element at position
        (N-1)//2 of the sorted values; nan if any value is nan), its gradient shared equally
        by the elements equal to it. With ``dim``: ``(values, indices)`` along it, the
        gradient going to the element at ``indices`` (which nan, where a line has several,
        is not specified)."""
        if dim is None:
            return self._median_all("median")
        return self._pick(dim, keepdim, "median", "median")

    def nanmedian(self, dim: Optional[int] = None, keepdim: bool = False) -> Any:
        """``median`` of the values that are not nan (nan where all are)."""
        if dim is None:
            return self._median_all("nanmedian")
        return self._pick(dim, keepdim, "nanmedian", "nanmedian")

    def kthvalue(self, k: int, dim: int = -1, keepdim: bool = False) -> ValuesIndices:
        """``(values, indices)`` of the k-th smallest value (k counts from 1) along ``dim``."""
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
            raise TypeError(f"kthvalue: k must be an int, got {k!r}")
        return self._pick(dim, keepdim, "kthvalue", "kth", int(k) - 1)

    def mode(self, dim: int = -1, keepdim: bool = False) -> ValuesIndices:
        """``(values, indices)``: the most frequent value along ``dim`` (the smallest of
        equally frequent ones) and its last position; the gradient goes to that position.
        Which value a line holding nan gives is not specified."""
        return self._pick(dim, keepdim, "mode", "mode")

    def _quantile(self, q: Any, dim: Any, keepdim: bool, interpolation: str, who: str) -> "Tensor":
        _floating(self, who)
        check_bool(who, "keepdim", keepdim)
        if isinstance(q, base.Tensor):
            qa = q._data
            if qa.ndim > 1:
                raise ShapeMismatchError(f"{who}: q must be a scalar or a 1-d tensor, got shape {qa.shape}")
            if qa.dtype != self._data.dtype:
                raise DtypeError(f"{who}: q (dtype {qa.dtype}) must have the input's dtype {self._data.dtype}")
        elif isinstance(q, numbers.Real) and not isinstance(q, bool):
            qa = np.asarray(float(q))
        else:
            raise TypeError(f"{who}: q must be a number or a tensor, got {type(q).__name__}")
        if qa.size and not ((qa >= 0) & (qa <= 1)).all():
            raise ArgumentError(f"{who}: q values must lie in [0, 1], got {qa.tolist()}")
        if interpolation not in _MODES:
            raise ArgumentError(f"{who}: interpolation must be one of {', '.join(_MODES)}; got {interpolation!r}")
        d = self._data
        if dim is None:
            x = self.reshape(-1)  # type: ignore[attr-defined]
        else:
            ax = axis_of(d.ndim, dim, who)
            x = self.reshape(1) if d.ndim == 0 else self.movedim(ax, -1)  # type: ignore[attr-defined]
        n = x._data.shape[-1]
        if d.size == 0:  # torch refuses an empty input, also along another axis than dim
            raise IndexRangeError(f"{who}: the input must be non-empty, got shape {d.shape}")
        s = x.sort(-1).values
        sd = s._data
        isnan = np.isnan(sd)
        qv = qa.reshape(-1).astype(d.dtype)
        if who == "nanquantile":
            ranks = qv * (np.sum(~isnan, -1, keepdims=True) - 1).astype(d.dtype)
            ranks = np.where(ranks < 0, 0, ranks)  # all NaN: the first (a NaN; its gradient goes there, as torch)
        else:
            ranks = np.where(isnan.any(-1, keepdims=True), n - 1, qv * (n - 1))
        ranks = {"lower": np.floor, "higher": np.ceil, "nearest": np.round}.get(interpolation, lambda r: r)(ranks)
        ranks = ranks.astype(d.dtype, copy=False)
        below = ranks.astype(np.int64)
        out = s.gather(-1, below)
        if interpolation in ("linear", "midpoint"):
            w: Any = (np.full(ranks.shape, 0.5, d.dtype) if interpolation == "midpoint"
                      else (ranks - below).astype(d.dtype))
            if interpolation == "linear" and isinstance(q, base.Tensor) and q.requires_grad:
                # w = r - floor(r), r = q (N - 1): its gradient reaches q, as torch's (the values stay w's)
                # (not where the result is nan: a row with a nan, or of nan only for nanquantile)
                counts = (np.sum(~isnan, -1, keepdims=True) if who == "nanquantile"
                          else np.full(isnan.shape[:-1] + (1,), n))
                nan_row = (counts == 0) if who == "nanquantile" else isnan.any(-1, keepdims=True)
                qs = q.reshape(-1) * np.maximum(counts - 1, 0).astype(d.dtype)  # type: ignore[attr-defined]
                w = factories.where(np.broadcast_to(nan_row, ranks.shape), w, qs - qs.detach() + w)
            above = s.gather(-1, np.ceil(ranks).astype(np.int64))
            out = out + (above - out) * w
        if qa.ndim == 0:
            out = out.squeeze(-1)
        else:
            out = out.movedim(-1, 0)
        if keepdim:
            lead = out._data.shape[:qa.ndim]
            if dim is None:
                out = out.reshape(lead + (1,) * d.ndim)
            elif d.ndim:
                out = out.unsqueeze(qa.ndim + ax)
        elif dim is not None and d.ndim == 0:
            out = out.reshape(out._data.shape[:qa.ndim])
        return out

    def quantile(self, q: Any, dim: Optional[int] = None, keepdim: bool = False, *,
                 interpolation: str = "linear") -> "Tensor":
        """The q-th quantiles along ``dim`` (of all values without ``dim``): with the sorted
        values v_0 <= ... <= v_(N-1) and the rank r = q (N-1), ``linear`` gives
        v_floor(r) + (r - floor(r)) (v_ceil(r) - v_floor(r)); ``lower``, ``higher`` and
        ``nearest`` give v at floor(r), ceil(r), round(r) (halves to even), ``midpoint`` the
        mean of the two. A 1-d ``q`` adds a leading axis of its length. nan where a row has a
        nan. The gradient is split between the two neighbours by the interpolation weights; with
        ``linear`` and a ``q`` that requires grad, q's is (N - 1)(v_ceil(r) - v_floor(r)), as torch's."""
        return self._quantile(q, dim, keepdim, interpolation, "quantile")

    def nanquantile(self, q: Any, dim: Optional[int] = None, keepdim: bool = False, *,
                    interpolation: str = "linear") -> "Tensor":
        """``quantile`` of the values that are not nan (N counts them; nan where all are)."""
        return self._quantile(q, dim, keepdim, interpolation, "nanquantile")

    def aminmax(self, *, dim: Optional[int] = None, keepdim: bool = False) -> AMinMax:
        """``(amin, amax)`` over ``dim`` (all values without it); the gradient of each is
        shared equally among the elements that attain it."""
        if self._data.size == 0 and (dim is None or self._data.shape[axis_of(self._data.ndim, dim, "aminmax")] == 0):
            from .ops.reduce import EmptyReductionError
            raise EmptyReductionError(f"aminmax: cannot reduce an empty tensor of shape {self._data.shape} over "
                             f"{'all axes' if dim is None else f'dim {dim}'}")
        dims = () if dim is None else dim
        return AMinMax(self.amin(dims, keepdim), self.amax(dims, keepdim))  # type: ignore[attr-defined]

    def nansum(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> "Tensor":
        """The sum over ``dim`` with nan counted as 0 (the gradient at nan positions is 0)."""
        x = self if self._data.dtype.kind != "f" else self.where(~np.isnan(self._data), 0.0)  # type: ignore
        return x.sum(dim=dim, keepdim=keepdim, dtype=dtype)  # type: ignore[attr-defined]

    def nanmean(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> "Tensor":
        """nansum / (the number of values that are not nan) over ``dim``."""
        x = self if dtype is None else self.astype(dtype)  # type: ignore[attr-defined]
        _floating(x, "nanmean")
        d = x._data
        axes = axes_of(d.ndim, dim, "nanmean")  # ints in range, else TypeError / AxisError naming nanmean
        count = (~np.isnan(d)).sum(axis=axes, keepdims=keepdim)
        return x.nansum(dim, keepdim) / np.asarray(count, d.dtype)  # type: ignore[attr-defined]

    def cov(self, *, correction: int = 1, fweights: Any = None, aweights: Any = None) -> "Tensor":
        """The covariance matrix of the variables in the rows (observations in the columns;
        a 1-d tensor is one variable). With weights w = fweights * aweights (each optional),
        the mean is mu = sum_j w_j x_j / sum w and
        cov = (x - mu) diag(w) (x - mu)^T / (sum w - correction * sum(w aweights) / sum w)
        (``sum w - correction`` without aweights). Differentiable in the input and aweights."""
        from .torchmath import _other
        d = self._data
        if d.ndim > 2:
            raise ShapeMismatchError(f"cov: expected a 1-d or 2-d input, got shape {d.shape}")
        if isinstance(correction, bool) or not isinstance(correction, (int, np.integer)):
            raise TypeError(f"cov: correction must be an int, got {correction!r}")
        x = self.reshape(1, -1) if d.ndim < 2 else self  # type: ignore[attr-defined]
        if x._data.dtype.kind != "f":
            x = x.astype(np.float64)  # type: ignore[attr-defined]
        n = x._data.shape[1]
        w: Any = None
        for key, wt in (("fweights", fweights), ("aweights", aweights)):
            if wt is None:
                continue
            t = _other(wt)
            if t._data.ndim > 1 or t._data.size != n:
                raise ShapeMismatchError(f"cov: {key} must be a 1-d tensor of {n} values (the observations), got "
                                         f"shape {t._data.shape}")
            if key == "fweights" and t._data.dtype.kind not in "iu":
                raise DtypeError(f"cov: fweights must be integers, got dtype {t._data.dtype}")
            if (t._data < 0).any():
                raise ArgumentError(f"cov: {key} cannot be negative")
            t = t.reshape(-1)
            w = t if w is None else w * t
        if w is None:
            mu = x.mean(dim=1, keepdim=True)
            norm: Any = n - correction
        else:
            wsum = w.sum()
            if not wsum._data:  # (nothing to normalise by: torch refuses)
                raise ArgumentError("cov: the weights sum to zero, so the covariance cannot be normalised")
            mu = (x * w).sum(dim=1, keepdim=True) / wsum
            norm = wsum - correction if aweights is None else wsum - correction * (w * _other(aweights)).sum() / wsum
        xm = x - mu
        c = ((xm * w) if w is not None else xm) @ xm.swapaxes(0, 1)
        if isinstance(norm, (int, np.integer)):
            norm = max(norm, 0)
            out = c / norm if norm else c / np.zeros((), c._data.dtype)
        else:
            out = c / norm.clamp_min(0)
        return out.reshape(()) if d.ndim < 2 or d.shape[0] == 1 else out  # (one variable: 0-d, as torch)

    def corrcoef(self) -> "Tensor":
        """Pearson's correlation matrix cov_ij / sqrt(cov_ii cov_jj) of the rows, clipped to
        [-1, 1]."""
        c = self.cov()
        if c._data.ndim == 0:
            return c / c
        s = c.diagonal().sqrt()  # type: ignore[attr-defined]
        return (c / s.reshape(-1, 1) / s.reshape(1, -1)).clamp(-1.0, 1.0)  # type: ignore[attr-defined]

    @allocating("histogram")
    def histogram(self, bins: Any = 100, *, range: Optional[tuple] = None, weight: Any = None,
                  density: bool = False) -> Histogram:
        """``(hist, bin_edges)``: the counts (or summed weights) of the values in ``bins``
        equal bins over ``range`` (default: the values' min and max, widened by 1/2 on both
        sides when equal), or in the bins between the edges of a 1-d tensor ``bins``; with
        ``density``, normalised to integrate to 1. No gradient."""
        _floating(self, "histogram")
        check_bool("histogram", "density", density)
        d = self._data
        if isinstance(bins, base.Tensor):
            edges = bins._data
            if edges.ndim != 1 or edges.size < 2:  # (one edge makes no bin: torch refuses it)
                raise ArgumentError(f"histogram: bins must be a 1-d tensor of at least 2 edges, got shape "
                                    f"{edges.shape}")
            if (np.diff(edges) < 0).any():
                raise ArgumentError("histogram: bin edges must increase")
        elif isinstance(bins, (int, np.integer)) and not isinstance(bins, bool):
            if bins <= 0:
                raise ArgumentError(f"histogram: bins must be > 0, got {bins}")
            edges = int(bins)
        else:
            raise TypeError(f"histogram: bins must be an int or a 1-d tensor, got {type(bins).__name__}")
        if range is not None and (len(range) != 2 or not range[0] <= range[1]):
            raise ArgumentError(f"histogram: range must be (min, max) with min <= max, got {range!r}")
        w = None
        if weight is not None:
            w = weight._data if isinstance(weight, base.Tensor) else np.asarray(weight)
            if w.shape != d.shape:
                raise ShapeMismatchError(f"histogram: weight of shape {w.shape} must have the input's shape "
                                         f"{d.shape}")
        if isinstance(edges, int):  # equal bins: their range (given, or the values') must be finite
            lo, hi = range if range is not None else (d.min(), d.max()) if d.size else (0.0, 1.0)
            if not (np.isfinite(lo) and np.isfinite(hi)):
                raise ArgumentError(f"histogram: the range [{lo}, {hi}] of the bins is not finite"
                                    f"{'' if range is not None else ' (the values hold NaN or inf)'}")
            if lo == hi:
                lo, hi = lo - 0.5, hi + 0.5
            hist, e = equal_bins(d.reshape(-1), edges, lo, hi, None if w is None else w.reshape(-1), search=True)
            if density:
                with np.errstate(divide="ignore", invalid="ignore"):
                    hist = hist / hist.sum() / np.diff(e)
        else:
            hist, e = np.histogram(d.reshape(-1), edges, weights=None if w is None else w.reshape(-1),
                                   density=bool(density))
        return Histogram(make(hist.astype(d.dtype), None, (), None, False),
                         make(np.asarray(e, d.dtype), None, (), None, False))


def equal_bins(x: np.ndarray, bins: int, lo: Any, hi: Any, weights: Optional[np.ndarray] = None,
               search: bool = False) -> tuple:
    """``(counts, edges)`` of the 1-d ``x`` in ``bins`` equal bins over [lo, hi], as torch's CPU
    kernel counts them: in x's dtype, bin ``floor((x - lo) * bins / (hi - lo))`` (the top edge in
    the last bin; values outside and nan left out); with ``search`` (``histogram``), moved by one
    where the edges, torch's linspace, say so. ``weights``: summed instead of counted."""
    dt = x.dtype
    edges = factories._spaced(lo, hi, bins + 1, dt)
    lo_, hi_ = edges[0], edges[-1]
    keep = (x >= lo_) & (x <= hi_)
    xs = x[keep]
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = (xs - lo_) * dt.type(bins) / (hi_ - lo_)
        if not np.isfinite(scaled).all():  # (a range wider than the dtype's largest value: by the edges)
            scaled = np.searchsorted(edges, xs, side="right") - 1
        pos = np.clip(scaled, 0, bins - 1).astype(np.int64)
    if search:
        pos = pos - ((pos > 0) & (xs < edges[pos]))
        pos = pos + ((pos < bins - 1) & (xs >= edges[np.minimum(pos + 1, bins)]))
    counts = np.bincount(pos, weights=None if weights is None else weights[keep], minlength=bins)
    return counts, edges
