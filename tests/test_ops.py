"""Every tensor op, driven by ONE table.

Each row of ``OPS`` names an op and gives its numpy reference forward, the tinygrad_lite
call, the same call on torch tensors (when torch is importable), the input domains (kept
off kinks and overflow) and the strategies that draw shapes and parameters. For every
row, over shapes drawn by hypothesis (``()``, size-1 axes, broadcasting both ways):

* the forward equals the numpy reference (to rounding);
* the gradient of ``sum(out * R)`` for a random ``R`` matches float64 central
  differences of the numpy reference, so non-scalar outputs are covered;
* forward and gradients match torch to ~1e-10 in float64.

Binary rows also run with a numpy array or a Python number on either side.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_lite as tl
from tinygrad_lite import Tensor

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FD_EPS = 1e-6
FD_ATOL, FD_RTOL = 1e-6, 1e-5  # central differences: O(eps^2) truncation, O(1e-16/eps) rounding
TORCH_TOL = 1e-10
FWD_RTOL, FWD_ATOL = 1e-12, 1e-14


# ------------------------------------------------------------------------------- input domains
def _real(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    return rng.uniform(-2.0, 2.0, shape)


def _pos(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    return rng.uniform(0.5, 2.0, shape)


def _nonzero(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    """|x| in [0.5, 2]: safe denominators and negative powers."""
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.5, 2.0, shape)


def _off_zero(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    """|x| in [0.1, 2]: away from relu's kink."""
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.1, 2.0, shape)


def _distinct(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    """All entries at least 0.2 apart: no ties for max, even after a finite-difference step."""
    n = int(np.prod(shape))
    grid = (rng.permutation(n) - n / 2) * 0.3
    return (grid + rng.uniform(-0.05, 0.05, n)).reshape(shape)


def _some_zeros(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    """Reals with about a third of the entries exactly 0 (products: exact gradients at zeros)."""
    return np.where(rng.uniform(size=shape) < 1 / 3, 0.0, rng.uniform(-2.0, 2.0, shape))


def _off_steps(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    """Reals in [-2, 2] a quarter step of 0.01 away from every multiple of 0.005: far from the
    jumps of floor, ceil, sign and round (to 0, 1 or 2 decimals), even after a finite-difference
    step, where the derivative is 0."""
    return rng.integers(-200, 200, shape) / 100 + 0.0025


DOMAINS = {"real": _real, "pos": _pos, "nonzero": _nonzero, "off_zero": _off_zero, "distinct": _distinct,
           "some_zeros": _some_zeros, "off_steps": _off_steps}


# ------------------------------------------------------------------------------- shape strategies
SIDE = {"min_side": 1, "max_side": 4}
any_shape = hnp.array_shapes(min_dims=0, max_dims=4, **SIDE)
shape_1d_up = hnp.array_shapes(min_dims=1, max_dims=4, **SIDE)
one_shape = any_shape.map(lambda s: (s,))
two_broadcast = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, **SIDE).map(
    lambda b: b.input_shapes)
two_same = any_shape.map(lambda s: (s, s))
dim = st.integers(1, 4)


@st.composite
def matmul_shapes(draw: Any) -> tuple:
    """1-D, 2-D, stacked 3-D, broadcast batch axes, and 1-D against 2-D/3-D on both sides."""
    m, n, p, b, c = (draw(dim) for _ in range(5))
    return draw(st.sampled_from([
        ((n,), (n,)), ((m, n), (n, p)), ((n,), (n, p)), ((m, n), (n,)),
        ((b, m, n), (b, n, p)), ((b, m, n), (n, p)), ((m, n), (b, n, p)),
        ((b, 1, m, n), (c, n, p)), ((1, m, n), (b, n, p)),
        ((n,), (b, n, p)), ((b, m, n), (n,)),
    ]))


@st.composite
def linear_shapes(draw: Any, bias: bool) -> tuple:
    i, o = draw(dim), draw(dim)
    lead = draw(st.sampled_from([(), (draw(dim),), (draw(dim), draw(dim))]))
    return (lead + (i,), (o, i), (o,)) if bias else (lead + (i,), (o, i))


@st.composite
def xent_shapes(draw: Any) -> tuple:
    c = draw(dim)
    return draw(st.sampled_from([((draw(dim), c),), ((c,),)]))


# ------------------------------------------------------------------------------- parameter strategies
def no_params(shapes: tuple) -> Any:
    return st.just({})


@st.composite
def axis_params(draw: Any, shapes: tuple) -> dict:
    """axis None / int / negative int / tuple (mixing signs), and keepdims."""
    n = len(shapes[0])
    kinds = ["none"] if n == 0 else ["none", "int", "tuple"]
    kind = draw(st.sampled_from(kinds))
    if kind == "none":
        axis = None
    elif kind == "int":
        axis = draw(st.integers(-n, n - 1))
    else:
        axes = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True))
        axis = tuple(a - n if draw(st.booleans()) else a for a in axes)
    return {"axis": axis, "keepdims": draw(st.booleans())}


