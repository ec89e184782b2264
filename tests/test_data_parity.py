"""``tl.data`` against ``torch.utils.data``: a training script's data pipeline ports by renaming
the imports.

* deterministic results equal torch's: SequentialSampler, BatchSampler, DistributedSampler
  without shuffling (padding, drop_last, uneven sizes, several replicas), ConcatDataset /
  StackDataset indexing, IterableDataset / ChainDataset batching, default_collate structures,
  DataLoader's positional form and its sampler / batch_sampler batches;
* torch's keyword checks raise torch's exception types;
* random samplers: permutations, repeatable with a seed, weights' frequencies within a
  statistical bound (exact maths for the sampling without replacement);
* ``state_dict`` resumes loaders over the new samplers exactly, and refuses (naming it) what
  it cannot resume.
"""

from __future__ import annotations

import collections
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import data as D

torch = pytest.importorskip("torch")
TD = torch.utils.data

RNG = np.random.default_rng(0)
N = 11
X = RNG.standard_normal((N, 3))
Y = RNG.integers(0, 4, N)


def _np(v: Any) -> Any:
    """A batch as nested lists of numpy arrays (either library's Tensors)."""
    if isinstance(v, torch.Tensor):
        return v.numpy()
    if isinstance(v, tl.Tensor):
        return v.data
    if isinstance(v, dict):
        return {k: _np(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_np(x) for x in v]
    return v


def _same(a: Any, b: Any) -> None:
    a, b = _np(a), _np(b)
    if isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b)
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), (a, b)
        for x, y in zip(a, b):
            _same(x, y)
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape, (a, b)
        np.testing.assert_array_equal(a, b)
    else:
        assert a == b


def _pair() -> tuple:
    return D.TensorDataset(X, Y), TD.TensorDataset(torch.tensor(X), torch.tensor(Y))


# ------------------------------------------------------------------ deterministic samplers
@pytest.mark.parametrize("n", [1, 5, 11])
def test_sequential_sampler_matches_torch(n: int) -> None:
    src = list(range(n))
    assert list(D.SequentialSampler(src)) == list(TD.SequentialSampler(src))
    assert len(D.SequentialSampler(src)) == len(TD.SequentialSampler(src)) == n


@pytest.mark.parametrize("n", [1, 7, 9, 12])
@pytest.mark.parametrize("batch_size", [1, 3, 4, 20])
@pytest.mark.parametrize("drop_last", [False, True])
def test_batch_sampler_matches_torch(n: int, batch_size: int, drop_last: bool) -> None:
    ours = D.BatchSampler(D.SequentialSampler(range(n)), batch_size, drop_last)
    theirs = TD.BatchSampler(TD.SequentialSampler(range(n)), batch_size, drop_last)
    assert list(ours) == list(theirs)
    assert len(ours) == len(theirs)
    assert list(D.BatchSampler([5, 3, 8, 1, 0], 2, drop_last)) == list(TD.BatchSampler([5, 3, 8, 1, 0], 2,
                                                                                           drop_last))


@pytest.mark.parametrize("n", [1, 3, 10, 11, 13])
@pytest.mark.parametrize("replicas", [1, 2, 3, 4, 5, 8])
@pytest.mark.parametrize("drop_last", [False, True])
def test_distributed_sampler_without_shuffle_matches_torch(n: int, replicas: int, drop_last: bool) -> None:
    src = list(range(n))
    union: list = []
    for rank in range(replicas):
        ours = D.DistributedSampler(src, num_replicas=replicas, rank=rank, shuffle=False, drop_last=drop_last)
        theirs = TD.DistributedSampler(src, num_replicas=replicas, rank=rank, shuffle=False, drop_last=drop_last)
        got = list(ours)
        assert got == list(theirs)
        assert len(ours) == len(theirs) == len(got)
        assert (ours.num_samples, ours.total_size) == (theirs.num_samples, theirs.total_size)
        union += got
    if not drop_last:  # every sample, the first few again as padding
        assert set(union) == set(range(n)) and len(union) == math.ceil(n / replicas) * replicas
    else:  # no repeats, the tail left out
        assert len(set(union)) == len(union) and len(union) == replicas * len(list(ours))


