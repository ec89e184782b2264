"""Hostile input: every bad argument of a public function or constructor raises a clear
TypeError/ValueError naming the argument, and nothing is changed when it raises. Each case
is written with the input that used to slip through (or fail obscurely)."""

from __future__ import annotations

import copy
import io
import math
import pathlib
from typing import Any, Callable

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn, optim
from tinygrad_lite.data import DataLoader, accumulate_full_gradient
from tinygrad_lite.nn import functional as F
from tinygrad_lite.optim import lr_scheduler

NAN = float("nan")


def _x() -> tl.Tensor:
    return tl.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)


def _raises(call: Callable, exc: Any, match: str) -> None:
    with pytest.raises(exc, match=match):
        call()


# ------------------------------------------------------------------ Tensor and its methods
TENSOR_CASES = [
    (lambda: tl.Tensor([1j]), TypeError, "complex"),
    (lambda: tl.Tensor(["a"]), TypeError, "numeric"),
    (lambda: tl.Tensor([1.0], requires_grad=1), TypeError, "requires_grad"),
    (lambda: tl.Tensor([1.0], batched="yes"), TypeError, "batched"),
    (lambda: tl.Tensor([1.0], name=3), TypeError, "name"),
    (lambda: tl.Tensor([1.0], dtype="foo"), TypeError, "dtype"),
    (lambda: tl.tensor([1.0], dtype=str), TypeError, "dtype"),
    (lambda: _x().sum(axis=1.5), TypeError, "axis"),
    (lambda: _x().mean(axis=(0, 0)), ValueError, "repeated axis"),
    (lambda: _x().max(axis="0"), TypeError, "axis"),
    (lambda: _x().sum(keepdims="yes"), TypeError, "keepdims"),
    (lambda: _x().max(dim=0, keepdim="yes"), TypeError, "keepdims"),
    (lambda: _x().sum(axis=5), IndexError, "axis 5 is out of bounds"),
    (lambda: _x().reshape(-2), ValueError, "reshape.*-1"),
    (lambda: _x().reshape(-2, -3), ValueError, "reshape"),
    (lambda: _x().reshape(2.5), TypeError, "reshape.*ints"),
    (lambda: _x().reshape(7), ValueError, r"reshape.*\(2, 3\).*\(7,\)"),
    (lambda: _x().transpose(0, 0), ValueError, "permutation"),
    (lambda: _x().transpose(0, 2), IndexError, "transpose: axis 2"),
    (lambda: _x().transpose(0.0, 1), TypeError, "transpose: axes must be ints"),
    (lambda: _x().permute(1), ValueError, "permutation"),
    (lambda: _x()[1.5], IndexError, "getitem"),
    (lambda: _x()[0.5:1], TypeError, "getitem.*slice"),
    (lambda: _x()[np.array([True, False, True])], IndexError, r"boolean index of shape \(3,\)"),
    (lambda: _x()[[True, False, True]], IndexError, "boolean index"),
    (lambda: _x()[tl.Tensor([0.0])], IndexError, "integer or boolean"),
    (lambda: _x().softmax(axis=(0, 1)), TypeError, "softmax.*one int"),
    (lambda: _x().log_softmax(dim=2), IndexError, "log_softmax"),
    (lambda: _x().clip("a"), TypeError, "clip: min"),
    (lambda: _x().clip(None, np.zeros(4)), ValueError, r"clip: max of shape \(4,\)"),
    (lambda: _x().clip(), ValueError, "at least one of min and max"),
    (lambda: _x().astype("foo"), TypeError, "astype: dtype"),
    (lambda: _x().astype(object), TypeError, "astype: dtype"),
    (lambda: _x().astype(str), TypeError, "astype: dtype"),
    (lambda: _x().astype(complex), TypeError, "astype: dtype"),
    (lambda: _x().astype(None), TypeError, "astype: dtype"),
    (lambda: _x().unsqueeze(1.5), TypeError, "unsqueeze: axis"),
    (lambda: _x().squeeze(1.5), TypeError, "squeeze"),
    (lambda: _x().flatten(1.5), TypeError, "flatten"),
    (lambda: _x().size((0, 1)), TypeError, "size"),
    (lambda: _x().argmax((0, 1)), TypeError, "argmax"),
    (lambda: _x().max(dim=1.5), TypeError, "dim"),
    (lambda: _x() + "a", TypeError, "operand"),
    (lambda: "a" + _x(), TypeError, "operand"),
    (lambda: _x() * 1j, TypeError, "complex"),
    (lambda: _x() ** "a", TypeError, "operand"),
    (lambda: _x() + None, TypeError, "operand"),
    (lambda: _x() + [[1], [1, 2]], TypeError, "operand"),
    (lambda: _x() + [1.0, 2.0], ValueError, r"add.*\(2, 3\).*\(2,\)"),
    (lambda: _x() < "a", TypeError, "less"),
    (lambda: _x().eq(None), TypeError, "eq"),
    (lambda: _x().requires_grad_("yes"), TypeError, "requires_grad"),
    (lambda: _x().zero_grad(set_to_none="x"), TypeError, "set_to_none"),
    (lambda: tl.cat([_x(), _x()], 1.5), TypeError, "cat: axis"),
    (lambda: tl.cat([_x(), "a"]), TypeError, "operand"),
    (lambda: tl.cat([]), ValueError, "at least one"),
    (lambda: tl.cat(_x()), TypeError, "list or tuple"),
    (lambda: tl.stack([_x(), _x()], 1.5), TypeError, "stack: axis"),
    (lambda: tl.stack([_x(), _x()], 4), IndexError, "stack: axis 4"),
    (lambda: tl.stack([_x(), _x()[0]]), ValueError, "same shape"),
]


@pytest.mark.parametrize("call,exc,match", TENSOR_CASES)
def test_tensor_bad_arguments(call: Callable, exc: Any, match: str) -> None:
    _raises(call, exc, match)


def test_comparisons_with_none_and_strings_are_identity_not_elementwise() -> None:
    x = _x()
    assert (x == None) is False and (x != "a") is True  # noqa: E711


def test_clip_with_min_above_max_gives_max_and_no_gradient_as_torch() -> None:
    torch = pytest.importorskip("torch")
    x = _x()
    y = x.clip(3.0, 1.0)
    tx = torch.arange(6.0, dtype=torch.float64).reshape(2, 3).requires_grad_()
    ty = tx.clamp(3.0, 1.0)
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_array_equal(y.data, ty.detach().numpy())
    np.testing.assert_array_equal(x.grad, tx.grad.numpy())


def test_bad_data_assignment_changes_nothing() -> None:
    x = _x()
    old = x.data
    for bad in ("abc", None, np.array(["a", "b"]), np.ones(2, dtype=np.int64), np.ones(2) * 1j):
        with pytest.raises(TypeError, match="Tensor.data"):
            x.data = bad
        assert x.data is old
    y = tl.Tensor([1, 2])
    y.data = np.array([3, 4])  # no grad required: ints are fine
    assert y.data.tolist() == [3, 4]


