"""torch's ``nn.utils.rnn``: ``pad_sequence`` (sequences of different lengths padded into one
tensor), ``PackedSequence`` with ``pack_padded_sequence``, ``pad_packed_sequence``,
``pack_sequence``, ``unpad_sequence`` and ``unpack_sequence`` (variable-length batches for the
recurrent layers, without padding).

Everything differentiable is built from indexing, gather and cat. ``PackedSequence.data``
interleaves the samples, so packing a batched input marks ``data`` as mixing them; the packed
sequence then remembers the batched padded tensor it came from, which the recurrent layers and
``pad_packed_sequence(..., batch_first=True)`` read instead, so per-sample gradients stay
right (the input's gradient is the same; ``data``'s own ``.grad`` then lacks their share).
Touches only the tensors it is given (and marks the batch state of the packed data).
"""

from __future__ import annotations

import numbers
from typing import Any, NamedTuple, Optional, Sequence

import numpy as np

from ...batchstate import BATCHED, MIXED, mixed
from ...conventions import check_bool
from ...ops.layout import cat, stack
from ...tensor import Tensor

__all__ = ["pad_sequence", "PackedSequence", "pack_padded_sequence", "pad_packed_sequence", "pack_sequence",
           "unpad_sequence", "unpack_sequence"]


def _tensors(who: str, sequences: Any) -> list:
    """``sequences`` (a list/tuple of tensors or arrays of numbers) as Tensors, else a TypeError
    naming ``who`` and the offending entry."""
    if isinstance(sequences, (str, bytes, dict)) or not hasattr(sequences, "__iter__"):
        raise TypeError(f"{who}: sequences must be a list of tensors, got {type(sequences).__name__}")
    out = []
    for i, s in enumerate(sequences):
        if not isinstance(s, Tensor):
            a = np.asarray(s) if isinstance(s, (list, tuple, np.ndarray, numbers.Number)) else None
            if a is None or a.dtype.kind not in "biuf":
                raise TypeError(f"{who}: sequence {i} is a {type(s).__name__}, not a tensor of numbers")
            s = Tensor(a)
        out.append(s)
    return out


