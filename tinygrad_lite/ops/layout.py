"""Layout ops: reshape, transpose, indexing, concatenation, expand (broadcast copies),
repeat (tiles) and clone (a copy). Each vjp moves the cotangent back where the values came
from (summing over copies); on parameter-side nodes kept per-sample factors are moved
without being built (``push_rows``)."""

from __future__ import annotations

import copy
import weakref
from typing import Any, Optional, Sequence

import numpy as np

from .. import batchstate
from ..batchstate import BATCHED, MIXED, STAT
from ..persample import OuterRows
from . import base
from .base import Op, ShapeOnly, _AxisError, alias, axes_of, const, failed, lead, make
from .elementwise import Cast, joined_dtype
from .memory import row_order


class Reshape(ShapeOnly):
    name, rule = "reshape", "the cotangent is reshaped back"

    def __call__(self, x: Any, shape: tuple) -> Any:
        xd = row_order(x)  # (a weight SGD keeps in column order goes back first: a view, as torch's)
        try:
            check_ints("reshape", "shape entries", shape, -1, " (or -1 for one inferred size)")
            try:
                data = xd.reshape(shape)
            except ValueError:
                raise base.ShapeMismatchError(f"reshape: cannot reshape a tensor of shape {xd.shape} into shape "
                                              f"{shape}") from None
        except Exception as e:
            failed(self, e, (x,))
            raise
        b = data.base
        if b is not None and b is not (xd if xd.base is None else xd.base) and not np.may_share_memory(data, xd):
            data = data.copy()  # (numpy's copy is a view of a private array: a result owning its memory)
        mark_view(data, xd)  # (x.t().unsqueeze(0): still a strided view of x's memory)
        bs, mix = batchstate.same_rows("reshape", x, data, data.ndim >= 1 and xd.ndim >= 1 and data.shape[0]
                                       == xd.shape[0]) if x._bs else (0, None)
        return make(data, self, (x,), xd.shape, x._rg, bs, mix)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        return (g.reshape(g.shape[:lead(node, g)] + node._ctx),)

    def tvjp(self, node: Any, g: Any) -> tuple:
        return (RESHAPE(g, node._ctx),)

    @staticmethod
    def push_rows(node: Any, i: int, rows: Any) -> Any:
        """Factors S[b] = sum_t L_t (x) R_t are reshaped by changing only the target shape."""
        if getattr(rows, "L", None) is None or type(rows).dense is not OuterRows.dense:
            return None
        out = copy.copy(rows)
        out.shape = node._ctx
        return out


_VIEWS: dict = {}  # id(array) -> weak ref: non-contiguous views of contiguous arrays, as torch's views would be


def mark_view(data: np.ndarray, source: np.ndarray) -> None:
    """Remember ``data`` (transposed, expanded or sliced from ``source``) as a view whose
    strides are those torch's view of a contiguous tensor has (``view`` refuses to copy it);
    a view of such a view is one too (``x.t().unsqueeze(0)``)."""
    if not data.flags.c_contiguous and (source.flags.c_contiguous or torch_view(source)):  # (contiguous: nothing)
        key = id(data)
        _VIEWS[key] = weakref.ref(data, lambda _, key=key: _VIEWS.pop(key, None))


def unmark(t: Any) -> Any:
    """``t`` (a Tensor) no longer counted a view (``mark_view``): the output of a layer or function
    built from views that torch returns in memory of its own (an RNN's output, ``rot90``)."""
    _VIEWS.pop(id(t._data), None)
    return t


def torch_view(d: np.ndarray) -> bool:
    """Whether ``d`` is such a view (see ``mark_view``)."""
    r = _VIEWS.get(id(d))
    return r is not None and r() is d


