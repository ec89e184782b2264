"""tl.distributions transforms, TransformedDistribution and the distributions built on it,
MixtureSameFamily, LowRankMultivariateNormal and VonMises against torch.distributions (float64):
values, inverses, log-Jacobians, log_prob / cdf / icdf / moments / entropy and their gradients,
rsample gradients (same noise, compared through the reparameterisation formula), shapes,
sample statistics and errors."""

import math

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")
td = torch.distributions
tt = torch.distributions.transforms
D = tl.distributions

R = np.random.default_rng(20261128)


def close(a, b, tol=1e-10):
    a = np.asarray(a.data if isinstance(a, tl.Tensor) else a, dtype=np.float64)
    b = b.detach().numpy() if isinstance(b, torch.Tensor) else np.asarray(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol, equal_nan=True)


def pair(a):
    """The same array as a tl and a torch leaf with gradients."""
    return tl.tensor(np.array(a, dtype=np.float64), requires_grad=True), torch.tensor(np.array(a, dtype=np.float64),
                                                                                       requires_grad=True)


def check_grads(pairs, tl_out, torch_out, tol=1e-9):
    w = R.normal(size=tuple(torch_out.shape))
    (tl_out * tl.tensor(w)).sum().backward()
    (torch_out * torch.tensor(w)).sum().backward()
    for a, b in pairs:
        if b.grad is None:  # the output does not depend on this parameter
            assert a.grad is None or not np.any(a.grad)
            continue
        np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=tol, atol=tol)


def _t(a):
    return tl.tensor(np.array(a, dtype=np.float64))


def _p(a):
    return torch.tensor(np.array(a, dtype=np.float64))


# ----------------------------------------------------------------------------------------- transforms

SIMPLE = {
    "Exp": (lambda: D.ExpTransform(), lambda: tt.ExpTransform(), (3, 4)),
    "Sigmoid": (lambda: D.SigmoidTransform(), lambda: tt.SigmoidTransform(), (3, 4)),
    "Tanh": (lambda: D.TanhTransform(), lambda: tt.TanhTransform(), (3, 4)),
    "StickBreaking": (lambda: D.StickBreakingTransform(), lambda: tt.StickBreakingTransform(), (3, 4)),
    "Power": (lambda: D.PowerTransform(_t([0.5, 2.0, -1.5, 3.0])),
              lambda: tt.PowerTransform(_p([0.5, 2.0, -1.5, 3.0])), (3, 4)),
    "Affine": (lambda: D.AffineTransform(_t([1.0, -2.0, 0.5, 0.0]), _t([2.0, -0.5, 3.0, 1.5])),
               lambda: tt.AffineTransform(_p([1.0, -2.0, 0.5, 0.0]), _p([2.0, -0.5, 3.0, 1.5])), (3, 4)),
    "Affine_ev1": (lambda: D.AffineTransform(0.5, _t([2.0, -0.5, 3.0, 1.5]), event_dim=1),
                   lambda: tt.AffineTransform(0.5, _p([2.0, -0.5, 3.0, 1.5]), event_dim=1), (3, 4)),
    "Affine_num": (lambda: D.AffineTransform(1.0, -3.0), lambda: tt.AffineTransform(1.0, -3.0), (3, 4)),
    "Compose": (lambda: D.ComposeTransform([D.AffineTransform(0.3, 2.0), D.SigmoidTransform(),
                                            D.AffineTransform(-1.0, 4.0)]),
                lambda: tt.ComposeTransform([tt.AffineTransform(0.3, 2.0), tt.SigmoidTransform(),
                                             tt.AffineTransform(-1.0, 4.0)]), (3, 4)),
    "Compose_sb": (lambda: D.ComposeTransform([D.AffineTransform(0.0, 2.0), D.StickBreakingTransform()]),
                   lambda: tt.ComposeTransform([tt.AffineTransform(0.0, 2.0), tt.StickBreakingTransform()]), (2, 3)),
}


@pytest.mark.parametrize("name", sorted(SIMPLE))
def test_transform_call_inverse_and_log_abs_det_jacobian(name):
    mk, pmk, shape = SIMPLE[name]
    t, pt = mk(), pmk()
    x0 = R.normal(size=shape)
    if name == "Power":
        x0 = np.abs(x0) + 0.2
    x, px = pair(x0)
    y, py = t(x), pt(px)
    close(y, py)
    close(t.inv(_t(py.detach().numpy())), pt.inv(py.detach()))
    close(t.inv(y).data, x0, tol=1e-9)
    ladj, pladj = t.log_abs_det_jacobian(x, y), pt.log_abs_det_jacobian(px, py)
    close(ladj, pladj)
    n = y.ndim - ladj.ndim  # y summed over the event, so that x always gets a gradient
    dims = tuple(range(-n, 0))
    check_grads([(x, px)], ladj + (y.sum(dims) if n else y), pladj + (py.sum(dims) if n else py))
    assert t.event_dim == pt.event_dim
    assert t.domain.event_dim == pt.domain.event_dim and t.codomain.event_dim == pt.codomain.event_dim
    assert t.bijective == pt.bijective
    assert t.forward_shape(shape) == tuple(pt.forward_shape(shape))
    assert t.inverse_shape(t.forward_shape(shape)) == shape
    # the inverse transform's log-Jacobian is the negated forward one
    close(t.inv.log_abs_det_jacobian(y, x), -pladj)