def pad_sequence(sequences: Sequence[Any], batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack tensors of shapes (L_i, *) into (L, B, *) (``batch_first=True``: (B, L, *)),
    L = max_i L_i, sequence i's rows first (``padding_side="left"``: last) and
    ``padding_value`` (in the sequences' dtype) after them; the gradient reaches the rows
    that came from the sequences. Sequences whose trailing shapes or dtypes differ raise a
    ValueError naming them, an empty list a ValueError."""
    if padding_side not in ("right", "left"):
        raise ValueError(f"pad_sequence: padding_side must be 'right' or 'left', got {padding_side!r}")
    check_bool("pad_sequence", "batch_first", batch_first)
    if isinstance(padding_value, (str, bytes)) or not isinstance(padding_value, numbers.Real):
        raise TypeError(f"pad_sequence: padding_value must be a real number, got {padding_value!r}")
    seqs = _tensors("pad_sequence", sequences)
    if not seqs:
        raise ValueError("pad_sequence: received an empty list of sequences")
    rest, dt = seqs[0].shape[1:], seqs[0].dtype
    for i, s in enumerate(seqs):
        if s.ndim == 0:
            raise ValueError(f"pad_sequence: sequence {i} is 0-d (shape ()); every one must be (L_i, *)")
        if s.shape[1:] != rest or s.dtype != dt:
            raise ValueError(f"pad_sequence: sequence {i} has shape {s.shape} and dtype {s.dtype}, sequence 0 has "
                             f"shape {seqs[0].shape} and dtype {dt} (every one must be (L_i, *same) of one dtype)")
    n = max(s.shape[0] for s in seqs)
    rows = []
    for s in seqs:
        if s.shape[0] == n:
            rows.append(s)
            continue
        pad = Tensor(np.full((n - s.shape[0], *rest), padding_value).astype(dt))
        rows.append(cat([s, pad] if padding_side == "right" else [pad, s]))
    return stack(rows, 0 if batch_first else 1)


# ------------------------------------------------------------------ packed sequences -------
class _PackedFields(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Optional[Tensor]
    unsorted_indices: Optional[Tensor]


def _conversion(dtype: Any) -> Any:
    """The method turning a PackedSequence's ``data`` into ``dtype``."""
    def method(self: Any) -> Any:
        return self.to(dtype)

    method.__doc__ = f"``data`` as {np.dtype(dtype)}."
    return method


class PackedSequence(_PackedFields):
    """A batch of sequences of different lengths stored without padding, as torch's.

    ``data`` (sum_i L_i, *) holds the time steps time-major: first step 0 of every sequence,
    then step 1 of those longer than 1, and so on, the sequences taken in decreasing order of
    length; ``batch_sizes[t]`` (int64, length max_i L_i) counts the sequences longer than t.
    ``sorted_indices[j]`` is the position in the original batch of the j-th longest sequence and
    ``unsorted_indices`` its inverse (both None when the batch was given sorted). Build one with
    :func:`pack_padded_sequence` or :func:`pack_sequence`; RNN, LSTM and GRU take it as input."""

    def __new__(cls, data: Any, batch_sizes: Any = None, sorted_indices: Any = None,
                unsorted_indices: Any = None) -> "PackedSequence":
        if batch_sizes is None:  # torch also takes the pair (data, batch_sizes) as first argument
            if not isinstance(data, (tuple, list)) or len(data) != 2:
                raise TypeError("PackedSequence: give data and batch_sizes (or the pair (data, batch_sizes)), got "
                                f"{type(data).__name__} without batch_sizes")
            data, batch_sizes = data
        if not isinstance(data, Tensor):
            arr = np.asarray(data) if isinstance(data, (list, tuple, np.ndarray)) else None
            if arr is None or arr.dtype.kind not in "biuf":
                raise TypeError(f"PackedSequence: data must be a Tensor of numbers, got {type(data).__name__}")
            data = Tensor(arr)
        bs = _int_array("PackedSequence", "batch_sizes", batch_sizes)
        n = int(bs.sum())
        if bs.min() < 1 or np.any(np.diff(bs) > 0):
            raise ValueError(f"PackedSequence: batch_sizes must be a non-empty non-increasing run of positive "
                             f"counts, got {bs.tolist()}")
        if data.ndim == 0 or data.shape[0] != n:
            raise ValueError(f"PackedSequence: data of shape {data.shape} must have sum(batch_sizes) = {n} rows")
        perm = [None if p is None else _perm("PackedSequence", name, p, int(bs[0]))
                for name, p in (("sorted_indices", sorted_indices), ("unsorted_indices", unsorted_indices))]
        if perm[0] is not None and perm[1] is None:
            perm[1] = np.argsort(perm[0])
        elif perm[1] is not None and perm[0] is None:
            perm[0] = np.argsort(perm[1])
        if perm[0] is not None and not np.array_equal(perm[0][perm[1]], np.arange(len(perm[0]))):
            raise ValueError(f"PackedSequence: unsorted_indices {perm[1].tolist()} is not the inverse of "
                             f"sorted_indices {perm[0].tolist()}")
        idx = [None if p is None else Tensor(p) for p in perm]
        return super().__new__(cls, data, Tensor(bs), idx[0], idx[1])

    def _with(self, data: Tensor) -> "PackedSequence":
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def to(self, *args: Any, **kwargs: Any) -> "PackedSequence":
        """``data.to(...)`` (a dtype or the CPU device) in a new PackedSequence; the same one
        when nothing changes."""
        data = self.data.to(*args, **kwargs)
        return self if data is self.data else self._with(data)

    # ``data`` in another dtype (torch's conversion methods): float32, float64, float16, int64, ...
    float, double, half, long, int, short, char, byte = (_conversion(d) for d in (
        np.float32, np.float64, np.float16, np.int64, np.int32, np.int16, np.int8, np.uint8))

    def cpu(self) -> "PackedSequence":
        """This PackedSequence (everything lives on the CPU)."""
        return self

    @property
    def is_cuda(self) -> bool:
        return False

    def is_pinned(self) -> bool:
        return False


def _int_array(who: str, name: str, v: Any, floats: bool = False) -> np.ndarray:
    """``v`` (a non-empty list, numpy array or Tensor of integers) as a 1-D int64 array; with
    ``floats`` whole floating-point numbers too (lengths a float tensor holds; a fractional one
    is refused, where torch would truncate it)."""
    a = np.asarray(v.data if isinstance(v, Tensor) else v)
    if floats and a.ndim == 1 and a.size and a.dtype.kind == "f" and np.isfinite(a).all() and (a == a // 1).all():
        a = a.astype(np.int64)
    if a.ndim != 1 or a.size == 0 or a.dtype.kind not in "iu":
        raise TypeError(f"{who}: {name} must be a non-empty 1-D sequence of integers, got {a.tolist()!r} "
                        f"(shape {a.shape}, dtype {a.dtype})")
    return a.astype(np.int64)


def _perm(who: str, name: str, v: Any, B: int) -> np.ndarray:
    p = _int_array(who, name, v)
    if not np.array_equal(np.sort(p), np.arange(B)):
        raise ValueError(f"{who}: {name} must be a permutation of range({B}), got {p.tolist()}")
    return p


def _layout(ps: PackedSequence) -> tuple:
    """(lengths in the original order, and for each row of ``ps.data`` its sequence (original
    order) and its time step)."""
    bs = ps.batch_sizes.data
    order = np.arange(bs[0]) if ps.sorted_indices is None else ps.sorted_indices.data
    b_rows = np.concatenate([order[:k] for k in bs])
    t_rows = np.repeat(np.arange(len(bs)), bs)
    lengths = np.empty(len(order), np.int64)
    lengths[order] = (bs[None, :] > np.arange(len(order))[:, None]).sum(1)
    return lengths, b_rows, t_rows


def _row_of(b_rows: np.ndarray, t_rows: np.ndarray, B: int, T: int) -> np.ndarray:
    """(B, T): the row of the packed data holding sequence b's step t, or -1 past its end."""
    r = np.full((B, T), -1, np.int64)
    r[b_rows, t_rows] = np.arange(len(b_rows))
    return r


def regroup(y: Tensor, idx: np.ndarray, fill: float) -> Tensor:
    """z[b, t] = y[b, idx[b, t]] (``fill`` where idx < 0) for y (B, T, *) and idx (B, T'):
    a gather along the time axis, so with a batched ``y`` row b stays sample b's."""
    B, T, rest = y.shape[0], y.shape[1], y.shape[2:]
    ext = cat([y, Tensor(np.full((B, 1, *rest), fill, dtype=y.dtype))], 1)
    i = np.where(idx < 0, T, idx).reshape(idx.shape + (1,) * len(rest))
    return ext.gather(1, np.ascontiguousarray(np.broadcast_to(i, idx.shape + tuple(rest))))


def _source(ps: PackedSequence, b_rows: np.ndarray, t_rows: np.ndarray) -> Optional[Tensor]:
    """The batched padded (B, T, *) tensor ``ps.data`` was packed from, if ``ps`` still holds
    exactly its values; else None."""
    src = ps.__dict__.get("_source")
    if src is None or not src._bs & BATCHED or src._bs & MIXED:
        return None
    d = src.data
    bs = ps.batch_sizes.data
    if d.ndim < 2 or d.shape[0] != bs[0] or d.shape[1] < len(bs) or d.shape[2:] != ps.data.shape[1:]:
        return None
    return src if np.array_equal(d[b_rows, t_rows], ps.data.data) else None


def linked(data: Tensor, batch_sizes: Tensor, sorted_indices: Optional[Tensor], unsorted_indices: Optional[Tensor],
           source: Optional[Tensor], why: str) -> PackedSequence:
    """A PackedSequence of ``data`` that remembers the batched padded ``source`` it was packed
    from (read back by the recurrent layers and :func:`pad_packed_sequence`, so that samples
    stay apart); ``data`` itself interleaves the samples and is marked as mixing them."""
    ps = PackedSequence(data, batch_sizes, sorted_indices, unsorted_indices)
    if source is not None and source._bs & BATCHED and not source._bs & MIXED:
        data._bs, data._mix = mixed(why, source)
        ps.__dict__["_source"] = source
    return ps


def pack_padded_sequence(input: Any, lengths: Any, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch (T, B, *) (``batch_first=True``: (B, T, *)) whose sequence b has
    ``lengths[b]`` valid steps: ``data`` holds, for t = 0, 1, ..., step t of every sequence
    longer than t, longest first (ties in their original order). With ``enforce_sorted=True``
    the lengths must already be non-increasing (sorted_indices is then None). Differentiable
    (the gradient goes back to the valid steps). With a batched input (``batch_first=True``
    needed) ``data`` mixes the samples, but the recurrent layers and ``pad_packed_sequence``
    read the padded batch back so that per-sample gradients stay right."""
    return _pack("pack_padded_sequence", input, lengths, batch_first, enforce_sorted)


def _pack(who: str, input: Any, lengths: Any, batch_first: bool, enforce_sorted: bool) -> PackedSequence:
    x = input if isinstance(input, Tensor) else Tensor(np.asarray(input))
    batch_first, enforce_sorted = check_bool(who, "batch_first", batch_first), check_bool(
        who, "enforce_sorted", enforce_sorted)
    if x.ndim < 2:
        raise ValueError(f"{who}: input must have at least 2 axes ({'(B, T, *)' if batch_first else '(T, B, *)'}), "
                         f"got shape {x.shape}")
    if x._bs & BATCHED and not batch_first:
        raise ValueError(f"{who}: a batched input (axis 0: the samples) needs batch_first=True; got shape {x.shape} "
                         "with batch_first=False (axis 0 would be time)")
    L = _int_array(who, "lengths", lengths, floats=True)
    B, T = (x.shape[0], x.shape[1]) if batch_first else (x.shape[1], x.shape[0])
    if len(L) != B:
        raise ValueError(f"{who}: got {len(L)} lengths {L.tolist()} for a batch of {B} sequences (input shape "
                         f"{x.shape}, batch_first={batch_first})")
    if enforce_sorted and np.any(np.diff(L) > 0):
        raise RuntimeError(f"{who}: `lengths` array must be sorted in decreasing order when `enforce_sorted` is "
                           f"True, got {L.tolist()}; pass enforce_sorted=False to sort them here")
    if L.min() <= 0:
        raise RuntimeError(f"{who}: Length of all samples has to be greater than 0, got lengths {L.tolist()}")
    if L.max() > T:
        raise ValueError(f"{who}: lengths {L.tolist()} exceed the {T} time steps of the input of shape {x.shape} "
                         f"(batch_first={batch_first})")
    order = None if enforce_sorted else np.argsort(-L, kind="stable")
    srt = L if order is None else L[order]
    bs = (srt[None, :] > np.arange(int(srt[0]))[:, None]).sum(1)
    ps0 = PackedSequence(Tensor(np.zeros((int(bs.sum()), 0))), bs, order)
    _, b_rows, t_rows = _layout(ps0)
    data = x[b_rows, t_rows] if batch_first else x[t_rows, b_rows]
    return linked(data, ps0.batch_sizes, ps0.sorted_indices, ps0.unsorted_indices, x,
                  f"op '{who}' interleaves the samples' time steps along axis 0 of PackedSequence.data (use "
                  "pad_packed_sequence(..., batch_first=True) to get a batched tensor back)")


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0,
                        total_length: Optional[int] = None) -> tuple:
    """The inverse of :func:`pack_padded_sequence`: ``(padded, lengths)`` with padded (T, B, *)
    (``batch_first=True``: (B, T, *)) in the original order of the batch, ``padding_value`` past
    each sequence's end, T = ``total_length`` or the longest length; ``lengths`` an int64
    Tensor. Differentiable. A batched PackedSequence (from a batched input, or a recurrent
    layer's output over one) gives a batched result with ``batch_first=True``."""
    who = "pad_packed_sequence"
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"{who}: expected a PackedSequence, got {type(sequence).__name__}")
    batch_first = check_bool(who, "batch_first", batch_first)
    if isinstance(padding_value, (bool, np.bool_)) or not isinstance(padding_value, numbers.Real):
        raise TypeError(f"{who}: padding_value must be a real number, got {padding_value!r}")
    lengths, b_rows, t_rows = _layout(sequence)
    T = len(sequence.batch_sizes.data)
    if total_length is not None:
        if isinstance(total_length, (bool, np.bool_)) or not isinstance(total_length, numbers.Integral):
            raise TypeError(f"{who}: total_length must be an int or None, got {total_length!r}")
        if total_length < T:
            raise ValueError(f"{who}: Expected total_length to be at least the length of the longest sequence in "
                             f"input, but got total_length={total_length} and max sequence length being {T}")
        T = int(total_length)
    rows = _row_of(b_rows, t_rows, len(lengths), T)
    src = _source(sequence, b_rows, t_rows) if batch_first else None
    if src is not None:
        ts = np.arange(T)[None, :]
        padded = regroup(src, np.where(ts < lengths[:, None], ts, -1), padding_value)
    else:
        d = sequence.data
        ext = cat([d, Tensor(np.full((1, *d.shape[1:]), padding_value, dtype=d.dtype))], 0)
        rows = np.where(rows < 0, d.shape[0], rows)
        padded = ext[rows if batch_first else rows.T]
    return padded, Tensor(lengths)


def pack_sequence(sequences: Sequence[Any], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of tensors (L_i, *) (non-increasing L_i unless ``enforce_sorted=False``):
    ``pack_padded_sequence(pad_sequence(sequences), [L_i])``."""
    seqs = _tensors("pack_sequence", sequences)
    if not seqs:
        raise RuntimeError("pack_sequence: received an empty list of sequences")
    if any(s.ndim == 0 for s in seqs):
        raise ValueError(f"pack_sequence: every sequence needs a time axis, got shapes {[s.shape for s in seqs]}")
    lengths = [s.shape[0] for s in seqs]
    if min(lengths) == 0:
        raise RuntimeError(f"pack_sequence: Length of all samples has to be greater than 0, got lengths {lengths}")
    return _pack("pack_sequence", pad_sequence(seqs), lengths, False, enforce_sorted)


def unpad_sequence(padded_sequences: Any, lengths: Any, batch_first: bool = False) -> list:
    """The sequences of a padded batch (T, B, *) (``batch_first=True``: (B, T, *)): sequence b
    is its first ``lengths[b]`` steps, a Tensor (L_b, *); differentiable."""
    who = "unpad_sequence"
    x = padded_sequences if isinstance(padded_sequences, Tensor) else Tensor(np.asarray(padded_sequences))
    batch_first = check_bool(who, "batch_first", batch_first)
    if x.ndim < 2:
        raise ValueError(f"{who}: padded_sequences must have at least 2 axes, got shape {x.shape}")
    L = _int_array(who, "lengths", lengths)
    B, T = (x.shape[0], x.shape[1]) if batch_first else (x.shape[1], x.shape[0])
    if len(L) != B or (L.size and (L.min() < 0 or L.max() > T)):
        raise ValueError(f"{who}: lengths {L.tolist()} do not fit a batch of {B} sequences of at most {T} steps "
                         f"(shape {x.shape}, batch_first={batch_first})")
    return [x[b, :n] if batch_first else x[:n, b] for b, n in enumerate(L.tolist())]


def unpack_sequence(packed_sequences: PackedSequence) -> list:
    """The sequences of a PackedSequence, in their original order, as Tensors (L_i, *)."""
    if not isinstance(packed_sequences, PackedSequence):
        raise TypeError(f"unpack_sequence: expected a PackedSequence, got {type(packed_sequences).__name__}")
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
