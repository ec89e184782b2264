"""Elementwise arithmetic (with Tensors, arrays or Python numbers); the elementwise
functions of one Tensor are in ``unary`` (re-exported here).

Each class holds the op's forward, its vjp (the local derivative times the cotangent,
written in ``rule``), its differentiable backward ``tvjp`` (the same vjp written with Tensor
ops, for ``create_graph=True``) and its batch rule; ``Tensor.__add__`` and friends call the
objects at the bottom of this file. A Python number is folded into the op (no constant node).
"""

from __future__ import annotations

import operator
from typing import Any, Sequence

import numpy as np

from .. import batchstate
from ..batchstate import STAT
from . import base
from .base import ArgumentError, Op, ReadsOutput, ShapeOnly, alias, const, failed, make, shape_error, val
from .unary import (
    ABS,
    CAST,
    CLIP,
    EXP,
    LOG,
    NEG,
    RELU,
    SIGMOID,
    SQRT,
    TANH,
    Abs,
    Cast,
    Clip,
    Exp,
    Log,
    Neg,
    Relu,
    Sigmoid,
    Sqrt,
    Tanh,
    _Unary,
)

__all__ = ["ipow", "spow", "promoted", "_Binary", "_Unary", "_Const", "AddC", "SubC", "MulC", "DivC", "RSubC", "RDivC",
           "PowC", "RPowC", "Add", "Sub", "Mul", "Div", "Pow", "Neg", "Exp", "Log", "Sqrt", "Tanh", "Sigmoid", "Relu",
           "Abs", "Clip", "Cast", "ADD", "SUB", "MUL", "DIV", "POW", "ADDC", "SUBC", "MULC", "DIVC", "RSUBC", "RDIVC",
           "POWC", "RPOWC", "NEG", "EXP", "LOG", "SQRT", "TANH", "SIGMOID", "RELU", "ABS", "CLIP", "CAST"]

_num = (int, float)


def ipow(a: Any, b: Any) -> Any:
    """a ** b as C's ``pow`` (and torch's tensor ** tensor): numpy computes a scalar exponent
    0.5 as a square root, which gives nan at -inf where ``pow`` gives inf."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if type(b) is np.ndarray and b.dtype.kind in "iu" and np.asarray(a).dtype.kind in "iu" and (b < 0).any():
            return _int_pow(a, b)
        try:
            out = np.power(a, b)
        except ValueError as e:  # (an integer tensor to a negative integer power: torch's RuntimeError too)
            raise ArgumentError(f"pow: {e}") from None
        half = np.equal(b, 0.5)
        if np.any(half):
            bad = half & np.isneginf(a)
            if np.any(bad):
                out = np.where(bad, np.inf, out).astype(np.result_type(out), copy=False)
    return out


def _int_pow(a: Any, b: np.ndarray) -> np.ndarray:
    """An integer ``a`` to an integer tensor ``b`` with negative entries, as torch: a**b where
    b >= 0; where b < 0 the true value truncated to an integer: 1 for a = 1, +-1 for a = -1
    (by b's parity), else 0 (numpy refuses the negative powers; a Python-number exponent
    below 0 is refused, as torch does)."""
    neg = b < 0
    out = np.power(a, np.where(neg, 0, b))
    one = np.equal(a, 1) | (np.equal(a, -1) & (b % 2 == 0))
    return np.where(neg, np.where(one, 1, np.where(np.equal(a, -1), -1, 0)), out).astype(out.dtype, copy=False)


def spow(a: Any, k: Any) -> Any:
    """a ** k for a Python-number exponent as torch computes it: k = 0.5 as sqrt(a), k = -0.5
    as 1/sqrt(a) (so (-0.0) ** -0.5 is -inf and (-inf) ** 0.5 is nan, as in torch), k = 2 as
    a * a (a float exponent makes an integer base float), otherwise ``pow``."""
    if a.dtype.kind == "b" and type(k) is int:  # a bool base to an int power counts in int64, as torch
        a = a.astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if k == 2 and (type(k) is int or a.dtype.kind == "f"):
            return a * a
        if k == 0.5 or k == -0.5:
            if a.dtype.kind != "f":  # (an integer or bool base: float64, as a ** 1.5 and sqrt give it, not float16)
                a = a.astype(np.float64)
            return np.sqrt(a) if k == 0.5 else 1 / np.sqrt(a)
        return ipow(a, k)


_KIND = {"b": 0, "u": 1, "i": 1, "f": 2}


def promoted(a: np.ndarray, b: np.ndarray) -> tuple:
    """``a`` and ``b`` cast to the result dtype PyTorch gives two tensors of these dtypes
    (called only when the dtypes differ): the higher category (bool < integer < float)
    keeps its dtype, so a float32 tensor times an integer array stays float32; within one
    category a 0-d operand does not widen an operand with axes (float32 + a 0-d float64 is
    float32), otherwise numpy's promotion."""
    ka, kb = _KIND.get(a.dtype.kind, 3), _KIND.get(b.dtype.kind, 3)
    if ka != kb:
        dt = a.dtype if ka > kb else b.dtype
    elif (a.ndim == 0) != (b.ndim == 0):
        dt = b.dtype if a.ndim == 0 else a.dtype
    else:
        return a, b
    return (a if a.dtype == dt else a.astype(dt)), (b if b.dtype == dt else b.astype(dt))


