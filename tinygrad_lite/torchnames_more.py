"""More of torch's top-level names: sampling (``bernoulli``, ``poisson``, ``binomial``,
``randint_like``), tensor predicates and the identity views of real tensors (``is_complex``,
``conj``, ``real``, ...), ``fill``, ``typename``, process-wide switches (default device,
warn-always, anomaly mode, inter-op threads, denormal flushing), the matrix norms
``nuclear_norm`` / ``frobenius_norm``, the numerical derivative ``gradient``, the
multi-dimensional ``histogramdd`` and ``vmap`` (``tl.func.vmap``).

Sampling draws from ``generator`` (a ``tl.Generator``; None: the default one). As torch's,
``bernoulli`` and ``poisson`` of a tensor that requires grad give a result that requires grad
with a zero gradient (a sample does not move with its parameter); ``binomial`` records no
graph. Tensors here are never complex, conjugated, negated views or inference tensors, so
``conj``, ``conj_physical``, ``resolve_conj``, ``resolve_neg`` and ``real`` return their input.

Anomaly mode here is the NaN/Inf check of ``tl.detect_anomaly``: ``set_anomaly_enabled(True,
check_nan=False)`` leaves it off (as ``tl.autograd.set_detect_anomaly`` does), and both
``is_anomaly_enabled`` and ``is_anomaly_check_nan_enabled`` say whether it is on.
"""

from __future__ import annotations

import builtins
import numbers
import os
from typing import Any, Callable, NamedTuple, Optional

import numpy as np

from .autograd_checks import set_detect_anomaly
from .conventions import check_bool
from .factories import check_device, device, get_default_dtype, where
from .func import vmap
from .graph import state
from .linalg import matrix_norm, vector_norm
from .ops.base import ArgumentError, ShapeMismatchError
from .random import as_generator
from .tensor import Tensor, cat

__all__ = ["bernoulli", "poisson", "binomial", "randint_like", "vmap", "is_complex", "is_nonzero", "is_signed",
           "is_inference", "is_conj", "is_neg", "conj", "conj_physical", "conj_physical_", "resolve_conj",
           "resolve_neg", "real", "fill", "typename", "get_default_device", "set_default_device", "set_warn_always",
           "is_warn_always_enabled", "is_anomaly_enabled", "set_anomaly_enabled", "is_anomaly_check_nan_enabled",
           "get_num_interop_threads", "set_num_interop_threads", "set_flush_denormal", "nuclear_norm",
           "frobenius_norm", "gradient", "histogramdd"]

_flags: dict[str, Any] = {"warn_always": False, "interop": None}


def _tensor(who: str, x: Any) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{who}: expected a Tensor input, got {type(x).__name__}")
    return x


def _float(who: str, x: Any, name: str = "input") -> Tensor:
    x = _tensor(who, x)
    if x.data.dtype.kind != "f":
        raise TypeError(f"{who}: {name} must be a floating-point tensor, got dtype {x.data.dtype}")
    return x



def _zero_grad_result(x: Tensor, sample: np.ndarray) -> Tensor:
    """``sample`` as a tensor of ``x``'s dtype; when ``x`` requires grad, joined to it by a
    zero gradient (where(True, sample, x)), as torch's samplers."""
    out = Tensor(np.asarray(sample).astype(x.data.dtype, copy=False))  # (a 0-d draw comes back a number)
    if x.requires_grad and state.grad:
        return where(np.ones(x.shape, dtype=bool), out, x)
    return out


# ------------------------------------------------------------------------ sampling -------
def bernoulli(input: Tensor, p: Optional[float] = None, *, generator: Any = None) -> Tensor:
    """1 with probability ``input`` (or, given, the number ``p``) for each element, else 0;
    ``input``'s shape and dtype."""
    x = _tensor("bernoulli", input)
    if p is None:
        _float("bernoulli", x)
        probs = x.data
    else:
        if isinstance(p, (bool, np.bool_)) or not isinstance(p, numbers.Real):
            raise TypeError(f"bernoulli: p must be a real number, got {p!r}")
        probs = np.float64(p)
    if not ((probs >= 0) & (probs <= 1)).all():
        got = p if p is not None else "values outside that range"
        raise ValueError(f"bernoulli: the probabilities must be in [0, 1], got {got}")
    rng = as_generator(generator, "bernoulli: generator")
    return _zero_grad_result(x, rng.random(x.shape) < probs)


