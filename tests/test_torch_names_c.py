"""torch's constants, *_copy functions, angle, as_strided(_scatter), DLPack exchange, the
CPU-only queries, nonzero_static, the strided constructors and the legacy Tensor methods
(resize_, new, lu, lu_solve), checked against torch and finite differences."""

import math
import warnings

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)


def T(a, rg=False):
    return tl.tensor(np.asarray(a, dtype=np.float64), requires_grad=rg)


def fd_grad(f, x0, eps=1e-6):
    """Central differences of the scalar f at the float64 array x0."""
    g = np.zeros_like(x0)
    for i in np.ndindex(x0.shape):
        a, b = x0.copy(), x0.copy()
        a[i] += eps
        b[i] -= eps
        g[i] = (f(a) - f(b)) / (2 * eps)
    return g


# ------------------------------------------------------------------------- constants ------
def test_constants_match_torch():
    for n in ("pi", "e", "inf"):
        assert getattr(tl, n) == getattr(torch, n) and type(getattr(tl, n)) is float
    assert math.isnan(tl.nan) and type(tl.nan) is float
    assert tl.newaxis is None is torch.newaxis
    x = T(np.arange(3.0))
    assert x[:, tl.newaxis].shape == (3, 1)


def test_all_names_follow_torch_all():
    import builtins
    for n in ("pi", "e", "angle", "view_copy", "as_strided", "nonzero_static", "empty_permuted", "layout"):
        assert (n in tl.__all__) == (n in torch.__all__)
    for n in ("from_dlpack", "to_dlpack", "strided"):
        assert n not in tl.__all__ and hasattr(tl, n)
    assert not [n for n in tl.__all__ if hasattr(builtins, n)]


def test_layout_object():
    x = T([1.0, 2.0])
    assert x.layout is tl.strided and isinstance(tl.strided, tl.layout)
    assert repr(tl.strided) == "tinygrad_lite.strided"
    assert str(torch.tensor([1.0]).layout) == "torch.strided"  # (torch's analogue)
    import pickle
    assert pickle.loads(pickle.dumps(tl.strided)) is tl.strided


# ------------------------------------------------------------------------- *_copy ---------
COPIES = [
    ("alias_copy", (), {}), ("detach_copy", (), {}), ("diagonal_copy", (0, 1, 2), {}),
    ("diagonal_copy", (), {"offset": 1, "dim1": 0, "dim2": 2}), ("permute_copy", ((2, 0, 1),), {}),
    ("select_copy", (1, -1), {}), ("slice_copy", (), {}), ("slice_copy", (1, 1, None, 2), {}),
    ("slice_copy", (), {"dim": 2, "start": -3, "end": 10, "step": 2}), ("slice_copy", (0, 5, 6), {}),
    ("split_copy", (2, 2), {}), ("split_copy", (), {"split_size": 1, "dim": 1}),
    ("split_with_sizes_copy", ([1, 3], 2), {}), ("split_with_sizes_copy", (), {"split_sizes": [2, 1], "dim": -2}),
    ("transpose_copy", (0, 2), {}), ("transpose_copy", (), {"dim0": 1, "dim1": -1}), ("unbind_copy", (1,), {}),
    ("unbind_copy", (), {"dim": 2}), ("unfold_copy", (2, 2, 1), {}),
    ("unfold_copy", (), {"dimension": 1, "size": 2, "step": 2}), ("unsqueeze_copy", (3,), {}),
    ("view_copy", ((4, 6),), {}), ("view_copy", ([-1],), {}), ("view_copy", (), {"size": (6, 4)}),
    ("as_strided_copy", ((3, 3), (1, 2), 4), {}), ("as_strided_copy", ((2, 2), (1, 2)), {}),
]


def _pair(name, args, kwargs, x0):
    xt = torch.tensor(x0, requires_grad=True)
    xl = T(x0, True)
    return xl, getattr(tl, name)(xl, *args, **kwargs), xt, getattr(torch, name)(xt, *args, **kwargs)