class Transpose(ShapeOnly):
    name, rule = "transpose", "the cotangent is permuted back"

    def __call__(self, x: Any, axes: tuple) -> Any:
        xd = x._data
        n = xd.ndim
        try:
            if not axes:
                perm = tuple(range(n))[::-1]
            else:
                for a in axes:
                    if isinstance(a, (bool, np.bool_)) or not isinstance(a, (int, np.integer)):
                        raise TypeError(f"transpose: axes must be ints, got {axes!r}")
                    if not -n <= a < max(n, 1):
                        raise _AxisError(f"transpose: axis {a} is out of bounds for a tensor of dimension {n}")
                perm = tuple(int(a) % n if n else int(a) for a in axes)
                if sorted(perm) != list(range(n)):
                    raise base.ArgumentError(f"transpose: axes {axes} are not a permutation of the {n} axes of shape "
                                     f"{xd.shape}")
        except Exception as e:
            failed(self, e, (x,))
            raise
        data = xd.transpose(perm)
        mark_view(data, xd)
        inv = tuple(int(i) for i in np.argsort(perm))
        s = x._bs
        bs, mix = batchstate.same_rows("transpose", x, data, n >= 1 and perm[0] == 0) if s else (0, None)
        return make(data, self, (x,), inv, x._rg, bs, mix)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        k = lead(node, g)
        return (np.transpose(g, tuple(range(k)) + tuple(k + i for i in node._ctx)),)

    def tvjp(self, node: Any, g: Any) -> tuple:
        return (TRANSPOSE(g, node._ctx) if node._ctx else g,)

    @staticmethod
    def push_rows(node: Any, i: int, rows: Any) -> Any:
        """A 2-D transpose of ``sum_t L_t (x) R_t`` is ``sum_t R_t (x) L_t``: swap the factors."""
        L = getattr(rows, "L", None)
        if L is None or type(rows).dense is not OuterRows.dense or node._ctx != (1, 0) \
                or rows.shape != (L.shape[2], rows.R.shape[2]):
            return None
        out = copy.copy(rows)
        out.L, out.R = rows.R * rows.scale, rows.L
        out.scale = 1.0
        out.shape = (rows.R.shape[2], L.shape[2])
        return out


def indexed(d: np.ndarray, idx: Any, who: str, shown: Any) -> Any:
    """``d[idx]`` (``idx`` normalised by ``normalise_index``); numpy's IndexError or TypeError
    raised again naming ``who``, the index ``shown`` and the tensor's shape."""
    try:
        return d[idx]
    except IndexError as e:
        raise IndexError(f"{who}: {e} (tensor shape {d.shape})") from None
    except TypeError as e:
        raise TypeError(f"{who}: invalid index {shown!r}: {e} (tensor shape {d.shape})") from None


def _separated(idx: tuple) -> bool:
    """Whether the array (and int) entries of ``idx`` are not all adjacent: numpy then puts the
    indexed axes first in ``a[idx]``, ahead of any leading axes added with slices."""
    pos = [k for k, i in enumerate(idx) if isinstance(i, (np.ndarray, int, np.integer))]
    return bool(pos) and pos != list(range(pos[0], pos[0] + len(pos)))


class GetItem(ShapeOnly):
    name, rule = "getitem", "the cotangent is scattered back (repeated indices add)"

    def __call__(self, x: Any, idx: Any) -> Any:
        xd = x._data
        idx0 = idx
        try:
            idx, advanced = normalise_index(idx, xd.shape)
            data = indexed(xd, idx, "getitem", idx)
        except Exception as e:
            failed(self, e, (x,))
            raise
        if not isinstance(data, np.ndarray):  # an int per axis: a 0-d view, as torch's (x[i, j].mul_(2))
            data = xd[idx + (Ellipsis,)] if not advanced and xd.flags.writeable else np.asarray(data)
        elif not advanced:
            data = data.view()
            mark_view(data, xd)
        elif data.base is not None:  # a copy that numpy wraps around its own buffer: not a view of x,
            data = data.copy()  # so it must not read as one (an in-place change of it is allowed)
        s = x._bs
        if s:
            bs, mix = batchstate.same_rows("getitem", x, data, index_keeps_rows(idx, xd.shape))
        else:
            bs, mix = 0, None
        if advanced and not bs & MIXED:
            bs, mix = _index_state(bs, mix, x, idx0, idx)
        return make(data, self, (x,), (xd.shape, idx, advanced), x._rg, bs, mix)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        in_shape, idx, advanced = node._ctx
        k = lead(node, g)
        z = np.zeros(g.shape[:k] + in_shape, dtype=node._data.dtype)
        full = (slice(None),) * k + idx
        if advanced and k and _separated(idx):  # numpy puts separated index arrays' axes in front of
            for zj, gj in zip(z.reshape((-1,) + in_shape), g.reshape((-1,) + g.shape[k:])):  # the stack's
                np.add.at(zj, idx, gj)
        elif advanced:
            np.add.at(z, full, g)
        else:
            z[full] = g
        return (z,)

    def tvjp(self, node: Any, g: Any) -> tuple:
        return (SCATTERBACK(g, node._ctx),)

    @staticmethod
    def sample_rows(node: Any, g: np.ndarray, i: int, scale: float) -> Any:
        from .select import picked_rows
        return picked_rows(node, g, node._ctx[1], scale) if node._ctx[2] else None


