"""Parity with torch for a mixed set of features: ``var`` / ``std`` with more correction than
elements, binary cross-entropy's gradient with respect to the target at p = 0 and 1, other
loss edges (empty batches, ``reduction="none"`` shapes), ``Bilinear``, ``AlphaDropout`` and
``FeatureAlphaDropout``, ``index_fill`` / ``index_add`` / ``index_copy``, ``LSTM`` with
``proj_size`` and the scalar ``Value``'s ``//`` and ``%``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _t(a: Any, grad: bool = True) -> Any:
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


# ----------------------------------------------------------------- var / std ---------------
@pytest.mark.parametrize("fn", ["var", "std"])
@pytest.mark.parametrize("shape, kw", [((2, 3), {"dim": 0, "correction": 3}), ((2, 3), {"dim": 1, "correction": 5}),
                                       ((2, 3), {"dim": 0, "correction": 2.5}), ((3,), {"dim": 0, "correction": 4}),
                                       ((2, 3), {"dim": (0, 1), "correction": 7}),
                                       ((2, 3), {"dim": 1, "correction": 4, "keepdim": True})])
def test_var_and_std_with_correction_above_n_along_a_dim_match_torch(fn: str, shape: tuple, kw: dict) -> None:
    """N < correction along a given dim: the value is inf (nan for a constant row); torch's
    gradient is the finite 2 (x - mean) / (N - correction) for var and 0 for std."""
    a = np.random.default_rng(0).normal(size=shape)
    a[-1] = 3.0  # a constant row: 0 / 0
    t, x = _t(a), tl.tensor(a, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = getattr(t, fn)(**kw)
    g = np.random.default_rng(1).normal(size=tuple(ref.shape))
    ref.backward(torch.tensor(g))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = getattr(x, fn)(**kw)
        out.backward(g)
    np.testing.assert_array_equal(out.data, ref.detach().numpy())
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-12, atol=1e-15)


# ----------------------------------------------------------------- loss edges --------------
_P = np.array([[0.0, 1.0, 0.3], [1.0, 0.0, 0.5]])
_T = np.array([[0.0, 1.0, 1.0], [0.0, 1.0, 0.2]])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_bce_gradient_wrt_the_target_at_p_0_and_1_is_torchs(reduction: str, weighted: bool) -> None:
    """d/dt = -w logit(p): +inf at p = 0 and -inf at p = 1 (not the clamped logs' +-100)."""
    w = np.array([1.0, 2.0, 0.5]) if weighted else None
    tp, tt = _t(_P), _t(_T)
    ref = TF.binary_cross_entropy(tp, tt, weight=None if w is None else torch.tensor(w), reduction=reduction)
    p, t = tl.tensor(_P, requires_grad=True), tl.tensor(_T, requires_grad=True)
    out = F.binary_cross_entropy(p, t, weight=w, reduction=reduction)
    g = np.random.default_rng(2).normal(size=tuple(ref.shape))
    ref.backward(torch.tensor(g))
    out.backward(g)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(t.grad, tt.grad.numpy(), rtol=1e-12)
    assert np.isinf(t.grad[:, :2]).all()


# ----------------------------------------------------------------- Bilinear ----------------
def test_bilinear_matches_torch_shapes_init_repr_and_gradients() -> None:
    m, ref = nn.Bilinear(3, 4, 5, rng=0), torch.nn.Bilinear(3, 4, 5).double()
    assert repr(m) == repr(ref)
    assert [(k, p.data.shape) for k, p in m.named_parameters()] == [(k, tuple(p.shape))
                                                                    for k, p in ref.named_parameters()]
    assert repr(nn.Bilinear(2, 2, 1, bias=False)) == repr(torch.nn.Bilinear(2, 2, 1, bias=False))
    assert nn.Bilinear(2, 2, 1, bias=False).bias is None
    big = nn.Bilinear(16, 3, 200, rng=1)  # uniform in +-1/sqrt(in1_features), as torch
    k = 1 / np.sqrt(16)
    for p in (big.weight.data, big.bias.data):
        assert np.abs(p).max() <= k and np.abs(p).max() > 0.95 * k
    m.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    rng = np.random.default_rng(3)
    for lead in [(6,), (2, 7), ()]:
        a, b = rng.normal(size=lead + (3,)), rng.normal(size=lead + (4,))
        ta, tb = _t(a), _t(b)
        x1, x2 = tl.tensor(a, requires_grad=True), tl.tensor(b, requires_grad=True)
        g = rng.normal(size=lead + (5,))
        ref.zero_grad()
        m.zero_grad()
        out, want = m(x1, x2), ref(ta, tb)
        want.backward(torch.tensor(g))
        out.backward(g)
        np.testing.assert_allclose(out.data, want.detach().numpy(), rtol=1e-12, atol=1e-14)
        for got, t in [(x1.grad, ta.grad), (x2.grad, tb.grad), (m.weight.grad, ref.weight.grad),
                       (m.bias.grad, ref.bias.grad)]:
            np.testing.assert_allclose(got, t.numpy(), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(F.bilinear(a, b, m.weight.data).data,
                                   TF.bilinear(ta, tb, ref.weight).detach().numpy(), rtol=1e-12, atol=1e-14)


def test_bilinear_refuses_mismatched_inputs_naming_the_shapes() -> None:
    m = nn.Bilinear(2, 3, 4, rng=0)
    for a, b in [((5, 2), (4, 3)), ((5, 2), (3,)), ((5, 3), (5, 2))]:
        with pytest.raises(RuntimeError):
            TF.bilinear(torch.zeros(a), torch.zeros(b), torch.zeros(4, 2, 3))
        with pytest.raises(ValueError, match=r"bilinear: .*" + str(a).replace("(", r"\(").replace(")", r"\)")):
            m(np.zeros(a), np.zeros(b))
    with pytest.raises(ValueError, match="bilinear: weight"):
        F.bilinear(np.zeros((5, 2)), np.zeros((5, 3)), np.zeros((2, 3)))


def test_bilinear_per_sample_gradients_equal_each_sample_alone() -> None:
    rng = np.random.default_rng(4)
    m = nn.Bilinear(3, 4, 2, rng=5)
    A, Bm, Y = rng.normal(size=(6, 3)), rng.normal(size=(6, 4)), rng.normal(size=(6, 2))
    alone = []
    for b in range(6):
        m.zero_grad()
        nn.mse_loss(m(tl.Tensor(A[b:b + 1]), tl.Tensor(Bm[b:b + 1])), Y[b:b + 1]).backward()
        alone.append([p.grad.copy() for p in m.parameters()])
    m.zero_grad()
    nn.mse_loss(m(tl.Tensor(A, batched=True), tl.Tensor(Bm, batched=True)), Y).backward()
    norms = m.weight.grad_sample_norm  # from the kept factors: no (B, out, in1, in2) array
    assert m.weight._gs is None
    for k, p in enumerate(m.parameters()):
        want = np.stack([row[k] for row in alone])
        np.testing.assert_allclose(p.grad_sample, want, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(p.grad_sample_norm, np.linalg.norm(want.reshape(6, -1), axis=1), rtol=1e-12)
        np.testing.assert_allclose(p.grad, want.mean(0), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(norms, np.linalg.norm(m.weight.grad_sample.reshape(6, -1), axis=1), rtol=1e-12)


# ----------------------------------------------------------------- alpha dropout -----------
def _torch_transform(fn: Any, x: np.ndarray, p: float, seed: int) -> tuple:
    """torch's map read off its outputs for x and x + 1 under one seed: the mask (where they
    differ), the kept slope and offset, and the dropped value (no constant copied here)."""
    outs = []
    for shift in (0.0, 1.0):
        torch.manual_seed(seed)
        outs.append(fn(torch.tensor(x + shift), p, True).numpy())
    kept = outs[1] != outs[0]
    slope = (outs[1] - outs[0])[kept]
    offset = (outs[0] - slope[0] * x)[kept]
    dropped = outs[0][~kept]
    assert np.allclose(slope, slope[0]) and np.allclose(offset, offset[0]) and np.allclose(dropped, dropped[0])
    return kept, slope[0], offset[0], dropped[0]


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
@pytest.mark.parametrize("feature", [False, True])
def test_alpha_dropout_is_torchs_affine_map_given_the_mask(p: float, feature: bool) -> None:
    ours, theirs = (F.feature_alpha_dropout, TF.feature_alpha_dropout) if feature else (F.alpha_dropout,
                                                                                       TF.alpha_dropout)
    x = np.random.default_rng(6).normal(size=(40, 30, 5))
    kept_t, a, k, d = _torch_transform(theirs, x, p, 0)
    y = ours(tl.tensor(x), p, True, rng=7).data
    kept = np.isclose(y, a * x + k, rtol=1e-12, atol=1e-12) & ~np.isclose(y, d)
    np.testing.assert_allclose(y, np.where(kept, a * x + k, d), rtol=1e-12, atol=1e-13)
    for m in (kept, kept_t):
        assert abs(m.mean() - (1 - p)) < 0.03
        if feature:  # one draw per (sample, channel)
            assert (m == m[:, :, :1]).all()
    # the statistics of a standard normal input are kept (mean 0, variance 1), as torch's
    z = np.random.default_rng(8).normal(size=(200, 100, 10))
    torch.manual_seed(1)
    yt = theirs(torch.tensor(z), p, True).numpy()
    yo = ours(tl.tensor(z), p, True, rng=9).data
    tol = 0.06 if feature else 0.02
    for s in (yt, yo):
        assert abs(s.mean()) < tol and abs(s.var() - 1) < 2 * tol


@pytest.mark.parametrize("name", ["alpha_dropout", "feature_alpha_dropout"])
def test_alpha_dropout_edges_as_torch(name: str) -> None:
    ours, theirs = getattr(F, name), getattr(TF, name)
    x = np.random.default_rng(10).normal(size=(3, 4))
    np.testing.assert_array_equal(ours(tl.tensor(x)).data, theirs(torch.tensor(x)).numpy())  # training=False
    for p in (0.0, 1.0):
        np.testing.assert_array_equal(ours(tl.tensor(x), p, True).data, theirs(torch.tensor(x), p, True).numpy())
    e = np.zeros((0, 3))
    assert ours(tl.tensor(e), 0.5, True).data.shape == tuple(theirs(torch.tensor(e), 0.5, True).shape)
    with pytest.raises(ValueError, match=name):
        ours(tl.tensor(x), 1.5, True)
    t, tt = tl.tensor(x), torch.tensor(x)  # inplace=True: the input takes the result and is returned
    assert ours(t, 1.0, True, inplace=True) is t
    theirs(tt, 1.0, True, inplace=True)
    np.testing.assert_array_equal(t.data, tt.numpy())
    xt = tl.tensor(x, requires_grad=True)
    ours(xt, 1.0, True).sum().backward()
    np.testing.assert_array_equal(xt.grad, np.zeros_like(x))
    if name == "feature_alpha_dropout":
        with pytest.raises(RuntimeError):
            theirs(torch.ones(5), 0.5, True)
        with pytest.raises(ValueError, match="feature_alpha_dropout: .*at least 2 axes.*\\(5,\\)"):
            ours(tl.tensor(np.ones(5)), 0.5, True)


@pytest.mark.parametrize("cls", ["AlphaDropout", "FeatureAlphaDropout"])
def test_alpha_dropout_modules_train_eval_repr_and_inplace(cls: str) -> None:
    for kw in ({}, {"p": 0.2}, {"p": 0.3, "inplace": True}):
        assert repr(getattr(nn, cls)(**kw)) == repr(getattr(torch.nn, cls)(**kw))
    m = getattr(nn, cls)(0.5, rng=0, inplace=True)
    x = np.random.default_rng(11).normal(size=(4, 3, 2))
    xt = tl.tensor(x.copy())
    y = m(xt)
    assert not np.allclose(y.data, x) and np.array_equal(xt.data, x)  # the input is left as it was
    m.eval()
    assert m(xt) is xt
    ref = getattr(torch.nn, cls)(0.5).eval()
    np.testing.assert_array_equal(ref(torch.tensor(x)).numpy(), m(xt).data)


def test_alpha_dropout_gradient_is_the_kept_slope() -> None:
    x = tl.tensor(np.random.default_rng(12).normal(size=(50, 6)), requires_grad=True)
    y = F.alpha_dropout(x, 0.4, True, rng=3)
    y.sum().backward()
    kept = x.grad != 0
    alpha = -TF.selu(torch.tensor(-np.inf, dtype=torch.float64)).item()  # SELU's saturation value, negated
    a = 1 / np.sqrt((1 - 0.4) * (1 + 0.4 * alpha ** 2))
    np.testing.assert_allclose(x.grad[kept], a, rtol=1e-12)
    assert np.ptp(y.data[~kept]) == 0


# ----------------------------------------------------------------- LSTM(proj_size) ---------
@pytest.mark.parametrize("layers, bidir, batch_first, bias", [(1, False, False, True), (2, True, True, True),
                                                              (3, False, True, False), (2, True, False, True)])
def test_lstm_with_proj_size_matches_torch_outputs_and_every_gradient(layers: int, bidir: bool, batch_first: bool,
                                                                      bias: bool) -> None:
    torch.manual_seed(0)
    kw = dict(num_layers=layers, bidirectional=bidir, batch_first=batch_first, bias=bias, proj_size=3)
    ref = torch.nn.LSTM(4, 5, **kw).double()
    m = nn.LSTM(4, 5, rng=0, **kw)
    assert repr(m) == repr(ref)
    assert [(k, p.data.shape) for k, p in m.named_parameters()] == [(k, tuple(p.shape))
                                                                    for k, p in ref.named_parameters()]
    m.load_state_dict({k: v.numpy() for k, v in ref.state_dict().items()})
    D, N, T = 2 if bidir else 1, 2, 4
    rng = np.random.default_rng(1)
    x = rng.normal(size=(N, T, 4) if batch_first else (T, N, 4))
    h0, c0 = rng.normal(size=(D * layers, N, 3)), rng.normal(size=(D * layers, N, 5))
    tx, th, tc = _t(x), _t(h0), _t(c0)
    out_t, (hn_t, cn_t) = ref(tx, (th, tc))
    lx, lh, lc = (tl.tensor(a, requires_grad=True) for a in (x, h0, c0))
    out, (hn, cn) = m(lx, (lh, lc))
    assert out.shape == tuple(out_t.shape) and hn.shape == (D * layers, N, 3) and cn.shape == (D * layers, N, 5)
    gs = [rng.normal(size=tuple(a.shape)) for a in (out_t, hn_t, cn_t)]
    torch.autograd.backward([out_t, hn_t, cn_t], [torch.tensor(g) for g in gs])
    for ours, g in zip((out, hn, cn), gs):
        ours.backward(g)
    for got, want in [(out, out_t), (hn, hn_t), (cn, cn_t)]:
        np.testing.assert_allclose(got.data, want.detach().numpy(), rtol=1e-12, atol=1e-13)
    for got, want in [(lx, tx), (lh, th), (lc, tc)]:
        np.testing.assert_allclose(got.grad, want.grad.numpy(), rtol=1e-10, atol=1e-12)
    named = dict(ref.named_parameters())
    for k, p in m.named_parameters():
        np.testing.assert_allclose(p.grad, named[k].grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=k)
    # unbatched input and default states, too
    out_t, (hn_t, _) = ref(tx[0] if batch_first else tx[:, 0])
    out, (hn, _) = m(x[0] if batch_first else x[:, 0])
    np.testing.assert_allclose(out.data, out_t.detach().numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(hn.data, hn_t.detach().numpy(), rtol=1e-12, atol=1e-13)


def test_lstm_proj_size_bounds_and_state_shapes_as_torch() -> None:
    for p in (5, 6, -1):
        with pytest.raises(ValueError):
            torch.nn.LSTM(4, 5, proj_size=p)
        with pytest.raises(ValueError, match="LSTM: proj_size"):
            nn.LSTM(4, 5, proj_size=p)
    m = nn.LSTM(4, 5, proj_size=2, rng=0)
    with pytest.raises(ValueError, match=r"h_0 must have shape \(1, 3, 2\)"):
        m(np.zeros((6, 3, 4)), (np.zeros((1, 3, 5)), np.zeros((1, 3, 5))))
    with pytest.raises(ValueError, match=r"c_0 must have shape \(1, 3, 5\)"):
        m(np.zeros((6, 3, 4)), (np.zeros((1, 3, 2)), np.zeros((1, 3, 2))))


def test_lstm_proj_size_per_sample_gradients_from_the_output() -> None:
    m = nn.LSTM(3, 4, proj_size=2, batch_first=True, num_layers=2, rng=2)
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(5, 3, 3)), rng.normal(size=(5, 2))
    alone = []
    for b in range(5):
        m.zero_grad()
        nn.mse_loss(m(tl.Tensor(X[b:b + 1]))[0][:, -1], Y[b:b + 1]).backward()
        alone.append([p.grad.copy() for p in m.parameters()])
    m.zero_grad()
    nn.mse_loss(m(tl.Tensor(X, batched=True))[0][:, -1], Y).backward()
    for k, p in enumerate(m.parameters()):
        np.testing.assert_allclose(p.grad_sample, np.stack([row[k] for row in alone]), rtol=1e-10, atol=1e-14)


# ----------------------------------------------------------------- index_fill / add / copy -
_INDEX_CASES = [((4, 3), 0, [2, 0, 2]), ((4, 3), 1, [1]), ((2, 5, 3), 1, [4, 0, 4, 1]), ((2, 5, 3), -1, [0, 2]),
                ((5,), 0, [3, 3, 1]), ((2, 3), 1, [])]


@pytest.mark.parametrize("shape, dim, index", _INDEX_CASES)
@pytest.mark.parametrize("op", ["index_add", "index_copy", "index_fill"])
def test_index_ops_match_torch_values_and_gradients(op: str, shape: tuple, dim: int, index: list) -> None:
    rng = np.random.default_rng(len(index) + len(shape))
    a = rng.normal(size=shape)
    idx = np.array(index, dtype=np.int64)
    src_shape = list(shape)
    src_shape[dim] = len(index)
    s = rng.normal(size=src_shape)
    if op == "index_copy" and len(set(index)) < len(index):  # repeated positions: the last copy stays
        s = np.take(s, [max(i for i, v in enumerate(index) if v == j) for j in index], axis=dim)
    ta, x = _t(a), tl.tensor(a, requires_grad=True)
    if op == "index_fill":
        ts, src = _t(1.5), tl.tensor(1.5, requires_grad=True)
        want, got = ta.index_fill(dim, torch.tensor(idx), ts), x.index_fill(dim, idx, src)
    else:
        ts, src = _t(s), tl.tensor(s, requires_grad=True)
        kw = {"alpha": 0.5} if op == "index_add" else {}
        want = getattr(ta, op)(dim, torch.tensor(idx), ts, **kw)
        got = getattr(x, op)(dim, tl.tensor(idx), src, **kw)
    np.testing.assert_allclose(got.data, want.detach().numpy(), rtol=1e-15)
    g = rng.normal(size=shape)
    want.backward(torch.tensor(g))
    got.backward(g)
    np.testing.assert_allclose(x.grad, ta.grad.numpy(), rtol=1e-15)
    np.testing.assert_allclose(src.grad, ts.grad.numpy(), rtol=1e-14)
    for name in (op, op + "_"):  # float32 stays float32, the in-place form writes the same values
        x32 = tl.tensor(a.astype(np.float32))
        arg = 1.5 if op == "index_fill" else s.astype(np.float32)
        out = getattr(x32, name)(dim, idx, arg, **({"alpha": 0.5} if op == "index_add" else {}))
        assert out.dtype == np.float32 and (out is x32) == name.endswith("_")
        np.testing.assert_allclose(out.data, want.detach().numpy(), rtol=1e-6, atol=1e-6)


def test_index_ops_on_a_0d_tensor_and_negative_fill_positions_as_torch() -> None:
    for op, arg in (("index_add", 2.0), ("index_copy", 3.0), ("index_fill", 1.0)):
        targ = torch.tensor(arg, dtype=torch.float64) if op != "index_fill" else arg
        want = getattr(torch.tensor(5.0, dtype=torch.float64), op)(0, torch.tensor([0]), targ)
        got = getattr(tl.tensor(5.0), op)(0, np.array([0]), tl.tensor(arg) if op != "index_fill" else arg)
        assert got.shape == () and got.item() == want.item()
    a = np.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(tl.tensor(a).index_fill(0, np.array([-1, 0]), -7.0).data,
                                  torch.tensor(a).index_fill(0, torch.tensor([-1, 0]), -7.0).numpy())


@pytest.mark.parametrize("call, exc, msg", [
    (lambda m, x, s: x.index_add(0, m([0, -1]), s), IndexError, "index_add: index -1 is out of range"),
    (lambda m, x, s: x.index_copy(0, m([0, 3]), s), IndexError, "index_copy: index 3 is out of range"),
    (lambda m, x, s: x.index_fill(0, m([3]), 1.0), IndexError, "index_fill: index 3"),
    (lambda m, x, s: x.index_add(0, m([[0, 1]]), s), TypeError, "index_add: index must be a 0-d or 1-D"),
    (lambda m, x, s: x.index_add(1, m([0, 1]), s), ValueError, r"index_add: source of shape \(2, 4\)"),
    (lambda m, x, s: x.index_copy(0, m([0, 1, 2]), s), ValueError, r"index_copy: source of shape \(2, 4\)"),
    (lambda m, x, s: x.index_add(0, m([0, 1]), s.float() if hasattr(s, "float") and not isinstance(s, np.ndarray)
                                 else s.astype(np.float32)), TypeError, "index_add: source of dtype float32"),
])
def test_index_ops_refuse_bad_input_as_torch_naming_the_op(call: Any, exc: type, msg: str) -> None:
    a, s = np.zeros((3, 4)), np.ones((2, 4))
    with pytest.raises((IndexError, RuntimeError, TypeError, ValueError)):
        call(torch.tensor, torch.tensor(a), torch.tensor(s))
    x = tl.tensor(a)
    with pytest.raises(exc, match=msg):
        call(np.array, x, s)
    np.testing.assert_array_equal(x.data, a)


def test_index_ops_in_place_on_a_leaf_are_refused_and_recorded_inside_a_graph() -> None:
    w = tl.tensor(np.zeros((3, 2)), requires_grad=True)
    with pytest.raises(RuntimeError, match="index_add_"):
        w.index_add_(0, np.array([1]), np.ones((1, 2)))
    np.testing.assert_array_equal(w.data, np.zeros((3, 2)))
    with tl.no_grad():
        w.index_add_(0, np.array([1, 1]), np.ones((2, 2)))
    np.testing.assert_array_equal(w.data, [[0, 0], [2, 2], [0, 0]])
    y = w * 2
    assert y.index_copy_(0, np.array([0]), np.ones((1, 2))) is y  # recorded: y is now the index_copy's output
    np.testing.assert_array_equal(y.data, [[1, 1], [4, 4], [0, 0]])
    y.sum().backward()
    np.testing.assert_array_equal(w.grad, [[0, 0], [2, 2], [2, 2]])  # row 0 was overwritten: no gradient


@pytest.mark.parametrize("op", ["index_add", "index_copy"])
def test_index_ops_keep_per_sample_gradients_off_the_sample_axis(op: str) -> None:
    """A batched source written into a parameter's columns (axis 1): each sample's gradient is
    its own; along axis 0 the op mixes samples and reading grad_sample says so."""
    rng = np.random.default_rng(13)
    X, Y = rng.normal(size=(4, 2)), rng.normal(size=(4, 5))
    W0 = rng.normal(size=(4, 5))
    idx = np.array([3, 1])

    def run(rows: slice, W: Any, batched: bool) -> Any:
        xt = tl.Tensor(X[rows], batched=batched) * W[rows, :2]
        return nn.mse_loss(getattr(W[rows], op)(1, idx, xt), Y[rows])

    alone = []
    for b in range(4):
        W = tl.tensor(W0, requires_grad=True)
        run(slice(b, b + 1), W, False).backward()
        alone.append(W.grad)
    W = tl.tensor(W0, requires_grad=True)
    loss = run(slice(None), W, True)
    loss.backward()
    np.testing.assert_allclose(W.grad_sample, np.stack(alone), rtol=1e-12, atol=1e-15)
    W = tl.tensor(W0, requires_grad=True)
    nn.mse_loss(getattr(W, op)(0, np.array([0]), tl.Tensor(X[:1, :1].repeat(5, 1), batched=True)), Y).backward()
    with pytest.raises(RuntimeError, match=op):
        _ = W.grad_sample


# ----------------------------------------------------------------- rounded division --------
_DIV_PAIRS = [(7.0, 2.0), (-7.0, 2.0), (7.0, -2.0), (7.0, 0.1), (-5.0, np.inf), (5.0, -np.inf), (7.5, 0.0),
              (-1.0, 0.0), (0.0, 0.0), (np.inf, 7.0), (2.5, 0.5), (-0.0, 3.0)]


def test_remainder_gradient_uses_the_exact_floor_quotient_as_torch() -> None:
    """d(a % b)/db = -(a // b): 7 // 0.1 is 69 (floor(7 / 0.1) rounds to 70), -5 // inf is -1."""
    A, B = (np.array(v) for v in zip(*_DIV_PAIRS))
    ta, tb = _t(A), _t(B)
    torch.remainder(ta, tb).sum().backward()
    x, y = tl.tensor(A, requires_grad=True), tl.tensor(B, requires_grad=True)
    with np.errstate(all="ignore"):
        (x % y).sum().backward()
    np.testing.assert_array_equal(x.grad, ta.grad.numpy())
    np.testing.assert_array_equal(y.grad, tb.grad.numpy())


@pytest.mark.parametrize("a, b", _DIV_PAIRS)
def test_value_floordiv_and_mod_match_torch_values_and_gradients(a: float, b: float) -> None:
    """Value // and %: Value with Value, with a number on either side; torch's values, its
    remainder gradients (d/da = 1, d/db = -(a // b)) and a zero gradient through //."""
    def ref(op: str) -> tuple:
        ta, tb = _t(a), _t(b)
        out = getattr(torch, op)(ta, tb)
        if op == "remainder":
            out.backward()
            return out.item(), ta.grad.item(), tb.grad.item()
        return out.item(), 0.0, 0.0

    def same(x: float, y: float) -> bool:
        return (np.isnan(x) and np.isnan(y)) or x == y

    for op, fn in (("floor_divide", lambda u, v: u // v), ("remainder", lambda u, v: u % v)):
        val, ga, gb = ref(op)
        u, v = tl.Value(a), tl.Value(b)
        out = fn(u, v)
        out.backward()
        assert same(out.data, val) and same(u.grad, ga) and same(v.grad, gb), (op, out, u.grad, v.grad)
        assert out._op.name == getattr(tl.ops, "FLOORDIV" if op == "floor_divide" else "REMAINDER").name
        u, v = tl.Value(a), tl.Value(b)
        left, right = fn(u, b), fn(a, v)
        left.backward()
        right.backward()
        assert same(left.data, val) and same(right.data, val) and same(u.grad, ga) and same(v.grad, gb)
    with pytest.raises(TypeError):
        tl.Value(1.0) // "2"
    with pytest.raises(TypeError):
        None % tl.Value(1.0)
