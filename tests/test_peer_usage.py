"""How people coming from micrograd or PyTorch use the library: a scalar ``Value`` network
written on ``tl.nn.Module`` (its weights are the module's parameters), numbers on either side
of every ``Value`` operator (Python and numpy scalars, exponent or base), the graph read
through ``_prev``, and ``Tensor.retain_grad()``. Gradients are checked against torch in
float64 or exact maths."""

from __future__ import annotations

import math
import random
from typing import Any, List

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import Tensor, Value


# ------------------------------------------------------------ a Value network on nn.Module
class Unit(tl.nn.Module):
    """One neuron: tanh(w . x + b), or the plain sum for the output unit."""

    def __init__(self, n_in: int, rng: random.Random, squash: bool = True) -> None:
        self.w = [Value(rng.uniform(-1, 1)) for _ in range(n_in)]
        self.b = Value(rng.uniform(-0.5, 0.5))
        self.squash = squash

    def forward(self, x: List[Any]) -> Value:
        s = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return s.tanh() if self.squash else s


class Row(tl.nn.Module):
    def __init__(self, n_in: int, n_out: int, rng: random.Random, squash: bool) -> None:
        self.units = [Unit(n_in, rng, squash) for _ in range(n_out)]

    def forward(self, x: List[Any]) -> List[Value]:
        return [u(x) for u in self.units]


class Net(tl.nn.Module):
    def __init__(self, sizes: List[int], seed: int) -> None:
        rng = random.Random(seed)
        last = len(sizes) - 2
        self.rows = [Row(a, b, rng, i != last) for i, (a, b) in enumerate(zip(sizes, sizes[1:]))]

    def forward(self, x: List[Any]) -> Value:
        for row in self.rows:
            x = row(x)
        return x[0]


XS = [[0.5, -1.0], [1.5, 0.2], [-0.7, 0.9]]
YS = np.array([1, -1, 1])  # numpy integer labels, as a data set loaded with numpy gives them


def hinge_cost(net: Net) -> Value:
    """Mean hinge loss over XS, YS: labels (numpy ints) multiply Values from the left."""
    scores = [net([Value(a) for a in row]) for row in XS]
    return sum((1 + -y * s).relu() for y, s in zip(YS, scores)) * (1.0 / len(XS))


def test_value_weights_held_by_modules_are_the_parameters() -> None:
    net = Net([2, 3, 1], seed=0)
    params = net.parameters()
    assert len(params) == (2 * 3 + 3) + (3 + 1)
    assert all(isinstance(p, Value) for p in params)
    names = [n for n, _ in net.named_parameters()]
    assert names[:3] == ["rows.0.units.0.w.0", "rows.0.units.0.w.1", "rows.0.units.0.b"]
    assert names[-1] == "rows.1.units.0.b" and len(set(names)) == len(names)
    assert [p for _, p in net.named_parameters()] == params


def test_value_network_gradients_match_torch_and_zero_grad_clears_them(torch: Any) -> None:
    net = Net([2, 3, 1], seed=1)
    cost = hinge_cost(net)
    cost.backward()
    tw = [torch.tensor(p.data, dtype=torch.float64, requires_grad=True) for p in net.parameters()]
    it = iter(tw)
    rows = [[(list(next(it) for _ in u.w), next(it), u.squash) for u in row.units] for row in net.rows]
    terms = []
    for xrow, y in zip(XS, YS):
        h: list = [torch.tensor(a, dtype=torch.float64) for a in xrow]
        for row in rows:
            h = [(sum(w * v for w, v in zip(ws, h)) + b) for ws, b, _ in row]
            h = [t.tanh() if sq else t for t, (_, _, sq) in zip(h, row)]
        terms.append((1 - float(y) * h[0]).relu())
    tcost = sum(terms) / len(XS)
    tcost.backward()
    assert cost.data == pytest.approx(tcost.item(), rel=1e-13)
    for p, t in zip(net.parameters(), tw):
        assert p.grad == pytest.approx(t.grad.item(), rel=1e-12, abs=1e-15)
    assert any(p.grad != 0.0 for p in net.parameters())
    net.zero_grad()
    assert all(p.grad == 0.0 and isinstance(p.grad, float) for p in net.parameters())


def test_gradient_descent_over_model_parameters_lowers_the_cost() -> None:
    net = Net([2, 4, 1], seed=3)
    costs = []
    for _ in range(30):
        cost = hinge_cost(net)
        costs.append(cost.data)
        net.zero_grad()
        cost.backward()
        for p in net.parameters():
            p.data -= 0.2 * p.grad
    assert costs[-1] < 0.5 * costs[0]


