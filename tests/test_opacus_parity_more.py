"""More parity with Opacus and dp-accounting: the cases the first parity file leaves out.

* ``grad_sample``, ``grad_sample_norm`` and ``tl.per_sample_norms`` against Opacus's
  ``GradSampleModule`` (float64, the same weights) for Linear with a bias on (B, T, F) and
  (B, T, U, F) inputs, grouped, depthwise, strided, dilated and even-kernel "same" convolutions,
  InstanceNorm with affine weights, a GroupNorm of one group, a 1-D Embedding input, 1-layer
  LSTM and bias-free 2-layer GRU, self-attention and attention with masks: mean and sum costs,
  batches of 1 and 3, read lazily or after ``backward(per_sample="norms")``; layers used twice.
* Recurrent layers with ``batch_first=False`` (Opacus runs them sequence-first): the batch
  gradient equals the mean of Opacus's rows, the same weights with ``batch_first=True`` give
  Opacus's rows, and a batched input with ``batch_first=False`` is refused.
* Convolutions with ``padding_mode`` reflect / circular / replicate against torch run one sample
  at a time (Opacus's per-sample gradients of these layers are not torch's).
* ``DPSGD`` without noise against the clipped mean built from Opacus's ``grad_sample`` with the
  exact rule ``min(1, C / |g_b|)`` (1e-10) and against ``DPOptimizer`` (which clips with
  ``C / (|g_b| + 1e-6)``); batches of 4, 2, 5 and a last one of 1; the expected and the actual
  batch size as divisor; two epochs of a Poisson loader with an empty batch and its accounting.
  Empty batches through every layer, noise statistics (also of a noise-only step) and seeds.
* RDP epsilons over the grid q x sigma x steps x delta against dp-accounting (equal) and Opacus:
  Opacus sums the series of the subsampled Gaussian's RDP at fractional orders with the signs of
  the binomial coefficients (exact), dp-accounting with their absolute values (an upper bound),
  so epsilon here (dp-accounting's, by contract) is never below Opacus's and never above
  Opacus's over the integer orders alone, and equal where Opacus's best order is an integer.
  PLD against dp-accounting and Opacus's PRV; hostile arguments.
"""

from __future__ import annotations

import itertools
import logging
import math
from typing import Any, Callable

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn, optim, privacy

torch = pytest.importorskip("torch")
opacus = pytest.importorskip("opacus")
dpa = pytest.importorskip("dp_accounting")
pytestmark = pytest.mark.filterwarnings("ignore")

from opacus.layers import DPGRU, DPLSTM, DPRNN, DPMultiheadAttention  # noqa: E402
from opacus.optimizers import DPOptimizer  # noqa: E402

tnn = torch.nn


def _close(a: Any, b: Any, what: str, tol: float = 1e-10) -> None:
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, (what, a.shape, b.shape)
    scale = max(1.0, float(np.max(np.abs(b)))) if b.size else 1.0
    err = float(np.max(np.abs(a - b))) / scale if a.size else 0.0
    assert err < tol, (what, err)


def _state(tm: Any, prefix: str = "") -> dict:
    return {prefix + k: v.detach().numpy().copy() for k, v in tm.state_dict().items()}


def _norms(rows: np.ndarray) -> np.ndarray:
    return np.sqrt((rows.reshape(rows.shape[0], -1) ** 2).sum(axis=1))


class _First(nn.Module):
    """The first output of a layer that returns a tuple."""

    def __init__(self, layer: Any) -> None:
        self.layer = layer

    def forward(self, *xs: Any, **kw: Any) -> tl.Tensor:
        return self.layer(*xs, **kw)[0]


def _randn(*shape: int) -> Callable:
    return lambda B, rng: rng.standard_normal((B, *shape))


# ----------------------------------------------------------------------------- per-sample gradients

