"""torch's everyday Tensor methods and ``tl.*`` functions.

The differentiable ones are rows of a table in ``test_ops``'s format (numpy reference,
tinygrad_lite call, torch call, input domains, hypothesis-drawn shapes and parameters) and
go through the same three checks: forward against numpy, gradient of ``sum(out * R)``
against float64 central differences, forward and gradient against torch. Then: per-sample
gradients through each new op equal running each sample alone, ops that mix samples raise
the mixing error naming them, bad arguments raise clear errors and change nothing, and the
conversions, factories and in-place fills behave as torch's.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from test_ops import (
    BIN_MODES,
    OpSpec,
    any_shape,
    shape_1d_up,
    table_tests,
    two_broadcast,
)

import tinygrad_lite as tl
from tinygrad_lite import Tensor, ops

INF = float("inf")
nd_up = shape_1d_up.map(lambda s: (s,))


# ------------------------------------------------------------------------------- parameter strategies
def _axis(draw: Any, n: int) -> int:
    a = draw(st.integers(0, n - 1))
    return a - n if draw(st.booleans()) else a


def _axes(draw: Any, n: int, allow_none: bool = True) -> Any:
    """None, one int or a tuple of distinct ints (mixed signs) naming axes of an n-axis shape."""
    kinds = (["none"] if allow_none or n == 0 else []) + (["int", "tuple"] if n else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "none":
        return None
    if kind == "int":
        return _axis(draw, n)
    picked = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True))
    return tuple(a - n if draw(st.booleans()) else a for a in picked)


@st.composite
def expand_params(draw: Any, shapes: tuple) -> dict:
    s = shapes[0]
    lead = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    grown = tuple(draw(st.integers(1, 3)) if n == 1 else n for n in s)
    return {"shape": lead + tuple(-1 if draw(st.booleans()) else n for n in grown), "star": draw(st.booleans())}


def np_expand(x: np.ndarray, shape: tuple, star: bool) -> np.ndarray:
    k = len(shape) - x.ndim
    return np.broadcast_to(x, shape[:k] + tuple(o if n == -1 else n for n, o in zip(shape[k:], x.shape)))


@st.composite
def repeat_params(draw: Any, shapes: tuple) -> dict:
    n = len(shapes[0])
    lead = draw(st.lists(st.integers(1, 3), min_size=0 if n else 1, max_size=2))
    return {"reps": tuple(lead) + tuple(draw(st.integers(1, 3)) for _ in range(n))}


@st.composite
def flip_params(draw: Any, shapes: tuple) -> dict:
    n = len(shapes[0])
    return {"dims": tuple(a - n if draw(st.booleans()) else a
                          for a in draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True)))}


@st.composite
def roll_params(draw: Any, shapes: tuple) -> dict:
    n = len(shapes[0])
    if draw(st.booleans()):
        return {"shifts": draw(st.integers(-5, 5)), "dims": None}
    dims = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=min(n, 2), unique=True))
    return {"shifts": tuple(draw(st.integers(-5, 5)) for _ in dims), "dims": tuple(dims)}


def np_roll(x: np.ndarray, shifts: Any, dims: Any) -> np.ndarray:
    return np.roll(x, shifts, dims)


@st.composite
def split_params(draw: Any, shapes: tuple) -> dict:
    """``kind``: split by a size, by sections, chunk or unbind; the pieces are joined back in
    reverse order, so every piece's gradient is checked."""
    s = shapes[0]
    dim = _axis(draw, len(s))
    n = s[dim]
    kind = draw(st.sampled_from(["size", "sections", "chunk", "unbind"]))
    if kind == "sections":
        cuts = sorted(draw(st.lists(st.integers(0, n), max_size=3)))
        arg: Any = [b - a for a, b in zip([0] + cuts, cuts + [n])]
    else:
        arg = draw(st.integers(1, n + 1))
    return {"kind": kind, "arg": arg, "dim": dim}


