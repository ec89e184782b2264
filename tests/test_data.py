"""Tests of tl.data: DataLoader batching and shuffling, and the exact full-data gradient."""

from __future__ import annotations

from pathlib import Path
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


# ----------------------------------------------------------------------------- argument checks


@pytest.mark.parametrize(("kwargs", "exc", "match"), [
    ({"shuffle": "yes"}, TypeError, "shuffle must be a bool"),
    ({"shuffle": 1}, TypeError, "shuffle must be a bool"),
    ({"drop_last": None}, TypeError, "drop_last must be a bool"),
    ({"sampling": "uniform"}, ValueError, "sampling must be 'shuffle' or 'poisson'"),
    ({"sampling": None}, ValueError, "sampling must be"),
    ({"sampling": "poisson", "drop_last": True}, ValueError, "drop_last"),
    ({"sampling": "poisson", "batch_size": 11}, ValueError, "batch_size <= len"),
    ({"shard": 3}, TypeError, "shard must be None or a pair of ints"),
    ({"shard": (0,)}, TypeError, "shard must be None or a pair"),
    ({"shard": (0.0, 2)}, TypeError, "shard"),
    ({"shard": (True, 2)}, TypeError, "shard"),
    ({"shard": (2, 2)}, ValueError, "0 <= rank < world_size"),
    ({"shard": (-1, 2)}, ValueError, "0 <= rank < world_size"),
    ({"shard": (0, 0)}, ValueError, "world_size >= 1"),
    ({"shard": (0, 2)}, ValueError, "needs seed="),  # shuffled and no seed
    ({"shard": (1, 2), "sampling": "poisson", "shuffle": False, "batch_size": 5}, ValueError, "needs seed="),
])
def test_bad_arguments_name_the_argument(kwargs: dict, exc: type, match: str) -> None:
    with pytest.raises(exc, match=match):
        DataLoader(*indexed_data(10), **kwargs)


def test_shards_without_randomness_or_of_a_world_of_one_need_no_seed() -> None:
    X, y = indexed_data(10)
    assert len(DataLoader(X, y, batch_size=4, shuffle=False, shard=(1, 2))) == 3
    assert len(DataLoader(X, y, batch_size=4, shard=(0, 1))) == 3
    assert DataLoader(X, y, batch_size=4, shard=[np.int64(1), np.int64(3)], seed=0).shard == (1, 3)


# ----------------------------------------------------------------------------- shards


def parts(loader: DataLoader, epochs: int) -> list[list[np.ndarray]]:
    return [epoch_indices(loader) for _ in range(epochs)]


@pytest.mark.parametrize("world", [1, 2, 3, 5])
@pytest.mark.parametrize("kwargs", [
    {"shuffle": True}, {"shuffle": False}, {"drop_last": True}, {"sampling": "poisson"},
])
def test_shards_split_the_global_batch_every_rank_sees(world: int, kwargs: dict) -> None:
    X, y = indexed_data(23)
    glob = parts(DataLoader(X, y, batch_size=7, seed=11, **kwargs), 3)
    for rank in range(world):
        loader = DataLoader(X, y, batch_size=7, seed=11, shard=(rank, world), **kwargs)
        assert len(loader) == len(glob[0])  # global batches
        mine = parts(loader, 3)
        for epoch_glob, epoch_mine in zip(glob, mine):
            assert len(epoch_mine) == len(epoch_glob)
            for g, m in zip(epoch_glob, epoch_mine):
                assert np.array_equal(m, np.array_split(g, world)[rank])


def test_the_parts_of_the_ranks_make_up_the_global_batch() -> None:
    X, y = indexed_data(23)
    loaders = [iter(DataLoader(X, y, batch_size=7, seed=3, shard=(r, 3))) for r in range(3)]
    for xb, _ in DataLoader(X, y, batch_size=7, seed=3):
        pieces = [next(it)[0].data for it in loaders]
        assert [len(p) for p in pieces] == [len(a) for a in np.array_split(np.arange(len(xb.data)), 3)]
        np.testing.assert_array_equal(np.concatenate(pieces), xb.data)


