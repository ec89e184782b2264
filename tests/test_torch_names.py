"""torch's top-level names (tl.conv2d, tl.batch_norm, tl.embedding, tl.dropout, tl.kl_div,
tl.relu_, tl.bernoulli, tl.gradient, tl.histogramdd, ...) against torch in float64: values
and gradients, in-place forms, sampling statistics, and refused arguments."""

import math

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")

TOL = 1e-10


def pair(a, grad=True):
    """The same float64 data as a tl and a torch tensor (both requiring grad when asked)."""
    a = np.asarray(a)
    return tl.tensor(a.copy(), requires_grad=grad), torch.tensor(a.copy(), requires_grad=grad)


def close(x, y, tol=TOL):
    x = x.data if isinstance(x, tl.Tensor) else np.asarray(x)
    y = y.detach().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
    assert x.shape == y.shape, (x.shape, y.shape)
    assert x.dtype == y.dtype, (x.dtype, y.dtype)
    np.testing.assert_allclose(x, y, rtol=tol, atol=tol, equal_nan=True)


def check(fn_tl, fn_torch, arrays, grad_idx=None, extra_tl=(), extra_torch=(), seed=0):
    """Run both on the same float64 arrays; compare the output and the gradients of a random
    weighted sum w.r.t. the inputs listed in grad_idx (all when None)."""
    grad_idx = range(len(arrays)) if grad_idx is None else grad_idx
    ts, ps = [], []
    for i, a in enumerate(arrays):
        t, p = pair(a, grad=i in grad_idx)
        ts.append(t)
        ps.append(p)
    out_t = fn_tl(*ts, *extra_tl)
    out_p = fn_torch(*ps, *extra_torch)
    close(out_t, out_p)
    w = np.random.default_rng(seed).standard_normal(tuple(out_p.shape))
    (out_t * tl.tensor(w)).sum().backward()
    (out_p * torch.tensor(w)).sum().backward()
    for i in grad_idx:
        close(ts[i].grad, ps[i].grad)


R = np.random.default_rng(1)


def rn(*shape):
    return R.standard_normal(shape)


# ------------------------------------------------------------------ layers ----------
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_conv_and_transpose(nd):
    sp = (5,) * nd
    check(lambda x, w, b: getattr(tl, f"conv{nd}d")(x, w, b, 1, 1, 1, 2),
          lambda x, w, b: getattr(torch, f"conv{nd}d")(x, w, b, 1, 1, 1, 2),
          [rn(2, 4, *sp), rn(6, 2, *(3,) * nd), rn(6)])
    check(lambda x, w: getattr(tl, f"conv{nd}d")(x, w, None, 2, 0, 1, 2),
          lambda x, w: getattr(torch, f"conv{nd}d")(x, w, None, 2, 0, 1, 2), [rn(2, 4, *sp), rn(6, 2, *(2,) * nd)])
    check(lambda x, w, b: getattr(tl, f"conv_transpose{nd}d")(x, w, b, 2, 1, 1, 1, 1),
          lambda x, w, b: getattr(torch, f"conv_transpose{nd}d")(x, w, b, 2, 1, 1, 1, 1),
          [rn(2, 3, *(4,) * nd), rn(3, 2, *(3,) * nd), rn(2)])


def test_batch_norm_signature_and_running_stats():
    x, w, b = rn(6, 3, 4), rn(3), rn(3)
    for training in (True, False):
        rm_t, rv_t = tl.tensor(rn(3)), tl.tensor(np.abs(rn(3)) + 0.5)
        rm_p, rv_p = torch.tensor(rm_t.data.copy()), torch.tensor(rv_t.data.copy())
        check(lambda x, w, b, m=rm_t, v=rv_t, tr=training: tl.batch_norm(x, w, b, m, v, tr, 0.2, 1e-4, False),
              lambda x, w, b, m=rm_p, v=rv_p, tr=training: torch.batch_norm(x, w, b, m, v, tr, 0.2, 1e-4, False),
              [x, w, b])
        close(rm_t, rm_p)
        close(rv_t, rv_p)
    check(lambda x: tl.batch_norm(x, None, None, None, None, True, 0.1, 1e-5, True),
          lambda x: torch.batch_norm(x, None, None, None, None, True, 0.1, 1e-5, True), [x])
    with pytest.raises(TypeError, match="batch_norm"):
        tl.batch_norm(tl.tensor(x), None, None, None, None, True, 0.1, 1e-5, "yes")