@pytest.mark.parametrize("name,args,kwargs", COPIES)
def test_copy_functions_match_torch(name, args, kwargs):
    x0 = RNG.standard_normal((2, 3, 4))
    xl, ol, xt, ot = _pair(name, args, kwargs, x0)
    outs_l = ol if isinstance(ol, tuple) else (ol,)
    outs_t = ot if isinstance(ot, tuple) else (ot,)
    assert type(ol) is type(ot) if isinstance(ot, tuple) else not isinstance(ol, tuple)
    assert len(outs_l) == len(outs_t)
    for a, b in zip(outs_l, outs_t):
        assert tuple(a.shape) == tuple(b.shape) and a.dtype == np.float64
        np.testing.assert_array_equal(a.data, b.detach().numpy())
        assert not np.shares_memory(a.data, xl.data)  # a copy, not a view
    if name == "detach_copy":
        assert not ol.requires_grad  # (torch marks it requiring grad with no derivative; see the module)
        return
    ws = [RNG.standard_normal(a.shape) for a in outs_l]
    sum(((a * tl.tensor(w)).sum() for a, w in zip(outs_l, ws)), T(0.0)).backward()
    sum((b * torch.tensor(w)).sum() for b, w in zip(outs_t, ws)).backward()
    np.testing.assert_allclose(xl.grad, xt.grad.numpy(), rtol=1e-12, atol=0)


def test_copy_gradient_finite_differences():
    x0 = RNG.standard_normal((3, 4))
    w = RNG.standard_normal((3, 3))

    def f(a):
        return float((tl.unfold_copy(T(a), 1, 2, 1)[..., 0] * tl.tensor(w)).sum().data)

    x = T(x0, True)
    (tl.unfold_copy(x, 1, 2, 1)[..., 0] * tl.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad, fd_grad(f, x0), rtol=1e-7, atol=1e-8)  # (central differences: O(eps^2))


def test_copy_functions_other_forms():
    x0 = RNG.standard_normal((1, 3, 1))
    for args in ((), (0,), ((0, 2),)):
        np.testing.assert_array_equal(tl.squeeze_copy(T(x0), *args).data, torch.squeeze_copy(torch.tensor(x0), *args))
    np.testing.assert_array_equal(tl.expand_copy(T(x0), (2, 3, 5)).data, torch.expand_copy(torch.tensor(x0), (2, 3, 5)))
    m = RNG.standard_normal((3, 2))
    np.testing.assert_array_equal(tl.t_copy(T(m)).data, torch.t_copy(torch.tensor(m)))
    v = tl.view_copy(T([1.0, 2.0]), tl.int32)
    np.testing.assert_array_equal(v.data, torch.view_copy(torch.tensor([1.0, 2.0], dtype=torch.float64), torch.int32))


@pytest.mark.parametrize("call", [
    lambda m, x: m.expand_copy(x, 2, 3, 4), lambda m, x: m.permute_copy(x, 2, 0, 1),
    lambda m, x: m.t_copy(x), lambda m, x: m.slice_copy(x, 0, step=0), lambda m, x: m.slice_copy(x, 0, step=-1),
    lambda m, x: m.view_copy(x, 5, 5), lambda m, x: m.select_copy(x, 0, 7), lambda m, x: m.alias_copy(x, 1),
])
def test_copy_functions_refuse_as_torch(call):
    x0 = np.ones((2, 3, 4))
    with pytest.raises((TypeError, RuntimeError, IndexError)):
        call(torch, torch.tensor(x0))
    with pytest.raises((TypeError, ValueError, RuntimeError, IndexError)):
        call(tl, T(x0))


def test_copy_functions_refuse_non_tensor():
    with pytest.raises(TypeError, match="alias_copy"):
        tl.alias_copy([1.0, 2.0])


