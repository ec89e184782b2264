"""The optimizers' one-pass BLAS update (``tinygrad_lite._blas.axpy``) and its numpy fallback."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import _blas

needs_blas = pytest.mark.skipif(not _blas.available(), reason="numpy's bundled OpenBLAS was not found")


@needs_blas
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_axpy_matches_numpy_to_one_rounding(dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(10_000).astype(dtype)
    y = rng.standard_normal(10_000).astype(dtype)
    wide = np.longdouble
    step = wide(dtype(-1e-3)) * x.astype(wide)
    want = y.astype(wide) + step
    assert _blas.axpy(-1e-3, x, y)
    # one rounding of the result (fused), or two (product, then sum): at most an ulp of each
    eps = wide(np.finfo(dtype).eps)
    assert np.all(np.abs(y.astype(wide) - want) <= eps * (np.abs(want) + np.abs(step)))


@pytest.mark.parametrize("case", ["small", "transposed", "dtypes", "readonly", "sizes", "int", "same",
                                  "overlap", "unaligned"])
def test_axpy_declines_and_changes_nothing(case):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((100, 100))
    y = rng.standard_normal((100, 100))
    if case == "same":
        x = y
    elif case == "overlap":
        both = rng.standard_normal(10_001)
        x, y = both[1:], both[:-1]
    elif case == "unaligned":
        raw = np.zeros(8 * 10_000 + 1, np.uint8)
        y = raw[1:].view(np.float64)
        x = rng.standard_normal(10_000)
        assert not y.flags.aligned
    if case == "small":
        x, y = x[0], y[0]
    elif case == "transposed":
        x = x.T
    elif case == "dtypes":
        x = x.astype(np.float32)
    elif case == "readonly":
        y.flags.writeable = False
    elif case == "sizes":
        x = x[:50]
    elif case == "int":
        x, y = x.astype(np.int64), y.astype(np.int64)
    before = y.copy()
    assert _blas.axpy(0.5, x, y) is False
    np.testing.assert_array_equal(y, before)


def _train(steps: int, momentum: float) -> list:
    rng = np.random.default_rng(2)
    model = tl.nn.Sequential(tl.nn.Linear(300, 64, rng=rng), tl.nn.ReLU(), tl.nn.Linear(64, 3, rng=rng))
    opt = tl.optim.SGD(model.parameters(), lr=0.05, momentum=momentum)
    x, y = tl.Tensor(rng.standard_normal((16, 300))), tl.Tensor(rng.standard_normal((16, 3)))
    for _ in range(steps):
        opt.zero_grad()
        tl.nn.mse_loss(model(x), y).backward()
        opt.step()
    return [p.data.copy() for p in model.parameters()]


@needs_blas
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_with_and_without_blas_agree(monkeypatch, momentum):
    fast = _train(5, momentum)
    monkeypatch.setattr(_blas, "_FUNCS", {})
    assert not _blas.available()
    slow = _train(5, momentum)
    for a, b in zip(fast, slow):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


def test_sgd_large_parameter_without_blas_matches_formula(monkeypatch):
    monkeypatch.setattr(_blas, "_FUNCS", {})
    rng = np.random.default_rng(3)
    p = tl.Tensor(rng.standard_normal((300, 300)).astype(np.float32), requires_grad=True)
    g = rng.standard_normal((300, 300)).astype(np.float32)
    before = p.data.copy()
    p.grad = g.copy()
    tl.optim.SGD([p], lr=0.1).step()
    np.testing.assert_array_equal(p.data, before - np.float32(0.1) * g)
    np.testing.assert_array_equal(p.grad, g)  # the gradient itself is left as it was


@pytest.mark.parametrize("blas", [True, False])
@pytest.mark.parametrize("n", [7, 4096, 5000, 65536, 70000])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sgd_step_applies_the_update_once_at_every_size(monkeypatch, blas, n, dtype):
    if not blas:
        monkeypatch.setattr(_blas, "_FUNCS", {})
    elif not _blas.available():
        pytest.skip("numpy's bundled OpenBLAS was not found")
    rng = np.random.default_rng(n)
    p = tl.Tensor(rng.standard_normal(n).astype(dtype), requires_grad=True)
    g = rng.standard_normal(n).astype(dtype)
    before = p.data.copy()
    p.grad = g.copy()
    tl.optim.SGD([p], lr=0.25).step()
    want = before - dtype(0.25) * g  # 0.25 * g is exact: one rounding either way
    np.testing.assert_array_equal(p.data, want)
