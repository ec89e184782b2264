"""What ``DataLoader`` needs besides its own batching: torch's positional form and keywords
(checked as torch checks them), the batches of a sampler, a batch sampler or an
``IterableDataset``, and the saved random states that let ``state_dict`` resume them."""

from __future__ import annotations

import itertools
import multiprocessing
import numbers
from types import SimpleNamespace
from typing import Any, Iterator, Optional

import numpy as np

from .datasets import default_collate, is_dataset, is_sample_list
from .datasets_more import IterableDataset
from .samplers import (
    BatchSampler,
    DistributedSampler,
    RandomSampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)


class _DefaultBatchSize(int):
    """The default batch size 32, told apart from an explicit ``batch_size=32`` (torch refuses
    a batch size next to ``batch_sampler=``)."""


BATCH_SIZE = _DefaultBatchSize(32)

ARRAY_ORDER = ("y", "batch_size", "shuffle", "drop_last", "seed", "sampling", "shard", "collate_fn")
TORCH_ORDER = ("batch_size", "shuffle", "sampler", "batch_sampler", "num_workers", "collate_fn", "pin_memory",
               "drop_last", "timeout", "worker_init_fn", "multiprocessing_context", "generator")
DEFAULTS: dict[str, Any] = dict(y=None, batch_size=BATCH_SIZE, shuffle=None, drop_last=False, seed=None,
                                sampling="shuffle", shard=None, collate_fn=None, sampler=None, batch_sampler=None,
                                num_workers=0, pin_memory=False, timeout=0, worker_init_fn=None,
                                multiprocessing_context=None, generator=None)


def _int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _equal_int(a: Any, b: int) -> bool:
    return _int(a) and int(a) == b


def bind(X: Any, args: tuple, named: dict[str, Any]) -> dict[str, Any]:
    """The arguments by name: positionals after ``X`` follow ``DataLoader(X, y, batch_size,
    shuffle, drop_last, seed, sampling, shard, collate_fn)`` for arrays and torch's
    ``DataLoader(dataset, batch_size, shuffle, sampler, batch_sampler, num_workers, collate_fn,
    pin_memory, drop_last, timeout, worker_init_fn, multiprocessing_context, generator)`` for a
    data set."""
    if not args:
        return named
    # a list of samples followed by an int is torch's DataLoader(samples, batch_size, ...)
    dataset = is_dataset(X) or (isinstance(X, (list, tuple)) and _int(args[0]))
    order = TORCH_ORDER if dataset else ARRAY_ORDER
    if len(args) > len(order):
        raise TypeError(f"DataLoader: takes at most {len(order) + 1} positional arguments "
                        f"({', '.join(order[:3])}, ...), got {len(args) + 1}")
    if dataset and not (_int(args[0]) or args[0] is None):
        raise TypeError(f"DataLoader: with a dataset, leave y out; the second positional argument is batch_size "
                        f"(DataLoader(dataset, batch_size, shuffle, ...) as torch), got {type(args[0]).__name__}")
    out = dict(named)
    for name, value in zip(order, args):
        if named[name] is not DEFAULTS[name]:
            raise TypeError(f"DataLoader: got multiple values for argument '{name}'")
        out[name] = value
    return out