# ---------------------------------------------------------------------------- angle ------
def test_angle_values_and_gradient():
    vals = [-1.0, 0.0, -0.0, 2.0, float("nan"), -float("inf"), float("inf"), -1e-300]
    xl, xt = T(vals, True), torch.tensor(vals, dtype=torch.float64, requires_grad=True)
    ol, ot = tl.angle(xl), torch.angle(xt)
    np.testing.assert_array_equal(ol.data, ot.detach().numpy())
    np.testing.assert_array_equal(xl.angle().data, ot.detach().numpy())
    ol.sum().backward()
    ot.sum().backward()
    np.testing.assert_array_equal(xl.grad, xt.grad.numpy())
    x0 = np.array([-1.5, 0.7, 2.0])
    np.testing.assert_array_equal(xl.grad[:3] * 0, fd_grad(lambda a: float(tl.angle(T(a)).sum().data), x0))


def test_angle_dtypes():
    for dt, tdt in ((np.float32, torch.float32), (np.float16, torch.float16)):
        out = tl.angle(tl.tensor(np.array([-1, 2], dt)))
        assert out.dtype == dt and torch.angle(torch.tensor([-1, 2], dtype=tdt)).dtype == tdt
    for ints in ([-1, 0, 3], [True, False]):
        out = tl.angle(tl.tensor(ints))
        assert out.dtype == tl.get_default_dtype()  # (torch: its default float dtype, float32)
        np.testing.assert_allclose(out.data, torch.angle(torch.tensor(ints)).numpy(), rtol=1e-7)
    with pytest.raises(TypeError):
        tl.angle(3.0)


# ------------------------------------------------------------------------ as_strided -----
STRIDED = [((2, 2), (1, 2), None), ((3, 3), (1, 1), 1), ((0, 5), (100, 100), None), ((), (), 5),
           ((2, 2), (0, 0), 3), ((2, 3, 2), (6, 2, 1), 0), ((4,), (3,), 1), ((2, 2), (4, 1), 3)]


