"""The second batch of torch's Tensor methods and ``tl.*`` functions: elementwise maths
(sin, cos, log1p, expm1, log2, log10, exp2, rsqrt, reciprocal, erf, maximum, minimum, atan2,
clamp_min / clamp_max), in-place arithmetic, named comparisons and predicates, torch's
function namespace, and the Python conversions of one-element tensors.

The differentiable ones are rows of a table in ``test_ops``'s format and go through the
same checks as their siblings: forward against numpy, gradient of ``sum(out * R)`` against
float64 central differences over hypothesis-drawn shapes (broadcasting both ways for the
binary ones), forward and gradient against torch. Then: per-sample gradients through each
new op equal running each sample alone, the ops applied to a batch statistic raise the
mixing error naming them, bad arguments raise clear errors and change nothing, and the
in-place forms, predicates and functions behave as torch's.
"""

from __future__ import annotations

import math
import operator
from typing import Any, Callable

import numpy as np
import pytest
from test_ops import (
    BIN_MODES,
    BROADCAST_PAIRS,
    FD_ATOL,
    FD_RTOL,
    FWD_ATOL,
    FWD_RTOL,
    Case,
    OpSpec,
    any_shape,
    fd_gradients,
    run_tl,
    table_tests,
    two_broadcast,
)
from test_tensor_api import check_bad_argument, check_each_sample_alone, check_mixing

import tinygrad_lite as tl
from tinygrad_lite import Tensor, ops

INF, NAN = float("inf"), float("nan")
_erf_ref = np.vectorize(math.erf, otypes=[np.float64])  # an independent reference for erf


def _u(name: str, ref: Callable, domain: str = "real") -> OpSpec:
    """A unary method row: ``x.name()`` here and in torch."""
    return OpSpec(name, ref, lambda x: getattr(x, name)(), lambda T, x: getattr(x, name)(), (domain,),
                  any_shape.map(lambda s: (s,)))


def _tensor(a: Any) -> Tensor:
    return a if isinstance(a, Tensor) else Tensor(a)


def _b(name: str, ref: Callable, domains: tuple = ("real", "real")) -> OpSpec:
    """A binary function row: ``tl.name(a, b)`` (the first operand made a Tensor when it is
    an array or a number), torch's ``torch.name`` with numbers as 0-d tensors."""
    def torch_call(T: Any, a: Any, b: Any) -> Any:
        wrap = [x if isinstance(x, T.Tensor) else T.tensor(x, dtype=T.float64) for x in (a, b)]
        return getattr(T, name)(*wrap)

    return OpSpec(name, ref, lambda a, b: getattr(tl, name)(_tensor(a), b), torch_call, domains, two_broadcast,
                  modes=BIN_MODES)


NEW_OPS = [
    _u("sin", np.sin),
    _u("cos", np.cos),
    _u("log1p", np.log1p, "pos"),
    _u("expm1", np.expm1),
    _u("log2", np.log2, "pos"),
    _u("log10", np.log10, "pos"),
    _u("exp2", np.exp2),
    _u("rsqrt", lambda x: 1.0 / np.sqrt(x), "pos"),
    _u("reciprocal", lambda x: 1.0 / x, "nonzero"),
    _u("erf", _erf_ref),
    OpSpec("clamp_min", lambda x: np.maximum(x, 0.0), lambda x: x.clamp_min(0.0), lambda T, x: x.clamp_min(0.0),
           ("off_zero",), any_shape.map(lambda s: (s,))),
    OpSpec("clamp_max", lambda x: np.minimum(x, 0.5), lambda x: x.clamp_max(0.5), lambda T, x: x.clamp_max(0.5),
           ("nonzero",), any_shape.map(lambda s: (s,))),
    _b("maximum", np.maximum),
    _b("minimum", np.minimum),
    _b("atan2", np.arctan2, ("nonzero", "real")),  # a away from 0: off the branch cut at a = 0, b < 0
]
IDS = [s.name for s in NEW_OPS]
BINARY = [s for s in NEW_OPS if s.modes == BIN_MODES]


test_forward_matches_numpy, test_gradient_matches_finite_differences, test_matches_torch = table_tests(NEW_OPS)