def joined_dtype(dtypes: Sequence[np.dtype]) -> np.dtype:
    """The dtype PyTorch gives a join (``cat``, ``stack``) of tensors of these dtypes: the highest
    category (bool < integer < float) keeps its dtype, numpy's promotion among that category's."""
    top = max(_KIND.get(d.kind, 3) for d in dtypes)
    return np.result_type(*[d for d in dtypes if _KIND.get(d.kind, 3) == top])


class _Binary(Op):
    """A binary op of two Tensors with numpy broadcasting. ``linear_in`` tells the batch rule
    in which operands the op is linear ("ab": both, "ab*": each alone, "a": the first)."""

    linear_in = ""
    fn: Any = None
    promote = staticmethod(promoted)  # (operands of two dtypes)
    const_op: Any = None  # the op used when the right operand is a Python number
    rconst_op: Any = None  # ... the left operand

    def forward(self, a: np.ndarray, b: np.ndarray) -> tuple:
        try:
            return type(self).fn(a, b), None
        except ValueError:
            raise shape_error(self.name, a, b) from None

    def batch(self, inputs: tuple, out: np.ndarray, ctx: Any) -> tuple:
        a, b = inputs
        return batchstate.elementwise(self.name, out.shape, a, b, self.linear_in)

    def __call__(self, a: Any, b: Any, reverse: bool = False) -> Any:
        if type(b) is base.Tensor:
            if reverse:
                a, b = b, a
            ad, bd = a._data, b._data
            if ad.dtype is not bd.dtype:
                ad, bd = self.promote(ad, bd)
            try:
                data = type(self).fn(ad, bd)
            except ValueError as e:
                try:
                    np.broadcast_shapes(ad.shape, bd.shape)
                except ValueError:
                    raise failed(self, shape_error(self.name, ad, bd), (a, b)) from None
                raise failed(self, ValueError(f"{self.name}: {e}"), (a, b)) from None
            except MemoryError as e:
                raise failed(self, base.too_big(self.name, e, [ad.shape, bd.shape]), (a, b)) from None
            s = a._bs | b._bs
            bs, mix = batchstate.elementwise(self.name, data.shape, a, b, self.linear_in) if s else (0, None)
            return make(data, self, (a, b), None, a._rg or b._rg, bs, mix)
        tb = type(b)
        if (tb is float or tb is int or (isinstance(b, _num) and tb is not bool)) and self.const_op is not None:
            op = self.rconst_op if reverse else self.const_op
            return op(a, b if tb is float or tb is int else float(b))
        o = const(_number_like(a, b) if tb is float or tb is int else b, self.name)
        return self(o, a) if reverse else self(a, o)


def _number_like(a: Any, b: Any) -> Any:
    """The Python number ``b`` as torch wraps it next to the Tensor ``a``: in ``a``'s dtype when
    that holds the number's category (a float in a float dtype, an int in an integer or float
    one), so that it never widens ``a``, not even a 0-d one (a 0-d float32 ``x // 1.5`` stays
    float32); otherwise (or when it does not fit) the number itself."""
    dt = getattr(getattr(a, "_data", None), "dtype", None)
    if dt is None or not (dt.kind == "f" or (dt.kind in "iu" and type(b) is int)):
        return b
    try:
        with np.errstate(over="ignore"):
            return np.asarray(b, dtype=dt)
    except OverflowError:
        return b


