"""Ops beyond the contract's list: cat, stack, clip, squeeze/unsqueeze, permute, and the
PyTorch spellings dim/keepdim. Gradients against finite differences and PyTorch."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import Tensor


def _leaf(a: np.ndarray) -> Tensor:
    return Tensor(a.copy(), requires_grad=True)


@pytest.fixture()
def rng() -> np.random.Generator:
    return np.random.default_rng(3)


def test_cat_and_stack_forward_and_gradcheck(rng: np.random.Generator) -> None:
    a, b = rng.normal(size=(2, 3)), rng.normal(size=(2, 5))
    ta, tb = _leaf(a), _leaf(b)
    out = tl.cat([ta, tb], axis=1)
    assert np.array_equal(out.data, np.concatenate([a, b], axis=1))
    R = rng.normal(size=out.shape)
    (out * R).sum().backward()
    np.testing.assert_array_equal(ta.grad, R[:, :3])
    np.testing.assert_array_equal(tb.grad, R[:, 3:])
    c = _leaf(rng.normal(size=(2, 3)))
    s = tl.stack([ta, c], axis=-1)
    assert s.shape == (2, 3, 2)
    assert tl.gradcheck(lambda x, y: (tl.stack([x, y * 2.0], dim=0) ** 2).sum(), [ta, c])
    assert tl.gradcheck(lambda x, y: (tl.cat([x, y, x], dim=-1).tanh()).sum(), [ta, tb])


def test_cat_errors_name_the_op_and_shapes() -> None:
    with pytest.raises(ValueError, match=r"cat: shapes \[\(2, 3\), \(3, 3\)\]"):
        tl.cat([Tensor(np.zeros((2, 3))), Tensor(np.zeros((3, 3)))], axis=1)
    with pytest.raises(ValueError, match="stack"):
        tl.stack([Tensor(np.zeros(2)), Tensor(np.zeros(3))])


def test_clip_gradient_is_one_inside_zero_outside() -> None:
    x = Tensor(np.array([-2.0, -0.2, 0.3, 1.7]), requires_grad=True)
    y = x.clip(-1.0, 1.0)
    np.testing.assert_array_equal(y.data, [-1.0, -0.2, 0.3, 1.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 1.0, 0.0])
    x.grad = None
    x.clamp(max=0.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="clip"):
        x.clip()


def test_squeeze_unsqueeze_permute_flatten(rng: np.random.Generator) -> None:
    a = rng.normal(size=(2, 1, 3))
    x = _leaf(a)
    assert x.squeeze().shape == (2, 3)
    assert x.squeeze(1).shape == (2, 3)
    assert x.unsqueeze(0).shape == (1, 2, 1, 3)
    assert x.unsqueeze(-1).shape == (2, 1, 3, 1)
    assert x.permute(2, 0, 1).shape == (3, 2, 1)
    assert x.flatten(1).shape == (2, 3)
    assert tl.gradcheck(lambda t: (t.permute(2, 0, 1).squeeze(-1).unsqueeze(0) ** 3).sum(), [x])


def test_dim_keepdim_aliases_match_axis_keepdims(rng: np.random.Generator) -> None:
    a = rng.normal(size=(3, 4))
    x = Tensor(a)
    for name in ("sum", "mean", "max", "min"):
        f = getattr(x, name)
        r1, r0 = f(dim=1, keepdim=True), f(dim=0)
        if name in ("max", "min"):  # torch's dim= spelling returns (values, indices)
            np.testing.assert_array_equal(r1.indices.data, getattr(a, "arg" + name)(axis=1, keepdims=True))
            r1, r0 = r1.values, r0.values
        np.testing.assert_array_equal(r1.data, f(axis=1, keepdims=True).data)
        np.testing.assert_array_equal(r0.data, getattr(a, name)(axis=0))
    np.testing.assert_array_equal(x.softmax(dim=0).data, x.softmax(axis=0).data)
    with pytest.raises(TypeError):
        x.sum(axis=0, dim=1)


def test_min_splits_ties_like_max() -> None:
    x = Tensor(np.array([3.0, 1.0, 1.0]), requires_grad=True)
    x.min().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.5, 0.5])


def test_extras_against_torch(torch: Any, rng: np.random.Generator) -> None:
    a, b = rng.normal(size=(2, 3)), rng.normal(size=(2, 4))
    ta, tb = _leaf(a), _leaf(b)
    out = (tl.cat([ta.clip(-0.5, 0.5), tb.abs()], dim=1).min(dim=1).values * 3.0).sum()
    out.backward()
    pa = torch.tensor(a, requires_grad=True)
    pb = torch.tensor(b, requires_grad=True)
    ref = (torch.cat([pa.clamp(-0.5, 0.5), pb.abs()], dim=1).amin(dim=1) * 3.0).sum()
    ref.backward()
    np.testing.assert_allclose(out.item(), ref.item(), rtol=1e-12)
    np.testing.assert_allclose(ta.grad, pa.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(tb.grad, pb.grad.numpy(), atol=1e-12)


def test_cat_keeps_samples_per_sample_gradients(rng: np.random.Generator) -> None:
    """Joining features of a batched input with a parameter-side tensor keeps samples apart."""
    B = 4
    X = rng.normal(size=(B, 3))
    W = _leaf(rng.normal(size=(2, 6)))
    cost = (tl.cat([Tensor(X, batched=True), Tensor(X, batched=True) ** 2], axis=1) @ W.T).tanh().sum()
    cost.backward()
    assert W.grad_sample.shape == (B, 2, 6)
    for b in range(B):
        Wb = _leaf(W.data)
        xb = Tensor(X[b:b + 1])
        (tl.cat([xb, xb ** 2], axis=1) @ Wb.T).tanh().sum().backward()
        np.testing.assert_allclose(W.grad_sample[b], Wb.grad, atol=1e-12)
    np.testing.assert_allclose(W.grad, W.grad_sample.sum(0), atol=1e-12)


def test_cat_along_the_sample_axis_mixes_samples(rng: np.random.Generator) -> None:
    x = Tensor(rng.normal(size=(3, 2)), batched=True)
    w = _leaf(rng.normal(size=(2,)))
    cost = (tl.cat([x, x], axis=0) * w).sum()
    cost.backward()  # .grad is filled; reading per-sample gradients raises, naming the op
    np.testing.assert_allclose(w.grad, 2 * x.data.sum(0))
    with pytest.raises(RuntimeError, match="cat"):
        _ = w.grad_sample


def test_python_conversions_and_comparisons() -> None:
    x = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    total = x.sum()
    assert float(total) == 6.0 and int(x[1]) == 2
    assert bool(total > 5.0) and not bool(total < 5.0)
    np.testing.assert_array_equal((x >= 2.0).data, [False, True, True])
    np.testing.assert_array_equal((x <= Tensor(np.array([0.0, 2.0, 5.0]))).data, [False, True, True])
    assert not (x > 1.0).requires_grad
    with pytest.raises(ValueError, match="ambiguous"):
        bool(x)
    assert {x: 1}[x] == 1  # tensors stay hashable by identity