def _np_pieces(x: np.ndarray, kind: str, arg: Any, dim: int) -> list:
    n = x.shape[dim]
    if kind == "unbind":
        return [np.take(x, i, axis=dim) for i in range(n)]
    if kind == "sections":
        return np.split(x, np.cumsum(arg)[:-1], axis=dim)
    size = -(-n // arg) if kind == "chunk" else arg
    return np.split(x, list(range(size, n, size)), axis=dim)


def np_split(x: np.ndarray, kind: str, arg: Any, dim: int) -> np.ndarray:
    pieces = _np_pieces(x, kind, arg, dim)[::-1]
    return np.stack(pieces, dim) if kind == "unbind" else np.concatenate(pieces, dim)


def _split_call(x: Any, kind: str, arg: Any, dim: int) -> tuple:
    if kind == "unbind":
        return x.unbind(dim)
    return x.chunk(arg, dim) if kind == "chunk" else x.split(arg, dim)


def tl_split(x: Tensor, kind: str, arg: Any, dim: int) -> Tensor:
    pieces = list(_split_call(x, kind, arg, dim))[::-1]
    return tl.stack(pieces, dim) if kind == "unbind" else tl.cat(pieces, dim)


def t_split(T: Any, x: Any, kind: str, arg: Any, dim: int) -> Any:
    pieces = list(_split_call(x, kind, arg, dim))[::-1]
    return T.stack(pieces, dim) if kind == "unbind" else T.cat(pieces, dim)


@st.composite
def where_params(draw: Any, shapes: tuple) -> dict:
    out = np.broadcast_shapes(*shapes)
    k = draw(st.integers(0, len(out)))
    return {"cond": draw(hnp.arrays(np.bool_, out[k:]))}


@st.composite
def masked_fill_params(draw: Any, shapes: tuple) -> dict:
    s = shapes[0]
    k = draw(st.integers(0, len(s)))
    return {"mask": draw(hnp.arrays(np.bool_, s[k:])), "value": draw(st.floats(-3, 3)),
            "as_tensor": draw(st.booleans())}


def tl_masked_fill(x: Tensor, mask: np.ndarray, value: float, as_tensor: bool) -> Tensor:
    return x.masked_fill(Tensor(mask), Tensor(value) if as_tensor else value)


@st.composite
def gather_params(draw: Any, shapes: tuple) -> dict:
    s = shapes[0]
    dim = _axis(draw, len(s))
    ishape = tuple(draw(st.integers(1, 4)) if i == dim % len(s) else draw(st.integers(1, n)) for i, n in enumerate(s))
    return {"dim": dim, "index": draw(hnp.arrays(np.int64, ishape, elements=st.integers(0, s[dim] - 1)))}


def np_gather(x: np.ndarray, dim: int, index: np.ndarray) -> np.ndarray:
    d = dim % x.ndim
    part = x[tuple(slice(None) if i == d else slice(0, m) for i, m in enumerate(index.shape))]
    return np.take_along_axis(part, index, d)


@st.composite
def dim_params(draw: Any, shapes: tuple) -> dict:
    return {"dim": _axis(draw, len(shapes[0]))}


@st.composite
def prod_params(draw: Any, shapes: tuple) -> dict:
    n = len(shapes[0])
    if n == 0 or draw(st.booleans()):
        return {"dim": None, "keepdim": False}  # torch's prod() over everything takes no keepdim
    return {"dim": _axis(draw, n), "keepdim": draw(st.booleans())}


@st.composite
def dims_keep_params(draw: Any, shapes: tuple) -> dict:
    """A non-empty dim (int or tuple) and keepdim: logsumexp, amax, amin."""
    return {"dim": _axes(draw, len(shapes[0]), allow_none=False), "keepdim": draw(st.booleans())}


def np_dims(fn: Callable) -> Callable:
    return lambda x, dim, keepdim: fn(x, axis=dim, keepdims=keepdim)


def np_logsumexp(x: np.ndarray, dim: Any, keepdim: bool) -> np.ndarray:
    m = np.max(x, axis=dim, keepdims=True)
    out = np.log(np.sum(np.exp(x - m), axis=dim, keepdims=True)) + m
    return out if keepdim else np.squeeze(out, axis=dim)


@st.composite
def norm_params(draw: Any, shapes: tuple) -> dict:
    p = draw(st.sampled_from([2, 1, 3, 0.5, 1.5, INF, -INF, 0, "fro"]))
    dim = _axes(draw, len(shapes[0]))
    if p == "fro" and isinstance(dim, tuple) and len(dim) > 2:
        dim = dim[:2]
    return {"p": p, "dim": dim, "keepdim": draw(st.booleans())}


def np_norm(x: np.ndarray, p: Any, dim: Any, keepdim: bool) -> np.ndarray:
    a = np.abs(x)
    kw = {"axis": dim, "keepdims": keepdim}
    if p == INF:
        return np.max(a, **kw)
    if p == -INF:
        return np.min(a, **kw)
    if p == 0:
        return np.sum(a != 0, **kw).astype(float)
    q = 2 if p == "fro" else p
    return np.sum(a ** q, **kw) ** (1.0 / q)


def t_norm(T: Any, x: Any, p: Any, dim: Any, keepdim: bool) -> Any:
    return x.norm(p, dim, keepdim)


@st.composite
def var_params(draw: Any, shapes: tuple) -> dict:
    s = shapes[0]
    dim = _axes(draw, len(s))
    dims = range(len(s)) if dim is None else ([dim] if isinstance(dim, int) else dim)
    count = int(np.prod([s[d] for d in dims]))
    style = draw(st.sampled_from(["default", "unbiased", "biased", "correction"]))
    c = {"default": 1, "unbiased": 1, "biased": 0}.get(style) if style != "correction" else draw(st.integers(0, 2))
    if count <= c:  # (N - correction <= 0 is inf / nan in torch and here: checked separately)
        style, c = "biased", 0
    return {"dim": dim, "keepdim": draw(st.booleans()), "style": style, "c": c}


def tl_var(x: Any, dim: Any, keepdim: bool, style: str, c: int, std: bool = False) -> Any:
    f = x.std if std else x.var
    if style == "default":
        return f(dim, keepdim=keepdim)
    if style in ("unbiased", "biased"):
        return f(dim, style == "unbiased", keepdim)
    return f(dim, keepdim=keepdim, correction=c)


def np_var(x: np.ndarray, dim: Any, keepdim: bool, style: str, c: int, std: bool = False) -> np.ndarray:
    return (np.std if std else np.var)(x, axis=dim, ddof=c, keepdims=keepdim)


def t_var(T: Any, x: Any, dim: Any, keepdim: bool, style: str, c: int, std: bool = False) -> Any:
    return (x.std if std else x.var)(dim, correction=c, keepdim=keepdim)


@st.composite
def round_params(draw: Any, shapes: tuple) -> dict:
    return {"decimals": draw(st.integers(0, 2))}


def _u(name: str, ref: Callable, fn: Callable, torch: Callable, domain: str = "real", shapes: Any = None,
       params: Callable = None) -> OpSpec:  # type: ignore[assignment]
    kw = {"params": params} if params is not None else {}
    return OpSpec(name, ref, fn, torch, (domain,), any_shape.map(lambda s: (s,)) if shapes is None else shapes, **kw)


def _m(name: str) -> Callable:
    """The method ``name`` with the case's keyword parameters, as tinygrad_lite and torch spell it."""
    return lambda x, **p: getattr(x, name)(**p)


def _tm(name: str) -> Callable:
    return lambda T, x, **p: getattr(x, name)(**p)


NEW_OPS = [
    _u("clone", np.copy, Tensor.clone, lambda T, x: x.clone()),
    _u("contiguous", lambda x: np.array(x.T, order="C"), lambda x: x.T.contiguous(),
       lambda T, x: x.permute(tuple(reversed(range(x.ndim)))).contiguous()),
    _u("expand", np_expand, lambda x, shape, star: x.expand(*shape) if star else x.expand(shape),
       lambda T, x, shape, star: x.expand(shape), params=expand_params),
    _u("repeat", lambda x, reps: np.tile(x, reps), lambda x, reps: x.repeat(*reps),
       lambda T, x, reps: x.repeat(*reps), params=repeat_params),
    _u("flip", lambda x, dims: np.flip(x, dims), lambda x, dims: x.flip(*dims), lambda T, x, dims: x.flip(dims),
       shapes=nd_up, params=flip_params),
    _u("roll", np_roll, _m("roll"), _tm("roll"), shapes=nd_up, params=roll_params),
    _u("split_chunk_unbind", np_split, tl_split, t_split, shapes=nd_up, params=split_params),
    OpSpec("where", lambda a, b, cond: np.where(cond, a, b), lambda a, b, cond: tl.where(Tensor(cond), a, b),
           lambda T, a, b, cond: T.where(T.as_tensor(cond), a, b), ("real", "real"), two_broadcast, where_params,
           modes=BIN_MODES),
    OpSpec("Tensor.where", lambda a, b, cond: np.where(cond, a, b), lambda a, b, cond: a.where(cond, b),
           lambda T, a, b, cond: a.where(T.as_tensor(cond), b), ("real", "real"), two_broadcast, where_params,
           modes=("tt", "tn", "ts")),
    _u("masked_fill", lambda x, mask, value, as_tensor: np.where(mask, value, x), tl_masked_fill,
       lambda T, x, mask, value, as_tensor: x.masked_fill(
           T.as_tensor(mask), T.tensor(value, dtype=T.float64) if as_tensor else value),
       params=masked_fill_params),
    _u("gather", np_gather, lambda x, dim, index: x.gather(dim, Tensor(index)),
       lambda T, x, dim, index: x.gather(dim, T.as_tensor(index)), shapes=nd_up, params=gather_params),
    _u("cumsum", lambda x, dim: np.cumsum(x, dim), _m("cumsum"), _tm("cumsum"), shapes=nd_up, params=dim_params),
    _u("prod", lambda x, dim, keepdim: np.prod(x, axis=dim, keepdims=keepdim),
       lambda x, dim, keepdim: x.prod(dim, keepdim),
       lambda T, x, dim, keepdim: x.prod() if dim is None else x.prod(dim, keepdim), "some_zeros", params=prod_params),
    _u("logsumexp", np_logsumexp, _m("logsumexp"), _tm("logsumexp"), shapes=nd_up, params=dims_keep_params),
    _u("amax", np_dims(np.max), _m("amax"), _tm("amax"), "distinct", shapes=nd_up, params=dims_keep_params),
    _u("amin", np_dims(np.min), _m("amin"), _tm("amin"), "distinct", shapes=nd_up, params=dims_keep_params),
    _u("norm", np_norm, _m("norm"), t_norm, "off_zero", params=norm_params),
    _u("var", np_var, tl_var, t_var, params=var_params),
    _u("std", lambda x, **p: np_var(x, std=True, **p), lambda x, **p: tl_var(x, std=True, **p),
       lambda T, x, **p: t_var(T, x, std=True, **p), params=var_params),
    _u("floor", np.floor, Tensor.floor, lambda T, x: x.floor(), "off_steps"),
    _u("ceil", np.ceil, Tensor.ceil, lambda T, x: x.ceil(), "off_steps"),
    _u("sign", np.sign, Tensor.sign, lambda T, x: x.sign(), "off_steps"),
    _u("round", lambda x, decimals: np.round(x, decimals), _m("round"), _tm("round"), "off_steps",
       params=round_params),
]
IDS = [s.name for s in NEW_OPS]


test_forward_matches_numpy, test_gradient_matches_finite_differences, test_matches_torch = table_tests(NEW_OPS)


def test_every_new_op_is_registered_with_its_rule() -> None:
    names = {o.name for o in ops.ALL}
    for name in ("expand", "repeat", "clone", "prod", "logsumexp", "norm", "cumsum", "where", "gather", "floor",
                 "ceil", "round", "sign"):
        assert name in names, name
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    for out in (x.clone(), x.expand(4, 2, 3), x.repeat(1, 2), x.prod(1), x.logsumexp(1), x.norm(dim=1),
                x.cumsum(1), tl.where(x > 0, x, 0.0), x.gather(1, Tensor(np.zeros((2, 1), np.int64))), x.floor()):
        assert out._op in ops.ALL and out._op.rule, out.op


def test_edge_values_match_torch(torch: Any) -> None:
    """Zero norms (gradient 0), products with zeros, logsumexp of -inf rows, empty groups."""
    cases = [
        (np.zeros((2, 3)), lambda x: x.norm(dim=1)),
        (np.zeros((2, 3)), lambda x: x.norm(0.5, 1)),
        (np.array([[0.0, 2.0, 0.0], [1.0, 0.0, 3.0]]), lambda x: x.prod(1)),
        (np.array([[-INF, -INF], [1.0, -INF]]), lambda x: x.logsumexp(1)),
        (np.array([[3.0, -3.0, 1.0]]), lambda x: x.norm(INF, 1)),
        (np.array([[2.0, 2.0, 1.0]]), lambda x: x.amax(1)),
        (np.zeros((2, 0)), lambda x: x.prod(1)),
        (np.zeros((2, 0)), lambda x: x.logsumexp(1)),
        (np.array([[1.0, 1.0], [1.0, 2.0]]), lambda x: x.std(1)),
    ]
    for arr, f in cases:
        x = Tensor(arr, requires_grad=True)
        t = torch.tensor(arr, requires_grad=True)
        out, tout = f(x), f(t)
        np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12)
        R = np.ones(out.shape)
        out.backward(R)
        tout.backward(torch.tensor(R))
        np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-12)


