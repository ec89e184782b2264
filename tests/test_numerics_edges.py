"""Powers, exp, log and friends at the edges (0, -0.0, +-inf, nan, overflow), in BOTH engines,
against torch in float64: the same values and gradients, inf and nan where torch gives them,
and no Python exception or numpy warning on the way."""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")

XS = [0.0, -0.0, -4.0, 4.0, math.inf, -math.inf, math.nan, 1000.0, -1000.0]
KS = [0, 0.5, 1, 2, -1, 3, -0.5]

pytestmark = pytest.mark.filterwarnings("error")  # a numpy RuntimeWarning is a failure


def _same(got: float, want: float) -> bool:
    got, want = float(got), float(want)
    if math.isnan(want) or math.isnan(got):
        return math.isnan(want) and math.isnan(got)
    if math.isinf(want) or math.isinf(got):
        return got == want
    return abs(got - want) <= 1e-12 * max(1.0, abs(want))


def _check(label: str, got: tuple, want: tuple) -> None:
    (gv, gg), (wv, wg) = got, want
    assert _same(gv, wv), f"{label}: value {gv!r}, torch {wv!r}"
    for i, (a, b) in enumerate(zip(gg, wg)):
        assert _same(a, b), f"{label}: gradient {i} {a!r}, torch {b!r}"


def _torch(fn: Callable, *xs: float) -> tuple:
    ts = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
    y = fn(*ts)
    y.backward()
    return y.item(), [0.0 if t.grad is None else t.grad.item() for t in ts]


def _tensor(fn: Callable, *xs: float) -> tuple:
    ts = [tl.Tensor(np.float64(x), requires_grad=True) for x in xs]
    y = fn(*ts)
    y.backward()
    assert y.dtype == np.float64 and all(t.grad.dtype == np.float64 for t in ts)
    return float(y.data), [float(t.grad) for t in ts]


def _value(fn: Callable, x: float) -> tuple:
    v = tl.Value(x)
    y = fn(v)
    y.backward()
    assert isinstance(y.data, float) and isinstance(v.grad, float)
    return y.data, [v.grad]


# ------------------------------------------------------------------ the tensor engine
@pytest.mark.parametrize("k", KS)
@pytest.mark.parametrize("x", XS)
def test_tensor_power_with_a_number_exponent(x: float, k: float) -> None:
    _check(f"({x}) ** {k}", _tensor(lambda t: t ** k, x), _torch(lambda t: t ** k, x))


@pytest.mark.parametrize("k", KS)
@pytest.mark.parametrize("x", XS)
def test_tensor_number_to_the_power_of_a_tensor(x: float, k: float) -> None:
    _check(f"{k} ** ({x})", _tensor(lambda t: k ** t, x), _torch(lambda t: k ** t, x))


@pytest.mark.parametrize("y", XS + [0.5, 1.0, 2.0, -1.0, 3.0, -0.5])
@pytest.mark.parametrize("x", XS)
def test_tensor_power_of_two_tensors(x: float, y: float) -> None:
    _check(f"({x}) ** ({y})", _tensor(lambda a, b: a ** b, x, y), _torch(lambda a, b: a ** b, x, y))


@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "tanh", "sigmoid", "relu"])
@pytest.mark.parametrize("x", XS)
def test_tensor_functions(x: float, name: str) -> None:
    _check(f"{name}({x})", _tensor(lambda t: getattr(t, name)(), x), _torch(lambda t: getattr(t, name)(), x))


@pytest.mark.parametrize("k", KS)
def test_a_whole_array_gives_what_each_element_gives(k: float) -> None:
    """numpy computes a 0-d power and an array power by different paths: both must agree with torch."""
    xs = np.array(XS)
    for j, build in enumerate((lambda t: t ** k, lambda t: k ** t)):
        x = tl.Tensor(xs, requires_grad=True)
        y = build(x)
        y.backward(np.ones(len(XS)))  # (a sum of inf and -inf would warn)
        tx = torch.tensor(xs, requires_grad=True)
        ty = (lambda t: t ** k, lambda t: k ** t)[j](tx)
        ty.sum().backward()
        for i in range(len(XS)):
            _check(f"element {XS[i]} of {'x ** k' if j == 0 else 'k ** x'}", (y.data[i], [x.grad[i]]),
                   (ty[i].item(), [tx.grad[i].item()]))
    x, e = tl.Tensor(xs, requires_grad=True), tl.Tensor(np.full(len(XS), float(k)), requires_grad=True)
    y = x ** e
    y.backward(np.ones(len(XS)))
    tx = torch.tensor(xs, requires_grad=True)
    te = torch.full((len(XS),), float(k), dtype=torch.float64, requires_grad=True)
    ty = tx ** te
    ty.sum().backward()
    for i in range(len(XS)):
        _check(f"element {XS[i]} of x ** e", (y.data[i], [x.grad[i], e.grad[i]]),
               (ty[i].item(), [tx.grad[i].item(), te.grad[i].item()]))


