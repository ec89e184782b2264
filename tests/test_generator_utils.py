"""``tl.Generator`` (torch's Generator on a numpy PCG64 Generator), the default generator and
its module functions (``tl.manual_seed``, ``tl.seed``, ``tl.initial_seed``, ``tl.get_rng_state``,
``tl.set_rng_state``, ``tl.random.fork_rng``), a Generator wherever ``generator=`` / ``rng=``
is taken, and ``tl.utils.data`` (the module ``tl.data``)."""

from __future__ import annotations

import collections
import copy
import itertools
import pickle
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.data import DataLoader, RandomSampler, TensorDataset, random_split

BAD_SEEDS = [(2 ** 64, ValueError), (-2 ** 63 - 1, ValueError), (1.5, TypeError), ("0", TypeError), (True, TypeError),
             (None, TypeError),
             (np.float64(2.0), TypeError)]


def _draws(g: np.random.Generator) -> list:
    """A mix of the draws the library makes (floats, normals, ints, a permutation)."""
    return [g.random(3), g.standard_normal(2), g.integers(0, 100, 4), g.permutation(6)]


def _same(a: list, b: list) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


# ------------------------------------------------------------------ tl.Generator
def test_a_generator_is_a_numpy_generator_drawing_what_default_rng_draws() -> None:
    g = tl.Generator()
    assert isinstance(g, np.random.Generator) and isinstance(g.bit_generator, np.random.PCG64)
    assert g.manual_seed(11) is g
    assert _same(_draws(g), _draws(np.random.default_rng(11)))
    assert _same(_draws(tl.Generator().manual_seed(11)), _draws(tl.Generator().manual_seed(11)))
    assert not _same(_draws(tl.Generator().manual_seed(11)), _draws(tl.Generator().manual_seed(12)))


def test_manual_seed_reseeds_in_place_so_every_holder_sees_it() -> None:
    g = tl.Generator().manual_seed(3)
    first = _draws(g)
    holder = {"rng": g}
    assert g.manual_seed(3) is g  # the same object, its stream started over
    assert _same(_draws(holder["rng"]), first)
    assert g.initial_seed() == 3
    assert g.manual_seed(np.int64(2**40)).initial_seed() == 2**40  # numpy ints are ints


@pytest.mark.parametrize("seed,exc", BAD_SEEDS)
def test_manual_seed_refuses_what_is_not_a_seed_and_changes_nothing(seed: Any, exc: type) -> None:
    g = tl.Generator().manual_seed(5)
    g.random(3)
    before = g.get_state()
    with pytest.raises(exc, match=r"manual_seed: seed must be"):
        g.manual_seed(seed)
    np.testing.assert_array_equal(g.get_state(), before)
    assert g.initial_seed() == 5


def test_a_new_generator_has_torchs_default_seed() -> None:
    torch = pytest.importorskip("torch")
    g = tl.Generator()
    assert g.initial_seed() == torch.Generator().initial_seed()
    assert _same(_draws(g), _draws(np.random.default_rng(g.initial_seed())))
    assert torch.Generator().manual_seed(1).initial_seed() == tl.Generator().manual_seed(1).initial_seed()


def test_seed_reseeds_from_entropy_and_initial_seed_reports_it() -> None:
    g = tl.Generator()
    s = g.seed()
    assert type(s) is int and 0 <= s < 2**64 and g.initial_seed() == s
    after = _draws(g)
    assert _same(_draws(tl.Generator().manual_seed(s)), after)  # seed() is manual_seed(a fresh seed)
    t = g.seed()
    assert t != s and g.initial_seed() == t  # 64 random bits: equal with probability 2**-64


def test_device_is_the_cpu_and_other_devices_are_refused() -> None:
    g = tl.Generator(device="cpu")
    assert g.device == "cpu" and g.device.type == "cpu"
    assert tl.Generator(device=tl.device("cpu")).initial_seed() == tl.Generator().initial_seed()
    with pytest.raises(RuntimeError, match="Generator: device 'cuda'"):
        tl.Generator(device="cuda")
    with pytest.raises(TypeError, match="Generator: expected a device"):
        tl.Generator(device=0)
    assert "initial_seed=7" in repr(tl.Generator().manual_seed(7)) == str(tl.Generator().manual_seed(7))


