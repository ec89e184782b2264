"""More data sets as in ``torch.utils.data`` (re-exported by ``tl.data``): ``ConcatDataset``
(data sets one after the other), ``StackDataset`` (samples zipped field by field),
``IterableDataset`` (a stream: the samples come from ``__iter__``, not by index),
``ChainDataset`` (streams one after the other), ``get_worker_info`` and ``default_convert``.
"""

from __future__ import annotations

import bisect
import copy
import numbers
from collections.abc import Iterable, Iterator, Mapping, MutableMapping, MutableSequence, Sequence
from typing import Any

import numpy as np

from .datasets import Dataset
from .tensor import Tensor

__all__ = ["ConcatDataset", "StackDataset", "IterableDataset", "ChainDataset", "get_worker_info", "default_convert"]


def get_worker_info() -> None:
    """``None``: loading always runs in the calling process (there are no worker processes,
    whatever ``num_workers`` is), which is what torch returns in the main process."""
    return None


def default_convert(data: Any) -> Any:
    """One sample with its numpy parts made Tensors, nothing stacked (torch's
    ``default_convert``): a numpy array or scalar of bool, integer or float dtype becomes a
    ``Tensor`` of the same dtype and shape (the values copied); a Tensor and anything else
    (Python numbers, strings, arrays of strings or objects) stay as they are. Containers are
    converted item by item: a mapping keeps its type (a mutable one is copied and updated), a
    named tuple stays one, a tuple becomes a list (as torch), another sequence keeps its type
    when it can (a mutable one copied and updated), else becomes a list."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, (np.ndarray, np.generic)):
        return Tensor(np.array(data)) if np.asarray(data).dtype.kind in "biuf" else data
    if isinstance(data, Mapping):
        items = {k: default_convert(v) for k, v in data.items()}
        try:
            if isinstance(data, MutableMapping):
                out = copy.copy(data)
                out.update(items)
                return out
            return type(data)(items)
        except TypeError:
            return items
    if isinstance(data, tuple):
        items_ = [default_convert(v) for v in data]
        return type(data)(*items_) if hasattr(data, "_fields") else items_
    if isinstance(data, Sequence) and not isinstance(data, (str, bytes)):
        converted = [default_convert(v) for v in data]
        try:
            if isinstance(data, MutableSequence):
                out_ = copy.copy(data)
                for i, v in enumerate(converted):
                    out_[i] = v
                return out_
            return type(data)(converted)
        except TypeError:
            return converted
    return data


class IterableDataset(Dataset):
    """A stream of samples: subclasses define ``__iter__`` (and ``__len__`` only if the count
    is known). ``DataLoader(stream, batch_size=B)`` cuts the stream, in its order, into lists
    of B samples and collates each; ``a + b`` chains two streams."""

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError(f"{type(self).__name__}: an IterableDataset subclass must define __iter__")

    def __add__(self, other: Any) -> ChainDataset:
        """``ChainDataset([self, other])``: this stream, then ``other``."""
        return ChainDataset([self, other])


class ChainDataset(IterableDataset):
    """The samples of each stream in ``datasets``, one stream after the other (read lazily);
    ``len()`` is the sum of their lengths."""

    def __init__(self, datasets: Iterable[Any]) -> None:
        self.datasets = datasets

    def _parts(self) -> Iterator[Any]:
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise TypeError(f"ChainDataset: only supports IterableDataset parts, got {type(d).__name__}")
            yield d

    def __iter__(self) -> Iterator[Any]:
        for d in self._parts():
            yield from d

    def __len__(self) -> int:
        return sum(len(d) for d in self._parts())


class ConcatDataset(Dataset):
    """The map-style data sets ``datasets`` one after the other: index ``i`` falls in data set
    ``k`` with ``cumulative_sizes[k-1] <= i < cumulative_sizes[k]`` and is its sample
    ``i - cumulative_sizes[k-1]``; negative indices count from the end."""

    def __init__(self, datasets: Iterable[Any]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset: does not support IterableDataset (use ChainDataset)")
        self.cumulative_sizes = self.cumsum(self.datasets)

    @staticmethod
    def cumsum(sequence: Iterable[Any]) -> list[int]:
        """The running totals of the lengths: ``[len(d0), len(d0) + len(d1), ...]``."""
        out, total = [], 0
        for d in sequence:
            total += len(d)
            out.append(total)
        return out

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx: Any) -> Any:
        if not isinstance(idx, numbers.Integral) or isinstance(idx, bool):
            raise TypeError(f"ConcatDataset: index must be an int, got {idx!r}")
        n = len(self)
        if idx < 0:
            if -idx > n:
                raise ValueError(f"ConcatDataset: absolute value of index {idx} should not exceed dataset "
                                 f"length {n}")
            idx = n + idx
        if idx >= n:
            raise IndexError(f"ConcatDataset: index {idx} is out of range for {n} samples")
        k = bisect.bisect_right(self.cumulative_sizes, idx)
        return self.datasets[k][idx - (self.cumulative_sizes[k - 1] if k else 0)]


class StackDataset(Dataset):
    """Sample i is ``(d0[i], d1[i], ...)`` of the data sets given positionally, or the dict
    ``{name: d[i]}`` of those given by keyword (not both); all of the same length."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args and kwargs:
            raise ValueError("StackDataset: Supported either tuple- (via args) or dict- (via kwargs) like "
                             "input/output, but both types are given.")
        if not args and not kwargs:
            raise ValueError("StackDataset: At least one dataset should be passed")
        self.datasets: Any = args if args else kwargs
        parts = list(args) if args else list(kwargs.values())
        lengths = [len(d) for d in parts]
        if any(n != lengths[0] for n in lengths):
            raise ValueError(f"StackDataset: Size mismatch between datasets: lengths {lengths}")
        self._length = lengths[0]

    def __getitem__(self, index: Any) -> Any:
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __len__(self) -> int:
        return self._length