# name -> (ours, theirs, input makers); recurrent layers and attention are wrapped in _First
CASES: dict = {
    "Linear-3d-bias": lambda: (nn.Linear(5, 3), tnn.Linear(5, 3), [_randn(4, 5)]),
    "Linear-4d": lambda: (nn.Linear(5, 3), tnn.Linear(5, 3), [_randn(2, 3, 5)]),
    "Conv2d-groups-nobias": lambda: (nn.Conv2d(6, 6, 3, stride=2, padding=1, groups=3, bias=False),
                                     tnn.Conv2d(6, 6, 3, stride=2, padding=1, groups=3, bias=False), [_randn(6, 7, 7)]),
    "Conv2d-depthwise-same": lambda: (nn.Conv2d(4, 8, 3, padding="same", groups=4),
                                      tnn.Conv2d(4, 8, 3, padding="same", groups=4), [_randn(4, 5, 6)]),
    "Conv1d-stride-dilation": lambda: (nn.Conv1d(2, 3, 3, stride=3, padding=1, dilation=3),
                                       tnn.Conv1d(2, 3, 3, stride=3, padding=1, dilation=3), [_randn(2, 13)]),
    "Conv2d-same-even-kernel": lambda: (nn.Conv2d(2, 3, (2, 4), padding="same", dilation=(3, 1)),
                                        tnn.Conv2d(2, 3, (2, 4), padding="same", dilation=(3, 1)), [_randn(2, 6, 5)]),
    "InstanceNorm2d": lambda: (nn.InstanceNorm2d(3, affine=True), tnn.InstanceNorm2d(3, affine=True),
                               [_randn(3, 4, 5)]),
    "InstanceNorm1d": lambda: (nn.InstanceNorm1d(3, affine=True), tnn.InstanceNorm1d(3, affine=True), [_randn(3, 6)]),
    "GroupNorm-one-group": lambda: (nn.GroupNorm(1, 4), tnn.GroupNorm(1, 4), [_randn(4, 5)]),
    "Embedding-1d": lambda: (nn.Embedding(7, 3), tnn.Embedding(7, 3), [lambda B, rng: rng.integers(0, 7, (B,))]),
    "LSTM-1-layer": lambda: (_First(nn.LSTM(3, 4, batch_first=True)), DPLSTM(3, 4, batch_first=True), [_randn(5, 3)]),
    "GRU-2-layers-nobias": lambda: (_First(nn.GRU(3, 4, num_layers=2, bias=False, batch_first=True)),
                                    DPGRU(3, 4, num_layers=2, bias=False, batch_first=True), [_randn(5, 3)]),
    "MultiheadAttention-self": lambda: (_First(nn.MultiheadAttention(4, 2)), DPMultiheadAttention(4, 2),
                                        [_randn(3, 4)] * 3),
}


def _qkv(theirs: dict) -> dict:
    """Opacus's attention keeps q, k and v projections apart; ours stacks them as torch does."""
    out = dict(theirs)
    for kind in ("weight", "bias"):
        parts = [out.pop(f"{c}linear.{kind}", None) for c in "qkv"]
        if parts[0] is not None:
            out[f"in_proj_{kind}"] = np.concatenate(parts, axis=1)
    return out


def _opacus_rows(tm: Any, xs: list, target: np.ndarray, reduction: str, seq_first: bool = False,
                 **kw: Any) -> dict:
    """Opacus's grad_sample of ``mse_loss(tm(*xs), target, reduction)``; attention runs sequence-first."""
    gsm = opacus.GradSampleModule(tm, batch_first=not seq_first, loss_reduction=reduction)
    try:
        ts = [torch.from_numpy(x) for x in xs]
        tkw = {k: torch.from_numpy(v) for k, v in kw.items()}
        if seq_first:
            out = gsm(*[t.transpose(0, 1) for t in ts], **tkw)[0].transpose(0, 1)
        else:
            out = gsm(*ts)
        out = out[0] if isinstance(out, tuple) else out
        torch.nn.functional.mse_loss(out, torch.from_numpy(target), reduction=reduction).backward()
        return _qkv({k.removeprefix("_module."): p.grad_sample.numpy().copy() for k, p in gsm.named_parameters()})
    finally:
        gsm._close()


def _check_against(m: nn.Module, theirs: dict, B: int, what: str, rows: bool) -> None:
    ours = {k.removeprefix("layer."): p for k, p in m.named_parameters()}
    assert set(ours) == set(theirs), (what, sorted(ours), sorted(theirs))
    for k, p in ours.items():
        _close(p.grad_sample_norm, _norms(theirs[k]), f"{what}: grad_sample_norm of {k}")
        if rows:
            _close(p.grad_sample, theirs[k], f"{what}: grad_sample of {k}")
        else:
            assert p.grad_sample is None, what
    total = np.sqrt(sum(_norms(v) ** 2 for v in theirs.values()))
    _close(tl.per_sample_norms(m.parameters()), total, f"{what}: per_sample_norms")


@pytest.mark.parametrize("name", list(CASES))
def test_grad_sample_norms_and_total_norms_equal_opacus(name: str) -> None:
    torch.manual_seed(0)
    m, tm, makers = CASES[name]()
    tm = tm.double()
    m.load_state_dict(_state(tm, "layer." if isinstance(m, _First) else ""))
    seq_first = name.startswith("MultiheadAttention")
    for B in (1, 3):
        rng = np.random.default_rng(B)
        xs = [make(B, rng) for make in makers]
        target = rng.standard_normal(m(*[tl.Tensor(x, batched=True) for x in xs]).shape)
        for reduction in ("mean", "sum"):
            theirs = _opacus_rows(tm, xs, target, reduction, seq_first)
            for mode in (True, "norms"):
                m.zero_grad()
                cost = nn.mse_loss(m(*[tl.Tensor(x, batched=True) for x in xs]), tl.Tensor(target, batched=True),
                                   reduction=reduction)
                cost.backward(per_sample=mode)
                _check_against(m, theirs, B, f"{name} B={B} {reduction} {mode}", rows=mode is True)


