"""Keyed and parameter containers (ModuleDict, ParameterList, ParameterDict, Parameter) and
Unflatten: torch's names in state dicts, loading torch weights, training and per-sample
gradients through them, and clear errors that change nothing."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl

try:
    import torch
except ImportError:  # the oracle comparisons skip; the direct checks still run
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


class Net(tl.nn.Module):
    """Every container in one model: heads by name, a list of scales, a dict of offsets."""

    def __init__(self) -> None:
        self.heads = tl.nn.ModuleDict({"enc": tl.nn.Linear(3, 4, rng=0), "dec": tl.nn.Linear(4, 6, rng=1)})
        self.scales = tl.nn.ParameterList([np.full(6, 0.5), tl.nn.Parameter(np.zeros(2), requires_grad=False)])
        self.offsets = tl.nn.ParameterDict({"a": np.linspace(-1.0, 1.0, 6)})
        self.unflat = tl.nn.Unflatten(1, (2, -1))

    def forward(self, x: tl.Tensor) -> tl.Tensor:
        h = self.heads.dec(self.heads["enc"](x).tanh())
        return self.unflat(h * self.scales[0] + self.offsets["a"])


def _torch_net() -> "torch.nn.Module":
    class T(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.heads = torch.nn.ModuleDict({"enc": torch.nn.Linear(3, 4), "dec": torch.nn.Linear(4, 6)})
            self.scales = torch.nn.ParameterList([torch.full((6,), 0.5), torch.nn.Parameter(torch.zeros(2),
                                                                                          requires_grad=False)])
            self.offsets = torch.nn.ParameterDict({"a": torch.linspace(-1.0, 1.0, 6)})
            self.unflat = torch.nn.Unflatten(1, (2, -1))

        def forward(self, x: "torch.Tensor") -> "torch.Tensor":
            h = self.heads.dec(torch.tanh(self.heads["enc"](x)))
            return self.unflat(h * self.scales[0] + self.offsets["a"])

    return T().double()


def test_names_order_and_parameters_agree() -> None:
    m = Net()
    names = [n for n, _ in m.named_parameters()]
    assert names == ["heads.enc.weight", "heads.enc.bias", "heads.dec.weight", "heads.dec.bias", "scales.0",
                     "scales.1", "offsets.a"]
    assert list(m.state_dict()) == names
    assert [id(p) for p in m.parameters()] == [id(p) for _, p in m.named_parameters()]
    assert [n for n, _ in m.named_children()] == ["heads", "scales", "offsets", "unflat"]
    assert [n for n, _ in m.heads.named_children()] == ["enc", "dec"]


@needs_torch
def test_state_dict_keys_match_torch_and_torch_weights_load() -> None:
    tm = _torch_net()
    m = Net()
    assert list(m.state_dict()) == list(tm.state_dict())
    with torch.no_grad():
        for p in tm.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    m.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 3))
    out = m(tl.Tensor(x))
    tout = tm(torch.from_numpy(x))
    assert out.shape == tuple(tout.shape) == (5, 2, 3)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12, atol=1e-12)
    out.sum().backward()
    tout.sum().backward()
    tgrads = dict(tm.named_parameters())
    for name, p in m.named_parameters():
        if tgrads[name].grad is None:
            assert p.grad is None and not p.requires_grad
        else:
            np.testing.assert_allclose(p.grad, tgrads[name].grad.numpy(), rtol=1e-10, atol=1e-12)


def test_per_sample_gradients_flow_into_every_container() -> None:
    m = Net()
    X = np.random.default_rng(1).standard_normal((4, 3))
    Y = np.random.default_rng(2).standard_normal((4, 2, 3))
    loss = tl.nn.mse_loss(m(tl.Tensor(X, batched=True)), tl.Tensor(Y, batched=True))
    loss.backward()
    trainable = [(n, p) for n, p in m.named_parameters() if p.requires_grad]
    got = {n: p.grad_sample.copy() for n, p in trainable}
    for b in range(4):
        m.zero_grad()
        tl.nn.mse_loss(m(tl.Tensor(X[b:b + 1])), tl.Tensor(Y[b:b + 1])).backward()
        for n, p in trainable:
            np.testing.assert_allclose(got[n][b], p.grad, rtol=1e-10, atol=1e-13, err_msg=n)


def test_an_optimizer_trains_the_parameters_of_every_container() -> None:
    m = Net()
    before = {k: v.copy() for k, v in m.state_dict().items()}
    opt = tl.optim.SGD(m.parameters(), lr=0.1)
    x = tl.Tensor(np.random.default_rng(3).standard_normal((8, 3)))
    m(x).sum().backward()
    opt.step()
    after = m.state_dict()
    for k in before:
        changed = not np.array_equal(before[k], after[k])
        assert changed == (k != "scales.1"), k  # the frozen one stays


def test_parameter_is_a_leaf_with_its_own_array_and_may_be_frozen() -> None:
    a = np.arange(3.0, dtype=np.float32)
    p = tl.nn.Parameter(a)
    assert p.requires_grad and p.is_leaf and isinstance(p, tl.nn.Parameter) and p.dtype == np.float32
    a[0] = 7.0
    assert p.data[0] == 0.0  # copied, as tl.Tensor copies
    frozen = tl.nn.Parameter(tl.Tensor([1.0, 2.0]), requires_grad=False)
    assert isinstance(frozen, tl.nn.Parameter) and not frozen.requires_grad
    assert not isinstance(tl.Tensor([1.0]), tl.nn.Parameter)
    assert not isinstance(tl.Tensor([1.0], requires_grad=True) * 2, tl.nn.Parameter)
    with pytest.raises(TypeError, match="Parameter: only floating-point data"):
        tl.nn.Parameter(np.arange(3))  # integers cannot require grad
    made = tl.nn.Parameter(tl.Tensor([1.0], requires_grad=True) * 2)  # a computed value: its values, a leaf
    assert made.is_leaf and made.requires_grad and made.tolist() == [2.0]


def test_module_dict_behaves_like_a_dict() -> None:
    d = tl.nn.ModuleDict()
    d["a"] = tl.nn.Linear(2, 2)
    d.update([("b", tl.nn.ReLU())])
    assert list(d) == ["a", "b"] and len(d) == 2 and "a" in d and list(d.keys()) == ["a", "b"]
    assert d.b is d["b"] and [type(v).__name__ for v in d.values()] == ["Linear", "ReLU"]
    assert d.pop("b").__class__.__name__ == "ReLU" and list(d) == ["a"]
    del d["a"]
    assert len(d) == 0 and d.parameters() == []


def test_container_errors_name_the_key_and_change_nothing() -> None:
    d = tl.nn.ModuleDict({"a": tl.nn.Linear(2, 2)})
    with pytest.raises(KeyError, match="'zz'.*keys: \\['a'\\]"):
        d["zz"]
    with pytest.raises(AttributeError, match="zz"):
        d.zz  # noqa: B018
    with pytest.raises(TypeError, match="ModuleDict: values must be Modules"):
        d.update({"b": tl.nn.Linear(2, 2), "c": 3})
    assert list(d) == ["a"]  # nothing of the failed update was added
    with pytest.raises(KeyError, match="without dots"):
        d["x.y"] = tl.nn.ReLU()
    with pytest.raises(TypeError, match="keys must be strings"):
        d[1] = tl.nn.ReLU()
    pl = tl.nn.ParameterList([np.ones(2)])
    with pytest.raises(TypeError, match="Parameter: only floating-point data"):
        pl.extend([np.ones(2), np.arange(2)])
    assert len(pl) == 1
    with pytest.raises(TypeError, match="iterable of parameters"):
        pl.extend(np.ones(3))
    with pytest.raises(NotImplementedError, match="no forward"):
        pl(1)


def test_unflatten_splits_an_axis_and_checks_the_sizes() -> None:
    x = tl.Tensor(np.arange(24.0).reshape(2, 12), requires_grad=True)
    y = tl.nn.Unflatten(1, (3, -1))(x)
    assert y.shape == (2, 3, 4)
    np.testing.assert_array_equal(y.data, np.arange(24.0).reshape(2, 3, 4))
    (y * y).sum().backward()
    np.testing.assert_array_equal(x.grad, 2 * x.data)
    assert tl.nn.Unflatten(-1, (2, 6))(x).shape == (2, 2, 6)
    with pytest.raises(ValueError, match="size 12.*\\(5, -1\\)"):
        tl.nn.Unflatten(1, (5, -1))(x)
    with pytest.raises(ValueError, match="cannot be split into \\(3, 3\\)"):
        tl.nn.Unflatten(1, (3, 3))(x)
    with pytest.raises(IndexError, match="dim 2"):
        tl.nn.Unflatten(2, (3, 4))(x)
    with pytest.raises(ValueError, match="unflattened_size"):
        tl.nn.Unflatten(1, (-1, -1))
    if torch is not None:
        t = torch.nn.Unflatten(1, (3, -1))(torch.arange(24.0).reshape(2, 12))
        assert tuple(t.shape) == y.shape


def test_a_module_with_children_prints_its_extra_repr_first_as_torch() -> None:
    class Head(tl.nn.Module):
        def __init__(self) -> None:
            self.proj = tl.nn.Linear(2, 3, rng=0)

        def extra_repr(self) -> str:
            return "scale=2"

    assert repr(Head()) == "Head(\n  scale=2\n  (proj): Linear(in_features=2, out_features=3, bias=True)\n)"
    assert repr(tl.nn.Sequential(tl.nn.ReLU())) == "Sequential(\n  (0): ReLU()\n)"
    if torch is not None:
        class THead(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.proj = torch.nn.Linear(2, 3)

            def extra_repr(self) -> str:
                return "scale=2"

        assert repr(THead()).replace("THead", "Head") == repr(Head())
