"""torch.nn names added in one go: DataParallel (without GPUs), Buffer, UninitializedParameter /
UninitializedBuffer, RNNBase / RNNCellBase, AdaptiveLogSoftmaxWithLoss (values, gradients and
per-sample gradients), F.multi_head_attention_forward, tl.nn.grad (conv*_input / conv*_weight),
FractionalMaxPool3d and CrossMapLRN2d: against torch in float64, float64 finite differences,
and torch's accept / refuse decisions."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.nn import functional as F

torch = pytest.importorskip("torch")

from test_torch_names_c import fd_grad  # noqa: E402  (central differences; skips without torch too)

TF = torch.nn.functional


def _close(a: Any, b: Any, what: str = "", tol: float = 1e-12) -> None:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, (what, a.shape, b.shape)
    if a.size:
        scale = max(1.0, float(np.max(np.abs(b))))
        assert float(np.max(np.abs(a - b))) / scale < tol, (what, float(np.max(np.abs(a - b))))


# ------------------------------------------------------------------ DataParallel ------------
def test_data_parallel_wraps_the_module_as_torchs_without_gpus() -> None:
    tm = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4)).double()
    tdp = torch.nn.DataParallel(tm)
    m = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    dp = nn.DataParallel(m)
    assert dp.module is m and dp.device_ids == tdp.device_ids == []
    assert list(dp.state_dict()) == list(tdp.state_dict())
    assert [n for n, _ in dp.named_parameters()] == [n for n, _ in tdp.named_parameters()]
    assert repr(dp) == repr(tdp)
    dp.load_state_dict({k: v.numpy() for k, v in tdp.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 3))
    dp.eval(), tdp.eval()
    _close(dp(tl.Tensor(x)).data, tdp(torch.tensor(x)).detach().numpy(), "output")
    assert not m.training
    bil = nn.DataParallel(nn.Bilinear(2, 2, 1))  # keyword arguments reach the module
    a, b = np.ones((3, 2)), np.ones((3, 2))
    _close(bil(tl.Tensor(a), input2=tl.Tensor(b)).data, bil.module(tl.Tensor(a), tl.Tensor(b)).data)
    assert nn.DataParallel(m, device_ids=["cpu"], output_device="cpu").module is m


@pytest.mark.parametrize("kw", [{"device_ids": [0]}, {"device_ids": ["cuda:0"]}, {"output_device": 1},
                                {"device_ids": [tl.device("cpu"), 1]}])
def test_data_parallel_refuses_gpu_ids(kw: dict) -> None:
    # (torch without GPUs ignores device_ids; here a GPU id is an error: there is no GPU to use)
    with pytest.raises(RuntimeError, match="DataParallel"):
        nn.DataParallel(nn.Linear(2, 2), **kw)


# ------------------------------------------------------------------ Buffer ------------------
def _buffer_story(lib: Any, T: Callable) -> list:
    m = lib.nn.Module()
    m.a = lib.nn.Buffer(T([1.0, 2.0]))
    m.b = lib.nn.Buffer(T([3.0]), persistent=False)
    seen = [list(m.state_dict()), [n for n, _ in m.named_buffers()]]
    m.a = lib.nn.Buffer(T([5.0]), persistent=False)
    seen.append(list(m.state_dict()))
    m.b = T([4.0])  # a plain tensor on a buffer's name: still that buffer, still non-persistent
    seen += [list(m.state_dict()), [n for n, _ in m.named_buffers()]]
    m.register_buffer("z", lib.nn.Buffer(T([0.0]), persistent=False))  # register_buffer's persistent wins
    seen += [list(m.state_dict()), [n for n, _ in m.named_parameters()]]
    return seen


def test_buffer_assignment_registers_as_torchs() -> None:
    assert _buffer_story(tl, lambda v: tl.Tensor(v)) == _buffer_story(torch, lambda v: torch.tensor(v))
    x = tl.Tensor([1.0, 2.0])
    b = nn.Buffer(x)
    assert isinstance(b, nn.Buffer) and isinstance(b, tl.Tensor) and b.persistent and b.data is x.data
    assert not isinstance(x, nn.Buffer) and not b.requires_grad
    assert nn.Buffer().shape == tuple(torch.nn.Buffer().shape) == (0,)
    m = nn.Module()
    m.running = b
    assert m.running is b and [t for _, t in m.named_buffers()] == [b]
    _close(m.state_dict()["running"], [1.0, 2.0])


@pytest.mark.parametrize("lib", ["tl", "torch"])
def test_buffer_refused_on_a_parameter_or_child_name(lib: str) -> None:
    mod = tl if lib == "tl" else torch
    T = tl.Tensor if lib == "tl" else torch.tensor
    lin = mod.nn.Linear(2, 2)
    with pytest.raises(TypeError, match="parameter"):
        lin.weight = mod.nn.Buffer(T([1.0]))
    seq = mod.nn.Sequential(mod.nn.Linear(2, 2))
    seq.head = mod.nn.Linear(2, 2)
    with pytest.raises(TypeError, match="child module"):
        seq.head = mod.nn.Buffer(T([1.0]))
    assert [n for n, _ in lin.named_parameters()] == ["weight", "bias"] and not list(lin.named_buffers())


# ------------------------------------------------------------------ Uninitialized -----------
@pytest.mark.parametrize("lib", ["tl", "torch"])
def test_uninitialized_parameter_refuses_use_then_materializes(lib: str) -> None:
    mod = tl if lib == "tl" else torch
    p = mod.nn.UninitializedParameter()
    assert isinstance(p, mod.nn.Parameter) and isinstance(p, mod.nn.UninitializedParameter) and p.requires_grad
    assert repr(p) == "<UninitializedParameter>"
    with pytest.raises(RuntimeError, match="shape"):
        _ = p.shape
    with pytest.raises(ValueError, match="uninitialized parameter"):
        p + 1
    with pytest.raises(ValueError, match="uninitialized parameter"):
        p.sum()
    with pytest.raises(TypeError):
        p.materialize("a")
    with pytest.raises(RuntimeError):
        p.materialize((2, -1))
    m = mod.nn.Module()
    m.w = p
    with pytest.raises(ValueError, match="uninitialized parameter"):
        m.state_dict()
    p.materialize((2, 3))
    assert tuple(p.shape) == (2, 3) and p.requires_grad and not isinstance(p, mod.nn.UninitializedParameter)
    assert isinstance(p, mod.nn.Parameter) and [n for n, _ in m.named_parameters()] == ["w"]
    assert list(m.state_dict()) == ["w"]
    (p * 2).sum().backward()
    _close(np.asarray(p.grad), np.full((2, 3), 2.0))


def test_uninitialized_parameter_and_buffer_dtypes_and_kinds() -> None:
    p = nn.UninitializedParameter(requires_grad=False, dtype=np.float32)
    p.materialize(4)
    tp = torch.nn.UninitializedParameter(requires_grad=False, dtype=torch.float32)
    tp.materialize(4)
    assert p.shape == tuple(tp.shape) and p.dtype == np.float32 and p.requires_grad is tp.requires_grad is False
    b = nn.UninitializedBuffer(dtype=np.int64, persistent=False)
    m = nn.Module()
    m.b = b
    tm, tb = torch.nn.Module(), torch.nn.UninitializedBuffer(dtype=torch.int64, persistent=False)
    tm.b = tb
    assert [n for n, _ in m.named_buffers()] == [n for n, _ in tm.named_buffers()] == ["b"]
    assert not b.requires_grad and repr(b) == repr(tb) == "<UninitializedBuffer>"
    with pytest.raises(RuntimeError, match="shape"):
        _ = b.shape
    b.materialize((3,))
    tb.materialize((3,))
    assert isinstance(b, nn.Buffer) and not isinstance(b, nn.UninitializedBuffer) and b.dtype == np.int64
    assert isinstance(tb, torch.nn.Buffer) and b.shape == tuple(tb.shape)
    assert list(m.state_dict()) == list(tm.state_dict()) == []  # non-persistent
    with pytest.raises(ValueError, match="requires_grad"):
        nn.UninitializedBuffer(requires_grad=True)


# ------------------------------------------------------------------ RNNBase -----------------
def test_rnn_bases_answer_isinstance_as_torchs() -> None:
    for lib in (tl, torch):
        L = lib.nn
        cases = [(L.LSTM(2, 3), True, False), (L.GRU(2, 3), True, False), (L.RNN(2, 3), True, False),
                 (L.RNNCell(2, 3), False, True), (L.LSTMCell(2, 3), False, True), (L.GRUCell(2, 3), False, True),
                 (L.Linear(2, 3), False, False)]
        for m, rnn, cell in cases:
            assert isinstance(m, L.RNNBase) is rnn and isinstance(m, L.RNNCellBase) is cell, (lib.__name__, m)
        assert issubclass(L.LSTM, L.RNNBase) and issubclass(L.GRUCell, L.RNNCellBase)
        assert not issubclass(L.Linear, L.RNNBase)


def test_rnn_bases_build_torchs_weights_and_have_no_forward() -> None:
    for mode in ("LSTM", "GRU", "RNN_TANH", "RNN_RELU"):
        m, tm = nn.RNNBase(mode, 3, 4, num_layers=2, bidirectional=True), torch.nn.RNNBase(mode, 3, 4, 2,
                                                                                             bidirectional=True)
        assert [(n, p.shape) for n, p in m.named_parameters()] == [(n, tuple(p.shape))
                                                                    for n, p in tm.named_parameters()]
        assert repr(m) == repr(tm) and isinstance(m, nn.RNNBase)
    for chunks in (1, 2, 3, 4):
        c, tc = nn.RNNCellBase(3, 4, True, chunks), torch.nn.RNNCellBase(3, 4, True, num_chunks=chunks)
        assert [(n, p.shape) for n, p in c.named_parameters()] == [(n, tuple(p.shape))
                                                                    for n, p in tc.named_parameters()]
        assert repr(c) == repr(tc)
    for mod in (nn.RNNBase("LSTM", 3, 4), nn.RNNCellBase(3, 4, False, 4), torch.nn.RNNBase("LSTM", 3, 4)):
        with pytest.raises(NotImplementedError):
            mod(tl.Tensor(np.zeros((2, 3))) if isinstance(mod, nn.Module) else torch.zeros(2, 3))
    for lib in (nn, torch.nn):
        with pytest.raises(ValueError, match="(?i)mode"):
            lib.RNNBase("FOO", 3, 4)
        with pytest.raises(ValueError, match="proj_size"):
            lib.RNNBase("LSTM", 3, 4, proj_size=4)
    m, tm = nn.RNNBase("GRU", 3, 4, proj_size=2), torch.nn.RNNBase("GRU", 3, 4, proj_size=2)  # (the base allows it)
    assert [(n, p.shape) for n, p in m.named_parameters()] == [(n, tuple(p.shape)) for n, p in tm.named_parameters()]


def test_an_lstm_still_matches_torch() -> None:
    tm = torch.nn.LSTM(3, 4, batch_first=True).double()
    m = nn.LSTM(3, 4, batch_first=True)
    m.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    x = np.random.default_rng(1).standard_normal((2, 5, 3))
    (out, (h, c)), (tout, (th, tc)) = m(tl.Tensor(x)), tm(torch.tensor(x))
    _close(out.data, tout.detach().numpy()), _close(h.data, th.detach().numpy()), _close(c.data, tc.detach().numpy())


# ------------------------------------------------------------------ AdaptiveLogSoftmax ------
ASM_CASES = [dict(in_features=8, n_classes=10, cutoffs=[3, 6], div_value=2.0, head_bias=True),
             dict(in_features=6, n_classes=7, cutoffs=[2], div_value=4.0, head_bias=False),
             dict(in_features=9, n_classes=12, cutoffs=[1, 4, 8], div_value=1.5, head_bias=False)]


def _asm_pair(kw: dict) -> tuple:
    torch.manual_seed(0)
    tm = torch.nn.AdaptiveLogSoftmaxWithLoss(**kw).double()
    m = nn.AdaptiveLogSoftmaxWithLoss(**kw)
    assert repr(m) == repr(tm) and [(n, p.shape) for n, p in m.named_parameters()] == [
        (n, tuple(p.shape)) for n, p in tm.named_parameters()]
    m.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    return m, tm


def _asm_data(kw: dict, n: int, seed: int) -> tuple:
    rng = np.random.default_rng(seed)
    t = rng.integers(0, kw["n_classes"], n)
    t[: len(kw["cutoffs"]) + 1] = [0] + kw["cutoffs"]  # every cluster is hit
    return rng.standard_normal((n, kw["in_features"])), t


@pytest.mark.parametrize("kw", ASM_CASES, ids=["two-clusters", "one-cluster", "three-clusters"])
def test_adaptive_log_softmax_matches_torch(kw: dict) -> None:
    m, tm = _asm_pair(kw)
    x, t = _asm_data(kw, 9, 1)
    X, tx = tl.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, tout = m(X, t), tm(tx, torch.tensor(t))
    assert type(out).__name__ == type(tout).__name__ == "_ASMoutput" and out._fields == tout._fields
    _close(out.output.data, tout.output.detach().numpy(), "output")
    _close(out.loss.data, tout.loss.detach().numpy(), "loss")
    out.loss.backward(), tout.loss.backward()
    _close(X.grad, tx.grad.numpy(), "input grad")
    tp = dict(tm.named_parameters())
    for name, p in m.named_parameters():
        _close(p.grad, tp[name].grad.numpy(), name)
    _close(m.log_prob(x).data, tm.log_prob(torch.tensor(x)).detach().numpy(), "log_prob")
    assert np.array_equal(m.predict(x).data, tm.predict(torch.tensor(x)).numpy())
    assert m.predict(x).data.dtype == np.int64
    one, tone = m(x[0], np.int64(t[1])), tm(torch.tensor(x[0]), torch.tensor(t[1]))
    assert one.output.shape == tuple(tone.output.shape) == ()
    _close(one.output.data, tone.output.item()), _close(one.loss.data, tone.loss.item())


def test_adaptive_log_softmax_gradients_match_finite_differences() -> None:
    kw = ASM_CASES[0]
    m, _ = _asm_pair(kw)
    x, t = _asm_data(kw, 6, 2)
    p = m.tail[1][0].weight
    m(x, t).loss.backward()

    def loss(w: np.ndarray) -> float:
        old = p.data
        p.data = w
        try:
            return float(m(x, t).loss.data)
        finally:
            p.data = old

    _close(p.grad, fd_grad(loss, p.data.copy()), "tail.1.0.weight", tol=1e-8)


def test_adaptive_log_softmax_per_sample_gradients_match_a_torch_loop() -> None:
    kw = ASM_CASES[0]
    m, tm = _asm_pair(kw)
    x, t = _asm_data(kw, 7, 3)
    m(tl.Tensor(x, batched=True), t).loss.backward()
    names, tparams = zip(*tm.named_parameters())
    per = []  # torch, one sample at a time (torch.func's vmap cannot run torch's module: it uses nonzero)
    for b in range(7):
        loss = tm(torch.tensor(x[b:b + 1]), torch.tensor(t[b:b + 1])).loss
        grads = torch.autograd.grad(loss, tparams, allow_unused=True)  # (a cluster the sample misses: None)
        per.append([np.zeros(tuple(p.shape)) if g is None else g.numpy() for g, p in zip(grads, tparams)])
    ours = dict(m.named_parameters())
    for j, name in enumerate(names):
        p, ref = ours[name], np.stack([row[j] for row in per])
        assert p.grad_sample.shape == (7,) + p.shape
        _close(p.grad_sample, ref, name)
        _close(p.grad, ref.mean(axis=0), name)


def test_adaptive_log_softmax_refuses_as_torch() -> None:
    for lib in (nn, torch.nn):
        for cutoffs in ([], [3, 3], [10], [0, 4], [5, 2]):
            with pytest.raises(ValueError, match="cutoffs"):
                lib.AdaptiveLogSoftmaxWithLoss(8, 10, cutoffs)
    m, tm = _asm_pair(ASM_CASES[0])
    x = np.zeros((3, 8))
    for args in [(x, [0, 11, 2]), (x, [0, -1, 2]), (x, [[0, 1, 2]]), (x, [0, 1]), (np.zeros((3, 7)), [0, 1, 2]),
                 (x, 4)]:
        with pytest.raises(RuntimeError):
            tm(torch.tensor(args[0]), torch.tensor(args[1]))
        with pytest.raises(RuntimeError, match="AdaptiveLogSoftmaxWithLoss"):
            m(args[0], np.array(args[1]))
    with pytest.raises(RuntimeError):
        tm.log_prob(torch.zeros(8))
    with pytest.raises(ValueError, match="log_prob"):
        m.log_prob(np.zeros(8))


# ------------------------------------------------------------------ multi_head_attention ----
E, H, L, S, N = 8, 2, 5, 4, 3
MHA_CASES = {
    "plain": {}, "unbatched": dict(batched=False), "separate": dict(sep=True), "no-bias": dict(bias=False),
    "bias-kv": dict(bkv=True), "zero-attn": dict(zero=True), "bias-kv-zero": dict(bkv=True, zero=True),
    "key-padding": dict(kpm=True), "float-mask": dict(am="float"), "bool-mask-3d": dict(am="bool3"),
    "static": dict(static=True), "static-zero": dict(static=True, zero=True),
    "static-unbatched": dict(static=True, batched=False), "no-weights": dict(need=False),
    "per-head": dict(avg=False), "self": dict(same=True), "self-separate": dict(same=True, sep=True),
    "causal-fast": dict(causal=True, same=True, need=False), "causal-weights": dict(causal=True, same=True),
    "unbatched-masks": dict(batched=False, kpm=True, am="bool3"),
    "all-masks": dict(am="float", kpm=True, bkv=True, zero=True),
}


def _mha_args(rng: np.random.Generator, batched: bool = True, sep: bool = False, bias: bool = True,
              bkv: bool = False, zero: bool = False, kpm: bool = False, am: Any = None, static: bool = False,
              need: bool = True, avg: bool = True, causal: bool = False, same: bool = False) -> tuple:
    Tk = L if same else S
    shp = (lambda T: (T, N, E)) if batched else (lambda T: (T, E))
    nb = N if batched else 1
    arrays = {"q": rng.standard_normal(shp(L)), "k": rng.standard_normal(shp(Tk)), "v": rng.standard_normal(shp(Tk)),
              "W": None if sep else rng.standard_normal((3 * E, E)) * 0.3,
              "b": rng.standard_normal(3 * E) * 0.1 if bias else None, "Wo": rng.standard_normal((E, E)) * 0.3,
              "bo": rng.standard_normal(E) * 0.1 if bias else None}
    for name in ("bk", "bv"):
        arrays[name] = rng.standard_normal((1, 1, E)) if bkv else None
    for name in ("Wq", "Wk", "Wv"):
        arrays[name] = rng.standard_normal((E, E)) * 0.3 if sep else None
    for name in ("sk", "sv"):
        arrays[name] = rng.standard_normal((nb * H, Tk, E // H)) if static else None
    masks = {"kpm": None, "am": None}
    if kpm:
        pad = rng.random((nb, Tk)) < 0.3
        pad[:, 0] = False
        masks["kpm"] = pad if batched else pad[0]
    if am == "float":
        masks["am"] = rng.standard_normal((L, Tk))
    elif am == "bool3":
        m = rng.random((nb * H, L, Tk)) < 0.3
        m[..., 0] = False
        masks["am"] = m
    if causal:
        masks["am"] = np.triu(np.ones((L, Tk), bool), 1)
    flags = dict(add_zero_attn=zero, need_weights=need, use_separate_proj_weight=sep, average_attn_weights=avg,
                 is_causal=causal)
    return arrays, masks, flags, same


def _mha_call(f: Callable, X: dict, masks: dict, flags: dict, conv: Callable, **extra: Any) -> tuple:
    return f(X["q"], X["k"], X["v"], E, H, X["W"], X["b"], X["bk"], X["bv"], flags["add_zero_attn"], extra.pop(
        "dropout_p", 0.0), X["Wo"], X["bo"], training=extra.pop("training", True),
        key_padding_mask=conv(masks["kpm"]), need_weights=flags["need_weights"], attn_mask=conv(masks["am"]),
        use_separate_proj_weight=flags["use_separate_proj_weight"], q_proj_weight=X["Wq"], k_proj_weight=X["Wk"],
        v_proj_weight=X["Wv"], static_k=X["sk"], static_v=X["sv"],
        average_attn_weights=flags["average_attn_weights"], is_causal=flags["is_causal"], **extra)


@pytest.mark.filterwarnings("ignore:Support for mismatched")  # (torch's note on a bool and a float mask together)
@pytest.mark.parametrize("case", list(MHA_CASES))
def test_multi_head_attention_forward_matches_torch(case: str) -> None:
    rng = np.random.default_rng(len(case))
    arrays, masks, flags, same = _mha_args(rng, **MHA_CASES[case])
    T = {n: None if a is None else torch.tensor(a, requires_grad=True) for n, a in arrays.items()}
    M = {n: None if a is None else tl.Tensor(a, requires_grad=True) for n, a in arrays.items()}
    if same:
        T["k"] = T["v"] = T["q"]
        M["k"] = M["v"] = M["q"]
    tout, tw = _mha_call(TF.multi_head_attention_forward, T, masks, flags,
                         lambda a: None if a is None else torch.tensor(a))
    out, w = _mha_call(F.multi_head_attention_forward, M, masks, flags, lambda a: a)
    _close(out.data, tout.detach().numpy(), "output")
    go = rng.standard_normal(out.shape)
    loss, tloss = (out * go).sum(), (tout * torch.tensor(go)).sum()
    if flags["need_weights"]:
        _close(w.data, tw.detach().numpy(), "weights")
        gw = rng.standard_normal(w.shape)
        loss, tloss = loss + (w * gw).sum(), tloss + (tw * torch.tensor(gw)).sum()
    else:
        assert w is None and tw is None
    loss.backward(), tloss.backward()
    for name, t in M.items():
        if t is not None and not (same and name in ("k", "v")):
            ref = T[name].grad
            _close(t.grad if t.grad is not None else np.zeros(t.shape),
                   np.zeros(t.shape) if ref is None else ref.numpy(), name, tol=1e-11)


def test_multi_head_attention_forward_gradients_match_finite_differences() -> None:
    rng = np.random.default_rng(5)
    arrays, masks, flags, _ = _mha_args(rng, kpm=True, bkv=True)
    X = {n: None if a is None else tl.Tensor(a, requires_grad=n in ("q", "W", "bk")) for n, a in arrays.items()}
    out, w = _mha_call(F.multi_head_attention_forward, X, masks, flags, lambda a: a)
    go, gw = rng.standard_normal(out.shape), rng.standard_normal(w.shape)
    ((out * go).sum() + (w * gw).sum()).backward()
    for name in ("q", "W", "bk"):
        def f(a: np.ndarray, name: str = name) -> float:
            Y = {n: None if v is None else tl.Tensor(a if n == name else v) for n, v in arrays.items()}
            o, ww = _mha_call(F.multi_head_attention_forward, Y, masks, flags, lambda m: m)
            return float((o.data * go).sum() + (ww.data * gw).sum())

        _close(X[name].grad, fd_grad(f, arrays[name].copy()), name, tol=1e-7)


def test_multi_head_attention_forward_dropout_only_in_training() -> None:
    rng = np.random.default_rng(6)
    arrays, masks, flags, _ = _mha_args(rng)
    X = {n: None if a is None else tl.Tensor(a) for n, a in arrays.items()}
    flags = dict(flags, average_attn_weights=False)
    plain, w = _mha_call(F.multi_head_attention_forward, X, masks, flags, lambda a: a)
    off, _ = _mha_call(F.multi_head_attention_forward, X, masks, flags, lambda a: a, dropout_p=0.5, training=False)
    on, won = _mha_call(F.multi_head_attention_forward, X, masks, flags, lambda a: a, dropout_p=0.5, rng=0)
    _close(off.data, plain.data)
    assert on.shape == plain.shape and not np.allclose(on.data, plain.data)
    kept = won.data != 0  # each weight is dropped (0) or kept and scaled by 1 / (1 - p)
    assert kept.any() and (~kept).any()
    _close(won.data[kept], 2 * w.data[kept], "kept weights")


def test_multi_head_attention_forward_refuses_as_torch() -> None:
    rng = np.random.default_rng(7)
    arrays, masks, flags, _ = _mha_args(rng)
    bad = [("embed", {}), ("causal", {"is_causal": True}), ("mask-shape", {"attn_mask": np.zeros((L, S + 1))}),
           ("kpm-rank", {"key_padding_mask": np.zeros((N, S, 1), bool)}), ("mask-dtype", {"attn_mask": np.zeros(
            (L, S), np.int64)}), ("static-bias", {"static": True}), ("heads", {"heads": 3})]
    for name, change in bad:
        for lib, conv in (("tl", lambda a: a), ("torch", lambda a: None if a is None else torch.tensor(a))):
            A = {n: conv(a) for n, a in arrays.items()}
            if name == "static-bias":
                A["bk"], A["bv"] = conv(np.zeros((1, 1, E))), conv(np.zeros((1, 1, E)))
                A["sk"] = conv(np.zeros((N * H, S, E // H)))
            f = F.multi_head_attention_forward if lib == "tl" else TF.multi_head_attention_forward
            kw = dict(key_padding_mask=conv(change.get("key_padding_mask")), attn_mask=conv(change.get("attn_mask")),
                      is_causal=change.get("is_causal", False), static_k=A["sk"])
            with pytest.raises((AssertionError, RuntimeError, ValueError, TypeError)) as err:
                f(A["q"], A["k"], A["v"], E + (name == "embed"), change.get("heads", H), A["W"], A["b"], A["bk"],
                  A["bv"], False, 0.0, A["Wo"], A["bo"], **kw)
            if lib == "tl":
                assert "multi_head_attention_forward" in str(err.value), (name, err.value)


# ------------------------------------------------------------------ nn.grad -----------------
GRAD_CASES = [(1, (2, 4, 9), (6, 2, 3), dict(stride=2, padding=1, groups=2)),
              (1, (2, 3, 10), (4, 3, 2), dict(dilation=2)),
              (2, (2, 3, 9, 8), (4, 3, 3, 3), dict(stride=2, padding=1)),
              (2, (2, 3, 10, 8), (4, 3, 3, 3), dict(stride=2, padding=1)),  # (needs an output padding)
              (2, (1, 4, 7, 6), (4, 2, 2, 3), dict(stride=(1, 2), padding=(1, 0), dilation=(2, 1), groups=2)),
              (3, (2, 2, 5, 6, 4), (3, 2, 2, 3, 2), dict(stride=(2, 1, 1), padding=1)),
              (3, (1, 4, 4, 5, 6), (2, 2, 3, 1, 2), dict(dilation=(1, 2, 2), groups=2))]


@pytest.mark.parametrize("nd,xs,ws,kw", GRAD_CASES)
def test_nn_grad_matches_torch(nd: int, xs: tuple, ws: tuple, kw: dict) -> None:
    rng = np.random.default_rng(sum(xs))
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    y = getattr(TF, f"conv{nd}d")(torch.tensor(x), torch.tensor(w), **kw)
    go = rng.standard_normal(tuple(y.shape))
    gi = getattr(nn.grad, f"conv{nd}d_input")(xs, tl.Tensor(w), tl.Tensor(go), **kw)
    gw = getattr(nn.grad, f"conv{nd}d_weight")(tl.Tensor(x), ws, go, **kw)
    _close(gi.data, getattr(torch.nn.grad, f"conv{nd}d_input")(xs, torch.tensor(w), torch.tensor(go), **kw).numpy())
    _close(gw.data, getattr(torch.nn.grad, f"conv{nd}d_weight")(torch.tensor(x), ws, torch.tensor(go),
                                                                **kw).numpy())
    # the adjoint identity <G, conv(x, W)> = <conv_input(G), x> = <conv_weight(x, G), W>
    conv = getattr(F, f"conv{nd}d")(tl.Tensor(x), tl.Tensor(w), None, **kw).data
    pairing = float((go * conv).sum())
    assert abs(float((gi.data * x).sum()) - pairing) < 1e-11 * max(1.0, abs(pairing))
    assert abs(float((gw.data * w).sum()) - pairing) < 1e-11 * max(1.0, abs(pairing))


def test_nn_grad_results_are_differentiable_as_torchs() -> None:
    rng = np.random.default_rng(8)
    x, w = rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((4, 3, 3, 2))
    go = rng.standard_normal((2, 4, 4, 4))
    W, G = tl.Tensor(w, requires_grad=True), tl.Tensor(go, requires_grad=True)
    tw, tg = torch.tensor(w, requires_grad=True), torch.tensor(go, requires_grad=True)
    gi = nn.grad.conv2d_input(x.shape, W, G)
    tgi = torch.nn.grad.conv2d_input(x.shape, tw, tg)
    assert gi.requires_grad and tgi.requires_grad
    c = rng.standard_normal(x.shape)
    (gi * c).sum().backward(), (tgi * torch.tensor(c)).sum().backward()
    _close(W.grad, tw.grad.numpy(), "weight"), _close(G.grad, tg.grad.numpy(), "grad_output")
    assert not nn.grad.conv2d_weight(tl.Tensor(x), w.shape, go).requires_grad


def test_nn_grad_refuses_as_torch() -> None:
    w, x = np.ones((4, 3, 3, 3)), np.ones((2, 3, 9, 8))
    go = np.ones((2, 4, 5, 4))
    bad = [lambda G, T: G.conv2d_input((2, 3, 12, 8), T(w), T(go), stride=2, padding=1),  # output shape differs
           lambda G, T: G.conv2d_input((3, 9, 8), T(w), T(go[0]), stride=2, padding=1),  # unbatched
           lambda G, T: G.conv2d_weight(T(x), (4, 3, 3, 3), T(np.ones((2, 4, 3, 3))), stride=2, padding=1),
           lambda G, T: G.conv2d_weight(T(x), (4, 3, 3, 3), T(go), stride=2, padding="same"),
           lambda G, T: G.conv2d_input(x.shape, T(w), T(go.astype(np.float32)), stride=2, padding=1)]
    for f in bad:
        with pytest.raises(RuntimeError):
            f(torch.nn.grad, torch.tensor)
        with pytest.raises(RuntimeError, match=r"conv2d_(input|weight)"):
            f(nn.grad, tl.Tensor)


# ------------------------------------------------------------------ FractionalMaxPool3d -----
FMP_CASES = [((2, 3, 9, 8, 7), (2, 3, 2), (4, 3, 5), None), ((2, 2, 6, 7, 8), 2, None, 0.5),
             ((3, 5, 6, 7), (1, 2, 3), (4, 3, 3), None), ((1, 1, 5, 5, 5), 3, 2, None),
             ((2, 2, 7, 6, 9), (2, 1, 3), None, (0.3, 0.6, 0.7))]


@pytest.mark.parametrize("shape,k,osz,ratio", FMP_CASES)
def test_fractional_max_pool3d_matches_torch(shape: tuple, k: Any, osz: Any, ratio: Any) -> None:
    rng = np.random.default_rng(len(shape) + sum(shape))
    x = rng.standard_normal(shape)
    x.flat[::7] = x.flat[0]  # ties: the first maximum wins, as torch's
    s = rng.random((shape[0] if len(shape) == 5 else 1, shape[-4], 3))
    tx = torch.tensor(x, requires_grad=True)
    tout, tidx = TF.fractional_max_pool3d(tx, k, output_size=osz, output_ratio=ratio, return_indices=True,
                                          _random_samples=torch.tensor(s))
    X = tl.Tensor(x, requires_grad=True)
    out, idx = F.fractional_max_pool3d(X, k, output_size=osz, output_ratio=ratio, return_indices=True,
                                       _random_samples=s)
    assert np.array_equal(out.data, tout.detach().numpy()) and np.array_equal(idx.data, tidx.numpy())
    assert idx.data.dtype == np.int64
    o2, i2 = F.fractional_max_pool3d_with_indices(X, k, osz, ratio, _random_samples=s)
    assert np.array_equal(o2.data, out.data) and np.array_equal(i2.data, idx.data)
    layer = nn.FractionalMaxPool3d(k, output_size=osz, output_ratio=ratio, _random_samples=s)
    assert np.array_equal(layer(X).data, out.data)
    g = rng.standard_normal(out.shape)
    (out * g).sum().backward(), (tout * torch.tensor(g)).sum().backward()
    _close(X.grad, tx.grad.numpy(), "grad")


def test_fractional_max_pool3d_refuses_as_torch() -> None:
    x = np.zeros((1, 2, 5, 5, 5))
    s = np.full((1, 2, 3), 0.5)
    cases = [dict(kernel_size=2), dict(kernel_size=1, output_size=5), dict(kernel_size=2, output_size=(3, 4, 3)),
             dict(kernel_size=(2, 2), output_size=3), dict(kernel_size=2, output_size=3, _random_samples=s[..., :2])]
    for kw in cases:
        with pytest.raises((ValueError, RuntimeError)):
            TF.fractional_max_pool3d(torch.tensor(x), **{k: torch.tensor(v) if isinstance(v, np.ndarray) else v
                                                         for k, v in kw.items()})
        with pytest.raises((ValueError, RuntimeError), match="fractional_max_pool3d"):
            F.fractional_max_pool3d(tl.Tensor(x), **kw)
    for lib in (nn, torch.nn):
        with pytest.raises(ValueError):
            lib.FractionalMaxPool3d(2)
        with pytest.raises(ValueError):
            lib.FractionalMaxPool3d(2, output_ratio=1.2)
    assert "fractional_max_pool3d" in F.__all__ and "multi_head_attention_forward" in F.__all__
    assert nn.FractionalMaxPool3d(2, output_size=3)(tl.Tensor(np.zeros((2, 3, 6, 6, 6)))).shape == (2, 3, 3, 3, 3)


# ------------------------------------------------------------------ CrossMapLRN2d -----------
def _torch_cross_map(x: Any, size: int, alpha: float, beta: float, k: float) -> Any:
    """torch's CrossMapLRN2d forward map written with differentiable torch ops (its running
    sum keeps channel 0 in every window from channel ``pre`` on)."""
    C, pre = x.shape[1], int((size - 1) / 2 + 1)
    sq, rows = x * x, []
    for c in range(C):
        idx = set(range(max(0, c - pre + 1), min(C, c + pre))) | ({0} if c >= pre else set())
        rows.append(x[:, c] * (sum(sq[:, j] for j in sorted(idx)) * alpha / size + k) ** (-beta))
    return torch.stack(rows, 1)


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 6, 9, 15])
def test_cross_map_lrn2d_matches_torch(size: int) -> None:
    rng = np.random.default_rng(size)
    x = rng.standard_normal((2, 7, 3, 4))
    alpha, beta, k = 0.3, 0.6, 1.5
    tm, m = torch.nn.CrossMapLRN2d(size, alpha, beta, k), nn.CrossMapLRN2d(size, alpha, beta, k)
    assert repr(m) == repr(tm)
    X, tx = tl.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = m(X)
    _close(out.data, tm(torch.tensor(x)).numpy(), "value")
    ref = _torch_cross_map(tx, size, alpha, beta, k)
    _close(out.data, ref.detach().numpy(), "value of the written-out map")
    g = rng.standard_normal(out.shape)
    (out * g).sum().backward(), (ref * torch.tensor(g)).sum().backward()
    _close(X.grad, tx.grad.numpy(), "grad")
    if 2 * int((size - 1) / 2 + 1) - 1 >= 2 * 7:  # the window spans every channel: torch's own backward agrees
        tx2 = torch.tensor(x, requires_grad=True)
        (tm(tx2) * torch.tensor(g)).sum().backward()
        _close(X.grad, tx2.grad.numpy(), "torch's backward")


def test_cross_map_lrn2d_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(11)
    x, g = rng.standard_normal((1, 5, 2, 2)), rng.standard_normal((1, 5, 2, 2))
    m = nn.CrossMapLRN2d(3, 0.4, 0.7, 1.2)
    X = tl.Tensor(x, requires_grad=True)
    (m(X) * g).sum().backward()
    _close(X.grad, fd_grad(lambda a: float((m(tl.Tensor(a)).data * g).sum()), x.copy()), "grad", tol=1e-8)


def test_cross_map_lrn2d_refuses_as_torch() -> None:
    for shape in [(2, 3, 4), (1, 2, 3, 4, 5)]:
        with pytest.raises(ValueError):
            torch.nn.CrossMapLRN2d(3)(torch.zeros(shape))
        with pytest.raises(ValueError, match="CrossMapLRN2d"):
            nn.CrossMapLRN2d(3)(tl.Tensor(np.zeros(shape)))
