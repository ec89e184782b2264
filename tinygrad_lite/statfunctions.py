"""torch's function forms of the statistics and special-function methods (``tl.median``,
``tl.quantile``, ``tl.lgamma``, ``tl.igamma``, ``tl.logaddexp`` ...), the functions torch has only at this
level (``trapezoid`` / ``trapz``, ``cumulative_trapezoid``, ``polygamma(n, x)``, ``rsub``,
``clamp_min`` / ``clamp_max``), and the factories ``logspace``, ``vander``, the window
functions (``hann_window``, ``hamming_window``, ``blackman_window``, ``bartlett_window``,
``kaiser_window``), ``range`` (torch's, with the end included), ``scalar_tensor``,
``asarray`` and ``frombuffer``.

The differentiable functions call the methods or compose differentiable ops (narrow, sum,
cumsum, cumprod), so their gradients and per-sample gradients are those ops'.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Optional

import numpy as np

from . import factories
from .conventions import ArgumentError
from .factories import as_dtype, check_device
from .functions import _passing, _t
from .ops import base
from .ops import special as sp
from .ops.base import allocating, axis_of, make
from .ops.layout import cat
from .ops.reduce import WIDER
from .torchmath import _other

_METHODS = ["median", "nanmedian", "quantile", "nanquantile", "kthvalue", "mode", "aminmax", "nanmean", "nansum",
            "cov", "corrcoef", "histogram", "logaddexp", "logaddexp2", "copysign", "sgn", "sinc",
            "deg2rad", "rad2deg", "heaviside", "fmax", "fmin", "lgamma", "digamma", "mvlgamma", "i0", "erfc",
            "igamma", "igammac",
            "nextafter", "ldexp", "frexp", "gcd", "lcm", "isclose", "isneginf", "isposinf", "isreal", "signbit",
            "positive", "negative", "multiply", "subtract", "true_divide", "greater", "less", "greater_equal",
            "less_equal", "not_equal", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not",
            "bitwise_left_shift", "bitwise_right_shift", "absolute", "clamp_min", "clamp_max"]
globals().update({n: _passing(n) for n in _METHODS})


def std_mean(input: Any, dim: Any = None, unbiased: Optional[bool] = None, keepdim: bool = False, *,
             correction: Optional[float] = None) -> tuple:
    """``(std, mean)`` over ``dim`` (``Tensor.std``'s arguments)."""
    x = _t("std_mean", input)
    return x.std(dim, unbiased, keepdim, correction=correction), _wide_mean("std_mean", x, dim, keepdim)


def var_mean(input: Any, dim: Any = None, unbiased: Optional[bool] = None, keepdim: bool = False, *,
             correction: Optional[float] = None) -> tuple:
    """``(var, mean)`` over ``dim`` (``Tensor.var``'s arguments)."""
    x = _t("var_mean", input)
    return x.var(dim, unbiased, keepdim, correction=correction), _wide_mean("var_mean", x, dim, keepdim)


def _wide_mean(who: str, x: Any, dim: Any, keepdim: bool) -> Any:
    """The mean as torch's std_mean/var_mean give it: accumulated in the wider float the
    variance is (``ops.reduce.WIDER``), then rounded once."""
    x = x._floating(who)
    if x.data.dtype in WIDER:
        return x.to(WIDER[x.data.dtype]).mean(dim=dim, keepdim=keepdim).to(x.data.dtype)
    return x.mean(dim=dim, keepdim=keepdim)


def float_power(input: Any, exponent: Any) -> Any:
    """input ** exponent in float64 (``Tensor.float_power``); ``input`` may be a number when
    ``exponent`` is a Tensor, as in torch."""
    if isinstance(input, numbers.Real) and not isinstance(input, (bool, np.bool_)) and \
            isinstance(exponent, base.Tensor):
        input = make(np.asarray(float(input)), None, (), None, False)
    return _t("float_power", input).float_power(exponent)


def polygamma(n: int, input: Any) -> Any:
    """The n-th derivative of digamma at ``input`` (torch's argument order)."""
    return _t("polygamma", input).polygamma(n)


def rsub(input: Any, other: Any, *, alpha: Any = 1) -> Any:
    """other - alpha * input."""
    return _other(other) - _t("rsub", input) * alpha


# ------------------------------------------------------------------ integration ----------
def _trapezoids(who: str, y: Any, x: Any, dx: Any, dim: int) -> tuple:
    """The areas (y_i + y_(i+1)) / 2 * (x_(i+1) - x_i) of the N-1 trapezoids along ``dim``,
    and the axis."""
    y = _t(who, y)
    d = y.data
    if d.ndim == 0:
        raise ValueError(f"{who}: y must have at least one dim, got a 0-d tensor")
    ax = axis_of(d.ndim, dim, who)
    if x is not None and dx is not None:
        raise TypeError(f"{who}: give either x or dx, not both")
    if d.dtype.kind != "f":
        y = y.astype(np.float64)
    n = d.shape[ax]
    m = max(n - 1, 0)
    pair = y.narrow(ax, 0, m) + y.narrow(ax, min(1, n), m)
    if x is None:
        if dx is None:
            dx = 1.0
        if isinstance(dx, bool) or not isinstance(dx, numbers.Real):
            raise TypeError(f"{who}: dx must be a real number, got {dx!r}")
        return pair * (float(dx) / 2), ax
    xt = _other(x)
    xd = xt.data
    if xd.ndim == 1:
        if xd.shape[0] != n:
            raise ValueError(f"{who}: x of shape {xd.shape} must have {n} values (y has shape {d.shape}, dim {ax})")
        shape = [1] * d.ndim
        shape[ax] = m
        step = xt.diff().reshape(shape)
    else:
        if xd.ndim != d.ndim:
            raise ValueError(f"{who}: x of shape {xd.shape} must be 1-d or have y's number of dims ({d.shape})")
        step = xt.diff(dim=ax)
        try:
            np.broadcast_shapes(step.data.shape, pair.data.shape)
        except ValueError:
            raise ValueError(f"{who}: x of shape {xd.shape} does not broadcast with y of shape {d.shape}") from None
    return pair * step / 2, ax


def trapezoid(y: Any, x: Any = None, *, dx: Any = None, dim: int = -1) -> Any:
    """The trapezoidal rule along ``dim``: sum_i (y_i + y_(i+1)) / 2 * (x_(i+1) - x_i), with
    the sample points ``x`` (1-d, or y's shape) or the spacing ``dx`` (default 1)."""
    parts, ax = _trapezoids("trapezoid", y, x, dx, dim)
    return parts.sum(dim=ax)


def trapz(y: Any, x: Any = None, *, dx: Any = None, dim: int = -1) -> Any:
    """``trapezoid``."""
    parts, ax = _trapezoids("trapz", y, x, dx, dim)
    return parts.sum(dim=ax)


def cumulative_trapezoid(y: Any, x: Any = None, *, dx: Any = None, dim: int = -1) -> Any:
    """The running sums of ``trapezoid``'s terms along ``dim`` (one value fewer than y)."""
    parts, ax = _trapezoids("cumulative_trapezoid", y, x, dx, dim)
    return parts.cumsum(ax)


# ------------------------------------------------------------------ factories ------------
def _count(who: str, name: str, v: Any) -> int:
    """``v`` as a count: not an int (a float, a bool) is a TypeError, a negative int an
    ArgumentError (a ValueError, and torch's RuntimeError), as torch refuses them."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral):
        raise TypeError(f"{who}: {name} must be an int >= 0, got {v!r}")
    if v < 0:
        raise ArgumentError(f"{who}: {name} must be an int >= 0, got {v!r}")
    return int(v)


@allocating("logspace")
def logspace(start: float, end: float, steps: int, base: float = 10.0, *, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Any:
    """base ** linspace(start, end, steps): ``steps`` values evenly spaced on a log scale."""
    check_device("logspace", device)
    steps = _count("logspace", "steps", steps)
    dt = factories._float("logspace", dtype)
    exps = np.linspace(float(start), float(end), steps)
    return factories._made(np.power(float(base), exps).astype(dt), requires_grad)


def vander(x: Any, N: Optional[int] = None, increasing: bool = False) -> Any:
    """The Vandermonde matrix of the 1-d ``x``: columns x^(N-1), ..., x, 1 (x^0 first when
    ``increasing``); N defaults to len(x). Differentiable in x (running products)."""
    x = _t("vander", x)
    if x.data.ndim != 1:
        raise ValueError(f"vander: x must be a 1-d tensor, got shape {x.data.shape}")
    n = x.data.shape[0] if N is None else _count("vander", "N", N)
    if x.data.dtype.kind == "b":
        x = x.astype(np.int64)
    rows = x.data.shape[0]
    out = factories.ones(rows, 1, dtype=x.data.dtype) if n else factories.zeros(rows, 0, dtype=x.data.dtype)
    if n > 1:
        out = cat([out, x.reshape(-1, 1).expand(-1, n - 1).cumprod(1)], 1)
    return out if increasing else out.flip(1)


def _window(who: str, L: int, periodic: bool, dtype: Any, device: Any) -> tuple:
    """(N, n, dtype): the length of the symmetric window (L + 1 when periodic) and the
    positions 0..L-1."""
    check_device(who, device)
    L = _count(who, "window_length", L)
    if not isinstance(periodic, (bool, np.bool_)):
        raise TypeError(f"{who}: periodic must be a bool, got {periodic!r}")
    dt = factories._float(who, dtype)
    if dt.kind != "f":
        raise TypeError(f"{who}: dtype must be a floating-point dtype, got {dt}")
    return L + 1 if periodic else L, np.arange(L, dtype=np.float64), dt


def _made_window(w: np.ndarray, L: int, dt: Any, requires_grad: bool) -> Any:
    if L == 1:
        w = np.ones(1)
    return factories._made(np.asarray(w[:L], dtype=dt), requires_grad)


@allocating("hamming_window")
def hamming_window(window_length: int, periodic: bool = True, alpha: float = 0.54, beta: float = 0.46, *,
                   dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Any:
    """alpha - beta cos(2 pi n / (N - 1)), n = 0..L-1 (N = L + 1 when ``periodic``)."""
    N, n, dt = _window("hamming_window", window_length, periodic, dtype, device)
    with np.errstate(all="ignore"):
        w = alpha - beta * np.cos(n * (2 * math.pi / max(N - 1, 1)))
    return _made_window(w, window_length, dt, requires_grad)


@allocating("hann_window")
def hann_window(window_length: int, periodic: bool = True, *, dtype: Any = None, device: Any = None,
                requires_grad: bool = False) -> Any:
    """0.5 - 0.5 cos(2 pi n / (N - 1)) (``hamming_window`` with alpha = beta = 1/2)."""
    _window("hann_window", window_length, periodic, dtype, device)
    return hamming_window(window_length, periodic, 0.5, 0.5, dtype=dtype, requires_grad=requires_grad)


@allocating("blackman_window")
def blackman_window(window_length: int, periodic: bool = True, *, dtype: Any = None, device: Any = None,
                    requires_grad: bool = False) -> Any:
    """0.42 - 0.5 cos(2 pi n / (N - 1)) + 0.08 cos(4 pi n / (N - 1))."""
    N, n, dt = _window("blackman_window", window_length, periodic, dtype, device)
    t = n * (math.pi / max(N - 1, 1))
    return _made_window(0.08 * np.cos(4 * t) - 0.5 * np.cos(2 * t) + 0.42, window_length, dt, requires_grad)


@allocating("bartlett_window")
def bartlett_window(window_length: int, periodic: bool = True, *, dtype: Any = None, device: Any = None,
                    requires_grad: bool = False) -> Any:
    """The triangle 1 - |2n / (N - 1) - 1|."""
    N, n, dt = _window("bartlett_window", window_length, periodic, dtype, device)
    t = n * (2.0 / max(N - 1, 1))
    half = ((N - 1) >> 1) + 1
    return _made_window(np.where(np.arange(len(n)) < half, t, 2 - t), window_length, dt, requires_grad)


@allocating("kaiser_window")
def kaiser_window(window_length: int, periodic: bool = True, beta: float = 12.0, *, dtype: Any = None,
                  device: Any = None, requires_grad: bool = False) -> Any:
    """i0(beta sqrt(1 - ((n - a) / a)^2)) / i0(beta) with a = (N - 1) / 2."""
    N, n, dt = _window("kaiser_window", window_length, periodic, dtype, device)
    a = max(N - 1, 1) / 2.0
    arg = beta * np.sqrt(np.maximum(1 - ((n - a) / a) ** 2, 0.0))
    return _made_window(sp.i0(arg) / sp.i0(np.asarray(float(beta))), window_length, dt, requires_grad)


def range(start: Any, end: Any, step: Any = 1, *, dtype: Any = None, device: Any = None,  # noqa: A001
          requires_grad: bool = False) -> Any:
    """start, start + step, ... up to AND including ``end`` (torch's ``range``; float by
    default): floor((end - start) / step) + 1 values."""
    check_device("range", device)
    for v in (start, end, step):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real) or not math.isfinite(v):
            raise ValueError(f"range: start, end and step must be finite real numbers, got {(start, end, step)!r}")
    if step == 0 or (end - start) * step < 0:
        raise ValueError(f"range: the range {start} -> {end} cannot be walked with step {step}")
    count = int(math.floor((end - start) / step)) + 1
    vals = start + step * np.arange(count, dtype=np.float64)
    return factories._made(vals.astype(factories._float("range", dtype)), requires_grad)


def scalar_tensor(s: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Any:
    """A 0-d tensor holding the number ``s`` (of the default float dtype unless ``dtype``)."""
    check_device("scalar_tensor", device)
    if isinstance(s, base.Tensor):
        s = s.item()
    if not isinstance(s, (numbers.Real, np.bool_)):
        raise TypeError(f"scalar_tensor: s must be a number, got {type(s).__name__}")
    return factories._made(np.asarray(s, dtype=factories._float("scalar_tensor", dtype)), requires_grad)


def asarray(obj: Any, *, dtype: Any = None, device: Any = None, copy: Optional[bool] = None,
            requires_grad: Optional[bool] = None) -> Any:
    """``obj`` as a Tensor, sharing its memory where possible (a Tensor, a numpy array or a
    buffer of the wanted dtype) unless ``copy=True``; ``copy=False`` refuses to copy. A Tensor
    keeps its graph, as torch's: ``requires_grad`` defaults to its own flag, so ``asarray(t)``
    is ``t`` itself and a cast or a copy (``dtype=``, ``copy=True``) is recorded;
    ``requires_grad=False`` gives a detached tensor."""
    check_device("asarray", device)
    dt = None if dtype is None else as_dtype("asarray", dtype)
    if isinstance(obj, base.Tensor):
        if requires_grad is None or (requires_grad and obj.requires_grad):
            if copy is False and dt is not None and dt != obj.data.dtype:
                raise ValueError(f"asarray: copy=False but a tensor of dtype {obj.data.dtype} must be copied to {dt}")
            out = obj.clone() if copy else obj
            return out if dt is None or dt == out.data.dtype else out.astype(dt)
        if requires_grad and not obj.requires_grad and obj._op is None and not copy and (dt is None or
                                                                                         dt == obj.data.dtype):
            return obj.requires_grad_(True)  # (the same tensor, now requiring grad, as torch's)
        if (dt is None or dt == obj.data.dtype) and not copy and requires_grad == obj.requires_grad:
            return obj
        if copy is False and dt is not None and dt != obj.data.dtype:
            raise ValueError(f"asarray: copy=False but a tensor of dtype {obj.data.dtype} must be copied to {dt}")
        out = obj.detach().astype(dt or obj.data.dtype)
        arr = out.data.copy() if copy else out.data
    else:
        try:
            arr = np.asarray(obj, dtype=dt) if copy is not True else np.array(obj, dtype=dt)
        except (TypeError, ValueError) as e:
            raise TypeError(f"asarray: cannot make a tensor of a {type(obj).__name__} ({e})") from None
        if copy is False and isinstance(obj, np.ndarray) and not np.shares_memory(arr, obj):
            raise ValueError(f"asarray: copy=False but the array of dtype {obj.dtype} must be copied to {dt}")
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"asarray: dtype {arr.dtype} is not supported (bool, integer and float dtypes are)")
        if dt is None and arr.dtype == np.float64 and not isinstance(obj, np.ndarray):
            arr = arr.astype(factories.get_default_dtype(), copy=False)
    t = make(arr, None, (), None, False)
    if requires_grad:
        t.requires_grad_(True)
    return t


def frombuffer(buffer: Any, *, dtype: Any, count: int = -1, offset: int = 0, requires_grad: bool = False) -> Any:
    """A 1-d tensor on the memory of ``buffer`` (an object with the buffer protocol):
    ``count`` items of ``dtype`` (all with -1) from byte ``offset``."""
    dt = as_dtype("frombuffer", dtype)
    try:
        arr = np.frombuffer(buffer, dtype=dt, count=count, offset=offset)
    except (TypeError, ValueError) as e:
        raise ValueError(f"frombuffer: cannot read {count} items of {dt} at offset {offset} ({e})") from None
    t = make(arr if arr.flags.writeable else arr.copy(), None, (), None, False)
    if requires_grad:
        t.requires_grad_(True)
    return t


# (``range`` stays out of ``__all__``: ``from tinygrad_lite import *`` leaves Python's alone)
__all__ = _METHODS + ["std_mean", "var_mean", "float_power", "polygamma", "rsub", "trapezoid", "trapz",
                      "cumulative_trapezoid", "logspace", "vander",
                      "hamming_window", "hann_window", "blackman_window", "bartlett_window", "kaiser_window",
                      "scalar_tensor", "asarray", "frombuffer"]