# ------------------------------------------------------------------------------- per-sample gradients
IDX = np.array([[2, 0, 2]])
PER_SAMPLE = [  # fn(x, W) with x of shape (B, 4) batched and W (3, 4); the output keeps axis 0 first
    ("x[:, :1].expand(-1, 4)", lambda x, W: (x[:, :1].expand(-1, 4) * x) @ W.T),
    ("x.repeat(1, 2)", lambda x, W: (x @ W.T).repeat(1, 2) * x[:, :1]),
    ("flip(1)", lambda x, W: (x @ W.T).flip(1) * x[:, :3]),
    ("roll(1, 1)", lambda x, W: (x @ W.T).roll(1, 1) * x[:, :3]),
    ("chunk(2, 1)", lambda x, W: tl.cat((x * W[0]).chunk(2, 1)[::-1], 1) * x),
    ("unbind(1)", lambda x, W: tl.stack((x @ W.T).unbind(1)[::-1], 1).tanh()),
    ("where(x > 0, x @ W.T, W)", lambda x, W: tl.where(x[:, :3] > 0, (x @ W.T).tanh(), W[:, 0])),
    ("masked_fill", lambda x, W: (x * W[1]).masked_fill(x > 0.5, 0.0) * x),
    ("gather(1)", lambda x, W: (x @ W.T).gather(1, Tensor(IDX.repeat(x.shape[0], 0))) * x[:, :3]),
    ("cumsum(1)", lambda x, W: (x * W[2]).cumsum(1).tanh()),
    ("prod(1)", lambda x, W: (x @ W.T).prod(1, keepdim=True) * x),
    ("logsumexp(1)", lambda x, W: (x @ W.T).logsumexp(1)),
    ("norm(dim=1)", lambda x, W: (x @ W.T).norm(dim=1, keepdim=True) * x),
    ("var(1)", lambda x, W: (x @ W.T).var(1)),
    ("std(1)", lambda x, W: (x @ W.T).std(1, keepdim=True) * x),
    ("amax(1)", lambda x, W: (x @ W.T).amax(1)),
    ("clone", lambda x, W: (x @ W.T).clone().tanh()),
    ("floor", lambda x, W: (x @ W.T).floor() * (x @ W.T)),
    ("W.clone()", lambda x, W: x @ W.clone().T),
    ("W.expand", lambda x, W: x * W[:1].expand(x.shape[0], 4)),
    ("W.repeat", lambda x, W: x @ W[:, :2].repeat(1, 2).T),
    ("W.flip", lambda x, W: (x @ W.flip(0, 1).T).tanh()),
    ("W.prod", lambda x, W: x * W.prod(0)),
    ("W.norm", lambda x, W: x[:, :3] * W.norm(dim=1)),
    ("W.cumsum", lambda x, W: (x @ W.cumsum(1).T).tanh()),
    ("W.gather", lambda x, W: x[:, :2] * W.gather(1, Tensor(np.array([[3, 0]]))).reshape(2)),
    ("where(mask, W, 0)", lambda x, W: x @ tl.where(Tensor(np.eye(3, 4) > 0), 0.0, W).T),
    ("W.logsumexp", lambda x, W: x[:, :3] * W.logsumexp(1)),
]


