"""Elementwise activations beyond relu, tanh, sigmoid, gelu and silu: leaky_relu, elu,
softplus, hardtanh (relu6 is hardtanh(0, 6)), logsigmoid, mish and softsign.

Each is one elementwise op (``_Unary``): its forward keeps the constants it was called with
(slope, alpha, beta and threshold, bounds) as the node's ctx, its vjp multiplies the
cotangent by the local derivative written in ``rule``, and its batch rule is the elementwise
one of its siblings, so per-sample gradients pass through it unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import const
from .elementwise import _Unary


def _where(mask: np.ndarray, a: Any, b: Any) -> Any:
    """``where(mask, a, b)`` of Tensors or numbers (a constant ``mask``): differentiable in a and b."""
    from .select import WHERE
    dt = (a if not isinstance(a, (int, float)) else b)._data.dtype
    a, b = (const(np.asarray(v, dt)) if isinstance(v, (int, float)) else v for v in (a, b))
    return WHERE(const(mask), a, b)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-x) without overflow."""
    return np.exp(-np.logaddexp(0, -x))


class LeakyRelu(_Unary):
    """x where x > 0, else slope x; d/dx = 1 where x > 0, else slope."""

    name, rule = "leaky_relu", "d/dx = 1 where x > 0, else negative_slope"
    tvjp_reads = 0  # (create_graph: its cotangent stays a function of the input, derivative 0: higher)

    def forward(self, a: np.ndarray, slope: float) -> tuple:
        return np.where(a > 0, a, a * slope), slope

    def deriv(self, node: Any) -> Any:
        a = node._parents[0]._data
        return np.where(a > 0, 1.0, node._ctx).astype(a.dtype, copy=False)

    def tderiv(self, node: Any) -> Any:
        return const(self.deriv(node))


class Elu(_Unary):
    """x where x > 0, else alpha (e^x - 1); d/dx = 1 where x > 0, else alpha e^x."""

    name, rule = "elu", "d/dx = 1 where x > 0, else alpha exp(x)"

    def forward(self, a: np.ndarray, alpha: float) -> tuple:
        with np.errstate(over="ignore"):
            return np.where(a > 0, a, alpha * np.expm1(np.minimum(a, 0))), alpha

    def deriv(self, node: Any) -> Any:
        a = node._parents[0]._data
        return np.where(a > 0, 1.0, node._ctx * np.exp(np.minimum(a, 0))).astype(a.dtype, copy=False)

    def tderiv(self, node: Any) -> Any:
        """alpha e^x = elu(x) + alpha where x < 0; a constant elsewhere (1, and alpha at x = 0,
        where the second derivative is 0, as torch's)."""
        return _where(node._parents[0]._data < 0, node + node._ctx, const(self.deriv(node)))


class Softplus(_Unary):
    """log(1 + e^(beta x)) / beta, and x itself where beta x > threshold;
    d/dx = sigmoid(beta x) (1 beyond the threshold)."""

    name, rule = "softplus", "d/dx = sigmoid(beta x), 1 where beta x > threshold"

    def forward(self, a: np.ndarray, beta: float, threshold: float) -> tuple:
        bx = a * beta
        return np.where(bx > threshold, a, np.logaddexp(0, bx) / beta).astype(a.dtype, copy=False), (beta, threshold)

    def deriv(self, node: Any) -> Any:
        a = node._parents[0]._data
        beta, threshold = node._ctx
        bx = a * beta
        return np.where(bx > threshold, 1.0, _sigmoid(bx)).astype(a.dtype, copy=False)

    def tderiv(self, node: Any) -> Any:
        """sigmoid(beta x) where beta x < threshold; a constant elsewhere (1 beyond it, and
        sigmoid(threshold) at it, where the second derivative is 0, as torch's)."""
        x = node._parents[0]
        beta, threshold = node._ctx
        return _where(x._data * beta < threshold, (x * beta).sigmoid(), const(self.deriv(node)))


class Hardtanh(_Unary):
    """min(max(x, lo), hi); d/dx = 1 strictly between the bounds, 0 at and beyond them."""

    name, rule = "hardtanh", "d/dx = 1 where min_val < x < max_val, else 0"
    tvjp_reads = 0  # (create_graph: its cotangent stays a function of the input, derivative 0: higher)

    def forward(self, a: np.ndarray, lo: float, hi: float) -> tuple:
        return np.minimum(np.maximum(a, lo), hi).astype(a.dtype, copy=False), (lo, hi)

    def deriv(self, node: Any) -> Any:
        a = node._parents[0]._data
        lo, hi = node._ctx
        return ~((a <= lo) | (a >= hi))  # (a nan input passes the cotangent on, as torch)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:  # selected (0 at the bounds under an inf cotangent, as torch)
        return (np.where(self.deriv(node), g, np.zeros((), g.dtype)),)

    def tderiv(self, node: Any) -> Any:
        return const(self.deriv(node).astype(node._data.dtype))

    def tvjp(self, node: Any, g: Any) -> tuple:
        return (_where(self.deriv(node), g, 0.0),)


class LogSigmoid(_Unary):
    """log sigmoid(x) = -log(1 + e^-x); d/dx = sigmoid(-x) = 1 - sigmoid(x)."""

    name, rule = "logsigmoid", "d log(sigmoid(x))/dx = sigmoid(-x)"

    def forward(self, a: np.ndarray) -> tuple:
        return -np.logaddexp(0, -a), None

    def deriv(self, node: Any) -> Any:
        return _sigmoid(-node._parents[0]._data)

    def tderiv(self, node: Any) -> Any:
        return (-node._parents[0]).sigmoid()


class Mish(_Unary):
    """x tanh(softplus(x)); d/dx = tanh(sp) + x sigmoid(x) (1 - tanh(sp)^2), sp = log(1 + e^x)."""

    name, rule = "mish", "d/dx = t + x sigmoid(x) (1 - t^2), t = tanh(softplus(x))"

    def forward(self, a: np.ndarray) -> tuple:
        t = np.tanh(np.logaddexp(0, a))
        return a * t, t

    def deriv(self, node: Any) -> Any:
        a, t = node._parents[0]._data, node._ctx
        return t + a * _sigmoid(a) * (1 - t * t)

    def tderiv(self, node: Any) -> Any:
        a = node._parents[0]
        t = SOFTPLUS(a, 1.0, 20.0).tanh()  # (beyond 20, tanh(softplus) is 1 to double precision)
        return t + a * a.sigmoid() * (1 - t * t)


class Softsign(_Unary):
    """x / (1 + |x|); d/dx = 1 / (1 + |x|)^2."""

    name, rule = "softsign", "d/dx = 1 / (1 + |x|)^2 (nan at +-inf, where the value is nan)"

    def forward(self, a: np.ndarray) -> tuple:
        with np.errstate(invalid="ignore"):
            return a / (1 + np.abs(a)), None

    def deriv(self, node: Any) -> Any:
        a = node._parents[0]._data
        d = 1 + np.abs(a)
        out = 1 / (d * d)
        if a.dtype.kind == "f" and np.isinf(a).any():  # inf / inf: the value is nan, so is its slope (torch)
            out = np.where(np.isinf(a), np.nan, out)
        return out

    def tderiv(self, node: Any) -> Any:
        d = node._parents[0].abs() + 1
        return 1 / (d * d)


LEAKYRELU, ELU, SOFTPLUS, HARDTANH = LeakyRelu(), Elu(), Softplus(), Hardtanh()
LOGSIGMOID, MISH, SOFTSIGN = LogSigmoid(), Mish(), Softsign()
