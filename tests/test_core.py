"""Regression and contract tests of the autodiff core: the walker, Tensor and Value.

Covers gradient accumulation rules, deep graphs, graph lifetime, no_grad/detach, max's
tie rule, softmax stability, dtype rules, error messages, gradcheck, and the scalar
``Value`` engine (checked against finite differences and, when importable, torch).
"""

from __future__ import annotations

import gc
import math
import re
import weakref
from typing import Any, Callable

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import Tensor, Value, graph, ops


def fd(f: Callable[[float], float], x: float, h: float = 1e-6) -> float:
    return (f(x + h) - f(x - h)) / (2 * h)


# ----------------------------------------------------------------------------- classic regressions
def test_x_times_x() -> None:
    x = Tensor(3.0, requires_grad=True)
    (x * x).backward()
    assert x.grad == 6.0
    v = Tensor([1.0, -2.0], requires_grad=True)
    (v * v).sum().backward()
    np.testing.assert_array_equal(v.grad, [2.0, -4.0])


def test_tensor_used_twice_adds_its_gradients() -> None:
    b = Tensor([1.5, 2.0], requires_grad=True)
    (b + b).sum().backward()
    np.testing.assert_array_equal(b.grad, [2.0, 2.0])
    c = Tensor(2.0, requires_grad=True)
    (c * c * c + c).backward()  # 3 c^2 + 1
    assert c.grad == 13.0


def test_broadcast_gradient_is_reduced_to_each_shape() -> None:
    a = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.shape == (3,) and b.grad.shape == (2, 3)
    np.testing.assert_array_equal(a.grad, [5.0, 7.0, 9.0])
    np.testing.assert_array_equal(b.grad, [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])
    a2 = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    (b.detach() + a2).sum().backward()
    np.testing.assert_array_equal(a2.grad, [2.0, 2.0, 2.0])


def test_backward_twice_same_leaf_increment_and_latest_nonleaf_grad() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    h = x * 3.0
    y = (h * h).sum()
    y.backward()
    first = x.grad.copy()
    h_first = h.grad.copy()
    np.testing.assert_array_equal(first, 18.0 * x.data)
    y.backward()
    np.testing.assert_array_equal(x.grad, 2 * first)  # leaves accumulate
    np.testing.assert_array_equal(h.grad, h_first)  # a non-leaf holds the latest gradient
    z = h * 1.0
    z.backward(np.array([10.0, 20.0]))
    np.testing.assert_array_equal(z.grad, [10.0, 20.0])
    np.testing.assert_array_equal(h.grad, [10.0, 20.0])  # overwritten, not added to
    np.testing.assert_array_equal(x.grad, 2 * first + [30.0, 60.0])


def test_backward_twice_value() -> None:
    a = Value(2.0)
    h = a * a
    y = h * 3.0
    y.backward()
    assert a.grad == 12.0 and h.grad == 3.0
    y.backward()
    assert a.grad == 24.0 and h.grad == 3.0


def test_leaf_gradients_are_separate_arrays() -> None:
    """A gradient passed through unchanged (add) must not be shared between nodes: changing one
    leaf's .grad in place (clipping, zeroing) must leave every other .grad alone."""
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = Tensor([3.0, 4.0], requires_grad=True)
    c = a + b
    c.backward(np.array([1.0, 1.0]))
    a.grad *= 0.5
    np.testing.assert_array_equal(b.grad, [1.0, 1.0])
    np.testing.assert_array_equal(c.grad, [1.0, 1.0])
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x + 1.0
    (y * 2.0).backward(np.array([1.0, 1.0]))
    x.grad[:] = 0.0
    np.testing.assert_array_equal(y.grad, [2.0, 2.0])


def test_grad_has_the_shape_of_data_and_is_an_array() -> None:
    x = Tensor(2.0, requires_grad=True)
    w = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = x.exp() * 2.0 + x + (w * w).sum()
    y.backward()
    y.backward()
    for t in (x, w, y):
        assert isinstance(t.data, np.ndarray) and isinstance(t.grad, np.ndarray)
        assert t.grad.shape == t.data.shape
    assert x.grad == pytest.approx(2 * (2 * math.exp(2.0) + 1))
    np.testing.assert_array_equal(w.grad, 4 * w.data)


def test_one_element_tensor_seeds_with_one() -> None:
    x = Tensor([[2.0]], requires_grad=True)
    (x * 5.0).backward()
    np.testing.assert_array_equal(x.grad, [[5.0]])