@pytest.mark.parametrize("spec", BINARY, ids=[s.name for s in BINARY])
@pytest.mark.parametrize("shapes", BROADCAST_PAIRS, ids=str)
@pytest.mark.parametrize("mode", ["tt", "tn", "nt"])
def test_binary_ops_broadcast_both_ways_and_unbroadcast_their_gradients(spec: OpSpec, shapes: tuple,
                                                                        mode: str) -> None:
    rng = np.random.default_rng(len(shapes[0]) * 10 + len(shapes[1]))
    from test_ops import DOMAINS
    case = Case(spec, mode, [np.asarray(DOMAINS[d](rng, s)) for d, s in zip(spec.domains, shapes)], {})
    case.R = rng.standard_normal(np.broadcast_shapes(*shapes))
    out, grads = run_tl(case)
    assert out.shape == case.R.shape
    np.testing.assert_allclose(out.data, case.reference(), rtol=FWD_RTOL, atol=FWD_ATOL)
    for g, e, a in zip(grads, fd_gradients(case), case.arrays):
        if e is not None:
            assert g.shape == a.shape
            np.testing.assert_allclose(g, e, rtol=FD_RTOL, atol=FD_ATOL)


def test_every_new_op_is_one_registered_class_with_its_rule() -> None:
    names = {o.name for o in ops.ALL}
    x = Tensor(np.full((2, 3), 0.5), requires_grad=True)
    outs = [x.sin(), x.cos(), x.log1p(), x.expm1(), x.log2(), x.log10(), x.exp2(), x.rsqrt(), x.reciprocal(), x.erf(),
            x.maximum(0.2), x.minimum(x * 2), x.atan2(1.0)]
    for out in outs:
        assert out.op in names and out._op in ops.ALL and out._op.rule.startswith("d "), out.op
    assert [o.op for o in outs] == ["sin", "cos", "log1p", "expm1", "log2", "log10", "exp2", "rsqrt", "reciprocal",
                                    "erf", "maximum", "minimum", "atan2"]
    assert len({type(o._op) for o in outs}) == len(outs)  # one class each


# ------------------------------------------------------------------------------- ties and edge values
def test_maximum_and_minimum_split_ties_in_halves_and_pass_nan_as_torch(torch: Any) -> None:
    a0 = np.array([1.0, 2.0, 2.0, NAN, 0.0, -1.0])
    b0 = np.array([0.0, 2.0, 3.0, 1.0, NAN, -1.0])
    for name in ("maximum", "minimum"):
        a, b = Tensor(a0, requires_grad=True), Tensor(b0, requires_grad=True)
        ta, tb = (torch.tensor(v, requires_grad=True) for v in (a0, b0))
        out, tout = getattr(a, name)(b), getattr(torch, name)(ta, tb)
        np.testing.assert_array_equal(out.data, tout.detach().numpy())
        R = np.arange(1.0, 7.0)
        out.backward(R)
        tout.backward(torch.tensor(R))
        np.testing.assert_array_equal(a.grad, ta.grad.numpy(), err_msg=name)
        np.testing.assert_array_equal(b.grad, tb.grad.numpy(), err_msg=name)
    m = Tensor(np.array([[1.0, 3.0]]), requires_grad=True)
    m.maximum(np.array([[1.0], [2.0], [5.0]])).sum().backward()  # ties and broadcasting together
    np.testing.assert_array_equal(m.grad, [[0.5, 2.0]])  # 1: a tie, then two losses; 3: two wins


EDGES = [  # (values, method): infinities and nans in the forward and in the gradient
    (np.array([0.0, -0.0, -1.0, INF]), "rsqrt"),
    (np.array([0.0, -0.0, INF, -2.0]), "reciprocal"),
    (np.array([-1.0, -2.0, 0.0, INF]), "log1p"),
    (np.array([0.0, -1.0, INF]), "log2"),
    (np.array([0.0, -1.0, INF]), "log10"),
    (np.array([800.0, -INF, 0.0]), "expm1"),
    (np.array([2000.0, -INF, 0.0]), "exp2"),
    (np.array([INF, -INF, 0.0, 30.0]), "erf"),
    (np.array([INF, 0.0]), "sin"),
]


@pytest.mark.parametrize("arr,name", EDGES, ids=[e[1] for e in EDGES])
def test_edge_values_match_torch(torch: Any, arr: np.ndarray, name: str) -> None:
    x, t = Tensor(arr, requires_grad=True), torch.tensor(arr, requires_grad=True)
    out, tout = getattr(x, name)(), getattr(t, name)()
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12)
    out.backward(np.ones(arr.shape))
    tout.backward(torch.ones(arr.shape, dtype=torch.float64))
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-12)


def test_atan2_at_the_origin_and_on_the_axes_matches_torch(torch: Any) -> None:
    a0, b0 = np.array([0.0, 0.0, 1.0, -1.0, 0.0]), np.array([0.0, -1.0, 0.0, 0.0, 2.0])
    a, b = Tensor(a0, requires_grad=True), Tensor(b0, requires_grad=True)
    ta, tb = (torch.tensor(v, requires_grad=True) for v in (a0, b0))
    out, tout = tl.atan2(a, b), torch.atan2(ta, tb)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-15)
    out.sum().backward()
    tout.sum().backward()
    np.testing.assert_allclose(a.grad, ta.grad.numpy(), rtol=1e-15)
    np.testing.assert_allclose(b.grad, tb.grad.numpy(), rtol=1e-15)


