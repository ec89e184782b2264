"""Packed sequences: ``tl.nn.utils.rnn``'s PackedSequence, pack_padded_sequence,
pad_packed_sequence, pack_sequence, unpad_sequence and unpack_sequence against torch (values,
index tensors and gradients, float64), RNN / LSTM / GRU over a PackedSequence against torch
(output, h_n / c_n at each sequence's own last step, gradients of every parameter, of the input
and of the initial states), torch's errors, and per-sample gradients through packing equal to
each sample run alone, with the mixing error where samples do get mixed."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from conftest import close as _close
from conftest import load_torch_state as _load
from test_recurrent import _close_grads

import tinygrad_lite as tl
from tinygrad_lite import nn

R = nn.utils.rnn


def _np(t: Any) -> Any:
    return None if t is None else t.detach().numpy()


def _same_packing(ps: Any, tps: Any) -> None:
    """Our PackedSequence holds torch's values and index tensors."""
    assert isinstance(ps, R.PackedSequence) and ps._fields == tps._fields
    _close(ps.data.data, _np(tps.data), "data")
    for name in ("batch_sizes", "sorted_indices", "unsorted_indices"):
        ours, theirs = getattr(ps, name), getattr(tps, name)
        assert (ours is None) == (theirs is None), name
        if ours is not None:
            assert ours.data.dtype == np.int64 and ours.data.tolist() == theirs.tolist(), name


# ------------------------------------------------------------------ packing and unpacking --
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("lengths,enforce_sorted", [([4, 3, 3, 1], True), ([2, 4, 1, 4, 3], False),
                                                     ([1, 1], False), ([3], True)])
def test_pack_and_pad_round_trip_match_torch(torch: Any, batch_first: bool, lengths: list,
                                             enforce_sorted: bool) -> None:
    rng = np.random.default_rng(0)
    B, T = len(lengths), max(lengths) + 1  # one padding step more than the longest
    x = rng.standard_normal((B, T, 2, 3) if batch_first else (T, B, 2, 3))
    xs, tx = tl.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ps = R.pack_padded_sequence(xs, lengths, batch_first=batch_first, enforce_sorted=enforce_sorted)
    tps = torch.nn.utils.rnn.pack_padded_sequence(tx, torch.tensor(lengths), batch_first=batch_first,
                                                  enforce_sorted=enforce_sorted)
    _same_packing(ps, tps)
    for total, pad in ((None, 0.0), (T + 2, -1.5)):
        out, ln = R.pad_packed_sequence(ps, batch_first=batch_first, padding_value=pad, total_length=total)
        tout, tln = torch.nn.utils.rnn.pad_packed_sequence(tps, batch_first=batch_first, padding_value=pad,
                                                           total_length=total)
        _close(out.data, _np(tout), f"padded (total_length={total})")
        assert ln.data.dtype == np.int64 and ln.data.tolist() == tln.tolist() == lengths
    w = rng.standard_normal(out.shape)
    wd = rng.standard_normal(ps.data.shape)
    ((out * w).sum() + (ps.data * wd).sum()).backward()
    ((tout * torch.tensor(w)).sum() + (tps.data * torch.tensor(wd)).sum()).backward()
    _close(xs.grad, tx.grad.numpy(), "gradient of the padded input")