# ----------------------------------------------------------------------------- deep graphs
def chain(x: Any, n: int) -> Any:
    y = x
    for _ in range(n):
        y = y * 1.0001 + 0.0001
    return y


def check_chain(y: float, grad: float, x0: float, n: int) -> None:
    k = 1.0001 ** n
    assert grad == pytest.approx(k, rel=1e-9)
    assert y == pytest.approx(k * (x0 + 1.0) - 1.0, rel=1e-9)


def test_value_chain_100k_nodes() -> None:
    x = Value(0.5)
    y = chain(x, 50_000)  # two nodes per step
    y.backward()
    check_chain(y.data, x.grad, 0.5, 50_000)


def test_tensor_chain_100k_nodes() -> None:
    x = Tensor(0.5, requires_grad=True)
    y = chain(x, 50_000)
    y.backward()
    check_chain(float(y.data), float(x.grad), 0.5, 50_000)


def test_value_chain_one_million_nodes() -> None:
    x = Value(0.25)
    y = chain(x, 500_000)
    y.backward()
    check_chain(y.data, x.grad, 0.25, 500_000)
    first = weakref.ref(y._parents[0])
    del y  # freeing a million-node chain must not recurse either
    assert first() is None


# ----------------------------------------------------------------------------- graph lifetime
def test_graph_freed_when_root_dropped_tensor() -> None:
    x = Tensor(np.ones(3), requires_grad=True)
    h = x * 2.0
    mid = weakref.ref(h)
    root = (h.exp() * h).sum()
    del h
    assert mid() is not None  # the root keeps its graph alive
    root.backward()
    assert mid() is not None
    del root
    assert mid() is None  # freed by reference counting alone: no cycles
    gc.collect()
    assert x.grad is not None


def test_graph_freed_when_root_dropped_value() -> None:
    a = Value(1.5)
    h = a * a
    mid = weakref.ref(h)
    root = h.tanh() + h
    del h
    root.backward()
    assert mid() is not None
    del root
    assert mid() is None


# ----------------------------------------------------------------------------- no_grad, detach
def test_no_grad_records_nothing() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    with tl.no_grad():
        assert not tl.is_grad_enabled()
        y = (x * 2.0).exp().sum()
        z = x @ x
    assert tl.is_grad_enabled()
    for t in (y, z):
        assert t.requires_grad is False and t.is_leaf and graph.toposort(t) == [t]
        with pytest.raises(RuntimeError):
            t.backward()
    with tl.no_grad():
        v = Value(2.0) * Value(3.0)
    assert v.is_leaf and v._parents == ()
    w = x * 2.0  # recording is back on
    assert w.requires_grad and not w.is_leaf

    @tl.no_grad()
    def f(t: Tensor) -> Tensor:
        return t * t

    assert f(x).requires_grad is False
    with tl.no_grad(), tl.enable_grad():
        assert (x * 1.0).requires_grad


def test_detach_cuts_the_graph() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 3.0
    d = y.detach()
    assert d.requires_grad is False and d.is_leaf and np.shares_memory(d.data, y.data)
    (d * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 6.0])  # only the direct path: d is a constant


# ----------------------------------------------------------------------------- max ties, stability
def test_max_splits_gradient_among_ties() -> None:
    x = Tensor([1.0, 3.0, 3.0], requires_grad=True)
    x.max().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.5, 0.5])
    m = Tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0], [5.0, 0.0, 1.0]], requires_grad=True)
    m.max(axis=1, keepdims=True).backward(np.array([[1.0], [3.0], [2.0]]))
    np.testing.assert_allclose(m.grad, [[0, 0.5, 0.5], [1, 1, 1], [2, 0, 0]])
    c = Tensor([[4.0, 1.0], [4.0, 2.0]], requires_grad=True)
    c.max(axis=0).sum().backward()
    np.testing.assert_array_equal(c.grad, [[0.5, 0.0], [0.5, 1.0]])


def test_max_ties_match_torch(torch: Any) -> None:
    x0 = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    x = Tensor(x0, requires_grad=True)
    x.max().backward()
    tx = torch.tensor(x0, requires_grad=True)
    tx.amax().backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=0, atol=1e-15)