def test_transform_signs_and_inverse_of_inverse():
    assert D.ExpTransform().sign == 1 and D.SigmoidTransform().sign == 1 and D.TanhTransform().sign == 1
    assert D.AffineTransform(0.0, -2.0).sign == -1 and D.AffineTransform(0.0, 2.0).inv.sign == 1
    close(D.AffineTransform(0.0, _t([-2.0, 3.0])).sign, np.array([-1.0, 1.0]))
    assert D.PowerTransform(-2.0).sign == -1
    assert D.ComposeTransform([D.ExpTransform(), D.AffineTransform(0.0, -1.0)]).sign == -1
    e = D.ExpTransform()
    assert e.inv.inv is e and e.inv == D.ExpTransform().inv and e == D.ExpTransform()
    c = D.ComposeTransform([D.ExpTransform(), D.AffineTransform(1.0, 2.0)])
    assert c.inv.inv is c
    x = _t(R.normal(size=5))
    close(c.inv(c(x)).data, x.data, tol=1e-12)
    with pytest.raises(NotImplementedError, match="sign"):
        _ = D.SoftmaxTransform().sign


def test_softmax_abs_lowercholesky_identity():
    x0 = R.normal(size=(2, 4))
    close(D.SoftmaxTransform()(_t(x0)), tt.SoftmaxTransform()(_p(x0)))
    assert not D.SoftmaxTransform().bijective and not D.AbsTransform().bijective
    close(D.AbsTransform()(_t(x0)), tt.AbsTransform()(_p(x0)))
    close(D.AbsTransform().inv(_t(np.abs(x0))), np.abs(x0))
    m0 = R.normal(size=(2, 3, 3))
    close(D.LowerCholeskyTransform()(_t(m0)), tt.LowerCholeskyTransform()(_p(m0)))
    y = D.LowerCholeskyTransform()(_t(m0))
    assert D.constraints.lower_cholesky.check(y).all()
    close(D.LowerCholeskyTransform().inv(y), tt.LowerCholeskyTransform().inv(_p(y.data)))
    x = _t(x0)
    assert D.identity_transform(x) is x
    close(D.identity_transform.log_abs_det_jacobian(x, x), np.zeros((2, 4)))
    assert D.identity_transform.bijective and D.identity_transform.event_dim == 0


def test_tanh_and_stick_breaking_gradients_through_forward():
    x, px = pair(R.normal(size=(2, 3)))
    check_grads([(x, px)], D.StickBreakingTransform()(x), tt.StickBreakingTransform()(px))
    x, px = pair(R.normal(size=(2, 3)))
    check_grads([(x, px)], D.TanhTransform()(x), tt.TanhTransform()(px))


def test_affine_parameter_gradients():
    loc, ploc = pair(R.normal(size=3))
    scale, pscale = pair(R.uniform(0.5, 2, size=3) * np.array([1, -1, 1]))
    x0 = R.normal(size=(4, 3))
    t, pt = D.AffineTransform(loc, scale, event_dim=1), tt.AffineTransform(ploc, pscale, event_dim=1)
    y, py = t(_t(x0)), pt(_p(x0))
    out = t.log_abs_det_jacobian(_t(x0), y) + y.sum(-1)
    pout = pt.log_abs_det_jacobian(_p(x0), py) + py.sum(-1)
    close(out, pout)
    check_grads([(loc, ploc), (scale, pscale)], out, pout)


CONSTRAINTS = {
    "real": (lambda C: C.real, (3,)),
    "positive": (lambda C: C.positive, (3,)),
    "nonnegative": (lambda C: C.nonnegative, (3,)),
    "greater_than": (lambda C: C.greater_than(2.0), (3,)),
    "interval": (lambda C: C.interval(-1.0, 3.0), (3,)),
    "unit_interval": (lambda C: C.unit_interval, (3,)),
    "simplex": (lambda C: C.simplex, (2, 3)),
    "real_vector": (lambda C: C.real_vector, (2, 3)),
    "independent_positive": (lambda C: C.independent(C.positive, 1), (2, 3)),
}


