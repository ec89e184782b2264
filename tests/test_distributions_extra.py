"""tl.distributions' Multinomial, NegativeBinomial, ContinuousBernoulli, FisherSnedecor,
InverseGamma, GeneralizedPareto, OneHotCategoricalStraightThrough, SoftplusTransform and the
ExponentialFamily base class against torch.distributions (float64) and exact maths: log_prob /
cdf / icdf / moments / entropy and their gradients, rsample gradients (same noise, replayed from
the seeded generator), KL rules, draws (shapes, support, seeding, moments) and argument checks."""

import math
from itertools import product

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite.distributions.gamma import standard_gamma_grad

torch = pytest.importorskip("torch")

from test_distributions_more import _p, _t, check_grads, close, pair  # noqa: E402  (skips without torch too)

td = torch.distributions
D = tl.distributions

R = np.random.default_rng(20261128)
N = 20000


def replay(seed):
    """The default generator as a draw seeded with ``seed`` will find it."""
    tl.manual_seed(seed)
    return tl.random.default_generator()


def within_se(draws, mean, var, k=6.0):
    """The sample mean lies within k standard errors of ``mean`` (per batch element)."""
    m = np.asarray(draws, dtype=np.float64).mean(0)
    se = np.sqrt(np.asarray(var, dtype=np.float64) / draws.shape[0])
    assert np.all(np.abs(m - mean) <= k * se + 1e-12), (m, mean, se)


# ------------------------------------------------------------------------------ ContinuousBernoulli

CB_PROBS = [1e-6, 0.1, 0.3, 0.4995, 0.5, 0.5008, 0.7, 0.999999]
CB_LOGITS = [-12.0, -1.5, -1e-3, 0.0, 2e-3, 0.9, 15.0]
CB_X = np.array([0.0, 0.05, 0.5, 0.93, 1.0])[:, None]
CB_U = np.array([0.0, 0.1, 0.5, 0.9, 0.999])[:, None]


@pytest.mark.parametrize("kind", ["probs", "logits"])
def test_continuous_bernoulli_against_torch(kind):
    vals = CB_PROBS if kind == "probs" else CB_LOGITS
    for name in ["log_prob", "cdf", "icdf", "entropy", "mean", "variance", "stddev"]:
        a, b = pair(vals)
        d, e = D.ContinuousBernoulli(**{kind: a}), td.ContinuousBernoulli(**{kind: b})
        assert d.batch_shape == (len(vals),) and d.event_shape == () and d.has_rsample
        if name in ("log_prob", "cdf"):
            x, y = getattr(d, name)(_t(CB_X)), getattr(e, name)(_p(CB_X))
        elif name == "icdf":
            x, y = d.icdf(_t(CB_U)), e.icdf(_p(CB_U))
        elif name == "entropy":
            x, y = d.entropy(), e.entropy()
        else:
            x, y = getattr(d, name), getattr(e, name)
        close(x, y)
        check_grads([(a, b)], x, y)
    close(d.probs, e.probs)
    close(d.logits, e.logits)
    with pytest.raises(NotImplementedError):
        _ = d.mode


def test_continuous_bernoulli_rsample_same_noise():
    a, b = pair([[0.05, 0.4999, 0.8]])
    d = D.ContinuousBernoulli(a)
    u = replay(11).random((4, 1, 3))
    tl.manual_seed(11)
    x = d.rsample((4,))
    y = td.ContinuousBernoulli(b).icdf(torch.tensor(u))
    assert x.shape == (4, 1, 3)
    close(x, y)
    check_grads([(a, b)], x, y)


def test_continuous_bernoulli_draws():
    d = D.ContinuousBernoulli(_t([0.02, 0.5, 0.83]))
    tl.manual_seed(3)
    s = d.sample((N,))
    tl.manual_seed(3)
    assert np.array_equal(s.data, d.sample((N,)).data)
    assert s.shape == (N, 3) and not s.requires_grad
    assert np.all((s.data >= 0) & (s.data <= 1))
    within_se(s.data, d.mean.data, d.variance.data)


