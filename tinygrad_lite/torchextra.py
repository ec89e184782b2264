"""More of torch's Tensor methods: ordering (``sort``, ``argsort``, ``topk``, ``msort``),
matrix shapes and products (``diag``, ``diagonal``, ``trace``, ``tril``, ``triu``, ``dot``,
``mm``, ``bmm``, ``mv``, ``outer``), selection and layout (``masked_select``,
``index_select``, ``narrow``, ``repeat_interleave``, ``unflatten``, ``movedim`` /
``moveaxis``), the dtype conversions ``long``, ``int``, ``short``, ``bool``, ``byte``,
``char``, the in-place random fills for use under ``no_grad()`` (``normal_``, ``uniform_``,
``bernoulli_``, ``exponential_``, ``random_``, drawn from the library's default generator
unless ``generator=`` is given) and ``grad_fn``.

``Tensor`` inherits these through ``TorchMethods``. Each differentiable method is one op
call (``ops.SORT``, ``ops.TOPK``, ``ops.DIAGONAL``, ``ops.DIAG``, ``ops.TRIL``, ``ops.TRIU``)
or a composition of indexing, reshapes, transposes and matmul, so gradients, per-sample
gradients and the mixing errors come from the ops: ordering along the sample axis of a
batched tensor mixes samples, so reading ``grad_sample`` then raises naming the op.
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any, NamedTuple, Optional

import numpy as np

from . import ops
from .batchstate import BATCHED, derived, mixed
from .conventions import ShapeMismatchError, _int, _real, check_bool, store
from .ops import base
from .ops.base import axes_of, axis_of, broadcasts_to, make
from .ops.select import order
from .random import as_generator
from .torchkw import one_of
from .torchmore import MoreMethods

if TYPE_CHECKING:
    from .tensor import Tensor


class SortResult(NamedTuple):
    """``x.sort(dim)``: the sorted values and the positions they came from."""

    values: "Tensor"
    indices: "Tensor"


class TopKResult(NamedTuple):
    """``x.topk(k, dim)``: the k largest (or smallest) values and their positions."""

    values: "Tensor"
    indices: "Tensor"


class GradFn:
    """What ``grad_fn`` returns for an op's output: ``name()`` is the op's name (``"sort"``,
    ``"matmul"`` ...); it is truthy, as torch's node object."""

    __slots__ = ("_node",)

    def __init__(self, node: Any) -> None:
        self._node = node

    def name(self) -> str:
        return self._node._op.name

    @property
    def next_functions(self) -> tuple:
        """The parents' ``grad_fn`` (None for a leaf), each with a 0, as torch's pairs."""
        return tuple((GradFn(p) if p._op is not None else None, 0) for p in self._node._parents)

    def __repr__(self) -> str:
        return f"<grad_fn {self.name()}>"


def _axis(t: Any, dim: Any, who: str) -> int:
    if isinstance(dim, (tuple, list)) or t.data.ndim == 0:
        raise TypeError(f"{who}: dim must be one int naming an axis of the tensor of shape {t.data.shape}, got "
                        f"{dim!r}")
    return axis_of(t.data.ndim, dim, who)


def _along(ndim: int, axis: int, key: Any) -> tuple:
    """An index applying ``key`` to axis ``axis`` and taking every other axis whole."""
    return (slice(None),) * axis + (key,) + (slice(None),) * (ndim - axis - 1)


def _indices(idx: np.ndarray, who: str, x: Any, axis: int) -> Any:
    """Positions found by ordering ``x`` along ``axis``: no gradient; ordering along the sample
    axis of a batched tensor mixes samples."""
    if x._bs & BATCHED and axis == 0:
        return make(idx, None, (), None, False, *mixed(f"op '{who}' orders along the sample axis (axis 0)", x))
    return make(idx, None, (), None, False, *derived(who, None, x))


def _shapes(who: str, want: str, a: Any, b: Any) -> ShapeMismatchError:
    return ShapeMismatchError(f"{who}: expects {want}, got shapes {a.data.shape} and {b.data.shape}")