class _Const(_Unary):
    """An op of a Tensor and a Python number ``c`` (kept as the node's ctx)."""

    # whether a float16 tensor meets the number in float32 (torch's product and quotient by a
    # number; its sums, differences and powers take the number as a float16, as numpy does)
    wide16 = False

    def forward(self, a: np.ndarray, c: Any) -> tuple:
        return self.compute(val(a), c), c

    @staticmethod
    def compute(a: Any, c: Any) -> Any:
        raise NotImplementedError

    def __call__(self, a: Any, c: Any) -> Any:
        """``_Unary.__call__`` with the forward inlined (the hot path of ``x * 2``, ``x + 1``)."""
        ad = a._data
        try:
            if self.wide16 and ad.dtype is _F16 and type(c) in _num:
                data = half(self.compute(ad.astype(np.float32), c))
            else:
                data = self.compute(ad[()] if ad.ndim == 0 else ad, c)
        except OverflowError as e:  # an int beyond an int dtype: +, -, * wrap modulo 2**bits, as torch
            if not (type(c) is int and ad.dtype.kind in "iu" and self.name in ("add", "mul", "rsub")
                    and -2**63 <= c < 2**64):
                raise failed(self, OverflowError(f"{self.name}: {e} (the {type(c).__name__} operand does "
                                                 f"not fit the tensor's dtype {ad.dtype})"), (a,)) from None
            c = np.array(c % (1 << (8 * ad.dtype.itemsize))).astype(ad.dtype)[()]
            data = self.compute(ad[()] if ad.ndim == 0 else ad, c)
        except Exception as e:
            failed(self, e, (a,))
            raise
        if a._bs:
            bs, mix = batchstate.unary(self.name, a, self.linear)
            return make(data, self, (a,), c, a._rg, bs, mix)
        return make(data, self, (a,), c, a._rg)


_F16 = np.dtype(np.float16)


def half(x: Any) -> np.ndarray:
    """``x`` (computed in float32 from a float16 tensor and a number) rounded to float16."""
    with np.errstate(over="ignore"):  # (beyond float16's range is inf, as torch)
        return np.asarray(x).astype(np.float16)


# ------------------------------------------------------------------- with a constant -------
class AddC(ShapeOnly, _Const):
    name, rule, linear, symbol, local = "add", "d(a+c)/da = 1", True, "+", True
    compute = staticmethod(operator.add)  # (a C function: no Python frame)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        return (g.view() if type(g) is np.ndarray else g,)  # (base.alias inlined: the hot path of x + c)

    def tvjp(self, node: Any, g: Any) -> tuple:
        return (g,)


class SubC(AddC):
    symbol = "-"
    compute = staticmethod(operator.sub)  # (a C function: no Python frame)


class MulC(ShapeOnly, _Const):
    name, rule, linear, symbol, local = "mul", "d(a*c)/da = c", True, "*", True
    wide16 = True
    compute = staticmethod(operator.mul)  # (a C function: no Python frame)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        if g.dtype is _F16:
            return (half(g.astype(np.float32) * node._ctx),)
        return (g * node._ctx,)

    def tvjp(self, node: Any, g: Any) -> tuple:
        return (g * node._ctx,)


class DivC(ShapeOnly, _Const):
    name, rule, linear, symbol, local = "div", "d(a/c)/da = 1/c", True, "/", True
    wide16 = True

    @staticmethod
    def compute(a: Any, c: Any) -> Any:
        if c != 0:
            return a / c
        with np.errstate(divide="ignore", invalid="ignore"):  # inf / nan, as IEEE (and torch) say
            return a / c

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        if g.dtype is _F16:
            return (half(self.compute(g.astype(np.float32), node._ctx)),)
        if node._ctx != 0:
            return (g / node._ctx,)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (g / node._ctx,)

    def tvjp(self, node: Any, g: Any) -> tuple:
        return (g / node._ctx,)


