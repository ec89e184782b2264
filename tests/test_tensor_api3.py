"""The third batch of torch's spellings: ordering (sort, argsort, msort, topk), matrix shapes
and products (diag, diagonal, trace, tril, triu, dot, mm, bmm, mv, outer, einsum), selection
and layout (masked_select, index_select, narrow, repeat_interleave, unflatten, movedim), the
dtype conversions and torch's dtype names, in-place random fills, the random factories
(randint, randperm, multinomial, normal), grad_fn and inference_mode.

The differentiable ones are rows of a table in ``test_ops``'s format and go through the
same checks as their siblings: forward against numpy, gradient of ``sum(out * R)`` against
float64 central differences, forward and gradient against torch. Then: ties and nan as
torch orders them, per-sample gradients through each op equal running each sample alone,
ordering along the sample axis raises the mixing error naming the op, bad arguments raise
errors naming the function and change nothing.
"""

from __future__ import annotations

import operator
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from test_ops import OpSpec, shape_1d_up, table_tests
from test_tensor_api import check_bad_argument, check_each_sample_alone, check_mixing

import tinygrad_lite as tl
from tinygrad_lite import Tensor, ops

one_up = shape_1d_up.map(lambda s: (s,))
two_up = hnp.array_shapes(min_dims=2, max_dims=4, min_side=1, max_side=4).map(lambda s: (s,))
side = st.integers(1, 4)


def _fixed(*options: tuple) -> Any:
    return st.sampled_from(list(options))


@st.composite
def _sort_params(draw: Any, shapes: tuple) -> dict:
    n = len(shapes[0])
    return {"dim": draw(st.integers(-n, n - 1)), "descending": draw(st.booleans())}


@st.composite
def _topk_params(draw: Any, shapes: tuple) -> dict:
    n = len(shapes[0])
    dim = draw(st.integers(-n, n - 1))
    return {"k": draw(st.integers(0, shapes[0][dim])), "dim": dim, "largest": draw(st.booleans())}


@st.composite
def _diagonal_params(draw: Any, shapes: tuple) -> dict:
    n = len(shapes[0])
    d1, d2 = draw(st.lists(st.integers(0, n - 1), min_size=2, max_size=2, unique=True))
    return {"offset": draw(st.integers(-2, 2)), "dim1": d1 - n * draw(st.booleans()), "dim2": d2}


def _offset(shapes: tuple) -> Any:
    return st.fixed_dictionaries({"diagonal": st.integers(-2, 2)})


@st.composite
def _masked_params(draw: Any, shapes: tuple) -> dict:
    s = shapes[0]
    k = draw(st.integers(0, len(s)))  # a mask of the trailing axes (it broadcasts) or of all of them
    return {"mask": draw(hnp.arrays(np.bool_, s[k:]))}


@st.composite
def _index_params(draw: Any, shapes: tuple) -> dict:
    s = shapes[0]
    dim = draw(st.integers(-len(s), len(s) - 1))
    idx = draw(st.lists(st.integers(0, s[dim] - 1), min_size=0, max_size=5))
    return {"dim": dim, "index": np.array(idx, dtype=np.int64)}


@st.composite
def _narrow_params(draw: Any, shapes: tuple) -> dict:
    s = shapes[0]
    dim = draw(st.integers(-len(s), len(s) - 1))
    start = draw(st.integers(0, s[dim]))
    return {"dim": dim, "start": start - s[dim] * (draw(st.booleans()) and start > 0),
            "length": draw(st.integers(0, s[dim] - start))}


@st.composite
def _repeat_params(draw: Any, shapes: tuple) -> dict:
    s = shapes[0]
    dim = draw(st.sampled_from([None] + list(range(-len(s), len(s)))))
    n = int(np.prod(s)) if dim is None else s[dim]
    if draw(st.booleans()):
        return {"repeats": draw(st.integers(0, 3)), "dim": dim}
    return {"repeats": np.array(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), dtype=np.int64),
            "dim": dim}