@st.composite
def softmax_params(draw: Any, shapes: tuple) -> dict:
    n = len(shapes[0])
    if draw(st.booleans()):
        return {}  # the default axis, -1
    return {"axis": draw(st.integers(-n, n - 1))}


@st.composite
def reshape_params(draw: Any, shapes: tuple) -> dict:
    s = shapes[0]
    r = tuple(reversed(s))
    options = [(-1,), (int(np.prod(s)),), r, (1,) + s, s + (1,)]
    if r:
        k = draw(st.integers(0, len(r) - 1))
        options.append(r[:k] + (-1,) + r[k + 1:])
    return {"shape": draw(st.sampled_from(options)), "star": draw(st.booleans())}


@st.composite
def transpose_params(draw: Any, shapes: tuple) -> dict:
    n = len(shapes[0])
    style = draw(st.sampled_from(["T", "none", "star", "tuple"]))
    perm = draw(st.permutations(range(n)))
    perm = tuple(a - n if draw(st.booleans()) else a for a in perm)  # negative axes too
    return {"style": style, "perm": perm}


@st.composite
def getitem_params(draw: Any, shapes: tuple) -> dict:
    """Basic indices (slices with negative steps, ints, None, Ellipsis), integer arrays
    (repeats allowed), boolean masks, integer arrays mixed with slices, lists and Tensors."""
    s = shapes[0]
    kinds = ["basic"] + (["intarray", "mask", "list", "tensor"] if s else [])
    kinds += ["mixed"] if len(s) >= 2 else []
    kind = draw(st.sampled_from(kinds))
    if kind == "basic":
        idx = draw(hnp.basic_indices(s, min_dims=0, allow_newaxis=True, allow_ellipsis=True))
    elif kind == "intarray":
        result_shape = hnp.array_shapes(min_dims=1, max_dims=2, max_side=5)
        idx = draw(hnp.integer_array_indices(s, result_shape=result_shape))
    elif kind == "mask":
        k = draw(st.integers(1, len(s)))
        idx = draw(hnp.arrays(np.bool_, s[:k]))
    elif kind == "list":
        idx = draw(st.lists(st.integers(-s[0], s[0] - 1), min_size=1, max_size=5))
    elif kind == "tensor":
        idx = Tensor(np.asarray(draw(st.lists(st.integers(0, s[0] - 1), min_size=1, max_size=5))))
    else:
        rows = draw(st.lists(st.integers(0, s[1] - 1), min_size=1, max_size=5))
        idx = (slice(None, None, draw(st.sampled_from([1, -1]))), np.asarray(rows))
    return {"idx": idx}


@st.composite
def reduction_params(draw: Any, shapes: tuple) -> dict:
    return {"reduction": draw(st.sampled_from(["mean", "sum"]))}