class RSubC(ShapeOnly, _Const):
    name, rule, linear, rsymbol, local = "rsub", "d(c-a)/da = -1", True, "-", True
    compute = staticmethod(lambda a, c: c - a)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        return (-g,)

    def tvjp(self, node: Any, g: Any) -> tuple:
        return (-g,)


class RDivC(_Const):
    """c / a. Its gradient reads ``a`` and ``c``, not the output (as torch's, which changing
    the output in place outside the graph does not disturb)."""

    name, rule, rsymbol, local = "rdiv", "d(c/a)/da = -c/a**2", "/", True

    @staticmethod
    def compute(a: Any, c: Any) -> Any:
        with np.errstate(divide="ignore", invalid="ignore"):
            return c / a

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        a = node._parents[0]._data
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return ((-g * self.compute(a, node._ctx) / a).astype(node._data.dtype, copy=False),)

    def tvjp(self, node: Any, g: Any) -> tuple:
        a = node._parents[0]
        return (-g * (node._ctx / a) / a,)


class PowC(_Const):
    name, rule, symbol, local = "pow", "d(a**k)/da = k*a**(k-1)", "**", True

    compute = staticmethod(spow)

    def __call__(self, a: Any, c: Any) -> Any:
        t = _Const.__call__(self, a, c)
        if c == 1 and t._bs & STAT:  # a**1 is linear in a batch statistic
            t._bs, t._mix = a._bs, getattr(a, "_mix", None)
        return t

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        k = node._ctx
        a = node._parents[0]._data
        if k == 2:
            return (g * (2 * a),)
        if k == 0:  # d(a**0)/da = 0 everywhere, also at a = 0 and under an infinite cotangent (as torch)
            return (np.zeros(g.shape, np.result_type(g, a)),)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return (g * (k * spow(a, k - 1)),)

    def tvjp(self, node: Any, g: Any) -> tuple:
        k, a = node._ctx, node._parents[0]
        if k == 0:
            return (const(np.zeros(g.shape, np.result_type(g.dtype, a._data))),)
        return (g * (a * 2 if k == 2 else a ** (k - 1) * k),)


class RPowC(ReadsOutput, _Const):
    name, rule, rsymbol, local = "rpow", "d(c**a)/da = c**a * log(c)", "**", True

    @staticmethod
    def compute(a: Any, c: Any) -> Any:
        return ipow(np.asarray(c, dtype=np.result_type(a, c)), a)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        c = node._ctx
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            d = node._data * np.log(np.asarray(c, dtype=node._data.dtype))
            if c == 0:  # c**a * log(c) is taken as 0 where a >= 0 (as in torch); -inf where a < 0
                d = np.where(node._parents[0]._data >= 0, 0.0, d)
        return ((g * d).astype(node._data.dtype, copy=False),)

    def tvjp(self, node: Any, g: Any) -> tuple:
        c = node._ctx
        if c == 0:  # (a constant derivative: 0 where a >= 0, -inf below)
            return (g * self.vjp(node, np.ones_like(node._data))[0],)
        with np.errstate(invalid="ignore"):
            return (g * (node * float(np.log(np.float64(c)))),)


# ------------------------------------------------------------------- binary --------------
class Add(_Binary):
    name, rule, linear_in, fn = "add", "d(a+b)/da = 1, d(a+b)/db = 1", "ab", np.add
    symbol, local = "+", True
    const_op = rconst_op = AddC()
    # its gradient reads no values: an operand changed in place after it was built (the view
    # ``out[t]`` of a constant buffer in ``out[t] += h``, then stored) does not make it wrong
    # (whether the operand's own op read its changed output is checked at that op)
    unread = (0, 1)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        return alias(g), alias(g)

    def tvjp(self, node: Any, g: Any) -> tuple:
        return g, g


class Sub(_Binary):
    name, rule, linear_in, fn = "sub", "d(a-b)/da = 1, d(a-b)/db = -1", "ab", np.subtract
    symbol, local = "-", True
    const_op, rconst_op = SubC(), RSubC()
    unread = (0, 1)  # (as add's)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        return alias(g), (-g if node._parents[1]._rg else None)

    def tvjp(self, node: Any, g: Any) -> tuple:
        return g, (-g if node._parents[1]._rg else None)