def test_continuous_bernoulli_checks():
    with pytest.raises(ValueError, match="probs"):
        D.ContinuousBernoulli(_t([0.2, 1.5]))
    with pytest.raises(ValueError, match="logits"):
        D.ContinuousBernoulli(logits=_t([0.2, np.nan]))
    with pytest.raises(ValueError, match="probs.*logits"):
        D.ContinuousBernoulli(_t(0.2), _t(0.1))
    with pytest.raises(ValueError, match="lims"):
        D.ContinuousBernoulli(_t(0.2), lims=(0.6, 0.7))
    d = D.ContinuousBernoulli(_t([0.2, 0.3]))
    with pytest.raises(ValueError, match="support"):
        d.log_prob(_t([0.5, 1.2]))
    D.ContinuousBernoulli(_t([0.2, 1.5]), validate_args=False)  # no refusal without validation


# ------------------------------------------------------------------------------ ExponentialFamily


class _NaturalExponential(D.ExponentialFamily):
    """Exponential(rate) written as an exponential family: eta = -rate, A(eta) = -log(-eta)."""

    arg_constraints = {"rate": D.constraints.positive}
    support = D.constraints.nonnegative
    _mean_carrier_measure = 0
    _params = (("rate", 0),)

    def __init__(self, rate):
        self.rate = rate
        super().__init__(rate.shape)

    @property
    def _natural_params(self):
        return (-self.rate,)

    def _log_normalizer(self, eta):
        return -(-eta).log()


def test_exponential_family_entropy_and_bregman_kl():
    rate = tl.tensor(np.array([0.3, 1.0, 4.5]), requires_grad=True)
    d = _NaturalExponential(rate)
    h = d.entropy()
    close(h, 1 - np.log(rate.data))  # the entropy of Exponential(rate)
    h.sum().backward()
    close(rate.grad, -1 / rate.data)
    r2 = np.array([2.0, 0.5, 4.5])
    q = _NaturalExponential(_t(r2))
    close(D.kl_divergence(d, q), np.log(rate.data / r2) + r2 / rate.data - 1)
    with pytest.raises(NotImplementedError):
        D.ExponentialFamily(()).entropy()
    with pytest.raises(NotImplementedError, match="exponential family"):
        D.kl_divergence(d, D.ContinuousBernoulli(_t([0.3, 0.3, 0.3])))
    assert issubclass(D.ContinuousBernoulli, D.ExponentialFamily)


def test_continuous_bernoulli_bregman_entropy_matches_closed_form():
    a, b = pair([0.05, 0.3, 0.7, 0.97])
    x = D.ExponentialFamily.entropy(D.ContinuousBernoulli(a))
    y = td.ContinuousBernoulli(b).entropy()
    close(x, td.ExponentialFamily.entropy(td.ContinuousBernoulli(b.detach())))
    close(x, y)
    check_grads([(a, b)], x, y)


# ------------------------------------------------------------------------------ KL rules


def _cb_pair(vals):
    a, b = pair(vals)
    return (a, b), D.ContinuousBernoulli(a), td.ContinuousBernoulli(b)


KL_CASES = {
    "cb_cb": (lambda a, b: (D.ContinuousBernoulli(a[0]), D.ContinuousBernoulli(a[1])),
              lambda a, b: (td.ContinuousBernoulli(b[0]), td.ContinuousBernoulli(b[1])),
              [[0.1, 0.4995, 0.8], [0.6, 0.2, 0.5001]]),
    "cb_exp": (lambda a, b: (D.ContinuousBernoulli(a[0]), D.Exponential(a[1])),
               lambda a, b: (td.ContinuousBernoulli(b[0]), td.Exponential(b[1])), [[0.1, 0.5, 0.8], [0.5, 2.0, 3.0]]),
    "cb_normal": (lambda a, b: (D.ContinuousBernoulli(a[0]), D.Normal(a[1], a[2])),
                  lambda a, b: (td.ContinuousBernoulli(b[0]), td.Normal(b[1], b[2])),
                  [[0.1, 0.5, 0.8], [0.5, -2.0, 3.0], [0.3, 1.0, 2.0]]),
    "cb_uniform": (lambda a, b: (D.ContinuousBernoulli(a[0]), D.Uniform(a[1], a[2])),
                   lambda a, b: (td.ContinuousBernoulli(b[0]), td.Uniform(b[1], b[2])),
                   [[0.1, 0.5, 0.8], [-0.5, -2.0, -0.01], [1.5, 1.01, 4.0]]),
    "beta_cb": (lambda a, b: (D.Beta(a[0], a[1]), D.ContinuousBernoulli(a[2])),
                lambda a, b: (td.Beta(b[0], b[1]), td.ContinuousBernoulli(b[2])),
                [[0.5, 2.0, 3.0], [1.5, 0.7, 3.0], [0.1, 0.4999, 0.9]]),
    "uniform_cb": (lambda a, b: (D.Uniform(a[0], a[1]), D.ContinuousBernoulli(a[2])),
                   lambda a, b: (td.Uniform(b[0], b[1]), td.ContinuousBernoulli(b[2])),
                   [[0.1, 0.2, 0.01], [0.5, 0.9, 0.99], [0.1, 0.4999, 0.9]]),
}


