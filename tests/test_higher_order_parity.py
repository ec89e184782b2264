"""Higher-order gradients against torch in float64: gradients taken with
``create_graph=True``, Hessian-vector products ``grad(<grad(f, x, create_graph=True), v>, x)``
and gradient-penalty losses through nn layers, on seeded and hypothesis-drawn shapes
(broadcasting included) and values (exact zeros, ties, and the infinite cotangents of
sqrt / log at a selected-away zero); ``autograd.functional`` against torch's."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")
hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies
given, settings = hypothesis.given, hypothesis.settings

TOL = 1e-9
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # (the inf and nan values are meant)
HSET = settings(max_examples=12, deadline=None, derandomize=True, database=None,
                phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate, hypothesis.Phase.shrink])


def _np(t: Any) -> np.ndarray:
    if t is None:
        return None
    return t.detach().numpy(force=True) if isinstance(t, torch.Tensor) else np.asarray(t.data)


def _same(a: Any, b: Any, what: str, tol: float = TOL) -> None:
    """``a`` matches torch's ``b``: the same shape, nan and infinities at the same places
    (with the same signs), finite values within ``tol`` relative to max(1, max |b|)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, (what, a.shape, b.shape)
    assert np.array_equal(np.isnan(a), np.isnan(b)), (what, "nan", a, b)
    assert np.array_equal(np.where(np.isinf(a), a, 0.0), np.where(np.isinf(b), b, 0.0)), (what, "inf", a, b)
    fin = np.isfinite(b)
    if fin.any():
        scale = max(1.0, float(np.max(np.abs(b[fin]))))
        assert float(np.max(np.abs(a[fin] - b[fin]))) / scale < tol, (what, a, b)


def _orders(m: Any, fn: Callable, arrays: list, W: np.ndarray, Vs: list) -> tuple:
    """``fn(m, *xs)``; the gradients g_i of <fn(xs), W> taken with create_graph; the
    Hessian-vector products d <g, V> / dx_i (zeros for an input it does not reach)."""
    xs = [m.tensor(a, requires_grad=True) for a in arrays]
    out = fn(m, *xs)
    first = m.autograd.grad((out * m.tensor(W)).sum(), xs, create_graph=True, allow_unused=True)
    S = None
    for g, V in zip(first, Vs):
        if g is not None:
            term = (g * m.tensor(V)).sum()
            S = term if S is None else S + term
    if S is None or not S.requires_grad:
        second = [None] * len(xs)
    else:
        second = m.autograd.grad(S, xs, allow_unused=True)
    zero = [np.zeros(a.shape) for a in arrays]
    return (_np(out), [z if g is None else _np(g) for z, g in zip(zero, first)],
            [z if h is None else _np(h) for z, h in zip(zero, second)])


def _plain(fn: Callable, arrays: list, W: np.ndarray) -> list:
    xs = [tl.tensor(a, requires_grad=True) for a in arrays]
    gs = tl.autograd.grad((fn(tl, *xs) * tl.tensor(W)).sum(), xs, allow_unused=True)
    return [np.zeros(a.shape) if g is None else _np(g) for a, g in zip(arrays, gs)]


def check(name: str, fn: Callable, arrays: list, seed: int = 0, tol: float = TOL) -> None:
    """The value, the create_graph gradients (and the plain ones) and the Hessian-vector
    products of ``fn`` at ``arrays`` equal torch's."""
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    r = np.random.default_rng(seed)
    out = fn(torch, *[torch.tensor(a) for a in arrays])
    W = r.standard_normal(tuple(out.shape))
    Vs = [r.standard_normal(a.shape) for a in arrays]
    o1, f1, s1 = _orders(tl, fn, arrays, W, Vs)
    o2, f2, s2 = _orders(torch, fn, arrays, W, Vs)
    _same(o1, o2, f"{name}: value", tol)
    for i, (a, p, b) in enumerate(zip(f1, _plain(fn, arrays, W), f2)):
        _same(a, b, f"{name}: gradient (create_graph) of input {i}", tol)
        _same(p, b, f"{name}: gradient of input {i}", tol)
    for i, (a, b) in enumerate(zip(s1, s2)):
        _same(a, b, f"{name}: Hessian-vector product of input {i}", tol)


# ------------------------------------------------- selections under an infinite cotangent ----
def _F(m: Any) -> Any:
    return m.nn.functional


ZERO = np.zeros(())
SELECTING = [
    ("relu", lambda m, x: x.relu()),
    ("F.relu", lambda m, x: _F(m).relu(x)),
    ("clamp", lambda m, x: x.clamp(0.0, 2.5)),
    ("clamp_min", lambda m, x: x.clamp(min=0.0)),
    ("clamp_max", lambda m, x: x.clamp(max=0.0).neg()),
    ("clamp_tensor_bounds", lambda m, x: x.clamp(m.tensor(np.zeros(6)), m.tensor(np.full(6, 2.5)))),
    ("hardtanh", lambda m, x: _F(m).hardtanh(x, 0.0, 2.5)),
    ("relu6", lambda m, x: _F(m).relu6(x)),
    ("maximum", lambda m, x: m.maximum(x, m.tensor(ZERO))),
    ("minimum", lambda m, x: m.minimum(x, m.tensor(ZERO)).neg()),
    ("max_dim", lambda m, x: x.reshape(2, 3).max(dim=1)[0] - 2.0),
    ("min_dim_keepdim", lambda m, x: x.reshape(3, 2).min(dim=0, keepdim=True)[0] + 1.0),
    ("max_all", lambda m, x: (x - 3.0).max().reshape(1)),
    ("min_all", lambda m, x: (3.0 - x).min().reshape(1)),
    ("amax_dim", lambda m, x: x.reshape(2, 3).amax(1) - 2.0),  # (torch's amax multiplies: nan, matched)
]
X6 = np.array([-1.0, 0.0, 2.0, 3.0, -0.5, 1.5])