def test_an_empty_part_is_an_empty_batched_tensor() -> None:
    X = np.arange(10, dtype=np.float32).reshape(5, 2)
    y = np.arange(5)
    batches = list(DataLoader(X, y, batch_size=5, shuffle=False, shard=(7, 8)))
    assert len(batches) == 1
    xb, yb = batches[0]
    assert xb.shape == (0, 2) and yb.shape == (0,)
    assert xb.batched and yb.batched and xb.dtype == np.float32 and np.issubdtype(yb.dtype, np.integer)


def test_sharded_full_gradient_adds_up_over_the_ranks() -> None:
    """Each rank's exact gradient over its shard, weighted by its sample count, sums to the full gradient."""
    X, Y = regression_data(103)
    model = make_model()
    reference = full_batch_gradient(model, tl.nn.mse_loss(model(tl.Tensor(X, batched=True)), tl.Tensor(Y)))
    world, total = 4, [np.zeros_like(r) for r in reference]
    for rank in range(world):
        # the last global batch has 3 rows: one rank's part of it is empty
        loader = DataLoader(X, Y, batch_size=10, seed=1, shard=(rank, world))
        n_rank = sum(len(xb.data) for xb, _ in DataLoader(X, Y, batch_size=10, seed=1, shard=(rank, world)))
        grads = accumulate_full_gradient(model, lambda xb, yb: tl.nn.mse_loss(model(xb), yb), loader)
        for t, g in zip(total, grads):
            t += n_rank * g
    for t, r in zip(total, reference):
        np.testing.assert_allclose(t / 103, r, rtol=0, atol=1e-12)


# ----------------------------------------------------------------------------- Poisson sampling


def test_poisson_batches() -> None:
    X, y = indexed_data(200)
    loader = DataLoader(X, y, batch_size=20, sampling="poisson", seed=0)
    assert loader.sample_rate == 0.1 and len(loader) == 10
    sizes, counts = [], np.zeros(200)
    for _ in range(50):
        batches = epoch_indices(loader)  # also checks that rows of X and y stay paired
        assert len(batches) == 10
        for b in batches:
            assert len(np.unique(b)) == len(b)  # without replacement within a batch
            sizes.append(len(b))
            counts[b] += 1
    sizes = np.array(sizes)
    # a sample is in each batch independently with probability q = 0.1: the size of a batch is
    # Binomial(200, 0.1), mean 20 and variance 18 (a fixed-size batch would have variance 0)
    assert abs(sizes.mean() - 20) < 5 * np.sqrt(18 / 500)
    assert 14 < sizes.var() < 22
    assert counts.min() > 20 and counts.max() < 85  # every sample Binomial(500, 0.1): mean 50


def test_poisson_same_seed_same_batches_and_empty_batches() -> None:
    X, y = indexed_data(10)
    a = DataLoader(X, y, batch_size=1, sampling="poisson", seed=4)
    b = DataLoader(X, y, batch_size=1, sampling="poisson", seed=4)
    ea, eb = parts(a, 5), parts(b, 5)
    assert [[x.tolist() for x in e] for e in ea] == [[x.tolist() for x in e] for e in eb]
    assert ea[0] != ea[1] or any(not np.array_equal(p, q) for p, q in zip(ea[0], ea[1]))
    empties = [xb for _ in range(5) for xb, _ in a if xb.shape[0] == 0]
    assert empties and all(xb.shape == (0, 2) and xb.batched for xb in empties)  # P(empty) = 0.9**10 = 0.35


def test_poisson_loader_is_not_a_full_gradient_loader() -> None:
    X, Y = regression_data(50)
    model = make_model()
    with pytest.raises(ValueError, match="poisson"):
        accumulate_full_gradient(model, lambda xb, yb: tl.nn.mse_loss(model(xb), yb),
                                 DataLoader(X, Y, batch_size=10, sampling="poisson", seed=0))


def test_repr_shows_sampling_and_shard() -> None:
    loader = DataLoader(np.zeros((20, 2)), np.zeros(20), batch_size=5, sampling="poisson", seed=0,
                        shard=(1, 2))
    assert repr(loader) == ("DataLoader(N=20, batch_size=5, shuffle=True, drop_last=False, "
                            "sampling='poisson', shard=(1, 2), batches=4)")


