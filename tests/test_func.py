"""``tl.func`` (grad, grad_and_value, vjp, jacrev, vmap, functional_call, stack_module_state)
and ``tl.autograd.functional`` (jacobian, vjp) against torch.func / torch.autograd.functional
in float64, finite differences, and the library's own ``grad_sample``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from conftest import close, load_torch_state

import tinygrad_lite as tl
from tinygrad_lite import func as tf
from tinygrad_lite import nn
from tinygrad_lite.nn import functional as F

torch = pytest.importorskip("torch")
tfunc = pytest.importorskip("torch.func")
TAF = torch.autograd.functional
AF = tl.autograd.functional

RNG = np.random.default_rng(0)


def _pair(*shapes: tuple) -> tuple:
    arrs = [RNG.normal(size=s) for s in shapes]
    return [tl.tensor(a) for a in arrs], [torch.tensor(a) for a in arrs]


def _same(ours: Any, theirs: Any, what: str = "", tol: float = 1e-10) -> None:
    """Same pytree (containers, keys) and values."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, tl.Tensor), (what, type(ours))
        close(ours.data, theirs.detach().numpy(), what, tol)
    elif isinstance(theirs, dict):
        assert isinstance(ours, dict) and set(ours) == set(theirs), (what, ours)
        for k in theirs:
            _same(ours[k], theirs[k], f"{what}[{k!r}]", tol)
    else:
        assert type(ours) is type(theirs) and len(ours) == len(theirs), (what, type(ours), type(theirs))
        for i, (a, b) in enumerate(zip(ours, theirs)):
            _same(a, b, f"{what}[{i}]", tol)