@pytest.mark.parametrize("masks", ["key_padding_mask", "attn_mask-bool", "attn_mask-float", "both"])
def test_attention_with_masks_equals_opacus(masks: str) -> None:
    B, L, S, E = 3, 3, 4, 6
    rng = np.random.default_rng(0)
    q, k, v = rng.standard_normal((B, L, E)), rng.standard_normal((B, S, E)), rng.standard_normal((B, S, E))
    kpm = np.zeros((B, S), bool)
    kpm[0, 3] = kpm[2, 1] = kpm[2, 2] = True
    kw = {"key_padding_mask": {"key_padding_mask": kpm},
          "attn_mask-bool": {"attn_mask": np.triu(np.ones((L, S), bool), 2)},
          "attn_mask-float": {"attn_mask": rng.standard_normal((L, S))},
          "both": {"attn_mask": np.triu(np.ones((L, S), bool), 2), "key_padding_mask": kpm}}[masks]
    torch.manual_seed(0)
    tm = DPMultiheadAttention(E, 2).double()
    m = _First(nn.MultiheadAttention(E, 2))
    m.load_state_dict(_state(tm, "layer."))
    target = rng.standard_normal((B, L, E))
    for reduction in ("mean", "sum"):
        m.zero_grad()
        out = m(*[tl.Tensor(a, batched=True) for a in (q, k, v)], **kw)
        nn.mse_loss(out, tl.Tensor(target, batched=True), reduction=reduction).backward()
        theirs = _opacus_rows(tm, [q, k, v], target, reduction, seq_first=True, **kw)
        _check_against(m, theirs, B, f"{masks} {reduction}", rows=True)


class _Reused(nn.Module):
    """Linear, Conv1d and Embedding each applied twice: a parameter's per-sample gradient is the
    sum of two contributions, whose norm is not the sum of their norms."""

    def __init__(self) -> None:
        self.emb, self.lin, self.conv = nn.Embedding(6, 4), nn.Linear(4, 4), nn.Conv1d(4, 4, 3, padding=1)

    def forward(self, i: Any) -> tl.Tensor:
        h = self.lin(self.lin(self.emb(i)).tanh())
        h = self.conv(self.conv(h.transpose(1, 2)).tanh()).transpose(1, 2)
        return (h + self.emb(5 - i)).sum(axis=1)


