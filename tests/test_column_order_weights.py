"""A large float32 Linear weight stepped by SGD from its gradient's factors on a batch of more
than 32 samples is kept in column (Fortran) order from then on (``optim.rules._column_order``):
the same values as a weight left in row order, every later step and read the same, and never
when something else holds the weight's array (then the array is updated in place as before)."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import _blas

needs_blas = pytest.mark.skipif(not _blas.available(), reason="numpy's bundled OpenBLAS was not found")


def _model(dtype: str = "float32") -> tl.nn.Module:
    tl.manual_seed(3)
    m = tl.nn.Sequential(tl.nn.Linear(300, 256), tl.nn.ReLU(), tl.nn.Linear(256, 10))
    return m.float() if dtype == "float32" else m


def _batches(B: int, n: int, dtype: str = "float32", seed: int = 4) -> list:
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((B, 300)).astype(dtype), rng.standard_normal((B, 10)).astype(dtype))
            for _ in range(n)]


def _train(m: tl.nn.Module, batches: list, **sgd) -> tl.optim.SGD:
    opt = tl.optim.SGD(m.parameters(), lr=0.05, **sgd)
    for x, y in batches:
        opt.zero_grad()
        tl.nn.functional.mse_loss(m(tl.Tensor(x)), tl.Tensor(y)).backward()
        opt.step()
    return opt


@needs_blas
@pytest.mark.parametrize("sgd", [{}, {"momentum": 0.9}, {"momentum": 0.9, "dampening": 0.3}])
def test_a_large_float32_weight_moves_to_column_order_with_the_values_of_one_left_in_row_order(sgd: dict) -> None:
    batches = _batches(64, 5)
    moved, held = _model(), _model()
    keep = [p.data for p in held.parameters()]  # (a kept array: that model's weights stay where they are)
    opt_m = _train(moved, batches, **sgd)
    opt_h = _train(held, batches, **sgd)
    w = moved[0].weight.data
    assert w.flags.f_contiguous and not w.flags.c_contiguous
    assert moved[2].weight.data.flags.c_contiguous  # (2,560 elements: below COLUMN_MIN)
    assert all(p.data is a for p, a in zip(held.parameters(), keep))
    assert held[0].weight.data.flags.c_contiguous
    for p, q in zip(moved.parameters(), held.parameters()):
        assert p.data.dtype == q.data.dtype == np.float32
        np.testing.assert_allclose(p.data, q.data, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(p.grad, q.grad, rtol=1e-5, atol=1e-6)
    if sgd:  # the momentum buffers hold the same values
        for p, q in zip(moved.parameters(), held.parameters()):
            np.testing.assert_allclose(opt_m.state[p]["momentum_buffer"], opt_h.state[q]["momentum_buffer"],
                                       rtol=1e-5, atol=1e-6)
    x, _ = batches[0]
    with tl.no_grad():
        np.testing.assert_allclose(moved(tl.Tensor(x)).data, held(tl.Tensor(x)).data, rtol=1e-4, atol=1e-5)


@needs_blas
def test_the_moved_weight_steps_as_the_formula_says() -> None:
    m = _model()
    (x, y), = _batches(48, 1)
    _train(m, [(x, y)])  # (the first step moves it)
    W = m[0].weight
    assert W.data.flags.f_contiguous
    before = W.data.astype(np.float64)
    opt = tl.optim.SGD(m.parameters(), lr=0.05)
    opt.zero_grad()
    tl.nn.functional.mse_loss(m(tl.Tensor(x)), tl.Tensor(y)).backward()
    opt.step()
    want = before - 0.05 * W.grad.astype(np.float64)
    np.testing.assert_allclose(W.data, want, rtol=1e-5, atol=1e-6)


@needs_blas
@pytest.mark.parametrize("case", ["small batch", "float64", "user array", "row view", "detached"])
def test_the_weight_stays_in_row_order_where_moving_would_not_pay_or_could_be_seen(case: str) -> None:
    dtype = "float64" if case == "float64" else "float32"
    m = _model(dtype)
    W = m[0].weight
    held = None
    if case == "user array":
        held = W.data
    elif case == "row view":
        held = W.data[0]
    elif case == "detached":
        held = W.detach()
    arr = held.data if isinstance(held, tl.Tensor) else held
    before = None if arr is None else np.array(arr)
    _train(m, _batches(32 if case == "small batch" else 64, 2, dtype))
    assert W.data.flags.c_contiguous
    if arr is not None:  # the holder sees each step, as with any in-place update
        assert np.shares_memory(arr, W.data)
        assert not np.array_equal(arr, before)
        np.testing.assert_array_equal(arr, W.data[0] if case == "row view" else W.data)


@needs_blas
def test_a_moved_weight_round_trips_through_a_checkpoint_and_training_goes_on_the_same() -> None:
    import io

    batches = _batches(64, 6)
    a = _model()
    opt_a = _train(a, batches[:3], momentum=0.9)
    assert a[0].weight.data.flags.f_contiguous
    buf = io.BytesIO()
    tl.save({"model": a.state_dict(), "opt": opt_a.state_dict()}, buf)
    buf.seek(0)
    ck = tl.load(buf)
    b = _model()
    b.load_state_dict(ck["model"])
    opt_b = tl.optim.SGD(b.parameters(), lr=0.05, momentum=0.9)
    opt_b.load_state_dict(ck["opt"])
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    for opt, m in ((opt_a, a), (opt_b, b)):
        for x, y in batches[3:]:
            opt.zero_grad()
            tl.nn.functional.mse_loss(m(tl.Tensor(x)), tl.Tensor(y)).backward()
            opt.step()
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-6, atol=1e-7)


@needs_blas
def test_axpy_takes_two_column_ordered_arrays_of_one_shape() -> None:
    rng = np.random.default_rng(5)
    for dtype in (np.float32, np.float64):
        x = np.asfortranarray(rng.standard_normal((80, 90)).astype(dtype))
        y = np.asfortranarray(rng.standard_normal((80, 90)).astype(dtype))
        want = y.astype(np.float64) + dtype(0.25) * x.astype(np.float64)
        assert _blas.axpy(0.25, x, y)
        assert y.flags.f_contiguous
        np.testing.assert_allclose(y, want, rtol=np.finfo(dtype).eps * 4, atol=np.finfo(dtype).eps * 4)
        z = np.asfortranarray(rng.standard_normal((90, 80)).astype(dtype))
        before = z.copy()
        assert not _blas.axpy(0.25, x, z)  # (same size, another shape: the elements would not line up)
        np.testing.assert_array_equal(z, before)



@needs_blas
def test_a_moved_weight_looks_row_ordered_to_views_layout_questions_and_pruning() -> None:
    torch = pytest.importorskip("torch")
    batches = _batches(64, 1)
    m = _model()
    _train(m, batches)
    W = m[0].weight
    assert W.data.flags.f_contiguous
    tw = torch.from_numpy(np.ascontiguousarray(W.data))
    assert W.is_contiguous() and W.stride() == tw.stride()  # (back in row order, as torch's weight)
    _train(m, batches)
    assert W.data.flags.f_contiguous  # (the next step moves it again)
    with tl.no_grad():
        W.view(-1)[:10] = 7.0  # a view, as torch's: the write reaches the weight
        W.flatten().mul_(2.0)
    np.testing.assert_array_equal(W.data.reshape(-1)[:10], 14.0)
    _train(m, batches)
    assert W.data.flags.f_contiguous
    c = W.contiguous()
    assert c is W
    _train(m, batches)
    assert W.data.flags.f_contiguous
    tl.nn.utils.prune.l1_unstructured(m[0], "weight", amount=0.5)
    assert (m[0].weight.data == 0).mean() == 0.5
