"""The scatter / gather family (scatter, scatter_add, scatter_reduce, index_put, index_reduce,
take, put, take_along_dim, masked_scatter, select/slice/diagonal_scatter) and the layout
methods tile, rot90, tensor_split, unfold, unique(dim), ...: values and gradients against
torch in float64, finite differences, per-sample gradients, and bad input."""

# ruff: noqa: B023  (each loop builds lambdas that are called within the same iteration)
from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn

torch = pytest.importorskip("torch")


def _compare(f_tl: Any, f_torch: Any, arrays: list, seed: int = 0, rtol: float = 1e-12) -> None:
    """Values and gradients (for a random cotangent) of ``f_tl`` and ``f_torch`` on float64
    copies of ``arrays`` (float arrays require grad)."""
    tt = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    xs = [tl.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    want, got = f_torch(*tt), f_tl(*xs)
    assert got.shape == tuple(want.shape)
    np.testing.assert_allclose(got.data, want.detach().numpy(), rtol=rtol, atol=1e-15)
    g = np.random.default_rng(seed).normal(size=tuple(want.shape))
    want.backward(torch.tensor(g))
    got.backward(g)
    for x, t in zip(xs, tt):
        if t.requires_grad:
            tg = np.zeros(x.shape) if t.grad is None else t.grad.numpy()
            xg = np.zeros(x.shape) if x.grad is None else x.grad
            np.testing.assert_allclose(xg, tg, rtol=rtol, atol=1e-14)


_TIES = [0.0, 1.0, 2.0, -1.5]  # few distinct values: ties and zeros are common


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_scatter_reduce_matches_torch_with_ties_and_zeros(reduce: str, include_self: bool, dim: int) -> None:
    for seed in range(4):
        rng = np.random.default_rng(seed)
        x, s = rng.choice(_TIES, size=(3, 4)), rng.choice(_TIES, size=(3, 3))
        idx = rng.integers(0, x.shape[dim], size=(3, 3))
        _compare(lambda a, b: a.scatter_reduce(dim, idx, b, reduce, include_self=include_self),
                 lambda a, b: a.scatter_reduce(dim, torch.tensor(idx), b, reduce, include_self=include_self),
                 [x, s], seed)
        _compare(lambda a, b: tl.scatter_reduce(a, dim, tl.tensor(idx), b, reduce, include_self=include_self),
                 lambda a, b: torch.scatter_reduce(a, dim, torch.tensor(idx), b, reduce, include_self=include_self),
                 [x, s], seed)


def test_scatter_reduce_integer_values_as_torch() -> None:
    rng = np.random.default_rng(3)
    x, s = rng.integers(-5, 6, size=(3, 4)), rng.integers(-5, 6, size=(2, 4))
    idx = rng.integers(0, 3, size=(2, 4))
    for reduce in ("sum", "prod", "mean", "amax", "amin"):
        for inc in (True, False):
            want = torch.tensor(x).scatter_reduce(0, torch.tensor(idx), torch.tensor(s), reduce, include_self=inc)
            got = tl.tensor(x).scatter_reduce(0, idx, tl.tensor(s), reduce, include_self=inc)
            assert got.dtype == x.dtype
            np.testing.assert_array_equal(got.data, want.numpy())


@pytest.mark.parametrize("dim", [0, 1])
def test_scatter_scatter_add_and_value_match_torch(dim: int) -> None:
    rng = np.random.default_rng(1)
    x, s = rng.normal(size=(3, 4)), rng.normal(size=(2, 3))
    idx = np.array([[0, 1, 2], [2, 0, 1]])  # distinct targets along dim 0 and along dim 1
    ti = torch.tensor(idx)
    _compare(lambda a, b: a.scatter(dim, idx, b), lambda a, b: a.scatter(dim, ti, b), [x, s])
    _compare(lambda a, b: tl.scatter(a, dim, idx, b), lambda a, b: torch.scatter(a, dim, ti, b), [x, s])
    _compare(lambda a, b: a.scatter_add(dim, idx, b), lambda a, b: a.scatter_add(dim, ti, b), [x, s])
    _compare(lambda a, b: tl.scatter_add(a, dim, idx, b), lambda a, b: torch.scatter_add(a, dim, ti, b), [x, s])
    _compare(lambda a: a.scatter(dim, idx, 2.5), lambda a: a.scatter(dim, ti, 2.5), [x])
    _compare(lambda a: a.scatter(dim, idx, value=-1.0), lambda a: a.scatter(dim, ti, value=-1.0), [x])
    for old, new in (("add", "sum"), ("multiply", "prod")):  # torch's older spelling (forward only there)
        want = torch.tensor(x).scatter(dim, ti, torch.tensor(s), reduce=old)
        np.testing.assert_allclose(tl.tensor(x).scatter(dim, idx, tl.tensor(s), reduce=old).data, want.numpy())
        _compare(lambda a, b: a.scatter(dim, idx, b, reduce=old),
                 lambda a, b: a.scatter_reduce(dim, ti, b, new), [x, s])


def test_scatter_ops_with_a_source_larger_than_the_index_by_finite_differences() -> None:
    """The unread part of src gets a zero gradient (torch's backward refuses this case)."""
    rng = np.random.default_rng(2)
    x = tl.tensor(rng.normal(size=(3, 4)), requires_grad=True)
    s = tl.tensor(rng.normal(size=(4, 5)) + 3.0, requires_grad=True)
    idx = np.array([[0, 1, 2], [2, 0, 1]])
    for f in (lambda a, b: a.scatter(0, idx, b), lambda a, b: a.scatter_add(1, idx, b),
              lambda a, b: a.scatter_reduce(1, idx, b, "prod", include_self=False),
              lambda a, b: a.scatter_reduce(0, idx, b, "mean"), lambda a, b: a.scatter_reduce(1, idx, b, "amax")):
        w = rng.normal(size=(3, 4))
        assert tl.gradcheck(lambda a, b: (f(a, b) * tl.tensor(w)).sum(), [x, s])
        (f(x, s) * tl.tensor(w)).sum().backward()
        assert s.grad[2:].sum() == 0 and s.grad[:, 3:].sum() == 0
        x.grad = s.grad = None


def test_scatter_reduce_prod_gradient_with_zeros_by_finite_differences() -> None:
    """prod is linear in each term, so central differences are exact even at zeros."""
    x = tl.tensor(np.array([[0.0, 2.0, 3.0], [1.5, 0.0, -1.0]]), requires_grad=True)
    s = tl.tensor(np.array([[0.0, 0.5, 0.0], [2.0, 0.0, 4.0]]), requires_grad=True)
    idx = np.array([[0, 1, 0], [0, 1, 1]])
    w = np.arange(1.0, 7.0).reshape(2, 3)
    for inc in (True, False):
        assert tl.gradcheck(lambda a, b: (a.scatter_reduce(0, idx, b, "prod", include_self=inc) * tl.tensor(w)).sum(),
                            [x, s])


def test_take_put_and_take_along_dim_match_torch() -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3, 4))
    i = np.array([[0, -1], [5, 5]])
    _compare(lambda a: a.take(i), lambda a: a.take(torch.tensor(i)), [x])
    _compare(lambda a: tl.take(a, tl.tensor(i)), lambda a: torch.take(a, torch.tensor(i)), [x])
    p = np.array([0, -1, 5])
    _compare(lambda a, b: a.put(p, b), lambda a, b: a.put(torch.tensor(p), b), [x, rng.normal(size=3)])
    q = np.array([[0, -1], [5, 5]])
    _compare(lambda a, b: tl.put(a, q, b, accumulate=True), lambda a, b: torch.put(a, torch.tensor(q), b, True),
             [x, rng.normal(size=(2, 2))])
    for ind, dim in (([[0], [-1], [2]], 1), ([[0, 3]], 1), ([[2, 0, 1, 1]], 0), ([[0, 3]], None), ([1, 11], None)):
        ia = np.array(ind)
        _compare(lambda a: a.take_along_dim(ia, dim), lambda a: torch.take_along_dim(a, torch.tensor(ia), dim), [x])
    y = rng.normal(size=(2, 1, 4))
    ia = rng.integers(0, 4, size=(1, 3, 2))
    _compare(lambda a: tl.take_along_dim(a, ia, -1), lambda a: torch.take_along_dim(a, torch.tensor(ia), -1), [y])