@pytest.mark.parametrize("replicas", [2, 3])
def test_distributed_sampler_shuffles_the_same_permutation_on_every_rank(replicas: int) -> None:
    n = 12
    parts = [list(D.DistributedSampler(range(n), replicas, r, seed=5)) for r in range(replicas)]
    assert sorted(sum(parts, [])) == list(range(n))  # disjoint shares covering the data set
    assert parts[0] == list(D.DistributedSampler(range(n), replicas, 0, seed=5))  # repeatable
    s = D.DistributedSampler(range(n), replicas, 0, seed=5)
    s.set_epoch(1)
    assert list(s) != parts[0]  # a new order for a new epoch
    assert sorted(sum((list(D.DistributedSampler(range(n), replicas, r, seed=5)) for r in range(replicas)),
                      [])) == list(range(n))


def test_distributed_sampler_defaults_read_tl_distributed(monkeypatch: pytest.MonkeyPatch) -> None:
    from tinygrad_lite import distributed as dist
    monkeypatch.setattr(dist, "is_initialized", lambda: False)
    with pytest.raises(RuntimeError, match="DistributedSampler: .*dist.init"):
        D.DistributedSampler(range(10))
    monkeypatch.setattr(dist, "is_initialized", lambda: True)
    monkeypatch.setattr(dist, "world_size", lambda: 3)
    monkeypatch.setattr(dist, "rank", lambda: 2)
    s = D.DistributedSampler(range(10), shuffle=False)
    assert (s.num_replicas, s.rank) == (3, 2)
    assert list(s) == list(TD.DistributedSampler(range(10), 3, 2, shuffle=False))


@pytest.mark.parametrize("rank", [-1, 3])
def test_distributed_sampler_bad_rank_raises_as_torch(rank: int) -> None:
    with pytest.raises(ValueError):
        TD.DistributedSampler(range(10), 3, rank)
    with pytest.raises(ValueError, match="DistributedSampler: Invalid rank"):
        D.DistributedSampler(range(10), 3, rank)


# ------------------------------------------------------------------ data sets
def test_concat_dataset_indexes_as_torch() -> None:
    parts = [list(range(3)), list(range(10, 15)), [], list(range(20, 22))]
    ours, theirs = D.ConcatDataset(parts), TD.ConcatDataset(parts)
    assert len(ours) == len(theirs) and ours.cumulative_sizes == theirs.cumulative_sizes
    for i in range(-len(theirs), len(theirs)):
        assert ours[i] == theirs[i]
    with pytest.raises(ValueError):
        theirs[-len(theirs) - 1]
    with pytest.raises(ValueError, match="ConcatDataset: absolute value of index"):
        ours[-len(ours) - 1]
    with pytest.raises(IndexError, match="ConcatDataset: index 10 is out of range"):
        ours[len(ours)]
    a, b = D.TensorDataset(X[:4]), D.TensorDataset(X[4:])
    both = a + b
    assert isinstance(both, D.ConcatDataset)
    _same([both[i] for i in range(N)], [TD.ConcatDataset([TD.TensorDataset(torch.tensor(X[:4])),
                                                          TD.TensorDataset(torch.tensor(X[4:]))])[i]
                                        for i in range(N)])


def test_concat_dataset_batches_through_a_loader_as_torch() -> None:
    ours = D.ConcatDataset([D.TensorDataset(X[:4], Y[:4]), D.TensorDataset(X[4:], Y[4:])])
    theirs = TD.ConcatDataset([TD.TensorDataset(torch.tensor(X[:4]), torch.tensor(Y[:4])),
                               TD.TensorDataset(torch.tensor(X[4:]), torch.tensor(Y[4:]))])
    _same(list(D.DataLoader(ours, 3, False)), list(TD.DataLoader(theirs, 3, False)))


