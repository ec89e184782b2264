"""A large Linear weight's gradient kept as its factors G^T X by a backward without batched
inputs too, and SGD applying it from the factors (one BLAS call: ``_blas.tmm_update``):
the same steps and gradients as with the gradient multiplied out, and as torch."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import _blas
from tinygrad_lite.lazygrad import LazyGrad

needs_blas = pytest.mark.skipif(not _blas.available(), reason="numpy's bundled OpenBLAS was not found")


def _mlp(seed: int, dtype: str) -> tl.nn.Module:
    tl.manual_seed(seed)
    m = tl.nn.Sequential(tl.nn.Linear(100, 64), tl.nn.ReLU(), tl.nn.Linear(64, 80), tl.nn.ReLU(), tl.nn.Linear(80, 3))
    return m.float() if dtype == "float32" else m


def _train(dtype: str, B: int, read_first: bool, batched: bool = False, accumulate: int = 1, **sgd) -> tuple:
    """Weights after 4 SGD steps and the gradients of the last one (read after its step);
    ``read_first``: every .grad is read before each step (so the step gets plain arrays)."""
    m = _mlp(0, dtype)
    opt = tl.optim.SGD(m.parameters(), lr=0.05, **sgd)
    rng = np.random.default_rng(1)
    for _ in range(4):
        opt.zero_grad()
        for _ in range(accumulate):
            x = rng.standard_normal((B, 100)).astype(dtype)
            y = rng.standard_normal((B, 3)).astype(dtype)
            tl.nn.functional.mse_loss(m(tl.Tensor(x, batched=batched)), tl.Tensor(y, batched=batched)).backward()
        if read_first:
            for p in m.parameters():
                assert type(p.grad) is np.ndarray
        opt.step()
    return [p.data.copy() for p in m.parameters()], [p.grad.copy() for p in m.parameters()]


def test_a_backward_without_batched_inputs_keeps_large_weight_gradients_of_sgd_as_factors() -> None:
    m = _mlp(0, "float64")
    x = tl.Tensor(np.random.default_rng(0).standard_normal((5, 100)))
    m(x).sum().backward()  # no optimizer applies factors: every gradient multiplied out at once
    assert all(p._lazy is None and type(p._grad) is np.ndarray for p in m.parameters())
    want = m[0].weight.grad.copy()
    tl.optim.Adam(m.parameters(), lr=1e-3)  # (Adam reads .grad)
    m.zero_grad()
    m(x).sum().backward()
    assert m[0].weight._lazy is None
    for kw in ({"weight_decay": 0.1}, {"momentum": 0.9, "nesterov": True}, {"maximize": True}):
        m = _mlp(0, "float64")
        tl.optim.SGD(m.parameters(), lr=0.1, **kw)  # SGD rules that read .grad
        m(x).sum().backward()
        assert m[0].weight._lazy is None
    m = _mlp(0, "float64")
    tl.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    m(x).sum().backward()
    w1, w3 = m[0].weight, m[4].weight
    assert w1._lazy is not None and w1._grad is None  # 6400 elements: kept as factors
    assert w3._lazy is None and type(w3._grad) is np.ndarray  # 240 elements: multiplied out at once
    g = w1.grad  # the first read multiplies it out
    assert type(g) is np.ndarray and w1._lazy is None and g.shape == (64, 100) and g.dtype == np.float64
    np.testing.assert_allclose(g, want, rtol=1e-13)


@needs_blas
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("B", [1, 7])
@pytest.mark.parametrize("sgd", [{}, {"momentum": 0.9}, {"momentum": 0.9, "dampening": 0.3},
                                 {"momentum": 0.9, "nesterov": True}, {"weight_decay": 0.01}, {"maximize": True}])
def test_sgd_from_factors_equals_sgd_from_the_multiplied_out_gradient(dtype: str, B: int, sgd: dict) -> None:
    for batched in (False, True):
        for accumulate in (1, 2):  # two backward calls before a step: a gradient of two factor pairs
            w_f, g_f = _train(dtype, B, False, batched, accumulate, **sgd)
            w_e, g_e = _train(dtype, B, True, batched, accumulate, **sgd)
            tol = 1e-12 if dtype == "float64" else 2e-5
            for a, b in zip(w_f + g_f, w_e + g_e):
                assert a.dtype == b.dtype == np.dtype(dtype)
                np.testing.assert_allclose(a, b, rtol=tol, atol=tol * np.abs(b).max())


@needs_blas
def test_sgd_steps_from_factors_match_torch_and_grad_stays_readable_after_the_step() -> None:
    torch = pytest.importorskip("torch")
    m = _mlp(3, "float64")
    tm = torch.nn.Sequential(torch.nn.Linear(100, 64), torch.nn.ReLU(), torch.nn.Linear(64, 80), torch.nn.ReLU(),
                             torch.nn.Linear(80, 3)).double()
    with torch.no_grad():
        for p, q in zip(m.parameters(), tm.parameters()):
            q.copy_(torch.tensor(p.data))
    opt = tl.optim.SGD(m.parameters(), lr=0.1, momentum=0.5)
    topt = torch.optim.SGD(tm.parameters(), lr=0.1, momentum=0.5)
    rng = np.random.default_rng(2)
    for B in (1, 4, 1, 9):
        x, y = rng.standard_normal((B, 100)), rng.standard_normal((B, 3))
        opt.zero_grad()
        tl.nn.functional.mse_loss(m(tl.Tensor(x)), tl.Tensor(y)).backward()
        assert m[0].weight._lazy is not None
        opt.step()
        topt.zero_grad()
        torch.nn.functional.mse_loss(tm(torch.tensor(x)), torch.tensor(y)).backward()
        topt.step()
        for p, q in zip(m.parameters(), tm.parameters()):
            np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-12, atol=1e-14)
            np.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=1e-12, atol=1e-14)


@needs_blas
def test_a_factor_in_a_parameters_memory_is_multiplied_out_before_any_update() -> None:
    """The input of the second Linear is the first weight itself: applying the second weight's
    factors after the first weight's update would read the new values."""
    rng = np.random.default_rng(4)
    a = tl.nn.Parameter(tl.Tensor(rng.standard_normal((70, 90))))
    b = tl.nn.Parameter(tl.Tensor(rng.standard_normal((80, 90))))
    a0, b0 = a.data.copy(), b.data.copy()
    opt = tl.optim.SGD([a, b], lr=1e-3)
    out = tl.nn.functional.linear(a, b)  # (70, 80): x = a, so b's gradient is G^T a
    (out * out).sum().backward()
    assert b._lazy is not None
    ga, gb = 2 * a0 @ b0.T @ b0, 2 * (a0 @ b0.T).T @ a0  # d/da, d/db of |a b^T|^2
    opt.step()
    np.testing.assert_allclose(a.data, a0 - 1e-3 * ga, rtol=1e-12)
    np.testing.assert_allclose(b.data, b0 - 1e-3 * gb, rtol=1e-12)
    np.testing.assert_allclose(b.grad, gb, rtol=1e-12)