# ------------------------------------------------------------------ get_state / set_state
def test_get_state_then_set_state_replays_the_stream_and_the_seed() -> None:
    g = tl.Generator().manual_seed(21)
    g.random(5)
    g.integers(0, 7, size=1, dtype=np.uint32)  # a buffered 32-bit half-word in the state
    assert g.bit_generator.state["has_uint32"] == 1
    state = g.get_state()
    assert state.dtype == np.uint8 and state.ndim == 1
    ahead = [g.integers(0, 7, size=3, dtype=np.uint32), *_draws(g)]
    g.manual_seed(99)
    g.random(4)
    assert g.set_state(state) is g
    assert g.initial_seed() == 21
    assert _same([g.integers(0, 7, size=3, dtype=np.uint32), *_draws(g)], ahead)
    other = tl.Generator().set_state(state)  # a snapshot moves to another Generator
    assert _same([other.integers(0, 7, size=3, dtype=np.uint32), *_draws(other)], ahead)
    assert other.initial_seed() == 21


def test_get_state_is_a_copy_and_set_state_takes_a_tensor_of_it() -> None:
    g = tl.Generator().manual_seed(4)
    state = g.get_state()
    keep = state.copy()
    want = g.random(3)
    state[5:] = 0  # writing into the snapshot leaves the Generator alone
    assert not np.array_equal(g.get_state(), keep)  # it moved on by its own draws
    g.set_state(tl.tensor(keep))
    np.testing.assert_array_equal(g.random(3), want)


def test_big_seeds_round_trip() -> None:
    g = tl.Generator().manual_seed(2**64 - 1)
    state = g.get_state()
    want = g.random(2)
    h = tl.Generator().set_state(state)
    assert h.initial_seed() == 2**64 - 1
    np.testing.assert_array_equal(h.random(2), want)


@pytest.mark.parametrize("bad,exc,match", [
    ([1, 2, 3], TypeError, "set_state: expected a uint8 array"),
    (np.zeros(50), TypeError, "dtype float64"),
    (np.zeros(50, np.uint8), ValueError, "not a Generator state"),
    (np.zeros(3, np.uint8), ValueError, r"shape \(3,\)"),
    ("state", TypeError, "got str"),
])
def test_set_state_refuses_what_is_no_snapshot_and_changes_nothing(bad: Any, exc: type, match: str) -> None:
    g = tl.Generator().manual_seed(8)
    before = g.get_state()
    with pytest.raises(exc, match=match):
        g.set_state(bad)
    np.testing.assert_array_equal(g.get_state(), before)


def test_set_state_refuses_a_snapshot_cut_short_or_made_2d() -> None:
    state = tl.Generator().manual_seed(8).get_state()
    g = tl.Generator().manual_seed(1)
    before = g.get_state()
    for bad in (state[:41], state.reshape(1, -1), np.concatenate([np.zeros(4, np.uint8), state[4:]])):
        with pytest.raises(ValueError, match="set_state: not a Generator state"):
            g.set_state(bad)
    np.testing.assert_array_equal(g.get_state(), before)


def test_copies_and_pickles_are_generators_in_the_same_state() -> None:
    g = tl.Generator().manual_seed(6)
    g.random(2)
    for twin in (copy.deepcopy(g), copy.copy(g), pickle.loads(pickle.dumps(g))):
        assert type(twin) is tl.Generator and twin is not g and twin.initial_seed() == 6
        np.testing.assert_array_equal(twin.get_state(), g.get_state())
        assert _same(_draws(twin), _draws(copy.deepcopy(g)))
    twin = copy.deepcopy(g)
    twin.random(1)  # an independent copy
    assert not np.array_equal(twin.get_state(), g.get_state())


# ------------------------------------------------------------------ the default generator
def test_the_default_generator_is_one_generator_object() -> None:
    d = tl.default_generator
    assert isinstance(d, tl.Generator) and tl.random.default_generator is d
    assert tl.random.default_generator() is d  # the older accessor still gives it
    assert tl.manual_seed(17) is d and tl.random.manual_seed(17) is d
    assert tl.random.as_generator(None) is d
    assert tl.initial_seed() == 17 == d.initial_seed()
    assert _same(_draws(d), _draws(np.random.default_rng(17)))
    assert tl.random.Generator is tl.Generator


@pytest.mark.parametrize("seed,exc", BAD_SEEDS)
def test_tl_manual_seed_refuses_what_is_not_a_seed_and_keeps_the_stream(seed: Any, exc: type) -> None:
    tl.manual_seed(2)
    before = tl.get_rng_state()
    with pytest.raises(exc, match="manual_seed: seed"):
        tl.manual_seed(seed)
    np.testing.assert_array_equal(tl.get_rng_state(), before)
    assert tl.initial_seed() == 2


