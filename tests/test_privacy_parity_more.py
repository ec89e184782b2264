"""Parity with Opacus, torch and dp-accounting for what an Opacus user tries next.

* Whole models mixing layers, float64, the same weights: a grouped, strided, dilated Conv2d
  with GroupNorm, a frozen Conv2d, LayerNorm and Linear; Embedding (frozen) + 2-layer
  bidirectional LSTM / GRU + Linear; an Embedding whose weight is tied to the output Linear
  and a Conv1d applied twice. ``grad_sample``, ``grad_sample_norm``, ``tl.per_sample_norms``,
  ``tl.stats.gradient_variance`` and ``NoiseScale`` against Opacus's ``GradSampleModule``;
  several DPSGD steps without noise against the clipping rule applied to Opacus's rows.
* Layers Opacus has no sampler for (Bilinear, bias-free LayerNorm, LayerNorm without affine
  weights, Transformer layers, attention with kdim / vdim, bias_kv and zero_attn) against
  torch's own per-sample gradients (``torch.func.vmap`` of ``grad``); RMSNorm and
  EmbeddingBag against Opacus; recurrent layers started from a given state.
* DPSGD and its accountant resumed from state dicts saved with ``tl.save``: the same weights
  and epsilon as an uninterrupted run. Noise of several noise-only steps through a whole model:
  Gaussian with variance ``k (lr sigma C / E)^2`` after k steps, independent across parameters.
* Accounting over the grid (sample rates 1e-3..1, sigmas 0.5..10, steps 1..10^4, deltas
  1e-3..1e-8): RDP equals dp-accounting, the noise multiplier search meets the budget by
  dp-accounting and is never below Opacus's; PLD equals dp-accounting and is near Opacus's
  PRV; ``make_private`` picks Opacus's noise multiplier, sample rate and batch count.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn, optim, privacy, stats

torch = pytest.importorskip("torch")
opacus = pytest.importorskip("opacus")
dpa = pytest.importorskip("dp_accounting")
pytestmark = pytest.mark.filterwarnings("ignore")

from opacus.layers import DPGRU, DPLSTM  # noqa: E402

tnn = torch.nn


def _close(a: Any, b: Any, what: str, tol: float = 1e-10) -> None:
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, (what, a.shape, b.shape)
    scale = max(1.0, float(np.max(np.abs(b)))) if b.size else 1.0
    err = float(np.max(np.abs(a - b))) / scale if a.size else 0.0
    assert err < tol, (what, err)


def _norms(rows: np.ndarray) -> np.ndarray:
    return np.sqrt((rows.reshape(rows.shape[0], -1) ** 2).sum(axis=1))


def _child_state(tm: Any) -> dict:
    """Opacus's DP recurrent layers name their weights as torch's only at their own top level."""
    return {f"{n}.{k}": v.detach().numpy().copy() for n, c in tm.named_children() for k, v in c.state_dict().items()}


def _child_params(tm: Any) -> dict:
    return {f"{n}.{k}": p for n, c in tm.named_children() for k, p in c.named_parameters()}


def _opacus_rows(tm: Any, xs: list, loss: Callable, reduction: str = "mean") -> dict:
    """Opacus's grad_sample of ``loss(tm(*xs))`` for the parameters that require a gradient."""
    gsm = opacus.GradSampleModule(tm, loss_reduction=reduction)
    try:
        loss(gsm(*[torch.from_numpy(x) for x in xs])).backward()
        return {k.removeprefix("_module."): p.grad_sample.numpy().copy()
                for k, p in gsm.named_parameters() if p.requires_grad}
    finally:
        gsm._close()


def _apply_rule(theirs: dict, rows: dict, lr: float, C: float, D: int) -> float:
    """``p -= lr * sum_b min(1, C / |g_b|) g_b / D`` on Opacus's rows; the clipped fraction."""
    n = np.sqrt(sum(_norms(r) ** 2 for r in rows.values()))
    c = np.minimum(1.0, C / n)
    with torch.no_grad():
        for k, r in rows.items():
            theirs[k] -= torch.from_numpy(lr * np.tensordot(c, r, axes=(0, 0)) / D)
    return float(np.mean(n > C))


# ----------------------------------------------------------------------------- mixed models


class _Vision(nn.Module):
    def __init__(self) -> None:
        self.conv = nn.Conv2d(4, 6, 3, stride=2, padding=2, dilation=2, groups=2)
        self.gn, self.conv2 = nn.GroupNorm(3, 6), nn.Conv2d(6, 4, 2)
        self.ln, self.fc = nn.LayerNorm(4), nn.Linear(4, 3)

    def forward(self, x: Any) -> tl.Tensor:
        h = self.conv2(self.gn(self.conv(x)).relu()).mean(axis=(2, 3))
        return self.fc(self.ln(h))


