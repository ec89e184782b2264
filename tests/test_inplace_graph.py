"""In-place changes inside a recorded graph: ``h.relu_()``, ``h.add_(b)``, ``F.elu(h, inplace=True)``
make ``h`` the new op's output, with the gradient torch gives (compared in float64)."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F
from tinygrad_lite import nn

torch = pytest.importorskip("torch")
TF = torch.nn.functional

RNG = np.random.default_rng(7)
X = RNG.normal(size=(5, 3))
W0 = RNG.normal(size=(4, 3))
C = RNG.normal(size=(5, 4))
V0 = RNG.normal(size=(4,))


def _both(change: Callable[[Any, Any, Any], Any], shift: float = 0.0) -> tuple:
    """Run ``h = x @ W.T + shift; change(h, v, lib); loss = sum(h * C)`` in both libraries;
    returns (ours, theirs) as (h values, W grad, v grad)."""
    out = []
    for lib, T in ((tl, lambda a, rg=False: tl.tensor(a, requires_grad=rg)),
                   (torch, lambda a, rg=False: torch.tensor(a, requires_grad=rg))):
        W, v = T(W0, True), T(V0, True)
        h = T(X) @ W.T + shift
        assert change(h, v, lib) is h  # an in-place method returns the tensor itself
        (h * T(C)).sum().backward()
        hv = h.data if lib is tl else h.detach().numpy()
        grads = [None if g is None else np.array(g if lib is tl else g.numpy()) for g in (W.grad, v.grad)]
        out.append((np.array(hv), *grads))
    return out[0], out[1]


def _same(ours: tuple, theirs: tuple) -> None:
    for a, b in zip(ours, theirs):
        if b is None:
            assert a is None or not np.any(a)
        else:
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


UNARY = ["sin", "cos", "tanh", "sigmoid", "exp", "abs", "neg", "relu", "square", "floor", "ceil", "round", "trunc",
         "sign", "frac", "erf", "expm1", "atan", "sinh"]
POSITIVE = ["log", "sqrt", "rsqrt", "reciprocal", "log1p", "log2", "log10"]


@pytest.mark.parametrize("name", UNARY + POSITIVE)
def test_unary_twins_inside_a_graph_match_torch(name: str) -> None:
    shift = 20.0 if name in POSITIVE else 0.0
    _same(*_both(lambda h, v, lib: getattr(h, name + "_")(), shift))


BINARY: dict = {
    "add": lambda h, v, lib: h.add_(v, alpha=2.0),
    "sub": lambda h, v, lib: h.sub_(v, alpha=0.5),
    "mul": lambda h, v, lib: h.mul_(v),
    "div": lambda h, v, lib: h.div_(v * v + 1.0),
    "pow": lambda h, v, lib: h.pow_(2),
    "atan2": lambda h, v, lib: h.atan2_(v),
    "hypot": lambda h, v, lib: h.hypot_(v),
    "lerp": lambda h, v, lib: h.lerp_(v, 0.25),
    "clamp": lambda h, v, lib: h.clamp_(-0.5, 0.7),
    "masked_fill": lambda h, v, lib: h.masked_fill_(lib.tensor(X[:, :1] > 0), 3.0),
    "copy": lambda h, v, lib: h.copy_(v),
    "fill": lambda h, v, lib: h.fill_(v[1]),
    "zero": lambda h, v, lib: h.zero_(),
    "index_add": lambda h, v, lib: h.index_add_(1, lib.tensor(np.array([2, 0])), v[None, :2].expand(5, 2)),
    "index_copy": lambda h, v, lib: h.index_copy_(1, lib.tensor(np.array([3])), v[None, :1].expand(5, 1)),
    "index_fill": lambda h, v, lib: h.index_fill_(0, lib.tensor(np.array([1, 4])), -2.0),
    "tril": lambda h, v, lib: h.tril_(),
    "cumsum": lambda h, v, lib: h.cumsum_(1),
    "chain": lambda h, v, lib: h.mul_(3.0).add_(v).tanh_(),
    "ne": lambda h, v, lib: h.ne_(h.detach().round()),  # comparisons: the values, a zero gradient
    "gt": lambda h, v, lib: h.gt_(0.2),
}


@pytest.mark.parametrize("name", sorted(BINARY))
def test_twins_with_operands_inside_a_graph_match_torch(name: str) -> None:
    _same(*_both(BINARY[name]))


def test_a_buffer_that_takes_a_value_requiring_grad_joins_the_graph_as_in_torch() -> None:
    for lib in (tl, torch):
        w = lib.tensor(V0, requires_grad=True)
        buf = lib.zeros(4, dtype=lib.float64)
        buf.add_(w).mul_(w)
        assert buf.requires_grad
        buf.sum().backward()
        np.testing.assert_allclose(np.asarray(w.grad), 2 * V0, rtol=1e-15)


def test_values_changed_twice_keep_exact_gradients_where_torch_refuses() -> None:
    """relu_ then mul_ then sigmoid_: torch refuses (relu saved its output); each former
    node here keeps a copy of its values, so the gradient is the out-of-place one."""
    W = tl.tensor(W0, requires_grad=True)
    h = tl.tensor(X) @ W.T
    h.relu_().mul_(2.0).sigmoid_()
    (h * tl.tensor(C)).sum().backward()
    Wt = torch.tensor(W0, requires_grad=True)
    ht = torch.sigmoid(torch.relu(torch.tensor(X) @ Wt.T) * 2.0)
    (ht * torch.tensor(C)).sum().backward()
    np.testing.assert_allclose(h.data, ht.detach().numpy(), rtol=1e-14)
    np.testing.assert_allclose(W.grad, Wt.grad.numpy(), rtol=1e-12)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        ht2 = torch.tensor(X) @ Wt.T
        ht2.relu_().mul_(2.0).sigmoid_()
        ht2.sum().backward()


def test_an_op_built_before_the_change_backpropagates_through_the_values_it_read() -> None:
    # torch refuses this one (mul saved h); the former node kept h's old values, so the
    # product's gradient is exact
    W = tl.tensor(W0, requires_grad=True)
    h = tl.tensor(X) @ W.T
    before = h * h
    h.relu_()
    before.sum().backward()
    np.testing.assert_allclose(W.grad, (2 * (X @ W0.T)).T @ X, rtol=1e-13)
    W.grad = None
    h.sum().backward()  # the graph built after the change
    np.testing.assert_allclose(W.grad, ((X @ W0.T > 0).astype(float)).T @ X)


@pytest.mark.parametrize("view", [lambda h: h[0], lambda h: h.reshape(20), lambda h: h.swapaxes(0, 1),
                                  lambda h: h[1:, ::2], lambda h: h.diagonal() if isinstance(h, tl.Tensor) else
                                  np.lib.stride_tricks.as_strided(h, (4,), (sum(h.strides),))])
def test_a_view_changed_in_place_inside_a_graph_writes_through_to_its_tensor(view: Any) -> None:
    # as torch: h takes the new values, and the gradient goes through the changed region
    W = tl.tensor(W0, requires_grad=True)
    h = tl.tensor(X) @ W.T
    v = view(h)
    v.relu_()
    want = X @ W0.T
    view(want)[...] = np.maximum(view(want), 0)  # (numpy's views of the same kind)
    np.testing.assert_array_equal(h.data, want)
    np.testing.assert_array_equal(v.data, view(want))
    (h * h).sum().backward()
    mask = np.ones_like(want)
    view(mask)[...] = view(X @ W0.T) > 0
    np.testing.assert_allclose(W.grad, (2 * want * mask).T @ X, rtol=1e-12)


def test_a_view_of_a_leaf_is_not_changed_in_place_inside_a_graph() -> None:
    W = tl.tensor(W0, requires_grad=True)
    h = tl.tensor(X) @ W.T
    before, w_before = h.data.copy(), W0.copy()
    for view in (lambda: W[0], lambda: W.T):
        with pytest.raises(RuntimeError, match="shares the memory of a tensor that is not a result in this graph"):
            view().mul_(h[0, 0])
    np.testing.assert_array_equal(h.data, before)
    np.testing.assert_array_equal(W.data, w_before)
    h.sum().backward()
    np.testing.assert_allclose(W.grad, np.ones((5, 4)).T @ X)


def test_a_failed_change_changes_nothing() -> None:
    W = tl.tensor(W0, requires_grad=True)
    h = tl.tensor(X) @ W.T
    node, before = h._op, h.data.copy()
    with pytest.raises(ValueError, match=r"add_.*\(5, 4\)"):
        h.add_(tl.tensor(np.ones((2, 4)), requires_grad=True))
    with pytest.raises(TypeError, match="add_"):
        h.add_("x")
    i = tl.tensor(np.arange(4))
    with pytest.raises(TypeError, match="add_: a result of dtype float64 cannot be stored.*int64"):
        i.add_(tl.tensor(V0, requires_grad=True))
    np.testing.assert_array_equal(i.data, np.arange(4))
    assert h._op is node
    np.testing.assert_array_equal(h.data, before)
    h.sum().backward()
    np.testing.assert_allclose(W.grad, np.ones((5, 4)).T @ X)


def test_a_leaf_that_requires_grad_is_still_refused_while_recording() -> None:
    w = tl.tensor(V0, requires_grad=True)
    for f in (lambda: w.relu_(), lambda: w.sin_(), lambda: F.relu(w, inplace=True), lambda: w.t_()):
        with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
            f()
    np.testing.assert_array_equal(w.data, V0)
    with tl.no_grad():
        w.relu_()
    np.testing.assert_array_equal(w.data, np.maximum(V0, 0))


@pytest.mark.parametrize("name,kw", [("relu", {}), ("elu", {"alpha": 0.7}), ("leaky_relu", {"negative_slope": 0.2}),
                                     ("hardtanh", {"min_val": -0.5, "max_val": 0.5}), ("relu6", {}), ("selu", {}),
                                     ("celu", {"alpha": 2.0}), ("silu", {}), ("mish", {}), ("hardswish", {}),
                                     ("threshold", {"threshold": 0.1, "value": -1.0})])
def test_functions_take_inplace_true_as_torch(name: str, kw: dict) -> None:
    _same(*_both(lambda h, v, lib: (F if lib is tl else TF).__dict__[name](h, inplace=True, **kw)))


@pytest.mark.parametrize("name", ["relu_", "elu_", "leaky_relu_", "hardtanh_", "celu_", "selu_"])
def test_underscored_functions_change_their_input(name: str) -> None:
    _same(*_both(lambda h, v, lib: getattr(F if lib is tl else TF, name)(h)))


def test_functions_with_inplace_outside_a_graph_write_the_data() -> None:
    x = tl.tensor(X)
    assert F.relu(x, inplace=True) is x
    np.testing.assert_array_equal(x.data, np.maximum(X, 0))
    y = tl.tensor(X)
    assert F.threshold_(y, 0.5, 9.0) is y  # torch's threshold_: positional threshold and value
    np.testing.assert_array_equal(y.data, np.where(X > 0.5, X, 9.0))


@pytest.mark.parametrize("name,args", [("t", ()), ("squeeze", (1,)), ("unsqueeze", (0,)), ("swapaxes", (0, 1))])
def test_shape_twins_inside_a_graph_match_torch(name: str, args: tuple) -> None:
    x = X[:, :1] if name == "squeeze" else X
    res = []
    for lib in (tl, torch):
        W = lib.tensor(W0[:1, :1] if name == "squeeze" else W0, requires_grad=True)
        h = lib.tensor(x) @ W.T
        assert getattr(h, name + "_")(*args) is h
        c = np.arange(float(np.prod(tuple(h.shape)))).reshape(tuple(h.shape))
        (h * lib.tensor(c)).sum().backward()
        res.append((tuple(h.shape), np.array(W.grad if lib is tl else W.grad.numpy())))
    assert res[0][0] == res[1][0]
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-13)


def test_shape_twins_outside_a_graph_and_detach_() -> None:
    x = tl.tensor(np.arange(6.0).reshape(2, 3))
    x.t_()
    assert x.shape == (3, 2)
    np.testing.assert_array_equal(x.data, np.arange(6.0).reshape(2, 3).T)
    W = tl.tensor(W0, requires_grad=True)
    h = tl.tensor(X) @ W.T
    before = h * 2
    assert h.detach_() is h and h.is_leaf and not h.requires_grad
    with pytest.raises(RuntimeError, match="changed in place"):
        before.sum().backward()


def test_per_sample_gradients_through_in_place_ops_are_each_samples_own() -> None:
    rng = np.random.default_rng(3)
    xb, yb = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b = nn.Linear(3, 4, rng=1), nn.Linear(4, 2, rng=2)

        def forward(self, x: Any) -> Any:
            h = self.a(x)
            F.relu(h, inplace=True)
            h.mul_(1.5).add_(0.1)
            return self.b(h)

    net = Net()
    F.mse_loss(net(tl.tensor(xb, batched=True)), tl.tensor(yb)).backward()
    got = {n: p.grad_sample.copy() for n, p in net.named_parameters()}
    for i in range(6):
        net.zero_grad()
        F.mse_loss(net(tl.tensor(xb[i:i + 1])), tl.tensor(yb[i:i + 1])).backward()
        for n, p in net.named_parameters():
            np.testing.assert_allclose(got[n][i], p.grad, rtol=1e-12, atol=1e-14)


def test_a_residual_block_written_with_in_place_ops_trains_as_torch() -> None:
    rng = np.random.default_rng(11)
    xb, yb = rng.normal(size=(8, 4)), rng.normal(size=(8, 4))
    ours = nn.Linear(4, 4, rng=5)
    theirs = torch.nn.Linear(4, 4).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.data))
        theirs.bias.copy_(torch.tensor(ours.bias.data))
    opt, topt = tl.optim.SGD(ours.parameters(), lr=0.1), torch.optim.SGD(theirs.parameters(), lr=0.1)
    for _ in range(3):
        for m, o, lib, f in ((ours, opt, tl, F), (theirs, topt, torch, TF)):
            o.zero_grad()
            x = lib.tensor(xb)
            out = m(x)
            out.add_(x)  # out += identity, ResNet-style, in place
            f.relu(out, inplace=True)
            f.mse_loss(out, lib.tensor(yb)).backward()
            o.step()
    np.testing.assert_allclose(ours.weight.data, theirs.weight.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.bias.data, theirs.bias.detach().numpy(), rtol=1e-12)


SETS: dict = {
    "rows": lambda out, h, lib: out.__setitem__((slice(None), 1), h[:, 0]),
    "int": lambda out, h, lib: out.__setitem__(2, h[0, :3]),
    "broadcast": lambda out, h, lib: out.__setitem__((slice(1, 3), 0), h[0, :1]),
    "mask": lambda out, h, lib: out.__setitem__(lib.tensor(X[:, 0] > 0), h[:, :3][lib.tensor(X[:, 0] > 0)]),
    "positions": lambda out, h, lib: out.__setitem__(lib.tensor(np.array([4, 0])), h[1:3, :3]),
    "number": lambda out, h, lib: out.__setitem__((0, 0), 7.0),
    "twice": lambda out, h, lib: (out.__setitem__(slice(0, 2), h[:2, 1:]), out.__setitem__((slice(None), 0), h[:, 0])),
}


@pytest.mark.parametrize("name", sorted(SETS))
def test_setitem_inside_a_graph_matches_torch(name: str) -> None:
    res = []
    for lib in (tl, torch):
        W, base_ = lib.tensor(W0, requires_grad=True), lib.tensor(C[:, :3], requires_grad=True)
        h = lib.tensor(X) @ W.T
        out = base_ * 2.0  # a value inside the graph
        SETS[name](out, h, lib)
        (out * lib.tensor(C[:, 1:])).sum().backward()
        res.append([None if a is None else np.array(a if lib is tl else a.detach().numpy())
                    for a in (out, W.grad, base_.grad)])
    for a, b in zip(*res):
        if b is None:
            assert a is None or not np.any(a)
        else:
            np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


def test_setitem_of_a_value_requiring_grad_into_a_buffer_builds_an_rnn_output_as_torch() -> None:
    B, T, H = 3, 4, 2
    xs, CB = RNG.normal(size=(B, T, 3)), RNG.normal(size=(B, T, H))
    res = []
    for lib in (tl, torch):
        W = lib.tensor(W0[:H], requires_grad=True)
        out = lib.zeros(B, T, H, dtype=lib.float32)  # float32 buffer: the float64 value is converted
        h = lib.zeros(B, H, dtype=lib.float64)
        for t in range(T):
            h = lib.tanh(lib.tensor(xs[:, t]) @ W.T + h)
            out[:, t] = h
        assert out.requires_grad
        (out.double() * lib.tensor(CB)).sum().backward()
        res.append(np.array(W.grad if lib is tl else W.grad.numpy()))
    np.testing.assert_allclose(res[0], res[1], rtol=1e-6)


def test_setitem_keeps_per_sample_gradients_and_reports_mixing() -> None:
    rng = np.random.default_rng(5)
    xb, yb = rng.normal(size=(4, 3)), rng.normal(size=(4, 2, 2))
    lin = nn.Linear(3, 2, rng=3)

    def cost(x: Any, y: Any, mix: bool = False) -> Any:
        h = lin(x)
        out = tl.zeros(x.shape[0], 2, 2)
        out[:, 0] = h
        out[:, 1] = h * h
        if mix:
            out[0, 1] = lin.bias  # a write that picks rows of the sample axis
        return F.mse_loss(out, y)

    cost(tl.tensor(xb, batched=True), tl.tensor(yb)).backward()
    got = {n: p.grad_sample.copy() for n, p in lin.named_parameters()}
    for i in range(4):
        lin.zero_grad()
        cost(tl.tensor(xb[i:i + 1]), tl.tensor(yb[i:i + 1])).backward()
        for n, p in lin.named_parameters():
            np.testing.assert_allclose(got[n][i], p.grad, rtol=1e-12, atol=1e-15)
    lin.zero_grad()
    cost(tl.tensor(xb, batched=True), tl.tensor(yb), mix=True).backward()
    assert lin.weight.grad is not None
    with pytest.raises(RuntimeError, match="index_put' writes across the sample axis"):
        lin.weight.grad_sample  # noqa: B018


@pytest.mark.parametrize("write", ["mul_", "setitem"])
def test_a_view_of_a_detach_writes_through_as_torch(write: str) -> None:
    """``h.detach()`` shares ``h``'s memory and requires no grad: a view of it changed in
    place with a value that requires grad writes through, the detached tensor joins the
    graph (the node of the write), and ``h``'s own graph refuses to backward where it needs
    the values that changed, as torch's."""
    got = {}
    for lib in (tl, torch):
        W = lib.tensor(W0, requires_grad=True)
        h = lib.tensor(X) @ W.T
        y = h * h  # reads h's values
        d = h.detach()
        if write == "mul_":
            d[0].mul_(W[0, 0] * 1.0)
        else:
            d[0][1] = W[0, 0] * 3.0
        assert d.requires_grad
        (d * d).sum().backward()
        got[lib] = (np.array(h.detach().numpy() if lib is torch else h.data),
                    np.array(W.grad.numpy() if lib is torch else W.grad))
        with pytest.raises(RuntimeError, match="modified by an inplace operation|changed in place"):
            y.sum().backward()
    for a, b in zip(got[tl], got[torch]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_setitem_inside_a_graph_refuses_a_bad_value_changing_nothing() -> None:
    W = tl.tensor(W0, requires_grad=True)
    h = tl.tensor(X) @ W.T
    before = h.data.copy()
    with pytest.raises(ValueError, match=r"setitem: a value of shape \(3,\) cannot be broadcast"):
        h[0] = W[0]
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        W[0, 0] = 1.0
    np.testing.assert_array_equal(h.data, before)
    np.testing.assert_array_equal(W.data, W0)


def test_a_comparison_twin_keeps_the_tensor_in_the_graph_as_torch() -> None:
    for lib in (tl, torch):
        w = lib.tensor(V0, requires_grad=True)
        t = w * 1.0
        t.lt_(0.0)
        assert t.requires_grad
        (t * w).sum().backward()
        np.testing.assert_array_equal(np.asarray(w.grad), (V0 < 0).astype(float))


def test_named_bitwise_methods_refuse_a_bad_operand_as_operators_defer() -> None:
    x = tl.tensor(np.arange(4))
    for name in ("bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift"):
        with pytest.raises(TypeError, match=f"{name}: other must be"):
            getattr(x, name)(None)
    with pytest.raises(TypeError):
        x & None  # noqa: B018  (the operator returns NotImplemented: Python's TypeError)
    np.testing.assert_array_equal((x & 1).data, np.arange(4) & 1)
