"""A layer or a function of ``F`` that refuses its input before any op runs still raises an
exception with ``.operands`` (its input Tensors, and a layer's own tensors), so
``tl.viz.draw_graph(exc)`` draws the graph that led there."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl

F = tl.nn.functional

CASES = {
    "Linear": lambda x: tl.nn.Linear(4, 2)(x),
    "Conv2d": lambda x: tl.nn.Conv2d(3, 4, 1)(x.reshape(2, 3, 1, 1)[:, :2]),
    "Embedding": lambda x: tl.nn.Embedding(5, 2)(tl.tensor([7])),
    "LayerNorm": lambda x: tl.nn.LayerNorm(5)(x),
    "BatchNorm1d": lambda x: tl.nn.BatchNorm1d(5)(x),
    "LSTM": lambda x: tl.nn.LSTM(4, 4)(x[None]),
    "mse_loss": lambda x: F.mse_loss(x, tl.zeros(4)),
    "cross_entropy": lambda x: F.cross_entropy(x, tl.tensor([0.5, 1.0])),
    "group_norm": lambda x: F.group_norm(x[None], 4),
    "max_pool2d": lambda x: F.max_pool2d(x[None, None], 5),
    "item": lambda x: x.item(),
}


def _reaches(t: tl.Tensor, h: tl.Tensor) -> bool:
    todo = [t]
    while todo:
        n = todo.pop()
        if n is h:
            return True
        todo += list(n._parents)
    return False


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_error_carries_the_input_and_can_be_drawn(name: str) -> None:
    pytest.importorskip("graphviz")
    h = tl.tensor(np.ones((2, 3)), requires_grad=True) * 2.0
    with pytest.raises(Exception) as info:
        CASES[name](h)
    exc = info.value
    ops = getattr(exc, "operands", None)
    assert ops is not None and all(isinstance(t, tl.Tensor) for t in ops)
    if name != "Embedding":  # (h, or a view of it, is among them)
        assert any(_reaches(t, h) for t in ops)
    dot = tl.viz.draw_graph(exc)
    src = dot.source
    assert "red" in src
    assert "mul" in src or name == "Embedding"


def test_a_layers_operands_include_its_weight() -> None:
    lin = tl.nn.Linear(4, 2)
    with pytest.raises(ValueError) as info:
        lin(tl.ones(2, 3))
    assert any(t is lin.weight for t in info.value.operands)
    assert info.value.op == "Linear"


def test_the_innermost_failure_names_itself() -> None:
    net = tl.nn.Sequential(tl.nn.Linear(3, 3), tl.nn.Linear(4, 2))
    with pytest.raises(ValueError) as info:
        net(tl.ones(2, 3))
    assert info.value.op == "Linear"
    assert any(t is net[1].weight for t in info.value.operands)


def test_an_op_that_attaches_its_own_operands_keeps_them() -> None:
    a, b = tl.ones(2, 3, requires_grad=True), tl.ones(4, 2)
    with pytest.raises(ValueError) as info:
        F.linear(a @ tl.ones(3, 3), b)
    assert info.value.op == "linear"
    assert info.value.operands[1] is b


def test_wrapped_functions_keep_their_name_signature_and_results() -> None:
    import inspect
    assert F.mse_loss.__name__ == "mse_loss"
    assert "reduction" in inspect.signature(F.mse_loss).parameters
    x = tl.tensor([1.0, 2.0])
    assert F.mse_loss(x, tl.tensor([0.0, 0.0])).item() == 2.5