@st.composite
def xent_params(draw: Any, shapes: tuple) -> dict:
    s = shapes[0]
    c = s[-1]
    labels = draw(hnp.arrays(np.int64, s[:-1], elements=st.integers(0, c - 1)))
    return {"labels": labels, "reduction": draw(st.sampled_from(["mean", "sum"])),
            "as_tensor": draw(st.booleans())}


# ------------------------------------------------------------------------------- references
def np_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def np_log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    z = x - x.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def np_xent(z: np.ndarray, labels: np.ndarray, reduction: str, as_tensor: bool) -> np.ndarray:
    lp = np_log_softmax(z, -1)
    picked = lp[np.arange(z.shape[0]), labels] if z.ndim == 2 else lp[labels]
    total = -np.sum(picked)
    return total / max(picked.size, 1) if reduction == "mean" else total


def np_mse(p: np.ndarray, t: np.ndarray, reduction: str) -> np.ndarray:
    d = (p - t) ** 2
    return d.mean() if reduction == "mean" else d.sum()


def _transpose(x: Any, style: str, perm: tuple) -> Any:
    if style == "T":
        return x.T
    if style == "none":
        return x.transpose()
    if style == "star" and not (x.ndim == 2 and [a % 2 for a in perm] == [0, 1]):
        return x.transpose(*perm)  # (two int arguments naming the identity on a matrix are refused: torch's swap)
    return x.transpose(perm)


def np_transpose(x: np.ndarray, style: str, perm: tuple) -> np.ndarray:
    return x.T if style in ("T", "none") else np.transpose(x, perm)


def tl_reshape(x: Tensor, shape: tuple, star: bool) -> Tensor:
    return x.reshape(*shape) if star else x.reshape(shape)


def tl_linear(x: Any, W: Tensor, b: Optional[Tensor] = None) -> Tensor:
    lin = tl.nn.Linear(W.shape[1], W.shape[0], bias=b is not None)
    lin.weight = W
    lin.bias = b
    return lin(x)


def np_linear(x: np.ndarray, W: np.ndarray, b: Optional[np.ndarray] = None) -> np.ndarray:
    out = x @ W.T
    return out if b is None else out + b


# torch counterparts: ``T`` is the torch module
def t_reduce(name: str) -> Callable:
    def f(T: Any, x: Any, axis: Any, keepdims: bool) -> Any:
        if x.ndim == 0:
            return getattr(T, name)(x)
        dims = tuple(range(x.ndim)) if axis is None else axis
        return getattr(T, name)(x, dim=dims, keepdim=keepdims)
    return f


def t_transpose(T: Any, x: Any, style: str, perm: tuple) -> Any:
    if style in ("T", "none"):
        return x.permute(tuple(reversed(range(x.ndim))))
    return x.permute(tuple(perm))


def t_linear(T: Any, x: Any, W: Any, b: Any = None) -> Any:
    return T.nn.functional.linear(x, W, b)


def t_xent(T: Any, z: Any, labels: np.ndarray, reduction: str, as_tensor: bool) -> Any:
    return T.nn.functional.cross_entropy(z, T.as_tensor(labels), reduction=reduction)


def t_mse(T: Any, p: Any, t: Any, reduction: str) -> Any:
    return T.nn.functional.mse_loss(p, t, reduction=reduction)


# ------------------------------------------------------------------------------- the table
@dataclass(frozen=True)
class OpSpec:
    """One op: ``ref`` (numpy arrays), ``fn`` (tinygrad_lite), ``torch`` (torch module first).

    ``modes`` lists the allowed operand kinds per input: ``t`` a Tensor that requires
    grad, ``n`` a constant numpy array, ``s`` a Python number (its shape forced to ``()``).
    """

    name: str
    ref: Callable
    fn: Callable
    torch: Optional[Callable]
    domains: tuple
    shapes: Any = one_shape
    params: Callable = no_params
    modes: tuple = ()
    grad_ref: Optional[Callable] = None  # exact gradient of sum(out * R), when one is handy

    @property
    def arity(self) -> int:
        return len(self.domains)

    def all_modes(self) -> tuple:
        return self.modes or ("t" * self.arity,)