@pytest.mark.parametrize("kwargs,exc,match", [
    ({"gradient": "a"}, TypeError, "gradient"),
    ({"gradient": {}}, TypeError, "gradient"),
    ({"gradient": np.ones(4)}, ValueError, r"gradient has shape \(4,\)"),
    ({"gradient": np.ones(4)}, RuntimeError, r"gradient has shape \(4,\)"),
    ({"per_sample": "x"}, ValueError, "per_sample"),
    ({"retain_graph": "yes"}, TypeError, "retain_graph"),
    ({"create_graph": "yes"}, TypeError, "create_graph"),
    ({"trace": 5}, TypeError, "trace"),
])
def test_backward_bad_arguments_change_no_gradient(kwargs: dict, exc: Any, match: str) -> None:
    w = tl.Tensor(np.ones(3), requires_grad=True)
    xb = tl.Tensor(np.ones((2, 3)), batched=True)
    y = xb * w
    with pytest.raises(exc, match=match):
        y.backward(**{"gradient": np.ones((2, 3)), **kwargs})
    assert w.grad is None and w.grad_sample is None


# ------------------------------------------------------------------ gradcheck
@pytest.mark.parametrize("kwargs,exc,match", [
    ({"eps": 0}, ValueError, "eps"),
    ({"eps": -1e-6}, ValueError, "eps"),
    ({"eps": NAN}, ValueError, "eps"),
    ({"eps": "a"}, TypeError, "eps"),
    ({"atol": -1}, ValueError, "atol"),
    ({"rtol": -1}, ValueError, "rtol"),
    ({"atol": NAN}, ValueError, "atol"),
    ({"rtol": None}, TypeError, "rtol"),
])
def test_gradcheck_tolerances(kwargs: dict, exc: Any, match: str) -> None:
    x = tl.Tensor(np.array([0.5, 2.0]), requires_grad=True)
    with pytest.raises(exc, match=match):
        tl.gradcheck(lambda t: (t * t).sum(), [x], **kwargs)
    assert x.grad is None and x.data.tolist() == [0.5, 2.0]


def test_gradcheck_fn_and_inputs() -> None:
    x = tl.Tensor(np.array([0.5, 2.0]), requires_grad=True)
    _raises(lambda: tl.gradcheck(3, [x]), TypeError, "fn must be callable")
    _raises(lambda: tl.gradcheck(lambda t: t.sum(), x), TypeError, "inputs must be a list or tuple")
    _raises(lambda: tl.gradcheck(lambda t: t.sum(), None), TypeError, "inputs")
    _raises(lambda: tl.gradcheck(lambda t: t.sum(), [np.ones(2)]), ValueError, "requires_grad")
    _raises(lambda: tl.gradcheck(lambda t: t * 2, [x]), ValueError, "one-element")
    assert tl.gradcheck(lambda t, c: (t * c).sum(), [x, np.ones(2)]) is True


def test_gradcheck_restores_its_input_when_fn_raises_at_a_perturbed_point() -> None:
    x = tl.Tensor(np.array([0.5, 2.0]), requires_grad=True)
    calls = [0]

    def fn(t: tl.Tensor) -> tl.Tensor:
        calls[0] += 1
        if calls[0] > 1:
            raise ArithmeticError("boom")
        return (t * t).sum()

    with pytest.raises(ArithmeticError):
        tl.gradcheck(fn, [x])
    assert x.data.tolist() == [0.5, 2.0] and x.grad is None


# ------------------------------------------------------------------ Value
@pytest.mark.parametrize("call,exc,match", [
    (lambda: tl.Value("a"), TypeError, "real number"),
    (lambda: tl.Value(True), TypeError, "bool"),
    (lambda: tl.Value(np.bool_(True)), TypeError, "bool"),
    (lambda: tl.Value([1.0]), TypeError, "real number"),
    (lambda: tl.Value(1j), TypeError, "real number"),
    (lambda: tl.Value(2.0, label=3), TypeError, "label"),
    (lambda: tl.Value(2.0) + "a", TypeError, "unsupported operand"),
    (lambda: "a" - tl.Value(2.0), TypeError, "unsupported operand"),
    (lambda: tl.Value(2.0) * None, TypeError, "unsupported operand"),
    (lambda: tl.Value(2.0) / "a", TypeError, "unsupported operand"),
    (lambda: tl.Value(2.0) ** "a", TypeError, "exponent"),
    (lambda: tl.Value(2.0) ** tl.Value(2.0), TypeError, "exponent"),
    (lambda: tl.Value(2.0) ** True, TypeError, "exponent"),
    (lambda: (tl.Value(2.0) * 3).backward(trace=3), TypeError, "trace"),
])
def test_value_bad_operands(call: Callable, exc: Any, match: str) -> None:
    _raises(call, exc, match)


def test_value_ops_never_raise_from_math() -> None:
    for x in (0.0, -0.0, -4.0, math.inf, -math.inf, NAN, 1e308, -1e308):
        v = tl.Value(x)
        outs = [v / 0.0, 1.0 / v, v ** -1, v ** 0.5, v ** -0.5, v ** 2.5, v.exp(), v.log(), v.tanh(), v.sigmoid(),
                v.relu(), (v * 1e308) * 10, v - v]
        for o in outs:
            o.backward()
            assert isinstance(o.data, float) and isinstance(v.grad, float)