def test_tl_seed_and_initial_seed() -> None:
    s = tl.seed()
    assert type(s) is int and tl.initial_seed() == s == tl.default_generator.initial_seed()
    a = tl.randn(5).data
    tl.manual_seed(s)
    np.testing.assert_array_equal(tl.randn(5).data, a)
    assert tl.random.seed() != s and tl.random.initial_seed() != s


def test_get_and_set_rng_state_replay_the_library_draws() -> None:
    tl.manual_seed(31)
    tl.randn(3)
    state = tl.get_rng_state()
    x = tl.randn(4).data
    w = nn.Linear(3, 2).weight.data.copy()
    tl.manual_seed(0)
    assert tl.set_rng_state(state) is None
    assert tl.initial_seed() == 31
    np.testing.assert_array_equal(tl.randn(4).data, x)
    np.testing.assert_array_equal(nn.Linear(3, 2).weight.data, w)
    before = tl.get_rng_state()
    with pytest.raises(TypeError, match="set_rng_state: expected a uint8 array"):
        tl.set_rng_state(list(state))
    with pytest.raises(ValueError, match="set_rng_state: not a Generator state"):
        tl.random.set_rng_state(state[:10])
    np.testing.assert_array_equal(tl.get_rng_state(), before)


def test_fork_rng_restores_the_default_generator_on_exit() -> None:
    tl.manual_seed(12)
    want = tl.randn(6).data
    tl.manual_seed(12)
    with tl.random.fork_rng():
        tl.randn(100)
        tl.manual_seed(999)
        nn.Linear(4, 4)
    assert tl.initial_seed() == 12
    np.testing.assert_array_equal(tl.randn(6).data, want)
    tl.manual_seed(12)
    with pytest.raises(KeyError), tl.random.fork_rng(devices=[]):
        tl.rand(7)
        raise KeyError("inside")
    np.testing.assert_array_equal(tl.randn(6).data, want)  # restored after an exception too


def test_fork_rng_disabled_does_nothing_and_bad_arguments_are_refused() -> None:
    tl.manual_seed(12)
    want = tl.randn(6).data
    tl.manual_seed(12)
    with tl.random.fork_rng(enabled=False):
        tl.randn(1)
    assert not np.array_equal(tl.randn(6).data, want)
    with pytest.raises(TypeError, match="fork_rng: enabled must be a bool"):
        with tl.random.fork_rng(enabled="yes"):
            pass
    with pytest.raises(RuntimeError, match="fork_rng: devices"):
        with tl.random.fork_rng(devices=[0]):
            pass


# ------------------------------------------------------------------ a Generator everywhere
def test_the_random_factories_take_a_generator() -> None:
    def run(gen: Any) -> list:
        return [tl.randn(2, 3, generator=gen).data, tl.rand(4, generator=gen).data,
                tl.randint(0, 9, (5,), generator=gen).data, tl.randperm(8, generator=gen).data,
                tl.normal(0.0, 2.0, (3,), generator=gen).data,
                tl.multinomial(tl.tensor([0.2, 0.3, 0.5]), 4, replacement=True, generator=gen).data]

    a = run(tl.Generator().manual_seed(40))
    assert _same(run(tl.Generator().manual_seed(40)), a)
    assert _same(run(np.random.default_rng(40)), a)  # the same draws as a numpy Generator of the seed
    assert not _same(run(tl.Generator().manual_seed(41)), a)
    tl.manual_seed(40)
    assert _same(run(None), a)  # the default generator, seeded the same


def test_a_generator_is_advanced_as_it_is_used() -> None:
    g = tl.Generator().manual_seed(1)
    a = tl.randn(3, generator=g).data
    b = tl.randn(3, generator=g).data
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(np.concatenate([a, b]), np.random.default_rng(1).standard_normal(6))


