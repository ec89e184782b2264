"""Gradients at nan, inf and zeros spread as torch's do (prod, cumprod, amax/amin, logit,
hardsigmoid, softsign): every combination of a few special values, in float64 and float32."""

from __future__ import annotations

import itertools
from typing import Any, Callable

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")

SPECIAL = [np.nan, 0.0, 2.0, -1.5, np.inf]
ROWS = [np.array(r) for r in itertools.product(SPECIAL, repeat=3)]
SQUARES = [np.array(r).reshape(2, 2) for r in itertools.product([np.nan, 0.0, 3.0, np.inf], repeat=4)]


def _grads(ours: Callable[[Any], Any], theirs: Callable[[Any], Any], a: np.ndarray) -> tuple:
    x = tl.Tensor(a, requires_grad=True)
    t = torch.tensor(a, requires_grad=True)
    with np.errstate(all="ignore"):
        ours(x).sum().backward()
    theirs(t).sum().backward()
    return x.grad, t.grad.numpy()


CASES = {
    "prod": (lambda x: x.prod(), lambda t: t.prod(), ROWS),
    "prod(0)": (lambda x: x.prod(0), lambda t: t.prod(0), SQUARES),
    "prod(1)": (lambda x: x.prod(1), lambda t: t.prod(1), SQUARES),
    "cumprod(0)": (lambda x: x.cumprod(0), lambda t: t.cumprod(0), ROWS),
    "cumprod(1)": (lambda x: x.cumprod(1), lambda t: t.cumprod(1), SQUARES),
    "amax": (lambda x: x.amax(), lambda t: t.amax(), ROWS),
    "amin(1)": (lambda x: x.amin(1), lambda t: t.amin(1), SQUARES),
    "logit": (lambda x: x.logit(), lambda t: t.logit(), ROWS + [np.array([-1.0, 0.5, 1.0, 0.0, 0.25])]),
    "logit(eps)": (lambda x: x.logit(0.1), lambda t: t.logit(0.1), ROWS + [np.array([0.1, 0.05, 0.95, 0.3])]),
    "hardsigmoid": (tl.nn.functional.hardsigmoid, torch.nn.functional.hardsigmoid, ROWS),
    "softsign": (tl.nn.functional.softsign, torch.nn.functional.softsign, ROWS),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(CASES))
def test_gradients_at_special_values_are_torchs(name: str, dtype: type) -> None:
    ours, theirs, inputs = CASES[name]
    for a in inputs:
        got, want = _grads(ours, theirs, a.astype(dtype))
        assert got.dtype == want.dtype, (name, a)
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=0, equal_nan=True, err_msg=f"{name} at {a}")


def test_cumprod_gradient_away_from_zeros_is_unchanged_and_exact() -> None:
    rng = np.random.default_rng(0)
    for shape, dim in [((7,), 0), ((3, 6), 1), ((5, 2, 4), 0)]:
        a = rng.uniform(0.5, 1.5, shape) * rng.choice([-1, 1], shape)
        a.flat[::5] = 0.0  # zeros: the first, the second and later ones along the axis
        got, want = _grads(lambda x, d=dim: x.cumprod(d) * 1.7, lambda t, d=dim: t.cumprod(d) * 1.7, a)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
