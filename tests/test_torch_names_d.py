"""torch's recurrent cell functions, native_* normalisations and dropout, cond / while_loop,
householder_product (orgqr), svd_lowrank / pca_lowrank and the top-level embedding_bag,
checked against torch (values, gradients, errors), finite differences and per-sample
gradients."""

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")

from test_torch_names_c import fd_grad  # noqa: E402  (central differences; skips without torch too)

RNG = np.random.default_rng(0)


def T(a, rg=False, batched=False):
    return tl.Tensor(np.array(a, dtype=np.float64), requires_grad=rg, batched=batched)


def TT(a, rg=False):
    return torch.tensor(np.array(a, dtype=np.float64), requires_grad=rg)


def per_sample_matches_one_at_a_time(loss, X, params, rtol, atol):
    """loss(X, batched=True).backward() gives every p.grad_sample[s] of ``params`` equal to p.grad
    of loss(X[s:s+1], batched=False)."""
    loss(X, True).backward()
    got = [p.grad_sample.copy() for p in params]
    for s in range(len(X)):
        for p in params:
            p.grad = None
        loss(X[s:s + 1], False).backward()
        for g, p in zip(got, params):
            np.testing.assert_allclose(g[s], p.grad, rtol=rtol, atol=atol)


def backward_matches(got, want, u, ours, theirs):
    """sum(got * u) and sum(want * u) give the same gradients to ``ours`` and to ``theirs``."""
    (got * u).sum().backward()
    (want * torch.tensor(u)).sum().backward()
    for a, b in zip(ours, theirs):
        close(a.grad, b.grad.numpy(), rtol=1e-10, atol=1e-12)


def close(a, b, rtol=1e-12, atol=1e-13):
    a = a.data if isinstance(a, tl.Tensor) else a
    b = b.detach().numpy() if isinstance(b, torch.Tensor) else b
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


TORCH_ERRORS = (RuntimeError, TypeError, ValueError, IndexError, AssertionError)  # torch's refusals


def raises_both(tl_call, torch_call, exc, match):
    with pytest.raises(exc, match=match):
        tl_call()
    with pytest.raises(TORCH_ERRORS):
        torch_call()


# --------------------------------------------------------------------------- cells -------
CELLS = [("rnn_tanh_cell", 1), ("rnn_relu_cell", 1), ("gru_cell", 3), ("lstm_cell", 4)]


def _cell_data(G, N=3, I=4, H=5, seed=1):
    r = np.random.default_rng(seed)
    return dict(x=r.standard_normal((N, I)), h=r.standard_normal((N, H)), c=r.standard_normal((N, H)),
                w_ih=r.standard_normal((G * H, I)) * 0.5, w_hh=r.standard_normal((G * H, H)) * 0.5,
                b_ih=r.standard_normal(G * H), b_hh=r.standard_normal(G * H))


def _run_cell(lib, name, d, bias, mk):
    args = [mk(d["x"]), (mk(d["h"]), mk(d["c"])) if name == "lstm_cell" else mk(d["h"]), mk(d["w_ih"]), mk(d["w_hh"])]
    if bias:
        args += [mk(d["b_ih"]), mk(d["b_hh"])]
    out = getattr(lib, name)(*args)
    return out if isinstance(out, tuple) else (out,)


@pytest.mark.parametrize("name,G", CELLS)
@pytest.mark.parametrize("bias", [True, False])
def test_cells_values_and_gradients_match_torch(name, G, bias):
    d = _cell_data(G)
    ups = [np.random.default_rng(9).standard_normal((3, 5)) for _ in range(2)]
    tls, ths = {}, {}

    def mk_tl(a):
        t = T(a, True)
        tls[len(tls)] = t
        return t

    def mk_th(a):
        t = TT(a, True)
        ths[len(ths)] = t
        return t

    got = _run_cell(tl, name, d, bias, mk_tl)
    want = _run_cell(torch, name, d, bias, mk_th)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == tuple(w.shape) and g.data.dtype == np.float64
        close(g, w)
    sum(((g * u).sum() for g, u in zip(got, ups))).backward()
    sum(((w * torch.tensor(u)).sum() for w, u in zip(want, ups))).backward()
    for k in tls:
        close(tls[k].grad, ths[k].grad.numpy())


