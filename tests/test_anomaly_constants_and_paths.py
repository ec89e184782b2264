"""detect_anomaly: a non-finite number operand is an input already non-finite (no error),
a division by the number 0 is blamed on 'div', and the module path of a layer held in a
ModuleList or ModuleDict is its dotted name."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl

INF, NAN = float("inf"), float("nan")
X = tl.Tensor([1.0, 2.0], requires_grad=True)

ALREADY_NON_FINITE = {
    "x + -inf": lambda: X + -INF,
    "x * inf": lambda: X * INF,
    "inf - x": lambda: INF - X,
    "x / nan": lambda: X / NAN,
    "x ** nan": lambda: X**NAN,
    "constant + inf": lambda: tl.Tensor([1.0, 2.0]) + np.float64(INF),
    "clamp(-inf, 1)": lambda: X.clamp(-INF, 1.0),
    "Value * nan": lambda: tl.Value(1.0) * NAN,
    "Value + inf": lambda: tl.Value(2.0) + INF,
    "Value ** inf": lambda: tl.Value(2.0) ** INF,
}


@pytest.mark.parametrize("name", sorted(ALREADY_NON_FINITE))
def test_a_non_finite_number_operand_is_not_an_anomaly(name: str) -> None:
    with tl.detect_anomaly():
        ALREADY_NON_FINITE[name]()


@pytest.mark.parametrize("make", [lambda: X / 0.0, lambda: tl.Tensor([1.0]) / 0.0, lambda: tl.Value(2.0) / 0.0])
def test_dividing_by_the_number_zero_is_blamed_on_div(make) -> None:
    with tl.detect_anomaly(), pytest.raises(FloatingPointError, match="the forward of op 'div'"):
        make()


def test_value_divided_by_a_number_is_a_div_node_with_gradient_one_over_c() -> None:
    v = tl.Value(3.0)
    w = v / 4
    w.backward()
    assert w._op.name == "div" and w.data == 0.75 and v.grad == 0.25
    u = tl.Value(3.0)
    (u / 0.0).backward()
    assert u.grad == INF  # (1 / 0, as torch's)


class _Listed(tl.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layers = tl.nn.ModuleList([tl.nn.Linear(2, 2), tl.nn.Linear(2, 2)])
        self.heads = tl.nn.ModuleDict({"out": tl.nn.Linear(2, 2)})

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return self.heads["out"](x)


class _Outer(tl.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.blocks = tl.nn.ModuleList([_Listed()])

    def forward(self, x):
        return self.blocks[0](x)


def _overflowing(model: tl.nn.Module, which: str) -> None:
    """Every Linear of ``model`` all ones (positive, finite values), the one at ``which`` 1e308."""
    for m in model.modules():
        if isinstance(m, tl.nn.Linear):
            m.weight.data[...] = 1.0
            m.bias.data[...] = 0.0
    model.get_submodule(which).weight.data[...] = 1e308


@pytest.mark.parametrize("which, path", [("layers.1", "layers.1"), ("heads.out", "heads.out")])
def test_the_module_path_goes_through_module_lists_and_dicts(which: str, path: str) -> None:
    net = _Listed()
    _overflowing(net, which)
    with tl.detect_anomaly(), pytest.raises(FloatingPointError, match=f"in module '{path}'"):
        net(tl.Tensor(np.full((1, 2), 10.0)))
    outer = _Outer()
    _overflowing(outer, "blocks.0." + which)
    with tl.detect_anomaly(), pytest.raises(FloatingPointError, match=f"in module 'blocks.0.{path}'"):
        outer(tl.Tensor(np.full((1, 2), 10.0)))