def check_torch_options(o: SimpleNamespace, X: Any) -> str:
    """Checks torch's keywords as torch does (the same exception types) and settles ``shuffle``;
    returns the mode: ``"own"`` (the loader's shuffle / Poisson batches), ``"sampler"``,
    ``"batch_sampler"`` or ``"iterable"``."""
    if not _int(o.num_workers):
        raise TypeError(f"DataLoader: num_workers must be an int, got {o.num_workers!r}")
    if o.num_workers < 0:
        raise ValueError("DataLoader: num_workers option should be non-negative; use num_workers=0 to disable "
                         "multiprocessing.")
    if not isinstance(o.timeout, numbers.Real) or isinstance(o.timeout, bool):
        raise TypeError(f"DataLoader: timeout must be a number of seconds, got {o.timeout!r}")
    if o.timeout < 0:
        raise ValueError("DataLoader: timeout option should be non-negative")
    if o.num_workers == 0 and o.prefetch_factor is not None:
        raise ValueError("DataLoader: prefetch_factor option could only be specified in multiprocessing; "
                         "let num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor to None.")
    if o.prefetch_factor is not None and (not _int(o.prefetch_factor) or o.prefetch_factor < 0):
        raise ValueError(f"DataLoader: prefetch_factor option should be non-negative, got {o.prefetch_factor!r}")
    for name in ("pin_memory", "persistent_workers", "in_order"):
        if not isinstance(getattr(o, name), (bool, np.bool_)):
            raise TypeError(f"DataLoader: {name} must be a bool, got {getattr(o, name)!r}")
    if o.persistent_workers and o.num_workers == 0:
        raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")
    if not isinstance(o.pin_memory_device, str):
        raise TypeError(f"DataLoader: pin_memory_device must be a str, got {o.pin_memory_device!r}")
    if o.worker_init_fn is not None and not callable(o.worker_init_fn):
        raise TypeError(f"DataLoader: worker_init_fn must be None or callable, got {o.worker_init_fn!r}")
    _check_context(o.multiprocessing_context, o.num_workers)
    if o.generator is not None:
        if o.seed is not None:
            raise ValueError("DataLoader: give seed= or generator= (the same thing), not both")
        if not isinstance(o.generator, np.random.Generator) and not (_int(o.generator) and o.generator >= 0):
            raise TypeError(f"DataLoader: generator must be a tl.Generator, a numpy Generator or a non-negative int "
                            f"seed, got {o.generator!r}")
        o.seed = o.generator
    if isinstance(X, IterableDataset):
        if o.shuffle not in (False, None):
            raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle option, but got "
                             f"shuffle={o.shuffle}")
        for name in ("sampler", "batch_sampler"):
            if getattr(o, name) is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified {name} option, but got "
                                 f"{name}={getattr(o, name)}")
    if o.sampler is not None and o.shuffle:
        raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
    if o.batch_sampler is not None:
        if (o.batch_size is not BATCH_SIZE and o.batch_size != 1) or o.shuffle or o.sampler is not None \
                or o.drop_last:
            raise ValueError("DataLoader: batch_sampler option is mutually exclusive with batch_size, shuffle, "
                             "sampler, and drop_last")
        o.batch_size = 1
    elif o.batch_size is None:
        raise ValueError("DataLoader: batch_size must be an int >= 1, got None (torch's batch_size=None, samples "
                         "one by one without batching, is not supported)")
    mode = ("iterable" if isinstance(X, IterableDataset) else "batch_sampler" if o.batch_sampler is not None
            else "sampler" if o.sampler is not None else "own")
    data_set = is_dataset(X) or is_sample_list(X, o.y)
    if o.shuffle is None:  # torch's default for a data set is False; DataLoader(X, y) shuffles
        o.shuffle = mode == "own" and not data_set
    if o.batch_size is BATCH_SIZE and data_set:
        o.batch_size = 1  # (torch's default for a data set; DataLoader(X, y) takes 32)
    if mode != "own" and o.sampling == "poisson":
        raise ValueError(f"DataLoader: sampling={o.sampling!r} draws its own batches; it does not combine with "
                         f"{mode.replace('_', ' ')} loading")
    if mode == "iterable" and o.shard is not None:
        raise ValueError("DataLoader: shard= cuts batches of a map-style data set or arrays; an IterableDataset "
                         "splits its stream itself")
    return mode


def _check_context(ctx: Any, num_workers: int) -> None:
    if ctx is None:
        return
    if num_workers == 0:
        raise ValueError(f"DataLoader: multiprocessing_context can only be used with multi-process loading "
                         f"(num_workers > 0), but got num_workers={num_workers}")
    if isinstance(ctx, str):
        methods = multiprocessing.get_all_start_methods()
        if ctx not in methods:
            raise ValueError(f"DataLoader: multiprocessing_context option should specify a valid start method in "
                             f"{methods!r}, but got multiprocessing_context={ctx!r}")
    elif not isinstance(ctx, multiprocessing.context.BaseContext):
        raise TypeError(f"DataLoader: multiprocessing_context option should be a valid context object or a string "
                        f"specifying the start method, but got multiprocessing_context={ctx!r}")


def source_len(loader: Any) -> int:
    """Batches per epoch of a sampler (cut into ``batch_size``), a batch sampler or a stream
    (``len(dataset)`` samples: TypeError when the stream has no ``__len__``, as torch)."""
    if loader._mode == "batch_sampler":
        return len(loader.batch_sampler)
    n = len(loader.sampler) if loader._mode == "sampler" else len(loader.dataset)
    b = loader.batch_size
    return n // b if loader.drop_last else (n + b - 1) // b