class ScatterBack(Op):
    """The cotangent of ``x[idx]`` put back in a zero tensor of x's shape (``GetItem``'s vjp as
    an op, for ``create_graph=True``); its own vjp reads the cotangent at ``idx`` again."""

    name, rule = "getitem_backward", "d/dg of zeros with g added at idx: the cotangent read at idx"

    def __call__(self, g: Any, ctx: tuple) -> Any:
        return Op.__call__(self, g, ctx=ctx)

    def forward(self, g: np.ndarray, ctx: tuple) -> tuple:
        in_shape, idx, advanced = ctx
        z = np.zeros(in_shape, dtype=g.dtype)
        if advanced:
            np.add.at(z, idx, g)
        else:
            z[idx] = g
        return z, ctx

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        in_shape, idx, _ = node._ctx
        k = lead(node, g)
        if not k:
            return (g[idx],)
        rows = np.stack([gj[idx] for gj in g.reshape((-1,) + in_shape)])
        return (rows.reshape(g.shape[:k] + node._parents[0]._data.shape),)

    def tvjp(self, node: Any, g: Any) -> tuple:
        return (GETITEM(g, node._ctx[1]),)


class Concat(Op):
    name, rule = "cat", "the cotangent is split back into the pieces"

    def __call__(self, tensors: Sequence[Any], axis: int = 0) -> Any:
        ts = tuple(t if isinstance(t, base.Tensor) else const(t) for t in tensors)
        try:
            if not ts:
                raise ValueError("cat: needs at least one tensor")
            if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
                raise TypeError(f"cat: axis must be an int, got {axis!r}")
            try:
                dts = [t._data.dtype for t in ts]
                dt = joined_dtype(dts) if any(d != dts[0] for d in dts) else None  # (torch's promotion)
                data = np.concatenate([t._data for t in ts], axis=axis, dtype=dt)
            except (ValueError, _AxisError) as e:
                shapes = [t._data.shape for t in ts]
                raise base.ShapeMismatchError(f"cat: shapes {shapes} cannot be joined along axis {axis} "
                                              f"({e})") from None
        except Exception as e:
            failed(self, e, ts)
            raise
        ax = axis % data.ndim
        sizes = tuple(int(v) for v in np.cumsum([t._data.shape[ax] for t in ts])[:-1])
        s = 0
        for t in ts:
            s |= t._bs
        bs, mix = batchstate.joined("cat", list(ts), data.shape, ax == 0) if s else (0, None)
        rg = any(t._rg for t in ts)
        return make(data, self, ts, (ax - data.ndim, sizes), rg, bs, mix)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        axis, sizes = node._ctx
        return tuple(np.split(g, sizes, axis=axis))

    def tvjp(self, node: Any, g: Any) -> tuple:
        axis, sizes = node._ctx
        ends = (0,) + sizes + (g.shape[axis],)
        front = (slice(None),) * (g.ndim + axis)
        return tuple(GETITEM(g, front + (slice(ends[i], ends[i + 1]),)) if p._rg else None
                     for i, p in enumerate(node._parents))