def test_float32_stays_float32_and_integers_compute_in_float64() -> None:
    x = Tensor(np.linspace(0.25, 1.5, 6, dtype=np.float32).reshape(2, 3), requires_grad=True)
    fns = ["sin", "cos", "log1p", "expm1", "log2", "log10", "exp2", "rsqrt", "reciprocal", "erf"]
    outs = [getattr(x, f)() for f in fns] + [x.maximum(0.5), x.minimum(np.float64(0.5)), x.atan2(1.0),
                                             tl.maximum(x, Tensor(np.ones(3, np.float32))), x.clamp_min(0.5)]
    for o in outs:
        assert o.dtype == np.float32, o.op
        x.grad = None
        o.sum().backward()
        assert x.grad.dtype == np.float32, o.op
    n = Tensor(np.array([1, 2, 4]))
    for f in fns:
        out = getattr(n, f)()
        assert out.dtype == np.float64
        np.testing.assert_allclose(out.data, getattr(Tensor(np.array([1.0, 2.0, 4.0])), f)().data, rtol=1e-15)
    assert n.maximum(3).dtype == np.int64 and n.maximum(2.5).dtype == np.float64


# ------------------------------------------------------------------------------- per-sample gradients
PER_SAMPLE = [  # fn(x, W) with x of shape (B, 4) batched and W (3, 4); the output keeps axis 0 first
    ("sin", lambda x, W: (x @ W.T).sin()),
    ("cos", lambda x, W: (x @ W.T).cos() * x[:, :3]),
    ("log1p", lambda x, W: ((x @ W.T) ** 2).log1p()),
    ("expm1", lambda x, W: (x @ W.T).expm1()),
    ("log2", lambda x, W: ((x @ W.T) ** 2 + 1).log2()),
    ("log10", lambda x, W: ((x * W[0]) ** 2 + 0.5).log10()),
    ("exp2", lambda x, W: (x @ W.T).exp2()),
    ("rsqrt", lambda x, W: ((x @ W.T) ** 2 + 1).rsqrt()),
    ("reciprocal", lambda x, W: ((x @ W.T) ** 2 + 1).reciprocal()),
    ("erf", lambda x, W: (x @ W.T).erf()),
    ("maximum(per-sample, per-sample)", lambda x, W: tl.maximum(x @ W.T, x[:, 1:] * 2)),
    ("maximum(per-sample, W)", lambda x, W: (x * 0.5).maximum(W[1])),
    ("minimum(W, per-sample)", lambda x, W: tl.minimum(W[:, 0], x @ W.T) * x[:, :3]),
    ("atan2", lambda x, W: tl.atan2(x @ W.T, x[:, :3] ** 2 + 1)),
    ("atan2(W, x)", lambda x, W: W[2].atan2(x + 3)),
    ("clamp_min", lambda x, W: (x @ W.T).clamp_min(0.1)),
]


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("name,fn", PER_SAMPLE, ids=[c[0] for c in PER_SAMPLE])
def test_per_sample_gradients_equal_each_sample_alone(name: str, fn: Callable, reduction: str) -> None:
    check_each_sample_alone(name, fn, reduction, np.random.default_rng(31), 5)


MIXING = [  # fn(x, W) over a batched x (4, 4), and the op that mixes samples
    ("sin(sum over samples)", "sin", lambda x, W: (x @ W.T).sum(0).sin().sum()),
    ("cos(mean over samples)", "cos", lambda x, W: (x @ W.T).mean(0).cos().sum()),
    ("log1p", "log1p", lambda x, W: ((x @ W.T) ** 2).mean(0).log1p().sum()),
    ("expm1", "expm1", lambda x, W: (x @ W.T).mean().expm1()),
    ("log2", "log2", lambda x, W: ((x @ W.T) ** 2).sum().log2()),
    ("log10", "log10", lambda x, W: ((x @ W.T) ** 2).sum(0).log10().sum()),
    ("exp2", "exp2", lambda x, W: (x @ W.T).mean(0).exp2().sum()),
    ("rsqrt", "rsqrt", lambda x, W: ((x @ W.T) ** 2).mean(0).rsqrt().sum()),
    ("reciprocal", "reciprocal", lambda x, W: ((x @ W.T) ** 2 + 1).sum(0).reciprocal().sum()),
    ("erf", "erf", lambda x, W: (x @ W.T).mean(0).erf().sum()),
    ("maximum(cost, number)", "maximum", lambda x, W: tl.maximum((x @ W.T).mean(), 0.1)),
    ("maximum(per-sample, batch mean)", "maximum", lambda x, W: tl.maximum(x @ W.T, (x @ W.T).mean(0)).sum()),
    ("minimum(batch sum, W)", "minimum", lambda x, W: (x @ W.T).sum(0).minimum(W[:, 0]).sum()),
    ("atan2(batch mean, 1)", "atan2", lambda x, W: (x @ W.T).mean(0).atan2(1.0).sum()),
]