def poisson(input: Tensor, generator: Any = None) -> Tensor:
    """A Poisson draw with rate ``input`` for each element (``input``'s shape and dtype)."""
    x = _float("poisson", input)
    if not (np.isfinite(x.data) & (x.data >= 0)).all():
        raise ValueError("poisson: the rates must be finite and non-negative")
    rng = as_generator(generator, "poisson: generator")
    return _zero_grad_result(x, rng.poisson(x.data))


def binomial(count: Tensor, prob: Tensor, generator: Any = None) -> Tensor:
    """A Binomial(floor(count), prob) draw for each element of the broadcast pair (a
    negative count gives 0); ``count`` and ``prob`` are float tensors of one dtype. No graph."""
    c, q = _float("binomial", count, "count"), _float("binomial", prob, "prob")
    if c.data.dtype != q.data.dtype:
        raise TypeError(f"binomial: count and prob must have the same dtype, got {c.data.dtype} and {q.data.dtype}")
    try:
        shape = np.broadcast_shapes(c.shape, q.shape)
    except ValueError:
        raise ShapeMismatchError(f"binomial: count of shape {tuple(c.shape)} and prob of shape {tuple(q.shape)} do "
                                 "not broadcast") from None
    if not ((q.data >= 0) & (q.data <= 1)).all() or np.isnan(c.data).any():
        raise ValueError("binomial: prob must be in [0, 1] and count not NaN")
    n = np.maximum(np.floor(c.data), 0)
    if np.isinf(n).any():
        raise ValueError("binomial: count must be finite")
    rng = as_generator(generator, "binomial: generator")
    draw = rng.binomial(np.broadcast_to(n, shape).astype(np.int64), np.broadcast_to(q.data, shape))
    return Tensor(np.asarray(draw).astype(c.data.dtype))


def randint_like(input: Tensor, low: Any, high: Any = None, *, generator: Any = None, dtype: Any = None,
                 layout: Any = None, device: Any = None, requires_grad: bool = False,
                 memory_format: Any = None) -> Tensor:
    """Integers drawn uniformly from ``[low, high)`` (``randint_like(x, high)``: from
    ``[0, high)``) in ``input``'s shape, in ``dtype`` (default ``input``'s)."""
    x = _tensor("randint_like", input)
    check_device("randint_like", device)
    if high is None:
        low, high = 0, low
    bounds = []
    for name, v in (("low", low), ("high", high)):
        if isinstance(v, Tensor):
            if v.data.size != 1 or v.data.dtype.kind not in "iuf":
                raise TypeError(f"randint_like: {name} must be an int or a one-element tensor, got {v!r}")
            v = v.data.reshape(()).item()
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real) or not np.isfinite(v) or v != int(v):
            raise TypeError(f"randint_like: {name} must be an int, got {v!r}")
        bounds.append(int(v))
    lo, hi = bounds
    if not lo < hi:
        raise ValueError(f"randint_like: expects low < high, got low={lo}, high={hi}")
    dt = x.data.dtype if dtype is None else np.dtype(dtype)
    check_bool("randint_like", "requires_grad", requires_grad)
    if requires_grad and dt.kind != "f":
        raise TypeError(f"randint_like: only floating-point tensors can require gradients, got dtype {dt}")
    if dt.kind in "iu" and not (np.iinfo(dt).min <= lo and hi - 1 <= np.iinfo(dt).max):
        raise ValueError(f"randint_like: the range [{lo}, {hi}) does not fit dtype {dt}")
    rng = as_generator(generator, "randint_like: generator")
    return Tensor(rng.integers(lo, hi, x.shape).astype(dt), requires_grad=bool(requires_grad))