class Expand(ShapeOnly):
    name, rule = "expand", "d expand(a)/da: the cotangent summed over the broadcast copies"

    def __call__(self, x: Any, shape: tuple) -> Any:
        xd = x._data
        try:
            target = expanded_shape(xd.shape, shape)
        except Exception as e:
            failed(self, e, (x,))
            raise
        data = np.broadcast_to(xd, target)
        mark_view(data, xd)
        if x._bs:
            bs, mix = batchstate.same_rows("expand", x, data, data.ndim == xd.ndim and data.shape[0] == xd.shape[0])
        else:
            bs, mix = 0, None
        return make(data, self, (x,), None, x._rg, bs, mix)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        return (alias(g),)  # the walker sums a broadcast cotangent back to the parent's shape

    def tvjp(self, node: Any, g: Any) -> tuple:
        return (g,)


def expanded_shape(old: tuple, new: tuple) -> tuple:
    """``new`` with -1 entries resolved, after checking that ``old`` broadcasts to it: new
    axes in front, and every existing axis of size 1 or of the new size."""
    from ..conventions import ShapeMismatchError  # (a ValueError, and torch's RuntimeError)
    check_ints("expand", "sizes", new, -1, " (or -1 to keep an axis)")
    extra = len(new) - len(old)
    if extra < 0:
        raise ShapeMismatchError(f"expand: the target shape {tuple(new)} has fewer axes than the tensor's shape {old}")
    out = []
    for i, n in enumerate(new):
        o = old[i - extra] if i >= extra else None
        if n == -1 and o is None:
            raise ShapeMismatchError(f"expand: -1 keeps an existing axis; axis {i} of {tuple(new)} is a new one")
        if n != -1 and o is not None and o not in (1, n):
            raise ShapeMismatchError(f"expand: cannot expand a tensor of shape {old} to {tuple(new)} (axis {i} has "
                                     f"size {o}, which is neither 1 nor {n})")
        out.append(int(o if n == -1 else n))
    return tuple(out)


def check_ints(op: str, what: str, values: tuple, low: int, note: str = "") -> None:
    """Every entry of ``values`` an int (TypeError otherwise) and >= ``low`` (ValueError
    otherwise; a ``low`` of -1 reads ">= 0" plus ``note``), naming ``op``."""
    for n in values:
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
            raise TypeError(f"{op}: {what} must be ints, got {values!r}")
        if n < low:
            raise base.ArgumentError(f"{op}: {what} must be >= {max(low, 0)}{note}, got {values!r}")


class Repeat(ShapeOnly):
    name, rule = "repeat", "d repeat(a)/da: the cotangent summed over the tiles"

    def __call__(self, x: Any, reps: tuple) -> Any:
        xd = x._data
        try:
            check_ints("repeat", "repeat counts", reps, 0)
            if len(reps) < xd.ndim:
                raise base.ArgumentError(f"repeat: {len(reps)} repeat counts {tuple(reps)} for a tensor of shape "
                                         f"{xd.shape}; it needs at least one per axis ({xd.ndim})")
        except Exception as e:
            failed(self, e, (x,))
            raise
        shape = (1,) * (len(reps) - xd.ndim) + xd.shape
        data = np.empty(tuple(r * n for r, n in zip(reps, shape)), xd.dtype)  # (its own memory, unlike
        data.reshape(tuple(v for r, n in zip(reps, shape) for v in (r, n)))[...] = xd.reshape(  # np.tile's:
            tuple(v for n in shape for v in (1, n)))  # in-place writes through its views are followed)
        bs, mix = batchstate.same_rows("repeat", x, data, len(reps) == xd.ndim and reps[0] == 1) if x._bs else (0, None)
        return make(data, self, (x,), (shape, tuple(int(r) for r in reps), xd.shape), x._rg, bs, mix)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        shape, reps, in_shape = node._ctx
        k = lead(node, g)
        tiles = g.reshape(g.shape[:k] + tuple(v for r, n in zip(reps, shape) for v in (r, n)))
        return (tiles.sum(axis=tuple(k + 2 * i for i in range(len(reps)))).reshape(g.shape[:k] + in_shape),)

    def tvjp(self, node: Any, g: Any) -> tuple:
        from .reduce import SUM
        shape, reps, in_shape = node._ctx
        tiles = RESHAPE(g, tuple(v for r, n in zip(reps, shape) for v in (r, n)))
        return (RESHAPE(SUM(tiles, tuple(2 * i for i in range(len(reps))), False), in_shape),)