class _TorchReused(tnn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb, self.lin, self.conv = tnn.Embedding(6, 4), tnn.Linear(4, 4), tnn.Conv1d(4, 4, 3, padding=1)

    def forward(self, i: Any) -> Any:
        h = self.lin(torch.tanh(self.lin(self.emb(i))))
        h = self.conv(torch.tanh(self.conv(h.transpose(1, 2)))).transpose(1, 2)
        return (h + self.emb(5 - i)).sum(dim=1)


def test_layers_used_twice_equal_opacus() -> None:
    torch.manual_seed(0)
    tm, m = _TorchReused().double(), _Reused()
    m.load_state_dict(_state(tm))
    rng = np.random.default_rng(0)
    idx, target = rng.integers(0, 6, (4, 5)), rng.standard_normal((4, 4))
    theirs = _opacus_rows(tm, [idx], target, "mean")
    for mode in (True, "norms"):
        m.zero_grad()
        nn.mse_loss(m(tl.Tensor(idx, batched=True)), tl.Tensor(target, batched=True)).backward(per_sample=mode)
        _check_against(m, theirs, 4, f"reused {mode}", rows=mode is True)


@pytest.mark.parametrize("ours, theirs", [(nn.RNN, DPRNN), (nn.GRU, DPGRU), (nn.LSTM, DPLSTM)])
def test_sequence_first_recurrent_layers(ours: Any, theirs: Any) -> None:
    # Opacus runs batch_first=False layers with the samples on axis 1; here axis 0 of a batched
    # tensor is always the samples, so such a layer gives the batch gradient of an unbatched
    # (T, B, F) input, and per-sample rows come from the same weights with batch_first=True
    torch.manual_seed(0)
    tm = theirs(3, 4, num_layers=2, bidirectional=True).double()
    m = ours(3, 4, num_layers=2, bidirectional=True)
    m.load_state_dict(_state(tm))
    rng = np.random.default_rng(0)
    x, target = rng.standard_normal((5, 3, 3)), rng.standard_normal((5, 3, 8))  # (T, B, F), (T, B, 2H)
    gsm = opacus.GradSampleModule(tm, batch_first=False, loss_reduction="mean")
    torch.nn.functional.mse_loss(gsm(torch.from_numpy(x))[0], torch.from_numpy(target)).backward()
    rows = {k.removeprefix("_module."): p.grad_sample.numpy().copy() for k, p in gsm.named_parameters()}
    gsm._close()
    nn.mse_loss(m(tl.Tensor(x))[0], tl.Tensor(target)).backward()
    for k, p in m.named_parameters():
        _close(p.grad, rows[k].mean(axis=0), f"grad of {k}")
    with pytest.raises(ValueError, match=r"batch_first=True"):
        m(tl.Tensor(x.transpose(1, 0, 2).copy(), batched=True))
    first = ours(3, 4, num_layers=2, bidirectional=True, batch_first=True)
    first.load_state_dict(m.state_dict())
    out = first(tl.Tensor(x.transpose(1, 0, 2).copy(), batched=True))[0]
    nn.mse_loss(out, tl.Tensor(target.transpose(1, 0, 2).copy(), batched=True)).backward()
    for k, p in first.named_parameters():
        _close(p.grad_sample, rows[k], f"grad_sample of {k}")


@pytest.mark.parametrize("mode", ["reflect", "circular", "replicate"])
def test_padding_modes_equal_torch_one_sample_at_a_time(mode: str) -> None:
    torch.manual_seed(0)
    tm = tnn.Conv2d(2, 3, 3, stride=(1, 2), padding=(1, 2), padding_mode=mode).double()
    m = nn.Conv2d(2, 3, 3, stride=(1, 2), padding=(1, 2), padding_mode=mode)
    m.load_state_dict(_state(tm))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 2, 5, 6))
    target = rng.standard_normal(tuple(tm(torch.from_numpy(x)).shape))
    nn.mse_loss(m(tl.Tensor(x, batched=True)), tl.Tensor(target, batched=True)).backward()
    rows: dict = {"weight": [], "bias": []}
    for b in range(3):
        tm.zero_grad()
        torch.nn.functional.mse_loss(tm(torch.from_numpy(x[b:b + 1])), torch.from_numpy(target[b:b + 1])).backward()
        for k in rows:
            rows[k].append(getattr(tm, k).grad.numpy().copy())
    for k, p in m.named_parameters():
        _close(p.grad_sample, np.stack(rows[k]), f"grad_sample of {k}")
        _close(p.grad_sample_norm, _norms(np.stack(rows[k])), f"grad_sample_norm of {k}")


# ----------------------------------------------------------------------------- DPSGD


class _Net(nn.Module):
    """Linear on (B, T, F), LayerNorm, a 'same' Conv2d, InstanceNorm2d, a 2-layer GRU and a
    bias-free head."""

    def __init__(self) -> None:
        self.inp, self.ln = nn.Linear(3, 4), nn.LayerNorm(4)
        self.conv, self.inorm = nn.Conv2d(1, 2, 3, padding="same"), nn.InstanceNorm2d(2, affine=True)
        self.gru, self.head = nn.GRU(4, 3, num_layers=2, batch_first=True), nn.Linear(3, 2, bias=False)

    def forward(self, x: Any) -> tl.Tensor:
        h = self.ln(self.inp(x))
        h = h + self.inorm(self.conv(h.unsqueeze(1))).mean(axis=1)
        return self.head(self.gru(h)[0][:, -1])