# the products without broadcasting: who -> (the shapes it takes, whether two shapes are such)
_PRODUCTS = {
    "dot": ("two 1-D tensors of the same length", lambda a, b: len(a) == len(b) == 1 and a == b),
    "mm": ("matrices (n, m) and (m, p)", lambda a, b: len(a) == len(b) == 2 and a[1] == b[0]),
    "bmm": ("3-D tensors (b, n, m) and (b, m, p)",
            lambda a, b: len(a) == len(b) == 3 and a[0] == b[0] and a[2] == b[1]),
    "mv": ("a matrix (n, m) and a vector (m,)", lambda a, b: len(a) == 2 and len(b) == 1 and a[1] == b[0]),
    "outer": ("two 1-D tensors", lambda a, b: len(a) == len(b) == 1),
}


def _factor(who: str, x: Any, other: Any) -> Any:
    """``other`` (a Tensor, or a constant for an array) as the second factor of the product
    ``who`` of ``x``, after checking the two shapes (``_PRODUCTS``)."""
    o = other if isinstance(other, base.Tensor) else base.const(other, who)
    want, fits = _PRODUCTS[who]
    if not fits(x.data.shape, o.data.shape):
        raise _shapes(who, want, x, o)
    return o


def _float_only(t: Any, who: str) -> None:
    if t.data.dtype.kind != "f":
        raise TypeError(f"{who}: fills only floating-point tensors, got dtype {t.data.dtype}")


def bool_mask(who: str, t: Any, mask: Any) -> tuple:
    """``mask`` as a bool Tensor and the shape it broadcasts to with ``t`` (TypeError for
    another dtype, ShapeMismatchError when the two shapes do not broadcast)."""
    m = mask if isinstance(mask, base.Tensor) else base.const(mask, who)
    if m.data.dtype != np.bool_:
        raise TypeError(f"{who}: mask must be a bool tensor, got dtype {m.data.dtype}")
    try:
        return m, np.broadcast_shapes(t.data.shape, m.data.shape)
    except ValueError:
        raise ShapeMismatchError(f"{who}: mask of shape {m.data.shape} does not broadcast with the tensor's shape "
                                 f"{t.data.shape}") from None


def _copy_as(name: str, dtype: Any, doc: str) -> Any:
    """The method ``x.name()``: a copy of dtype ``dtype``."""
    def method(self: Any) -> "Tensor":
        return self.astype(dtype)

    method.__name__, method.__qualname__ = name, f"ExtraMethods.{name}"
    method.__doc__ = doc
    return method


