"""``F.linear_cross_entropy`` and ``nn.LinearCrossEntropyLoss``.

* values and the gradients of input, linear weight and bias equal torch's in float64 (1e-10)
  over the reductions, class weights, ``ignore_index`` (None, a label present in the target),
  label smoothing, probability targets, one-sample inputs and K-dimensional weights;
* float32 computes in float32 and agrees with torch's float32 result;
* the module: its parameters, their shapes and initialisation, ``state_dict`` keys as torch's
  module, and the same loss and gradients once torch's weights are loaded;
* per sample: with a batched input, ``grad_sample`` of the weight and bias equals one backward
  per sample alone;
* bad arguments raise errors naming the function (or the module) and the shapes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import Tensor, nn
from tinygrad_lite.nn import functional as F

torch = pytest.importorskip("torch")

TOL = 1e-10
IN, C = 4, 5


def _data(seed: int, N: Any, out: tuple = (), probs: bool = False, ignore: Any = None) -> dict:
    """Input, weight, bias and target: N None for a one-sample input (in_features,)."""
    r = np.random.default_rng(seed)
    batch = () if N is None else (N,)
    x = r.normal(size=batch + (IN,))
    W = r.normal(size=(C,) + out + (IN,))
    b = r.normal(size=(C,) + out)
    if probs:
        y = r.uniform(0.1, 1.0, size=batch + (C,) + out)
        y = y / y.sum(axis=len(batch), keepdims=True)
    else:
        y = r.integers(0, C, size=batch + out)
        if ignore is not None and y.size:
            flat = y.reshape(-1)  # the ignored label is present (and so is a kept one)
            flat[::3] = ignore
            flat[1] = 1
    return {"x": x, "W": W, "b": b, "y": y}


def _both(d: dict, bias: bool = True, dtype: Any = np.float64, **kw: Any) -> tuple:
    """(tl loss, tl grads, torch loss, torch grads) of the same call; the cotangent of a
    "none" loss is a fixed random array."""
    ours = {k: Tensor(d[k].astype(dtype), requires_grad=True) for k in ("x", "W", "b")}
    tdt = torch.float64 if dtype == np.float64 else torch.float32
    theirs = {k: torch.tensor(d[k], dtype=tdt, requires_grad=True) for k in ("x", "W", "b")}
    y = d["y"].astype(dtype) if d["y"].dtype.kind == "f" else d["y"]
    w = kw.pop("weight", None)
    L = F.linear_cross_entropy(ours["x"], ours["W"], y, linear_bias=ours["b"] if bias else None,
                               weight=w, **kw)
    T = torch.nn.functional.linear_cross_entropy(theirs["x"], theirs["W"], torch.tensor(y),
                                                 linear_bias=theirs["b"] if bias else None,
                                                 weight=None if w is None else torch.tensor(w, dtype=tdt), **kw)
    g = np.random.default_rng(7).normal(size=L.data.shape).astype(dtype)
    (L * g).sum().backward()
    (T * torch.tensor(g)).sum().backward()
    keys = ("x", "W", "b") if bias else ("x", "W")
    return (L, [ours[k].grad for k in keys], T.detach().numpy(), [theirs[k].grad.numpy() for k in keys])


def _close(d: dict, tol: float = TOL, **kw: Any) -> None:
    L, grads, T, tgrads = _both(d, **kw)
    assert L.data.shape == T.shape
    np.testing.assert_allclose(L.data, T, rtol=tol, atol=tol)
    for name, a, e in zip(("input", "linear_weight", "linear_bias"), grads, tgrads):
        assert a is not None, name
        np.testing.assert_allclose(a, e, rtol=tol, atol=tol, err_msg=name)


REDUCTIONS = ["mean", "sum", "none"]


# ------------------------------------------------------------------------------ against torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("N", [None, 1, 6])
@pytest.mark.parametrize("bias", [True, False])
def test_plain_matches_torch(reduction: str, N: Any, bias: bool) -> None:
    _close(_data(1, N), bias=bias, reduction=reduction)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("ignore", [None, 2, -1])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("eps", [0.0, 0.3])
def test_weights_ignore_smoothing_match_torch(reduction: str, ignore: Any, weighted: bool, eps: float) -> None:
    # ignore_index=None means -100: such labels are in the target and are ignored
    d = _data(2, 9, ignore=-100 if ignore is None else ignore)
    w = np.random.default_rng(3).uniform(0.2, 2.0, C) if weighted else None
    _close(d, reduction=reduction, weight=w, ignore_index=ignore, label_smoothing=eps)


def test_ignore_index_none_is_minus_100() -> None:
    d = _data(4, 7, ignore=-100)
    W = Tensor(d["W"], requires_grad=True)
    a = F.linear_cross_entropy(d["x"], W, d["y"])
    b = F.cross_entropy(F.linear(d["x"], d["W"]), d["y"], ignore_index=-100)
    np.testing.assert_allclose(a.data, b.data, rtol=1e-14)
    keep = d["y"] != -100
    np.testing.assert_allclose(a.data, F.cross_entropy(d["x"][keep] @ d["W"].T, d["y"][keep]).data, rtol=1e-14)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("N, out", [(None, ()), (6, ()), (5, (3,)), (4, (2, 3))])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("eps", [0.0, 0.2])
def test_probability_targets_match_torch(reduction: str, N: Any, out: tuple, weighted: bool, eps: float) -> None:
    w = np.random.default_rng(5).uniform(0.2, 2.0, C) if weighted else None
    _close(_data(6, N, out=out, probs=True), reduction=reduction, weight=w, label_smoothing=eps)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("out", [(3,), (2, 3), (1, 2, 2)])
@pytest.mark.parametrize("bias", [True, False])
def test_k_dimensional_matches_torch(reduction: str, out: tuple, bias: bool) -> None:
    _close(_data(8, 4, out=out), bias=bias, reduction=reduction)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_k_dimensional_weight_ignore_smoothing_match_torch(reduction: str) -> None:
    w = np.random.default_rng(9).uniform(0.2, 2.0, C)
    _close(_data(10, 5, out=(2, 3), ignore=3), reduction=reduction, weight=w, ignore_index=3, label_smoothing=0.1)


def test_is_linear_then_cross_entropy() -> None:
    """The meaning stated: cross_entropy of the logits laid out as (N, C, d1, ...)."""
    d = _data(11, 3, out=(2, 2))
    z = np.einsum("ni,cdei->ncde", d["x"], d["W"]) + d["b"]
    L = F.linear_cross_entropy(d["x"], d["W"], d["y"], linear_bias=d["b"], reduction="none")
    np.testing.assert_allclose(L.data, F.cross_entropy(z, d["y"], reduction="none").data, rtol=1e-13)


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_float32_matches_torch(reduction: str) -> None:
    d = _data(12, 8, out=(2,))
    L, grads, T, tgrads = _both(d, dtype=np.float32, reduction=reduction, label_smoothing=0.1)
    assert L.data.dtype == np.float32 and all(g.dtype == np.float32 for g in grads)
    np.testing.assert_allclose(L.data, T, rtol=1e-5, atol=1e-6)
    for a, e in zip(grads, tgrads):
        np.testing.assert_allclose(a, e, rtol=1e-4, atol=1e-6)


def test_options_accepted_and_ignored() -> None:
    d = _data(13, 6)
    opts = torch.nn.LinearCrossEntropyOptions(batch_chunk_size=2)
    a = F.linear_cross_entropy(d["x"], d["W"], d["y"], options=opts)
    b = F.linear_cross_entropy(d["x"], d["W"], d["y"])
    assert a.data == b.data
    T = torch.nn.functional.linear_cross_entropy(torch.tensor(d["x"]), torch.tensor(d["W"]), torch.tensor(d["y"]),
                                                 options=opts)
    np.testing.assert_allclose(a.data, T.numpy(), rtol=TOL)
    with pytest.raises(TypeError, match="linear_cross_entropy: options must be None or a chunking-options object"):
        F.linear_cross_entropy(d["x"], d["W"], d["y"], options=4)


# ------------------------------------------------------------------------------ the module
@pytest.mark.parametrize("out", [(), (2, 3)])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
def test_module_matches_torch(out: tuple, bias: bool, weighted: bool) -> None:
    w = np.random.default_rng(14).uniform(0.2, 2.0, C) if weighted else None
    kw = dict(out_features=out, bias=bias, ignore_index=1, label_smoothing=0.05, reduction="sum")
    tm = torch.nn.LinearCrossEntropyLoss(IN, C, weight=None if w is None else torch.tensor(w), dtype=torch.float64,
                                         **kw)
    m = nn.LinearCrossEntropyLoss(IN, C, weight=w, **kw)
    tsd = tm.state_dict()
    assert list(m.state_dict()) == list(tsd)
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in tm.named_parameters()]
    for k, v in m.state_dict().items():
        assert v.shape == tuple(tsd[k].shape), k
    n = int(np.prod(out, dtype=int)) * C
    assert m.linear.weight.shape == (n, IN) and (m.linear.bias is not None) == bias
    bound = 1.0 / np.sqrt(IN)
    assert np.all(np.abs(m.linear.weight.data) <= bound) and m.linear.weight.data.std() > bound / 4
    assert m.num_classes == C and m.out_features == out and m.ignore_index == 1 and m.label_smoothing == 0.05
    m.load_state_dict({k: v.numpy() for k, v in tsd.items()})
    d = _data(15, 6, out=out, ignore=1)
    x = Tensor(d["x"], requires_grad=True)
    tx = torch.tensor(d["x"], requires_grad=True)
    L = m(x, d["y"])
    T = tm(tx, torch.tensor(d["y"]))
    np.testing.assert_allclose(L.data, T.item(), rtol=TOL)
    L.backward()
    T.backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=TOL, atol=TOL)
    for (name, p), (_, tp) in zip(m.named_parameters(), tm.named_parameters()):
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=TOL, atol=TOL, err_msg=name)


def test_module_defaults_and_dtype() -> None:
    m = nn.LinearCrossEntropyLoss(3, 7, rng=0)
    tm = torch.nn.LinearCrossEntropyLoss(3, 7)
    assert list(m.state_dict()) == list(tm.state_dict()) == ["linear.weight"]
    assert m.reduction == tm.reduction and m.ignore_index is tm.ignore_index is None
    assert m.out_features == tm.out_features == () and m.label_smoothing == tm.label_smoothing
    assert m.linear.weight.data.dtype == np.float64
    m32 = nn.LinearCrossEntropyLoss(3, 7, out_features=(2,), bias=True, dtype=np.float32)
    assert m32.linear.weight.data.dtype == np.float32 and m32.linear.bias.shape == (14,)
    assert m32(np.ones((2, 3), np.float32), np.zeros((2, 2), np.int64)).data.dtype == np.float32


# ------------------------------------------------------------------------------ per sample
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("case", ["plain", "kdim", "smooth", "probs"])
def test_grad_sample_equals_loop(reduction: str, case: str) -> None:
    out = (2, 3) if case in ("kdim", "probs") else ()
    d = _data(16, 5, out=out, probs=case == "probs")
    kw = {"reduction": reduction, "label_smoothing": 0.2 if case in ("smooth", "probs") else 0.0}
    W = Tensor(d["W"], requires_grad=True)
    b = Tensor(d["b"], requires_grad=True)
    F.linear_cross_entropy(Tensor(d["x"], batched=True), W, d["y"], linear_bias=b, **kw).backward()
    assert W.grad_sample.shape == (5,) + d["W"].shape and b.grad_sample.shape == (5,) + d["b"].shape
    for i in range(5):
        W1 = Tensor(d["W"], requires_grad=True)
        b1 = Tensor(d["b"], requires_grad=True)
        F.linear_cross_entropy(d["x"][i:i + 1], W1, d["y"][i:i + 1], linear_bias=b1, **kw).backward()
        np.testing.assert_allclose(W.grad_sample[i], W1.grad, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(b.grad_sample[i], b1.grad, rtol=1e-12, atol=1e-14)
    agg = np.mean if reduction == "mean" else np.sum
    np.testing.assert_allclose(W.grad, agg(W.grad_sample, axis=0), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("out", [(), (3,)])
def test_module_grad_sample_equals_loop(out: tuple) -> None:
    m = nn.LinearCrossEntropyLoss(IN, C, out_features=out, bias=True, rng=1)
    d = _data(17, 4, out=out)
    m(Tensor(d["x"], batched=True), d["y"]).backward()
    gw, gb = m.linear.weight.grad_sample, m.linear.bias.grad_sample
    for i in range(4):
        m.zero_grad()
        m(d["x"][i:i + 1], d["y"][i:i + 1]).backward()
        np.testing.assert_allclose(gw[i], m.linear.weight.grad, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(gb[i], m.linear.bias.grad, rtol=1e-12, atol=1e-14)


def test_weighted_mean_mixes_samples() -> None:
    """A class-weighted mean divides by the batch's total weight: per-sample gradients are
    undefined and reading them raises (as for cross_entropy), while .grad stays torch's."""
    d = _data(18, 6)
    w = np.random.default_rng(19).uniform(0.2, 2.0, C)
    W = Tensor(d["W"], requires_grad=True)
    F.linear_cross_entropy(Tensor(d["x"], batched=True), W, d["y"], weight=w).backward()
    with pytest.raises(RuntimeError):
        _ = W.grad_sample
    tW = torch.tensor(d["W"], requires_grad=True)
    torch.nn.functional.linear_cross_entropy(torch.tensor(d["x"]), tW, torch.tensor(d["y"]),
                                             weight=torch.tensor(w)).backward()
    np.testing.assert_allclose(W.grad, tW.grad.numpy(), rtol=TOL, atol=TOL)