BIN_MODES = ("tt", "tn", "nt", "ts", "st")


def _binary(name: str, op: Callable, domains: tuple) -> OpSpec:
    return OpSpec(name, op, op, lambda T, a, b: op(a, b), domains, two_broadcast, modes=BIN_MODES)


def _unary(name: str, ref: Callable, fn: Callable, torch: Optional[Callable], domain: str = "real",
           shapes: Any = one_shape, params: Callable = no_params, **kw: Any) -> OpSpec:
    return OpSpec(name, ref, fn, torch, (domain,), shapes, params, **kw)


def _getitem_grad(arrays: list, R: np.ndarray, idx: Any) -> list:
    """d sum(x[idx] * R) / dx: R scattered back, repeated positions adding up."""
    z = np.zeros_like(arrays[0])
    key = idx.data if isinstance(idx, Tensor) else idx
    np.add.at(z, key, R)
    return [z]


OPS = [
    _binary("add", operator.add, ("real", "real")),
    _binary("sub", operator.sub, ("real", "real")),
    _binary("mul", operator.mul, ("real", "real")),
    _binary("div", operator.truediv, ("real", "nonzero")),
    _binary("pow", operator.pow, ("pos", "real")),
    OpSpec("matmul", operator.matmul, operator.matmul, lambda T, a, b: a @ b, ("real", "real"),
           matmul_shapes(), modes=("tt", "tn", "nt")),
    _unary("neg", operator.neg, operator.neg, lambda T, x: -x),
    _unary("pow_3", lambda x: x ** 3, lambda x: x ** 3, lambda T, x: x ** 3),
    _unary("pow_2", lambda x: x ** 2, lambda x: x ** 2, lambda T, x: x ** 2),
    _unary("pow_2.5", lambda x: x ** 2.5, lambda x: x ** 2.5, lambda T, x: x ** 2.5, "pos"),
    _unary("pow_-2", lambda x: x ** -2.0, lambda x: x ** -2, lambda T, x: x ** -2, "nonzero"),
    _unary("pow_0.5", lambda x: np.sqrt(x), lambda x: x ** 0.5, lambda T, x: x ** 0.5, "pos"),
    _unary("rpow_2", lambda x: 2.0 ** x, lambda x: 2.0 ** x, lambda T, x: 2.0 ** x),
    _unary("rpow_int", lambda x: 3 ** x, lambda x: 3 ** x, lambda T, x: 3 ** x),
    _unary("rdiv_num", lambda x: 1.5 / x, lambda x: 1.5 / x, lambda T, x: 1.5 / x, "nonzero"),
    _unary("rsub_int", lambda x: 2 - x, lambda x: 2 - x, lambda T, x: 2 - x),
    _unary("sum", np.sum, lambda x, **p: x.sum(**p), t_reduce("sum"), params=axis_params),
    _unary("mean", np.mean, lambda x, **p: x.mean(**p), t_reduce("mean"), params=axis_params),
    _unary("max", np.max, lambda x, **p: x.max(**p), t_reduce("amax"), "distinct", params=axis_params),
    _unary("min", np.min, lambda x, **p: x.min(**p), t_reduce("amin"), "distinct", params=axis_params),
    _unary("abs", np.abs, Tensor.abs, lambda T, x: x.abs(), "off_zero"),
    _unary("square", np.square, Tensor.square, lambda T, x: x.square()),
    _unary("exp", np.exp, Tensor.exp, lambda T, x: x.exp()),
    _unary("log", np.log, Tensor.log, lambda T, x: x.log(), "pos"),
    _unary("sqrt", np.sqrt, Tensor.sqrt, lambda T, x: x.sqrt(), "pos"),
    _unary("tanh", np.tanh, Tensor.tanh, lambda T, x: x.tanh()),
    _unary("relu", lambda x: np.maximum(x, 0.0), Tensor.relu, lambda T, x: x.relu(), "off_zero"),
    _unary("sigmoid", lambda x: 1.0 / (1.0 + np.exp(-x)), Tensor.sigmoid, lambda T, x: x.sigmoid()),
    _unary("softmax", np_softmax, lambda x, **p: x.softmax(**p),
           lambda T, x, axis=-1: T.softmax(x, dim=axis), shapes=shape_1d_up.map(lambda s: (s,)),
           params=softmax_params),
    _unary("log_softmax", np_log_softmax, lambda x, **p: x.log_softmax(**p),
           lambda T, x, axis=-1: T.log_softmax(x, dim=axis), shapes=shape_1d_up.map(lambda s: (s,)),
           params=softmax_params),
    _unary("reshape", lambda x, shape, star: np.reshape(x, shape), tl_reshape,
           lambda T, x, shape, star: x.reshape(shape), params=reshape_params),
    _unary("transpose", np_transpose, _transpose, t_transpose, params=transpose_params),
    _unary("getitem", lambda x, idx: x[idx.data if isinstance(idx, Tensor) else idx],
           lambda x, idx: x[idx], None, params=getitem_params, grad_ref=_getitem_grad),
    OpSpec("mse_loss", np_mse, lambda p, t, **k: tl.nn.mse_loss(p, t, **k), t_mse, ("real", "real"),
           two_same, reduction_params, modes=("tt", "tn")),
    _unary("cross_entropy", np_xent,
           lambda z, labels, reduction, as_tensor: tl.nn.cross_entropy(
               z, Tensor(labels) if as_tensor else labels, reduction=reduction),
           t_xent, shapes=xent_shapes(), params=xent_params),
    OpSpec("linear", np_linear, tl_linear, t_linear, ("real", "real", "real"), linear_shapes(True),
           modes=("ttt", "ntt")),
    OpSpec("linear_nobias", np_linear, tl_linear, t_linear, ("real", "real"), linear_shapes(False),
           modes=("tt", "nt")),
]
OP_IDS = [op.name for op in OPS]
TORCH_OPS = [op for op in OPS if op.torch is not None]  # getitem: torch has no negative steps