def test_the_dataloader_order_follows_its_generator() -> None:
    X, y = np.arange(40.0).reshape(20, 2), np.arange(20)

    def epochs(dl: DataLoader) -> list:
        return [[yb.data.tolist() for _, yb in dl] for _ in range(3)]

    order = epochs(DataLoader(X, y, batch_size=6, generator=tl.Generator().manual_seed(4)))
    assert epochs(DataLoader(X, y, batch_size=6, generator=tl.Generator().manual_seed(4))) == order
    assert epochs(DataLoader(X, y, batch_size=6, seed=tl.Generator().manual_seed(4))) == order
    assert epochs(DataLoader(X, y, batch_size=6, generator=4)) == order  # the int seed: the same stream
    assert epochs(DataLoader(X, y, batch_size=6, generator=tl.Generator().manual_seed(5))) != order
    ds = TensorDataset(X, y)
    a = [yb.data.tolist() for _, yb in DataLoader(ds, 5, True, generator=tl.Generator().manual_seed(8))]
    b = [yb.data.tolist() for _, yb in DataLoader(ds, 5, True, generator=tl.Generator().manual_seed(8))]
    assert a == b and sorted(sum(a, [])) == list(range(20))
    with pytest.raises(ValueError, match="seed= or generator="):
        DataLoader(X, y, seed=1, generator=tl.Generator())


def test_a_dataloader_with_a_generator_resumes_exactly(tmp_path: Path) -> None:
    X, y = np.arange(30.0).reshape(15, 2), np.arange(15)

    def batches(dl: Any, k: Any = None) -> list:
        return [yb.data.tolist() for _, yb in itertools.islice(dl, k)]  # k batches (all: None)

    g = tl.Generator().manual_seed(77)
    loader = DataLoader(X, y, batch_size=4, generator=g)
    first = batches(loader)  # one whole epoch
    it = iter(loader)  # the second, stopped after two batches
    head = batches(it, 2)
    tl.save({"loader": loader.state_dict()}, tmp_path / "ckpt.npz")
    rest = batches(it)
    later = batches(loader)
    assert len(head) == 2 and len(rest) == 2 and head + rest != first
    other = tl.Generator().manual_seed(1)
    resumed = DataLoader(X, y, batch_size=4, generator=other)
    resumed.load_state_dict(tl.load(tmp_path / "ckpt.npz")["loader"])
    assert batches(resumed) == rest and batches(resumed) == later
    np.testing.assert_array_equal(other.get_state()[:41], g.get_state()[:41])  # the same stream position


def test_random_split_and_samplers_take_a_generator() -> None:
    def split(gen: Any) -> list:
        return [list(s.indices) for s in random_split(range(12), [5, 4, 3], generator=gen)]

    a = split(tl.Generator().manual_seed(3))
    assert split(tl.Generator().manual_seed(3)) == a == split(3)
    assert split(tl.Generator().manual_seed(4)) != a
    assert sorted(sum(a, [])) == list(range(12))
    with pytest.raises(TypeError, match="random_split: generator must be a tl.Generator"):
        split("3")
    s1 = RandomSampler(range(9), generator=tl.Generator().manual_seed(2))
    s2 = RandomSampler(range(9), generator=tl.Generator().manual_seed(2))
    assert [list(s1) for _ in range(3)] == [list(s2) for _ in range(3)]
    with pytest.raises(TypeError, match="RandomSampler: generator must be .*tl.Generator"):
        RandomSampler(range(9), generator=2.0)


def test_dropout_masks_follow_a_generator() -> None:
    x = tl.ones(6, 10)
    m1 = nn.Dropout(0.5, rng=tl.Generator().manual_seed(9))
    m2 = nn.Dropout(0.5, rng=tl.Generator().manual_seed(9))
    a = [m1(x).data for _ in range(2)]
    np.testing.assert_array_equal(a[0], m2(x).data)
    np.testing.assert_array_equal(a[1], m2(x).data)
    assert not np.array_equal(a[0], a[1])
    f = nn.functional.dropout(x, 0.3, rng=tl.Generator().manual_seed(1)).data
    np.testing.assert_array_equal(f, nn.functional.dropout(x, 0.3, rng=tl.Generator().manual_seed(1)).data)
    tl.manual_seed(9)
    np.testing.assert_array_equal(nn.Dropout(0.5)(x).data, a[0])  # the default generator, seeded alike


def test_layer_initialisation_follows_a_generator() -> None:
    def weights(rng: Any) -> list:
        return [p.data.copy() for p in nn.Linear(4, 3, rng=rng).parameters()]

    a = weights(tl.Generator().manual_seed(5))
    assert _same(weights(tl.Generator().manual_seed(5)), a) and _same(weights(5), a)
    assert not _same(weights(tl.Generator().manual_seed(6)), a)
    t1, t2 = tl.zeros(3, 4, requires_grad=True), tl.zeros(3, 4, requires_grad=True)
    nn.init.kaiming_uniform_(t1, generator=tl.Generator().manual_seed(2))
    nn.init.kaiming_uniform_(t2, generator=tl.Generator().manual_seed(2))
    np.testing.assert_array_equal(t1.data, t2.data)
    assert np.any(t1.data != 0)