# ------------------------------------------------------------------ nn: layers
LAYER_CASES = [
    (lambda: nn.Linear(0, 3), ValueError, "in_features"),
    (lambda: nn.Linear(2, -1), ValueError, "out_features"),
    (lambda: nn.Linear(2.5, 3), TypeError, "in_features"),
    (lambda: nn.Linear("2", 3), TypeError, "in_features"),
    (lambda: nn.Linear(None, 3), TypeError, "in_features"),
    (lambda: nn.Linear(True, 3), TypeError, "in_features"),
    (lambda: nn.Linear(2, 3, bias="no"), TypeError, "bias"),
    (lambda: nn.Linear(2, 3, dtype="foo"), TypeError, "dtype"),
    (lambda: nn.Linear(2, 3, dtype=np.int64), TypeError, "dtype"),
    (lambda: nn.Linear(2, 3, rng="x"), TypeError, "rng"),
    (lambda: nn.Conv2d(4, 4, 0), ValueError, "kernel_size"),
    (lambda: nn.Conv2d(4, 4, 2.5), ValueError, "kernel_size"),
    (lambda: nn.Conv2d(4, 4, (2,)), ValueError, "kernel_size"),
    (lambda: nn.Conv2d(4, 4, 3, stride=0), ValueError, "stride"),
    (lambda: nn.Conv2d(4, 4, 3, padding=-1), ValueError, "padding"),
    (lambda: nn.Conv2d(4, 4, 3, padding="foo"), ValueError, "padding"),
    (lambda: nn.Conv2d(4, 4, 3, padding="same", stride=2), ValueError, "same"),
    (lambda: nn.Conv2d(4, 4, 3, groups=0), ValueError, "groups"),
    (lambda: nn.Conv2d(4, 4, 3, groups=3), ValueError, "groups=3"),
    (lambda: nn.Conv2d(4, 4, 3, groups=2.0), ValueError, "groups"),
    (lambda: nn.Conv2d(4, 4, 3, dilation=0), ValueError, "dilation"),
    (lambda: nn.Conv2d(4, 4, 3, bias="no"), TypeError, "bias"),
    (lambda: nn.Conv1d(2, 2, (3, 3)), ValueError, "kernel_size"),
    (lambda: nn.MaxPool2d(0), ValueError, "kernel_size"),
    (lambda: nn.MaxPool2d(2.5), ValueError, "kernel_size"),
    (lambda: nn.MaxPool2d(2, stride=0), ValueError, "stride"),
    (lambda: nn.MaxPool2d(2, padding=2), ValueError, "padding"),
    (lambda: nn.AvgPool2d("a"), ValueError, "kernel_size"),
    (lambda: nn.AvgPool2d(2, count_include_pad="x"), TypeError, "count_include_pad"),
    (lambda: nn.Dropout(p=1.5), ValueError, "p must be"),
    (lambda: nn.Dropout(p=-0.1), ValueError, "p must be"),
    (lambda: nn.Dropout(p=NAN), ValueError, "p must be"),
    (lambda: nn.Dropout(p=True), TypeError, "p must be"),
    (lambda: nn.Dropout(p="0.5"), TypeError, "p must be"),
    (lambda: nn.Embedding(-1, 3), ValueError, "num_embeddings"),
    (lambda: nn.Embedding(3, 0), ValueError, "embedding_dim"),
    (lambda: nn.Embedding(3, 2, padding_idx=5), ValueError, "padding_idx"),
    (lambda: nn.Embedding(3, 2, padding_idx=1.5), TypeError, "padding_idx"),
    (lambda: nn.LayerNorm(0), ValueError, "normalized_shape"),
    (lambda: nn.LayerNorm(2.5), TypeError, "normalized_shape"),
    (lambda: nn.LayerNorm(None), TypeError, "normalized_shape"),
    (lambda: nn.LayerNorm([]), TypeError, "normalized_shape"),
    (lambda: nn.LayerNorm("a"), TypeError, "normalized_shape"),
    (lambda: nn.LayerNorm(3, eps=-1), ValueError, "eps"),
    (lambda: nn.LayerNorm(3, eps="a"), TypeError, "eps"),
    (lambda: nn.LayerNorm(3, elementwise_affine="no"), TypeError, "elementwise_affine"),
    (lambda: nn.GroupNorm(0, 4), ValueError, "num_groups"),
    (lambda: nn.GroupNorm(3, 4), ValueError, "num_groups=3"),
    (lambda: nn.GroupNorm(2, 4, eps=NAN), ValueError, "eps"),
    (lambda: nn.GroupNorm(2, 4, affine="x"), TypeError, "affine"),
    (lambda: nn.BatchNorm1d(0), ValueError, "num_features"),
    (lambda: nn.BatchNorm1d(3, momentum=2), ValueError, "momentum"),
    (lambda: nn.BatchNorm1d(3, momentum="a"), TypeError, "momentum"),
    (lambda: nn.BatchNorm2d(3, eps=-1e-5), ValueError, "eps"),
    (lambda: nn.BatchNorm2d(3, affine="x"), TypeError, "affine"),
    (lambda: nn.BatchNorm1d(3, track_running_stats=None), TypeError, "track_running_stats"),
    (lambda: nn.MultiheadAttention(5, 2), ValueError, "embed_dim=5.*num_heads=2"),
    (lambda: nn.MultiheadAttention(4, 0), ValueError, "num_heads"),
    (lambda: nn.MultiheadAttention(4, 2, dropout="a"), TypeError, "dropout"),
    (lambda: nn.MultiheadAttention(4, 2, batch_first="x"), TypeError, "batch_first"),
    (lambda: nn.GELU("x"), ValueError, "approximate"),
    (lambda: nn.Softmax(1.5), TypeError, "dim"),
    (lambda: nn.LogSoftmax((0, 1)), TypeError, "dim"),
    (lambda: nn.Flatten(1.5), TypeError, "start_dim"),
    (lambda: nn.Flatten(1, "a"), TypeError, "end_dim"),
    (lambda: nn.MSELoss("avg"), ValueError, "reduction"),
    (lambda: nn.CrossEntropyLoss(reduction=None), ValueError, "reduction"),
    (lambda: nn.Sequential(3), TypeError, "Module"),
    (lambda: nn.ModuleList(3), TypeError, "modules"),
    (lambda: nn.Linear(2, 2).train("x"), TypeError, "mode"),
]


@pytest.mark.parametrize("call,exc,match", LAYER_CASES)
def test_layer_constructors(call: Callable, exc: Any, match: str) -> None:
    _raises(call, exc, match)