# ------------------------------------------------------------------------------ refusals
def test_refusals_name_the_function_and_shapes() -> None:
    d = _data(20, 3)
    x, W, y, b = d["x"], d["W"], d["y"], d["b"]
    lce = F.linear_cross_entropy
    cases = [
        (ValueError, r"linear_cross_entropy: input must have shape \(in_features,\) or \(N, in_features\), "
                     r"got \(3, 1, 4\)", (x[:, None], W, y), {}),
        (ValueError, r"linear_cross_entropy: linear_weight must have shape .* got \(4,\)", (x, W[0], y), {}),
        (ValueError, r"input of shape \(3, 4\) and linear_weight of shape \(5, 3\) differ in in_features",
         (x, W[:, :3], y), {}),
        (ValueError, r"linear_cross_entropy: linear_bias must have shape \(5,\) .* got \(4,\)", (x, W, y),
         {"linear_bias": b[:4]}),
        (ValueError, r"linear_cross_entropy: the K-dimensional loss of linear_weight of shape \(5, 2, 4\) needs "
                     r"an input with a batch axis", (x[0], np.zeros((C, 2, IN)), np.zeros(2, np.int64)), {}),
        (ValueError, r"linear_cross_entropy: reduction must be 'mean', 'sum' or 'none', got 'avg'", (x, W, y),
         {"reduction": "avg"}),
        (ValueError, r"linear_cross_entropy: target of shape \(2,\) does not match input of shape \(3, 4\) and "
                     r"linear_weight of shape \(5, 4\)", (x, W, y[:2]), {}),
        (IndexError, r"linear_cross_entropy: label 5 is out of range for 5 classes", (x, W, np.array([0, 5, 1])),
         {}),
        (ValueError, r"linear_cross_entropy: ignore_index must be None when the target holds class probabilities",
         (x, W, np.full((3, C), 1.0 / C)), {"ignore_index": -100}),
        (TypeError, r"a target of the logits' shape \(3, 5\) holds class probabilities and must be float",
         (x, W, np.zeros((3, C), np.int64)), {}),
        (ValueError, r"linear_cross_entropy: weight must have one entry per class, shape \(5,\), got \(4,\)",
         (x, W, y), {"weight": np.ones(4)}),
        (ValueError, r"linear_cross_entropy: label_smoothing must be a number in \[0, 1\], got 1.5", (x, W, y),
         {"label_smoothing": 1.5}),
        (TypeError, r"linear_cross_entropy: ignore_index must be an int, got 1.5", (x, W, y),
         {"ignore_index": 1.5}),
    ]
    for exc, msg, args, kw in cases:
        with pytest.raises(exc, match=msg):
            lce(*args, **kw)


