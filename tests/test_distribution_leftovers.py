"""Contract leftovers against torch 2.13 (float64): LogNormal, HalfNormal, HalfCauchy, Gumbel and
LogisticNormal as TransformedDistributions (base_dist, transforms, values, draws); the Cat,
Stack, Reshape and CumulativeDistribution transforms; transform caching (cache_size=1);
manual_seed's seed range; compile's backend names; ctx.set_materialize_grads and
ctx.save_for_forward."""

import math

import numpy as np
import pytest
from test_distributions_more import close, pair  # (that module skips without torch too)

import tinygrad_lite as tl

torch = pytest.importorskip("torch")
td = torch.distributions
tt = torch.distributions.transforms
D = tl.distributions
T = tl.distributions.transforms

R = np.random.default_rng(20261127)


def _t(a):
    return tl.tensor(np.array(a, dtype=np.float64))


def _p(a):
    return torch.tensor(np.array(a, dtype=np.float64))


# ------------------------------------------------------------- distributions built on transforms

LOC = [0.3, -1.2, 2.0]
SCALE = [0.5, 1.7, 0.9]
BUILT = {
    "LogNormal": (lambda a, b: D.LogNormal(a, b), lambda a, b: td.LogNormal(a, b), [0.4, 1.3, 2.5]),
    "HalfNormal": (lambda a, b: D.HalfNormal(b), lambda a, b: td.HalfNormal(b), [0.4, 1.3, 2.5]),
    "HalfCauchy": (lambda a, b: D.HalfCauchy(b), lambda a, b: td.HalfCauchy(b), [0.4, 1.3, 2.5]),
    "Gumbel": (lambda a, b: D.Gumbel(a, b), lambda a, b: td.Gumbel(a, b), [0.4, -1.3, 2.5]),
}


@pytest.mark.parametrize("name", sorted(BUILT) + ["LogisticNormal", "Weibull", "Pareto", "Kumaraswamy",
                                                  "RelaxedBernoulli", "RelaxedOneHotCategorical"])
def test_transformed_in_torch_is_transformed_here_with_the_same_base_and_transforms(name):
    one, two = _t([0.5, 1.5]), _p([0.5, 1.5])
    args = {"LogNormal": (one, one), "HalfNormal": (one,), "HalfCauchy": (one,), "Gumbel": (one, one),
            "LogisticNormal": (one, one), "Weibull": (one, one), "Pareto": (one, one),
            "Kumaraswamy": (one, one), "RelaxedBernoulli": (_t(2.0), _t([0.2, 0.8])),
            "RelaxedOneHotCategorical": (_t(2.0), _t([0.2, 0.8]))}[name]
    targs = tuple(two if a is one else _p(a.data) for a in args)
    d, pd = getattr(D, name)(*args), getattr(td, name)(*targs)
    assert isinstance(pd, td.TransformedDistribution)
    assert isinstance(d, D.TransformedDistribution)
    assert type(d.base_dist).__name__ == type(pd.base_dist).__name__
    assert [type(t).__name__ for t in d.transforms] == [type(t).__name__ for t in pd.transforms]
    assert d.batch_shape == tuple(pd.batch_shape) and d.event_shape == tuple(pd.event_shape)


def test_lognormal_base_transforms_and_parameters():
    loc, scale = _t(LOC), _t(SCALE)
    d = D.LogNormal(loc, scale)
    assert isinstance(d.base_dist, D.Normal) and d.transforms == [D.ExpTransform()]
    assert d.loc is d.base_dist.loc and d.scale is d.base_dist.scale
    close(d.loc, _p(LOC))
    close(d.scale, _p(SCALE))
    h = D.HalfNormal(scale)
    assert isinstance(h.base_dist, D.Normal)
    assert h.scale is h.base_dist.scale and h.transforms == [D.AbsTransform()]
    assert isinstance(D.HalfCauchy(scale).base_dist, D.Cauchy)
    g = D.Gumbel(loc, scale)
    assert isinstance(g.base_dist, D.Uniform) and g.loc is loc and g.scale is scale
    ln = D.LogisticNormal(loc, scale)
    assert isinstance(ln.base_dist, D.Independent) and ln.transforms == [D.StickBreakingTransform()]
    close(ln.loc, _p(LOC))
    close(ln.scale, _p(SCALE))


