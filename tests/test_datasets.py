"""``tl.data.Dataset``, ``TensorDataset``, ``Subset``, ``random_split``, ``default_collate`` and
``DataLoader(dataset, ...)`` (torch's style, ``y`` left out).

* a loader over ``TensorDataset(X, y)`` yields exactly the batches of ``DataLoader(X, y)`` with
  the same seed and settings (shuffle, drop_last, Poisson sampling, shards), and a plain
  map-style data set (no fast path) yields the same again;
* ``state_dict`` / ``load_state_dict`` resume a data-set loader exactly;
* ``default_collate`` and ``random_split``'s lengths agree with torch's;
* wrong arguments raise errors naming DataLoader / TensorDataset / random_split.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import Tensor, nn
from tinygrad_lite.data import DataLoader, Dataset, Subset, TensorDataset, default_collate, random_split

N = 23
RNG = np.random.default_rng(0)
X = RNG.standard_normal((N, 3))
Y = RNG.integers(0, 4, N)
W = RNG.standard_normal((N, 2, 2)).astype(np.float32)


class Rows(Dataset):
    """A map-style data set without the fast path: sample i built on demand."""

    def __init__(self, *arrays: np.ndarray) -> None:
        self.arrays = arrays

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, i: int) -> tuple:
        return tuple(a[i] for a in self.arrays)


class Plain:
    """Not a Dataset subclass: anything with __len__ and __getitem__ will do."""

    def __len__(self) -> int:
        return N

    def __getitem__(self, i: int) -> Any:
        return X[i]


def _batches(loader: Any) -> list:
    return [[np.asarray(t.data) for t in b] for b in loader]


def _same(a: list, b: list) -> None:
    assert len(a) == len(b)
    for ba, bb in zip(a, b):
        assert len(ba) == len(bb)
        for u, v in zip(ba, bb):
            assert u.dtype == v.dtype
            np.testing.assert_array_equal(u, v)


SETTINGS = [
    {"batch_size": 5, "shuffle": False},
    {"batch_size": 5, "shuffle": True, "seed": 3},
    {"batch_size": 4, "shuffle": True, "drop_last": True, "seed": 7},
    {"batch_size": 6, "sampling": "poisson", "seed": 11},
    {"batch_size": 5, "shuffle": True, "seed": 2, "shard": (1, 3)},
    {"batch_size": 9, "sampling": "poisson", "seed": 5, "shard": (0, 2)},
]


@pytest.mark.parametrize("kw", SETTINGS)
def test_a_tensor_dataset_yields_the_batches_of_x_and_y(kw: dict) -> None:
    ref = _batches(DataLoader(X, Y, **kw))
    for ds in (TensorDataset(X, Y), TensorDataset(Tensor(X), Tensor(Y)), Rows(X, Y)):
        loader = DataLoader(ds, **kw)
        assert len(loader) == len(DataLoader(X, Y, **kw))
        got = []
        for b in loader:
            assert isinstance(b, list) and all(isinstance(t, Tensor) and t._bs for t in b)
            got.append([np.asarray(t.data) for t in b])
        _same(got, ref)


def test_three_tensors_and_single_samples() -> None:
    loader = DataLoader(TensorDataset(X, Y, W), batch_size=4, seed=1)
    b = next(iter(loader))
    assert [t.shape for t in b] == [(4, 3), (4,), (4, 2, 2)] and b[2].dtype == np.float32
    xb = next(iter(DataLoader(Plain(), batch_size=4, shuffle=False)))
    assert isinstance(xb, Tensor) and xb._bs
    np.testing.assert_array_equal(xb.data, X[:4])
    xb1 = next(iter(DataLoader(TensorDataset(X), batch_size=4, shuffle=False)))
    assert isinstance(xb1, list) and len(xb1) == 1  # torch: one field still gives a list


def test_state_dict_resumes_a_dataset_loader_exactly() -> None:
    for ds in (TensorDataset(X, Y), Rows(X, Y)):
        a = DataLoader(ds, batch_size=4, seed=9)
        _batches(a)  # one whole epoch
        it = iter(a)
        seen = [next(it), next(it)]
        state = a.state_dict()
        rest = _batches(it)
        b = DataLoader(ds, batch_size=4, seed=123)
        b.load_state_dict(state)
        _same(_batches(b), rest)
        assert len(seen) == 2 and len(rest) == len(a) - 2


def test_empty_poisson_batches_keep_the_sample_structure() -> None:
    class Dict(Dataset):
        def __len__(self) -> int:
            return 3

        def __getitem__(self, i: int) -> dict:
            return {"x": X[i], "pair": (Y[i], float(i))}

    for ds in (Dict(), TensorDataset(X[:3], Y[:3])):
        loader = DataLoader(ds, batch_size=1, sampling="poisson", seed=0)
        sizes = []
        for _ in range(40):
            for b in loader:
                xb = b["x"] if isinstance(b, dict) else b[0]
                sizes.append(xb.shape[0])
                if xb.shape[0] == 0:
                    assert xb.shape == (0, 3) and xb._bs
        assert 0 in sizes


def test_per_sample_gradients_from_a_dataset_loader() -> None:
    model = nn.Linear(3, 4, rng=0)
    xb, yb = next(iter(DataLoader(TensorDataset(X, Y), batch_size=6, seed=0)))
    nn.functional.cross_entropy(model(xb), yb).backward()
    assert model.weight.grad_sample.shape == (6, 4, 3)
    full = tl.data.accumulate_full_gradient(model, lambda a, b: nn.functional.cross_entropy(model(a), b),
                                            DataLoader(TensorDataset(X, Y), batch_size=5, seed=0))
    ref = tl.data.accumulate_full_gradient(model, lambda a, b: nn.functional.cross_entropy(model(a), b),
                                           DataLoader(X, Y, batch_size=N))
    for g, r in zip(full, ref):
        np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-14)


def test_collate_fn_is_used() -> None:
    seen = []

    def collate(samples: list) -> int:
        seen.append(len(samples))
        return len(samples)

    assert list(DataLoader(Rows(X, Y), batch_size=10, shuffle=False, collate_fn=collate)) == [10, 10, 3]
    assert list(DataLoader(TensorDataset(X), batch_size=20, shuffle=False, collate_fn=collate)) == [20, 3]
    assert seen == [10, 10, 3, 20, 3]


# ------------------------------------------------------------------------------- the data sets
def test_tensor_dataset_items_match_torch(torch: Any) -> None:
    ds, tds = TensorDataset(X, Y), torch.utils.data.TensorDataset(torch.tensor(X), torch.tensor(Y))
    assert len(ds) == len(tds) == N
    for i in (0, 5, -1):
        a, b = ds[i], tds[i]
        assert isinstance(a, tuple) and len(a) == 2
        np.testing.assert_array_equal(a[0].data, b[0].numpy())
        assert a[1].item() == b[1].item()
    assert isinstance(ds.tensors[0], Tensor)
    sub = Subset(ds, [4, 0, 7])
    assert len(sub) == 3
    np.testing.assert_array_equal(sub[1][0].data, X[0])
    np.testing.assert_array_equal(sub[[0, 2]][1].data, Y[[4, 7]])


@pytest.mark.parametrize("samples", [
    [(1, 2.5, True), (3, 4.0, False)],
    [{"a": np.ones(2, np.float32), "b": 1}, {"a": np.zeros(2, np.float32), "b": 2}],
    [np.arange(3), np.arange(3) + 1],
    [[1.0, np.float64(2.0)], [3.0, np.float64(4.0)]],
])
def test_default_collate_matches_torch(torch: Any, samples: list) -> None:
    from torch.utils.data import default_collate as torch_collate

    def flat(v: Any) -> list:
        if isinstance(v, dict):
            return [x for k in sorted(v) for x in flat(v[k])]
        if isinstance(v, (list, tuple)):
            return [x for e in v for x in flat(e)]
        return [np.asarray(v.data) if isinstance(v, Tensor) else v.numpy()]

    ours, theirs = default_collate(samples), torch_collate(samples)
    assert isinstance(ours, Tensor) if isinstance(theirs, torch.Tensor) else type(ours) is type(theirs)
    for a, b in zip(flat(ours), flat(theirs)):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("n, fracs", [(10, [0.7, 0.3]), (11, [0.5, 0.25, 0.25]), (7, [0.1, 0.2, 0.7]),
                                      (5, [1 / 3, 1 / 3, 1 / 3]), (10, [1, 0]), (3, [0, 1, 0])])
def test_random_split_lengths_match_torch(torch: Any, n: int, fracs: list) -> None:
    ds = TensorDataset(np.arange(n))
    parts = random_split(ds, fracs, generator=0)
    tparts = torch.utils.data.random_split(torch.utils.data.TensorDataset(torch.arange(n)), fracs)
    assert [len(p) for p in parts] == [len(p) for p in tparts]
    allidx = sorted(i for p in parts for i in p.indices)
    assert allidx == list(range(n))  # disjoint, covering
    again = random_split(ds, fracs, generator=0)
    assert [p.indices for p in parts] == [p.indices for p in again]
    ints = random_split(ds, [len(p) for p in parts], generator=np.random.default_rng(1))
    assert [len(p) for p in ints] == [len(p) for p in parts]
    tl.manual_seed(4)
    a = random_split(ds, fracs)
    tl.manual_seed(4)
    assert [p.indices for p in a] == [p.indices for p in random_split(ds, fracs)]


def test_a_split_trains_through_a_loader() -> None:
    train, val = random_split(TensorDataset(X, Y), [18, 5], generator=0)
    got = np.concatenate([b[1].data for b in DataLoader(train, batch_size=4, shuffle=False)])
    np.testing.assert_array_equal(got, Y[train.indices])
    got = np.concatenate([b[0].data for b in DataLoader(Subset(Rows(X, Y), val.indices), batch_size=2,
                                                        shuffle=False)])
    np.testing.assert_array_equal(got, X[val.indices])


# ------------------------------------------------------------------------------- bad arguments
@pytest.mark.parametrize("fn, exc, match", [
    (lambda: TensorDataset(X, Y[:5]), ValueError, r"TensorDataset: size mismatch .* \[\(23, 3\), \(5,\)\]"),
    (lambda: TensorDataset(), ValueError, "TensorDataset: give at least one tensor"),
    (lambda: TensorDataset(np.float64(1.0)), ValueError, "TensorDataset: tensor 0 has no sample axis"),
    (lambda: TensorDataset(X)[N], IndexError, "TensorDataset: cannot read index 23 of 23 samples"),
    (lambda: DataLoader(TensorDataset(X), y=Y), TypeError, r"DataLoader: with a dataset, leave y out .*batch_size"),
    (lambda: DataLoader(TensorDataset(X), Y), TypeError, "DataLoader: with a dataset, leave y out"),
    (lambda: DataLoader(TensorDataset(X[:0])), ValueError, r"DataLoader: the data set is empty \(len\(dataset\)"),
    (lambda: DataLoader(X, Y, collate_fn=list), TypeError, "DataLoader: collate_fn applies to a dataset"),
    (lambda: DataLoader(Rows(X), collate_fn=3), TypeError, "DataLoader: collate_fn must be callable"),
    (lambda: DataLoader(X), TypeError, "targets are required"),
    (lambda: DataLoader(Rows(X), batch_size=0), ValueError, "DataLoader: batch_size must be an int >= 1"),
    (lambda: random_split(TensorDataset(X), [10, 10]), ValueError, "random_split: the lengths .* summing to .* 23"),
    (lambda: random_split(TensorDataset(X), [1.5, -0.5]), ValueError, "random_split: fraction at index 0"),
    (lambda: random_split(TensorDataset(X), []), TypeError, "random_split: lengths must be a non-empty"),
    (lambda: default_collate([object()]), TypeError, "default_collate: samples must be"),
    (lambda: default_collate([np.zeros(2), np.zeros(3)]), ValueError, "default_collate: the samples' shapes"),
    (lambda: Dataset()[0], NotImplementedError, "Dataset: a Dataset subclass must define __getitem__"),
])
def test_bad_arguments_raise_naming_the_function(fn: Any, exc: type, match: str) -> None:
    with pytest.raises(exc, match=match):
        fn()


def test_array_likes_with_len_and_getitem_stay_inputs() -> None:
    """An object with ``__array__`` (a data frame, say) is read as X of DataLoader(X, y), as
    before data sets were accepted; alone it still asks for targets."""

    class Frame:
        def __init__(self, a: np.ndarray) -> None:
            self.a = a

        def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
            return self.a

        def __len__(self) -> int:
            return len(self.a)

        def __getitem__(self, key: Any) -> Any:
            raise KeyError(key)  # column lookup, as a data frame's

    _same(_batches(DataLoader(Frame(X), Y, batch_size=5, seed=1)), _batches(DataLoader(X, Y, batch_size=5, seed=1)))
    with pytest.raises(TypeError, match="targets are required"):
        DataLoader(Frame(X))


def test_an_empty_fraction_split_warns(torch: Any) -> None:
    with pytest.warns(UserWarning) as record:
        parts = random_split(TensorDataset(np.arange(2)), [0.9, 0.05, 0.05], generator=0)
    assert [str(w.message) for w in record] == [f"random_split: the split at index {i} is empty" for i in (1, 2)]
    with pytest.warns(UserWarning):
        tparts = torch.utils.data.random_split(torch.utils.data.TensorDataset(torch.arange(2)), [0.9, 0.05, 0.05])
    assert [len(p) for p in parts] == [len(p) for p in tparts] == [2, 0, 0]


def test_a_data_set_is_read_one_sample_per_batch_unless_told_as_torch() -> None:
    """torch's DataLoader(dataset) has batch_size=1; DataLoader(X, y) keeps the contract's 32."""
    X = np.arange(40, dtype=np.float32).reshape(40, 1)
    y = np.arange(40)
    for data in (tl.data.TensorDataset(tl.tensor(X), tl.tensor(y)), list(zip(X, y))):
        loader = tl.data.DataLoader(data)
        assert loader.batch_size == 1 and len(loader) == 40
        assert [tuple(b[0].shape) for b in loader][:2] == [(1, 1), (1, 1)]
        assert tl.data.DataLoader(data, batch_size=8).batch_size == 8
        assert len(tl.data.DataLoader(data, 16)) == 3
    loader = tl.data.DataLoader(X, y)
    assert loader.batch_size == 32 and len(loader) == 2
