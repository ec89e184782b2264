"""torch features ported code uses: ``//`` and ``%`` (``floor_divide``, ``remainder``,
``fmod``), ``sum`` / ``mean`` with ``dtype=``, the pools' ``ceil_mode``,
``return_indices``, ``count_include_pad`` and ``divisor_override`` (and ``max_unpool``),
``embedding`` with ``max_norm``, and the nuclear norm.

Every value and gradient is compared with torch in float64, gradients also with float64
central differences (``tl.gradcheck``), and where a parameter is involved the per-sample
gradients of a batched input with each sample run alone.
"""

from __future__ import annotations

import operator
from typing import Any, Callable

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import Tensor
from tinygrad_lite.nn import functional as F

torch = pytest.importorskip("torch")


def _tt(a: np.ndarray, grad: bool = False) -> Any:
    return torch.tensor(np.asarray(a), requires_grad=grad)


def _np(t: Any) -> np.ndarray:
    return t.detach().numpy()


def each_sample_alone(build: Callable, X: np.ndarray, params: dict, rtol: float = 1e-12) -> None:
    """``build(x, p)`` is the per-sample cost summed over the batch; ``p[name].grad_sample``
    from one backward on a batched ``X`` equals the gradient of each sample run alone."""
    ps = {k: Tensor(v.copy(), requires_grad=True) for k, v in params.items()}
    build(Tensor(X, batched=True), ps).backward()
    for b in range(len(X)):
        alone = {k: Tensor(v.copy(), requires_grad=True) for k, v in params.items()}
        build(Tensor(X[b:b + 1]), alone).backward()
        for k in params:
            np.testing.assert_allclose(ps[k].grad_sample[b], alone[k].grad, rtol=rtol, atol=1e-13, err_msg=k)


# ------------------------------------------------------------------ // and % ---------------
DIVMOD = [("floor_divide", operator.floordiv, torch.floor_divide),
          ("remainder", operator.mod, torch.remainder),
          ("fmod", None, torch.fmod)]


def _away_from_steps(rng: np.random.Generator, shape: tuple, b: np.ndarray) -> np.ndarray:
    """Dividends whose quotient by ``b`` is at least 0.05 from an integer (finite differences
    must not step over a jump)."""
    q = rng.integers(-4, 4, shape) + rng.uniform(0.05, 0.95, shape)
    return q * b


@pytest.mark.parametrize("name,sym,tfn", DIVMOD, ids=[d[0] for d in DIVMOD])
def test_divmod_float_values_and_gradients_as_torch(name: str, sym: Any, tfn: Any) -> None:
    rng = np.random.default_rng(1)
    B = rng.choice([-1, 1], (1, 4)) * rng.uniform(0.5, 2.0, (1, 4))  # broadcast over rows
    A = _away_from_steps(rng, (3, 4), B)
    R = rng.standard_normal((3, 4))
    a, b = Tensor(A, requires_grad=True), Tensor(B, requires_grad=True)
    out = getattr(a, name)(b)
    ta, tb = _tt(A, True), _tt(B, True)
    tout = tfn(ta, tb)
    np.testing.assert_allclose(out.data, _np(tout), rtol=1e-13, atol=1e-13)
    assert out.dtype == np.float64
    (out * Tensor(R)).sum().backward()
    if name == "floor_divide":  # torch's floor_divide has no backward; div(rounding_mode="floor") is 0
        tout = torch.div(ta, tb, rounding_mode="floor")
    (tout * _tt(R)).sum().backward()
    np.testing.assert_allclose(a.grad, _np(ta.grad), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(b.grad, _np(tb.grad), rtol=1e-13, atol=1e-13)
    if name != "floor_divide":
        q = (np.floor if name == "remainder" else np.trunc)(A / B)  # exact maths: d/db = -q
        np.testing.assert_allclose(b.grad, (-q * R).sum(0, keepdims=True), rtol=1e-13)
    else:
        assert not a.grad.any() and not b.grad.any()
    assert tl.gradcheck(lambda x, y: (getattr(x, name)(y) * Tensor(R)).sum(),
                        [Tensor(A, requires_grad=True), Tensor(B, requires_grad=True)])
    if sym is not None:  # the operator and the function are the same op
        np.testing.assert_array_equal(sym(a, b).data, out.data)
        np.testing.assert_array_equal(getattr(tl, name)(a, b).data, out.data)


@pytest.mark.parametrize("name,sym,tfn", DIVMOD, ids=[d[0] for d in DIVMOD])
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.float32, np.float64])
def test_divmod_signs_dtypes_and_python_numbers_as_torch(name: str, sym: Any, tfn: Any, dtype: Any) -> None:
    A = np.array([[7, -7, 7, -7, 0, 6], [5, -5, 3, -3, 9, -9]]).astype(dtype)
    B = np.array([3, 3, -3, -3, 2, -4]).astype(dtype)
    out = getattr(Tensor(A), name)(Tensor(B))
    ref = tfn(_tt(A), _tt(B))
    np.testing.assert_array_equal(out.data, _np(ref))
    assert out.dtype == _np(ref).dtype
    for c in (2, -3, 2.5, -1.5):  # a Python number on the right, and on the left
        ref = _np(tfn(_tt(A), c))
        got = getattr(Tensor(A), name)(c)
        np.testing.assert_allclose(got.data, ref, rtol=1e-6)
        int_by_float = np.dtype(dtype).kind == "i" and isinstance(c, float)  # float64 here, torch's default float
        assert got.dtype == (np.float64 if int_by_float else ref.dtype), (c, got.dtype)
        if sym is not None:
            np.testing.assert_array_equal(sym(Tensor(A), c).data, got.data)
            nz = np.where(A == 0, 1, A).astype(dtype)
            rref = _np(sym(c, _tt(nz)))
            np.testing.assert_allclose(sym(c, Tensor(nz)).data, rref, rtol=1e-6)
            np.testing.assert_allclose(getattr(tl, name)(c, Tensor(nz)).data, rref, rtol=1e-6)