@pytest.mark.parametrize("accumulate", [False, True])
def test_index_put_matches_torch(accumulate: bool) -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3, 4))
    cases = [((np.array([0, 2]), np.array([1, 3])), (2,)), ((np.array([0, 2, 0]),), (4,)), ((x > 0,), ()),
             ((np.array([[0], [2]]), np.array([1, 3, 3])), (2, 3))]
    if accumulate:  # repeated positions: only accumulate is deterministic
        cases.append(((np.array([1, 1, 0]), np.array([2, 2, 2])), (3,)))
    for key, vshape in cases:
        tkey = tuple(torch.tensor(k) for k in key)
        _compare(lambda a, b: a.index_put(key, b, accumulate), lambda a, b: a.index_put(tkey, b, accumulate),
                 [x, rng.normal(size=vshape)])
        _compare(lambda a, b: tl.index_put(a, key, b, accumulate),
                 lambda a, b: torch.index_put(a, tkey, b, accumulate), [x, rng.normal(size=vshape)])


@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_index_reduce_matches_torch(reduce: str, include_self: bool) -> None:
    for seed in range(3):
        rng = np.random.default_rng(seed)
        x, s = rng.choice(_TIES, size=(3, 4)), rng.choice(_TIES, size=(3, 5))
        i = np.array([0, 1, 1, 3, 0])
        _compare(lambda a, b: a.index_reduce(1, i, b, reduce, include_self=include_self),
                 lambda a, b: a.index_reduce(1, torch.tensor(i), b, reduce, include_self=include_self), [x, s], seed)
        i0 = np.array([2, 2])
        _compare(lambda a, b: tl.index_reduce(a, 0, i0, b, reduce, include_self=include_self),
                 lambda a, b: torch.index_reduce(a, 0, torch.tensor(i0), b, reduce, include_self=include_self),
                 [x, s[:2, :4]], seed)