@pytest.mark.parametrize("logits", [[1000.0, 0.0, -1000.0], [1000.0, 1000.0], [-1000.0, -1000.0, -999.0]])
def test_softmax_and_log_softmax_are_stable(logits: list) -> None:
    z0 = np.array(logits)
    shifted = z0 - z0.max()  # the same softmax, with small numbers
    p = np.exp(shifted) / np.exp(shifted).sum()
    w = np.array([0.3, -1.2, 2.0][: z0.size])
    for name in ("softmax", "log_softmax"):
        z = Tensor(z0, requires_grad=True)
        out = getattr(z, name)()
        assert np.all(np.isfinite(out.data))
        (out * Tensor(w)).sum().backward()
        assert np.all(np.isfinite(z.grad))
        if name == "softmax":
            np.testing.assert_allclose(out.data, p, rtol=1e-12, atol=1e-300)
            np.testing.assert_allclose(z.grad, p * (w - (p * w).sum()), rtol=1e-12, atol=1e-300)
        else:
            with np.errstate(divide="ignore"):
                lp = shifted - np.log(np.exp(shifted).sum())
            np.testing.assert_allclose(out.data, lp, rtol=1e-12)
            np.testing.assert_allclose(z.grad, w - p * w.sum(), rtol=1e-12, atol=1e-300)
    ce = tl.nn.cross_entropy(Tensor(z0[None, :], requires_grad=True), np.array([0]))
    assert np.isfinite(ce.data)


# ----------------------------------------------------------------------------- dtypes
def test_float64_is_the_default() -> None:
    assert Tensor(1.0).dtype == np.float64
    assert Tensor([1.0, 2.0]).dtype == np.float64
    assert Tensor([1, 2]).dtype == np.int64
    assert (Tensor([1, 2]) + 0.5).dtype == np.float64
    assert Tensor([1.0], dtype=np.float32).dtype == np.float32


F32_OPS = {
    "add_float": lambda x, y: x + 1.5, "radd_int": lambda x, y: 2 + x,
    "sub_float": lambda x, y: x - 0.25, "rsub_float": lambda x, y: 0.25 - x,
    "mul_float": lambda x, y: x * 1.5, "rmul_int": lambda x, y: 3 * x,
    "div_float": lambda x, y: x / 1.5, "rdiv_float": lambda x, y: 1.5 / x,
    "pow_float": lambda x, y: x ** 1.5, "pow_int": lambda x, y: x ** 2, "rpow_float": lambda x, y: 1.5 ** x,
    "np_float64_scalar": lambda x, y: x * np.float64(2.0),
    "add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y,
    "div": lambda x, y: x / y, "pow": lambda x, y: x ** y, "neg": lambda x, y: -x,
    "matmul": lambda x, y: x @ y.T,
    "sum": lambda x, y: x.sum(axis=0), "mean": lambda x, y: x.mean(),
    "mean_axis": lambda x, y: x.mean(axis=1), "max": lambda x, y: x.max(axis=-1),
    "exp": lambda x, y: x.exp(), "log": lambda x, y: x.log(),
    "sqrt": lambda x, y: x.sqrt(), "tanh": lambda x, y: x.tanh(), "relu": lambda x, y: x.relu(),
    "sigmoid": lambda x, y: x.sigmoid(), "softmax": lambda x, y: x.softmax(axis=0),
    "log_softmax": lambda x, y: x.log_softmax(), "reshape": lambda x, y: x.reshape(-1),
    "transpose": lambda x, y: x.transpose(1, 0), "T": lambda x, y: x.T, "getitem": lambda x, y: x[::-1, 1],
    "getitem_array": lambda x, y: x[np.array([0, 0, 1])], "mse_loss": lambda x, y: tl.nn.mse_loss(x, y),
    "mse_loss_sum": lambda x, y: tl.nn.mse_loss(x, y, reduction="sum"),
    "cross_entropy": lambda x, y: tl.nn.cross_entropy(x, np.array([0, 2])),
    "linear": lambda x, y: _linear32(x),
}


def _linear32(x: Tensor) -> Tensor:
    return tl.nn.Linear(3, 4, rng=0, dtype=np.float32)(x)


@pytest.mark.parametrize("name", list(F32_OPS))
def test_float32_stays_float32(name: str) -> None:
    x = Tensor([[0.5, 1.0, 1.5], [2.0, 0.25, 0.75]], requires_grad=True, dtype=np.float32)
    y = Tensor([[1.0, 0.5, 2.0], [0.5, 1.5, 1.0]], requires_grad=True, dtype=np.float32)
    out = F32_OPS[name](x, y)
    assert out.dtype == np.float32
    h = out * 1.0
    h.sum().backward()
    assert out.grad.dtype == np.float32  # a non-leaf's gradient too
    assert x.grad.dtype == np.float32 and x.grad.shape == x.shape
    if y.grad is not None:
        assert y.grad.dtype == np.float32


