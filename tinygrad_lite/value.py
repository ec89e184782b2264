"""Value: the scalar engine, for teaching. Same graph walker as Tensor.

Every op keeps its forward and its derivative side by side: the forward is the
``Value`` method, the derivative is the op's ``vjp`` (vector-Jacobian product: the
cotangent ``g = dL/dout`` times the local derivative ``dout/dinput``). Constants
(Python numbers) are folded into the op instead of becoming nodes.
"""

from __future__ import annotations

import math
from typing import Optional, Union

from . import graph

Number = Union[int, float]


class _Op:
    """An op: ``name``, ``rule`` (the local derivative, for traces) and ``vjp``."""

    name = "op"
    rule = ""
    __slots__ = ()

    def __repr__(self) -> str:
        return f"<op {self.name}>"


class _Add(_Op):
    name, rule = "+", "d(a+b)/da = 1, d(a+b)/db = 1"

    @staticmethod
    def vjp(node: "Value", g: float) -> tuple:
        return g, g


class _AddC(_Op):
    name, rule = "+c", "d(a+c)/da = 1"

    @staticmethod
    def vjp(node: "Value", g: float) -> tuple:
        return (g,)


class _Sub(_Op):
    name, rule = "-", "d(a-b)/da = 1, d(a-b)/db = -1"

    @staticmethod
    def vjp(node: "Value", g: float) -> tuple:
        return g, -g


class _RSubC(_Op):
    name, rule = "c-", "d(c-a)/da = -1"

    @staticmethod
    def vjp(node: "Value", g: float) -> tuple:
        return (-g,)


class _Mul(_Op):
    name, rule = "*", "d(a*b)/da = b, d(a*b)/db = a"

    @staticmethod
    def vjp(node: "Value", g: float) -> tuple:
        a, b = node._parents
        return g * b.data, g * a.data


class _MulC(_Op):
    name, rule = "*c", "d(a*c)/da = c"

    @staticmethod
    def vjp(node: "Value", g: float) -> tuple:
        return (g * node._ctx,)


class _Div(_Op):
    name, rule = "/", "d(a/b)/da = 1/b, d(a/b)/db = -a/b**2"

    @staticmethod
    def vjp(node: "Value", g: float) -> tuple:
        a, b = node._parents
        return g / b.data, -g * a.data / (b.data * b.data)


class _RDivC(_Op):
    name, rule = "c/", "d(c/a)/da = -c/a**2"

    @staticmethod
    def vjp(node: "Value", g: float) -> tuple:
        a = node._parents[0].data
        return (-g * node._ctx / (a * a),)


class _Pow(_Op):
    name, rule = "**", "d(a**k)/da = k*a**(k-1)"

    @staticmethod
    def vjp(node: "Value", g: float) -> tuple:
        k = node._ctx
        return (g * k * node._parents[0].data ** (k - 1),)


class _Relu(_Op):
    name, rule = "relu", "d relu(a)/da = 1 if a > 0 else 0"

    @staticmethod
    def vjp(node: "Value", g: float) -> tuple:
        return (g if node.data > 0 else 0.0,)


class _Tanh(_Op):
    name, rule = "tanh", "d tanh(a)/da = 1 - tanh(a)**2"

    @staticmethod
    def vjp(node: "Value", g: float) -> tuple:
        t = node.data
        return (g * (1.0 - t * t),)


class _Exp(_Op):
    name, rule = "exp", "d exp(a)/da = exp(a)"

    @staticmethod
    def vjp(node: "Value", g: float) -> tuple:
        return (g * node.data,)


class _Log(_Op):
    name, rule = "log", "d log(a)/da = 1/a"

    @staticmethod
    def vjp(node: "Value", g: float) -> tuple:
        return (g / node._parents[0].data,)


class _Sigmoid(_Op):
    name, rule = "sigmoid", "d sigmoid(a)/da = s*(1-s), s = sigmoid(a)"

    @staticmethod
    def vjp(node: "Value", g: float) -> tuple:
        s = node.data
        return (g * s * (1.0 - s),)


ADD, ADDC, SUB, RSUBC = _Add(), _AddC(), _Sub(), _RSubC()
MUL, MULC, DIV, RDIVC, POW = _Mul(), _MulC(), _Div(), _RDivC(), _Pow()
RELU, TANH, EXP, LOG, SIGMOID = _Relu(), _Tanh(), _Exp(), _Log(), _Sigmoid()