def test_masked_select_slice_and_diagonal_scatter_match_torch() -> None:
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(3, 4)), rng.normal(size=(3, 4, 5))
    m = rng.random((3, 4)) > 0.5
    _compare(lambda a, b: a.masked_scatter(m, b), lambda a, b: a.masked_scatter(torch.tensor(m), b),
             [x, rng.normal(size=20)])
    _compare(lambda a, b: tl.masked_scatter(a, m[1], b), lambda a, b: torch.masked_scatter(a, torch.tensor(m[1]), b),
             [x, rng.normal(size=(4, 5))])
    _compare(lambda a, b: a.select_scatter(b, 1, -1), lambda a, b: torch.select_scatter(a, b, 1, -1),
             [x, rng.normal(size=3)])
    _compare(lambda a, b: tl.select_scatter(a, b, 0, 2), lambda a, b: torch.select_scatter(a, b, 0, 2),
             [x, rng.normal(size=4)])
    _compare(lambda a, b: a.slice_scatter(b, 1, 1, None, 2), lambda a, b: torch.slice_scatter(a, b, 1, 1, None, 2),
             [x, rng.normal(size=(3, 2))])
    _compare(lambda a, b: tl.slice_scatter(a, b, -1, -3), lambda a, b: torch.slice_scatter(a, b, -1, -3),
             [y, rng.normal(size=(3, 4, 3))])
    for off, d1, d2 in ((0, 0, 1), (1, 0, 2), (-1, 2, 1), (2, 1, 2), (7, 0, 1)):
        n = np.diagonal(y, off, d1, d2).shape
        _compare(lambda a, b: a.diagonal_scatter(b, off, d1, d2),
                 lambda a, b: torch.diagonal_scatter(a, b, off, d1, d2), [y, rng.normal(size=n)])


def test_the_scatter_family_by_finite_differences() -> None:
    rng = np.random.default_rng(7)
    x = tl.tensor(rng.normal(size=(3, 4)), requires_grad=True)
    v = tl.tensor(rng.normal(size=(2,)), requires_grad=True)
    s = tl.tensor(rng.normal(size=(3, 5)), requires_grad=True)
    w = tl.tensor(rng.normal(size=(3, 4)))
    assert tl.gradcheck(lambda a, b: (a.index_put((np.array([0, 0]), np.array([1, 1])), b, True) * w).sum(), [x, v])
    assert tl.gradcheck(lambda a, b: (a.index_reduce(1, np.array([0, 1, 1, 3, 0]), b, "mean") * w).sum(), [x, s])
    assert tl.gradcheck(lambda a, b: (a.masked_scatter(np.eye(3, 4, dtype=bool), b) * w).sum(), [x, s])
    assert tl.gradcheck(lambda a, b: (a.diagonal_scatter(b[0, :3], 1) * w).sum(), [x, s])
    assert tl.gradcheck(lambda a: (a.take_along_dim(np.array([[3, 3, 0]]), 1) ** 2).sum(), [x])


# ----------------------------------------------------------------- layout methods -------
def test_layout_methods_match_torch() -> None:
    rng = np.random.default_rng(8)
    x, y = rng.normal(size=(3, 4)), rng.normal(size=(2, 3, 5))
    same = [("tile", ((2, 1, 2),)), ("tile", ((2,),)), ("broadcast_to", ((2, 3, 4),)), ("ravel", ()),
            ("fliplr", ()), ("flipud", ()), ("select", (1, -2)), ("narrow_copy", (1, 1, 2)), ("diagflat", (-1,)),
            ("unfold", (1, 2, 1)), ("unfold", (-1, 3, 2)), ("unfold", (0, 1, 1))]
    for name, args in same:
        _compare(lambda a: getattr(a, name)(*args), lambda a: getattr(a, name)(*args), [x])
        if hasattr(torch, name):
            _compare(lambda a: getattr(tl, name)(a, *args), lambda a: getattr(torch, name)(a, *args), [x])
    _compare(lambda a: a.tile(2, 1, 2), lambda a: a.tile(2, 1, 2), [x])
    for k in range(-2, 5):
        _compare(lambda a: a.rot90(k, (2, 0)), lambda a: a.rot90(k, (2, 0)), [y])
    _compare(lambda a: tl.rot90(a), lambda a: torch.rot90(a), [y])
    _compare(lambda a: a.unfold(2, 2, 3), lambda a: a.unfold(2, 2, 3), [y])
    _compare(lambda a: tl.combinations(a, 2), lambda a: torch.combinations(a, 2), [x[0]])
    _compare(lambda a: tl.combinations(a, 3, with_replacement=True),
             lambda a: torch.combinations(a, 3, with_replacement=True), [x[0]])
    for r in (0, 1, 5):
        assert tl.combinations(tl.tensor(x[0]), r).shape == tuple(torch.combinations(torch.tensor(x[0]), r).shape)
    assert tl.tensor(5.0).unfold(0, 1, 1).shape == tuple(torch.tensor(5.0).unfold(0, 1, 1).shape)
    assert tl.row_stack([tl.tensor(x[0]), tl.tensor(x)]).shape == (4, 4)
    assert tl.broadcast_shapes((2, 1), (3,), 1) == tuple(torch.broadcast_shapes((2, 1), (3,), 1))
    assert tl.tensor(x).is_same_size(tl.tensor(x.T.T)) and not tl.is_same_size(tl.tensor(x), tl.tensor(y))
    assert tl.tensor(y).ndimension() == 3


@pytest.mark.parametrize("call", [
    lambda m, x: m.tensor_split(x, 3, 2), lambda m, x: m.tensor_split(x, [1, 4], 2),
    lambda m, x: m.tensor_split(x, [4, 1, -1], -1), lambda m, x: x.tensor_split(2, 0),
    lambda m, x: m.hsplit(x, 3), lambda m, x: m.vsplit(x, [1]), lambda m, x: m.dsplit(x, 5),
    lambda m, x: m.hsplit(x[0, 0], [2]), lambda m, x: m.split_with_sizes(x, [2, 3], -1),
    lambda m, x: x.split_with_sizes([1, 2], 1)])
