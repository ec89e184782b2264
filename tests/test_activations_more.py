"""The composed activations (SELU, CELU, Hardsigmoid, Hardswish, Softmin, GLU, Threshold,
PReLU, Tanhshrink): values and gradients against torch and finite differences, per-sample
gradients (PReLU's learned slope included), torch names, and clear errors."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.nn import functional as F

try:
    import torch
except ImportError:  # the oracle comparisons skip; the direct checks still run
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")

# name, args, gradient tolerance against torch: torch's CELU and Hardsigmoid backward kernels
# use float32 constants (1/6 is 0.1666666716 there, 1/alpha likewise), so their float64
# gradients differ from the exact ones (checked against finite differences below) by about
# 3e-8 relative, times |x / alpha| for CELU's exponential
CASES = [("selu", (), 1e-12), ("celu", (0.7,), 1e-6), ("hardsigmoid", (), 1e-7), ("hardswish", (), 1e-12),
         ("softmin", (1,), 1e-12), ("glu", (1,), 1e-12), ("threshold", (0.5, -2.0), 1e-12), ("tanhshrink", (), 1e-12)]


def _x(shape: tuple = (4, 6, 3), seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal(shape) * 3
    return np.where(np.abs(np.abs(x) - 3) < 1e-3, x + 0.01, x)  # away from hardswish's kinks at +-3


@needs_torch
@pytest.mark.parametrize("name,args,gtol", CASES, ids=[c[0] for c in CASES])
def test_values_and_gradients_match_torch(name: str, args: tuple, gtol: float) -> None:
    x = _x()
    t = tl.Tensor(x, requires_grad=True)
    out = getattr(F, name)(t, *args)
    up = np.random.default_rng(1).standard_normal(out.shape)
    (out * up).sum().backward()
    tt = torch.tensor(x, requires_grad=True)
    tout = getattr(torch.nn.functional, name)(tt, *args)
    (tout * torch.tensor(up)).sum().backward()
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(t.grad, tt.grad.numpy(), rtol=gtol, atol=1e-15)


@pytest.mark.parametrize("name,args,gtol", CASES, ids=[c[0] for c in CASES])
def test_gradients_match_finite_differences(name: str, args: tuple, gtol: float) -> None:
    t = tl.Tensor(_x((3, 4, 2), 2), requires_grad=True)
    w = np.random.default_rng(3).standard_normal(getattr(F, name)(t, *args).shape)
    assert tl.gradcheck(lambda a: (getattr(F, name)(a, *args) * w).sum(), [t], atol=1e-7, rtol=1e-6)


@needs_torch
def test_prelu_matches_torch_values_gradients_and_names() -> None:
    x = _x((4, 6, 5))
    m = nn.PReLU(6, init=0.125)  # (a value exact in float32: torch keeps its weight in float32 until .double())
    tm = torch.nn.PReLU(6, init=0.125).double()
    assert list(m.state_dict()) == list(tm.state_dict()) == ["weight"]
    with torch.no_grad():
        tm.weight.copy_(torch.linspace(-0.5, 0.5, 6, dtype=torch.float64))
    m.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    t, tt = tl.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    up = np.random.default_rng(5).standard_normal(x.shape)
    (m(t) * up).sum().backward()
    (tm(tt) * torch.tensor(up)).sum().backward()
    np.testing.assert_allclose(m(t).data, tm(tt).detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(t.grad, tt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(m.weight.grad, tm.weight.grad.numpy(), rtol=1e-12)
    one = nn.PReLU()
    np.testing.assert_allclose(one(tl.Tensor(x)).data, torch.nn.PReLU(init=0.25).double()(torch.tensor(x)).detach()
                               .numpy(), rtol=1e-12)


@pytest.mark.parametrize("make", [lambda: nn.PReLU(6, 0.2), nn.PReLU, nn.SELU, lambda: nn.GLU(-1), nn.Hardswish,
                                  lambda: nn.Softmin(1)])
def test_per_sample_gradients_through_each_activation(make: Callable) -> None:
    model = nn.Sequential(nn.Linear(4, 6, rng=0), make(), nn.Linear(6 if not isinstance(make(), nn.GLU) else 3, 2,
                                                                     rng=1))
    X = np.random.default_rng(6).standard_normal((5, 4))
    Y = np.random.default_rng(7).standard_normal((5, 2))
    F.mse_loss(model(tl.Tensor(X, batched=True)), tl.Tensor(Y, batched=True)).backward()
    got = {n: p.grad_sample.copy() for n, p in model.named_parameters()}
    for b in range(5):
        model.zero_grad()
        F.mse_loss(model(tl.Tensor(X[b:b + 1])), tl.Tensor(Y[b:b + 1])).backward()
        for n, p in model.named_parameters():
            np.testing.assert_allclose(got[n][b], p.grad, rtol=1e-10, atol=1e-14, err_msg=n)


def test_modules_print_like_torch_and_take_inplace() -> None:
    assert repr(nn.GLU()) == "GLU(dim=-1)" and repr(nn.Softmin(1)) == "Softmin(dim=1)"
    assert repr(nn.PReLU(3)) == "PReLU(num_parameters=3)" and repr(nn.Tanhshrink()) == "Tanhshrink()"
    assert repr(nn.Threshold(0.1, 2.0)) == "Threshold(threshold=0.1, value=2.0)"
    assert repr(nn.LogSigmoid()) == "LogSigmoid()" and repr(nn.SELU(inplace=True)) == "SELU(inplace=True)"
    x = tl.Tensor(_x())
    want = F.hardswish(x).data
    out = nn.Hardswish(inplace=True)(x)
    assert out is x  # (written into the input, as torch's)
    np.testing.assert_array_equal(x.data, want)


@pytest.mark.parametrize("call,exc,words", [
    (lambda: F.glu(tl.Tensor(np.ones((2, 5))), 1), ValueError, "glu: the size of dim 1 \\(5"),
    (lambda: F.glu(tl.Tensor(np.ones((2, 4))), 2), IndexError, "glu: dim 2"),
    (lambda: F.celu(tl.Tensor(np.ones(3)), 0.0), ValueError, "celu: alpha must not be 0"),
    (lambda: F.selu(tl.Tensor(np.ones(3)), inplace=1), TypeError, "selu: inplace must be a bool"),
    (lambda: F.prelu(tl.Tensor(np.ones((2, 3, 4))), tl.Tensor(np.ones(4))), ValueError, "4 values.*3 channels"),
    (lambda: F.prelu(tl.Tensor(np.ones((2, 3))), tl.Tensor(np.ones((3, 1)))), ValueError, "prelu: weight must be 1-d"),
    (lambda: F.threshold(tl.Tensor(np.ones(3)), "a", 1.0), TypeError, "threshold: threshold"),
    (lambda: nn.PReLU(0), ValueError, "PReLU: num_parameters"),
    (lambda: nn.PReLU(2, init=float("nan")), TypeError, "PReLU: init"),
    (lambda: nn.Softmin("x"), TypeError, "Softmin: dim"),
    (lambda: nn.Tanhshrink(inplace=True), TypeError, "Tanhshrink: takes no inplace"),
    (lambda: nn.LogSigmoid(True), TypeError, "LogSigmoid: takes no inplace"),
])
def test_bad_arguments_are_refused_naming_the_function(call: Callable, exc: Any, words: str) -> None:
    with pytest.raises(exc, match=words):
        call()
