"""PyTorch spellings that must mean what they mean in torch (or raise): integer and bool
reductions, dtype promotion with integer operands, NaN extrema, 0-d tensors, in-place
arithmetic, ``set_grad_enabled`` as a function, grad modes on generators, ``.grad``
assignment, and the scalar engine's numeric types. Compared with torch when installed."""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import pytest

import tinygrad_lite as tl

try:
    import torch
except ImportError:  # the oracle comparisons skip; the direct checks still run
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


@pytest.mark.parametrize("values,dtype", [([0, 5, 3], np.uint8), ([-2 ** 63, 1], np.int64), ([-128, 3], np.int8),
                                          ([True, False], np.bool_), ([2.5, -1.0], np.float32)])
def test_min_and_max_of_every_dtype_are_the_elements(values: list, dtype: Any) -> None:
    a = np.array(values, dtype=dtype)
    t = tl.tensor(a)
    assert t.min().item() == a.min() and t.max().item() == a.max()
    assert t.min().dtype == a.dtype
    mn = t.min(dim=0)
    assert mn.values.item() == a.min() and mn.indices.item() == int(np.argmin(a))
    if torch is not None:
        assert t.min().item() == torch.tensor(a).min().item()


@pytest.mark.parametrize("reduce", ["max", "min"])
def test_a_nan_extremum_sends_the_gradient_to_the_nan(reduce: str) -> None:
    a = tl.tensor([1.0, np.nan, 3.0, np.nan], requires_grad=True)
    with np.errstate(all="raise"):  # no warning either
        getattr(a, reduce)().backward()
    np.testing.assert_array_equal(a.grad, [0.0, 0.5, 0.0, 0.5])
    if torch is not None:
        ta = torch.tensor([1.0, np.nan, 3.0, np.nan], requires_grad=True)
        getattr(ta, reduce)().backward()
        np.testing.assert_array_equal(a.grad, ta.grad.numpy())