@pytest.mark.parametrize("name,op,fn", MIXING, ids=[m[0] for m in MIXING])
def test_new_ops_on_a_batch_statistic_raise_the_mixing_error_naming_them(name: str, op: str, fn: Callable) -> None:
    check_mixing(op, fn, np.random.default_rng(32))


def test_a_maximum_of_two_costs_is_still_a_linear_combination_only_where_linear() -> None:
    """maximum of a cost and a constant is not linear in the cost: mixing, not a silent split."""
    X = np.random.default_rng(33).standard_normal((3, 4))
    W = Tensor(np.ones((3, 4)), requires_grad=True)
    cost = tl.maximum((Tensor(X, batched=True) @ W.T).mean(), Tensor(-10.0))
    assert cost.op == "maximum"
    cost.backward()
    with pytest.raises(RuntimeError, match="'maximum' applied to a batch statistic"):
        _ = W.grad_sample


# ------------------------------------------------------------------------------- bad input
BAD = [  # (call on x of shape (2, 3), exception, words the message must hold)
    (lambda x: x.maximum(np.ones(4)), ValueError, ["maximum", "(2, 3)", "(4,)"]),
    (lambda x: tl.minimum(x, Tensor(np.ones((3, 2)))), ValueError, ["minimum", "(2, 3)", "(3, 2)"]),
    (lambda x: x.atan2(np.ones((2, 2))), ValueError, ["atan2", "(2, 3)", "(2, 2)"]),
    (lambda x: x.maximum("a"), TypeError, ["tensor operand"]),
    (lambda x: tl.exp(np.ones(3)), TypeError, ["exp", "Tensor", "ndarray"]),
    (lambda x: tl.maximum([1.0], x), TypeError, ["maximum", "Tensor", "list"]),
    (lambda x: tl.from_numpy([1.0, 2.0]), TypeError, ["from_numpy", "list"]),
    (lambda x: tl.from_numpy(np.array(["a"])), TypeError, ["from_numpy", "<U1"]),
    (lambda x: tl.transpose(x, 0, 5), ValueError, ["swapaxes", "(2, 3)"]),
    (lambda x: tl.as_tensor(x, device="cuda"), RuntimeError, ["as_tensor", "cuda"]),
    (lambda x: x.ne(None), TypeError, ["ne", "NoneType"]),
    (lambda x: x.lt("a"), TypeError, ["less"]),
    (lambda x: x.ge(np.ones(4)), ValueError, ["greater_equal", "(2, 3)", "(4,)"]),
    (lambda x: x.any(5), IndexError, ["any", "5"]),
    (lambda x: x.all((0, 0)), ValueError, ["all", "repeated"]),
    (lambda x: x.any(0, keepdim=1), TypeError, ["keepdim"]),
    (lambda x: x.logical_and(np.ones(4)), ValueError, ["logical_and", "(2, 3)", "(4,)"]),
    (lambda x: x.add_(np.ones(4)), ValueError, ["add_", "(2, 3)", "(4,)"]),
    (lambda x: x.add_(np.ones((4, 2, 3))), ValueError, ["add_", "(4, 2, 3)", "(2, 3)"]),
    (lambda x: x.sub_(np.ones((3, 1)), alpha=2), ValueError, ["sub_", "(2, 3)", "(3, 1)"]),
    (lambda x: x.mul_(np.ones((2, 2, 3))), ValueError, ["mul_", "(2, 2, 3)", "(2, 3)"]),
    (lambda x: x.div_(2.0, rounding_mode="ceil"), ValueError, ["div_", "ceil"]),
    (lambda x: x.div_(np.ones(2)), ValueError, ["div_", "(2,)"]),
    (lambda x: x.clamp_(), ValueError, ["clamp_", "min", "max"]),
    (lambda x: x.clamp_(np.zeros(4)), ValueError, ["clamp_", "(4,)", "(2, 3)"]),
    (lambda x: x.clamp_("a"), TypeError, ["clamp_", "min"]),
    (lambda x: x.clamp_min_(np.zeros((3, 3))), ValueError, ["clamp_", "(3, 3)"]),
    (lambda x: x.add_(1j), TypeError, ["add_", "complex"]),
]