@pytest.mark.parametrize("case", sorted(KL_CASES))
def test_kl_against_torch(case):
    mk, mk_t, vals = KL_CASES[case]
    ps = [pair(v) for v in vals]
    p, q = mk([a for a, _ in ps], None)
    pt, qt = mk_t(None, [b for _, b in ps])
    x, y = D.kl_divergence(p, q), td.kl_divergence(pt, qt)
    close(x, y)
    check_grads(ps, x, y)


def test_kl_infinite_and_support_edges():
    cb = D.ContinuousBernoulli(_t([0.2, 0.7]))
    for other in [D.Exponential(_t([1.0, 2.0])), D.Gamma(_t([1.0, 2.0]), _t(1.0)), D.Normal(_t(0.0), _t(1.0)),
                  D.Laplace(_t(0.0), _t(1.0)), D.Gumbel(_t(0.0), _t(1.0)), D.Pareto(_t(1.0), _t(2.0))]:
        assert np.all(np.isinf(D.kl_divergence(other, cb).data))
    assert np.all(np.isinf(D.kl_divergence(cb, D.Pareto(_t(1.0), _t(2.0))).data))
    # [0, 1] inside [low, high] exactly: KL = -H(p) + log(high - low) is finite
    close(D.kl_divergence(cb, D.Uniform(_t(0.0), _t(1.0))), -cb.entropy().data)
    out = D.kl_divergence(cb, D.Uniform(_t([0.1, -1.0]), _t([2.0, 0.9])))
    assert np.all(np.isinf(out.data))
    out = D.kl_divergence(D.Uniform(_t([-0.1, 0.2]), _t([0.5, 1.1])), cb)
    assert np.all(np.isinf(out.data))


# ------------------------------------------------------------------------------ Multinomial

MN_PROBS = [[0.2, 0.3, 0.5], [0.0, 0.4, 0.6], [1.0, 1.0, 2.0]]
MN_X = np.array([[[1.0, 2.0, 2.0], [0.0, 1.0, 4.0], [5.0, 0.0, 0.0]]])


def _multinomial_entropy(n, p):
    """-sum p(x) log p(x) over every count vector x of n draws (exact)."""
    p = np.asarray(p, dtype=np.float64) / np.sum(p)
    out = 0.0
    for x in product(range(n + 1), repeat=len(p)):
        if sum(x) != n:
            continue
        lp = math.lgamma(n + 1) - sum(math.lgamma(k + 1) for k in x)
        if any(k > 0 and pi == 0 for k, pi in zip(x, p)):
            continue
        lp += sum(k * math.log(pi) for k, pi in zip(x, p) if k > 0)
        out -= math.exp(lp) * lp
    return out


