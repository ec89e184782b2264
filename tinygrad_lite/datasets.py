"""Map-style data sets as in ``torch.utils.data`` (re-exported by ``tl.data``): ``Dataset``
(the base class: ``__getitem__`` and ``__len__``), ``TensorDataset``, ``Subset``,
``random_split`` and ``default_collate``, and what ``DataLoader(dataset, ...)`` uses to
cut batches from them.

A batch of a data set is ``default_collate([dataset[i] for i in idx])``: samples that are
Tensors, arrays or numbers are stacked along a new axis 0 into one Tensor marked
``batched=True``; tuples and lists give a list of such Tensors (one per field, as torch),
dicts a dict. A ``TensorDataset`` (or a ``Subset`` of one) is cut by indexing its arrays
once per batch, without building the samples.
"""

from __future__ import annotations

import copy
import math
import numbers
import warnings
from collections.abc import Mapping, MutableMapping, Sequence
from itertools import accumulate
from typing import Any, Callable, Optional, Union

import numpy as np

from .batchstate import BATCHED
from .ops.base import make
from .random import as_generator
from .tensor import Tensor

__all__ = ["Dataset", "TensorDataset", "Subset", "random_split", "default_collate"]


def batch_of(rows: np.ndarray) -> Tensor:
    """``Tensor(rows, batched=True)`` for an array made for this batch alone (rows gathered with
    an index array, samples stacked): a Tensor on its memory, without ``Tensor()``'s copy, when
    it owns that memory and holds numbers; else through ``Tensor()`` (which copies, or raises)."""
    if type(rows) is np.ndarray and rows.base is None and rows.ndim and rows.dtype.kind in "biuf":
        return make(rows, None, (), None, False, BATCHED)
    return Tensor(rows, batched=True)


class Dataset:
    """A map-style data set: subclasses define ``__getitem__(i)`` (sample i, for
    ``0 <= i < len(self)``) and ``__len__()``."""

    def __getitem__(self, index: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__}: a Dataset subclass must define __getitem__")

    def __add__(self, other: Any) -> Any:
        """``ConcatDataset([self, other])``: the samples of ``self``, then those of ``other``."""
        from .datasets_more import ConcatDataset

        return ConcatDataset([self, other])


def _array(t: Any, k: int) -> np.ndarray:
    a = t.data if isinstance(t, Tensor) else np.asarray(t)
    if a.ndim == 0:
        raise ValueError(f"TensorDataset: tensor {k} has no sample axis (a 0-d value)")
    return a


class TensorDataset(Dataset):
    """Samples ``(t0[i], t1[i], ...)`` of tensors (or arrays) sharing their axis 0.

    ``dataset[i]`` is a tuple of Tensors (rows ``i``, not batched); ``len(dataset)`` the size of
    axis 0. The arrays are kept by reference, not copied.
    """

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise ValueError("TensorDataset: give at least one tensor")
        self._arrays = tuple(_array(t, k) for k, t in enumerate(tensors))
        sizes = [a.shape[0] for a in self._arrays]
        if any(n != sizes[0] for n in sizes):
            raise ValueError(f"TensorDataset: size mismatch between tensors: axis 0 of the shapes "
                             f"{[a.shape for a in self._arrays]} must agree")
        # (an array's Tensor shares its memory: a change through .tensors is a change of the samples)
        self.tensors = tuple(t if isinstance(t, Tensor) else Tensor(a) if a.dtype.kind not in "biuf"
                             else make(a, None, (), None, False) for t, a in zip(tensors, self._arrays))

    def __len__(self) -> int:
        return self._arrays[0].shape[0]

    def __getitem__(self, index: Any) -> tuple:
        try:
            return tuple(Tensor(a[index]) for a in self._arrays)
        except IndexError as e:
            raise IndexError(f"TensorDataset: cannot read index {index!r} of {len(self)} samples ({e})") from None

    def _gather(self, idx: np.ndarray) -> Optional[list]:
        """The rows ``idx`` of every array (a batch without building the samples); None for a
        subclass with its own ``__getitem__`` (a transform: its samples are what it returns)."""
        if type(self).__getitem__ is not TensorDataset.__getitem__ or hasattr(type(self), "__getitems__"):
            return None
        return [a[idx] for a in self._arrays]