@pytest.mark.parametrize("post", ["sqrt", "log"])
@pytest.mark.parametrize("name,fn", SELECTING, ids=[s[0] for s in SELECTING])
def test_selection_sends_zero_under_an_infinite_cotangent(name: str, fn: Callable, post: str) -> None:
    """sqrt / log of a value the op set to 0: the op's backward selects (0 off the selected
    entries) rather than multiplying by a 0/1 mask (inf * 0 = nan), in both orders."""
    check(f"{post}({name})", lambda m, x: getattr(fn(m, x), post)(), [X6])


def test_selection_with_a_tensor_cotangent_depending_on_x() -> None:
    """The second-order term through the selected-away entries is 0 too (torch's value)."""
    def f(m: Any, x: Any) -> Any:
        r = x.relu()
        return r.sqrt() * x + m.maximum(x, m.tensor(ZERO)).log() * x.clamp(0.0, 2.5).sqrt()
    check("relu/maximum/clamp chain", f, [X6])


# ------------------------------------------------------------------ drawn inputs --------------
SPECIAL = {"any": [0.0, 1.0, -1.0, 0.5, -0.5, 2.0], "pos0": [0.0, 1.0, 0.5, 2.0], "pos": [1.0, 0.5, 2.0],
           "unit": [0.0, 0.5, -0.5], "gt1": [1.5, 2.0], "prob": [0.5, 0.25]}


def values(r: np.random.Generator, shape: tuple, domain: str) -> np.ndarray:
    """Random values of ``domain`` with about a third of the entries exact special values
    (zeros and repeated values, so ties and the edges of the domain are hit)."""
    if domain in ("any",):
        a = r.standard_normal(shape) * 1.5
    elif domain in ("pos", "pos0"):
        a = r.uniform(0.1, 3.0, shape)
    elif domain == "unit":
        a = r.uniform(-0.9, 0.9, shape)
    elif domain == "prob":
        a = r.uniform(0.05, 0.95, shape)
    else:
        a = r.uniform(1.1, 3.0, shape)
    sp = np.array(SPECIAL[domain])
    pick = r.random(shape) < 0.35
    return np.where(pick, sp[r.integers(0, len(sp), shape)], a)


SHAPE = st.lists(st.integers(1, 3), min_size=0, max_size=3).map(tuple)


def _broadcast_partner(data: Any, shape: tuple) -> tuple:
    """A shape that broadcasts with ``shape``: leading axes dropped, some set to 1, and
    sometimes one more leading axis."""
    k = data.draw(st.integers(0, len(shape)))
    tail = tuple(1 if data.draw(st.booleans()) else n for n in shape[k:])
    return ((data.draw(st.integers(1, 2)),) if k == 0 and data.draw(st.booleans()) else ()) + tail


# ------------------------------------------------------------ elementwise: one input ----------
UNARY = [
    ("neg", lambda m, x: -x, "any"), ("exp", lambda m, x: x.exp(), "any"), ("log", lambda m, x: x.log(), "pos0"),
    ("sqrt", lambda m, x: x.sqrt(), "pos0"), ("tanh", lambda m, x: x.tanh(), "any"),
    ("sigmoid", lambda m, x: x.sigmoid(), "any"), ("relu", lambda m, x: x.relu(), "any"),
    ("abs", lambda m, x: x.abs(), "any"), ("square", lambda m, x: x.square(), "any"),
    ("clamp", lambda m, x: x.clamp(-0.5, 0.5), "any"), ("clamp_min", lambda m, x: x.clamp(min=1.0), "any"),
    ("sin", lambda m, x: x.sin(), "any"), ("cos", lambda m, x: x.cos(), "any"), ("tan", lambda m, x: x.tan(), "unit"),
    ("atan", lambda m, x: x.atan(), "any"), ("asin", lambda m, x: x.asin(), "unit"),
    ("acos", lambda m, x: x.acos(), "unit"), ("sinh", lambda m, x: x.sinh(), "any"),
    ("cosh", lambda m, x: x.cosh(), "any"), ("asinh", lambda m, x: x.asinh(), "any"),
    ("acosh", lambda m, x: x.acosh(), "gt1"), ("atanh", lambda m, x: x.atanh(), "unit"),
    ("log1p", lambda m, x: x.log1p(), "pos0"), ("expm1", lambda m, x: x.expm1(), "any"),
    ("log2", lambda m, x: x.log2(), "pos0"), ("log10", lambda m, x: x.log10(), "pos0"),
    ("exp2", lambda m, x: x.exp2(), "any"), ("rsqrt", lambda m, x: x.rsqrt(), "pos0"),
    ("reciprocal", lambda m, x: x.reciprocal(), "pos0"), ("erf", lambda m, x: x.erf(), "any"),
    ("erfc", lambda m, x: x.erfc(), "any"), ("erfinv", lambda m, x: x.erfinv(), "unit"),
    ("floor_ceil_round_trunc_sign", lambda m, x: x.floor() * x + x.ceil() + x.round() * x.trunc() + x.sign() * x,
     "any"),
    ("lgamma", lambda m, x: x.lgamma(), "pos"), ("digamma", lambda m, x: x.digamma(), "pos"),
    ("polygamma", lambda m, x: m.polygamma(1, x), "pos"), ("i0", lambda m, x: x.i0(), "any"),
    ("i1_i0e_i1e", lambda m, x: m.special.i1(x) + m.special.i0e(x) * m.special.i1e(x), "any"),
    ("sinc", lambda m, x: x.sinc(), "any"), ("entr", lambda m, x: m.special.entr(x), "pos0"),
    ("log_ndtr", lambda m, x: m.special.log_ndtr(x), "any"), ("ndtri", lambda m, x: m.special.ndtri(x), "prob"),
    ("leaky_relu", lambda m, x: _F(m).leaky_relu(x, 0.2), "any"), ("elu", lambda m, x: _F(m).elu(x, 0.7), "any"),
    ("softplus", lambda m, x: _F(m).softplus(x, 2.0, 1.0), "any"),
    ("hardtanh", lambda m, x: _F(m).hardtanh(x, -0.5, 1.0), "any"), ("relu6", lambda m, x: _F(m).relu6(x * 4), "any"),
    ("logsigmoid", lambda m, x: _F(m).logsigmoid(x), "any"), ("mish", lambda m, x: _F(m).mish(x), "any"),
    ("softsign", lambda m, x: _F(m).softsign(x), "any"), ("gelu", lambda m, x: _F(m).gelu(x), "any"),
    ("gelu_tanh", lambda m, x: _F(m).gelu(x, approximate="tanh"), "any"), ("silu", lambda m, x: _F(m).silu(x), "any"),
    ("pow_int", lambda m, x: x ** 3, "any"), ("pow_half", lambda m, x: x ** 0.5, "pos0"),
    ("pow_neg", lambda m, x: x ** -1.5, "pos"), ("pow_zero_base", lambda m, x: x ** 2.5, "pos0"),
    ("rpow", lambda m, x: 2.0 ** x, "any"), ("const_arith", lambda m, x: (3.0 - x) * 2.0 / 5.0 + 1.0 / (x + 4.0),
                                             "pos0"),
]