def test_module_refusals() -> None:
    with pytest.raises(ValueError, match=r"LinearCrossEntropyLoss: weight must have one entry per class, "
                                         r"shape \(5,\), got \(3,\)"):
        nn.LinearCrossEntropyLoss(IN, C, weight=np.ones(3))
    with pytest.raises(ValueError, match=r"LinearCrossEntropyLoss: reduction must be 'mean', 'sum' or 'none'"):
        nn.LinearCrossEntropyLoss(IN, C, reduction="batchmean")
    with pytest.raises(ValueError, match=r"LinearCrossEntropyLoss: out_features must be a tuple of ints >= 1"):
        nn.LinearCrossEntropyLoss(IN, C, out_features=(2, 0))
    with pytest.raises(ValueError, match=r"LinearCrossEntropyLoss: num_classes must be an int >= 1, got 0"):
        nn.LinearCrossEntropyLoss(IN, 0)
    with pytest.raises(ValueError, match=r"LinearCrossEntropyLoss: label_smoothing must be a number in \[0, 1\]"):
        nn.LinearCrossEntropyLoss(IN, C, label_smoothing=-0.1)
    m = nn.LinearCrossEntropyLoss(IN, C, bias=True, rng=2)
    before = {k: v.copy() for k, v in m.state_dict().items()}
    with pytest.raises(ValueError, match=r"linear_cross_entropy: input of shape \(2, 3\) and linear_weight of "
                                         r"shape \(5, 4\) differ in in_features"):
        m(np.ones((2, 3)), np.zeros(2, np.int64))
    assert all(np.array_equal(v, before[k]) for k, v in m.state_dict().items())
    assert tl.nn.functional.linear_cross_entropy is F.linear_cross_entropy
    assert "linear_cross_entropy" in F.__all__ and "LinearCrossEntropyLoss" in nn.__all__