def test_lstm_cell_gradient_matches_finite_differences_and_takes_a_list():
    d = _cell_data(4)
    u = np.random.default_rng(3).standard_normal((3, 5))

    def f(w_hh):
        h, c = tl.lstm_cell(T(d["x"]), [T(d["h"]), T(d["c"])], T(d["w_ih"]), T(w_hh), T(d["b_ih"]), T(d["b_hh"]))
        return float(((h + c) * u).sum().data)

    w = T(d["w_hh"], True)
    h, c = tl.lstm_cell(T(d["x"]), (T(d["h"]), T(d["c"])), T(d["w_ih"]), w, T(d["b_ih"]), T(d["b_hh"]))
    ((h + c) * u).sum().backward()
    np.testing.assert_allclose(w.grad, fd_grad(f, d["w_hh"]), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name,G", CELLS)
def test_cells_keep_per_sample_gradients(name, G):
    d = _cell_data(G, N=4)
    W = {k: T(d[k], True) for k in ("w_ih", "w_hh", "b_ih", "b_hh")}

    def run(x, h, c, batched):
        hx = (T(h, batched=batched), T(c, batched=batched)) if name == "lstm_cell" else T(h, batched=batched)
        out = getattr(tl, name)(T(x, batched=batched), hx, W["w_ih"], W["w_hh"], W["b_ih"], W["b_hh"])
        return sum((o * o).sum() for o in (out if isinstance(out, tuple) else (out,)))

    run(d["x"], d["h"], d["c"], True).backward()
    got = {k: w.grad_sample.copy() for k, w in W.items()}
    for b in range(4):
        for w in W.values():
            w.grad = None
        run(d["x"][b:b + 1], d["h"][b:b + 1], d["c"][b:b + 1], False).backward()
        for k, w in W.items():
            np.testing.assert_allclose(got[k][b], w.grad, rtol=1e-10, atol=1e-14, err_msg=k)


def _bad_cell_calls():
    d = _cell_data(1)
    d4 = _cell_data(4)
    x, h, wi, wh = d["x"], d["h"], d["w_ih"], d["w_hh"]
    return [
        ("rnn_tanh_cell", (x[0], h[0], wi, wh), IndexError, "2-D"),  # torch's top-level cells take no 1-D input
        ("rnn_tanh_cell", (x[:, :3], h, wi, wh), ValueError, "input_size 4"),
        ("rnn_tanh_cell", (x, h[:, :4], wi, wh), ValueError, "hidden state 0"),
        ("rnn_tanh_cell", (x[:2], h, wi, wh), ValueError, r"\(2, 5\)"),
        ("rnn_tanh_cell", (x, h, wi[:4], wh), ValueError, "w_ih's first dim must be 1"),
        ("rnn_tanh_cell", (x, h, wi, wh, np.zeros(4)), ValueError, "b_ih must have shape"),
        ("gru_cell", (x, h, np.ones((15, 4)), np.ones((14, 5))), ValueError, "w_hh's first dim must be 3"),
        ("lstm_cell", (x, (h, d4["c"][:2]), d4["w_ih"], d4["w_hh"]), ValueError, "hidden state 1"),
        ("lstm_cell", (x, (h,), d4["w_ih"], d4["w_hh"]), ValueError, "two hidden states"),
    ]


@pytest.mark.parametrize("name,args,exc,match", _bad_cell_calls())
def test_cells_refuse_what_torch_refuses(name, args, exc, match):
    def conv(a, mk):
        return tuple(mk(v) for v in a) if isinstance(a, tuple) else mk(a)

    raises_both(lambda: getattr(tl, name)(*[conv(a, T) for a in args]),
                lambda: getattr(torch, name)(*[conv(a, TT) for a in args]), exc, match)


def test_cells_refuse_a_missing_state_and_mixed_dtypes():
    d = _cell_data(1)
    with pytest.raises(TypeError, match="rnn_tanh_cell: hx must be a Tensor"):
        tl.rnn_tanh_cell(T(d["x"]), None, T(d["w_ih"]), T(d["w_hh"]))
    with pytest.raises(TypeError):
        torch.rnn_tanh_cell(TT(d["x"]), None, TT(d["w_ih"]), TT(d["w_hh"]))
    raises_both(lambda: tl.rnn_relu_cell(tl.Tensor(d["x"].astype(np.float32)), T(d["h"]), T(d["w_ih"]), T(d["w_hh"])),
                lambda: torch.rnn_relu_cell(TT(d["x"]).float(), TT(d["h"]), TT(d["w_ih"]), TT(d["w_hh"])),
                TypeError, "dtype")
    with pytest.raises(TypeError, match="lstm_cell: hx must be a tuple"):
        tl.lstm_cell(T(d["x"]), T(d["h"]), T(np.ones((20, 4))), T(np.ones((20, 5))))


# -------------------------------------------------------------------- normalisations ------
@pytest.mark.parametrize("ns", [[5], [4, 5], [3, 4, 5]])
@pytest.mark.parametrize("affine", [True, False])
def test_native_layer_norm_matches_torch(ns, affine):
    x = RNG.standard_normal((2, 3, 4, 5))
    w, b = RNG.standard_normal(ns), RNG.standard_normal(ns)
    u = RNG.standard_normal(x.shape)
    tx, tw, tb = T(x, True), T(w, True), T(b, True)
    px, pw, pb = TT(x, True), TT(w, True), TT(b, True)
    got = tl.native_layer_norm(tx, ns, tw if affine else None, tb if affine else None, 1e-5)
    want = torch.native_layer_norm(px, ns, pw if affine else None, pb if affine else None, 1e-5)
    for g, v in zip(got, want):
        assert g.shape == tuple(v.shape) and g.data.dtype == np.float64
        close(g, v)
    assert not got[1].requires_grad and not got[2].requires_grad and not want[1].requires_grad
    backward_matches(got[0], want[0], u, [tx, tw, tb] if affine else [tx], [px, pw, pb] if affine else [px])


def test_native_layer_norm_refuses_what_torch_refuses():
    x = RNG.standard_normal((2, 3, 4))
    for args, exc, match in [(([3],), ValueError, "does not end"), (([],), ValueError, "at least one"),
                             ((4,), TypeError, "tuple of ints")]:
        raises_both(lambda args=args: tl.native_layer_norm(T(x), *args, None, None, 1e-5),
                    lambda args=args: torch.native_layer_norm(TT(x), *args, None, None, 1e-5), exc, match)
    raises_both(lambda: tl.native_layer_norm(T(x), [4], T(np.ones(3)), None, 1e-5),
                lambda: torch.native_layer_norm(TT(x), [4], TT(np.ones(3)), None, 1e-5), ValueError, "weight")
    raises_both(lambda: tl.native_layer_norm(T(x), [4], tl.Tensor(np.ones(4, np.float32)), None, 1e-5),
                lambda: torch.native_layer_norm(TT(x), [4], torch.ones(4), None, 1e-5), TypeError, "dtype")


@pytest.mark.parametrize("shape", [(4, 3), (4, 3, 5), (2, 3, 2, 2)])
@pytest.mark.parametrize("affine", [True, False])
def test_native_batch_norm_training_matches_torch(shape, affine):
    x = RNG.standard_normal(shape)
    w, b = RNG.standard_normal(3), RNG.standard_normal(3)
    u = RNG.standard_normal(shape)
    rm, rv = RNG.standard_normal(3), RNG.random(3) + 0.5
    t_rm, t_rv, p_rm, p_rv = T(rm), T(rv), TT(rm), TT(rv)
    tx, tw, tb, px, pw, pb = T(x, True), T(w, True), T(b, True), TT(x, True), TT(w, True), TT(b, True)
    got = tl.native_batch_norm(tx, tw if affine else None, tb if affine else None, t_rm, t_rv, True, 0.3, 1e-5)
    want = torch.native_batch_norm(px, pw if affine else None, pb if affine else None, p_rm, p_rv, True, 0.3, 1e-5)
    for g, v in zip(got, want):
        assert g.shape == tuple(v.shape)
        close(g, v)
    close(t_rm, p_rm)
    close(t_rv, p_rv)
    backward_matches(got[0], want[0], u, [tx, tw, tb] if affine else [tx], [px, pw, pb] if affine else [px])
    # without running statistics: the batch's, nothing updated
    g2 = tl.native_batch_norm(T(x), None, None, None, None, True, 0.1, 1e-5)
    w2 = torch.native_batch_norm(TT(x), None, None, None, None, True, 0.1, 1e-5)
    for g, v in zip(g2, w2):
        close(g, v)


def test_native_batch_norm_evaluation_returns_empty_saved_tensors():
    x = RNG.standard_normal((4, 3, 5))
    rm, rv = RNG.standard_normal(3), RNG.random(3) + 0.5
    t_rm, t_rv = T(rm), T(rv)
    tx, px = T(x, True), TT(x, True)
    got = tl.native_batch_norm(tx, None, None, t_rm, t_rv, False, 0.1, 1e-5)
    want = torch.native_batch_norm(px, None, None, TT(rm), TT(rv), False, 0.1, 1e-5)
    close(got[0], want[0])
    assert got[1].shape == got[2].shape == tuple(want[1].shape) == tuple(want[2].shape) == (0,)
    assert got[1].data.dtype == np.float64
    np.testing.assert_array_equal(t_rm.data, rm)  # evaluation leaves the running statistics alone
    got[0].sum().backward()
    want[0].sum().backward()
    close(tx.grad, px.grad.numpy())


def test_native_batch_norm_refuses_what_torch_refuses():
    x = RNG.standard_normal((4, 3, 5))
    rm, rv = np.zeros(3), np.ones(3)
    raises_both(lambda: tl.native_batch_norm(T(x), None, None, T(rm), None, True, 0.1, 1e-5),
                lambda: torch.native_batch_norm(TT(x), None, None, TT(rm), None, True, 0.1, 1e-5),
                ValueError, "both be None")
    raises_both(lambda: tl.native_batch_norm(T(x), None, None, T(rm), T(rv), True, None, 1e-5),
                lambda: torch.native_batch_norm(TT(x), None, None, TT(rm), TT(rv), True, None, 1e-5),
                TypeError, "momentum")
    # (torch does not check these lengths and reads past the end of the buffer; the package refuses)
    with pytest.raises(ValueError, match="native_batch_norm: weight of shape \\(2,\\)"):
        tl.native_batch_norm(T(x), T(np.ones(2)), None, T(rm), T(rv), True, 0.1, 1e-5)
    with pytest.raises(ValueError, match="native_batch_norm: running_mean of shape \\(2,\\)"):
        tl.native_batch_norm(T(x), None, None, T(rm[:2]), T(rv[:2]), True, 0.1, 1e-5)
    f32 = tl.Tensor(np.zeros(3, np.float32))
    before = T(rv)
    raises_both(lambda: tl.native_batch_norm(T(x), None, None, f32, before, True, 0.1, 1e-5),
                lambda: torch.native_batch_norm(TT(x), None, None, torch.zeros(3), TT(rv), True, 0.1, 1e-5),
                TypeError, "dtype")
    np.testing.assert_array_equal(before.data, rv)  # a refused call changes nothing
    # (torch crashes on evaluation without running statistics; the package refuses it)
    with pytest.raises(ValueError, match="native_batch_norm: evaluation"):
        tl.native_batch_norm(T(x), None, None, None, None, False, 0.1, 1e-5)


@pytest.mark.parametrize("shape,N,C,HxW,G", [((2, 6, 4), 2, 6, 4, 3), ((2, 6, 2, 2), 2, 6, 4, 2),
                                              ((2, 24), 2, 6, 4, 3), ((3, 4), 3, 4, 1, 4)])
def test_native_group_norm_matches_torch_with_gradients_of_all_outputs(shape, N, C, HxW, G):
    x = RNG.standard_normal(shape)
    w, b = RNG.standard_normal(C), RNG.standard_normal(C)
    us = [RNG.standard_normal(shape), RNG.standard_normal((N, G)), RNG.standard_normal((N, G))]
    tx, tw, tb, px, pw, pb = T(x, True), T(w, True), T(b, True), TT(x, True), TT(w, True), TT(b, True)
    got = tl.native_group_norm(tx, tw, tb, N, C, HxW, G, 1e-5)
    want = torch.native_group_norm(px, pw, pb, N, C, HxW, G, 1e-5)
    for g, v in zip(got, want):
        assert g.shape == tuple(v.shape)
        close(g, v, rtol=1e-11)
    assert got[1].requires_grad and want[1].requires_grad
    sum((g * u).sum() for g, u in zip(got, us)).backward()
    sum((v * torch.tensor(u)).sum() for v, u in zip(want, us)).backward()
    for a, p in ((tx, px), (tw, pw), (tb, pb)):
        close(a.grad, p.grad.numpy(), rtol=1e-10, atol=1e-12)

    def f(xa):
        o, m, r = tl.native_group_norm(T(xa), T(w), T(b), N, C, HxW, G, 1e-5)
        return float(sum((t * u).sum().data for t, u in zip((o, m, r), us)))

    np.testing.assert_allclose(tx.grad, fd_grad(f, x), rtol=1e-6, atol=1e-8)


def test_native_group_norm_refuses_what_torch_refuses():
    x = RNG.standard_normal((2, 6, 4))
    for args, match in [((2, 6, 5, 3), "N \\* C \\* HxW"), ((2, 6, 4, 4), "does not divide"),
                        ((2, 6, 4, 0), "group must be > 0")]:
        raises_both(lambda args=args: tl.native_group_norm(T(x), None, None, *args, 1e-5),
                    lambda args=args: torch.native_group_norm(TT(x), None, None, *args, 1e-5), ValueError, match)
    raises_both(lambda: tl.native_group_norm(T(x), T(np.ones(5)), None, 2, 6, 4, 3, 1e-5),
                lambda: torch.native_group_norm(TT(x), TT(np.ones(5)), None, 2, 6, 4, 3, 1e-5), ValueError, "weight")


def test_normalisations_keep_per_sample_gradients():
    x = RNG.standard_normal((4, 6, 3))
    w, b = T(RNG.standard_normal(6), True), T(RNG.standard_normal(6), True)
    lw, lb = T(RNG.standard_normal(3), True), T(RNG.standard_normal(3), True)

    def loss(xa, batched):
        o = tl.native_group_norm(T(xa, batched=batched), w, b, xa.shape[0], 6, 3, 2, 1e-5)[0]
        o2 = tl.native_layer_norm(o, [3], lw, lb, 1e-5)[0]
        return (o2 * o2 * o2).sum()

    per_sample_matches_one_at_a_time(loss, x, (w, b, lw, lb), 1e-10, 1e-13)


# ------------------------------------------------------------------------- dropout -------
@pytest.mark.parametrize("train", [None, True])
def test_native_dropout_mask_output_gradient_and_seed(train):
    x = RNG.standard_normal((30, 40))
    tl.manual_seed(7)
    tx = T(x, True)
    out, mask = tl.native_dropout(tx, 0.3, train)
    assert mask.data.dtype == np.bool_ and mask.shape == x.shape and not mask.requires_grad
    np.testing.assert_allclose(out.data, x * mask.data / 0.7, rtol=1e-15)
    assert 0.6 < mask.data.mean() < 0.8  # about 1 - p kept (1200 draws)
    u = RNG.standard_normal(x.shape)
    (out * u).sum().backward()
    np.testing.assert_allclose(tx.grad, u * mask.data / 0.7, rtol=1e-15)
    tl.manual_seed(7)
    again = tl.native_dropout(T(x), 0.3, train)[1]
    np.testing.assert_array_equal(again.data, mask.data)
    tl.manual_seed(7)
    same_as_dropout = tl.dropout(T(x), 0.3, True)  # the same draw as tl.dropout under one seed
    np.testing.assert_array_equal(same_as_dropout.data != 0, mask.data)
    # torch's mask has torch's dtype and the same relation
    po, pm = torch.native_dropout(TT(x), 0.3, train)
    assert pm.dtype == torch.bool and tuple(pm.shape) == mask.shape
    np.testing.assert_allclose(po.numpy(), x * pm.numpy() / 0.7, rtol=1e-15)


def test_native_dropout_evaluation_and_extreme_p():
    x = RNG.standard_normal((3, 4))
    tx = T(x, True)
    out, mask = tl.native_dropout(tx, 1.5, False)  # p is not checked in evaluation, as torch
    po, pm = torch.native_dropout(TT(x), 1.5, False)
    np.testing.assert_array_equal(out.data, po.numpy())
    np.testing.assert_array_equal(mask.data, pm.numpy())
    assert out is not tx and out.data is not tx.data
    out.sum().backward()
    np.testing.assert_array_equal(tx.grad, np.ones_like(x))
    o1, m1 = tl.native_dropout(T(x), 1.0, True)
    p1, q1 = torch.native_dropout(TT(x), 1.0, True)
    np.testing.assert_array_equal(o1.data, p1.numpy())
    np.testing.assert_array_equal(m1.data, q1.numpy())
    o0, m0 = tl.native_dropout(T(x), 0.0, True)
    np.testing.assert_array_equal(o0.data, x)
    assert m0.data.all()
    ints = tl.native_dropout(tl.Tensor(np.arange(4)), 0.5, False)[0]
    assert ints.data.dtype == torch.native_dropout(torch.arange(4), 0.5, False)[0].numpy().dtype


def test_native_dropout_refuses_what_torch_refuses():
    x = RNG.standard_normal((3, 4))
    for p in (1.5, -0.5):
        raises_both(lambda p=p: tl.native_dropout(T(x), p, True), lambda p=p: torch.native_dropout(TT(x), p, True),
                    ValueError, "p must be in")
    raises_both(lambda: tl.native_dropout(tl.Tensor(np.arange(4)), 0.5, True),
                lambda: torch.native_dropout(torch.arange(4), 0.5, True), TypeError, "float input")
    with pytest.raises(TypeError, match="train must be a bool or None"):
        tl.native_dropout(T(x), 0.5, "yes")


# ----------------------------------------------------------------------------- cond -------
@pytest.mark.parametrize("pred", [True, False, 1, 0.0, "t_true", "t_false", "t_one", "t_int"])
def test_cond_takes_the_branch_and_its_gradient(pred):
    x = RNG.standard_normal(4)
    conv = {"t_true": (tl.tensor(True), torch.tensor(True)), "t_false": (tl.tensor(False), torch.tensor(False)),
            "t_one": (T([1.0]), torch.tensor([1.0])), "t_int": (tl.tensor(2), torch.tensor(2))}
    tp, pp = conv.get(pred, (pred, pred))
    tx, px = T(x, True), TT(x, True)
    got = tl.cond(tp, lambda a: a * a, lambda a: (a - 1).exp(), (tx,))
    want = torch.cond(pp, lambda a: a * a, lambda a: (a - 1).exp(), (px,))
    close(got, want)
    got.sum().backward()
    want.sum().backward()
    close(tx.grad, px.grad.numpy())


def test_cond_nested_operands_and_outputs():
    x, y = RNG.standard_normal(3), RNG.standard_normal(3)
    tx, ty = T(x, True), T(y, True)
    out = tl.cond(tl.tensor(False), lambda d, b: {"s": d["a"] + b[0], "p": [d["a"] * b[0]]},
                  lambda d, b: {"s": d["a"] - b[0], "p": [d["a"] / b[0]]}, [{"a": tx}, (ty,)])
    np.testing.assert_allclose(out["s"].data, x - y)
    (out["s"].sum() + out["p"][0].sum()).backward()
    np.testing.assert_allclose(tx.grad, 1 + 1 / y, rtol=1e-14)
    np.testing.assert_allclose(ty.grad, -1 - x / y ** 2, rtol=1e-14)
    assert tl.cond(True, lambda: 3, lambda: 4) == torch.cond(True, lambda: 3, lambda: 4) == 3


def test_cond_with_a_python_pred_checks_as_little_as_torch():
    x = RNG.standard_normal(3)
    # with a Python bool torch runs the branch as an if-statement: no structure check
    got = tl.cond(True, lambda a: (a, a), lambda a: a.sum(), (T(x),))
    want = torch.cond(True, lambda a: (a, a), lambda a: a.sum(), (TT(x),))
    assert isinstance(got, tuple) and isinstance(want, tuple) and len(got) == len(want) == 2
    assert tl.cond(False, lambda a, b: a + b, lambda a, b: a * b, (T(x), 2.0)).shape == (3,)


def test_cond_with_a_tensor_pred_checks_as_torch():
    x = RNG.standard_normal(3)
    P, PP = tl.tensor(True), torch.tensor(True)
    cases = [(lambda a: (a + 1, a * 2), lambda a: a - 1, "same structure"),
             (lambda a: a[0] * 1, lambda a: a - 1, "axes"),
             (lambda a: a.float() * 1, lambda a: a - 1, "dtype"),
             (lambda a: {"a": a + 1}, lambda a: {"b": a - 1}, "same structure"),
             (lambda a: (a + 1,), lambda a: [a - 1], "same structure"),
             (lambda a: 1, lambda a: a - 1, "tensor \\(in both branches\\) or an int"),
             (lambda a: None, lambda a: None, "tensor \\(in both branches\\) or an int")]
    for f, g, match in cases:
        raises_both(lambda f=f, g=g: tl.cond(P, f, g, (T(x),)), lambda f=f, g=g: torch.cond(PP, f, g, (TT(x),)),
                    ValueError, match)
    raises_both(lambda: tl.cond(P, lambda a, b: a + b, lambda a, b: a - b, (T(x), 2.0)),
                lambda: torch.cond(PP, lambda a, b: a + b, lambda a, b: a - b, (TT(x), 2.0)), ValueError,
                "tensors, got a leaf of type float")
    # sizes may differ (torch makes them dynamic)
    assert tl.cond(P, lambda a: a[:2] * 1, lambda a: a - 1, (T(x),)).shape == (2,)
    assert tuple(torch.cond(PP, lambda a: a[:2] * 1, lambda a: a - 1, (TT(x),)).shape) == (2,)


def test_cond_refuses_bad_preds_as_torch():
    x = RNG.standard_normal(3)
    for tp, pp in [(T([1.0, 0.0]), torch.tensor([True, False])), ("yes", "yes"), (None, None), ([True], [True]),
                   (T(np.zeros(0)), torch.tensor([]))]:
        raises_both(lambda tp=tp: tl.cond(tp, lambda a: a, lambda a: a, (T(x),)),
                    lambda pp=pp: torch.cond(pp, lambda a: a + 1, lambda a: a - 1, (TT(x),)), ValueError, "pred")
    with pytest.raises(TypeError, match="cond: false_fn must be callable"):
        tl.cond(True, lambda a: a, 5, (T(x),))
    with pytest.raises(TypeError, match="cond: operands must be a tuple or list"):
        tl.cond(True, lambda a: a, lambda a: a, T(x))


def test_cond_tensor_pred_leaves_the_random_state_and_the_operands_alone():
    x = RNG.standard_normal(50)
    tl.manual_seed(3)
    a = tl.cond(tl.tensor(True), lambda v: v * 2, lambda v: tl.dropout(v, 0.5, True), (T(x),))
    after = tl.rand(3).data
    tl.manual_seed(3)
    np.testing.assert_array_equal(tl.rand(3).data, after)  # the branch not taken drew nothing for good
    np.testing.assert_array_equal(a.data, 2 * x)

    def mutate(v):
        v.data[...] = 0.0
        return v * 1

    t = T(x)
    tl.cond(tl.tensor(True), lambda v: v * 1, mutate, (t,))
    np.testing.assert_array_equal(t.data, x)


def test_cond_keeps_per_sample_gradients():
    X = RNG.standard_normal((5, 3))
    w = T(RNG.standard_normal(3), True)

    def loss(xa, batched):
        out = tl.cond(tl.tensor(True), lambda a: (a * w).tanh(), lambda a: a * 0, (T(xa, batched=batched),))
        return (out ** 2).sum()

    per_sample_matches_one_at_a_time(loss, X, (w,), 1e-12, 1e-15)


# ------------------------------------------------------------------------ while_loop ------
def test_while_loop_values_and_gradients_match_torch():
    x = RNG.standard_normal(3)
    tx, px = T(x, True), TT(x, True)
    gi, gx = tl.while_loop(lambda i, a: i < 3, lambda i, a: (i + 1, a * a.sin()), (tl.tensor(0), tx))
    pi, pxo = torch.while_loop(lambda i, a: i < 3, lambda i, a: (i + 1, a * a.sin()), (torch.tensor(0), px))
    assert int(gi.data) == int(pi) == 3
    close(gx, pxo)
    gx.sum().backward()
    pxo.sum().backward()
    close(tx.grad, px.grad.numpy())

    def f(xa):
        return float(tl.while_loop(lambda i, a: i < 3, lambda i, a: (i + 1, a * a.sin()), (0, T(xa)))[1].sum().data)

    np.testing.assert_allclose(tx.grad, fd_grad(f, x), rtol=1e-7, atol=1e-9)


def test_while_loop_int_carries_structures_and_no_iteration():
    x = RNG.standard_normal(3)
    i, a = tl.while_loop(lambda i, a: i < 4, lambda i, a: (i + 1, a + i), (0, T(x)))
    pi, pa = torch.while_loop(lambda i, a: i < 4, lambda i, a: (i + 1, a + i), (0, TT(x)))
    assert i == pi == 4 and isinstance(i, int)
    close(a, pa)
    out = tl.while_loop(lambda a: a.sum() < 10, lambda a: a + 1, (T(x),))  # one carry, the body's own structure
    want = torch.while_loop(lambda a: a.sum() < 10, lambda a: a + 1, (TT(x),))
    assert isinstance(out, tl.Tensor) and isinstance(want, torch.Tensor)
    close(out, want)
    lst = tl.while_loop(lambda i, a: i < 2, lambda i, a: [i + 1, a * 2], [tl.tensor(0), T(x)])
    assert isinstance(lst, list)
    close(lst[1], 4 * x)
    tx = T(x, True)
    zero = tl.while_loop(lambda i, a: tl.tensor(False), lambda i, a: (i + 1, a), (tl.tensor(0), tx))
    pz = torch.while_loop(lambda i, a: torch.tensor(False), lambda i, a: (i + 1, a * 1), (torch.tensor(0), TT(x)))
    assert isinstance(zero, tuple) and zero[1] is not tx and pz[1] is not x
    np.testing.assert_array_equal(zero[1].data, x)
    zero[1].sum().backward()
    np.testing.assert_array_equal(tx.grad, np.ones(3))


def test_while_loop_refuses_what_torch_refuses():
    x = RNG.standard_normal(3)
    i0 = (tl.tensor(0), torch.tensor(0))
    cases = [
        (lambda i, a: i < 3, lambda i, a: (i + 1,), "as many values"),
        (lambda i, a: i < 3, lambda i, a: (i + 1, a[:2] * 1), r"shape \(3,\)"),
        (lambda i, a: i < 3, lambda i, a: (i + 1, a.float()), "dtype"),
        (lambda i, a: (i < 3).reshape(1), lambda i, a: (i + 1, a * 2), "0-d bool tensor"),
        (lambda i, a: a < 3, lambda i, a: (i + 1, a * 2), "0-d bool tensor"),
        (lambda i, a: (i < 3).int(), lambda i, a: (i + 1, a * 2), "0-d bool tensor"),
    ]
    for c, b, match in cases:
        raises_both(lambda c=c, b=b: tl.while_loop(c, b, (i0[0], T(x))),
                    lambda c=c, b=b: torch.while_loop(c, b, (i0[1], TT(x))),
                    ValueError, match)
    raises_both(lambda: tl.while_loop(lambda i, a: i < 3, lambda i, a: (i + 1, a), (2.0, T(x))),
                lambda: torch.while_loop(lambda i, a: i < 3, lambda i, a: (i + 1, a * 1), (2.0, TT(x))),
                ValueError, "tensors or ints")
    raises_both(lambda: tl.while_loop(lambda i, a: i < 3, lambda i, a: (tl.tensor(i + 1), a * 1), (0, T(x))),
                lambda: torch.while_loop(lambda i, a: i < 3, lambda i, a: (torch.tensor(i + 1), a * 1), (0, TT(x))),
                ValueError, "must be an int")
    raises_both(lambda: tl.while_loop(5, lambda a: a, (T(x),)), lambda: torch.while_loop(5, lambda a: a, (TT(x),)),
                TypeError, "callable")


# ------------------------------------------------------------- householder_product -------
@pytest.mark.parametrize("shape,k", [((5, 3), 3), ((5, 3), 2), ((4, 4), 4), ((2, 3, 6, 4), 4), ((5, 3), 0)])
def test_householder_product_matches_torch(shape, k):
    A = RNG.standard_normal(shape)
    tau = RNG.random(shape[:-2] + (k,)) + 0.2
    u = RNG.standard_normal(shape)
    ta, tt, pa, pt = T(A, True), T(tau, True), TT(A, True), TT(tau, True)
    got = tl.linalg.householder_product(ta, tt)
    want = torch.linalg.householder_product(pa, pt)
    assert got.shape == tuple(want.shape) and got.data.dtype == np.float64
    close(got, want, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(tl.orgqr(T(A), T(tau)).data, got.data)
    if k == 0:
        return
    (got * u).sum().backward()
    (want * torch.tensor(u)).sum().backward()
    close(ta.grad, pa.grad.numpy(), rtol=1e-10, atol=1e-12)
    close(tt.grad, pt.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_householder_product_gives_qr_q_and_finite_difference_gradients():
    A = RNG.standard_normal((6, 4))
    a, tau = torch.geqrf(torch.tensor(A))
    Q = tl.linalg.householder_product(T(a.numpy()), T(tau.numpy()))
    np.testing.assert_allclose(Q.data.T @ Q.data, np.eye(4), atol=1e-14)
    np.testing.assert_allclose(Q.data, torch.linalg.qr(torch.tensor(A)).Q.numpy(), atol=1e-13)
    u = RNG.standard_normal((6, 4))
    ta, tt = T(a.numpy(), True), T(tau.numpy(), True)
    (tl.linalg.householder_product(ta, tt) * u).sum().backward()
    np.testing.assert_allclose(
        ta.grad, fd_grad(lambda x: float((tl.orgqr(T(x), T(tau.numpy())) * u).sum().data), a.numpy()),
        rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(
        tt.grad, fd_grad(lambda x: float((tl.orgqr(T(a.numpy()), T(x)) * u).sum().data), tau.numpy()),
        rtol=1e-7, atol=1e-9)


def test_householder_product_keeps_per_sample_gradients():
    A = RNG.standard_normal((4, 5, 3))
    tau = T(RNG.random(3), True)

    def loss(a, batched):
        t = tau.unsqueeze(0).expand(a.shape[0], 3) if batched else tau.unsqueeze(0)
        return (tl.linalg.householder_product(T(a, batched=batched), t) ** 3).sum()

    per_sample_matches_one_at_a_time(loss, A, (tau,), 1e-10, 1e-14)


def test_householder_product_refuses_what_torch_refuses():
    A, tau = RNG.standard_normal((5, 3)), RNG.random(3)
    cases = [((A, RNG.random(4)), ValueError, "only 3 columns"), ((A[:2], tau[:2]), ValueError, "m >= n"),
             ((A[0], tau), ValueError, "at least 2 dimensions"),
             ((RNG.standard_normal((2, 5, 3)), tau), ValueError, "one dimension less"),
             ((RNG.standard_normal((2, 5, 3)), RNG.random((3, 3))), ValueError, "batch dimensions")]
    for (a, t), exc, match in cases:
        raises_both(lambda a=a, t=t: tl.linalg.householder_product(T(a), T(t)),
                    lambda a=a, t=t: torch.linalg.householder_product(TT(a), TT(t)), exc, match)
    raises_both(lambda: tl.linalg.householder_product(T(A), tl.Tensor(tau.astype(np.float32))),
                lambda: torch.linalg.householder_product(TT(A), torch.tensor(tau, dtype=torch.float32)),
                TypeError, "dtype")


# ---------------------------------------------------------------- svd / pca_lowrank ------
def _low_rank(m, n, r, seed=4, batch=()):
    g = np.random.default_rng(seed)
    U = np.linalg.qr(g.standard_normal(batch + (m, r)))[0]
    V = np.linalg.qr(g.standard_normal(batch + (n, r)))[0]
    s = np.sort(g.random(batch + (r,)) * 3 + 1)[..., ::-1]
    return (U * s[..., None, :]) @ np.swapaxes(V, -1, -2), s


@pytest.mark.parametrize("m,n", [(9, 7), (7, 9)])
@pytest.mark.parametrize("niter", [0, 2])
def test_svd_lowrank_properties_on_low_rank_matrices(m, n, niter):
    A, s = _low_rank(m, n, 3)
    U, S, V = tl.svd_lowrank(T(A), q=5, niter=niter)
    k = min(5, m, n)
    assert U.shape == (m, k) and S.shape == (k,) and V.shape == (n, k)
    np.testing.assert_allclose(U.data.T @ U.data, np.eye(k), atol=1e-12)
    np.testing.assert_allclose(V.data.T @ V.data, np.eye(k), atol=1e-12)
    np.testing.assert_allclose((U.data * S.data) @ V.data.T, A, atol=1e-10)
    np.testing.assert_allclose(S.data[:3], s, rtol=1e-12)
    assert np.all(S.data[3:] < 1e-12)
    pU, pS, pV = torch.svd_lowrank(TT(A), q=5, niter=niter)
    assert (tuple(pU.shape), tuple(pS.shape), tuple(pV.shape)) == (U.shape, S.shape, V.shape)
    np.testing.assert_allclose(S.data[:3], pS.numpy()[:3], rtol=1e-12)


def test_svd_lowrank_gradient_is_that_of_the_top_singular_values():
    A, s = _low_rank(8, 6, 3)
    ta = T(A, True)
    U, S, V = tl.svd_lowrank(ta, q=3)
    w = np.array([1.0, -2.0, 0.5])
    (S * w).sum().backward()
    u, _, vt = np.linalg.svd(A)
    want = (u[:, :3] * w) @ vt[:3]  # d(sum w_i s_i)/dA = U diag(w) V^T
    np.testing.assert_allclose(ta.grad, want, atol=1e-10)
    pa = TT(A, True)
    pS = torch.svd_lowrank(pa, q=3)[1]
    (pS * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(ta.grad, pa.grad.numpy(), atol=1e-10)


def test_svd_lowrank_is_repeatable_under_manual_seed_and_batched():
    A, _ = _low_rank(7, 5, 2, batch=(3,))
    tl.manual_seed(11)
    first = tl.svd_lowrank(T(A), q=4)
    tl.manual_seed(11)
    second = tl.svd_lowrank(T(A), q=4)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a.data, b.data)
    U, S, V = first
    assert U.shape == (3, 7, 4) and S.shape == (3, 4) and V.shape == (3, 5, 4)
    np.testing.assert_allclose(U.data @ (S.data[..., None] * np.swapaxes(V.data, -1, -2)), A, atol=1e-10)
    M = RNG.standard_normal((1, 5))
    Um, Sm, Vm = tl.svd_lowrank(T(A + M), q=4, M=T(M))  # A + M - M: the same singular values
    np.testing.assert_allclose(Sm.data[..., :2], S.data[..., :2], rtol=1e-11)


@pytest.mark.parametrize("center", [True, False])
def test_pca_lowrank_matches_torch_on_low_rank_data(center):
    A, _ = _low_rank(10, 6, 3)
    A = A + (5.0 * RNG.standard_normal(6) if center else 0.0)  # column offsets that centring removes
    U, S, V = tl.pca_lowrank(T(A), q=4, center=center)
    pU, pS, pV = torch.pca_lowrank(TT(A), q=4, center=center)
    r = 3 if center else np.linalg.matrix_rank(A)
    np.testing.assert_allclose(S.data[:r], pS.numpy()[:r], rtol=1e-11)
    signs = np.sign(np.sum(V.data[:, :r] * pV.numpy()[:, :r], 0))
    np.testing.assert_allclose(V.data[:, :r] * signs, pV.numpy()[:, :r], atol=1e-10)
    np.testing.assert_allclose(U.data[:, :r] * signs, pU.numpy()[:, :r], atol=1e-10)
    Ad = A - A.mean(0) if center else A
    np.testing.assert_allclose((U.data * S.data) @ V.data.T, Ad, atol=1e-10)
    assert tl.pca_lowrank(T(A))[1].shape == (6,) == tuple(torch.pca_lowrank(TT(A))[1].shape)


def test_lowrank_refuse_what_torch_refuses():
    A = RNG.standard_normal((8, 5))
    for kw in ({"q": 6}, {"q": -1}, {"niter": -1}):
        raises_both(lambda kw=kw: tl.pca_lowrank(T(A), **kw), lambda kw=kw: torch.pca_lowrank(TT(A), **kw), ValueError,
                    "pca_lowrank: (q|niter)")
    raises_both(lambda: tl.svd_lowrank(T(A), q=-1), lambda: torch.svd_lowrank(TT(A), q=-1), ValueError, "q must be")
    raises_both(lambda: tl.svd_lowrank(T(A), q=2.5), lambda: torch.svd_lowrank(TT(A), q=2.5), TypeError, "q must be")
    raises_both(lambda: tl.svd_lowrank(T(A[0])), lambda: torch.svd_lowrank(TT(A[0])), ValueError, "2 dimensions")
    raises_both(lambda: tl.svd_lowrank(T(A), M=T(np.ones(3))), lambda: torch.svd_lowrank(TT(A), M=TT(np.ones(3))),
                ValueError, "broadcast")
    raises_both(lambda: tl.svd_lowrank(tl.Tensor(np.ones((4, 3), np.int64))),
                lambda: torch.svd_lowrank(torch.ones(4, 3, dtype=torch.long)), TypeError, "float")
    zero = tl.svd_lowrank(T(A), q=0)
    assert [z.shape for z in zero] == [tuple(z.shape) for z in torch.svd_lowrank(TT(A), q=0)]


# ------------------------------------------------------------------- embedding_bag -------
@pytest.mark.parametrize("mode", [0, 1, 2])
@pytest.mark.parametrize("last", [False, True])
@pytest.mark.parametrize("pad", [None, 2, -1])
def test_embedding_bag_matches_torch_all_four_outputs(mode, last, pad):
    W = RNG.standard_normal((10, 3))
    W[7] = W[3]  # a tie in mode max: the first row wins in both
    idx = np.array([1, 2, 4, 5, 4, 3, 7, 9, 2, 2])
    off = np.array([0, 4, 4, 6, 8])
    tw, pw = T(W, True), TT(W, True)
    got = tl.embedding_bag(tw, tl.tensor(idx), tl.tensor(off), False, mode, False, None, last, pad)
    want = torch.embedding_bag(pw, torch.tensor(idx), torch.tensor(off), False, mode, False, None, last, pad)
    assert len(got) == len(want) == 4
    close(got[0], want[0], rtol=1e-14, atol=0)
    for g, w in zip(got[1:], want[1:]):
        assert g.data.dtype == np.int64 and g.shape == tuple(w.shape)
        np.testing.assert_array_equal(g.data, w.numpy())
    np.testing.assert_array_equal(got[0].data, tl.nn.functional.embedding_bag(
        tl.tensor(idx), T(W), tl.tensor(off), mode=("sum", "mean", "max")[mode], include_last_offset=last,
        padding_idx=pad).data)
    u = RNG.standard_normal(got[0].shape)
    (got[0] * u).sum().backward()
    (want[0] * torch.tensor(u)).sum().backward()
    close(tw.grad, pw.grad.numpy(), rtol=1e-14, atol=1e-15)


def test_embedding_bag_per_sample_weights_and_errors():
    W = RNG.standard_normal((10, 3))
    idx, off, psw = np.array([1, 2, 4, 5, 4]), np.array([0, 2]), RNG.random(5)
    tp, pp = T(psw, True), TT(psw, True)
    got = tl.embedding_bag(T(W), tl.tensor(idx), tl.tensor(off), False, 0, False, tp, False, None)
    want = torch.embedding_bag(TT(W), torch.tensor(idx), torch.tensor(off), False, 0, False, pp, False, None)
    close(got[0], want[0], rtol=1e-14, atol=0)
    got[0].sum().backward()
    want[0].sum().backward()
    close(tp.grad, pp.grad.numpy())
    raises_both(lambda: tl.embedding_bag(T(W), tl.tensor(idx), tl.tensor(off), False, 3),
                lambda: torch.embedding_bag(TT(W), torch.tensor(idx), torch.tensor(off), False, 3),
                ValueError, "mode must be")
    raises_both(lambda: tl.embedding_bag(T(W), tl.tensor(idx), tl.tensor(off), False, "sum"),
                lambda: torch.embedding_bag(TT(W), torch.tensor(idx), torch.tensor(off), False, "sum"),
                TypeError, "mode must be an int")
    raises_both(lambda: tl.embedding_bag(T(W), tl.tensor(idx), None),
                lambda: torch.embedding_bag(TT(W), torch.tensor(idx), None), TypeError, "offsets must be a Tensor")
    raises_both(lambda: tl.embedding_bag(T(W), tl.tensor(idx), tl.tensor(off), False, 0, False, None, False, 10),
                lambda: torch.embedding_bag(TT(W), torch.tensor(idx), torch.tensor(off), False, 0, False, None,
                                            False, 10), ValueError, "padding_idx")


def test_finite_difference_gradients_of_the_norms_gru_cell_and_embedding_bag():
    x = RNG.standard_normal((4, 3, 2))
    u = RNG.standard_normal(x.shape)

    def ln(xa):
        return tl.native_layer_norm(T(xa), [3, 2], None, None, 1e-5)[0]

    def bn(xa):
        return tl.native_batch_norm(T(xa), None, None, None, None, True, 0.1, 1e-5)[0]

    for f in (ln, bn):
        tx = T(x, True)
        out = tl.native_layer_norm(tx, [3, 2], None, None, 1e-5)[0] if f is ln else \
            tl.native_batch_norm(tx, None, None, None, None, True, 0.1, 1e-5)[0]
        (out * u).sum().backward()
        np.testing.assert_allclose(tx.grad, fd_grad(lambda a, f=f: float((f(a) * u).sum().data), x), rtol=1e-6,
                                   atol=1e-8)
    d = _cell_data(3)
    uh = RNG.standard_normal((3, 5))
    tw = T(d["w_ih"], True)
    (tl.gru_cell(T(d["x"]), T(d["h"]), tw, T(d["w_hh"]), T(d["b_ih"]), T(d["b_hh"])) * uh).sum().backward()
    g = fd_grad(lambda w: float((tl.gru_cell(T(d["x"]), T(d["h"]), T(w), T(d["w_hh"]), T(d["b_ih"]),
                                             T(d["b_hh"])) * uh).sum().data), d["w_ih"])
    np.testing.assert_allclose(tw.grad, g, rtol=1e-7, atol=1e-9)
    W = RNG.standard_normal((6, 2))
    idx, off = tl.tensor(np.array([0, 5, 5, 2, 1])), tl.tensor(np.array([0, 3]))
    ue = RNG.standard_normal((2, 2))
    tw = T(W, True)
    (tl.embedding_bag(tw, idx, off, False, 1)[0] * ue).sum().backward()
    g = fd_grad(lambda w: float((tl.embedding_bag(T(w), idx, off, False, 1)[0] * ue).sum().data), W)
    np.testing.assert_allclose(tw.grad, g, rtol=1e-7, atol=1e-9)
