"""An op whose gradient reads its own output (exp, tanh, relu, softmax, ...) refuses to
backward when that output was changed in place outside the graph after it was computed
(under ``no_grad()``, through a view of it, or through a ``detach()``), as torch does: its
gradient would be computed from the wrong values. Ops whose gradient does not read their
output backpropagate as before, and a change recorded in the graph (``y.mul_(2)`` outside
``no_grad``) keeps the exact gradient."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")

X0 = np.array([[0.3, -1.2, 0.7], [1.1, 0.4, -0.5]])

READS_OUTPUT: dict[str, Callable[[Any, Any], Any]] = {
    "exp": lambda L, x: x.exp(),
    "tanh": lambda L, x: x.tanh(),
    "sigmoid": lambda L, x: x.sigmoid(),
    "relu": lambda L, x: x.relu(),
    "sqrt": lambda L, x: (x * x + 1.0).sqrt(),
    "softmax": lambda L, x: x.softmax(1),
    "log_softmax": lambda L, x: x.log_softmax(1),
    "pow": lambda L, x: (x * x + 1.0) ** x,
    "expm1": lambda L, x: x.expm1(),
}

READS_NO_OUTPUT: dict[str, Callable[[Any, Any], Any]] = {
    "add": lambda L, x: x + 1.0,
    "mul by a constant": lambda L, x: x * 3.0,
    "matmul": lambda L, x: x @ L.tensor(np.ones((3, 3))),
    "square": lambda L, x: x * x,
    "sin": lambda L, x: x.sin(),
    "constant / x": lambda L, x: 1.0 / (x * x + 1.0),
}


def _change(L: Any, y: Any, how: str) -> None:
    if how == "store under no_grad":
        with L.no_grad():
            y[0, 1] = 5.0
    elif how == "in-place method under no_grad":
        with L.no_grad():
            y.mul_(2.0)
    elif how == "view under no_grad":
        v = y[1]
        with L.no_grad():
            v.add_(1.0)
    else:  # through a detach()
        y.detach()[1, 2] = -3.0


HOW = ["store under no_grad", "in-place method under no_grad", "view under no_grad", "detach"]


def _grad(L: Any, op: Callable, how: str) -> np.ndarray:
    x = L.tensor(X0, requires_grad=True)
    y = op(L, x)
    _change(L, y, how)
    (y * L.tensor(np.arange(6.0).reshape(2, 3))).sum().backward()
    return np.array(x.grad.numpy() if L is torch else x.grad)


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("op", list(READS_OUTPUT))
def test_a_changed_output_that_the_gradient_reads_is_refused_as_torch(op: str, how: str) -> None:
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        _grad(torch, READS_OUTPUT[op], how)
    with pytest.raises(RuntimeError, match="the output of op '.*' .*was changed in place outside the graph"):
        _grad(tl, READS_OUTPUT[op], how)


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("op", list(READS_NO_OUTPUT))
def test_a_changed_output_that_the_gradient_does_not_read_backpropagates_as_torch(op: str, how: str) -> None:
    np.testing.assert_allclose(_grad(tl, READS_NO_OUTPUT[op], how), _grad(torch, READS_NO_OUTPUT[op], how),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("op", list(READS_OUTPUT))
def test_a_recorded_change_of_the_output_keeps_the_exact_gradient(op: str) -> None:
    """``y = op(x); y.mul_(2)`` inside the graph: the former node keeps y's values, so the
    gradient is that of ``2 op(x)`` (torch refuses this; finite differences check it)."""
    fn = READS_OUTPUT[op]
    w = np.arange(6.0).reshape(2, 3)

    def f(x0: np.ndarray) -> float:
        with tl.no_grad():
            return float(((fn(tl, tl.tensor(x0)) * 2.0) * w).sum().item())

    x = tl.tensor(X0, requires_grad=True)
    y = fn(tl, x)
    y.mul_(2.0)
    (y * tl.tensor(w)).sum().backward()
    eps = 1e-6
    fd = np.zeros_like(X0)
    for i in np.ndindex(X0.shape):
        e = np.zeros_like(X0)
        e[i] = eps
        fd[i] = (f(X0 + e) - f(X0 - e)) / (2 * eps)
    np.testing.assert_allclose(x.grad, fd, rtol=1e-6, atol=1e-6)


def test_a_refused_backward_writes_no_gradient() -> None:
    x = tl.tensor(X0, requires_grad=True)
    y = x.exp()
    with tl.no_grad():
        y[0, 0] = 0.0
    with pytest.raises(RuntimeError, match="output of op 'exp'"):
        y.sum().backward()
    assert x.grad is None


CONSUMERS: dict[str, Callable[[Any], Any]] = {
    "times a constant": lambda y: y * 3.0,
    "plus a constant": lambda y: y + 2.0,
    "over a constant": lambda y: y / 4.0,
    "constant minus": lambda y: 1.0 - y,
    "negation": lambda y: -y,
    "getitem": lambda y: y[1],
    "reshape": lambda y: y.reshape(3, 2),
    "transpose": lambda y: y.T,
    "expand": lambda y: y[None].expand(2, 2, 3),
    "sum": lambda y: y.sum(0),
    "mean": lambda y: y.mean(1),
    "cumsum": lambda y: y.cumsum(1),
    "add of two": lambda y: y + y,
}


@pytest.mark.parametrize("consumer", list(CONSUMERS))
def test_an_op_that_reads_no_values_of_a_changed_input_backpropagates_as_torch(consumer: str) -> None:
    """``z = f(y)`` with ``f``'s gradient not reading ``y`` (a product with a constant, a
    view, a sum, ...), then ``y`` changed under ``no_grad()``: when ``y``'s own op does not
    read its output either (``y = x * 2``), the backward goes through, with torch's
    gradient; when it does (``y = x.exp()``), it is refused, as torch refuses it."""
    got = []
    for L in (tl, torch):
        x = L.tensor(X0, requires_grad=True)
        y = x * 2.0
        z = CONSUMERS[consumer](y)
        with L.no_grad():
            y[0, 1] = 5.0
        (z * z.detach() + z).sum().backward()  # (the product reads z's values, not y's)
        got.append(np.array(x.grad.numpy() if L is torch else x.grad))
    np.testing.assert_allclose(got[0], got[1], rtol=1e-12, atol=1e-12)
    for L, what in ((torch, "modified by an inplace operation"), (tl, "output of op 'exp'")):
        x = L.tensor(X0, requires_grad=True)
        y = x.exp()
        z = CONSUMERS[consumer](y)
        with L.no_grad():
            y[0, 1] = 5.0
        with pytest.raises(RuntimeError, match=what):
            z.sum().backward()