@pytest.mark.parametrize("name,fn,domain", UNARY, ids=[u[0] for u in UNARY])
@HSET
@given(shape=SHAPE, seed=st.integers(0, 2**16))
def test_unary_first_and_second_order(name: str, fn: Callable, domain: str, shape: tuple, seed: int) -> None:
    """Each elementwise function, and the same composed with sin (a non-zero second
    derivative of the outer function), on drawn shapes and values. (torch's trigamma, the
    derivative of digamma, is accurate to about 5e-10 relative, ours to 1e-15.)"""
    x = values(np.random.default_rng(seed), shape, domain)
    if name == "sinc":  # (at 0 torch's second derivative is nan: see the test below)
        x = np.where(x == 0, 0.25, x)
    tol = 1e-8 if name in ("digamma", "polygamma", "lgamma") else TOL
    check(name, fn, [x], seed, tol)
    check(f"sin({name})", lambda m, a: fn(m, a).sin(), [x], seed + 1, tol)


@pytest.mark.parametrize("name,fn,x0,d2", [
    ("elu", lambda m, x: _F(m).elu(x, 0.7), 0.0, 0.0),
    ("softplus", lambda m, x: _F(m).softplus(x, 2.0, 1.0), 0.5, 0.0),
    ("leaky_relu", lambda m, x: _F(m).leaky_relu(x, 0.2), 0.0, 0.0),
])
def test_second_derivative_at_a_branch_point_is_torch_s(name: str, fn: Callable, x0: float, d2: float) -> None:
    """At the point where the function changes branch (elu at 0, softplus where beta x is
    the threshold) the first derivative is the left branch's and the second is 0, as torch."""
    check(name, fn, [np.array([x0, -1.0, 2.0])])
    x = tl.tensor(np.array(x0), requires_grad=True)
    (g,) = tl.autograd.grad(fn(tl, x), [x], create_graph=True)
    (h,) = tl.autograd.grad(g, [x], allow_unused=True) if g.requires_grad else (None,)  # (constant: none)
    assert (0.0 if h is None else float(h.data)) == d2


def test_sinc_second_derivative_at_zero() -> None:
    """sinc''(0) = -pi^2/3 (torch's double backward gives nan there; its first derivative
    0 is matched above), and sinc'''(0) = 0."""
    x = tl.tensor(np.array([0.0, 0.0]), requires_grad=True)
    (g,) = tl.autograd.grad(x.sinc().sum(), [x], create_graph=True)
    (h,) = tl.autograd.grad(g.sum(), [x], create_graph=True)
    assert np.array_equal(np.abs(_np(g)), [0.0, 0.0])
    np.testing.assert_allclose(_np(h), [-np.pi ** 2 / 3] * 2, rtol=1e-15)
    (k,) = tl.autograd.grad(h.sum(), [x], allow_unused=True)
    assert k is None or np.array_equal(_np(k), [0.0, 0.0])


# ------------------------------------------------- elementwise: two inputs, broadcast ---------
BINARY = [
    ("add", lambda m, a, b: (a + b) * a, "any", "any"), ("sub", lambda m, a, b: (a - b) * b, "any", "any"),
    ("mul", lambda m, a, b: a * b, "any", "any"), ("div", lambda m, a, b: a / b, "any", "pos"),
    ("div_by_zero", lambda m, a, b: a / b, "any", "pos0"),
    ("pow", lambda m, a, b: a ** b, "pos", "any"), ("pow_zero_base", lambda m, a, b: a ** (b * b + 1.0), "pos0", "any"),
    ("maximum", lambda m, a, b: m.maximum(a, b), "any", "any"),
    ("minimum", lambda m, a, b: m.minimum(a, b), "any", "any"),
    ("maximum_sq", lambda m, a, b: m.maximum(a, b) ** 2 * a, "any", "any"),
    ("atan2", lambda m, a, b: m.atan2(a, b), "any", "pos"), ("hypot", lambda m, a, b: m.hypot(a, b), "any", "pos"),
    ("xlogy", lambda m, a, b: m.xlogy(a, b), "any", "pos"),
    ("xlogy_zero", lambda m, a, b: m.xlogy(a * a, b), "any", "pos0"),
    ("where", lambda m, a, b: m.where(a > b, a * b, b.exp()), "any", "any"),
    ("fmod_remainder", lambda m, a, b: m.fmod(a, b) * a + m.remainder(a, b) ** 2, "any", "gt1"),
]