def _cost(fn: Callable, X: np.ndarray, W0: np.ndarray, batched: bool, reduction: str) -> Tensor:
    W = Tensor(W0.copy(), requires_grad=True)
    out = fn(Tensor(X, batched=batched), W)
    assert out.batched == batched and out.shape[0] == len(X)
    (out.mean() if reduction == "mean" else out.sum()).backward()
    return W


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("name,fn", PER_SAMPLE, ids=[c[0] for c in PER_SAMPLE])
def test_per_sample_gradients_equal_each_sample_alone(name: str, fn: Callable, reduction: str) -> None:
    check_each_sample_alone(name, fn, reduction, np.random.default_rng(21), 5)


def check_each_sample_alone(name: str, fn: Callable, reduction: str, rng: np.random.Generator, B: int) -> None:
    """W's per-sample gradients through ``fn`` over a batch of B equal each sample run alone,
    and its ``.grad`` equals the plain (unbatched) backward's."""
    X, W0 = rng.standard_normal((B, 4)), rng.standard_normal((3, 4))
    W = _cost(fn, X, W0, True, reduction)
    plain = _cost(fn, X, W0, False, reduction)
    alone = np.stack([_cost(fn, X[b:b + 1], W0, False, reduction).grad for b in range(B)])
    assert W.grad_sample.shape == (B, 3, 4)
    np.testing.assert_allclose(W.grad_sample, alone, rtol=1e-12, atol=1e-14, err_msg=name)
    np.testing.assert_allclose(W.grad, plain.grad, rtol=1e-12, atol=1e-14, err_msg=name)