@st.composite
def _unflatten_params(draw: Any, shapes: tuple) -> dict:
    s = shapes[0]
    dim = draw(st.integers(-len(s), len(s) - 1))
    n = s[dim]
    a = draw(st.sampled_from([d for d in range(1, n + 1) if n % d == 0]))
    sizes = draw(st.sampled_from([(a, n // a), (-1, n // a), (a, -1), (n,), (1, n, 1)]))
    return {"dim": dim, "sizes": sizes}


@st.composite
def _movedim_params(draw: Any, shapes: tuple) -> dict:
    n = len(shapes[0])
    k = draw(st.integers(1, n))
    src = draw(st.lists(st.integers(0, n - 1), min_size=k, max_size=k, unique=True))
    dst = draw(st.lists(st.integers(0, n - 1), min_size=k, max_size=k, unique=True))
    as_tuple = k > 1 or draw(st.booleans())
    return {"source": tuple(src) if as_tuple else src[0], "destination": tuple(dst) if as_tuple else dst[0]}


def _np_sort(x: np.ndarray, dim: int, descending: bool) -> np.ndarray:
    s = np.sort(x, axis=dim)
    return np.flip(s, axis=dim) if descending else s


def _np_topk(x: np.ndarray, k: int, dim: int, largest: bool) -> np.ndarray:
    return np.take(_np_sort(x, dim, largest), np.arange(k), axis=dim)


def _np_repeat(x: np.ndarray, repeats: Any, dim: Any) -> np.ndarray:
    return np.repeat(x, repeats, axis=dim)


def _t_repeat(T: Any, x: Any, repeats: Any, dim: Any) -> Any:
    return T.repeat_interleave(x, repeats if isinstance(repeats, int) else T.as_tensor(repeats), dim=dim)


def _unflat_ref(x: np.ndarray, dim: int, sizes: tuple) -> np.ndarray:
    ax = dim % x.ndim
    return x.reshape(x.shape[:ax] + sizes + x.shape[ax + 1:])


def _m(name: str, ref: Callable, fn: Callable, torch: Callable, shapes: Any, params: Callable,
       domain: str = "real") -> OpSpec:
    return OpSpec(name, ref, fn, torch, (domain,), shapes, params)


def _ein(eq: str, shapes: list, ref_eq: str = "") -> OpSpec:
    """An einsum row: the equation over the given operand shapes; numpy's einsum with
    ``ref_eq`` (the same equation, made explicit where the implicit outputs differ) is the
    reference."""
    n = len(shapes[0])
    return OpSpec(f"einsum {eq} {shapes[0]}", lambda *a: np.einsum(ref_eq or eq, *a), lambda *a: tl.einsum(eq, *a),
                  lambda T, *a: T.einsum(eq, *a), ("real",) * n, st.sampled_from(shapes))


@st.composite
def _mat_pair(draw: Any, kind: str) -> tuple:
    n, m, p, b = (draw(side) for _ in range(4))
    return {"dot": ((n,), (n,)), "mm": ((n, m), (m, p)), "bmm": ((b, n, m), (b, m, p)), "mv": ((n, m), (m,)),
            "outer": ((n,), (p,))}[kind]


def _product(name: str, ref: Callable) -> OpSpec:
    return OpSpec(name, ref, lambda a, b: getattr(tl, name)(a, b), lambda T, a, b: getattr(T, name)(a, b),
                  ("real", "real"), _mat_pair(name), modes=("tt", "tn"))


OPS3 = [
    _m("sort", _np_sort, lambda x, **p: x.sort(**p).values,
       lambda T, x, dim, descending: T.sort(x, dim=dim, descending=descending).values, one_up, _sort_params,
       "distinct"),
    _m("msort", lambda x: np.sort(x, axis=0), lambda x: tl.msort(x), lambda T, x: T.msort(x), one_up,
       lambda s: st.just({}), "distinct"),
    _m("topk", _np_topk, lambda x, **p: x.topk(**p).values,
       lambda T, x, k, dim, largest: T.topk(x, k, dim=dim, largest=largest).values, one_up, _topk_params,
       "distinct"),
    _m("diagonal", lambda x, offset, dim1, dim2: np.diagonal(x, offset, dim1, dim2),
       lambda x, **p: x.diagonal(**p), lambda T, x, **p: T.diagonal(x, **p), two_up, _diagonal_params),
    _m("diag 1-D", lambda x, diagonal: np.diag(x, diagonal), lambda x, **p: tl.diag(x, **p),
       lambda T, x, **p: T.diag(x, **p), side.map(lambda n: ((n,),)), _offset),
    _m("diag 2-D", lambda x, diagonal: np.diag(x, diagonal), lambda x, **p: x.diag(**p),
       lambda T, x, **p: T.diag(x, **p), st.tuples(side, side).map(lambda s: (s,)), _offset),
    _m("trace", np.trace, lambda x: tl.trace(x), lambda T, x: T.trace(x), st.tuples(side, side).map(lambda s: (s,)),
       lambda s: st.just({})),
    _m("tril", lambda x, diagonal: np.tril(x, diagonal), lambda x, **p: x.tril(**p),
       lambda T, x, **p: T.tril(x, **p), two_up, _offset),
    _m("triu", lambda x, diagonal: np.triu(x, diagonal), lambda x, **p: tl.triu(x, **p),
       lambda T, x, **p: T.triu(x, **p), two_up, _offset),
    _product("dot", np.dot),
    _product("mm", operator.matmul),
    _product("bmm", operator.matmul),
    _product("mv", operator.matmul),
    _product("outer", np.outer),
    _ein("ij,jk->ik", [((2, 3), (3, 4)), ((1, 3), (3, 2)), ((2, 1), (3, 4))]),
    _ein("bij,bjk->bik", [((2, 2, 3), (2, 3, 2))]),
    _ein("ii->i", [((3, 3),)]),
    _ein("ii", [((3, 3),)]),
    _ein("i,i->", [((4,), (4,))]),
    _ein("...ij->...ji", [((2, 3),), ((2, 1, 3),)]),
    _ein("ij->", [((2, 3),)]),
    _ein("i,j->ij", [((2,), (3,))]),
    _ein("bn,anm,bm->ba", [((2, 3), (2, 3, 4), (2, 4))]),
    _ein("ij,j", [((2, 3), (3,))]),
    _ein("ba", [((2, 3),)]),
    _ein("iij,j->i", [((2, 2, 3), (3,))]),
    _ein("ij->j", [((2, 3),)]),
    _ein("i,jk->ijk", [((2,), (2, 3))]),
    _ein("...j,...j->...", [((2, 3), (3,)), ((2, 1, 3), (4, 3))]),
    _ein("Ab,aB", [((2, 3), (3, 2))], "Ab,aB->ABab"),
    _m("masked_select", lambda x, mask: x[np.broadcast_to(mask, x.shape)], lambda x, **p: x.masked_select(**p),
       lambda T, x, mask: T.masked_select(x, T.as_tensor(mask)), one_up, _masked_params),
    _m("index_select", lambda x, dim, index: np.take(x, index, axis=dim), lambda x, **p: x.index_select(**p),
       lambda T, x, dim, index: T.index_select(x, dim, T.as_tensor(index)), one_up, _index_params),
    _m("narrow", lambda x, dim, start, length: np.take(x, np.arange(length) + start % x.shape[dim], axis=dim),
       lambda x, **p: tl.narrow(x, **p), lambda T, x, **p: T.narrow(x, **p), one_up, _narrow_params),
    _m("repeat_interleave", _np_repeat, lambda x, **p: x.repeat_interleave(**p), _t_repeat, one_up, _repeat_params),
    _m("unflatten", _unflat_ref, lambda x, **p: x.unflatten(**p), lambda T, x, dim, sizes: x.unflatten(dim, sizes),
       one_up, _unflatten_params),
    _m("movedim", lambda x, source, destination: np.moveaxis(x, source, destination),
       lambda x, **p: x.movedim(**p), lambda T, x, **p: T.movedim(x, **p), one_up, _movedim_params),
]
IDS = [s.name for s in OPS3]


test_forward_matches_numpy, test_gradient_matches_finite_differences, test_matches_torch = table_tests(OPS3)


def test_the_new_differentiable_ops_are_registered_classes_with_their_rules() -> None:
    x = Tensor(np.arange(9.0).reshape(3, 3), requires_grad=True)
    outs = [x.sort().values, x.topk(2).values, x.diagonal(), x[0].diag(), x.tril(), x.triu(), tl.einsum("ij->j", x)]
    assert [o.op for o in outs] == ["sort", "topk", "diagonal", "diag", "tril", "triu", "einsum"]
    for o in outs:
        assert o._op in ops.ALL and o._op.rule.startswith("d "), o.op
    assert len({type(o._op) for o in outs}) == len(outs)


# ------------------------------------------------------------------------------- ties, nan, indices
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_sort_with_ties_and_nan_gives_torchs_values_indices_and_gradient(torch: Any, dim: int,
                                                                         descending: bool) -> None:
    a = np.array([[1.0, 3.0, 1.0, np.nan, 2.0], [2.0, 2.0, -1.0, 2.0, np.nan], [1.0, 3.0, 1.0, 0.0, 2.0]])
    R = np.arange(15.0).reshape(3, 5) - 7
    x, t = Tensor(a.copy(), requires_grad=True), torch.tensor(a.copy(), requires_grad=True)
    v, i = x.sort(dim, descending)
    tv, ti = torch.sort(t, dim=dim, descending=descending, stable=True)
    np.testing.assert_array_equal(v.data, tv.detach().numpy())
    np.testing.assert_array_equal(i.data, ti.numpy())
    assert i.dtype == np.int64 and not i.requires_grad and i.grad_fn is None
    np.testing.assert_array_equal(x.argsort(dim, descending).data, ti.numpy())
    np.testing.assert_array_equal(tl.argsort(x, dim=dim, descending=descending, stable=True).data,
                                  torch.argsort(t, dim=dim, descending=descending, stable=True).numpy())
    v.backward(R)
    tv.backward(torch.tensor(R))
    np.testing.assert_array_equal(x.grad, t.grad.numpy())


def test_sort_returns_a_named_tuple_and_topk_the_kept_positions(torch: Any) -> None:
    a = np.array([[0.5, -1.0, 4.0, 2.0], [3.0, 1.5, -2.0, 0.0]])
    x, t = Tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    out = tl.sort(x, 1)
    assert out.values is out[0] and out.indices is out[1]
    for largest in (True, False):
        for dim, k in ((1, 3), (0, 1), (-1, 0)):
            v, i = x.topk(k, dim=dim, largest=largest)
            tv, ti = torch.topk(t, k, dim=dim, largest=largest)
            np.testing.assert_array_equal(v.data, tv.detach().numpy())
            np.testing.assert_array_equal(i.data, ti.numpy())
            np.testing.assert_array_equal(np.take_along_axis(a, i.data, dim), v.data)
    v, i = x.topk(2, sorted=False)
    assert set(map(tuple, np.sort(v.data, 1))) == {(2.0, 4.0), (1.5, 3.0)}
    s = Tensor(np.array(2.5), requires_grad=True)  # a 0-d tensor: itself, at position 0, as torch
    v, i = s.sort()
    assert v.shape == () and i.shape == () and int(i.item()) == 0 and float(v.item()) == 2.5
    for k in (0, 1):  # torch gives the element back for k = 0 as well
        assert s.topk(k).values.shape == torch.tensor(2.5).topk(k).values.shape == ()


# ------------------------------------------------------------------------------- per-sample gradients
PER_SAMPLE = [  # fn(x, W) with x (B, 4) batched and W (3, 4): axis 0 stays the samples
    ("sort(1)", lambda x, W: (x @ W.T).sort(1).values * x[:, :3]),
    ("sort(descending)", lambda x, W: (x @ W.T).sort(-1, descending=True)[0] ** 2),
    ("topk(2, 1)", lambda x, W: (x @ W.T).topk(2, dim=1).values * x[:, :2]),
    ("topk(smallest)", lambda x, W: ((x @ W.T) ** 2).topk(1, largest=False)[0]),
    ("x @ sorted W", lambda x, W: x @ W.sort(1).values.T),
    ("x @ topk of W", lambda x, W: x @ W.topk(2, dim=0).values.T),
    ("tril of outer rows", lambda x, W: tl.einsum("bi,bj->bij", x @ W.T, x[:, :3]).tril().sum(1)),
    ("triu of W", lambda x, W: x[:, :3] @ W[:, :3].triu(1)),
    ("diagonal(1, 2)", lambda x, W: tl.einsum("bi,bj->bij", x @ W.T, x[:, 1:]).diagonal(0, 1, 2)),
    ("diagonal of W", lambda x, W: x[:, :3] * W[:, :3].diagonal()),
    ("diag of W", lambda x, W: x[:, :3] @ W[0, :3].diag(1)[1:]),
    ("einsum bi,ji->bj", lambda x, W: tl.einsum("bi,ji->bj", x, W)),
    ("einsum bi,ii->bi", lambda x, W: tl.einsum("bi,ii->bi", x[:, :3], W[:, :3])),
    ("einsum b...,ij->bi", lambda x, W: tl.einsum("b...,ij->bi", x, W).tanh()),
    ("einsum with lead", lambda x, W: x[:, :3] @ tl.einsum("ij,kj->ik", W, W)),
    ("bmm", lambda x, W: x[:, None, :].bmm(W.T.expand(len(x.data), 4, 3)).squeeze(1)),
    ("index_select(1)", lambda x, W: (x @ W.T).index_select(1, Tensor(np.array([2, 0, 2])))),
    ("narrow(1)", lambda x, W: (x @ W.T).narrow(1, 1, 2)),
    ("repeat_interleave(1)", lambda x, W: (x @ W.T).repeat_interleave(2, dim=1) * x[:, :1]),
    ("unflatten / movedim", lambda x, W: (x @ W.T).unflatten(1, (3, 1)).movedim(1, 2).reshape(len(x.data), 3)),
    ("masked_select a column", lambda x, W: (x @ W.T).masked_select(Tensor(np.arange(3) == 1)[None].expand(
        len(x.data), 3))),
]


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("name,fn", PER_SAMPLE, ids=[c[0] for c in PER_SAMPLE])
def test_per_sample_gradients_equal_each_sample_alone(name: str, fn: Callable, reduction: str) -> None:
    check_each_sample_alone(name, fn, reduction, np.random.default_rng(41), 3)


MIXING = [  # fn(x, W) over a batched x (4, 4), and the op named when grad_sample is read
    ("sort(0)", "sort", lambda x, W: ((x @ W.T).sort(0).values * x[:, :3]).sum()),
    ("sort(-2)", "sort", lambda x, W: (x @ W.T).sort(-2, descending=True)[0][0].sum()),
    ("msort", "sort", lambda x, W: (x @ W.T).msort()[-1].sum()),
    ("topk(2, 0)", "topk", lambda x, W: (x @ W.T).topk(2, dim=0).values.sum()),
    ("argsort(0) as a gather index", "argsort", lambda x, W: (x @ W.T @ W).gather(1, x.argsort(0)).sum()),
    ("argsort(1) of a batch mean as a gather index", "argsort",
     lambda x, W: (x @ W.T @ W).gather(1, (x @ W.T @ W).mean(0).argsort()[None].expand(4, 4)).sum()),
    ("gather by a mask of a batch mean", "greater", lambda x, W: (x @ W.T).gather(1, ((x @ W.T).mean(0) > 0).long()[
        None].expand(4, 3)).sum()),
    ("sort(1) indices of a batch mean", "sort", lambda x, W: (x @ W.T)[:, (x @ W.T).mean(0).sort()[1]].sum()),
    ("sort of a batch statistic", "sort", lambda x, W: (x @ W.T).mean(0).sort().values[-1]),
    ("tril of a 2-D batch", "tril", lambda x, W: (x @ W.T).tril().sum()),
    ("diag of a 1-D batch", "diag", lambda x, W: ((x @ W.T)[:, 0].diag() @ x).sum()),
    ("diagonal across the samples", "diagonal", lambda x, W: (x @ W[:, :4].T).diagonal().sum()),
    ("einsum over the samples", "einsum", lambda x, W: tl.einsum("bi,bj->ij", x @ W.T, x).sum()),
    ("einsum moving the samples", "einsum", lambda x, W: (tl.einsum("bi->ib", x @ W.T) ** 2).sum()),
    ("dot of a 1-D batch", "matmul", lambda x, W: (x @ W.T)[:, 0].dot(x[:, 1])),
]


@pytest.mark.parametrize("name,op,fn", MIXING, ids=[m[0] for m in MIXING])
def test_ops_mixing_samples_raise_naming_the_op_when_grad_sample_is_read(name: str, op: str, fn: Callable) -> None:
    check_mixing(op, fn, np.random.default_rng(42))


def test_indices_keep_the_batched_flag_along_other_axes() -> None:
    x = Tensor(np.random.default_rng(0).standard_normal((4, 3)), batched=True)
    assert x.sort(1).indices.batched and x.argsort(1).batched and x.topk(2).indices.batched
    assert not x.sort(0).indices.batched and not x.argsort(0).batched
    assert x.sort(1).values.batched and not x.sort(0).values.batched


# ------------------------------------------------------------------------------- bad input
BAD = [  # (call on x of shape (2, 3), exception, words the message must hold)
    (lambda x: x.sort(2), IndexError, ["sort", "2"]),
    (lambda x: x.sort(descending=1), TypeError, ["sort", "descending"]),
    (lambda x: x.topk(4), ValueError, ["topk", "4", "(2, 3)"]),
    (lambda x: x.topk(-1), ValueError, ["topk", "k"]),
    (lambda x: x.topk(1.5), TypeError, ["topk", "k"]),
    (lambda x: x[0].diagonal(), ValueError, ["diagonal", "(3,)"]),
    (lambda x: x.diagonal(0, 1, -1), ValueError, ["diagonal", "differ"]),
    (lambda x: x[None].diag(), ValueError, ["diag", "(1, 2, 3)"]),
    (lambda x: x[0].trace(), ValueError, ["trace", "(3,)"]),
    (lambda x: x[0].tril(), ValueError, ["tril", "(3,)"]),
    (lambda x: x.triu(0.5), TypeError, ["triu", "diagonal"]),
    (lambda x: x.dot(x), RuntimeError, ["dot", "(2, 3)"]),
    (lambda x: tl.dot(x[0], x[1, :2]), ValueError, ["dot", "(3,)", "(2,)"]),
    (lambda x: x.mm(x), ValueError, ["mm", "(2, 3)"]),
    (lambda x: tl.bmm(x[None], x[None]), RuntimeError, ["bmm", "(1, 2, 3)"]),
    (lambda x: x.mv(x[0, :2]), ValueError, ["mv", "(2, 3)", "(2,)"]),
    (lambda x: x.outer(x[0]), ValueError, ["outer", "(2, 3)"]),
    (lambda x: tl.einsum("ij,jk->ik", x, x), ValueError, ["einsum", "size", "(2, 3)"]),
    (lambda x: tl.einsum("i->ii", x[0]), ValueError, ["einsum", "more than once"]),
    (lambda x: tl.einsum("ij,j->i", x), ValueError, ["einsum", "2 operand subscripts"]),
    (lambda x: tl.einsum("ijk->i", x), ValueError, ["einsum", "(2, 3)"]),
    (lambda x: tl.einsum("ij->k", x), ValueError, ["einsum", "'k'"]),
    (lambda x: tl.einsum("i1->i", x), ValueError, ["einsum", "invalid"]),
    (lambda x: tl.einsum("ij->ij", x.data), TypeError, ["einsum", "ndarray"]),
    (lambda x: x.masked_select(np.ones(3)), TypeError, ["masked_select", "bool"]),
    (lambda x: x.masked_select(np.ones(2, bool)), ValueError, ["masked_select", "(2,)", "(2, 3)"]),
    (lambda x: x.index_select(1, np.array([0, 3])), IndexError, ["index_select", "(2, 3)", "3"]),
    (lambda x: x.index_select(0, np.array([0.0])), TypeError, ["index_select", "float64"]),
    (lambda x: x.narrow(1, 2, 2), ValueError, ["narrow", "exceeds", "(2, 3)"]),
    (lambda x: x.narrow(0, -3, 1), IndexError, ["narrow", "-3"]),
    (lambda x: x.repeat_interleave(np.array([1, 2]), dim=1), ValueError, ["repeat_interleave", "3"]),
    (lambda x: x.repeat_interleave(-1), ValueError, ["repeat_interleave", ">= 0"]),
    (lambda x: x.unflatten(1, (2, 2)), ValueError, ["unflatten", "(2, 2)", "(2, 3)"]),
    (lambda x: x.movedim((0, 1), (1,)), ValueError, ["movedim", "(2, 3)"]),
    (lambda x: x.normal_(std=-1.0), ValueError, ["normal_", "std"]),
    (lambda x: x.uniform_(2.0, 1.0), ValueError, ["uniform_", "from <= to"]),
    (lambda x: x.exponential_(0.0), ValueError, ["exponential_", "lambd"]),
    (lambda x: x.bernoulli_(1.5), ValueError, ["bernoulli_", "[0, 1]"]),
    (lambda x: x.bernoulli_(np.full(4, 0.5)), ValueError, ["bernoulli_", "(2, 3)"]),
    (lambda x: x.random_(3, 1), ValueError, ["random_", "from < to"]),
    (lambda x: x.long().normal_(), TypeError, ["normal_", "int64"]),
    (lambda x: x.normal_(generator="seed"), TypeError, ["generator"]),
]


@pytest.mark.parametrize("k", range(len(BAD)))
def test_bad_arguments_raise_clear_errors_and_change_nothing(k: int) -> None:
    check_bad_argument(*BAD[k])


# ------------------------------------------------------------------------------- dtypes
CONVERSIONS = [("long", "int64"), ("int", "int32"), ("short", "int16"), ("char", "int8"), ("byte", "uint8"),
               ("bool", "bool"), ("float", "float32"), ("double", "float64"), ("half", "float16")]


@pytest.mark.parametrize("name,dtype", CONVERSIONS, ids=[c[0] for c in CONVERSIONS])
def test_dtype_conversions_give_torchs_dtypes_and_values(torch: Any, name: str, dtype: str) -> None:
    a = np.array([[-2.7, 0.0, 1.5], [3.9, 0.25, -0.0]])
    x = Tensor(a, requires_grad=True)
    out = getattr(x, name)()
    ref = getattr(torch.tensor(a), name)()
    assert out.dtype == np.dtype(dtype) and str(ref.dtype) == f"torch.{dtype}"
    if name != "byte":  # (torch wraps negative floats into uint8 its own way; numpy leaves it undefined)
        np.testing.assert_array_equal(out.data, ref.numpy())
    assert out.requires_grad == (out.dtype.kind == "f")


def test_torchs_dtype_names_are_numpy_dtypes_with_torchs_meaning(torch: Any) -> None:
    for name in ("float32", "float64", "float16", "half", "float", "double", "int64", "long", "int32", "int",
                 "int16", "short", "int8", "uint8", "bool"):
        d = getattr(tl, name)
        assert isinstance(d, np.dtype) and str(getattr(torch, name)) == f"torch.{d.name}", name
    assert tl.float == np.float32 and tl.int == np.int32 and tl.long == np.int64 and tl.bool == np.bool_
    x = Tensor(np.array([1.5, -2.5]))
    assert x.to(tl.int64).dtype == np.int64 and x.to(tl.float).dtype == np.float32
    assert x.type(tl.half).dtype == np.float16
    assert tl.tensor([1, 2], dtype=tl.float64).dtype == np.float64
    assert tl.zeros(2, dtype=tl.bool).dtype == np.bool_ and tl.ones(2, dtype=tl.int).dtype == np.int32
    assert tl.randint(0, 5, (3,), dtype=tl.int16).dtype == np.int16 and x.long().dtype == tl.long
    assert tl.arange(3, dtype=tl.float).dtype == np.float32 and x.new_zeros(2, dtype=tl.uint8).dtype == np.uint8
    ns: dict = {}
    exec("from tinygrad_lite import *", ns)
    assert not {"float", "int", "bool", "long", "float32"} & set(ns)
    assert ns["sort"] is tl.sort and ns["einsum"] is tl.einsum and ns["inference_mode"] is tl.inference_mode
    assert float(tl.tensor(2)) == 2.0 and int(tl.tensor(2.5)) == 2 and bool(tl.tensor(1))  # Python's own names


# ------------------------------------------------------------------------------- random fills
def test_random_fills_follow_the_default_generator_and_their_laws() -> None:
    n = 20000
    draws = {}
    for seed in (5, 5, 6):
        tl.manual_seed(seed)
        draws.setdefault(seed, []).append(tl.zeros(n).normal_(2.0, 3.0).data.copy())
    np.testing.assert_array_equal(draws[5][0], draws[5][1])
    assert not np.array_equal(draws[5][0], draws[6][0])
    z = draws[5][0]
    assert abs(z.mean() - 2.0) < 5 * 3.0 / np.sqrt(n) and abs(z.std() - 3.0) < 0.1
    u = tl.zeros(n, dtype=np.float32).uniform_(-1.0, 3.0, generator=np.random.default_rng(1))
    assert u.dtype == np.float32 and u.data.min() >= -1.0 and u.data.max() < 3.0
    assert abs(u.data.mean() - 1.0) < 5 * 4 / np.sqrt(12 * n)
    assert tl.zeros(4).uniform_(**{"from": 7.0, "to": 8.0}).data.min() >= 7.0
    e = tl.zeros(n).exponential_(4.0, generator=2)
    assert e.data.min() >= 0 and abs(e.data.mean() - 0.25) < 5 * 0.25 / np.sqrt(n)
    b = tl.zeros(n, dtype=np.int64).bernoulli_(0.3, generator=3)
    assert set(np.unique(b.data)) <= {0, 1} and abs(b.data.mean() - 0.3) < 5 * np.sqrt(0.21 / n)
    p = tl.zeros(2, 3).bernoulli_(Tensor(np.array([0.0, 1.0, 0.0])))
    np.testing.assert_array_equal(p.data, [[0, 1, 0], [0, 1, 0]])
    r = tl.zeros(n, dtype=np.int8).random_(-3, 4, generator=4)
    assert r.dtype == np.int8 and set(np.unique(r.data)) == set(range(-3, 4))
    assert set(np.unique(tl.zeros(200).random_(3).data)) == {0.0, 1.0, 2.0}
    assert tl.zeros(100, dtype=np.bool_).random_().data.any()


def test_random_fills_obey_the_in_place_rules() -> None:
    w = Tensor(np.zeros(3), requires_grad=True)
    y = w * w  # (its gradient reads w)
    with pytest.raises(RuntimeError, match="normal_.*no_grad"):
        w.normal_()
    assert (w.data == 0).all()
    with tl.no_grad():
        assert w.normal_() is w and w.uniform_() is w
    assert w.requires_grad and not (w.data == 0).all()
    with pytest.raises(RuntimeError, match="in place"):
        y.backward(np.ones(3))  # the graph used the old values
    view = Tensor(np.zeros((2, 3)))
    view[0].normal_(generator=0)  # a basic-index view writes through to its base, as torch
    assert (view.data[0] != 0).all() and (view.data[1] == 0).all()


def test_random_factories() -> None:
    tl.manual_seed(11)
    a = tl.randint(3, 9, (500,))
    tl.manual_seed(11)
    np.testing.assert_array_equal(a.data, tl.randint(3, 9, size=(500,)).data)
    assert a.dtype == np.int64 and set(np.unique(a.data)) == set(range(3, 9))
    assert tl.randint(4, (2, 3), generator=1).shape == (2, 3) and tl.randint(2, (50,)).data.max() <= 1
    p = tl.randperm(7, generator=np.random.default_rng(0))
    assert p.dtype == np.int64 and sorted(p.tolist()) == list(range(7))
    m = tl.multinomial(Tensor(np.array([[0.0, 1.0, 3.0, 0.0], [5.0, 0.0, 0.0, 1.0]])), 2, generator=3)
    assert m.shape == (2, 2) and m.dtype == np.int64
    assert set(m.tolist()[0]) == {1, 2} and set(m.tolist()[1]) == {0, 3}
    w = tl.multinomial(Tensor(np.array([1.0, 3.0])), 4000, replacement=True, generator=4)
    assert abs(w.data.mean() - 0.75) < 5 * np.sqrt(0.1875 / 4000)
    with pytest.raises(ValueError, match="multinomial.*without replacement"):
        tl.multinomial(Tensor(np.array([1.0, 0.0])), 2)
    nrm = tl.normal(Tensor(np.array([0.0, 100.0])), Tensor(np.array([1e-9, 1e-9])), generator=5)
    np.testing.assert_allclose(nrm.data, [0.0, 100.0], atol=1e-6)
    assert tl.normal(1.0, 2.0, (3, 2)).shape == (3, 2) and not nrm.requires_grad
    for call, exc in ((lambda: tl.randint(5, 5, (2,)), ValueError), (lambda: tl.randint(5), TypeError),
                      (lambda: tl.randperm(-1), ValueError), (lambda: tl.randint(0, 300, (2,), dtype=np.uint8),
                                                             ValueError),
                      (lambda: tl.normal(Tensor(np.ones(2)), Tensor(np.ones(3))), ValueError)):
        with pytest.raises(exc):
            call()


# ------------------------------------------------------------------------------- grad_fn, inference_mode
def test_grad_fn_and_is_leaf_as_torch(torch: Any) -> None:
    x, t = Tensor(np.ones((2, 2)), requires_grad=True), torch.ones(2, 2, dtype=torch.float64, requires_grad=True)
    for mine, ref in ((x, t), (x * 2, t * 2), (x.detach(), t.detach()), (Tensor(np.ones(2)), torch.ones(2))):
        assert mine.is_leaf == ref.is_leaf and (mine.grad_fn is None) == (ref.grad_fn is None)
    y = x.sort(1).values @ x
    assert y.grad_fn and y.grad_fn.name() == "matmul" and "matmul" in repr(y.grad_fn)
    assert [f.name() if f else None for f, _ in y.grad_fn.next_functions] == ["sort", None]
    with tl.no_grad():
        assert (x * 2).grad_fn is None and (x * 2).is_leaf


def test_inference_mode_is_no_grad_under_torchs_name() -> None:
    x = Tensor(np.ones(2), requires_grad=True)
    with tl.inference_mode():
        assert not (x * 2).requires_grad and not tl.is_grad_enabled()
    assert tl.is_grad_enabled()

    @tl.inference_mode
    def bare() -> bool:
        return tl.is_grad_enabled()

    @tl.inference_mode()
    def called() -> bool:
        return tl.is_grad_enabled()

    @tl.inference_mode(False)
    def kept() -> bool:
        return tl.is_grad_enabled()

    assert bare() is False and called() is False and kept() is True and tl.is_grad_enabled()
    with tl.no_grad():
        with tl.inference_mode(False):
            assert tl.is_grad_enabled()  # (False turns recording on inside, as torch's)
        assert kept() is True and not tl.is_grad_enabled()
    with pytest.raises(TypeError, match="inference_mode"):
        tl.inference_mode("yes")


def test_readme_lists_the_new_spellings() -> None:
    from pathlib import Path
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for name in ("sort", "topk", "einsum", "tril", "masked_select", "repeat_interleave", "normal_", "randint",
                 "randperm", "inference_mode", "grad_fn", "tl.long"):
        assert f"`{name}" in text or f"{name}`" in text, name