FUNCTIONAL_CASES = [
    (lambda: F.mse_loss(tl.Tensor([1.0]), tl.Tensor([1.0]), "avg"), ValueError, "reduction"),
    (lambda: F.mse_loss(tl.Tensor([1.0]), tl.Tensor([1.0]), ["mean"]), ValueError, "reduction"),
    (lambda: F.cross_entropy(tl.Tensor([[1.0, 2.0]]), np.array([0]), "avg"), ValueError, "reduction"),
    (lambda: F.cross_entropy(tl.Tensor([[1.0, 2.0]]), np.array([0.0])), TypeError, "integer"),
    (lambda: F.cross_entropy(tl.Tensor([[1.0, 2.0]]), np.array([5])), IndexError, "label 5"),
    (lambda: F.mse_loss("a", tl.Tensor([1.0])), TypeError, "operand"),
    (lambda: F.linear(np.ones((2, 2)), "a"), TypeError, "operand"),
    (lambda: F.linear(np.ones((2, 2)), np.ones(2)), ValueError, "weight"),
    (lambda: F.linear(np.ones((2, 2)), np.ones((3, 2)), np.ones(2)), ValueError, "bias"),
    (lambda: F.layer_norm(np.ones((2, 2)), "a"), TypeError, "normalized_shape"),
    (lambda: F.layer_norm(np.ones((2, 2)), 2, eps=-1), ValueError, "eps"),
    (lambda: F.group_norm(np.ones((2, 4)), 2.5), TypeError, "num_groups"),
    (lambda: F.group_norm(np.ones((2, 4)), "a"), TypeError, "num_groups"),
    (lambda: F.dropout(tl.Tensor([1.0]), "a"), TypeError, "p must be"),
    (lambda: F.dropout(tl.Tensor([1.0]), NAN), ValueError, "p must be"),
    (lambda: F.dropout(tl.Tensor([1.0]), 0.5, training="y"), TypeError, "training"),
    (lambda: F.embedding(np.array([0]), np.ones((3, 2)), padding_idx="a"), TypeError, "padding_idx"),
    (lambda: F.scaled_dot_product_attention(*(np.ones((2, 2)),) * 3, scale="a"), TypeError, "scale"),
    (lambda: F.scaled_dot_product_attention(*(np.ones((2, 2)),) * 3, attn_mask=np.ones((3, 3), bool)), ValueError,
     "attn_mask"),
    (lambda: F.softmax(np.ones((2, 2)), "rows"), TypeError, "softmax"),
    (lambda: F.embedding(np.array([0]), np.ones(3)), ValueError, "weight"),
    (lambda: F.batch_norm(np.ones((4, 3)), np.zeros(3), np.ones(3), training=True, momentum="a"), TypeError,
     "momentum"),
    (lambda: F.avg_pool2d(np.ones((1, 1, 4, 4)), 2, count_include_pad="x"), TypeError, "count_include_pad"),
    (lambda: F.scaled_dot_product_attention(*(np.ones((2, 2)),) * 3, is_causal="x"), TypeError, "is_causal"),
    (lambda: F.scaled_dot_product_attention(*(np.ones((2, 2)),) * 3, dropout_p="a"), TypeError, "dropout_p"),
    (lambda: nn.MultiheadAttention(4, 2)(*(np.ones((1, 2, 4)),) * 3, need_weights="x"), TypeError, "need_weights"),
    (lambda: nn.MultiheadAttention(4, 2)(*(np.ones((1, 2, 4)),) * 3, is_causal="x"), TypeError, "is_causal"),
    (lambda: nn.utils.clip_grad_norm_(None, 1.0), TypeError, "parameters"),
    (lambda: nn.utils.clip_grad_norm_([3], 1.0), TypeError, "parameters"),
    (lambda: nn.utils.clip_grad_norm_([], "a"), TypeError, "max_norm"),
    (lambda: nn.utils.clip_grad_norm_([], NAN), ValueError, "max_norm"),
    (lambda: nn.utils.clip_grad_norm_([], 1.0, "a"), TypeError, "norm_type"),
    (lambda: nn.utils.clip_grad_norm_([], 1.0, float("nan")), ValueError, "norm_type"),
    (lambda: nn.utils.clip_grad_value_([], -1), ValueError, "clip_value"),
    (lambda: nn.utils.clip_grad_value_([], "a"), TypeError, "clip_value"),
]


@pytest.mark.parametrize("call,exc,match", FUNCTIONAL_CASES)
def test_functional_and_utils(call: Callable, exc: Any, match: str) -> None:
    _raises(call, exc, match)


def test_clip_grad_norm_with_a_bad_norm_type_changes_no_gradient() -> None:
    p = tl.Tensor(np.ones(3), requires_grad=True)
    p.grad = np.full(3, 10.0)
    with pytest.raises(ValueError, match="norm_type"):
        nn.utils.clip_grad_norm_([p], 1.0, float("nan"))
    assert p.grad.tolist() == [10.0] * 3


# ------------------------------------------------------------------ Module.load_state_dict
@pytest.mark.parametrize("bad,exc,match", [
    (None, TypeError, "dict"),
    ([1, 2], TypeError, "dict"),
    ("abc", TypeError, "dict"),
    ({"weight": "abc"}, ValueError, "'weight'.*non-numeric"),
    ({"weight": None}, ValueError, "'weight'"),
    ({"weight": np.ones((3, 2)) * 1j}, ValueError, "'weight'.*complex"),
    ({"weight": [[1.0], [1.0, 2.0]]}, ValueError, "'weight'"),
    ({"bias": np.zeros(4)}, ValueError, r"'bias' has shape \(4,\)"),
    ({"0.weight": np.zeros((3, 2))}, KeyError, "unexpected keys"),
])
def test_module_load_state_dict_all_or_nothing(bad: Any, exc: Any, match: str) -> None:
    m = nn.Linear(2, 3, rng=0)
    before = {k: v.copy() for k, v in m.state_dict().items()}
    state = {**before, "weight": np.zeros((3, 2))}  # a good new weight, loaded only if all is well
    if isinstance(bad, dict):
        state.update(bad)
    else:
        state = bad
    with pytest.raises(exc, match=match):
        m.load_state_dict(state)
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    with pytest.raises(TypeError, match="strict"):
        m.load_state_dict(before, strict="yes")


# ------------------------------------------------------------------ empty batches
def _empty_batched(*shape: int, dtype: Any = np.float64) -> tl.Tensor:
    return tl.Tensor(np.zeros((0, *shape), dtype=dtype), batched=True)


@pytest.mark.parametrize("name,build", [
    ("mse", lambda m, x: nn.mse_loss(m(x), _empty_batched(2))),
    ("mse sum", lambda m, x: nn.mse_loss(m(x), _empty_batched(2), reduction="sum")),
    ("cross_entropy", lambda m, x: nn.cross_entropy(m(x), _empty_batched(dtype=np.int64))),
    ("cross_entropy numpy labels", lambda m, x: nn.cross_entropy(m(x), np.zeros(0, np.int64))),
    ("mean", lambda m, x: m(x).mean()),
    ("mean of mean", lambda m, x: m(x).mean(axis=1).mean()),
    ("layer norm", lambda m, x: nn.LayerNorm(2)(m(x)).mean()),
    ("softmax", lambda m, x: (m(x).softmax(-1) * 2.0).mean()),
])
def test_a_mean_loss_over_an_empty_batch_is_zero_with_zero_gradients(name: str, build: Callable) -> None:
    m = nn.Linear(3, 2, rng=0)
    loss = build(m, _empty_batched(3))
    assert float(loss.data) == 0.0
    loss.backward()
    for p in m.parameters():
        assert p.grad is not None and not p.grad.any()
        assert p.grad_sample.shape == (0, *p.shape)
        assert p.grad_sample_norm.shape == (0,)


@pytest.mark.parametrize("layer,shape", [
    (lambda: nn.Conv2d(1, 2, 2, rng=0), (1, 3, 3)),
    (lambda: nn.Conv1d(1, 2, 2, rng=0), (1, 3)),
    (lambda: nn.GroupNorm(1, 2), (2, 3)),
    (lambda: nn.Embedding(3, 2, rng=0), None),
    (lambda: nn.MultiheadAttention(4, 2, rng=0), (3, 4)),
    (lambda: nn.BatchNorm1d(3).eval(), (3,)),
])
def test_every_layer_takes_an_empty_batch(layer: Callable, shape: Any) -> None:
    m = layer()
    if shape is None:
        out = m(_empty_batched(2, dtype=np.int64))
    elif isinstance(m, nn.MultiheadAttention):
        x = _empty_batched(*shape)
        out = m(x, x, x)[0]
    else:
        out = m(_empty_batched(*shape))
    loss = out.mean()
    assert float(loss.data) == 0.0
    loss.backward()
    for p in m.parameters():
        assert not p.grad.any() and p.grad_sample.shape == (0, *p.shape)