def test_divmod_special_values_as_torch() -> None:
    # (a quotient that overflows, 1e308 % 1e-10, is left out: torch's vectorised loop gives nan
    # there and its one-element loop the exact fmod-based value, which is what this library gives)
    A = np.array([5.0, -5.0, np.inf, -0.0, 0.5, np.nan, 3.0, -7.0])
    B = np.array([np.inf, np.inf, 2.0, 3.0, 0.0, 1.0, -0.0, 0.1])
    for name, _, tfn in DIVMOD:
        np.testing.assert_array_equal(getattr(Tensor(A), name)(Tensor(B)).data, _np(tfn(_tt(A), _tt(B))), name)


def test_integer_division_by_zero_and_bool_are_refused() -> None:
    a = Tensor(np.array([5, -5]))
    for name, _, tfn in DIVMOD:
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            tfn(_tt(a.data), 0)
        with pytest.raises(ZeroDivisionError, match=name):
            getattr(a, name)(0)
        with pytest.raises(ZeroDivisionError, match=name):
            getattr(a, name)(Tensor(np.array([1, 0])))
        with pytest.raises(TypeError, match=f"{name}: bool"):
            getattr(Tensor(np.array([True])), name)(Tensor(np.array([True])))
    with pytest.raises(TypeError, match="fmod"):
        tl.fmod(5, a)


def test_divmod_in_place_operators() -> None:
    x = Tensor(np.array([7, -7]))
    alias = x
    x //= 2
    assert alias is x and x.data.tolist() == [3, -4]
    x %= 3
    assert x.data.tolist() == [0, 2] and x.dtype == np.int64
    w = Tensor(np.array([1.5]), requires_grad=True)
    with pytest.raises(RuntimeError, match="//="):
        w //= 2


@pytest.mark.parametrize("name", ["remainder", "fmod", "floor_divide"])
def test_divmod_per_sample_gradients_equal_each_sample_alone(name: str) -> None:
    rng = np.random.default_rng(3)
    X = rng.uniform(0.1, 0.9, (5, 4)) + rng.integers(-3, 3, (5, 4))
    W = rng.uniform(0.5, 2.0, (4,)) * rng.choice([-1, 1], (4,))

    def build(x: Tensor, p: dict) -> Tensor:  # parameter as divisor, and as dividend
        return (getattr(x * 1.7, name)(p["w"]) * x).sum() + (getattr(p["w"] * 3.1, name)(x + 5.0) * x).sum()

    each_sample_alone(build, X, {"w": W})


# ------------------------------------------------------------------ sum / mean dtype=- ---------
TORCH_DT = {np.float32: torch.float32, np.float64: torch.float64, np.int64: torch.int64, np.int16: torch.int16,
            np.int32: torch.int32}


@pytest.mark.parametrize("src", [np.float32, np.float64, np.int32, np.bool_])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.int16])
@pytest.mark.parametrize("dim", [None, 1, (0, 2)])
def test_sum_with_dtype_as_torch(src: Any, dtype: Any, dim: Any) -> None:
    A = (np.random.default_rng(4).standard_normal((2, 3, 4)) * 3)
    A = (A > 0) if src is np.bool_ else A.astype(src)
    ref = _tt(A).sum(dim=dim, dtype=TORCH_DT[dtype]) if dim is not None else _tt(A).sum(dtype=TORCH_DT[dtype])
    for out in (Tensor(A).sum(dim=dim, dtype=dtype), tl.sum(Tensor(A), dim, dtype=torch.__dict__[
            np.dtype(dtype).name])):
        assert out.dtype == np.dtype(dtype) and out.shape == tuple(ref.shape)
        np.testing.assert_allclose(out.data, _np(ref), rtol=1e-6 if np.float32 in (src, dtype) else 1e-13)


