"""Layers for real models against PyTorch (float64): forward values and the gradients of the
parameters and of the input, for several shapes, strides, paddings, dilations and groups."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.nn import functional as F

RTOL = 1e-10


def close(a: Any, b: Any, what: str = "", tol: float = RTOL) -> None:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, (what, a.shape, b.shape)
    scale = max(1.0, float(np.max(np.abs(b)))) if b.size else 1.0
    err = float(np.max(np.abs(a - b))) / scale if a.size else 0.0
    assert err < tol, f"{what}: max relative error {err:.2e}"


def load_from(model: nn.Module, tm: Any) -> None:
    model.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})


def compare(torch: Any, model: nn.Module, tm: Any, x: np.ndarray, *, input_grad: bool = True, seed: int = 0) -> None:
    """Same outputs, parameter gradients and input gradient for a random cotangent."""
    load_from(model, tm)
    xt = tl.Tensor(x, requires_grad=input_grad)
    tx = torch.tensor(x, requires_grad=input_grad)
    y, ty = model(xt), tm(tx)
    close(y.data, ty.detach().numpy(), "forward")
    G = np.random.default_rng(seed).standard_normal(y.shape)
    (y * G).sum().backward()
    (ty * torch.tensor(G)).sum().backward()
    named = dict(tm.named_parameters())
    for name, p in model.named_parameters():
        close(p.grad, named[name].grad.numpy(), name)
    if input_grad:
        close(xt.grad, tx.grad.numpy(), "input")


CONV2D = [  # (C, O, kernel, stride, padding, dilation, groups, spatial)
    (1, 4, 3, 1, 1, 1, 1, (6, 6)),
    (3, 4, 3, 1, 0, 1, 1, (7, 5)),
    (4, 6, (2, 3), (2, 1), (1, 2), (1, 2), 2, (9, 8)),
    (6, 6, 3, 2, 0, 1, 3, (8, 8)),
    (6, 6, 3, 1, 1, 1, 6, (5, 5)),  # depthwise
    (2, 3, 1, 1, 0, 1, 1, (4, 3)),
    (2, 4, 3, 3, 2, 2, 2, (11, 10)),
    (3, 2, 3, 1, "same", 2, 1, (5, 6)),
]


@pytest.mark.parametrize("C,O,k,s,p,d,g,S", CONV2D)
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d_matches_torch(torch: Any, C: int, O: int, k: Any, s: Any, p: Any, d: Any, g: int, S: tuple,
                              bias: bool) -> None:
    x = np.random.default_rng(1).standard_normal((3, C) + S)
    m = nn.Conv2d(C, O, k, stride=s, padding=p, dilation=d, groups=g, bias=bias, rng=0)
    tm = torch.nn.Conv2d(C, O, k, stride=s, padding=p, dilation=d, groups=g, bias=bias).double()
    compare(torch, m, tm, x)


@pytest.mark.parametrize("C,O,k,s,p,d,g,L", [(2, 3, 3, 1, 1, 1, 1, 9), (4, 4, 2, 2, 0, 1, 2, 10),
                                             (3, 6, 4, 1, 3, 2, 3, 12), (1, 2, 5, 3, 2, 1, 1, 7)])
def test_conv1d_matches_torch(torch: Any, C: int, O: int, k: int, s: int, p: int, d: int, g: int, L: int) -> None:
    x = np.random.default_rng(2).standard_normal((4, C, L))
    m = nn.Conv1d(C, O, k, stride=s, padding=p, dilation=d, groups=g, rng=0)
    tm = torch.nn.Conv1d(C, O, k, stride=s, padding=p, dilation=d, groups=g).double()
    compare(torch, m, tm, x)


def test_conv_unbatched_input_and_functional(torch: Any) -> None:
    x = np.random.default_rng(3).standard_normal((2, 5, 5))
    W = np.random.default_rng(4).standard_normal((3, 2, 3, 3))
    y = F.conv2d(x, W, padding=1, stride=2)
    ref = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(W), padding=1, stride=2)
    close(y.data, ref.numpy(), "conv2d unbatched")


@pytest.mark.parametrize("k,s,p,S", [(2, None, 0, (6, 6)), (3, 2, 1, (7, 8)), ((2, 3), (1, 2), (1, 1), (5, 7)),
                                     (3, 1, 0, (5, 5))])
def test_pools_match_torch(torch: Any, k: Any, s: Any, p: Any, S: tuple) -> None:
    x = np.random.default_rng(5).standard_normal((2, 3) + S)
    for ours, theirs in ((nn.MaxPool2d(k, s, p), torch.nn.MaxPool2d(k, s, p)),
                         (nn.AvgPool2d(k, s, p), torch.nn.AvgPool2d(k, s, p)),
                         (nn.AvgPool2d(k, s, p, count_include_pad=False),
                          torch.nn.AvgPool2d(k, s, p, count_include_pad=False))):
        compare(torch, ours, theirs, x)


def test_embedding_matches_torch_with_repeats_and_padding(torch: Any) -> None:
    idx = np.array([[1, 2, 1, 0], [3, 3, 3, 4]])
    for pad in (None, 3):
        m = nn.Embedding(6, 5, padding_idx=pad, rng=0)
        tm = torch.nn.Embedding(6, 5, padding_idx=pad).double()
        load_from(m, tm)
        y, ty = m(idx), tm(torch.tensor(idx))
        close(y.data, ty.detach().numpy(), "embedding")
        G = np.random.default_rng(0).standard_normal(y.shape)
        (y * G).sum().backward()
        (ty * torch.tensor(G)).sum().backward()
        close(m.weight.grad, tm.weight.grad.numpy(), "embedding grad")
    assert nn.Embedding(6, 5, padding_idx=2, rng=0).weight.data[2].tolist() == [0.0] * 5


def test_embedding_takes_int_tensors_of_any_shape() -> None:
    m = nn.Embedding(10, 3, rng=0)
    assert m(tl.Tensor(np.array(4))).shape == (3,)
    idx = tl.Tensor(np.arange(24).reshape(2, 3, 4) % 10, batched=True)
    out = m(idx)
    assert out.shape == (2, 3, 4, 3) and out.batched


@pytest.mark.parametrize("shape,ns", [((4, 5), 5), ((3, 4, 6), (6,)), ((2, 3, 4, 5), (4, 5))])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_matches_torch(torch: Any, shape: tuple, ns: Any, affine: bool) -> None:
    x = np.random.default_rng(6).standard_normal(shape) * 3 + 1
    m = nn.LayerNorm(ns, eps=1e-5, elementwise_affine=affine)
    tm = torch.nn.LayerNorm(ns, elementwise_affine=affine).double()
    if affine:
        with torch.no_grad():
            for p in tm.parameters():
                p.add_(torch.randn(p.shape, dtype=torch.float64))
    compare(torch, m, tm, x)


@pytest.mark.parametrize("G,C,shape", [(2, 4, (3, 4, 5)), (3, 6, (2, 6, 3, 4)), (1, 3, (2, 3)), (4, 4, (2, 4, 2, 2))])
def test_group_norm_matches_torch(torch: Any, G: int, C: int, shape: tuple) -> None:
    x = np.random.default_rng(7).standard_normal(shape) * 2 - 1
    m, tm = nn.GroupNorm(G, C), torch.nn.GroupNorm(G, C).double()
    with torch.no_grad():
        for p in tm.parameters():
            p.add_(torch.randn(p.shape, dtype=torch.float64))
    compare(torch, m, tm, x)


@pytest.mark.parametrize("cls,shape", [("BatchNorm1d", (5, 3)), ("BatchNorm1d", (4, 3, 6)),
                                       ("BatchNorm2d", (3, 2, 4, 5))])
def test_batch_norm_train_and_eval_match_torch(torch: Any, cls: str, shape: tuple) -> None:
    rng = np.random.default_rng(8)
    m, tm = getattr(nn, cls)(shape[1], momentum=0.2), getattr(torch.nn, cls)(shape[1], momentum=0.2).double()
    with torch.no_grad():
        for p in tm.parameters():
            p.add_(torch.randn(p.shape, dtype=torch.float64))
    load_from(m, tm)
    for _ in range(2):  # training: batch statistics, running ones updated
        x = rng.standard_normal(shape) * 2 + 0.5
        compare(torch, m, tm, x)
        m.zero_grad()
        tm.zero_grad()
        sd = m.state_dict()
        for k, v in tm.state_dict().items():
            close(sd[k], v.numpy(), k)
    assert int(m.num_batches_tracked.data) == 2 and m.num_batches_tracked.dtype == np.int64
    m.eval()
    tm.eval()
    compare(torch, m, tm, rng.standard_normal(shape))


@pytest.mark.parametrize("name,kw", [("GELU", {}), ("GELU", {"approximate": "tanh"}), ("SiLU", {}),
                                     ("Softmax", {"dim": -1}), ("LogSoftmax", {"dim": 1}), ("ReLU", {}),
                                     ("Tanh", {}), ("Sigmoid", {})])
def test_activations_match_torch(torch: Any, name: str, kw: dict) -> None:
    x = np.random.default_rng(9).standard_normal((4, 7)) * 4
    compare(torch, getattr(nn, name)(**kw), getattr(torch.nn, name)(**kw), x)


def test_gelu_erf_fallback_is_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    """numpy has no erf: without scipy the series / continued fraction gives math.erf's values."""
    import math

    from tinygrad_lite.ops import nnops

    monkeypatch.setattr(nnops, "_erf", None)
    x = np.concatenate([np.linspace(-8, 8, 2001), [0.0, 2.999999, 3.0, -3.0, 1e-9]])
    got = nnops.erf(x)
    want = np.array([math.erf(v) for v in x])
    assert np.max(np.abs(got - want)) < 2e-15