# ------------------------------------------------------------------------------- drawing a case
@dataclass
class Case:
    spec: OpSpec
    mode: str
    arrays: list  # float64 values of every operand
    params: dict
    R: np.ndarray = field(default_factory=lambda: np.zeros(()))

    def operands(self) -> list:
        """The operands as tinygrad_lite sees them: Tensors, numpy arrays or numbers."""
        out = []
        for m, a in zip(self.mode, self.arrays):
            if m == "t":
                out.append(Tensor(a.copy(), requires_grad=True))
            elif m == "n":
                out.append(a.copy())
            else:
                out.append(float(a))
        return out

    def reference(self, arrays: Optional[list] = None) -> np.ndarray:
        arrays = self.arrays if arrays is None else arrays
        args = [float(a) if m == "s" else a for m, a in zip(self.mode, arrays)]
        return np.asarray(self.spec.ref(*args, **self.params), dtype=np.float64)


def draw_case(data: Any, spec: OpSpec) -> Case:
    mode = data.draw(st.sampled_from(spec.all_modes()), label="mode")
    shapes = list(data.draw(spec.shapes, label="shapes"))
    shapes = [() if m == "s" else s for m, s in zip(mode, shapes)]
    params = data.draw(spec.params(tuple(shapes)), label="params")
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    rng = np.random.default_rng(seed)
    arrays = [np.asarray(DOMAINS[d](rng, s), dtype=np.float64) for d, s in zip(spec.domains, shapes)]
    case = Case(spec, mode, arrays, params)
    case.R = rng.standard_normal(case.reference().shape)
    return case