@pytest.mark.filterwarnings("ignore:invalid value encountered in multiply:RuntimeWarning")  # stddev at p = 0
@pytest.mark.parametrize("kind", ["probs", "logits"])
def test_multinomial_against_torch(kind):
    vals = MN_PROBS if kind == "probs" else np.log(np.array(MN_PROBS) + 0.1) * 2.0
    for name in ["log_prob", "mean", "variance", "stddev", "entropy"]:
        a, b = pair(vals)
        d, e = D.Multinomial(5, **{kind: a}), td.Multinomial(5, **{kind: b})
        assert d.batch_shape == (3,) and d.event_shape == (3,) and not d.has_rsample
        if name == "log_prob":
            x, y = d.log_prob(_t(MN_X)), e.log_prob(_p(MN_X))
        elif name == "entropy":
            x, y = d.entropy(), e.entropy()
            # torch evaluates lgamma(n + 1) of an int64 n in single precision: exact maths instead
            close(x, [_multinomial_entropy(5, np.exp(e.logits[i].detach().numpy())) for i in range(3)])
        else:
            x, y = getattr(d, name), getattr(e, name)
            close(x, y)
        check_grads([(a, b)], x, y)
    close(d.probs, e.probs)
    close(d.logits, e.logits)
    with pytest.raises(NotImplementedError):
        _ = d.mode


@pytest.mark.parametrize("n", [0, 1, 4])
def test_multinomial_entropy_exact(n):
    p = [0.1, 0.0, 0.35, 0.55]
    close(D.Multinomial(n, _t(p)).entropy(), _multinomial_entropy(n, p))


def test_multinomial_log_prob_with_infinite_logits():
    lg = [-np.inf, 0.0, 1.0]
    x = np.array([0.0, 2.0, 3.0])
    close(D.Multinomial(5, logits=_t(lg)).log_prob(_t(x)), td.Multinomial(5, logits=_p(lg)).log_prob(_p(x)))


def test_multinomial_draws_and_expand():
    d = D.Multinomial(7, _t([[0.1, 0.6, 0.3], [0.5, 0.0, 0.5]]))
    tl.manual_seed(5)
    s = d.sample((N,))
    tl.manual_seed(5)
    assert np.array_equal(s.data, d.sample((N,)).data)
    assert s.shape == (N, 2, 3) and s.dtype == np.float64
    assert np.all(s.data.sum(-1) == 7) and np.all(s.data >= 0) and np.all(s.data % 1 == 0)
    assert np.all(s.data[:, 1, 1] == 0)
    within_se(s.data, d.mean.data, np.maximum(d.variance.data, 1e-300))
    e = d.expand((4, 2))
    assert e.batch_shape == (4, 2) and e.event_shape == (3,)
    x = _t([[1.0, 3.0, 3.0], [2.0, 0.0, 5.0]])
    close(e.log_prob(x), np.broadcast_to(d.log_prob(x).data, (4, 2)))
    close(e.entropy(), np.broadcast_to(d.entropy().data, (4, 2)))


def test_multinomial_checks():
    with pytest.raises(NotImplementedError, match="total_count"):
        D.Multinomial(2.5, _t([0.5, 0.5]))
    with pytest.raises(ValueError, match="probs"):
        D.Multinomial(3, _t([0.5, -0.2, 0.7]))
    with pytest.raises(ValueError, match="probs.*logits"):
        D.Multinomial(3)
    d = D.Multinomial(3, _t([0.5, 0.5]))
    with pytest.raises(ValueError, match="support"):
        d.log_prob(_t([3.0, 1.0]))
    with pytest.raises(ValueError, match="event_shape"):
        d.log_prob(_t([1.0, 1.0, 1.0]))


# ------------------------------------------------------------------------------ NegativeBinomial

NB_R = np.array([0.5, 3.0, 10.2])[:, None]
NB_P = np.array([0.0, 0.01, 0.4, 0.9])[None, :]
NB_K = np.arange(8.0)[:, None, None]


@pytest.mark.parametrize("kind", ["probs", "logits"])
def test_negative_binomial_against_torch(kind):
    vals = NB_P if kind == "probs" else np.array([[-30.0, -2.0, 0.0, 3.5]])
    for name in ["log_prob", "mean", "mode", "variance", "stddev"]:
        (r, rt), (a, b) = pair(NB_R), pair(vals)
        d, e = D.NegativeBinomial(r, **{kind: a}), td.NegativeBinomial(rt, **{kind: b})
        assert d.batch_shape == (3, 4) and not d.has_rsample
        x, y = (d.log_prob(_t(NB_K)), e.log_prob(_p(NB_K))) if name == "log_prob" else (getattr(d, name),
                                                                                         getattr(e, name))
        close(x, y)
        if name != "mode":
            check_grads([(r, rt), (a, b)], x, y)
    close(d.probs, e.probs)
    close(d.logits, e.logits)
    with pytest.raises(NotImplementedError):
        d.entropy()