@pytest.mark.parametrize("name,fn,da,db", BINARY, ids=[b[0] for b in BINARY])
@HSET
@given(data=st.data(), shape=SHAPE, seed=st.integers(0, 2**16))
def test_binary_broadcast_first_and_second_order(name: str, fn: Callable, da: str, db: str, data: Any,
                                                 shape: tuple, seed: int) -> None:
    """Both inputs differentiated, with the second broadcast against the first (either
    way round), values with zeros and ties (a == b) included."""
    r = np.random.default_rng(seed)
    other = _broadcast_partner(data, shape)
    sa, sb = (shape, other) if data.draw(st.booleans()) else (other, shape)
    check(name, fn, [values(r, sa, da), values(r, sb, db)], seed)
    check(f"sin({name})", lambda m, a, b: fn(m, a, b).sin(), [values(r, sa, da), values(r, sb, db)], seed + 1)


# ------------------------------------------------------------------ reductions ---------------
def _distinct(r: np.random.Generator, shape: tuple) -> np.ndarray:
    """Values without ties (max / min along a dim: torch's gradient goes to one index of
    tied extrema, ours is split evenly among them, as the API documents)."""
    n = int(np.prod(shape))
    return (r.permutation(n).reshape(shape) - n / 2) * 0.37 + r.uniform(-0.1, 0.1, shape)


REDUCE = [
    ("sum", lambda m, x, d, k: x.sum(d, keepdim=k) ** 2, "any"),
    ("mean", lambda m, x, d, k: x.mean(d, keepdim=k).exp(), "any"),
    ("amax_ties", lambda m, x, d, k: x.amax(d, keepdim=k) ** 2, "ties"),
    ("amin_ties", lambda m, x, d, k: x.amin(d, keepdim=k).sin(), "ties"),
    ("max_dim", lambda m, x, d, k: x.max(d, keepdim=k)[0] ** 2 * x.min(d, keepdim=k)[0], "distinct"),
    ("prod_zeros", lambda m, x, d, k: x.prod(d, keepdim=k), "zeros"),
    ("prod_zeros_sq", lambda m, x, d, k: x.prod(d, keepdim=k).sin(), "zeros"),
    ("logsumexp", lambda m, x, d, k: x.logsumexp(d, keepdim=k) ** 2, "any"),
    ("norm2_zeros", lambda m, x, d, k: x.norm(2, dim=d, keepdim=k), "zeros_not_all"),
    ("norm1", lambda m, x, d, k: x.norm(1, dim=d, keepdim=k) ** 2, "zeros"),
    ("norm3", lambda m, x, d, k: m.linalg.vector_norm(x, 3, dim=d, keepdim=k) ** 2, "any"),
    ("norm_inf", lambda m, x, d, k: m.linalg.vector_norm(x, float("inf"), dim=d, keepdim=k) ** 2, "distinct"),
    ("softmax", lambda m, x, d, k: x.softmax(d) ** 2, "ties"),
    ("log_softmax", lambda m, x, d, k: x.log_softmax(d).sin(), "ties"),
    ("cumsum", lambda m, x, d, k: x.cumsum(d) ** 2, "any"),
    ("cumprod", lambda m, x, d, k: x.cumprod(d), "any"),
    ("cumprod_zeros", lambda m, x, d, k: x.cumprod(d).sin(), "zeros"),
    ("logcumsumexp", lambda m, x, d, k: x.logcumsumexp(d) ** 2, "distinct"),
    ("var_std", lambda m, x, d, k: x.var(d, keepdim=k) + x.std(d, keepdim=k) ** 3, "distinct"),
]


@pytest.mark.parametrize("name,fn,kind", REDUCE, ids=[r[0] for r in REDUCE])
@HSET
@given(data=st.data(), shape=st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple),
       seed=st.integers(0, 2**16), keep=st.booleans())
def test_reduction_first_and_second_order(name: str, fn: Callable, kind: str, data: Any, shape: tuple,
                                          seed: int, keep: bool) -> None:
    """Each reduction along a drawn dim (also a negative one), with keepdim or not; ties
    (repeated values), one or two zeros per row where the op has an edge there."""
    r = np.random.default_rng(seed)
    d = data.draw(st.integers(-len(shape), len(shape) - 1))
    if kind == "ties":
        x = r.integers(-2, 3, shape) * 0.5
    elif kind == "distinct":
        x = _distinct(r, shape)
    elif kind in ("zeros", "zeros_not_all"):
        x = np.where(r.random(shape) < 0.3, 0.0, r.standard_normal(shape))
        if kind == "zeros_not_all":  # (not a whole slice of zeros: see the test of that below)
            x = np.moveaxis(x, d, 0).copy()
            x[0] = np.where(np.all(x == 0, axis=0), 1.0, x[0])
            x = np.moveaxis(x, 0, d)
    else:
        x = values(r, shape, "any")
    check(f"{name} dim={d} keepdim={keep}", lambda m, a: fn(m, a, d, keep), [x], seed)


FULL = [
    ("sum_all", lambda m, x: x.sum() * x, "any"), ("mean_all", lambda m, x: x.mean() ** 3, "any"),
    ("max_all_ties", lambda m, x: x.max() ** 2 * x, "ties"), ("min_all_ties", lambda m, x: x.min().exp(), "ties"),
    ("amax_all_ties", lambda m, x: x.amax() * x, "ties"), ("prod_all_zeros", lambda m, x: x.prod() * x, "zeros"),
    ("norm_all_zeros", lambda m, x: x.norm() * x, "zeros"), ("logsumexp_all", lambda m, x: x.logsumexp((0,)), "any"),
]


