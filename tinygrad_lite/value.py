"""Value: the scalar engine, for teaching. Same graph walker as Tensor.

Every op keeps its forward and its derivative side by side, micrograd-style: ``forward``
computes the number, ``vjp`` (vector-Jacobian product) multiplies the cotangent
``g = dL/dout`` by the local derivative ``dout/dinput``. Op names and derivative texts are
the tensor engine's (``ops``), so pictures and traces read the same for both engines.
Constants (Python numbers) are folded into the op instead of becoming nodes.
Arithmetic follows IEEE floats as the tensor engine (and PyTorch) do: ``1/0`` is inf,
``(-4) ** 0.5`` is nan, ``exp(1000)`` is inf; nothing raises from ``math``.
"""

from __future__ import annotations

import math
import operator
from typing import Optional, Union

import numpy as np

from . import graph, ops, scalarmath
from .anomaly import note_value as _note
from .scalarmath import _compare, _div, _exp, _exponent, _floordiv, _log, _num, _plain, _pow, _remainder

Number = Union[int, float]


class _Op:
    """An op: ``name``, ``rule``, ``symbol`` (from the tensor op of the same meaning) and ``vjp``."""

    __slots__ = ()
    name = rule = symbol = rsymbol = ""
    local = True

    def __repr__(self) -> str:
        return f"<op {self.name}>"


def _like(op: object) -> tuple:
    return op.name, op.rule, op.symbol, op.rsymbol  # type: ignore[attr-defined]


class _Add(_Op):
    name, rule, symbol, rsymbol = _like(ops.ADD)

    @staticmethod
    def vjp(node: "Value", g: float) -> tuple:  # d(a+b)/da = 1, d(a+b)/db = 1
        return g, g


class _AddC(_Op):
    name, rule, symbol, rsymbol = _like(ops.ADDC)

    @staticmethod
    def vjp(node: "Value", g: float) -> tuple:  # d(a+c)/da = 1
        return (g,)


class _Sub(_Op):
    name, rule, symbol, rsymbol = _like(ops.SUB)

    @staticmethod
    def vjp(node: "Value", g: float) -> tuple:  # d(a-b)/da = 1, d(a-b)/db = -1
        return g, -g


class _RSubC(_Op):
    name, rule, symbol, rsymbol = _like(ops.RSUBC)

    @staticmethod
    def vjp(node: "Value", g: float) -> tuple:  # d(c-a)/da = -1
        return (-g,)


class _Mul(_Op):
    name, rule, symbol, rsymbol = _like(ops.MUL)

    @staticmethod
    def vjp(node: "Value", g: float) -> tuple:  # d(a*b)/da = b, d(a*b)/db = a
        a, b = node._parents
        return g * b.data, g * a.data


class _MulC(_Op):
    name, rule, symbol, rsymbol = _like(ops.MULC)

    @staticmethod
    def vjp(node: "Value", g: float) -> tuple:  # d(a*c)/da = c
        return (g * node._ctx,)


class _Div(_Op):
    name, rule, symbol, rsymbol = _like(ops.DIV)

    @staticmethod
    def vjp(node: "Value", g: float) -> tuple:  # d(a/b)/da = 1/b, d(a/b)/db = -a/b**2
        a, b = node._parents
        return _div(g, b.data), -g * _div(node.data, b.data)


class _DivC(_Op):
    name, rule, symbol, rsymbol = _like(ops.DIVC)

    @staticmethod
    def vjp(node: "Value", g: float) -> tuple:  # d(a/c)/da = 1/c
        return (_div(g, node._ctx),)


class _RDivC(_Op):
    name, rule, symbol, rsymbol = _like(ops.RDIVC)

    @staticmethod
    def vjp(node: "Value", g: float) -> tuple:  # d(c/a)/da = -c/a**2
        return (-g * _div(node.data, node._parents[0].data),)


class _Pow(_Op):
    name, rule, symbol, rsymbol = _like(ops.POWC)

    @staticmethod
    def vjp(node: "Value", g: float) -> tuple:  # d(a**k)/da = k*a**(k-1); 0 for k = 0 (any g, as torch)
        k = node._ctx
        if k == 0:
            return (0.0,)
        return (g * k * _pow(node._parents[0].data, k - 1),)