@pytest.mark.parametrize("name", sorted(BUILT))
def test_values_and_gradients_match_torch(name):
    mk, tmk, v = BUILT[name]
    (a, pa), (b, pb) = pair(LOC), pair(SCALE)
    d, pd = mk(a, b), tmk(pa, pb)
    q = [0.1, 0.5, 0.93]
    outs = [(d.log_prob(_t(v)), pd.log_prob(_p(v))), (d.entropy(), pd.entropy()), (d.cdf(_t(v)), pd.cdf(_p(v))),
            (d.icdf(_t(q)), pd.icdf(_p(q)))]
    if name != "HalfCauchy":
        outs += [(d.mean, pd.mean), (d.variance, pd.variance)]
    else:
        close(d.mean, pd.mean)
        close(d.variance, pd.variance)
    w = R.normal(size=3)
    total = sum(((o * _t(w)).sum() for o, _ in outs), _t(0.0))
    ptotal = sum(((p * _p(w)).sum() for _, p in outs), _p(0.0))
    for o, p in outs:
        close(o, p, tol=1e-9)
    total.backward()
    ptotal.backward()
    for x, px in ((a, pa), (b, pb)):
        if px.grad is None:
            assert x.grad is None or not np.any(x.grad)
        else:
            np.testing.assert_allclose(x.grad, px.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_lognormal_and_halfnormal_draws_are_the_base_draws_pushed_through():
    loc, scale = _t(LOC), _t(SCALE)
    tl.manual_seed(11)
    got = D.LogNormal(loc, scale).rsample((4,))
    tl.manual_seed(11)
    base = D.Normal(loc, scale).rsample((4,))
    np.testing.assert_array_equal(got.data, np.exp(base.data))
    tl.manual_seed(12)
    got = D.HalfNormal(scale).sample((5,))
    tl.manual_seed(12)
    base = D.Normal(_t([0.0, 0.0, 0.0]), scale).sample((5,))
    np.testing.assert_array_equal(got.data, np.abs(base.data))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gumbel_draws_are_loc_minus_scale_log_minus_log_u(dtype):
    loc, scale = tl.tensor(np.array(LOC, dtype)), tl.tensor(np.array(SCALE, dtype))
    tl.manual_seed(3)
    got = D.Gumbel(loc, scale).rsample((6,))
    tl.manual_seed(3)
    u = tl.random.default_generator().random((6, 3)).astype(dtype)
    fi = np.finfo(dtype)
    u = u * dtype(1 - fi.eps - fi.tiny) + fi.tiny
    want = loc.data - scale.data * np.log(-np.log(u))
    assert got.dtype == dtype
    np.testing.assert_array_equal(got.data, want)


def test_logistic_normal_matches_torch():
    (a, pa), (b, pb) = pair([[0.3, -0.2, 1.0], [0.0, 0.5, -1.0]]), pair([[0.5, 1.2, 0.8], [1.0, 0.7, 0.3]])
    d, pd = D.LogisticNormal(a, b), td.LogisticNormal(pa, pb)
    assert d.batch_shape == (2,) and d.event_shape == (4,) and tuple(pd.event_shape) == (4,)
    y = pd.sample((5,))
    lp, plp = d.log_prob(tl.tensor(y.numpy())), pd.log_prob(y)
    close(lp, plp, tol=1e-9)
    lp.sum().backward()
    plp.sum().backward()
    np.testing.assert_allclose(a.grad, pa.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(b.grad, pb.grad.numpy(), rtol=1e-9, atol=1e-12)
    s = D.LogisticNormal(_t(0.2), _t(1.0))
    assert s.batch_shape == () and s.event_shape == (2,) and s.sample((3,)).shape == (3, 2)
    assert s.expand((4,)).sample().shape == (4, 2)
    np.testing.assert_allclose(d.sample((3,)).data.sum(-1), 1.0, rtol=1e-12)


def test_expand_and_validation_keep_working_through_properties():
    d = D.LogNormal(_t(LOC), _t(SCALE)).expand((2, 3))
    assert d.batch_shape == (2, 3) and d.loc.shape == (2, 3) and d.sample().shape == (2, 3)
    assert D.Gumbel(_t(LOC), _t(SCALE)).expand((4, 3)).loc.shape == (4, 3)
    for make in (lambda: D.LogNormal(_t(0.0), _t(-1.0)), lambda: D.HalfNormal(_t(-1.0)),
                 lambda: D.HalfCauchy(_t(-1.0)), lambda: D.LogisticNormal(_t([0.0]), _t([-1.0]))):
        with pytest.raises(ValueError, match="scale"):
            make()
    assert "LogNormal(loc: 0.5, scale: 2.0)" == repr(D.LogNormal(_t(0.5), _t(2.0)))
    with pytest.raises(ValueError, match="expand"):
        D.HalfNormal(_t(SCALE)).expand((5, 7))
    with pytest.raises(TypeError, match="LogNormal.expand: batch_shape"):
        D.LogNormal(_t(LOC), _t(SCALE)).expand((-1,))
    lp = D.LogNormal(_t(0.0), _t(1.0)).log_prob(tl.tensor(np.array([1, 2])))  # integer values
    close(lp, td.LogNormal(0.0, 1.0).log_prob(torch.tensor([1.0, 2.0], dtype=torch.float64)).float(), tol=1e-6)


def test_kl_between_the_rebuilt_distributions_still_dispatches():
    p, q = D.LogNormal(_t(LOC), _t(SCALE)), D.LogNormal(_t(SCALE), _t(SCALE))
    close(D.kl_divergence(p, q), td.kl_divergence(td.LogNormal(_p(LOC), _p(SCALE)), td.LogNormal(_p(SCALE), _p(SCALE))))
    g, h = D.Gumbel(_t(LOC), _t(SCALE)), D.Gumbel(_t(SCALE), _t(SCALE))
    close(D.kl_divergence(g, h), td.kl_divergence(td.Gumbel(_p(LOC), _p(SCALE)), td.Gumbel(_p(SCALE), _p(SCALE))))


# ------------------------------------------------------------------------------- new transforms

def _pairs():
    """(ours, torch's, input shape) for the block and shape transforms."""
    return {
        "cat0": (T.CatTransform([D.ExpTransform(), D.AffineTransform(1.0, 2.0)], dim=0, lengths=[2, 3]),
                 tt.CatTransform([tt.ExpTransform(), tt.AffineTransform(1.0, 2.0)], dim=0, lengths=[2, 3]), (5, 3)),
        "cat-1": (T.CatTransform([D.SigmoidTransform(), D.ExpTransform(), D.TanhTransform()], dim=-1),
                  tt.CatTransform([tt.SigmoidTransform(), tt.ExpTransform(), tt.TanhTransform()], dim=-1), (4, 3)),
        "cat_event_batch": (T.CatTransform([D.IndependentTransform(D.ExpTransform(), 1),
                                            D.IndependentTransform(D.SigmoidTransform(), 1)], dim=0, lengths=[1, 2]),
                            tt.CatTransform([tt.IndependentTransform(tt.ExpTransform(), 1),
                                             tt.IndependentTransform(tt.SigmoidTransform(), 1)], dim=0, lengths=[1, 2]),
                            (3, 4)),
        "cat_event_sum": (T.CatTransform([D.IndependentTransform(D.ExpTransform(), 1), D.SigmoidTransform()], dim=-1,
                                         lengths=[2, 2]),
                          tt.CatTransform([tt.IndependentTransform(tt.ExpTransform(), 1), tt.SigmoidTransform()],
                                          dim=-1, lengths=[2, 2]), (3, 4)),
        "stack1": (T.StackTransform([D.ExpTransform(), D.SigmoidTransform()], dim=1),
                   tt.StackTransform([tt.ExpTransform(), tt.SigmoidTransform()], dim=1), (3, 2)),
        "stack-1": (T.StackTransform([D.TanhTransform(), D.AffineTransform(0.5, -3.0), D.ExpTransform()], dim=-1),
                    tt.StackTransform([tt.TanhTransform(), tt.AffineTransform(0.5, -3.0), tt.ExpTransform()], dim=-1),
                    (2, 3)),
        "reshape": (T.ReshapeTransform((2, 3), (3, 2)), tt.ReshapeTransform(torch.Size((2, 3)), torch.Size((3, 2))),
                    (4, 2, 3)),
        "reshape_flat": (T.ReshapeTransform((6,), (1, 2, 3)), tt.ReshapeTransform(torch.Size((6,)),
                                                                                 torch.Size((1, 2, 3))), (6,)),
        "cdf_normal": (T.CumulativeDistributionTransform(D.Normal(_t(0.3), _t(1.4))),
                       tt.CumulativeDistributionTransform(td.Normal(_p(0.3), _p(1.4))), (3, 4)),
    }


@pytest.mark.parametrize("key", sorted(_pairs()))
def test_new_transforms_match_torch(key):
    t, pt, shape = _pairs()[key]
    x, px = pair(R.normal(size=shape) * 0.7)
    y, py = t(x), pt(px)
    close(y, py)
    close(t.inv(tl.tensor(y.data.copy())), pt.inv(py.detach()), tol=1e-9)
    ladj, pladj = t.log_abs_det_jacobian(x, y), pt.log_abs_det_jacobian(px, py)
    close(ladj, pladj, tol=1e-9)
    w = R.normal(size=tuple(py.shape))
    ((y * _t(w)).sum() + ladj.sum()).backward()
    ((py * _p(w)).sum() + pladj.sum()).backward()
    np.testing.assert_allclose(x.grad, px.grad.numpy(), rtol=1e-9, atol=1e-12)
    assert t.domain.event_dim == pt.domain.event_dim and t.codomain.event_dim == pt.codomain.event_dim
    assert t.bijective == pt.bijective
    assert t.forward_shape(shape) == tuple(pt.forward_shape(torch.Size(shape)))
    assert t.inverse_shape(tuple(py.shape)) == tuple(pt.inverse_shape(py.shape))
    if key == "cat_event_sum":  # torch's cat constraint cannot join checks of different event dims
        with pytest.raises(RuntimeError):
            pt.codomain.check(py)
        bad = y.data.copy()
        bad[1, 3] = 2.0  # outside the sigmoid block's unit interval: that event fails
        np.testing.assert_array_equal(t.codomain.check(_t(bad)), [True, False, True])
    else:
        close(np.asarray(t.codomain.check(y), dtype=np.float64), pt.codomain.check(py).double())


def test_cat_and_stack_constraints_check_blockwise():
    c = D.constraints.cat([D.constraints.positive, D.constraints.real], dim=0, lengths=[1, 2])
    pc = td.constraints.cat([td.constraints.positive, td.constraints.real], dim=0, lengths=[1, 2])
    v = [[-1.0, 2.0], [-3.0, 4.0], [math.nan, 1.0]]
    np.testing.assert_array_equal(c.check(_t(v)), pc.check(_p(v)).numpy())
    s = D.constraints.stack([D.constraints.positive, D.constraints.unit_interval], dim=-1)
    ps = td.constraints.stack([td.constraints.positive, td.constraints.unit_interval], dim=-1)
    v = [[1.0, 0.5], [-1.0, 0.5], [2.0, 3.0]]
    np.testing.assert_array_equal(s.check(_t(v)), ps.check(_p(v)).numpy())
    assert s.event_dim == ps.event_dim and c.event_dim == pc.event_dim


def test_cdf_transform_domain_codomain_and_copula():
    t = T.CumulativeDistributionTransform(D.Exponential(_t(2.0)))
    assert t.domain is t.distribution.support and t.codomain is D.constraints.unit_interval and t.sign == 1
    base, pbase = D.Normal(_t([0.1, -0.3]), _t([1.0, 2.0])), td.Normal(_p([0.1, -0.3]), _p([1.0, 2.0]))
    d = D.TransformedDistribution(base, [T.CumulativeDistributionTransform(D.Normal(_t(0.0), _t(1.0)))])
    pd = td.TransformedDistribution(pbase, [tt.CumulativeDistributionTransform(td.Normal(_p(0.0), _p(1.0)))])
    v = [0.2, 0.7]
    close(d.log_prob(_t(v)), pd.log_prob(_p(v)), tol=1e-9)


def test_transformed_distribution_over_reshape_and_cat():
    base = D.Independent(D.Normal(_t(np.zeros(6)), _t(np.ones(6))), 1)
    pbase = td.Independent(td.Normal(_p(np.zeros(6)), _p(np.ones(6))), 1)
    d = D.TransformedDistribution(base, [T.ReshapeTransform((6,), (2, 3))])
    pd = td.TransformedDistribution(pbase, [tt.ReshapeTransform(torch.Size((6,)), torch.Size((2, 3)))])
    assert d.event_shape == tuple(pd.event_shape) == (2, 3) and d.sample((4,)).shape == (4, 2, 3)
    v = R.normal(size=(5, 2, 3))
    close(d.log_prob(_t(v)), pd.log_prob(_p(v)))
    c = D.TransformedDistribution(D.Normal(_t(np.zeros(4)), _t(np.ones(4))),
                                  [T.CatTransform([D.ExpTransform(), D.SigmoidTransform()], 0, [1, 3])])
    pc = td.TransformedDistribution(td.Normal(_p(np.zeros(4)), _p(np.ones(4))),
                                    [tt.CatTransform([tt.ExpTransform(), tt.SigmoidTransform()], 0, [1, 3])])
    v = [1.5, 0.2, 0.5, 0.9]
    close(c.log_prob(_t(v)), pc.log_prob(_p(v)))


def test_new_transforms_refuse_bad_arguments():
    with pytest.raises(TypeError, match="CatTransform"):
        T.CatTransform([D.ExpTransform(), "exp"])
    with pytest.raises(ValueError, match="CatTransform: lengths"):
        T.CatTransform([D.ExpTransform()], lengths=[1, 2])
    with pytest.raises(ValueError, match="CatTransform.__call__.*size 3"):
        T.CatTransform([D.ExpTransform()], dim=0, lengths=[3])(_t(np.zeros((2, 2))))
    with pytest.raises(ValueError, match="StackTransform.__call__.*dim 2"):
        T.StackTransform([D.ExpTransform()], dim=2)(_t(np.zeros((1, 2))))
    with pytest.raises(ValueError, match=r"ReshapeTransform: in_shape \(2, 3\) and out_shape \(5,\)"):
        T.ReshapeTransform((2, 3), (5,))
    with pytest.raises(ValueError, match="ReshapeTransform.forward_shape"):
        T.ReshapeTransform((2, 3), (6,)).forward_shape((4, 3, 2))
    with pytest.raises(ValueError, match="ReshapeTransform.__call__"):
        T.ReshapeTransform((2, 3), (6,))(_t(np.zeros((3, 2))))
    with pytest.raises(TypeError, match="CumulativeDistributionTransform"):
        T.CumulativeDistributionTransform(torch.distributions.Normal(0.0, 1.0))
    with pytest.raises(ValueError, match="cache_size"):
        D.ExpTransform(cache_size=2)


# ------------------------------------------------------------------------------------- caching

class _Counted(D.ExpTransform):
    calls = 0
    inverses = 0

    def _call(self, x):
        type(self).calls += 1
        return super()._call(x)

    def _inverse(self, y):
        type(self).inverses += 1
        return super()._inverse(y)


def test_cache_size_one_skips_the_call_for_the_same_input_object():
    _Counted.calls = _Counted.inverses = 0
    t = _Counted(cache_size=1)
    x = _t([0.1, 0.2])
    y = t(x)
    assert t(x) is y and _Counted.calls == 1
    assert t.inv(y) is x and _Counted.inverses == 0
    x2 = _t([0.1, 0.2])  # equal values, another object: computed again
    assert t(x2) is not y and _Counted.calls == 2
    y3 = _t([1.0, 2.0])
    x3 = t.inv(y3)
    assert _Counted.inverses == 1 and t.inv(y3) is x3 and t(x3) is y3 and _Counted.calls == 2
    u = _Counted()  # no cache: every call computes
    assert u(x) is not u(x) and _Counted.calls == 4


def test_cache_semantics_match_torch():
    for ours, theirs in ((D.ExpTransform(cache_size=1), tt.ExpTransform(cache_size=1)),
                         (D.AffineTransform(1.0, 2.0, cache_size=1), tt.AffineTransform(1.0, 2.0, cache_size=1)),
                         (T.ReshapeTransform((2,), (2, 1), cache_size=1),
                          tt.ReshapeTransform(torch.Size((2,)), torch.Size((2, 1)), cache_size=1))):
        x, px = _t([0.3, 0.4]), _p([0.3, 0.4])
        y, py = ours(x), theirs(px)
        assert (ours(x) is y) == (theirs(px) is py) is True
        assert (ours.inv(y) is x) == (theirs.inv(py) is px) is True
        assert (ours.inv.inv is ours) == (theirs.inv.inv is theirs)
    nc, pnc = D.ExpTransform(), tt.ExpTransform()
    x, px = _t([0.3]), _p([0.3])
    assert (nc(x) is nc(x)) == (pnc(px) is pnc(px)) is False
    assert nc.inv(nc(x)) is not x


def test_with_cache_and_composite_caching():
    t = D.ExpTransform()
    assert t.with_cache(0) is t and t.with_cache(1)._cache_size == 1 and t.with_cache(1) == t
    assert t.inv.with_cache(1)._cache_size == 1 and t.inv.with_cache(1).inv._cache_size == 1
    c = D.ComposeTransform([D.ExpTransform(), D.AffineTransform(0.0, 3.0)], cache_size=1)
    assert all(p._cache_size == 1 for p in c.parts)
    x = _t([0.5, -0.5])
    y = c(x)
    assert c(x) is y and c.inv(y) is x
    ind = D.IndependentTransform(D.ExpTransform(), 1, cache_size=1)
    y = ind(x)
    assert ind.inv(y) is x and ind.base_transform._cache_size == 1
    cat = T.CatTransform([D.ExpTransform(), D.ExpTransform()], cache_size=1)
    assert all(p._cache_size == 1 for p in cat.transforms)
    st = T.StackTransform([D.ExpTransform()], cache_size=1).with_cache(0)
    assert st._cache_size == 0
    with pytest.raises(NotImplementedError, match="with_cache"):
        class _Param(D.Transform):
            def __init__(self, k, cache_size=0):
                super().__init__(cache_size)
        _Param(1).with_cache(1)


def test_cached_transformed_distribution_scores_its_own_draws_exactly():
    base = D.Normal(_t([0.0, 1.0]), _t([1.0, 0.5]))
    d = D.TransformedDistribution(base, [D.SigmoidTransform(cache_size=1)])
    y = d.rsample((3,))
    lp = d.log_prob(y)
    pd = td.TransformedDistribution(td.Normal(_p([0.0, 1.0]), _p([1.0, 0.5])), [tt.SigmoidTransform()])
    close(lp, pd.log_prob(_p(y.data)), tol=1e-7)


# ------------------------------------------------------------------------------------ manual_seed

@pytest.mark.parametrize("seed", [-1, -2**63, -12345, 2**64 - 1, 2**63])
def test_manual_seed_takes_torch_range_and_maps_negatives_like_torch(seed):
    torch.manual_seed(seed)
    want = torch.initial_seed()
    tl.manual_seed(seed)
    assert tl.initial_seed() == want
    a = tl.random.default_generator().random(4)
    tl.manual_seed(want)
    np.testing.assert_array_equal(tl.random.default_generator().random(4), a)
    g = tl.Generator().manual_seed(seed)
    tg = torch.Generator().manual_seed(seed)
    assert g.initial_seed() == tg.initial_seed() == want


@pytest.mark.parametrize("seed", [2**64, -2**63 - 1, 2**100])
def test_manual_seed_refuses_out_of_range_as_torch_does(seed):
    with pytest.raises(ValueError):
        torch.manual_seed(seed)
    tl.manual_seed(4)
    before = tl.get_rng_state()
    with pytest.raises(ValueError, match=r"manual_seed: seed must be an int in \[-2\*\*63, 2\*\*64 - 1\]"):
        tl.manual_seed(seed)
    np.testing.assert_array_equal(tl.get_rng_state(), before)
    g = tl.Generator().manual_seed(9)
    with pytest.raises(ValueError, match="manual_seed"):
        g.manual_seed(seed)
    assert g.initial_seed() == 9


# ---------------------------------------------------------------------------------------- compile

def test_compile_refuses_an_unknown_backend_at_the_call_like_torch():
    m = tl.nn.Linear(2, 2)
    with pytest.raises(RuntimeError, match="no-such-backend"):
        torch.compile(torch.nn.Linear(2, 2), backend="no-such-backend")
    with pytest.raises(RuntimeError, match="compile: invalid backend 'no-such-backend'") as info:
        tl.compile(m, backend="no-such-backend")
    assert isinstance(info.value, tl.compiling.InvalidBackend)
    with pytest.raises(RuntimeError, match="invalid backend 'Inductor'"):
        tl.compile(m, backend="Inductor", disable=True)
    deco = tl.compile(backend="no-such-backend")  # the decorator factory itself is accepted ...

    def f(x):
        return x * 2

    with pytest.raises(RuntimeError, match="invalid backend"):  # ... applying it refuses, as torch's
        deco(f)
    for backend in ("inductor", "eager", "aot_eager", lambda gm, inputs: gm):
        assert tl.compile(f, backend=backend) is f
        assert tl.compile(backend=backend)(f) is f
    assert "inductor" in tl.compiling.list_backends()


# ------------------------------------------------------------------------------ autograd.Function

def _fn_with(lib, value):
    class Twice(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(value)
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    return Twice


@pytest.mark.parametrize("value", [1, 0, np.True_, "yes", None])
def test_set_materialize_grads_takes_bools_only_like_torch(value):
    with pytest.raises(TypeError):
        _fn_with(torch, value).apply(torch.ones(2, requires_grad=True))
    with pytest.raises(TypeError, match="Twice.set_materialize_grads: value must be a bool"):
        _fn_with(tl, value).apply(tl.tensor(np.ones(2), requires_grad=True))
    for ok in (True, False):
        _fn_with(tl, ok).apply(tl.tensor(np.ones(2), requires_grad=True)).sum().backward()


def _scale_fn(lib, seen):
    class Scale(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, w):
            ctx.save_for_backward(w)
            ctx.save_for_forward(x, w)
            seen["fwd"] = ctx.saved_for_forward
            return x * w

        @staticmethod
        def backward(ctx, g):
            seen["bwd"] = ctx.saved_tensors
            (w,) = ctx.saved_tensors
            return g * w, None

        @staticmethod
        def jvp(ctx, tx, tw):
            x, w = ctx.saved_tensors
            return tx * w

    return Scale


def test_save_for_forward_keeps_its_own_tensors_and_leaves_saved_tensors_alone():
    for lib, mk in ((torch, lambda a, rg=False: torch.tensor(a, requires_grad=rg)),
                    (tl, lambda a, rg=False: tl.tensor(np.array(a), requires_grad=rg))):
        seen = {}
        x, w = mk([1.0, 2.0], True), mk([3.0, 4.0])
        _scale_fn(lib, seen).apply(x, w).sum().backward()
        assert len(seen["fwd"]) == 2 and seen["fwd"][0] is x and seen["fwd"][1] is w
        assert len(seen["bwd"]) == 1
        assert np.allclose(np.asarray(x.grad.tolist()), [3.0, 4.0])
    with pytest.raises(TypeError, match="save_for_forward: argument 1 is a int"):
        class Bad(tl.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_forward(x, 3)
                return x * 1

            @staticmethod
            def backward(ctx, g):
                return g

        Bad.apply(tl.tensor(np.ones(2), requires_grad=True))


def test_forward_mode_through_a_function_that_saves_for_forward_matches_torch():
    import torch.autograd.forward_ad as pfw

    fw = tl.autograd.forward_ad
    x0, w0, v0 = np.array([1.0, 2.0]), np.array([3.0, -4.0]), np.array([0.5, 0.25])
    with pfw.dual_level():
        px = pfw.make_dual(torch.tensor(x0), torch.tensor(v0))
        pout = pfw.unpack_dual(_scale_fn(torch, {}).apply(px, torch.tensor(w0))).tangent
    with fw.dual_level():
        x = fw.make_dual(tl.tensor(x0), tl.tensor(v0))
        out = fw.unpack_dual(_scale_fn(tl, {}).apply(x, tl.tensor(w0))).tangent
    close(out, pout)