def test_a_mean_over_an_empty_unbatched_input_is_nan_as_torch_without_warning(recwarn: Any) -> None:
    torch = pytest.importorskip("torch")
    m = nn.Linear(3, 2, rng=0)
    for loss, want in ((nn.mse_loss(m(np.zeros((0, 3))), np.zeros((0, 2))),
                        torch.nn.functional.mse_loss(torch.zeros(0, 2), torch.zeros(0, 2))),
                       (m(np.zeros((0, 3))).mean(), torch.zeros(0, 2).mean()),
                       (nn.cross_entropy(m(np.zeros((0, 3))), np.zeros(0, np.int64)),
                        torch.nn.functional.cross_entropy(torch.zeros(0, 2), torch.zeros(0, dtype=torch.long)))):
        assert math.isnan(float(loss.data)) and math.isnan(float(want))
        m.zero_grad()
        loss.backward()
        assert all(not p.grad.any() for p in m.parameters())
    assert not [w for w in recwarn.list if issubclass(w.category, RuntimeWarning)]


def test_data_loader_poisson_empty_batch_trains_without_zero_division() -> None:
    X, y = np.ones((4, 3)), np.ones((4, 1))
    model = nn.Linear(3, 1, rng=0)
    opt = optim.SGD(model.parameters(), lr=0.1)
    dl = DataLoader(X, y, batch_size=1, sampling="poisson", seed=3)
    sizes = []
    for _ in range(10):
        for xb, yb in dl:
            sizes.append(len(xb))
            opt.zero_grad()
            nn.mse_loss(model(xb), yb).backward()
            opt.step()
    assert 0 in sizes and np.isfinite(model.weight.data).all()


# ------------------------------------------------------------------ optimizers
def _w(n: int = 3) -> tl.Tensor:
    return tl.Tensor(np.ones(n), requires_grad=True)


OPTIM_CASES = [
    (lambda: optim.SGD([_w()], lr="0.1"), TypeError, "lr"),
    (lambda: optim.SGD([_w()], lr=-1), ValueError, "lr"),
    (lambda: optim.SGD([_w()], lr=NAN), ValueError, "lr"),
    (lambda: optim.SGD([_w()], lr=math.inf), ValueError, "lr"),
    (lambda: optim.SGD([_w()], lr=None), TypeError, "lr"),
    (lambda: optim.SGD([_w()], lr=0.1, momentum=-1), ValueError, "momentum"),
    (lambda: optim.SGD([_w()], lr=0.1, weight_decay=NAN), ValueError, "weight_decay"),
    (lambda: optim.SGD([_w()], lr=0.1, nesterov="y"), TypeError, "nesterov"),
    (lambda: optim.SGD([_w() * 2], lr=0.1), ValueError, "leaf"),
    (lambda: optim.SGD(_w(), lr=0.1), TypeError, "wrap it in a list"),
    (lambda: optim.SGD([], lr=0.1), ValueError, "empty"),
    (lambda: optim.SGD(None, lr=0.1), TypeError, "params"),
    (lambda: optim.SGD([1, 2], lr=0.1), TypeError, "Tensors"),
    (lambda: optim.SGD([{"params": None}], lr=0.1), TypeError, "params"),
    (lambda: optim.SGD([{"params": [_w()]}, {"params": [_w(2)], "lr": "x"}], lr=0.1), TypeError, "lr"),
    (lambda: optim.SGD([{"params": [_w()]}, {"params": [_w(2)], "momentum": -1}], lr=0.1), ValueError, "momentum"),
    (lambda: optim.Adam([_w()], betas=0.9), TypeError, "betas"),
    (lambda: optim.Adam([_w()], betas=(0.9, 1.5)), ValueError, "beta"),
    (lambda: optim.Adam([_w()], betas=("a", 0.9)), TypeError, "beta"),
    (lambda: optim.Adam([_w()], eps=-1), ValueError, "eps"),
    (lambda: optim.AdamW([_w()], weight_decay=-1), ValueError, "weight_decay"),
    (lambda: optim.RMSprop([_w()], alpha=-1), ValueError, "alpha"),
    (lambda: optim.RMSprop([_w()], centered="x"), TypeError, "centered"),
    (lambda: optim.Adagrad([_w()], lr_decay=-1), ValueError, "lr_decay"),
    (lambda: optim.Adagrad([_w()], initial_accumulator_value=NAN), ValueError, "initial_accumulator_value"),
]


@pytest.mark.parametrize("call,exc,match", OPTIM_CASES)
def test_optimizer_constructors(call: Callable, exc: Any, match: str) -> None:
    _raises(call, exc, match)


def test_add_param_group_with_a_bad_lr_adds_nothing() -> None:
    opt = optim.SGD([_w()], lr=0.1)
    with pytest.raises(ValueError, match="lr"):
        opt.add_param_group({"params": [_w(2)], "lr": -1.0})
    assert len(opt.param_groups) == 1


@pytest.mark.parametrize("make", [lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9), lambda ps: optim.Adam(ps, lr=0.1),
                                  lambda ps: optim.RMSprop(ps, momentum=0.5), lambda ps: optim.Adagrad(ps)])
@pytest.mark.parametrize("spoil,exc,match", [
    (lambda opt, b: opt.param_groups[1].__setitem__("lr", -5.0), ValueError, "lr"),
    (lambda opt, b: opt.param_groups[1].__setitem__("lr", "x"), TypeError, "lr"),
])
def test_a_failing_step_changes_nothing(make: Callable, spoil: Callable, exc: Any, match: str) -> None:
    a, b = _w(3), _w(2)
    opt = make([{"params": [a]}, {"params": [b]}])
    a.grad, b.grad = np.full(3, 0.5), np.full(2, -0.5)
    opt.step()
    before = (a.data.copy(), b.data.copy(), copy.deepcopy(opt.state_dict()))
    spoil(opt, b)
    with pytest.raises(exc, match=match):
        opt.step()
    np.testing.assert_array_equal(a.data, before[0])
    np.testing.assert_array_equal(b.data, before[1])
    after = opt.state_dict()
    for k, buffers in before[2]["state"].items():
        for name, v in buffers.items():
            np.testing.assert_array_equal(after["state"][k][name], v)