def test_pack_sequence_unpack_and_unpad_match_torch(torch: Any) -> None:
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal((n, 3)) for n in (2, 5, 1, 5)]
    seqs = [tl.Tensor(a, requires_grad=True) for a in arrays]
    tseqs = [torch.tensor(a, requires_grad=True) for a in arrays]
    ps = R.pack_sequence(seqs, enforce_sorted=False)
    tps = torch.nn.utils.rnn.pack_sequence(tseqs, enforce_sorted=False)
    _same_packing(ps, tps)
    back = R.unpack_sequence(ps)
    assert [b.shape for b in back] == [a.shape for a in arrays]
    for b, a in zip(back, arrays):
        np.testing.assert_array_equal(b.data, a)
    padded = R.pad_sequence(seqs, batch_first=True)
    parts = R.unpad_sequence(padded, [2, 5, 1, 5], batch_first=True)
    tparts = torch.nn.utils.rnn.unpad_sequence(torch.nn.utils.rnn.pad_sequence(tseqs, batch_first=True),
                                               torch.tensor([2, 5, 1, 5]), batch_first=True)
    ws = [rng.standard_normal(a.shape) for a in arrays]
    loss = sum((b * w).sum() for b, w in zip(back, ws)) + sum((p * p).sum() for p in parts)
    tloss = sum((b * torch.tensor(w)).sum() for b, w in zip(torch.nn.utils.rnn.unpack_sequence(tps), ws)) + \
        sum((p * p).sum() for p in tparts)
    loss.backward()
    tloss.backward()
    for s, ts in zip(seqs, tseqs):
        _close(s.grad, ts.grad.numpy(), "gradient of a sequence")
    tm = R.unpad_sequence(R.pad_sequence(seqs), [2, 5, 1, 5])  # time first
    for a, b in zip(tm, arrays):
        np.testing.assert_array_equal(a.data, b)
    sorted_ps = R.pack_sequence([seqs[1], seqs[0]])
    assert sorted_ps.sorted_indices is None and sorted_ps.batch_sizes.data.tolist() == [2, 2, 1, 1, 1]


def test_packed_sequence_constructor_and_conversions() -> None:
    data = tl.Tensor(np.arange(12.0).reshape(6, 2))
    ps = R.PackedSequence(data, [3, 2, 1], [2, 0, 1])
    assert ps.unsorted_indices.data.tolist() == [1, 2, 0] and ps.batch_sizes.data.dtype == np.int64
    assert R.PackedSequence((data, [3, 2, 1])).sorted_indices is None
    data32, same = ps.float(), ps.double()
    assert data32.data.dtype == np.float32 and same is ps
    assert ps.to(np.float32).data.dtype == np.float32 and ps.cpu() is ps and not ps.is_cuda
    assert data32.sorted_indices.data.tolist() == [2, 0, 1]
    x = tl.Tensor(np.arange(8.0).reshape(4, 2, 1))
    for lengths in (np.array([2, 4]), tl.Tensor(np.array([2, 4])), (2, 4)):  # as [2, 4]
        p = R.pack_padded_sequence(x, lengths, enforce_sorted=False)
        assert p.data.data.ravel().tolist() == [1, 0, 3, 2, 5, 7] and p.batch_sizes.data.tolist() == [2, 2, 1, 1]
    data_, bs, si, ui = ps  # a named tuple of four, as torch's
    assert data_ is data and ui is ps.unsorted_indices
    with pytest.raises(ValueError, match=r"PackedSequence: data of shape \(6, 2\).*sum\(batch_sizes\) = 5"):
        R.PackedSequence(data, [3, 1, 1])
    with pytest.raises(ValueError, match=r"PackedSequence: batch_sizes .* \[1, 2, 3\]"):
        R.PackedSequence(data, [1, 2, 3])
    with pytest.raises(ValueError, match=r"PackedSequence: sorted_indices must be a permutation of range\(3\)"):
        R.PackedSequence(data, [3, 2, 1], [0, 0, 1])