def test_value_state_dict_round_trip_and_a_bad_entry_changes_nothing() -> None:
    a, b = Net([2, 3, 1], seed=4), Net([2, 3, 1], seed=5)
    sd = a.state_dict()
    assert list(sd) == [n for n, _ in a.named_parameters()]
    assert all(v.shape == () and v.dtype == np.float64 for v in sd.values())
    before = [p.data for p in b.parameters()]
    bad = dict(sd)
    bad["rows.1.units.0.b"] = np.zeros(2)
    with pytest.raises(ValueError, match="rows.1.units.0.b"):
        b.load_state_dict(bad)
    assert [p.data for p in b.parameters()] == before
    b.load_state_dict(sd)
    assert all(type(p.data) is float for p in b.parameters())
    assert [p.data for p in b.parameters()] == [p.data for p in a.parameters()]
    x = [Value(0.3), Value(-0.8)]
    assert b(x).data == a(x).data


def test_freezing_and_dtype_moves_of_a_value_network() -> None:
    net = Net([2, 2, 1], seed=6)
    first = net.rows[0]
    first.requires_grad_(False)
    hinge_cost(net).backward()
    assert all(p.grad == 0.0 for p in first.parameters())
    assert any(p.grad != 0.0 for p in net.rows[1].parameters())
    assert net.double() is net
    before = [p.data for p in net.parameters()]
    with pytest.raises(TypeError, match="float"):
        net.float()
    assert [type(p.data) for p in net.parameters()] == [float] * len(before)
    assert [p.data for p in net.parameters()] == before


def test_a_value_computed_and_kept_on_a_module_is_not_a_parameter() -> None:
    class Keeps(tl.nn.Module):
        def __init__(self) -> None:
            self.w = Value(2.0)
            self.last = None

        def forward(self, x: Value) -> Value:
            self.last = self.w * x
            return self.last

    m = Keeps()
    m(Value(3.0))
    assert m.parameters() == [m.w]


# ------------------------------------------------------------ numbers on either side
@pytest.mark.parametrize("base, x0", [(2.5, 0.7), (3, -1.2), (0.0, 1.5), (0.0, 0.0), (0.0, -1.0),
                                      (np.float32(0.5), 2.0)])
def test_number_to_the_power_of_a_value_as_torch(torch: Any, base: Any, x0: float) -> None:
    v = Value(x0)
    out = base ** v
    assert isinstance(out, Value)
    out.backward()
    t = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    tout = float(base) ** t
    tout.backward()
    assert out.data == pytest.approx(tout.item(), rel=1e-15)
    assert v.grad == pytest.approx(t.grad.item(), rel=1e-14)


def test_number_to_a_value_power_inside_an_expression_against_exact_maths() -> None:
    v = Value(0.4)
    y = 2 ** (v * v) + 3.0 ** v
    y.backward()
    x = 0.4
    exact = 2 * x * math.log(2) * 2 ** (x * x) + math.log(3) * 3 ** x
    assert y.data == pytest.approx(2 ** (x * x) + 3 ** x, rel=1e-15)
    assert v.grad == pytest.approx(exact, rel=1e-14)


@pytest.mark.parametrize("k", [np.float32(1.5), np.float64(1.5), np.int32(3), np.int64(-2)])
def test_numpy_scalar_exponents_act_as_the_python_number(k: Any) -> None:
    a, b = Value(1.7), Value(1.7)
    ya, yb = a ** k, b ** (float(k) if isinstance(k, np.floating) else int(k))
    ya.backward()
    yb.backward()
    assert ya.data == yb.data and a.grad == b.grad


@pytest.mark.parametrize("c", [np.float32(2.5), np.float64(-1.5), np.int64(3), 2, -0.5])
def test_numbers_of_any_kind_on_either_side_give_the_python_results(c: Any) -> None:
    x0 = 1.25
    cf = float(c)
    cases = [(lambda v: v + c, lambda v: v + cf), (lambda v: c + v, lambda v: cf + v),
             (lambda v: v - c, lambda v: v - cf), (lambda v: c - v, lambda v: cf - v),
             (lambda v: v * c, lambda v: v * cf), (lambda v: c * v, lambda v: cf * v),
             (lambda v: v / c, lambda v: v / cf), (lambda v: c / v, lambda v: cf / v)]
    for f, ref in cases:
        v, w = Value(x0), Value(x0)
        out, want = f(v), ref(w)
        assert isinstance(out, Value) and type(out.data) is float
        out.backward()
        want.backward()
        assert out.data == want.data and v.grad == w.grad


