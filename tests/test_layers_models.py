"""Whole models: a torch CNN and a torch transformer block loaded by name give the same
outputs; state dicts carry buffers; clear errors name the layer and the shapes; train/eval;
``tl.nn.utils.clip_grad_norm_``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.nn import functional as F


def _close(a: Any, b: Any, tol: float = 1e-10) -> None:
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape
    assert float(np.max(np.abs(a - b))) / max(1.0, float(np.max(np.abs(b)))) < tol


def torch_cnn(torch: Any) -> Any:
    t = torch.nn
    return t.Sequential(t.Conv2d(1, 8, 3, padding=1), t.BatchNorm2d(8), t.ReLU(), t.MaxPool2d(2),
                        t.Conv2d(8, 16, 3, padding=1, groups=2), t.GELU(), t.AvgPool2d(2), t.Flatten(),
                        t.Dropout(0.3), t.Linear(16 * 2 * 2, 10)).double()


def tl_cnn() -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1, groups=2), nn.GELU(), nn.AvgPool2d(2), nn.Flatten(),
                         nn.Dropout(0.3), nn.Linear(16 * 2 * 2, 10))


def test_torch_cnn_loads_by_name_and_gives_the_same_outputs(torch: Any) -> None:
    tm = torch_cnn(torch)
    x = np.random.default_rng(0).standard_normal((6, 1, 8, 8))
    tm.train()
    tm(torch.tensor(x))  # move the running statistics away from their start
    tm.eval()
    m = tl_cnn()
    sd = {k: v.detach().numpy() for k, v in tm.state_dict().items()}
    assert set(m.state_dict()) == set(sd)
    assert "1.running_mean" in sd and "1.num_batches_tracked" in sd
    m.load_state_dict(sd)
    m.eval()
    _close(m(tl.Tensor(x)).data, tm(torch.tensor(x)).detach().numpy())
    _close(m.state_dict()["1.running_var"], sd["1.running_var"])


class TorchBlock:
    """Built on demand so that the module imports without torch."""

    @staticmethod
    def make(torch: Any, E: int, H: int) -> Any:
        t = torch.nn

        class Block(t.Module):
            def __init__(self) -> None:
                super().__init__()
                self.ln1, self.ln2 = t.LayerNorm(E), t.LayerNorm(E)
                self.attn = t.MultiheadAttention(E, H, batch_first=True)
                self.fc1, self.fc2 = t.Linear(E, 4 * E), t.Linear(4 * E, E)

            def forward(self, x: Any, mask: Any) -> Any:
                h = self.ln1(x)
                a, w = self.attn(h, h, h, attn_mask=mask)
                x = x + a
                return x + self.fc2(torch.nn.functional.gelu(self.fc1(self.ln2(x)))), w

        return Block().double()


class Block(nn.Module):
    def __init__(self, E: int, H: int) -> None:
        self.ln1, self.ln2 = nn.LayerNorm(E), nn.LayerNorm(E)
        self.attn = nn.MultiheadAttention(E, H)
        self.fc1, self.fc2 = nn.Linear(E, 4 * E), nn.Linear(4 * E, E)

    def forward(self, x: Any) -> tuple:
        h = self.ln1(x)
        a, w = self.attn(h, h, h, is_causal=True)
        x = x + a
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x)))), w


def test_torch_transformer_block_loads_by_name_and_gives_the_same_outputs(torch: Any) -> None:
    E, H, T = 12, 3, 7
    tm = TorchBlock.make(torch, E, H)
    m = Block(E, H)
    m.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    x = np.random.default_rng(1).standard_normal((4, T, E))
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
    tx = torch.tensor(x, requires_grad=True)
    ty, tw = tm(tx, mask)
    xt = tl.Tensor(x, requires_grad=True)
    y, w = m(xt)
    _close(y.data, ty.detach().numpy())
    _close(w.data, tw.detach().numpy())
    G = np.random.default_rng(2).standard_normal(y.shape)
    (y * G).sum().backward()
    (ty * torch.tensor(G)).sum().backward()
    _close(xt.grad, tx.grad.numpy())
    named = dict(tm.named_parameters())
    for k, p in m.named_parameters():
        _close(p.grad, named[k].grad.numpy())


def test_attention_masks_and_sdpa_match_torch(torch: Any) -> None:
    rng = np.random.default_rng(3)
    E, H, B, Tq, Tk = 8, 2, 2, 4, 5
    tm = torch.nn.MultiheadAttention(E, H, batch_first=True).double()
    m = nn.MultiheadAttention(E, H)
    m.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    q, k, v = rng.standard_normal((B, Tq, E)), rng.standard_normal((B, Tk, E)), rng.standard_normal((B, Tk, E))
    bool_mask = rng.random((Tq, Tk)) < 0.3
    bool_mask[:, 0] = False
    float_mask = rng.standard_normal((B * H, Tq, Tk))
    kpm = np.zeros((B, Tk), bool)
    kpm[1, -2:] = True
    for kw, tkw in (({"attn_mask": bool_mask}, {"attn_mask": torch.tensor(bool_mask)}),
                    ({"attn_mask": float_mask}, {"attn_mask": torch.tensor(float_mask)}),
                    ({"key_padding_mask": kpm}, {"key_padding_mask": torch.tensor(kpm)})):
        out, w = m(q, k, v, **kw)
        tout, tw = tm(torch.tensor(q), torch.tensor(k), torch.tensor(v), **tkw)
        _close(out.data, tout.detach().numpy())
        _close(w.data, tw.detach().numpy())
    assert m(q, k, v, need_weights=False)[1] is None
    qs, ks, vs = (rng.standard_normal((2, 3, 6, 4)) for _ in range(3))
    allow = rng.random((6, 6)) < 0.7
    allow[:, 0] = True
    tF = torch.nn.functional
    for kw in ({}, {"is_causal": True}, {"attn_mask": allow}, {"attn_mask": rng.standard_normal((6, 6))}):
        tkw = {a: torch.tensor(b) if isinstance(b, np.ndarray) else b for a, b in kw.items()}
        _close(F.scaled_dot_product_attention(qs, ks, vs, **kw).data,
               tF.scaled_dot_product_attention(torch.tensor(qs), torch.tensor(ks), torch.tensor(vs), **tkw).numpy())


def test_state_dict_buffers_and_all_or_nothing_loading() -> None:
    m = nn.Sequential(nn.Conv1d(2, 3, 3), nn.BatchNorm1d(3))
    sd = m.state_dict()
    assert list(sd) == ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
                        "1.num_batches_tracked"]
    assert sd["1.num_batches_tracked"].dtype == np.int64
    before = m.state_dict()
    bad = dict(sd, **{"1.running_var": np.ones(4)})
    with pytest.raises(ValueError, match="1.running_var"):
        m.load_state_dict(bad)
    missing = {k: v for k, v in sd.items() if k != "1.running_mean"}
    with pytest.raises(KeyError, match="1.running_mean"):
        m.load_state_dict(missing)
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    assert [k for k, _ in m.named_buffers()] == ["1.running_mean", "1.running_var", "1.num_batches_tracked"]
    assert all(not b.requires_grad for b in m.buffers()) and len(m.parameters()) == 4


def test_train_and_eval_switch_dropout_and_batchnorm() -> None:
    m = nn.Sequential(nn.Linear(4, 4, rng=0), nn.BatchNorm1d(4), nn.Dropout(0.5))
    x = tl.Tensor(np.random.default_rng(4).standard_normal((8, 4)))
    assert m.training and all(c.training for c in m)
    m.eval()
    assert not m.training and not m[1].training and not m[2].training
    np.testing.assert_array_equal(m(x).data, m(x).data)  # deterministic, running statistics
    assert int(m[1].num_batches_tracked.data) == 0
    m.train()
    m(x)
    assert int(m[1].num_batches_tracked.data) == 1
    with pytest.raises(TypeError):
        m.train("yes")  # type: ignore[arg-type]


@pytest.mark.parametrize("call,match", [
    (lambda: nn.Conv2d(3, 4, 3)(np.zeros((2, 5, 8, 8))), r"Conv2d\(3, 4.*3 channels.*\(2, 5, 8, 8\).*5 channels"),
    (lambda: nn.Conv2d(1, 4, 5)(np.zeros((2, 1, 3, 3))), r"Conv2d\(1, 4.*kernel of size \(5, 5\).*larger.*\(3, 3\)"),
    (lambda: nn.Conv1d(2, 2, 4, padding=1)(np.zeros((1, 2, 1))), r"Conv1d\(2, 2.*larger than the padded input"),
    (lambda: nn.GroupNorm(3, 4), r"GroupNorm.*num_groups=3.*num_channels=4"),
    (lambda: F.group_norm(np.zeros((2, 4, 3)), 3), r"group_norm.*num_groups=3.*4 channels.*\(2, 4, 3\)"),
    (lambda: nn.GroupNorm(2, 4)(np.zeros((2, 6, 3))), r"GroupNorm\(2, 4.*\(2, 6, 3\)"),
    (lambda: nn.BatchNorm2d(3)(np.zeros((2, 4, 3, 3))), r"BatchNorm2d\(3\).*\(2, 4, 3, 3\)"),
    (lambda: nn.Conv2d(4, 4, 3, groups=3), r"groups=3"),
    (lambda: nn.MaxPool2d(2, padding=2)(np.zeros((1, 1, 4, 4))), r"max_pool2d.*padding"),
    (lambda: nn.MultiheadAttention(6, 4), r"embed_dim=6.*num_heads=4"),
])
def test_clear_errors_name_the_layer_and_the_shapes(call: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


def test_embedding_index_out_of_range_is_named() -> None:
    with pytest.raises(IndexError, match=r"Embedding\(5, 3\).*index 7.*5 rows.*\(2, 2\)"):
        nn.Embedding(5, 3)(np.array([[1, 7], [0, 2]]))
    with pytest.raises(TypeError, match="integers"):
        nn.Embedding(5, 3)(np.array([1.0]))
    with pytest.raises(TypeError, match="dropout"):
        nn.MultiheadAttention(4, 2, 0.1)  # type: ignore[arg-type]


def test_clip_grad_norm_scales_in_place_and_returns_the_total_norm(torch: Any) -> None:
    rng = np.random.default_rng(5)
    grads = [rng.standard_normal((3, 4)), rng.standard_normal(5)]
    ps = [tl.Tensor(np.zeros_like(g), requires_grad=True) for g in grads]
    tps = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, tp, g in zip(ps, tps, grads):
        p.grad = g.copy()
        tp.grad = torch.tensor(g)
    for max_norm, q in ((1.0, 2.0), (100.0, 2.0), (0.5, float("inf")), (0.7, 1.0)):
        total = tl.nn.utils.clip_grad_norm_(ps, max_norm, norm_type=q)
        want = torch.nn.utils.clip_grad_norm_(tps, max_norm, norm_type=q)
        assert isinstance(total, float) and abs(total - float(want)) < 1e-12
        for p, tp in zip(ps, tps):
            _close(p.grad, tp.grad.numpy(), 1e-12)
    assert tl.nn.utils.clip_grad_norm_([tl.Tensor([1.0], requires_grad=True)], 1.0) == 0.0