def test_stack_dataset_as_torch() -> None:
    a, b = list(range(5)), [x * 1.5 for x in range(5)]
    _same([D.StackDataset(a, b)[i] for i in range(5)], [TD.StackDataset(a, b)[i] for i in range(5)])
    assert D.StackDataset(x=a, y=b)[3] == TD.StackDataset(x=a, y=b)[3]
    assert len(D.StackDataset(a, b)) == len(TD.StackDataset(a, b)) == 5
    _same(list(D.DataLoader(D.StackDataset(x=a, y=b), 2, False)), list(TD.DataLoader(TD.StackDataset(x=a, y=b), 2)))
    for args, kwargs in [((a, b[:4]), {}), ((), {}), ((a,), {"y": b})]:
        with pytest.raises(ValueError):
            TD.StackDataset(*args, **kwargs)
        with pytest.raises(ValueError, match="StackDataset: "):
            D.StackDataset(*args, **kwargs)


class Stream(D.IterableDataset):
    def __init__(self, n: int, sized: bool = False) -> None:
        self.n, self.sized = n, sized

    def __iter__(self) -> Any:
        return iter({"x": np.full(2, i, dtype=np.float32), "i": i} for i in range(self.n))

    def __len__(self) -> int:
        if not self.sized:
            raise TypeError(f"object of type '{type(self).__name__}' has no len()")
        return self.n


class TStream(TD.IterableDataset):
    def __init__(self, n: int) -> None:
        self.n = n

    def __iter__(self) -> Any:
        return iter({"x": np.full(2, i, dtype=np.float32), "i": i} for i in range(self.n))


class TSized(TStream):
    def __len__(self) -> int:
        return self.n


@pytest.mark.parametrize("n, batch_size, drop_last", [(7, 3, False), (7, 3, True), (6, 3, True), (2, 5, False)])
def test_iterable_dataset_batches_in_its_order_as_torch(n: int, batch_size: int, drop_last: bool) -> None:
    ours = D.DataLoader(Stream(n, sized=True), batch_size=batch_size, drop_last=drop_last)
    theirs = TD.DataLoader(TSized(n), batch_size=batch_size, drop_last=drop_last)
    _same(list(ours), list(theirs))
    assert len(ours) == len(theirs)
    # num_workers: loading stays in this process and gives the same batches
    _same(list(D.DataLoader(Stream(n), batch_size=batch_size, drop_last=drop_last, num_workers=2)), list(theirs))
    with pytest.raises(TypeError):
        len(TD.DataLoader(TStream(n), batch_size=batch_size))
    with pytest.raises(TypeError):
        len(D.DataLoader(Stream(n), batch_size=batch_size))
    assert D.get_worker_info() is None is TD.get_worker_info()


def test_chain_dataset_batches_as_torch() -> None:
    ours = D.ChainDataset([Stream(3, True), Stream(4, True)])
    theirs = TD.ChainDataset([TSized(3), TSized(4)])
    _same(list(D.DataLoader(ours, batch_size=3)), list(TD.DataLoader(theirs, batch_size=3)))
    assert len(ours) == len(theirs) == 7
    _same(list(D.DataLoader(Stream(2) + Stream(3), batch_size=2)), list(TD.DataLoader(TStream(2) + TStream(3),
                                                                                       batch_size=2)))


P = collections.namedtuple("P", "a b")


@pytest.mark.parametrize("samples", [
    [1, 2, 3], [1.5, -2.0], [True, False], [np.float32(1.5), np.float32(2)], [np.int32(3), np.int32(4)],
    [np.ones((2, 3), np.float32), np.zeros((2, 3), np.float32)], [np.arange(3), np.arange(3) * 2],
    [np.array(1.5), np.array(2.5)],
    [(np.ones(2), 1), (np.zeros(2), 0)], [[1, 2.0], [3, 4.0]],
    [{"x": np.ones(2), "y": 1}, {"x": np.zeros(2), "y": 2}],
    [P(1, np.ones(2)), P(2, np.zeros(2))], [{"a": (1, [2.0, 3])}, {"a": (4, [5.0, 6])}],
    [collections.OrderedDict(b=1, a=2.0), collections.OrderedDict(b=3, a=4.0)],
])
def test_default_collate_structures_match_torch(samples: list) -> None:
    ours, theirs = D.default_collate(samples), TD.default_collate(samples)
    _same(ours, theirs)
    if isinstance(theirs, (dict, tuple)):  # the mapping type kept, a named tuple stays one
        assert type(ours) is type(theirs)
    assert isinstance(ours, tl.Tensor) == isinstance(theirs, torch.Tensor)