@pytest.mark.parametrize("src", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mean_with_dtype_as_torch(src: Any, dtype: Any) -> None:
    A = (np.random.default_rng(5).standard_normal((3, 4)) * 3).astype(src)
    ref = _tt(A).mean(1, dtype=TORCH_DT[dtype])
    for out in (Tensor(A).mean(1, dtype=dtype), tl.mean(Tensor(A), 1, dtype=TORCH_DT[dtype]),
                Tensor(A).mean(axis=1, dtype="float32" if dtype is np.float32 else "float64")):
        assert out.dtype == np.dtype(dtype)
        np.testing.assert_allclose(out.data, _np(ref), rtol=1e-6 if np.float32 in (src, dtype) else 1e-13)
    with pytest.raises(RuntimeError, match="dtype"):
        _tt(A).mean(dtype=torch.int64)
    with pytest.raises(TypeError, match="mean: dtype must be a float dtype, got int64"):
        Tensor(A).mean(dtype=np.int64)
    with pytest.raises(TypeError, match="mean: dtype must be a float dtype"):
        tl.mean(Tensor(A), dtype=torch.int64)


@pytest.mark.parametrize("src,dtype", [(np.float32, np.float64), (np.float64, np.float32), (np.float64, np.float64)])
def test_sum_and_mean_with_dtype_gradients_as_torch(src: Any, dtype: Any) -> None:
    rng = np.random.default_rng(6)
    A, R = rng.standard_normal((3, 4)).astype(src), rng.standard_normal(3)
    for red in ("sum", "mean"):
        a, ta = Tensor(A, requires_grad=True), _tt(A, True)
        (getattr(a, red)(1, dtype=dtype).astype(np.float64) * Tensor(R)).sum().backward()
        (getattr(ta, red)(1, dtype=TORCH_DT[dtype]).double() * _tt(R)).sum().backward()
        assert a.grad.dtype == np.dtype(src)
        np.testing.assert_allclose(a.grad, _np(ta.grad), rtol=1e-6 if np.float32 in (src, dtype) else 1e-13)
    x = Tensor(A.astype(np.float64), requires_grad=True)
    assert tl.gradcheck(lambda t: (t.mean(0, dtype=np.float64) * Tensor(R[:1])).sum(dtype=np.float64), [x])


def test_sum_with_dtype_per_sample_gradients_equal_each_sample_alone() -> None:
    rng = np.random.default_rng(7)
    X, W = rng.standard_normal((4, 5)), rng.standard_normal((3, 5))

    def build(x: Tensor, p: dict) -> Tensor:
        h = (x[:, None, :] * p["w"]).sum(2, dtype=np.float32).tanh()
        return h.mean(1, dtype=np.float64).sum(dtype=np.float64)

    each_sample_alone(build, X, {"w": W}, rtol=1e-6)


# ------------------------------------------------------------------ pools -------------------
TF = torch.nn.functional
MAX2D = [  # kernel, stride, padding, dilation, ceil_mode; odd sizes so that ceil_mode matters
    (3, 2, 0, 1, True), (3, 2, 1, 1, True), (2, 2, 0, 1, True), ((3, 2), (2, 3), (1, 0), 1, True),
    (2, 3, 1, 1, True), (3, 2, 1, 2, True), (3, 2, 1, 1, False), (2, 1, 1, (1, 2), True)]


def _pool_check(fn: Callable, tfn: Callable, shape: tuple, seed: int, **kw: Any) -> None:
    """Values (and indices), gradient of sum(out * R) as torch, and gradcheck."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal(shape)
    x, tx = Tensor(A, requires_grad=True), _tt(A, True)
    out, tout = fn(x, **kw), tfn(tx, **kw)
    if kw.get("return_indices"):
        (out, idx), (tout, tidx) = out, tout
        assert idx.dtype == np.int64 and not idx.requires_grad
        np.testing.assert_array_equal(idx.data, _np(tidx))
    assert out.shape == tuple(tout.shape), (out.shape, tout.shape)
    np.testing.assert_allclose(out.data, _np(tout), rtol=1e-13, atol=1e-14)
    R = rng.standard_normal(out.shape)
    (out * Tensor(R)).sum().backward()
    (tout * _tt(R)).sum().backward()
    np.testing.assert_allclose(x.grad, _np(tx.grad), rtol=1e-13, atol=1e-14)
    kw.pop("return_indices", None)
    assert tl.gradcheck(lambda t: (fn(t, **kw) * Tensor(R)).sum(), [Tensor(A, requires_grad=True)])


@pytest.mark.parametrize("k,s,p,d,ceil", MAX2D)
def test_max_pool2d_ceil_mode_and_indices_as_torch(k: Any, s: Any, p: Any, d: Any, ceil: bool) -> None:
    _pool_check(F.max_pool2d, TF.max_pool2d, (2, 3, 7, 8), 8, kernel_size=k, stride=s, padding=p, dilation=d,
                ceil_mode=ceil, return_indices=True)
    _pool_check(F.max_pool2d, TF.max_pool2d, (3, 6, 5), 9, kernel_size=k, stride=s, padding=p, dilation=d,
                ceil_mode=ceil)  # unbatched, without indices


@pytest.mark.parametrize("k,s,p,d,ceil", [(3, 2, 1, 1, True), (2, 2, 0, 1, True), (3, 2, 0, 2, True),
                                           (2, 3, 1, 1, True), (3, 1, 1, 1, False)])
def test_max_pool1d_ceil_mode_and_indices_as_torch(k: int, s: int, p: int, d: int, ceil: bool) -> None:
    _pool_check(F.max_pool1d, TF.max_pool1d, (2, 3, 10), 10, kernel_size=k, stride=s, padding=p, dilation=d,
                ceil_mode=ceil, return_indices=True)


AVG2D = [  # kernel, stride, padding, ceil_mode, count_include_pad, divisor_override
    (3, 2, 1, True, True, None), (3, 2, 1, True, False, None), (3, 2, 0, True, True, None),
    (2, 2, 1, True, True, None), (2, 2, 1, True, False, None), ((3, 2), (2, 3), (1, 1), True, True, None),
    (3, 2, 1, False, False, None), (3, 2, 1, True, True, 5), (3, 2, 1, False, False, -2), (2, 3, 1, True, False, 3)]


@pytest.mark.parametrize("k,s,p,ceil,inc,div", AVG2D)
def test_avg_pool2d_ceil_mode_count_include_pad_divisor_override_as_torch(k: Any, s: Any, p: Any, ceil: bool,
                                                                          inc: bool, div: Any) -> None:
    _pool_check(F.avg_pool2d, TF.avg_pool2d, (2, 3, 7, 8), 11, kernel_size=k, stride=s, padding=p, ceil_mode=ceil,
                count_include_pad=inc, divisor_override=div)
    m, tm = tl.nn.AvgPool2d(k, s, p, ceil, inc, div), torch.nn.AvgPool2d(k, s, p, ceil, inc, div)
    A = np.random.default_rng(12).standard_normal((3, 5, 7))
    np.testing.assert_allclose(m(Tensor(A)).data, _np(tm(_tt(A))), rtol=1e-13)


@pytest.mark.parametrize("k,s,p,ceil,inc", [(3, 2, 1, True, True), (3, 2, 1, True, False), (2, 2, 1, True, False),
                                             (4, 3, 2, True, True), (2, 3, 0, True, True)])
def test_avg_pool1d_ceil_mode_as_torch(k: int, s: int, p: int, ceil: bool, inc: bool) -> None:
    _pool_check(F.avg_pool1d, TF.avg_pool1d, (2, 3, 10), 13, kernel_size=k, stride=s, padding=p, ceil_mode=ceil,
                count_include_pad=inc)
    A = np.random.default_rng(14).standard_normal((2, 3, 9))
    np.testing.assert_allclose(tl.nn.AvgPool1d(k, s, p, ceil, inc)(Tensor(A)).data,
                               _np(torch.nn.AvgPool1d(k, s, p, ceil, inc)(_tt(A))), rtol=1e-13)


def test_pool_modules_take_torchs_positional_order() -> None:
    A = np.random.default_rng(15).standard_normal((2, 3, 7, 9))
    out, idx = tl.nn.MaxPool2d(3, 2, 1, 1, True, True)(Tensor(A))  # return_indices, then ceil_mode, as torch
    tout, tidx = torch.nn.MaxPool2d(3, 2, 1, 1, True, True)(_tt(A))
    np.testing.assert_array_equal(out.data, _np(tout))
    np.testing.assert_array_equal(idx.data, _np(tidx))
    out, idx = tl.nn.MaxPool1d(3, 2, 1, 1, True, True)(Tensor(A[:, :, 0]))
    tout, tidx = torch.nn.MaxPool1d(3, 2, 1, 1, True, True)(_tt(A[:, :, 0]))
    np.testing.assert_array_equal(out.data, _np(tout))
    np.testing.assert_array_equal(idx.data, _np(tidx))
    assert isinstance(tl.nn.MaxPool2d(2, ceil_mode=True)(Tensor(A)), Tensor)


@pytest.mark.parametrize("nd,k,s,p,out_size", [(2, 2, 2, 0, None), (2, 3, 3, 1, (8, 10)),
                                                (2, (2, 3), (2, 3), 0, (8, 10)), (2, 2, 2, 0, (2, 3, 9, 10)),
                                                (1, 2, 2, 0, None), (1, 3, 3, 1, (9,))])
def test_max_unpool_as_torch(nd: int, k: Any, s: Any, p: Any, out_size: Any) -> None:
    rng = np.random.default_rng(16)
    A = rng.standard_normal((2, 3, 8, 10) if nd == 2 else (2, 3, 9))
    pool, unpool = (F.max_pool2d, F.max_unpool2d) if nd == 2 else (F.max_pool1d, F.max_unpool1d)
    tpool, tunpool = (TF.max_pool2d, TF.max_unpool2d) if nd == 2 else (TF.max_pool1d, TF.max_unpool1d)
    v, idx = pool(Tensor(A), k, s, p, return_indices=True)
    tv, tidx = tpool(_tt(A), k, s, p, return_indices=True)
    x, tx = Tensor(v.data.copy(), requires_grad=True), _tt(v.data, True)
    out, tout = unpool(x, idx, k, s, p, output_size=out_size), tunpool(tx, tidx, k, s, p, output_size=out_size)
    np.testing.assert_array_equal(out.data, _np(tout))
    R = rng.standard_normal(out.shape)
    (out * Tensor(R)).sum().backward()
    (tout * _tt(R)).sum().backward()
    np.testing.assert_allclose(x.grad, _np(tx.grad), rtol=1e-13)
    mod = (tl.nn.MaxUnpool2d if nd == 2 else tl.nn.MaxUnpool1d)(k, s, p)
    np.testing.assert_array_equal(mod(Tensor(v.data), idx, out_size).data, _np(tout))
    assert tl.gradcheck(lambda t: (unpool(t, idx, k, s, p, output_size=out_size) * Tensor(R)).sum(),
                        [Tensor(v.data.copy(), requires_grad=True)])


def test_pool_arguments_are_refused_naming_the_function() -> None:
    x = Tensor(np.ones((1, 2, 4, 4)))
    with pytest.raises(ValueError, match="avg_pool2d: divisor_override must be None or a non-zero int"):
        F.avg_pool2d(x, 2, divisor_override=0)
    with pytest.raises(TypeError, match="max_pool2d: return_indices must be a bool"):
        F.max_pool2d(x, 2, return_indices="yes")
    v, idx = F.max_pool2d(x, 2, return_indices=True)
    with pytest.raises(ValueError, match=r"max_unpool2d: output_size \(9, 9\)"):
        F.max_unpool2d(v, idx, 2, output_size=(9, 9))
    with pytest.raises(ValueError, match="max_unpool2d: indices must lie in"):
        F.max_unpool2d(v, idx + 100, 2)
    with pytest.raises(ValueError, match="max_unpool2d: indices must be integers"):
        F.max_unpool2d(v, idx.data[..., :1], 2)


@pytest.mark.parametrize("kind", ["max", "avg", "unpool"])
def test_pools_per_sample_gradients_equal_each_sample_alone(kind: str) -> None:
    rng = np.random.default_rng(17)
    X, W = rng.standard_normal((3, 2, 7, 7)), rng.standard_normal((4, 2, 2, 2))

    def build(x: Tensor, p: dict) -> Tensor:
        h = F.conv2d(x, p["w"], padding=1)  # (B, 4, 8, 8)
        if kind == "max":
            h = F.max_pool2d(h, 3, 2, 1, ceil_mode=True, return_indices=True)[0]
        elif kind == "avg":
            h = F.avg_pool2d(h, 3, 2, 1, ceil_mode=True, count_include_pad=False, divisor_override=None)
        else:
            v, i = F.max_pool2d(h, 2, 2, return_indices=True)
            h = F.max_unpool2d(v * v, i, 2, 2)
        return (h * h).sum()

    each_sample_alone(build, X, {"w": W}, rtol=1e-10)


def test_max_unpool_of_overlapping_windows_as_torch() -> None:
    """Overlapping windows share a maximum: its index appears twice; torch keeps the value and
    gives the cotangent at that position to both elements."""
    A = np.array([[[1.0, 5.0, 2.0, 0.0, 3.0, -1.0, 4.0]]])
    v, idx = F.max_pool1d(Tensor(A), 3, 1, return_indices=True)
    tv, tidx = TF.max_pool1d(_tt(A), 3, 1, return_indices=True)
    assert len(set(idx.data.ravel().tolist())) < idx.data.size  # duplicates present
    x, tx = Tensor(v.data.copy(), requires_grad=True), _tt(v.data, True)
    out, tout = F.max_unpool1d(x, idx, 3, 1, output_size=(7,)), TF.max_unpool1d(tx, tidx, 3, 1, output_size=(7,))
    np.testing.assert_array_equal(out.data, _np(tout))
    R = np.arange(7.0)[None, None] + 1
    (out * Tensor(R)).sum().backward()
    (tout * _tt(R)).sum().backward()
    np.testing.assert_array_equal(x.grad, _np(tx.grad))


# ------------------------------------------------------------------ embedding max_norm ------
@pytest.mark.parametrize("max_norm,norm_type,pad", [(1.0, 2.0, None), (0.5, 1.0, None), (2.0, 3.0, 1),
                                                    (0.7, float("inf"), None), (1.2, 2.0, 0)])
def test_embedding_max_norm_renormalises_the_weight_in_place_as_torch(max_norm: float, norm_type: float,
                                                                      pad: Any) -> None:
    rng = np.random.default_rng(18)
    W0 = rng.standard_normal((6, 4)) * np.array([[0.1], [2.0], [0.3], [1.5], [3.0], [0.2]])
    I = np.array([[1, 4, 1], [0, 2, 4]])
    R = rng.standard_normal((2, 3, 4))
    W, tW = Tensor(W0.copy(), requires_grad=True), _tt(W0.copy(), True)
    alias = W.data
    out = F.embedding(Tensor(I), W, pad, max_norm, norm_type)
    tout = TF.embedding(torch.tensor(I), tW, pad, max_norm, norm_type)
    np.testing.assert_allclose(out.data, _np(tout), rtol=1e-14)
    np.testing.assert_allclose(W.data, _np(tW), rtol=1e-14)  # the weight changed in place, as torch's
    assert alias is W.data and not np.allclose(W.data, W0)
    np.testing.assert_array_equal(W.data[[3, 5]], W0[[3, 5]])  # rows not looked up are unchanged
    (out * Tensor(R)).sum().backward()
    (tout * _tt(R)).sum().backward()
    np.testing.assert_allclose(W.grad, _np(tW.grad), rtol=1e-14)


def test_embedding_module_max_norm_two_lookups_in_one_graph_as_torch() -> None:
    rng = np.random.default_rng(19)
    m, tm = tl.nn.Embedding(7, 3, max_norm=1.0), torch.nn.Embedding(7, 3, max_norm=1.0).double()
    W0 = rng.standard_normal((7, 3)) * 2
    m.load_state_dict({"weight": W0.copy()})
    with torch.no_grad():
        tm.weight.copy_(_tt(W0))
    a, b = np.array([[0, 1], [2, 1]]), np.array([[1, 5], [6, 0]])
    R = rng.standard_normal((2, 2, 3))
    out = (m(a) * Tensor(R)).sum() + (m(Tensor(b)) ** 2).sum()  # the second lookup renormalises rows 5, 6
    tout = (tm(torch.tensor(a)) * _tt(R)).sum() + (tm(torch.tensor(b)) ** 2).sum()
    np.testing.assert_allclose(out.data, tout.item(), rtol=1e-13)
    out.backward()
    tout.backward()
    np.testing.assert_allclose(m.weight.data, _np(tm.weight), rtol=1e-14)
    np.testing.assert_allclose(m.weight.grad, _np(tm.weight.grad), rtol=1e-13)
    assert "max_norm=1.0" in repr(m)


def test_embedding_max_norm_after_another_use_of_the_weight_refuses_backward_as_torch() -> None:
    W0 = np.random.default_rng(20).standard_normal((5, 3)) * 3
    tW = _tt(W0, True)
    tcost = (tW * tW).sum() + TF.embedding(torch.tensor([1, 2]), tW, max_norm=1.0).sum()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        tcost.backward()
    W = Tensor(W0, requires_grad=True)
    cost = (W * W).sum() + F.embedding(np.array([1, 2]), W, max_norm=1.0).sum()
    with pytest.raises(RuntimeError, match="changed in place"):
        cost.backward()


def test_embedding_max_norm_bad_arguments_change_nothing() -> None:
    W0 = np.full((4, 2), 5.0)
    W = Tensor(W0.copy(), requires_grad=True)
    for kw, exc, words in (({"max_norm": "1"}, TypeError, "max_norm must be a real number"),
                           ({"max_norm": 1.0, "norm_type": None}, TypeError, "norm_type must be a real number"),
                           ({"max_norm": 1.0, "sparse": True}, NotImplementedError, "sparse")):
        with pytest.raises(exc, match=words):
            F.embedding(np.array([0, 1]), W, **kw)
        np.testing.assert_array_equal(W.data, W0)
    with pytest.raises(IndexError, match="out of range"):
        F.embedding(np.array([0, 9]), W, max_norm=1.0)
    np.testing.assert_array_equal(W.data, W0)
    with pytest.raises(TypeError, match="Embedding: max_norm"):
        tl.nn.Embedding(3, 2, max_norm="big")


def test_embedding_max_norm_per_sample_gradients_equal_each_sample_alone() -> None:
    rng = np.random.default_rng(21)
    I = rng.integers(0, 6, (4, 3))
    W = rng.standard_normal((6, 5)) * 2
    L = rng.standard_normal((2, 5))

    def build(x: Tensor, p: dict) -> Tensor:
        e = F.embedding(x, p["w"], max_norm=1.5)
        return (F.linear(e, p["l"]).tanh() ** 2).sum()

    ps = {"w": Tensor(W.copy(), requires_grad=True), "l": Tensor(L.copy(), requires_grad=True)}
    build(Tensor(I, batched=True), ps).backward()
    for b in range(len(I)):
        alone = {"w": Tensor(W.copy(), requires_grad=True), "l": Tensor(L.copy(), requires_grad=True)}
        build(Tensor(I[b:b + 1]), alone).backward()
        for k in ps:
            np.testing.assert_allclose(ps[k].grad_sample[b], alone[k].grad, rtol=1e-12, atol=1e-13, err_msg=k)


# ------------------------------------------------------------------ nuclear and matrix norms -
MATRIX_ORDS = ["nuc", "fro", 2, -2, 1, -1, float("inf"), -float("inf")]


@pytest.mark.parametrize("ord", MATRIX_ORDS)
@pytest.mark.parametrize("dim,keepdim", [(None, False), ((0, 2), False), ((2, 0), True), ((-1, -2), False)])
def test_linalg_norm_matrix_orders_values_and_gradients_as_torch(ord: Any, dim: Any, keepdim: bool) -> None:
    rng = np.random.default_rng(23)
    A = rng.standard_normal((4, 3, 5) if dim is not None else (4, 5))
    x, tx = Tensor(A, requires_grad=True), _tt(A, True)
    out, tout = tl.linalg.norm(x, ord, dim, keepdim), torch.linalg.norm(tx, ord, dim, keepdim)
    assert out.shape == tuple(tout.shape)
    np.testing.assert_allclose(out.data, _np(tout), rtol=1e-13)
    R = rng.standard_normal(out.shape)
    (out * Tensor(R)).sum().backward()
    (tout * _tt(R)).sum().backward()
    np.testing.assert_allclose(x.grad, _np(tx.grad), rtol=1e-10, atol=1e-12)
    assert tl.gradcheck(lambda t: (tl.linalg.norm(t, ord, dim, keepdim) * Tensor(R)).sum(),
                        [Tensor(A, requires_grad=True)])
    ref = tl.linalg.matrix_norm(Tensor(A), ord, (-2, -1) if dim is None else dim, keepdim)
    np.testing.assert_allclose(ref.data, out.data, rtol=1e-14)


def test_nuclear_norm_of_tensor_norm_and_its_gradient_u_vt() -> None:
    rng = np.random.default_rng(24)
    A = rng.standard_normal((5, 3))
    x, tx = Tensor(A, requires_grad=True), _tt(A, True)
    out, tout = x.norm(p="nuc"), torch.norm(tx, p="nuc")
    np.testing.assert_allclose(out.data, tout.item(), rtol=1e-14)
    out.backward()
    tout.backward()
    U, _, Vh = np.linalg.svd(A, full_matrices=False)
    np.testing.assert_allclose(x.grad, U @ Vh, rtol=1e-12, atol=1e-14)  # exact maths: U V^T
    np.testing.assert_allclose(x.grad, _np(tx.grad), rtol=1e-12, atol=1e-14)
    B = rng.standard_normal((3, 4, 2))
    np.testing.assert_allclose(Tensor(B).norm(p="nuc", dim=(0, 2), keepdim=True).data,
                               _np(torch.norm(_tt(B), p="nuc", dim=(0, 2), keepdim=True)), rtol=1e-13)
    np.testing.assert_allclose(tl.linalg.svdvals(Tensor(B)).data, _np(torch.linalg.svdvals(_tt(B))), rtol=1e-13)
    np.testing.assert_allclose(tl.linalg.vector_norm(Tensor(B), 3, (0, 1)).data,
                               _np(torch.linalg.vector_norm(_tt(B), 3, (0, 1))), rtol=1e-13)
    np.testing.assert_allclose(tl.linalg.norm(Tensor(B)).data, torch.linalg.norm(_tt(B)).item(), rtol=1e-13)
    np.testing.assert_allclose(tl.linalg.norm(Tensor(B), 1, 1).data, _np(torch.linalg.norm(_tt(B), 1, 1)), rtol=1e-13)


def test_norm_bad_arguments_are_refused_naming_the_function() -> None:
    B = Tensor(np.ones((2, 3, 4)))
    for call, words in ((lambda: B.norm(p="nuc"), "norm: p='nuc' needs dim"),
                        (lambda: tl.linalg.norm(B, "nuc"), "norm: with ord='nuc' and no dim"),
                        (lambda: tl.linalg.matrix_norm(B, "nuc", (0, 0)), "two different axes"),
                        (lambda: tl.linalg.matrix_norm(B, 3), "matrix_norm: ord must be"),
                        (lambda: tl.linalg.norm(B, "nuc", 1), "is a matrix norm"),
                        (lambda: tl.linalg.svdvals(Tensor(np.ones(3))), "svdvals: the input must have at least 2")):
        with pytest.raises(ValueError, match=words):
            call()


def test_nuclear_norm_per_sample_gradients_equal_each_sample_alone_and_mixing_is_refused() -> None:
    rng = np.random.default_rng(25)
    X, W = rng.standard_normal((4, 6)), rng.standard_normal((6, 6))

    def build(x: Tensor, p: dict) -> Tensor:  # each sample's row of x @ W made into a 2 x 3 matrix
        return tl.linalg.norm((x @ p["w"]).reshape(-1, 2, 3), "nuc", (-2, -1)).sum()

    each_sample_alone(build, X, {"w": W}, rtol=1e-10)
    w = Tensor(W, requires_grad=True)
    tl.linalg.norm(Tensor(X, batched=True) @ w, "nuc").backward()  # a matrix whose rows are the samples
    with pytest.raises(RuntimeError, match="svdvals"):
        _ = w.grad_sample


@pytest.mark.parametrize("mode", [None, "floor", "trunc"])
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.float64])
def test_div_rounding_mode_values_and_gradients_as_torch(mode: Any, dtype: Any) -> None:
    rng = np.random.default_rng(26)
    A = np.array([[7, -7, 7, -7, 0, 9], [5, -5, 3, -3, 1, -9]]).astype(dtype)
    B = np.array([2, 2, -2, -2, 3, -4]).astype(dtype)
    ref = torch.div(_tt(A), _tt(B), rounding_mode=mode)
    for out in (Tensor(A).div(Tensor(B), rounding_mode=mode), tl.div(Tensor(A), B, rounding_mode=mode),
                Tensor(A).divide(Tensor(B), rounding_mode=mode)):
        if mode is None and np.dtype(dtype).kind == "i":  # true division of integers: float64 here, torch's float32
            np.testing.assert_allclose(out.data, _np(ref), rtol=1e-7)
            assert out.dtype == np.float64
            continue
        np.testing.assert_array_equal(out.data, _np(ref))
        assert out.dtype == _np(ref).dtype
    Af, Bf = rng.standard_normal((3, 4)) * 5, rng.standard_normal(4) + 3
    a, b, ta, tb = Tensor(Af, requires_grad=True), Tensor(Bf, requires_grad=True), _tt(Af, True), _tt(Bf, True)
    R = rng.standard_normal((3, 4))
    (a.div(b, rounding_mode=mode) * Tensor(R)).sum().backward()
    (torch.div(ta, tb, rounding_mode=mode) * _tt(R)).sum().backward()
    np.testing.assert_allclose(a.grad, _np(ta.grad), rtol=1e-13)
    np.testing.assert_allclose(b.grad, _np(tb.grad), rtol=1e-13)
    if np.dtype(dtype).kind == "i":
        with pytest.raises(ZeroDivisionError):
            Tensor(A).div(0, rounding_mode=mode or "trunc")
    with pytest.raises(ValueError, match="div: rounding_mode"):
        Tensor(A).div(2, rounding_mode="round")


@pytest.mark.parametrize("size", [(2, 3), (3, 7), (5, 2), (1, 1), (5, 7), (4, None)])
def test_adaptive_max_pool_indices_as_torch(size: Any) -> None:
    rng = np.random.default_rng(27)
    A = rng.standard_normal((2, 3, 5, 7))
    A[0, 0, :2, :3] = 1.5  # ties: the first maximum, as torch
    x, tx = Tensor(A, requires_grad=True), _tt(A, True)
    (out, idx), (tout, tidx) = F.adaptive_max_pool2d(x, size, True), TF.adaptive_max_pool2d(tx, size, True)
    np.testing.assert_array_equal(out.data, _np(tout))
    np.testing.assert_array_equal(idx.data, _np(tidx))
    R = rng.standard_normal(out.shape)
    (out * Tensor(R)).sum().backward()
    (tout * _tt(R)).sum().backward()
    np.testing.assert_allclose(x.grad, _np(tx.grad), rtol=1e-13)
    o1 = size[1] or 7
    (v1, i1), (tv1, ti1) = F.adaptive_max_pool1d(Tensor(A[0]), o1, True), TF.adaptive_max_pool1d(_tt(A[0]), o1, True)
    np.testing.assert_array_equal(v1.data, _np(tv1))
    np.testing.assert_array_equal(i1.data, _np(ti1))
    m, tm = tl.nn.AdaptiveMaxPool2d(size, True), torch.nn.AdaptiveMaxPool2d(size, True)
    np.testing.assert_array_equal(m(Tensor(A))[1].data, _np(tm(_tt(A))[1]))
    np.testing.assert_array_equal(tl.nn.AdaptiveMaxPool1d(o1, True)(Tensor(A[0]))[1].data,
                                  _np(torch.nn.AdaptiveMaxPool1d(o1, True)(_tt(A[0]))[1]))


def test_adaptive_max_pool_per_sample_gradients_equal_each_sample_alone() -> None:
    rng = np.random.default_rng(28)
    X, W = rng.standard_normal((3, 2, 6, 7)), rng.standard_normal((3, 2, 2, 2))

    def build(x: Tensor, p: dict) -> Tensor:
        return (F.adaptive_max_pool2d(F.conv2d(x, p["w"]), (4, 3)) ** 2).sum()

    each_sample_alone(build, X, {"w": W}, rtol=1e-10)