@pytest.mark.parametrize("name", sorted(CONSTRAINTS))
@pytest.mark.parametrize("which", ["biject_to", "transform_to"])
def test_biject_to_and_transform_to_match_torch(name, which):
    mk, shape = CONSTRAINTS[name]
    c, pc = mk(D.constraints), mk(td.constraints)
    t, pt = getattr(D, which)(c), getattr(td, which)(pc)
    x0 = R.normal(size=shape)
    y, py = t(_t(x0)), pt(_p(x0))
    close(y, py)
    assert np.all(c.check(y))
    assert t.bijective == pt.bijective
    assert t.codomain.event_dim == pt.codomain.event_dim
    if t.bijective:
        close(t.inv(y).data, x0, tol=1e-9)
        close(t.log_abs_det_jacobian(_t(x0), y), pt.log_abs_det_jacobian(_p(x0), py))


def test_registry_errors_and_register():
    with pytest.raises(NotImplementedError, match="biject_to.*Boolean"):
        D.biject_to(D.constraints.boolean)
    with pytest.raises(TypeError, match="register"):
        D.biject_to.register(3, lambda c: D.ExpTransform())
    reg = D.transforms.ConstraintRegistry("mine")

    @reg.register(D.constraints.boolean)
    def _f(c):
        return D.SigmoidTransform()

    assert isinstance(reg(D.constraints.boolean), D.SigmoidTransform)


def test_transform_errors():
    with pytest.raises(TypeError, match="ComposeTransform.*Transform"):
        D.ComposeTransform([D.ExpTransform(), 3])
    with pytest.raises(TypeError, match=r"ExpTransform.__call__.*list"):
        D.ExpTransform()([1.0])
    with pytest.raises(ValueError, match="AffineTransform: event_dim.*-1"):
        D.AffineTransform(0.0, 1.0, event_dim=-1)
    with pytest.raises(TypeError, match="AffineTransform: scale.*str"):
        D.AffineTransform(0.0, "a")
    with pytest.raises(TypeError, match="PowerTransform: exponent"):
        D.PowerTransform(None)
    with pytest.raises(NotImplementedError, match="SoftmaxTransform.log_abs_det_jacobian"):
        D.SoftmaxTransform().log_abs_det_jacobian(_t([1.0, 2.0]), _t([0.3, 0.7]))


# ----------------------------------------------------------------------- TransformedDistribution

def _lognormal_pair():
    loc, ploc = pair(R.normal(size=(2, 3)) * 0.5)
    scale, pscale = pair(R.uniform(0.4, 1.5, size=3))
    a = D.TransformedDistribution(D.Normal(loc, scale), [D.AffineTransform(0.5, -2.0), D.ExpTransform()])
    b = td.TransformedDistribution(td.Normal(ploc, pscale), [tt.AffineTransform(0.5, -2.0), tt.ExpTransform()])
    return a, b, [(loc, ploc), (scale, pscale)]


def test_transformed_log_prob_cdf_icdf_and_gradients():
    a, b, pairs = _lognormal_pair()
    assert a.batch_shape == tuple(b.batch_shape) == (2, 3) and a.event_shape == ()
    assert a.has_rsample and a.support.check(_t([1.0])).all()
    v = R.uniform(0.1, 4.0, size=(5, 2, 3))
    lp, plp = a.log_prob(_t(v)), b.log_prob(_p(v))
    close(lp, plp)
    check_grads(pairs, lp, plp)
    a, b, pairs = _lognormal_pair()
    c, pc = a.cdf(_t(v)), b.cdf(_p(v))  # decreasing transform: 1 - F_base
    close(c, pc)
    check_grads(pairs, c, pc)
    q = R.uniform(0.05, 0.95, size=(2, 3))
    close(a.icdf(_t(q)), b.icdf(_p(q)))
    close(a.cdf(a.icdf(_t(q))), q, tol=1e-12)


def test_transformed_matches_lognormal():
    loc, scale = R.normal(size=3), R.uniform(0.5, 1.5, size=3)
    a = D.TransformedDistribution(D.Normal(_t(loc), _t(scale)), D.ExpTransform())
    v = _t(R.uniform(0.2, 3, size=(4, 3)))
    close(a.log_prob(v), D.LogNormal(_t(loc), _t(scale)).log_prob(v).data, tol=1e-12)


def test_transformed_rsample_same_noise_and_gradients():
    a, b, ((loc, ploc), (scale, pscale)) = _lognormal_pair()
    tl.manual_seed(3)
    eps = a.base_dist.rsample((4,)).data  # loc + scale * e
    e = (eps - loc.data) / scale.data
    tl.manual_seed(3)
    y = a.rsample((4,))
    assert y.shape == (4, 2, 3) and np.all(y.data > 0)
    py = torch.exp(0.5 - 2.0 * (ploc + pscale * _p(e)))
    close(y, py, tol=1e-12)
    check_grads([(loc, ploc), (scale, pscale)], y, py)
    s = a.sample((3,))
    assert s.shape == (3, 2, 3) and not s.requires_grad