def test_losses_as_modules(torch: Any) -> None:
    z = np.random.default_rng(10).standard_normal((5, 4))
    y = np.array([0, 3, 1, 1, 2])
    close(nn.CrossEntropyLoss()(tl.Tensor(z), y).data,
          torch.nn.CrossEntropyLoss()(torch.tensor(z), torch.tensor(y)).numpy())
    t = np.random.default_rng(11).standard_normal((5, 4))
    close(nn.MSELoss(reduction="sum")(tl.Tensor(z), t).data,
          torch.nn.MSELoss(reduction="sum")(torch.tensor(z), torch.tensor(t)).numpy())


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_over_positions_matches_torch(torch: Any, reduction: str) -> None:
    z = np.random.default_rng(12).standard_normal((3, 5, 4))  # (N, C, T), torch's layout
    y = np.random.default_rng(13).integers(0, 5, (3, 4))
    zt = tl.Tensor(z, requires_grad=True)
    tz = torch.tensor(z, requires_grad=True)
    out = F.cross_entropy(zt, y, reduction=reduction)
    ref = torch.nn.functional.cross_entropy(tz, torch.tensor(y), reduction=reduction)
    close(out.data, ref.detach().numpy())
    out.sum().backward()
    ref.sum().backward()
    close(zt.grad, tz.grad.numpy())