class Subset(Dataset):
    """The samples ``dataset[indices[k]]``, k = 0..len(indices)-1."""

    def __init__(self, dataset: Any, indices: Sequence[int]) -> None:
        self.dataset, self.indices = dataset, indices

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, list):
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __getitems__(self, indices: list) -> list:
        """The samples at ``indices``, read at once by the data set's own ``__getitems__`` if it has one
        (a subclass's own ``__getitem__`` is what it reads, if it has one)."""
        getitems = getattr(self.dataset, "__getitems__", None)
        if type(self).__getitem__ is not Subset.__getitem__:
            return [self[i] for i in indices]
        if callable(getitems):
            return getitems([self.indices[i] for i in indices])
        return [self.dataset[self.indices[i]] for i in indices]

    def _gather(self, idx: np.ndarray) -> Optional[list]:
        cls = type(self)
        own = cls.__getitem__ is not Subset.__getitem__ or cls.__getitems__ is not Subset.__getitems__
        inner = None if own else getattr(self.dataset, "_gather", None)
        return None if inner is None else inner(np.asarray(self.indices)[idx])


def random_split(dataset: Any, lengths: Sequence[Union[int, float]],
                 generator: Union[None, int, np.random.Generator] = None) -> list:
    """Disjoint random ``Subset`` s of the given lengths (ints summing to ``len(dataset)``, or
    fractions summing to 1: each gets ``floor(n * f)`` and the remainder goes one by one to the
    first subsets, as torch). ``generator``: None (the default generator, ``tl.manual_seed``),
    an int seed, a ``tl.Generator`` or a numpy Generator (the same seed, the same split); one
    permutation of ``range(n)`` is cut in order."""
    n = len(dataset)
    lengths = list(lengths)
    if not lengths or any(isinstance(v, bool) or not isinstance(v, numbers.Real) for v in lengths):
        raise TypeError(f"random_split: lengths must be a non-empty sequence of numbers, got {lengths!r}")
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:  # (fractions, as torch: also [1, 0])
        for i, f in enumerate(lengths):
            if not 0 <= f <= 1:
                raise ValueError(f"random_split: fraction at index {i} is not between 0 and 1 (got {f!r})")
        sizes = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        for i, s in enumerate(sizes):
            if s == 0:
                warnings.warn(f"random_split: the split at index {i} is empty", UserWarning, stacklevel=2)
        lengths = sizes
    if any(not isinstance(v, numbers.Integral) or v < 0 for v in lengths) or sum(lengths) != n:
        raise ValueError(f"random_split: the lengths {lengths} must be ints >= 0 summing to the data set's length "
                         f"{n} (or fractions summing to 1)")
    perm = as_generator(generator, "random_split: generator").permutation(n).tolist()
    return [Subset(dataset, perm[end - k:end]) for end, k in zip(accumulate(lengths), lengths)]


def default_collate(batch: Sequence[Any]) -> Any:
    """Samples stacked along a new axis 0: Tensors, arrays and numbers into one batched Tensor
    (Python ints as int64, floats as float64, bools as bool), tuples and lists field by field
    into a list, dicts key by key; strings are left as the batch holds them (a field of strings
    is the tuple of them, as torch's)."""
    elem = batch[0]
    if isinstance(elem, (Tensor, np.ndarray, np.generic, numbers.Number)):
        arrays = [b.data if isinstance(b, Tensor) else np.asarray(b) for b in batch]
        if arrays[0].dtype.kind not in "biuf":  # (strings, objects, complex: no Tensor holds them)
            raise TypeError(f"default_collate: samples must hold numbers (bool, integer or float), got arrays of "
                            f"dtype {arrays[0].dtype}")
        try:
            return batch_of(np.stack(arrays))
        except ValueError:
            raise ValueError(f"default_collate: the samples' shapes differ: {sorted({a.shape for a in arrays})}"
                             ) from None
    if isinstance(elem, (str, bytes)):
        return batch  # (as torch: a field of strings is the tuple of them, a batch of strings itself)
    if isinstance(elem, Mapping):  # the samples' mapping type kept (an OrderedDict stays one), as torch
        fields = {k: default_collate([d[k] for d in batch]) for k in elem}
        if isinstance(elem, MutableMapping):
            out = copy.copy(elem)
            out.update(fields)
            return out
        try:
            return type(elem)(fields)
        except TypeError:
            return fields
    if isinstance(elem, (tuple, list)):
        if any(len(b) != len(elem) for b in batch):
            raise ValueError("default_collate: the samples have different numbers of fields")
        fields = [default_collate(f) for f in zip(*batch)]
        return type(elem)(*fields) if hasattr(elem, "_fields") else fields
    raise TypeError(f"default_collate: samples must be Tensors, numpy arrays, numbers, strings, dicts, tuples or "
                    f"lists, got {type(elem).__name__}")


