"""tl.autograd.grad and tl.autograd.backward against torch.autograd in float64: the same
vector-Jacobian products, no .grad (leaf or intermediate) and nothing per-sample written by
grad(), torch's allow_unused / materialize_grads rules and errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import Tensor

torch = pytest.importorskip("torch")
TOL = {"rtol": 1e-12, "atol": 1e-13}
RNG = np.random.default_rng(11)
X = RNG.standard_normal((5, 3))
W = RNG.standard_normal((4, 3))
B = RNG.standard_normal(4)
V = RNG.standard_normal((5, 4))


def build(lib: Any) -> dict:
    """x -> h = tanh(x W^T + b) -> (loss = mean(h**2), out = h * 2, unused z)."""
    if lib is tl:
        t = {k: Tensor(a.copy(), requires_grad=True) for k, a in (("x", X), ("w", W), ("b", B), ("z", B))}
    else:
        t = {k: torch.tensor(a, requires_grad=True) for k, a in (("x", X), ("w", W), ("b", B), ("z", B))}
    t["h"] = (t["x"] @ t["w"].T + t["b"]).tanh()
    t["loss"] = (t["h"] ** 2).mean()
    t["out"] = t["h"] * 2
    return t


def arr(t: Any) -> np.ndarray:
    return t.detach().numpy() if isinstance(t, torch.Tensor) else t.data


def both(fn: Any) -> tuple:
    """fn(lib, tensors) run on tl and on torch."""
    return fn(tl, build(tl)), fn(torch, build(torch))


def assert_same(ours: tuple, theirs: tuple) -> None:
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert (a is None) == (b is None)
        if a is not None:
            assert isinstance(a, Tensor) and not a.requires_grad
            np.testing.assert_allclose(arr(a), arr(b), **TOL)


def test_scalar_output_leaves_and_intermediate() -> None:
    ours, theirs = both(lambda lib, t: lib.autograd.grad(t["loss"], [t["w"], t["x"], t["h"], t["b"]]))
    assert_same(ours, theirs)


def test_several_outputs_with_grad_outputs() -> None:
    def run(lib: Any, t: dict) -> tuple:
        v = lib.tensor(V) if lib is torch else Tensor(V)
        return lib.autograd.grad([t["out"], t["loss"]], (t["w"], t["b"]), grad_outputs=[v, None])
    assert_same(*both(run))


def test_grad_writes_no_grad_and_keeps_earlier_ones() -> None:
    t = build(tl)
    t["loss"].backward()
    before = {k: None if t[k].grad is None else np.array(t[k].grad) for k in ("x", "w", "b", "h")}
    gw, gh = tl.autograd.grad(t["out"], [t["w"], t["h"]], grad_outputs=V)
    for k, g in before.items():
        np.testing.assert_array_equal(t[k].grad, g)
    fresh = build(tl)
    tl.autograd.grad(fresh["loss"], [fresh["w"], fresh["h"]])
    assert all(fresh[k].grad is None for k in ("x", "w", "b", "z", "h", "out", "loss"))
    np.testing.assert_allclose(gh.data, 2 * V, **TOL)
    # the graph stays usable: backward afterwards gives the same as before
    fresh["loss"].backward()
    np.testing.assert_allclose(fresh["w"].grad, before["w"], **TOL)


def test_grad_keeps_nothing_per_sample() -> None:
    lin = tl.nn.Linear(3, 4)
    xb = Tensor(X, batched=True)
    loss = ((lin(xb) - 1.0) ** 2).mean()
    (gw,) = tl.autograd.grad(loss, [lin.weight])
    assert lin.weight.grad is None and lin.weight.grad_sample is None
    loss.backward()
    np.testing.assert_allclose(gw.data, lin.weight.grad, **TOL)
    assert lin.weight.grad_sample is not None


def test_unused_inputs() -> None:
    for lib in (tl, torch):
        t = build(lib)
        with pytest.raises(RuntimeError, match="(?i)not.*used"):
            lib.autograd.grad(t["loss"], [t["w"], t["z"]], retain_graph=True)
    assert_same(*both(lambda lib, t: lib.autograd.grad(t["loss"], [t["z"], t["b"]], allow_unused=True)))
    assert_same(*both(lambda lib, t: lib.autograd.grad(t["loss"], [t["z"], t["b"]], materialize_grads=True)))
    for lib in (tl, torch):
        t = build(lib)
        with pytest.raises(ValueError, match="allow_unused"):
            lib.autograd.grad(t["loss"], [t["z"]], allow_unused=False, materialize_grads=True)


def test_errors_like_torch() -> None:
    for lib in (tl, torch):
        t = build(lib)
        const = lib.tensor(X) if lib is torch else Tensor(X)
        with pytest.raises(RuntimeError, match="(?i)require.? grad"):
            lib.autograd.grad(t["loss"], [const], retain_graph=True)
        with pytest.raises(RuntimeError, match="(?i)require.? grad"):
            lib.autograd.grad(const.sum(), [t["w"]], retain_graph=True)
        with pytest.raises(RuntimeError, match="(?i)implicitly created only for"):
            lib.autograd.grad(t["out"], [t["w"]], retain_graph=True)
    t = build(tl)
    tt = build(torch)  # create_graph=True: the same gradient, recorded (tests/test_higher_order.py has more)
    (g,) = tl.autograd.grad(t["loss"], [t["w"]], create_graph=True)
    (gt,) = torch.autograd.grad(tt["loss"], [tt["w"]], create_graph=True)
    assert g.requires_grad and gt.requires_grad
    np.testing.assert_allclose(g.data, arr(gt), **TOL)
    np.testing.assert_allclose(tl.autograd.grad((g * g).sum(), [t["x"]])[0].data,
                               arr(torch.autograd.grad((gt * gt).sum(), [tt["x"]])[0]), **TOL)
    with pytest.raises(ValueError, match="2 output"):
        tl.autograd.grad([t["loss"], t["out"]], [t["w"]], grad_outputs=[None])
    with pytest.raises(tl.conventions.ShapeMismatchError, match="shape"):
        tl.autograd.grad(t["out"], [t["w"]], grad_outputs=np.ones(3))
    with pytest.raises(RuntimeError, match="empty"):
        tl.autograd.grad(t["loss"], [])
    with pytest.raises(TypeError, match="inputs"):
        tl.autograd.grad(t["loss"], [W])
    assert t["w"].grad is None


def test_backward_of_a_list() -> None:
    def run(lib: Any, t: dict) -> tuple:
        v = lib.tensor(V) if lib is torch else Tensor(V)
        lib.autograd.backward([t["loss"], t["out"]], [None, v])
        return tuple(t[k].grad for k in ("x", "w", "b"))

    ours, theirs = both(run)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b.numpy(), **TOL)

    def only(lib: Any, t: dict) -> tuple:
        lib.autograd.backward(t["loss"], inputs=[t["w"]], retain_graph=True)
        lib.autograd.backward(t["loss"], inputs=[t["w"]])  # accumulates
        return t["w"].grad, t["x"].grad, t["b"].grad

    ours, theirs = both(only)
    np.testing.assert_allclose(ours[0], theirs[0].numpy(), **TOL)
    assert ours[1] is None and theirs[1] is None and ours[2] is None and theirs[2] is None


def test_grad_and_backward_take_any_iterable_of_tensors_as_torch():
    m = tl.nn.Linear(3, 2, rng=0)
    loss = m(tl.Tensor(np.ones((4, 3)))).sum()
    want = [g.data for g in tl.autograd.grad(loss, [m.weight, m.bias], retain_graph=True)]
    for ins in (filter(lambda p: p.requires_grad, m.parameters()), {"w": m.weight, "b": m.bias}.values(),
                (p for p in m.parameters())):
        got = tl.autograd.grad((o for o in [loss]), ins, retain_graph=True)
        assert [g.data.tolist() for g in got] == [w.tolist() for w in want]
    rows = tl.autograd.grad((o for o in [loss]), (p for p in [m.weight]), grad_outputs=[np.ones((2,))],
                            is_grads_batched=True, retain_graph=True)
    assert rows[0].shape == (2, 2, 3)
    m.zero_grad()
    loss.backward(inputs=(p for p in [m.weight]))
    assert m.weight.grad is not None and m.bias.grad is None
    with pytest.raises(TypeError, match="inputs must be a Tensor or an iterable of Tensors, got str"):
        tl.autograd.grad(loss, "ab")