@pytest.mark.parametrize("k", range(len(BAD)))
def test_bad_arguments_raise_clear_errors_and_change_nothing(k: int) -> None:
    check_bad_argument(*BAD[k])


def test_in_place_results_that_do_not_fit_the_dtype_are_refused_and_change_nothing(torch: Any) -> None:
    n = Tensor(np.array([5, -7, 9]))
    for call in (lambda v: v.add_(0.5), lambda v: v.div_(2), lambda v: v.mul_(1.5), lambda v: v.exp_(),
                 lambda v: v.clamp_(0.5)):
        with pytest.raises(TypeError, match="cannot be stored"):
            call(n)
        with pytest.raises(RuntimeError):
            call(torch.tensor([5, -7, 9]))
    np.testing.assert_array_equal(n.data, [5, -7, 9])
    assert n._v == 0
    with pytest.raises(ZeroDivisionError, match="div_"):
        n.div_(np.array([1, 0, 1]), rounding_mode="floor")
    np.testing.assert_array_equal(n.data, [5, -7, 9])


# ------------------------------------------------------------------------------- in place
IN_PLACE = [  # (method call on a tensor, torch's spelling of the same)
    ("add_", lambda v: v.add_(2.5)),
    ("add_(tensor, alpha)", lambda v: v.add_(_same(v, [1.0, -2.0, 0.5]), alpha=-1.5)),
    ("sub_", lambda v: v.sub_(_same(v, [[1.0], [3.0]]))),
    ("sub_(alpha)", lambda v: v.sub_(0.25, alpha=4)),
    ("mul_", lambda v: v.mul_(_same(v, [2.0, 0.0, -1.0]))),
    ("div_", lambda v: v.div_(-4.0)),
    ("div_(trunc)", lambda v: v.div_(_same(v, [2.0, -3.0, 4.0]), rounding_mode="trunc")),
    ("div_(floor)", lambda v: v.div_(-2.0, rounding_mode="floor")),
    ("clamp_", lambda v: v.clamp_(-2.0, 3.0)),
    ("clamp_(tensor bounds)", lambda v: v.clamp_(_same(v, [-1.0, 0.0, -9.0]), _same(v, [[1.0], [9.0]]))),
    ("clamp_min_", lambda v: v.clamp_min_(0.0)),
    ("clamp_max_", lambda v: v.clamp_max_(-0.5)),
    ("clip_", lambda v: v.clip_(max=1.0)),
    ("neg_", lambda v: v.neg_()),
    ("exp_", lambda v: v.exp_()),
]


def _same(v: Any, values: Any) -> Any:
    """``values`` as a tensor of ``v``'s kind (tinygrad_lite or torch), float64."""
    if isinstance(v, Tensor):
        return Tensor(np.array(values))
    import torch
    return torch.tensor(values, dtype=torch.float64)


@pytest.mark.parametrize("name,call", IN_PLACE, ids=[c[0] for c in IN_PLACE])
def test_in_place_arithmetic_under_no_grad_as_torch(torch: Any, name: str, call: Callable) -> None:
    a = np.array([[-1.5, 2.0, -3.25], [4.0, -5.0, 6.5]])
    x, t = Tensor(a.copy(), requires_grad=True), torch.tensor(a.copy(), requires_grad=True)
    alias = x.data
    with tl.no_grad(), torch.no_grad():
        assert call(x) is x
        call(t)
    np.testing.assert_allclose(x.data, t.detach().numpy(), rtol=1e-15, atol=0)
    assert x.data is alias and x.requires_grad and x.dtype == np.float64  # the same memory, changed


def test_in_place_integer_division_with_a_rounding_mode_as_torch(torch: Any) -> None:
    a, d = np.array([7, -7, 9, -1]), np.array([2, 2, -4, 3])
    for mode in ("trunc", "floor"):
        n = Tensor(a.copy())
        assert n.div_(Tensor(d), rounding_mode=mode) is n and n.dtype == np.int64
        np.testing.assert_array_equal(n.data, torch.tensor(a).div_(torch.tensor(d), rounding_mode=mode).numpy())
    f = Tensor(np.array([1.0, 2.0], np.float32))
    f.add_(np.array([0.1, 0.2]))  # a float64 operand is stored in float32, as torch
    assert f.dtype == np.float32
    np.testing.assert_array_equal(f.data, np.array([1.1, 2.2], np.float32))