def test_negative_binomial_zero_count():
    d, e = D.NegativeBinomial(_t(0.0), _t(0.3)), td.NegativeBinomial(_p(0.0), _p(0.3))
    k = np.arange(4.0)
    close(d.log_prob(_t(k)), e.log_prob(_p(k)))
    assert d.log_prob(_t(0.0)).item() == 0.0


def test_negative_binomial_draws():
    d = D.NegativeBinomial(_t([0.7, 4.0, 12.0]), _t([0.3, 0.5, 0.1]))
    tl.manual_seed(9)
    s = d.sample((N,))
    tl.manual_seed(9)
    assert np.array_equal(s.data, d.sample((N,)).data)
    assert s.shape == (N, 3) and np.all(s.data >= 0) and np.all(s.data % 1 == 0)
    within_se(s.data, d.mean.data, d.variance.data)
    assert d.expand((2, 3)).sample((5,)).shape == (5, 2, 3)


def test_negative_binomial_checks():
    with pytest.raises(ValueError, match="probs"):
        D.NegativeBinomial(_t(2.0), _t([0.5, 1.0]))
    with pytest.raises(ValueError, match="total_count"):
        D.NegativeBinomial(_t(-1.0), _t(0.5))
    with pytest.raises(ValueError, match="support"):
        D.NegativeBinomial(_t(2.0), _t(0.5)).log_prob(_t(1.5))


# ------------------------------------------------------------------------------ FisherSnedecor

F_D1 = np.array([0.5, 1.0, 2.0, 3.5, 30.0])[:, None]
F_D2 = np.array([1.5, 2.0, 3.0, 4.5, 12.0])[None, :]


def test_fisher_snedecor_against_torch():
    x = np.array([1e-3, 0.7, 2.5, 40.0])[:, None, None]
    for name in ["log_prob", "mean", "mode", "variance"]:
        (a, at), (b, bt) = pair(F_D1), pair(F_D2)
        d, e = D.FisherSnedecor(a, b), td.FisherSnedecor(at, bt)
        assert d.batch_shape == (5, 5) and d.has_rsample
        out = (d.log_prob(_t(x)), e.log_prob(_p(x))) if name == "log_prob" else (getattr(d, name), getattr(e, name))
        close(*out)
        if name == "log_prob":
            check_grads([(a, at), (b, bt)], *out)
        else:  # gradients where the moment is defined (torch's are NaN beside a NaN entry)
            (a, at), (b, bt) = pair(F_D1[3:]), pair(F_D2[:, 3:])
            check_grads([(a, at), (b, bt)], getattr(D.FisherSnedecor(a, b), name),
                        getattr(td.FisherSnedecor(at, bt), name))
    with pytest.raises(NotImplementedError):
        d.entropy()


def test_fisher_snedecor_rsample_same_noise():
    d1, d2 = np.array([[0.8, 5.0, 40.0]]), np.array([[3.0], [11.0]])
    a, b = tl.tensor(d1, requires_grad=True), tl.tensor(d2, requires_grad=True)
    g = replay(21)
    g1 = g.standard_gamma(np.broadcast_to(d1 * 0.5, (4, 2, 3)))
    g2 = g.standard_gamma(np.broadcast_to(d2 * 0.5, (4, 2, 3)))
    tl.manual_seed(21)
    y = D.FisherSnedecor(a, b).rsample((4,))
    want = (g1 / d1) / (g2 / d2)
    close(y, want)
    y.sum().backward()
    dg1 = standard_gamma_grad(np.broadcast_to(d1 * 0.5, g1.shape), g1)
    dg2 = standard_gamma_grad(np.broadcast_to(d2 * 0.5, g2.shape), g2)
    close(a.grad, (want * (0.5 * dg1 / g1 - 1 / d1)).sum((0, 1), keepdims=True)[0], 1e-9)
    close(b.grad, (want * (1 / d2 - 0.5 * dg2 / g2)).sum((0, 2), keepdims=True)[0], 1e-9)