# ---------------------------------------------------------------- predicates, views -------
def _same(t: Tensor) -> Tensor:
    return t


def _on_tensor(name: str, doc: str, body: Optional[Callable[[Tensor], Any]] = None) -> Callable[[Tensor], Any]:
    """``tl.<name>(input)``: ``body`` of ``input`` (default: its Tensor method ``name``), once
    ``input`` is checked to be a Tensor."""
    def fn(input: Tensor) -> Any:
        t = _tensor(name, input)
        return getattr(t, name)() if body is None else body(t)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


is_complex = _on_tensor("is_complex", "Whether the dtype is complex: never, here.")
is_nonzero = _on_tensor("is_nonzero", "The truth of a one-element tensor (else RuntimeError).")
is_signed = _on_tensor("is_signed", "Whether the dtype holds negative numbers (floats and signed integers).")
is_inference = _on_tensor("is_inference", "Whether the tensor is an inference tensor: never, here.")
is_conj = _on_tensor("is_conj", "Whether the tensor is a lazily conjugated view: never, here.")
is_neg = _on_tensor("is_neg", "Whether the tensor is a lazily negated view: never, here.")


conj = _on_tensor("conj", "The complex conjugate: a real tensor is its own.", _same)
conj_physical = _on_tensor("conj_physical", "The conjugate, computed: a real tensor is its own.", _same)
conj_physical_ = _on_tensor("conj_physical_", "In-place conjugate: a real tensor is unchanged.", _same)
resolve_conj = _on_tensor("resolve_conj", "With a pending conjugation applied: ``input`` itself.", _same)
resolve_neg = _on_tensor("resolve_neg", "With a pending negation applied: ``input`` itself.", _same)
real = _on_tensor("real", "The real part: a real tensor is ``input`` itself.", _same)


def fill(input: Tensor, value: Any) -> Tensor:
    """A new tensor of ``input``'s shape and dtype holding ``value`` (a number or a 0-d
    tensor) everywhere; the gradient reaches ``value`` (the sum of the incoming one) and is
    zero for ``input``."""
    x = _tensor("fill", input)
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise ValueError(f"fill: value must be a number or a 0-d tensor, got shape {tuple(value.shape)}")
        v = value if value.data.dtype == x.data.dtype else value.to(x.data.dtype)
    elif isinstance(value, numbers.Number) or isinstance(value, np.generic):
        v = Tensor(np.asarray(value).astype(x.data.dtype))
    else:
        raise TypeError(f"fill: value must be a number or a 0-d tensor, got {type(value).__name__}")
    return where(np.ones(x.shape, dtype=bool), v, x)


def typename(obj: Any) -> str:
    """A tensor's type string (``x.type()``, e.g. ``'torch.DoubleTensor'``); otherwise the
    dotted module and qualified name of ``obj`` (of its class when it has none), without
    ``builtins.``."""
    if isinstance(obj, Tensor):
        return obj.type()
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    module = getattr(obj, "__module__", None) if name is not None else None
    if name is None:
        name, module = type(obj).__qualname__, type(obj).__module__
    return name if module in (None, "", "builtins") else f"{module}.{name}"


# ------------------------------------------------------------------------ switches -------
def get_default_device() -> device:
    """The device new tensors are made on: always ``device('cpu')``."""
    return device("cpu")


def set_default_device(device: Any) -> None:
    """``None``, ``'cpu'`` (or ``'cpu:0'``, a cpu device) are accepted and change nothing;
    any other device is a RuntimeError (there is none here)."""
    check_device("set_default_device", device)


def set_warn_always(b: bool) -> None:
    """Records the flag (warnings here are Python warnings, filtered by Python's rules)."""
    if not isinstance(b, (bool, np.bool_, numbers.Integral)):
        raise TypeError(f"set_warn_always: expected a bool, got {b!r}")
    _flags["warn_always"] = bool(b)


def is_warn_always_enabled() -> bool:
    """The flag last given to ``set_warn_always`` (False at first)."""
    return _flags["warn_always"]