class _TorchNet(tnn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inp, self.ln = tnn.Linear(3, 4), tnn.LayerNorm(4)
        self.conv, self.inorm = tnn.Conv2d(1, 2, 3, padding="same"), tnn.InstanceNorm2d(2, affine=True)
        self.gru, self.head = DPGRU(4, 3, num_layers=2, batch_first=True), tnn.Linear(3, 2, bias=False)

    def forward(self, x: Any) -> Any:
        h = self.ln(self.inp(x))
        h = h + self.inorm(self.conv(h.unsqueeze(1))).mean(dim=1)
        return self.head(self.gru(h)[0][:, -1])


def _nets() -> tuple:
    torch.manual_seed(0)
    tm, m = _TorchNet().double(), _Net()
    m.load_state_dict({f"{name}.{k}": v for name, c in tm.named_children() for k, v in _state(c).items()})
    theirs = {f"{name}.{k}": p for name, c in tm.named_children() for k, p in c.named_parameters()}
    assert set(theirs) == {k for k, _ in m.named_parameters()}
    return m, tm, theirs


SIZES = [4, 2, 5, 1]  # the last batch holds one sample


def _batches() -> list:
    rng = np.random.default_rng(1)
    return [(rng.standard_normal((b, 5, 3)), rng.standard_normal((b, 2))) for b in SIZES]


def _median_norm() -> float:
    m, _, _ = _nets()
    x, y = _batches()[0]
    nn.mse_loss(m(tl.Tensor(x, batched=True)), tl.Tensor(y, batched=True)).backward()
    return float(np.median(tl.per_sample_norms(m.parameters())))


@pytest.mark.parametrize("divisor", ["expected", "actual"])
def test_noise_free_dpsgd_is_the_clipped_mean_of_opacus_rows(divisor: str) -> None:
    m, tm, theirs = _nets()
    lr, C, E = 0.3, _median_norm(), 3
    opt = optim.DPSGD(m.parameters(), lr=lr, max_grad_norm=C, noise_multiplier=0.0,
                      expected_batch_size=E if divisor == "expected" else None)
    gsm = opacus.GradSampleModule(tm, loss_reduction="mean")
    clipped = []
    for x, y in _batches():
        opt.zero_grad()
        nn.mse_loss(m(tl.Tensor(x, batched=True)), tl.Tensor(y, batched=True)).backward()
        opt.step()
        clipped.append(opt.last_clipped_fraction)
        # the rule on Opacus's rows: p -= lr * sum_b min(1, C / |g_b|) g_b / D
        gsm.zero_grad()
        torch.nn.functional.mse_loss(gsm(torch.from_numpy(x)), torch.from_numpy(y)).backward()
        rows = {k: p.grad_sample.numpy().copy() for k, p in theirs.items()}
        n = np.sqrt(sum(_norms(r) ** 2 for r in rows.values()))
        c = np.minimum(1.0, C / n)
        D = E if divisor == "expected" else len(y)
        with torch.no_grad():
            for k, p in theirs.items():
                p -= torch.from_numpy(lr * np.tensordot(c, rows[k], axes=(0, 0)) / D)
    gsm._close()
    assert 0 < np.mean(clipped) < 1, clipped
    for k, p in m.named_parameters():
        _close(p.data, theirs[k].detach().numpy(), k)


@pytest.mark.parametrize("divisor", ["expected", "actual"])
def test_noise_free_dpsgd_equals_dp_optimizer(divisor: str) -> None:
    # DPOptimizer clips with C / (|g_b| + 1e-6): a relative difference of ~1e-6 / C per clipped sample
    m, tm, theirs = _nets()
    lr, C, E = 0.3, _median_norm(), 3
    w0 = {k: p.data.copy() for k, p in m.named_parameters()}
    opt = optim.DPSGD(m.parameters(), lr=lr, max_grad_norm=C, noise_multiplier=0.0,
                      expected_batch_size=E if divisor == "expected" else None)
    gsm = opacus.GradSampleModule(tm, loss_reduction="mean")
    topt = DPOptimizer(torch.optim.SGD(gsm.parameters(), lr=lr), noise_multiplier=0.0, max_grad_norm=C,
                       expected_batch_size=E, loss_reduction="mean")
    for x, y in _batches():
        opt.zero_grad()
        nn.mse_loss(m(tl.Tensor(x, batched=True)), tl.Tensor(y, batched=True)).backward()
        opt.step()
        topt.zero_grad()
        if divisor == "actual":
            topt.expected_batch_size = len(y)
        torch.nn.functional.mse_loss(gsm(torch.from_numpy(x)), torch.from_numpy(y)).backward()
        topt.step()
    gsm._close()
    their_upd = {k: theirs[k].detach().numpy() - w0[k] for k in w0}
    scale = max(np.abs(u).max() for u in their_upd.values())  # (conv.bias before InstanceNorm: 0)
    for k, p in m.named_parameters():
        _close((p.data - w0[k]) / scale, their_upd[k] / scale, k, tol=4e-6 / C)


def test_poisson_epochs_with_an_empty_batch_equal_the_rule_on_opacus_rows() -> None:
    # two epochs of a Poisson loader (q = 3/30; batches of 0 to 6 samples, seed 0 draws an empty
    # one and ones of a single sample), divided by the expected batch size; the accountant of a
    # noisy twin records every step, the empty one included, and spends Opacus's epsilon or more
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((30, 4)), rng.integers(0, 3, 30)
    torch.manual_seed(0)
    tm = tnn.Sequential(tnn.Linear(4, 5), tnn.Tanh(), tnn.Linear(5, 3)).double()
    m = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3))
    m.load_state_dict(_state(tm))
    lr, C, E = 0.5, 0.3, 3
    loader = tl.data.DataLoader(X, Y, batch_size=E, sampling="poisson", seed=0)
    opt = optim.DPSGD(m.parameters(), lr=lr, max_grad_norm=C, noise_multiplier=0.0, expected_batch_size=E)
    noisy = optim.DPSGD(nn.Linear(4, 3).parameters(), lr=lr, max_grad_norm=C, noise_multiplier=1.0,
                        expected_batch_size=E, accountant=privacy.Accountant(), sample_rate=loader.sample_rate)
    gsm = opacus.GradSampleModule(tm, loss_reduction="mean")
    sizes, clipped = [], []
    for _ in range(2):
        for xb, yb in loader:
            x, y = np.asarray(xb.data), np.asarray(yb.data if isinstance(yb, tl.Tensor) else yb)
            sizes.append(len(y))
            opt.zero_grad()
            nn.functional.cross_entropy(m(xb), yb).backward()
            opt.step()
            clipped.append(opt.last_clipped_fraction)
            noisy.step()  # no gradients: a noise-only step, accounted
            if len(y) == 0:
                continue
            gsm.zero_grad()
            torch.nn.functional.cross_entropy(gsm(torch.from_numpy(x)), torch.from_numpy(y)).backward()
            rows = [p.grad_sample.numpy().copy() for p in tm.parameters()]
            c = np.minimum(1.0, C / np.sqrt(sum(_norms(r) ** 2 for r in rows)))
            with torch.no_grad():
                for p, r in zip(tm.parameters(), rows):
                    p -= torch.from_numpy(lr * np.tensordot(c, r, axes=(0, 0)) / E)
    gsm._close()
    assert 0 in sizes and 1 in sizes and len(sizes) == 20
    assert 0 < np.mean(clipped) < 1, clipped
    for (k, p), tp in zip(m.named_parameters(), tm.parameters()):
        _close(p.data, tp.detach().numpy(), k)
    assert noisy.accountant.history == [(1.0, 0.1, 20)]
    their = opacus.accountants.RDPAccountant()
    their.history = [(1.0, 0.1, 20)]
    assert their.get_epsilon(1e-5) * (1 - 1e-10) <= noisy.accountant.get_epsilon(1e-5)
    assert noisy.accountant.get_epsilon(1e-5) <= their.get_epsilon(1e-5) * (1 + 1e-3)