@pytest.mark.parametrize("k", [0.5, -0.5, 1.5, 3])
def test_float32_stays_float32_at_the_edges(k: float) -> None:
    x = tl.Tensor(np.array(XS, dtype=np.float32), requires_grad=True)
    for y in (x ** k, k ** x, x ** tl.Tensor(np.full(len(XS), k, dtype=np.float32))):
        assert y.dtype == np.float32
    (x ** k).backward(np.ones(len(XS), np.float32))
    assert x.grad.dtype == np.float32
    want = torch.tensor(np.array(XS, dtype=np.float32)) ** k
    np.testing.assert_array_equal(np.isnan((x ** k).data), np.isnan(want.numpy()))
    np.testing.assert_array_equal(np.isinf((x ** k).data), np.isinf(want.numpy()))


# ------------------------------------------------------------------ the scalar engine
@pytest.mark.parametrize("k", KS)
@pytest.mark.parametrize("x", XS)
def test_value_power(x: float, k: float) -> None:
    _check(f"Value({x}) ** {k}", _value(lambda v: v ** k, x), _torch(lambda t: t ** k, x))


@pytest.mark.parametrize("name", ["exp", "log", "tanh", "sigmoid", "relu"])
@pytest.mark.parametrize("x", XS)
def test_value_functions(x: float, name: str) -> None:
    _check(f"Value({x}).{name}()", _value(lambda v: getattr(v, name)(), x), _torch(lambda t: getattr(t, name)(), x))


@pytest.mark.parametrize("x", XS)
def test_value_and_tensor_agree_on_division_by_zero_and_its_gradient(x: float) -> None:
    for build in (lambda t: t / 0.0, lambda t: 1.0 / t, lambda t: t / -0.0):
        _check(f"division at {x}", _value(build, x), _torch(build, x))
        _check(f"division at {x}", _tensor(build, x), _torch(build, x))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("n", [9 * 9, 3000, 300 * 300])  # where's road, a fresh mask, a kept (scratch) mask
def test_relu_gradient_is_torch_bit_for_bit_at_every_edge(n: int, dtype: type) -> None:
    """relu's gradient selects the cotangent where the output is not 0 (nan included, -0.0 not) and
    is +0.0 elsewhere, also for an infinite or nan cotangent, as torch; the same bits on each road
    the vjp takes by size."""
    rng = np.random.default_rng(n)
    edges = [0.0, -0.0, math.inf, -math.inf, math.nan, -math.nan, 2.5, -2.5, 1e-300]
    a = rng.standard_normal(n).astype(dtype)
    g = rng.standard_normal(n).astype(dtype)
    for i, (u, v) in enumerate((u, v) for u in edges for v in edges):  # every pair of input and cotangent
        a[i], g[i] = u, v
    with np.errstate(all="ignore"):
        a, g = a.astype(dtype), g.astype(dtype)
    x = tl.Tensor(a.reshape(-1, 9 if n == 81 else 100 if n == 3000 else 300), requires_grad=True)
    x.relu().backward(g.reshape(x.shape))
    tx = torch.tensor(a.reshape(x.shape), requires_grad=True)
    tx.relu().backward(torch.tensor(g.reshape(x.shape)))
    want = tx.grad.numpy()
    assert x.grad.dtype == want.dtype
    it = {2: np.uint16, 4: np.uint32, 8: np.uint64}[want.dtype.itemsize]
    bad = np.nonzero(x.grad.view(it) != want.view(it))
    assert not bad[0].size, f"relu gradient bits differ from torch at input {a.reshape(x.shape)[bad][:4]}, " \
                            f"cotangent {g.reshape(x.shape)[bad][:4]}: {x.grad[bad][:4]} vs {want[bad][:4]}"