MIXING = [  # fn(x, W) over a batched x (4, 4), and the op that mixes samples
    ("cumsum(0)", "cumsum", lambda x, W: (x @ W.T).cumsum(0).sum()),
    ("flip(0)", "getitem", lambda x, W: ((x @ W.T).flip(0) * x[:, :3]).sum()),
    ("roll(1, 0)", "getitem", lambda x, W: ((x @ W.T).roll(1, 0) * x[:, :3]).sum()),
    ("expand(2, B, 3)", "expand", lambda x, W: (x @ W.T).expand(2, -1, -1).sum()),
    ("repeat(2, 1)", "repeat", lambda x, W: (x @ W.T).repeat(2, 1).tanh().sum()),
    ("split(2)", "getitem", lambda x, W: ((x @ W.T).split(2)[0] ** 2).sum()),
    ("gather(0)", "gather", lambda x, W: (x @ W.T).gather(0, Tensor(np.zeros((4, 3), np.int64))).sum()),
    ("prod(0)", "prod", lambda x, W: (x @ W.T).prod(0).sum()),
    ("logsumexp(0)", "logsumexp", lambda x, W: (x @ W.T).logsumexp(0).sum()),
    ("norm(dim=0)", "norm", lambda x, W: (x @ W.T).norm(dim=0).sum()),
    ("var(0)", "sub", lambda x, W: (x @ W.T).var(0).sum()),
    ("amax(0)", "max", lambda x, W: (x @ W.T).amax(0).sum()),
    ("where(cond moved)", "where", lambda x, W: tl.where(x[:, :3] > 0, W[:, None, :3], 0.0).sum()),
]


@pytest.mark.parametrize("name,op,fn", MIXING, ids=[m[0] for m in MIXING])
def test_ops_over_the_sample_axis_raise_the_mixing_error_naming_them(name: str, op: str, fn: Callable) -> None:
    check_mixing(op, fn, np.random.default_rng(22))