def _empty_layers() -> list:
    return [
        (nn.Linear(3, 2), (0, 4, 3)), (nn.Conv1d(2, 4, 3, padding="same", groups=2, bias=False), (0, 2, 6)),
        (nn.Conv2d(2, 4, 3, stride=2, dilation=2, padding=1), (0, 2, 7, 7)),
        (nn.Embedding(5, 3, padding_idx=0), None), (nn.LayerNorm(3), (0, 4, 3)), (nn.GroupNorm(2, 4), (0, 4, 5)),
        (nn.InstanceNorm2d(3, affine=True), (0, 3, 4, 4)),
        (_First(nn.RNN(3, 4, num_layers=2, bidirectional=True, batch_first=True)), (0, 5, 3)),
        (_First(nn.GRU(3, 4, num_layers=2, bidirectional=True, batch_first=True)), (0, 5, 3)),
        (_First(nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True)), (0, 5, 3)),
        (_First(nn.MultiheadAttention(4, 2)), (0, 3, 4)),
    ]


@pytest.mark.parametrize("k", range(11))
def test_an_empty_batch_through_each_layer_is_a_noise_only_step(k: int) -> None:
    m, shape = _empty_layers()[k]
    x = np.zeros((0, 5), np.int64) if shape is None else np.zeros(shape)
    xs = [tl.Tensor(x, batched=True)] * (3 if isinstance(getattr(m, "layer", None), nn.MultiheadAttention) else 1)
    for reduction in ("mean", "sum"):
        m.zero_grad()
        out = m(*xs)
        cost = nn.mse_loss(out, tl.Tensor(np.zeros(out.shape), batched=True), reduction=reduction)
        assert float(cost.data) == 0.0
        cost.backward()
        for name, p in m.named_parameters():
            assert p.grad_sample.shape == (0, *p.shape) and p.grad_sample_norm.shape == (0,), name
            assert np.all(p.grad == 0), name
        assert tl.per_sample_norms(m.parameters()).shape == (0,)
        w0 = {n: p.data.copy() for n, p in m.named_parameters()}
        optim.DPSGD(m.parameters(), lr=1.0, max_grad_norm=1.0, noise_multiplier=0.0, expected_batch_size=2).step()
        assert all(np.array_equal(p.data, w0[n]) for n, p in m.named_parameters())


def _noise(sigma: float, seed: Any, E: Any, empty: bool = False) -> np.ndarray:
    """The update of one step on a 3050-parameter Linear, divided by lr."""
    lin = nn.Linear(60, 50, rng=0)
    w0 = np.concatenate([p.data.ravel().copy() for p in lin.parameters()])
    opt = optim.DPSGD(lin.parameters(), lr=0.5, max_grad_norm=0.7, noise_multiplier=sigma, expected_batch_size=E,
                      rng=seed)
    rng = np.random.default_rng(1)
    B = 0 if empty else 5
    x, y = rng.standard_normal((B, 60)), rng.standard_normal((B, 50))
    nn.mse_loss(lin(tl.Tensor(x, batched=True)), tl.Tensor(y, batched=True)).backward()
    opt.step()
    return (np.concatenate([p.data.ravel() for p in lin.parameters()]) - w0) / 0.5