def test_packing_errors_name_the_function_and_the_values(torch: Any) -> None:
    x = np.zeros((4, 3, 2))  # (T, B, F)
    tx = torch.zeros(4, 3, 2)
    for lengths, enforce, exc, text in [([3, 1, 2], True, RuntimeError, r"sorted in decreasing order.*\[3, 1, 2\]"),
                                        ([3, 0, 2], False, RuntimeError, r"greater than 0.*\[3, 0, 2\]")]:
        with pytest.raises(exc, match="pack_padded_sequence: .*" + text):
            R.pack_padded_sequence(tl.Tensor(x), lengths, enforce_sorted=enforce)
        with pytest.raises(exc):  # torch raises the same type
            torch.nn.utils.rnn.pack_padded_sequence(tx, torch.tensor(lengths), enforce_sorted=enforce)
    with pytest.raises(ValueError, match=r"pack_padded_sequence: lengths \[5, 2, 1\] exceed the 4 time steps"):
        R.pack_padded_sequence(tl.Tensor(x), [5, 2, 1])
    with pytest.raises(ValueError, match=r"pack_padded_sequence: got 2 lengths \[3, 2\] for a batch of 3"):
        R.pack_padded_sequence(tl.Tensor(x), [3, 2])
    with pytest.raises(TypeError, match="pack_padded_sequence: lengths must be a non-empty 1-D sequence of integers"):
        R.pack_padded_sequence(tl.Tensor(x), [3.5, 2, 1])
    with pytest.raises(ValueError, match="pack_padded_sequence: a batched input .* needs batch_first=True"):
        R.pack_padded_sequence(tl.Tensor(x, batched=True), [3, 2, 1])
    with pytest.raises(RuntimeError, match=r"pack_sequence: sorted in decreasing order|pack_sequence: .*\[1, 2\]"):
        R.pack_sequence([tl.Tensor(np.zeros((1, 2))), tl.Tensor(np.zeros((2, 2)))])
    with pytest.raises(RuntimeError, match="pack_sequence: received an empty list"):
        R.pack_sequence([])
    ps = R.pack_padded_sequence(tl.Tensor(x), [3, 2, 1])
    with pytest.raises(ValueError, match="pad_packed_sequence: .*total_length=2 and max sequence length being 3"):
        R.pad_packed_sequence(ps, total_length=2)
    with pytest.raises(TypeError, match="pad_packed_sequence: expected a PackedSequence, got ndarray"):
        R.pad_packed_sequence(x)
    with pytest.raises(ValueError, match=r"unpad_sequence: lengths \[5, 1, 1\] do not fit"):
        R.unpad_sequence(tl.Tensor(x), [5, 1, 1])
    with pytest.raises(ValueError, match=r"LSTM\(3, 4\): a PackedSequence input needs data of shape"):
        nn.LSTM(3, 4)(ps)
    with pytest.raises(ValueError, match=r"GRU\(2, 4\): h_0 must have shape \(1, 3, 4\)"):
        nn.GRU(2, 4)(ps, tl.Tensor(np.zeros((1, 2, 4))))


# ------------------------------------------------------------------ recurrent layers -------
# (class, constructor keywords, lengths, batch_first, enforce_sorted, whether to give initial states)
LAYERS = [
    ("RNN", {}, [4, 3, 3, 1], False, True, False),
    ("RNN", {"nonlinearity": "relu", "num_layers": 2, "bidirectional": True}, [2, 4, 1, 3], True, False, True),
    ("LSTM", {}, [2, 5, 1, 3], False, False, True),
    ("LSTM", {"num_layers": 2, "bidirectional": True}, [5, 4, 2, 2], True, True, False),
    ("LSTM", {"num_layers": 2, "bidirectional": True, "proj_size": 2}, [2, 4, 1, 4], False, False, True),
    ("LSTM", {"bias": False, "bidirectional": True}, [3, 1, 2], True, False, True),
    ("GRU", {}, [3, 1, 3, 2], True, False, True),
    ("GRU", {"num_layers": 2, "bidirectional": True}, [2, 5, 1, 3], False, False, True),
    ("GRU", {"bidirectional": True}, [1, 1], True, True, False),
]


