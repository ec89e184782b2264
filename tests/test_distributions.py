"""tl.distributions against torch.distributions (float64): log_prob, entropy, moments, cdf/icdf
and kl_divergence values and their gradients w.r.t. the parameters; rsample gradients; sample
shapes and statistics; validation errors; the KL registry."""

import math

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")
td = torch.distributions
D = tl.distributions

R = np.random.default_rng(20261127)


def _pos(*shape, lo=0.5, hi=2.0):
    return R.uniform(lo, hi, size=shape)


def _spd(k, *batch):
    a = R.normal(size=batch + (k, k))
    return a @ np.swapaxes(a, -1, -2) + k * np.eye(k)


def _tril(k, *batch):
    t = np.tril(R.normal(size=batch + (k, k)), -1)
    return t + np.eye(k) * R.uniform(0.5, 1.5, size=batch + (k,))[..., None, :]


# name -> (class name, {param: array}, {param: array} not differentiated, wrapper)
CASES = {
    "Normal": ("Normal", {"loc": R.normal(size=(3, 2)), "scale": _pos(2)}, {}),
    "Uniform": ("Uniform", {"low": R.normal(size=3), "high": None}, {}),
    "Exponential": ("Exponential", {"rate": _pos(4)}, {}),
    "Laplace": ("Laplace", {"loc": R.normal(size=(2, 3)), "scale": _pos(3)}, {}),
    "Cauchy": ("Cauchy", {"loc": R.normal(size=3), "scale": _pos(3)}, {}),
    "Gumbel": ("Gumbel", {"loc": R.normal(size=3), "scale": _pos(3)}, {}),
    "HalfNormal": ("HalfNormal", {"scale": _pos(4)}, {}),
    "LogNormal": ("LogNormal", {"loc": R.normal(size=3) * 0.5, "scale": _pos(3, lo=0.3, hi=1.0)}, {}),
    "StudentT": ("StudentT", {"df": np.array([0.7, 1.5, 2.5, 6.0]), "loc": R.normal(size=4), "scale": _pos(4)}, {}),
    "Gamma": ("Gamma", {"concentration": _pos(4, lo=0.5, hi=3), "rate": _pos(4)}, {}),
    "Chi2": ("Chi2", {"df": _pos(3, lo=1, hi=5)}, {}),
    "Beta": ("Beta", {"concentration1": _pos(3, lo=0.6, hi=3), "concentration0": _pos(3, lo=0.6, hi=3)}, {}),
    "Dirichlet": ("Dirichlet", {"concentration": _pos(2, 4, lo=0.6, hi=3)}, {}),
    "Bernoulli_p": ("Bernoulli", {"probs": R.uniform(0.1, 0.9, size=4)}, {}),
    "Bernoulli_l": ("Bernoulli", {"logits": R.normal(size=(2, 3))}, {}),
    "Categorical_p": ("Categorical", {"probs": _pos(2, 5)}, {}),
    "Categorical_l": ("Categorical", {"logits": R.normal(size=(3, 4))}, {}),
    "OneHotCategorical": ("OneHotCategorical", {"probs": _pos(3, 4)}, {}),
    "OneHotCategorical_l": ("OneHotCategorical", {"logits": R.normal(size=(2, 3))}, {}),
    "Binomial_p": ("Binomial", {"probs": R.uniform(0.1, 0.9, size=4)}, {"total_count": np.array(7.0)}),
    "Binomial_l": ("Binomial", {"logits": R.normal(size=3)}, {"total_count": np.array([4.0, 9.0, 2.0])}),
    "Poisson": ("Poisson", {"rate": _pos(4, lo=0.5, hi=6)}, {}),
    "Geometric_p": ("Geometric", {"probs": R.uniform(0.1, 0.9, size=4)}, {}),
    "Geometric_l": ("Geometric", {"logits": R.normal(size=3)}, {}),
    "MVN_cov": ("MultivariateNormal", {"loc": R.normal(size=(2, 3)), "covariance_matrix": _spd(3)}, {}),
    "MVN_tril": ("MultivariateNormal", {"loc": R.normal(size=3), "scale_tril": _tril(3, 2)}, {}),
    "MVN_prec": ("MultivariateNormal", {"loc": R.normal(size=(2, 3)), "precision_matrix": _spd(3, 2)}, {}),
    "Independent": ("Independent", {"loc": R.normal(size=(3, 2)), "scale": _pos(3, 2)}, {}),
}
CASES["Uniform"][1]["high"] = CASES["Uniform"][1]["low"] + _pos(3, lo=1, hi=2)


def build(case):
    """(tl distribution, torch distribution, tl params, torch params) from the same arrays."""
    cls, params, fixed = CASES[case]
    tp = {k: tl.tensor(v.copy(), requires_grad=True) for k, v in params.items()}
    pp = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in params.items()}
    tp_all = dict(tp, **{k: tl.tensor(v.copy()) for k, v in fixed.items()})
    pp_all = dict(pp, **{k: torch.tensor(v.copy()) for k, v in fixed.items()})
    if cls == "Independent":
        return (D.Independent(D.Normal(**tp_all), 1), td.Independent(td.Normal(**pp_all), 1), tp, pp)
    return getattr(D, cls)(**tp_all), getattr(td, cls)(**pp_all), tp, pp