def test_integer_data_cannot_require_grad() -> None:
    with pytest.raises(TypeError):
        Tensor([1, 2, 3], requires_grad=True)
    with pytest.raises(TypeError):
        Tensor(np.array([True]), requires_grad=True)
    with pytest.raises(TypeError):
        Tensor([1, 2]).requires_grad_()


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize("op,fn", [("add", lambda a, b: a + b), ("sub", lambda a, b: a - b),
                                   ("mul", lambda a, b: a * b), ("div", lambda a, b: a / b),
                                   ("matmul", lambda a, b: a @ b)])
@pytest.mark.parametrize("numpy_right", [False, True])
def test_shape_mismatch_names_op_and_shapes(op: str, fn: Callable, numpy_right: bool) -> None:
    a = Tensor(np.ones((2, 3)), requires_grad=True)
    b = np.ones((4,)) if numpy_right else Tensor(np.ones((4,)))
    with pytest.raises(ValueError) as info:
        fn(a, b)
    msg = str(info.value)
    assert op in msg and "(2, 3)" in msg and "(4,)" in msg


def test_backward_errors() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError):
        (x * 2.0).backward()  # non-scalar without a gradient
    with pytest.raises(RuntimeError):
        (x * 2.0).backward(np.ones(3))  # a gradient of the wrong shape
    with pytest.raises(RuntimeError):
        Tensor([1.0]).sum().backward()  # nothing requires grad
    assert x.grad is None


@pytest.mark.parametrize("name,fn,expect", [
    ("add", lambda a, t: a + t, lambda a, b: a + b), ("sub", lambda a, t: a - t, lambda a, b: a - b),
    ("mul", lambda a, t: a * t, lambda a, b: a * b), ("div", lambda a, t: a / t, lambda a, b: a / b),
    ("pow", lambda a, t: a ** t, lambda a, b: a ** b), ("matmul", lambda a, t: a @ t, lambda a, b: a @ b),
])
def test_numpy_array_on_the_left_gives_a_tensor(name: str, fn: Callable, expect: Callable) -> None:
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    t = Tensor([[0.5, 1.5], [2.0, 1.0]], requires_grad=True)
    out = fn(a, t)
    assert isinstance(out, Tensor) and out.requires_grad
    np.testing.assert_allclose(out.data, expect(a, t.data), rtol=1e-15)
    out.sum().backward()
    assert t.grad.shape == (2, 2)
    s = np.float64(2.0) * t
    assert isinstance(s, Tensor)


# ----------------------------------------------------------------------------- gradcheck
def test_gradcheck_returns_true_for_correct_functions() -> None:
    rng = np.random.default_rng(0)
    a = Tensor(rng.uniform(0.5, 2, (2, 3)), requires_grad=True)
    b = Tensor(rng.standard_normal((3, 2)), requires_grad=True)
    assert tl.gradcheck(lambda a, b: ((a @ b).tanh() * a.log().sum()).sum(), [a, b]) is True
    c = Tensor(np.arange(6.0).reshape(2, 3).T + 1.0, requires_grad=True)  # Fortran-ordered data
    assert tl.gradcheck(lambda c: (c * c * c).sum(), [c]) is True


def test_gradcheck_names_input_index_and_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ops.Exp, "vjp", staticmethod(lambda node, g: (2 * g * node.data,)))
    good = Tensor([0.3, 0.4], requires_grad=True)
    x = Tensor([[0.1, 0.2], [0.5, 0.6]], requires_grad=True, name="w")
    with pytest.raises(tl.GradcheckError) as info:
        tl.gradcheck(lambda g, x: (g * 2.0).sum() + x.exp().sum(), [good, x])
    msg = str(info.value)
    assert "input 1" in msg and "'w'" in msg and "(0, 0)" in msg
    values = [float(v) for v in re.findall(r"[-+]?\d+\.\d+(?:e[-+]?\d+)?", msg)]
    assert any(v == pytest.approx(2 * math.exp(0.1), rel=1e-12) for v in values)  # analytic
    assert any(v == pytest.approx(math.exp(0.1), rel=1e-6) for v in values)  # numeric
    assert isinstance(info.value, AssertionError)


def test_gradcheck_warns_on_float32() -> None:
    x = Tensor([0.5, 1.0], requires_grad=True, dtype=np.float32)
    with pytest.warns(UserWarning, match="float64"):
        try:
            tl.gradcheck(lambda x: (x * 2.0).sum(), [x], eps=1e-2, atol=1e-2)
        except tl.GradcheckError:
            pass  # float32 differences may be too coarse; the warning is what is tested