def test_min_dim_gradient_goes_to_the_returned_index_and_an_empty_axis_only_fails_when_reduced() -> None:
    a = tl.tensor([[1.0, 2.0, 2.0], [0.0, 0.0, 5.0]], requires_grad=True)
    a.min(dim=1).values.sum().backward()  # torch: the whole cotangent to the index returned, ties too
    np.testing.assert_array_equal(a.grad, [[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    b = tl.tensor([[1.0, 2.0, 2.0], [0.0, 0.0, 5.0]], requires_grad=True)
    b.min(axis=1).sum().backward()  # numpy's spelling (values only): ties share it, as torch's amin
    np.testing.assert_array_equal(b.grad, [[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]])
    assert tl.tensor(np.zeros((0, 3))).max(axis=1).shape == (0,)
    assert tl.tensor(np.zeros((0, 3))).min(dim=1).values.shape == (0,)
    with pytest.raises(ValueError, match="min: cannot reduce an empty axis"):
        tl.tensor(np.zeros((0, 3))).min(axis=0)


@pytest.mark.parametrize("make", [
    lambda x: x * np.int64(2), lambda x: x / np.sum(np.array([1, 1, 0])), lambda x: x + np.array(1.0),
    lambda x: x * np.arange(3), lambda x: x * tl.tensor([1, 2, 3]), lambda x: np.arange(3) - x,
    lambda x: x ** np.arange(3), lambda x: x * np.array([True, False, True]),
])
def test_float32_stays_float32_with_integer_operands_and_0d_arrays(make: Callable) -> None:
    x = tl.tensor(np.array([1.0, 2.0, 3.0], np.float32), requires_grad=True)
    y = make(x)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32


def test_promotion_follows_torch_between_dimensioned_tensors() -> None:
    f32, f64 = np.ones(2, np.float32), np.ones(2)
    assert (tl.tensor(f32) + tl.tensor(f64)).dtype == np.float64  # both have axes: the wider float
    assert (tl.tensor([1, 2]) + tl.tensor([True, False])).dtype == np.int64
    assert (tl.tensor(np.array([1], np.uint8)) + tl.tensor(np.int8(3))).dtype == np.uint8
    if torch is not None:
        for a, b in [(f32, np.arange(2)), (f32, np.array(1.0)), (np.arange(2), np.array(1.5))]:
            want = (torch.tensor(a) + torch.tensor(b)).dtype
            assert str(want).replace("torch.", "") == str((tl.tensor(a) + tl.tensor(b)).dtype)


def test_zero_d_tensors_take_axis_0_and_minus_1_and_refuse_iteration() -> None:
    t = tl.tensor(3.0)
    assert t.argmax(0).item() == 0 and t.sum(-1).item() == 3.0 and t.log_softmax(-1).item() == 0.0
    assert t.max(dim=0).values.item() == 3.0 and t.max(dim=0).indices.item() == 0
    with pytest.raises(IndexError, match="0-d"):
        t.size(0)
    with pytest.raises(TypeError, match="0-d"):
        list(t)
    assert [r.tolist() for r in tl.tensor([[1.0, 2.0], [3.0, 4.0]])] == [[1.0, 2.0], [3.0, 4.0]]
    assert tl.tensor(np.arange(4.0).reshape(2, 2)).sum(dim=()).item() == 6.0  # torch: every axis


def test_in_place_arithmetic_updates_the_data_as_torch() -> None:
    w = tl.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    alias = w
    with tl.no_grad():
        w -= 0.1 * w.grad  # the manual update of a parameter
    assert w is alias and w.is_leaf and w.requires_grad
    np.testing.assert_allclose(w.data, [0.8, 1.6])
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        w += 1
    np.testing.assert_allclose(w.data, [0.8, 1.6])
    t = tl.tensor([1, 2])
    view = t
    t += 1
    assert view.tolist() == [2, 3]
    with pytest.raises(TypeError, match="float64 cannot be stored in place in a tensor of dtype int64"):
        t += 1.5
    with pytest.raises(ValueError, match=r"shape \(2, 2\)"):
        t += np.ones((2, 2), np.int64)
    assert t.tolist() == [2, 3]
    z = w * 2
    z += 1  # a value inside a graph: a new node, gradients flow as for z = z + 1
    z.sum().backward()
    assert z.op == "add"


def test_a_graph_refuses_backward_after_its_input_changed_in_place() -> None:
    w = tl.tensor([1.0, 2.0], requires_grad=True)
    x = tl.tensor([3.0, 4.0])
    y = (w * x).sum()
    x *= 2
    with pytest.raises(RuntimeError, match="changed"):
        y.backward()


def test_set_grad_enabled_as_a_function_a_block_and_a_decorator() -> None:
    x = tl.tensor([1.0], requires_grad=True)
    try:
        tl.set_grad_enabled(False)
        assert not tl.is_grad_enabled() and not (x * 2).requires_grad
    finally:
        tl.set_grad_enabled(True)
    assert tl.is_grad_enabled()
    with tl.set_grad_enabled(False):
        assert not tl.is_grad_enabled()
    assert tl.is_grad_enabled()

    @tl.set_grad_enabled(False)
    def f() -> bool:
        return tl.is_grad_enabled()

    assert tl.is_grad_enabled() and f() is False and tl.is_grad_enabled()


def test_no_grad_on_a_generator_holds_while_its_body_runs() -> None:
    @tl.no_grad()
    def gen() -> Any:
        got = yield tl.is_grad_enabled()
        try:
            yield got, tl.is_grad_enabled()
        except ValueError:
            yield "caught", tl.is_grad_enabled()

    it = gen()
    assert next(it) is False and tl.is_grad_enabled()
    assert it.send(7) == (7, False) and tl.is_grad_enabled()
    assert it.throw(ValueError()) == ("caught", False)
    with pytest.raises(StopIteration):
        next(it)


def test_requires_grad_set_by_hand_on_integers_is_refused() -> None:
    i = tl.tensor([1, 2, 3])
    with pytest.raises(TypeError, match="only floating-point tensors can require gradients"):
        i.requires_grad = True  # (as torch: at the assignment)
    assert i.requires_grad is False
    i._rg = True  # past the setter: backward still refuses an integer leaf that requires grad
    with pytest.raises(TypeError, match="only floating-point tensors can require gradients"):
        (i * 2.0).sum().backward()
    assert i.grad is None


def test_errors_name_the_real_problem_and_clip_promotes_like_torch() -> None:
    with pytest.raises(ValueError, match="Integers to negative integer powers"):
        tl.tensor([2]) ** -1  # (a Python-number exponent, as torch; a tensor one truncates, as torch)
    assert (tl.tensor([2, 1, -1]) ** tl.tensor([-1, -1, -1])).tolist() == [0, 1, -1]
    c = tl.tensor([0, 1, 2]).clamp(0.5)
    assert c.dtype.kind == "f" and c.tolist() == [0.5, 1.0, 2.0]
    assert tl.tensor([0, 1, 2]).clamp(1).tolist() == [1, 1, 2]


def test_value_takes_numpy_exponents_and_refuses_strings() -> None:
    a = tl.Value(2.0)
    assert (a ** np.int64(3)).data == 8.0
    with pytest.raises(TypeError, match="real number"):
        tl.Value("3")


def test_frozen_parameters_stay_parameters_and_stay_in_the_state_dict() -> None:
    m = tl.nn.Sequential(tl.nn.Linear(3, 4, rng=0), tl.nn.ReLU(), tl.nn.Linear(4, 2, rng=1))
    m[0].weight.requires_grad_(False)
    m[0].bias.requires_grad_(False)
    keys = ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert list(m.state_dict()) == keys and [n for n, _ in m.named_parameters()] == keys
    assert len(m.parameters()) == 4
    opt = tl.optim.SGD(m.parameters(), lr=0.1)  # accepted, as torch; the frozen ones have no grad
    frozen = m[0].weight.data.copy()
    tl.nn.mse_loss(m(tl.Tensor(np.ones((2, 3)))), tl.Tensor(np.zeros((2, 2)))).backward()
    opt.step()
    assert m[0].weight.grad is None
    np.testing.assert_array_equal(m[0].weight.data, frozen)
    if torch is not None:
        tm = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
        tm[0].requires_grad_(False)
        assert list(tm.state_dict()) == keys
        m.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
        np.testing.assert_array_equal(m[0].weight.data, tm[0].weight.detach().numpy())


class _TiedHead(tl.nn.Module):
    def __init__(self) -> None:
        self.emb = tl.nn.Embedding(5, 3, rng=0)
        self.head = tl.nn.Linear(3, 5, bias=False, rng=1)
        self.head.weight = self.emb.weight


def test_tied_weights_are_listed_under_both_names_and_a_tied_torch_state_dict_loads() -> None:
    m = _TiedHead()
    assert list(m.state_dict()) == ["emb.weight", "head.weight"]
    assert [n for n, _ in m.named_parameters()] == ["emb.weight"]
    if torch is not None:
        class T(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.emb = torch.nn.Embedding(5, 3)
                self.head = torch.nn.Linear(3, 5, bias=False)
                self.head.weight = self.emb.weight

        t = T()
        assert list(t.state_dict()) == list(m.state_dict())
        m.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})
        np.testing.assert_array_equal(m.head.weight.data, t.emb.weight.detach().numpy())


def test_load_state_dict_returns_the_keys_it_did_not_match() -> None:
    m = tl.nn.Linear(2, 2, rng=0)
    res = m.load_state_dict({"weight": np.zeros((2, 2)), "extra": np.ones(1)}, strict=False)
    assert res.missing_keys == ["bias"] and res.unexpected_keys == ["extra"]
    missing, unexpected = m.load_state_dict(m.state_dict())
    assert missing == [] and unexpected == []


def test_attention_over_a_query_with_no_allowed_key_is_zero_not_nan() -> None:
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((2, 3, 4)) for _ in range(3))
    mask = np.ones((3, 3), bool)
    mask[1] = False
    Q, K, V = (tl.Tensor(a, requires_grad=True) for a in (q, k, v))
    out = tl.nn.functional.scaled_dot_product_attention(Q, K, V, attn_mask=mask)
    out.sum().backward()
    np.testing.assert_array_equal(out.data[:, 1], 0.0)
    assert all(np.isfinite(t.grad).all() for t in (Q, K, V))
    if torch is not None:
        tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
        to = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, attn_mask=torch.tensor(mask))
        to.sum().backward()
        np.testing.assert_allclose(out.data, to.detach().numpy(), atol=1e-12)
        for mine, ref in ((Q, tq), (K, tk), (V, tv)):
            np.testing.assert_allclose(mine.grad, ref.grad.numpy(), atol=1e-12)
    with pytest.raises(ValueError, match="dropout_p must be in"):
        tl.nn.functional.scaled_dot_product_attention(Q, K, V, dropout_p=-0.1)


