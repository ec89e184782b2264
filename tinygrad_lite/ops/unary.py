"""Elementwise functions of one Tensor: neg, exp, log, sqrt, tanh, sigmoid, relu, abs,
clip and cast, and their base ``_Unary`` (the base of every elementwise function op).

Each class holds the op's forward, its vjp (the local derivative times the cotangent,
written in ``rule``), the same local derivative written with Tensor ops (``tderiv``, what a
``create_graph=True`` backward multiplies by, so the gradient can be differentiated again)
and its batch rule.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from .. import batchstate
from . import base
from .base import Op, ReadsOutput, ShapeOnly, broadcasts_to, const, failed, make, no_tvjp
from .memory import POOL_MIN, pooled, scratch


class _Unary(Op):
    """A function of one Tensor, elementwise: ``fn`` computes it (IEEE results such as inf
    and nan are values here, not warnings)."""

    linear = False
    local = True
    quiet = False  # the function has IEEE edge values (inf, nan) that numpy would warn about
    fn: Any = None

    def forward(self, a: np.ndarray, *args: Any) -> tuple:
        if not self.quiet:
            return type(self).fn(a), None
        with np.errstate(all="ignore"):
            return type(self).fn(a), None

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        """``g`` times the local derivative ``deriv(node)`` (d out / d input)."""
        if not self.quiet:
            return (g * self.deriv(node),)
        with np.errstate(all="ignore"):
            return (g * self.deriv(node),)

    def deriv(self, node: Any) -> Any:
        raise NotImplementedError

    def tvjp(self, node: Any, g: Any) -> tuple:
        """``g`` times the local derivative written with Tensor ops (``tderiv``)."""
        return (g * self.tderiv(node),)

    def tderiv(self, node: Any) -> Any:
        """The local derivative as a Tensor recorded in the graph (a constant where it is
        piecewise constant); none by default."""
        raise no_tvjp(self)

    def __call__(self, a: Any, *args: Any) -> Any:
        try:
            data, ctx = self.forward(a._data, *args)
        except Exception as e:
            failed(self, e, (a,))
            raise
        s = a._bs
        bs, mix = batchstate.unary(self.name, a, self.linear) if s else (0, None)
        return make(data, self, (a,), ctx, a._rg, bs, mix)


class _DerivOp(_Unary):
    """A function whose derivative is another elementwise op of the same input, ``dop`` (set
    once both ops exist): its numpy function gives the vjp's factor, the op itself the factor
    on Tensors (sin -> cos, sinh <-> cosh, lgamma -> digamma, i0 -> i1)."""

    dop: Any = None

    def deriv(self, node: Any) -> Any:
        return self.dop.fn(node._parents[0]._data)

    def tderiv(self, node: Any) -> Any:
        return self.dop(node._parents[0])


# ------------------------------------------------------------------- unary ---------------
_BITS = {2: np.int16, 4: np.int32, 8: np.int64}  # a float's bits as the integer of its size


def _relu(a: np.ndarray) -> np.ndarray:
    return np.maximum(a, 0)


class Neg(ShapeOnly, _Unary):
    name, rule, linear = "neg", "d(-a)/da = -1", True
    fn = staticmethod(np.negative)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        return (-g,)

    def tvjp(self, node: Any, g: Any) -> tuple:
        return (-g,)


class Exp(ReadsOutput, _Unary):
    quiet = True
    name, rule = "exp", "d exp(a)/da = exp(a)"
    fn = staticmethod(np.exp)

    def deriv(self, node: Any) -> Any:
        return node._data

    def tderiv(self, node: Any) -> Any:
        return node


class Log(_Unary):
    quiet = True
    name, rule = "log", "d log(a)/da = 1/a"
    fn = staticmethod(np.log)

    def deriv(self, node: Any) -> Any:
        return 1.0 / node._parents[0]._data

    def tvjp(self, node: Any, g: Any) -> tuple:
        return (g / node._parents[0],)


class Sqrt(ReadsOutput, _Unary):
    quiet = True
    name, rule = "sqrt", "d sqrt(a)/da = 1/(2 sqrt(a))"
    fn = staticmethod(np.sqrt)

    def deriv(self, node: Any) -> Any:
        return 0.5 / node._data

    def tvjp(self, node: Any, g: Any) -> tuple:
        return (g / (node * 2),)


class Tanh(ReadsOutput, _Unary):
    name, rule = "tanh", "d tanh(a)/da = 1 - tanh(a)**2"
    fn = staticmethod(np.tanh)

    def deriv(self, node: Any) -> Any:
        t = node._data
        return 1 - t * t

    def tderiv(self, node: Any) -> Any:
        return 1 - node * node


class Sigmoid(ReadsOutput, _Unary):
    name, rule = "sigmoid", "d s(a)/da = s(a) (1 - s(a))"

    def forward(self, x: np.ndarray) -> tuple:
        """1 / (1 + e^-x), computed as exp(-softplus(-x)) without overflow."""
        if not np.issubdtype(x.dtype, np.floating):
            x = x.astype(np.float64)
        e = np.exp(-np.abs(x))
        data = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
        return data.astype(x.dtype, copy=False), None

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        s = node._data
        return (g * (s * (1 - s)),)

    def tderiv(self, node: Any) -> Any:
        return node * (1 - node)


class Relu(ReadsOutput, _Unary):
    name, rule = "relu", "d relu(a)/da = 1 where a > 0, else 0"
    tvjp_reads = -1  # (create_graph: its cotangent stays a function of the output, derivative 0: higher)
    fn = staticmethod(_relu)

    def forward(self, a: np.ndarray, *args: Any) -> tuple:
        if a.dtype.kind == "f" and a.nbytes >= POOL_MIN:  # a large result: memory used before
            return np.maximum(a, 0, out=pooled(a.shape, a.dtype)), None
        return np.maximum(a, 0), None  # fn without its indirection (the hottest activation)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        d = node._data  # relu(a) is 0 where a <= 0, else a (or nan, which passes the cotangent on, as in torch)
        # selected, not multiplied: an infinite cotangent (sqrt or log of relu at 0) gives 0 where
        # a <= 0, as torch. The selection is a bitwise and of g's bits with a mask of one byte per
        # element, -1 (every bit set) or 0, that numpy widens to g's word size as it reads it
        # (several times faster than numpy's masked copy; as fast as g * mask, and exact).
        it = _BITS.get(d.dtype.itemsize) if d.dtype.kind == "f" else None
        if it is not None and g.shape == d.shape and g.dtype == d.dtype:
            if d.size <= 2048:  # (numpy's where, one call, costs less than the and's three there; it
                return (np.where(d, g, 0.0),)  # reads d as d != 0, nan as true; 0.0 keeps g's dtype)
            big = d.nbytes >= POOL_MIN
            mask = np.not_equal(d, 0, out=scratch("relu.mask", d.shape, np.bool_) if big else None)
            sel = mask.view(np.int8)
            np.negative(sel, out=sel)  # True (1) -> -1, False -> 0
            out = pooled(d.shape, d.dtype) if big else np.empty(d.shape, d.dtype)
            np.bitwise_and(g.view(it), sel, out=out.view(it))  # (-1 widens to all ones, as a signed integer)
            return (out,)
        return (np.where(d != 0, g, np.zeros((), d.dtype)).astype(d.dtype, copy=False),)

    def tderiv(self, node: Any) -> Any:
        return const((node._data != 0).astype(node._data.dtype))

    def tvjp(self, node: Any, g: Any) -> tuple:  # (selected, as the vjp: 0 where a <= 0 under an inf cotangent)
        return (_select(node._data != 0, g, node._data.dtype),)


class Abs(_Unary):
    name, rule = "abs", "d|a|/da = sign(a)"
    tvjp_reads = 0  # (create_graph: its cotangent stays a function of the input, derivative 0: higher)
    fn = staticmethod(np.abs)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:  # sign(a), 0 at a nan input (as torch)
        return (g * np.nan_to_num(np.sign(node._parents[0]._data), nan=0.0),)

    def tderiv(self, node: Any) -> Any:
        return const(np.nan_to_num(np.sign(node._parents[0]._data), nan=0.0))


class Clip(_Unary):
    name, rule = "clip", "d clip(a)/da = 1 where lo <= a <= hi, else 0"

    def forward(self, a: np.ndarray, lo: Any, hi: Any) -> tuple:
        if lo is None and hi is None:
            raise ValueError("clip: at least one of min and max must be given")
        arrays = [v for v in (lo, hi) if isinstance(v, (base.Tensor, np.ndarray))]  # (not numbers)
        lo, hi = _bound(a, lo, "min"), _bound(a, hi, "max")
        dt = a.dtype
        floats = [np.asarray(v).dtype for v in (lo, hi) if v is not None and np.asarray(v).dtype.kind == "f"]
        if dt.kind != "f" and floats:  # an integer tensor with a float bound becomes float, as in torch
            dt = np.result_type(dt, *floats)
        elif dt.kind == "b":  # a bool tensor with integer bounds becomes int64 (an int Tensor's dtype), as torch
            dt = np.result_type(*[np.asarray(getattr(v, "data", v)).dtype if isinstance(v, (base.Tensor, np.ndarray))
                                  else np.dtype(np.int64) for v in (lo, hi) if v is not None])
        else:  # a wider float Tensor bound widens it, as in torch, if it has axes or the tensor has none
            wide = [np.asarray(getattr(v, "data", v)) for v in arrays]
            dt = np.result_type(dt, *[w.dtype for w in wide if w.dtype.kind == "f" and (w.ndim or not a.ndim)])
        return np.clip(a, lo, hi).astype(dt, copy=False), (lo, hi)

    def __call__(self, a: Any, lo: Any = None, hi: Any = None) -> Any:
        """A bound given as a Tensor that requires grad takes the cotangent where the result
        is that bound, by torch's rule: ``min`` where a < min < max, ``max`` where a > max or
        min > max (``a`` keeps its own: 1 where min <= a <= max)."""
        out = super().__call__(a, lo, hi)
        if not any(isinstance(v, base.Tensor) and v._rg for v in (lo, hi)):
            return out
        from .select import WHERE
        ld, hd = (np.asarray(v.data if isinstance(v, base.Tensor) else (d if v is None else v))
                  for v, d in ((lo, -np.inf), (hi, np.inf)))
        with np.errstate(invalid="ignore"):  # (without max, min wins wherever a < min: also min = inf)
            masks = ((a._data < ld) & ((ld < hd) | (hi is None)), ((a._data > hd) | (ld > hd)) & ~np.isnan(ld))
        for v, m in zip((hi, lo), masks[::-1]):
            if isinstance(v, base.Tensor) and v._rg:
                out = WHERE(const(np.broadcast_to(m, out.shape)), v.astype(out.dtype), out)
        return out

    def vjp(self, node: Any, g: np.ndarray) -> tuple:  # (selected: an inf cotangent gives 0 outside, as torch)
        return (np.where(self.deriv(node), g, np.zeros((), g.dtype)),)

    def deriv(self, node: Any) -> Any:
        lo, hi = node._ctx
        a = node._parents[0]._data
        inside = np.ones(a.shape, dtype=bool)
        if lo is not None:
            inside &= a >= lo
        if hi is not None:
            inside &= a <= hi
        return inside

    def tderiv(self, node: Any) -> Any:
        return const(self.deriv(node).astype(node._data.dtype))

    def tvjp(self, node: Any, g: Any) -> tuple:  # (selected, as the vjp)
        return (_select(self.deriv(node), g, node._data.dtype),)


def _select(mask: np.ndarray, g: Any, dtype: Any) -> Any:
    """``where(mask, g, 0)`` of a Tensor cotangent, recorded (a create_graph backward that
    selects: an infinite or nan ``g`` gives 0 off ``mask``, where ``g * mask`` gives nan)."""
    from .select import WHERE
    return WHERE(const(mask), g, const(np.zeros((), dtype)))


def _bound(a: np.ndarray, v: Any, name: str) -> Any:
    """A bound of ``clip``: None, a real number (an integer one within an integer ``a``'s dtype),
    or a numeric array (or Tensor) broadcastable to ``a``'s shape; min > max gives max
    everywhere, as in numpy and torch."""
    if v is None:
        return None
    arr = np.asarray(v.data if isinstance(v, base.Tensor) else v)
    if isinstance(v, (bool, np.bool_)) or arr.dtype.kind not in "iuf":
        raise TypeError(f"clip: {name} must be None, a real number or a numeric array, got {v!r}")
    if a.dtype.kind in "iu" and isinstance(v, (int, np.integer)):  # a number must fit an integer dtype, as torch
        from ..intcast import int_fill
        int_fill("clamp", int(v), a.dtype)
    if not broadcasts_to(arr.shape, a.shape):
        raise ValueError(f"clip: {name} of shape {arr.shape} does not broadcast to the tensor's shape {a.shape}")
    return arr[()] if arr.ndim == 0 else arr


class Cast(ShapeOnly, _Unary):
    name, rule, linear = "cast", "d cast(a)/da = 1 (the cotangent is cast back)", True

    def forward(self, a: np.ndarray, dtype: Any) -> tuple:
        return a.astype(dtype), None

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        return (g,)

    def tvjp(self, node: Any, g: Any) -> tuple:
        return (g,)  # (the walker's fit casts it back)

    @staticmethod
    def push_rows(node: Any, i: int, rows: Any) -> Any:
        out = copy.copy(rows)
        out.dtype = node._parents[i]._data.dtype
        return out


NEG, EXP, LOG, SQRT, TANH, SIGMOID, RELU = Neg(), Exp(), Log(), Sqrt(), Tanh(), Sigmoid(), Relu()
ABS, CLIP, CAST = Abs(), Clip(), Cast()