def test_instance_layer_group_norm():
    x = rn(2, 4, 5)
    check(lambda x, w, b: tl.instance_norm(x, w, b, None, None, True, 0.1, 1e-5, False),
          lambda x, w, b: torch.instance_norm(x, w, b, None, None, True, 0.1, 1e-5, False), [x, rn(4), rn(4)])
    check(lambda x, w, b: tl.layer_norm(x, [4, 5], w, b, 1e-3, True),
          lambda x, w, b: torch.layer_norm(x, [4, 5], w, b, 1e-3, True), [x, rn(4, 5), rn(4, 5)])
    check(lambda x: tl.layer_norm(x, (5,)), lambda x: torch.layer_norm(x, (5,)), [x])
    check(lambda x, w, b: tl.group_norm(x, 2, w, b, 1e-3), lambda x, w, b: torch.group_norm(x, 2, w, b, 1e-3),
          [x, rn(4), rn(4)])
    check(lambda x, w: tl.rms_norm(x, [5], w, 1e-6), lambda x, w: torch.rms_norm(x, [5], w, 1e-6), [x, rn(5)])
    with pytest.raises(TypeError, match="layer_norm"):
        tl.layer_norm(tl.tensor(x), [5], None, None, 1e-5, 1.5)


@pytest.mark.parametrize("pad", [-1, -2, 2, 7])
def test_embedding_table_first(pad):
    idx = np.array([[0, 2], [2, 4]])
    check(lambda w: tl.embedding(w, tl.tensor(idx), pad), lambda w: torch.embedding(w, torch.tensor(idx), pad),
          [rn(5, 3)])
    with pytest.raises(TypeError, match="embedding"):
        tl.embedding(rn(5, 3), tl.tensor(idx))


def test_pooling_and_shuffles():
    x1, x2, x3 = rn(2, 3, 9), rn(2, 3, 6, 6), rn(1, 2, 4, 4, 4)
    check(lambda x: tl.max_pool1d(x, 3), lambda x: torch.max_pool1d(x, 3), [x1])
    check(lambda x: tl.max_pool1d(x, 3, [], 1, 2, True), lambda x: torch.max_pool1d(x, 3, [], 1, 2, True), [x1])
    check(lambda x: tl.max_pool2d(x, 2, 1), lambda x: torch.max_pool2d(x, 2, 1), [x2])
    check(lambda x: tl.max_pool3d(x, 2), lambda x: torch.max_pool3d(x, 2), [x3])
    v_t, i_t = tl.max_pool1d_with_indices(tl.tensor(x1), 2)
    v_p, i_p = torch.max_pool1d_with_indices(torch.tensor(x1), 2)
    close(v_t, v_p)
    close(i_t, i_p)
    v_t, i_t = tl.adaptive_max_pool1d(tl.tensor(x1), 4)
    v_p, i_p = torch.adaptive_max_pool1d(torch.tensor(x1), 4)
    close(v_t, v_p)
    close(i_t, i_p)
    check(lambda x: tl.avg_pool1d(x, 3, 2, 1, False, False), lambda x: torch.avg_pool1d(x, 3, 2, 1, False, False),
          [x1])
    check(lambda x: tl.adaptive_avg_pool1d(x, 4), lambda x: torch.adaptive_avg_pool1d(x, 4), [x1])
    check(lambda x: tl.pixel_shuffle(x, 2), lambda x: torch.pixel_shuffle(x, 2), [rn(1, 8, 2, 3)])
    check(lambda x: tl.pixel_unshuffle(x, 2), lambda x: torch.pixel_unshuffle(x, 2), [rn(1, 2, 4, 6)])
    check(lambda x: tl.channel_shuffle(x, 2), lambda x: torch.channel_shuffle(x, 2), [rn(2, 6, 3)])


