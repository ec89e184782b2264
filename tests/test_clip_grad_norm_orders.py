"""clip_grad_norm_ takes every order torch takes: 0 (the count of parameters whose gradient is
not all zero), negative orders and -inf, as torch's norm of the per-parameter norms."""

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("q", [0, -1, -2.5, float("-inf"), 0.5, 1, 2, 3, float("inf"), "-inf"])
@pytest.mark.parametrize("zeros", [True, False])
def test_total_norm_and_clipped_gradients_as_torch(q, zeros):
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(3), rng.standard_normal((2, 2))]
    if zeros:
        grads[0][0] = 0.0
    ps = [tl.Tensor(g.copy(), requires_grad=True) for g in grads]
    tps = [torch.nn.Parameter(torch.tensor(g)) for g in grads]
    for p, tp, g in zip(ps, tps, grads):
        p.grad, tp.grad = g.copy(), torch.tensor(g)
    total = tl.nn.utils.clip_grad_norm_(ps, 0.5, q)
    ttotal = torch.nn.utils.clip_grad_norm_(tps, 0.5, q)
    np.testing.assert_allclose(float(total), float(ttotal), rtol=1e-12)
    for p, tp in zip(ps, tps):
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-12)


def test_nan_order_is_refused():
    p = tl.Tensor([1.0], requires_grad=True)
    p.grad = np.array([1.0])
    with pytest.raises(ValueError, match="norm_type"):
        tl.nn.utils.clip_grad_norm_([p], 1.0, float("nan"))