class _TorchVision(tnn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = tnn.Conv2d(4, 6, 3, stride=2, padding=2, dilation=2, groups=2)
        self.gn, self.conv2 = tnn.GroupNorm(3, 6), tnn.Conv2d(6, 4, 2)
        self.ln, self.fc = tnn.LayerNorm(4), tnn.Linear(4, 3)

    def forward(self, x: Any) -> Any:
        h = self.conv2(torch.relu(self.gn(self.conv(x)))).mean(dim=(2, 3))
        return self.fc(self.ln(h))


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("B", [1, 5])
def test_conv_groupnorm_layernorm_linear_with_a_frozen_conv_equals_opacus(B: int, reduction: str) -> None:
    torch.manual_seed(0)
    tm, m = _TorchVision().double(), _Vision()
    with torch.no_grad():  # GroupNorm / LayerNorm start at 1 and 0: move them off the identity
        for p in tm.parameters():
            p.add_(0.3 * torch.randn_like(p))
    m.load_state_dict({k: v.detach().numpy().copy() for k, v in tm.state_dict().items()})
    for mod in (tm.conv2, m.conv2):
        mod.weight.requires_grad_(False)
        mod.bias.requires_grad_(False)
    rng = np.random.default_rng(B)
    x, y = rng.standard_normal((B, 4, 9, 9)), rng.integers(0, 3, B)
    theirs = _opacus_rows(tm, [x], lambda out: torch.nn.functional.cross_entropy(
        out, torch.from_numpy(y), reduction=reduction), reduction)
    nn.functional.cross_entropy(m(tl.Tensor(x, batched=True)), tl.Tensor(y, batched=True),
                                reduction=reduction).backward()
    for k, p in m.named_parameters():
        if k.startswith("conv2."):
            assert p.grad is None and p.grad_sample is None and k not in theirs, k
            continue
        _close(p.grad_sample, theirs[k], f"grad_sample of {k}")
        _close(p.grad_sample_norm, _norms(theirs[k]), f"grad_sample_norm of {k}")
        _close(stats.gradient_variance(p), theirs[k].var(axis=0), f"gradient_variance of {k}")
    total = np.sqrt(sum(_norms(r) ** 2 for r in theirs.values()))
    _close(tl.per_sample_norms(m.parameters()), total, "per_sample_norms")
    if B > 1:  # the noise scale's two estimates from Opacus's rows
        ns = stats.NoiseScale(beta=0.0)
        ns.update(m)
        g2 = sum(float((r.mean(axis=0) ** 2).sum()) for r in theirs.values())
        S = (float((total ** 2).sum()) - B * g2) / (B - 1)
        assert ns.trace_sigma == pytest.approx(S, rel=1e-12)
        assert ns.grad_sqnorm == pytest.approx(g2 - S / B, rel=1e-10)


def test_conv_groupnorm_layernorm_linear_dpsgd_steps_equal_the_rule_on_opacus_rows() -> None:
    # the kept factors of a grouped, strided, dilated Conv2d, GroupNorm, LayerNorm and Linear, a
    # frozen Conv2d between them; batches of 4, 2, 5 and 1 divided by the expected size and the actual one
    for divisor in ("expected", "actual"):
        torch.manual_seed(0)
        tm, m = _TorchVision().double(), _Vision()
        with torch.no_grad():
            for p in tm.parameters():
                p.add_(0.3 * torch.randn_like(p))
        m.load_state_dict({k: v.detach().numpy().copy() for k, v in tm.state_dict().items()})
        for mod in (tm.conv2, m.conv2):
            mod.weight.requires_grad_(False)
            mod.bias.requires_grad_(False)
        params = {k: p for k, p in tm.named_parameters() if p.requires_grad}
        lr, C, E = 0.2, 2.0, 3
        opt = optim.DPSGD(m.parameters(), lr=lr, max_grad_norm=C, noise_multiplier=0.0,
                          expected_batch_size=E if divisor == "expected" else None)
        rng = np.random.default_rng(0)
        clipped = []
        for B in (4, 2, 5, 1):
            x, y = rng.standard_normal((B, 4, 9, 9)), rng.integers(0, 3, B)
            opt.zero_grad()
            nn.functional.cross_entropy(m(tl.Tensor(x, batched=True)), tl.Tensor(y, batched=True)).backward()
            opt.step()
            rows = _opacus_rows(tm, [x], lambda out, y=y: torch.nn.functional.cross_entropy(out, torch.from_numpy(y)))
            clipped.append(_apply_rule(params, rows, lr, C, E if divisor == "expected" else B))
        assert 0 < np.mean(clipped) < 1, clipped
        for k, p in m.named_parameters():
            theirs = params[k] if k in params else getattr(tm.conv2, k.split(".")[1])
            _close(p.data, theirs.detach().numpy(), f"{divisor}: {k}")


class _Text(nn.Module):
    def __init__(self, rnn: Any) -> None:
        self.emb = nn.Embedding(10, 4)
        self.rnn = rnn(4, 5, num_layers=2, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(10, 3)

    def forward(self, i: Any) -> tl.Tensor:
        return self.fc(self.rnn(self.emb(i))[0][:, -1])


class _TorchText(tnn.Module):
    def __init__(self, rnn: Any) -> None:
        super().__init__()
        self.emb = tnn.Embedding(10, 4)
        self.rnn = rnn(4, 5, num_layers=2, batch_first=True, bidirectional=True)
        self.fc = tnn.Linear(10, 3)

    def forward(self, i: Any) -> Any:
        return self.fc(self.rnn(self.emb(i))[0][:, -1])


@pytest.mark.parametrize("ours, theirs, C", [(nn.LSTM, DPLSTM, 0.9), (nn.GRU, DPGRU, 1.1)], ids=["LSTM", "GRU"])
def test_frozen_embedding_recurrent_linear_dpsgd_steps_equal_the_rule_on_opacus_rows(ours: Any, theirs: Any,
                                                                                     C: float) -> None:
    torch.manual_seed(0)
    tm, m = _TorchText(theirs).double(), _Text(ours)
    m.load_state_dict(_child_state(tm))
    tm.emb.weight.requires_grad_(False)
    m.emb.weight.requires_grad_(False)
    frozen = m.emb.weight.data.copy()
    params = _child_params(tm)
    lr, E = 0.7, 4  # C near the median norm: some samples are clipped, some not
    opt = optim.DPSGD(m.parameters(), lr=lr, max_grad_norm=C, noise_multiplier=0.0, expected_batch_size=E)
    rng = np.random.default_rng(0)
    clipped = []
    for B in (4, 3, 6, 1):
        i, y = rng.integers(0, 10, (B, 6)), rng.integers(0, 3, B)
        opt.zero_grad()
        nn.functional.cross_entropy(m(tl.Tensor(i, batched=True)), tl.Tensor(y, batched=True)).backward()
        opt.step()
        rows = _opacus_rows(tm, [i], lambda out, y=y: torch.nn.functional.cross_entropy(out, torch.from_numpy(y)))
        assert "emb.weight" not in rows
        clipped.append(_apply_rule(params, rows, lr, C, E))
        assert opt.last_clipped_fraction == pytest.approx(clipped[-1])
    assert 0 < np.mean(clipped) < 1, clipped
    assert np.array_equal(m.emb.weight.data, frozen)
    for k, p in m.named_parameters():
        _close(p.data, params[k].detach().numpy(), k)


class _Tied(nn.Module):
    """An Embedding whose weight is also the output Linear's; a Conv1d applied twice."""

    def __init__(self) -> None:
        self.emb, self.conv, self.out = nn.Embedding(8, 4), nn.Conv1d(4, 4, 3, padding=1), nn.Linear(4, 8, bias=False)
        self.out.weight = self.emb.weight

    def forward(self, i: Any) -> tl.Tensor:
        h = self.emb(i)
        for _ in range(2):
            h = h + self.conv(h.transpose(1, 2)).transpose(1, 2).tanh()
        return self.out(h).permute(0, 2, 1)  # (B, classes, T)


class _TorchTied(tnn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb, self.conv = tnn.Embedding(8, 4), tnn.Conv1d(4, 4, 3, padding=1)
        self.out = tnn.Linear(4, 8, bias=False)
        self.out.weight = self.emb.weight

    def forward(self, i: Any) -> Any:
        h = self.emb(i)
        for _ in range(2):
            h = h + torch.tanh(self.conv(h.transpose(1, 2)).transpose(1, 2))
        return self.out(h).permute(0, 2, 1)


def test_tied_embedding_and_output_weights_equal_opacus() -> None:
    torch.manual_seed(0)
    tm, m = _TorchTied().double(), _Tied()
    m.load_state_dict({k: v.detach().numpy().copy() for k, v in tm.state_dict().items()})
    assert m.out.weight is m.emb.weight
    params = dict(tm.named_parameters())
    assert set(params) == {k for k, _ in m.named_parameters()} == {"emb.weight", "conv.weight", "conv.bias"}
    rng = np.random.default_rng(0)
    i, y = rng.integers(0, 8, (4, 5)), rng.integers(0, 8, (4, 5))
    theirs = _opacus_rows(tm, [i], lambda out, y=y: torch.nn.functional.cross_entropy(out, torch.from_numpy(y)))
    for mode in (True, "norms"):
        m.zero_grad()
        nn.functional.cross_entropy(m(tl.Tensor(i, batched=True)), tl.Tensor(y, batched=True)).backward(per_sample=mode)
        for k, p in m.named_parameters():
            _close(p.grad_sample_norm, _norms(theirs[k]), f"{mode}: grad_sample_norm of {k}")
            _close(p.grad, theirs[k].mean(axis=0), f"{mode}: grad of {k}")
            if mode is True:
                _close(p.grad_sample, theirs[k], f"grad_sample of {k}")
    # DPSGD steps from the kept factors of the two uses of each weight
    lr, C, E = 0.4, 6.5, 4
    opt = optim.DPSGD(m.parameters(), lr=lr, max_grad_norm=C, noise_multiplier=0.0, expected_batch_size=E)
    clipped = []
    for B in (4, 2, 5, 1):
        i, y = rng.integers(0, 8, (B, 5)), rng.integers(0, 8, (B, 5))
        opt.zero_grad()
        nn.functional.cross_entropy(m(tl.Tensor(i, batched=True)), tl.Tensor(y, batched=True)).backward()
        opt.step()
        rows = _opacus_rows(tm, [i], lambda out, y=y: torch.nn.functional.cross_entropy(out, torch.from_numpy(y)))
        clipped.append(_apply_rule(params, rows, lr, C, E))
    assert 0 < np.mean(clipped) < 1, clipped
    for k, p in m.named_parameters():
        _close(p.data, params[k].detach().numpy(), k)


# ----------------------------------------------------------------------------- more layers


class _Whole(nn.Module):
    """A layer taking several inputs; the first output when it returns a tuple."""

    def __init__(self, layer: Any) -> None:
        self.layer = layer

    def forward(self, *xs: Any) -> tl.Tensor:
        out = self.layer(*xs)
        return out[0] if isinstance(out, tuple) else out


class _TorchWhole(tnn.Module):
    def __init__(self, layer: Any) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, *xs: Any) -> Any:
        out = self.layer(*xs)
        return out[0] if isinstance(out, tuple) else out


def _torch_rows(tm: Any, xs: list, target: np.ndarray, reduction: str) -> dict:
    """torch's per-sample gradients: ``grad`` of each sample's own cost, vmapped over the batch."""
    from torch.func import functional_call, grad, vmap
    params = {k: v.detach() for k, v in tm.named_parameters()}

    def cost(p: dict, *args: Any) -> Any:
        *x, t = args
        out = functional_call(tm, p, tuple(a.unsqueeze(0) for a in x))
        return torch.nn.functional.mse_loss(out, t.unsqueeze(0), reduction=reduction)

    dims = (None,) + (0,) * (len(xs) + 1)
    rows = vmap(grad(cost), in_dims=dims)(params, *[torch.from_numpy(x) for x in xs], torch.from_numpy(target))
    return {k: v.numpy() for k, v in rows.items()}


def _mha(**kw: Any) -> tuple:
    return nn.MultiheadAttention(4, 2, batch_first=True, **kw), tnn.MultiheadAttention(4, 2, batch_first=True, **kw)


# name -> (ours, theirs, input shapes without the batch axis)
TORCH_CASES: dict = {
    "Bilinear": lambda: (nn.Bilinear(3, 4, 2), tnn.Bilinear(3, 4, 2), [(3,), (4,)]),
    "Bilinear-3d-nobias": lambda: (nn.Bilinear(3, 4, 2, bias=False), tnn.Bilinear(3, 4, 2, bias=False),
                                   [(5, 3), (5, 4)]),
    "LayerNorm-nobias": lambda: (nn.LayerNorm(4, bias=False), tnn.LayerNorm(4, bias=False), [(3, 4)]),
    "GroupNorm-on-(B,C)": lambda: (nn.GroupNorm(2, 6), tnn.GroupNorm(2, 6), [(6,)]),
    "InstanceNorm3d": lambda: (nn.InstanceNorm3d(2, affine=True), tnn.InstanceNorm3d(2, affine=True), [(2, 3, 3, 2)]),
    "ConvTranspose3d": lambda: (nn.ConvTranspose3d(4, 2, 2, stride=2, groups=2),
                                tnn.ConvTranspose3d(4, 2, 2, stride=2, groups=2), [(4, 2, 2, 3)]),
    "MultiheadAttention-batch_first": lambda: (*_mha(), [(3, 4), (5, 4), (5, 4)]),
    "MultiheadAttention-kdim-vdim": lambda: (*_mha(kdim=3, vdim=5), [(3, 4), (5, 3), (5, 5)]),
    "MultiheadAttention-bias_kv-zero_attn": lambda: (*_mha(add_bias_kv=True, add_zero_attn=True),
                                                     [(3, 4), (5, 4), (5, 4)]),
    "TransformerEncoderLayer": lambda: (nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0, batch_first=True),
                                        tnn.TransformerEncoderLayer(4, 2, 8, dropout=0.0, batch_first=True),
                                        [(3, 4)]),
    "TransformerDecoderLayer-norm_first": lambda: (
        nn.TransformerDecoderLayer(4, 2, 6, dropout=0.0, batch_first=True, norm_first=True),
        tnn.TransformerDecoderLayer(4, 2, 6, dropout=0.0, batch_first=True, norm_first=True), [(3, 4), (5, 4)]),
}


@pytest.mark.parametrize("name", list(TORCH_CASES))
def test_layers_without_an_opacus_sampler_equal_torch_per_sample_gradients(name: str) -> None:
    torch.manual_seed(0)
    layer, tlayer, shapes = TORCH_CASES[name]()
    m, tm = _Whole(layer), _TorchWhole(tlayer).double()
    with torch.no_grad():
        for p in tm.parameters():
            p.add_(0.3 * torch.randn_like(p))
    m.load_state_dict({k: v.detach().numpy().copy() for k, v in tm.state_dict().items()})
    for B in (1, 3):
        rng = np.random.default_rng(B)
        xs = [rng.standard_normal((B, *s)) for s in shapes]
        target = rng.standard_normal(m(*[tl.Tensor(x, batched=True) for x in xs]).shape)
        for reduction in ("mean", "sum"):
            m.zero_grad()
            nn.mse_loss(m(*[tl.Tensor(x, batched=True) for x in xs]), tl.Tensor(target, batched=True),
                        reduction=reduction).backward()
            rows = _torch_rows(tm, xs, target, reduction)
            for k, p in m.named_parameters():
                _close(p.grad_sample, rows[k], f"{name} B={B} {reduction}: grad_sample of {k}")
                _close(p.grad_sample_norm, _norms(rows[k]), f"{name} B={B} {reduction}: norm of {k}")


@pytest.mark.parametrize("shape", [(4,), (2, 3, 4)])
def test_rms_norm_equals_opacus(shape: tuple) -> None:
    torch.manual_seed(0)
    tm = tnn.RMSNorm(shape[-1:], eps=1e-5).double()
    with torch.no_grad():
        tm.weight.add_(0.3 * torch.randn_like(tm.weight))
    m = nn.RMSNorm(shape[-1:], eps=1e-5)
    m.load_state_dict({"weight": tm.weight.detach().numpy().copy()})
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((3, *shape)), rng.standard_normal((3, *shape))
    for reduction in ("mean", "sum"):
        m.zero_grad()
        nn.mse_loss(m(tl.Tensor(x, batched=True)), tl.Tensor(y, batched=True), reduction=reduction).backward()
        theirs = _opacus_rows(tm, [x], lambda out, r=reduction: torch.nn.functional.mse_loss(
            out, torch.from_numpy(y), reduction=r), reduction)
        _close(m.weight.grad_sample, theirs["weight"], f"{shape} {reduction}")


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_equals_opacus_and_torch(mode: str) -> None:
    # Opacus's EmbeddingBag sampler takes a flat input with offsets and writes each bag's rows with
    # an indexed +=, which counts an index repeated within a bag once (and knows no "max"): the
    # comparison with it uses bags of distinct indices; torch run bag by bag checks repeats
    torch.manual_seed(0)
    tm, m = tnn.EmbeddingBag(9, 3, mode=mode).double(), nn.EmbeddingBag(9, 3, mode=mode)
    m.load_state_dict({"weight": tm.weight.detach().numpy().copy()})
    rng = np.random.default_rng(0)
    B = 3
    target = rng.standard_normal((B, 3))
    distinct = np.stack([rng.permutation(9)[:4] for _ in range(B)])
    repeats = rng.integers(0, 4, (B, 6))
    for idx in (distinct, repeats):
        m.zero_grad()
        nn.mse_loss(m(tl.Tensor(idx, batched=True)), tl.Tensor(target, batched=True)).backward()
        rows = []
        for b in range(B):
            tm.zero_grad()
            out = tm(torch.from_numpy(idx[b:b + 1]))
            torch.nn.functional.mse_loss(out, torch.from_numpy(target[b:b + 1])).backward()
            rows.append(tm.weight.grad.numpy().copy())
        _close(m.weight.grad_sample, np.stack(rows), f"{mode}: against torch")
    if mode == "max":
        return
    m.zero_grad()
    nn.mse_loss(m(tl.Tensor(distinct, batched=True)), tl.Tensor(target, batched=True)).backward()
    gsm = opacus.GradSampleModule(tm)
    try:
        out = gsm(torch.from_numpy(distinct.ravel()), torch.arange(0, 4 * B, 4))
        torch.nn.functional.mse_loss(out, torch.from_numpy(target)).backward()
        _close(m.weight.grad_sample, tm.weight.grad_sample.double().numpy(), f"{mode}: against Opacus")
    finally:
        gsm._close()


@pytest.mark.parametrize("ours, theirs", [(nn.LSTM, DPLSTM), (nn.GRU, DPGRU)], ids=["LSTM", "GRU"])
def test_recurrent_layers_from_a_given_state_equal_opacus(ours: Any, theirs: Any) -> None:
    torch.manual_seed(0)
    tm, m = theirs(3, 4, num_layers=2, batch_first=True).double(), ours(3, 4, num_layers=2, batch_first=True)
    m.load_state_dict({k: v.detach().numpy().copy() for k, v in tm.state_dict().items()})
    rng = np.random.default_rng(0)
    B = 3
    x, y = rng.standard_normal((B, 5, 3)), rng.standard_normal((B, 5, 4))
    h0, c0 = rng.standard_normal((2, B, 4)), rng.standard_normal((2, B, 4))  # torch's (layers, B, H)
    lstm = ours is nn.LSTM
    gsm = opacus.GradSampleModule(tm)
    try:
        state = (torch.from_numpy(h0), torch.from_numpy(c0)) if lstm else torch.from_numpy(h0)
        torch.nn.functional.mse_loss(gsm(torch.from_numpy(x), state)[0], torch.from_numpy(y)).backward()
        theirs_rows = {k.removeprefix("_module."): p.grad_sample.numpy().copy() for k, p in gsm.named_parameters()}
    finally:
        gsm._close()
    state = (tl.Tensor(h0), tl.Tensor(c0)) if lstm else tl.Tensor(h0)
    nn.mse_loss(m(tl.Tensor(x, batched=True), state)[0], tl.Tensor(y, batched=True)).backward()
    for k, p in m.named_parameters():
        _close(p.grad_sample, theirs_rows[k], f"grad_sample of {k}")
    # a batched state puts the samples on axis 0: torch's layout is refused, naming the shapes
    bad = (tl.Tensor(h0, batched=True), tl.Tensor(c0, batched=True)) if lstm else tl.Tensor(h0, batched=True)
    with pytest.raises(ValueError, match=r"h_0 must have shape \(3, 2, 4\).*got \(2, 3, 4\)"):
        m(tl.Tensor(x, batched=True), bad)


# ----------------------------------------------------------------------------- resume and noise


def _vision_run(tmp_path: Path, resume_at: int, start: dict) -> tuple:
    """Six noisy DPSGD steps on _Vision (batches of varying size, one empty), accounted; with
    ``resume_at`` >= 0 everything is saved there with tl.save and rebuilt from tl.load."""
    def build(seed: int) -> tuple:
        m = _Vision()
        acc = privacy.Accountant("rdp")
        opt = optim.DPSGD(m.parameters(), lr=0.3, max_grad_norm=0.8, noise_multiplier=1.1, rng=seed,
                          expected_batch_size=3, accountant=acc, sample_rate=0.05)
        return m, acc, opt

    m, acc, opt = build(7)
    m.load_state_dict(start)
    rng = np.random.default_rng(0)
    for k, B in enumerate([3, 5, 0, 2, 4, 1]):
        if k == resume_at:
            path = tmp_path / "dp.npz"
            tl.save({"model": m.state_dict(), "opt": opt.state_dict(), "acc": acc.state_dict()}, path)
            m, acc, opt = build(99)  # other weights, another noise seed: everything comes from the file
            saved = tl.load(path)
            m.load_state_dict(saved["model"])
            opt.load_state_dict(saved["opt"])
            acc.load_state_dict(saved["acc"])
        x, y = rng.standard_normal((B, 4, 9, 9)), rng.integers(0, 3, B)
        opt.zero_grad()
        nn.functional.cross_entropy(m(tl.Tensor(x, batched=True)), tl.Tensor(y, batched=True)).backward()
        opt.step()
    return {k: p.data.copy() for k, p in m.named_parameters()}, acc


def test_dpsgd_and_accountant_resumed_from_saved_state_equal_an_uninterrupted_run(tmp_path: Path) -> None:
    start = _Vision().state_dict()
    whole, acc = _vision_run(tmp_path, -1, start)
    resumed, acc2 = _vision_run(tmp_path, 3, start)
    for k in whole:
        assert np.array_equal(whole[k], resumed[k]), k
    assert acc.history == acc2.history == [(1.1, 0.05, 6)]
    ref = dpa.rdp.RdpAccountant(orders=list(privacy.RDP_ORDERS))
    for _ in range(6):  # six single steps composed one by one
        ref.compose(dpa.PoissonSampledDpEvent(0.05, dpa.GaussianDpEvent(1.1)))
    for delta in (1e-3, 1e-8):
        assert acc2.get_epsilon(delta) == acc.get_epsilon(delta) == pytest.approx(ref.get_epsilon(delta), rel=1e-12)


def test_noise_only_steps_through_a_mixed_model_are_independent_gaussians() -> None:
    # k noise-only steps (empty batches) through Embedding (frozen) + 2-layer bidirectional LSTM +
    # Linear, 1153 trainable entries: each moves by the sum of k draws N(0, (lr sigma C / E)^2),
    # independently across entries, parameters and steps; the frozen one stays
    lr, sigma, C, E, k = 0.5, 1.3, 0.7, 4, 3
    moves, firsts, seconds = [], [], []
    for seed in range(20):
        m = _Text(nn.LSTM)
        m.emb.weight.requires_grad_(False)
        frozen = m.emb.weight.data.copy()
        opt = optim.DPSGD(m.parameters(), lr=lr, max_grad_norm=C, noise_multiplier=sigma, rng=seed,
                          expected_batch_size=E)
        steps = []
        for _ in range(k):
            before = np.concatenate([p.data.ravel().copy() for p in m.parameters() if p.requires_grad])
            opt.zero_grad()
            out = m(tl.Tensor(np.zeros((0, 6), np.int64), batched=True))
            nn.functional.cross_entropy(out, tl.Tensor(np.zeros(0, np.int64), batched=True)).backward()
            opt.step()
            assert opt.last_batch_size == 0
            after = np.concatenate([p.data.ravel() for p in m.parameters() if p.requires_grad])
            steps.append((after - before) / (lr * sigma * C / E))
        firsts.append(steps[0])
        seconds.append(steps[1])
        assert np.array_equal(m.emb.weight.data, frozen)
        moves.append(sum(steps) / math.sqrt(k))
    z, n = np.concatenate(moves), sum(len(v) for v in moves)
    assert n == 20 * 1153
    assert abs(z.mean()) < 5 / math.sqrt(n)
    assert abs(z.std() - 1) < 5 / math.sqrt(2 * n)
    assert abs(np.mean(z ** 4) - 3) < 5 * math.sqrt(96 / n)
    a, b = np.concatenate(firsts), np.concatenate(seconds)
    assert abs(np.corrcoef(a, b)[0, 1]) < 5 / math.sqrt(a.size)  # steps draw fresh noise
    assert abs(np.corrcoef(a[:-1], a[1:])[0, 1]) < 5 / math.sqrt(a.size)  # neighbouring entries too


# ----------------------------------------------------------------------------- accounting

GRID = [(q, s, n) for q in (1e-3, 0.05, 0.5, 1.0) for s in (0.5, 1.3, 10.0) for n in (1, 100, 10000)]


def test_rdp_over_the_grid_equals_dp_accounting_and_brackets_opacus() -> None:
    from opacus.accountants.analysis import rdp as opacus_rdp
    logging.getLogger("absl").setLevel(logging.ERROR)
    orders = np.array(privacy.RDP_ORDERS)
    integer = orders == np.round(orders)
    zeros = 0
    for q, sigma, n in GRID:
        ours = privacy.Accountant("rdp")
        ours.step(sigma, q, n)
        ref = dpa.rdp.RdpAccountant(orders=list(privacy.RDP_ORDERS))
        ref.compose(dpa.PoissonSampledDpEvent(q, dpa.GaussianDpEvent(sigma)), n)
        rdp = opacus_rdp.compute_rdp(q=q, noise_multiplier=sigma, steps=n, orders=orders)
        for delta in (1e-3, 1e-8):
            what = (q, sigma, n, delta)
            eps = ours.get_epsilon(delta)
            assert eps == pytest.approx(ref.get_epsilon(delta), rel=1e-12), what
            theirs, _ = opacus_rdp.get_privacy_spent(orders=orders, rdp=rdp, delta=delta)
            theirs_int, _ = opacus_rdp.get_privacy_spent(orders=orders[integer], rdp=rdp[integer], delta=delta)
            assert eps <= max(theirs_int, 0.0) * (1 + 1e-10), what
            if eps == 0.0 < theirs:
                # dp-accounting's bound through KL (delta <= sqrt(1 - exp(-rdp))) gives (0, delta)-DP where
                # Opacus's conversion does not: the exact delta at epsilon 0 (PLD) confirms it
                pld = dpa.pld.PLDAccountant(value_discretization_interval=1e-4)  # rounds delta up
                pld.compose(dpa.PoissonSampledDpEvent(q, dpa.GaussianDpEvent(sigma)), n)
                assert pld.get_delta(0.0) <= delta, what
                zeros += 1
            else:
                assert max(theirs, 0.0) * (1 - 1e-10) <= eps, what
            if q == 1.0:  # no subsampling: the Gaussian's RDP alpha / (2 sigma^2) * n is exact for both
                assert eps == pytest.approx(max(theirs, 0.0), rel=1e-9, abs=1e-12), what
    assert zeros == 3  # q = 1e-3, delta = 1e-3: sigma 1.3 and 10 for one step, sigma 10 for 100 steps


@pytest.mark.parametrize("q, sigma, n", [(1e-3, 1.3, 10000), (0.05, 1.3, 100), (0.5, 10.0, 100), (1.0, 1.3, 1)])
def test_pld_over_the_grid_equals_dp_accounting_and_is_near_opacus_prv(q: float, sigma: float, n: int) -> None:
    ours = privacy.Accountant("pld")
    ours.step(sigma, q, n)
    ref = dpa.pld.PLDAccountant(value_discretization_interval=privacy.PLD_VALUE_DISCRETIZATION_INTERVAL)
    ref.compose(dpa.PoissonSampledDpEvent(q, dpa.GaussianDpEvent(sigma)), n)
    rdp = privacy.Accountant("rdp")
    rdp.step(sigma, q, n)
    for delta in (1e-3, 1e-8):
        prv = opacus.accountants.PRVAccountant()
        prv.history = [(sigma, q, n)]
        eps = ours.get_epsilon(delta)
        assert eps == pytest.approx(ref.get_epsilon(delta), rel=1e-12)
        assert abs(eps - prv.get_epsilon(delta)) < 0.0125 + 2e-4 * eps  # PRV's eps_error 0.01
        assert eps <= rdp.get_epsilon(delta) * (1 + 1e-9)


def _dpa_epsilon(sigma: float, q: float, n: int, delta: float, kind: str = "rdp") -> float:
    if kind == "rdp":
        acc = dpa.rdp.RdpAccountant(orders=list(privacy.RDP_ORDERS))
    else:
        acc = dpa.pld.PLDAccountant(value_discretization_interval=privacy.PLD_VALUE_DISCRETIZATION_INTERVAL)
    acc.compose(dpa.PoissonSampledDpEvent(q, dpa.GaussianDpEvent(sigma)), n)
    return float(acc.get_epsilon(delta))


@pytest.mark.parametrize("q, eps, steps, delta", [
    (1e-3, 1.0, 10000, 1e-8), (0.05, 3.0, 100, 1e-3), (0.5, 10.0, 100, 1e-3), (1.0, 0.5, 1, 1e-5),
    (0.01, 8.0, 1000, 1e-6), (0.1, 10.0, 10000, 1e-3)])
def test_noise_multiplier_search_meets_the_budget_by_dp_accounting_and_is_never_below_opacus(
        q: float, eps: float, steps: int, delta: float) -> None:
    # dp-accounting's RDP bounds Opacus's from above (fractional orders), so for the same rule the
    # search here stops at Opacus's sigma or above it (3% above at q = 0.5, eps = 10, 100 steps)
    from opacus.accountants.utils import get_noise_multiplier
    logging.getLogger("absl").setLevel(logging.ERROR)
    ours = privacy.get_noise_multiplier(eps, delta, q, steps=steps)
    theirs = float(get_noise_multiplier(target_epsilon=eps, target_delta=delta, sample_rate=q, steps=steps))
    assert theirs <= ours
    assert eps - 0.01 <= _dpa_epsilon(ours, q, steps, delta) <= eps
    if q == 1.0:  # no subsampling: both accountants are exact, the searches agree
        assert ours == theirs


def test_pld_noise_multiplier_meets_the_budget_and_is_near_opacus_prv() -> None:
    from opacus.accountants.utils import get_noise_multiplier
    q, eps, steps, delta = 0.01, 2.0, 1000, 1e-5
    ours = privacy.get_noise_multiplier(eps, delta, q, steps=steps, kind="pld")
    assert eps - 0.01 <= _dpa_epsilon(ours, q, steps, delta, "pld") <= eps
    assert ours <= privacy.get_noise_multiplier(eps, delta, q, steps=steps)  # PLD is tighter than RDP
    theirs = float(get_noise_multiplier(target_epsilon=eps, target_delta=delta, sample_rate=q, steps=steps,
                                        accountant="prv"))
    assert abs(ours - theirs) < 0.01 * theirs


@pytest.mark.parametrize("N, batch_size, epochs, eps, delta", [
    (100, 10, 3, 2.0, 1e-5), (1000, 25, 2, 1.0, 1e-3), (60, 60, 5, 5.0, 1e-8)])
def test_make_private_agrees_with_opacus_make_private_with_epsilon(N: int, batch_size: int, epochs: int,
                                                                   eps: float, delta: float) -> None:
    # with len(X) a multiple of batch_size both sample at q = batch_size / N, len(loader) = N / batch_size times
    X, Y = np.random.default_rng(0).standard_normal((N, 3)), np.zeros(N, np.int64)
    opt, loader = privacy.make_private(nn.Linear(3, 2), X, Y, batch_size=batch_size, epochs=epochs,
                                       target_epsilon=eps, target_delta=delta, max_grad_norm=1.0, lr=0.1, seed=0)
    tm = tnn.Linear(3, 2)
    data = torch.utils.data.TensorDataset(torch.from_numpy(X), torch.from_numpy(Y))
    _, topt, tloader = opacus.PrivacyEngine(accountant="rdp").make_private_with_epsilon(
        module=tm, optimizer=torch.optim.SGD(tm.parameters(), lr=0.1),
        data_loader=torch.utils.data.DataLoader(data, batch_size=batch_size), target_epsilon=eps,
        target_delta=delta, epochs=epochs, max_grad_norm=1.0)
    assert loader.sample_rate == pytest.approx(tloader.sample_rate, rel=1e-15)
    assert len(loader) == len(tloader)
    assert opt.expected_batch_size == topt.expected_batch_size
    sigma = opt.param_groups[0]["noise_multiplier"]
    assert topt.noise_multiplier <= sigma
    assert eps - 0.01 <= _dpa_epsilon(sigma, loader.sample_rate, epochs * len(loader), delta) <= eps


def test_a_noise_multiplier_changed_mid_run_is_accounted_as_two_phases() -> None:
    # as with Opacus's accountant: the history keeps both phases, epsilon composes them
    lin = nn.Linear(3, 2, rng=0)
    acc = privacy.Accountant()
    opt = optim.DPSGD([{"params": [lin.weight], "lr": 0.1}, {"params": [lin.bias], "lr": 0.5}], lr=0.2,
                      max_grad_norm=1.0, noise_multiplier=1.0, rng=0, accountant=acc, sample_rate=0.1,
                      expected_batch_size=2)
    rng = np.random.default_rng(0)
    for k in range(6):
        if k == 3:
            for group in opt.param_groups:
                group["noise_multiplier"] = 2.0
        x, y = rng.standard_normal((2, 3)), rng.standard_normal((2, 2))
        opt.zero_grad()
        nn.mse_loss(lin(tl.Tensor(x, batched=True)), tl.Tensor(y, batched=True)).backward()
        opt.step()
    assert acc.history == [(1.0, 0.1, 3), (2.0, 0.1, 3)]
    ref = dpa.rdp.RdpAccountant(orders=list(privacy.RDP_ORDERS))
    for sigma in (1.0, 2.0):
        ref.compose(dpa.PoissonSampledDpEvent(0.1, dpa.GaussianDpEvent(sigma)), 3)
    their = opacus.accountants.RDPAccountant()
    for sigma in (1.0, 1.0, 1.0, 2.0, 2.0, 2.0):
        their.step(noise_multiplier=sigma, sample_rate=0.1)
    assert their.history == acc.history
    eps = acc.get_epsilon(1e-5)
    assert eps == pytest.approx(ref.get_epsilon(1e-5), rel=1e-12)
    assert their.get_epsilon(1e-5) * (1 - 1e-10) <= eps
