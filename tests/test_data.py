"""Tests of tl.data: DataLoader batching and shuffling, and the exact full-data gradient."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite.data import DataLoader, accumulate_full_gradient

# ----------------------------------------------------------------------------- helpers


def indexed_data(n: int) -> tuple[np.ndarray, np.ndarray]:
    """X row i is (i, -i) and y[i] = 10 * i, so every batch shows which samples it holds."""
    i = np.arange(n)
    return np.stack([i, -i], axis=1).astype(np.float64), 10 * i


def epoch_indices(loader: DataLoader) -> list[np.ndarray]:
    """The sample indices of each batch of one epoch, checking that X and y rows stay paired."""
    batches = []
    for xb, yb in loader:
        idx = xb.data[:, 0].astype(int)
        assert np.array_equal(yb.data, 10 * idx)
        assert np.array_equal(xb.data[:, 1], -idx)
        batches.append(idx)
    return batches


def make_model(seed: int = 0) -> Any:
    return tl.nn.Sequential(tl.nn.Linear(4, 8, rng=seed), tl.nn.Tanh(), tl.nn.Linear(8, 3, rng=seed + 1))


def regression_data(n: int = 103, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 4)), rng.normal(size=(n, 3))


def full_batch_gradient(model: Any, loss: Any) -> list[np.ndarray]:
    model.zero_grad()
    loss.backward()
    grads = [p.grad.copy() for p in model.parameters()]
    model.zero_grad()
    return grads


# ----------------------------------------------------------------------------- batching


@pytest.mark.parametrize("shuffle", [False, True])
def test_every_sample_exactly_once_per_epoch(shuffle: bool) -> None:
    X, y = indexed_data(103)
    loader = DataLoader(X, y, batch_size=10, shuffle=shuffle, seed=0)
    for _ in range(3):
        batches = epoch_indices(loader)
        assert [len(b) for b in batches] == [10] * 10 + [3]
        assert np.array_equal(np.sort(np.concatenate(batches)), np.arange(103))


def test_no_shuffle_keeps_order() -> None:
    X, y = indexed_data(25)
    loader = DataLoader(X, y, batch_size=10, shuffle=False)
    for _ in range(2):
        batches = epoch_indices(loader)
        assert [b.tolist() for b in batches] == [list(range(10)), list(range(10, 20)), list(range(20, 25))]


@pytest.mark.parametrize(("n", "batch_size"), [(100, 10), (100, 100), (7, 1), (1, 1)])
def test_no_smaller_last_batch_when_batch_size_divides(n: int, batch_size: int) -> None:
    loader = DataLoader(*indexed_data(n), batch_size=batch_size, seed=1)
    sizes = [len(b) for b in epoch_indices(loader)]
    assert sizes == [batch_size] * (n // batch_size)
    assert len(loader) == n // batch_size


def test_batch_larger_than_data_set() -> None:
    X, y = indexed_data(5)
    assert [len(b) for b in epoch_indices(DataLoader(X, y, batch_size=32))] == [5]
    dropping = DataLoader(X, y, batch_size=32, drop_last=True)
    assert len(dropping) == 0
    assert list(dropping) == []


def test_drop_last() -> None:
    X, y = indexed_data(103)
    loader = DataLoader(X, y, batch_size=10, shuffle=True, drop_last=True, seed=3)
    assert len(loader) == 10
    seen = set()
    for _ in range(4):
        batches = epoch_indices(loader)
        assert [len(b) for b in batches] == [10] * 10
        flat = np.concatenate(batches)
        assert len(np.unique(flat)) == 100
        seen.update(flat.tolist())
    assert seen == set(range(103))  # shuffling drops different samples in different epochs


@pytest.mark.parametrize("drop_last", [False, True])
def test_len_matches_the_batches_yielded(drop_last: bool) -> None:
    for n in range(1, 26):
        for batch_size in range(1, 9):
            loader = DataLoader(*indexed_data(n), batch_size=batch_size, drop_last=drop_last, seed=n)
            batches = list(loader)
            assert len(loader) == len(batches)
            expected = n // batch_size if drop_last else -(-n // batch_size)
            assert len(loader) == expected
            assert all(len(xb.data) == batch_size for xb, _ in batches[: n // batch_size])


def test_multidimensional_samples_keep_their_shape() -> None:
    X = np.arange(6 * 2 * 3, dtype=np.float64).reshape(6, 2, 3)
    y = np.arange(6 * 4).reshape(6, 4)
    xb, yb = next(iter(DataLoader(X, y, batch_size=4, shuffle=False)))
    assert xb.shape == (4, 2, 3) and yb.shape == (4, 4)
    assert np.array_equal(xb.data, X[:4]) and np.array_equal(yb.data, y[:4])


def test_batches_are_copies() -> None:
    X, y = indexed_data(4)
    for shuffle in (False, True):
        xb, yb = next(iter(DataLoader(X, y, batch_size=2, shuffle=shuffle, seed=0)))
        xb.data[...] = 99.0
        yb.data[...] = 99
    X0, y0 = indexed_data(4)
    assert np.array_equal(X, X0) and np.array_equal(y, y0)


# ----------------------------------------------------------------------------- shuffling


def test_same_seed_same_sequence_of_epochs() -> None:
    X, y = indexed_data(50)
    a = DataLoader(X, y, batch_size=8, seed=123)
    b = DataLoader(X, y, batch_size=8, seed=123)
    for _ in range(3):
        ea, eb = epoch_indices(a), epoch_indices(b)
        assert len(ea) == len(eb)
        assert all(np.array_equal(p, q) for p, q in zip(ea, eb))


def test_new_order_every_epoch() -> None:
    loader = DataLoader(*indexed_data(50), batch_size=8, seed=123)
    orders = [np.concatenate(epoch_indices(loader)).tolist() for _ in range(4)]
    assert len({tuple(o) for o in orders}) == 4
    assert all(o != list(range(50)) for o in orders)


def test_each_iter_call_is_its_own_epoch() -> None:
    loader = DataLoader(*indexed_data(50), batch_size=50, seed=5)
    first, second = iter(loader), iter(loader)
    a, b = next(first)[0].data, next(second)[0].data
    assert not np.array_equal(a, b)


def test_different_seeds_and_no_seed_give_different_orders() -> None:
    X, y = indexed_data(50)

    def order(seed: Any) -> list[int]:
        return np.concatenate(epoch_indices(DataLoader(X, y, batch_size=8, seed=seed))).tolist()

    assert order(1) != order(2)
    assert order(None) != order(None)  # fresh randomness: equal with probability 1/50!


def test_generator_seed() -> None:
    X, y = indexed_data(30)
    a = DataLoader(X, y, batch_size=7, seed=np.random.default_rng(9))
    b = DataLoader(X, y, batch_size=7, seed=np.random.default_rng(9))
    assert [x.tolist() for x in epoch_indices(a)] == [x.tolist() for x in epoch_indices(b)]


# ----------------------------------------------------------------------------- tensors and dtypes


def test_batches_are_batched_tensors_without_requires_grad() -> None:
    for xb, yb in DataLoader(*indexed_data(10), batch_size=4):
        for t in (xb, yb):
            assert isinstance(t, tl.Tensor)
            assert t.batched is True
            assert not t.requires_grad


@pytest.mark.parametrize(
    ("x_dtype", "y_dtype"),
    [(np.float32, np.int64), (np.float64, np.int32), (np.float32, np.float32), (np.float64, np.float64)],
)
def test_dtypes_are_kept(x_dtype: Any, y_dtype: Any) -> None:
    X = np.arange(12).reshape(6, 2).astype(x_dtype)
    y = np.arange(6).astype(y_dtype)
    for xb, yb in DataLoader(X, y, batch_size=4, seed=0):
        assert xb.dtype == x_dtype and xb.data.dtype == x_dtype
        assert yb.dtype == y_dtype and yb.data.dtype == y_dtype


def test_array_likes_and_tensors_are_accepted() -> None:
    X = [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
    y = [0, 1, 2]
    batches = list(DataLoader(X, y, batch_size=2, shuffle=False))
    assert np.array_equal(batches[0][0].data, np.array(X[:2]))
    assert batches[1][1].data.tolist() == [2]
    assert np.issubdtype(batches[0][1].dtype, np.integer)

    Xt = tl.Tensor(np.array(X, dtype=np.float32))
    yt = tl.Tensor(np.array(y))
    xb, yb = next(iter(DataLoader(Xt, yt, batch_size=3, shuffle=False)))
    assert xb.dtype == np.float32 and np.array_equal(xb.data, Xt.data)
    assert np.array_equal(yb.data, yt.data)


# ----------------------------------------------------------------------------- errors


def test_length_mismatch_names_both_lengths() -> None:
    with pytest.raises(ValueError, match=r"len\(X\) = 10.*len\(y\) = 9"):
        DataLoader(np.zeros((10, 2)), np.zeros(9))


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, 2.0, "3", None, True])
def test_bad_batch_size(batch_size: Any) -> None:
    with pytest.raises(ValueError, match="batch_size must be an int >= 1"):
        DataLoader(np.zeros((4, 2)), np.zeros(4), batch_size=batch_size)


def test_numpy_int_batch_size_is_fine() -> None:
    loader = DataLoader(np.zeros((4, 2)), np.zeros(4), batch_size=np.int64(3))
    assert len(loader) == 2 and loader.batch_size == 3 and type(loader.batch_size) is int


def test_empty_data() -> None:
    with pytest.raises(ValueError, match="empty"):
        DataLoader(np.zeros((0, 2)), np.zeros(0))


def test_y_is_required() -> None:
    with pytest.raises(TypeError, match="targets are required"):
        DataLoader(np.zeros((4, 2)), None)


def test_zero_dimensional_data() -> None:
    with pytest.raises(ValueError, match="sample axis"):
        DataLoader(np.float64(3.0), np.zeros(1))


@pytest.mark.parametrize("seed", [1.5, "seed", True])
def test_bad_seed(seed: Any) -> None:
    with pytest.raises(TypeError, match="seed"):
        DataLoader(np.zeros((4, 2)), np.zeros(4), seed=seed)


def test_repr() -> None:
    loader = DataLoader(np.zeros((103, 2)), np.zeros(103), batch_size=10)
    assert repr(loader) == "DataLoader(N=103, batch_size=10, shuffle=True, drop_last=False, batches=11)"
    assert loader.num_samples == 103


# ----------------------------------------------------------------------------- full-data gradient


@pytest.mark.parametrize("shuffle", [False, True])
def test_weighted_batch_gradients_give_the_exact_full_gradient(shuffle: bool) -> None:
    X, Y = regression_data(103)
    model = make_model()
    reference = full_batch_gradient(model, tl.nn.mse_loss(model(tl.Tensor(X, batched=True)), tl.Tensor(Y)))

    loader = DataLoader(X, Y, batch_size=10, shuffle=shuffle, seed=4)
    grads = accumulate_full_gradient(model, lambda xb, yb: tl.nn.mse_loss(model(xb), yb), loader)
    assert len(grads) == len(reference)
    for g, ref, p in zip(grads, reference, model.parameters()):
        assert g.shape == p.shape and g.dtype == np.float64
        np.testing.assert_allclose(g, ref, rtol=0, atol=1e-12)
        np.testing.assert_array_equal(p.grad, g)
        assert p.grad_sample is None


def test_plain_average_of_batch_means_is_not_the_full_gradient() -> None:
    X, Y = regression_data(103)
    model = make_model()
    reference = full_batch_gradient(model, tl.nn.mse_loss(model(tl.Tensor(X)), tl.Tensor(Y)))
    batch_means = []
    for xb, yb in DataLoader(X, Y, batch_size=10, shuffle=False):
        batch_means.append(full_batch_gradient(model, tl.nn.mse_loss(model(xb), yb)))
    naive = [np.mean([b[i] for b in batch_means], axis=0) for i in range(len(reference))]
    assert max(np.abs(n - r).max() for n, r in zip(naive, reference)) > 1e-6


def test_sum_reduction_gives_the_full_sum_gradient() -> None:
    X, Y = regression_data(103)
    model = make_model()
    reference = full_batch_gradient(model, tl.nn.mse_loss(model(tl.Tensor(X)), tl.Tensor(Y), reduction="sum"))
    loader = DataLoader(X, Y, batch_size=10, seed=0)
    grads = accumulate_full_gradient(
        model, lambda xb, yb: tl.nn.mse_loss(model(xb), yb, reduction="sum"), loader, reduction="sum"
    )
    for g, ref in zip(grads, reference):
        np.testing.assert_allclose(g, ref, rtol=1e-13, atol=1e-12)


def test_full_gradient_replaces_existing_grads_and_accepts_a_parameter_list() -> None:
    X, Y = regression_data(37)
    model = make_model()
    reference = full_batch_gradient(model, tl.nn.mse_loss(model(tl.Tensor(X)), tl.Tensor(Y)))
    params = model.parameters()
    for p in params:
        p.grad = np.full(p.shape, 1e3)
    batches = list(DataLoader(X, Y, batch_size=5, seed=2))  # any iterable of (xb, yb) works
    grads = accumulate_full_gradient(params, lambda xb, yb: tl.nn.mse_loss(model(xb), yb), batches)
    for g, ref, p in zip(grads, reference, params):
        np.testing.assert_allclose(g, ref, rtol=0, atol=1e-12)
        np.testing.assert_array_equal(p.grad, g)
    grads[0][...] = 0.0  # the returned arrays are copies
    assert np.abs(params[0].grad).max() > 0


def test_full_gradient_with_integer_labels() -> None:
    if not hasattr(tl.nn, "cross_entropy"):
        pytest.skip("tinygrad_lite.nn.cross_entropy is not available")
    rng = np.random.default_rng(7)
    X, labels = rng.normal(size=(53, 4)), rng.integers(0, 3, size=53)
    model = make_model(3)
    reference = full_batch_gradient(model, tl.nn.cross_entropy(model(tl.Tensor(X)), labels))
    loader = DataLoader(X, labels, batch_size=8, seed=1)
    _, yb = next(iter(loader))
    assert np.issubdtype(yb.dtype, np.integer)
    grads = accumulate_full_gradient(model, lambda xb, yb: tl.nn.cross_entropy(model(xb), yb), loader)
    for g, ref in zip(grads, reference):
        np.testing.assert_allclose(g, ref, rtol=0, atol=1e-12)


def test_full_gradient_errors() -> None:
    X, Y = regression_data(103)
    model = make_model()

    def loss_fn(xb: Any, yb: Any) -> Any:
        return tl.nn.mse_loss(model(xb), yb)

    with pytest.raises(ValueError, match="drop_last"):
        accumulate_full_gradient(model, loss_fn, DataLoader(X, Y, batch_size=10, drop_last=True))
    with pytest.raises(ValueError, match="reduction"):
        accumulate_full_gradient(model, loss_fn, DataLoader(X, Y), reduction="max")
    with pytest.raises(ValueError, match="no batches"):
        accumulate_full_gradient(model, loss_fn, [])
    with pytest.raises(ValueError, match="no parameters"):
        accumulate_full_gradient([], loss_fn, DataLoader(X, Y))
    with pytest.raises(TypeError, match="requires_grad"):
        accumulate_full_gradient([tl.Tensor(np.ones(2))], loss_fn, DataLoader(X, Y))
    with pytest.raises(ValueError, match="one-element"):
        accumulate_full_gradient(model, lambda xb, yb: model(xb), DataLoader(X, Y))
    # drop_last that drops nothing is fine
    accumulate_full_gradient(model, loss_fn, DataLoader(X[:100], Y[:100], batch_size=10, drop_last=True))


def test_minibatch_sgd_trains() -> None:
    X, _ = regression_data(200, seed=5)
    teacher = make_model(40)
    Y = teacher(tl.Tensor(X)).data
    model = make_model(0)

    def loss_of() -> float:
        return float(tl.nn.mse_loss(model(tl.Tensor(X)), tl.Tensor(Y)).data)

    start = loss_of()
    loader = DataLoader(X, Y, batch_size=32, seed=0)
    for _ in range(10):
        for xb, yb in loader:
            model.zero_grad()
            tl.nn.mse_loss(model(xb), yb).backward()
            for p in model.parameters():
                p.data -= 0.05 * p.grad
    assert loss_of() < 0.5 * start