@pytest.mark.parametrize("cls,kw,lengths,batch_first,enforce_sorted,given", LAYERS)
def test_layers_over_packed_sequences_match_torch(torch: Any, cls: str, kw: dict, lengths: list, batch_first: bool,
                                                  enforce_sorted: bool, given: bool) -> None:
    tm = getattr(torch.nn, cls)(3, 4, batch_first=batch_first, **kw).double()
    m = getattr(nn, cls)(3, 4, batch_first=batch_first, **kw)
    _load(m, tm)
    rng = np.random.default_rng(2)
    B, T = len(lengths), max(lengths) + 1
    x = rng.standard_normal((B, T, 3) if batch_first else (T, B, 3))
    D, L, P = 2 if kw.get("bidirectional") else 1, kw.get("num_layers", 1), kw.get("proj_size") or 4
    states = [rng.standard_normal((D * L, B, n)) for n in ((P, 4) if cls == "LSTM" else (4,))] if given else []
    xs, ss = tl.Tensor(x, requires_grad=True), [tl.Tensor(s, requires_grad=True) for s in states]
    txs, tss = torch.tensor(x, requires_grad=True), [torch.tensor(s, requires_grad=True) for s in states]
    ps = R.pack_padded_sequence(xs, lengths, batch_first, enforce_sorted)
    tps = torch.nn.utils.rnn.pack_padded_sequence(txs, torch.tensor(lengths), batch_first, enforce_sorted)
    hx = (tuple(ss) if cls == "LSTM" else ss[0]) if given else None
    thx = (tuple(tss) if cls == "LSTM" else tss[0]) if given else None
    out, ends = m(ps, hx)
    tout, tends = tm(tps, thx)
    ends, tends = (list(ends), list(tends)) if cls == "LSTM" else ([ends], [tends])
    _same_packing(out, tout)
    assert out.data.shape == (sum(lengths), D * P)
    for e, te in zip(ends, tends):
        assert e.shape == tuple(te.shape)
        _close(e.data, _np(te), "h_n / c_n")
    padded, _ = R.pad_packed_sequence(out, batch_first, total_length=T)
    tpadded, _ = torch.nn.utils.rnn.pad_packed_sequence(tout, batch_first, total_length=T)
    _close(padded.data, _np(tpadded), "padded output")
    w, wd = rng.standard_normal(padded.shape), rng.standard_normal(out.data.shape)
    we = [rng.standard_normal(e.shape) for e in ends]
    loss = (padded * w).sum() + (out.data * wd).sum() + sum(((e * e) * v).sum() for e, v in zip(ends, we))
    tloss = (tpadded * torch.tensor(w)).sum() + (tout.data * torch.tensor(wd)).sum() + \
        sum(((e * e) * torch.tensor(v)).sum() for e, v in zip(tends, we))
    loss.backward()
    tloss.backward()
    _close(loss.item(), tloss.item(), "loss")
    _close_grads(m, tm, xs, txs, ss, tss)


def test_final_states_are_each_sequences_own_last_step() -> None:
    """h_n of a packed batch equals, sequence by sequence, the unpacked layer run on that
    sequence alone (forward: after its last step; reverse: after its first)."""
    m = nn.GRU(3, 4, bidirectional=True, num_layers=2, rng=0)
    rng = np.random.default_rng(3)
    seqs = [rng.standard_normal((n, 3)) for n in (2, 5, 3)]
    out, h = m(R.pack_sequence([tl.Tensor(s) for s in seqs], enforce_sorted=False))
    for b, s in enumerate(seqs):
        o1, h1 = m(tl.Tensor(s))  # unbatched (T, F)
        _close(h.data[:, b], h1.data, f"h_n of sequence {b}")
        _close(R.unpack_sequence(out)[b].data, o1.data, f"output of sequence {b}")


# ------------------------------------------------------------------ per-sample gradients ---
PER_SAMPLE = [
    ("RNN", {}, [4, 3, 3, 1], True),
    ("LSTM", {"num_layers": 2, "bidirectional": True}, [2, 4, 1, 4], False),
    ("LSTM", {"proj_size": 2}, [3, 1, 2], False),
    ("GRU", {"bidirectional": True}, [2, 5, 1, 3], False),
]


