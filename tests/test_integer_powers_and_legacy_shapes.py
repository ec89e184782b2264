"""Integer tensors to negative integer tensor powers, uint8 any/all, a 1-D empty piece in cat,
and the dtype a Tensor's repr names: each as torch gives it."""

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")


def test_integer_tensor_to_negative_integer_tensor_powers_truncate_as_torch():
    base = [0, 0, 5, -5, 1, -1, -1, 2, 3]
    exps = [-1, 0, -2, -1, -7, -3, -4, 3, -1]
    got = tl.tensor(base) ** tl.tensor(exps)
    want = torch.tensor(base) ** torch.tensor(exps)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got.data, want.numpy())
    np.testing.assert_array_equal(tl.pow(3, tl.tensor([-1, 2])).data, torch.pow(3, torch.tensor([-1, 2])).numpy())
    np.testing.assert_array_equal((tl.tensor([2, 3]) ** tl.tensor(-1)).data, [0, 0])


def test_integer_tensor_to_a_negative_python_int_is_refused_as_torch():
    with pytest.raises(ValueError, match="negative integer powers"):
        tl.tensor([1, 2]) ** -1


@pytest.mark.parametrize("dim", [None, 0, 1, ()])
@pytest.mark.parametrize("fn", ["any", "all"])
def test_uint8_any_all_give_uint8_as_torch(fn, dim):
    a = np.array([[1, 0, 2], [3, 4, 0]], dtype=np.uint8)
    args = () if dim is None else (dim,)
    got = getattr(tl.tensor(a), fn)(*args)
    want = getattr(torch.tensor(a), fn)(*args)
    assert got.dtype == np.uint8 and str(want.dtype) == "torch.uint8"
    np.testing.assert_array_equal(got.data, want.numpy())
    assert getattr(tl.tensor(a.astype(np.int32)), fn)(*args).dtype == np.bool_


def test_cat_takes_a_one_d_empty_piece_with_pieces_of_other_rank():
    a = tl.zeros(0, requires_grad=True)
    b = tl.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    out = tl.cat([a, b, tl.zeros(0)])
    ta, tb = torch.zeros(0, dtype=torch.float64, requires_grad=True), torch.arange(6.0).reshape(2, 3).requires_grad_()
    tout = torch.cat([ta, tb, torch.zeros(0)])
    assert out.shape == tuple(tout.shape)
    np.testing.assert_array_equal(out.data, tout.detach().numpy())
    (out * 2).sum().backward()
    (tout * 2).sum().backward()
    assert a.grad.shape == (0,)
    np.testing.assert_array_equal(b.grad, tb.grad.numpy())
    assert tl.cat([b, tl.zeros(0)], dim=1).shape == (2, 3)
    assert tl.cat([np.zeros(0), b], dim=-2).shape == (2, 3)


def test_cat_of_mismatched_ranks_still_names_the_shapes_given():
    with pytest.raises(ValueError, match=r"cat: shapes \[\(0,\), \(2, 3\), \(2,\)\]"):
        tl.cat([tl.zeros(0), tl.ones(2, 3), tl.ones(2)])


def test_repr_names_a_dtype_other_than_the_default_ones():
    assert repr(tl.tensor([1.0, 2.0], dtype=np.float16, requires_grad=True)) == \
        "tensor([1., 2.], dtype=float16, requires_grad=True)"
    assert repr(tl.tensor([1.0, 2.0], dtype=tl.float32)) == repr(torch.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(tl.zeros(0, 3, dtype=tl.int32)) == "tensor([], size=(0, 3), dtype=int32)"
    assert repr(tl.tensor([1, 2])) == "tensor([1, 2])"
    assert repr(tl.tensor([True])) == "tensor([True])"
    assert repr(tl.tensor([1.5])) == "tensor([1.5000])"
