"""Mini-batches of a data set, and the exact full-data gradient from them.

``DataLoader`` cuts arrays ``X`` (inputs) and ``y`` (targets) into batches of
``batch_size`` samples along axis 0 and yields them as ``(xb, yb)`` Tensors
marked ``batched=True``, so one ``backward()`` of a cost over a batch gives
both the batch gradient ``p.grad`` and the per-sample gradients
``p.grad_sample``. With ``shuffle=True`` the order is drawn anew every epoch
(each ``iter(loader)`` is one epoch); full-batch gradient descent
(``batch_size=len(X)``), stochastic gradient descent (``batch_size=1``) and
mini-batch SGD are the same training loop with a different batch size.

When the batch size does not divide the number of samples, the last batch is
smaller. Weighting each batch's MEAN gradient by its share of the data
recovers the exact full-data gradient; ``accumulate_full_gradient`` does
exactly that.

Two more ways to draw batches: ``sampling="poisson"`` takes every sample into
each batch independently with probability ``batch_size / N`` (what DP-SGD's
privacy accounting assumes), and ``shard=(rank, world_size)`` gives each
process of a data-parallel job its part of the same global batch. A loader's
``state_dict()`` resumes an interrupted epoch exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any, Optional, Union

import numpy as np

from . import datasets_more, samplers
from .datasets import Dataset, Subset, TensorDataset, batch_of, check_source, default_collate, fetch, random_split
from .datasets_more import *  # noqa: F403  (ConcatDataset, StackDataset, IterableDataset, ChainDataset, ...)
from .fullgrad import accumulate_full_gradient
from .loaderparts import (
    BATCH_SIZE,
    bind,
    check_torch_options,
    checked_state,
    copy_state,
    describe,
    load_source_state,
    rng_state,
    source_batches,
    source_len,
    source_state,
)
from .random import draw_seed
from .samplers import *  # noqa: F403  (Sampler, RandomSampler, BatchSampler, DistributedSampler, ...)
from .tensor import Tensor

__all__ = ["DataLoader", "accumulate_full_gradient", "Dataset", "TensorDataset", "Subset", "random_split",
           "default_collate", *datasets_more.__all__, *samplers.__all__]

SeedLike = Union[None, int, np.random.Generator]
SAMPLINGS = ("shuffle", "poisson")
_STATE_FORMAT = "tinygrad_lite.DataLoader"


def _as_array(a: Any, name: str) -> np.ndarray:
    if a is None:
        raise TypeError(
            f"DataLoader needs {name}; targets are required (for unlabelled data pass placeholder targets, "
            "e.g. np.zeros(len(X)))"
        )
    try:
        arr = a.data if isinstance(a, Tensor) else np.asarray(a)
    except (TypeError, ValueError) as e:
        raise TypeError(f"DataLoader: {name} must be an array of numbers ({e})") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"DataLoader: {name} must hold numbers (bool, integer or float), got dtype {arr.dtype}")
    if arr.ndim == 0:
        raise ValueError(f"DataLoader: {name} must have a sample axis (axis 0), got a 0-d array")
    return arr


def _equal(a: Any, b: Any) -> bool:
    """``a == b`` as one bool; False for values that do not compare to one (an array, ...)."""
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _check_bool(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"DataLoader: {name} must be a bool, got {value!r}")
    return bool(value)


def _check_shard(shard: Any) -> Optional[tuple[int, int]]:
    if shard is None:
        return None
    if not isinstance(shard, (tuple, list)) or len(shard) != 2 or not all(_is_int(v) for v in shard):
        raise TypeError(f"DataLoader: shard must be None or a pair of ints (rank, world_size), got {shard!r}")
    rank, world = int(shard[0]), int(shard[1])
    if world < 1:
        raise ValueError(f"DataLoader: shard=(rank, world_size) needs world_size >= 1, got {shard!r}")
    if not 0 <= rank < world:
        raise ValueError(f"DataLoader: shard=(rank, world_size) needs 0 <= rank < world_size, got {shard!r}")
    return rank, world


class DataLoader:
    """Iterates over ``(xb, yb)`` mini-batches of ``(X, y)`` along axis 0.

    Args:
        X: the inputs, shape ``(N, ...)``: a numpy array, anything
            ``np.asarray`` accepts, or a Tensor (its ``.data`` is used).
        y: the targets, shape ``(N, ...)``, same kinds as ``X``. Required:
            every batch is a pair ``(xb, yb)``. Integer class labels keep
            their integer dtype (as ``cross_entropy`` wants), and float data
            keeps its dtype (float32 stays float32).
        batch_size: samples per batch, an int >= 1 (with Poisson sampling the
            EXPECTED batch size, at most N); 32 unless given, 1 for a data set
            (torch's default there).
        shuffle: draw a new random order of the samples for every epoch;
            ``False`` keeps the order of ``X``. ``None`` (the default) is
            True for ``DataLoader(X, y)`` and False (torch's default) for a
            data set, a sampler, a batch sampler or a stream.
        drop_last: leave out the last batch when it would be smaller than
            ``batch_size``.
        seed: ``None`` (fresh randomness), an int, or a ``tl.Generator`` /
            ``numpy.random.Generator`` (used, and advanced, as it is). Two
            loaders with the same int seed yield the same sequence of epochs;
            one loader gives a new order every epoch.
        sampling: ``"shuffle"`` (each epoch is a permutation of the data cut
            into batches) or ``"poisson"``: each batch takes every sample
            independently with probability ``q = sample_rate = batch_size / N``
            (the sampling under which DP-SGD's privacy accounting holds), so
            batch sizes vary around ``batch_size`` and may be 0 (an empty
            batched Tensor of shape ``(0, ...)``); an epoch is ``N // batch_size``
            batches; ``shuffle`` is not used.
        shard: ``None``, or ``(rank, world_size)`` for data-parallel training:
            every rank draws the same GLOBAL batch (so the same ``seed`` is
            required on every rank when the batches are random) and yields its
            part ``np.array_split(global_batch, world_size)[rank]``; ``len()``
            still counts global batches.

    ``DataLoader(dataset, batch_size, shuffle, sampler, batch_sampler, num_workers, collate_fn,
    pin_memory, drop_last, timeout, worker_init_fn, multiprocessing_context, generator)``
    (torch's positional order; ``y`` left out) reads a map-style data set instead (a
    ``TensorDataset``, anything with ``__len__`` and ``__getitem__``, or a list / tuple of
    samples such as ``list(zip(X, Y))``; an array or Tensor still needs ``y``): a batch is
    ``collate_fn([dataset[i] for i in idx])`` (``default_collate``: tuple samples give a list of
    batched Tensors, as torch; ``dataset.__getitems__(idx)`` when defined), a TensorDataset's
    arrays indexed at once. Sampling, shards and ``state_dict`` work the same. An
    ``IterableDataset`` is read in its own order, cut into lists of ``batch_size`` samples.

    torch's keywords (for either form; checked as torch checks them):

    * ``sampler``: an iterable of sample indices (a ``Sampler`` or a list), read anew every
      epoch and cut into batches of ``batch_size``; excludes ``shuffle=True``.
    * ``batch_sampler``: an iterable of lists of indices, one list per batch; excludes
      ``batch_size``, ``shuffle``, ``sampler`` and ``drop_last`` (``loader.batch_size`` is None).
    * ``generator``: the same as ``seed`` (an int, a ``tl.Generator`` or a numpy Generator; not
      both); ``state_dict`` saves its state, ``load_state_dict`` sets it back.
    * ``num_workers`` (an int >= 0), ``prefetch_factor``, ``persistent_workers``,
      ``multiprocessing_context``, ``worker_init_fn``, ``timeout`` (>= 0), ``in_order``:
      loading always runs in the calling process, in order, so these change nothing: the
      batches are those of ``num_workers=0`` and ``worker_init_fn`` is never called (there
      are no workers; ``get_worker_info()`` is None).
    * ``pin_memory``, ``pin_memory_device``: the data stays in host memory; no effect.

    ``state_dict`` resumes the samplers of ``tl.data`` (their random state or epoch is saved)
    and lists of indices; a sampler of another class or a stream raises ``TypeError`` naming
    it, as its next order is not known to the loader.

    Each ``iter(loader)`` is one epoch: every sample appears exactly once
    (apart from those ``drop_last`` leaves out), in batches of
    ``batch_size`` and a smaller last one when ``batch_size`` does not divide
    ``N``. Batches are new ``Tensor(..., batched=True)`` objects holding
    copies of the rows, without ``requires_grad``. The loader keeps a
    reference to ``X`` and ``y`` (no copy), so changes to those arrays show up
    in later epochs. ``state_dict()`` / ``load_state_dict()`` save and restore
    the position (epoch, batch within it, random state), so a training run
    resumed from a checkpoint sees exactly the batches it would have seen.

    Raises:
        ValueError: if ``len(X) != len(y)``, the data set is empty,
            ``batch_size`` is not an int >= 1, ``sampling`` is unknown,
            ``sampling="poisson"`` comes with ``drop_last=True`` or a
            ``batch_size`` above N, the shard's rank is out of range, or
            random batches (shuffle or Poisson) are sharded over a world above
            1 without a ``seed``.
            torch's keyword checks raise torch's exception types.
        TypeError: if ``y`` is ``None``, ``seed`` has an unsupported type,
            ``shuffle`` / ``drop_last`` are not bools or ``shard`` is not a
            pair of ints.
    """

    def __init__(
        self,
        X: Any,
        *args: Any,
        y: Any = None,
        batch_size: Optional[int] = BATCH_SIZE,
        shuffle: Optional[bool] = None,
        drop_last: bool = False,
        seed: SeedLike = None,
        sampling: str = "shuffle",
        shard: Optional[tuple[int, int]] = None,
        collate_fn: Optional[Callable[[list], Any]] = None,
        sampler: Any = None,
        batch_sampler: Any = None,
        num_workers: int = 0,
        pin_memory: bool = False,
        timeout: float = 0,
        worker_init_fn: Optional[Callable[[int], None]] = None,
        multiprocessing_context: Any = None,
        generator: SeedLike = None,
        prefetch_factor: Optional[int] = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
    ) -> None:
        o = SimpleNamespace(**bind(X, args, dict(
            y=y, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last, seed=seed, sampling=sampling,
            shard=shard, collate_fn=collate_fn, sampler=sampler, batch_sampler=batch_sampler,
            num_workers=num_workers, pin_memory=pin_memory, timeout=timeout, worker_init_fn=worker_init_fn,
            multiprocessing_context=multiprocessing_context, generator=generator)),
            prefetch_factor=prefetch_factor, persistent_workers=persistent_workers,
            pin_memory_device=pin_memory_device, in_order=in_order)
        self._mode = check_torch_options(o, X)
        y, batch_size, shuffle, drop_last, seed = o.y, o.batch_size, o.shuffle, o.drop_last, o.seed
        sampling, shard, collate_fn = o.sampling, o.shard, o.collate_fn
        for key in ("sampler", "batch_sampler", "num_workers", "pin_memory", "timeout", "worker_init_fn",
                    "multiprocessing_context", "generator", "prefetch_factor", "persistent_workers",
                    "pin_memory_device", "in_order"):
            setattr(self, key, getattr(o, key))
        self.dataset, self.collate_fn = (X, collate_fn) if check_source(X, y, collate_fn) else (None, None)
        if self.dataset is None:
            X_arr, y_arr = _as_array(X, "X"), _as_array(y, "y")
            if len(X_arr) != len(y_arr):
                raise ValueError(
                    f"DataLoader: X and y must have the same number of samples, got len(X) = {len(X_arr)} "
                    f"and len(y) = {len(y_arr)}"
                )
        else:
            X_arr = y_arr = None
        n = len(X_arr) if self.dataset is None else len(self.dataset) if self._mode != "iterable" else 1
        if n == 0:
            raise ValueError(f"DataLoader: the data set is empty (len({'X' if X_arr is not None else 'dataset'}) "
                             "== 0)")
        if not _is_int(batch_size) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be an int >= 1, got {batch_size!r}")
        shuffle = _check_bool(shuffle, "shuffle")
        drop_last = _check_bool(drop_last, "drop_last")
        seed_ok = isinstance(seed, (int, np.integer, np.random.Generator)) and not isinstance(seed, bool)
        if seed is not None and not seed_ok:
            raise TypeError(f"DataLoader: seed must be None, an int or a tl.Generator / numpy Generator, got {seed!r}")
        if _is_int(seed) and seed < 0:
            raise ValueError(f"DataLoader: seed must be a non-negative int, got {seed!r}")
        if not isinstance(sampling, str) or sampling not in SAMPLINGS:
            raise ValueError(f"DataLoader: sampling must be 'shuffle' or 'poisson', got {sampling!r}")
        if sampling == "poisson":
            if drop_last:
                raise ValueError("DataLoader: sampling='poisson' draws batches of random size; "
                                 "drop_last=True does not apply (and would bias the sampling)")
            if batch_size > n:
                raise ValueError(f"DataLoader: sampling='poisson' needs batch_size <= len(X) (a sample rate "
                                 f"batch_size / len(X) <= 1), got batch_size={batch_size} for {n} samples")
        shard_ = _check_shard(shard)
        random_batches = sampling == "poisson" or shuffle
        if shard_ is not None and shard_[1] > 1 and random_batches and seed is None:
            raise ValueError(
                "DataLoader: a shard of a world above 1 needs seed= (an int, the same on every rank) so that "
                "every rank draws the same global batches"
            )
        src = self.sampler if self.sampler is not None else getattr(self.batch_sampler, "sampler", None)
        if shard_ is not None and type(src).__name__ == "DistributedSampler":  # (each rank's own samples)
            raise ValueError("DataLoader: shard= cuts every rank's part out of the same global batches, and a "
                             "DistributedSampler gives each rank its own samples already: use one of them")
        if shard_ is not None and shard_[1] > 1 and getattr(src, "_seeded", True) is False:
            raise ValueError(f"DataLoader: a shard of a world above 1 needs the {type(src).__name__} seeded "
                             "(generator=, an int, the same on every rank) so that every rank draws the same "
                             "global batches")
        self.X, self.y = X_arr, y_arr
        self.batch_size = int(batch_size) if self._mode != "batch_sampler" else None
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.sampling = sampling
        self.shard = shard_
        # without a seed, one is drawn from the library's default generator (tl.manual_seed)
        self.rng = np.random.default_rng(draw_seed() if seed is None else seed)
        self._epoch = 0  # epochs started
        self._batch = 0  # batches yielded in the current epoch
        self._epoch_rng = rng_state(self.rng)  # the random state the current epoch started from
        self._done = True  # no epoch under way (none started, or the last one ran to its end)
        self._token = 0  # which iterator is the current epoch
        self._resume = False  # the next iter() continues the loaded epoch
        self._source = {"batch_sampler": self.batch_sampler, "sampler": self.sampler}.get(self._mode)
        self._epoch_src = None if self._source is None else source_state(self._source)

    @property
    def num_samples(self) -> int:
        """N, the number of samples in the data set."""
        return len(self.X) if self.dataset is None else len(self.dataset)

    @property
    def sample_rate(self) -> float:
        """``batch_size / N``: with Poisson sampling, each sample's probability to be in a batch."""
        return self.batch_size / self.num_samples

    @property
    def epoch(self) -> int:
        """The number of epochs started so far (``iter()`` calls, a resumed epoch counted once)."""
        return self._epoch

    def __len__(self) -> int:
        """Batches per epoch: ``ceil(N / B)``, ``floor(N / B)`` with ``drop_last`` or Poisson sampling.

        With a ``shard`` these are global batches: every rank yields one part of each.
        """
        if self._mode != "own":  # a sampler cut into batches, a batch sampler, or a stream
            return source_len(self)
        if self.drop_last or self.sampling == "poisson":
            return self.num_samples // self.batch_size
        return (self.num_samples + self.batch_size - 1) // self.batch_size

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        """Starts one epoch (or continues the one a ``load_state_dict`` restored).

        With ``shuffle`` the epoch's order is drawn right here; Poisson batches
        are drawn one by one as they are yielded.
        """
        resumed = self._resume
        if self._resume:
            self._resume = False
            start = self._batch
            self.rng.bit_generator.state = copy_state(self._epoch_rng)
        else:
            self._epoch += 1
            start = 0
            self._batch = 0
            self._epoch_rng = rng_state(self.rng)
        self._done = False
        self._token += 1
        if self._mode != "own":
            if resumed:  # the sampler's state at the saved epoch's start
                load_source_state(self._source, self._epoch_src, "sampler_epoch_state")
            elif self._source is not None:
                self._epoch_src = source_state(self._source)
            return self._run(source_batches(self, start), start, self._token)
        n = self.num_samples
        if self.sampling == "poisson":
            for _ in range(start):  # the draws of the batches already seen: replay them
                self.rng.random(n)
            q = self.sample_rate
            return self._run((self._part(np.flatnonzero(self.rng.random(n) < q)) for _ in range(start, len(self))),
                             start, self._token)
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        cut = (self._part(order[k * self.batch_size : (k + 1) * self.batch_size]) for k in range(start, len(self)))
        return self._run(cut, start, self._token)

    def _part(self, idx: np.ndarray) -> Any:
        probe = idx[0] if len(idx) and not isinstance(idx, np.ndarray) else 0  # (the structure of an empty part)
        if self.shard is not None:
            rank, world = self.shard
            cut = np.array_split(np.arange(len(idx)), world)[rank]
            idx = idx[cut] if isinstance(idx, np.ndarray) else [idx[k] for k in cut]  # (a list: keys)
        if self.dataset is not None:
            return fetch(self.dataset, idx, self.collate_fn, probe)
        return batch_of(self.X[idx]), batch_of(self.y[idx])  # (each a new array: no second copy)

    def _advance(self, token: int, k: int) -> None:
        if token == self._token:
            self._batch = k + 1

    def _finish(self, token: int) -> None:
        if token == self._token:
            self._done = True

    def _run(self, batches: Iterator[Any], start: int, token: int) -> Iterator[Any]:
        for k, batch in enumerate(batches, start):
            self._advance(token, k)
            yield batch
        self._finish(token)

    # ----------------------------------------------------------------- checkpoints

    def state_dict(self) -> dict[str, Any]:
        """The loader's position, as plain numbers, strings and arrays (``tl.save`` stores it).

        ``epoch`` (epochs started), ``batch`` (batches of it already yielded),
        ``epoch_done`` (whether its iterator has ended), the random state the
        epoch started from and the current one, and the settings that must
        match on loading. Every rank of a sharded loader
        has the same state, so rank 0's checkpoint resumes every rank.
        """
        extra = self._source_entries()
        return {
            **extra,
            "format": _STATE_FORMAT,
            "num_samples": self.num_samples,
            "batch_size": self.batch_size,
            "shuffle": self.shuffle,
            "drop_last": self.drop_last,
            "sampling": self.sampling,
            "epoch": self._epoch,
            "batch": self._batch,
            "epoch_done": self._done,
            "epoch_rng": copy_state(self._epoch_rng),
            "rng": rng_state(self.rng),
        }

    def _source_entries(self, who: str = "state_dict") -> dict[str, Any]:
        """The sampler's kind and states for ``state_dict``; TypeError naming what cannot resume."""
        if self._mode == "own":
            return {}
        now = None if self._source is None else source_state(self._source)
        if now is None or self._epoch_src is None:
            what = (f"the IterableDataset {type(self.dataset).__name__} (a stream cannot be restarted mid-epoch)"
                    if self._source is None else f"the {self._mode} {describe(self._source)} (its next order is "
                    "not known to the loader: use tl.data's samplers, or a list of indices)")
            raise TypeError(f"DataLoader.{who}: cannot save or restore the position of {what}")
        return {"sampler": f"{self._mode}={describe(self._source)}", "sampler_epoch_state": copy_state(self._epoch_src),
                "sampler_state": now}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restores a ``state_dict()``: the next ``iter()`` yields the rest of the saved epoch.

        The rest may be empty (saved after the epoch's last batch, before its
        iterator ended): that ``iter()`` then ends the epoch, as the saved
        loop's next step would have. When the saved epoch had ended (or none
        had started) the next ``iter()`` starts a new epoch, with the random
        state the saved loader had. Only a restored epoch is continued: an
        epoch abandoned by leaving its loop early is not. The data set size
        and the batching settings must match (``ValueError`` naming the entry
        otherwise); all or nothing.
        """
        if not isinstance(state, dict):
            raise TypeError(f"DataLoader.load_state_dict: state must be a dict, got {type(state).__name__}")
        keys = ("format", "num_samples", "batch_size", "shuffle", "drop_last", "sampling", "epoch", "batch",
                "epoch_done", "epoch_rng", "rng")
        missing = [k for k in keys if k not in state]
        if missing:
            raise KeyError(f"DataLoader.load_state_dict: missing entries {missing}")
        sampler_keys = ("sampler", "sampler_epoch_state", "sampler_state")
        unknown = sorted(str(k) for k in state if k not in keys and k not in sampler_keys)
        if unknown:
            raise KeyError(f"DataLoader.load_state_dict: unknown entries {unknown}")
        if "sampler" in state and any(k not in state for k in sampler_keys[1:]):
            raise KeyError(f"DataLoader.load_state_dict: missing entries "
                           f"{[k for k in sampler_keys[1:] if k not in state]} (the state has a sampler)")
        if not _equal(state["format"], _STATE_FORMAT):
            raise ValueError(
                f"DataLoader.load_state_dict: not a DataLoader state (format {state['format']!r})"
            )
        self._source_entries("load_state_dict")
        kind = None if self._source is None else f"{self._mode}={describe(self._source)}"
        if not _equal(state.get("sampler"), kind):
            raise ValueError(f"DataLoader.load_state_dict: the state has sampler={state.get('sampler')!r}, this "
                             f"loader has sampler={kind!r}")
        for key in ("num_samples", "batch_size", "shuffle", "drop_last", "sampling"):
            if not _equal(state[key], getattr(self, key)):
                raise ValueError(f"DataLoader.load_state_dict: the state has {key}={state[key]!r}, this "
                                 f"loader has {key}={getattr(self, key)!r}")
        epoch, batch, done = state["epoch"], state["batch"], state["epoch_done"]
        if not _is_int(epoch) or epoch < 0:
            raise ValueError(f"DataLoader.load_state_dict: epoch must be an int >= 0, got {epoch!r}")
        if not isinstance(done, (bool, np.bool_)) or (epoch == 0 and not done):
            raise ValueError(f"DataLoader.load_state_dict: epoch_done must be a bool (True at epoch 0), "
                             f"got {done!r}")
        if not _is_int(batch) or not 0 <= batch <= len(self) or (epoch == 0 and batch):
            raise ValueError(
                f"DataLoader.load_state_dict: batch must be an int in 0..{len(self)}, got {batch!r}"
            )
        epoch_rng = checked_state(self.rng, state["epoch_rng"], "epoch_rng")
        rng = checked_state(self.rng, state["rng"], "rng")
        if self._source is not None:
            load_source_state(self._source, state["sampler_epoch_state"], "sampler_epoch_state", apply=False)
            load_source_state(self._source, state["sampler_state"], "sampler_state")
            self._epoch_src = copy_state(state["sampler_epoch_state"])
        self.rng.bit_generator.state = rng
        self._epoch, self._batch, self._epoch_rng = int(epoch), int(batch), epoch_rng
        self._done = bool(done)
        self._resume = not self._done
        self._token += 1  # iterators made before loading no longer move the position

    def __repr__(self) -> str:
        extra = ""
        if self.sampling != "shuffle":
            extra += f", sampling={self.sampling!r}"
        if self.shard is not None:
            extra += f", shard={self.shard}"
        if self._source is not None:
            extra += f", {self._mode}={describe(self._source)}"
        sized = self._mode != "iterable" or hasattr(self.dataset, "__len__")
        return (
            f"DataLoader(N={self.num_samples if sized else '?'}, batch_size={self.batch_size}, shuffle={self.shuffle}, "
            f"drop_last={self.drop_last}{extra}, batches={len(self) if sized else '?'})"
        )