# ----------------------------------------------------------------------------- state_dict


def batch_list(it: Any, count: int) -> list[list[int]]:
    out = []
    for _ in range(count):
        xb, _ = next(it)
        out.append(xb.data[:, 0].astype(int).tolist())
    return out


def rest_of_run(loader: DataLoader, epochs: int) -> list[list[int]]:
    """What the loader yields from now on: the rest of an epoch under way (one ``iter``), then more epochs."""
    return [xb.data[:, 0].astype(int).tolist() for _ in range(epochs) for xb, _ in loader]


@pytest.mark.parametrize("kwargs", [
    {"shuffle": True}, {"shuffle": False}, {"drop_last": True}, {"sampling": "poisson"},
    {"shard": (1, 3)}, {"sampling": "poisson", "shard": (2, 3)},
])
@pytest.mark.parametrize("stop", [0, 1, 4, 5])
def test_state_dict_resumes_mid_epoch_exactly(tmp_path: Path, kwargs: dict, stop: int) -> None:
    X, y = indexed_data(53)
    loader = DataLoader(X, y, batch_size=10, seed=21, **kwargs)  # 5 or 6 batches per epoch
    for _ in range(2):
        list(loader)
    it = iter(loader)
    batch_list(it, stop)
    tl.save({"loader": loader.state_dict()}, tmp_path / "ckpt.npz")
    expected_rest = rest_of_run_from(it, loader, 2)

    resumed = DataLoader(X, y, batch_size=10, seed=999, **kwargs)  # another seed: the state decides
    resumed.load_state_dict(tl.load(tmp_path / "ckpt.npz")["loader"])
    assert resumed.epoch == 3
    assert resumed.state_dict()["batch"] == stop
    got = [xb.data[:, 0].astype(int).tolist() for xb, _ in resumed]  # the rest of epoch 3
    got += rest_of_run(resumed, 2)
    assert got == expected_rest
    assert resumed.epoch == 5


def rest_of_run_from(it: Any, loader: DataLoader, epochs: int) -> list[list[int]]:
    rest = [xb.data[:, 0].astype(int).tolist() for xb, _ in it]
    return rest + rest_of_run(loader, epochs)


def test_state_dict_at_an_epoch_boundary_and_before_any_epoch() -> None:
    X, y = indexed_data(30)
    fresh = DataLoader(X, y, batch_size=7, seed=5)
    state0 = fresh.state_dict()
    a = DataLoader(X, y, batch_size=7, seed=6)
    a.load_state_dict(state0)
    assert rest_of_run(a, 2) == rest_of_run(fresh, 2)
    state2 = fresh.state_dict()  # after two whole epochs
    assert state2["epoch"] == 2 and state2["batch"] == 5 and state2["epoch_done"]
    b = DataLoader(X, y, batch_size=7, seed=7)
    b.load_state_dict(state2)
    assert rest_of_run(b, 2) == rest_of_run(fresh, 2)


def test_state_dict_holds_plain_values_and_is_a_copy() -> None:
    X, y = indexed_data(30)
    loader = DataLoader(X, y, batch_size=7, seed=5)
    state = loader.state_dict()
    assert state["rng"]["bit_generator"] == "PCG64" and isinstance(state["rng"]["state"]["state"], int)
    list(loader)
    assert loader.state_dict()["rng"] != state["rng"]


def test_state_dict_with_a_generator_of_another_kind(tmp_path: Path) -> None:
    X, y = indexed_data(30)
    loader = DataLoader(X, y, batch_size=7, seed=np.random.Generator(np.random.MT19937(3)))
    it = iter(loader)
    batch_list(it, 2)
    tl.save(loader.state_dict(), tmp_path / "s.npz")
    expected = rest_of_run_from(it, loader, 1)
    resumed = DataLoader(X, y, batch_size=7, seed=np.random.Generator(np.random.MT19937(4)))
    resumed.load_state_dict(tl.load(tmp_path / "s.npz"))
    assert rest_of_run(resumed, 2) == expected
    with pytest.raises(ValueError, match="rng is not a PCG64 random state"):
        DataLoader(X, y, batch_size=7, seed=0).load_state_dict(tl.load(tmp_path / "s.npz"))


