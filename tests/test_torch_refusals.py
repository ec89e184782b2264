"""Inputs torch refuses or reads in its own way, which must not mean something else here:
an integer attention mask, ``ignore_index`` with probability targets, a softmax without
``dim`` on 3-D and 4-D inputs, an array put where an absent parameter or buffer stands."""

import warnings

import numpy as np
import pytest

import tinygrad_lite as tl

F = tl.nn.functional


def _qkv(seed=0):
    r = np.random.default_rng(seed)
    return [tl.Tensor(r.standard_normal((2, 3, 4))) for _ in range(3)]


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8])
def test_sdpa_refuses_an_integer_mask(dtype):
    q, k, v = _qkv()
    m = np.array([[1, 0, 0], [1, 1, 0], [1, 1, 1]], dtype=dtype)
    want = r"scaled_dot_product_attention: attn_mask must be bool.*" + np.dtype(dtype).name
    with pytest.raises(TypeError, match=want):
        F.scaled_dot_product_attention(q, k, v, attn_mask=m)
    with pytest.raises(TypeError, match="attn_mask"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=tl.tensor(m))


def test_sdpa_bool_and_float_masks_still_work():
    q, k, v = _qkv()
    allowed = np.tril(np.ones((3, 3), dtype=bool))
    a = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed).data
    b = F.scaled_dot_product_attention(q, k, v, attn_mask=np.where(allowed, 0.0, -np.inf)).data
    c = F.scaled_dot_product_attention(q, k, v, is_causal=True).data
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-15)
    np.testing.assert_allclose(a, c, rtol=0, atol=1e-15)


@pytest.mark.parametrize("shape", [(4,), (3, 4), (3, 4, 2), (3, 4, 2, 2)])
def test_cross_entropy_refuses_ignore_index_with_probability_targets(shape):
    r = np.random.default_rng(1)
    x = tl.Tensor(r.standard_normal(shape), requires_grad=True)
    p = np.full(shape, 0.25)
    with pytest.raises(ValueError, match="cross_entropy: ignore_index=1 is not supported with class probability"):
        F.cross_entropy(x, p, ignore_index=1)
    with pytest.raises(ValueError, match="ignore_index"):
        tl.nn.CrossEntropyLoss(ignore_index=0)(x, p)
    assert x.grad is None
    F.cross_entropy(x, p).backward()  # the default ignore_index is accepted
    assert x.grad is not None


def _softmax_np(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("shape,axis", [((), 0), ((5,), 0), ((2, 5), 1), ((2, 3, 4), 0), ((2, 3, 4, 5), 1),
                                        ((2, 1, 2, 3, 2), 1)])
def test_softmax_without_dim_takes_torchs_implicit_axis_and_warns(shape, axis):
    x = np.random.default_rng(2).standard_normal(shape)
    want = _softmax_np(x, axis) if x.ndim else np.ones(())
    for fn, ref in ((F.softmax, want), (F.log_softmax, np.log(want)), (F.softmin, None)):
        with pytest.warns(UserWarning, match="implicit dimension choice"):
            got = fn(tl.Tensor(x)).data
        if ref is None:
            ref = _softmax_np(-x, axis) if x.ndim else np.ones(())
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-15)
    with pytest.warns(UserWarning, match="implicit dimension choice"):
        got = tl.nn.Softmax(dim=None)(tl.Tensor(x)).data
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def test_softmax_with_dim_does_not_warn():
    x = tl.Tensor(np.random.default_rng(3).standard_normal((2, 3, 4)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.softmax(x, -1)
        F.log_softmax(x, dim=1)
        tl.nn.Softmax()(x)
        tl.nn.LogSoftmax()(x)


def test_array_into_an_absent_buffer_is_refused():
    class M(tl.nn.Module):
        def __init__(self):
            self.register_buffer("stat", None)

    m = M()
    with pytest.raises(TypeError, match="cannot assign ndarray as buffer 'stat'"):
        m.stat = np.arange(2.0)
    assert m.stat is None
    m.stat = tl.Tensor(np.arange(2.0))  # a Tensor is a buffer's value
    assert [k for k, _ in m.named_buffers()] == ["stat"] and list(m.state_dict()) == ["stat"]


@pytest.mark.parametrize("make,name", [
    (lambda: tl.nn.Linear(3, 2, bias=False), "bias"),
    (lambda: tl.nn.Conv2d(1, 2, 3, bias=False), "bias"),
    (lambda: tl.nn.LayerNorm(4, elementwise_affine=False), "weight"),
    (lambda: tl.nn.GroupNorm(2, 4, affine=False), "bias"),
    (lambda: tl.nn.BatchNorm1d(4, affine=False), "weight"),
    (lambda: tl.nn.MultiheadAttention(4, 2, bias=False), "in_proj_bias"),
])
def test_array_into_an_absent_parameter_is_refused(make, name):
    m = make()
    assert getattr(m, name) is None
    with pytest.raises(TypeError, match=f"cannot assign ndarray as parameter '{name}'"):
        setattr(m, name, np.zeros(2))
    assert getattr(m, name) is None


def test_a_parameter_set_to_none_keeps_its_slot_and_plain_attributes_stay_free():
    lin = tl.nn.Linear(3, 2)
    lin.bias = None
    with pytest.raises(TypeError, match="parameter 'bias'"):
        lin.bias = np.zeros(2)
    lin.register_parameter("extra", None)
    with pytest.raises(TypeError, match="parameter 'extra'"):
        lin.extra = 1.5

    class M(tl.nn.Module):
        def __init__(self):
            self.note = None  # a plain attribute that happens to start as None

    m = M()
    m.note = np.ones(2)  # not a parameter or buffer: any value
    assert isinstance(m.note, np.ndarray)