def test_item_and_output_grads_as_torch_spells_them(torch: Any) -> None:
    a, b = Value(-4.0), Value(8.0)
    c = a * b
    d = c + a
    d.backward()
    ta = torch.tensor(-4.0, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(8.0, dtype=torch.float64, requires_grad=True)
    tc = ta * tb
    tc.retain_grad()
    td = tc + ta
    td.retain_grad()
    td.backward()
    assert type(d.item()) is float and d.item() == td.item()
    assert (d.grad, c.grad, a.grad, b.grad) == (td.grad.item(), tc.grad.item(), ta.grad.item(), tb.grad.item())


def test_value_repr_reads_like_micrograd() -> None:
    a = Value(-2)
    b = (a * a) + 1
    b.backward()
    assert repr(a) == "Value(data=-2.0, grad=-4.0)"
    assert repr(b) == "Value(data=5.0, grad=1.0)"


# ------------------------------------------------------------ the graph, read by hand
def test_prev_is_the_set_of_inputs_and_a_walk_over_it_finds_every_node() -> None:
    a, b = Value(2.0), Value(-3.0)
    c = a * b
    d = c + a
    e = d.tanh()
    assert a._prev == set() and c._prev == {a, b} and d._prev == {c, a} and e._prev == {d}
    seen: set = set()
    stack = [e]
    while stack:
        n = stack.pop()
        if n not in seen:
            seen.add(n)
            stack.extend(n._prev)
    assert seen == {a, b, c, d, e}


def test_a_value_made_by_hand_with_children_is_refused() -> None:
    a = Value(1.0)
    with pytest.raises(TypeError, match="leaf"):
        Value(2.0, (a,), "+")
    with pytest.raises(TypeError, match="leaf"):
        Value(2.0, _op="*")
    assert Value(2.0, (), "").is_leaf


# ------------------------------------------------------------ Tensor: retain_grad
def test_retain_grad_as_torch(torch: Any) -> None:
    x = np.array([[0.3, -1.2], [2.0, 0.5]])
    w = np.array([0.7, -0.4])
    t = Tensor(x, requires_grad=True)
    h = t @ w
    assert h.retain_grad() is None
    (h.tanh() ** 2).sum().backward()
    tt = torch.tensor(x, requires_grad=True)
    th = tt @ torch.tensor(w)
    th.retain_grad()
    (th.tanh() ** 2).sum().backward()
    np.testing.assert_allclose(h.grad, th.grad.numpy(), rtol=1e-13)
    np.testing.assert_allclose(t.grad, tt.grad.numpy(), rtol=1e-13)
    t.retain_grad()  # a leaf: nothing to do, as in torch
    with pytest.raises(RuntimeError, match="retain_grad"):
        Tensor(x).retain_grad()
    with pytest.raises(RuntimeError):
        torch.tensor(x).retain_grad()


def test_a_subclass_of_value_takes_part_in_every_operator(torch: Any) -> None:
    class Named(Value):
        """What a port of a micrograd script may do: keep its own class name for the scalars."""

    a, b = Named(1.5), Named(-0.5)
    y = (a * b + a / b - b - a) * (a - Value(2.0)) + (Value(0.3) - a) / b
    y.backward()
    ta = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(-0.5, dtype=torch.float64, requires_grad=True)
    ty = (ta * tb + ta / tb - tb - ta) * (ta - 2.0) + (0.3 - ta) / tb
    ty.backward()
    assert y.data == pytest.approx(ty.item(), rel=1e-15)
    assert a.grad == pytest.approx(ta.grad.item(), rel=1e-14)
    assert b.grad == pytest.approx(tb.grad.item(), rel=1e-14)


# ------------------------------------------------------------ Tensor: torch dtypes, mT
@pytest.mark.parametrize("name", ["float32", "float64", "float", "double", "long", "int32", "bool"])
def test_torch_dtypes_are_taken_wherever_a_dtype_is(torch: Any, name: str) -> None:
    dt = getattr(torch, name)
    want = torch.tensor([1, 0, 2], dtype=dt).numpy().dtype
    assert Tensor([1, 0, 2], dtype=dt).dtype == want
    assert tl.tensor([1, 0, 2], dtype=dt).dtype == want
    assert tl.zeros(3, dtype=dt).dtype == want
    with pytest.raises(TypeError, match="complex64"):
        Tensor([1.0], dtype=torch.complex64)


def test_mT_swaps_the_last_two_axes_as_torch(torch: Any) -> None:
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    g = np.random.default_rng(1).standard_normal((2, 4, 3))
    t = Tensor(x, requires_grad=True)
    tt = torch.tensor(x, requires_grad=True)
    y, ty = t.mT, tt.mT
    assert y.shape == tuple(ty.shape)
    np.testing.assert_array_equal(y.numpy(), ty.detach().numpy())
    y.backward(g)
    ty.backward(torch.tensor(g))
    np.testing.assert_array_equal(t.grad, tt.grad.numpy())
    with pytest.raises(ValueError, match=r"mT.*\(4,\)"):
        _ = Tensor(np.ones(4)).mT