def fd_gradients(case: Case) -> list:
    """Central differences of L = sum(ref(inputs) * R) for every Tensor operand."""
    grads = []
    for k, (m, a) in enumerate(zip(case.mode, case.arrays)):
        if m != "t":
            grads.append(None)
            continue
        g = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            vals = []
            for step in (FD_EPS, -FD_EPS):
                arrays = [x.copy() for x in case.arrays]
                arrays[k][idx] += step
                vals.append(np.sum(case.reference(arrays) * case.R))
            g[idx] = (vals[0] - vals[1]) / (2 * FD_EPS)
        grads.append(g)
    return grads


def run_tl(case: Case) -> tuple:
    """Forward and backward (seed R) in tinygrad_lite: (output, [grad or None per operand])."""
    operands = case.operands()
    out = case.spec.fn(*operands, **case.params)
    assert isinstance(out, Tensor)
    out.backward(gradient=case.R)
    grads = [o.grad if isinstance(o, Tensor) else None for o in operands]
    return out, grads


# ------------------------------------------------------------------------------- the checks
# (every op table of the test suite runs these three: here the core ops, elsewhere the torch
# spellings, losses and activations)
def check_forward(spec: OpSpec, data: Any) -> None:
    """The op's value equals its numpy reference, as a float64 Tensor that requires grad
    exactly when a Tensor operand does."""
    case = draw_case(data, spec)
    out = spec.fn(*case.operands(), **case.params)
    ref = case.reference()
    assert isinstance(out, Tensor)
    assert isinstance(out.data, np.ndarray), f"{spec.name}: .data is {type(out.data).__name__}"
    assert out.shape == ref.shape
    assert out.dtype == np.float64
    assert out.requires_grad == ("t" in case.mode)
    np.testing.assert_allclose(out.data, ref, rtol=FWD_RTOL, atol=FWD_ATOL)


def check_gradients(spec: OpSpec, data: Any) -> None:
    """Each operand's gradient equals central finite differences (and the spec's exact
    gradient, where it gives one)."""
    case = draw_case(data, spec)
    _, grads = run_tl(case)
    expected = fd_gradients(case)
    exact = spec.grad_ref(case.arrays, case.R, **case.params) if spec.grad_ref else None
    for k, (g, e) in enumerate(zip(grads, expected)):
        if e is None:
            assert g is None
            continue
        assert isinstance(g, np.ndarray) and g.shape == case.arrays[k].shape and g.dtype == np.float64
        np.testing.assert_allclose(g, e, rtol=FD_RTOL, atol=FD_ATOL, err_msg=f"{spec.name}: operand {k}")
        if exact is not None:
            np.testing.assert_allclose(g, exact[k], rtol=1e-12, atol=1e-14)


def check_torch(torch: Any, spec: OpSpec, data: Any) -> None:
    """The value and every Tensor operand's gradient equal torch's (float64)."""
    case = draw_case(data, spec)
    out, grads = run_tl(case)
    targs = [float(a) if m == "s" else torch.tensor(a, dtype=torch.float64, requires_grad=(m == "t"))
             for m, a in zip(case.mode, case.arrays)]
    tout = spec.torch(torch, *targs, **case.params)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=TORCH_TOL, atol=TORCH_TOL)
    if tout.requires_grad:
        tout.backward(torch.tensor(case.R, dtype=torch.float64))
    for k, (g, ta) in enumerate(zip(grads, targs)):
        if case.mode[k] != "t":
            continue
        tg = np.zeros(case.arrays[k].shape) if ta.grad is None else ta.grad.numpy()
        np.testing.assert_allclose(g, tg, rtol=TORCH_TOL, atol=TORCH_TOL, err_msg=f"{spec.name}: operand {k}")


def table_tests(specs: list) -> tuple:
    """The three checks over the op table ``specs``, as pytest tests (hypothesis draws the
    cases): ``(forward vs numpy, gradients vs finite differences, value and gradients vs
    torch)``. A test module assigns them to its ``test_*`` names."""
    over = pytest.mark.parametrize("spec", specs, ids=[s.name for s in specs])

    @over
    @SETTINGS
    @given(data=st.data())
    def forward(spec: OpSpec, data: Any) -> None:
        check_forward(spec, data)

    @over
    @SETTINGS
    @given(data=st.data())
    def gradients(spec: OpSpec, data: Any) -> None:
        check_gradients(spec, data)

    @over
    @SETTINGS
    @given(data=st.data())
    def against_torch(torch: Any, spec: OpSpec, data: Any) -> None:
        check_torch(torch, spec, data)

    return forward, gradients, against_torch