def sampler_keys(keys: Any) -> Any:
    """A sampler's keys for one batch: integers as an int64 array (read at once where the data
    set allows), anything else (a float, a bool, a string, a tuple) as a list of the keys
    themselves, each handed to ``dataset[key]`` unchanged, as torch (a float index then fails
    there instead of being cut to an integer)."""
    keys = list(keys)
    try:
        arr = np.asarray(keys)
    except (TypeError, ValueError):  # (keys numpy cannot put in one array: tuples of mixed lengths)
        return keys
    if (arr.ndim == 1 and arr.dtype.kind in "iu") or arr.size == 0:
        return arr.astype(np.int64, copy=False)
    return keys


def source_batches(loader: Any, start: int) -> Iterator[Any]:
    """The batches of one epoch from batch ``start`` on (the earlier ones drawn and skipped)."""
    if loader._mode == "batch_sampler":
        for idx in itertools.islice(iter(loader.batch_sampler), start, None):
            yield loader._part(sampler_keys(idx))
        return
    items = iter(loader.sampler if loader._mode == "sampler" else loader.dataset)
    chunks = BatchSampler(items, loader.batch_size, bool(loader.drop_last))
    for chunk in itertools.islice(iter(chunks), start, None):
        if loader._mode == "sampler":
            yield loader._part(sampler_keys(chunk))
        else:
            yield (loader.collate_fn or default_collate)(chunk)


# ------------------------------------------------------------------ random states (checkpoints)

def copy_state(state: Any) -> Any:
    """A deep copy of a bit generator's state (dicts, ints, strings, numpy arrays)."""
    if isinstance(state, dict):
        return {k: copy_state(v) for k, v in state.items()}
    if isinstance(state, np.ndarray):
        return state.copy()
    return state


def rng_state(rng: np.random.Generator) -> dict[str, Any]:
    """A copy of ``rng``'s bit generator state."""
    return copy_state(rng.bit_generator.state)


def checked_state(rng: np.random.Generator, state: Any, key: str) -> dict[str, Any]:
    """``state`` if ``rng``'s kind of bit generator accepts it, else ValueError naming ``key``."""
    kind = type(rng.bit_generator)
    if not isinstance(state, dict) or state.get("bit_generator") != kind.__name__:
        raise ValueError(f"DataLoader.load_state_dict: {key} is not a {kind.__name__} random state")
    probe = kind()
    try:
        probe.state = copy_state(state)
    except (TypeError, ValueError, KeyError, OverflowError) as e:
        raise ValueError(f"DataLoader.load_state_dict: {key} is not a valid {kind.__name__} state: {e}") from None
    return copy_state(state)


_RANDOM = (RandomSampler, SubsetRandomSampler, WeightedRandomSampler)
_FIXED = (SequentialSampler, list, tuple, range, np.ndarray)


def describe(src: Any) -> str:
    """The kind of sampler (``"BatchSampler(RandomSampler)"``, ...), saved to check on loading."""
    if type(src) is BatchSampler:
        return f"BatchSampler({describe(src.sampler)})"
    return type(src).__name__


def source_state(src: Any) -> Optional[dict[str, Any]]:
    """What makes ``src``'s next epoch: its random state, a DistributedSampler's epoch, nothing
    for a fixed order; None when that is not known (a sampler of the user's own class, a
    stream)."""
    kind = type(src)
    if kind in _FIXED:
        return {}
    if kind in _RANDOM:
        return {"rng": rng_state(src.generator)}
    if kind is DistributedSampler:
        return {"epoch": int(src.epoch), "seed": int(src.seed)}
    if kind is BatchSampler:
        inner = source_state(src.sampler)
        return None if inner is None else {"inner": inner}
    return None


def load_source_state(src: Any, state: Any, key: str, apply: bool = True) -> None:
    """Checks ``state`` (a ``source_state`` of ``src``'s kind; ValueError naming ``key``) and,
    with ``apply``, sets it."""
    if not isinstance(state, dict):
        raise ValueError(f"DataLoader.load_state_dict: {key} must be a dict, got {type(state).__name__}")
    kind = type(src)
    if kind is BatchSampler:
        load_source_state(src.sampler, state.get("inner"), key, apply)
    elif kind in _RANDOM:
        rng = checked_state(src.generator, state.get("rng"), key)
        if apply:
            src.generator.bit_generator.state = rng
    elif kind is DistributedSampler:
        if not _int(state.get("epoch")) or not _equal_int(state.get("seed"), src.seed):
            raise ValueError(f"DataLoader.load_state_dict: {key} must hold the sampler's epoch (an int) and its "
                             f"seed={src.seed}, got {state!r}")
        if apply:
            src.epoch = int(state["epoch"])
