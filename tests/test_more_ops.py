"""The ops of ops.mathmore, torchmore and morefunctions against torch (values and float64
gradients), finite differences, edge cases and per-sample gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_lite as tl
from tinygrad_lite import Tensor

torch = pytest.importorskip("torch")

TOL = dict(rtol=1e-10, atol=1e-12)


def _pair(a: np.ndarray, grad: bool = True) -> tuple:
    return Tensor(a.copy(), requires_grad=grad), torch.tensor(a.copy(), requires_grad=grad)


def _same(ours: object, theirs: object, **tol: float) -> None:
    o = ours.data if isinstance(ours, Tensor) else np.asarray(ours)
    t = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    assert o.shape == t.shape, (o.shape, t.shape)
    if o.dtype.kind in "biu" or t.dtype.kind in "biu":
        np.testing.assert_array_equal(o, t)
    else:
        np.testing.assert_allclose(o, t, **(tol or TOL))


def _compare(f_ours, f_torch, *arrays: np.ndarray, seed: int = 0, grad: bool = True) -> None:
    """Values and the gradients of sum(out * w) (w random) of every input vs torch."""
    ours, theirs = zip(*[_pair(a, grad) for a in arrays])
    o, t = f_ours(*ours), f_torch(*theirs)
    _same(o, t)
    if not grad:
        return
    w = np.random.default_rng(seed).normal(size=o.data.shape)
    (o * Tensor(w)).sum().backward()
    (t * torch.tensor(w)).sum().backward()
    for a, b in zip(ours, theirs):
        _same(a.grad if a.grad is not None else np.zeros(a.data.shape), b.grad if b.grad is not None
              else torch.zeros(b.shape, dtype=torch.float64))


def _numeric(f, arrays: list, h: float = 1e-6) -> list:
    """Central differences of sum(f(*arrays) * w) for a fixed random w."""
    base_out = f(*[Tensor(a) for a in arrays]).data
    w = np.random.default_rng(1).normal(size=base_out.shape)
    grads = []
    for k, a in enumerate(arrays):
        g = np.zeros_like(a)
        for i in np.ndindex(a.shape):
            vals = []
            for s in (h, -h):
                b = [x.copy() for x in arrays]
                b[k][i] += s
                vals.append(float((f(*[Tensor(x) for x in b]).data * w).sum()))
            g[i] = (vals[0] - vals[1]) / (2 * h)
        grads.append(g)
    ts = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    (f(*ts) * Tensor(w)).sum().backward()
    return [(t.grad, g) for t, g in zip(ts, grads)]


# ------------------------------------------------------------------ elementwise ----------
UNARY = [("tan", -1.2, 1.2), ("atan", -3, 3), ("asin", -0.95, 0.95), ("acos", -0.95, 0.95), ("sinh", -3, 3),
         ("cosh", -3, 3), ("asinh", -3, 3), ("acosh", 1.1, 4), ("atanh", -0.95, 0.95), ("erfinv", -0.99, 0.99),
         ("arctan", -3, 3), ("arcsin", -0.9, 0.9), ("arccos", -0.9, 0.9), ("arcsinh", -3, 3), ("arccosh", 1.1, 3),
         ("arctanh", -0.9, 0.9), ("frac", -5, 5), ("trunc", -5, 5), ("fix", -5, 5)]


@pytest.mark.parametrize("name,lo,hi", UNARY)
def test_unary_values_and_gradients_match_torch(name: str, lo: float, hi: float) -> None:
    a = np.random.default_rng(2).uniform(lo, hi, size=(3, 4))
    _compare(lambda x: getattr(x, name)(), lambda x: getattr(x, name)(), a)
    _compare(lambda x: getattr(tl, name)(x), lambda x: getattr(torch, name)(x), a)


@pytest.mark.parametrize("name", ["tan", "atan", "asin", "acos", "sinh", "cosh", "asinh", "acosh", "atanh", "erfinv"])
def test_unary_edges_match_torch(name: str) -> None:
    a = np.array([-np.inf, -1.0, -0.0, 0.0, 1.0, np.inf, np.nan, 2.0, -2.0, 0.5])
    _same(getattr(Tensor(a), name)(), getattr(torch.tensor(a), name)(), rtol=1e-12, atol=0)
    assert getattr(Tensor(np.zeros((0, 3))), name)().shape == (0, 3)
    # integer tensors compute in float64 here (the library's default float)
    _same(getattr(tl.tensor([1, 0]), name)(), getattr(torch.tensor([1.0, 0.0], dtype=torch.float64), name)())


def test_erfinv_without_scipy_matches_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    from tinygrad_lite.ops import mathmore, nnops
    monkeypatch.setattr(mathmore, "_scipy_erfinv", None)
    monkeypatch.setattr(nnops, "_erf", None)
    a = np.concatenate([np.linspace(-0.99, 0.99, 41), [-1.0, 1.0, 1.5, np.nan]])
    _same(Tensor(a).erfinv(), torch.tensor(a).erfinv(), rtol=1e-12, atol=1e-14)
    # near +-1 erfinv has condition number ~ 1/(erfinv(x) erf'(erfinv(x))) ~ 1e5: an erf exact
    # to an ulp gives erfinv to ~1e-11
    near = np.array([-0.999999, 0.9999, 0.999999])
    _same(Tensor(near).erfinv(), torch.tensor(near).erfinv(), rtol=1e-10, atol=0)


@pytest.mark.parametrize("sa,sb", [((3, 4), (3, 4)), ((3, 1), (4,)), ((), (2, 3)), ((2, 1, 3), (4, 1))])
@pytest.mark.parametrize("name", ["hypot", "xlogy", "atan2", "arctan2"])
def test_binary_broadcast_values_and_gradients_match_torch(name: str, sa: tuple, sb: tuple) -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=sa), rng.uniform(0.2, 3, size=sb)
    _compare(lambda x, y: getattr(x, name)(y), lambda x, y: getattr(x, name)(y), a, b)
    _compare(lambda x, y: getattr(tl, name)(x, y), lambda x, y: getattr(torch, name)(x, y), a, b)


def test_xlogy_at_zero_and_with_numbers() -> None:
    a, b = np.array([0.0, 0.0, 1.0, 0.0, 2.0]), np.array([0.0, np.nan, 0.0, 3.0, 2.0])
    _compare(lambda x, y: x.xlogy(y), lambda x, y: x.xlogy(y), a, b)
    _same(tl.xlogy(2.0, Tensor(b)), torch.xlogy(2.0, torch.tensor(b)))
    _same(Tensor(a).xlogy(3.0), torch.tensor(a).xlogy(3.0))


def test_hypot_gradient_at_the_origin_is_torchs() -> None:
    _compare(lambda x, y: x.hypot(y), lambda x, y: x.hypot(y), np.array([0.0, 1e200]), np.array([0.0, 1e200]))


@pytest.mark.parametrize("weight", [0.3, "tensor", "broadcast"])
def test_lerp_matches_torch(weight: object) -> None:
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    if weight == 0.3:
        _compare(lambda x, y: x.lerp(y, 0.3), lambda x, y: x.lerp(y, 0.3), a, b)
        _compare(lambda x, y: tl.lerp(x, y, 0.3), lambda x, y: torch.lerp(x, y, 0.3), a, b)
    else:
        w = rng.uniform(size=(3, 4) if weight == "tensor" else (4,))
        _compare(lambda x, y, z: x.lerp(y, z), lambda x, y, z: x.lerp(y, z), a, b, w)


def test_nan_to_num_values_and_gradient_match_torch() -> None:
    a = np.array([1.5, np.nan, np.inf, -np.inf, -2.0, 0.0])
    _compare(lambda x: x.nan_to_num(), lambda x: x.nan_to_num(), a)
    _compare(lambda x: tl.nan_to_num(x, nan=7.0, posinf=1e3, neginf=-5.0),
             lambda x: torch.nan_to_num(x, nan=7.0, posinf=1e3, neginf=-5.0), a)
    f32 = a.astype(np.float32)
    _same(Tensor(f32).nan_to_num(), torch.tensor(f32).nan_to_num(), rtol=0, atol=0)
    _same(tl.tensor([1, 2]).nan_to_num(), torch.tensor([1, 2]).nan_to_num())


@pytest.mark.parametrize("eps", [None, 0.1])
def test_logit_matches_torch(eps: object) -> None:
    a = np.array([[0.05, 0.3, 0.5], [0.7, 0.95, 0.2]])
    _compare(lambda x: x.logit(eps), lambda x: x.logit(eps), a)
    _compare(lambda x: tl.logit(x, eps), lambda x: torch.logit(x, eps), a)


# ------------------------------------------------------------------ scans ----------------
@pytest.mark.parametrize("a", [np.array([[2.0, 0.0, 3.0, -1.0], [0.0, 0.0, 4.0, 5.0], [1.5, -2.0, 0.5, 0.0]]),
                               np.random.default_rng(5).normal(size=(3, 4))])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cumprod_gradient_is_torchs_with_zeros(a: np.ndarray, dim: int) -> None:
    _compare(lambda x: x.cumprod(dim), lambda x: x.cumprod(dim), a)
    _compare(lambda x: tl.cumprod(x, dim=dim), lambda x: torch.cumprod(x, dim=dim), a)


@pytest.mark.parametrize("dim", [0, 1])
def test_logcumsumexp_matches_torch_also_at_large_and_minus_inf(dim: int) -> None:
    a = np.array([[1.0, -np.inf, 800.0], [-3.0, 2.0, -np.inf], [0.5, 700.0, 1.0]])
    _compare(lambda x: x.logcumsumexp(dim), lambda x: x.logcumsumexp(dim), a)
    _compare(lambda x: tl.logcumsumexp(x, dim), lambda x: torch.logcumsumexp(x, dim),
             np.random.default_rng(6).normal(size=(4, 3)))


@pytest.mark.parametrize("name", ["cummax", "cummin"])
@pytest.mark.parametrize("dim", [0, 1])
def test_cummax_cummin_values_indices_and_gradients_match_torch(name: str, dim: int) -> None:
    a = np.array([[1.0, 3.0, 3.0, 2.0], [2.0, 2.0, -1.0, 5.0], [0.0, 3.0, -1.0, 5.0]])
    (x, tx) = _pair(a)
    o, t = getattr(x, name)(dim), getattr(tx, name)(dim)
    _same(o.values, t.values)
    _same(o.indices, t.indices)
    w = np.arange(a.size, dtype=float).reshape(a.shape)
    (o.values * Tensor(w)).sum().backward()
    (t.values * torch.tensor(w)).sum().backward()
    _same(x.grad, tx.grad)
    nan = np.array([1.0, np.nan, 3.0, 0.0])
    o, t = getattr(tl, name)(Tensor(nan), 0), getattr(torch, name)(torch.tensor(nan), 0)
    _same(o.values, t.values)
    _same(o.indices, t.indices)


@pytest.mark.parametrize("kw", [{}, {"n": 2}, {"n": 3, "dim": 0}, {"dim": 0, "prepend": "p"}, {"append": "a"},
                                {"n": 2, "prepend": "p", "append": "a"}, {"n": 0}, {"n": 9}])
def test_diff_matches_torch(kw: dict) -> None:
    rng = np.random.default_rng(7)
    a = rng.normal(size=(4, 5))
    extra = {}
    d = kw.get("dim", -1)
    for k in ("prepend", "append"):
        if k in kw:
            shape = list(a.shape)
            shape[d] = 2
            extra[k] = rng.normal(size=shape)
    arrays = [a] + list(extra.values())
    keys = list(extra)
    plain = {k: v for k, v in kw.items() if k not in ("prepend", "append")}

    def ours(x, *e):
        return x.diff(**plain, **dict(zip(keys, e)))

    def theirs(x, *e):
        return x.diff(**plain, **dict(zip(keys, e)))
    _compare(ours, theirs, *arrays)
    _same(tl.diff(Tensor(a), 1, 0, prepend=Tensor(a[:1])),
          torch.diff(torch.tensor(a), 1, 0, prepend=torch.tensor(a[:1])))


def test_count_nonzero_matches_torch() -> None:
    a = np.array([[0.0, 1.0, 2.0], [0.0, 0.0, 3.0]])
    for dim in (None, 0, 1, (0, 1)):
        _same(Tensor(a).count_nonzero(dim), torch.tensor(a).count_nonzero(dim))
        _same(tl.count_nonzero(Tensor(a), dim=dim), torch.count_nonzero(torch.tensor(a), dim=dim))


def test_scans_of_empty_tensors_match_torch() -> None:
    e = np.zeros((0, 3))
    for name in ("cumprod", "logcumsumexp", "cumsum"):
        for dim in (0, 1):
            _compare(lambda x, n=name, d=dim: getattr(x, n)(d), lambda x, n=name, d=dim: getattr(x, n)(d), e)
    _same(Tensor(e).cummax(0).indices, torch.tensor(e).cummax(0).indices)
    _same(Tensor(e).diff(dim=0), torch.tensor(e).diff(dim=0))
    _same(Tensor(e).count_nonzero(), torch.tensor(e).count_nonzero())


# ------------------------------------------------------------------ products -------------
@pytest.mark.parametrize("beta,alpha", [(1, 1), (0.5, 2.0), (0, 1.5)])
def test_fused_products_match_torch(beta: float, alpha: float) -> None:
    rng = np.random.default_rng(8)
    kw = dict(beta=beta, alpha=alpha)
    c, m1, m2 = rng.normal(size=(3, 1)), rng.normal(size=(3, 4)), rng.normal(size=(4, 5))
    _compare(lambda c, a, b: c.addmm(a, b, **kw), lambda c, a, b: c.addmm(a, b, **kw), c, m1, m2)
    _compare(lambda c, a, b: tl.addmm(c, a, b, **kw), lambda c, a, b: torch.addmm(c, a, b, **kw), c, m1, m2)
    v, m = rng.normal(size=(4,)), rng.normal(size=(3, 4))
    _compare(lambda c, a, b: c.addmv(a, b, **kw), lambda c, a, b: c.addmv(a, b, **kw), rng.normal(size=(3,)), m, v)
    b1, b2 = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 4, 5))
    _compare(lambda c, a, b: c.baddbmm(a, b, **kw), lambda c, a, b: c.baddbmm(a, b, **kw), rng.normal(size=(3, 5)),
             b1, b2)
    _compare(lambda c, a, b: c.addbmm(a, b, **kw), lambda c, a, b: c.addbmm(a, b, **kw), rng.normal(size=(5,)), b1, b2)
    if beta == 0:  # the input is not read: its nan does not reach the result
        _same(Tensor(np.full((3, 5), np.nan)).addmm(Tensor(m1), Tensor(m2), **kw),
              torch.full((3, 5), np.nan, dtype=torch.float64).addmm(torch.tensor(m1), torch.tensor(m2), **kw))


@pytest.mark.parametrize("sa,sb", [((2, 3), (4, 2)), ((3,), (2, 2)), ((2, 1, 2), (3, 2)), ((3,), (4,))])
def test_kron_matches_torch(sa: tuple, sb: tuple) -> None:
    rng = np.random.default_rng(9)
    _compare(lambda a, b: a.kron(b), lambda a, b: a.kron(b), rng.normal(size=sa), rng.normal(size=sb))
    _compare(lambda a, b: tl.kron(a, b), lambda a, b: torch.kron(a, b), rng.normal(size=sa), rng.normal(size=sb))


@pytest.mark.parametrize("sa,sb,dims", [((2, 3, 4), (3, 4, 5), 2), ((2, 3), (3, 4), 1), ((2, 3), (4, 5), 0),
                                        ((2, 3, 4), (4, 2, 5), ([0, 2], [1, 0])), ((3, 4), (4, 3), ([1], [0]))])
def test_tensordot_matches_torch(sa: tuple, sb: tuple, dims: object) -> None:
    rng = np.random.default_rng(10)
    _compare(lambda a, b: tl.tensordot(a, b, dims), lambda a, b: torch.tensordot(a, b, dims),
             rng.normal(size=sa), rng.normal(size=sb))


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, 0.5, math.inf, 0.0])
def test_cdist_matches_torch_including_zero_distance(p: float) -> None:
    rng = np.random.default_rng(11)
    x1, x2 = rng.normal(size=(2, 4, 3)), rng.normal(size=(2, 5, 3))
    x2[0, 2] = x1[0, 1]  # a zero distance: torch's gradient there is 0
    x2[1, 0, 0] = x1[1, 3, 0]  # one coordinate equal
    _compare(lambda a, b: tl.cdist(a, b, p), lambda a, b: torch.cdist(a, b, p), x1, x2)
    _compare(lambda a, b: tl.cdist(a, b, p), lambda a, b: torch.cdist(a, b, p), x1[0], x2[1])


def test_cdist_inf_gives_every_tied_coordinate_the_whole_gradient_as_torch() -> None:
    a, b = np.array([[1.0, 2.0, 0.5]]), np.array([[0.0, 1.0, 0.5], [1.0, 2.0, 0.5], [3.0, 2.0, 0.5]])
    _compare(lambda x, y: tl.cdist(x, y, math.inf), lambda x, y: torch.cdist(x, y, math.inf), a, b)


def test_cdist_refuses_mismatched_columns() -> None:
    with pytest.raises(ValueError, match=r"cdist.*\(3, 2\).*\(4, 3\)"):
        tl.cdist(tl.ones(3, 2), tl.ones(4, 3))


def test_block_diag_cartesian_prod_meshgrid_broadcast_tensors_match_torch() -> None:
    rng = np.random.default_rng(12)
    a, b, c = rng.normal(size=(2, 3)), rng.normal(size=(3,)), rng.normal(size=(1, 2))
    _compare(lambda *t: tl.block_diag(*t), lambda *t: torch.block_diag(*t), a, b, c)
    u, v, w = rng.normal(size=3), rng.normal(size=2), rng.normal(size=4)
    _compare(lambda *t: tl.cartesian_prod(*t), lambda *t: torch.cartesian_prod(*t), u, v, w)
    _compare(lambda *t: tl.cartesian_prod(*t), lambda *t: torch.cartesian_prod(*t), u, v)
    for indexing in ("ij", "xy"):
        for k in range(3):
            _compare(lambda *t, i=indexing, k=k: tl.meshgrid(*t, indexing=i)[k],
                     lambda *t, i=indexing, k=k: torch.meshgrid(*t, indexing=i)[k], u, v, w)
        _compare(lambda *t, i=indexing: tl.meshgrid(list(t), indexing=i)[1],
                 lambda *t, i=indexing: torch.meshgrid(list(t), indexing=i)[1], u, v)
    for k in range(3):
        _compare(lambda *t, k=k: tl.broadcast_tensors(*t)[k], lambda *t, k=k: torch.broadcast_tensors(*t)[k],
                 rng.normal(size=(3, 1)), rng.normal(size=(4,)), rng.normal(size=(2, 1, 1)))


# ------------------------------------------------------------------ joins ----------------
@pytest.mark.parametrize("name", ["concat", "concatenate", "hstack", "vstack", "dstack", "column_stack"])
@pytest.mark.parametrize("shapes", [[(3,), (2,)], [(2, 3), (2, 3)], [(2, 3, 1), (2, 3, 2)], [(), ()], [(3,), (3,)]])
def test_joins_match_torch(name: str, shapes: list) -> None:
    rng = np.random.default_rng(13)
    arrays = [rng.normal(size=s) for s in shapes]
    try:
        t = getattr(torch, name)([torch.tensor(a) for a in arrays])
    except (RuntimeError, IndexError):
        with pytest.raises((ValueError, IndexError, TypeError)):
            getattr(tl, name)([Tensor(a) for a in arrays])
        return
    _compare(lambda *x: getattr(tl, name)(list(x)), lambda *x: getattr(torch, name)(list(x)), *arrays)
    assert t.shape == getattr(tl, name)([Tensor(a) for a in arrays]).shape


def test_joins_and_lerp_refuse_bad_input_naming_the_function() -> None:
    x = tl.ones(2, 3)
    for name in ("hstack", "vstack", "dstack", "column_stack"):
        with pytest.raises(TypeError, match=name):
            getattr(tl, name)(x)
    with pytest.raises(ValueError, match=r"lerp.*\(2, 3\).*\(4,\)"):
        x.lerp(tl.ones(4), 0.5)


def test_atleast_nd_match_torch() -> None:
    for s in [(), (3,), (2, 3), (2, 3, 4)]:
        a = np.ones(s)
        for n in ("atleast_1d", "atleast_2d", "atleast_3d"):
            assert getattr(tl, n)(Tensor(a)).shape == getattr(torch, n)(torch.tensor(a)).shape


# ------------------------------------------------------------------ indices --------------
def test_index_valued_functions_match_torch() -> None:
    a = np.array([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]])
    _same(Tensor(a).nonzero(), torch.tensor(a).nonzero())
    for o, t in zip(tl.nonzero(Tensor(a), as_tuple=True), torch.nonzero(torch.tensor(a), as_tuple=True)):
        _same(o, t)
    v = np.array([3.0, 1.0, 3.0, 2.0, 1.0, 3.0])
    for kw in ({}, {"return_inverse": True}, {"return_counts": True}, {"return_inverse": True, "return_counts": True}):
        o, t = Tensor(v.reshape(2, 3)).unique(**kw), torch.unique(torch.tensor(v.reshape(2, 3)), **kw)
        for x, y in zip(o if isinstance(o, tuple) else (o,), t if isinstance(t, tuple) else (t,)):
            _same(x, y)
    i = np.array([0, 3, 3, 1, 0, 3])
    w = np.array([0.5, 1.0, 2.0, 0.25, 1.0, 3.0])
    _same(Tensor(i).bincount(), torch.tensor(i).bincount())
    _same(tl.bincount(Tensor(i), Tensor(w), minlength=7), torch.bincount(torch.tensor(i), torch.tensor(w), minlength=7))
    _same(Tensor(np.zeros(0, np.int64)).bincount(), torch.tensor(np.zeros(0, np.int64)).bincount())
    _same(tl.isin(Tensor(i), Tensor(np.array([3, 1]))), torch.isin(torch.tensor(i), torch.tensor([3, 1])))
    _same(tl.isin(Tensor(i), Tensor(np.array([3])), invert=True), torch.isin(torch.tensor(i), torch.tensor([3]),
                                                                              invert=True))
    seq, vals = np.array([1.0, 2.0, 2.0, 5.0]), np.array([[0.0, 2.0, 6.0], [2.0, 1.0, 5.0]])
    for right in (False, True):
        _same(tl.searchsorted(Tensor(seq), Tensor(vals), right=right),
              torch.searchsorted(torch.tensor(seq), torch.tensor(vals), right=right))
        _same(tl.bucketize(Tensor(vals), Tensor(seq), right=right),
              torch.bucketize(torch.tensor(vals), torch.tensor(seq), right=right))
    seq2 = np.sort(np.random.default_rng(14).normal(size=(2, 5)), axis=1)
    _same(tl.searchsorted(Tensor(seq2), Tensor(vals), side="right"),
          torch.searchsorted(torch.tensor(seq2), torch.tensor(vals), side="right"))
    for r, c, off in [(3, 3, 0), (4, 2, 1), (2, 5, -1), (0, 3, 0)]:
        _same(tl.tril_indices(r, c, off), torch.tril_indices(r, c, off))
        _same(tl.triu_indices(r, c, off), torch.triu_indices(r, c, off))
    h = np.random.default_rng(15).normal(size=50)
    _same(Tensor(h).histc(bins=7), torch.tensor(h).histc(bins=7))
    _same(tl.histc(Tensor(h), bins=4, min=-1, max=1), torch.histc(torch.tensor(h), bins=4, min=-1, max=1))


def test_indices_carry_no_gradient() -> None:
    x = Tensor(np.array([[1.0, 0.0], [2.0, 3.0]]), requires_grad=True)
    for out in (x.nonzero(), x.unique(), x.count_nonzero(), x.cummax(0).indices, tl.isin(x, Tensor(np.ones(1)))):
        assert not out.requires_grad


# ------------------------------------------------------------------ finite differences ---
_FD = {
    "tan": lambda x, y: x.tan() * y, "atan": lambda x, y: x.atan() + y, "sinh": lambda x, y: x.sinh() * y,
    "cosh": lambda x, y: x.cosh() - y, "asinh": lambda x, y: x.asinh() * y, "hypot": lambda x, y: x.hypot(y),
    "xlogy": lambda x, y: x.xlogy(y.abs() + 0.5), "lerp": lambda x, y: x.lerp(y, y.tanh()),
    "cumprod": lambda x, y: (x * y).cumprod(-1), "logcumsumexp": lambda x, y: (x + y).logcumsumexp(-1),
    "diff": lambda x, y: (x * y).diff(dim=-1, prepend=x[..., :1]), "kron": lambda x, y: x.kron(y),
    "addmm": lambda x, y: (x * y).reshape(-1, 1).addmm(x.reshape(-1, 1) if x.data.ndim else x.reshape(1, 1),
                                                       y.reshape(1, -1) if y.data.ndim else y.reshape(1, 1)),
    "cdist": lambda x, y: tl.cdist((x * y).reshape(1, -1, 1), (x + y).reshape(1, -1, 1), 3.0),
    "cummax": lambda x, y: (x * y + 0.01 * x.cumsum(-1)).cummax(-1).values,
    "asin": lambda x, y: (x * y).asin(), "acos": lambda x, y: (x * y).acos(), "atanh": lambda x, y: (x * y).atanh(),
    "acosh": lambda x, y: ((x * y).abs() + 1.5).acosh(), "erfinv": lambda x, y: (x * y).erfinv(),
    "logit": lambda x, y: (0.5 + 0.5 * x * y).logit(), "frac": lambda x, y: (0.3 * x * y + 2.5).frac(),
    "tensordot": lambda x, y: tl.tensordot(x, x * y, dims=([-1], [-1])),
    "cartesian_prod": lambda x, y: tl.cartesian_prod(x.reshape(-1), y.reshape(-1)).prod(-1),
    "block_diag": lambda x, y: tl.block_diag(x, y).exp(),
}
_FD |= {
}


@pytest.mark.parametrize("name", sorted(_FD))
@settings(max_examples=8, deadline=None, derandomize=True)
@given(data=st.data())
def test_gradients_match_finite_differences(name: str, data: st.DataObject) -> None:
    shape_a = data.draw(hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=3))
    shape_b = data.draw(st.sampled_from([shape_a, shape_a[-1:], (1,) * len(shape_a)]))
    elems = st.floats(-0.9, 0.9, allow_nan=False).map(lambda v: v if abs(v) > 0.05 else 0.3)
    a = data.draw(hnp.arrays(np.float64, shape_a, elements=elems))
    b = data.draw(hnp.arrays(np.float64, shape_b, elements=elems))
    if name == "kron":
        b = b.reshape(b.shape[::-1])
    for ours, fd in _numeric(_FD[name], [a, b]):
        np.testing.assert_allclose(ours, fd, rtol=1e-5, atol=1e-7)


# ------------------------------------------------------------------ per-sample -----------
@pytest.mark.parametrize("f", [lambda y: y.cumprod(1), lambda y: y.logcumsumexp(1), lambda y: y.atan().hypot(y),
                               lambda y: y.cummax(1).values, lambda y: y.diff(dim=1),
                               lambda y: tl.cdist(y.reshape(y.shape[0], 5, 1), tl.ones(2, 1)).sum(-1),
                               lambda y: tl.cdist(y.reshape(y.shape[0], 1, 5), tl.ones(2, 5), math.inf)])
def test_per_sample_gradients_through_the_new_ops_equal_each_sample_alone(f) -> None:
    rng = np.random.default_rng(16)
    X, W0 = rng.normal(size=(4, 3)), rng.normal(size=(3, 5))
    W = Tensor(W0, requires_grad=True)
    (f(Tensor(X, batched=True) @ W) ** 2).sum().backward()
    want = []
    for b in range(4):
        Wb = Tensor(W0, requires_grad=True)
        (f(Tensor(X[b:b + 1]) @ Wb) ** 2).sum().backward()
        want.append(Wb.grad)
    np.testing.assert_allclose(W.grad_sample, np.stack(want), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(W.grad, np.sum(want, axis=0), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("f", [lambda y: y.cumprod(0), lambda y: y.logcumsumexp(0), lambda y: y.mean().atan(),
                               lambda y: y.mean().hypot(y)])
def test_per_sample_gradients_refuse_ops_that_mix_the_samples(f) -> None:
    X = np.random.default_rng(17).normal(size=(4, 3))
    W = Tensor(np.ones((3, 2)), requires_grad=True)
    f(Tensor(X, batched=True) @ W).sum().backward()
    assert W.grad is not None
    with pytest.raises(RuntimeError, match="per-sample gradients .* undefined"):
        _ = W.grad_sample


def test_frac_of_an_integer_tensor_is_refused_as_torch() -> None:
    torch = pytest.importorskip("torch")
    with pytest.raises(NotImplementedError):
        torch.arange(3).frac()
    with pytest.raises(TypeError, match="frac: needs a floating-point tensor, got dtype int64"):
        tl.tensor(np.arange(3)).frac()