def test_default_collate_keeps_the_mapping_type() -> None:
    # an OrderedDict or defaultdict of samples collates to the same kind of mapping, as torch's
    for samples in ([collections.OrderedDict(a=1)] * 2, [collections.defaultdict(list, a=1.0)] * 2):
        assert type(D.default_collate(samples)) is type(TD.default_collate(samples)) is type(samples[0])


def test_a_dataset_with_getitems_is_read_a_batch_at_a_time_as_torch() -> None:
    class Batched:
        def __init__(self) -> None:
            self.calls: list = []

        def __len__(self) -> int:
            return N

        def __getitem__(self, i: int) -> Any:
            raise AssertionError("read one by one")

        def __getitems__(self, idx: list) -> list:
            self.calls.append(list(idx))
            return [(X[i], int(Y[i])) for i in idx]

    ours, theirs = Batched(), Batched()
    _same(list(D.DataLoader(ours, 4, False)), list(TD.DataLoader(theirs, 4, False)))
    assert ours.calls == theirs.calls == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10]]


def test_random_split_takes_fractions_and_a_generator() -> None:
    ds, _ = _pair()
    parts = D.random_split(ds, [0.5, 0.3, 0.2], generator=np.random.default_rng(3))
    tparts = TD.random_split(range(N), [0.5, 0.3, 0.2], generator=torch.Generator().manual_seed(3))
    assert [len(p) for p in parts] == [len(p) for p in tparts]
    assert sorted(sum((list(p.indices) for p in parts), [])) == list(range(N))
    again = D.random_split(ds, [0.5, 0.3, 0.2], generator=np.random.default_rng(3))
    assert [list(p.indices) for p in parts] == [list(p.indices) for p in again]


# ------------------------------------------------------------------ the loader's torch form
def test_positional_form_and_samplers_give_torchs_batches() -> None:
    ours, theirs = _pair()
    _same(list(D.DataLoader(ours, 4, False)), list(TD.DataLoader(theirs, 4, False)))
    _same(list(D.DataLoader(ours, batch_size=4, sampler=D.SequentialSampler(ours))),
          list(TD.DataLoader(theirs, batch_size=4, sampler=TD.SequentialSampler(theirs))))
    order = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3]
    _same(list(D.DataLoader(ours, 3, False, order, drop_last=True)), list(TD.DataLoader(theirs, 3, False, order,
                                                                                          drop_last=True)))
    batches = [[0, 2], [10, 1, 4], [7]]
    _same(list(D.DataLoader(ours, batch_sampler=batches)), list(TD.DataLoader(theirs, batch_sampler=batches)))
    _same(list(D.DataLoader(ours, batch_sampler=D.BatchSampler(range(N), 4, True))),
          list(TD.DataLoader(theirs, batch_sampler=TD.BatchSampler(range(N), 4, True))))
    _same(list(D.DataLoader(ours, 1, batch_sampler=batches)), list(TD.DataLoader(theirs, 1, batch_sampler=batches)))
    for r in range(3):
        _same(list(D.DataLoader(ours, batch_size=2, sampler=D.DistributedSampler(ours, 3, r, shuffle=False))),
              list(TD.DataLoader(theirs, batch_size=2, sampler=TD.DistributedSampler(theirs, 3, r, shuffle=False))))
    assert len(D.DataLoader(ours, batch_sampler=batches)) == len(TD.DataLoader(theirs, batch_sampler=batches)) == 3
    assert len(D.DataLoader(ours, 3, sampler=order)) == len(TD.DataLoader(theirs, 3, sampler=order)) == 4
    # the (X, y) array form keeps its positional order
    _same(list(D.DataLoader(X, Y, 4, False)), list(TD.DataLoader(theirs, 4, False)))