def test_fisher_snedecor_draws_and_pathwise_gradient_unbiased():
    a = tl.tensor(np.full(N, 5.0), requires_grad=True)
    b = tl.tensor(np.full(N, 14.0), requires_grad=True)
    d = D.FisherSnedecor(a, b)
    tl.manual_seed(4)
    y = d.rsample()
    tl.manual_seed(4)
    assert np.array_equal(y.data, d.rsample().data)
    assert np.all(y.data > 0)
    within_se(y.data[:, None], d.mean.data[:1], d.variance.data[:1])
    y.sum().backward()
    # E[dY/d df1] = d E[Y] / d df1 = 0 and E[dY/d df2] = -2 / (df2 - 2)^2
    within_se(a.grad[:, None], 0.0, a.grad.var())
    within_se(b.grad[:, None], -2 / 12.0 ** 2, b.grad.var())
    s = D.FisherSnedecor(_t([2.0, 3.0]), _t(7.0)).expand((3, 2)).sample((6,))
    assert s.shape == (6, 3, 2) and not s.requires_grad


def test_fisher_snedecor_checks():
    with pytest.raises(ValueError, match="df1"):
        D.FisherSnedecor(_t([1.0, 0.0]), _t(2.0))
    with pytest.raises(ValueError, match="df2"):
        D.FisherSnedecor(_t(1.0), _t(-2.0))
    with pytest.raises(ValueError, match="support"):
        D.FisherSnedecor(_t(1.0), _t(2.0)).log_prob(_t(-1.0))


# ------------------------------------------------------------------------------ InverseGamma

IG_A = np.array([0.4, 1.0, 1.7, 2.0, 6.5])[:, None]
IG_B = np.array([0.3, 1.0, 4.0])[None, :]


def test_inverse_gamma_against_torch():
    x = np.array([0.05, 0.8, 3.0, 50.0])[:, None, None]
    for name in ["log_prob", "cdf", "entropy", "mean", "mode", "variance"]:
        (a, at), (b, bt) = pair(IG_A), pair(IG_B)
        d, e = D.InverseGamma(a, b), td.InverseGamma(at, bt)
        assert d.batch_shape == (5, 3) and d.has_rsample
        if name == "cdf":  # torch has no gradient in the concentration here
            e = td.InverseGamma(at.detach(), bt)
        if name in ("log_prob", "cdf"):
            out = getattr(d, name)(_t(x)), getattr(e, name)(_p(x))
        elif name == "entropy":
            out = d.entropy(), e.entropy()
        else:
            out = getattr(d, name), getattr(e, name)
        close(*out)
        if name == "cdf":  # torch has no gradient in the concentration here
            check_grads([(b, bt)], *out)
        elif name in ("log_prob", "entropy", "mode"):
            check_grads([(a, at), (b, bt)], *out)
        else:  # gradients where the moment is finite (torch's are NaN beside an inf entry)
            (a, at), (b, bt) = pair(IG_A[4:]), pair(IG_B)
            check_grads([(a, at), (b, bt)], getattr(D.InverseGamma(a, b), name),
                        getattr(td.InverseGamma(at, bt), name))
    close(d.concentration, IG_A * np.ones((1, 3)))


def test_inverse_gamma_rsample_same_noise():
    av, bv = np.array([0.6, 3.0, 25.0]), np.array([[0.5], [2.0]])
    a, b = tl.tensor(av, requires_grad=True), tl.tensor(bv, requires_grad=True)
    g = replay(8).standard_gamma(np.broadcast_to(av, (5, 2, 3)))
    tl.manual_seed(8)
    y = D.InverseGamma(a, b).rsample((5,))
    assert y.shape == (5, 2, 3)
    close(y, bv / g)
    y.sum().backward()
    close(b.grad, (1 / g).sum((0, 2))[:, None], 1e-9)
    close(a.grad, (-bv / g ** 2 * standard_gamma_grad(np.broadcast_to(av, g.shape), g)).sum((0, 1)), 1e-9)