def _empty(v: Any) -> Any:
    """A collated batch with its samples removed (the structure of a batch of 0 samples)."""
    if isinstance(v, Tensor):
        return Tensor(v.data[:0], batched=True)
    if isinstance(v, dict):
        return {k: _empty(x) for k, x in v.items()}
    if isinstance(v, tuple) and hasattr(v, "_fields"):
        return type(v)(*(_empty(x) for x in v))
    if isinstance(v, list):
        return [_empty(x) for x in v] if v and not isinstance(v[0], (str, bytes)) else []
    return v


def is_dataset(X: Any) -> bool:
    """A map-style data set (anything with ``__len__`` and ``__getitem__``), not an array-like
    that ``DataLoader(X, y)`` reads as inputs (a list, an array, or anything with ``__array__``
    such as a data frame)."""
    if isinstance(X, Dataset):
        return True
    arraylike = (np.ndarray, Tensor, list, tuple, str, bytes)
    return (not isinstance(X, arraylike) and not hasattr(X, "__array__") and hasattr(X, "__len__")
            and hasattr(X, "__getitem__"))


def is_sample_list(X: Any, y: Any) -> bool:
    """A list or tuple given without targets: torch reads it as a map-style data set of its
    samples (``DataLoader(list(zip(X, Y)), batch_size=4)``); with targets it is an array ``X``."""
    return y is None and isinstance(X, (list, tuple))


def check_source(X: Any, y: Any, collate_fn: Optional[Callable]) -> bool:
    """Whether ``DataLoader(X, y)`` reads a data set (X one, or a list of samples, y omitted),
    TypeError for a data set with y, or a collate_fn with arrays."""
    if not is_dataset(X) and not is_sample_list(X, y):
        if collate_fn is not None:
            raise TypeError("DataLoader: collate_fn applies to a dataset (DataLoader(dataset, collate_fn=...)); "
                            "DataLoader(X, y) yields (xb, yb) Tensors")
        return False
    if y is not None:
        raise TypeError(f"DataLoader: with a dataset, leave y out (DataLoader(dataset, batch_size, shuffle, ...) as "
                        f"torch; y belongs to DataLoader(X, y)), got y={y!r}")
    if collate_fn is not None and not callable(collate_fn):
        raise TypeError(f"DataLoader: collate_fn must be callable, got {collate_fn!r}")
    return True


def fetch(dataset: Any, idx: Any, collate_fn: Optional[Callable], probe: Any = 0) -> Any:
    """The batch of samples ``idx``: the arrays indexed at once for a TensorDataset (or a Subset
    of one), else ``collate_fn([dataset[i] for i in idx])`` (default: ``default_collate``). An
    empty ``idx`` gives the structure of sample ``probe`` with 0 rows."""
    keys = not isinstance(idx, np.ndarray)  # (a sampler's keys other than integers: a list)
    gather = getattr(dataset, "_gather", None) if collate_fn is None and not keys else None
    rows = gather(idx) if gather is not None else None
    if rows is not None:
        return [batch_of(a) for a in rows]
    collate = default_collate if collate_fn is None else collate_fn
    getitems = getattr(dataset, "__getitems__", None)  # a data set that reads a batch of samples at once
    if len(idx) == 0 and collate is default_collate:  # (the structure of one sample, with 0 rows)
        return _empty(collate(getitems([probe]) if callable(getitems) else [dataset[probe]]))
    idx = list(idx) if keys else [int(i) for i in idx]
    return collate(getitems(idx) if callable(getitems) else [dataset[i] for i in idx])
