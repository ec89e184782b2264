"""Cross-entropy against class probabilities that require grad (distillation against a
learned target): both the logits and the target get torch's gradients."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("shape,ca", [((4, 5), 1), ((5,), 0), ((3, 4, 2, 2), 1)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
def test_probability_targets_that_require_grad(shape: tuple, ca: int, reduction: str, smoothing: float,
                                               weighted: bool) -> None:
    rng = np.random.default_rng(len(shape) + 7 * weighted)
    z = rng.standard_normal(shape)
    p = rng.random(shape)
    p /= p.sum(ca, keepdims=True)
    w = rng.random(shape[ca]) if weighted else None
    a, b = tl.tensor(z, requires_grad=True), tl.tensor(p, requires_grad=True)
    A, B = torch.tensor(z, requires_grad=True), torch.tensor(p, requires_grad=True)
    out = tl.nn.functional.cross_entropy(a, b, weight=None if w is None else tl.tensor(w), reduction=reduction,
                                         label_smoothing=smoothing)
    ref = torch.nn.functional.cross_entropy(A, B, weight=None if w is None else torch.tensor(w),
                                            reduction=reduction, label_smoothing=smoothing)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-12, atol=1e-13)
    g = rng.standard_normal(ref.shape)
    (out * tl.tensor(g)).sum().backward()
    (ref * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(a.grad, A.grad.numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(b.grad, B.grad.numpy(), rtol=1e-12, atol=1e-13)


def test_a_float32_target_beside_float64_logits() -> None:
    z = tl.tensor(np.array([[0.1, 0.7, -0.3]]), requires_grad=True)
    t = tl.tensor(np.array([[0.2, 0.5, 0.3]], np.float32), requires_grad=True)
    tl.nn.functional.cross_entropy(z, t).backward()
    assert t.grad.dtype == np.float32 and z.grad.dtype == np.float64
    np.testing.assert_allclose(t.grad, -tl.tensor(z.data).log_softmax(1).numpy(), rtol=1e-6)