def test_in_place_arithmetic_on_a_leaf_is_refused_while_recording_and_bumps_the_version() -> None:
    x = Tensor(np.ones(3), requires_grad=True)
    for who, f in (("add_", lambda: x.add_(1.0)), ("sub_", lambda: x.sub_(1.0)), ("mul_", lambda: x.mul_(2.0)),
                   ("div_", lambda: x.div_(2.0)), ("clamp_", lambda: x.clamp_(0.0)), ("neg_", lambda: x.neg_()),
                   ("exp_", lambda: x.exp_()), ("clamp_", lambda: x.clamp_min_(0.0))):
        with pytest.raises(RuntimeError, match=f"{who}.*no_grad"):
            f()
    np.testing.assert_array_equal(x.data, np.ones(3))
    y = x * 2
    y.add_(1.0)  # inside a graph the change is recorded (tests/test_inplace_graph.py)
    buf = Tensor(np.full(3, 5.0))
    buf.mul_(x)
    assert buf.requires_grad and y.requires_grad
    (y + buf).sum().backward()
    np.testing.assert_array_equal(x.grad, np.full(3, 7.0))  # d(2x + 1)/dx + d(5x)/dx
    x.grad = None
    buf = Tensor(np.zeros(3))
    buf.add_(x.detach(), alpha=2)  # a tensor outside any graph may be written while recording
    np.testing.assert_array_equal(buf.data, np.full(3, 2.0))
    z = Tensor(np.arange(3.0), requires_grad=True)
    cost = (z * z).sum()
    with tl.no_grad():
        z.sub_(0.5)
    with pytest.raises(RuntimeError):
        cost.backward()  # the graph used the old values


def test_clamp_min_and_clamp_max_are_differentiable_one_sided_clamps(torch: Any) -> None:
    a = np.array([-2.0, -0.5, 0.5, 2.0])
    for name, arg in (("clamp_min", 0.0), ("clamp_max", 0.0), ("clamp_min", np.array([-1.0, 0.0, 1.0, 3.0]))):
        x, t = Tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        out = getattr(x, name)(arg)
        tout = getattr(t, name)(torch.tensor(arg) if isinstance(arg, np.ndarray) else arg)
        np.testing.assert_array_equal(out.data, tout.detach().numpy())
        out.sum().backward()
        tout.sum().backward()
        np.testing.assert_array_equal(x.grad, t.grad.numpy())


# ------------------------------------------------------------------------------- predicates
COMPARE_OPERANDS = [
    (np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]]), np.array([2.0, 2.0, 2.0])),
    (np.array([1.0, NAN, 2.0]), 2.0),
    (np.array([[1, 5], [3, 3]]), np.array([[3], [3]])),
    (np.array(1.5), np.array([[1.0, 1.5, 2.0]])),
]


@pytest.mark.parametrize("name", ["eq", "ne", "lt", "le", "gt", "ge"])
@pytest.mark.parametrize("k", range(len(COMPARE_OPERANDS)))
def test_named_comparisons_as_torch(torch: Any, name: str, k: int) -> None:
    a, b = COMPARE_OPERANDS[k]
    tb = b if isinstance(b, float) else torch.tensor(b)
    want = getattr(torch.tensor(a), name)(tb).numpy()
    for got in (getattr(Tensor(a), name)(b), getattr(Tensor(a), name)(Tensor(b)), getattr(tl, name)(Tensor(a), b)):
        assert got.dtype == np.bool_ and not got.requires_grad
        np.testing.assert_array_equal(got.data, want)


def test_special_value_predicates_as_torch(torch: Any) -> None:
    for a in (np.array([[0.0, NAN, INF], [-INF, -1.0, 1e308]]), np.array([1, -2, 0]), np.array([True, False]),
              np.array([NAN, 1.0], np.float32)):
        x, t = Tensor(a), torch.tensor(a)
        for name in ("isnan", "isinf", "isfinite", "logical_not"):
            for got in (getattr(x, name)(), getattr(tl, name)(x)):
                assert got.dtype == np.bool_
                np.testing.assert_array_equal(got.data, getattr(t, name)().numpy(), err_msg=name)


ANY_ALL_ARGS = [(), (0,), (1,), (-1, True), ((0, 2),), ((0, 1, 2), True), ((),)]


@pytest.mark.parametrize("args", ANY_ALL_ARGS, ids=str)
def test_any_and_all_with_dims_as_torch(torch: Any, args: tuple) -> None:
    a = np.array([[[0.0, 1.0], [0.0, 0.0], [NAN, 0.0]], [[2.0, 3.0], [1.0, 1.0], [0.0, -1.0]]])
    for arr in (a, (a != 0).astype(np.int64), a > 0):
        x, t = Tensor(arr), torch.tensor(arr)
        for name in ("any", "all"):
            want = getattr(t, name)(*args)
            for got in (getattr(x, name)(*args), getattr(tl, name)(x, *args)):
                assert got.dtype == np.bool_ and got.shape == tuple(want.shape), (name, args)
                np.testing.assert_array_equal(got.data, want.numpy())