# ------------------------------------------------------------------------------- the tests
test_forward_matches_numpy, test_gradient_matches_finite_differences, _ = table_tests(OPS)
_, _, test_matches_torch = table_tests(TORCH_OPS)


@pytest.mark.parametrize("spec", OPS, ids=OP_IDS)
def test_gradcheck_accepts_every_op(spec: OpSpec) -> None:
    """tl.gradcheck on sum(op(inputs) * R) for one fixed, all-Tensor example per op."""
    fixed = {
        "matmul": [(2, 3), (3, 2)], "softmax": [(2, 3)], "log_softmax": [(2, 3)],
        "cross_entropy": [(3, 4)], "linear": [(2, 3), (4, 3), (4,)], "linear_nobias": [(2, 3), (4, 3)],
    }
    shapes = fixed.get(spec.name, [(2, 3)] * spec.arity)
    params = {
        "sum": {"axis": 1, "keepdims": False}, "mean": {"axis": (0, -1), "keepdims": True},
        "max": {"axis": -1, "keepdims": False}, "softmax": {"axis": 0}, "log_softmax": {},
        "reshape": {"shape": (3, -1), "star": True}, "transpose": {"style": "T", "perm": (1, 0)},
        "getitem": {"idx": (np.array([1, 1, 0]), slice(None, None, -1))},
        "mse_loss": {"reduction": "mean"},
        "cross_entropy": {"labels": np.array([0, 3, 1]), "reduction": "sum", "as_tensor": False},
    }.get(spec.name, {})
    rng = np.random.default_rng(7)
    inputs = [Tensor(DOMAINS[d](rng, s), requires_grad=True) for d, s in zip(spec.domains, shapes)]
    R = Tensor(rng.standard_normal(np.shape(spec.ref(*[t.data for t in inputs], **params))))

    def f(*xs: Tensor) -> Tensor:
        return (spec.fn(*xs, **params) * R).sum()

    assert tl.gradcheck(f, inputs) is True


# ------------------------------------------------------------------------------- targeted cases
BROADCAST_PAIRS = [((3, 1), (4,)), ((4,), (3, 1)), ((2, 3, 4), (4,)), ((4,), (2, 3, 4)), ((3,), (2, 3)),
                   ((2, 3), (3,)), ((), (2, 3)), ((2, 3), ()), ((2, 1, 4), (3, 1)), ((1, 3), (2, 1))]
BINARY = [op for op in OPS if op.modes == BIN_MODES]


@pytest.mark.parametrize("spec", BINARY, ids=[op.name for op in BINARY])
@pytest.mark.parametrize("shapes", BROADCAST_PAIRS, ids=str)
@pytest.mark.parametrize("mode", ["tt", "tn", "nt"])
def test_broadcasting_both_ways(spec: OpSpec, shapes: tuple, mode: str) -> None:
    rng = np.random.default_rng(len(shapes[0]) * 10 + len(shapes[1]))
    arrays = [np.asarray(DOMAINS[d](rng, s)) for d, s in zip(spec.domains, shapes)]
    case = Case(spec, mode, arrays, {})
    case.R = rng.standard_normal(np.broadcast_shapes(*shapes))
    out, grads = run_tl(case)
    assert out.shape == case.R.shape
    np.testing.assert_allclose(out.data, case.reference(), rtol=FWD_RTOL, atol=FWD_ATOL)
    for g, e, a in zip(grads, fd_gradients(case), arrays):
        if e is not None:
            assert g.shape == a.shape
            np.testing.assert_allclose(g, e, rtol=FD_RTOL, atol=FD_ATOL)


