"""Tests of tinygrad_lite.nn: Module bookkeeping, state dicts, Linear, activations and losses.

The behaviour expected is the one a PyTorch user knows. Where torch is importable it is
the oracle (float64 throughout); those tests skip cleanly without it.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import Tensor, nn

# ----------------------------------------------------------------------------- helpers


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _snapshot(model: nn.Module) -> dict[str, np.ndarray]:
    return {k: p.data.copy() for k, p in model.named_parameters()}


def _assert_unchanged(model: nn.Module, before: dict[str, np.ndarray]) -> None:
    now = dict(model.named_parameters())
    assert list(now) == list(before)
    for k, arr in before.items():
        assert now[k].data.dtype == arr.dtype, k
        np.testing.assert_array_equal(now[k].data, arr, err_msg=k)


class MLP(nn.Module):
    """Layers held in a plain list attribute, plus a scalar parameter and a frozen tensor."""

    def __init__(self, seed: int = 0) -> None:
        r = _rng(seed)
        self.layers = [nn.Linear(3, 4, rng=r), nn.ReLU(), nn.Linear(4, 2, rng=r)]
        self.scale = Tensor(np.array(1.5), requires_grad=True)
        self.frozen = Tensor(np.ones(2))  # not a parameter: no requires_grad

    def forward(self, x: Any) -> Tensor:
        for layer in self.layers:
            x = layer(x)
        return x * self.scale + self.frozen


class Blocks(nn.Module):
    """Children held in a dict and in a tuple."""

    def __init__(self) -> None:
        self.blocks = {"enc": nn.Linear(3, 2, rng=1), "dec": nn.Linear(2, 3, rng=2)}
        self.pair = (nn.Tanh(), nn.Linear(3, 1, rng=3))

    def forward(self, x: Any) -> Tensor:
        h = self.blocks["dec"](self.blocks["enc"](x))
        return self.pair[1](self.pair[0](h))


class Tied(nn.Module):
    """One Linear reached through two attributes, and one tensor shared by two layers."""

    def __init__(self) -> None:
        self.a = nn.Linear(2, 2, rng=0)
        self.b = self.a
        self.c = nn.Linear(2, 2, rng=1)
        self.c.weight = self.a.weight

    def forward(self, x: Any) -> Tensor:
        return self.c(self.b(self.a(x)))


# ----------------------------------------------------------------------------- Module: traversal


def test_sequential_named_parameters_use_indices() -> None:
    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.ReLU(), nn.Linear(4, 2, rng=1))
    names = [n for n, _ in model.named_parameters()]
    assert names == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert [p.shape for _, p in model.named_parameters()] == [(4, 3), (4,), (2, 4), (2,)]


def test_custom_module_finds_list_members_and_tensor_attributes() -> None:
    model = MLP()
    named = dict(model.named_parameters())
    assert set(named) == {"layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias", "scale"}
    assert named["layers.2.bias"] is model.layers[2].bias
    assert named["scale"] is model.scale
    assert all(p is not model.frozen for p in model.parameters())


def test_custom_module_finds_dict_and_tuple_members() -> None:
    model = Blocks()
    names = [n for n, _ in model.named_parameters()]
    assert sorted(names) == sorted(["blocks.enc.weight", "blocks.enc.bias", "blocks.dec.weight",
                                    "blocks.dec.bias", "pair.1.weight", "pair.1.bias"])
    assert dict(model.named_parameters())["blocks.enc.weight"] is model.blocks["enc"].weight


def test_parameters_order_matches_named_parameters() -> None:
    for model in (MLP(), Blocks(), Tied(), nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))):
        params = model.parameters()
        named = [p for _, p in model.named_parameters()]
        assert len(params) == len(named)
        assert all(a is b for a, b in zip(params, named))


def test_shared_module_and_shared_parameter_appear_once() -> None:
    model = Tied()
    params = model.parameters()
    assert len(params) == len({id(p) for p in params})
    # a.weight (= c.weight), a.bias, c.bias
    assert len(params) == 3
    names = [n for n, _ in model.named_parameters()]
    assert names[:2] == ["a.weight", "a.bias"]
    assert "c.bias" in names
    assert len([m for m in model.modules() if m is model.a]) == 1
    # the state dict lists every name, as torch's (so a tied torch model's state dict loads)
    assert list(model.state_dict()) == ["a.weight", "a.bias", "b.weight", "b.bias", "c.weight", "c.bias"]
    assert [n for n, _ in nn.Sequential(nn.Linear(2, 2), nn.Tanh()).named_parameters()] == ["0.weight", "0.bias"]

    shared = nn.Linear(2, 2, rng=0)
    seq = nn.Sequential(shared, nn.Tanh(), shared)
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias"]


def test_named_modules_and_children() -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Sequential(nn.Linear(4, 4), nn.Tanh()))
    names = [n for n, _ in model.named_modules()]
    assert names == ["", "0", "1", "2", "2.0", "2.1"]
    mods = dict(model.named_modules())
    assert mods[""] is model and mods["2.1"] is model[2][1]
    assert [n for n, _ in model.named_children()] == ["0", "1", "2"]
    assert list(model.children()) == [model[0], model[1], model[2]]

    custom = MLP()
    assert [n for n, _ in custom.named_children()] == ["layers.0", "layers.1", "layers.2"]
    assert isinstance(dict(custom.named_modules())["layers.1"], nn.ReLU)


def test_zero_grad_clears_grad_and_grad_sample() -> None:
    model = nn.Sequential(nn.Linear(3, 2, rng=0), nn.Tanh(), nn.Linear(2, 1, rng=1))
    x = Tensor(_rng(1).standard_normal((5, 3)), batched=True)
    y = Tensor(_rng(2).standard_normal((5, 1)), batched=True)
    nn.mse_loss(model(x), y).backward()
    for p in model.parameters():
        assert p.grad is not None and p.grad_sample is not None
        assert p.grad_sample.shape == (5,) + p.shape
    model.zero_grad()
    for p in model.parameters():
        assert p.grad is None and p.grad_sample is None
    # a new batch of another size is fine after zero_grad
    x3 = Tensor(_rng(3).standard_normal((3, 3)), batched=True)
    nn.mse_loss(model(x3), Tensor(np.zeros((3, 1)), batched=True)).backward()
    assert all(p.grad_sample.shape[0] == 3 for p in model.parameters())


def test_train_and_eval_are_recursive() -> None:
    inner = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    model = nn.Sequential(nn.Linear(2, 2), inner)
    custom = Blocks()
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    assert not inner[1].training
    model.train()
    assert all(m.training for m in model.modules())
    model.train(False)
    assert not inner[0].training
    custom.eval()
    assert not custom.blocks["dec"].training and not custom.pair[0].training


def test_call_runs_forward() -> None:
    class Twice(nn.Module):
        def forward(self, x: Any, k: int = 2) -> Any:
            return x * k

    out = Twice()(Tensor([1.0, 2.0]), k=3)
    np.testing.assert_array_equal(out.data, [3.0, 6.0])
    with pytest.raises(NotImplementedError):
        nn.Module()(Tensor([1.0]))


def test_repr_shows_structure() -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1, bias=False))
    text = repr(model)
    assert text.startswith("Sequential(")
    assert "(0): Linear(in_features=3, out_features=4, bias=True)" in text
    assert "(1): ReLU()" in text
    assert "(2): Linear(in_features=4, out_features=1, bias=False)" in text
    assert text.index("(0)") < text.index("(1)") < text.index("(2)")


# ----------------------------------------------------------------------------- state_dict


def test_state_dict_returns_copies() -> None:
    model = MLP()
    sd = model.state_dict()
    assert list(sd) == [n for n, _ in model.named_parameters()]
    before = _snapshot(model)
    for k, arr in sd.items():
        assert isinstance(arr, np.ndarray)
        np.testing.assert_array_equal(arr, before[k])
        arr += 100.0
    _assert_unchanged(model, before)


def test_load_state_dict_missing_key_changes_nothing() -> None:
    model, other = MLP(0), MLP(1)
    before = _snapshot(model)
    sd = other.state_dict()
    del sd["layers.2.bias"]  # the last entry: everything before it is loadable
    with pytest.raises(KeyError, match="layers.2.bias"):
        model.load_state_dict(sd)
    _assert_unchanged(model, before)


def test_a_norm_layers_counter_may_be_missing_as_in_torch() -> None:
    """torch loads a state dict without ``num_batches_tracked`` (older checkpoints): the counter keeps
    its value and is not reported missing; any other missing buffer still raises."""
    model = tl.nn.Sequential(tl.nn.Linear(3, 4), tl.nn.BatchNorm1d(4))
    model.train()
    model(tl.Tensor(np.random.default_rng(0).standard_normal((5, 3))))
    sd = {k: v + 1.0 if v.dtype.kind == "f" else v for k, v in model.state_dict().items()}
    del sd["1.num_batches_tracked"]
    result = model.load_state_dict(sd)
    assert list(result.missing_keys) == [] and list(result.unexpected_keys) == []
    assert int(model[1].num_batches_tracked.data) == 1
    np.testing.assert_array_equal(model[1].running_mean.data, sd["1.running_mean"])
    del sd["1.running_var"]
    with pytest.raises(KeyError, match="1.running_var"):
        model.load_state_dict(sd)


def test_load_state_dict_extra_key_changes_nothing() -> None:
    model, other = MLP(0), MLP(1)
    before = _snapshot(model)
    sd = other.state_dict()
    sd["layers.9.weight"] = np.zeros((2, 2))
    with pytest.raises(KeyError, match="layers.9.weight"):
        model.load_state_dict(sd)
    _assert_unchanged(model, before)


def test_load_state_dict_wrong_shape_names_key_and_shapes_and_changes_nothing() -> None:
    model, other = MLP(0), MLP(1)
    before = _snapshot(model)
    sd = other.state_dict()
    sd["layers.2.weight"] = np.zeros((4, 2))  # transposed; entries before it are fine
    with pytest.raises(ValueError) as info:
        model.load_state_dict(sd)
    msg = str(info.value)
    assert "layers.2.weight" in msg and "(4, 2)" in msg and "(2, 4)" in msg
    _assert_unchanged(model, before)


def test_load_state_dict_copies_and_keeps_dtype() -> None:
    model = nn.Sequential(nn.Linear(3, 2, rng=0, dtype=np.float32))
    src = {"0.weight": np.arange(6, dtype=np.float64).reshape(2, 3) / 7, "0.bias": np.array([1.0, -2.0])}
    model.load_state_dict(src)
    assert model[0].weight.dtype == np.float32 and model[0].bias.dtype == np.float32
    np.testing.assert_allclose(model[0].weight.data, src["0.weight"], rtol=1e-6)
    src["0.weight"][:] = 99.0
    src["0.bias"][:] = 99.0
    assert not np.any(model[0].weight.data == 99.0) and not np.any(model[0].bias.data == 99.0)

    # same dtype: still a copy, not the caller's array
    m64 = nn.Linear(3, 2, rng=0)
    w = np.ones((2, 3))
    m64.load_state_dict({"weight": w, "bias": np.zeros(2)})
    w[0, 0] = 5.0
    assert m64.weight.data[0, 0] == 1.0


def test_state_dict_round_trip_between_models() -> None:
    a, b = MLP(0), MLP(1)
    x = _rng(5).standard_normal((4, 3))
    assert not np.allclose(a(x).data, b(x).data)
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(a(x).data, b(x).data)


def test_load_torch_state_dict_gives_torch_outputs(torch: Any) -> None:
    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2)).double()
    model = nn.Sequential(nn.Linear(3, 5, rng=9), nn.Tanh(), nn.Linear(5, 2, rng=9))
    sd = {k: v.detach().numpy() for k, v in tm.state_dict().items()}
    assert list(sd) == list(model.state_dict())
    model.load_state_dict(sd)
    x = _rng(6).standard_normal((7, 3))
    expect = tm(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(model(x).data, expect, rtol=1e-13, atol=1e-14)


# ----------------------------------------------------------------------------- Linear


@pytest.mark.parametrize("shape", [(3,), (5, 3), (2, 4, 3)])
def test_linear_forward_is_x_at_weight_t_plus_bias(shape: tuple) -> None:
    layer = nn.Linear(3, 4, rng=0)
    assert layer.weight.shape == (4, 3) and layer.bias.shape == (4,)
    x = _rng(1).standard_normal(shape)
    out = layer(Tensor(x))
    assert out.shape == shape[:-1] + (4,)
    np.testing.assert_allclose(out.data, x @ layer.weight.data.T + layer.bias.data, rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(layer(x).data, out.data)  # a plain array works too


def test_linear_init_matches_the_default_distribution() -> None:
    fan_in = 400
    layer = nn.Linear(fan_in, 500, rng=0)
    bound = 1 / np.sqrt(fan_in)
    w = layer.weight.data.ravel()
    assert np.all(np.abs(w) <= bound) and np.all(np.abs(layer.bias.data) <= bound)
    # a uniform law on [-bound, bound]: mean 0, std bound / sqrt(3), flat histogram
    assert abs(w.mean()) < 0.01 * bound
    assert w.std() == pytest.approx(bound / np.sqrt(3), rel=0.01)
    counts, _ = np.histogram(w, bins=10, range=(-bound, bound))
    assert np.all(np.abs(counts / w.size - 0.1) < 0.005)
    assert w.max() > 0.99 * bound and w.min() < -0.99 * bound  # fills the whole interval
    small = nn.Linear(7, 3, rng=1)
    assert np.all(np.abs(small.weight.data) <= 1 / np.sqrt(7))


def test_linear_rng_is_reproducible() -> None:
    a, b, c = nn.Linear(6, 5, rng=42), nn.Linear(6, 5, rng=42), nn.Linear(6, 5, rng=43)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    np.testing.assert_array_equal(a.bias.data, b.bias.data)
    assert not np.allclose(a.weight.data, c.weight.data)
    g1 = nn.Linear(6, 5, rng=np.random.default_rng(7))
    g2 = nn.Linear(6, 5, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(g1.weight.data, g2.weight.data)
    # one generator shared by two layers gives them different weights
    gen = np.random.default_rng(7)
    l1, l2 = nn.Linear(6, 5, rng=gen), nn.Linear(6, 5, rng=gen)
    assert not np.allclose(l1.weight.data, l2.weight.data)


def test_linear_without_bias() -> None:
    layer = nn.Linear(3, 2, bias=False, rng=0)
    assert layer.bias is None
    assert [n for n, _ in layer.named_parameters()] == ["weight"]
    assert list(layer.state_dict()) == ["weight"]
    x = _rng(2).standard_normal((4, 3))
    np.testing.assert_allclose(layer(x).data, x @ layer.weight.data.T, rtol=1e-14)


def test_linear_wrong_width_names_linear_and_shapes() -> None:
    layer = nn.Linear(3, 2, rng=0)
    with pytest.raises(ValueError) as info:
        layer(Tensor(np.zeros((4, 5))))
    msg = str(info.value)
    assert "Linear" in msg and "(4, 5)" in msg and "3" in msg
    with pytest.raises(ValueError, match="Linear"):
        layer(Tensor(np.array(1.0)))


@pytest.mark.parametrize("shape", [(3,), (5, 3), (2, 4, 3)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_gradients_match_torch(torch: Any, shape: tuple, bias: bool) -> None:
    r = _rng(3)
    layer = nn.Linear(3, 4, bias=bias, rng=0)
    x_np = r.standard_normal(shape)
    seed = r.standard_normal(shape[:-1] + (4,))
    x = Tensor(x_np, requires_grad=True)
    out = layer(x)
    out.backward(seed)

    tl_layer = torch.nn.Linear(3, 4, bias=bias).double()
    with torch.no_grad():
        tl_layer.weight.copy_(torch.from_numpy(layer.weight.data))
        if bias:
            tl_layer.bias.copy_(torch.from_numpy(layer.bias.data))
    tx = torch.from_numpy(x_np).requires_grad_(True)
    tout = tl_layer(tx)
    tout.backward(torch.from_numpy(seed))
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(layer.weight.grad, tl_layer.weight.grad.numpy(), rtol=1e-12, atol=1e-14)
    if bias:
        np.testing.assert_allclose(layer.bias.grad, tl_layer.bias.grad.numpy(), rtol=1e-12, atol=1e-14)


# ----------------------------------------------------------------------------- activations, Sequential

_ACTS = {
    "ReLU": (nn.ReLU, lambda a: np.maximum(a, 0.0), lambda a: (a > 0).astype(float)),
    "Tanh": (nn.Tanh, np.tanh, lambda a: 1 - np.tanh(a) ** 2),
    "Sigmoid": (nn.Sigmoid, lambda a: 1 / (1 + np.exp(-a)),
                lambda a: np.exp(-a) / (1 + np.exp(-a)) ** 2),
}


@pytest.mark.parametrize("name", list(_ACTS))
def test_activation_values_and_gradients(name: str) -> None:
    cls, f, df = _ACTS[name]
    a = np.array([[-3.0, -0.5, 0.25], [0.75, 2.0, -1.25]])
    x = Tensor(a, requires_grad=True)
    out = cls()(x)
    np.testing.assert_allclose(out.data, f(a), rtol=1e-14)
    w = _rng(0).standard_normal(a.shape)
    out.backward(w)
    np.testing.assert_allclose(x.grad, w * df(a), rtol=1e-12)
    assert repr(cls()) == f"{name}()"


def test_sequential_forward_and_gradients_match_torch(torch: Any) -> None:
    model = nn.Sequential(nn.Linear(3, 6, rng=0), nn.Tanh(), nn.Linear(6, 5, rng=1), nn.ReLU(),
                          nn.Linear(5, 4, rng=2), nn.Sigmoid())
    tm = torch.nn.Sequential(torch.nn.Linear(3, 6), torch.nn.Tanh(), torch.nn.Linear(6, 5),
                             torch.nn.ReLU(), torch.nn.Linear(5, 4), torch.nn.Sigmoid()).double()
    tm.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})
    x_np = _rng(4).standard_normal((8, 3))
    out = model(Tensor(x_np))
    out.sum().backward()
    tout = tm(torch.from_numpy(x_np))
    tout.sum().backward()
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-13, atol=1e-14)
    tparams = dict(tm.named_parameters())
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad, tparams[name].grad.numpy(), rtol=1e-11, atol=1e-14, err_msg=name)


def test_sequential_applies_modules_in_order() -> None:
    lin = nn.Linear(2, 2, rng=0)
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    a = nn.Sequential(lin, nn.ReLU())(x).data
    b = nn.Sequential(nn.ReLU(), lin)(x).data
    np.testing.assert_allclose(a, np.maximum(x @ lin.weight.data.T + lin.bias.data, 0))
    np.testing.assert_allclose(b, np.maximum(x, 0) @ lin.weight.data.T + lin.bias.data)
    assert len(nn.Sequential(lin, nn.ReLU())) == 2


# ----------------------------------------------------------------------------- mse_loss


@pytest.mark.parametrize("shapes", [((6, 3), (3,)), ((6, 1), (6,)), ((6, 1), (6, 3)), ((4,), (4, 1))])
def test_mse_loss_refuses_shapes_that_differ(shapes: tuple) -> None:
    """torch only warns and broadcasts (an (N,1) prediction against an (N,) target gives an
    (N, N) loss); here it is an error naming both shapes, whatever the reduction."""
    rng = np.random.default_rng(0)
    p = tl.Tensor(rng.normal(size=shapes[0]), requires_grad=True)
    t = rng.normal(size=shapes[1])
    for reduction in ("mean", "sum", "none"):
        with pytest.raises(ValueError, match=rf"{re.escape(str(shapes[0]))}.*{re.escape(str(shapes[1]))}"):
            nn.mse_loss(p, t, reduction=reduction)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shapes", [((6, 3), (6, 3)), ((4,), (4,)), ((2, 3, 2), (2, 3, 2))])
def test_mse_loss_matches_torch(torch: Any, reduction: str, shapes: tuple) -> None:
    r = _rng(7)
    p_np, t_np = r.standard_normal(shapes[0]), r.standard_normal(shapes[1])
    pred, target = Tensor(p_np, requires_grad=True), Tensor(t_np, requires_grad=True)
    loss = nn.mse_loss(pred, target, reduction=reduction)
    tp, tt = torch.from_numpy(p_np).requires_grad_(True), torch.from_numpy(t_np).requires_grad_(True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the oracle warns about broadcasting target shapes
        tloss = torch.nn.functional.mse_loss(tp, tt, reduction=reduction)
    assert loss.shape == tuple(tloss.shape)
    np.testing.assert_allclose(loss.data, tloss.detach().numpy(), rtol=1e-13, atol=1e-15)
    w = r.standard_normal(loss.shape)
    loss.backward(w)
    tloss.backward(torch.from_numpy(w))
    assert pred.grad.shape == p_np.shape and target.grad.shape == t_np.shape
    np.testing.assert_allclose(pred.grad, tp.grad.numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(target.grad, tt.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_mse_loss_mean_averages_every_element() -> None:
    pred = Tensor(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), requires_grad=True)
    target = np.zeros((2, 3))
    loss = nn.mse_loss(pred, target)
    assert loss.item() == pytest.approx(91 / 6)
    loss.backward()
    np.testing.assert_allclose(pred.grad, 2 * pred.data / 6)
    assert nn.mse_loss(pred, target, reduction="sum").item() == pytest.approx(91.0)


def test_mse_loss_rejects_bad_reduction_and_shapes() -> None:
    with pytest.raises(ValueError, match="reduction"):
        nn.mse_loss(Tensor([1.0]), Tensor([1.0]), reduction="avg")
    with pytest.raises(ValueError, match=r"\(4, 3\)"):
        nn.mse_loss(Tensor(np.zeros((4, 3))), Tensor(np.zeros((4, 2))))


# ----------------------------------------------------------------------------- cross_entropy


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("as_tensor", [True, False])
def test_cross_entropy_matches_torch(torch: Any, reduction: str, as_tensor: bool) -> None:
    r = _rng(8)
    z_np = 3 * r.standard_normal((7, 5))
    y_np = r.integers(0, 5, size=7)
    labels = Tensor(y_np) if as_tensor else y_np
    z = Tensor(z_np, requires_grad=True)
    loss = nn.cross_entropy(z, labels, reduction=reduction)
    tz = torch.from_numpy(z_np).requires_grad_(True)
    tloss = torch.nn.functional.cross_entropy(tz, torch.from_numpy(y_np), reduction=reduction)
    assert loss.shape == tuple(tloss.shape)
    np.testing.assert_allclose(loss.data, tloss.detach().numpy(), rtol=1e-13, atol=1e-15)
    w = r.standard_normal(loss.shape)
    loss.backward(w)
    tloss.backward(torch.from_numpy(w))
    np.testing.assert_allclose(z.grad, tz.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_cross_entropy_single_sample_matches_torch(torch: Any) -> None:
    z_np = np.array([0.5, -1.0, 2.0, 0.0])
    z = Tensor(z_np, requires_grad=True)
    loss = nn.cross_entropy(z, np.array(2))
    tz = torch.from_numpy(z_np).requires_grad_(True)
    tloss = torch.nn.functional.cross_entropy(tz, torch.tensor(2))
    np.testing.assert_allclose(loss.data, tloss.detach().numpy(), rtol=1e-13)
    loss.backward()
    tloss.backward()
    np.testing.assert_allclose(z.grad, tz.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_cross_entropy_values_without_oracle() -> None:
    z_np = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    y = np.array([2, 0])
    logp = z_np - np.log(np.exp(z_np).sum(axis=1, keepdims=True))
    expect = -logp[[0, 1], y]
    z = Tensor(z_np, requires_grad=True)
    np.testing.assert_allclose(nn.cross_entropy(z, y, reduction="none").data, expect, rtol=1e-14)
    np.testing.assert_allclose(nn.cross_entropy(z, y, reduction="sum").data, expect.sum(), rtol=1e-14)
    loss = nn.cross_entropy(z, y)
    np.testing.assert_allclose(loss.data, expect.mean(), rtol=1e-14)
    loss.backward()
    onehot = np.eye(3)[y]
    np.testing.assert_allclose(z.grad, (np.exp(logp) - onehot) / 2, rtol=1e-13, atol=1e-16)


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_cross_entropy_is_stable_for_huge_logits(reduction: str) -> None:
    z_np = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0], [1000.0, 1000.0, -1000.0]])
    y = np.array([0, 2, 1])
    z = Tensor(z_np, requires_grad=True)
    loss = nn.cross_entropy(z, y, reduction=reduction)
    # -log softmax by hand: [0, 1 + log(1 + e^-1), log 2]
    per = np.array([0.0, 1.0 + np.log1p(np.exp(-1.0)), np.log(2.0)])
    expect = per.mean() if reduction == "mean" else per
    np.testing.assert_allclose(loss.data, expect, rtol=1e-12, atol=1e-12)
    loss.backward(np.ones(loss.shape))
    assert np.all(np.isfinite(z.grad))
    soft = np.array([[1.0, 0.0, 0.0], [0.0, 1 / (1 + np.exp(-1.0)), np.exp(-1.0) / (1 + np.exp(-1.0))],
                     [0.5, 0.5, 0.0]])
    g = soft - np.eye(3)[y]
    np.testing.assert_allclose(z.grad, g / 3 if reduction == "mean" else g, atol=1e-12)


def test_cross_entropy_rejects_float_labels() -> None:
    z = Tensor(np.zeros((2, 3)), requires_grad=True)
    with pytest.raises(TypeError, match="integer"):
        nn.cross_entropy(z, np.array([0.0, 1.0]))
    with pytest.raises(TypeError):
        nn.cross_entropy(z, Tensor([0.0, 1.0]))


@pytest.mark.parametrize("bad", [3, 7, -1])
def test_cross_entropy_out_of_range_label_is_named(bad: int) -> None:
    z = Tensor(np.zeros((3, 3)), requires_grad=True)
    with pytest.raises((IndexError, ValueError), match=f"label {bad}"):
        nn.cross_entropy(z, np.array([0, bad, 1]))


def test_cross_entropy_shape_mismatch_and_bad_reduction() -> None:
    z = Tensor(np.zeros((3, 4)), requires_grad=True)
    with pytest.raises(ValueError, match=r"\(3, 4\)"):
        nn.cross_entropy(z, np.array([0, 1]))
    with pytest.raises(ValueError):
        nn.cross_entropy(z, np.zeros((3, 1), dtype=int))
    with pytest.raises(ValueError):
        nn.cross_entropy(Tensor(np.zeros((2, 3, 4))), np.zeros((2,), dtype=int))
    with pytest.raises(ValueError, match="reduction"):
        nn.cross_entropy(z, np.array([0, 1, 2]), reduction="batchmean")


# ----------------------------------------------------------------------------- dtypes


def test_float32_stays_float32_through_linear_and_losses() -> None:
    layer = nn.Linear(3, 4, rng=0, dtype=np.float32)
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32
    x = Tensor(_rng(1).standard_normal((5, 3)).astype(np.float32))
    out = layer(x)
    assert out.dtype == np.float32
    mse = nn.mse_loss(out, np.zeros((5, 4), dtype=np.float32))
    assert mse.dtype == np.float32
    mse.backward()
    assert layer.weight.grad.dtype == np.float32 and layer.bias.grad.dtype == np.float32
    layer.zero_grad()
    ce = nn.cross_entropy(layer(x), np.array([0, 1, 2, 3, 0]))
    assert ce.dtype == np.float32
    ce.backward()
    assert layer.weight.grad.dtype == np.float32
    xb = Tensor(x.data, batched=True)
    layer.zero_grad()
    nn.mse_loss(layer(xb), Tensor(np.zeros((5, 4), dtype=np.float32), batched=True)).backward()
    assert layer.weight.grad_sample.dtype == np.float32 and layer.bias.grad_sample.dtype == np.float32
    for red in ("sum", "none"):
        assert nn.mse_loss(out, np.zeros((5, 4), dtype=np.float32), reduction=red).dtype == np.float32
        assert nn.cross_entropy(out, np.zeros(5, dtype=int), reduction=red).dtype == np.float32


def test_module_is_usable_with_saved_checkpoint(tmp_path: Any) -> None:
    model = MLP(0)
    path = tmp_path / "model.npz"
    tl.save(model.state_dict(), path)
    fresh = MLP(1)
    fresh.load_state_dict(tl.load(path))
    x = _rng(3).standard_normal((2, 3))
    np.testing.assert_array_equal(fresh(x).data, model(x).data)


# ------------------------------------------------------------------ per-sample gradients of the losses


def _per_sample_case(loss_name: str, reduction: str, x_shape: tuple) -> None:
    r = _rng(11)
    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.Tanh(), nn.Linear(4, 3, rng=1))
    x_np = r.standard_normal(x_shape)
    if loss_name == "mse":
        y_np = r.standard_normal(x_shape[:-1] + (3,))

        def loss_fn(out: Tensor, y: Tensor) -> Tensor:
            return nn.mse_loss(out, y, reduction=reduction)
    else:
        y_np = r.integers(0, 3, size=x_shape[0])

        def loss_fn(out: Tensor, y: Tensor) -> Tensor:
            return nn.cross_entropy(out, y, reduction=reduction)

    loss_fn(model(Tensor(x_np, batched=True)), Tensor(y_np, batched=True)).backward()
    batch = {n: (p.grad.copy(), p.grad_sample.copy()) for n, p in model.named_parameters()}
    for b in range(x_shape[0]):
        model.zero_grad()
        loss_fn(model(Tensor(x_np[b:b + 1])), Tensor(y_np[b:b + 1])).backward()
        for n, p in model.named_parameters():
            np.testing.assert_allclose(batch[n][1][b], p.grad, rtol=1e-11, atol=1e-14, err_msg=f"{n}[{b}]")
    combine = np.mean if reduction == "mean" else np.sum
    for n, (g, gs) in batch.items():
        np.testing.assert_allclose(g, combine(gs, axis=0), rtol=1e-11, atol=1e-14, err_msg=n)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("x_shape", [(5, 3), (4, 2, 3)])
def test_mse_loss_per_sample_gradients_are_each_samples_own(reduction: str, x_shape: tuple) -> None:
    _per_sample_case("mse", reduction, x_shape)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cross_entropy_per_sample_gradients_are_each_samples_own(reduction: str) -> None:
    _per_sample_case("ce", reduction, (6, 3))