@pytest.mark.parametrize("bad,exc,match", [
    (np.ones(5), ValueError, r"shape \(5,\)"),
    (np.ones((2, 1)), ValueError, r"shape \(2, 1\)"),
    ([1.0, 2.0], TypeError, "numpy array.*list"),
    ("ab", TypeError, "numpy array.*str"),
    (np.array(["a", "b"]), TypeError, "numeric"),
])
def test_a_bad_gradient_is_refused_when_assigned(bad: Any, exc: Any, match: str) -> None:
    """As torch: assigning ``.grad`` of another shape or a non-array raises at once, and the
    old gradient stays; an array of another dtype is cast to the tensor's."""
    b = _w(2)
    b.grad = np.full(2, -0.5)
    with pytest.raises(exc, match=match):
        b.grad = bad
    np.testing.assert_array_equal(b.grad, np.full(2, -0.5))
    b.grad = np.array([1, 2])
    assert b.grad.dtype == b.dtype and b.grad.tolist() == [1.0, 2.0]
    b.grad = None
    assert b.grad is None


@pytest.mark.parametrize("spoil,exc,match", [
    (lambda s: s["state"][1].__setitem__("exp_avg", np.zeros(7)), ValueError, "exp_avg"),
    (lambda s: s["state"][1].__setitem__("exp_avg", np.array(1.0)), ValueError, "exp_avg"),
    (lambda s: s["state"][1].__setitem__("exp_avg", "x"), ValueError, "exp_avg"),
    (lambda s: s["state"][1].__setitem__("exp_avg", None), ValueError, "exp_avg"),
    (lambda s: s["state"][1].__setitem__("exp_avg", 3.0), ValueError, "exp_avg"),
    (lambda s: s["state"][1].__setitem__("exp_avg", [1.0, 2.0]), ValueError, "exp_avg"),
    (lambda s: s["state"][1].__setitem__("step", "x"), ValueError, "step"),
    (lambda s: s["state"][1].__setitem__("step", 1.5), ValueError, "step"),
    (lambda s: s["state"][1].__setitem__("step", -1), ValueError, "step"),
    (lambda s: s["state"][1].pop("exp_avg_sq"), ValueError, "exp_avg_sq"),
    (lambda s: s["state"][1].__setitem__("momentum", np.zeros(2)), ValueError, "momentum"),
    (lambda s: s["param_groups"][1].__setitem__("lr", "x"), TypeError, "lr"),
    (lambda s: s["param_groups"][1].__setitem__("betas", (0.9, 2.0)), ValueError, "beta"),
    (lambda s: s.pop("state"), ValueError, "state"),
    (lambda s: s["param_groups"].pop(), ValueError, "group"),
])
def test_a_malformed_optimizer_state_loads_nothing(spoil: Callable, exc: Any, match: str) -> None:
    a, b = _w(3), _w(2)
    opt = optim.Adam([{"params": [a]}, {"params": [b], "lr": 0.01}], lr=0.1)
    a.grad, b.grad = np.full(3, 0.5), np.full(2, -0.5)
    opt.step()
    good = opt.state_dict()
    opt.step()
    before = copy.deepcopy(opt.state_dict())
    bad = copy.deepcopy(good)
    spoil(bad)
    with pytest.raises(exc, match=match):
        opt.load_state_dict(bad)
    after = opt.state_dict()
    assert after["param_groups"] == before["param_groups"]
    for k, buffers in before["state"].items():
        assert after["state"][k].keys() == buffers.keys()
        for name, v in buffers.items():
            np.testing.assert_array_equal(after["state"][k][name], v)
    opt.load_state_dict(good)  # the good state still loads, and steps
    opt.step()
    _raises(lambda: opt.load_state_dict(None), ValueError, "state_dict")


def test_loaded_sgd_momentum_buffer_may_be_none_as_torch_saves_it() -> None:
    w = _w()
    opt = optim.SGD([w], lr=0.1, momentum=0.9)
    groups = opt.state_dict()["param_groups"]
    opt.load_state_dict({"state": {0: {"momentum_buffer": None}}, "param_groups": groups})
    w.grad = np.ones(3)
    opt.step()
    np.testing.assert_allclose(w.data, 0.9)
    _raises(lambda: opt.load_state_dict({"state": {0: {"momentum_buffer": np.ones(2)}},
                                         "param_groups": opt.state_dict()["param_groups"]}),
            ValueError, "momentum_buffer")


# ------------------------------------------------------------------ schedulers
SCHED_CASES = [
    (lambda o: lr_scheduler.StepLR(o, 1, gamma=-1), ValueError, "gamma"),
    (lambda o: lr_scheduler.StepLR(o, 1, gamma=NAN), ValueError, "gamma"),
    (lambda o: lr_scheduler.StepLR(o, 1, gamma="a"), TypeError, "gamma"),
    (lambda o: lr_scheduler.StepLR(o, 0), ValueError, "step_size"),
    (lambda o: lr_scheduler.StepLR(o, 1.5), TypeError, "step_size"),
    (lambda o: lr_scheduler.StepLR(None, 1), TypeError, "Optimizer"),
    (lambda o: lr_scheduler.ExponentialLR(o, 0), ValueError, "gamma"),
    (lambda o: lr_scheduler.CosineAnnealingLR(o, 0), ValueError, "T_max"),
    (lambda o: lr_scheduler.CosineAnnealingLR(o, "3"), TypeError, "T_max"),
    (lambda o: lr_scheduler.CosineAnnealingLR(o, 3, eta_min=-1), ValueError, "eta_min"),
]


@pytest.mark.parametrize("call,exc,match", SCHED_CASES)
def test_scheduler_constructors_leave_the_optimizer_alone(call: Callable, exc: Any, match: str) -> None:
    opt = optim.SGD([_w()], lr=0.1)
    with pytest.raises(exc, match=match):
        call(opt)
    assert opt.param_groups[0]["lr"] == 0.1 and "initial_lr" not in opt.param_groups[0]


def test_numpy_ints_are_ints_for_schedulers() -> None:
    opt = optim.SGD([_w()], lr=0.1)
    s = lr_scheduler.StepLR(opt, np.int64(2), gamma=0.5)
    s.step()
    s.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.05)


@pytest.mark.parametrize("bad,exc,match", [
    (None, TypeError, "dict"),
    ({"gamma": "x"}, TypeError, "gamma"),
    ({"gamma": -1.0}, ValueError, "gamma"),
    ({"last_epoch": "x"}, TypeError, "last_epoch"),
    ({"last_epoch": -3}, ValueError, "last_epoch"),
    ({"step_size": 0}, ValueError, "step_size"),
    ({"base_lrs": [1.0, 2.0, 3.0]}, ValueError, "base_lrs"),
    ({"_last_lr": ["a"]}, TypeError, "_last_lr"),
    ({"foo": 1}, ValueError, "unknown"),
    ({"gamma": 0.5, "step_size": -1}, ValueError, "step_size"),
])
def test_scheduler_load_state_dict_all_or_nothing(bad: Any, exc: Any, match: str) -> None:
    opt = optim.SGD([_w()], lr=0.1)
    s = lr_scheduler.StepLR(opt, 2)
    s.step()
    before = s.state_dict()
    with pytest.raises(exc, match=match):
        s.load_state_dict(bad)
    assert s.state_dict() == before
    s.step()  # still works