def is_anomaly_enabled() -> bool:
    """Whether anomaly detection (``tl.detect_anomaly``'s NaN/Inf check) is on in this thread."""
    return bool(state.anomaly)


def is_anomaly_check_nan_enabled() -> bool:
    """Whether the NaN/Inf check is on in this thread (the same as ``is_anomaly_enabled``)."""
    return bool(state.anomaly)


def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    """Switch anomaly detection on (``enabled and check_nan``) or off in this thread, from now on."""
    check_bool("set_anomaly_enabled", "enabled", enabled)
    check_bool("set_anomaly_enabled", "check_nan", check_nan)
    set_detect_anomaly(bool(enabled), bool(check_nan))


def get_num_interop_threads() -> int:
    """The number last given to ``set_num_interop_threads``, else the number of CPUs."""
    return _flags["interop"] if _flags["interop"] is not None else (os.cpu_count() or 1)


def set_num_interop_threads(n: int) -> None:
    """Records ``n`` (an int >= 1); nothing here runs ops in parallel with each other."""
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral):
        raise TypeError(f"set_num_interop_threads: expected an int, got {n!r}")
    if not 1 <= n <= 2**31 - 1:
        raise ValueError(f"set_num_interop_threads: number of threads must be in [1, 2**31 - 1], got {n}")
    _flags["interop"] = int(n)


def set_flush_denormal(mode: bool) -> bool:
    """Returns False: flushing denormal floats to zero is not supported (numpy keeps them),
    whichever ``mode``."""
    check_bool("set_flush_denormal", "mode", mode)
    return False


