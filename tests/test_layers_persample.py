"""Per-sample gradients of the layers: ``grad_sample`` from one backward equals one backward
per sample, ``grad_sample_norm`` equals its norms, the factored rules never build
(B, *p.shape) for norms, BatchNorm in training mode raises the mixing error on read, and an
empty batch gives a 0.0 loss, zero gradients and (0, *p.shape) per-sample gradients."""

from __future__ import annotations

import tracemalloc
import warnings
from typing import Any, Callable

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.nn import functional as F
from tinygrad_lite.ops.conv import ConvRows, GroupedConvRows
from tinygrad_lite.ops.nnops import EmbeddingRows
from tinygrad_lite.persample import OuterRows


def _close(a: Any, b: Any, what: str, tol: float = 1e-10) -> None:
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, (what, a.shape, b.shape)
    scale = max(1.0, float(np.max(np.abs(b)))) if b.size else 1.0
    assert (float(np.max(np.abs(a - b))) / scale if a.size else 0.0) < tol, what


class CNN(nn.Module):
    def __init__(self) -> None:
        self.c1 = nn.Conv2d(2, 4, 3, padding=1, rng=0)
        self.c2 = nn.Conv2d(4, 6, 3, stride=2, groups=2, dilation=1, rng=1)
        self.gn = nn.GroupNorm(3, 6)
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Linear(24, 3, rng=2)

    def forward(self, x: Any) -> tl.Tensor:
        h = self.c1(x).relu()
        h = self.pool(self.gn(self.c2(h)).tanh())
        return self.head(h.flatten(1))


class Seq1d(nn.Module):
    def __init__(self) -> None:
        self.emb = nn.Embedding(7, 4, padding_idx=0, rng=0)
        self.conv = nn.Conv1d(4, 4, 3, padding=2, dilation=2, groups=2, rng=1)
        self.norm = nn.LayerNorm(4)
        self.out = nn.Linear(4, 5, rng=2)

    def forward(self, idx: Any) -> tl.Tensor:
        h = self.conv(self.emb(idx).transpose(0, 2, 1)).transpose(0, 2, 1)
        return self.out(F.gelu(self.norm(h))).mean(axis=1)


class Block(nn.Module):
    """One transformer block; ``cross=True`` attends to a second projection of its input."""

    def __init__(self, E: int = 8, H: int = 2, cross: bool = False) -> None:
        self.attn = nn.MultiheadAttention(E, H, rng=0)
        self.ln1, self.ln2 = nn.LayerNorm(E), nn.LayerNorm(E)
        self.ff = nn.Sequential(nn.Linear(E, 2 * E, rng=1), nn.GELU(), nn.Linear(2 * E, E, rng=2))
        self.cross = cross

    def forward(self, x: Any) -> tl.Tensor:
        h = self.ln1(x)
        kv = h * 0.5 if self.cross else h
        a, _ = self.attn(h, kv, kv, is_causal=not self.cross, need_weights=False)
        x = x + a
        return (x + self.ff(self.ln2(x))).sum(axis=1)


def _labels(out: tl.Tensor, B: int) -> np.ndarray:
    return np.arange(B) % out.shape[-1]


def per_sample_reference(model: nn.Module, x: np.ndarray, cost: Callable) -> dict:
    """One backward per sample (each sample alone, a batch of one)."""
    rows: dict = {name: [] for name, _ in model.named_parameters()}
    for b in range(len(x)):
        model.zero_grad()
        cost(model(tl.Tensor(x[b:b + 1])), b).backward()
        for name, p in model.named_parameters():
            rows[name].append(p.grad.copy())
    return {k: np.stack(v) for k, v in rows.items()}


def check_model(model: nn.Module, x: np.ndarray, cost: Callable) -> dict:
    ref = per_sample_reference(model, x, cost)
    model.zero_grad()
    B = len(x)
    full = cost(model(tl.Tensor(x, batched=True)), None)
    full.backward()
    for name, p in model.named_parameters():
        _close(p.grad_sample, ref[name], f"grad_sample of {name}")
        _close(p.grad, ref[name].mean(axis=0), f"grad of {name}")
        norms = np.sqrt((ref[name].reshape(B, -1) ** 2).sum(axis=1))
        model.zero_grad()
        cost(model(tl.Tensor(x, batched=True)), None).backward()
        _close(p.grad_sample_norm, norms, f"grad_sample_norm of {name}")
    return dict(model.named_parameters())