class Mul(_Binary):
    name, rule, linear_in, fn = "mul", "d(a*b)/da = b, d(a*b)/db = a", "ab*", np.multiply
    symbol, local = "*", True
    const_op = rconst_op = MulC()

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        a, b = node._parents
        return (g * b._data if a._rg else None, g * a._data if b._rg else None)

    def tvjp(self, node: Any, g: Any) -> tuple:
        a, b = node._parents
        return (g * b if a._rg else None, g * a if b._rg else None)


def _as_floats(a: np.ndarray, b: np.ndarray) -> tuple:
    """Integer (or bool) operands of two dtypes divided as their float64 values, as torch's true
    division (casting a 0-d one to the other's integer dtype first would wrap it); else ``promoted``."""
    if a.dtype.kind in "biu" and b.dtype.kind in "biu":
        return a.astype(np.float64), b.astype(np.float64)
    return promoted(a, b)


class Div(ReadsOutput, _Binary):
    name, rule, linear_in, fn = "div", "d(a/b)/da = 1/b, d(a/b)/db = -a/b**2", "a", np.true_divide
    promote = staticmethod(_as_floats)
    symbol, local = "/", True
    const_op, rconst_op = DivC(), RDivC()

    def forward(self, a: np.ndarray, b: np.ndarray) -> tuple:
        with np.errstate(divide="ignore", invalid="ignore"):
            return _Binary.forward(self, a, b)

    def __call__(self, a: Any, b: Any, reverse: bool = False) -> Any:
        with np.errstate(divide="ignore", invalid="ignore"):
            return _Binary.__call__(self, a, b, reverse)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        a, b = node._parents
        with np.errstate(divide="ignore", invalid="ignore"):
            ga = g / b._data if a._rg else None
            gb = -g * node._data / b._data if b._rg else None
        return ga, gb

    def tvjp(self, node: Any, g: Any) -> tuple:
        a, b = node._parents
        return (g / b if a._rg else None, -g * node / b if b._rg else None)


class Pow(ReadsOutput, _Binary):
    name, rule = "pow", "d(a**b)/da = b*a**(b-1), d(a**b)/db = a**b * log(a)"
    symbol, local = "**", True
    const_op, rconst_op = PowC(), RPowC()

    fn = staticmethod(ipow)

    def __call__(self, a: Any, b: Any, reverse: bool = False) -> Any:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            t = _Binary.__call__(self, a, b, reverse)
        if t._bs == STAT and t._op is self:
            t._bs, t._mix = batchstate.mixed("op 'pow' applied to a batch statistic", *t._parents)
        return t

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        a, b = node._parents
        ad, bd = a._data, b._data
        ga = gb = None
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if a._rg:  # b * a**(b-1), 0 where b == 0 (as in PyTorch, whatever the cotangent)
                ga = np.where(bd == 0, 0, g * (bd * ipow(ad, bd - 1)))
            if b._rg:  # a**b * log(a), 0 where a == 0 and b >= 0 (as in PyTorch); an integer base's log
                la = np.log(ad.astype(node._data.dtype) if ad.dtype.kind in "biu" else ad)  # in the result's dtype
                gb = g * np.where((ad == 0) & (bd >= 0), 0, node._data * la)
        dt = node._data.dtype
        return (None if ga is None else ga.astype(dt, copy=False), None if gb is None else gb.astype(dt, copy=False))

    def tvjp(self, node: Any, g: Any) -> tuple:
        from .select import WHERE
        a, b = node._parents
        ad, bd = a._data, b._data
        zero = const(np.zeros((), node._data.dtype))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ga = WHERE(const(bd == 0), zero, g * (b * a ** (b - 1))) if a._rg else None
            gb = g * WHERE(const((ad == 0) & (bd >= 0)), zero, node * a.log()) if b._rg else None
        return ga, gb


ADD, SUB, MUL, DIV, POW = Add(), Sub(), Mul(), Div(), Pow()
ADDC, SUBC, MULC, DIVC = Add.const_op, Sub.const_op, Mul.const_op, Div.const_op
RSUBC, RDIVC, POWC, RPOWC = Sub.rconst_op, Div.rconst_op, Pow.const_op, Pow.rconst_op
