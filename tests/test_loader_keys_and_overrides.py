"""DataLoader as torch's in the cases a ported script meets: a data set's own ``__getitem__``
(a transform in a TensorDataset or Subset subclass) is what the batches hold; a sampler's keys
reach ``dataset[key]`` unchanged (strings, tuples; a float index fails there instead of being
cut to an integer); ``TensorDataset(array).tensors`` share the arrays; ``load_state_dict``
names missing and unknown entries and changes nothing."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tinygrad_lite as tl

D = tl.data
X = np.arange(12, dtype=np.float64).reshape(6, 2)
Y = np.arange(6)


class Neg(D.TensorDataset):
    def __getitem__(self, i: Any) -> tuple:
        x, y = super().__getitem__(i)
        return x * -1, y


class Twice(D.Subset):
    def __getitem__(self, i: Any) -> Any:
        x, y = super().__getitem__(i)
        return x * 2, y


def _rows(loader: Any) -> list:
    return [b[0].data.tolist() for b in loader]


@pytest.mark.parametrize("make", [
    lambda: (Neg(X, Y), lambda x: -x, list(range(6))),
    lambda: (D.Subset(Neg(X, Y), [4, 0, 2]), lambda x: -x, [4, 0, 2]),
    lambda: (Twice(D.TensorDataset(X, Y), [5, 1]), lambda x: 2 * x, [5, 1]),
], ids=["TensorDataset subclass", "Subset of one", "Subset subclass"])
@pytest.mark.parametrize("shuffle", [False, True])
def test_an_overridden_getitem_is_what_the_batches_hold(make: Any, shuffle: bool) -> None:
    ds, f, rows = make()
    loader = D.DataLoader(ds, batch_size=4, shuffle=shuffle, generator=0)
    got = sorted(r for batch in _rows(loader) for r in batch)
    assert got == sorted(f(X[rows]).tolist())
    assert [ds[k][0].data.tolist() for k in range(len(ds))] == f(X[rows]).tolist()


def test_a_plain_tensor_dataset_still_gathers_rows_at_once() -> None:
    batches = _rows(D.DataLoader(D.Subset(D.TensorDataset(X, Y), [3, 1, 5]), batch_size=2))
    assert batches == [X[[3, 1]].tolist(), X[[5]].tolist()]


class Keyed:
    data = {"a": 1.0, "b": 2.0, "c": 3.0}

    def __len__(self) -> int:
        return 3

    def __getitem__(self, key: Any) -> Any:
        return self.data[key] if isinstance(key, str) else key[0] * key[1]


@pytest.mark.parametrize(("kw", "want"), [
    ({"sampler": ["a", "b", "c"], "batch_size": 2}, [[1.0, 2.0], [3.0]]),
    ({"batch_sampler": [["c", "a"], ["b"]]}, [[3.0, 1.0], [2.0]]),
    ({"sampler": [(2, 0.5), (3, 2.0)], "batch_size": 2}, [[1.0, 6.0]]),
    ({"sampler": ["a", "b", "c"], "batch_size": 2, "shard": (1, 2)}, [[2.0], []]),
])
def test_sampler_keys_reach_getitem_unchanged_as_torch(kw: dict, want: list) -> None:
    assert [b.data.tolist() for b in D.DataLoader(Keyed(), **kw)] == want
    torch = pytest.importorskip("torch")
    if "shard" not in kw:
        assert [b.tolist() for b in torch.utils.data.DataLoader(Keyed(), **kw)] == want


@pytest.mark.parametrize("kw", [{"sampler": [0.9, 1.5], "batch_size": 2}, {"batch_sampler": [[True, 3.9]]}])
def test_a_float_or_bool_index_fails_instead_of_being_cut(kw: dict) -> None:
    # (torch: IndexError from the data set; the index used to be cut to 0, 1 or 3 silently)
    with pytest.raises(IndexError, match=r"TensorDataset: cannot read index (0\.9|3\.9)"):
        list(D.DataLoader(D.TensorDataset(X, Y), **kw))


def test_tensor_dataset_tensors_share_the_arrays() -> None:
    Xc = X.copy()
    ds = D.TensorDataset(Xc, Y)
    ds.tensors[0].data[:] -= 100.0
    assert ds[0][0].data.tolist() == (X[0] - 100).tolist()
    assert _rows(D.DataLoader(ds, batch_size=6))[0] == (X - 100).tolist()


def _loader() -> Any:
    ds = D.TensorDataset(X, Y)
    return D.DataLoader(ds, batch_size=2, sampler=D.RandomSampler(ds, generator=3))


@pytest.mark.parametrize(("edit", "match"), [
    (lambda s: s.pop("sampler_state"), r"missing entries \['sampler_state'\]"),
    (lambda s: s.pop("sampler_epoch_state"), r"missing entries \['sampler_epoch_state'\]"),
    (lambda s: s.update(bogus=1), r"unknown entries \['bogus'\]"),
    (lambda s: s.update(sampler_stat={}), r"unknown entries \['sampler_stat'\]"),
])
def test_load_state_dict_names_missing_and_unknown_entries_and_changes_nothing(edit: Any, match: str) -> None:
    saved = _loader()
    it = iter(saved)
    next(it)
    state = saved.state_dict()
    edit(state)
    target = _loader()
    before = target.state_dict()
    with pytest.raises(KeyError, match=match):
        target.load_state_dict(state)
    after = target.state_dict()
    assert after.keys() == before.keys() and all(str(after[k]) == str(before[k]) for k in after)