def _xent(out: tl.Tensor, b: Any) -> tl.Tensor:
    y = np.arange(out.shape[0]) % out.shape[-1] if b is None else np.array([b % out.shape[-1]])
    return F.cross_entropy(out, y)


def test_cnn_with_groups_groupnorm_and_pooling() -> None:
    x = np.random.default_rng(0).standard_normal((5, 2, 9, 9))
    params = check_model(CNN(), x, _xent)
    kinds = {name: [type(r) for r in p._ps.segments[0].parts] for name, p in params.items()}
    assert kinds["c1.weight"] == [ConvRows] and kinds["c2.weight"] == [GroupedConvRows]
    assert kinds["head.weight"] == [OuterRows]


def test_embedding_conv1d_layernorm_gelu() -> None:
    idx = np.random.default_rng(1).integers(0, 7, (4, 6))
    idx[0, :3] = 0  # padding rows get no gradient
    idx[1] = 5      # repeated index: the rows add
    params = check_model(Seq1d(), idx, _xent)
    assert [type(r) for r in params["emb.weight"]._ps.segments[0].parts] == [EmbeddingRows]
    assert np.all(params["emb.weight"].grad_sample[:, 0] == 0)


@pytest.mark.parametrize("cross", [False, True])
def test_transformer_block(cross: bool) -> None:
    x = np.random.default_rng(2).standard_normal((3, 5, 8))
    params = check_model(Block(cross=cross), x, _xent)
    parts = params["attn.in_proj_weight"]._ps.segments[0].parts
    assert [type(r) for r in parts] == [OuterRows]  # one factored record, T (or Tq + 2 Tk) rows per sample


def test_batchnorm_eval_mode_and_mse_sum() -> None:
    m = nn.Sequential(nn.Conv2d(1, 3, 2, rng=0), nn.BatchNorm2d(3), nn.AvgPool2d(2, 1, 1), nn.Flatten(),
                      nn.Linear(3 * 5 * 5, 2, rng=1))
    m[1].running_mean.data[:] = [0.1, -0.2, 0.3]
    m[1].running_var.data[:] = [0.5, 2.0, 1.5]
    m.eval()
    x = np.random.default_rng(3).standard_normal((4, 1, 5, 5))
    t = np.random.default_rng(4).standard_normal((4, 2))

    def cost(out: tl.Tensor, b: Any) -> tl.Tensor:
        return F.mse_loss(out, t if b is None else t[b:b + 1], reduction="sum")

    ref = per_sample_reference(m, x, cost)
    m.zero_grad()
    cost(m(tl.Tensor(x, batched=True)), None).backward()
    for name, p in m.named_parameters():
        _close(p.grad_sample, ref[name], name)


def test_batchnorm_training_mode_mixes_samples_and_names_the_module() -> None:
    m = nn.Sequential(nn.Conv2d(1, 2, 3, rng=0), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(8, 2, rng=1))
    x = tl.Tensor(np.random.default_rng(5).standard_normal((6, 1, 4, 4)), batched=True)
    F.cross_entropy(m(x), np.arange(6) % 2).backward()
    assert m[0].weight.grad is not None and np.any(m[0].weight.grad != 0)  # .grad is still right
    for attr in ("grad_sample", "grad_sample_norm"):
        with pytest.raises(RuntimeError, match=r"BatchNorm2d.*GroupNorm or LayerNorm") as e:
            getattr(m[3].weight, attr)
        assert "module '1'" in str(e.value)
    m.zero_grad()
    m.eval()
    F.cross_entropy(m(x), np.arange(6) % 2).backward()
    assert m[3].weight.grad_sample.shape == (6, 2, 8)


def test_dropout_masks_are_per_sample() -> None:
    tl.manual_seed(3)
    lin, drop = nn.Linear(4, 6, rng=0), nn.Dropout(0.5)
    x = np.random.default_rng(6).standard_normal((8, 4))
    pre = lin(tl.Tensor(x, batched=True))
    out = drop(pre)
    out.sum(axis=1).mean().backward()
    mask = out.data / pre.data  # 0 or 2 per element
    assert len({tuple(r) for r in mask}) > 1
    want = np.einsum("bo,bi->boi", mask, x)
    _close(lin.weight.grad_sample, want, "dropout grad_sample")
    _close(lin.bias.grad_sample, mask, "dropout bias grad_sample")