def close(a, b, tol=1e-10):
    a = np.asarray(a.data if isinstance(a, tl.Tensor) else a, dtype=np.float64)
    b = b.detach().numpy() if isinstance(b, torch.Tensor) else np.asarray(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol, equal_nan=True)


def check_grads(tp, pp, tl_out, torch_out, tol=1e-9):
    """Backward a weighted sum of both outputs and compare every parameter's gradient."""
    w = R.normal(size=tuple(torch_out.shape))
    (tl_out * tl.tensor(w)).sum().backward()
    (torch_out * torch.tensor(w)).sum().backward()
    for k in tp:
        g = pp[k].grad
        if g is None:
            assert tp[k].grad is None or np.allclose(tp[k].grad, 0), k
            continue
        np.testing.assert_allclose(tp[k].grad, g.numpy(), rtol=tol, atol=tol, err_msg=k)


def value_for(case, shape=(5,)):
    torch.manual_seed(7)
    _, pd, _, _ = build(case)
    return pd.sample(shape).detach().numpy()


def as_tl(v):
    return tl.tensor(v.copy())


@pytest.mark.parametrize("case", sorted(CASES))
def test_shapes_and_log_prob_with_gradients(case):
    d, pd, tp, pp = build(case)
    assert d.batch_shape == tuple(pd.batch_shape) and d.event_shape == tuple(pd.event_shape)
    v = value_for(case)
    lp = d.log_prob(as_tl(v))
    plp = pd.log_prob(torch.tensor(v))
    close(lp, plp)
    check_grads(tp, pp, lp, plp)


@pytest.mark.parametrize("case", sorted(CASES))
def test_entropy_with_gradients(case):
    d, pd, tp, pp = build(case)
    try:
        ph = pd.entropy()
    except NotImplementedError:
        with pytest.raises(NotImplementedError, match=type(d).__name__):
            d.entropy()
        return
    h = d.entropy()
    close(h, ph)
    check_grads(tp, pp, h, ph)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("prop", ["mean", "variance", "stddev", "mode"])
def test_moments(case, prop):
    d, pd, tp, pp = build(case)
    want = getattr(pd, prop)
    got = getattr(d, prop)
    close(got, want)
    if want.requires_grad and np.isfinite(want.detach().numpy()).all():
        check_grads(tp, pp, got, want)


CDF_CASES = ["Normal", "Uniform", "Exponential", "Laplace", "Cauchy", "Gumbel", "HalfNormal", "LogNormal"]


@pytest.mark.parametrize("case", CDF_CASES)
def test_cdf_icdf_with_gradients(case):
    d, pd, tp, pp = build(case)
    v = value_for(case)
    c, pc = d.cdf(as_tl(v)), pd.cdf(torch.tensor(v))
    close(c, pc)
    check_grads(tp, pp, c, pc)
    d, pd, tp, pp = build(case)
    u = R.uniform(0.05, 0.95, size=(4,) + tuple(pd.batch_shape))
    q, pq = d.icdf(as_tl(u)), pd.icdf(torch.tensor(u))
    close(q, pq)
    check_grads(tp, pp, q, pq)
    close(d.cdf(q), u)
    close(d.icdf(u), pq)  # a numpy array is taken as a Tensor


