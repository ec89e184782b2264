"""Higher-order gradients (``create_graph=True``) against torch in float64, and against
finite differences of the first gradient as a function."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import close

import tinygrad_lite as tl
from tinygrad_lite.tensor import Tensor

torch = pytest.importorskip("torch")

TOL = 1e-9


def _pair(arrays: list) -> tuple:
    ours = [tl.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    return ours, theirs


def _np(t: object) -> np.ndarray:
    return t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t.data)


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# ------------------------------------------------------------------ each op, twice ----------
LABELS = np.array([2, 0, 3])
L3 = np.array([[1, 0], [2, 2], [0, 1]])
RM, RV = np.array([0.3, -0.2, 1.0]), np.array([0.5, 2.0, 1.5])


def _lin(m, x, W, b):  # noqa: ANN001, ANN202
    return m.nn.functional.linear(x, W, b)


# (id, fn(m, *tensors) for m in (tl, torch), input shapes, input domain: "any", "pos", "away")
OPS = [
    ("add", lambda m, a, b: a + b * 2.0 + 1.5, [(3, 1), (4,)], "any"),
    ("sub", lambda m, a, b: a - b - (2.0 - a), [(2, 3), (1, 3)], "any"),
    ("mul", lambda m, a, b: a * b * 3.0, [(3, 1), (1, 4)], "any"),
    ("div", lambda m, a, b: a / b + a / 2.0 + 3.0 / b, [(2, 3), (3,)], "pos"),
    ("neg", lambda m, a: -(a * a), [(5,)], "any"),
    ("pow_scalar", lambda m, a: a ** 3 + a ** 2 + a ** 0.5 + a ** -1.5 + a ** 1, [(4,)], "pos"),
    ("pow_tensor", lambda m, a, b: a ** b, [(2, 3), (3,)], "pos"),
    ("rpow", lambda m, a: 2.0 ** a, [(4,)], "any"),
    ("exp_log_sqrt", lambda m, a: a.exp() + a.log() * a.sqrt(), [(2, 2)], "pos"),
    ("sin_cos", lambda m, a: a.sin() * a.cos() + a.cos(), [(5,)], "any"),
    ("tanh_sigmoid", lambda m, a: a.tanh() * a.sigmoid(), [(2, 3)], "any"),
    ("abs", lambda m, a: a.abs() * a, [(6,)], "away"),
    ("clamp", lambda m, a: a.clamp(-0.7, 0.8) * a, [(3, 4)], "away"),
    ("maximum_minimum", lambda m, a, b: m.maximum(a, b) * m.minimum(a, b) + m.maximum(a, b) ** 2,
     [(3, 1), (4,)], "any"),
    ("where", lambda m, a, b: m.where(a > 0.1, a * b, b * b), [(2, 3), (3,)], "away"),
    ("relu", lambda m, a: m.nn.functional.relu(a) * a, [(2, 5)], "away"),
    ("gelu", lambda m, a: m.nn.functional.gelu(a), [(7,)], "any"),
    ("gelu_tanh", lambda m, a: m.nn.functional.gelu(a, approximate="tanh"), [(7,)], "any"),
    ("softplus", lambda m, a: m.nn.functional.softplus(a, beta=2.0, threshold=1.5), [(8,)], "any"),
    ("elu", lambda m, a: m.nn.functional.elu(a, alpha=0.7), [(8,)], "away"),
    ("leaky_relu", lambda m, a: m.nn.functional.leaky_relu(a, 0.2) * a, [(8,)], "away"),
    ("silu", lambda m, a: m.nn.functional.silu(a), [(8,)], "any"),
    ("logsigmoid_softsign", lambda m, a: m.nn.functional.logsigmoid(a) * m.nn.functional.softsign(a), [(6,)],
     "away"),
    ("erf_log1p_expm1", lambda m, a: m.erf(a) * m.log1p(a) + m.expm1(a) * m.rsqrt(a) + m.reciprocal(a),
     [(5,)], "pos"),
    ("mish_trig", lambda m, a: m.nn.functional.mish(a) * a.tan() + a.atan() * a.sinh() + a.cosh() * a.asinh(),
     [(6,)], "any"),
    ("inverse_trig", lambda m, a: a.asin() * a.acos() + a.atanh() + (a * a + 1.5).acosh(), [(5,)], "unit"),
    ("cumsum", lambda m, a: a.cumsum(1) * a.cumsum(0).exp(), [(3, 4)], "any"),
    ("layer_norm", lambda m, x, w, b: m.nn.functional.layer_norm(x * x, (3, 4), w, b, eps=1e-3).tanh(),
     [(2, 3, 4), (3, 4), (3, 4)], "any"),
    ("layer_norm_plain", lambda m, x: m.nn.functional.layer_norm(x, (4,)) ** 3, [(3, 4)], "any"),
    ("conv2d", lambda m, x, w, b: m.nn.functional.conv2d(x, w, b, stride=(2, 1), padding=(1, 2), dilation=(1, 2))
     .tanh(), [(2, 3, 5, 6), (4, 3, 3, 2), (4,)], "any"),
    ("conv1d_groups_same", lambda m, x, w: m.nn.functional.conv1d(x * x, w, groups=2, padding="same") ** 2,
     [(2, 4, 7), (6, 2, 4)], "any"),
    ("max_pool", lambda m, x: m.nn.functional.max_pool2d(x * x, 3, stride=2, padding=1) ** 2, [(2, 2, 5, 6)], "any"),
    ("avg_pool", lambda m, x: m.nn.functional.avg_pool2d(x.tanh(), 3, stride=2, padding=1, count_include_pad=False)
     ** 2 + m.nn.functional.avg_pool1d(x[:, 0], 2).sin().sum(), [(2, 3, 6, 5)], "any"),
    ("batch_norm_train", lambda m, x, w, b: m.nn.functional.batch_norm(
        x * x, None, None, w, b, training=True, eps=1e-3).tanh(), [(4, 3, 5), (3,), (3,)], "any"),
    ("batch_norm_eval", lambda m, x, w, b: m.nn.functional.batch_norm(
        x * x, m.tensor(RM), m.tensor(RV), w, b, training=False).tanh(), [(4, 3, 5), (3,), (3,)], "any"),
    ("gather", lambda m, x: m.gather(x * x, 1, m.tensor(np.array([[0, 2, 0], [3, 3, 1], [1, 0, 2]]))).exp(),
     [(3, 4)], "any"),
    ("embedding", lambda m, W: m.nn.functional.embedding(m.tensor(np.array([[1, 0, 3], [3, 2, 1]])), W * W,
                                                         padding_idx=2).tanh(), [(4, 3)], "any"),
    ("sum_mean", lambda m, a: (a.sum(dim=1, keepdim=True) * a).mean(dim=0) * a.mean(), [(3, 4)], "any"),
    ("sum_all", lambda m, a: a.sum() * a, [(2, 3)], "any"),
    ("norm", lambda m, a: a.norm(dim=1) * a.norm() + a.norm(p=3, dim=1), [(3, 4)], "any"),
    ("max_dim", lambda m, a: a.max(dim=1)[0] * a.amax(dim=0).sum(), [(3, 4)], "any"),
    ("logsumexp", lambda m, a: m.logsumexp(a, dim=1) * a.sum(dim=1), [(3, 4)], "any"),
    ("softmax", lambda m, a: a.softmax(dim=1) * a, [(3, 4)], "any"),
    ("log_softmax", lambda m, a: a.log_softmax(dim=0) * a, [(3, 4)], "any"),
    ("matmul_2d", lambda m, a, b: (a @ b) * (a @ b), [(3, 4), (4, 2)], "any"),
    ("matmul_batched", lambda m, a, b: (a @ b) ** 2, [(2, 3, 4), (4, 2)], "any"),
    ("matmul_broadcast", lambda m, a, b: (a @ b) ** 2, [(3, 4), (2, 4, 2)], "any"),
    ("matmul_vec", lambda m, a, b, c: ((a @ b) ** 2).sum() + ((b @ c) ** 2).sum() + (c @ c) ** 2, [(4,), (4, 3), (3,)],
     "any"),
    ("bmm_mm", lambda m, a, b: a.bmm(b).sum(dim=0).mm(b[0].T).tanh(), [(2, 3, 4), (2, 4, 3)], "any"),
    ("linear", lambda m, x, W, b: _lin(m, x, W, b).tanh(), [(5, 3), (4, 3), (4,)], "any"),
    ("linear_3d", lambda m, x, W, b: _lin(m, x, W, b).sigmoid(), [(2, 5, 3), (4, 3), (4,)], "any"),
    ("linear_nobias", lambda m, x, W: _lin(m, x, W, None) ** 2, [(3,), (4, 3)], "any"),
    ("mse_loss", lambda m, a, b: m.nn.functional.mse_loss(a.tanh(), b) * m.nn.functional.mse_loss(
        a, b, reduction="sum"), [(3, 2), (3, 2)], "any"),
    ("cross_entropy", lambda m, a: m.nn.functional.cross_entropy(a * a, m.tensor(LABELS)), [(3, 4)], "any"),
    ("cross_entropy_weighted", lambda m, a: m.nn.functional.cross_entropy(
        a * a, m.tensor(LABELS), weight=m.tensor([1.0, 2.0, 0.5, 1.5], dtype=m.float64), label_smoothing=0.1),
     [(3, 4)], "any"),
    ("cross_entropy_3d", lambda m, a: m.nn.functional.cross_entropy(a * a, m.tensor(L3)), [(3, 4, 2)], "any"),
    ("bce_with_logits", lambda m, a, t: m.nn.functional.binary_cross_entropy_with_logits(
        a * a, t.sigmoid(), pos_weight=m.tensor([1.0, 2.0, 0.5], dtype=m.float64)), [(2, 3), (2, 3)], "any"),
    ("bce_with_logits_plain", lambda m, a, t: m.nn.functional.binary_cross_entropy_with_logits(
        a, t.sigmoid(), weight=m.tensor([1.0, 2.0, 0.5], dtype=m.float64), reduction="sum"), [(2, 3), (2, 3)],
     "any"),
    ("huber_l1_bce", lambda m, a, t: m.nn.functional.huber_loss(a, t, delta=0.5) + m.nn.functional.l1_loss(
        a * a, t) + m.nn.functional.binary_cross_entropy(a.sigmoid(), t.sigmoid()), [(2, 3), (2, 3)], "away"),
    ("reshape_view", lambda m, a: a.reshape(3, 4).view(2, 6).exp() * a.view(-1)[:6].reshape(2, 3).repeat(1, 2),
     [(4, 3)], "any"),
    ("transpose_permute", lambda m, a: m.transpose(a.permute(2, 0, 1), 0, 1).exp() * a.mT[:1] + a[0].T.sum(),
     [(2, 3, 4)], "any"),
    ("unsqueeze_squeeze_expand", lambda m, a: a.unsqueeze(0).expand(3, 2, 4).sin() * a.unsqueeze(1).squeeze(1),
     [(2, 4)], "any"),
    ("broadcast_to", lambda m, a: a.broadcast_to((3, 2, 4)).exp().sum(dim=0), [(2, 1)], "any"),
    ("getitem_slices", lambda m, a: a[1:, ::2].exp() * a[0, None, :2] + a[:2, -1:] ** 3, [(3, 4)], "any"),
    ("getitem_int_arrays", lambda m, a: a[m.tensor([0, 2, 0])].sin() * a[m.tensor([1, 1, 2]), m.tensor([3, 0, 3])]
     [:, None], [(3, 4)], "any"),
    ("cat_stack", lambda m, a, b: m.cat([a, b * b, a], dim=1).tanh() * m.stack([a, a], 0).sum(dim=0)[:, :1],
     [(2, 3), (2, 2)], "any"),
]


def _inputs(shapes: list, domain: str, seed: int) -> list:
    r = _rng(seed)
    out = []
    for s in shapes:
        a = r.standard_normal(s)
        if domain == "pos":
            a = r.uniform(0.5, 2.0, s)
        elif domain == "unit":
            a = r.uniform(-0.8, 0.8, s)
        elif domain == "away":  # away from kinks and ties
            a = np.sign(a) * r.uniform(0.3, 1.5, s)
            a = a + np.arange(a.size).reshape(s) * 1e-3
        out.append(a)
    return out


def _twice(m: object, fn: object, xs: list, W: np.ndarray, Vs: list) -> tuple:
    """First gradients of <fn(xs), W> with create_graph, and the gradients of
    S = sum_i <g_i, V_i> + |g_i|^2 / 2 (a nonlinear function of them)."""
    out = fn(m, *xs)
    Wt = m.tensor(W)
    first = m.autograd.grad((out * Wt).sum(), xs, create_graph=True)
    S = None
    for g, V in zip(first, Vs):
        term = (g * m.tensor(V)).sum() + (g * g).sum() * 0.5
        S = term if S is None else S + term
    if not S.requires_grad:
        return first, [np.zeros(x.shape) for x in xs]
    second = m.autograd.grad(S, xs, allow_unused=True)
    return first, [np.zeros(x.shape) if s is None else _np(s) for x, s in zip(xs, second)]


@pytest.mark.parametrize("name,fn,shapes,domain", OPS, ids=[o[0] for o in OPS])
def test_op_double_backward(name: str, fn: object, shapes: list, domain: str) -> None:
    arrays = _inputs(shapes, domain, len(name))
    ours, theirs = _pair(arrays)
    out = fn(torch, *theirs)
    r = _rng(1)
    W = r.standard_normal(tuple(out.shape))
    Vs = [r.standard_normal(a.shape) for a in arrays]
    close(_np(fn(tl, *ours)), _np(out), name)
    f1, s1 = _twice(tl, fn, ours, W, Vs)
    f2, s2 = _twice(torch, fn, theirs, W, Vs)
    for i, (a, b) in enumerate(zip(f1, f2)):
        close(_np(a), _np(b), f"{name}: first gradient of input {i}", TOL)
    for i, (a, b) in enumerate(zip(s1, s2)):
        close(a, b, f"{name}: second-order gradient of input {i}", TOL)


# ------------------------------------------------------------------ Hessians -------------
def _hessian(m: object, f: object, x0: np.ndarray) -> np.ndarray:
    x = m.tensor(x0, requires_grad=True)
    (g,) = m.autograd.grad(f(m, x), [x], create_graph=True)
    rows = []
    for i in range(x0.size):
        (h,) = m.autograd.grad(g.reshape(-1)[i], [x], allow_unused=True, retain_graph=True)
        rows.append(np.zeros(x0.size) if h is None else _np(h).reshape(-1))
    return np.array(rows)


HESS = [
    ("poly", lambda m, x: (x ** 3).sum() * x[0] + (x[1] * x[2]) ** 2),
    ("quadratic_form", lambda m, x: x @ m.tensor(np.arange(9.0).reshape(3, 3)) @ x),
    ("log_sum_exp", lambda m, x: m.logsumexp(x * x, dim=0)),
    ("rosenbrock", lambda m, x: ((1 - x[:-1]) ** 2 + 100 * (x[1:] - x[:-1] ** 2) ** 2).sum()),
    ("norm_softmax", lambda m, x: x.norm() * x.softmax(dim=0)[0] + x.sigmoid().prod() * 0.5 + x.tanh().sum()),
]


@pytest.mark.parametrize("name,f", HESS, ids=[h[0] for h in HESS])
def test_full_hessian(name: str, f: object) -> None:
    x0 = np.array([0.3, -0.7, 1.1])
    H = _hessian(tl, f, x0)
    close(H, _hessian(torch, f, x0), name, TOL)
    close(H, H.T, f"{name}: symmetric", 1e-12)


def _mlp(m: object, x: object, params: list) -> object:
    W1, b1, W2, b2, W3, b3 = params
    F = m.nn.functional
    h = F.gelu(F.linear(x, W1, b1))
    h = F.softplus(F.linear(h, W2, b2))
    return F.linear(h, W3, b3)


def _params(r: np.random.Generator, sizes: tuple = (4, 6, 5, 3)) -> list:
    out = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        out += [r.standard_normal((b, a)) * 0.5, r.standard_normal(b) * 0.1]
    return out


def test_hessian_vector_product_of_mlp_loss() -> None:
    r = _rng(3)
    P = _params(r)
    X, y = r.standard_normal((7, 4)), r.integers(0, 3, 7)
    V = [r.standard_normal(p.shape) for p in P]
    res = []
    for m in (tl, torch):
        ps = [m.tensor(p, requires_grad=True) for p in P]
        loss = m.nn.functional.cross_entropy(_mlp(m, m.tensor(X), ps), m.tensor(y))
        gs = m.autograd.grad(loss, ps, create_graph=True)
        hv = m.autograd.grad(gs, ps, grad_outputs=[m.tensor(v) for v in V])
        res.append([_np(h) for h in hv])
        assert all(g.requires_grad for g in gs)
    for i, (a, b) in enumerate(zip(*res)):
        close(a, b, f"Hv for parameter {i}", TOL)


def test_third_derivative_of_scalar_chain() -> None:
    def f(m, x):  # noqa: ANN001, ANN202
        return (x.sin() * x.exp()).tanh() / (1 + x * x) + (x ** 4).log()

    vals = []
    for m in (tl, torch):
        x = m.tensor(np.array(0.7), requires_grad=True)
        y = f(m, x)
        out = []
        for k in range(3):
            (y,) = m.autograd.grad(y, [x], create_graph=k < 2)
            out.append(float(_np(y)))
        vals.append(out)
    close(vals[0], vals[1], "derivatives 1-3", TOL)


def test_grad_outputs_that_require_grad() -> None:
    """The double-backward trick: J^T v computed with create_graph is linear in v, and its
    gradient with respect to v gives J u (a Jacobian-vector product)."""
    r = _rng(4)
    x0, v0, u0 = r.standard_normal(3), r.standard_normal(2), r.standard_normal(3)
    A = r.standard_normal((2, 3))
    res = []
    for m in (tl, torch):
        x = m.tensor(x0, requires_grad=True)
        v = m.tensor(v0, requires_grad=True)
        y = (m.tensor(A) @ x).tanh()
        (jtv,) = m.autograd.grad(y, [x], grad_outputs=[v], create_graph=True)
        (ju,) = m.autograd.grad(jtv, [v], grad_outputs=[m.tensor(u0)])
        res.append(_np(ju))
    close(res[0], res[1], "J u", TOL)


# ------------------------------------------------------------------ gradient penalty -------
def test_gradient_penalty_of_mlp_critic() -> None:
    """WGAN-GP: the penalty (|d critic / d x|_2 - 1)^2 averaged over interpolated samples,
    differentiated with respect to the critic's parameters, plus the critic's own loss."""
    r = _rng(5)
    P = _params(r, (3, 8, 6, 1))
    real, fake, eps = r.standard_normal((5, 3)), r.standard_normal((5, 3)), r.uniform(size=(5, 1))
    grads, values = [], []
    for m in (tl, torch):
        F = m.nn.functional
        ps = [m.tensor(p, requires_grad=True) for p in P]

        def critic(x, ps=ps, F=F):  # noqa: ANN001, ANN202
            h = F.leaky_relu(F.linear(x, ps[0], ps[1]), 0.2)
            h = F.elu(F.linear(h, ps[2], ps[3])).tanh() + F.silu(F.linear(h, ps[2], ps[3]))
            return F.linear(h, ps[4], ps[5])

        xi = m.tensor(eps * real + (1 - eps) * fake, requires_grad=True)
        (gx,) = m.autograd.grad(critic(xi).sum(), [xi], create_graph=True)
        gp = ((gx.view(5, -1).norm(2, dim=1) - 1) ** 2).mean()
        loss = critic(m.tensor(fake)).mean() - critic(m.tensor(real)).mean() + 10 * gp
        loss.backward()
        values.append(float(_np(loss)))
        grads.append([_np(p.grad) for p in ps])
        assert xi.grad is not None
        if m is tl:
            assert all(type(p.grad) is np.ndarray for p in ps)
    close(values[0], values[1], "loss", TOL)
    for i, (a, b) in enumerate(zip(*grads)):
        close(a, b, f"parameter {i}", TOL)


# ------------------------------------------------------------------ finite differences ------
@pytest.mark.parametrize("name", ["poly", "mlp"])
def test_first_gradient_as_a_function_by_finite_differences(name: str) -> None:
    r = _rng(6)
    v = tl.tensor(r.standard_normal(4))
    P = [tl.tensor(p) for p in _params(r, (4, 5, 2))]

    def f(x: Tensor) -> Tensor:
        if name == "poly":
            return (x.sin() * x ** 3).sum() + x.norm() * x.sigmoid().sum()
        h = tl.nn.functional.gelu(tl.nn.functional.linear(x[None, :], P[0], P[1]))
        return tl.nn.functional.linear(h, P[2], P[3]).tanh().sum()

    def first(x: Tensor) -> Tensor:
        with tl.enable_grad():  # (gradcheck evaluates it under no_grad too)
            (g,) = tl.autograd.grad(f(x), [x], create_graph=True)
            return (g * v).sum() + (g * g).sum()

    x = tl.tensor(r.standard_normal(4), requires_grad=True)
    assert tl.gradcheck(first, [x], eps=1e-6, atol=1e-7, rtol=1e-5)


# ------------------------------------------------------------------ contract --------------
def test_backward_create_graph_accumulates_the_same_numbers() -> None:
    r = _rng(7)
    P = _params(r)
    X, y = r.standard_normal((6, 4)), r.integers(0, 3, 6)
    got = []
    for cg in (False, True, True):
        ps = [tl.tensor(p, requires_grad=True) for p in P]
        loss = tl.nn.functional.cross_entropy(_mlp(tl, tl.tensor(X), ps), y)
        loss.backward(create_graph=cg)
        if len(got) == 2:  # a second backward adds up, as the plain one does
            loss.backward(create_graph=True)
            got.append([p.grad / 2 for p in ps])
        else:
            got.append([p.grad for p in ps])
        assert all(type(p.grad) is np.ndarray for p in ps)
    for a, b, c in zip(*got):  # the same numbers, up to rounding (the two sweeps order sums differently)
        close(b, a, "create_graph", 1e-14)
        close(c, a, "twice", 1e-14)


def test_plain_grad_unchanged_and_create_graph_results_require_grad() -> None:
    x0 = np.array([0.4, -1.2, 2.0])
    x = tl.tensor(x0, requires_grad=True)
    y = (x * x.exp()).sum()
    (plain,) = tl.autograd.grad(y, [x])
    (graphed,) = tl.autograd.grad(y, [x], create_graph=True)
    assert not plain.requires_grad and graphed.requires_grad
    np.testing.assert_array_equal(plain.data, graphed.data)
    close(plain.data, (1 + x0) * np.exp(x0), "d/dx x e^x")
    # a linear function's gradient is a constant: it does not require grad (as torch's)
    for m in (tl, torch):
        z = m.tensor(x0, requires_grad=True)
        (g,) = m.autograd.grad((z * 3.0).sum(), [z], create_graph=True)
        assert not g.requires_grad
    assert x.grad is None  # grad() writes no .grad
    # 0 ** a: the derivative 0 ** a log 0 is taken as 0 where a >= 0 (as torch's first gradient)
    z = tl.tensor(np.array([0.7, -1.3]), requires_grad=True)
    (g,) = tl.autograd.grad((0.0 ** z).sum(), [z], create_graph=True)
    assert isinstance(g, Tensor)
    np.testing.assert_array_equal(g.data, [0.0, -np.inf])


def test_uncovered_op_raises_naming_it_and_changes_nothing() -> None:
    def f(x: Tensor) -> Tensor:  # x itself, as a product reduction into zeros (which has no such backward)
        return tl.zeros(3, dtype=tl.float64).scatter_reduce(0, tl.tensor([0, 1, 2]), x, "prod", include_self=False)

    x = tl.tensor(np.array([0.5, 1.5, 2.0]), requires_grad=True)
    w = tl.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    s = x.data.copy()
    loss = (f(x) * w).sum()
    with pytest.raises(NotImplementedError, match="'scatter_reduce'"):
        tl.autograd.grad(loss, [x], create_graph=True)
    with pytest.raises(NotImplementedError, match="'scatter_reduce'"):
        loss.backward(create_graph=True)
    assert x.grad is None and w.grad is None
    # a branch that leads to no wanted input is not differentiated: it cannot raise
    (gw,) = tl.autograd.grad(loss, [w], create_graph=True)
    close(gw.data, s, "d/dw")
    h = f(x)  # the gradient with respect to the op's output does not go through it
    (gh,) = tl.autograd.grad((h * h * w).sum(), [h], create_graph=True)
    close(gh.data, 2 * s * w.data, "d/dh")
    assert gh.requires_grad
    loss.backward()  # the plain sweep still works
    close(w.grad, s, "plain d/dw")


def test_batched_input_behaves_as_per_sample_false() -> None:
    r = _rng(8)
    P = _params(r, (4, 5, 2))
    X = r.standard_normal((6, 4))
    ps = [tl.tensor(p, requires_grad=True) for p in P]
    xb = tl.tensor(X, batched=True)
    loss = ((tl.nn.functional.linear(tl.nn.functional.linear(xb, ps[0], ps[1]).tanh(), ps[2], ps[3])) ** 2).mean()
    loss.backward(create_graph=True)
    assert all(p.grad_sample is None for p in ps)
    grads = [p.grad.copy() for p in ps]
    for p in ps:
        p.grad = None
    loss.backward(per_sample=False)
    for a, p in zip(grads, ps):
        np.testing.assert_array_equal(a, p.grad)


def test_hooks_are_refused_with_create_graph() -> None:
    x = tl.tensor(np.array([1.0, 2.0]), requires_grad=True)
    h = x * x
    h.register_hook(lambda g: g * 2)
    with pytest.raises(NotImplementedError, match="hook"):
        tl.autograd.grad(h.sum(), [x], create_graph=True)


def test_flags_are_checked() -> None:
    x = tl.tensor(np.array([1.0, 2.0]), requires_grad=True)
    with pytest.raises(TypeError, match="create_graph"):
        tl.autograd.grad((x * x).sum(), [x], create_graph="yes")
    (g,) = tl.autograd.grad((x * x).sum(), [x], create_graph=np.bool_(True))
    assert g.requires_grad
    tl.autograd.backward([(x * x * x).sum()], create_graph=True, inputs=[x])
    close(x.grad, 3 * x.data ** 2, "autograd.backward(inputs=, create_graph=True)")


# ------------------------------------------------------------------ per-sample --------------
def test_gradient_penalty_per_sample_with_a_batched_input() -> None:
    """Each sample's penalty term depends on its own input only: grad_sample[b] of the
    penalty's mean is the gradient of sample b's own term, computed alone (through getitem,
    cat and linear in the differentiated graph)."""
    r = _rng(9)
    P = _params(r, (3, 6, 1))
    X = r.standard_normal((5, 3))

    def penalty(x: Tensor, ps: list) -> Tensor:
        F = tl.nn.functional
        h = tl.cat([x[:, :2].tanh(), x[:, 2:] * x[:, :1]], 1)
        (g,) = tl.autograd.grad(F.linear(F.silu(F.linear(h, ps[0], ps[1])), ps[2], ps[3]).sum(), [x],
                                create_graph=True)
        return ((g.norm(2, dim=1) - 1) ** 2).mean()

    ps = [tl.tensor(p, requires_grad=True) for p in P]
    penalty(tl.tensor(X, batched=True, requires_grad=True), ps).backward()
    kept = [p.grad_sample for p in ps[:3]]
    assert ps[3].grad is None  # the last bias does not change d critic / d x
    for b in range(5):
        alone = [tl.tensor(p, requires_grad=True) for p in P]
        penalty(tl.tensor(X[b:b + 1], requires_grad=True), alone).backward(per_sample=False)
        for i in range(3):
            close(kept[i][b], alone[i].grad, f"sample {b}, parameter {i}", 1e-12)


def test_penalty_on_a_parameter_gradient_mixes_samples() -> None:
    r = _rng(10)
    ps = [tl.tensor(p, requires_grad=True) for p in _params(r, (3, 4, 1))]
    x = tl.tensor(r.standard_normal((5, 3)), batched=True)
    loss = (_mlp2(x, ps) ** 2).mean()
    gs = tl.autograd.grad(loss, ps, create_graph=True)  # sums over the samples
    sum((g * g).sum() for g in gs).backward()
    assert ps[0].grad is not None
    with pytest.raises(RuntimeError, match="per-sample gradients .* undefined"):
        _ = ps[0].grad_sample


def _mlp2(x: Tensor, ps: list) -> Tensor:
    F = tl.nn.functional
    return F.linear(F.linear(x, ps[0], ps[1]).tanh(), ps[2], ps[3])


def test_cost_mixing_samples_with_kept_size_one_axes() -> None:
    """A batch statistic with keepdims (shape (1, 1)) in a cost that mixes samples: backward
    gives the exact gradient (the per-sample bookkeeping read the size-1 array as a number)."""
    X = np.arange(6.0).reshape(3, 2)
    x = tl.tensor(X, batched=True)
    w = tl.tensor(np.array([[0.5], [-1.0]]), requires_grad=True)
    y = (x @ w).sum(0, keepdims=True)
    (y * y).sum().backward()
    s = float((X @ w.data).sum())
    close(w.grad.ravel(), 2 * s * X.sum(0), "d (sum_b x_b w)^2 / dw")


def test_detect_anomaly_names_the_op_whose_backward_failed() -> None:
    x = tl.tensor(np.array([0.0, 1.0]), requires_grad=True)
    with tl.detect_anomaly():
        y = (x.sqrt() * 2).sum()
        with pytest.raises(FloatingPointError, match="backward of op 'sqrt'"):
            tl.autograd.grad(y, [x], create_graph=True)
        with pytest.raises(FloatingPointError, match="backward of op 'sqrt'"):
            y.backward(create_graph=True)
    assert x.grad is None
    seen: list = []
    (x * x).sum().backward(create_graph=True, trace=lambda n, g, gs: seen.append((n.op, type(g))))
    assert seen == [("sum", np.ndarray), ("mul", np.ndarray), ("", np.ndarray)]
    close(x.grad, 2 * x.data, "d/dx x^2")