def test_generator_seeds_the_order_as_seed_does() -> None:
    ds, _ = _pair()
    want = [b[1].data.tolist() for b in D.DataLoader(ds, 4, True, seed=7)]
    assert [b[1].data.tolist() for b in D.DataLoader(ds, 4, True, generator=7)] == want
    assert [b[1].data.tolist() for b in D.DataLoader(ds, 4, True, generator=np.random.default_rng(7))] == want
    with pytest.raises(ValueError, match="DataLoader: give seed= or generator="):
        D.DataLoader(ds, 4, seed=1, generator=1)
    with pytest.raises(TypeError, match="DataLoader: generator must be"):
        D.DataLoader(ds, 4, generator=torch.Generator())


def _iterable(n: int = 4) -> tuple:
    return Stream(n, sized=True), TSized(n)


def _kw_cases() -> list:
    bs = [[0, 1], [2]]
    return [
        ("map", dict(num_workers=-1)), ("map", dict(timeout=-1)), ("map", dict(prefetch_factor=2)),
        ("map", dict(num_workers=1, prefetch_factor=-1)), ("map", dict(persistent_workers=True)),
        ("map", dict(multiprocessing_context="spawn")), ("map", dict(num_workers=2, multiprocessing_context="nope")),
        ("map", dict(num_workers=2, multiprocessing_context=3)),
        ("map", dict(sampler=[0, 1], shuffle=True)), ("map", dict(batch_sampler=bs, batch_size=4)),
        ("map", dict(batch_sampler=bs, shuffle=True)), ("map", dict(batch_sampler=bs, sampler=[0, 1])),
        ("map", dict(batch_sampler=bs, drop_last=True)),
        ("iter", dict(shuffle=True)), ("iter", dict(sampler=[0, 1])), ("iter", dict(batch_sampler=bs)),
    ]


@pytest.mark.parametrize("kind, kw", _kw_cases())
def test_torch_keyword_checks_raise_torchs_exception_types(kind: str, kw: dict) -> None:
    ours, theirs = _pair() if kind == "map" else _iterable()
    with pytest.raises(Exception) as t_err:
        TD.DataLoader(theirs, **kw)
    with pytest.raises(Exception) as o_err:
        D.DataLoader(ours, **kw)
    assert type(o_err.value) is type(t_err.value), (o_err.value, t_err.value)
    assert "DataLoader" in str(o_err.value)


@pytest.mark.parametrize("kw", [
    dict(num_workers=2), dict(pin_memory=True), dict(timeout=5.0), dict(worker_init_fn=lambda i: None),
    dict(num_workers=2, prefetch_factor=4, persistent_workers=True), dict(in_order=False),
    dict(pin_memory_device="cpu"), dict(num_workers=1, multiprocessing_context="spawn"),
])
def test_accepted_torch_keywords_give_the_same_batches(kw: dict) -> None:
    ours, theirs = _pair()
    TD.DataLoader(theirs, batch_size=4, **kw)  # torch accepts them too
    loader = D.DataLoader(ours, batch_size=4, shuffle=False, **kw)
    _same(list(loader), list(TD.DataLoader(theirs, batch_size=4)))
    for k, v in kw.items():
        assert getattr(loader, k) is v


def test_positional_mistakes_raise_type_errors() -> None:
    ours, theirs = _pair()
    with pytest.raises(TypeError):
        TD.DataLoader(theirs, 4, batch_size=4)
    with pytest.raises(TypeError, match="DataLoader: got multiple values for argument 'batch_size'"):
        D.DataLoader(ours, 4, batch_size=4)
    with pytest.raises(TypeError, match="DataLoader: with a dataset, leave y out"):
        D.DataLoader(ours, Y)
    with pytest.raises(TypeError, match="DataLoader: takes at most 13 positional"):
        D.DataLoader(ours, *([None] * 13))