@pytest.mark.parametrize("name,fn,kind", FULL, ids=[f[0] for f in FULL])
@HSET
@given(shape=st.lists(st.integers(1, 3), min_size=1, max_size=3).map(tuple), seed=st.integers(0, 2**16))
def test_full_reduction_first_and_second_order(name: str, fn: Callable, kind: str, shape: tuple, seed: int) -> None:
    """Reductions over every element (max / min / amax split among ties, as torch)."""
    r = np.random.default_rng(seed)
    if kind == "ties":
        x = r.integers(-1, 2, shape) * 1.0
    elif kind == "zeros":
        x = np.where(r.random(shape) < 0.3, 0.0, r.standard_normal(shape))
    else:
        x = values(r, shape, "any")
    check(name, fn, [x], seed)


def test_norm_of_an_all_zero_row_and_prod_with_two_zeros() -> None:
    """The 2-norm of a zero row: gradient 0, as torch (its second derivative does not exist;
    torch's double backward gives nan there, ours 0: only rows with a non-zero compared)."""
    x = np.array([[0.0, 0.0, 0.0], [0.0, 2.0, 0.0], [1.0, -2.0, 0.5]])
    check("norm2 rows", lambda m, a: a[1:].norm(2, dim=1) + a[:, 1:].norm(dim=0).sin(), [x])
    for m in (tl, torch):
        xs = m.tensor(x, requires_grad=True)
        (g,) = m.autograd.grad(xs.norm(dim=1).sum(), [xs], create_graph=True)
        np.testing.assert_array_equal(_np(g)[0], [0.0, 0.0, 0.0])
    check("prod two zeros", lambda m, a: a.prod(1).sin() + a.prod(0) * a[0], [x])


def test_logcumsumexp_hvp_with_a_zero_cotangent_entry_by_finite_differences() -> None:
    """A cotangent entry exactly 0 (here 2 out_0 with out_0 = x_0 = 0): the Hessian-vector
    product equals central differences of torch's first gradient (torch's own double
    backward drops that entry's term: 0.316 where the derivative is 2.230)."""
    x, W, V = np.array([0.0, -1.34, 1.575, 0.198]), np.array([0.6, -0.3, 1.1, 0.2]), np.array([0.9, -0.4, 0.3, 1.2])

    def first(m: Any, xv: np.ndarray, create: bool = False) -> Any:
        t = m.tensor(xv, requires_grad=True)
        (g,) = m.autograd.grad((t.logcumsumexp(0) ** 2 * m.tensor(W)).sum(), [t], create_graph=create)
        return t, g

    t, g = first(tl, x, True)
    (h,) = tl.autograd.grad((g * tl.tensor(V)).sum(), [t])
    eps = 1e-6
    fd = (_np(first(torch, x + eps * V)[1]) - _np(first(torch, x - eps * V)[1])) / (2 * eps)
    np.testing.assert_allclose(_np(h), fd, rtol=1e-7, atol=1e-8)


# ------------------------------------------------------------------ layout and selection -----
def _idx(m: Any, a: np.ndarray) -> Any:
    return m.tensor(np.asarray(a, dtype=np.int64))


def _outer(x: Any) -> Any:
    return x.unsqueeze(-1) * x.unsqueeze(-2)


LAYOUT = [
    ("reshape_permute", lambda m, x: x.reshape(-1).reshape(x.shape[::-1]).permute(*range(x.ndim)[::-1]) * x),
    ("swapaxes", lambda m, x: x.swapaxes(0, -1).exp() * 2.0),
    ("getitem", lambda m, x: x[..., ::2].sin().sum() * x[..., :1] + x[-1:].sum() * x),
    ("flip_roll", lambda m, x: x.flip(0) * x.roll(1, -1) ** 2),
    ("cat_stack", lambda m, x: m.cat([x, x * x], dim=-1).tanh().sum(-1, keepdim=True)
     * m.stack([x, x.exp()], 0).prod(0)),
    ("expand_repeat", lambda m, x: x.unsqueeze(0).expand(2, *x.shape).sin() * x.repeat(2, *([1] * x.ndim))),
    ("gather", lambda m, x: m.gather(x, -1, _idx(m, np.zeros(x.shape[:-1] + (2,)))) ** 2),
    ("sort", lambda m, x: x.sort(-1, descending=True)[0] * x),
    ("topk", lambda m, x: x.topk(1, -1)[0] ** 3),
    ("where_mask", lambda m, x: m.where(x > 0, x * x, x.exp()) * x),
    ("tril_triu_diag", lambda m, x: m.tril(_outer(x)).exp() + m.triu(_outer(x), 1) ** 2
     + (m.diag_embed(x).sum(-1) * m.diagonal(_outer(x), 0, -2, -1)).unsqueeze(-1)),
]


@pytest.mark.parametrize("name,fn", LAYOUT, ids=[la[0] for la in LAYOUT])
@HSET
@given(shape=st.lists(st.integers(1, 3), min_size=1, max_size=3).map(tuple), seed=st.integers(0, 2**16))
def test_layout_and_selection_first_and_second_order(name: str, fn: Callable, shape: tuple, seed: int) -> None:
    """Layout ops and selections (sort and topk on values without ties)."""
    r = np.random.default_rng(seed)
    x = _distinct(r, shape) if name in ("sort", "topk") else values(r, shape, "any")
    check(name, fn, [x], seed)