@pytest.mark.parametrize("E, empty", [(8, False), (None, False), (8, True)], ids=["expected", "actual", "empty"])
def test_noise_on_the_mean_has_std_sigma_c_over_the_batch_size(E: Any, empty: bool) -> None:
    sigma, C = 1.3, 0.7
    D = E if E is not None else 5
    z = np.concatenate([_noise(sigma, s, E, empty) - _noise(0.0, 0, E, empty) for s in range(4)]) / (sigma * C / D)
    n = z.size
    assert abs(z.mean()) < 5 / math.sqrt(n)
    assert abs(z.std() - 1) < 5 / math.sqrt(2 * n)
    assert abs(np.mean(z ** 4) - 3) < 5 * math.sqrt(96 / n)  # Gaussian kurtosis
    # a seed reproduces the step, an equal Generator too; another seed does not
    assert np.array_equal(_noise(sigma, 3, E, empty), _noise(sigma, 3, E, empty))
    assert np.array_equal(_noise(sigma, 3, E, empty), _noise(sigma, np.random.default_rng(3), E, empty))
    assert not np.array_equal(_noise(sigma, 3, E, empty), _noise(sigma, 4, E, empty))


# ----------------------------------------------------------------------------- accounting

GRID = list(itertools.product([0.001, 0.01, 0.1, 1.0], [0.5, 0.8, 1.0, 2.0, 5.0], [1, 10, 1000, 10000]))


def test_rdp_grid_equals_dp_accounting_and_brackets_opacus() -> None:
    from opacus.accountants.analysis import rdp as opacus_rdp
    orders = np.array(privacy.RDP_ORDERS)
    integer = orders == np.round(orders)
    same = 0
    logging.getLogger("absl").setLevel(logging.ERROR)
    for q, sigma, n in GRID:
        ours = privacy.Accountant("rdp")
        ours.step(sigma, q, n)
        ref = dpa.rdp.RdpAccountant(orders=list(privacy.RDP_ORDERS))
        ref.compose(dpa.PoissonSampledDpEvent(q, dpa.GaussianDpEvent(sigma)), n)
        rdp = opacus_rdp.compute_rdp(q=q, noise_multiplier=sigma, steps=n, orders=orders)
        for delta in (1e-5, 1e-7):
            what = (q, sigma, n, delta)
            eps = ours.get_epsilon(delta)
            assert eps == pytest.approx(ref.get_epsilon(delta), rel=1e-12), what
            theirs, best = opacus_rdp.get_privacy_spent(orders=orders, rdp=rdp, delta=delta)
            theirs_int, _ = opacus_rdp.get_privacy_spent(orders=orders[integer], rdp=rdp[integer], delta=delta)
            assert max(theirs, 0.0) * (1 - 1e-10) <= eps <= max(theirs_int, 0.0) * (1 + 1e-10), what
            if float(best).is_integer():
                assert eps == pytest.approx(max(theirs, 0.0), rel=1e-9, abs=1e-12), what
                same += 1
    assert same >= 60  # of the 160 (q, sigma, steps, delta): Opacus's best order is an integer


def test_fractional_order_rdp_is_an_upper_bound_where_opacus_is_exact() -> None:
    # q = 0.1, sigma = 2, alpha = 1.1: the exact RDP by quadrature, log E_{z~N(0, s^2)}[(1 - q + q
    # e^{(2z - 1)/(2 s^2)})^alpha] / (alpha - 1), is Opacus's; dp-accounting's is ~57% higher
    integrate = pytest.importorskip("scipy.integrate")
    from dp_accounting.rdp import rdp_privacy_accountant as dpa_rdp
    from opacus.accountants.analysis import rdp as opacus_rdp
    q, s, a = 0.1, 2.0, 1.1

    def f(z: float) -> float:
        return math.exp(-z * z / (2 * s * s)) / (s * math.sqrt(2 * math.pi)) * (
            1 - q + q * math.exp((2 * z - 1) / (2 * s * s))) ** a

    exact = math.log(integrate.quad(f, -60, 60, epsabs=1e-14, epsrel=1e-13)[0]) / (a - 1)
    assert opacus_rdp.compute_rdp(q=q, noise_multiplier=s, steps=1, orders=a) == pytest.approx(exact, rel=1e-7)
    theirs = getattr(dpa_rdp, "_compute_rdp_poisson_subsampled_gaussian", None)
    if theirs is None:
        pytest.skip("this dp-accounting has no _compute_rdp_poisson_subsampled_gaussian")
    assert theirs(q, s, [a])[0] > 1.5 * exact
    # epsilon here is dp-accounting's (the contract): above Opacus's where such an order is the best
    acc = privacy.Accountant("rdp")
    acc.step(1.0, 0.1, 10000)
    their = opacus.accountants.RDPAccountant()
    their.history = [(1.0, 0.1, 10000)]
    assert acc.get_epsilon(1e-5) > 1.2 * their.get_epsilon(1e-5)