@pytest.mark.parametrize("left", [True, False], ids=["number_left", "number_right"])
@pytest.mark.parametrize("number", [2, 2.5, -1.5, np.float64(0.75)], ids=repr)
@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "pow"])
def test_python_numbers_on_either_side(name: str, number: Any, left: bool) -> None:
    """int, float and numpy float scalars, on the left and on the right."""
    op = {"add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv,
          "pow": operator.pow}[name]
    if name == "pow" and left and number < 0:
        number = -number  # a positive base
    x0 = np.array([[0.5, 1.25, 2.0], [0.75, 1.5, 1.1]])
    x = Tensor(x0, requires_grad=True)
    out = op(number, x) if left else op(x, number)
    ref = op(number, x0) if left else op(x0, number)
    assert isinstance(out, Tensor) and out.dtype == np.float64
    np.testing.assert_allclose(out.data, ref, rtol=FWD_RTOL)
    out.sum().backward()
    h = 1e-6
    num = ((op(number, x0 + h) if left else op(x0 + h, number))
           - (op(number, x0 - h) if left else op(x0 - h, number))) / (2 * h)
    np.testing.assert_allclose(x.grad, num, rtol=1e-7, atol=1e-8)


def test_repeated_indices_accumulate() -> None:
    x = Tensor(np.arange(4.0), requires_grad=True)
    x[np.array([0, 0, 2, 0])].sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 0.0, 1.0, 0.0])
    y = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    (y[[1, 1], [2, 2]] * Tensor([2.0, 5.0])).sum().backward()
    np.testing.assert_array_equal(y.grad, [[0, 0, 0], [0, 0, 7.0]])


def test_boolean_mask_and_negative_step() -> None:
    x0 = np.array([[1.0, -2.0, 3.0], [-4.0, 5.0, -6.0]])
    x = Tensor(x0, requires_grad=True)
    picked = x[x0 > 0]
    np.testing.assert_array_equal(picked.data, [1.0, 3.0, 5.0])
    (picked * Tensor([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_array_equal(x.grad, [[1, 0, 2], [0, 3, 0]])
    z = Tensor(np.arange(5.0), requires_grad=True)
    r = z[::-2]
    np.testing.assert_array_equal(r.data, [4.0, 2.0, 0.0])
    (r * Tensor([1.0, 10.0, 100.0])).sum().backward()
    np.testing.assert_array_equal(z.grad, [100, 0, 10, 0, 1])
    e = Tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    s = e[..., None, 1]
    assert s.shape == (2, 3, 1)
    s.sum().backward()
    assert e.grad[:, :, 1].sum() == 6 and e.grad.sum() == 6


@pytest.mark.parametrize("shape", [(4,), (3, 4), (2, 3, 4)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_is_one_node_equal_to_its_composition(shape: tuple, bias: bool) -> None:
    rng = np.random.default_rng(3)
    x0 = rng.standard_normal(shape)
    lin = tl.nn.Linear(4, 5, bias=bias, rng=1)
    x = Tensor(x0, requires_grad=True)
    out = lin(x)
    assert out.op == "linear"
    R = rng.standard_normal(out.shape)
    out.backward(R)
    fused = [x.grad, lin.weight.grad] + ([lin.bias.grad] if bias else [])
    x2 = Tensor(x0, requires_grad=True)
    W2 = Tensor(lin.weight.data.copy(), requires_grad=True)
    b2 = Tensor(lin.bias.data.copy(), requires_grad=True) if bias else None
    comp = x2 @ W2.T + b2 if bias else x2 @ W2.T
    np.testing.assert_allclose(out.data, comp.data, rtol=1e-12, atol=1e-14)
    comp.backward(R)
    composed = [x2.grad, W2.grad] + ([b2.grad] if bias else [])
    for f, c in zip(fused, composed):
        assert f.shape == c.shape
        np.testing.assert_allclose(f, c, rtol=1e-12, atol=1e-14)