def test_splits_match_torch_with_gradients(call: Any) -> None:
    a = np.random.default_rng(9).normal(size=(2, 3, 5))
    t, x = torch.tensor(a, requires_grad=True), tl.tensor(a, requires_grad=True)
    want, got = call(torch, t), call(tl, x)
    assert len(want) == len(got)
    loss_t, loss = 0, 0
    for k, (w, g) in enumerate(zip(want, got)):
        assert g.shape == tuple(w.shape)
        np.testing.assert_array_equal(g.data, w.detach().numpy())
        loss_t, loss = loss_t + (w * (k + 1)).sum(), loss + (g * (k + 1)).sum()
    loss_t.backward()
    loss.backward()
    np.testing.assert_array_equal(x.grad, t.grad.numpy())


def test_unique_with_dim_and_unique_consecutive_match_torch() -> None:
    z = np.array([[1, 2, 2, 3], [1, 2, 2, 3], [0, 0, 1, 1], [1, 2, 2, 3], [0, 0, 1, 1]])
    f = np.array([3.0, 3.0, 1.0, 2.0, 2.0, 3.0])
    for a in (z, f):
        for d in (None, 0, 1, -1) if a.ndim == 2 else (None, 0):
            for inv in (False, True):
                for cnt in (False, True):
                    names = ["unique_consecutive"] + (["unique"] if d is not None else [])
                    for name in names:
                        want = getattr(torch, name)(torch.tensor(a), return_inverse=inv, return_counts=cnt, dim=d)
                        got = getattr(tl, name)(tl.tensor(a), return_inverse=inv, return_counts=cnt, dim=d)
                        want, got = (want, got) if inv or cnt else ((want,), (got,))
                        assert len(want) == len(got)
                        for w, g in zip(want, got):
                            np.testing.assert_array_equal(g.data, w.numpy())
                            assert g.dtype == w.numpy().dtype


def test_argwhere_and_unravel_index_match_torch() -> None:
    a = np.array([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]])
    np.testing.assert_array_equal(tl.argwhere(tl.tensor(a)).data, torch.argwhere(torch.tensor(a)).numpy())
    np.testing.assert_array_equal(tl.tensor(a).argwhere().data, torch.tensor(a).argwhere().numpy())
    idx = np.array([[-1, 5], [7, 0]])
    for shape in ((2, 3), (6,), (2, 1, 3)):
        want = torch.unravel_index(torch.tensor(idx), shape)
        got = tl.unravel_index(tl.tensor(idx), shape)
        for w, g in zip(want, got):
            np.testing.assert_array_equal(g.data, w.numpy())


# ----------------------------------------------------------------- per-sample gradients --
def _per_sample(build: Any, W0: Any = None, rtol: float = 1e-11, atol: float = 1e-14) -> None:
    """``build(rows, W, batched)`` gives a loss; grad_sample of W (``W0``, by default a fixed
    (4, 5) table) after one batched backward equals the gradients of each sample's own loss
    computed one at a time."""
    if W0 is None:
        W0 = np.random.default_rng(10).normal(size=(4, 5)) + 2.0
    alone = []
    for b in range(4):
        W = tl.tensor(W0, requires_grad=True)
        build(slice(b, b + 1), W, False).backward()
        alone.append(W.grad)
    W = tl.tensor(W0, requires_grad=True)
    build(slice(None), W, True).backward()
    np.testing.assert_allclose(W.grad_sample, np.stack(alone), rtol=rtol, atol=atol)


_X = np.random.default_rng(11).normal(size=(4, 3))
_Y = np.random.default_rng(12).normal(size=(4, 5))
_IDX = np.array([[4, 0, 4], [1, 1, 2], [0, 3, 3], [2, 4, 0]])


@pytest.mark.parametrize("op", [
    lambda W, s, rows: W.scatter_add(1, _IDX[rows], s),
    lambda W, s, rows: W.scatter_reduce(1, _IDX[rows], s, "prod"),
    lambda W, s, rows: W.scatter_reduce(1, _IDX[rows], s, "amax", include_self=False),
    lambda W, s, rows: W.scatter(1, _IDX[rows][:, :1], s),
    lambda W, s, rows: W.slice_scatter(s, 1, 1, 4),
    lambda W, s, rows: W.index_put((np.arange(W.shape[0]), _IDX[rows][:, 0]), s[:, 0], True),
    lambda W, s, rows: tl.cat([W[:, :3].unfold(1, 2, 1).sum(-1) * s[:, :2], W], 1),
])
def test_per_sample_gradients_of_row_wise_writes(op: Any) -> None:
    def build(rows: slice, W: Any, batched: bool) -> Any:
        s = tl.Tensor(_X[rows], batched=batched) * W[rows, :3]
        return nn.mse_loss(op(W[rows], s, rows).reshape(s.shape[0], -1)[:, :5], _Y[rows])
    _per_sample(build)


def test_per_sample_gradients_through_writes_on_the_parameter_side() -> None:
    """Writes among parameters, then a per-sample product: the per-sample cotangents go back
    through the writes as a stack (one entry per sample)."""
    X5 = np.random.default_rng(15).normal(size=(4, 5))

    def build(rows: slice, W: Any, batched: bool) -> Any:
        P = W.scatter_reduce(1, _IDX, W[:, :3] * 0.5 + 1, "amax", include_self=False)
        P = P.scatter_reduce(1, _IDX[:, 1:], W[:, 2:4], "prod").scatter_add(0, _IDX[:2, :2] % 4, W[1:3, 3:])
        P = P.index_put((np.array([1, 2, 1]), np.array([4, 0, 4])), W[0, :3], True).diagonal_scatter(W[3, :4], 1)
        P = P.masked_scatter(X5 > 0.3, W.reshape(-1)).put(np.array([3, -1]), W[1, :2])
        P = P.take_along_dim(np.array([[0, 4, 4, 2, 1]]), 1) + P.unfold(1, 2, 3).reshape(4, -1)[:, :1]
        return nn.mse_loss(tl.Tensor(X5[rows], batched=batched) * P[rows], _Y[rows])
    _per_sample(build)