def test_flatten_identity_and_module_list() -> None:
    x = tl.Tensor(np.arange(24.0).reshape(2, 3, 4))
    assert nn.Flatten()(x).shape == (2, 12)
    assert nn.Flatten(0, 1)(x).shape == (6, 4)
    assert nn.Identity(3, foo=1)(x) is x
    ml = nn.ModuleList([nn.Linear(2, 2, rng=0), nn.Linear(2, 3, rng=1)])
    ml.append(nn.ReLU())
    assert len(ml) == 3 and [k for k, _ in ml.named_parameters()] == ["0.weight", "0.bias", "1.weight", "1.bias"]
    with pytest.raises(NotImplementedError):
        ml(x)
    with pytest.raises(TypeError):
        ml.append("not a module")  # type: ignore[arg-type]


def test_dropout_train_and_eval() -> None:
    tl.manual_seed(0)
    d = nn.Dropout(0.25)
    x = tl.Tensor(np.ones((400, 50)))
    y = d(x).data
    kept = y != 0
    assert 0.7 < kept.mean() < 0.8
    assert np.allclose(y[kept], 1 / 0.75)
    assert len({tuple(r) for r in kept[:20]}) == 20  # each sample its own mask
    d.eval()
    assert d(x) is x
    tl.manual_seed(0)
    again = nn.Dropout(0.25)(x).data
    np.testing.assert_array_equal(again, y)  # tl.manual_seed governs it
    with pytest.raises(ValueError, match="p must be"):
        nn.Dropout(1.5)


def test_float32_stays_float32() -> None:
    x = tl.Tensor(np.ones((2, 1, 6, 6), np.float32), batched=True)
    m = nn.Sequential(nn.Conv2d(1, 2, 3, dtype=np.float32, rng=0), nn.GELU(), nn.GroupNorm(1, 2, dtype=np.float32),
                      nn.MaxPool2d(2), nn.Flatten(), nn.LayerNorm(8, dtype=np.float32))
    y = m(x)
    assert y.dtype == np.float32
    y.sum().backward()
    assert all(p.grad.dtype == np.float32 for p in m.parameters())