# ------------------------------------------------------------------ random samplers
def test_random_sampler_draws_permutations() -> None:
    src = range(20)
    a = list(D.RandomSampler(src, generator=3))
    assert sorted(a) == list(range(20)) and a != list(range(20))
    assert list(D.RandomSampler(src, generator=3)) == a  # the same seed, the same order
    assert list(D.RandomSampler(src, generator=4)) != a
    s = D.RandomSampler(src, generator=3)
    assert list(s) == a and list(s) != a  # a new order every epoch
    tl.manual_seed(5)
    b = list(D.RandomSampler(src))
    tl.manual_seed(5)
    assert list(D.RandomSampler(src)) == b  # without a generator: governed by tl.manual_seed
    more = list(D.RandomSampler(src, num_samples=45, generator=1))  # two whole permutations, then 5 more
    assert len(more) == 45 and sorted(more[:20]) == sorted(more[20:40]) == list(range(20))
    assert len(set(more[40:])) == 5
    rep = list(D.RandomSampler(src, replacement=True, num_samples=500, generator=1))
    assert len(rep) == 500 and set(rep) == set(range(20))  # with replacement: repeats, every value seen
    assert len(D.RandomSampler(src, replacement=True, num_samples=7)) == len(TD.RandomSampler(src, True, 7)) == 7


def test_subset_random_sampler_permutes_its_indices() -> None:
    idx = [4, 9, 2, 17, 11]
    got = list(D.SubsetRandomSampler(idx, generator=2))
    assert sorted(got) == sorted(idx) and len(D.SubsetRandomSampler(idx)) == len(TD.SubsetRandomSampler(idx))
    assert list(D.SubsetRandomSampler(idx, generator=2)) == got


def test_weighted_sampler_frequencies_follow_the_weights() -> None:
    w = np.array([1.0, 2.0, 3.0, 4.0, 0.0])
    p = w / w.sum()
    n = 40000
    draws = np.array(list(D.WeightedRandomSampler(w, n, generator=0)))
    freq = np.bincount(draws, minlength=5) / n
    bound = 5 * np.sqrt(p * (1 - p) / n) + 1e-12  # 5 standard deviations; uniform draws miss it by far
    assert np.all(np.abs(freq - p) <= bound), (freq, p)
    assert freq[4] == 0
    assert list(D.WeightedRandomSampler(w, 50, generator=1)) == list(D.WeightedRandomSampler(w, 50, generator=1))


def test_weighted_sampler_without_replacement_is_successive_sampling() -> None:
    # P(first = j) = p_j and P(second = j) = sum_{i != j} p_i p_j / (1 - p_i): exact maths
    w = np.array([5.0, 1.0, 3.0, 1.0])
    p = w / w.sum()
    second = np.array([sum(p[i] * p[j] / (1 - p[i]) for i in range(4) if i != j) for j in range(4)])
    s = D.WeightedRandomSampler(w, 2, replacement=False, generator=0)
    n = 20000
    pairs = np.array([list(s) for _ in range(n)])
    assert np.all(pairs[:, 0] != pairs[:, 1])
    for col, want in ((0, p), (1, second)):
        freq = np.bincount(pairs[:, col], minlength=4) / n
        assert np.all(np.abs(freq - want) <= 5 * np.sqrt(want * (1 - want) / n)), (col, freq, want)
    assert sorted(D.WeightedRandomSampler([1.0, 0.0, 2.0], 2, replacement=False)) == [0, 2]


@pytest.mark.parametrize("make", [
    lambda m: m.RandomSampler(range(3), replacement=1), lambda m: m.RandomSampler(range(3), num_samples=0),
    lambda m: m.RandomSampler([]), lambda m: m.WeightedRandomSampler([1.0, 2.0], 0),
    lambda m: m.WeightedRandomSampler([1.0, 2.0], 2, replacement="yes"),
    lambda m: m.WeightedRandomSampler([[1.0, 2.0]], 2), lambda m: m.BatchSampler(range(3), 0, False),
    lambda m: m.BatchSampler(range(3), 2, 1), lambda m: m.BatchSampler(range(3), 1.5, False),
])
def test_sampler_argument_checks_raise_torchs_exception_types(make: Any) -> None:
    with pytest.raises(Exception) as t_err:
        make(TD)
    with pytest.raises(Exception) as o_err:
        make(D)
    assert type(o_err.value) is type(t_err.value), (o_err.value, t_err.value)