def test_transformed_stick_breaking_event_shapes_and_log_prob():
    loc, ploc = pair(R.normal(size=(2, 3)))
    scale, pscale = pair(R.uniform(0.5, 1.5, size=(2, 3)))
    a = D.TransformedDistribution(D.Normal(loc, scale), D.StickBreakingTransform())
    b = td.TransformedDistribution(td.Normal(ploc, pscale), tt.StickBreakingTransform())
    assert a.batch_shape == tuple(b.batch_shape) == (2,) and a.event_shape == tuple(b.event_shape) == (4,)
    v = b.sample((5,)).detach().numpy()
    lp, plp = a.log_prob(_t(v)), b.log_prob(_p(v))
    close(lp, plp)
    check_grads([(loc, ploc), (scale, pscale)], lp, plp)
    s = a.sample((7,))
    assert s.shape == (7, 2, 4) and D.constraints.simplex.check(s).all()
    e = a.expand((3, 2))
    assert e.batch_shape == (3, 2) and e.sample().shape == (3, 2, 4)


def test_transformed_errors():
    with pytest.raises(ValueError, match="TransformedDistribution: transforms"):
        D.TransformedDistribution(D.Normal(0.0, 1.0), [D.ExpTransform(), "exp"])
    with pytest.raises(TypeError, match="TransformedDistribution: base_distribution"):
        D.TransformedDistribution("normal", D.ExpTransform())
    with pytest.raises(ValueError, match="at least 1 dimensions"):
        D.TransformedDistribution(D.Normal(0.0, 1.0), D.StickBreakingTransform())
    a = D.TransformedDistribution(D.Normal(_t([0.0]), _t([1.0])), D.ExpTransform())
    with pytest.raises(ValueError, match="support"):
        a.log_prob(_t([-1.0]))


# -------------------------------------------------------------------- Weibull, Pareto, Kumaraswamy

FAMILY = {
    "Weibull": (("scale", "concentration"), lambda p: R.uniform(0.1, 3, size=(4, 3))),
    "Pareto": (("scale", "alpha"), None),
    "Kumaraswamy": (("concentration1", "concentration0"), lambda p: R.uniform(0.05, 0.95, size=(4, 3))),
}


def _family(name):
    names, _ = FAMILY[name]
    # Pareto's alpha above 2 keeps its mean and variance finite (test_pareto_infinite_moments has the rest)
    arrays = [R.uniform(0.6, 2.5, size=3), R.uniform(2.2 if name == "Pareto" else 0.6, 3.5, size=3)]
    pairs = [pair(a) for a in arrays]
    a = getattr(D, name)(**{n: p[0] for n, p in zip(names, pairs)})
    b = getattr(td, name)(**{n: p[1] for n, p in zip(names, pairs)})
    return a, b, pairs, arrays


@pytest.mark.parametrize("name", sorted(FAMILY))
def test_family_log_prob_and_gradients(name):
    a, b, pairs, arrays = _family(name)
    assert a.batch_shape == tuple(b.batch_shape) and a.event_shape == ()
    v = FAMILY[name][1](arrays) if FAMILY[name][1] else arrays[0] + R.uniform(0.01, 3, size=(4, 3))
    lp, plp = a.log_prob(_t(v)), b.log_prob(_p(v))
    close(lp, plp)
    check_grads(pairs, lp, plp)


@pytest.mark.parametrize("name", sorted(FAMILY))
@pytest.mark.parametrize("what", ["mean", "variance", "entropy", "cdf", "icdf"])
def test_family_moments_entropy_cdf(name, what):
    a, b, pairs, arrays = _family(name)
    if what in ("mean", "variance"):
        out, pout = getattr(a, what), getattr(b, what)
    elif what == "entropy":
        out, pout = a.entropy(), b.entropy()
    elif what == "cdf":
        v = a.icdf(_t(R.uniform(0.05, 0.95, size=(2, 3)))).data
        out, pout = a.cdf(_t(v)), b.cdf(_p(v))
    else:
        q = R.uniform(0.05, 0.95, size=(2, 3))
        out, pout = a.icdf(_t(q)), b.icdf(_p(q))
    close(out, pout)
    check_grads(pairs, out, pout)