@pytest.mark.parametrize("op, name", [
    (lambda s, W: s.scatter_add(0, np.array([[0, 1, 0, 2, 3]]), W[:1]), "scatter_add"),
    (lambda s, W: s.scatter_reduce(0, np.array([[3, 1, 0, 0, 2]]), W[1:2], "amax"), "scatter_reduce"),
    (lambda s, W: s.scatter(0, np.array([[3, 1, 0, 0, 2]]), W[1:2]), "scatter"),
    (lambda s, W: s.select_scatter(W[0], 0, 1), "index_put"),
    (lambda s, W: s.index_put((np.array([0, 2]),), W[0], True), "index_put"),
    (lambda s, W: s.index_reduce(0, np.array([1, 1]), W[:2], "mean"), "scatter_reduce"),
])
def test_writes_along_the_sample_axis_refuse_per_sample_gradients(op: Any, name: str) -> None:
    rng = np.random.default_rng(13)
    W = tl.tensor(rng.normal(size=(4, 5)), requires_grad=True)
    s = tl.Tensor(rng.normal(size=(4, 5)), batched=True) * W
    nn.mse_loss(op(s, W), _Y).backward()
    with pytest.raises(RuntimeError, match=f"op '{name}' writes"):
        _ = W.grad_sample


# ----------------------------------------------------------------- bad input --------------
_BAD = [
    (lambda m, x, s: x.scatter(0, m([[3]]), s[:1, :1]), IndexError, r"scatter: index 3 is out of range \[0, 3\)"),
    (lambda m, x, s: x.scatter(0, m([[-1]]), s[:1, :1]), IndexError, "scatter: index -1"),
    (lambda m, x, s: x.scatter(0, m([0]), s), ValueError, r"scatter: index of shape \(1,\) must have as many axes"),
    (lambda m, x, s: x.scatter_add(0, m([[0, 1, 2, 0, 1]]), s), ValueError,
     r"scatter_add: index of shape \(1, 5\) is larger than the tensor of shape \(3, 4\)"),
    (lambda m, x, s: x.scatter_reduce(0, m([[0, 1, 2]]), s[:1, :2], "sum"), ValueError,
     r"scatter_reduce: index of shape \(1, 3\) must be no larger than src of shape \(1, 2\)"),
    (lambda m, x, s: x.scatter_reduce(0, m([[0]]), s, "foo"), ValueError, "scatter_reduce: reduce must be one of"),
    (lambda m, x, s: x.take(m([12])), IndexError, "take: index 12"),
    (lambda m, x, s: x.put(m([1, 2]), s[0, :1]), ValueError, r"put: source of shape \(1,\)"),
    (lambda m, x, s: x.put(m([-13]), s[0, :1]), IndexError, "put: index -13"),
    (lambda m, x, s: x.index_put((m([3]),), s[0]), IndexError, "index_put: index 3"),
    (lambda m, x, s: x.index_put((m([1]),), s[0, :3]), ValueError, r"index_put: values of shape \(3,\)"),
    (lambda m, x, s: x.index_reduce(0, m([3]), s[:1], "prod"), IndexError, "index_reduce: index 3"),
    (lambda m, x, s: x.index_reduce(0, m([1]), s[:1, :3], "prod"), ValueError,
     r"index_reduce: source of shape \(1, 3\)"),
    (lambda m, x, s: x.take_along_dim(m([[1], [1]]), 1), ValueError, r"take_along_dim: indices of shape \(2, 1\)"),
    (lambda m, x, s: x.select_scatter(s[0, :3], 0, 0), ValueError, r"select_scatter: src of shape \(3,\)"),
    (lambda m, x, s: x.slice_scatter(s[:, :3], 1, 0, 2), ValueError, r"slice_scatter: src of shape \(3, 3\)"),
    (lambda m, x, s: x.diagonal_scatter(s[0], 0), ValueError, r"diagonal_scatter: src of shape \(4,\)"),
    (lambda m, x, s: x.select_scatter(s[0], 0, 1.5), TypeError, "select_scatter: index must be an int"),
    (lambda m, x, s: x.slice_scatter(s[:, :2], 1, 0.5), TypeError, "slice_scatter: start must be an int"),
    (lambda m, x, s: x.diagonal_scatter(s[0, :3], 0.5), TypeError, "diagonal_scatter: offset must be an int"),
    (lambda m, x, s: x.scatter(0, m([[0]]), s[:1, :1], reduce="max"), ValueError, "scatter: reduce must be"),
    (lambda m, x, s: x.scatter_add(0, m([[0.0]]), s[:1, :1]), TypeError, "scatter_add: index must be an integer"),
]


@pytest.mark.parametrize("call, exc, msg", _BAD)
def test_bad_input_is_refused_as_torch_naming_the_op_and_changes_nothing(call: Any, exc: type, msg: str) -> None:
    a, s = np.zeros((3, 4)), np.ones((3, 4))
    with pytest.raises((IndexError, RuntimeError, TypeError, ValueError)):
        call(torch.tensor, torch.tensor(a), torch.tensor(s))
    x = tl.tensor(a)
    with pytest.raises(exc, match=msg):
        call(np.array, x, tl.tensor(s))
    np.testing.assert_array_equal(x.data, a)