def test_weighted_sampler_refuses_weights_it_cannot_draw_from() -> None:
    for w, k, rep in (([1.0, -1.0], 2, True), ([0.0, 0.0], 1, True), ([1.0, np.nan], 1, True), ([1.0, 0.0], 2, False)):
        with pytest.raises(ValueError, match="WeightedRandomSampler: "):
            D.WeightedRandomSampler(w, k, replacement=rep)


# ------------------------------------------------------------------ resuming
def _ids(batches: Any) -> list:
    return [b[1].data.tolist() for b in batches]


@pytest.mark.parametrize("make", [
    lambda ds, g: dict(sampler=D.RandomSampler(ds, generator=g)),
    lambda ds, g: dict(sampler=D.RandomSampler(ds, replacement=True, num_samples=17, generator=g)),
    lambda ds, g: dict(sampler=D.SubsetRandomSampler([1, 3, 5, 7, 9, 10], generator=g)),
    lambda ds, g: dict(sampler=D.WeightedRandomSampler(np.arange(1.0, N + 1), 9, generator=g)),
    lambda ds, g: dict(batch_sampler=D.BatchSampler(D.RandomSampler(ds, generator=g), 3, False)),
    lambda ds, g: dict(sampler=D.DistributedSampler(ds, 2, 1, seed=3)),  # its seed is a setting, not a state
    lambda ds, g: dict(sampler=[4, 2, 0, 1, 3]),
])
@pytest.mark.parametrize("cut", [0, 1, 2])
def test_state_dict_resumes_sampler_loaders_exactly(make: Any, cut: int, tmp_path: Path) -> None:
    ds = D.TensorDataset(X, np.arange(N))  # the batches' second field: the sample indices

    def loader(g: int) -> D.DataLoader:
        kw = make(ds, g)
        return D.DataLoader(ds, **kw) if "batch_sampler" in kw else D.DataLoader(ds, batch_size=3, **kw)

    def set_epoch(dl: D.DataLoader, e: int) -> None:
        if isinstance(dl.sampler, D.DistributedSampler):
            dl.sampler.set_epoch(e)

    ref = loader(1)
    want = []
    for e in range(3):
        set_epoch(ref, e)
        want.append(_ids(ref))
    run = loader(1)
    set_epoch(run, 0)
    _ids(run)
    set_epoch(run, 1)
    it = iter(run)
    seen = [next(it)[1].data.tolist() for _ in range(cut)]
    tl.save({"loader": run.state_dict()}, tmp_path / "ckpt.npz")
    resumed = loader(2)  # another seed: the checkpoint's states must win
    resumed.load_state_dict(tl.load(tmp_path / "ckpt.npz")["loader"])
    set_epoch(resumed, 1)
    assert seen + _ids(resumed) == want[1]
    set_epoch(resumed, 2)
    assert _ids(resumed) == want[2]


class MySampler(D.Sampler):
    def __iter__(self) -> Any:
        return iter(np.random.default_rng().permutation(N).tolist())

    def __len__(self) -> int:
        return N