@pytest.mark.parametrize("cls,kw,lengths,enforce_sorted", PER_SAMPLE)
def test_grad_sample_through_packing_equals_each_sample_alone(cls: str, kw: dict, lengths: list,
                                                              enforce_sorted: bool) -> None:
    """A batched (B, T, F) input, packed, run, padded back with batch_first=True: one backward
    of a mean cost gives each sample's gradient, as a backward on that sample alone (packed
    with its own length) gives it; given batched initial states included."""
    m = getattr(nn, cls)(3, 4, batch_first=True, rng=4, **kw)
    rng = np.random.default_rng(5)
    B, T = len(lengths), max(lengths) + 1
    D, L, P = 2 if kw.get("bidirectional") else 1, kw.get("num_layers", 1), kw.get("proj_size") or 4
    x = rng.standard_normal((B, T, 3))
    x[np.arange(T)[None, :] >= np.array(lengths)[:, None]] = 7.0  # padding: never read
    y = rng.standard_normal((B, T, D * P))
    h0 = rng.standard_normal((B, D * L, P))

    def cost(xb: Any, yb: Any, hb: Any, lens: list, es: bool) -> Any:
        hx = (hb, tl.Tensor(np.zeros(hb.shape[:-1] + (4,)), batched=hb.batched)) if cls == "LSTM" else hb
        out, _ = m(R.pack_padded_sequence(xb, lens, batch_first=True, enforce_sorted=es), hx)
        padded, _ = R.pad_packed_sequence(out, batch_first=True, total_length=T)
        assert padded.batched == xb.batched
        return nn.mse_loss(padded, yb)

    cost(tl.Tensor(x, batched=True), tl.Tensor(y, batched=True), tl.Tensor(h0, batched=True), lengths,
         enforce_sorted).backward()
    got = {n: (p.grad.copy(), p.grad_sample.copy()) for n, p in m.named_parameters()}
    want = {n: np.zeros_like(gs) for n, (_, gs) in got.items()}
    for b in range(B):
        m.zero_grad()
        cost(tl.Tensor(x[b:b + 1]), tl.Tensor(y[b:b + 1]), tl.Tensor(h0[b:b + 1].swapaxes(0, 1)), [lengths[b]],
             True).backward(per_sample=False)
        for n, p in m.named_parameters():
            want[n][b] = p.grad
    for n, (g, gs) in got.items():
        _close(gs, want[n], f"grad_sample of {n}")
        _close(g, want[n].mean(0), f"grad of {n}")


def test_grad_sample_of_an_embedding_before_packing() -> None:
    emb, lstm = nn.Embedding(7, 3, rng=6), nn.LSTM(3, 4, batch_first=True, rng=7)
    rng = np.random.default_rng(8)
    tokens, lengths = rng.integers(0, 7, (3, 4)), [2, 4, 3]
    y = rng.standard_normal((3, 4))

    def cost(tok: Any, yb: Any, lens: list) -> Any:
        ps = R.pack_padded_sequence(emb(tok), lens, batch_first=True, enforce_sorted=False)
        padded, _ = R.pad_packed_sequence(lstm(ps)[0], batch_first=True, total_length=4)
        return nn.mse_loss(padded.sum(-1), yb)

    cost(tl.Tensor(tokens, batched=True), tl.Tensor(y, batched=True), lengths).backward()
    params = [emb.weight] + list(lstm.parameters())
    got = [p.grad_sample.copy() for p in params]
    for b in range(3):
        for p in params:
            p.grad = None
        cost(tl.Tensor(tokens[b:b + 1]), tl.Tensor(y[b:b + 1]), [lengths[b]]).backward(per_sample=False)
        for p, gs in zip(params, got):
            _close(gs[b], p.grad, "grad_sample of one sample")


@pytest.mark.parametrize("what", ["packed output data", "h_n", "padded time first", "packed input data"])
def test_losses_that_mix_samples_raise_on_reading_grad_sample(what: str) -> None:
    """PackedSequence.data interleaves samples and h_n has them on axis 1: a cost built from
    them fills .grad but reading grad_sample raises the mixing error naming the op."""
    m, lin = nn.GRU(3, 4, batch_first=True, rng=9), nn.Linear(3, 2, rng=10)
    x = tl.Tensor(np.random.default_rng(11).standard_normal((3, 4, 3)), batched=True)
    ps = R.pack_padded_sequence(x, [4, 2, 3], batch_first=True, enforce_sorted=False)
    out, h = m(ps)
    loss = {"packed output data": lambda: (out.data ** 2).mean(), "h_n": lambda: (h ** 2).mean(),
            "padded time first": lambda: (R.pad_packed_sequence(out)[0] ** 2).mean(),
            "packed input data": lambda: (lin(ps.data) ** 2).mean()}[what]()
    loss.backward()
    p = lin.weight if what == "packed input data" else m.weight_ih_l0
    assert p.grad is not None and np.all(np.isfinite(p.grad)) and np.any(p.grad != 0)
    name = {"h_n": "h_n/c_n", "packed input data": "op 'pack_padded_sequence' interleaves"}.get(
        what, r"'GRU\(3, 4\)' returns a PackedSequence")
    with pytest.raises(RuntimeError, match=f"per-sample gradients .* undefined: .*{name}"):
        p.grad_sample  # noqa: B018