# ------------------------------------------------------------------ DataLoader
X10, Y10 = np.arange(30.0).reshape(10, 3), np.arange(10.0)


@pytest.mark.parametrize("kwargs,exc,match", [
    ({"batch_size": 0}, ValueError, "batch_size"),
    ({"batch_size": 2.5}, ValueError, "batch_size"),
    ({"batch_size": "2"}, ValueError, "batch_size"),
    ({"shuffle": "yes"}, TypeError, "shuffle"),
    ({"drop_last": 1}, TypeError, "drop_last"),
    ({"y": Y10[:5]}, ValueError, "len"),
    ({"X": X10[:0], "y": Y10[:0]}, ValueError, "empty"),
    ({"seed": "x"}, TypeError, "seed"),
    ({"seed": -1}, ValueError, "seed"),
    ({"seed": 1.5}, TypeError, "seed"),
    ({"sampling": "foo"}, ValueError, "sampling"),
    ({"shard": (2, 2), "seed": 0}, ValueError, "rank"),
    ({"shard": "a"}, TypeError, "shard"),
    ({"shard": (0, 0)}, ValueError, "world_size"),
    ({"shard": (0, 2)}, ValueError, "seed"),
    ({"X": np.array(["a"] * 10)}, TypeError, "X must hold numbers"),
    ({"X": [object()] * 10}, TypeError, "X must hold numbers"),
    ({"X": [[1.0], [1.0, 2.0]], "y": [1.0, 2.0]}, TypeError, "X must be an array"),
    ({"y": None}, TypeError, "y"),
])
def test_dataloader_arguments(kwargs: dict, exc: Any, match: str) -> None:
    args = {"X": X10, "y": Y10, **kwargs}
    with pytest.raises(exc, match=match):
        DataLoader(**args)


def test_accumulate_full_gradient_arguments() -> None:
    m = nn.Linear(3, 1, rng=0)
    dl = DataLoader(X10, Y10[:, None], batch_size=4, seed=0)
    _raises(lambda: accumulate_full_gradient(m, 3, dl), TypeError, "loss_fn")
    _raises(lambda: accumulate_full_gradient(m, nn.mse_loss, None), TypeError, "loader")
    _raises(lambda: accumulate_full_gradient(None, nn.mse_loss, dl), TypeError, "model_or_params")
    _raises(lambda: accumulate_full_gradient(m, nn.mse_loss, dl, reduction="avg"), ValueError, "reduction")
    assert m.weight.grad is None


# ------------------------------------------------------------------ checkpoints
def test_save_and_load_bad_paths_and_objects(tmp_path: pathlib.Path) -> None:
    target = tmp_path / "c.npz"
    tl.save({"a": np.ones(2)}, target)
    good = target.read_bytes()
    _raises(lambda: tl.save({"a": 1}, 3), TypeError, "path")
    _raises(lambda: tl.save({"a": 1}, None), TypeError, "path")
    _raises(lambda: tl.save({1, 2}, target), TypeError, "set")
    _raises(lambda: tl.save({"a": 1}, target, compress="y"), TypeError, "compress")
    _raises(lambda: tl.save(nn.Linear(2, 2), target), TypeError, "Linear")
    _raises(lambda: tl.save({"a": 1}, tmp_path), ValueError, "directory")
    assert target.read_bytes() == good
    _raises(lambda: tl.load(3), TypeError, "path")
    _raises(lambda: tl.load(None), TypeError, "path")
    _raises(lambda: tl.load(tmp_path), ValueError, "directory")
    _raises(lambda: tl.load(tmp_path / "missing.npz"), FileNotFoundError, "missing")
    np.testing.assert_array_equal(tl.load(target)["a"], np.ones(2))


# ------------------------------------------------------------------ viz
def _root() -> tl.Tensor:
    return (tl.Tensor(np.ones(3), requires_grad=True) * 2).sum()


@pytest.mark.parametrize("call,exc,match", [
    (lambda: tl.viz.draw_graph(3), TypeError, "Tensor or a Value"),
    (lambda: tl.viz.draw_graph(None), TypeError, "Tensor or a Value"),
    (lambda: tl.viz.draw_graph(np.ones(3)), TypeError, "Tensor or a Value"),
    (lambda: tl.viz.draw_graph(ValueError("x")), TypeError, "operands"),
    (lambda: tl.viz.draw_graph(_root(), show_data="x"), TypeError, "show_data"),
    (lambda: tl.viz.draw_graph(_root(), show_grad=None), TypeError, "show_grad"),
    (lambda: tl.viz.draw_graph(_root(), max_nodes=0), ValueError, "max_nodes"),
    (lambda: tl.viz.draw_graph(_root(), max_nodes="a"), TypeError, "max_nodes"),
    (lambda: tl.viz.draw_graph(_root(), rankdir="XX"), ValueError, "rankdir"),
    (lambda: tl.viz.draw_graph(_root(), module=3), TypeError, "module"),
    (lambda: tl.viz.trace_backward(3), TypeError, "Tensor or a Value"),
    (lambda: tl.viz.trace_backward(_root(), file=3), TypeError, "file"),
    (lambda: tl.viz.trace_backward(_root(), file=io.StringIO(), max_steps=-1), ValueError, "max_steps"),
    (lambda: tl.viz.trace_backward(_root(), file=io.StringIO(), max_steps="a"), TypeError, "max_steps"),
    (lambda: tl.viz.explore(3), TypeError, "root"),
    (lambda: tl.viz.explore(_root(), module="x"), TypeError, "module"),
    (lambda: tl.viz.explore(_root() * np.ones(2), gradient="a"), TypeError, "gradient"),
])
def test_viz_arguments(call: Callable, exc: Any, match: str) -> None:
    pytest.importorskip("graphviz")
    _raises(call, exc, match)


def test_viz_save_with_a_bad_format_or_path_writes_nothing(tmp_path: pathlib.Path) -> None:
    pytest.importorskip("graphviz")
    r = _root()
    _raises(lambda: tl.viz.save(r, tmp_path / "a", format="foo"), ValueError, "format")
    _raises(lambda: tl.viz.save(r, tmp_path / "a", format=3), TypeError, "format")
    _raises(lambda: tl.viz.save(r, 3), TypeError, "path")
    _raises(lambda: tl.viz.save(r, None), TypeError, "path")
    _raises(lambda: tl.viz.save(r, tmp_path), ValueError, "directory")
    _raises(lambda: tl.viz.explore(r).save(tmp_path), ValueError, "directory")
    assert list(tmp_path.iterdir()) == []
    assert r.grad is None  # drawing and failing ran no backward