@pytest.mark.parametrize(("change", "exc", "match"), [
    (lambda s: s.update(batch_size=8), ValueError, "batch_size=8"),
    (lambda s: s.update(num_samples=31), ValueError, "num_samples"),
    (lambda s: s.update(sampling="poisson"), ValueError, "sampling"),
    (lambda s: s.update(shuffle=False), ValueError, "shuffle"),
    (lambda s: s.update(format="other"), ValueError, "not a DataLoader state"),
    (lambda s: s.pop("rng"), KeyError, "missing entries"),
    (lambda s: s.update(batch=6), ValueError, "batch must be an int in 0..5"),
    (lambda s: s.update(batch=-1), ValueError, "batch must be"),
    (lambda s: s.update(epoch=-1), ValueError, "epoch must be an int >= 0"),
    (lambda s: s.update(epoch=1.5), ValueError, "epoch must be"),
    (lambda s: s.update(epoch=0), ValueError, "epoch_done must be a bool"),
    (lambda s: s.update(epoch_done=None), ValueError, "epoch_done must be a bool"),
    (lambda s: s["rng"]["state"].pop("inc"), ValueError, "rng is not a valid PCG64 state"),
    (lambda s: s.update(epoch_rng="x"), ValueError, "epoch_rng"),
])
def test_load_state_dict_errors_change_nothing(change: Any, exc: type, match: str) -> None:
    X, y = indexed_data(30)
    loader = DataLoader(X, y, batch_size=7, seed=5)
    twin = DataLoader(X, y, batch_size=7, seed=5)
    it, twin_it = iter(loader), iter(twin)
    assert batch_list(it, 2) == batch_list(twin_it, 2)
    bad = loader.state_dict()
    change(bad)
    with pytest.raises(exc, match=match):
        loader.load_state_dict(bad)
    assert loader.state_dict()["batch"] == 2 and loader.epoch == 1
    assert rest_of_run_from(it, loader, 1) == rest_of_run_from(twin_it, twin, 1)
    with pytest.raises(TypeError, match="must be a dict"):
        loader.load_state_dict([1, 2])


@pytest.mark.parametrize("source", ["arrays", "tensordataset", "collate"])
def test_batches_hold_the_gathered_rows_without_a_second_copy(source: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch is a batched Tensor on the array gathered for it (no Tensor() copy of that copy),
    with its own memory: a later change of the data set's arrays leaves it as it was."""
    X, y = indexed_data(10)
    if source == "arrays":
        loader = DataLoader(X, y, batch_size=4, shuffle=True, seed=0)
    elif source == "tensordataset":
        loader = DataLoader(tl.data.TensorDataset(tl.Tensor(X), tl.Tensor(y)), batch_size=4, shuffle=True)
    else:
        samples = [(X[i], y[i]) for i in range(10)]
        loader = DataLoader(samples, batch_size=4, shuffle=True)
    made = []
    real_init = tl.Tensor.__init__

    def counting(self: Any, *args: Any, **kwargs: Any) -> None:
        made.append(args[0] if args else kwargs.get("data"))
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(tl.Tensor, "__init__", counting)
    batches = [tuple(b) for b in loader]
    monkeypatch.undo()
    assert made == []  # no Tensor() call: every batch array was taken as it was made
    seen = []
    for xb, yb in batches:
        assert xb.batched and yb.batched and xb.data.flags.writeable
        assert not np.shares_memory(xb.data, X) and not np.shares_memory(yb.data, y)
        rows = xb.data[:, 0].astype(int)
        np.testing.assert_array_equal(xb.data, X[rows])
        np.testing.assert_array_equal(yb.data, y[rows])
        seen.append(xb.data.copy())
    X[...] = -1.0
    for (xb, _), before in zip(batches, seen):
        np.testing.assert_array_equal(xb.data, before)