def test_inverse_gamma_draws_and_expand():
    d = D.InverseGamma(_t([5.0, 9.0]), _t([1.0, 3.0]))
    tl.manual_seed(2)
    s = d.sample((N,))
    tl.manual_seed(2)
    assert np.array_equal(s.data, d.sample((N,)).data)
    assert s.shape == (N, 2) and np.all(s.data > 0)
    within_se(s.data, d.mean.data, d.variance.data)
    e = d.expand((3, 2))
    assert e.batch_shape == (3, 2)
    close(e.log_prob(_t(0.5)), np.broadcast_to(d.log_prob(_t(0.5)).data, (3, 2)))


def test_inverse_gamma_checks():
    with pytest.raises(ValueError, match="InverseGamma.*concentration"):
        D.InverseGamma(_t([1.0, 0.0]), _t(2.0))
    with pytest.raises(ValueError, match="InverseGamma.*rate"):
        D.InverseGamma(_t(1.0), _t(-2.0))
    with pytest.raises(ValueError, match="support"):
        D.InverseGamma(_t(1.0), _t(2.0)).log_prob(_t(0.0))


# ------------------------------------------------------------------------------ GeneralizedPareto

GP_C = [-0.7, -1.0, -1e-9, 0.0, 3e-6, 0.3, 0.5, 1.5]


def _gp_values(c, loc=0.4, scale=1.3):
    """Points inside the support of each concentration (columns)."""
    top = np.where(np.array(c) < 0, -1.0 / np.minimum(c, -1e-300), 10.0)
    z = np.array([0.0, 0.1, 0.45, 0.9])[:, None] * np.minimum(top, 10.0)
    return loc + scale * z