def test_an_in_place_write_into_the_input_after_backward_leaves_the_kept_gradient_as_computed() -> None:
    m = _mlp(5, "float64")
    tl.optim.SGD(m.parameters(), lr=0.1)
    x = tl.Tensor(np.random.default_rng(5).standard_normal((6, 100)))
    m(x).sum().backward()
    assert m[0].weight._lazy is not None
    m2 = _mlp(5, "float64")
    m2(tl.Tensor(x.data.copy())).sum().backward(per_sample=False)
    want = m2[0].weight.grad
    x.mul_(3.0)  # changes the factor X of m[0].weight's gradient
    np.testing.assert_array_equal(m[0].weight.grad, want)


@pytest.mark.parametrize("batched", [False, True])
def test_a_tensor_hook_on_a_weight_sees_its_gradient_and_may_replace_it(batched: bool) -> None:
    m = _mlp(6, "float64")
    tl.optim.SGD(m.parameters(), lr=0.1)  # (its large weights keep their gradients as factors)
    x = tl.Tensor(np.random.default_rng(6).standard_normal((4, 100)), batched=batched)
    ref = _mlp(6, "float64")
    ref(tl.Tensor(x.data)).sum().backward(per_sample=False)
    seen = []

    def hook(g: tl.Tensor) -> tl.Tensor:
        seen.append(g.numpy().copy())
        return g * 2

    m[0].weight.register_hook(hook)
    m(x).sum().backward()
    assert len(seen) == 1 and seen[0].shape == (64, 100)
    np.testing.assert_allclose(seen[0], ref[0].weight.grad, rtol=1e-12)
    np.testing.assert_allclose(m[0].weight.grad, 2 * ref[0].weight.grad, rtol=1e-12)


@needs_blas
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tmm_update_is_alpha_gt_x_plus_beta_c(dtype: type) -> None:
    rng = np.random.default_rng(7)
    tol = 1e-5 if dtype == np.float32 else 1e-13
    for k in (0, 1, 2, 33):
        for beta in (1.0, 0.0, 0.7):
            G = rng.standard_normal((k, 70)).astype(dtype)
            X = rng.standard_normal((k, 90)).astype(dtype)
            C = rng.standard_normal((70, 90)).astype(dtype)
            if beta == 0.0:
                C[0, 0] = np.nan  # beta = 0 overwrites, as BLAS defines it
            want = -0.3 * G.T.astype(np.float64) @ X.astype(np.float64) + (0.0 if beta == 0 else beta * C)
            F = np.asfortranarray(C)  # (column order: updated in place as C^T <- alpha X^T G + beta C^T)
            assert _blas.tmm_update(-0.3, G, X, C, beta)
            np.testing.assert_allclose(C, want, rtol=tol, atol=tol * 10)
            assert _blas.tmm_update(-0.3, G, X, F, beta)
            assert F.flags.f_contiguous
            np.testing.assert_allclose(F, want, rtol=tol, atol=tol * 10)


