"""DataLoader edges: a random sampler without a seed in a shard of a world above 1 is refused
(each rank would cut other global batches); Subset reads through its data set's
``__getitems__`` as torch's; an empty batch (Poisson sampling, a shard's empty part) keeps the
samples' structure also with ``collate_fn=default_collate`` given explicitly."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl

DS = tl.data.TensorDataset(np.arange(6.0))

SAMPLERS = {
    "RandomSampler": lambda g: tl.data.RandomSampler(DS, generator=g),
    "WeightedRandomSampler": lambda g: tl.data.WeightedRandomSampler(np.ones(6), 6, generator=g),
    "SubsetRandomSampler": lambda g: tl.data.SubsetRandomSampler([0, 2, 3, 5], generator=g),
}


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_an_unseeded_random_sampler_in_a_shard_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match=f"{name} seeded"):
        tl.data.DataLoader(DS, batch_size=2, sampler=SAMPLERS[name](None), shard=(0, 2))
    with pytest.raises(ValueError, match=f"{name} seeded"):
        tl.data.DataLoader(DS, batch_sampler=tl.data.BatchSampler(SAMPLERS[name](None), 2, False), shard=(1, 2))
    seen = []
    for rank in (0, 1):  # seeded alike on every rank: the ranks split the same global batches
        loader = tl.data.DataLoader(DS, batch_size=2, sampler=SAMPLERS[name](7), shard=(rank, 2))
        seen.append([b[0].data.tolist() for b in loader])
    whole = [b[0].data.tolist() for b in tl.data.DataLoader(DS, batch_size=2, sampler=SAMPLERS[name](7))]
    assert [a + b for a, b in zip(*seen)] == whole
    tl.data.DataLoader(DS, batch_size=2, sampler=SAMPLERS[name](None), shard=(0, 1))  # (a world of 1 is fine)


class _ReadsBatches(tl.data.Dataset):
    def __len__(self) -> int:
        return 5

    def __getitem__(self, i):
        raise RuntimeError("read one by one")

    def __getitems__(self, idx):
        return [(float(i), i) for i in idx]


def test_subset_reads_through_getitems_as_torch() -> None:
    got = list(tl.data.DataLoader(tl.data.Subset(_ReadsBatches(), [1, 3, 4]), batch_size=2))
    np.testing.assert_array_equal(got[0][0].data, [1.0, 3.0])
    np.testing.assert_array_equal(got[1][1].data, [4])
    torch = pytest.importorskip("torch")

    class T(torch.utils.data.Dataset):
        R = _ReadsBatches
        __len__, __getitem__, __getitems__ = R.__len__, R.__getitem__, R.__getitems__

    want = list(torch.utils.data.DataLoader(torch.utils.data.Subset(T(), [1, 3, 4]), batch_size=2))
    np.testing.assert_array_equal(got[0][0].data, want[0][0].numpy())


@pytest.mark.parametrize("how", ["poisson", "shard"])
@pytest.mark.parametrize("collate", [None, "default_collate"])
def test_an_empty_batch_keeps_the_structure(how: str, collate) -> None:
    samples = [(np.float32(i), i) for i in range(6)]
    fn = tl.data.default_collate if collate else None
    kw = dict(sampling="poisson", seed=3) if how == "poisson" else dict(shard=(1, 2))
    batches = list(tl.data.DataLoader(samples, batch_size=1, collate_fn=fn, **kw))
    empty = [b for b in batches if b[0].shape[0] == 0]
    assert empty
    for b in empty:
        assert b[0].shape == (0,) and b[0].dtype == tl.float32 and b[1].shape == (0,) and b[0].batched
    reads = list(tl.data.DataLoader(_ReadsBatches(), batch_size=1, sampling="poisson", seed=0, collate_fn=fn))
    assert any(b[0].shape == (0,) for b in reads)


def test_default_collate_string_fields_and_non_numeric_arrays_as_torch():
    import pytest

    torch_data = pytest.importorskip("torch.utils.data")
    for batch in ([(1, "x"), (2, "y")], ["a", "b"], [{"s": "a", "n": 1}, {"s": "b", "n": 2}]):
        ours, theirs = tl.data.default_collate(batch), torch_data.default_collate(batch)
        if isinstance(theirs, dict):
            assert type(ours["s"]) is type(theirs["s"]) and list(ours["s"]) == list(theirs["s"])
        elif isinstance(theirs, list) and isinstance(theirs[-1], tuple):
            assert type(ours[1]) is tuple and ours[1] == theirs[1]  # (a field of strings: a tuple)
        else:
            assert ours == theirs
    with pytest.raises(TypeError, match=r"^default_collate: .*dtype <U1"):
        tl.data.default_collate([np.array(["a"]), np.array(["b"])])