# ------------------------------------------------------------------ linear algebra -----------
def _spd(r: np.random.Generator, b: tuple, n: int) -> np.ndarray:
    a = r.standard_normal(b + (n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


LINALG = [
    ("matmul", lambda m, a, b: (a @ b) ** 2, "mm"),
    ("einsum", lambda m, a, b: m.einsum("...ij,...jk->...ik", a, b).sin(), "mm"),
    ("inv", lambda m, a, b: m.linalg.inv(a) @ b, "sq"),
    ("det", lambda m, a, b: m.linalg.det(a).unsqueeze(-1).unsqueeze(-1) * b, "sq"),
    ("slogdet", lambda m, a, b: m.linalg.slogdet(a)[1].unsqueeze(-1).unsqueeze(-1) * b ** 2, "sq"),
    ("solve", lambda m, a, b: m.linalg.solve(a, b), "sq"),
    ("cholesky", lambda m, a, b: m.linalg.cholesky(a @ a.mT + 3 * m.eye(a.shape[-1], dtype=m.float64)) @ b, "sq"),
    ("eigh", lambda m, a, b: m.linalg.eigvalsh(a + a.mT).unsqueeze(-1) * b, "sq"),
    ("svdvals", lambda m, a, b: m.linalg.svdvals(a).unsqueeze(-1) * b, "sq"),
    ("matrix_exp", lambda m, a, b: m.linalg.matrix_exp(a * 0.3) @ b, "sq"),
    ("pinv", lambda m, a, b: m.linalg.pinv(a) @ b, "sq"),
]


@pytest.mark.parametrize("name,fn,kind", LINALG, ids=[la[0] for la in LINALG])
@HSET
@given(batch=st.lists(st.integers(1, 2), max_size=2).map(tuple), n=st.integers(1, 3), k=st.integers(1, 3),
       bcast=st.booleans(), seed=st.integers(0, 2**16))
def test_linalg_first_and_second_order(name: str, fn: Callable, kind: str, batch: tuple, n: int, k: int, bcast: bool,
                                       seed: int) -> None:
    """Matrix ops on a drawn batch of n x n (or n x k) matrices and a right-hand side that
    broadcasts over the batch (or not)."""
    r = np.random.default_rng(seed)
    a = r.standard_normal(batch + (n, n)) + (2 * n * np.eye(n) if kind == "sq" else 0)
    b = r.standard_normal(((1,) * len(batch) if bcast else batch) + (n, k))
    check(name, fn, [a, b], seed)


def test_det_of_singular_matrices() -> None:
    """det at rank-deficient matrices of rank n - 1 (below that the create_graph backward
    is refused, naming the op)."""
    r = np.random.default_rng(3)
    u = r.standard_normal((3, 2))
    a = np.stack([u @ r.standard_normal((2, 3)), r.standard_normal((3, 2)) @ u.T])
    check("det singular", lambda m, x: m.linalg.det(x) ** 2 + m.linalg.det(x * x).sin(), [a])


# ------------------------------------------------- gradient penalty through nn layers --------
class _Head:
    """A critic's output computed from a network's output ``z`` (per sample, shape (B,))."""

    def __init__(self, kind: str, labels: np.ndarray) -> None:
        self.kind, self.labels = kind, labels

    def __call__(self, m: Any, z: Any) -> Any:
        F = _F(m)
        if self.kind == "sum":
            return z.sum(1)
        if self.kind == "softmax":
            return (z.softmax(1) * z).sum(1) + z.log_softmax(1)[:, 0]
        if self.kind == "cross_entropy":
            return F.cross_entropy(z, m.tensor(self.labels), reduction="none")
        if self.kind == "mse":
            return F.mse_loss(z, z.detach() * 0.5 + 1.0, reduction="none").sum(1) + F.mse_loss(z, z * 0 + 0.3)
        raise ValueError(self.kind)


def _critic(m: Any, arch: str) -> Any:
    nn = m.nn
    if arch == "mlp_tanh_silu":
        return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 6), nn.SiLU(), nn.Linear(6, 3))
    if arch == "layernorm_gelu":
        return nn.Sequential(nn.Linear(4, 6), nn.LayerNorm(6), nn.GELU(), nn.Linear(6, 3), nn.Sigmoid())
    if arch == "batchnorm1d_leaky":
        return nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.LeakyReLU(0.2), nn.Linear(6, 3))
    if arch == "conv_batchnorm2d":
        return nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.Tanh(), nn.Conv2d(3, 2, 2, stride=2),
                             nn.GELU(approximate="tanh"), nn.Flatten(), nn.Linear(8, 3))
    if arch == "conv_relu_maxpool":
        return nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(12, 3),
                             nn.Softplus())
    raise ValueError(arch)


def _gp_step(m: Any, arch: str, head: _Head, state: dict, real: np.ndarray, fake: np.ndarray, eps: np.ndarray) -> tuple:
    """One WGAN-GP critic loss: D(fake) - D(real) + 10 * mean((|grad_x D(x_hat)| - 1)^2) at
    x_hat = eps real + (1 - eps) fake (x_hat a leaf), backward; the parameters' grads and x_hat's."""
    torch.manual_seed(0)
    D = _critic(m, arch).double()
    D.load_state_dict({k: (v if m is tl else torch.tensor(v)) for k, v in state.items()})
    D.train()
    x_hat = m.tensor(eps * real + (1 - eps) * fake, requires_grad=True)
    d_hat = head(m, D(x_hat))
    (g,) = m.autograd.grad(d_hat.sum(), [x_hat], create_graph=True)
    gp = ((g.flatten(1).norm(2, dim=1) - 1) ** 2).mean()
    loss = head(m, D(m.tensor(fake))).mean() - head(m, D(m.tensor(real))).mean() + 10 * gp
    loss.backward()
    grads = {n: _np(p.grad) for n, p in D.named_parameters()}
    return _np(loss), _np(gp), grads, _np(x_hat.grad)


@pytest.mark.parametrize("head", ["sum", "softmax", "cross_entropy", "mse"])
@pytest.mark.parametrize("arch", ["mlp_tanh_silu", "layernorm_gelu", "batchnorm1d_leaky", "conv_batchnorm2d",
                                  "conv_relu_maxpool"])