def test_state_dict_refuses_what_it_cannot_resume() -> None:
    ds, _ = _pair()
    for loader, name in ((D.DataLoader(ds, batch_size=3, sampler=MySampler()), "MySampler"),
                         (D.DataLoader(ds, batch_sampler=D.BatchSampler(MySampler(), 3, False)),
                          r"BatchSampler\(MySampler\)"),
                         (D.DataLoader(Stream(5, True), batch_size=2), "IterableDataset Stream")):
        with pytest.raises(TypeError, match=f"DataLoader.state_dict: cannot save .*{name}"):
            loader.state_dict()
        with pytest.raises(TypeError, match=f"DataLoader.load_state_dict: cannot .*{name}"):
            loader.load_state_dict(D.DataLoader(ds, 3).state_dict())
    state = D.DataLoader(ds, batch_size=3, sampler=D.RandomSampler(ds)).state_dict()
    target = D.DataLoader(ds, batch_size=3, sampler=D.SequentialSampler(ds))
    before = target.state_dict()
    with pytest.raises(ValueError, match="DataLoader.load_state_dict: the state has sampler='sampler=RandomSampler'"):
        target.load_state_dict(state)
    with pytest.raises(ValueError, match="the state has sampler=None"):
        target.load_state_dict(D.DataLoader(ds, batch_size=3).state_dict())
    listed = D.DataLoader(ds, batch_size=1, sampler=[0, 1, 2]).state_dict()  # a list as a sampler is not a
    with pytest.raises(ValueError, match="sampler='sampler=list', this loader has sampler='batch_sampler=list'"):
        D.DataLoader(ds, batch_sampler=[[0], [1], [2]]).load_state_dict(listed)  # list of batches
    assert target.state_dict()["rng"] == before["rng"]  # nothing changed


def test_full_gradient_refuses_samplers_that_miss_samples() -> None:
    ds, _ = _pair()
    model = tl.nn.Linear(3, 1)

    def loss(xb: Any, yb: Any) -> Any:
        return tl.nn.functional.mse_loss(model(xb).reshape(-1), yb.double())

    full = D.accumulate_full_gradient(model, loss, D.DataLoader(ds, 4, False))
    same = D.accumulate_full_gradient(model, loss, D.DataLoader(ds, 3, sampler=D.RandomSampler(ds, generator=0)))
    for a, b in zip(full, same):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    for kw in (dict(sampler=D.WeightedRandomSampler(np.ones(N), N)), dict(sampler=D.SubsetRandomSampler([1, 2])),
               dict(sampler=D.DistributedSampler(ds, 2, 0)), dict(sampler=D.SequentialSampler(ds), drop_last=True)):
        with pytest.raises(ValueError, match="accumulate_full_gradient: "):
            D.accumulate_full_gradient(model, loss, D.DataLoader(ds, 3, **kw))


# ------------------------------------------------------------------ a ported training loop
def test_a_ported_mnist_style_loop_trains_as_torch() -> None:
    rng = np.random.default_rng(1)
    n = 200
    images = rng.standard_normal((n, 1, 28, 28)).astype(np.float32)
    labels = rng.integers(0, 10, n)
    order = rng.permutation(n).tolist()  # one fixed order, so both libraries see the same batches

    def train(lib: Any, data: Any, tensor: Any) -> list:
        net = lib.nn.Sequential(lib.nn.Flatten(), lib.nn.Linear(784, 10))
        w0 = np.random.default_rng(2)
        with lib.no_grad():
            net[1].weight.copy_(tensor(w0.standard_normal((10, 784)).astype(np.float32) * 0.01))
            net[1].bias.copy_(tensor(np.zeros(10, np.float32)))
        opt = lib.optim.SGD(net.parameters(), lr=0.1)
        for xb, yb in data.DataLoader(data.TensorDataset(tensor(images), tensor(labels)), batch_size=64,
                                      sampler=order, num_workers=0):
            opt.zero_grad()
            loss = lib.nn.functional.cross_entropy(net(xb), yb)
            loss.backward()
            opt.step()
        return [p.detach().numpy() for p in net.parameters()]

    got = train(tl, tl.data, tl.tensor)
    want = train(torch, torch.utils.data, torch.tensor)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    # and the script's own line: shuffled batches of 64, every sample once per epoch
    seen = []
    for xb, yb in tl.data.DataLoader(tl.data.TensorDataset(images, labels), batch_size=64, shuffle=True,
                                     num_workers=0):
        assert xb.shape[1:] == (1, 28, 28) and xb.dtype == np.float32 and yb.dtype == np.int64
        seen.append(yb.data)
    assert [len(s) for s in seen] == [64, 64, 64, 8]
    assert sorted(np.concatenate(seen).tolist()) == sorted(labels.tolist())