def test_small_argument_checks_and_nan_norm_clipping_as_torch() -> None:
    with pytest.raises(ValueError, match="padding_idx 7 is out of range"):
        tl.nn.functional.embedding(np.array([0, 1]), tl.Tensor(np.ones((4, 2))), padding_idx=7)
    p = tl.Tensor(np.ones(2), requires_grad=True)
    p.grad = np.array([np.nan, 1.0])
    total = tl.nn.utils.clip_grad_norm_([p], 1.0)
    assert np.isnan(total) and np.isnan(p.grad).all()  # torch: a nan norm makes the gradients nan


def test_sequential_names_children_as_torch_also_in_slices() -> None:
    from collections import OrderedDict

    m = tl.nn.Sequential(tl.nn.Linear(3, 4, rng=0), tl.nn.ReLU(), tl.nn.Linear(4, 2, rng=1))
    assert list(m[1:].state_dict()) == ["2.weight", "2.bias"]
    assert list(m[::2].state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    named = tl.nn.Sequential(OrderedDict([("fc1", tl.nn.Linear(2, 3, rng=0)), ("act", tl.nn.Tanh()),
                                          ("fc2", tl.nn.Linear(3, 1, rng=1))]))
    assert list(named.state_dict()) == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert named.fc1 is named[0] and len(named.parameters()) == 4
    ml = tl.nn.ModuleList([tl.nn.Linear(1, 1), tl.nn.Linear(1, 1), tl.nn.Linear(1, 1)])
    assert list(ml[1:].state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]  # renumbered, as torch
    if torch is not None:
        tm = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
        assert list(tm[1:].state_dict()) == list(m[1:].state_dict())
        tn = torch.nn.Sequential(OrderedDict([("fc1", torch.nn.Linear(2, 3)), ("act", torch.nn.Tanh()),
                                              ("fc2", torch.nn.Linear(3, 1))]))
        named.load_state_dict({k: v.detach().numpy() for k, v in tn.state_dict().items()})
        x = np.random.default_rng(0).standard_normal((4, 2))
        np.testing.assert_allclose(named(tl.Tensor(x)).data, tn(torch.tensor(x, dtype=torch.float32)).detach().numpy(),
                                   rtol=1e-5, atol=1e-6)


def test_transpose_of_two_axes_on_a_matrix_is_refused_and_swapaxes_swaps() -> None:
    t = tl.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    with pytest.raises(ValueError, match="swapaxes"):
        t.transpose(0, 1)
    assert t.transpose((0, 1)).shape == (2, 3)  # a tuple is numpy's spelling: the identity
    assert t.transpose(1, 0).shape == t.T.shape == t.swapaxes(0, 1).shape == t.swapdims(1, 0).shape == (3, 2)
    with pytest.raises(ValueError, match="not a permutation.*one axis per dimension"):
        t.permute()
    x = tl.Tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    (x.swapaxes(0, 2) * np.arange(24.0).reshape(4, 3, 2)).sum().backward()
    np.testing.assert_array_equal(x.grad, np.arange(24.0).reshape(4, 3, 2).swapaxes(0, 2))
    if torch is not None:
        np.testing.assert_array_equal(t.swapaxes(0, 1).data, torch.tensor(t.data).transpose(0, 1).numpy())
    with pytest.raises(IndexError):
        tl.Tensor(1.0).flatten(5, 7)


def test_functional_batch_norm_checks_everything_before_it_updates_the_statistics() -> None:
    F = tl.nn.functional
    x = tl.Tensor(np.random.default_rng(0).random((3, 4)))
    rm = np.zeros(4)
    for bad in (dict(running_var=np.ones(4, np.int64)), dict(momentum=float("nan")), dict(momentum=5.0),
                dict(training="no"), dict(num_batches_tracked=5)):
        args = dict(running_mean=rm, running_var=np.ones(4), training=True)
        args.update(bad)
        with pytest.raises((TypeError, ValueError), match="BatchNorm"):
            F.batch_norm(x, **args)
        np.testing.assert_array_equal(rm, np.zeros(4))
    nbt = tl.Tensor(np.array(0, np.int64))
    F.batch_norm(x, rm, np.ones(4), training=True, momentum=None, num_batches_tracked=nbt)
    assert nbt.item() == 1
    np.testing.assert_allclose(rm, x.data.mean(axis=0))


def test_norm_affine_parameters_must_have_the_normalized_shape() -> None:
    F = tl.nn.functional
    x = tl.Tensor(np.ones((3, 4)))
    with pytest.raises(ValueError, match=r"layer_norm: weight of shape \(3,\)"):
        F.layer_norm(x, (4,), weight=tl.Tensor(np.ones(3)))
    with pytest.raises(ValueError, match="layer_norm: weight of shape"):
        F.layer_norm(x, (4,), weight=2.0)
    with pytest.raises(ValueError, match="at least one axis"):
        F.layer_norm(x, [])
    with pytest.raises(ValueError, match=r"group_norm: bias of shape \(3,\)"):
        F.group_norm(tl.Tensor(np.ones((2, 4, 3))), 2, bias=np.ones(3))


def test_an_empty_index_list_selects_nothing_as_numpy() -> None:
    t = tl.Tensor(np.ones((2, 3)), requires_grad=True)
    assert t[[]].shape == (0, 3)
    t[[]].sum().backward()
    np.testing.assert_array_equal(t.grad, np.zeros((2, 3)))


def test_an_empty_batch_through_a_raw_matmul_gives_empty_per_sample_gradients() -> None:
    W = tl.Tensor(np.ones((3, 4), np.float32), requires_grad=True)
    x = tl.Tensor(np.zeros((0, 4), np.float32), batched=True)
    tl.nn.functional.cross_entropy(x @ W.T, np.zeros(0, int)).backward()
    assert W.grad_sample.shape == (0, 3, 4)
    np.testing.assert_array_equal(W.grad, np.zeros((3, 4)))


def test_explorer_and_pictures_take_huge_values_and_entity_like_names() -> None:
    big = tl.Tensor([1e200, 1e200], requires_grad=True)
    html = tl.viz.explore((big * 1.0).sum()).html()  # sum is 2e200: finite, its square is not
    assert "2e+200" in html
    assert "byName = Object.create(null)" in html  # a search for "constructor" finds no inherited property
    x = tl.Tensor([1.0], requires_grad=True, name="&lt;b&gt; a&b")
    src = tl.viz.draw_graph((x * 2).sum()).source
    assert "&amp;lt;b&amp;gt; a&amp;b" in src


@pytest.mark.parametrize("which", ["max", "min"])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_max_min_along_a_dim_route_the_gradient_as_torch_ties_and_nan_included(which: str, keepdim: bool,
                                                                                dim: int) -> None:
    torch = pytest.importorskip("torch")
    a = np.array([[[0.0, 0.0, 3.0], [2.0, 2.0, 2.0]], [[np.nan, 1.0, 1.0], [-1.0, 4.0, 4.0]]])
    got, want = [], []
    for lib, out in ((tl, got), (torch, want)):
        x = lib.tensor(a, requires_grad=True)
        r = getattr(x, which)(dim=dim, keepdim=keepdim)
        shape = tuple(r.values.shape)
        w = lib.tensor(np.arange(1.0, 1.0 + math.prod(shape)).reshape(shape))  # a distinct cotangent each
        (r.values * w).sum().backward()
        out += [np.asarray(r.values.detach().numpy()), np.asarray(r.indices.numpy()), np.asarray(x.grad)]
    for mine, ref in zip(got, want):
        np.testing.assert_array_equal(mine, ref)