def test_take_along_dim_refuses_positions_outside_the_axis() -> None:
    """(torch's CPU kernel reads such positions modulo the axis length; here they raise)"""
    x = tl.tensor(np.zeros((3, 4)))
    for bad in (4, -5):
        with pytest.raises(IndexError, match=rf"take_along_dim: index {bad} is out of range \[-4, 4\)"):
            x.take_along_dim(np.array([[bad]]), 1)


@pytest.mark.parametrize("name, args", [
    ("scatter_", (0, np.array([[3]]), tl.tensor(np.ones((1, 1))))),
    ("scatter_", (0, np.array([[0.0]]), tl.tensor(np.ones((1, 1))))),
    ("scatter_add_", (0, np.array([[0, 1]]), tl.tensor(np.ones((1, 2), np.float32)))),
    ("scatter_reduce_", (1, np.array([[0, 9]]), tl.tensor(np.ones((1, 2))), "amax")),
    ("put_", (np.array([0, 12]), tl.tensor(np.ones(2)))),
    ("index_put_", ((np.array([1.0]),), tl.tensor(np.ones(4)))),
    ("index_reduce_", (0, np.array([0, 1]), tl.tensor(np.ones((1, 4))), "mean")),
    ("masked_scatter_", (np.ones((3, 4), bool), tl.tensor(np.ones(5)))),
])
def test_in_place_twins_refuse_bad_input_and_leave_the_tensor_as_it_was(name: str, args: tuple) -> None:
    a = np.arange(12.0).reshape(3, 4)
    x = tl.tensor(a.copy())
    with pytest.raises((IndexError, TypeError, ValueError), match=name.rstrip("_")):
        getattr(x, name)(*args)
    np.testing.assert_array_equal(x.data, a)


def test_in_place_twins_write_torch_values_and_are_recorded_inside_a_graph() -> None:
    rng = np.random.default_rng(14)
    a, s = rng.normal(size=(3, 4)), rng.normal(size=(2, 4))
    idx = np.array([[0, 1, 2, 0], [2, 2, 1, 0]])
    calls = [("scatter_", (0, idx[:1], s)), ("scatter_", (1, idx, 2.0)), ("scatter_add_", (0, idx, s)),
             ("scatter_reduce_", (0, idx, s, "amin")), ("put_", (idx[0], s[0], True)),
             ("index_put_", ((idx[0], idx[1]), s[0], True)), ("index_reduce_", (0, idx[0, :2], s, "prod")),
             ("masked_scatter_", (a > 0, s))]
    for name, args in calls:
        tt = torch.tensor(a)
        targs = tuple(tuple(torch.tensor(k) for k in v) if isinstance(v, tuple) else
                      torch.tensor(v) if isinstance(v, np.ndarray) else v for v in args)
        x = tl.tensor(a)
        assert getattr(x, name)(*args) is x
        getattr(tt, name)(*targs)
        np.testing.assert_allclose(x.data, tt.numpy(), rtol=1e-15, err_msg=name)
    w, wt = tl.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    sv, st = tl.tensor(s, requires_grad=True), torch.tensor(s, requires_grad=True)
    for W, S, lib in ((w, sv, tl), (wt, st, torch)):
        y = W * 2
        y.scatter_add_(0, lib.tensor(idx), S)  # recorded inside the graph, as torch records it
        (y * y).sum().backward()
    np.testing.assert_allclose(w.grad, wt.grad.numpy(), rtol=1e-14)
    np.testing.assert_allclose(sv.grad, st.grad.numpy(), rtol=1e-14)
    with pytest.raises(RuntimeError, match="scatter_add_.*leaf"):
        w.scatter_add_(0, idx, tl.tensor(s))
    np.testing.assert_array_equal(w.data, a)


@pytest.mark.parametrize("B", [2, 4])
def test_per_sample_gradients_through_an_index_with_separated_arrays(B: int) -> None:
    """``W[i, :, j]`` puts the indexed axis first; the per-sample stack of cotangents sent back
    through it must keep its own axis in front (with 2 samples and 2 indexed positions a
    mix-up would not even raise)."""
    rng = np.random.default_rng(16)
    W0 = rng.normal(size=(3, 4, 5))
    X, Y = rng.normal(size=(B, 2, 4)), rng.normal(size=(B, 2, 4))

    def loss(rows: slice, W: Any, batched: bool) -> Any:
        P = W[np.array([0, 2]), :, np.array([1, 3])] * 1.5 + W[1, :2, 0].reshape(2, 1)
        return nn.mse_loss(tl.Tensor(X[rows], batched=batched) * P, Y[rows])
    alone = []
    for b in range(B):
        W = tl.tensor(W0, requires_grad=True)
        loss(slice(b, b + 1), W, False).backward()
        alone.append(W.grad)
    W = tl.tensor(W0, requires_grad=True)
    loss(slice(None), W, True).backward()
    np.testing.assert_allclose(W.grad_sample, np.stack(alone), rtol=1e-12, atol=1e-15)


def _T(a: Any, **kw: Any) -> Any:
    a = np.asarray(a)
    return torch.tensor(a, dtype=torch.float64 if a.dtype.kind == "f" else None, **kw)