def check_mixing(op: str, fn: Callable, rng: np.random.Generator) -> None:
    """Through ``fn`` over a batched x, ``.grad`` equals the plain backward's, and reading
    ``grad_sample`` raises the mixing error naming ``op``."""
    X, W0 = rng.standard_normal((4, 4)), rng.standard_normal((3, 4))
    W = Tensor(W0.copy(), requires_grad=True)
    fn(Tensor(X, batched=True), W).backward()
    Wp = Tensor(W0.copy(), requires_grad=True)
    fn(Tensor(X), Wp).backward()
    np.testing.assert_allclose(W.grad, Wp.grad, rtol=1e-12, atol=1e-14)
    with pytest.raises(RuntimeError, match=f"'{op}'") as info:
        _ = W.grad_sample
    assert "sample" in str(info.value)


# ------------------------------------------------------------------------------- bad input
BAD = [  # (call on x of shape (2, 3), exception, words the message must hold)
    (lambda x: x.expand(4, 3), ValueError, ["expand", "(2, 3)", "(4, 3)"]),
    (lambda x: x.expand(3), ValueError, ["expand", "(2, 3)"]),
    (lambda x: x.expand(-1, 2, 3), ValueError, ["expand", "-1"]),
    (lambda x: x.repeat(2), ValueError, ["repeat", "(2, 3)"]),
    (lambda x: x.repeat(2, -1), ValueError, ["repeat", ">= 0"]),
    (lambda x: x.repeat(2, 1.5), TypeError, ["repeat", "ints"]),
    (lambda x: x.expand(2, -2), ValueError, ["expand", ">= 0"]),
    (lambda x: x.gather(1, Tensor(np.zeros((2,), np.int64))), ValueError, ["gather", "(2,)", "(2, 3)"]),
    (lambda x: x.gather(1, Tensor(np.full((2, 1), 3))), IndexError, ["gather", "(2, 3)"]),
    (lambda x: x.gather(1, Tensor(np.zeros((3, 1), np.int64))), ValueError, ["gather", "(3, 1)", "(2, 3)"]),
    (lambda x: x.gather(1, Tensor(np.zeros((2, 1)))), TypeError, ["gather", "float64"]),
    (lambda x: tl.where(Tensor(np.ones(4, bool)), x, 0.0), ValueError, ["where", "(4,)", "(2, 3)"]),
    (lambda x: tl.where(Tensor(np.ones(3)), x, 0.0), TypeError, ["where", "bool"]),
    (lambda x: x.masked_fill(Tensor(np.ones((4, 3), bool)), 0.0), ValueError, ["masked_fill", "(4, 3)", "(2, 3)"]),
    (lambda x: x.split([1, 1], 1), ValueError, ["split", "3"]),
    (lambda x: x.chunk(0), ValueError, ["chunk"]),
    (lambda x: x.cumsum(2), IndexError, ["cumsum", "2"]),
    (lambda x: x.cumsum((0, 1)), TypeError, ["cumsum"]),
    (lambda x: x.norm("spectral"), ValueError, ["norm", "spectral"]),
    (lambda x: x.prod(5), IndexError, ["prod", "5"]),
    (lambda x: x.var(0, True, correction=1), TypeError, ["var"]),
    (lambda x: x.roll((1, 2), 0), ValueError, ["roll"]),
    (lambda x: x.to("cuda"), RuntimeError, ["to", "cuda"]),
    (lambda x: x.to("torch.NoSuchTensor"), TypeError, ["to"]),
    (lambda x: x.t().reshape(1, 3, 2).t(), ValueError, ["t", "(1, 3, 2)"]),
    (lambda x: x.new_zeros(2, -1), ValueError, ["new_zeros"]),
    (lambda x: x.copy_(np.ones((3, 2))), ValueError, ["copy_", "(3, 2)", "(2, 3)"]),
    (lambda x: x.fill_([1.0, 2.0]), ValueError, ["fill_"]),
    (lambda x: tl.allclose(x, np.ones(4)), ValueError, ["allclose", "(4,)"]),
]


@pytest.mark.parametrize("k", range(len(BAD)))
def test_bad_arguments_raise_clear_errors_and_change_nothing(k: int) -> None:
    call, exc, words = BAD[k]
    check_bad_argument(call, exc, words, under_no_grad="_" in words[0])


def check_bad_argument(call: Callable, exc: type, words: list, under_no_grad: bool = True) -> None:
    """``call(x)`` (under no_grad when asked) raises ``exc`` with every one of ``words`` in its
    message and leaves x (its data, gradient and version) as it was."""
    x0 = np.arange(6.0).reshape(2, 3)
    x = Tensor(x0.copy(), requires_grad=True)
    with tl.no_grad() if under_no_grad else contextlib.nullcontext():
        with pytest.raises(exc) as info:
            call(x)
    for w in words:
        assert w in str(info.value), (w, str(info.value))
    np.testing.assert_array_equal(x.data, x0)
    assert x.grad is None and x._v == 0