@pytest.mark.parametrize("size,stride,off", STRIDED)
def test_as_strided_matches_torch(size, stride, off):
    x0 = RNG.standard_normal(12)
    xl, xt = T(x0, True), torch.tensor(x0, requires_grad=True)
    ol, ot = tl.as_strided(xl, size, stride, off), torch.as_strided(xt, size, stride, off)
    assert tuple(ol.shape) == tuple(ot.shape)
    np.testing.assert_array_equal(ol.data, ot.detach().numpy())
    np.testing.assert_array_equal(xl.as_strided(size, stride, off).data, ot.detach().numpy())
    np.testing.assert_array_equal(tl.as_strided_copy(xl, size, stride, off).data, ot.detach().numpy())
    w = RNG.standard_normal(ot.shape)
    (ol * tl.tensor(w)).sum().backward()
    (ot * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(xl.grad, xt.grad.numpy(), rtol=1e-12, atol=0)


def test_as_strided_2d_input_and_fd():
    x0 = RNG.standard_normal((3, 4))
    np.testing.assert_array_equal(tl.as_strided(T(x0), (3, 2), (2, 3), 1).data,
                                  torch.as_strided(torch.tensor(x0), (3, 2), (2, 3), 1).numpy())
    w = RNG.standard_normal((3, 3))
    x = T(x0, True)
    (tl.as_strided(x, (3, 3), (1, 1), 2) * tl.tensor(w)).sum().backward()  # overlapping windows
    f = lambda a: float((tl.as_strided(T(a), (3, 3), (1, 1), 2) * tl.tensor(w)).sum().data)  # noqa: E731
    np.testing.assert_allclose(x.grad, fd_grad(f, x0), rtol=1e-7, atol=1e-8)


def test_as_strided_non_contiguous_uses_row_major_values():
    x0 = np.arange(6.0).reshape(2, 3)
    out = tl.as_strided(T(x0).t(), (2, 2), (1, 2))  # the values of x.T in row-major order: 0 3 1 4 2 5
    np.testing.assert_array_equal(out.data, np.array([[0.0, 1.0], [3.0, 4.0]]))


@pytest.mark.parametrize("size,stride,off,exc", [
    ((3, 3), (1, 2), None, RuntimeError), ((2,), (-1,), None, RuntimeError), ((2,), (1,), -1, RuntimeError),
    ((2, 2), (1,), None, RuntimeError), ((), (), 6, RuntimeError), ((2, 2), (1.0, 2), None, TypeError),
    (2, 1, None, TypeError), ((2, -1), (1, 1), None, RuntimeError),
])
def test_as_strided_refuses_as_torch(size, stride, off, exc):
    x0 = np.arange(6.0)
    with pytest.raises(exc):
        torch.as_strided(torch.tensor(x0), size, stride, off)
    with pytest.raises(exc, match="as_strided"):
        tl.as_strided(T(x0), size, stride, off)
    with pytest.raises(exc, match="as_strided_scatter"):
        tl.as_strided_scatter(T(x0), T(np.ones(4)), size, stride, off)


@pytest.mark.parametrize("size,stride,off", [((2, 2), (1, 2), None), ((2, 2), (1, 3), 1), ((3,), (2,), 0),
                                             ((2, 2), (1, 1), None), ((1, 2), (0, 1), 2), ((3,), (1,), 3)])
def test_as_strided_scatter_matches_torch(size, stride, off):
    x0, s0 = RNG.standard_normal(6), RNG.standard_normal(size)
    xl, sl = T(x0, True), T(s0, True)
    xt, st = torch.tensor(x0, requires_grad=True), torch.tensor(s0, requires_grad=True)
    ol, ot = tl.as_strided_scatter(xl, sl, size, stride, off), torch.as_strided_scatter(xt, st, size, stride, off)
    np.testing.assert_array_equal(ol.data, ot.detach().numpy())  # (overlaps: the last write wins in both)
    w = RNG.standard_normal(6)
    (ol * tl.tensor(w)).sum().backward()
    (ot * torch.tensor(w)).sum().backward()
    pos = torch.as_strided(torch.arange(6), size, stride, off).reshape(-1)
    if len(set(pos.tolist())) == pos.numel():  # torch's src gradient is exact without overlaps
        np.testing.assert_allclose(sl.grad, st.grad.numpy(), rtol=1e-12, atol=0)
    # torch 2.x gives the input the cotangent ON the written positions (its own gradcheck fails):
    # both gradients are checked against finite differences instead
    fx = lambda a: float((tl.as_strided_scatter(T(a), T(s0), size, stride, off) * tl.tensor(w)).sum().data)  # noqa: E731
    fs = lambda a: float((tl.as_strided_scatter(T(x0), T(a), size, stride, off) * tl.tensor(w)).sum().data)  # noqa: E731
    np.testing.assert_allclose(xl.grad, fd_grad(fx, x0), rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(sl.grad, fd_grad(fs, s0), rtol=1e-7, atol=1e-8)


def test_as_strided_scatter_dtypes_and_errors():
    x = tl.tensor(np.arange(6, dtype=np.int32))
    out = tl.as_strided_scatter(x, T(np.full((2, 2), 7.9)), (2, 2), (1, 3), 1)
    ref = torch.as_strided_scatter(torch.arange(6, dtype=torch.int32), torch.full((2, 2), 7.9, dtype=torch.float64),
                                   (2, 2), (1, 3), 1)
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out.data, ref.numpy())
    for bad in (np.ones(4), np.ones((1, 4))):
        with pytest.raises(RuntimeError):
            torch.as_strided_scatter(torch.zeros(6, dtype=torch.float64), torch.tensor(bad), (2, 2), (1, 2))
        with pytest.raises(ValueError, match="src of shape"):
            tl.as_strided_scatter(T(np.zeros(6)), T(bad), (2, 2), (1, 2))
    with pytest.raises(TypeError, match="src"):
        tl.as_strided_scatter(T(np.zeros(6)), np.ones((2, 2)), (2, 2), (1, 2))
    with pytest.raises(RuntimeError):
        torch.as_strided_scatter(torch.zeros(6, dtype=torch.float64), torch.ones(2, 2, dtype=torch.float64), (2, 2),
                                 (0, 1), 2)
    with pytest.raises(RuntimeError, match="stride 0"):
        tl.as_strided_scatter(T(np.zeros(6)), T(np.ones((2, 2))), (2, 2), (0, 1), 2)


# --------------------------------------------------------------------------- DLPack ------
DTYPES = [np.bool_, np.int8, np.uint8, np.int16, np.int32, np.int64, np.float16, np.float32, np.float64]


@pytest.mark.parametrize("dt", DTYPES)
def test_dlpack_to_torch_and_numpy(dt):
    a = (RNG.standard_normal((3, 4)) * 10).astype(dt)
    x = tl.tensor(a)
    t = torch.from_dlpack(x)
    assert str(t.dtype) == "torch." + ("bool" if dt is np.bool_ else np.dtype(dt).name)
    np.testing.assert_array_equal(t.numpy(), a)
    n = np.from_dlpack(x)
    assert n.dtype == dt and np.shares_memory(n, x.data)
    assert t.data_ptr() == x.data_ptr()  # zero-copy
    back = tl.from_dlpack(t)
    assert back.dtype == dt and np.shares_memory(back.data, x.data)
    np.testing.assert_array_equal(tl.from_dlpack(np.asarray(a)).data, a)


def test_dlpack_non_contiguous_and_sharing():
    x = T(np.arange(12.0).reshape(3, 4))
    for v in (x.t(), x[:, ::2], x[1:]):
        t = torch.from_dlpack(v)
        np.testing.assert_array_equal(t.numpy(), v.data)
        assert t.stride() == v.stride()
    flipped = tl.from_numpy(np.arange(6.0)[::-1])  # negative strides: exported as a copy torch can read
    np.testing.assert_array_equal(torch.from_dlpack(flipped).numpy(), flipped.data)
    t = torch.from_dlpack(x)
    t[0, 0] = 100.0
    assert x.data[0, 0] == 100.0
    tt = torch.arange(12.0).reshape(3, 4).t()
    y = tl.from_dlpack(tt)
    assert y.stride() == tt.stride()
    np.testing.assert_array_equal(y.data, tt.numpy())
    tt[0, 0] = -5.0
    assert y.data[0, 0] == -5.0
    assert tl.from_dlpack(torch.ones(3).expand(2, 3)).stride() == (0, 1)
    z = tl.from_dlpack(tt, copy=True)
    assert not np.shares_memory(z.data, y.data)


def test_dlpack_capsules_and_device():
    x = T([1.0, 2.0, 3.0])
    assert x.__dlpack_device__() == tuple(torch.ones(1).__dlpack_device__()) == (1, 0)
    cap = tl.to_dlpack(x)
    t = torch.from_dlpack(cap)
    np.testing.assert_array_equal(t.numpy(), x.data)
    assert t.data_ptr() == x.data_ptr()
    y = tl.from_dlpack(torch.to_dlpack(torch.tensor([4.0, 5.0])))
    np.testing.assert_array_equal(y.data, [4.0, 5.0])
    np.testing.assert_array_equal(tl.from_dlpack(tl.to_dlpack(x)).data, x.data)
    e = tl.ones(3).expand(2, 3)  # read-only data goes as a copy
    np.testing.assert_array_equal(torch.from_dlpack(tl.to_dlpack(e)).numpy(), np.ones((2, 3)))


def test_dlpack_refusals_as_torch():
    with pytest.raises(BufferError):
        np.from_dlpack(torch.ones(2, requires_grad=True))
    with pytest.raises(BufferError, match="requires grad"):
        np.from_dlpack(T([1.0, 2.0], True))
    with pytest.raises(BufferError, match="requires grad"):
        torch.from_dlpack(T([1.0, 2.0], True))
    with pytest.raises(TypeError, match="from_dlpack"):
        tl.from_dlpack(3)
    with pytest.raises(TypeError, match="from_dlpack"):
        tl.from_dlpack(torch.ones(2, dtype=torch.bfloat16))
    with pytest.raises(TypeError, match="complex"):
        tl.from_dlpack(np.ones(2, np.complex64))
    with pytest.raises(RuntimeError):
        tl.from_dlpack(np.ones(2), device="cuda")


# ----------------------------------------------------------------------- queries ----------
def test_cpu_queries_match_torch():
    x, xt = T([1.0, 2.0]), torch.tensor([1.0, 2.0])
    assert tl.get_device(x) == x.get_device() == torch.get_device(xt) == -1
    assert tl.is_storage(x) is torch.is_storage(xt) is False
    assert tl.is_storage(3) is torch.is_storage(3) is False
    assert tl.is_distributed(x) is x.is_distributed() is torch.is_distributed(xt) is False
    for n in ("is_xpu", "is_mps", "is_mtia", "is_ipu", "is_maia", "is_vulkan", "is_xla"):
        assert getattr(x, n) is getattr(xt, n) is False
        assert isinstance(getattr(tl.Tensor, n), property) == (type(getattr(torch.Tensor, n)).__name__ ==
                                                               "getset_descriptor")
    for bad in (tl.get_device, tl.is_distributed):
        with pytest.raises(TypeError):
            bad(3)
    with pytest.raises(TypeError):
        torch.get_device(3)


def test_to_dense_volatile_output_nr():
    x, xt = T([1.0, 2.0], True), torch.tensor([1.0, 2.0], requires_grad=True)
    assert x.to_dense() is x and xt.to_dense() is xt
    assert x.to_dense(tl.float32).dtype == np.float32
    with pytest.warns(UserWarning, match="volatile"):
        assert x.volatile is False
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        assert xt.volatile is False
    assert x.output_nr == xt.output_nr == 0
    assert (x * 2).output_nr == (xt * 2).output_nr == 0


@pytest.mark.parametrize("make", [
    lambda m: m.ones(2, 3), lambda m: m.ones(2, 3).t(), lambda m: m.ones(2, 3, 4).permute(2, 0, 1),
    lambda m: m.ones(2, 1, 3), lambda m: m.ones(3, 1).t(), lambda m: m.ones(2, 3).expand(4, 2, 3),
    lambda m: m.ones(4, 3)[::2], lambda m: m.ones(2, 3, 4, 5).permute(0, 2, 3, 1), lambda m: m.ones(5, 3)[:, :2].t(),
    lambda m: m.ones(1, 1), lambda m: m.ones(()), lambda m: m.ones(2, 1, 3, 3), lambda m: m.ones(3, 1).expand(3, 4).t(),
])
def test_dim_order_matches_torch(make):
    x, xt = make(tl), make(torch)
    assert x.stride() == xt.stride()
    assert x.dim_order() == xt.dim_order()
    try:
        want = xt.dim_order(ambiguity_check=True)
    except RuntimeError:
        with pytest.raises(RuntimeError, match="dim_order"):
            x.dim_order(ambiguity_check=True)
    else:
        assert x.dim_order(ambiguity_check=True) == want


# --------------------------------------------------------------------- nonzero_static -----
@pytest.mark.parametrize("a,size,fill", [([[0, 1.0, 2], [3, 0, 4]], 6, -1), ([[0, 1.0, 2], [3, 0, 4]], 2, -1),
                                         ([[0, 1.0, 2], [3, 0, 4]], 6, 9), ([1, 0, 2], 3, -1), (3.0, 2, -1),
                                         ([[0.0, 0.0]], 0, -1), ([True, False, True], 4, 0)])
def test_nonzero_static_matches_torch(a, size, fill):
    x = tl.tensor(a)
    ref = torch.nonzero_static(torch.tensor(a), size=size, fill_value=fill)
    out = tl.nonzero_static(x, size=size, fill_value=fill)
    assert out.dtype == np.int64 and tuple(out.shape) == tuple(ref.shape)
    np.testing.assert_array_equal(out.data, ref.numpy())
    np.testing.assert_array_equal(x.nonzero_static(size=size, fill_value=fill).data, ref.numpy())


def test_nonzero_static_refuses_as_torch():
    xt, x = torch.tensor([1.0, 0.0]), T([1.0, 0.0])
    for kw, exc in (({"size": -1}, RuntimeError), ({"size": 2, "fill_value": 2.5}, TypeError)):
        with pytest.raises(exc):
            torch.nonzero_static(xt, **kw)
        with pytest.raises(exc, match="nonzero_static"):
            tl.nonzero_static(x, **kw)
    with pytest.raises(TypeError):
        torch.nonzero_static(xt, 2)
    with pytest.raises(TypeError):
        tl.nonzero_static(x, 2)


# ---------------------------------------------------------------- strided constructors ----
@pytest.mark.parametrize("size,stride", [((2, 3), (1, 2)), ((2, 3), (3, 1)), ((2,), (2,)), ((0, 3), (5, 1)),
                                         ((2, 2), (0, 1))])
def test_empty_strided_matches_torch(size, stride):
    t = torch.empty_strided(size, stride, dtype=torch.float64)
    x = tl.empty_strided(size, stride, dtype=tl.float64)
    assert tuple(x.shape) == tuple(t.shape) and x.stride() == t.stride() and x.dtype == np.float64
    assert tl.empty_strided(size, stride).dtype == tl.get_default_dtype()
    y = T([1.0]).new_empty_strided(size, stride)
    assert y.stride() == t.stride() and y.dtype == np.float64
    assert T([1.0]).new_empty_strided(size, stride, dtype=tl.int64).dtype == np.int64
    assert tl.empty_strided(size, stride, requires_grad=True, layout=tl.strided).requires_grad


def test_empty_strided_refuses_as_torch():
    for size, stride in (((2, 3), (1,)), ((2, 3), (-1, 1))):
        with pytest.raises(RuntimeError):
            torch.empty_strided(size, stride)
        with pytest.raises(RuntimeError, match="empty_strided"):
            tl.empty_strided(size, stride)


@pytest.mark.parametrize("size,perm", [((2, 3, 4), (2, 0, 1)), ((2, 3, 4), (0, 1, 2)), ((2, 3), (1, 0)), ((), ())])
def test_empty_permuted_matches_torch(size, perm):
    t = torch.empty_permuted(size, perm, dtype=torch.float64)
    x = tl.empty_permuted(size, perm, dtype=tl.float64, requires_grad=True)
    assert tuple(x.shape) == tuple(t.shape) and x.stride() == t.stride() and x.requires_grad


def test_empty_permuted_refuses_as_torch():
    for perm in ((0, 0, 1), (0, 1), (2, -1, 0)):
        with pytest.raises(RuntimeError):
            torch.empty_permuted((2, 3, 4), perm)
        with pytest.raises(RuntimeError, match="empty_permuted"):
            tl.empty_permuted((2, 3, 4), perm)


# ------------------------------------------------------------------- lu / lu_solve --------
@pytest.mark.filterwarnings("ignore:torch.lu")
def test_lu_methods_match_torch():
    A0, b0 = RNG.standard_normal((2, 3, 3)), RNG.standard_normal((2, 3, 2))
    LU, piv = T(A0).lu()
    LUt, pivt = torch.tensor(A0).lu()
    np.testing.assert_allclose(LU.data, LUt.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(piv.data, pivt.numpy())
    out = T(A0).lu(get_infos=True)
    assert len(out) == 3 and np.all(out[2].data == 0)
    X = T(b0).lu_solve(LU, piv)
    np.testing.assert_allclose(X.data, torch.tensor(b0).lu_solve(LUt, pivt).numpy(), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------- resize_ / new -----
@pytest.mark.parametrize("sizes", [(2, 2), ((2, 2),), ([3],), (6,), (0,), (2, 5), (3, 3)])
def test_resize_matches_torch_on_kept_elements(sizes):
    x0 = np.arange(6.0)
    x, t = T(x0), torch.tensor(x0)
    assert x.resize_(*sizes) is x
    t.resize_(*sizes)
    assert tuple(x.shape) == tuple(t.shape)
    k = min(6, t.numel())
    np.testing.assert_array_equal(x.data.reshape(-1)[:k], t.reshape(-1)[:k].numpy())
    assert not x.data.reshape(-1)[k:].any()  # new elements: zeros here (torch: uninitialised)


def test_resize_as_and_refusals():
    x = T(np.arange(6.0))
    x.resize_as_(tl.tensor(np.ones((2, 2), np.int64)))
    np.testing.assert_array_equal(x.data, torch.arange(6.0).resize_as_(torch.ones(2, 2, dtype=torch.int64)))
    for fn in (lambda m, y: y.resize_(2), lambda m, y: y.resize_(3), lambda m, y: y.resize_as_(m.ones(3))):
        with pytest.raises(RuntimeError):
            fn(torch, torch.ones(3, requires_grad=True))
        y = T(np.ones(3), True)
        with pytest.raises(RuntimeError, match="requires grad"):
            fn(tl, y)
        assert y.shape == (3,)
    for bad in ((-1,), (2.0,), ()):
        with pytest.raises((TypeError, RuntimeError)):
            torch.zeros(3).resize_(*bad)
        with pytest.raises((TypeError, ValueError, RuntimeError)):
            T(np.zeros(3)).resize_(*bad)
    with pytest.raises(TypeError):
        T(np.zeros(3)).resize_as_([1, 2])


@pytest.mark.parametrize("args", [(2, 3), ([1, 2],), ((1, 2),), (), ([[1, 2], [3, 4]],), (5,),
                                  ("size", (2, 3)), (np.array([1, 2]),)])
def test_new_matches_torch(args):
    if args and isinstance(args[0], str):
        args = (tl.Size(args[1]),)
        targs = (torch.Size(args[0]),)
    else:
        targs = args
    for x, t in ((T([1.0, 2.0]), torch.tensor([1.0, 2.0], dtype=torch.float64)),
                 (tl.tensor([1, 2]), torch.tensor([1, 2]))):
        out, ref = x.new(*args), t.new(*targs)
        assert tuple(out.shape) == tuple(ref.shape) and out.dtype == x.dtype and not out.requires_grad
        if args and not isinstance(args[0], (int, tl.Size)):
            np.testing.assert_array_equal(out.data, ref.numpy())
    assert tl.tensor([1, 2]).new([1.5, 2.7]).data.tolist() == torch.tensor([1, 2]).new([1.5, 2.7]).tolist()


def test_new_of_a_tensor_and_refusals():
    x, y = T([1.0, 2.0]), T([3.0, 4.0], True)
    z = x.new(y)
    assert np.shares_memory(z.data, y.data) and z.requires_grad
    z.sum().backward()
    np.testing.assert_array_equal(y.grad, [1.0, 1.0])
    for bad in ((tl.tensor([1, 2]),), (3.5,), (-1,), (2, [3])):
        tbad = tuple(torch.tensor(b.data) if isinstance(b, tl.Tensor) else b for b in bad)
        with pytest.raises((TypeError, RuntimeError)):
            torch.tensor([1.0]).new(*tbad)
        with pytest.raises((TypeError, ValueError, RuntimeError), match="new"):
            x.new(*bad)