def test_activations_bilinear_pdist():
    x = rn(3, 5)
    x[0, 0] = 0.5  # on hardshrink's threshold
    check(tl.selu, torch.selu, [x])
    check(lambda x: tl.celu(x, 0.5), lambda x: torch.celu(x, 0.5), [x])
    xt = tl.tensor(x, requires_grad=True)  # alpha = 0.7: torch's float64 celu is off by ~1e-8, check the maths
    y = tl.celu(xt, 0.7)
    y.sum().backward()
    np.testing.assert_allclose(y.data, np.where(x > 0, x, 0.7 * np.expm1(x / 0.7)), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(xt.grad.data, np.where(x > 0, 1.0, np.exp(x / 0.7)), rtol=1e-14)
    check(lambda x: tl.threshold(x, 0.1, -2.0), lambda x: torch.threshold(x, 0.1, -2.0), [x])
    check(lambda x: tl.hardshrink(x, 0.5), lambda x: torch.hardshrink(x, 0.5), [x])
    check(tl.hardshrink, torch.hardshrink, [x])
    check(lambda x: tl.rrelu(x, 0.1, 0.3), lambda x: torch.rrelu(x, 0.1, 0.3), [x])
    check(lambda x, w: tl.prelu(x, w), lambda x, w: torch.prelu(x, w), [rn(2, 3, 4), np.array([0.1, -0.2, 0.3])])
    check(lambda a, b, w, c: tl.bilinear(a, b, w, c), lambda a, b, w, c: torch.bilinear(a, b, w, c),
          [rn(4, 3), rn(4, 2), rn(5, 3, 2), rn(5)])
    check(lambda x: tl.pdist(x, 3.0), lambda x: torch.pdist(x, 3.0), [rn(5, 3)])
    check(tl.pdist, torch.pdist, [rn(5, 3)])


def test_rrelu_training_slopes_in_range_and_generator():
    x = tl.tensor(-np.ones(4000))
    y = tl.rrelu(x, 0.1, 0.3, True, tl.Generator().manual_seed(3)).data
    assert ((-y >= 0.1) & (-y <= 0.3)).all() and abs(-y.mean() - 0.2) < 4 * 0.2 / math.sqrt(12 * 4000) * 3
    y2 = tl.rrelu(x, 0.1, 0.3, True, tl.Generator().manual_seed(3)).data
    np.testing.assert_array_equal(y, y2)


# ----------------------------------------------------------------- dropout ----------
@pytest.mark.parametrize("name", ["dropout", "alpha_dropout", "feature_alpha_dropout", "feature_dropout"])
def test_dropout_family(name):
    f = getattr(tl, name)
    x = tl.tensor(np.ones((400, 50)) * 2.0, requires_grad=True)
    assert f(x, 0.3, False) is x  # evaluation: the input itself, as torch
    px = torch.ones(3, 2)
    assert getattr(torch, name)(px, 0.3, False) is px
    tl.manual_seed(5)
    y = f(x, 0.3, True)
    tl.manual_seed(5)
    np.testing.assert_array_equal(y.data, f(x, 0.3, True).data)  # seeded: the same draw
    if name in ("dropout", "feature_dropout"):
        vals = set(np.unique(y.data).tolist())
        assert vals <= {0.0, 2.0 / 0.7}
        frac = (y.data == 0).mean()
        n = y.data.size if name == "dropout" else 400 * 50
        assert abs(frac - 0.3) < 5 * math.sqrt(0.3 * 0.7 / (n if name == "dropout" else 400 * 50))
        if name == "feature_dropout":  # whole rows x[n, c] of a 3-d input share one draw
            z = f(tl.ones(300, 40, 6), 0.5, True).data
            assert (z == z[..., :1]).all() and 0.4 < (z[..., 0] == 0).mean() < 0.6
        y.sum().backward()
        np.testing.assert_allclose(x.grad.data, y.data / 2.0, rtol=1e-12)
    else:  # alpha dropout keeps mean 0 / variance 1 of a standard normal input
        z = f(tl.tensor(np.random.default_rng(0).standard_normal((400, 500))), 0.3, True).data
        assert abs(z.mean()) < 0.02 and abs(z.var() - 1) < 0.03
    with pytest.raises(ValueError, match=name):
        f(x, 1.5, True)
    with pytest.raises(TypeError, match=name):
        f(x, 0.5, "train")


@pytest.mark.parametrize("name", ["dropout_", "alpha_dropout_", "feature_alpha_dropout_", "feature_dropout_"])
def test_dropout_in_place(name):
    x = tl.ones(50, 40)
    before = x.data.copy()
    assert getattr(tl, name)(x, 0.5, True) is x
    assert not np.array_equal(x.data, before)
    z = tl.ones(4, 3)
    assert getattr(tl, name)(z, 0.5, False) is z and (z.data == 1).all()
    with pytest.raises(TypeError, match=name):
        getattr(tl, name)(np.ones(3), 0.5, True)


def test_feature_dropout_needs_two_axes():
    with pytest.raises(ValueError, match="feature_dropout"):
        tl.feature_dropout(tl.ones(3), 0.5, True)


# ------------------------------------------------------------------ losses ----------
@pytest.mark.parametrize("red", [0, 1, 2])
def test_losses_int_reduction(red):
    x, t = rn(4, 3), R.random((4, 3))
    check(lambda x, w, pw: tl.binary_cross_entropy_with_logits(x, tl.tensor(t), w, pw, red),
          lambda x, w, pw: torch.binary_cross_entropy_with_logits(x, torch.tensor(t), w, pw, red),
          [x, R.random(3), R.random(3) + 0.5], grad_idx=[0])  # (weights: constants in the library)
    y = np.array([1.0, -1.0, 1.0, -1.0])
    check(lambda a, b: tl.cosine_embedding_loss(a, b, tl.tensor(y), 0.1, red),
          lambda a, b: torch.cosine_embedding_loss(a, b, torch.tensor(y), 0.1, red), [rn(4, 3), rn(4, 3)])
    check(lambda a: tl.hinge_embedding_loss(a, tl.tensor(y), 0.5, red),
          lambda a: torch.hinge_embedding_loss(a, torch.tensor(y), 0.5, red), [rn(4)])
    lp = np.log(R.dirichlet(np.ones(3), size=4))
    tgt = R.random((4, 3))
    check(lambda a: tl.kl_div(a, tl.tensor(tgt), red), lambda a: torch.kl_div(a, torch.tensor(tgt), red), [lp])
    check(lambda a, b: tl.kl_div(a, b, red, log_target=True), lambda a, b: torch.kl_div(a, b, red, log_target=True),
          [lp, np.log(tgt)])
    check(lambda a, b: tl.margin_ranking_loss(a, b, tl.tensor(y), 0.2, red),
          lambda a, b: torch.margin_ranking_loss(a, b, torch.tensor(y), 0.2, red), [rn(4), rn(4)])
    k = np.array([0.0, 1.0, 3.0, 2.0])
    for log_input, full in ((True, False), (False, True)):
        inp = rn(4) if log_input else R.random(4) + 0.1
        check(lambda a, li=log_input, fu=full: tl.poisson_nll_loss(a, tl.tensor(k), li, fu, 1e-8, red),
              lambda a, li=log_input, fu=full: torch.poisson_nll_loss(a, torch.tensor(k), li, fu, 1e-8, red), [inp])
    check(lambda a, p, n: tl.triplet_margin_loss(a, p, n, 0.5, 3.0, 1e-6, True, red),
          lambda a, p, n: torch.triplet_margin_loss(a, p, n, 0.5, 3.0, 1e-6, True, red), [rn(4, 3), rn(4, 3), rn(4, 3)])
    T, C, N = 6, 4, 2
    tg = np.array([[1, 2, 1], [3, 3, 0]])
    # (through log_softmax: torch's ctc gradient takes log_probs to be normalised, the library's is exact)
    check(lambda a: tl.ctc_loss(a.log_softmax(-1), tl.tensor(tg), [6, 5], [3, 2], 0, red, False),
          lambda a: torch.ctc_loss(a.log_softmax(-1), torch.tensor(tg), [6, 5], [3, 2], 0, red, False), [rn(T, N, C)])


def test_loss_reduction_refused():
    x = tl.tensor(rn(3))
    with pytest.raises(TypeError, match="binary_cross_entropy_with_logits"):
        tl.binary_cross_entropy_with_logits(x, x, None, None, "mean")
    with pytest.raises(TypeError, match="kl_div"):
        tl.kl_div(x, x, True)
    with pytest.raises(ValueError, match="margin_ranking_loss"):
        tl.margin_ranking_loss(x, x, x, 0.0, 3)


# ---------------------------------------------------------------- in-place ----------
INPLACE = [("abs_", ()), ("acos_", ()), ("asin_", ()), ("atan_", ()), ("arccos_", ()), ("arcsin_", ()),
           ("arctan_", ()), ("ceil_", ()), ("clamp_", (-0.3, 0.4)), ("clamp_max_", (0.2,)), ("clamp_min_", (0.1,)),
           ("clip_", (-0.1, 0.2)), ("cos_", ()), ("cosh_", ()), ("deg2rad_", ()), ("erf_", ()), ("erfc_", ()),
           ("exp2_", ()), ("exp_", ()), ("expm1_", ()), ("fix_", ()), ("floor_", ()), ("frac_", ()), ("i0_", ()),
           ("log10_", ()), ("log1p_", ()), ("log2_", ()), ("log_", ()), ("logit_", ()), ("nan_to_num_", ()),
           ("neg_", ()), ("negative_", ()), ("rad2deg_", ()), ("reciprocal_", ()), ("relu_", ()), ("round_", ()),
           ("rsqrt_", ()), ("sigmoid_", ()), ("sin_", ()), ("sinc_", ()), ("sinh_", ()), ("sqrt_", ()),
           ("square_", ()), ("tan_", ()), ("tanh_", ()), ("trunc_", ()), ("selu_", ()), ("celu_", (0.5,)),
           ("threshold_", (0.3, -1.0)), ("acosh_", ()), ("arccosh_", ()), ("asinh_", ()), ("arcsinh_", ()),
           ("atanh_", ()), ("arctanh_", ()), ("fill_", (2.5,)), ("zero_", ()), ("ldexp_", None), ("xlogy_", None)]


@pytest.mark.parametrize("name,args", INPLACE)
def test_in_place_functions(name, args):
    base = R.random((3, 4)) * 0.9 + 0.05  # in (0, 1): inside every function's domain
    if name in ("acosh_", "arccosh_"):
        base = base + 1.0
    if name in ("ldexp_", "xlogy_"):
        args = (tl.tensor(R.random((3, 4))),)
        targs = (torch.tensor(args[0].data.copy()),)
    else:
        targs = args
    x, p = tl.tensor(base.copy()), torch.tensor(base.copy())
    out = getattr(tl, name)(x, *args)
    assert out is x
    getattr(torch, name)(p, *targs)
    close(x, p)
    with pytest.raises(TypeError, match=name):
        getattr(tl, name)(base, *args)


def test_in_place_int_and_addmv_and_detach():
    a, b = tl.tensor(np.array([12, 18, 7])), tl.tensor(np.array([8, 12, 21]))
    pa = torch.tensor([12, 18, 7])
    assert tl.gcd_(a, b) is a
    close(a, torch.gcd_(pa, torch.tensor([8, 12, 21])))
    a = tl.tensor(np.array([4, 6]))
    pa = torch.tensor([4, 6])
    tl.lcm_(a, tl.tensor(np.array([6, 4])))
    close(a, torch.lcm_(pa, torch.tensor([6, 4])))
    v, m, w = rn(3), rn(3, 4), rn(4)
    x, p = tl.tensor(v.copy()), torch.tensor(v.copy())
    assert tl.addmv_(x, tl.tensor(m), tl.tensor(w), beta=0.5, alpha=2.0) is x
    close(x, torch.addmv_(p, torch.tensor(m), torch.tensor(w), beta=0.5, alpha=2.0))
    y = tl.tensor(rn(3), requires_grad=True) * 2
    assert tl.detach_(y) is y and not y.requires_grad
    z = tl.tensor(rn(3))
    assert tl.conj_physical_(z) is z


# ---------------------------------------------------------------- sampling ----------
def test_bernoulli():
    p = np.linspace(0.05, 0.95, 10)
    x = tl.tensor(np.tile(p, (4000, 1)))
    s = tl.bernoulli(x, generator=tl.Generator().manual_seed(1))
    assert s.shape == x.shape and s.data.dtype == np.float64 and set(np.unique(s.data)) <= {0.0, 1.0}
    np.testing.assert_array_equal(s.data, tl.bernoulli(x, generator=tl.Generator().manual_seed(1)).data)
    bound = 5 * np.sqrt(p * (1 - p) / 4000)
    assert (np.abs(s.data.mean(0) - p) < bound).all()
    s2 = tl.bernoulli(tl.zeros(20000, dtype=tl.float32), 0.25)
    assert s2.data.dtype == np.float32 and abs(s2.data.mean() - 0.25) < 5 * math.sqrt(0.25 * 0.75 / 20000)
    assert set(np.unique(tl.bernoulli(tl.tensor([0.0, 1.0])).data)) == {0.0, 1.0}
    assert (tl.bernoulli(tl.tensor([0.0, 1.0])).data == [0.0, 1.0]).all()
    with pytest.raises(ValueError, match="bernoulli"):
        tl.bernoulli(tl.tensor([1.5]))
    with pytest.raises(TypeError, match="bernoulli"):
        tl.bernoulli(tl.tensor([1, 0]))


def test_poisson_and_binomial():
    rates = np.array([0.5, 3.0, 20.0])
    s = tl.poisson(tl.tensor(np.tile(rates, (5000, 1))), tl.Generator().manual_seed(2))
    assert s.data.dtype == np.float64 and (s.data == np.floor(s.data)).all() and (s.data >= 0).all()
    assert (np.abs(s.data.mean(0) - rates) < 5 * np.sqrt(rates / 5000)).all()
    assert (np.abs(s.data.var(0) - rates) < 0.1 * rates + 0.05).all()
    np.testing.assert_array_equal(s.data, tl.poisson(tl.tensor(np.tile(rates, (5000, 1))),
                                                     tl.Generator().manual_seed(2)).data)
    with pytest.raises(ValueError, match="poisson"):
        tl.poisson(tl.tensor([-1.0]))
    n, q = np.array([5.0, 5.5, 40.0, -2.0]), np.array([0.3, 0.5, 0.9, 0.5])
    b = tl.binomial(tl.tensor(np.tile(n, (5000, 1))), tl.tensor(q), tl.Generator().manual_seed(4))
    nf = np.maximum(np.floor(n), 0)
    assert b.data.dtype == np.float64 and (b.data >= 0).all() and (b.data <= nf).all()
    assert (np.abs(b.data.mean(0) - nf * q) < 5 * np.sqrt(nf * q * (1 - q) / 5000) + 1e-12).all()
    with pytest.raises(TypeError, match="binomial"):
        tl.binomial(tl.tensor([5.0]), tl.tensor([0.5], dtype=tl.float32))
    with pytest.raises(ValueError, match="binomial"):
        tl.binomial(tl.tensor([5.0]), tl.tensor([1.5]))


def test_samplers_gradient_path_as_torch():
    a_t, a_p = pair(R.random(5))
    for f_t, f_p in ((tl.bernoulli, torch.bernoulli), (tl.poisson, torch.poisson)):
        a_t.grad, a_p.grad = None, None
        y_t, y_p = f_t(a_t), f_p(a_p)
        assert y_t.requires_grad == y_p.requires_grad
        y_t.sum().backward()
        y_p.sum().backward()
        close(a_t.grad, a_p.grad)  # zeros, as torch
    assert not tl.binomial(tl.tensor([3.0]), a_t[:1]).requires_grad


def test_randint_like():
    x = tl.zeros(2000, 3)
    r = tl.randint_like(x, 5, generator=tl.Generator().manual_seed(0))
    assert r.data.dtype == np.float64 and set(np.unique(r.data)) == {0.0, 1.0, 2.0, 3.0, 4.0}
    np.testing.assert_array_equal(r.data, tl.randint_like(x, 5, generator=tl.Generator().manual_seed(0)).data)
    r = tl.randint_like(x, -2, 3, dtype=tl.int64)
    assert r.data.dtype == np.int64 and set(np.unique(r.data)) == {-2, -1, 0, 1, 2}
    assert abs(r.data.mean()) < 5 * math.sqrt(2 / 6000)
    assert tl.randint_like(tl.zeros(3, dtype=tl.int32), tl.tensor(4)).data.dtype == np.int32
    assert tl.randint_like(x, 3, requires_grad=True).requires_grad
    with pytest.raises(ValueError, match="randint_like"):
        tl.randint_like(x, 5, 5)
    with pytest.raises(TypeError, match="randint_like"):
        tl.randint_like(tl.zeros(2, dtype=tl.int64), 3, requires_grad=True)


# --------------------------------------------------------- predicates, misc ----------
def test_predicates_and_views():
    x = tl.tensor(rn(3))
    px = torch.tensor(x.data.copy())
    for name in ("is_complex", "is_signed", "is_inference", "is_conj", "is_neg"):
        assert getattr(tl, name)(x) == getattr(torch, name)(px)
        with pytest.raises(TypeError, match=name):
            getattr(tl, name)(3)
    for dt_t, dt_p in ((tl.uint8, torch.uint8), (tl.bool, torch.bool), (tl.int32, torch.int32)):
        assert tl.is_signed(tl.zeros(2, dtype=dt_t)) == torch.is_signed(torch.zeros(2, dtype=dt_p))
    assert tl.is_nonzero(tl.tensor([0.5])) is torch.is_nonzero(torch.tensor([0.5])) is True
    assert tl.is_nonzero(tl.tensor(0.0)) is torch.is_nonzero(torch.tensor(0.0)) is False
    with pytest.raises(RuntimeError):
        tl.is_nonzero(tl.tensor([0.0, 1.0]))
    for name in ("conj", "conj_physical", "resolve_conj", "resolve_neg", "real"):
        assert getattr(tl, name)(x) is x and getattr(torch, name)(px) is px


def test_fill():
    check(lambda x: tl.fill(x, 2.5), lambda x: torch.fill(x, 2.5), [rn(2, 3)])
    check(lambda x, v: tl.fill(x, v), lambda x, v: torch.fill(x, v), [rn(2, 3), np.array(1.5)])
    close(tl.fill(tl.tensor(np.array([1, 2])), 2.7), torch.fill(torch.tensor([1, 2]), 2.7))
    with pytest.raises(ValueError, match="fill"):
        tl.fill(tl.tensor(rn(3)), tl.tensor([1.0]))


def test_typename_device_switches():
    assert tl.typename(tl.zeros(2)) == torch.typename(torch.zeros(2, dtype=torch.float64))
    assert tl.typename(3) == torch.typename(3) and tl.typename(len) == torch.typename(len)
    assert tl.typename(tl.nn.Linear) == f"{tl.nn.Linear.__module__}.Linear"
    assert tl.typename(tl.nn.Linear(1, 1)) == tl.typename(tl.nn.Linear)
    assert tl.get_default_device() == "cpu" and tl.get_default_device().type == torch.get_default_device().type
    tl.set_default_device("cpu")
    tl.set_default_device(None)
    with pytest.raises(RuntimeError, match="set_default_device"):
        tl.set_default_device("cuda")
    assert tl.is_warn_always_enabled() is False
    tl.set_warn_always(True)
    assert tl.is_warn_always_enabled() is True
    tl.set_warn_always(False)
    with pytest.raises(TypeError, match="set_warn_always"):
        tl.set_warn_always("yes")
    n = tl.get_num_interop_threads()
    tl.set_num_interop_threads(3)
    assert tl.get_num_interop_threads() == 3
    tl.set_num_interop_threads(n)
    with pytest.raises(ValueError, match="set_num_interop_threads"):
        tl.set_num_interop_threads(0)
    assert tl.set_flush_denormal(False) is False
    with pytest.raises(TypeError, match="set_flush_denormal"):
        tl.set_flush_denormal(1)


def test_anomaly_switches_wired():
    assert tl.is_anomaly_enabled() is False and tl.is_anomaly_check_nan_enabled() is False
    with tl.detect_anomaly():
        assert tl.is_anomaly_enabled() and tl.is_anomaly_check_nan_enabled()
    tl.set_anomaly_enabled(True)
    try:
        assert tl.is_anomaly_enabled()
        x = tl.tensor([0.0], requires_grad=True)
        with pytest.raises(FloatingPointError):
            (x.log() * 0).sum()  # -inf from a finite input: caught in anomaly mode
    finally:
        tl.set_anomaly_enabled(False)
    assert not tl.is_anomaly_enabled()
    with pytest.raises(TypeError, match="set_anomaly_enabled"):
        tl.set_anomaly_enabled(1)


def test_vmap_is_func_vmap():
    assert tl.vmap is tl.func.vmap
    x = tl.tensor(rn(4, 3))
    close(tl.vmap(lambda r: (r * r).sum())(x), torch.vmap(lambda r: (r * r).sum())(torch.tensor(x.data.copy())))


# ------------------------------------------------------------------- norms ----------
def test_nuclear_and_frobenius_norm():
    import warnings
    warnings.filterwarnings("ignore", message=".*is deprecated.*")
    check(tl.nuclear_norm, torch.nuclear_norm, [rn(4, 3)])
    check(lambda x: tl.nuclear_norm(x, True), lambda x: torch.nuclear_norm(x, True), [rn(4, 3)])
    check(lambda x: tl.nuclear_norm(x, (0, 2), True), lambda x: torch.nuclear_norm(x, (0, 2), True), [rn(2, 3, 4)])
    check(lambda x: tl.frobenius_norm(x, (0, 1)), lambda x: torch.frobenius_norm(x, (0, 1)), [rn(4, 3)])
    check(lambda x: tl.frobenius_norm(x, 1, True), lambda x: torch.frobenius_norm(x, 1, True), [rn(2, 3, 4)])
    with pytest.raises(ValueError, match="nuclear_norm"):
        tl.nuclear_norm(tl.tensor(rn(2, 3, 4)))
    with pytest.raises(ValueError, match="frobenius_norm"):
        tl.frobenius_norm(tl.tensor(rn(2, 3, 4)), (0, 1, 2))


# ---------------------------------------------------------------- gradient ----------
@pytest.mark.parametrize("edge_order", [1, 2])
def test_gradient(edge_order):
    f = rn(5, 6)

    def both(kw_t, kw_p):
        ts, ps = pair(f)
        out_t, out_p = tl.gradient(ts, edge_order=edge_order, **kw_t), torch.gradient(ps, edge_order=edge_order,
                                                                                        **kw_p)
        assert isinstance(out_t, tuple) and len(out_t) == len(out_p)
        for a, b in zip(out_t, out_p):
            close(a, b)
        w = [np.random.default_rng(i).standard_normal(tuple(b.shape)) for i, b in enumerate(out_p)]
        sum((a * tl.tensor(wi)).sum() for a, wi in zip(out_t, w)).backward()
        sum((b * torch.tensor(wi)).sum() for b, wi in zip(out_p, w)).backward()
        close(ts.grad, ps.grad)

    both({}, {})
    both({"spacing": 0.5}, {"spacing": 0.5})
    both({"spacing": [2.0, 0.3]}, {"spacing": [2.0, 0.3]})
    both({"dim": 1}, {"dim": 1})
    both({"spacing": 1.5, "dim": [1, 0]}, {"spacing": 1.5, "dim": [1, 0]})
    cx, cy = np.cumsum(R.random(5) + 0.2), np.cumsum(R.random(6) + 0.2)
    both({"spacing": (tl.tensor(cx), tl.tensor(cy))}, {"spacing": (torch.tensor(cx), torch.tensor(cy))})
    both({"spacing": [tl.tensor(cy)], "dim": -1}, {"spacing": [torch.tensor(cy)], "dim": -1})
    close(tl.gradient(tl.tensor(np.array([1, 4, 9, 16])))[0],
          torch.gradient(torch.tensor([1, 4, 9, 16], dtype=torch.float64))[0])


def test_gradient_refused():
    x = tl.tensor(rn(2, 3))
    with pytest.raises(ValueError, match="gradient"):
        tl.gradient(x, edge_order=3)
    with pytest.raises(ValueError, match="gradient"):
        tl.gradient(x, edge_order=2)  # axis 0 has 2 points
    with pytest.raises(ValueError, match="gradient"):
        tl.gradient(x, spacing=[1.0])
    with pytest.raises(ValueError, match="gradient"):
        tl.gradient(x, spacing=[tl.tensor([0.0, 1.0])], dim=1)
    with pytest.raises(IndexError, match="gradient"):
        tl.gradient(x, dim=2)


# ------------------------------------------------------------- histogramdd ----------
def test_histogramdd():
    pts = R.standard_normal((500, 2))
    for kw_t, kw_p in (({}, {}), ({"range": [-1.0, 1.0, -2.0, 2.0]}, {"range": [-1.0, 1.0, -2.0, 2.0]}),
                       ({"density": True}, {"density": True})):
        h_t = tl.histogramdd(tl.tensor(pts), [4, 5], **kw_t)
        h_p = torch.histogramdd(torch.tensor(pts), [4, 5], **kw_p)
        close(h_t.hist, h_p.hist)
        assert len(h_t.bin_edges) == 2
        for a, b in zip(h_t.bin_edges, h_p.bin_edges):
            close(a, b, tol=1e-12)
    w = R.random(500)
    e = [np.array([-3.0, -1.0, 0.0, 2.5]), np.array([-2.0, 0.0, 1.0])]
    h_t = tl.histogramdd(tl.tensor(pts), [tl.tensor(a) for a in e], weight=tl.tensor(w))
    h_p = torch.histogramdd(torch.tensor(pts), [torch.tensor(a) for a in e], weight=torch.tensor(w))
    close(h_t.hist, h_p.hist)
    h_t, h_p = tl.histogramdd(tl.tensor(pts[:, :1]), 3), torch.histogramdd(torch.tensor(pts[:, :1]), 3)
    close(h_t.hist, h_p.hist)
    with pytest.raises(ValueError, match="histogramdd"):
        tl.histogramdd(tl.tensor(pts), [3])
    with pytest.raises(ValueError, match="histogramdd"):
        tl.histogramdd(tl.tensor(pts), 3, weight=tl.tensor(w[:10]))
    with pytest.raises(TypeError, match="histogramdd"):
        tl.histogramdd(tl.tensor(np.array([[1, 2]])), 3)


def test_names_exported():
    from tinygrad_lite import torchnames
    assert set(torchnames.__all__) <= set(tl.__all__)
    import builtins
    assert not [n for n in torchnames.__all__ if hasattr(builtins, n)]