# ------------------------------------------------------------------------------- in place
def test_in_place_fills_under_no_grad_as_torch(torch: Any) -> None:
    a = np.array([[-1.5, 2.0, -3.25], [4.0, -5.0, 6.5]])
    x, t = Tensor(a.copy(), requires_grad=True), torch.tensor(a.copy(), requires_grad=True)
    with tl.no_grad(), torch.no_grad():
        for f in (lambda v: v.abs_(), lambda v: v.fill_(2.5), lambda v: v.zero_(),
                  lambda v: v.copy_(np.array([1.0, -2.0, 3.0]) if isinstance(v, Tensor)
                                    else torch.tensor([1.0, -2, 3]))):
            assert f(x) is x
            f(t)
            np.testing.assert_array_equal(x.data, t.numpy())
    n = Tensor(np.zeros((2, 2), np.int64))
    n.copy_(np.array([[1.7, -2.7], [3.2, 0.5]]))  # float to int truncates, as torch's copy_
    np.testing.assert_array_equal(n.data, torch.zeros(2, 2, dtype=torch.int64).copy_(
        torch.tensor([[1.7, -2.7], [3.2, 0.5]])).numpy())


def test_in_place_on_a_leaf_that_requires_grad_is_refused_while_recording() -> None:
    x = Tensor(np.ones(3), requires_grad=True)
    for f, who in ((lambda: x.zero_(), "zero_"), (lambda: x.fill_(2.0), "fill_"),
                   (lambda: x.copy_(np.zeros(3)), "copy_"), (lambda: x.abs_(), "abs_")):
        with pytest.raises(RuntimeError, match=f"{who}.*no_grad"):
            f()
    np.testing.assert_array_equal(x.data, np.ones(3))
    y = x * 2  # inside a graph: recorded (tests/test_inplace_graph.py)
    y.fill_(0.0)
    buf = Tensor(np.zeros(3))
    buf.copy_(x)
    (y + 3 * buf).sum().backward()
    np.testing.assert_array_equal(y.data, np.zeros(3))
    np.testing.assert_array_equal(x.grad, np.full(3, 3.0))  # the fill cut y's path; the copy passes 3
    buf = Tensor(np.zeros(3))
    buf.copy_(x.detach())  # a tensor outside any graph may be written while recording
    np.testing.assert_array_equal(buf.data, np.ones(3))


def test_a_graph_that_used_the_old_values_refuses_to_backward() -> None:
    x = Tensor(np.arange(3.0), requires_grad=True)
    y = (x * x).sum()
    with tl.no_grad():
        x.fill_(1.0)
    with pytest.raises(RuntimeError):
        y.backward()


# ------------------------------------------------------------------------------- copies and conversions
def test_clone_owns_its_memory_and_passes_the_gradient_back() -> None:
    x = Tensor(np.arange(6.0).reshape(2, 3).T, requires_grad=True)
    c = x.clone()
    assert c.op == "clone" and c.data.flags.c_contiguous and not np.shares_memory(c.data, x.data)
    (c * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, np.full((3, 2), 3.0))
    v = tl.from_numpy(np.arange(6.0).reshape(2, 3).T)  # (a view of the caller's memory: torch.from_numpy's)
    c = v.contiguous()
    assert not v.is_contiguous() and c is not v and c.is_contiguous() and not np.shares_memory(c.data, v.data)
    assert x.contiguous() is x and x.is_contiguous()  # (its own copy: row order again, as torch.tensor's)
    y = Tensor(np.ones((2, 2)))
    assert y.contiguous() is y and y.is_contiguous()


def test_conversions_and_sizes_as_torch(torch: Any) -> None:
    a = np.arange(6.0).reshape(2, 3)
    x, t = Tensor(a), torch.tensor(a)
    assert x.to("cpu") is x and x.cpu() is x and x.to(np.float64) is x
    for args in ((np.float32,), ("cpu", np.float32), (torch.float32,), (Tensor(np.zeros(1, np.int32)),)):
        assert x.to(*args).dtype in (np.float32, np.int32)
    assert x.to(torch.int64).dtype == np.int64 and x.to(dtype=np.float32, copy=True).dtype == np.float32
    c = x.to(copy=True)
    assert c is not x and not np.shares_memory(c.data, x.data)
    assert x.type() == t.type() == "torch.DoubleTensor"
    assert x.type("torch.FloatTensor").dtype == np.float32 and x.float().type() == t.float().type()
    assert x.type(np.int64).type() == t.long().type()
    assert (x.nelement(), x.element_size(), x.is_floating_point()) == (t.nelement(), t.element_size(),
                                                                      t.is_floating_point())
    assert not Tensor([1, 2]).is_floating_point() and Tensor([1, 2]).element_size() == 8
    assert x.t().shape == (3, 2) and x.view_as(np.zeros((3, 2))).shape == (3, 2)
    xf = x.to(np.float32)
    for f in (lambda v: v.new_zeros(2, 3), lambda v: v.new_ones((1,)), lambda v: v.new_full((2,), 7),
              lambda v: v.new_tensor([1, 2]), lambda v: v.new_empty(0)):
        got, want = f(xf), f(t.float())
        assert got.shape == tuple(want.shape) and str(want.dtype) == "torch." + str(got.dtype)
        if want.numel():
            np.testing.assert_array_equal(got.data, want.numpy())
    assert xf.new_zeros(2, dtype=np.int64).dtype == np.int64 and xf.new_ones(2, requires_grad=True).requires_grad