# ----------------------------------------------------------------------------- Value
def relu(x: Any) -> Any:
    return max(x, 0.0) if isinstance(x, float) else x.relu()


def micrograd_sanity(a: Any, b: Any) -> Any:
    c = a + b
    d = a * b + b ** 3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + relu(b + a)
    d += 3 * d + relu(b - a)
    e = c - d
    f = e ** 2
    g = f / 2.0
    g += 10.0 / f
    return g


def test_value_micrograd_expression_against_finite_differences() -> None:
    a, b = Value(-4.0), Value(2.0)
    g = micrograd_sanity(a, b)
    g.backward()
    assert g.data == pytest.approx(micrograd_sanity(-4.0, 2.0), rel=1e-15)
    ga = fd(lambda t: micrograd_sanity(t, 2.0), -4.0)
    gb = fd(lambda t: micrograd_sanity(-4.0, t), 2.0)
    assert a.grad == pytest.approx(ga, rel=1e-7)
    assert b.grad == pytest.approx(gb, rel=1e-7)


def test_value_micrograd_expression_against_torch(torch: Any) -> None:
    a, b = Value(-4.0), Value(2.0)
    g = micrograd_sanity(a, b)
    g.backward()
    ta = torch.tensor(-4.0, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    tg = micrograd_sanity(ta, tb)
    tg.backward()
    assert g.data == pytest.approx(tg.item(), rel=1e-12)
    assert a.grad == pytest.approx(ta.grad.item(), rel=1e-12)
    assert b.grad == pytest.approx(tb.grad.item(), rel=1e-12)


def micrograd_small(x: Any) -> Any:
    z = 2 * x + 2 + x
    q = relu(z) + z * x
    h = relu(z * z)
    return h + q + q * x


def test_value_small_expression(torch: Any) -> None:
    x = Value(-4.0)
    y = micrograd_small(x)
    y.backward()
    tx = torch.tensor(-4.0, dtype=torch.float64, requires_grad=True)
    ty = micrograd_small(tx)
    ty.backward()
    assert y.data == ty.item() and x.grad == pytest.approx(tx.grad.item(), rel=1e-12)


VALUE_FUNCS = {
    "relu_pos": (lambda v: v.relu(), lambda t: max(t, 0.0), 0.7),
    "relu_neg": (lambda v: v.relu(), lambda t: max(t, 0.0), -0.7),
    "tanh": (lambda v: v.tanh(), math.tanh, 0.4),
    "exp": (lambda v: v.exp(), math.exp, 0.9),
    "log": (lambda v: v.log(), math.log, 1.7),
    "sigmoid": (lambda v: v.sigmoid(), lambda t: 1 / (1 + math.exp(-t)), -0.3),
    "sigmoid_large": (lambda v: v.sigmoid(), lambda t: 1 / (1 + math.exp(-t)), -30.0),
    "radd": (lambda v: 2 + v, lambda t: 2 + t, 0.5), "rsub": (lambda v: 2 - v, lambda t: 2 - t, 0.5),
    "rmul": (lambda v: 3 * v, lambda t: 3 * t, 0.5), "rdiv": (lambda v: 3 / v, lambda t: 3 / t, 0.5),
    "sub_num": (lambda v: v - 2, lambda t: t - 2, 0.5), "div_num": (lambda v: v / 4, lambda t: t / 4, 0.5),
    "neg": (lambda v: -v, lambda t: -t, 0.5), "pow": (lambda v: v ** 3, lambda t: t ** 3, -1.5),
    "pow_frac": (lambda v: v ** 0.5, lambda t: t ** 0.5, 2.0),
    "div_value": (lambda v: v / (v * v + 1), lambda t: t / (t * t + 1), 0.8),
    "sub_value": (lambda v: (v * 2) - v.exp(), lambda t: t * 2 - math.exp(t), 0.8),
}


@pytest.mark.parametrize("name", list(VALUE_FUNCS))
def test_value_functions(name: str) -> None:
    fn, ref, x0 = VALUE_FUNCS[name]
    v = Value(x0)
    out = fn(v)
    assert isinstance(out, Value)
    assert out.data == pytest.approx(ref(x0), rel=1e-14, abs=1e-300)
    out.backward()
    assert v.grad == pytest.approx(fd(ref, x0), rel=1e-7, abs=1e-12)


@pytest.mark.parametrize("name", [n for n in VALUE_FUNCS if not n.startswith("relu")])
def test_value_functions_against_torch(torch: Any, name: str) -> None:
    fn, _, x0 = VALUE_FUNCS[name]
    v = Value(x0)
    out = fn(v)
    out.backward()
    t = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    tout = {"tanh": torch.tanh, "exp": torch.exp, "log": torch.log, "sigmoid": torch.sigmoid,
            "sigmoid_large": torch.sigmoid}.get(name)
    res = tout(t) if tout is not None else fn(t)
    res.backward()
    assert out.data == pytest.approx(res.item(), rel=1e-14, abs=1e-300)
    assert v.grad == pytest.approx(t.grad.item(), rel=1e-12, abs=1e-300)


def test_value_rejects_value_exponent() -> None:
    with pytest.raises(TypeError):
        Value(2.0) ** Value(3.0)


def test_value_and_tensor_share_the_walker(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = graph.backward

    def spy(root: Any, *args: Any, **kwargs: Any) -> None:
        calls.append(type(root).__name__)
        real(root, *args, **kwargs)

    monkeypatch.setattr(graph, "backward", spy)
    v = Value(2.0)
    (v * v).backward()
    t = Tensor(2.0, requires_grad=True)
    (t * t).backward()
    assert calls == ["Value", "Tensor"]
    assert v.grad == 4.0 and t.grad == 4.0


def test_value_grad_of_an_op_node_is_zero_until_a_backward_reaches_it() -> None:
    a, b = tl.Value(2.0), tl.Value(-3.0)
    c = a * b
    d = c + 1.0
    assert c.grad == 0.0 and d.grad == 0.0 and repr(c) == "Value(data=-6.0, grad=0.0)"
    d.backward()
    assert (c.grad, a.grad, b.grad) == (1.0, -3.0, 2.0)
    with tl.no_grad():
        e = a * 3.0  # a constant, as torch's: no gradient reaches it, and its own backward refuses
    assert e.grad == 0.0 and e.is_leaf and not e.requires_grad
    f = e * e + a
    f.backward()
    f.backward()
    assert e.grad == 0.0 and a.grad == -3.0 + 2.0
    with pytest.raises(RuntimeError, match="does not require grad"):
        e.backward()


def _random_value_graph(seed: int) -> tuple[list, Value]:
    """Leaves (one frozen) and a root built from them with every Value op, signed zeros and
    shared subexpressions included."""
    rng = np.random.default_rng(seed)
    leaves = [Value(float(v)) for v in rng.choice([0.0, -0.0, 0.5, -1.5, 2.0, 3.25], size=5)]
    leaves[4].requires_grad_(False)
    nodes = list(leaves)
    for _ in range(60):
        a, b = (nodes[int(i)] for i in rng.integers(0, len(nodes), size=2))
        k = int(rng.integers(0, 12))
        new = [a + b, a * b, a - b, -a, a * 0.0, a.relu(), a.tanh(), (a * 0.1).exp(), a.sigmoid(), a.abs(),
               2.0 - a, a * -0.0][k]
        nodes.append(new)
    return leaves, sum(nodes[-20:], nodes[5])


@pytest.mark.parametrize("seed", range(6))
def test_value_backward_adds_cotangents_in_place_with_the_bits_of_the_general_walk(seed: int) -> None:
    """Value.backward takes the walker's scalar path (cotangents added into grad in place); with a
    trace it takes the general one (a table of pending cotangents). Both give every node the same
    bits, the sign of zero included; a leaf accumulates over backward calls, an op node holds the
    latest backward's cotangent, and a frozen leaf gets nothing."""
    fast_leaves, fast_root = _random_value_graph(seed)
    slow_leaves, slow_root = _random_value_graph(seed)
    fast_root.backward()
    slow_root.backward(trace=lambda *args: None)

    def bits(v: float) -> tuple:
        return (v, math.copysign(1.0, v)) if v == v else ("nan",)

    fast_nodes, slow_nodes = graph.toposort(fast_root, every=True), graph.toposort(slow_root, every=True)
    assert [bits(n.grad) for n in fast_nodes] == [bits(n.grad) for n in slow_nodes]
    assert fast_leaves[4].grad == 0.0 and fast_root.grad == 1.0
    first = [n.grad for n in fast_nodes]
    fast_root.backward()
    for n, g in zip(fast_nodes, first):
        if n.is_leaf and n.requires_grad:
            assert bits(n.grad) == bits(g + g)
        else:
            assert bits(n.grad) == bits(g)