def test_gradient_penalty_parameter_grads(arch: str, head: str) -> None:
    """Double backward through Linear, Conv2d, LayerNorm, BatchNorm (training mode), tanh,
    sigmoid, SiLU, GELU, leaky ReLU, softmax / log_softmax, cross_entropy and mse_loss."""
    r = np.random.default_rng(len(arch) * 7 + len(head))
    torch.manual_seed(1)
    Dt = _critic(torch, arch).double()
    with torch.no_grad():  # (non-trivial BatchNorm / LayerNorm affine parameters)
        for n, p in Dt.named_parameters():
            if n.endswith("weight") and p.ndim == 1:
                p.copy_(torch.tensor(r.uniform(0.5, 1.5, p.shape)))
            elif n.endswith("bias") and p.ndim == 1:
                p.copy_(torch.tensor(r.uniform(-0.3, 0.3, p.shape)))
    state = {k: v.detach().numpy().copy() for k, v in Dt.state_dict().items()}
    shape = (6, 2, 4, 4) if arch.startswith("conv") else (6, 4)
    real, fake = r.standard_normal(shape), r.standard_normal(shape) * 0.5 + 0.2
    eps = r.uniform(size=(6,) + (1,) * (len(shape) - 1))
    h = _Head(head, r.integers(0, 3, 6))
    ours = _gp_step(tl, arch, h, state, real, fake, eps)
    theirs = _gp_step(torch, arch, h, state, real, fake, eps)
    _same(ours[0], theirs[0], f"{arch}/{head}: loss")
    _same(ours[1], theirs[1], f"{arch}/{head}: penalty")
    assert ours[2].keys() == theirs[2].keys()
    for n in theirs[2]:
        _same(ours[2][n], theirs[2][n], f"{arch}/{head}: grad of {n}")
    _same(ours[3], theirs[3], f"{arch}/{head}: grad of x_hat")


# ------------------------------------------------------------------ autograd.functional ------
def _f_one(m: Any, x: Any) -> Any:
    return (x.relu().sqrt() + x.clamp(0.0, 1.0).sqrt() * 0.5 + m.maximum(x, m.tensor(ZERO)).log1p()).sum() \
        + (x ** 2).prod() + x.softmax(-1).max() * x.norm()


def _f_two(m: Any, x: Any, w: Any) -> Any:
    return ((x @ w).tanh() ** 2).sum() + _F(m).gelu(w).sum() * x.abs().sum()


def _f_vec(m: Any, x: Any, w: Any) -> Any:
    return (x @ w).sigmoid() * w.sum(0) + x.clamp(-0.5, 0.5).sum()


def _fun(m: Any, fn: Callable) -> Callable:
    return lambda *xs: fn(m, *xs)


def _both(call: Callable, arrays: list) -> tuple:
    return tuple(call(m, tuple(m.tensor(a) for a in arrays)) for m in (tl, torch))


def _flat(r: Any) -> list:
    if isinstance(r, (tuple, list)):
        return [y for x in r for y in _flat(x)]
    return [_np(r)]


X23 = np.array([[0.3, -0.7, 0.0], [1.2, 0.5, -0.2]])
W3 = np.array([[0.5, -1.0], [0.25, 0.7], [-0.4, 0.1]])
V23, V32, V22 = (np.random.default_rng(5).standard_normal(s) for s in ((2, 3), (3, 2), (2, 2)))
FUNCTIONAL = [
    ("hessian_one", lambda m, a: m.autograd.functional.hessian(_fun(m, _f_one), a[0]), [X23]),
    ("hessian_two", lambda m, a: m.autograd.functional.hessian(_fun(m, _f_two), a), [X23, W3]),
    ("hvp_one", lambda m, a: m.autograd.functional.hvp(_fun(m, _f_one), a[0], m.tensor(V23)), [X23]),
    ("hvp_two", lambda m, a: m.autograd.functional.hvp(_fun(m, _f_two), a, (m.tensor(V23), m.tensor(V32))), [X23, W3]),
    ("vhp_two", lambda m, a: m.autograd.functional.vhp(_fun(m, _f_two), a, (m.tensor(V23), m.tensor(V32))), [X23, W3]),
    ("jacobian_vec", lambda m, a: m.autograd.functional.jacobian(_fun(m, _f_vec), a), [X23, W3]),
    ("jacobian_of_gradient", lambda m, a: m.autograd.functional.jacobian(
        lambda x: m.autograd.grad(_f_one(m, x), [x], create_graph=True)[0], a[0], create_graph=True), [X23]),
    ("jvp_vec", lambda m, a: m.autograd.functional.jvp(_fun(m, _f_vec), a, (m.tensor(V23), m.tensor(V32))), [X23, W3]),
    ("vjp_vec", lambda m, a: m.autograd.functional.vjp(_fun(m, _f_vec), a, m.tensor(V22)), [X23, W3]),
]


@pytest.mark.parametrize("name,call,arrays", FUNCTIONAL, ids=[f[0] for f in FUNCTIONAL])
def test_autograd_functional_against_torch(name: str, call: Callable, arrays: list) -> None:
    """hessian / hvp / vhp / jacobian / jvp / vjp (of functions through relu, sqrt at a
    selected-away zero, clamp, max and norm) equal torch.autograd.functional's."""
    ours, theirs = _both(call, arrays)
    a, b = _flat(ours), _flat(theirs)
    assert len(a) == len(b), name
    for i, (x, y) in enumerate(zip(a, b)):
        _same(x, y, f"{name}: result {i}")


