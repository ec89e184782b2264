"""Tensor queries and small method forms, against torch: layout, flags, identities, dist,
sum_to_size, bernoulli, multinomial, hardshrink, prelu, apply_ and map_."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")

A = np.arange(24.0).reshape(2, 3, 4) - 11.5


@pytest.mark.parametrize("view", [lambda t: t, lambda t: t[1, 1:], lambda t: t[:, ::2, 1:3],
                                  lambda t: t.swapaxes(0, 2) if isinstance(t, tl.Tensor) else t.transpose(0, 2)])
def test_layout_queries_match_torch(view: object) -> None:
    x, t = view(tl.tensor(A)), view(torch.tensor(A))
    assert x.stride() == t.stride()
    assert all(x.stride(d) == t.stride(d) for d in range(-x.ndim, x.ndim))
    assert x.storage_offset() == t.storage_offset()
    assert (x.itemsize, x.nbytes) == (t.itemsize, t.nbytes)
    assert x.data_ptr() == x.data.__array_interface__["data"][0]


def test_flags_and_identities_match_torch() -> None:
    x, t = tl.tensor(A), torch.tensor(A)
    for name in ("is_cpu", "is_sparse", "is_quantized", "is_meta"):
        assert getattr(x, name) == getattr(t, name)
    for name in ("is_complex", "is_conj", "is_neg", "is_signed", "get_device", "is_inference"):
        assert getattr(x, name)() == getattr(t, name)()
    assert tl.tensor(np.arange(3, dtype=np.uint8)).is_signed() == torch.arange(3, dtype=torch.uint8).is_signed()
    for name in ("conj", "resolve_conj", "resolve_neg", "pin_memory"):
        assert getattr(x, name)() is x
    assert x.real is x
    with pytest.raises(RuntimeError, match="imag"):
        x.imag  # noqa: B018
    np.testing.assert_array_equal(x.mH.data, t.mH.numpy())
    np.testing.assert_array_equal(x.adjoint().data, t.adjoint().numpy())
    np.testing.assert_array_equal(x[0].H.data, t[0].H.numpy())
    with pytest.raises(ValueError, match=r"H: .*\(2, 3, 4\)"):
        x.H  # noqa: B018
    assert tl.tensor([2.0]).is_nonzero() and not tl.tensor([[0.0]]).is_nonzero()
    with pytest.raises(RuntimeError, match=r"is_nonzero: .*\(2,\)"):
        tl.tensor([1.0, 2.0]).is_nonzero()
    w = tl.tensor(A, requires_grad=True)
    assert not w.retains_grad and (w * 2).retains_grad


@pytest.mark.parametrize("p", [2, 1, 3.5, float("inf")])
def test_dist_matches_torch_with_gradients(p: float) -> None:
    res = []
    for lib in (tl, torch):
        a, b = lib.tensor(A, requires_grad=True), lib.tensor(A[0, :1] * 0.3, requires_grad=True)
        d = a.dist(b, p)
        d.backward()
        res.append([np.array(v if lib is tl else v.detach().numpy()) for v in (d.data if lib is tl else d,
                                                                              a.grad, b.grad)])
    for ours, theirs in zip(*res):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


@pytest.mark.parametrize("size", [(3, 1), (1, 3, 4), (4,), (2, 1, 4), (1,)])
def test_sum_to_size_matches_torch_with_gradients(size: tuple) -> None:
    res = []
    for lib in (tl, torch):
        a = lib.tensor(A, requires_grad=True)
        out = a.sum_to_size(*size)
        (out * lib.tensor(np.arange(float(np.prod(size))).reshape(size))).sum().backward()
        res.append((tuple(out.shape), np.array(out.data if lib is tl else out.detach().numpy()),
                    np.array(a.grad if lib is tl else a.grad.numpy())))
    assert res[0][0] == res[1][0]
    np.testing.assert_allclose(res[0][1], res[1][1])
    np.testing.assert_allclose(res[0][2], res[1][2])
    with pytest.raises(ValueError, match=r"sum_to_size: size \(5,\)"):
        tl.tensor(A).sum_to_size(5)


def test_bernoulli_and_multinomial_methods() -> None:
    p = tl.tensor(np.full((200, 50), 0.3))
    draw = p.bernoulli(generator=np.random.default_rng(0))
    assert draw.dtype == np.float64 and set(np.unique(draw.data)) <= {0.0, 1.0} and abs(draw.data.mean() - 0.3) < 0.02
    np.testing.assert_array_equal(draw.data, p.bernoulli(generator=np.random.default_rng(0)).data)
    assert abs(tl.zeros(100, 100).bernoulli(0.8, generator=np.random.default_rng(1)).data.mean() - 0.8) < 0.02
    with pytest.raises(ValueError, match="bernoulli"):
        tl.tensor([1.5]).bernoulli()
    w = tl.tensor(np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 2.0]]))
    np.testing.assert_array_equal(w.multinomial(1, generator=np.random.default_rng(0)).data, [[1], [2]])


def test_hardshrink_and_prelu_methods_match_torch() -> None:
    x, t = tl.tensor(A / 10), torch.tensor(A / 10)
    np.testing.assert_array_equal(x.hardshrink(0.7).data, t.hardshrink(0.7).numpy())
    w = np.array([0.1, -0.2, 0.3])
    np.testing.assert_allclose(x.prelu(tl.tensor(w)).data, t.prelu(torch.tensor(w)).numpy())


def test_apply_and_map_match_torch_and_keep_the_in_place_rule() -> None:
    x, t = tl.tensor(A), torch.tensor(A)
    assert x.apply_(lambda v: v * v - 1) is x
    t.apply_(lambda v: v * v - 1)
    np.testing.assert_array_equal(x.data, t.numpy())
    y, u = tl.tensor(A[0]), torch.tensor(A[0])
    y.map_(tl.tensor(A[1, 0]), lambda a, b: max(a, b) * 2)
    u.map_(torch.tensor(A[1, 0]), lambda a, b: max(a, b) * 2)
    np.testing.assert_array_equal(y.data, u.numpy())
    with pytest.raises(ValueError, match=r"map_: a tensor of shape \(5,\) does not broadcast to \(3, 4\)"):
        y.map_(tl.tensor(np.ones(5)), lambda a, b: a)
    w = tl.tensor(A, requires_grad=True)
    with pytest.raises(RuntimeError, match="apply_.*no_grad"):
        w.apply_(abs)
    with pytest.raises(TypeError, match="apply_: expects a callable"):
        x.apply_(3)
    np.testing.assert_array_equal(w.data, A)
