"""The API's "Conventions shared with PyTorch", bullet by bullet: a PyTorch spelling either
behaves as in PyTorch (checked against torch where it is installed) or raises a clear error."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn, optim
from tinygrad_lite.data import DataLoader


@pytest.fixture(scope="module")
def torch() -> Any:
    return pytest.importorskip("torch")


def _t(torch: Any, a: Any) -> Any:
    return torch.tensor(np.asarray(a), dtype=torch.float64)


# ------------------------------------------------------------------ never a silent other meaning
def test_comparing_with_none_or_a_string_is_false_as_in_torch(torch: Any) -> None:
    x = tl.tensor([1.0, 2.0])
    tx = torch.tensor([1.0, 2.0])
    for other in (None, "a"):
        assert (x == other) is (tx == other) is False
        assert (x != other) is (tx != other) is True
    assert x in [None, x] and x not in [None, "a"]  # membership tests work as with torch tensors
    with pytest.raises(TypeError, match="less"):
        x < "a"  # noqa: B015


@pytest.mark.parametrize("call,name", [
    (lambda x: x.size((0, 1)), "size"),
    (lambda x: x.argmax((0, 1)), "argmax"),
    (lambda x: x.argmin((0, 1)), "argmin"),
    (lambda x: x.max(dim=(0, 1)), "dim"),
    (lambda x: x.reshape(-2, 3), "reshape"),
    (lambda x: x.unsqueeze(1.5), "unsqueeze"),
    (lambda x: x.softmax(dim=(0, 1)), "softmax"),
])
def test_torch_spellings_torch_rejects_raise_here_too(torch: Any, call: Any, name: str) -> None:
    x = tl.tensor(np.arange(6.0).reshape(2, 3))
    with pytest.raises((TypeError, RuntimeError, ValueError)):
        call(torch.arange(6.0).reshape(2, 3))
    with pytest.raises((TypeError, ValueError)) as info:
        call(x)
    assert name in str(info.value)


def test_zero_grad_set_to_none_false_zeroes_the_grads_as_torch(torch: Any) -> None:
    w = tl.tensor([1.0, 2.0], requires_grad=True)
    tw = torch.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    (tw * tw).sum().backward()
    grad = w.grad
    w.zero_grad(set_to_none=False)
    tw.grad.zero_()
    assert w.grad is grad and np.array_equal(w.grad, tw.grad.numpy()) and not w.grad.any()
    lin = nn.Linear(2, 1, rng=0)
    opt = optim.SGD(lin.parameters(), lr=0.1, momentum=0.9)
    lin(np.ones((1, 2))).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.any() for p in lin.parameters())
    lin.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.any() for p in lin.parameters())
    lin.zero_grad()
    assert all(p.grad is None for p in lin.parameters())
    with pytest.raises(TypeError, match="set_to_none"):
        lin.zero_grad(set_to_none="no")


# ------------------------------------------------------------------ tl.manual_seed
def _layers() -> list:
    return [nn.Linear(4, 3).weight.data, nn.Conv2d(2, 2, 3).weight.data, nn.Embedding(5, 2).weight.data,
            nn.MultiheadAttention(4, 2).in_proj_weight.data]


def test_manual_seed_governs_layer_initialisation() -> None:
    tl.manual_seed(123)
    a = _layers()
    tl.manual_seed(123)
    b = _layers()
    c = _layers()  # the generator moved on
    for x, y, z in zip(a, b, c):
        np.testing.assert_array_equal(x, y)
        assert not np.array_equal(x, z)
    tl.manual_seed(123)
    own = nn.Linear(4, 3, rng=7).weight.data  # an explicit rng is not the default generator's
    np.testing.assert_array_equal(own, nn.Linear(4, 3, rng=7).weight.data)
    assert not np.array_equal(own, a[0])


def test_manual_seed_governs_dropout() -> None:
    x = tl.tensor(np.ones((4, 50)))
    drop = nn.Dropout(0.5)
    tl.manual_seed(5)
    a = drop(x).data
    tl.manual_seed(5)
    b = drop(x).data
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, drop(x).data)
    assert set(np.unique(a)) == {0.0, 2.0}


def test_a_dataloader_draws_its_seed_from_the_default_generator_when_constructed() -> None:
    X, y = np.arange(20.0).reshape(10, 2), np.arange(10)

    def epochs(dl: DataLoader) -> list:
        return [[yb.data.tolist() for _, yb in dl] for _ in range(3)]

    tl.manual_seed(9)
    first = DataLoader(X, y, batch_size=3)
    tl.manual_seed(1000)  # after construction: does not change that loader's order
    order = epochs(first)
    tl.manual_seed(9)
    np.testing.assert_equal(epochs(DataLoader(X, y, batch_size=3)), order)
    tl.manual_seed(10)
    assert epochs(DataLoader(X, y, batch_size=3)) != order
    assert order[0] != order[1]  # a new order every epoch
    tl.manual_seed(10)
    np.testing.assert_equal(epochs(DataLoader(X, y, batch_size=3, seed=4)),
                            epochs(DataLoader(X, y, batch_size=3, seed=4)))


def test_the_same_seed_gives_the_same_run() -> None:
    X = np.random.default_rng(0).normal(size=(24, 3))
    y = X @ np.array([1.0, -2.0, 0.5])[:, None]

    def run() -> list:
        model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 1))
        opt = optim.Adam(model.parameters(), lr=1e-2)
        for xb, yb in DataLoader(X, y, batch_size=5):
            opt.zero_grad()
            nn.mse_loss(model(xb), yb).backward()
            opt.step()
        return [p.data.copy() for p in model.parameters()]

    tl.manual_seed(42)
    a = run()
    tl.manual_seed(42)
    b = run()
    tl.manual_seed(43)
    c = run()
    for x, z in zip(a, b):
        np.testing.assert_array_equal(x, z)
    assert not all(np.array_equal(x, z) for x, z in zip(a, c))


@pytest.mark.parametrize("seed,exc", [(2 ** 64, ValueError), (1.5, TypeError), ("0", TypeError), (True, TypeError),
                                      (None, TypeError)])
def test_manual_seed_rejects_what_is_not_a_seed(seed: Any, exc: type) -> None:
    tl.manual_seed(3)
    before = tl.random.default_generator()
    with pytest.raises(exc, match="seed"):
        tl.manual_seed(seed)
    assert tl.random.default_generator() is before


# ------------------------------------------------------------------ tl.tensor
def test_tensor_is_a_function_returning_a_tensor(torch: Any) -> None:
    assert callable(tl.tensor) and not isinstance(tl.tensor, type)
    src = np.array([1.0, 2.0, 3.0])
    t = tl.tensor(src, requires_grad=True)
    assert type(t) is tl.Tensor and t.requires_grad and t.dtype == np.float64
    src[0] = 100.0  # copied, as torch.tensor copies
    assert t.data[0] == 1.0
    assert tl.tensor([1, 2]).dtype == np.int64 == getattr(np, str(torch.tensor([1, 2]).dtype)[6:])
    assert tl.tensor([1.0], dtype=np.float32).dtype == np.float32
    assert tl.tensor(3.5).shape == tuple(torch.tensor(3.5).shape) == ()
    with pytest.raises(TypeError, match="floating-point"):
        tl.tensor([1, 2], requires_grad=True)  # only floats require grad (torch: RuntimeError)
    with pytest.raises(TypeError, match="requires_grad"):
        tl.tensor([1.0], requires_grad="yes")


# ------------------------------------------------------------------ == and != , hashing
def test_eq_and_ne_are_elementwise_bool_tensors(torch: Any) -> None:
    a, b = [1.0, 2.0, 3.0], [1.0, 5.0, 3.0]
    for op in ("__eq__", "__ne__"):
        got = getattr(tl.tensor(a), op)(tl.tensor(b))
        want = getattr(torch.tensor(a), op)(torch.tensor(b)).numpy()
        assert isinstance(got, tl.Tensor) and got.dtype == np.bool_
        np.testing.assert_array_equal(got.data, want)
    np.testing.assert_array_equal((tl.tensor([[1.0], [2.0]]) == np.array([1.0, 2.0])).data,
                                  (torch.tensor([[1.0], [2.0]]) == torch.tensor([1.0, 2.0])).numpy())
    np.testing.assert_array_equal((tl.tensor(a) == 2.0).data, [False, True, False])
    assert not (tl.tensor(a) == tl.tensor(a)).requires_grad


def test_tensors_stay_hashable_by_identity() -> None:
    p, q = tl.tensor([1.0, 2.0], requires_grad=True), tl.tensor([1.0, 2.0], requires_grad=True)
    d = {p: "p", q: "q"}  # equal values, two keys
    assert d[p] == "p" and d[q] == "q" and len({p, q}) == 2 and hash(p) != hash(q)
    opt = optim.Adam([p, q], lr=0.1)
    p.grad, q.grad = np.ones(2), -np.ones(2)
    opt.step()
    assert set(opt.state) == {p, q}
    assert not np.array_equal(opt.state[p]["exp_avg"], opt.state[q]["exp_avg"])


# ------------------------------------------------------------------ size() and numel()
def test_size_and_numel_as_torch(torch: Any) -> None:
    a = np.zeros((2, 3, 4))
    x, tx = tl.tensor(a), torch.tensor(a)
    assert x.size() == tuple(tx.size()) == (2, 3, 4)
    for d in (0, 1, 2, -1, -3):
        assert x.size(d) == tx.size(d)
    assert x.numel() == tx.numel() == 24 and isinstance(x.numel(), int)
    assert tl.tensor(5.0).numel() == 1 and tl.tensor(5.0).size() == ()
    with pytest.raises(IndexError, match="size"):
        x.size(3)
    with pytest.raises(TypeError, match="size"):
        x.size(1.0)


# ------------------------------------------------------------------ max / min / argmax / argmin
@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_min_with_dim_return_values_and_indices(torch: Any, name: str, dim: int, keepdim: bool) -> None:
    a = np.array([[3.0, 1.0, 4.0], [1.0, 5.0, 9.0]])
    x = tl.tensor(a, requires_grad=True)
    tx = _t(torch, a).requires_grad_()
    got = getattr(x, name)(dim=dim, keepdim=keepdim)
    want = getattr(tx, name)(dim=dim, keepdim=keepdim)
    assert isinstance(got, tuple) and got._fields == ("values", "indices")
    v, i = got
    np.testing.assert_array_equal(v.data, want.values.detach().numpy())
    np.testing.assert_array_equal(got.indices.data, want.indices.numpy())
    assert i.dtype == np.int64
    (got.values * np.arange(1.0, 1 + v.data.size).reshape(v.shape)).sum().backward()
    (want.values * torch.arange(1.0, 1 + v.data.size, dtype=torch.float64).reshape(v.shape)).sum().backward()
    np.testing.assert_array_equal(x.grad, tx.grad.numpy())


@pytest.mark.parametrize("name", ["max", "min"])
def test_numpy_spellings_of_max_min_return_the_values(name: str) -> None:
    a = np.array([[3.0, 1.0, 4.0], [1.0, 5.0, 9.0]])
    x = tl.tensor(a)
    for out in (getattr(x, name)(1), getattr(x, name)(axis=1)):
        assert isinstance(out, tl.Tensor)
        np.testing.assert_array_equal(out.data, getattr(a, name)(axis=1))
    assert float(getattr(x, name)()) == getattr(a, name)()
    with pytest.raises(TypeError, match="axis or dim"):
        getattr(x, name)(axis=0, dim=0)


@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_argmax_argmin_as_torch(torch: Any, name: str) -> None:
    a = np.array([[3.0, 7.0, 4.0], [8.0, 5.0, 2.0]])
    x, tx = tl.tensor(a), _t(torch, a)
    assert int(getattr(x, name)()) == int(getattr(tx, name)())
    for d in (0, 1, -1):
        np.testing.assert_array_equal(getattr(x, name)(d).data, getattr(tx, name)(d).numpy())
        np.testing.assert_array_equal(getattr(x, name)(dim=d, keepdim=True).data,
                                      getattr(tx, name)(dim=d, keepdim=True).numpy())
    assert getattr(x, name)(1).dtype == np.int64 and not getattr(x, name)(1).requires_grad


# ------------------------------------------------------------------ backward / zero_grad / no_grad
def test_backward_accepts_retain_graph_and_repeats_the_same_increment(torch: Any) -> None:
    x = tl.tensor([1.0, -2.0], requires_grad=True)
    tx = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    y, ty = (x * x * x).sum(), (tx * tx * tx).sum()
    y.backward(retain_graph=True)
    ty.backward(retain_graph=True)
    y.backward(retain_graph=False)
    ty.backward()
    np.testing.assert_array_equal(x.grad, tx.grad.numpy())
    np.testing.assert_array_equal(x.grad, 2 * 3 * np.array([1.0, 4.0]))
    with pytest.raises(TypeError, match="retain_graph"):
        y.backward(retain_graph="yes")


def test_zero_grad_accepts_set_to_none_true_everywhere() -> None:
    lin = nn.Linear(2, 2, rng=0)
    opt = optim.SGD(lin.parameters(), lr=0.1)
    for clear in (lambda: lin.zero_grad(set_to_none=True), lambda: opt.zero_grad(set_to_none=True),
                  lambda: [p.zero_grad(set_to_none=True) for p in lin.parameters()]):
        lin(tl.tensor(np.ones((3, 2)), batched=True)).mean().backward()
        assert lin.weight.grad is not None and lin.weight.grad_sample is not None
        clear()
        assert all(p.grad is None and p.grad_sample is None for p in lin.parameters())


def test_no_grad_decorates_with_and_without_parentheses() -> None:
    w = tl.tensor([1.0, 2.0], requires_grad=True)

    @tl.no_grad()
    def called(v: tl.Tensor) -> tl.Tensor:
        """doc"""
        return v * 2

    @tl.no_grad
    def bare(v: tl.Tensor) -> tl.Tensor:
        return v * 3

    for fn, k in ((called, 2), (bare, 3)):
        out = fn(w)
        assert not out.requires_grad and out._op is None
        np.testing.assert_array_equal(out.data, k * w.data)
        assert tl.is_grad_enabled()  # restored after the call
    assert called.__name__ == "called" and called.__doc__ == "doc"  # functools.wraps
    assert (w * 2).requires_grad


# ------------------------------------------------------------------ mse_loss shapes
@pytest.mark.parametrize("pred,target", [((4, 1), (4,)), ((4,), (4, 1)), ((2, 3), (3,)), ((3,), (1,))])
def test_mse_loss_with_different_shapes_names_both(pred: tuple, target: tuple) -> None:
    p, t = tl.tensor(np.ones(pred), requires_grad=True), tl.tensor(np.zeros(target))
    for fn in (nn.mse_loss, nn.MSELoss(), tl.nn.functional.mse_loss):
        with pytest.raises(ValueError) as info:
            fn(p, t)
        assert str(pred) in str(info.value) and str(target) in str(info.value)
    assert p.grad is None


# ------------------------------------------------------------------ clip_grad_norm_
@pytest.mark.parametrize("max_norm,norm_type", [(0.5, 2.0), (100.0, 2.0), (0.3, 1.0), (0.2, float("inf"))])
def test_clip_grad_norm_scales_in_place_and_returns_the_total_norm(torch: Any, max_norm: float,
                                                                   norm_type: float) -> None:
    grads = [np.array([[0.3, -0.4], [1.2, 0.0]]), np.array([-0.5, 2.0])]
    ps = [tl.tensor(np.zeros_like(g), requires_grad=True) for g in grads]
    tps = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, tp, g in zip(ps, tps, grads):
        p.grad = g.copy()
        tp.grad = torch.tensor(g)
    arrays = [p.grad for p in ps]
    total = nn.utils.clip_grad_norm_(ps, max_norm, norm_type)
    want = torch.nn.utils.clip_grad_norm_(tps, max_norm, norm_type)
    assert isinstance(total, float)
    assert total == pytest.approx(float(want), rel=1e-12)
    for p, tp in zip(ps, tps):
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-12)
    assert all(p.grad is a for p, a in zip(ps, arrays))  # scaled in place
    with pytest.raises(ValueError, match="max_norm"):
        nn.utils.clip_grad_norm_(ps, -1.0)
    with pytest.raises(TypeError, match="max_norm"):
        nn.utils.clip_grad_norm_(ps, "1")