_EDGES = [  # (torch, tinygrad_lite): the same call; values, shapes and dtypes must agree
    (lambda m, T: T(1.0).scatter(0, m(0), T(5.0))),
    (lambda m, T: T(1.0).scatter_add(0, m(0), T(5.0))),
    (lambda m, T: T([[1.0, 2.0]]).scatter(1, m(np.zeros((1, 0), np.int64)), T([[5.0]]))),
    (lambda m, T: T([[1, 2], [3, 4]]).scatter_reduce(0, m([[1, 1]]), T([[4, -7]]), "mean", include_self=False)),
    (lambda m, T: T([1, 2, 3]).scatter(0, m([1]), 2.5)),
    (lambda m, T: T([0.0, 0.0]).scatter(0, m(np.array([1], np.int32)), T([3.0]))),
    (lambda m, T: T([1.0, 2.0]).scatter_reduce(0, m([0, 0]), T([np.nan, 3.0]), "amax")),
    (lambda m, T: T(np.arange(6.0).reshape(2, 3)).index_put((m([-1]), m([-2])), T(9.0))),
    (lambda m, T: T(np.arange(6.0).reshape(2, 3)).index_put((m([True, False]),), T([1.0, 2.0, 3.0]), True)),
    (lambda m, T: T([1.0, 2.0, 3.0, 4.0]).masked_scatter(m(np.eye(3, 4, dtype=bool)), T(np.arange(10.0)))),
    (lambda m, T: T(np.arange(7.0)).tensor_split(T([2, 5]))),
    (lambda m, T: T(np.arange(7.0)).tensor_split(T(3))),
    (lambda m, T: T(np.arange(2.0)).tensor_split(4)),
    (lambda m, T: T([1.0, np.nan, np.nan, 2.0]).unique_consecutive(return_counts=True)),
    (lambda m, T: T(3.0).unique_consecutive(return_inverse=True)),
    (lambda m, T: T(np.zeros((0, 3))).unique(dim=0, return_inverse=True, return_counts=True)),
    (lambda m, T: T(np.zeros((3, 0))).unique_consecutive(dim=1, return_inverse=True, return_counts=True)),
    (lambda m, T: T([[1.0, 0.0, 1.0], [2.0, 5.0, 2.0]]).unique(dim=1, return_inverse=True)),
    (lambda m, T: T([[1.0, 1.0, 0.0], [2.0, 2.0, 2.0]]).unique_consecutive(dim=1, return_inverse=True)),
    (lambda m, T: T(2.0).tile(3)),
    (lambda m, T: T([2.0, 3.0]).tile(())),
    (lambda m, T: T(np.arange(10.0)).unfold(0, 3, 4)),
    (lambda m, T: T(np.arange(4.0)).unfold(0, 0, 1)),
    (lambda m, T: T([[1.0, 2.0], [3.0, 4.0]]).diagflat(1)),
    (lambda m, T: T(np.arange(12.0).reshape(2, 6)).hsplit([1, 4])),
    (lambda m, T: T(1.0).put(m([0]), T([4.0]))),
    (lambda m, T: T(1.0).take(m(0))),
    (lambda m, T: T(np.arange(6.0).reshape(2, 3)).take_along_dim(m([[5], [0]]))),
    (lambda m, T: T(np.zeros((2, 6))).slice_scatter(T(np.ones((2, 2))), 1, -4, None, 3)),
    (lambda m, T: T([[1, 2], [3, 4]]).index_reduce(0, m([1, 1]), T([[4, -7], [2, 2]]), "mean")),
    (lambda m, T: T([[1.0, 2.0]]).broadcast_to(3, -1)),
]


@pytest.mark.parametrize("call", _EDGES)
def test_edge_cases_match_torch(call: Any) -> None:
    want = call(torch.tensor, _T)
    got = call(np.array, lambda a: tl.tensor(np.asarray(a)))
    want, got = (want, got) if isinstance(want, (tuple, list)) else ((want,), (got,))
    assert len(want) == len(got)
    for w, g in zip(want, got):
        assert g.shape == tuple(w.shape) and g.dtype == w.numpy().dtype
        np.testing.assert_array_equal(g.data, w.numpy())


def test_diag_embed_transposes_and_function_forms_match_torch() -> None:
    rng = np.random.default_rng(17)
    v, x, y = rng.normal(size=(2, 3)), rng.normal(size=(3, 4)), rng.normal(size=(2, 3, 4))
    for args in ((), (1,), (-1, 0, 2), (2, 2, 0), (0, -1, -3)):
        _compare(lambda a: a.diag_embed(*args), lambda a: a.diag_embed(*args), [v])
        _compare(lambda a: tl.diag_embed(a, *args), lambda a: torch.diag_embed(a, *args), [v])
    _compare(lambda a: a.H, lambda a: a.H, [x])
    for a in (x, y):
        _compare(lambda t: t.mH, lambda t: t.mH, [a])
        _compare(lambda t: tl.adjoint(t), lambda t: torch.adjoint(t), [a])
    for bad in (lambda m: m.tensor(y).H, lambda m: m.tensor(v[0]).mH, lambda m: m.tensor(v[0]).adjoint(),
                lambda m: m.tensor(v).diag_embed(0, 1, 1)):
        with pytest.raises((RuntimeError, IndexError)):
            bad(torch)
        with pytest.raises(ValueError, match=r"(H|mH|adjoint|diag_embed): "):
            bad(tl)
    for name, args in (("unsafe_split", (2, 1)), ("unsafe_chunk", (3, -1))):
        want, got = getattr(torch, name)(torch.tensor(y), *args), getattr(tl, name)(tl.tensor(y), *args)
        assert [tuple(w.shape) for w in want] == [g.shape for g in got]
    i, s = np.array([2, 0]), rng.normal(size=(3, 2))
    for name, arg in (("index_add", s), ("index_copy", s), ("index_fill", -1.0)):
        targ = torch.tensor(arg) if isinstance(arg, np.ndarray) else arg
        want = getattr(torch, name)(torch.tensor(x), 1, torch.tensor(i), targ)
        got = getattr(tl, name)(tl.tensor(x), 1, i, tl.tensor(arg) if isinstance(arg, np.ndarray) else arg)
        np.testing.assert_array_equal(got.data, want.numpy())
    np.testing.assert_array_equal(tl.ger(tl.tensor(v[0]), tl.tensor(v[1])).data,
                                  torch.ger(torch.tensor(v[0]), torch.tensor(v[1])).numpy())