class Clone(Cast):
    name, rule = "clone", "d clone(a)/da = 1"

    def forward(self, a: np.ndarray, *args: Any) -> tuple:
        return np.array(a, order="C"), None  # its own (C-contiguous) memory


class HookPoint(Cast):
    """The identity as a node of its own (a view, no copy): a module's backward hooks read,
    and may replace, the cotangents of its inputs and outputs at these nodes."""

    name, rule = "module_hook", "d x/dx = 1: the cotangent passes through (a module's backward hook sees it)"

    def forward(self, a: np.ndarray, *args: Any) -> tuple:
        return a.view(), None


def _index_state(bs: int, mix: Any, x: Any, idx: Any, norm: tuple) -> tuple:
    """The batch state of ``x[idx]`` once index Tensors are counted: an index computed from a
    batch statistic (or mixing samples) selects by the other samples, so the result mixes.
    An unbatched ``x`` read at a batched integer index ``x[idx]`` (or ``x[idx, :, ...]``) is
    batched: row b of the result is ``x`` at sample b's positions. ``norm``: the normalised
    index."""
    parts = idx if isinstance(idx, tuple) else (idx,)
    for i in parts:
        if isinstance(i, base.Tensor) and i._bs & (MIXED | STAT):
            return batchstate.mixed("op 'getitem' selects by an index computed from a batch statistic", i, x)
    if bs & BATCHED:
        return bs, mix
    per = [i for i in parts if isinstance(i, base.Tensor) and i._bs & BATCHED]
    if not per:
        return bs, mix
    from .select import picked_state
    k = len(per)  # the per-sample indices must come first, all integer with the samples on axis 0
    leads = (all(a is b for a, b in zip(parts[:k], per)) and all(
        i._data.dtype.kind in "iu" and i._data.ndim >= 1 and i._data.shape[0] == per[0]._data.shape[0] for i in per)
        and all(isinstance(j, slice) or j is Ellipsis for j in norm[k:]))
    return picked_state("getitem", x, per[0], leads)


def normalise_index(idx: Any, shape: tuple, who: str = "getitem") -> tuple:
    """Index as a tuple; Tensors and lists as arrays, boolean masks as integer arrays (after
    checking they match the axes they index); errors name ``who``. Returns (index, has_advanced)."""
    if not isinstance(idx, tuple):
        idx = (idx,)
    out = []
    advanced = False
    dim = 0
    for k, i in enumerate(idx):
        if isinstance(i, base.Tensor):
            if i.data.dtype == np.uint8:  # torch reads it as a (deprecated) mask, numpy as positions
                raise IndexError(f"{who}: a uint8 index Tensor (shape {i.data.shape}) is a mask in torch and "
                                 f"positions in numpy; write .bool() for a mask or .long() for positions "
                                 f"(tensor shape {shape})")
            i = i.data
        if isinstance(i, (list, tuple)):  # (a tuple inside the index is a sequence of positions, as torch's)
            i = np.asarray(i) if len(i) else np.zeros(0, np.intp)  # [] selects nothing, as in numpy
        if i is Ellipsis:  # the slices it stands for (numpy reads one covering no axis as separating arrays)
            end = len(shape) - sum(_consumed(j) for j in idx[k + 1:])
            out, dim = out + ([slice(None)] * (end - dim) if end >= dim else [i]), end
            continue
        if isinstance(i, np.ndarray):
            advanced = True
            if i.dtype == bool:
                want = shape[dim:dim + i.ndim]
                if i.shape != tuple(want):
                    raise IndexError(f"{who}: boolean index of shape {i.shape} does not match the indexed "
                                     f"axes of shape {tuple(want)} (tensor shape {shape})")
                out.extend(np.nonzero(i) if i.ndim else (i,))  # (a 0-d mask: a new axis of 1 or 0, kept)
                dim += i.ndim
                continue
            if not np.issubdtype(i.dtype, np.integer):
                raise IndexError(f"{who}: index arrays must be integer or boolean, got {i.dtype}")
        if i is not None:
            dim += 1
        out.append(i)
    return tuple(out), advanced