def test_pareto_infinite_moments():
    a = D.Pareto(_t([1.0, 2.0, 1.0]), _t([0.8, 1.5, 3.0]))
    close(a.mean, td.Pareto(_p([1.0, 2.0, 1.0]), _p([0.8, 1.5, 3.0])).mean)
    close(a.variance, td.Pareto(_p([1.0, 2.0, 1.0]), _p([0.8, 1.5, 3.0])).variance)
    assert a.support.check(_t([1.0, 2.0, 1.0])).all() and not a.support.check(_t([0.5, 2.0, 1.0])).all()


@pytest.mark.parametrize("name", sorted(FAMILY))
def test_family_rsample_gradients_same_noise(name):
    a, b, pairs, _ = _family(name)
    tl.manual_seed(11)
    y = a.rsample((5,))
    assert y.shape == (5, 3) and np.all(a.support.check(y))
    (p1, q1), (p2, q2) = pairs
    yd = y.data
    if name == "Weibull":  # y = scale * E^(1/k), E ~ Exp(1)
        E = (yd / p1.data) ** p2.data
        py = q1 * _p(E) ** (1 / q2)
    elif name == "Pareto":  # y = scale * exp(E / alpha)
        E = np.log(yd / p1.data) * p2.data
        py = q1 * torch.exp(_p(E) / q2)
    else:  # y = (1 - U^(1/b))^(1/a)
        U = (1 - yd ** p1.data) ** p2.data
        py = (1 - _p(U) ** (1 / q2)) ** (1 / q1)
    close(y, py, tol=1e-9)
    check_grads(pairs, y, py, tol=1e-7)


@pytest.mark.parametrize("name", sorted(FAMILY))
def test_family_sample_statistics(name):
    a, _, _, _ = _family(name)
    if name == "Pareto":
        a = D.Pareto(_t([1.0, 2.0]), _t([5.0, 6.0]))
    tl.manual_seed(5)
    s = a.sample((40000,)).data
    se = np.sqrt(a.variance.data / s.shape[0])
    assert np.all(np.abs(s.mean(0) - a.mean.data) < 5 * se)