@needs_blas
def test_tmm_update_refuses_what_blas_cannot_do_and_changes_nothing() -> None:
    rng = np.random.default_rng(8)
    G, X = rng.standard_normal((3, 70)), rng.standard_normal((3, 90))
    C = rng.standard_normal((70, 90))
    C0 = C.copy()
    big = rng.standard_normal((3, 180))
    shared = np.zeros((70 + 3, 90))
    cases = [
        (G.astype(np.float32), X, C),  # dtypes differ
        (G, big[:, ::2], C),  # X not contiguous
        (G, X, np.zeros((70, 180))[:, ::2]),  # C neither C- nor Fortran-contiguous
        (G, X[:2], C),  # rows differ
        (G, X, C[:, :80].copy()),  # C's shape does not fit
        (G, X, C[:10, :10].copy()),  # below MIN_SIZE
        (shared[70:, :70].copy(), shared[70:], shared[:70]),  # fine shapes: a control (no sharing)
    ]
    for G_, X_, C_ in cases[:-1]:
        before = C_.copy()
        assert not _blas.tmm_update(1.0, G_, X_, C_, 1.0)
        np.testing.assert_array_equal(C_, before)
    view = shared[:70]
    assert not _blas.tmm_update(1.0, shared[70:, :70].copy(), shared[:3], view, 1.0)  # X inside C's memory
    ro = C.copy()
    ro.flags.writeable = False
    assert not _blas.tmm_update(1.0, G, X, ro, 1.0)
    np.testing.assert_array_equal(C, C0)


def test_lazygrad_value_is_the_sum_of_its_products() -> None:
    rng = np.random.default_rng(9)
    parts = [(rng.standard_normal((k, 5)), rng.standard_normal((k, 6))) for k in (1, 4)]
    lg = LazyGrad(parts, (5, 6), np.float64)
    np.testing.assert_allclose(lg.value(), sum(G.T @ X for G, X in parts), rtol=1e-13)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_a_batched_input_without_per_sample_gradients_steps_from_the_factors_too(momentum):
    """backward(per_sample=False) over a batched input (a DataLoader batch) keeps an SGD-held
    weight's gradient as factors, as a plain input does, and the steps equal the plain ones."""
    rng = np.random.default_rng(3)
    X, Y = rng.standard_normal((6, 40, 128)), rng.standard_normal((6, 40, 64))
    models = []
    for batched in (False, True):
        m = tl.nn.Sequential(tl.nn.Linear(128, 64, rng=0))
        opt = tl.optim.SGD(m.parameters(), lr=0.05, momentum=momentum)
        for k, (x, y) in enumerate(zip(X, Y)):
            opt.zero_grad()
            tl.nn.mse_loss(m(tl.Tensor(x, batched=batched)), tl.Tensor(y, batched=batched)).backward(
                per_sample=False)
            if k == 0:
                assert m[0].weight._lazy and m[0].weight._grad is None  # kept as factors
            opt.step()
        models.append(m)
    np.testing.assert_allclose(models[1][0].weight.data, models[0][0].weight.data, rtol=1e-12, atol=1e-14)
    assert models[1][0].weight.grad_sample is None and models[1][0].weight.last_batch == (40, "mean")


@pytest.mark.parametrize("batched", [False, True])
def test_zero_grad_keeping_the_arrays_drops_kept_factors_without_multiplying_them_out(
        batched: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """zero_grad(set_to_none=False) leaves zeros of the weight's shape and dtype, and the next
    backward adds into them (the same gradient as after set_to_none=True)."""
    m = _mlp(0, "float32")
    opt = tl.optim.SGD(m.parameters(), lr=0.1)
    rng = np.random.default_rng(3)
    x = tl.Tensor(rng.standard_normal((8, 100)).astype("float32"), batched=batched)
    m(x).sum().backward()
    w = m[0].weight
    assert w._lazy is not None and w._grad is None

    def refuse(*args: object) -> None:
        raise AssertionError("the kept factors were multiplied out")

    with monkeypatch.context() as mp:
        mp.setattr(LazyGrad, "value", refuse)
        opt.zero_grad(set_to_none=False)
    assert w._lazy is None and w.grad.shape == (64, 100) and w.grad.dtype == np.float32 and not w.grad.any()
    assert all(p.grad is not None and not p.grad.any() for p in m.parameters())
    m(x).sum().backward()
    got = [p.grad.copy() for p in m.parameters()]
    opt.zero_grad()
    m(x).sum().backward()
    for g, p in zip(got, m.parameters()):
        np.testing.assert_array_equal(g, p.grad)
