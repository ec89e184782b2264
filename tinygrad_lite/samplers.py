"""Samplers as in ``torch.utils.data`` (re-exported by ``tl.data``): the order in which a
``DataLoader(dataset, sampler=...)`` visits the samples, or, for a batch sampler, the batches.

A sampler is an iterable of indices ``0 <= i < len(dataset)``, read anew every epoch.
``SequentialSampler`` gives ``0, 1, ..., n-1``; ``RandomSampler`` a random permutation (or
``num_samples`` draws with replacement); ``SubsetRandomSampler`` a permutation of given
indices; ``WeightedRandomSampler`` draws index ``i`` with probability ``w_i / sum_j w_j``;
``BatchSampler`` cuts another sampler into lists of ``batch_size`` indices;
``DistributedSampler`` gives each of ``num_replicas`` processes its share of the data.

``generator=``: ``None``, an int seed, a ``tl.Generator`` or a ``numpy.random.Generator`` (used,
and advanced, as it is). With ``None`` the
sampler takes its own generator, seeded from the library's default generator
(``tl.manual_seed``) when the sampler is constructed, so a seeded run is repeatable and a
``DataLoader`` can save and restore the sampler's random state (``state_dict``).
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Optional, Union

import numpy as np

from .random import draw_seed
from .tensor import Tensor

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
           "BatchSampler", "DistributedSampler"]

GeneratorLike = Union[None, int, np.random.Generator]


def _generator(generator: GeneratorLike, who: str) -> np.random.Generator:
    """The sampler's own generator: as given, a new one from an int seed, or (None) one seeded
    from the default generator now."""
    if isinstance(generator, np.random.Generator):
        return generator
    if generator is None:
        return np.random.default_rng(draw_seed())
    if isinstance(generator, numbers.Integral) and not isinstance(generator, bool) and generator >= 0:
        return np.random.default_rng(int(generator))
    raise TypeError(f"{who}: generator must be None, a non-negative int seed, a tl.Generator or a numpy "
                    f"Generator, got {generator!r}")


def _positive_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0


class Sampler:
    """The base class: subclasses define ``__iter__`` (the indices of one epoch) and, when the
    count is known, ``__len__``."""

    def __init__(self, data_source: Any = None) -> None:
        """``data_source`` is accepted (torch's old signature) and not used."""

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError(f"{type(self).__name__}: a Sampler subclass must define __iter__")


class SequentialSampler(Sampler):
    """``0, 1, ..., len(data_source) - 1``, the same every epoch."""

    def __init__(self, data_source: Any) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random order of ``range(n)``, ``n = len(data_source)``, drawn anew every epoch.

    Without replacement: ``num_samples // n`` whole permutations, then the first
    ``num_samples % n`` of one more (``num_samples`` defaults to n: one permutation). With
    replacement: ``num_samples`` independent uniform draws from ``range(n)``.
    Raises TypeError when ``replacement`` is not a bool, ValueError when ``num_samples`` is
    not a positive int (as torch).
    """

    def __init__(self, data_source: Any, replacement: bool = False, num_samples: Optional[int] = None,
                 generator: GeneratorLike = None) -> None:
        self.data_source, self.replacement, self._num_samples = data_source, replacement, num_samples
        if not isinstance(replacement, bool):
            raise TypeError(f"RandomSampler: replacement should be a boolean value, but got "
                            f"replacement={replacement!r}")
        if not _positive_int(self.num_samples):
            raise ValueError(f"RandomSampler: num_samples should be a positive integer value, but got "
                             f"num_samples={self.num_samples!r}")
        self.generator = _generator(generator, "RandomSampler")
        self._seeded = generator is not None  # (a shard of a world above 1 needs the same order on every rank)

    @property
    def num_samples(self) -> int:
        """Indices per epoch: ``num_samples`` if given, else ``len(data_source)``."""
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n, k = len(self.data_source), int(self.num_samples)
        if self.replacement:
            yield from self.generator.integers(0, n, size=k).tolist()
            return
        for _ in range(k // n):
            yield from self.generator.permutation(n).tolist()
        if k % n:
            yield from self.generator.permutation(n)[: k % n].tolist()

    def __len__(self) -> int:
        return int(self.num_samples)


class SubsetRandomSampler(Sampler):
    """``indices`` in a random order (a permutation of them), drawn anew every epoch."""

    def __init__(self, indices: Sequence[int], generator: GeneratorLike = None) -> None:
        self.indices = indices
        self.generator = _generator(generator, "SubsetRandomSampler")
        self._seeded = generator is not None  # (a shard of a world above 1 needs the same order on every rank)

    def __iter__(self) -> Iterator[Any]:
        for i in self.generator.permutation(len(self.indices)).tolist():
            yield self.indices[i]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    r"""``num_samples`` indices of ``range(len(weights))``, index i with probability
    ``p_i = w_i / sum_j w_j``.

    With replacement the draws are independent. Without, each draw takes an index not drawn
    yet with probability proportional to its weight (``p_i / sum_{j not drawn} p_j``): the
    order of the keys ``E_i / w_i`` with ``E_i ~ Exp(1)`` independent, the smallest first.
    Raises ValueError (as torch) for ``num_samples`` not a positive int, ``replacement`` not a
    bool, weights not 1-d; and for weights that are negative, not finite or all zero, or
    fewer non-zero weights than ``num_samples`` without replacement (torch's error when it
    samples).
    """

    def __init__(self, weights: Sequence[float], num_samples: int, replacement: bool = True,
                 generator: GeneratorLike = None) -> None:
        if not _positive_int(num_samples):
            raise ValueError(f"WeightedRandomSampler: num_samples should be a positive integer value, but got "
                             f"num_samples={num_samples!r}")
        if not isinstance(replacement, bool):
            raise ValueError(f"WeightedRandomSampler: replacement should be a boolean value, but got "
                             f"replacement={replacement!r}")
        w = np.asarray(weights.data if isinstance(weights, Tensor) else weights, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(f"WeightedRandomSampler: weights should be a 1d sequence but given weights have "
                             f"shape {w.shape}")
        if not np.all(np.isfinite(w)) or np.any(w < 0) or not np.any(w > 0):
            raise ValueError("WeightedRandomSampler: weights must be finite, >= 0 and not all 0")
        if not replacement and num_samples > np.count_nonzero(w):
            raise ValueError(f"WeightedRandomSampler: without replacement num_samples={num_samples} needs as "
                             f"many non-zero weights, got {np.count_nonzero(w)}")
        self.weights, self.num_samples, self.replacement = w, int(num_samples), replacement
        self.generator = _generator(generator, "WeightedRandomSampler")
        self._seeded = generator is not None  # (a shard of a world above 1 needs the same order on every rank)

    def __iter__(self) -> Iterator[int]:
        p = self.weights / self.weights.sum()
        if self.replacement:
            idx = self.generator.choice(len(p), size=self.num_samples, replace=True, p=p)
        else:
            with np.errstate(divide="ignore"):
                keys = self.generator.exponential(size=len(p)) / self.weights
            idx = np.argsort(keys, kind="stable")[: self.num_samples]
        yield from idx.tolist()

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Lists of ``batch_size`` consecutive indices of ``sampler`` (any iterable of indices);
    the last one shorter, or left out with ``drop_last``. ``len() = ceil(len(sampler) / B)``
    (``floor`` with ``drop_last``). ValueError for a ``batch_size`` not a positive int or a
    ``drop_last`` not a bool (as torch)."""

    def __init__(self, sampler: Union[Sampler, Iterable[int]], batch_size: int, drop_last: bool) -> None:
        if not _positive_int(batch_size):
            raise ValueError(f"BatchSampler: batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size!r}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"BatchSampler: drop_last should be a boolean value, but got drop_last={drop_last!r}")
        self.sampler, self.batch_size, self.drop_last = sampler, int(batch_size), drop_last

    def __iter__(self) -> Iterator[list[int]]:
        it = iter(self.sampler)
        while True:
            batch = list(itertools.islice(it, self.batch_size))
            if not batch or (self.drop_last and len(batch) < self.batch_size):
                return
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else (n + self.batch_size - 1) // self.batch_size


class DistributedSampler(Sampler):
    """Rank ``rank``'s share of the data for ``num_replicas`` processes (torch's rules).

    Each rank gets ``num_samples`` indices: ``ceil(n / R)``, or with ``drop_last`` (when R does
    not divide n) ``ceil((n - R) / R)``. The order (``range(n)``, or with ``shuffle`` the
    permutation of ``numpy.random.default_rng(seed + epoch)``, the same on every rank) is
    padded by repeating its start up to ``total_size = num_samples * R`` indices (or cut to
    that with ``drop_last``); rank r takes positions ``r, r + R, r + 2R, ...``. Call
    ``set_epoch(e)`` before each epoch for a new shuffle. ``num_replicas`` / ``rank`` default
    to ``tl.distributed.world_size()`` / ``rank()``; ValueError for a rank outside
    ``[0, num_replicas - 1]``.
    """

    def __init__(self, dataset: Any, num_replicas: Optional[int] = None, rank: Optional[int] = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None or rank is None:
            from . import distributed as dist

            if not dist.is_initialized():
                raise RuntimeError("DistributedSampler: num_replicas / rank default to tl.distributed's "
                                   "world_size() / rank(); call dist.init() first or pass both")
            num_replicas = dist.world_size() if num_replicas is None else num_replicas
            rank = dist.rank() if rank is None else rank
        if not _positive_int(num_replicas):
            raise ValueError(f"DistributedSampler: num_replicas must be a positive int, got {num_replicas!r}")
        if not isinstance(rank, numbers.Integral) or rank >= num_replicas or rank < 0:
            raise ValueError(f"DistributedSampler: Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
            raise TypeError(f"DistributedSampler: seed must be a non-negative int, got {seed!r}")
        self.dataset, self.num_replicas, self.rank = dataset, int(num_replicas), int(rank)
        self.epoch, self.drop_last, self.shuffle, self.seed = 0, drop_last, shuffle, int(seed)
        n = len(dataset)
        if drop_last and n % self.num_replicas:
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        if self.shuffle:
            order = np.random.default_rng(self.seed + self.epoch).permutation(n).tolist()
        else:
            order = list(range(n))
        pad = self.total_size - len(order)
        if pad > 0:
            order += (order * math.ceil(pad / len(order)))[:pad]
        order = order[: self.total_size]
        return iter(order[self.rank : self.total_size : self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """The epoch whose order the next iteration yields (with ``shuffle``, a new permutation
        for every epoch; the same on every rank)."""
        self.epoch = epoch