def test_gamma_cdf_values_and_gradients():
    """P(a, rate x): values against mpmath to 1e-12; gradients w.r.t. value and rate against torch; the
    concentration's gradient (which torch does not give) against mpmath's derivative."""
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 30
    a0, r0 = np.array([0.05, 0.7, 2.0, 30.0, 30.0, 400.0]), np.array([1.5, 0.5, 1.0, 1.0, 2.0, 1.0])
    v0 = np.array([0.01, 5.0, 1.2, 28.0, 20.0, 430.0])
    a, r, v = (tl.tensor(x.copy(), requires_grad=True) for x in (a0, r0, v0))
    out = D.Gamma(a, r).cdf(v)
    want = [float(mpmath.gammainc(ai, 0, ri * vi, regularized=True)) for ai, ri, vi in zip(a0, r0, v0)]
    np.testing.assert_allclose(out.data, want, rtol=1e-12, atol=1e-15)
    w = R.normal(size=6)
    (out * tl.tensor(w)).sum().backward()
    rt, vt = torch.tensor(r0, requires_grad=True), torch.tensor(v0, requires_grad=True)
    (td.Gamma(torch.tensor(a0), rt).cdf(vt) * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(r.grad, rt.grad.numpy(), rtol=1e-9)
    np.testing.assert_allclose(v.grad, vt.grad.numpy(), rtol=1e-9)
    da = [float(mpmath.diff(lambda t, y=ri * vi: mpmath.gammainc(t, 0, y, regularized=True), ai))
          for ai, ri, vi in zip(a0, r0, v0)]
    np.testing.assert_allclose(a.grad, w * np.array(da), rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("case", ["Bernoulli_p", "Categorical_l", "OneHotCategorical", "Binomial_p"])
def test_enumerate_support(case):
    d, pd, _, _ = build(case)
    for expand in (True, False):
        close(d.enumerate_support(expand), pd.enumerate_support(expand).double())
    assert d.has_enumerate_support and pd.has_enumerate_support


@pytest.mark.parametrize("case", sorted(CASES))
def test_sample_shapes_and_dtype(case):
    d, pd, _, _ = build(case)
    for shape in [(), (4,), (2, 3)]:
        s = d.sample(shape)
        assert s.shape == tuple(pd.sample(shape).shape)
        assert not s.requires_grad
        if d.has_rsample:
            assert d.rsample(shape).shape == s.shape
    assert d.has_rsample == pd.has_rsample
    s = d.sample((3,))
    assert s.dtype == (np.int64 if case.startswith("Categorical") else np.float64)
    d.log_prob(s)  # a draw lies in the support (validation is on)
    with pytest.raises(TypeError, match="sample_shape"):
        d.sample(3)


@pytest.mark.parametrize("case", sorted(CASES))
def test_expand(case):
    d, pd, _, _ = build(case)
    shape = (2,) + d.batch_shape
    e, pe = d.expand(shape), pd.expand(torch.Size(shape))
    assert e.batch_shape == tuple(pe.batch_shape) and e.event_shape == d.event_shape
    assert e.sample((3,)).shape == (3,) + shape + d.event_shape
    v = value_for(case, (5, 1))
    close(e.log_prob(as_tl(v)), pe.log_prob(torch.tensor(v)))
    with pytest.raises(ValueError, match="expand"):
        d.expand((5, 7, 11))


MOMENT_CASES = ["Normal", "Uniform", "Exponential", "Laplace", "Gumbel", "HalfNormal", "LogNormal", "Gamma", "Chi2",
                "Beta", "Dirichlet", "Bernoulli_p", "OneHotCategorical", "Binomial_p", "Binomial_l", "Poisson",
                "Geometric_p", "MVN_cov", "MVN_tril", "MVN_prec", "Independent"]


@pytest.mark.parametrize("case", MOMENT_CASES)
def test_sample_statistics(case):
    tl.manual_seed(123)
    d, _, _, _ = build(case)
    n = 40000
    s = d.sample((n,)).data
    mean, var = d.mean.data, d.variance.data
    # the sample mean is within 5 standard errors; the sample variance within 5 of its own standard
    # errors, estimated from the fourth central moment of the same draws
    np.testing.assert_array_less(np.abs(s.mean(0) - mean), 5 * np.sqrt(var / n) + 1e-12)
    m4 = ((s - s.mean(0)) ** 4).mean(0)
    np.testing.assert_array_less(np.abs(s.var(0) - var), 5 * np.sqrt(np.maximum(m4 - var ** 2, 0) / n) + 1e-12)


def test_categorical_sample_frequencies():
    tl.manual_seed(5)
    p = np.array([0.1, 0.2, 0.3, 0.4])
    s = D.Categorical(probs=tl.tensor(p)).sample((50000,)).data
    freq = np.bincount(s, minlength=4) / len(s)
    np.testing.assert_array_less(np.abs(freq - p), 5 * np.sqrt(p * (1 - p) / len(s)))


def test_manual_seed_governs_draws():
    d = D.Normal(tl.tensor([0.0, 1.0]), tl.tensor([1.0, 2.0]))
    tl.manual_seed(3)
    a = d.sample((4,)).data
    tl.manual_seed(3)
    b = d.sample((4,)).data
    assert np.array_equal(a, b) and not np.array_equal(a, d.sample((4,)).data)


# --------------------------------------------------------------------------- rsample gradients

@pytest.mark.parametrize("case", ["Normal", "Laplace", "Cauchy", "Gumbel", "StudentT"])
def test_rsample_location_scale_gradients(case):
    """x = loc + scale * z with z free of the parameters: dx/dloc = 1, dx/dscale = (x - loc) / scale."""
    d, _, tp, _ = build(case)
    x = d.rsample((6,))
    w = R.normal(size=x.shape)
    (x * tl.tensor(w)).sum().backward()
    loc, scale = d.loc.data, d.scale.data
    z = (x.data - loc) / scale
    np.testing.assert_allclose(tp["loc"].grad, _sum_to(w, tp["loc"].shape), rtol=1e-12)
    np.testing.assert_allclose(tp["scale"].grad, _sum_to(w * z, tp["scale"].shape), rtol=1e-10, atol=1e-12)


def _sum_to(a, shape):
    a = a.sum(tuple(range(a.ndim - len(shape))))
    return a.sum(tuple(i for i, s in enumerate(shape) if s == 1), keepdims=True)


def test_rsample_normal_equals_loc_plus_scale_eps():
    loc, scale = tl.tensor([0.5, -1.0], requires_grad=True), tl.tensor([2.0, 0.3], requires_grad=True)
    tl.manual_seed(11)
    x = D.Normal(loc, scale).rsample((3,))
    eps = np.random.default_rng(11).standard_normal((3, 2))
    np.testing.assert_allclose(x.data, loc.data + scale.data * eps, rtol=1e-15)


def test_rsample_exponential_uniform_lognormal_halfnormal_gradients():
    rate = tl.tensor([0.5, 2.0], requires_grad=True)
    x = D.Exponential(rate).rsample((5,))
    x.sum().backward()
    np.testing.assert_allclose(rate.grad, (-x.data / rate.data).sum(0), rtol=1e-12)
    low, high = tl.tensor([0.0, 1.0], requires_grad=True), tl.tensor([2.0, 4.0], requires_grad=True)
    u = D.Uniform(low, high).rsample((5,))
    u.sum().backward()
    t = (u.data - low.data) / (high.data - low.data)
    np.testing.assert_allclose(high.grad, t.sum(0), rtol=1e-12)
    np.testing.assert_allclose(low.grad, (1 - t).sum(0), rtol=1e-12)
    loc, scale = tl.tensor([0.1, 0.2], requires_grad=True), tl.tensor([0.5, 0.9], requires_grad=True)
    y = D.LogNormal(loc, scale).rsample((5,))
    y.sum().backward()
    np.testing.assert_allclose(loc.grad, y.data.sum(0), rtol=1e-12)
    np.testing.assert_allclose(scale.grad, (y.data * (np.log(y.data) - loc.data) / scale.data).sum(0), rtol=1e-10)
    s = tl.tensor([0.5, 3.0], requires_grad=True)
    h = D.HalfNormal(s).rsample((5,))
    h.sum().backward()
    np.testing.assert_allclose(s.grad, (h.data / s.data).sum(0), rtol=1e-12)


def test_rsample_mvn_gradients():
    """x = loc + L eps: dx/dloc = I and d(sum w.x)/dL_ij = sum over draws of w_i eps_j."""
    loc = tl.tensor(R.normal(size=3), requires_grad=True)
    L = tl.tensor(_tril(3), requires_grad=True)
    x = D.MultivariateNormal(loc, scale_tril=L).rsample((7,))
    w = R.normal(size=(7, 3))
    (x * tl.tensor(w)).sum().backward()
    eps = np.linalg.solve(L.data, (x.data - loc.data).T).T
    np.testing.assert_allclose(loc.grad, w.sum(0), rtol=1e-12)
    np.testing.assert_allclose(L.grad, w.T @ eps, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(eps @ L.data.T + loc.data, x.data, rtol=1e-12)


def test_standard_gamma_gradient_matches_finite_differences_of_the_cdf():
    scipy_special = pytest.importorskip("scipy.special")
    from tinygrad_lite.distributions.gamma import standard_gamma_grad
    a = np.array([0.03, 0.4, 1.0, 2.5, 11.0, 150.0, 3000.0])
    x = np.random.default_rng(0).standard_gamma(a)
    h = 1e-6 * a
    dP = (scipy_special.gammainc(a + h, x) - scipy_special.gammainc(a - h, x)) / (2 * h)
    pdf = np.exp((a - 1) * np.log(x) - x - scipy_special.gammaln(a))
    np.testing.assert_allclose(standard_gamma_grad(a, x), -dP / pdf, rtol=1e-6)
    # torch's own approximation agrees to its accuracy
    np.testing.assert_allclose(standard_gamma_grad(a, x),
                               torch._standard_gamma_grad(torch.tensor(a), torch.tensor(x)).numpy(), rtol=1e-4)


def test_gamma_rsample_gradient():
    """x = X / rate with X ~ Gamma(a, 1): dx/drate = -x / rate, dx/da = standard_gamma_grad / rate."""
    from tinygrad_lite.distributions.gamma import standard_gamma_grad
    a, b = tl.tensor([0.7, 4.0], requires_grad=True), tl.tensor([2.0, 0.5], requires_grad=True)
    x = D.Gamma(a, b).rsample((6,))
    x.sum().backward()
    np.testing.assert_allclose(b.grad, (-x.data / b.data).sum(0), rtol=1e-12)
    np.testing.assert_allclose(a.grad, (standard_gamma_grad(np.broadcast_to(a.data, x.shape), x.data * b.data)
                                        / b.data).sum(0), rtol=1e-12)


def _unbiased_case(which):
    """(parameters, a function of them giving f = the Tensor of draws to average, the exact d E[f]/dparams)."""
    if which == "Gamma":
        a, b = tl.tensor([0.6, 3.0], requires_grad=True), tl.tensor([1.5, 0.7], requires_grad=True)
        return [a, b], lambda n: D.Gamma(a, b).rsample((n,)), [1 / b.data, -a.data / b.data ** 2]
    if which == "Beta":
        a, b = tl.tensor([0.8, 2.0], requires_grad=True), tl.tensor([1.5, 3.0], requires_grad=True)
        s = a.data + b.data
        return [a, b], lambda n: D.Beta(a, b).rsample((n,)), [b.data / s ** 2, -a.data / s ** 2]
    if which == "Dirichlet":
        c = tl.tensor([0.7, 1.5, 3.0], requires_grad=True)
        w = np.array([1.0, -2.0, 0.5])
        c0 = c.data.sum()
        return [c], lambda n: D.Dirichlet(c).rsample((n,)) * tl.tensor(w), [(w * c0 - (w * c.data).sum()) / c0 ** 2]
    df = tl.tensor([5.0, 9.0], requires_grad=True)  # E[x^2] = df / (df - 2)
    return [df], lambda n: D.StudentT(df).rsample((n,)) ** 2, [-2 / (df.data - 2) ** 2]


@pytest.mark.parametrize("which", ["Gamma", "Beta", "Dirichlet", "StudentT"])
def test_rsample_gradient_is_unbiased(which):
    """The pathwise gradient of the mean of f over draws estimates d E[f]/dparam: over K independent
    batches, the mean of the batch gradients is within 5 of its standard errors of the exact value."""
    tl.manual_seed(99)
    params, draw, want = _unbiased_case(which)
    K, n = 25, 2000
    grads = [[] for _ in params]
    for _ in range(K):
        for p in params:
            p.grad = None
        (draw(n).sum() / n).backward()
        for g, p in zip(grads, params):
            g.append(p.grad.copy())
    for g, wnt in zip(grads, want):
        g = np.array(g)
        se = g.std(0, ddof=1) / np.sqrt(K)
        assert np.all(se > 0)
        np.testing.assert_array_less(np.abs(g.mean(0) - wnt), 5 * se)


# --------------------------------------------------------------------------- KL divergence

KL_PAIRS = [("Normal", "Normal"), ("Bernoulli_p", "Bernoulli_p"), ("Bernoulli_l", "Bernoulli_l"),
            ("Categorical_p", "Categorical_p"), ("Categorical_l", "Categorical_l"),
            ("OneHotCategorical", "OneHotCategorical"), ("Uniform", "Uniform"), ("Exponential", "Exponential"),
            ("Beta", "Beta"), ("Gamma", "Gamma"), ("Dirichlet", "Dirichlet"), ("MVN_cov", "MVN_cov"),
            ("MVN_tril", "MVN_prec"), ("Independent", "Independent"), ("Laplace", "Laplace"),
            ("Poisson", "Poisson"), ("LogNormal", "LogNormal"), ("HalfNormal", "HalfNormal"),
            ("Geometric_p", "Geometric_p"), ("Binomial_p", "Binomial_p"), ("Cauchy", "Cauchy"),
            ("Gumbel", "Gumbel")]


def _perturbed(case, seed):
    """The case's distribution pair (tl, torch) with parameters moved a little (a different q)."""
    cls, params, fixed = CASES[case]
    rng = np.random.default_rng(seed)
    saved = {k: v.copy() for k, v in params.items()}
    for k, v in params.items():
        if k == "high":
            continue
        if k in ("covariance_matrix", "precision_matrix"):
            params[k] = v + np.eye(v.shape[-1]) * rng.uniform(0.1, 0.5)
        elif k == "scale_tril":
            params[k] = v * rng.uniform(0.8, 1.2)
        elif k in ("loc", "logits", "low"):
            params[k] = v + rng.normal(size=v.shape) * 0.3
        else:
            params[k] = v * rng.uniform(0.7, 0.95, size=v.shape)
    if cls == "Uniform":
        params["low"], params["high"] = saved["low"] - 0.2, saved["high"] + 0.3
    try:
        return build(case)
    finally:
        params.update(saved)


@pytest.mark.parametrize("pq", KL_PAIRS, ids=["-".join(p) for p in KL_PAIRS])
def test_kl_divergence_with_gradients(pq):
    p, pp, tpp, ppp = build(pq[0])
    q, pq_, tpq, ppq = _perturbed(pq[1], 1)
    kl, pkl = D.kl_divergence(p, q), td.kl_divergence(pp, pq_)
    close(kl, pkl)
    assert np.all(kl.data >= -1e-12)
    tp = {"p_" + k: v for k, v in tpp.items()} | {"q_" + k: v for k, v in tpq.items()}
    ptp = {"p_" + k: v for k, v in ppp.items()} | {"q_" + k: v for k, v in ppq.items()}
    check_grads(tp, ptp, kl, pkl)
    close(D.kl_divergence(p, p), td.kl_divergence(pp, pp))  # KL(p || p) = 0


def _hyp_cases():
    hyp = pytest.importorskip("hypothesis")
    st = pytest.importorskip("hypothesis.strategies")
    return hyp, st


def test_log_prob_matches_torch_over_parameter_ranges():
    """Property-based: wide ranges of parameters and values, log_prob equal to torch's to 1e-10 relative."""
    hyp, st = _hyp_cases()
    pos = st.floats(0.05, 50.0)

    @hyp.settings(max_examples=60, deadline=None, derandomize=True)
    @hyp.given(kind=st.sampled_from(["Gamma", "Beta", "StudentT", "Binomial", "Poisson", "Normal", "Laplace"]),
               a=pos, b=pos, u=st.floats(0.001, 0.999))
    def check(kind, a, b, u):
        if kind == "Gamma":
            args, x = (a, b), u * 3 * a / b
        elif kind == "Beta":
            args, x = (a, b), u
        elif kind == "StudentT":
            args, x = (a, b - 25.0, 2.0), u * 40 - 20
        elif kind == "Binomial":
            args, x = (float(round(a)), u), float(round(u * round(a)))
        elif kind == "Poisson":
            args, x = (a,), float(round(u * 3 * a))
        else:
            args, x = (a - 25.0, b), u * 40 - 20
        mine = getattr(D, kind)(*(tl.tensor(v) for v in args)).log_prob(tl.tensor(x)).item()
        ref = getattr(td, kind)(*(torch.tensor(v, dtype=torch.float64) for v in args))
        want = ref.log_prob(torch.tensor(x, dtype=torch.float64)).item()
        assert mine == pytest.approx(want, rel=1e-10, abs=1e-10)

    check()


def test_kl_infinite_where_q_misses_support():
    p = D.Uniform(tl.tensor([0.0, 0.0]), tl.tensor([1.0, 1.0]))
    q = D.Uniform(tl.tensor([0.5, -1.0]), tl.tensor([2.0, 2.0]))
    kl = D.kl_divergence(p, q).data
    assert kl[0] == math.inf and kl[1] == pytest.approx(math.log(3.0), rel=1e-14)
    kl = D.kl_divergence(D.Bernoulli(probs=tl.tensor([0.3])), D.Bernoulli(probs=tl.tensor([0.0]))).data
    assert kl[0] == math.inf


def test_kl_monte_carlo_agrees_for_mvn():
    tl.manual_seed(0)
    p = D.MultivariateNormal(tl.tensor([0.0, 1.0]), covariance_matrix=tl.tensor(_spd(2)))
    q = D.MultivariateNormal(tl.tensor([0.5, 0.0]), scale_tril=tl.tensor(_tril(2)))
    x = p.sample((40000,))
    terms = (p.log_prob(x) - q.log_prob(x)).data
    assert abs(terms.mean() - D.kl_divergence(p, q).item()) < 5 * terms.std() / np.sqrt(len(terms))


def test_kl_unregistered_pair_and_register_kl():
    with pytest.raises(NotImplementedError, match="Normal.*Gamma"):
        D.kl_divergence(D.Normal(0.0, 1.0), D.Gamma(1.0, 1.0))

    class MyNormal(D.Normal):
        pass

    # a subclass falls back to the parent's rule until it gets its own
    p, q = MyNormal(0.0, 1.0), D.Normal(1.0, 2.0)
    want = td.kl_divergence(td.Normal(torch.tensor(0.0, dtype=torch.float64), 1.0),
                            td.Normal(torch.tensor(1.0, dtype=torch.float64), 2.0))
    close(D.kl_divergence(p, q), want)

    @D.register_kl(MyNormal, D.Normal)
    def _mine(p, q):
        return p.loc * 0 + 42.0

    assert D.kl_divergence(p, q).item() == 42.0
    assert D.kl_divergence(D.Normal(0.0, 1.0), q).item() != 42.0
    with pytest.raises(TypeError, match="register_kl"):
        D.register_kl(int, D.Normal)
    with pytest.raises(NotImplementedError, match="reinterpreted_batch_ndims"):
        n = D.Normal(tl.zeros(2, 3), tl.ones(2, 3))
        D.kl_divergence(D.Independent(n, 1), D.Independent(n, 2))


# --------------------------------------------------------------------------- validation

@pytest.mark.parametrize("make, match", [
    (lambda: D.Normal(0.0, tl.tensor([1.0, -1.0])), "Normal.*scale"),
    (lambda: D.Normal(tl.tensor([np.nan]), 1.0), "Normal.*loc"),
    (lambda: D.Exponential(0.0), "Exponential.*rate"),
    (lambda: D.Uniform(2.0, 1.0), "Uniform.*low < high"),
    (lambda: D.Bernoulli(probs=1.5), "Bernoulli.*probs"),
    (lambda: D.Bernoulli(probs=0.5, logits=0.0), "Bernoulli.*either"),
    (lambda: D.Bernoulli(), "Bernoulli.*either"),
    (lambda: D.Categorical(probs=tl.tensor([-0.5, 1.5])), "Categorical.*probs"),
    (lambda: D.Categorical(probs=tl.tensor(0.5)), "Categorical.*one-dimensional"),
    (lambda: D.Binomial(2.5, probs=0.3), "Binomial.*total_count"),
    (lambda: D.Geometric(probs=0.0), "Geometric.*probs"),
    (lambda: D.Gamma(-1.0, 1.0), "Gamma.*concentration"),
    (lambda: D.Beta(1.0, 0.0), "Beta.*concentration0"),
    (lambda: D.Dirichlet(tl.tensor([1.0, -2.0])), "Dirichlet.*concentration"),
    (lambda: D.MultivariateNormal(tl.zeros(2), covariance_matrix=tl.tensor([[1.0, 2.0], [2.0, 1.0]])),
     "MultivariateNormal.*covariance_matrix"),
    (lambda: D.MultivariateNormal(tl.zeros(2), scale_tril=tl.tensor([[1.0, 1.0], [0.0, 1.0]])),
     "MultivariateNormal.*scale_tril"),
    (lambda: D.MultivariateNormal(tl.zeros(2)), "MultivariateNormal.*exactly one"),
    (lambda: D.MultivariateNormal(tl.zeros(3), covariance_matrix=tl.eye(2)), "MultivariateNormal.*shape"),
    (lambda: D.Independent(D.Normal(tl.zeros(2), 1.0), 2), "Independent.*reinterpreted_batch_ndims"),
    (lambda: D.StudentT(-1.0), "StudentT.*df"),
    (lambda: D.Chi2(tl.tensor([1.0, -1.0])), "Chi2.*df"),
    (lambda: D.LogNormal(0.0, -1.0), "LogNormal.*scale"),
    (lambda: D.HalfNormal(0.0), "HalfNormal.*scale"),
    (lambda: D.Laplace(0.0, 0.0), "Laplace.*scale"),
    (lambda: D.Poisson(-1.0), "Poisson.*rate"),
    (lambda: D.Normal("a", 1.0), "Normal.*str"),
])
def test_invalid_parameters_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("make, value", [
    (lambda: D.Exponential(1.0), -1.0),
    (lambda: D.Bernoulli(probs=0.3), 0.5),
    (lambda: D.Poisson(2.0), 1.5),
    (lambda: D.Beta(2.0, 2.0), 1.5),
    (lambda: D.Categorical(logits=tl.zeros(3)), 3),
    (lambda: D.Uniform(0.0, 1.0), 2.0),
    (lambda: D.Dirichlet(tl.ones(3)), [0.5, 0.6, 0.1]),
    (lambda: D.Binomial(3, probs=0.5), 4.0),
    (lambda: D.OneHotCategorical(logits=tl.zeros(3)), [1.0, 1.0, 0.0]),
])
def test_value_outside_support_raises(make, value):
    d = make()
    name = type(d).__name__
    with pytest.raises(ValueError, match=f"{name}.log_prob.*support"):
        d.log_prob(tl.tensor(np.asarray(value)))
    if name != "Categorical":  # (an index out of range fails in the gather)
        d2 = type(d).__new__(type(d))
        d2.__dict__.update(d.__dict__)
        d2._validate_args = False
        d2.log_prob(tl.tensor(np.asarray(value, dtype=np.float64)))  # no check without validation


def test_value_shape_and_type_checks():
    d = D.Normal(tl.zeros(3), 1.0)
    with pytest.raises(ValueError, match="Normal.log_prob.*broadcastable"):
        d.log_prob(tl.zeros(4))
    with pytest.raises(ValueError, match="Normal.log_prob.*Tensor"):
        d.log_prob(0.5)
    m = D.MultivariateNormal(tl.zeros(3), covariance_matrix=tl.eye(3))
    with pytest.raises(ValueError, match="event_shape"):
        m.log_prob(tl.zeros(2))


def test_validate_args_false_and_default_switch():
    D.Normal(0.0, -1.0, validate_args=False)
    D.Distribution.set_default_validate_args(False)
    try:
        D.Normal(0.0, -1.0)
        assert np.isnan(D.Normal(0.0, 1.0).log_prob(tl.tensor(np.nan)).item())
    finally:
        D.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        D.Normal(0.0, -1.0)


@pytest.mark.parametrize("case", sorted(CASES))
def test_float32_parameters_give_float32(case):
    cls, params, fixed = CASES[case]
    tp = {k: tl.tensor(v.astype(np.float32), requires_grad=True) for k, v in params.items()}
    tp_all = dict(tp, **{k: tl.tensor(v.astype(np.float32)) for k, v in fixed.items()})
    d = D.Independent(D.Normal(**tp_all), 1) if cls == "Independent" else getattr(D, cls)(**tp_all)
    s = d.sample((3,))
    assert s.dtype == (np.int64 if cls == "Categorical" else np.float32)
    lp = d.log_prob(s)
    outs = [lp, d.mean] + ([d.rsample((2,))] if d.has_rsample else [])
    if case not in ("Poisson", "Binomial_l"):  # (no entropy: torch's Poisson; an inhomogeneous total_count)
        outs.append(d.entropy())
    assert all(o.dtype == np.float32 for o in outs)
    lp.sum().backward()
    assert all(p.grad.dtype == np.float32 for p in tp.values() if p.grad is not None)


def test_float32_stays_float32():
    loc = tl.tensor(np.zeros(2, dtype=np.float32), requires_grad=True)
    d = D.Normal(loc, 1.0)
    assert d.scale.dtype == np.float32 and d.rsample((3,)).dtype == np.float32
    lp = d.log_prob(tl.tensor(np.ones(2, dtype=np.float32)))
    assert lp.dtype == np.float32
    lp.sum().backward()
    assert loc.grad.dtype == np.float32


def test_user_subclass():
    """A Distribution written by a user: the base class supplies shapes, validation and stddev."""

    class Coin(D.Distribution):
        arg_constraints = {"p": D.constraints.unit_interval}
        support = D.constraints.boolean

        def __init__(self, p, validate_args=None):
            self.p = tl.tensor(np.asarray(p, dtype=float))
            super().__init__(self.p.shape, validate_args=validate_args)

        def log_prob(self, value):
            value = self._validate_sample(value)
            return value * self.p.log() + (1 - value) * (1 - self.p).log()

        @property
        def variance(self):
            return self.p * (1 - self.p)

    c = Coin([0.2, 0.5])
    assert c.batch_shape == (2,) and c.event_shape == ()
    close(c.stddev, np.sqrt([0.16, 0.25]))
    with pytest.raises(ValueError, match="Coin.*p"):
        Coin([1.5])
    with pytest.raises(ValueError, match="Coin.log_prob.*support"):
        c.log_prob(tl.tensor([0.5, 1.0]))
    with pytest.raises(NotImplementedError, match="Coin.sample"):
        c.sample()
    with pytest.raises(NotImplementedError, match="Coin.expand"):
        c.expand((3, 2))
    with pytest.raises(NotImplementedError, match="Coin.entropy"):
        c.entropy()


def test_namespace():
    assert "distributions" in tl.__all__ and tl.distributions is D
    for n in D.__all__:
        assert hasattr(D, n)
    assert repr(D.Normal(0.0, tl.ones(2))) == "Normal(loc: (2,), scale: (2,))"


@pytest.mark.parametrize("kind", ["Normal", "Bernoulli", "Categorical", "MultivariateNormal"])
def test_per_sample_gradients_through_log_prob(kind):
    """A batched input through a Linear into a likelihood: one backward gives each sample's own gradient."""
    rng = np.random.default_rng(4)
    X, Y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    y = {"Bernoulli": (Y > 0).astype(float), "Categorical": np.array([0, 1, 1, 0, 1])}.get(kind, Y)
    L = tl.tensor(_tril(2))
    make = {"Normal": lambda o: D.Independent(D.Normal(o, 1.5), 1), "Bernoulli": lambda o: D.Bernoulli(logits=o),
            "Categorical": lambda o: D.Categorical(logits=o),
            "MultivariateNormal": lambda o: D.MultivariateNormal(o, scale_tril=L)}[kind]
    lin = tl.nn.Linear(3, 2, rng=0)
    lp = make(lin(tl.Tensor(X, batched=True))).log_prob(tl.tensor(y))
    (-(lp.sum(-1) if kind == "Bernoulli" else lp).mean()).backward()
    got = lin.weight.grad_sample.copy()
    for b in range(5):
        lin.zero_grad()
        lp = make(lin(tl.tensor(X[b:b + 1]))).log_prob(tl.tensor(y[b:b + 1]))
        (-lp.sum()).backward()
        np.testing.assert_allclose(got[b], lin.weight.grad, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("case", ["MVN_cov", "MVN_tril", "MVN_prec"])
def test_mvn_matrices(case):
    d, pd, tp, pp = build(case)
    for name in ("scale_tril", "covariance_matrix", "precision_matrix"):
        close(getattr(d, name), getattr(pd, name), tol=1e-9)
    w = R.normal(size=tuple(pd.precision_matrix.shape))
    (d.precision_matrix * tl.tensor(w)).sum().backward()
    (pd.precision_matrix * torch.tensor(w)).sum().backward()
    for k in tp:
        if pp[k].grad is None:
            assert tp[k].grad is None or not np.any(tp[k].grad), k
            continue
        got, want = tp[k].grad, pp[k].grad.numpy()
        if k == "scale_tril":  # only the lower triangle is read (torch's cholesky_inverse also sends the
            got, want = np.tril(got), np.tril(want)  # upper one a gradient that nothing depends on)
        np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10, err_msg=k)


def test_log_prob_second_derivatives():
    """log_prob is built from Tensor ops, so it differentiates twice: d2/dloc2 of a Normal's log_prob is
    -1/scale^2, and of a Gamma's w.r.t. its concentration -polygamma(1, a)."""
    loc, scale = tl.tensor([0.3, -1.0], requires_grad=True), tl.tensor([0.5, 2.0])
    (g,) = tl.autograd.grad(D.Normal(loc, scale).log_prob(tl.tensor([1.0, 1.0])).sum(), [loc], create_graph=True)
    (h,) = tl.autograd.grad(g.sum(), [loc])
    np.testing.assert_allclose(h.data if isinstance(h, tl.Tensor) else h, -1 / scale.data ** 2, rtol=1e-14)
    a = tl.tensor([0.7, 3.0], requires_grad=True)
    (g,) = tl.autograd.grad(D.Gamma(a, 1.0).log_prob(tl.tensor([0.5, 2.0])).sum(), [a], create_graph=True)
    (h,) = tl.autograd.grad(g.sum(), [a])
    mpmath = pytest.importorskip("mpmath")  # (torch's polygamma is off by ~4e-10 here)
    want = [-float(mpmath.psi(1, float(v))) for v in a.data]
    np.testing.assert_allclose(h.data if isinstance(h, tl.Tensor) else h, want, rtol=1e-10)


def test_vae_style_training_step():
    """An ELBO's gradient: reparameterised Normal, KL to the prior, Bernoulli likelihood; compared with torch."""
    mu0, ls0 = R.normal(size=(4, 2)), R.normal(size=(4, 2)) * 0.1
    W0 = R.normal(size=(2, 3))
    target = (R.uniform(size=(4, 3)) > 0.5).astype(float)
    tl.manual_seed(1)
    eps = np.random.default_rng(1).standard_normal((4, 2))
    out = []
    for lib in (tl, torch):
        mu, ls, W = (lib.tensor(a.copy(), requires_grad=True) for a in (mu0, ls0, W0))
        Dm = D if lib is tl else td
        q = Dm.Normal(mu, ls.exp())
        z = q.rsample() if lib is tl else mu + ls.exp() * torch.tensor(eps)
        prior = Dm.Normal(lib.zeros(4, 2, dtype=lib.float64), lib.ones(4, 2, dtype=lib.float64))
        like = Dm.Bernoulli(logits=z @ W)
        elbo = like.log_prob(lib.tensor(target)).sum() - Dm.kl_divergence(q, prior).sum()
        (-elbo).backward()
        out.append([elbo.item(), mu.grad, ls.grad, W.grad])
    assert out[0][0] == pytest.approx(out[1][0], rel=1e-12)
    for a, b in zip(out[0][1:], out[1][1:]):
        np.testing.assert_allclose(a, b.numpy(), rtol=1e-10)