def test_whole_tensor_comparisons_as_torch(torch: Any) -> None:
    a = np.array([1.0, 2.0, np.nan])
    for b in (a + 1e-9, a + 1e-3, np.array([1.0, 2.0, 3.0])):
        for nan in (False, True):
            assert tl.allclose(Tensor(a), Tensor(b), equal_nan=nan) == torch.allclose(
                torch.tensor(a), torch.tensor(b), equal_nan=nan)
            assert Tensor(a).allclose(b, equal_nan=nan) == tl.allclose(a, b, equal_nan=nan)
    assert tl.equal(Tensor([1.0, 2.0]), Tensor([1.0, 2.0])) is True
    assert Tensor([1.0, 2.0]).equal(Tensor([1.0, 3.0])) is False
    assert tl.equal(Tensor([1.0, 2.0]), Tensor([[1.0, 2.0]])) is False
    idx = tl.where(Tensor(np.array([[True, False], [False, True]])))
    assert [i.data.tolist() for i in idx] == [k.tolist() for k in torch.where(torch.tensor([[True, False],
                                                                                               [False, True]]))]


def test_factories_as_torch(torch: Any) -> None:
    """Shapes, values and dtype rules (float64 where torch would use its default float)."""
    f64 = torch.float64
    pairs = [
        (tl.zeros(2, 3), torch.zeros(2, 3, dtype=f64)), (tl.ones((2,)), torch.ones((2,), dtype=f64)),
        (tl.full((2, 2), 1.5), torch.full((2, 2), 1.5, dtype=f64)), (tl.full((2,), 3), torch.full((2,), 3)),
        (tl.full((1,), True), torch.full((1,), True)), (tl.arange(5), torch.arange(5)),
        (tl.arange(1, 7, 2), torch.arange(1, 7, 2)), (tl.arange(0, 1, 0.25), torch.arange(0, 1, 0.25, dtype=f64)),
        (tl.arange(5, 0, -2), torch.arange(5, 0, -2)), (tl.linspace(-1, 1, 5), torch.linspace(-1, 1, 5, dtype=f64)),
        (tl.eye(3), torch.eye(3, dtype=f64)), (tl.eye(2, 4, dtype=np.float32), torch.eye(2, 4)),
        (tl.zeros_like(Tensor(np.ones((2, 3), np.float32))), torch.zeros_like(torch.ones(2, 3))),
        (tl.ones_like(Tensor(np.ones(2, np.int64))), torch.ones_like(torch.ones(2, dtype=torch.int64))),
        (tl.full_like(Tensor(np.ones(3)), 4.0), torch.full_like(torch.ones(3, dtype=f64), 4.0)),
        (tl.zeros(0, 2, dtype=torch.float32), torch.zeros(0, 2)),
    ]
    for got, want in pairs:
        assert got.shape == tuple(want.shape) and str(want.dtype) == "torch." + str(got.dtype), (got, want)
        np.testing.assert_array_equal(got.data, want.numpy())
    assert tl.ones(2, requires_grad=True).requires_grad and tl.empty(2, 1).shape == (2, 1)
    assert tl.empty_like(Tensor(np.ones(3, np.float32))).dtype == np.float32


def test_random_factories_follow_the_library_seed() -> None:
    tl.manual_seed(3)
    a = (tl.randn(2, 3), tl.rand(4), tl.randn_like(Tensor(np.zeros(2, np.float32))), tl.rand_like(Tensor(np.zeros(3))))
    tl.manual_seed(3)
    b = (tl.randn(2, 3), tl.rand(4), tl.randn_like(Tensor(np.zeros(2, np.float32))), tl.rand_like(Tensor(np.zeros(3))))
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u.data, v.data)
    assert a[0].dtype == np.float64 and a[2].dtype == np.float32 and ((a[1].data >= 0) & (a[1].data < 1)).all()
    np.testing.assert_array_equal(tl.randn(3, generator=5).data, np.random.default_rng(5).standard_normal(3))
    with pytest.raises(TypeError, match="randn"):
        tl.randn(2, dtype=np.int64)


def test_float32_stays_float32_through_the_new_ops() -> None:
    x = Tensor(np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3), requires_grad=True)
    outs = [x.clone(), x.expand(2, 2, 3), x.repeat(2, 1), x.flip(0), x.roll(1, 1), x.masked_fill(x > 0, 1.0),
            tl.where(x > 0, x, 0.0), x.gather(1, Tensor(np.zeros((2, 1), np.int64))), x.cumsum(1), x.prod(1),
            x.logsumexp(1), x.norm(dim=1), x.var(1), x.std(), x.amax(1), x.floor(), x.round(1), x.sign()]
    for o in outs:
        assert o.dtype == np.float32, o.op
        o.sum().backward()
        assert x.grad.dtype == np.float32, o.op