def test_vmap_randomness_modes_see_the_default_generator() -> None:
    x = tl.ones(3, 4)
    with pytest.raises(RuntimeError, match="randomness error mode"):
        tl.func.vmap(lambda r: r + tl.randn(4))(x)
    tl.manual_seed(1)
    before = tl.get_rng_state()
    with pytest.raises(RuntimeError, match="randomness error mode"):
        tl.func.vmap(lambda r: r * tl.manual_seed(1).random())(x)  # a reseed counts as a draw
    np.testing.assert_array_equal(tl.get_rng_state(), before)
    same = tl.func.vmap(lambda r: r + tl.randn(4), randomness="same")(x).data
    np.testing.assert_array_equal(same[0], same[2])


# ------------------------------------------------------------------ tl.utils.data
def test_utils_data_is_the_data_module() -> None:
    import tinygrad_lite.utils.data as D
    from tinygrad_lite.utils.data import DataLoader as DL
    from tinygrad_lite.utils.data import TensorDataset as TD
    from tinygrad_lite.utils.data import random_split as rs

    assert D is tl.data is tl.utils.data is sys.modules["tinygrad_lite.utils.data"]
    assert DL is DataLoader and TD is TensorDataset and rs is random_split
    assert "Generator" in tl.__all__ and "utils" not in tl.__all__  # an attribute, as torch.utils
    assert "random" not in tl.__all__  # ``from tinygrad_lite import *`` leaves Python's random alone


def test_utils_data_has_torchs_names() -> None:
    torch = pytest.importorskip("torch")
    import torch.utils.data as TD

    names = ["BatchSampler", "ChainDataset", "ConcatDataset", "DataLoader", "Dataset", "DistributedSampler",
             "IterableDataset", "RandomSampler", "Sampler", "SequentialSampler", "StackDataset", "Subset",
             "SubsetRandomSampler", "TensorDataset", "WeightedRandomSampler", "default_collate", "default_convert",
             "get_worker_info", "random_split"]
    for name in names:
        assert hasattr(TD, name) and name in TD.__all__, name
        assert callable(getattr(tl.utils.data, name)) and name in tl.utils.data.__all__, name
    assert tl.utils.data.get_worker_info() is None is TD.get_worker_info()
    for name in ("Generator", "manual_seed", "seed", "initial_seed", "get_rng_state", "set_rng_state",
                 "default_generator"):
        assert hasattr(torch, name) and hasattr(tl, name), name
    assert hasattr(torch.random, "fork_rng") and callable(tl.random.fork_rng)


def test_default_convert_as_torch() -> None:
    torch = pytest.importorskip("torch")
    from tinygrad_lite.utils.data import default_convert as conv
    from torch.utils.data import default_convert as tconv

    P = collections.namedtuple("P", "a b")

    def same(ours: Any, theirs: Any) -> None:
        if isinstance(theirs, torch.Tensor):
            assert isinstance(ours, tl.Tensor) and not ours.requires_grad
            assert ours.shape == tuple(theirs.shape) and str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
            np.testing.assert_array_equal(ours.data, theirs.numpy())
        elif isinstance(theirs, dict):
            assert type(ours) is type(theirs) and list(ours) == list(theirs)
            for k in theirs:
                same(ours[k], theirs[k])
        elif isinstance(theirs, (list, tuple)):
            assert type(ours) is type(theirs) and len(ours) == len(theirs)
            for o, t in zip(ours, theirs):
                same(o, t)
        elif isinstance(theirs, np.ndarray):
            assert ours is theirs
        else:
            assert type(ours) is type(theirs) and ours == theirs

    strings = np.array(["a", "b"])
    cases = [3, 2.5, "s", np.array([1, 2]), np.float32(1.5), np.array([[True, False]]), np.zeros((2, 0)),
             (np.arange(3), 4), [np.ones(2, np.float32), "x"], {"k": np.int8(3), "s": strings},
             collections.OrderedDict(a=np.arange(2)), P(np.array(1.0), 2), range(3), strings]
    for case in cases:
        same(conv(case), tconv(case))
    src = np.arange(3.0)
    out = conv(src)
    src[0] = 100.0
    assert out.data[0] == 0.0  # the values copied
    t = tl.tensor([1.0])
    assert conv(t) is t