# --------------------------------------------------------------------------- norms -------
def nuclear_norm(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """The sum of the singular values of the matrix over the two axes ``dim`` (of a 2-d
    input when None; ``nuclear_norm(x, True)`` is ``keepdim``)."""
    x = _tensor("nuclear_norm", input)
    if isinstance(dim, (bool, np.bool_)):
        dim, keepdim = None, bool(dim)
    check_bool("nuclear_norm", "keepdim", keepdim)
    if dim is None:
        if x.ndim != 2:
            raise ShapeMismatchError(f"nuclear_norm: expected a 2-d input when no dim is given, got shape "
                                     f"{tuple(x.shape)}")
        dim = (0, 1)
    return matrix_norm(x, "nuc", dim, keepdim)


def frobenius_norm(input: Tensor, dim: Any, keepdim: bool = False) -> Tensor:
    """``sqrt(sum x**2)`` over the one or two axes ``dim``."""
    x = _tensor("frobenius_norm", input)
    if not isinstance(dim, (int, np.integer, tuple, list)) or isinstance(dim, (bool, np.bool_)):
        raise TypeError(f"frobenius_norm: dim must be an int or a tuple of one or two ints, got {dim!r}")
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    if not 1 <= len(dims) <= 2:
        raise ArgumentError(f"frobenius_norm: dim must name one or two axes, got {dim!r}")
    check_bool("frobenius_norm", "keepdim", keepdim)
    return vector_norm(x, 2, dims, keepdim)


# ------------------------------------------------------------------------ gradient -------
def _axis_gradient(f: Tensor, ax: int, h: Any, edge_order: int) -> Tensor:
    """The derivative along ``ax``: central differences inside, one-sided ones of order
    ``edge_order`` at the two ends; ``h`` a spacing (a number) or the coordinates (a 1-d array)."""
    n = f.shape[ax]

    def sl(a: int, b: Optional[int]) -> Tensor:
        idx = [slice(None)] * f.ndim
        idx[ax] = slice(a, b)
        return f[tuple(idx)]

    def along(v: np.ndarray) -> np.ndarray:  # a 1-d array of coefficients lined up with ``ax``
        return v.reshape((-1,) + (1,) * (f.ndim - 1 - ax))

    dt = f.data.dtype
    if isinstance(h, np.ndarray):
        d = np.diff(h).astype(dt)
        hs, hd = d[:-1], d[1:]  # the steps before and after each inner point
        den = hs * hd * (hs + hd)
        inner = (sl(2, None) * along(hs * hs / den) + sl(1, -1) * along((hd * hd - hs * hs) / den)
                 - sl(0, -2) * along(hd * hd / den))
        d0, d1, dm2, dm1 = d[0], d[1] if n > 2 else d[0], d[-2] if n > 2 else d[-1], d[-1]
    else:
        inner = (sl(2, None) - sl(0, -2)) / (2 * h) if n > 2 else None
        d0 = d1 = dm2 = dm1 = h
    if edge_order == 1:
        first, last = (sl(1, 2) - sl(0, 1)) / d0, (sl(n - 1, n) - sl(n - 2, n - 1)) / dm1
    else:  # second order, from the three end points
        a, b, c = -(2 * d0 + d1) / (d0 * (d0 + d1)), (d0 + d1) / (d0 * d1), -d0 / (d1 * (d0 + d1))
        first = sl(0, 1) * a + sl(1, 2) * b + sl(2, 3) * c
        a, b, c = dm1 / (dm2 * (dm2 + dm1)), -(dm1 + dm2) / (dm2 * dm1), (2 * dm1 + dm2) / (dm1 * (dm2 + dm1))
        last = sl(n - 3, n - 2) * a + sl(n - 2, n - 1) * b + sl(n - 1, n) * c
    return cat([first, last] if inner is None else [first, inner, last], dim=ax)


def gradient(input: Tensor, *, spacing: Any = 1, dim: Any = None, edge_order: int = 1) -> tuple:
    """The derivative of the sampled function ``input`` along each axis of ``dim`` (every
    axis when None), one tensor per axis: ``(f[i+1] - f[i-1]) / (2h)`` inside (the
    second-order formula for uneven coordinates), one-sided differences of order
    ``edge_order`` (1 or 2) at the ends. ``spacing``: one number for every axis, one number
    per axis, or one 1-d tensor of coordinates per axis. Differentiable."""
    x = _tensor("gradient", input)
    if x.data.dtype.kind != "f":
        x = x.to(get_default_dtype())
    if isinstance(edge_order, (bool, np.bool_)) or edge_order not in (1, 2):
        raise ValueError(f"gradient: edge_order must be 1 or 2, got {edge_order!r}")
    if dim is None:
        dims = list(range(x.ndim))
    else:
        dims = [dim] if isinstance(dim, (int, np.integer)) else list(dim)
        for d in dims:
            if isinstance(d, (bool, np.bool_)) or not isinstance(d, (int, np.integer)) or not -x.ndim <= d < x.ndim:
                raise IndexError(f"gradient: dim {d!r} is out of range for a {x.ndim}-d input")
        dims = [int(d) % x.ndim for d in dims]
        if len(set(dims)) != len(dims):
            raise ArgumentError(f"gradient: dim has repeated axes: {dim!r}")
    if isinstance(spacing, (list, tuple)):
        if len(spacing) != len(dims):
            raise ArgumentError(f"gradient: spacing must be a number or hold one entry per axis differentiated "
                                f"({len(dims)}), got {len(spacing)}")
        steps = list(spacing)
    elif isinstance(spacing, numbers.Real) and not isinstance(spacing, (bool, np.bool_)):
        steps = [spacing] * len(dims)
    else:
        raise TypeError(f"gradient: spacing must be a number or a list/tuple of numbers or 1-d tensors, got "
                        f"{type(spacing).__name__}")
    out = []
    for ax, h in zip(dims, steps):
        n = x.shape[ax]
        if n < edge_order + 1:
            raise ValueError(f"gradient: each axis differentiated needs at least edge_order + 1 = {edge_order + 1} "
                             f"points, axis {ax} has {n}")
        if isinstance(h, Tensor):
            if h.ndim != 1 or h.shape[0] != n:
                raise ShapeMismatchError(f"gradient: the coordinates for axis {ax} must be a 1-d tensor of {n} "
                                         f"points, got shape {tuple(h.shape)}")
            h = h.data.astype(np.float64)
        elif isinstance(h, (bool, np.bool_)) or not isinstance(h, numbers.Real):
            raise TypeError(f"gradient: spacing entries must be numbers or 1-d tensors, got {type(h).__name__}")
        out.append(_axis_gradient(x, ax, h, edge_order))
    return tuple(out)


# ---------------------------------------------------------------------- histogramdd -------
class HistogramDD(NamedTuple):
    """``histogramdd``'s result: the counts and one tensor of bin edges per dimension."""
    hist: Tensor
    bin_edges: tuple


def histogramdd(input: Tensor, bins: Any, *, range: Optional[Any] = None, weight: Optional[Tensor] = None,
                density: bool = False) -> HistogramDD:
    """The counts (or summed ``weight``) of the points ``input[..., :]`` (the last axis holds
    a point's ``D`` coordinates) in a grid of bins: ``bins`` one int for every dimension, one
    int per dimension, or one 1-d tensor of increasing edges per dimension; ``range`` the
    flat ``[lo0, hi0, lo1, hi1, ...]`` of equal bins (default: each coordinate's min and max,
    widened by 1/2 when equal). A bin holds ``lo <= x < hi``, the last also ``x = hi``. With
    ``density`` the counts are divided by their total and each bin's volume. No gradient."""
    x = _float("histogramdd", input)
    if x.ndim < 1:
        raise ShapeMismatchError("histogramdd: expected an input of shape (..., D), got a 0-d tensor")
    nd = x.shape[-1]
    pts = x.data.reshape(-1, nd)
    check_bool("histogramdd", "density", density)
    if isinstance(bins, (int, np.integer)) and not isinstance(bins, (bool, np.bool_)):
        bins = [int(bins)] * nd
    if not isinstance(bins, (list, tuple)) or len(bins) != nd:
        raise ArgumentError(f"histogramdd: bins must be an int or hold one entry per dimension ({nd}), got {bins!r}")
    edges: list = []
    for i, b in enumerate(bins):
        if isinstance(b, Tensor):
            e = b.data.astype(x.data.dtype)
            if e.ndim != 1 or e.size < 2 or (np.diff(e) < 0).any():
                raise ArgumentError(f"histogramdd: bins[{i}] must be a 1-d tensor of at least 2 increasing edges")
            edges.append(e)
        elif isinstance(b, (int, np.integer)) and not isinstance(b, (bool, np.bool_)) and b > 0:
            edges.append(int(b))
        else:
            raise ArgumentError(f"histogramdd: bins[{i}] must be an int > 0 or a 1-d tensor of edges, got {b!r}")
    ranges = None
    if range is not None:
        r = [float(v) for v in range]
        if len(r) != 2 * nd or any(r[2 * i] > r[2 * i + 1] for i in builtins.range(nd)):
            raise ArgumentError(f"histogramdd: range must be [lo, hi] for each of the {nd} dimensions with lo <= hi, "
                                f"got {range!r}")
        ranges = [(r[2 * i], r[2 * i + 1]) for i in builtins.range(nd)]
    w = None
    if weight is not None:
        w = weight.data if isinstance(weight, Tensor) else np.asarray(weight)
        if w.shape != tuple(x.shape[:-1]):
            raise ShapeMismatchError(f"histogramdd: weight of shape {w.shape} must have the input's shape without "
                                     f"its last axis {tuple(x.shape[:-1])}")
        w = w.reshape(-1)
    for i, e in enumerate(edges):
        if isinstance(e, int):
            col = pts[:, i]
            lo, hi = ranges[i] if ranges is not None else ((col.min(), col.max()) if col.size else (0.0, 0.0))
            if not (np.isfinite(lo) and np.isfinite(hi)):
                raise ArgumentError(f"histogramdd: the range [{lo}, {hi}] of dimension {i} is not finite")
            if lo == hi:
                lo, hi = lo - 0.5, hi + 0.5
            edges[i] = np.linspace(lo, hi, e + 1).astype(x.data.dtype)
    hist, out_edges = np.histogramdd(pts, bins=edges, weights=w, density=density)
    dt = x.data.dtype
    return HistogramDD(Tensor(hist.astype(dt)), tuple(Tensor(np.asarray(e, dt)) for e in out_edges))