# ------------------------------------------------------------------ privacy and distributed (spot checks)
def test_privacy_spot_checks() -> None:
    pytest.importorskip("dp_accounting")  # (the [privacy] extra)
    from tinygrad_lite import privacy
    _raises(lambda: privacy.Accountant("x"), ValueError, "kind")
    acc = privacy.Accountant()
    _raises(lambda: acc.step(-1, 0.1), ValueError, "noise_multiplier")
    _raises(lambda: acc.step("a", 0.1), TypeError, "noise_multiplier")
    _raises(lambda: acc.step(1.0, 1.5), ValueError, "sample_rate")
    _raises(lambda: acc.step(1.0, 0.1, num_steps=0), ValueError, "num_steps")
    _raises(lambda: acc.get_epsilon(0), ValueError, "delta")
    _raises(lambda: acc.load_state_dict(None), TypeError, "dict")
    assert acc.history == []
    _raises(lambda: privacy.get_noise_multiplier(-1, 1e-5, 0.01, steps=10), ValueError, "target_epsilon")
    _raises(lambda: privacy.get_noise_multiplier(1, 1e-5, 0.01), ValueError, "steps and epochs")
    w = _w()
    _raises(lambda: optim.DPSGD([w], lr=0.1, max_grad_norm=-1, noise_multiplier=1), ValueError, "max_grad_norm")
    _raises(lambda: optim.DPSGD([w], lr=0.1, max_grad_norm=1, noise_multiplier=NAN), ValueError,
            "noise_multiplier")
    _raises(lambda: optim.DPSGD([w], lr="a", max_grad_norm=1, noise_multiplier=1), TypeError, "lr")


def test_distributed_spot_checks_without_a_launcher() -> None:
    from tinygrad_lite import distributed as dist
    dist.init()
    w = _w()
    _raises(lambda: dist.broadcast_parameters(3), TypeError, "params_or_module")
    _raises(lambda: dist.broadcast_parameters([w], root=5), ValueError, "root")
    _raises(lambda: dist.all_reduce_gradients(None), TypeError, "params_or_module")
    _raises(lambda: dist.all_reduce_gradients([w], n=-1), ValueError, "n must be")
    _raises(lambda: dist.allreduce_sum("a"), TypeError, "numeric")
    assert w.data.tolist() == [1.0] * 3 and w.grad is None


# ------------------------------------------------------------------ in-place changes and grad mode
@pytest.mark.parametrize("change", [
    lambda w, opt: setattr(w, "data", w.data * 2),
    lambda w, opt: setattr(w, "data", w.data),  # any assignment counts, as torch's version counter
    lambda w, opt: opt.step(),
])
def test_backward_after_an_in_place_change_raises_and_changes_nothing(change: Callable) -> None:
    w = tl.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    other = tl.Tensor(np.array([3.0, 4.0]), requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    loss = (w * w * other).sum()
    w.grad = np.ones(2)
    change(w, opt)
    before = w.data.copy()
    with pytest.raises(RuntimeError, match="changed in place"):
        loss.backward()
    assert other.grad is None and w.grad.tolist() == [1.0, 1.0] and np.array_equal(w.data, before)
    w.zero_grad()
    (w * w * other).sum().backward()  # a fresh forward pass works
    np.testing.assert_array_equal(w.grad, 2 * w.data * other.data)


def test_no_grad_in_one_thread_leaves_another_recording() -> None:
    import threading

    w = tl.Tensor(np.ones(2), requires_grad=True)
    inside, entered, done = [], threading.Event(), threading.Event()

    def worker() -> None:
        with tl.no_grad():
            entered.set()
            done.wait(5)
            inside.append((w * 2).requires_grad)

    t = threading.Thread(target=worker)
    t.start()
    entered.wait(5)
    outside = (w * 2).requires_grad
    done.set()
    t.join(5)
    assert outside is True and inside == [False] and tl.is_grad_enabled()


@pytest.mark.parametrize("call,exc,match", [
    (lambda: tl.no_grad(3), TypeError, "no_grad"),
    (lambda: tl.no_grad()(3), TypeError, "decorates a function"),
    (lambda: tl.enable_grad(False), TypeError, "enable_grad"),
    (lambda: tl.set_grad_enabled("yes"), TypeError, "mode"),
    (lambda: tl.per_sample_norms(None), TypeError, "params"),
    (lambda: tl.per_sample_norms([3]), TypeError, "Tensors"),
    (lambda: tl.per_sample_norms(nn.Linear(2, 2)), TypeError, "parameters()"),
    (lambda: _x().sum().backward(gradient=np.array(1j)), TypeError, "gradient"),
])
def test_grad_mode_and_per_sample_helpers(call: Callable, exc: Any, match: str) -> None:
    _raises(call, exc, match)
    assert tl.is_grad_enabled()


@pytest.mark.parametrize("kwargs,match", [({"weight": np.ones(5)}, "weight"), ({"bias": np.ones(2)}, "bias"),
                                          ({"weight": "a"}, "operand")])
def test_batch_norm_with_a_bad_affine_leaves_the_running_statistics(kwargs: dict, match: str) -> None:
    rm, rv = np.zeros(3), np.ones(3)
    x = np.random.default_rng(0).normal(size=(4, 3))
    with pytest.raises((TypeError, ValueError), match=match):
        F.batch_norm(x, rm, rv, training=True, **kwargs)
    assert rm.tolist() == [0.0] * 3 and rv.tolist() == [1.0] * 3


def test_a_scheduler_step_that_fails_keeps_its_epoch() -> None:
    class Broken(lr_scheduler.LRScheduler):
        def get_lr(self) -> list:
            return [0.1] if self.last_epoch == 0 else [0.5, 0.5]  # later: one lr too many

    opt = optim.SGD([_w()], lr=0.1)
    s = Broken(opt)
    with pytest.raises(ValueError, match="parameter groups"):
        s.step()
    assert s.last_epoch == 0 and opt.param_groups[0]["lr"] == 0.1
    with pytest.raises(ValueError, match="parameter groups"):  # one too many from the start
        Broken.get_lr = lambda self: [0.5, 0.5]
        Broken(opt)
    assert opt.param_groups[0]["lr"] == 0.1


@pytest.mark.parametrize("key,value", [("batch_size", np.array([3, 3])), ("format", np.array(["a", "b"])),
                                       ("shuffle", np.zeros(2))])
def test_loader_state_with_array_entries_is_refused_naming_the_entry(key: str, value: Any) -> None:
    loader = tl.data.DataLoader(np.ones((10, 2)), np.ones(10), batch_size=3, seed=0)
    state = loader.state_dict()
    next(iter(loader))
    before = loader.state_dict()
    state[key] = value
    with pytest.raises(ValueError, match=key if key != "format" else "not a DataLoader state"):
        loader.load_state_dict(state)
    after = loader.state_dict()
    assert after["batch"] == before["batch"] and after["epoch"] == before["epoch"]