def _node(data: float, parents: tuple, op: _Op, ctx: object = None) -> "Value":
    v = Value.__new__(Value)
    v.data = data
    v.grad = 0.0
    v.label = ""
    if graph._GRAD[0]:
        v._parents = parents
        v._op = op
        v._ctx = ctx
    else:
        v._parents = ()
        v._op = None
        v._ctx = None
    return v


class Value:
    """A scalar that remembers how it was computed, micrograd-style.

    ``data`` and ``grad`` are Python floats; ``grad`` starts at 0.0 and, on leaves,
    accumulates across ``backward()`` calls (use ``v.grad = 0.0`` or ``zero_grad`` to reset).
    """

    __slots__ = ("data", "grad", "label", "_parents", "_op", "_ctx", "__weakref__")
    requires_grad = True
    batched = False

    def __init__(self, data: Number, _children: tuple = (), _op: str = "", label: str = "") -> None:
        if isinstance(data, Value):
            data = data.data
        self.data = float(data)
        self.grad = 0.0
        self.label = label
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

    def _accumulate(self, g: float) -> None:
        self.grad += g

    # -- arithmetic ---------------------------------------------------------------------
    def __add__(self, other: Union["Value", Number]) -> "Value":
        if type(other) is Value:
            return _node(self.data + other.data, (self, other), ADD)
        if isinstance(other, (int, float)):
            return _node(self.data + other, (self,), ADDC, other)
        return NotImplemented

    __radd__ = __add__

    def __mul__(self, other: Union["Value", Number]) -> "Value":
        if type(other) is Value:
            return _node(self.data * other.data, (self, other), MUL)
        if isinstance(other, (int, float)):
            return _node(self.data * other, (self,), MULC, other)
        return NotImplemented

    __rmul__ = __mul__

    def __neg__(self) -> "Value":
        return _node(-self.data, (self,), MULC, -1.0)

    def __sub__(self, other: Union["Value", Number]) -> "Value":
        if type(other) is Value:
            return _node(self.data - other.data, (self, other), SUB)
        if isinstance(other, (int, float)):
            return _node(self.data - other, (self,), ADDC, -other)
        return NotImplemented

    def __rsub__(self, other: Number) -> "Value":
        if isinstance(other, (int, float)):
            return _node(other - self.data, (self,), RSUBC)
        return NotImplemented

    def __truediv__(self, other: Union["Value", Number]) -> "Value":
        if type(other) is Value:
            return _node(self.data / other.data, (self, other), DIV)
        if isinstance(other, (int, float)):
            return _node(self.data / other, (self,), MULC, 1.0 / other)
        return NotImplemented

    def __rtruediv__(self, other: Number) -> "Value":
        if isinstance(other, (int, float)):
            return _node(other / self.data, (self,), RDIVC, other)
        return NotImplemented

    def __pow__(self, k: Number) -> "Value":
        if not isinstance(k, (int, float)):
            raise TypeError(f"Value ** {type(k).__name__}: only int/float exponents are supported")
        return _node(self.data ** k, (self,), POW, k)

    # -- functions ----------------------------------------------------------------------
    def relu(self) -> "Value":
        """max(0, a)."""
        return _node(self.data if self.data > 0 else 0.0, (self,), RELU)

    def tanh(self) -> "Value":
        """(e^{2a} - 1) / (e^{2a} + 1)."""
        return _node(math.tanh(self.data), (self,), TANH)

    def exp(self) -> "Value":
        """e^a."""
        return _node(math.exp(self.data), (self,), EXP)

    def log(self) -> "Value":
        """Natural log; a <= 0 raises ValueError naming the op."""
        if self.data <= 0:
            raise ValueError(f"Value.log: argument must be > 0, got {self.data!r}")
        return _node(math.log(self.data), (self,), LOG)

    def sigmoid(self) -> "Value":
        """1 / (1 + e^{-a}), computed without overflow."""
        a = self.data
        if a >= 0:
            s = 1.0 / (1.0 + math.exp(-a))
        else:
            e = math.exp(a)
            s = e / (1.0 + e)
        return _node(s, (self,), SIGMOID)

    def backward(self, trace: Optional[object] = None) -> None:
        """Fill ``.grad`` of every node of the graph with dself/dnode (seed 1.0)."""
        graph.backward(self, 1.0, None, trace)  # type: ignore[arg-type]

    def zero_grad(self) -> None:
        """Set ``grad`` to 0.0 on this node and every node below it."""
        for n in graph.toposort(self):
            n.grad = 0.0

    def __repr__(self) -> str:
        return f"Value(data={self.data}, grad={self.grad})"