def test_logical_operators_as_torch(torch: Any) -> None:
    a, b = np.array([[0.0, 1.0, NAN], [2.0, 0.0, 0.0]]), np.array([1, 0, 0])
    for name in ("logical_and", "logical_or", "logical_xor"):
        want = getattr(torch, name)(torch.tensor(a), torch.tensor(b)).numpy()
        for got in (getattr(Tensor(a), name)(b), getattr(tl, name)(Tensor(a), Tensor(b))):
            assert got.dtype == np.bool_
            np.testing.assert_array_equal(got.data, want)


def test_predicates_keep_the_sample_axis_where_it_survives() -> None:
    x = Tensor(np.array([[1.0, NAN], [0.0, 2.0], [3.0, 0.0]]), batched=True)
    for kept in (x > 0, x.ne(1.0), x.isnan(), x.isfinite(), x.logical_not(), x.any(1), x.all(-1, keepdim=True),
                 x.logical_or(np.array([True, False])), tl.ge(x, 0.0)):
        assert kept.batched and kept.shape[0] == 3
    for gone in (x.any(), x.all(0), x.any((0, 1)), x.all(0, keepdim=True)):
        assert not gone.batched


# ------------------------------------------------------------------------------- the function namespace
def _rand(*shape: int) -> np.ndarray:
    return np.random.default_rng(sum(shape) + 40).uniform(0.5, 2.0, shape)


FUNCTIONS = [  # (name, args built from fresh tinygrad_lite/torch leaves via ``mk``, keyword arguments)
    *[(f, lambda mk: (mk(_rand(2, 3)),), {}) for f in (
        "exp", "log", "sqrt", "tanh", "sigmoid", "relu", "abs", "neg", "square", "sin", "cos", "log1p", "expm1",
        "log2", "log10", "exp2", "rsqrt", "reciprocal", "erf")],
    *[(f, lambda mk: (mk(_rand(2, 3)), mk(_rand(3) + 0.1)), {}) for f in ("maximum", "minimum", "atan2", "matmul")
      if f != "matmul"],
    ("matmul", lambda mk: (mk(_rand(2, 3)), mk(_rand(3, 4))), {}),
    ("clamp", lambda mk: (mk(_rand(2, 3)),), {"min": 0.8, "max": 1.5}),
    ("clip", lambda mk: (mk(_rand(2, 3)),), {"max": 1.5}),
    ("sum", lambda mk: (mk(_rand(2, 3)),), {}),
    ("sum", lambda mk: (mk(_rand(2, 3, 2)), (0, 2)), {"keepdim": True}),
    ("mean", lambda mk: (mk(_rand(2, 3)), 1), {}),
    ("prod", lambda mk: (mk(_rand(2, 3)), 1), {"keepdim": True}),
    ("max", lambda mk: (mk(_rand(2, 3)),), {}),
    ("min", lambda mk: (mk(_rand(2, 3)),), {}),
    ("max", lambda mk: (mk(_rand(2, 3)), mk(_rand(3) + 0.1)), {}),
    ("softmax", lambda mk: (mk(_rand(2, 3)), 1), {}),
    ("log_softmax", lambda mk: (mk(_rand(2, 3)),), {"dim": 0}),
    ("transpose", lambda mk: (mk(_rand(2, 3, 4)), 0, 2), {}),
    ("transpose", lambda mk: (mk(_rand(2, 3)), 0, 1), {}),
    ("permute", lambda mk: (mk(_rand(2, 3, 4)), (2, 0, 1)), {}),
    ("flatten", lambda mk: (mk(_rand(2, 3, 4)),), {"start_dim": 1}),
    ("reshape", lambda mk: (mk(_rand(2, 3)), (3, -1)), {}),
    ("squeeze", lambda mk: (mk(_rand(2, 1, 3)), 1), {}),
    ("unsqueeze", lambda mk: (mk(_rand(2, 3)), -1), {}),
]


@pytest.mark.parametrize("k", range(len(FUNCTIONS)), ids=[f"{f[0]}-{i}" for i, f in enumerate(FUNCTIONS)])
def test_functions_match_torch_values_and_gradients(torch: Any, k: int) -> None:
    name, make_args, kw = FUNCTIONS[k]
    mine: list = []
    theirs: list = []

    def mk_tl(a: np.ndarray) -> Tensor:
        mine.append(Tensor(a, requires_grad=True))
        return mine[-1]

    def mk_torch(a: np.ndarray) -> Any:
        theirs.append(torch.tensor(a, requires_grad=True))
        return theirs[-1]

    out, tout = getattr(tl, name)(*make_args(mk_tl), **kw), getattr(torch, name)(*make_args(mk_torch), **kw)
    assert out.shape == tuple(tout.shape)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-13, atol=1e-15)
    R = np.random.default_rng(k).standard_normal(out.shape)
    out.backward(R)
    tout.backward(torch.tensor(R))
    for p, q in zip(mine, theirs):
        np.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=1e-13, atol=1e-15)