@pytest.fixture
def torch_float64():
    """torch's GeneralizedPareto compares the concentration with a tensor of the default dtype."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def test_generalized_pareto_against_torch(torch_float64):
    x = _gp_values(GP_C)
    u = np.array([0.0, 0.2, 0.5, 0.99])[:, None]
    for name in ["log_prob", "cdf", "log_cdf", "log_survival_function", "icdf", "entropy", "mean", "mode",
                 "variance"]:
        (m, mt), (s, st), (c, ct) = pair(0.4), pair(1.3), pair(GP_C)
        d, e = D.GeneralizedPareto(m, s, c), td.GeneralizedPareto(mt, st, ct)
        assert d.batch_shape == (8,) and d.has_rsample
        if name in ("log_prob", "cdf", "log_cdf", "log_survival_function"):
            out = getattr(d, name)(_t(x)), getattr(e, name)(_p(x))
        elif name == "icdf":
            out = d.icdf(_t(u)), e.icdf(_p(u))
        elif name == "entropy":
            out = d.entropy(), e.entropy()
        else:
            out = getattr(d, name), getattr(e, name)
        close(*out)
        # finite entries, and not c = -1 where torch's log_prob gradient drops the log factor
        ok = np.isfinite(out[1].detach().numpy()) & (np.broadcast_to(GP_C, out[1].shape) != -1.0)
        check_grads([(m, mt), (s, st), (c, ct)], out[0].where(ok, 0.0), torch.where(torch.tensor(ok), out[1], 0.0))


def test_generalized_pareto_log_prob_gradient_at_minus_one():
    c = tl.tensor(-1.0, requires_grad=True)
    z = np.array([0.0, 0.3, 0.8])
    D.GeneralizedPareto(_t(0.0), _t(1.0), c).log_prob(_t(z)).sum().backward()
    # d/dc [-(1/c + 1) log1p(c z)] at c = -1 is log(1 - z)
    close(c.grad, np.log1p(-z).sum())


def test_generalized_pareto_rsample_same_noise_and_draws():
    (m, mt), (s, st), (c, ct) = pair([0.0, 1.0, -2.0]), pair([0.5, 2.0, 1.0]), pair([-0.4, 0.0, 0.2])
    u = replay(13).random((6, 3))
    tl.manual_seed(13)
    x = D.GeneralizedPareto(m, s, c).rsample((6,))
    y = td.GeneralizedPareto(mt, st, ct).icdf(torch.tensor(u))
    close(x, y)
    check_grads([(m, mt), (s, st), (c, ct)], x, y)
    d = D.GeneralizedPareto(_t([0.0, 1.0, -2.0]), _t([0.5, 2.0, 1.0]), _t([-0.4, 0.0, 0.2]))
    tl.manual_seed(1)
    draws = d.sample((N,))
    tl.manual_seed(1)
    assert np.array_equal(draws.data, d.sample((N,)).data)
    assert draws.shape == (N, 3) and np.all(d.support.check(draws))
    within_se(draws.data, d.mean.data, d.variance.data)
    assert d.expand((2, 3)).rsample((4,)).shape == (4, 2, 3)


def test_generalized_pareto_checks_and_support():
    with pytest.raises(ValueError, match="scale"):
        D.GeneralizedPareto(_t(0.0), _t([1.0, 0.0]), _t(0.1))
    with pytest.raises(ValueError, match="concentration"):
        D.GeneralizedPareto(_t(0.0), _t(1.0), _t(np.nan))
    d = D.GeneralizedPareto(_t(1.0), _t(2.0), _t([-0.5, 0.5]))
    np.testing.assert_array_equal(d.support.upper_bound, [5.0, np.inf])
    with pytest.raises(ValueError, match="support"):
        d.log_prob(_t([6.0, 2.0]))
    with pytest.raises(ValueError, match="support"):
        d.log_prob(_t([2.0, 0.5]))


# ------------------------------------------------------------------------------ straight-through


def test_one_hot_straight_through():
    (a, b) = pair([[0.3, -1.0, 2.0], [0.0, 0.5, 0.1]])
    d, e = D.OneHotCategoricalStraightThrough(logits=a), td.OneHotCategoricalStraightThrough(logits=b)
    assert d.has_rsample and isinstance(d, D.OneHotCategorical) and d.event_shape == (3,)
    tl.manual_seed(6)
    s = d.sample((5,))
    tl.manual_seed(6)
    x = d.rsample((5,))
    assert np.array_equal(x.data, s.data) and np.all(x.data.sum(-1) == 1)
    # the straight-through gradient is that of the probabilities
    check_grads([(a, b)], x, e.probs.expand(5, 2, 3))
    v = np.eye(3)[[2, 0]]
    (a, b) = pair(a.data)
    d, e = D.OneHotCategoricalStraightThrough(logits=a), td.OneHotCategoricalStraightThrough(logits=b)
    check_grads([(a, b)], d.log_prob(_t(v)), e.log_prob(_p(v)))
    close(d.entropy(), e.entropy())


# ------------------------------------------------------------------------------ SoftplusTransform


def test_softplus_transform_against_torch():
    a, b = pair([-30.0, -5.0, 0.0, 3.0, 19.5, 20.5, 40.0])
    t, tt = D.SoftplusTransform(), td.transforms.SoftplusTransform()
    assert D.transforms.SoftplusTransform is D.SoftplusTransform
    assert t == D.SoftplusTransform() and t.sign == 1 and t.bijective
    assert t.domain is D.constraints.real and t.codomain is D.constraints.positive
    y, yt = t(a), tt(b)
    close(y, yt)
    check_grads([(a, b)], y, yt)
    a.grad, b.grad = None, None
    close(t.log_abs_det_jacobian(a, y), tt.log_abs_det_jacobian(b, yt))
    check_grads([(a, b)], t.log_abs_det_jacobian(a, y), tt.log_abs_det_jacobian(b, yt))
    (c, ct) = pair([1e-3, 0.5, 2.0, 25.0])
    close(t.inv(c), tt.inv(ct))
    check_grads([(c, ct)], t.inv(c), tt.inv(ct))
    cached = t.with_cache(1)
    assert cached.inv(cached(a)) is a
    d = D.TransformedDistribution(D.Normal(_t(0.3), _t(1.5)), [D.SoftplusTransform()])
    e = td.TransformedDistribution(td.Normal(_p(0.3), _p(1.5)), [tt])
    v = np.array([0.01, 1.0, 7.0])
    close(d.log_prob(_t(v)), e.log_prob(_p(v)))
