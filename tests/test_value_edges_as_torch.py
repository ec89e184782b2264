"""The scalar engine where it drifted from torch (0-d float64 tensors):

* a graph built only from frozen leaves or no_grad constants does not require grad, and its
  backward refuses (it returned having done nothing);
* ``v.grad = None`` (torch's way to clear a gradient) is 0.0, so the next backward adds to it;
* torch's ``backward(gradient, retain_graph=...)`` and ``zero_grad(set_to_none=...)``;
* a negative base with a fractional exponent is nan however large the result; ``c ** v`` is
  C's pow also at v = +-0.5; an int exponent beyond a float's range.
"""

import math

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")


def test_a_graph_of_frozen_leaves_does_not_require_grad():
    a = tl.Value(2.0).requires_grad_(False)
    y = a * 3 + 1
    assert y.requires_grad is False
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()
    with tl.no_grad():
        c = tl.Value(2.0) * 1.0
    z = c * 2
    assert z.requires_grad is False
    w = tl.Value(1.0)
    assert (a * w).requires_grad is True


def test_grad_none_then_backward_adds_as_from_zero():
    a, b = tl.Value(2.0), tl.Value(3.0)
    y = a * b
    a.grad, b.grad = 0.0, None
    assert b.grad == 0.0
    y.backward()
    assert (a.grad, b.grad) == (3.0, 2.0)
    with pytest.raises(TypeError, match="grad must be a real number or None"):
        a.grad = "x"


def test_torchs_backward_and_zero_grad_arguments():
    x = tl.Value(3.0)
    y = x * x
    y.backward(2.0, retain_graph=True)  # torch's positional gradient
    xt = torch.tensor(3.0, dtype=torch.float64, requires_grad=True)
    (xt * xt).backward(torch.tensor(2.0, dtype=torch.float64))
    assert x.grad == xt.grad.item() == 12.0
    y.zero_grad(set_to_none=True)
    assert x.grad == 0.0
    with pytest.raises(NotImplementedError, match="create_graph"):
        y.backward(create_graph=True)
    seen = []
    y.backward(lambda node, g, grads: seen.append(g))  # (a callable first argument: trace)
    assert seen and x.grad == 6.0


def _torch_pow(a, k):
    t = torch.tensor(a, dtype=torch.float64, requires_grad=True)
    r = t ** k
    r.backward()
    return r.item(), t.grad.item()


@pytest.mark.parametrize("a,k", [(-1e300, 1.5), (-3.0, 745.5), (-1e-300, -1.5), (-1e-300, -0.5), (-1e-300, -0.7),
                                 (2.0, 3.0), (-2.0, 3.0), (0.0, -1.0), (-0.0, -3.0), (1e300, 2.0), (-1e300, 3.0)])
def test_pow_at_the_edges_as_torch(a, k):
    v = tl.Value(a)
    r = v ** k
    r.backward()
    want, dwant = _torch_pow(a, k)
    np.testing.assert_equal((r.data, v.grad), (want, dwant))


@pytest.mark.parametrize("c,a", [(-math.inf, 0.5), (-math.inf, -0.5), (-0.0, -0.5), (-3.0, 745.5), (4.0, 0.5)])
def test_rpow_is_cs_pow_at_halves(c, a):
    v = tl.Value(a)
    r = c ** v
    t = torch.tensor(a, dtype=torch.float64)
    np.testing.assert_equal(r.data, torch.pow(torch.tensor(c, dtype=torch.float64), t).item())


def test_an_int_exponent_beyond_a_float():
    assert (tl.Value(0.5) ** 10**400).data == 0.0
    assert (tl.Value(1.0) ** 10**400).data == 1.0
    assert (tl.Value(2.0) ** 10**400).data == math.inf