def _fd(f: Any, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of ``f`` (array -> array) at ``x``: shape ``f(x).shape + x.shape``."""
    cols = []
    for k in range(x.size):
        d = np.zeros_like(x)
        d.flat[k] = eps
        cols.append((np.asarray(f(x + d)) - np.asarray(f(x - d))) / (2 * eps))
    out = np.stack(cols, -1)
    return out.reshape(np.shape(f(x)) + x.shape)


# ----------------------------------------------------------------------------- grad -----
def f2(m: Any, x: Any, y: Any) -> Any:
    return (m.sin(x) * y).sum() + (x ** 2).sum() * m.tanh(y).sum()


@pytest.mark.parametrize("argnums", [0, 1, -1, (0, 1), (1, 0)])
def test_grad_and_argnums_as_torch(argnums: Any) -> None:
    (x, y), (tx, ty) = _pair((3,), (3,))
    _same(tf.grad(lambda a, b: f2(tl, a, b), argnums)(x, y), tfunc.grad(lambda a, b: f2(torch, a, b), argnums)(tx, ty))
    g, v = tf.grad_and_value(lambda a, b: f2(tl, a, b), argnums)(x, y)
    tg, tv = tfunc.grad_and_value(lambda a, b: f2(torch, a, b), argnums)(tx, ty)
    _same((g, v), (tg, tv))
    assert not v.requires_grad and x.grad is None and y.grad is None


def test_grad_matches_finite_differences() -> None:
    x = RNG.normal(size=(2, 3))
    g = tf.grad(lambda a: (a.exp() * a.sin()).sum() / (1 + (a ** 2).sum()))(tl.tensor(x))
    close(g.data, _fd(lambda a: (np.exp(a) * np.sin(a)).sum() / (1 + (a ** 2).sum()), x), "fd", 1e-7)


def test_grad_of_pytrees_has_aux_kwargs_and_unused_inputs_as_torch() -> None:
    (a, b, c), (ta, tb, tc) = _pair((2, 3), (3,), (3,))

    def f(m: Any, d: Any, scale: Any = 1.0) -> Any:
        s = (d["w"] @ d["t"][0]).sum() + (d["t"][1] * d["t"][0]).sum() * scale
        return s, {"s2": s * 2, "l": [d["w"].sum()]}

    ours = tf.grad(lambda d, scale=1.0: f(tl, d, scale), has_aux=True)({"w": a, "t": (b, c)}, scale=3.0)
    want = tfunc.grad(lambda d, scale=1.0: f(torch, d, scale), has_aux=True)({"w": ta, "t": (tb, tc)}, scale=3.0)
    _same(ours, want)
    g, (v, aux) = tf.grad_and_value(lambda d: f(tl, d), has_aux=True)({"w": a, "t": (b, c)})
    tg, (tv, taux) = tfunc.grad_and_value(lambda d: f(torch, d), has_aux=True)({"w": ta, "t": (tb, tc)})
    _same((g, v, aux), (tg, tv, taux))
    unused = tf.grad(lambda p, q: (p ** 2).sum(), argnums=(0, 1))(b, [c, c])
    _same(unused, tfunc.grad(lambda p, q: (p ** 2).sum(), argnums=(0, 1))(tb, [tc, tc]))
    _same(tf.grad(lambda p: tl.tensor(2.0))(b), tfunc.grad(lambda p: torch.tensor(2.0))(tb))


def test_grad_ignores_no_grad_outside_and_writes_no_grad() -> None:
    (x,), (tx,) = _pair((4,))
    x.requires_grad_()
    w = tl.tensor(RNG.normal(size=4), requires_grad=True)
    with tl.no_grad():
        g = tf.grad(lambda a: (a ** 3 * w).sum())(x)
    close(g.data, 3 * x.data ** 2 * w.data, "grad under no_grad")
    assert x.grad is None and w.grad is None and not g.requires_grad


# ------------------------------------------------------------------------------ vjp -----
def test_vjp_pytrees_has_aux_and_repeated_calls_as_torch() -> None:
    (x, y), (tx, ty) = _pair((3,), (2, 3))

    def f(m: Any, a: Any, b: Any) -> Any:
        return {"p": (a * b).sum(1), "q": [m.exp(a), (b ** 2).sum()]}, m.cos(a)

    out, fn, aux = tf.vjp(lambda a, b: f(tl, a, b), x, y, has_aux=True)
    tout, tfn, taux = tfunc.vjp(lambda a, b: f(torch, a, b), tx, ty, has_aux=True)
    _same((out, aux), (tout, taux))
    assert not out["p"].requires_grad
    for _ in range(2):
        (v1, v2, v3), (tv1, tv2, tv3) = _pair((2,), (3,), ())
        _same(fn({"q": [v2, v3], "p": v1}), tfn({"p": tv1, "q": [tv2, tv3]}))
    out, fn = tf.vjp(lambda a, b: a * 2, x, y)
    _same(fn(out), tfunc.vjp(lambda a, b: a * 2, tx, ty)[1](tout["q"][0] * 0 + tx * 2))


def test_vjp_is_the_transposed_jacobian_by_finite_differences() -> None:
    x = RNG.normal(size=(2, 3))
    v = RNG.normal(size=(3,))
    _, fn = tf.vjp(lambda a: (a.sin() * a[0]).sum(0), tl.tensor(x))
    J = _fd(lambda a: (np.sin(a) * a[0]).sum(0), x)
    close(fn(tl.tensor(v))[0].data, np.tensordot(v, J, 1), "vjp fd", 1e-7)


# --------------------------------------------------------------------------- jacrev -----
def test_jacrev_argnums_pytrees_and_aux_as_torch() -> None:
    (x, y), (tx, ty) = _pair((3,), (2, 3))

    def f(m: Any, a: Any, b: Any) -> Any:
        return (m.sin(a) * b, {"s": (a * b).sum()}), a.sum()

    for argnums in (0, 1, (0, 1), (-1,)):
        ours = tf.jacrev(lambda a, b: f(tl, a, b), argnums, has_aux=True)(x, y)
        want = tfunc.jacrev(lambda a, b: f(torch, a, b), argnums, has_aux=True)(tx, ty)
        _same(ours, want, f"argnums={argnums}")
    _same(tf.jacrev(lambda d: d["a"].exp() * 2)({"a": x}), tfunc.jacrev(lambda d: d["a"].exp() * 2)({"a": tx}))
    _same(tf.jacrev(lambda a, b: b * 2, argnums=(0, 1))(x, x), tfunc.jacrev(lambda a, b: b * 2, argnums=(0, 1))(tx, tx))
    s = tl.tensor(1.5)
    _same(tf.jacrev(lambda a: a * tl.tensor([1.0, 2.0]))(s), tfunc.jacrev(lambda a: a * torch.tensor([1.0, 2.0],
                                                                                 dtype=torch.float64))(torch.tensor(1.5)))


def test_jacrev_matches_finite_differences() -> None:
    x = RNG.normal(size=(2, 2))
    J = tf.jacrev(lambda a: (a @ a).tanh())(tl.tensor(x))
    close(J.data, _fd(lambda a: np.tanh(a @ a), x), "jacrev fd", 1e-7)


# ----------------------------------------------------------------------------- vmap -----
@pytest.mark.parametrize("in_dims,out_dims", [(0, 0), (1, 0), (-1, -1), ((0, None), 1), ((1, None), -2),
                                              ((None, 0), (0,)), (0, None), ((0, 1), (1,))])
def test_vmap_in_and_out_dims_as_torch(in_dims: Any, out_dims: Any) -> None:
    (x, y), (tx, ty) = _pair((3, 3), (3, 3))

    def f(m: Any, a: Any, b: Any) -> Any:
        return (m.sin(a) * b.sum(),) if out_dims == (0,) else m.sin(a) * b.sum()

    if out_dims is None:  # an output that is the same for every sample
        def f(m: Any, a: Any, b: Any) -> Any:  # noqa: F811
            return m.cos(b) * 2

        in_dims = (0, None)
    ours = tf.vmap(lambda a, b: f(tl, a, b), in_dims, out_dims)(x, y)
    _same(ours, tfunc.vmap(lambda a, b: f(torch, a, b), in_dims, out_dims)(tx, ty))


def test_vmap_pytrees_kwargs_non_tensors_and_nesting_as_torch() -> None:
    (x, y, z), (tx, ty, tz) = _pair((4, 3), (3,), (2, 4, 3))

    def f(m: Any, d: Any, k: float, *, scale: Any) -> Any:
        return {"a": d["x"] * d["y"] * k, "b": [(d["x"] * scale).sum()]}

    ours = tf.vmap(lambda d, k, scale: f(tl, d, k, scale=scale), in_dims=({"x": 0, "y": None}, None),
                   out_dims={"a": 1, "b": 0})({"y": y, "x": x}, 2.0, scale=y)
    want = tfunc.vmap(lambda d, k, scale: f(torch, d, k, scale=scale), in_dims=({"x": 0, "y": None}, None),
                      out_dims={"a": 1, "b": 0})({"x": tx, "y": ty}, 2.0, scale=ty)
    _same(ours, want)
    ours = tf.vmap(lambda a: (a * 2, 3, None), out_dims=(-1, None, None))(x)
    _same(ours[:1], tfunc.vmap(lambda a: (a * 2, 3, None), out_dims=(-1, None, None))(tx)[:1])
    assert ours[1:] == (3, None)
    with pytest.raises(ValueError, match="vmap.*out_dim is None"):
        tf.vmap(lambda a: (a, float(a.sum().item())), out_dims=(0, None))(x)
    nested = tf.vmap(tf.vmap(lambda a, b: (a.sum(-1) * b).sum(), in_dims=(0, None)), in_dims=(None, 1))(z, x)
    inner = tfunc.vmap(lambda a, b: (a.sum(-1) * b).sum(), in_dims=(0, None))
    _same(nested, tfunc.vmap(inner, in_dims=(None, 1))(tz, tx))


def test_vmap_every_in_dim_and_out_dim_of_a_3d_input_as_torch() -> None:
    (x, y), (tx, ty) = _pair((2, 3, 4), (3, 4))
    for i in range(-3, 3):
        for o in range(-3, 3):
            ours = tf.vmap(lambda a, b: a.sin() * b.sum() + a.sum(0, keepdims=True), (i, None), o)(x, y)
            want = tfunc.vmap(lambda a, b: a.sin() * b.sum() + a.sum(0, keepdim=True), (i, None), o)(tx, ty)
            _same(ours, want, f"in_dim={i} out_dim={o}")
    def inner(a: Any, b: Any) -> Any:
        return (a * b).sum(-1)

    ours = tf.vmap(tf.vmap(inner, in_dims=(0, None), out_dims=-1), in_dims=(1, 0))(x, y)
    _same(ours, tfunc.vmap(tfunc.vmap(inner, in_dims=(0, None), out_dims=-1), in_dims=(1, 0))(tx, ty))


def test_vmap_over_an_empty_batch_as_torch() -> None:
    x, tx = tl.zeros(3, 0, 2, dtype=tl.float64), torch.zeros(3, 0, 2, dtype=torch.float64)
    y, ty = tl.ones(2, dtype=tl.float64), torch.ones(2, dtype=torch.float64)

    def f(m: Any, a: Any, b: Any) -> Any:
        return (a * b).sum(0), {"n": m.log(a).sum(), "b": b * 2}

    got = tf.vmap(lambda a, b: f(tl, a, b), in_dims=(1, None), out_dims=(-1, {"n": 0, "b": None}))(x, y)
    _same(got, tfunc.vmap(lambda a, b: f(torch, a, b), in_dims=(1, None), out_dims=(-1, {"n": 0, "b": None}))(tx, ty))


def test_vmap_passes_gradients_to_inputs_and_closed_over_tensors_as_torch() -> None:
    (x, w), (tx, tw) = _pair((5, 3), (3, 2))
    x.requires_grad_()
    w.requires_grad_()
    tx.requires_grad_()
    tw.requires_grad_()
    out = tf.vmap(lambda a: (a @ w).tanh(), out_dims=1)(x)
    tout = tfunc.vmap(lambda a: (a @ tw).tanh(), out_dims=1)(tx)
    v = RNG.normal(size=tout.shape)
    (out * tl.tensor(v)).sum().backward()
    (tout * torch.tensor(v)).sum().backward()
    _same(out, tout)
    close(w.grad, tw.grad.numpy(), "closed over")
    close(x.grad, tx.grad.numpy(), "input")


def test_vmap_of_grad_and_of_jacrev_as_torch() -> None:
    (x, y), (tx, ty) = _pair((4, 3), (3,))
    g = tf.vmap(tf.grad(lambda a, b: (a.sin() * b).sum(), argnums=(0, 1)), in_dims=(0, None))(x, y)
    _same(g, tfunc.vmap(tfunc.grad(lambda a, b: (a.sin() * b).sum(), argnums=(0, 1)), in_dims=(0, None))(tx, ty))
    _same(tf.vmap(tf.jacrev(lambda a: a.exp() * a.sum()))(x), tfunc.vmap(tfunc.jacrev(lambda a: a.exp() * a.sum()))(tx))


def test_vmap_randomness_modes() -> None:
    x = tl.zeros(4, 3)
    tl.manual_seed(0)
    with pytest.raises(RuntimeError, match="vmap: called random operation"):
        tf.vmap(lambda a: a + tl.randn(3))(x)
    after = tl.randn(3)
    tl.manual_seed(0)
    close(after.data, tl.randn(3).data, "the error left the generator as it was")
    same = tf.vmap(lambda a: a + tl.randn(3), randomness="same")(x).data
    assert np.all(same == same[0]) and np.ptp(same[0]) > 0
    diff = tf.vmap(lambda a: a + tl.randn(3), randomness="different")(x).data
    assert len({tuple(r) for r in diff}) == 4


# ------------------------------------------------------------------ per-sample recipe -----
def _mlp() -> tuple:
    tm = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 3)).double()
    m = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3))
    load_torch_state(m, tm)
    return m, tm, RNG.normal(size=(5, 4))


def _cnn() -> tuple:
    tm = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3, padding=1), torch.nn.BatchNorm2d(3), torch.nn.ReLU(),
                             torch.nn.Flatten(), torch.nn.Linear(3 * 5 * 5, 3)).double()
    with torch.no_grad():  # running statistics that are not the initial ones (the buffers are used)
        tm[1].running_mean.uniform_(-1, 1)
        tm[1].running_var.uniform_(0.5, 2)
    m = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(),
                      nn.Linear(3 * 5 * 5, 3))
    load_torch_state(m, tm)
    m.eval()
    tm.eval()
    return m, tm, RNG.normal(size=(4, 2, 5, 5))


@pytest.mark.parametrize("make", [_mlp, _cnn])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_per_sample_recipe_matches_torch_func_and_grad_sample(make: Any, reduction: str) -> None:
    model, tmodel, X = make()
    Y = RNG.integers(0, 3, size=len(X))
    state = dict(model.named_parameters(), **dict(model.named_buffers()))
    before = {k: v.data.copy() for k, v in state.items()}

    def run(fc: Any, vm: Any, gr: Any, ce: Any, mod: Any, x: Any, y: Any) -> dict:
        params = {k: v.detach() for k, v in mod.named_parameters()}
        buffers = {k: v.detach() for k, v in mod.named_buffers()}

        def compute_loss(params: dict, buffers: dict, sample: Any, target: Any) -> Any:
            out = fc(mod, (params, buffers), (sample.unsqueeze(0),))
            return ce(out, target.unsqueeze(0))

        return vm(gr(compute_loss), in_dims=(None, None, 0, 0))(params, buffers, x, y)

    ps = run(tf.functional_call, tf.vmap, tf.grad, F.cross_entropy, model, tl.tensor(X), tl.tensor(Y))
    want = run(tfunc.functional_call, tfunc.vmap, tfunc.grad, torch.nn.functional.cross_entropy, tmodel,
               torch.tensor(X), torch.tensor(Y))
    _same(ps, want)
    for k, p in state.items():  # nothing changed, nothing written
        assert np.array_equal(p.data, before[k]) and p.grad is None and p.grad_sample is None, k
    F.cross_entropy(model(tl.Tensor(X, batched=True)), tl.tensor(Y), reduction=reduction).backward()
    for k, p in model.named_parameters():  # one default backward gives the same rows
        close(p.grad_sample, ps[k].data, k)


def test_stack_module_state_ensemble_as_torch() -> None:
    pairs = [_mlp()[:2] for _ in range(3)]
    X = RNG.normal(size=(2, 4))
    params, buffers = tf.stack_module_state([m for m, _ in pairs])
    tparams, tbuffers = tfunc.stack_module_state([t for _, t in pairs])
    _same((params, buffers), (tparams, tbuffers))
    assert all(p.requires_grad and p.is_leaf for p in params.values())
    base, tbase = pairs[0]
    out = tf.vmap(lambda p, b, x: tf.functional_call(base, (p, b), (x,)), in_dims=(0, 0, None))(params, buffers,
                                                                                                 tl.tensor(X))
    tout = tfunc.vmap(lambda p, b, x: tfunc.functional_call(tbase, (p, b), (x,)), in_dims=(0, 0, None))(
        tparams, tbuffers, torch.tensor(X))
    _same(out, tout)
    bn = [nn.BatchNorm1d(3) for _ in range(2)]
    p2, b2 = tf.stack_module_state(bn)
    assert {k: v.shape for k, v in b2.items()} == {"running_mean": (2, 3), "running_var": (2, 3),
                                                   "num_batches_tracked": (2,)}
    assert not any(v.requires_grad for v in b2.values())


# --------------------------------------------------------------- autograd.functional -----
def _fa(m: Any, a: Any, b: Any) -> Any:
    return m.sin(a) * b.sum(), (a @ b).sum()


@pytest.mark.parametrize("vectorize,strategy", [(False, "reverse-mode"), (True, "reverse-mode"),
                                                (True, "forward-mode")])
def test_jacobian_structures_as_torch(vectorize: bool, strategy: str) -> None:
    (a, b), (ta, tb) = _pair((2, 3), (3,))
    kw = dict(vectorize=vectorize, strategy=strategy)
    cases = [(lambda m: (lambda x: m.exp(x) * 2), a, ta),
             (lambda m: (lambda x: (m.exp(x).sum(),)), a, ta),
             (lambda m: (lambda x: m.exp(x) * 2), (a,), (ta,)),
             (lambda m: (lambda x, y: _fa(m, x, y)), (a, b), (ta, tb)),
             (lambda m: (lambda x, y: _fa(m, x, y)[0]), (a, b), (ta, tb)),
             (lambda m: (lambda x, y: (m.exp(x), m.ones(2, dtype=m.float64))), (a, b), (ta, tb))]
    for mk, ins, tins in cases:
        _same(AF.jacobian(mk(tl), ins, **kw), TAF.jacobian(mk(torch), tins, **kw))
    close(AF.jacobian(lambda x: x.tanh() * x[0], a).data, _fd(lambda x: np.tanh(x) * x[0], a.data), "fd", 1e-7)


def test_autograd_functional_vjp_structures_as_torch() -> None:
    (a, b, v0, v1), (ta, tb, tv0, tv1) = _pair((2, 3), (3,), (2, 3), ())
    _same(AF.vjp(lambda x, y: _fa(tl, x, y), (a, b), (v0, v1)), TAF.vjp(lambda x, y: _fa(torch, x, y), (ta, tb),
                                                                         (tv0, tv1)))
    _same(AF.vjp(lambda x: x.exp(), a, v0), TAF.vjp(lambda x: x.exp(), ta, tv0))
    _same(AF.vjp(lambda x: x.exp().sum(), a), TAF.vjp(lambda x: x.exp().sum(), ta))
    _same(AF.vjp(lambda x, y: x * 2, (a, b), v0), TAF.vjp(lambda x, y: x * 2, (ta, tb), tv0))


def test_autograd_functional_leaves_inputs_and_closures_alone() -> None:
    (a,), (ta,) = _pair((3,))
    a.requires_grad_()
    w = tl.tensor(RNG.normal(size=3), requires_grad=True)
    out, g = AF.vjp(lambda x: x * w, a, tl.ones(3, dtype=tl.float64))
    J = AF.jacobian(lambda x: x * w, a)
    assert not (out.requires_grad or g.requires_grad or J.requires_grad)
    assert a.grad is None and w.grad is None
    close(J.data, np.diag(w.data), "jacobian with a closed-over tensor")


# --------------------------------------------------------------------------- errors -----
def _both(ours: Any, theirs: Any, exc: Any, match: str) -> None:
    """Ours raises ``exc`` naming the function (``match``); torch raises the same type."""
    with pytest.raises(exc, match=match):
        ours()
    with pytest.raises(exc):
        theirs()


T3 = np.array([0.5, -1.0, 2.0])

ERRORS = [
    ("grad non-scalar", lambda m, f: f.grad(lambda x: x * 2)(m.tensor(T3)), RuntimeError, r"grad\(f\).*scalar"),
    ("grad non-tensor", lambda m, f: f.grad(lambda x: 3.0)(m.tensor(T3)), RuntimeError, r"grad\(f\).*Tensor"),
    ("grad aux", lambda m, f: f.grad(lambda x: x.sum(), has_aux=True)(m.tensor(T3)), RuntimeError, r"grad\(f\).*aux"),
    ("grad argnum", lambda m, f: f.grad(lambda x: x.sum(), argnums=1)(m.tensor(T3)), RuntimeError,
     r"grad\(f\).*argnum=1"),
    ("grad argnums dup", lambda m, f: f.grad(lambda x, y: x.sum(), argnums=(0, -2))(m.tensor(T3), m.tensor(T3)),
     RuntimeError, "unique"),
    ("grad argnums list", lambda m, f: f.grad(lambda x: x.sum(), argnums=[0])(m.tensor(T3)), RuntimeError, "argnums"),
    ("grad int input", lambda m, f: f.grad(lambda x: x.sum())(m.tensor([1, 2])), RuntimeError, r"grad\(f\).*float"),
    ("grad non-tensor input", lambda m, f: f.grad(lambda x: x[0].sum())([m.tensor(T3), 3]), ValueError, "Tensor"),
    ("vjp non-tensor output", lambda m, f: f.vjp(lambda x: 3.0, m.tensor(T3)), RuntimeError, r"vjp\(f.*only tensors"),
    ("vjp_fn structure", lambda m, f: f.vjp(lambda x: (x, x), m.tensor(T3))[1](m.tensor(T3)), RuntimeError,
     "vjp_fn.*structure"),
    ("vjp_fn shape", lambda m, f: f.vjp(lambda x: x, m.tensor(T3))[1](m.tensor(T3[:2])), RuntimeError,
     r"vjp_fn.*grad_output\[0\] has a shape of"),
    ("jacrev aux", lambda m, f: f.jacrev(lambda x: x, has_aux=True)(m.tensor(T3)), RuntimeError, "jacrev.*aux"),
    ("vmap no inputs", lambda m, f: f.vmap(lambda: 1)(), ValueError, "vmap.*no inputs"),
    ("vmap in_dims list", lambda m, f: f.vmap(lambda x: x, in_dims=[0])(m.tensor(T3)), ValueError, "vmap.*in_dims"),
    ("vmap in_dims structure", lambda m, f: f.vmap(lambda x, y: x, in_dims=(0,))(m.tensor(T3), m.tensor(T3)),
     ValueError, "vmap.*not compatible"),
    ("vmap all None", lambda m, f: f.vmap(lambda x: x, in_dims=(None,))(m.tensor(T3)), ValueError, "vmap.*at least"),
    ("vmap dim range", lambda m, f: f.vmap(lambda x: x, in_dims=1)(m.tensor(T3)), ValueError, "vmap.*-1 <= in_dim < 1"),
    ("vmap non-tensor", lambda m, f: f.vmap(lambda x, y: x)(m.tensor(T3), 2.0), ValueError, "vmap.*non-Tensor"),
    ("vmap sizes", lambda m, f: f.vmap(lambda x, y: x)(m.tensor(T3), m.tensor(T3[:2])), ValueError,
     r"vmap.*sizes \[3, 2\]"),
    ("vmap returns non-tensor", lambda m, f: f.vmap(lambda x: 1.0)(m.tensor(T3)), ValueError, "vmap.*only return"),
    ("vmap out_dims None", lambda m, f: f.vmap(lambda x: x, out_dims=None)(m.tensor(T3)), ValueError,
     "vmap.*out_dim is None"),
    ("vmap out_dims structure", lambda m, f: f.vmap(lambda x: (x, x), out_dims=(0,))(m.tensor(T3)), ValueError,
     "vmap.*out_dims"),
    ("vmap out_dims range", lambda m, f: f.vmap(lambda x: x, out_dims=2)(m.tensor(T3)), IndexError, "vmap.*range"),
    ("vmap randomness", lambda m, f: f.vmap(lambda x: x, randomness="foo")(m.tensor(T3)), RuntimeError,
     "vmap.*randomness"),
    ("vmap chunk_size", lambda m, f: f.vmap(lambda x: x, chunk_size=0)(m.tensor(T3)), ValueError, "vmap.*chunk_size"),
    ("stack_module_state empty", lambda m, f: f.stack_module_state([]), RuntimeError, "stack_module_state.*0"),
    ("stack_module_state class", lambda m, f: f.stack_module_state([m.nn.Linear(2, 2), m.nn.Tanh()]), RuntimeError,
     "stack_module_state.*class"),
]


@pytest.mark.parametrize("name,call,exc,match", ERRORS, ids=[e[0] for e in ERRORS])
def test_func_bad_input_errors_as_torch(name: str, call: Any, exc: Any, match: str) -> None:
    tt = type("T", (), {"tensor": staticmethod(lambda a: torch.tensor(np.asarray(a))), "nn": torch.nn})
    _both(lambda: call(tl, tf), lambda: call(tt, tfunc), exc, match)


def test_func_errors_change_nothing() -> None:
    x = tl.tensor(T3, requires_grad=True)
    models = [nn.Linear(2, 2), nn.Linear(2, 2)]
    models[1].weight.requires_grad_(False)
    w0 = [m.weight for m in models]
    with pytest.raises(RuntimeError, match="stack_module_state.*requires_grad"):
        tf.stack_module_state(models)
    assert [m.weight for m in models] == w0 and models[1].weight.requires_grad is False
    for call in (lambda: tf.grad(lambda a: a * 2)(x), lambda: tf.jacrev(lambda a: 3.0)(x),
                 lambda: tf.vmap(lambda a, b: a)(x, x[:2])):
        with pytest.raises((RuntimeError, ValueError)):
            call()
        assert x.grad is None and np.array_equal(x.data, T3) and x.requires_grad
    for transform in (tf.grad, tf.grad_and_value, tf.jacrev):
        with pytest.raises(TypeError, match=f"{transform.__name__}.*has_aux"):
            transform(lambda a: a.sum(), has_aux=1)
    with pytest.raises(TypeError, match="vjp.*has_aux"):
        tf.vjp(lambda a: a.sum(), x, has_aux="yes")
    with pytest.raises(TypeError, match="vmap.*callable"):
        tf.vmap(3)


AF_ERRORS = [
    ("inputs list", lambda m, A: A.jacobian(lambda x: x, [m.tensor(T3)]), TypeError, "jacobian.*inputs"),
    ("outputs list", lambda m, A: A.jacobian(lambda x: [x], m.tensor(T3)), TypeError, "jacobian.*outputs"),
    ("strict unused", lambda m, A: A.jacobian(lambda x, y: x * 2, (m.tensor(T3), m.tensor(T3)), strict=True),
     RuntimeError, "jacobian: Output 0.*independent of input 1"),
    ("strict constant", lambda m, A: A.jacobian(lambda x: m.tensor(T3), m.tensor(T3), strict=True), RuntimeError,
     "jacobian: Output 0.*does not require"),
    ("forward-mode", lambda m, A: A.jacobian(lambda x: x, m.tensor(T3), strategy="forward-mode"),
     NotImplementedError, "jacobian.*vectorize=True"),
    ("forward-mode create_graph", lambda m, A: A.jacobian(lambda x: x, m.tensor(T3), strategy="forward-mode",
                                                          vectorize=True, create_graph=True),
     NotImplementedError, "jacobian.*create_graph"),
    ("strict vectorize", lambda m, A: A.jacobian(lambda x: x, m.tensor(T3), strict=True, vectorize=True),
     RuntimeError, "jacobian.*vectorize"),
    ("vjp v None", lambda m, A: A.vjp(lambda x: x * 2, m.tensor(T3)), RuntimeError, "vjp.*v can only be None"),
    ("vjp v shape", lambda m, A: A.vjp(lambda x: x * 2, m.tensor(T3), m.tensor(T3[:2])), RuntimeError,
     "vjp: v has invalid size"),
    ("vjp v length", lambda m, A: A.vjp(lambda x: (x, x), m.tensor(T3), m.tensor(T3)), RuntimeError,
     "vjp: v is a tuple of invalid length"),
    ("vjp v type", lambda m, A: A.vjp(lambda x: x, m.tensor(T3), 1.0), TypeError, "vjp.*v"),
    ("vjp strict", lambda m, A: A.vjp(lambda x, y: x, (m.tensor(T3), m.tensor(T3)), m.tensor(T3), strict=True),
     RuntimeError, "vjp.*independent of input 1"),
    ("vjp int input", lambda m, A: A.vjp(lambda x: x, m.tensor([1, 2]), m.tensor([1.0, 1.0])), RuntimeError,
     "vjp.*floating point"),
]


@pytest.mark.parametrize("name,call,exc,match", AF_ERRORS, ids=[e[0] for e in AF_ERRORS])
def test_autograd_functional_bad_input_errors_as_torch(name: str, call: Any, exc: Any, match: str) -> None:
    tt = type("T", (), {"tensor": staticmethod(lambda a: torch.tensor(np.asarray(a)))})
    _both(lambda: call(tl, AF), lambda: call(tt, TAF), exc, match)


def test_jacobian_unknown_strategy_is_refused() -> None:
    with pytest.raises(ValueError, match="jacobian.*strategy"):
        AF.jacobian(lambda x: x, tl.tensor(T3), strategy="sideways")
    with pytest.raises(AssertionError):
        TAF.jacobian(lambda x: x, torch.tensor(T3), strategy="sideways")


def test_linear_reads_the_shapes_of_the_weight_it_is_given_as_torch() -> None:
    tlin, lin = torch.nn.Linear(3, 2).double(), nn.Linear(3, 2)
    (x, W, b), (tx, tW, tb) = _pair((5, 4), (6, 4), (6,))
    W.requires_grad_()
    tW.requires_grad_()
    out = tf.functional_call(lin, {"weight": W, "bias": b}, (x,))
    tout = tfunc.functional_call(tlin, {"weight": tW, "bias": tb}, (tx,))
    _same(out, tout)
    out.sum().backward()
    tout.sum().backward()
    close(W.grad, tW.grad.numpy(), "weight given to functional_call")
    for given, arg, match in (({"weight": W}, x, r"Linear.*bias of shape \(2,\).*weight of shape \(6, 4\)"),
                              ({}, x, r"Linear.*\(5, 4\).*weight of shape \(2, 3\)")):
        with pytest.raises(RuntimeError, match=match):
            tf.functional_call(lin, given, (arg,))
        assert lin.weight.shape == (2, 3) and lin.bias.shape == (2,)


def test_namespaces_are_where_torch_has_them() -> None:
    import tinygrad_lite.autograd.functional as by_import

    from tinygrad_lite.autograd import functional as by_from

    assert by_import is by_from is tl.autograd.functional
    assert {"jacobian", "hessian", "vjp", "jvp", "vhp", "hvp"} <= set(dir(by_import))
    assert set(tf.__all__) == {"grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "vmap",
                               "functional_call", "stack_module_state"}
    assert tf.functional_call is nn.utils.stateless.functional_call