def test_hessian_with_create_graph_differentiated_again() -> None:
    """A Hessian built with create_graph=True, differentiated once more (a third derivative)."""
    out = []
    for m in (tl, torch):
        x = m.tensor(X23[0], requires_grad=True)
        H = m.autograd.functional.hessian(lambda v: (v.sin() * v.relu().sqrt()).sum() + (v ** 3).prod(), x,
                                          create_graph=True)
        (t,) = m.autograd.grad((H * m.tensor(np.outer(V23[0], V23[1]))).sum(), [x])
        out.append((_np(H), _np(t)))
    _same(out[0][0], out[1][0], "Hessian")
    _same(out[0][1], out[1][1], "third derivative")


# ------------------------------------------------------------------ nn ops, drawn -------------
@HSET
@given(data=st.data(), seed=st.integers(0, 2**16))
def test_conv_and_pool_drawn_hyperparameters(data: Any, seed: int) -> None:
    """conv1d / conv2d with drawn stride, padding, dilation and groups, then max / avg
    pooling, layer / group / batch norm (training mode) of the result."""
    r = np.random.default_rng(seed)
    g = data.draw(st.sampled_from([1, 2]))
    cin, cout = g * data.draw(st.integers(1, 2)), g * data.draw(st.integers(1, 2))
    k, s, p, d = (data.draw(st.integers(lo, hi)) for lo, hi in ((1, 3), (1, 2), (0, 1), (1, 2)))
    two = data.draw(st.booleans())
    size = (5, 4) if two else (6,)
    x, w, b = r.standard_normal((2, cin) + size), r.standard_normal((cout, cin // g) + (k,) * len(size)), \
        r.standard_normal(cout)

    def f(m: Any, x: Any, w: Any, b: Any) -> Any:
        F = _F(m)
        conv = F.conv2d if two else F.conv1d
        y = conv(x, w, b, stride=s, padding=p, dilation=d, groups=g).tanh()
        pool = (F.max_pool2d, F.avg_pool2d) if two else (F.max_pool1d, F.avg_pool1d)
        z = y * 2.0
        if y.shape[-1] >= 2:
            z = pool[0](y, 2, ceil_mode=True) ** 2 + pool[1](y.sin(), 2, ceil_mode=True)
        n = z.shape[1]
        return F.layer_norm(z, z.shape[1:]) + F.group_norm(z, 1) * F.batch_norm(
            z, None, None, m.tensor(np.linspace(0.5, 1.5, n)), m.tensor(np.linspace(-0.2, 0.2, n)), training=True)

    check(f"conv/pool g={g} k={k} s={s} p={p} d={d} 2d={two}", f, [x, w, b], seed)


LOSSES = [
    ("mse", lambda m, a, t: _F(m).mse_loss(a.tanh(), t, reduction="none")),
    ("l1", lambda m, a, t: _F(m).l1_loss(a * a, t, reduction="none")),
    ("huber", lambda m, a, t: _F(m).huber_loss(a * 1.5, t, delta=0.75, reduction="none")),
    ("smooth_l1", lambda m, a, t: _F(m).smooth_l1_loss(a * 1.5, t, beta=0.5)),
    ("bce", lambda m, a, t: _F(m).binary_cross_entropy(a.sigmoid(), t.sigmoid(), reduction="none")),
    ("bce_logits", lambda m, a, t: _F(m).binary_cross_entropy_with_logits(a * 2, t.sigmoid(), reduction="none")),
    ("cross_entropy_probs", lambda m, a, t: _F(m).cross_entropy(a, t.detach().softmax(-1), reduction="none") * t[:, 0]),
    ("cross_entropy_idx", lambda m, a, t: _F(m).cross_entropy(
        a, m.tensor(np.arange(a.shape[0]) % a.shape[-1]), label_smoothing=0.2, reduction="none") * t.sum(-1)),
    ("nll", lambda m, a, t: _F(m).nll_loss(a.log_softmax(-1), m.tensor(np.arange(a.shape[0]) % a.shape[-1])) * t),
    ("kl_div", lambda m, a, t: _F(m).kl_div(a.log_softmax(-1), t.softmax(-1), reduction="batchmean")),
]


@pytest.mark.parametrize("name,fn", LOSSES, ids=[lo[0] for lo in LOSSES])
@HSET
@given(n=st.integers(1, 3), c=st.integers(2, 4), seed=st.integers(0, 2**16))
def test_losses_both_inputs_first_and_second_order(name: str, fn: Callable, n: int, c: int, seed: int) -> None:
    """Loss functions differentiated in the prediction and the target (values with ties
    between them and at the Huber / smooth-L1 kinks)."""
    r = np.random.default_rng(seed)
    a = values(r, (n, c), "any")
    t = np.where(r.random((n, c)) < 0.3, a * 1.5, values(r, (n, c), "any"))
    check(name, fn, [a, t], seed)


XNAN = np.array([np.nan, -1.0, 0.0, 2.0, np.inf, -np.inf])


NAN_OPS = [s for s in SELECTING if s[0] != "amax_dim"] + [
    ("abs", lambda m, x: x.abs()), ("sign_floor", lambda m, x: x.sign() + x.floor()),
    ("leaky_relu", lambda m, x: _F(m).leaky_relu(x, 0.1)), ("sigmoid", lambda m, x: x.sigmoid()),
    ("tanh", lambda m, x: x.tanh()), ("softmax", lambda m, x: x.reshape(2, 3).softmax(-1)),
]


@pytest.mark.parametrize("name,fn", NAN_OPS, ids=[s[0] for s in NAN_OPS])
def test_nan_and_inf_inputs(name: str, fn: Callable) -> None:
    """nan and +-inf inputs: the same nan / inf / finite pattern in both orders as torch.
    (Not amax of a row holding a nan: torch's gradient is nan over the whole row, 0/0 tie
    weights; ours sends the cotangent to the nan entry, as torch's max does.)"""
    check(name, lambda m, x: fn(m, x) * 1.0, [XNAN])
