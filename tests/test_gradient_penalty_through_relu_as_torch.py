"""A gradient taken with create_graph=True through relu / leaky_relu / abs / hardtanh /
max_pool (a derivative piecewise constant in the value torch's backward reads) is still a
function of that value, with derivative 0: a penalty on it (WGAN-GP) differentiates to zeros
for the parameters that reach it only there (the biases in front of a ReLU), as torch's,
instead of leaving them "unused"."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")

ACTS = {
    "relu": lambda m, h: h.relu(),
    "leaky_relu": lambda m, h: m.nn.functional.leaky_relu(h, 0.1),
    "abs": lambda m, h: h.abs(),
    "hardtanh": lambda m, h: m.nn.functional.hardtanh(h),
    "max_pool1d": lambda m, h: m.nn.functional.max_pool1d(h.reshape(1, 1, 4), 2),
}


def _penalty_grads(m, act: str) -> list:
    r = np.random.default_rng(0)
    T = ((lambda a: torch.tensor(a, requires_grad=True)) if m is torch
         else (lambda a: tl.tensor(a, requires_grad=True)))
    x, w, b = T(r.standard_normal(3)), T(r.standard_normal((4, 3))), T(r.standard_normal(4))
    h = ACTS[act](m, x @ w.T + b)
    (g,) = m.autograd.grad(h.sum(), [x], create_graph=True)
    penalty = ((g * g).sum() - 1.0) ** 2
    out = m.autograd.grad(penalty, [b, w])
    return [o.detach().numpy(force=True) if m is torch else o.data for o in out]


@pytest.mark.parametrize("act", sorted(ACTS))
def test_a_gradient_penalty_differentiates_as_torchs(act: str) -> None:
    for ours, theirs in zip(_penalty_grads(tl, act), _penalty_grads(torch, act)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)


def test_backward_of_the_penalty_gives_the_bias_a_zero_gradient() -> None:
    x = tl.tensor([0.5, -1.0], requires_grad=True)
    w = tl.tensor([[1.0, 2.0], [3.0, -1.0]], requires_grad=True)
    b = tl.tensor([0.1, 0.2], requires_grad=True)
    (g,) = tl.autograd.grad((x @ w.T + b).relu().sum(), [x], create_graph=True)
    assert g.requires_grad
    (g * g).sum().backward()
    np.testing.assert_array_equal(b.grad, [0.0, 0.0])
    np.testing.assert_array_equal(w.grad, [[0.0, 0.0], [6.0, -2.0]])