class ExtraMethods(MoreMethods):
    """Mixin of ``Tensor`` (see the module docstring)."""

    __slots__ = ()
    data: np.ndarray
    _bs: int

    # ------------------------------------------------------------ ordering -------------
    def sort(self, dim: int = -1, descending: bool = False, *, stable: bool = False) -> SortResult:
        """``(values, indices)``: the values along ``dim`` in ascending order (descending with
        ``descending=True``) and where each came from, ``values = gather(dim, indices)``.
        Equal values keep their order (the sort is always stable); nan counts as the largest.
        The gradient of ``values`` goes back to the positions in ``indices``."""
        check_bool("sort", "descending", descending)
        check_bool("sort", "stable", stable)
        if self.data.ndim == 0:
            axes_of(0, dim, "sort")
            v, i = self.reshape(1).sort(0, descending)  # type: ignore[attr-defined]
            return SortResult(v.reshape(()), i.reshape(()))
        ax = _axis(self, dim, "sort")
        idx = order(self.data, ax, bool(descending))
        values = ops.SORT(self, ax, idx)
        return SortResult(values, make(idx, None, (), None, False, *derived("sort", None, values)))

    def argsort(self, dim: int = -1, descending: bool = False, *, stable: bool = False) -> "Tensor":
        """The positions that sort the values along ``dim`` (``sort(dim).indices``; int64)."""
        check_bool("argsort", "descending", descending)
        check_bool("argsort", "stable", stable)
        if self.data.ndim == 0:
            axes_of(0, dim, "argsort")
            return make(np.zeros((), np.int64), None, (), None, False, *derived("argsort", None, self))
        ax = _axis(self, dim, "argsort")
        return _indices(order(self.data, ax, bool(descending)), "argsort", self, ax)

    def msort(self) -> "Tensor":
        """The values sorted along axis 0 (``sort(0).values``)."""
        return self.sort(0).values

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> TopKResult:
        """``(values, indices)``: the ``k`` largest values along ``dim`` (the smallest with
        ``largest=False``), largest first (smallest first), and their positions; among equal
        values the earlier position comes first. The gradient goes back to those positions
        (0 elsewhere)."""
        check_bool("topk", "largest", largest)
        check_bool("topk", "sorted", sorted)
        if self.data.ndim == 0:
            axes_of(0, dim, "topk")
            k = _int("topk", "k", k, 0)
            if k > 1:
                raise ValueError(f"topk: k ({k}) is out of range for a 0-d tensor (at most 1)")
            v, i = self.reshape(1).topk(1, 0, largest)  # (k = 0 too: torch gives the element back)
            return TopKResult(v.reshape(()), i.reshape(()))
        ax = _axis(self, dim, "topk")
        n = self.data.shape[ax]
        k = _int("topk", "k", k, 0)
        if k > n:
            raise base.ArgumentError(f"topk: k ({k}) is larger than the size {n} of dim {ax} of shape "
                                     f"{self.data.shape}")
        idx = np.take(order(self.data, ax, bool(largest)), np.arange(k), axis=ax)
        values = ops.TOPK(self, ax, idx)
        return TopKResult(values, make(idx, None, (), None, False, *derived("topk", None, values)))

    # ------------------------------------------------------------ matrices -------------
    def diagonal(self, offset: int = 0, dim1: int = 0, dim2: int = 1) -> "Tensor":
        """The diagonal ``out[..., i] = x[.., i, .., i + offset, ..]`` of axes ``dim1`` and
        ``dim2``, which are removed, the diagonal appended as the last axis (torch's layout);
        a view, as torch's (an in-place change of it changes this tensor); the gradient is
        written back on that diagonal."""
        offset = _int("diagonal", "offset", offset)
        if self.data.ndim < 2:
            raise ShapeMismatchError(f"diagonal: needs at least 2 axes, got shape {self.data.shape}")
        d1, d2 = (axis_of(self.data.ndim, d, "diagonal") for d in (dim1, dim2))
        if d1 == d2:
            raise base.ArgumentError(f"diagonal: dim1 and dim2 must differ, got {dim1} and {dim2}")
        return ops.DIAGONAL(self, offset=offset, dim1=d1, dim2=d2)

    def diag(self, diagonal: int = 0) -> "Tensor":
        """1-D: the square matrix with this vector on diagonal ``diagonal`` (above the main one
        when > 0), 0 elsewhere; 2-D: that diagonal of the matrix, as a vector."""
        diagonal = _int("diag", "diagonal", diagonal)
        if self.data.ndim == 1:
            return ops.DIAG(self, offset=diagonal)
        if self.data.ndim == 2:  # (a copy, as torch's diag; diagonal() is the view)
            return ops.CLONE(self.diagonal(diagonal))
        raise ShapeMismatchError(f"diag: expects a 1-D or 2-D tensor, got shape {self.data.shape}")

    def trace(self) -> "Tensor":
        """The sum of the main diagonal of a matrix."""
        if self.data.ndim != 2:
            raise ValueError(f"trace: expects a matrix (2-D), got shape {self.data.shape}")
        return self.diagonal().sum()  # type: ignore[attr-defined]

    def tril(self, diagonal: int = 0) -> "Tensor":
        """The lower triangle of the last two axes, ``x[..., i, j]`` where ``j - i <= diagonal``;
        0 above. The gradient passes where the values are kept."""
        diagonal = _int("tril", "diagonal", diagonal)
        if self.data.ndim < 2:
            raise ShapeMismatchError(f"tril: needs at least 2 axes, got shape {self.data.shape}")
        return ops.TRIL(self, diagonal=diagonal)

    def triu(self, diagonal: int = 0) -> "Tensor":
        """The upper triangle of the last two axes, ``x[..., i, j]`` where ``j - i >= diagonal``."""
        diagonal = _int("triu", "diagonal", diagonal)
        if self.data.ndim < 2:
            raise ShapeMismatchError(f"triu: needs at least 2 axes, got shape {self.data.shape}")
        return ops.TRIU(self, diagonal=diagonal)

    def dot(self, other: Any = None, *, tensor: Any = None) -> "Tensor":
        """sum_i x_i y_i of two 1-D tensors of one length (a 0-d result); ``tensor=`` is
        torch's keyword for ``other``."""
        return ops.MATMUL(self, _factor("dot", self, one_of("dot", other=other, tensor=tensor)))

    def mm(self, mat2: Any) -> "Tensor":
        """The matrix product of two matrices, (n, m) @ (m, p) -> (n, p); no broadcasting."""
        return ops.MATMUL(self, _factor("mm", self, mat2))

    def bmm(self, mat2: Any) -> "Tensor":
        """Batched matrix products, (b, n, m) @ (b, m, p) -> (b, n, p); no broadcasting."""
        return ops.MATMUL(self, _factor("bmm", self, mat2))

    def mv(self, vec: Any) -> "Tensor":
        """The matrix-vector product, (n, m) @ (m,) -> (n,)."""
        return ops.MATMUL(self, _factor("mv", self, vec))

    def outer(self, vec2: Any) -> "Tensor":
        """The outer product ``out[i, j] = x_i y_j`` of two 1-D tensors."""
        o = _factor("outer", self, vec2)
        return ops.RESHAPE(self, (-1, 1)) * ops.RESHAPE(o, (1, -1))  # type: ignore[operator]

    ger = outer

    # ------------------------------------------------------------ selection, layout ----
    def masked_select(self, mask: Any) -> "Tensor":
        """The values where the bool ``mask`` is True (the two broadcast together), as a 1-D
        tensor in row-major order; the gradient goes back to those positions."""
        m, shape = bool_mask("masked_select", self, mask)
        x = self if self.data.shape == shape else ops.EXPAND(self, shape)
        return x[m if m.data.shape == shape else ops.EXPAND(m, shape)]  # type: ignore[index]

    def index_select(self, dim: int, index: Any) -> "Tensor":
        """The slices ``index[0], index[1], ...`` along ``dim`` (``index``: a 1-D or 0-d integer
        tensor; repeats allowed, their gradients add)."""
        if self.data.ndim == 0:
            out = self.reshape(1).index_select(dim, index)  # type: ignore[attr-defined]
            return out.reshape(()) if out.data.size == 1 else out
        ax = _axis(self, dim, "index_select")
        idx = index if isinstance(index, base.Tensor) else base.const(index)
        n = self.data.shape[ax]
        d = idx.data
        if d.dtype.kind not in "iu" or d.ndim > 1:
            raise base.DtypeError(f"index_select: index must be a 1-D integer tensor, got shape {d.shape} and dtype "
                                  f"{d.dtype}")
        if d.size and (d.min() < 0 or d.max() >= n):
            raise IndexError(f"index_select: index values must lie in [0, {n}) for dim {ax} of shape "
                             f"{self.data.shape}, got values from {d.min()} to {d.max()}")
        key = idx if d.ndim == 1 else ops.RESHAPE(idx, (1,))
        return self[_along(self.data.ndim, ax, key)]  # type: ignore[index]

    def narrow(self, dim: int, start: Any, length: int) -> "Tensor":
        """``length`` consecutive slices along ``dim`` from ``start`` (negative counts from the
        end), as a view; the gradient goes back to them."""
        ax = _axis(self, dim, "narrow")
        n = self.data.shape[ax]
        start, length = _int("narrow", "start", start), _int("narrow", "length", length, 0)
        if not -n <= start <= n:
            raise IndexError(f"narrow: start {start} is out of range for dim {ax} of size {n} (shape "
                             f"{self.data.shape})")
        start = start + n if start < 0 else start
        if start + length > n:
            raise base.ArgumentError(f"narrow: start ({start}) + length ({length}) exceeds the size {n} of dim {ax} "
                                     f"(shape {self.data.shape})")
        return self[_along(self.data.ndim, ax, slice(start, start + length))]  # type: ignore[index]

    def repeat_interleave(self, repeats: Any, dim: Optional[int] = None, *, output_size: Any = None) -> "Tensor":
        """Each slice along ``dim`` repeated ``repeats`` times in place (``[a, b] -> [a, a, b, b]``);
        ``repeats`` is an int or one count per slice; without ``dim`` the flattened tensor.
        The gradient of each slice sums over its copies."""
        x = self.reshape(-1) if dim is None else self  # type: ignore[attr-defined]
        ax = 0 if dim is None else _axis(self, dim, "repeat_interleave")
        n = x.data.shape[ax]
        r = np.asarray(repeats.data if isinstance(repeats, base.Tensor) else repeats)
        if r.dtype.kind not in "iu" or r.ndim > 1 or (r.ndim == 1 and r.size not in (1, n)):
            raise ValueError(f"repeat_interleave: repeats must be an int or a 1-D integer tensor of length 1 or {n} "
                             f"(the size of dim {ax}), got {repeats!r}")
        if r.size and r.min() < 0:
            raise ValueError(f"repeat_interleave: repeats must be >= 0, got {repeats!r}")
        idx = np.repeat(np.arange(n), r.reshape(-1) if r.size != 1 else int(r.reshape(-1)[0]))
        if output_size is not None and output_size != len(idx):
            raise ValueError(f"repeat_interleave: output_size {output_size} differs from the {len(idx)} repeats")
        return x[_along(x.data.ndim, ax, idx)]

    def unflatten(self, dim: int, sizes: Any) -> "Tensor":
        """Axis ``dim`` split into axes of ``sizes`` (one may be -1), whose product is its length."""
        ax = _axis(self, dim, "unflatten")
        sizes = tuple(sizes)
        n = self.data.shape[ax]
        known = int(np.prod([s for s in sizes if s != -1]))
        if not sizes or sizes.count(-1) > 1 or any(not isinstance(s, numbers.Integral) or s < -1 for s in sizes) \
                or (n != known if -1 not in sizes else (known == 0 or n % known)):
            raise ShapeMismatchError(f"unflatten: sizes {sizes} do not split dim {ax} of size {n} (shape "
                                     f"{self.data.shape})")
        sizes = tuple(n // known if s == -1 else int(s) for s in sizes)
        shp = self.data.shape
        return ops.RESHAPE(self, shp[:ax] + sizes + shp[ax + 1:])

    def movedim(self, source: Any, destination: Any) -> "Tensor":
        """The axes ``source`` moved to the positions ``destination`` (ints or tuples of one
        length), the other axes keeping their order."""
        nd = self.data.ndim
        src, dst = ((v,) if not isinstance(v, (tuple, list)) else tuple(v) for v in (source, destination))
        s, d = ([axis_of(nd, a, "movedim") for a in v] for v in (src, dst))
        if len(s) != len(d) or len(set(s)) != len(s) or len(set(d)) != len(d):
            raise ValueError(f"movedim: source {source!r} and destination {destination!r} must name as many "
                             f"distinct axes each (tensor shape {self.data.shape})")
        if nd == 0:  # (a 0-d tensor takes dim 0 or -1, as torch: nothing moves)
            return ops.TRANSPOSE(self, ())
        perm = [a for a in range(nd) if a not in s]
        for to, frm in sorted(zip(d, s)):
            perm.insert(to, frm)
        return ops.TRANSPOSE(self, tuple(perm))

    moveaxis = movedim

    # ------------------------------------------------------------ random fills ---------
    def _fill(self, who: str, values: Any) -> "Tensor":
        return store(self, np.asarray(values), who, "unsafe")

    def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator: Any = None) -> "Tensor":
        """Fill in place with values drawn from N(mean, std**2) (a float tensor, under
        ``no_grad()`` if it requires grad)."""
        _float_only(self, "normal_")
        mean, std = _real("normal_", "mean", mean), _real("normal_", "std", std)
        if not std >= 0:
            raise ValueError(f"normal_: std must be >= 0, got {std!r}")
        self._writable("normal_")  # type: ignore[attr-defined]
        rng = as_generator(generator, "normal_: generator")
        return self._fill("normal_", rng.normal(mean, std, self.data.shape))

    def uniform_(self, from_: float = 0.0, to: float = 1.0, *, generator: Any = None, **kw: Any) -> "Tensor":
        """Fill in place with values drawn uniformly from [from, to) (``from`` may be given as
        ``from_`` or, as torch, ``**{"from": a}``)."""
        from_ = kw.pop("from", from_)
        if kw:
            raise TypeError(f"uniform_: unexpected arguments {sorted(kw)}")
        _float_only(self, "uniform_")
        from_, to = _real("uniform_", "from", from_), _real("uniform_", "to", to)
        if not from_ <= to:
            raise ValueError(f"uniform_: expects from <= to, got from={from_!r}, to={to!r}")
        self._writable("uniform_")  # type: ignore[attr-defined]
        rng = as_generator(generator, "uniform_: generator")
        return self._fill("uniform_", rng.uniform(from_, to, self.data.shape))

    def exponential_(self, lambd: float = 1.0, *, generator: Any = None) -> "Tensor":
        """Fill in place with values drawn from the exponential law of rate ``lambd`` (> 0)."""
        _float_only(self, "exponential_")
        if not _real("exponential_", "lambd", lambd) > 0:
            raise ValueError(f"exponential_: lambd must be > 0, got {lambd!r}")
        self._writable("exponential_")  # type: ignore[attr-defined]
        rng = as_generator(generator, "exponential_: generator")
        return self._fill("exponential_", rng.exponential(1.0 / lambd, self.data.shape))

    def bernoulli_(self, p: Any = 0.5, *, generator: Any = None) -> "Tensor":
        """Fill in place with 1 with probability ``p`` (a number or a tensor broadcast to this
        shape), else 0."""
        try:
            pa = np.asarray(p.data if isinstance(p, base.Tensor) else p, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"bernoulli_: p must be a number or a tensor of probabilities, got {p!r}") from None
        if not broadcasts_to(pa.shape, self.data.shape) or not ((pa >= 0) & (pa <= 1)).all():
            raise ValueError(f"bernoulli_: p must be probabilities in [0, 1] broadcasting to {self.data.shape}, "
                             f"got {p!r}")
        self._writable("bernoulli_")  # type: ignore[attr-defined]
        rng = as_generator(generator, "bernoulli_: generator")
        return self._fill("bernoulli_", rng.random(self.data.shape) < pa)

    def random_(self, from_: Optional[int] = None, to: Optional[int] = None, *, generator: Any = None) -> "Tensor":
        """Fill in place with integers drawn uniformly from [from, to); ``random_(to)`` is
        [0, to); with no bounds [0, 2**mantissa] for floats, all values >= 0 for integers."""
        dt = self.data.dtype
        if to is None and from_ is not None:
            from_, to = 0, from_
        lo = 0 if from_ is None else _int("random_", "from", from_)
        if to is None:
            hi = 2 if dt.kind == "b" else (2 ** (np.finfo(dt).nmant + 1) + 1 if dt.kind == "f"
                                            else int(np.iinfo(dt).max) + 1)
        else:
            hi = _int("random_", "to", to)
        if dt.kind in "iu" and not (np.iinfo(dt).min <= lo and hi - 1 <= np.iinfo(dt).max) or dt.kind == "b" and \
                not 0 <= lo < hi <= 2:
            raise ValueError(f"random_: the range [{lo}, {hi}) does not fit dtype {dt}")
        if not lo < hi:
            raise ValueError(f"random_: expects from < to, got from={lo}, to={hi}")
        self._writable("random_")  # type: ignore[attr-defined]
        rng = as_generator(generator, "random_: generator")
        return self._fill("random_", rng.integers(lo, hi - 1, self.data.shape, endpoint=True))

    # ------------------------------------------------------------ autograd -------------
    @property
    def grad_fn(self) -> Optional[GradFn]:
        """None for a leaf (and for what was built without a graph); for an op's output an
        object whose ``name()`` is the op's name."""
        node = self._op  # type: ignore[attr-defined]
        return None if node is None else GradFn(self)

    # ------------------------------------------------------------ dtype conversions ----
    # (last in the class: from here on, ``int`` and ``bool`` in this class body are methods)
    long, int, short, char, byte, bool = (_copy_as(name, dtype, doc) for name, dtype, doc in (
        ("long", np.int64, "An int64 copy (no gradient)."),
        ("int", np.int32, "An int32 copy (no gradient)."),
        ("short", np.int16, "An int16 copy (no gradient)."),
        ("char", np.int8, "An int8 copy (no gradient)."),
        ("byte", np.uint8, "A uint8 copy (no gradient)."),
        ("bool", np.bool_, "A bool copy, True where the value is non-zero (no gradient).")))