@pytest.mark.parametrize("make", [
    lambda: (nn.Embedding(5000, 64, rng=0), np.random.default_rng(0).integers(0, 5000, (64, 3))),
    lambda: (nn.Conv1d(64, 64, 9, rng=0), np.random.default_rng(0).standard_normal((64, 64, 10))),
])
def test_factored_norms_never_build_the_per_sample_array(make: Callable) -> None:
    layer, x = make()
    out = layer(tl.Tensor(x, batched=True))
    out.sum(axis=tuple(range(1, out.ndim))).mean().backward()
    p = layer.weight
    full = len(x) * p.data.size * 8
    tracemalloc.start()
    norms = p.grad_sample_norm
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < full / 8, (peak, full)
    _close(norms, np.sqrt((p.grad_sample.reshape(len(x), -1) ** 2).sum(axis=1)), "norms")


def _empty_models() -> list:
    return [
        (CNN(), np.zeros((0, 2, 9, 9))),
        (Seq1d(), np.zeros((0, 6), dtype=np.int64)),
        (Block(), np.zeros((0, 5, 8))),
        (Block(cross=True), np.zeros((0, 5, 8))),
        (nn.Sequential(nn.Conv2d(1, 2, 2, rng=0), nn.BatchNorm2d(2).eval(), nn.AvgPool2d(2), nn.Flatten(),
                       nn.Linear(8, 3, rng=1)), np.zeros((0, 1, 5, 5))),
    ]


@pytest.mark.parametrize("k", range(5))
def test_empty_batch_gives_zero_loss_zero_grads_and_empty_grad_sample(k: int) -> None:
    model, x = _empty_models()[k]
    loss = _xent(model(tl.Tensor(x, batched=True)), None)
    assert float(loss.data) == 0.0
    loss.backward()
    for name, p in model.named_parameters():
        assert np.all(p.grad == 0), name
        assert p.grad_sample.shape == (0,) + p.shape, name


def test_against_opacus(torch: Any) -> None:
    opacus = pytest.importorskip("opacus")
    tnn = torch.nn

    class TorchNet(tnn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb = tnn.Embedding(9, 4)
            self.c1 = tnn.Conv2d(1, 4, 3, padding=1)
            self.c2 = tnn.Conv2d(4, 4, 3, stride=2, groups=2)
            self.gn = tnn.GroupNorm(2, 4)
            self.ln = tnn.LayerNorm(8)
            self.head = tnn.Linear(8, 3)

        def forward(self, x: Any, idx: Any) -> Any:
            h = self.gn(self.c2(torch.relu(self.c1(x))))  # (B, 4, 3, 3)
            h = h.mean(dim=(2, 3)) + self.emb(idx).sum(dim=1)
            return self.head(self.ln(torch.cat([h, h * h], dim=1)))

    class Net(nn.Module):
        def __init__(self) -> None:
            self.emb = nn.Embedding(9, 4, rng=0)
            self.c1 = nn.Conv2d(1, 4, 3, padding=1, rng=0)
            self.c2 = nn.Conv2d(4, 4, 3, stride=2, groups=2, rng=0)
            self.gn = nn.GroupNorm(2, 4)
            self.ln = nn.LayerNorm(8)
            self.head = nn.Linear(8, 3, rng=0)

        def forward(self, x: Any, idx: Any) -> tl.Tensor:
            h = self.gn(self.c2(self.c1(x).relu())).mean(axis=(2, 3)) + self.emb(idx).sum(axis=1)
            return self.head(self.ln(tl.cat([h, h * h], axis=1)))

    tm, m = TorchNet().double(), Net()
    m.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    rng = np.random.default_rng(7)
    x, idx, y = rng.standard_normal((6, 1, 7, 7)), rng.integers(0, 9, (6, 3)), rng.integers(0, 3, 6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gsm = opacus.GradSampleModule(tm)
        torch.nn.functional.cross_entropy(gsm(torch.tensor(x), torch.tensor(idx)), torch.tensor(y)).backward()
    F.cross_entropy(m(tl.Tensor(x, batched=True), tl.Tensor(idx, batched=True)), y).backward()
    theirs = {k.removeprefix("_module."): p.grad_sample.numpy() for k, p in gsm.named_parameters()}
    for name, p in m.named_parameters():
        _close(p.grad_sample, theirs[name], name, tol=1e-9)