class _RPow(_Op):
    name, rule, symbol, rsymbol = _like(ops.RPOWC)

    @staticmethod
    def vjp(node: "Value", g: float) -> tuple:  # d(c**a)/da = c**a * log(c); 0 where c = 0 and a >= 0
        c = node._ctx
        if c == 0 and node._parents[0].data >= 0:
            return (0.0 * g,)
        return (g * node.data * _log(c),)


class _Relu(_Op):
    name, rule, symbol, rsymbol = _like(ops.RELU)

    @staticmethod
    def vjp(node: "Value", g: float) -> tuple:  # 0 where relu(a) <= 0, else 1 (also at nan, as torch)
        return (0.0 if node.data <= 0 else g,)


class _Abs(_Op):
    name, rule, symbol, rsymbol = _like(ops.ABS)

    @staticmethod
    def vjp(node: "Value", g: float) -> tuple:  # sign(a): 0 at 0 and at nan (as torch)
        a = node._parents[0].data
        return (g if a > 0 else -g if a < 0 else 0.0 * g,)


class _Tanh(_Op):
    name, rule, symbol, rsymbol = _like(ops.TANH)

    @staticmethod
    def vjp(node: "Value", g: float) -> tuple:  # 1 - tanh(a)**2
        t = node.data
        return (g * (1.0 - t * t),)


class _Exp(_Op):
    name, rule, symbol, rsymbol = _like(ops.EXP)

    @staticmethod
    def vjp(node: "Value", g: float) -> tuple:  # exp(a)
        return (g * node.data,)


class _Log(_Op):
    name, rule, symbol, rsymbol = _like(ops.LOG)

    @staticmethod
    def vjp(node: "Value", g: float) -> tuple:  # 1/a
        return (_div(g, node._parents[0].data),)


class _Sigmoid(_Op):
    name, rule, symbol, rsymbol = _like(ops.SIGMOID)

    @staticmethod
    def vjp(node: "Value", g: float) -> tuple:  # s (1 - s)
        s = node.data
        return (g * s * (1.0 - s),)


class _FloorDiv(_Op):
    name, rule, symbol, rsymbol = _like(ops.FLOORDIV)

    @staticmethod
    def vjp(node: "Value", g: float) -> tuple:  # floor(a/b) is piecewise constant: 0 for a (and b)
        return (0.0,) * len(node._parents)


class _Remainder(_Op):
    name, rule, symbol, rsymbol = _like(ops.REMAINDER)

    @staticmethod
    def vjp(node: "Value", g: float) -> tuple:  # d(a % b)/da = 1, d(a % b)/db = -floor(a/b)
        side, c = node._ctx  # "ab": two Values; "a": Value % c; "b": c % Value
        if side == "ab":
            a, b = node._parents
            return g, -g * _floordiv(a.data, b.data)
        return (g,) if side == "a" else (-g * _floordiv(c, node._parents[0].data),)


ADD, ADDC, SUB, RSUBC = _Add(), _AddC(), _Sub(), _RSubC()
FLOORDIV, REMAINDER = _FloorDiv(), _Remainder()
MUL, MULC, DIV, DIVC, RDIVC, POW, RPOW = _Mul(), _MulC(), _Div(), _DivC(), _RDivC(), _Pow(), _RPow()
RELU, TANH, EXP, LOG, SIGMOID, ABS = _Relu(), _Tanh(), _Exp(), _Log(), _Sigmoid(), _Abs()
_state = graph.state
_new = object.__new__


def _node(data: float, parents: tuple, op: _Op, ctx: object = None) -> "Value":
    v = _new(Value)
    v.data = data
    st = _state.__dict__  # this thread's recording state: one lookup, then plain dict reads
    if st["grad"]:  # (an op node's _grad is set by the backward that reaches it; 0.0 until then)
        v._rg = True  # (a slot: the walker reads it on every edge)
        v._parents = parents
        v._op = op
        v._ctx = ctx
        if st["modules"] or st["anomaly"]:  # provenance for pictures and detect_anomaly
            _note(v)
    else:  # (made under no_grad(): a constant, as torch's; its backward refuses)
        v._rg = False
        v._grad = 0.0
        v._parents = ()
        v._op = None
        v._ctx = None
    return v