def test_max_min_argmax_with_a_dim_return_what_torch_returns(torch: Any) -> None:
    a = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]])
    x, t = Tensor(a), torch.tensor(a)
    for name in ("max", "min"):
        got, want = getattr(tl, name)(x, 1, keepdim=True), getattr(torch, name)(t, 1, keepdim=True)
        np.testing.assert_array_equal(got.values.data, want.values.numpy())
        np.testing.assert_array_equal(got.indices.data, want.indices.numpy())
    for name, args in (("argmax", ()), ("argmin", (0,)), ("argmax", (1, True))):
        np.testing.assert_array_equal(getattr(tl, name)(x, *args).data, getattr(torch, name)(t, *args).numpy())
    assert tl.numel(x) == torch.numel(t) == 6
    assert tl.is_tensor(x) and not tl.is_tensor(a) and not tl.is_tensor(3.0)
    assert tl.sum(Tensor(np.array([1, 2], np.int32)), dtype=np.float64).dtype == np.float64


def test_from_numpy_and_as_tensor_share_memory_as_torch(torch: Any) -> None:
    a = np.arange(6.0).reshape(2, 3)
    x = tl.from_numpy(a)
    assert x.data is a and not x.requires_grad and x.is_leaf
    a[0, 0] = 10.0
    assert x[0, 0].item() == 10.0
    with tl.no_grad():
        x.add_(1.0)
    assert a[0, 0] == 11.0 and a[1, 2] == 6.0
    for data, dt in ((a, None), (a, "float64"), (a, "float32"), ([1.0, 2.0], None), (np.array([1, 2]), "float64"),
                     (np.array([1, 2]), "int64")):
        mine = tl.as_tensor(data, dtype=None if dt is None else getattr(torch, dt))  # torch's dtype spelling
        theirs = torch.as_tensor(data, dtype=None if dt is None else getattr(torch, dt))
        assert np.shares_memory(mine.data, data) == (isinstance(data, np.ndarray)
                                                      and np.shares_memory(theirs.numpy(), data))
        if dt is not None or isinstance(data, np.ndarray):  # (a list of floats: float64 here, the library default)
            assert "torch." + str(mine.dtype) == str(theirs.dtype)
        else:
            assert mine.dtype == np.float64
    y = Tensor(np.ones(2), requires_grad=True)
    assert tl.as_tensor(y) is y and tl.as_tensor(y, dtype=np.float32).dtype == np.float32


def test_the_star_import_leaves_pythons_builtins_alone() -> None:
    ns: dict = {}
    exec("from tinygrad_lite import *", ns)
    assert "exp" in ns and "maximum" in ns and "from_numpy" in ns
    assert not {"sum", "max", "min", "abs", "any", "all"} & set(ns)
    assert tl.sum is tl.functions.sum and tl.max(Tensor([1.0, 3.0])).item() == 3.0


# ------------------------------------------------------------------------------- Python conversions
def test_python_conversions_of_one_element_tensors_as_torch(torch: Any) -> None:
    for v in (0.0, -0.0, 2.5, -2.7, 3, 0, True, NAN):
        for shape in ((), (1,), (1, 1)):
            a = np.full(shape, v)
            x, t = Tensor(a), torch.tensor(a)
            assert bool(x) == bool(t)
            if a.dtype.kind == "f" and not np.isnan(v):
                assert float(x) == float(t) and int(x) == int(t)
    assert [10, 20, 30][Tensor(np.array(1))] == 20 and operator.index(Tensor(np.array([2]))) == 2
    with pytest.raises(TypeError):
        operator.index(Tensor(1.0))
    for shape in ((2,), (0,), (2, 2)):
        with pytest.raises(RuntimeError, match="ambiguous"):
            bool(Tensor(np.ones(shape)))
        with pytest.raises(ValueError, match="ambiguous"):  # numpy's exception type too
            bool(Tensor(np.ones(shape)))
        with pytest.raises(RuntimeError):
            bool(torch.ones(shape))


def test_tensors_stay_hashable_by_identity() -> None:
    a, b = Tensor([1.0, 2.0]), Tensor([1.0, 2.0])
    d = {a: "a", b: "b"}
    assert len(d) == 2 and d[a] == "a" and d[b] == "b"
    assert hash(a) == object.__hash__(a) and hash(a) != hash(b)
    a.add_(1.0)
    assert d[a] == "a"  # a change of the values does not move the key