def test_layout_methods_by_finite_differences() -> None:
    rng = np.random.default_rng(18)
    x = tl.tensor(rng.normal(size=(3, 4)), requires_grad=True)
    w = {}

    def weighted(t: Any) -> Any:  # a fixed random weighting of the output, so every entry counts
        key = t.shape
        if key not in w:
            w[key] = tl.tensor(rng.normal(size=key))
        return (t * w[key]).sum()
    for f in (lambda a: a.unfold(1, 2, 1), lambda a: a.rot90(3), lambda a: a.tile(2, 1, 2),
              lambda a: tl.combinations(a[0], 3, with_replacement=True), lambda a: a.diag_embed(1, 0, 2),
              lambda a: tl.cat(a.tensor_split([1, 3], 1), 1) ** 2, lambda a: a.take(np.array([[0, 11], [5, 5]])),
              lambda a: a.select(1, -1) * a.narrow_copy(1, 0, 1).ravel()):
        assert tl.gradcheck(lambda a: weighted(f(a)), [x])


def test_selection_by_a_per_sample_or_mixed_index_is_tracked() -> None:
    """take_along_dim / take at a per-sample index give each sample its own rows of the
    table; an index computed from a batch statistic mixes the samples, and so does
    masked_scatter of a batched tensor with a source that needs gradients."""
    rng = np.random.default_rng(19)
    X, Y, T0 = rng.normal(size=(4, 5)), rng.normal(size=(4, 3)), rng.normal(size=(5, 3))

    def build(rows: slice, T: Any, batched: bool) -> Any:
        xb = tl.Tensor(X[rows], batched=batched)
        i = xb.argmax(1, keepdim=True)
        picked = T.take_along_dim(i, 0) + T.take(i * 3)
        return nn.mse_loss(picked * xb[:, :3], Y[rows])
    _per_sample(build, T0, rtol=1e-12, atol=1e-15)
    for pick in (lambda T, i: T.take_along_dim(i, 0), lambda T, i: T.take(i), lambda T, i: tl.take_along_dim(T, i)):
        T = tl.tensor(T0, requires_grad=True)
        xb = tl.Tensor(X, batched=True)
        i = (xb - xb.mean(0)).argmax(1, keepdim=True)  # depends on the other samples
        nn.mse_loss(pick(T, i).reshape(4, -1)[:, :1] * xb[:, :1], Y[:, :1]).backward()
        with pytest.raises(RuntimeError, match="per-sample gradients"):
            _ = T.grad_sample
    S = tl.tensor(rng.normal(size=20), requires_grad=True)
    xb = tl.Tensor(X, batched=True)
    nn.mse_loss(xb.masked_scatter(tl.tensor(X > 0), S), X).backward()
    with pytest.raises(RuntimeError, match="masked_scatter"):
        _ = S.grad_sample
    W = tl.tensor(rng.normal(size=5), requires_grad=True)  # a constant source: each sample's own gradient
    nn.mse_loss((tl.Tensor(X, batched=True) * W).masked_scatter(tl.tensor(X > 0), tl.tensor(np.ones(20))),
                X).backward()
    alone = []
    for b in range(4):
        Wb = tl.tensor(W.data, requires_grad=True)
        ((tl.tensor(X[b:b + 1]) * Wb).masked_scatter(tl.tensor(X[b:b + 1] > 0), tl.tensor(np.ones(20)))
         - tl.tensor(X[b:b + 1])).square().sum().backward()
        alone.append(Wb.grad / X[b].size)  # (each sample's own mean squared error)
    np.testing.assert_allclose(W.grad_sample, np.stack(alone), rtol=1e-12, atol=1e-15)


def test_scatter_at_a_per_sample_index_keeps_each_sample_apart() -> None:
    rng = np.random.default_rng(20)
    X, Y = rng.normal(size=(4, 5)), rng.normal(size=(4, 5))

    def build(rows: slice, W: Any, batched: bool) -> Any:
        xb = tl.Tensor(X[rows], batched=batched)
        i = xb.argmax(1, keepdim=True)
        out = W[rows].scatter_reduce(1, i, W[rows, :1] * 3, "prod").scatter(1, (i + 1) % 5, W[rows, 1:2])
        return nn.mse_loss(out * xb, Y[rows])
    _per_sample(build)
    W = tl.tensor(rng.normal(size=(6, 5)), requires_grad=True)
    xb = tl.Tensor(X, batched=True)
    nn.mse_loss(W.scatter_add(1, xb.argmax(1, keepdim=True), W[:, :1] * 2)[:4] * xb, Y).backward()
    with pytest.raises(RuntimeError, match=r"op 'scatter_add' takes an operand of shape \(4, 1\)"):
        _ = W.grad_sample