def _reaches_grad(v: "Value") -> bool:
    """Whether a leaf that requires grad lies below op node ``v`` (a graph made only of frozen
    leaves and constants does not require grad). Each op node's answer is kept (``_reach``), so
    reading it for every node of a graph (a picture, a trace) walks the graph once."""
    stack, seen = [(v, False)], set()
    while stack:
        n, ready = stack.pop()
        if ready:  # (its parents' answers are known: a DAG's depth-first post-order)
            n._reach = any(p._rg if p._op is None else p._reach for p in n._parents)
        elif id(n) not in seen and getattr(n, "_reach", None) is None:
            seen.add(id(n))
            stack.append((n, True))
            stack.extend((p, False) for p in n._parents if p._op is not None)
    return v._reach


class Value(scalarmath.ValueCopies):
    """A scalar that remembers how it was computed, micrograd-style.

    ``data`` and ``grad`` are Python floats; ``grad`` starts at 0.0 and, on leaves,
    accumulates across ``backward()`` calls (use ``v.grad = 0.0`` or ``zero_grad`` to reset).
    """

    __slots__ = ("data", "_grad", "_label", "_parents", "_op", "_ctx", "_mod", "_src", "_rg", "_reach", "__weakref__")
    requires_grad = property(lambda v: v._rg and (v._op is None or _reaches_grad(v)),  # (an op: a leaf that does)
                             lambda v, flag: flag is v._rg or v.requires_grad_(flag))
    batched = False
    _scalar = True  # (the walker adds its cotangents straight into grad: graph._sweep)
    _bs = 0
    _internal = False  # (every node's grad is written by the sweep)

    def __init__(self, data: Number, _children: tuple = (), _op: str = "", label: str = "") -> None:
        if isinstance(data, Value):
            data = data.data
        if not isinstance(label, str):
            raise TypeError(f"Value: label must be a str, got {type(label).__name__}")
        if _children or _op:  # a graph is recorded by the ops only: children given here would be dropped
            raise TypeError(f"Value: a Value made by hand is a leaf; got _children={_children!r}, _op={_op!r} "
                            f"(build it with the operators, e.g. a * b, a.tanh(), so backward knows its rule)")
        self.data = scalarmath._value_data(data)
        self._grad = 0.0
        self._rg = True
        self._label = label
        self._parents = ()
        self._op = None
        self._ctx = None

    # -- attributes shared with Tensor (for the visualiser and the walker) -------------
    @property
    def name(self) -> str:
        return self.label

    @property
    def shape(self) -> tuple:
        return ()

    @property
    def dtype(self) -> str:
        return "float"

    @property
    def is_leaf(self) -> bool:
        return self._op is None

    @property
    def _prev(self) -> set:
        """The Values this one was computed from (a set, as micrograd names it; empty for a leaf)."""
        return set(self._parents)

    def item(self) -> float:
        """The number, as a Python float (torch's spelling for a one-element tensor); also ``float(v)``,
        ``int(v)`` (truncated) and ``bool(v)`` (``v.data != 0``), as torch's for a one-element tensor."""
        return float(self.data)

    __float__ = item
    __int__ = lambda self: int(self.data)  # noqa: E731
    __bool__ = lambda self: self.data != 0  # noqa: E731

    def requires_grad_(self, requires_grad: bool = True) -> "Value":
        """Freeze (``False``) or unfreeze this leaf: a frozen Value gets no gradient; returns self."""
        if not isinstance(requires_grad, (bool, np.bool_)):
            raise TypeError(f"Value.requires_grad_: requires_grad must be a bool, got {requires_grad!r}")
        if not self.is_leaf:
            raise RuntimeError("Value.requires_grad_: only a leaf Value can be frozen or unfrozen")
        self._rg = bool(requires_grad)
        return self

    # the name shown in pictures and traces ("" unless given: op nodes are made without one)
    label = property(lambda v: getattr(v, "_label", ""), lambda v, value: setattr(v, "_label", value))

    @property
    def grad(self) -> float:
        """d(root)/d(this node) after ``backward()`` (a float)."""
        try:
            return self._grad
        except AttributeError:  # an op node no backward has reached yet
            return 0.0

    @grad.setter
    def grad(self, value: float) -> None:  # (None, torch's way to clear it, is 0.0 here: grads are floats)
        if value is not None and not isinstance(value, (int, float, np.integer, np.floating)) or isinstance(
                value, (bool, np.bool_)):
            raise TypeError(f"Value.grad must be a real number or None, got {value!r}")
        self._grad = 0.0 if value is None else float(value)

    def _accumulate(self, g: float) -> None:
        with graph.ACCUMULATE:
            self._grad += g

    # -- arithmetic: forward here, derivative in the op's vjp above -----------------------
    def __add__(self, other: Union["Value", Number]) -> "Value":
        if type(other) is Value or isinstance(other, Value):
            return _node(self.data + other.data, (self, other), ADD)
        if type(other) is not float and type(other) is not int:
            if not _num(other):
                return NotImplemented
            other = _plain(other)
        return _node(self.data + other, (self,), ADDC, other)

    __radd__ = __add__

    def __mul__(self, other: Union["Value", Number]) -> "Value":
        if type(other) is Value or isinstance(other, Value):
            return _node(self.data * other.data, (self, other), MUL)
        if type(other) is not float and type(other) is not int:
            if not _num(other):
                return NotImplemented
            other = _plain(other)
        return _node(self.data * other, (self,), MULC, other)

    __rmul__ = __mul__

    def __neg__(self) -> "Value":
        return _node(-self.data, (self,), MULC, -1.0)

    def __sub__(self, other: Union["Value", Number]) -> "Value":
        if type(other) is Value or isinstance(other, Value):
            return _node(self.data - other.data, (self, other), SUB)
        if type(other) is not float and type(other) is not int:
            if not _num(other):
                return NotImplemented
            other = _plain(other)
        return _node(self.data - other, (self,), ADDC, -other)

    def __rsub__(self, other: Number) -> "Value":
        if _num(other):
            other = _plain(other)
            return _node(other - self.data, (self,), RSUBC, other)  # (the constant: for pictures)
        return NotImplemented

    def __truediv__(self, other: Union["Value", Number]) -> "Value":
        if type(other) is Value or isinstance(other, Value):
            return _node(_div(self.data, other.data), (self, other), DIV)
        if _num(other):
            other = _plain(other)
            return _node(_div(self.data, other), (self,), DIVC, other)
        return NotImplemented

    def __rtruediv__(self, other: Number) -> "Value":
        if _num(other):
            other = _plain(other)
            return _node(_div(other, self.data), (self,), RDIVC, other)
        return NotImplemented

    def __floordiv__(self, other: Union["Value", Number]) -> "Value":
        """floor(a / b), exact as Python's and torch's ``//`` (inf / nan on a division by
        zero); a step function, so its derivative is 0."""
        if isinstance(other, Value):
            return _node(_floordiv(self.data, other.data), (self, other), FLOORDIV)
        if _num(other):
            return _node(_floordiv(self.data, _plain(other)), (self,), FLOORDIV)
        return NotImplemented

    def __rfloordiv__(self, other: Number) -> "Value":
        if _num(other):
            return _node(_floordiv(_plain(other), self.data), (self,), FLOORDIV)
        return NotImplemented

    def __mod__(self, other: Union["Value", Number]) -> "Value":
        """a - b * floor(a / b), the sign of b (Python's and torch's ``%``; nan for b = 0);
        d/da = 1, d/db = -floor(a / b)."""
        if isinstance(other, Value):
            return _node(_remainder(self.data, other.data), (self, other), REMAINDER, ("ab", None))
        if _num(other):
            other = _plain(other)
            return _node(_remainder(self.data, other), (self,), REMAINDER, ("a", other))
        return NotImplemented

    def __rmod__(self, other: Number) -> "Value":
        if _num(other):
            other = _plain(other)
            return _node(_remainder(other, self.data), (self,), REMAINDER, ("b", other))
        return NotImplemented

    def __pow__(self, k: Number) -> "Value":
        """a ** k for a number k (int, float or a numpy real scalar); d/da = k * a**(k-1)."""
        k = _exponent(k, "Value ** {}: only int/float exponents are supported")
        return _node(_pow(self.data, k), (self,), POW, k)

    def pow(self, k: Number) -> "Value":
        """a ** k, torch's method spelling of ``**`` (k a number)."""
        return self.__pow__(k)

    def __rpow__(self, c: Number) -> "Value":
        """c ** a for a number c; d/da = c**a * log(c) (0 where c = 0 and a >= 0, as torch)."""
        c = _exponent(c, "{} ** Value: only an int/float base is supported")
        return _node(_pow(float(c), self.data, halves=False), (self,), RPOW, c)

    # -- ordering: compares ``data`` and returns a bool (== stays identity, so Values hash) --
    def _key(self, other: object) -> Optional[float]:
        if isinstance(other, Value):
            return other.data
        return float(other) if _num(other) or isinstance(other, (np.integer, np.floating)) else None

    __lt__, __le__, __gt__, __ge__ = (_compare(f) for f in (operator.lt, operator.le, operator.gt, operator.ge))

    # -- functions ----------------------------------------------------------------------
    def abs(self) -> "Value":
        """|a|; d|a|/da = sign(a), 0 at 0 (as torch)."""
        return _node(abs(self.data), (self,), ABS)

    __abs__ = abs

    def relu(self) -> "Value":
        """max(0, a) (nan stays nan, as in the tensor engine and torch)."""
        a = self.data
        return _node(0.0 if a <= 0 else a, (self,), RELU)

    def tanh(self) -> "Value":
        """(e^{2a} - 1) / (e^{2a} + 1)."""
        return _node(math.tanh(self.data), (self,), TANH)

    def exp(self) -> "Value":
        """e^a (inf on overflow)."""
        return _node(_exp(self.data), (self,), EXP)

    def log(self) -> "Value":
        """Natural log: -inf at 0, nan below 0 (as the tensor engine and PyTorch)."""
        return _node(_log(self.data), (self,), LOG)

    def sigmoid(self) -> "Value":
        """1 / (1 + e^{-a}), computed without overflow."""
        a = self.data
        if a >= 0:
            s = 1.0 / (1.0 + _exp(-a))
        else:
            e = _exp(a)
            s = e / (1.0 + e)
        return _node(s, (self,), SIGMOID)

    def backward(self, gradient: Optional[Number] = None, retain_graph: Optional[bool] = None,
                 create_graph: bool = False, *, trace: Optional[object] = None) -> None:
        """Fill ``.grad`` of every node of the graph with dself/dnode, times ``gradient`` (the
        seed, 1.0 by default; torch's positional spelling). ``retain_graph`` is accepted (the
        graph lives while referenced); ``create_graph=True`` is the tensor engine's. A callable
        first argument is ``trace`` (this engine's older spelling)."""
        if callable(gradient) and trace is None:
            gradient, trace = None, gradient
        if trace is not None and not callable(trace):
            raise TypeError(f"backward: trace must be callable or None, got {type(trace).__name__}")
        if create_graph:
            raise NotImplementedError("Value.backward: create_graph=True (higher-order gradients) is the tensor "
                                      "engine's: use tl.Tensor and tl.autograd.grad")
        seed = 1.0 if gradient is None else _exponent(gradient, "Value.backward: gradient must be a number, got {}")
        order = graph.toposort(self)
        if not self._rg or not any(n._rg for n in order if n._op is None):  # (stops at the first such leaf)
            raise RuntimeError("backward: this Value does not require grad (made under no_grad(), or from leaves "
                               "frozen with requires_grad_(False)): there is no graph to differentiate")
        if graph.state.anomaly:
            from .anomaly import backward_check
            trace = backward_check(trace)
        graph.backward(self, float(seed), None, trace, order=order)  # type: ignore[arg-type]

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Set ``grad`` to 0.0 on this node and every node below it (``set_to_none``, torch's
        keyword, is accepted: a Value's grad is a float, so None reads as 0.0)."""
        for n in graph.toposort(self):
            n._grad = 0.0

    def __repr__(self) -> str:
        return f"Value(data={self.data}, grad={self.grad})"