@pytest.mark.parametrize("q, sigma, n", [(1.0, 5.0, 10), (0.01, 5.0, 1), (0.1, 2.0, 10)])
def test_pld_equals_dp_accounting_and_is_near_opacus_prv(q: float, sigma: float, n: int) -> None:
    ours = privacy.Accountant("pld")
    ours.step(sigma, q, n)
    ref = dpa.pld.PLDAccountant(value_discretization_interval=privacy.PLD_VALUE_DISCRETIZATION_INTERVAL)
    ref.compose(dpa.PoissonSampledDpEvent(q, dpa.GaussianDpEvent(sigma)), n)
    prv = opacus.accountants.PRVAccountant()
    prv.history = [(sigma, q, n)]
    for delta in (1e-5, 1e-7):
        eps = ours.get_epsilon(delta)
        assert eps == pytest.approx(ref.get_epsilon(delta), rel=1e-12)
        assert abs(eps - prv.get_epsilon(delta)) < 0.0125  # Opacus's PRV: eps_error 0.01
        rdp = privacy.Accountant("rdp")
        rdp.step(sigma, q, n)
        assert eps <= rdp.get_epsilon(delta) * (1 + 1e-9)


@pytest.mark.parametrize("eps, q, steps", [(1.0, 0.01, 1000), (3.0, 0.1, 10), (8.0, 1.0, 1000), (8.0, 0.1, 10000)])
def test_noise_multiplier_matches_opacus_or_is_the_cautious_one(eps: float, q: float, steps: int) -> None:
    from opacus.accountants.utils import get_noise_multiplier
    theirs = get_noise_multiplier(target_epsilon=eps, target_delta=1e-5, sample_rate=q, steps=steps)
    ours = privacy.get_noise_multiplier(eps, 1e-5, q, steps=steps)
    assert theirs <= ours <= theirs * 1.001
    acc = privacy.Accountant()
    acc.step(ours, q, steps)
    assert eps - 0.01 <= acc.get_epsilon(1e-5) <= eps


NAN = float("nan")


@pytest.mark.parametrize("call, name", [
    (lambda a: a.step(np.float64(NAN), 0.01), "noise_multiplier"),
    (lambda a: a.step(-1e-9, 0.01), "noise_multiplier"),
    (lambda a: a.step(1.0, np.float32(NAN)), "sample_rate"),
    (lambda a: a.step(1.0, -0.0), "sample_rate"),
    (lambda a: a.step(1.0, 1 + 1e-12), "sample_rate"),
    (lambda a: a.step(1.0, 0.01, np.int64(0)), "num_steps"),
    (lambda a: a.step(1.0, 0.01, NAN), "num_steps"),
    (lambda a: a.get_epsilon(np.float64(NAN)), "delta"),
    (lambda a: a.get_epsilon(math.inf), "delta"),
    (lambda a: privacy.get_noise_multiplier(1.0, 1e-5, NAN, steps=10), "sample_rate"),
    (lambda a: privacy.get_noise_multiplier(1.0, NAN, 0.01, steps=10), "target_delta"),
    (lambda a: privacy.get_noise_multiplier(1.0, 1e-5, 0.01, steps=-5), "steps"),
    (lambda a: privacy.get_noise_multiplier(1.0, 1e-5, 0.01, epochs=NAN), "epochs"),
    (lambda a: privacy.get_noise_multiplier(1.0, 1e-5, 0.01, steps=10, epsilon_tolerance=NAN), "epsilon_tolerance"),
    (lambda a: optim.DPSGD(nn.Linear(2, 1).parameters(), 0.1, max_grad_norm=NAN, noise_multiplier=1.0),
     "max_grad_norm"),
    (lambda a: optim.DPSGD(nn.Linear(2, 1).parameters(), 0.1, max_grad_norm=1.0, noise_multiplier=-1.0),
     "noise_multiplier"),
    (lambda a: optim.DPSGD(nn.Linear(2, 1).parameters(), 0.1, 1.0, 1.0, sample_rate=NAN), "sample_rate"),
])
def test_hostile_arguments_name_themselves_and_change_nothing(call: Callable, name: str) -> None:
    acc = privacy.Accountant()
    acc.step(1.0, 0.01, 3)
    before = acc.get_epsilon(1e-5)
    with pytest.raises(ValueError, match=name):
        call(acc)
    assert acc.history == [(1.0, 0.01, 3)] and acc.get_epsilon(1e-5) == before
