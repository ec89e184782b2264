"""Parity with torch for a mixed set of features: ``var`` / ``std`` with more correction than
elements, binary cross-entropy's gradient with respect to the target at p = 0 and 1, other
loss edges (empty batches, ``reduction="none"`` shapes), ``Bilinear``, ``AlphaDropout`` and
``FeatureAlphaDropout``, ``index_fill`` / ``index_add`` / ``index_copy``, ``LSTM`` with
``proj_size`` and the scalar ``Value``'s ``//`` and ``%``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _t(a: Any, grad: bool = True) -> Any:
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


# ----------------------------------------------------------------- var / std ---------------
@pytest.mark.parametrize("fn", ["var", "std"])
@pytest.mark.parametrize("shape, kw", [((2, 3), {"dim": 0, "correction": 3}), ((2, 3), {"dim": 1, "correction": 5}),
                                       ((2, 3), {"dim": 0, "correction": 2.5}), ((3,), {"dim": 0, "correction": 4}),
                                       ((2, 3), {"dim": (0, 1), "correction": 7}),
                                       ((2, 3), {"dim": 1, "correction": 4, "keepdim": True})])
def test_var_and_std_with_correction_above_n_along_a_dim_match_torch(fn: str, shape: tuple, kw: dict) -> None:
    """N < correction along a given dim: the value is inf (nan for a constant row); torch's
    gradient is the finite 2 (x - mean) / (N - correction) for var and 0 for std."""
    a = np.random.default_rng(0).normal(size=shape)
    a[-1] = 3.0  # a constant row: 0 / 0
    t, x = _t(a), tl.tensor(a, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = getattr(t, fn)(**kw)
    g = np.random.default_rng(1).normal(size=tuple(ref.shape))
    ref.backward(torch.tensor(g))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = getattr(x, fn)(**kw)
        out.backward(g)
    np.testing.assert_array_equal(out.data, ref.detach().numpy())
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-12, atol=1e-15)


# ----------------------------------------------------------------- loss edges --------------
_P = np.array([[0.0, 1.0, 0.3], [1.0, 0.0, 0.5]])
_T = np.array([[0.0, 1.0, 1.0], [0.0, 1.0, 0.2]])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_bce_gradient_wrt_the_target_at_p_0_and_1_is_torchs(reduction: str, weighted: bool) -> None:
    """d/dt = -w logit(p): +inf at p = 0 and -inf at p = 1 (not the clamped logs' +-100)."""
    w = np.array([1.0, 2.0, 0.5]) if weighted else None
    tp, tt = _t(_P), _t(_T)
    ref = TF.binary_cross_entropy(tp, tt, weight=None if w is None else torch.tensor(w), reduction=reduction)
    p, t = tl.tensor(_P, requires_grad=True), tl.tensor(_T, requires_grad=True)
    out = F.binary_cross_entropy(p, t, weight=w, reduction=reduction)
    g = np.random.default_rng(2).normal(size=tuple(ref.shape))
    ref.backward(torch.tensor(g))
    out.backward(g)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(t.grad, tt.grad.numpy(), rtol=1e-12)
    assert np.isinf(t.grad[:, :2]).all()