def _consumed(i: Any) -> int:
    """How many axes of the indexed array one index entry uses."""
    i = i.data if isinstance(i, base.Tensor) else np.asarray(i) if isinstance(i, list) else i
    if i is None or i is Ellipsis:
        return 0
    return i.ndim if isinstance(i, np.ndarray) and i.dtype == bool else 1


def index_keeps_rows(idx: tuple, shape: tuple) -> bool:
    """True when ``x[idx]`` keeps axis 0 as the sample axis with sample b in row b."""
    if not idx or idx[0] is Ellipsis:
        n_real = sum(1 for i in idx if i is not None and i is not Ellipsis)
        if idx and n_real >= len(shape):
            return False
        rest = idx[1:]
    else:
        first = idx[0]
        if isinstance(first, slice):
            if first != slice(None) and first.indices(shape[0]) != (0, shape[0], 1):
                return False
            rest = idx[1:]
        elif isinstance(first, np.ndarray):
            pos = [k for k, i in enumerate(idx) if isinstance(i, np.ndarray)]
            if pos != list(range(len(pos))):
                return False
            try:
                bshape = np.broadcast_shapes(*(idx[k].shape for k in pos))
            except ValueError:
                return False
            return (len(bshape) == 1 and bshape[0] == shape[0] and first.ndim == 1
                    and np.array_equal(first, np.arange(shape[0])))
        else:
            return False
    pos = [k for k, i in enumerate(rest) if isinstance(i, np.ndarray)]
    if pos and pos != list(range(pos[0], pos[0] + len(pos))):
        return False  # separated index arrays move their axes to the front
    return True


RESHAPE, TRANSPOSE, GETITEM, CONCAT = Reshape(), Transpose(), GetItem(), Concat()
EXPAND, REPEAT, CLONE, HOOKPOINT = Expand(), Repeat(), Clone(), HookPoint()
SCATTERBACK = ScatterBack()


def cat(tensors: Sequence[Any], axis: int = 0, *, dim: Optional[int] = None) -> Any:
    """Join tensors along an existing axis (numpy's concatenate); the cotangent is split back into
    the pieces. A piece of shape ``(0,)`` joins any rank, as an empty block of their shape (torch)."""
    if isinstance(tensors, (base.Tensor, np.ndarray)) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"cat: tensors must be a list or tuple of tensors, got {type(tensors).__name__}")
    axis = axis if dim is None else dim
    shapes = [np.shape(t.data if isinstance(t, base.Tensor) else t) for t in tensors]
    ranks = {len(s) for s in shapes if s != (0,)}
    if (0,) in shapes and len(ranks) == 1 and 1 not in ranks and type(axis) is int and -min(ranks) <= axis < min(ranks):
        ref = next(s for s in shapes if s != (0,))
        block = ref[:axis % len(ref)] + (0,) + ref[axis % len(ref) + 1:]
        tensors = [const(t).reshape(block) if s == (0,) else t for t, s in zip(tensors, shapes)]
    return CONCAT(tensors, axis)


def stack(tensors: Sequence[Any], axis: int = 0, *, dim: Optional[int] = None) -> Any:
    """Join tensors along a new axis."""
    axis = axis if dim is None else dim
    if isinstance(tensors, (base.Tensor, np.ndarray)) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"stack: tensors must be a list or tuple of tensors, got {type(tensors).__name__}")
    ts = [t if isinstance(t, base.Tensor) else const(t) for t in tensors]
    if not ts:
        raise base.ArgumentError("stack: needs at least one tensor")
    axes_of(ts[0].data.ndim + 1, axis, "stack")  # an int in range, else TypeError / AxisError
    shapes = {t.data.shape for t in ts}
    if len(shapes) != 1:
        raise base.ShapeMismatchError(f"stack: all tensors must have the same shape, got {sorted(shapes)}")
    return cat([t.unsqueeze(axis) for t in ts], axis)