def test_family_errors():
    with pytest.raises(ValueError, match="Weibull.*scale"):
        D.Weibull(_t([-1.0]), _t([1.0]))
    with pytest.raises(ValueError, match="Pareto.*alpha"):
        D.Pareto(_t([1.0]), _t([0.0]))
    with pytest.raises(ValueError, match="Kumaraswamy: shapes"):
        D.Kumaraswamy(_t([1.0, 2.0]), _t([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="Weibull.log_prob.*support"):
        D.Weibull(_t([1.0]), _t([1.0])).log_prob(_t([-2.0]))


# ------------------------------------------------------------------------------------------- relaxed

@pytest.mark.parametrize("given", ["probs", "logits"])
def test_relaxed_bernoulli(given):
    arr = R.uniform(0.1, 0.9, size=(2, 3)) if given == "probs" else R.normal(size=(2, 3))
    p, pp = pair(arr)
    temp, ptemp = pair(0.6)
    a, b = D.RelaxedBernoulli(temp, **{given: p}), td.RelaxedBernoulli(ptemp, **{given: pp})
    assert a.batch_shape == (2, 3) and a.event_shape == () and a.has_rsample
    close(a.probs, b.probs)
    close(a.logits, b.logits)
    v = R.uniform(0.02, 0.98, size=(4, 2, 3))
    lp, plp = a.log_prob(_t(v)), b.log_prob(_p(v))
    close(lp, plp)
    check_grads([(p, pp), (temp, ptemp)], lp, plp)


def test_relaxed_bernoulli_rsample_same_noise():
    p, pp = pair(R.normal(size=3))
    temp, ptemp = pair(0.4)
    a = D.RelaxedBernoulli(temp, logits=p)
    tl.manual_seed(2)
    y = a.rsample((6,))
    assert y.shape == (6, 3) and np.all((y.data > 0) & (y.data < 1))
    L = np.log(y.data) - np.log1p(-y.data)
    noise = L * 0.4 - p.data  # logit(U)
    py = torch.sigmoid((_p(noise) + pp) / ptemp)
    close(y, py, tol=1e-9)
    check_grads([(p, pp), (temp, ptemp)], y, py, tol=1e-7)
    tl.manual_seed(4)
    s = D.RelaxedBernoulli(_t(0.05), probs=_t([0.2, 0.7])).sample((20000,)).data
    np.testing.assert_allclose((s > 0.5).mean(0), [0.2, 0.7], atol=0.02)


@pytest.mark.parametrize("given", ["probs", "logits"])
def test_relaxed_one_hot_categorical(given):
    arr = R.uniform(0.2, 2, size=(2, 4)) if given == "probs" else R.normal(size=(2, 4))
    p, pp = pair(arr)
    temp, ptemp = pair(0.8)
    a = D.RelaxedOneHotCategorical(temp, **{given: p})
    b = td.RelaxedOneHotCategorical(ptemp, **{given: pp})
    assert a.batch_shape == (2,) and a.event_shape == (4,)
    v = b.sample((3,)).detach().numpy()
    lp, plp = a.log_prob(_t(v)), b.log_prob(_p(v))
    close(lp, plp)
    check_grads([(p, pp), (temp, ptemp)], lp, plp)


def test_relaxed_one_hot_rsample_same_noise_and_statistics():
    p, pp = pair(R.normal(size=(2, 3)))
    temp, ptemp = pair(0.5)
    a = D.RelaxedOneHotCategorical(temp, logits=p)
    tl.manual_seed(8)
    y = a.rsample((5,))
    assert y.shape == (5, 2, 3) and D.constraints.simplex.check(y).all()
    # y = softmax((logits + g) / t): g is recovered up to a per-event constant, which softmax ignores
    g = np.log(y.data) * 0.5 - a.logits.data
    py = torch.softmax((_p(g) + pp) / ptemp, -1)
    close(y, py, tol=1e-9)
    check_grads([(p, pp), (temp, ptemp)], y, py, tol=1e-7)
    tl.manual_seed(9)
    probs = np.array([0.2, 0.5, 0.3])
    s = D.RelaxedOneHotCategorical(_t(0.05), probs=_t(probs)).sample((20000,)).data
    np.testing.assert_allclose(np.bincount(s.argmax(-1), minlength=3) / 20000, probs, atol=0.02)


def test_relaxed_errors():
    with pytest.raises(ValueError, match="either `probs` or `logits`"):
        D.RelaxedBernoulli(_t(0.5), probs=_t([0.5]), logits=_t([0.0]))
    with pytest.raises(ValueError, match="temperature must be positive"):
        D.RelaxedOneHotCategorical(_t(-0.5), probs=_t([0.5, 0.5]))
    with pytest.raises(ValueError, match="RelaxedBernoulli.*probs"):
        D.RelaxedBernoulli(_t(0.5), probs=_t([1.5]))


# ------------------------------------------------------------------------------ MixtureSameFamily

def _mixture():
    lm, plm = pair(R.normal(size=(2, 3)))
    mu, pmu = pair(R.normal(size=(2, 3)))
    sc, psc = pair(R.uniform(0.5, 2, size=(2, 3)))
    a = D.MixtureSameFamily(D.Categorical(logits=lm), D.Normal(mu, sc))
    b = td.MixtureSameFamily(td.Categorical(logits=plm), td.Normal(pmu, psc))
    return a, b, [(lm, plm), (mu, pmu), (sc, psc)]


@pytest.mark.parametrize("what", ["log_prob", "cdf", "mean", "variance"])
def test_mixture_values_and_gradients(what):
    a, b, pairs = _mixture()
    assert a.batch_shape == (2,) and a.event_shape == () and not a.has_rsample
    v = R.normal(size=(4, 2)) * 2
    if what in ("log_prob", "cdf"):
        out, pout = getattr(a, what)(_t(v)), getattr(b, what)(_p(v))
    else:
        out, pout = getattr(a, what), getattr(b, what)
    close(out, pout)
    check_grads(pairs, out, pout)


def test_mixture_of_multivariate_normals():
    lm, plm = pair(R.normal(size=3))
    mu, pmu = pair(R.normal(size=(3, 2)))
    sc, psc = pair(R.uniform(0.5, 1.5, size=(3, 2)))
    a = D.MixtureSameFamily(D.Categorical(logits=lm), D.Independent(D.Normal(mu, sc), 1))
    b = td.MixtureSameFamily(td.Categorical(logits=plm), td.Independent(td.Normal(pmu, psc), 1))
    assert a.batch_shape == () and a.event_shape == (2,)
    v = R.normal(size=(5, 2))
    lp, plp = a.log_prob(_t(v)), b.log_prob(_p(v))
    close(lp, plp)
    close(a.mean, b.mean)
    close(a.variance, b.variance)
    check_grads([(lm, plm), (mu, pmu), (sc, psc)], lp, plp)
    tl.manual_seed(1)
    s = a.sample((30000,))
    assert s.shape == (30000, 2)
    se = np.sqrt(a.variance.data / 30000)
    assert np.all(np.abs(s.data.mean(0) - a.mean.data) < 5 * se)


def test_mixture_sample_shapes_and_statistics():
    a, _, _ = _mixture()
    tl.manual_seed(6)
    s = a.sample((40000,))
    assert s.shape == (40000, 2) and not s.requires_grad
    se = np.sqrt(a.variance.data / 40000)
    assert np.all(np.abs(s.data.mean(0) - a.mean.data) < 5 * se)
    assert np.all(np.abs(s.data.var(0) - a.variance.data) < 0.1 * a.variance.data)
    e = a.expand((3, 2))
    assert e.batch_shape == (3, 2) and e.sample((4,)).shape == (4, 3, 2)


def test_mixture_errors():
    n = D.Normal(_t(np.zeros((2, 3))), _t(np.ones((2, 3))))
    with pytest.raises(ValueError, match="MixtureSameFamily: the mixture distribution must be a Categorical"):
        D.MixtureSameFamily(D.Normal(0.0, 1.0), n)
    with pytest.raises(ValueError, match="MixtureSameFamily: the mixture has 4 components"):
        D.MixtureSameFamily(D.Categorical(logits=_t(np.zeros(4))), n)
    with pytest.raises(ValueError, match="not compatible"):
        D.MixtureSameFamily(D.Categorical(logits=_t(np.zeros((5, 3)))), n)
    with pytest.raises(ValueError, match="component distribution must be a Distribution"):
        D.MixtureSameFamily(D.Categorical(logits=_t(np.zeros(3))), "n")


# -------------------------------------------------------------------- LowRankMultivariateNormal

def _lowrank():
    loc, ploc = pair(R.normal(size=(2, 3)))
    W, pW = pair(R.normal(size=(3, 2)))
    d, pd_ = pair(R.uniform(0.5, 2, size=3))
    a = D.LowRankMultivariateNormal(loc, W, d)
    b = td.LowRankMultivariateNormal(ploc, pW, pd_)
    return a, b, [(loc, ploc), (W, pW), (d, pd_)]


@pytest.mark.parametrize("what", ["log_prob", "entropy", "variance", "covariance_matrix", "scale_tril"])
def test_lowrank_values_and_gradients(what):
    a, b, pairs = _lowrank()
    assert a.batch_shape == (2,) and a.event_shape == (3,)
    if what == "log_prob":
        v = R.normal(size=(4, 2, 3))
        out, pout = a.log_prob(_t(v)), b.log_prob(_p(v))
    elif what == "entropy":
        out, pout = a.entropy(), b.entropy()
    else:
        out, pout = getattr(a, what), getattr(b, what)
    close(out, pout)
    check_grads(pairs, out, pout)


def test_lowrank_rsample_same_noise_and_statistics():
    a, b, pairs = _lowrank()
    tl.manual_seed(12)
    y = a.rsample((5,))
    tl.manual_seed(12)
    g = tl.random.default_generator()
    ew, ed = g.standard_normal((5, 2, 2)), g.standard_normal((5, 2, 3))
    (_, ploc), (_, pW), (_, pd_) = pairs
    py = ploc + (pW @ _p(ew).unsqueeze(-1)).squeeze(-1) + pd_.sqrt() * _p(ed)
    close(y, py, tol=1e-12)
    check_grads(pairs, y, py)
    tl.manual_seed(13)
    s = a.sample((40000,)).data
    cov, want = np.cov(s[:, 0].T), a.covariance_matrix.data[0]
    sd = np.sqrt(np.diag(want))
    se = np.sqrt((np.outer(sd, sd) ** 2 + want ** 2) / s.shape[0])  # Gaussian standard error of a covariance
    assert np.all(np.abs(cov - want) < 5 * se)


def test_lowrank_errors():
    with pytest.raises(ValueError, match="LowRankMultivariateNormal: cov_factor must be a batch of matrices"):
        D.LowRankMultivariateNormal(_t(np.zeros(3)), _t(np.ones((4, 2))), _t(np.ones(3)))
    with pytest.raises(ValueError, match="LowRankMultivariateNormal: cov_diag must be"):
        D.LowRankMultivariateNormal(_t(np.zeros(3)), _t(np.ones((3, 2))), _t(np.ones(2)))
    with pytest.raises(ValueError, match="LowRankMultivariateNormal.*cov_diag"):
        D.LowRankMultivariateNormal(_t(np.zeros(3)), _t(np.ones((3, 2))), _t([1.0, -1.0, 1.0]))
    with pytest.raises(ValueError, match="incompatible batch shapes"):
        D.LowRankMultivariateNormal(_t(np.zeros((2, 3))), _t(np.ones((4, 3, 2))), _t(np.ones(3)))


# ------------------------------------------------------------------------------------------ VonMises

def test_von_mises_log_prob_variance_and_gradients():
    loc, ploc = pair(R.uniform(-3, 3, size=3))
    k, pk = pair(np.array([0.3, 2.0, 40.0]))
    a, b = D.VonMises(loc, k), td.VonMises(ploc, pk)
    v = R.uniform(-math.pi, math.pi, size=(4, 3))
    lp = a.log_prob(_t(v))
    exact = k.data * np.cos(v - loc.data) - np.log(2 * np.pi * np.i0(k.data))
    close(lp, exact, tol=1e-12)
    # torch evaluates log I0 with a polynomial approximation (relative error ~1e-8)
    plp = b.log_prob(_p(v))
    close(lp, plp, tol=1e-6)
    w = R.normal(size=(4, 3))
    (lp * _t(w)).sum().backward()
    (plp * _p(w)).sum().backward()
    np.testing.assert_allclose(loc.grad, ploc.grad.numpy(), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(k.grad, pk.grad.numpy(), rtol=1e-6, atol=1e-6)
    close(a.mean, b.mean)
    close(a.variance, b.variance, tol=1e-6)


def test_von_mises_sample_statistics():
    loc, k = np.array([0.5, -2.5, 3.0]), np.array([0.5, 4.0, 20.0])
    a = D.VonMises(_t(loc), _t(k))
    tl.manual_seed(21)
    s = a.sample((20000,)).data
    assert s.shape == (20000, 3) and np.all((s >= -math.pi) & (s < math.pi))
    z = np.exp(1j * s).mean(0)
    np.testing.assert_allclose(np.angle(z * np.exp(-1j * loc)), 0.0, atol=0.05)
    # mean resultant length R = I1(k) / I0(k) = 1 - circular variance
    np.testing.assert_allclose(np.abs(z), 1 - a.variance.data, atol=0.02)
    with pytest.raises(NotImplementedError):
        a.rsample()
    with pytest.raises(ValueError, match="VonMises.*concentration"):
        D.VonMises(_t([0.0]), _t([-1.0]))


def test_modes():
    a, b = np.array([0.6, 1.5, 2.5]), np.array([2.0, 3.0, 0.8])
    for name in ("Weibull", "Pareto"):
        close(getattr(D, name)(_t(a), _t(b)).mode, getattr(td, name)(_p(a), _p(b)).mode)
    # Kumaraswamy: the maximiser of the density where a, b >= 1, NaN elsewhere
    k = D.Kumaraswamy(_t([2.0, 3.0, 0.7]), _t([3.0, 1.5, 2.0]))
    grid = np.linspace(1e-4, 1 - 1e-4, 200001)
    lp = k.log_prob(_t(np.repeat(grid[:, None], 3, 1))).data
    m = k.mode.data
    np.testing.assert_allclose(m[:2], grid[lp[:, :2].argmax(0)], atol=1e-4)
    assert np.isnan(m[2])


def test_expand_keeps_values_and_gradients():
    s, ps = pair(R.uniform(0.5, 2, size=3))
    c, pc = pair(R.uniform(0.5, 2, size=3))
    a, b = D.Weibull(s, c).expand((2, 3)), td.Weibull(ps, pc).expand((2, 3))
    assert a.batch_shape == (2, 3)
    v = R.uniform(0.2, 2, size=(2, 3))
    lp, plp = a.log_prob(_t(v)), b.log_prob(_p(v))
    close(lp, plp)
    check_grads([(s, ps), (c, pc)], lp, plp)
    loc, ploc = pair(R.normal(size=3))
    W, pW = pair(R.normal(size=(3, 1)))
    d, pd_ = pair(R.uniform(0.5, 2, size=3))
    a = D.LowRankMultivariateNormal(loc, W, d).expand((4,))
    b = td.LowRankMultivariateNormal(ploc, pW, pd_).expand((4,))
    assert a.batch_shape == (4,) and a.rsample((2,)).shape == (2, 4, 3)
    v = R.normal(size=(4, 3))
    lp, plp = a.log_prob(_t(v)), b.log_prob(_p(v))
    close(lp, plp)
    check_grads([(loc, ploc), (W, pW), (d, pd_)], lp, plp)


def test_mixture_with_shared_weights_broadcasts():
    lm, plm = pair(R.normal(size=3))
    mu, pmu = pair(R.normal(size=(2, 3)) * 3)
    a = D.MixtureSameFamily(D.Categorical(logits=lm), D.Normal(mu, _t(np.full((2, 3), 0.5))))
    b = td.MixtureSameFamily(td.Categorical(logits=plm), td.Normal(pmu, _p(np.full((2, 3), 0.5))))
    assert a.batch_shape == (2,)
    v = R.normal(size=(5, 2))
    lp, plp = a.log_prob(_t(v)), b.log_prob(_p(v))
    close(lp, plp)
    check_grads([(lm, plm), (mu, pmu)], lp, plp)
    tl.manual_seed(14)
    s = a.sample((30000,))
    assert s.shape == (30000, 2)
    se = np.sqrt(a.variance.data / 30000)
    assert np.all(np.abs(s.data.mean(0) - a.mean.data) < 5 * se)
