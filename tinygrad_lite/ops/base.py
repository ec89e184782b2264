"""The op protocol: one class per op holding everything about it.

An op object has

* ``name`` and ``rule``: what errors, pictures, traces and the explorer show (the rule is
  the op's local derivative in words); ``symbol`` / ``rsymbol`` (infix spelling) and
  ``local`` (its vjp of ones is the local derivative) for traces;
* ``forward(*arrays, **params) -> (out, ctx)``: the numpy computation; ``ctx`` is saved on
  the output node as ``node._ctx`` for the vjp;
* ``vjp(node, g) -> tuple``: one cotangent per parent (``None`` where no gradient is
  needed) in the FULL broadcast shape (the walker reduces it to the parent's shape in one
  place); ``g`` may carry extra LEADING axes (a stack of per-sample cotangents);
* ``batch(inputs, out, ctx) -> (state, reason)``: how the output's batch state follows from
  the inputs' (``batchstate``); the default treats the op as elementwise;
* optionally ``sample_rows(node, g, i, scale) -> Rows``: the per-sample gradient of an
  unbatched parent ``i`` from a batched output, for ops whose vjp contracts the sample axis
  (matmul, linear), kept factored; ``push_rows(node, i, rows)`` carries a parameter-side
  node's rows to its parent without building them (transpose, reshape, cast);
  ``sample_scale(node)``: for ops that reduce the sample axis, the weight ``c`` of each
  sample's term (1/B for a mean, 1 for a sum); ``unread``: the positions of parents whose
  values (not shape) the vjp never reads, which may change in place after the forward;
* ``tvjp(node, g) -> tuple``: the vjp written with Tensor ops, ``g`` a Tensor: what a
  ``create_graph=True`` backward calls, so the gradients are recorded as a graph and can be
  differentiated again (``higher``); an op without one refuses such a backward, naming itself.

Calling the op object on Tensors runs forward, records the node and returns the output;
``Tensor`` methods are one-line calls of these objects. A forward that fails raises its
exception with ``.operands`` (the input Tensors) and ``.op`` attached, so
``tl.viz.draw_graph(exc)`` can draw the graph that led there.

Also here: the error classes that are both Python's and torch's (``ShapeMismatchError``,
``ArgumentError``, ``IndexRangeError``, ``DtypeError``, ``AmbiguousTruthError``: a
ValueError / IndexError / TypeError that is also a RuntimeError), raised by the ops and
re-exported by ``conventions``.
"""

from __future__ import annotations

import itertools
import weakref
from typing import Any, Optional

import numpy as np

from .. import batchstate
from ..graph import state, values_unread
from .alloc import AllocationError, allocating, too_big  # noqa: F401  (re-exported)

Tensor: Any = None  # set by tensor.py (ops build Tensors; tensor.py calls ops)
_new = object.__new__


_clock = itertools.count(1)


def bump() -> int:
    """The next value of the version clock: a Tensor whose data changes in place takes it
    as its version ``_v``; every op node takes one as its ``_stamp`` when it is built, so
    stamps also order the nodes by creation (a parent is always older than its child)."""
    return next(_clock)


# In-place writes through a view or a shared array (``x[0:2].fill_(1)``, ``x.detach().zero_()``)
# give the written Tensor a new version, but not the Tensors that share its memory: so each
# such write is also remembered by the memory's root array (``_WRITES``: root -> (version,
# the written array)), and a backward over a graph older than the latest write checks its
# op inputs against them (``check_writes``). Entries go when their root array is freed.
_WRITES: dict = {}  # id(root) -> (version, weak ref to the root, weak ref to the written array)
_LAST_WRITE = [0]


def _root(a: np.ndarray) -> np.ndarray:
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def wrote(arr: np.ndarray) -> int:
    """Record an in-place write into ``arr``'s memory; returns the written Tensor's new version."""
    v = bump()
    root = _root(arr)
    key = id(root)

    def gone(ref: Any) -> None:  # the root array was freed: forget it (unless its id was reused)
        if _WRITES.get(key, (0, None))[1] is ref:
            del _WRITES[key]

    try:
        _WRITES[key] = (v, weakref.ref(root, gone), weakref.ref(arr))
    except TypeError:  # (an array that takes no weak reference: its own version is all there is)
        return v
    _LAST_WRITE[0] = v
    return v


# Memory a detach() of a parameter (or of a view) shares: root id -> weak ref to the root.
# An optimizer that changes a parameter whose memory is listed records the change as a
# write, so a graph that read the detached tensor is refused as well (as torch, whose
# detach() shares the version counter).
_DETACHED: dict = {}


def detached(arr: np.ndarray) -> None:
    """Note that a detached tensor shares ``arr``'s memory."""
    root = _root(arr)
    key = id(root)
    if key in _DETACHED:
        return

    def gone(ref: Any) -> None:
        if _DETACHED.get(key) is ref:
            del _DETACHED[key]

    try:
        _DETACHED[key] = weakref.ref(root, gone)
    except TypeError:
        pass


def last_write(arr: np.ndarray) -> int:
    """The version of the latest in-place write recorded into ``arr``'s memory (0: none)."""
    root = _root(arr)
    entry = _WRITES.get(id(root))
    return entry[0] if entry is not None and entry[1]() is root else 0


def updated(arr: np.ndarray) -> int:
    """The new version of a parameter whose data ``arr`` an optimizer changed in place. Where
    the memory's latest recorded write was into another part of it (parameters that are views
    of one array, as ``optim.packed`` makes them), the write is recorded into the whole memory:
    one entry per memory cannot hold both, and dropping the earlier one would let a graph that
    read it through a ``detach()`` differentiate at the new values."""
    if _DETACHED:
        root = _root(arr)
        if id(root) in _DETACHED:
            entry = _WRITES.get(id(root))
            if entry is not None and entry[1]() is root and entry[2]() is not arr:
                return wrote(root)
            return wrote(arr)
    return next(_clock)


def output_changed(node: Any) -> RuntimeError:
    """The error of a backward through ``node``, whose op's gradient reads its output, after
    that output changed outside the graph."""
    return OutputChanged(
        f"backward: the output of op '{node._op.name}' (shape {node._data.shape}), whose gradient reads it, was "
        "changed in place outside the graph (under no_grad(), through .data, a view or a detach()) after it was "
        "computed; its gradient would be computed from the wrong values. Recompute the forward pass, or change a "
        "clone()")


class OutputChanged(RuntimeError):
    """``output_changed``'s error (no repair of the graph helps)."""


def _written_since(a: np.ndarray, stamp: int, but: int = 0) -> bool:
    """Whether the latest write recorded into ``a``'s memory (``_WRITES``), other than the
    write of version ``but``, came after ``stamp`` and may have changed ``a``."""
    root = _root(a)
    entry = _WRITES.get(id(root))
    if entry is None or entry[0] <= stamp or entry[0] == but or entry[1]() is not root:
        return False
    arr = entry[2]()
    return arr is None or np.may_share_memory(arr, a)


def check_writes(order: list) -> None:
    """Refuse (``RuntimeError``) a graph, ``order`` sorted as ``toposort(versions=True)`` sorts
    it, an op of which reads memory that an in-place write changed after the op was built."""
    last = _LAST_WRITE[0]
    for node in order:
        if node._op is None:
            continue
        stamp = node._stamp
        if last < stamp:  # this node and every later one are newer than the latest write
            return
        # its own output, which its gradient reads, changed through memory it shares (other than
        # by the recorded write that made it this node; a write into it is graph._by_stamp's check)
        if getattr(node._op, "reads_output", False) and _written_since(node._data, stamp, getattr(node, "_moved", 0)):
            raise output_changed(node)
        for p in node._parents:
            if not values_unread(node, p) and _written_since(p._data, stamp):
                raise RuntimeError(
                    f"backward: a value of shape {p._data.shape} used by op '{node._op.name}' shares memory with "
                    "a tensor that was changed in place (through a view, or a detach()) after the graph was "
                    "built; its gradient would be computed at the wrong point. Recompute the forward pass")


def make(data: np.ndarray, op: Any, parents: tuple, ctx: Any, rg: bool, bs: int = 0, mix: Any = None) -> Any:
    """Build an op's output node (internal fast path: no validation)."""
    t = _new(Tensor)
    t._data = data if type(data) is np.ndarray else np.asarray(data)  # 0-d numpy results are scalars
    t._v = 0
    t._grad = None
    t._lazy = None
    t.name = None
    t._bs = bs
    t._ps = None
    t._gs = None
    t._internal = False
    if bs:  # the reason a MIXED or STAT value carries (None otherwise)
        t._mix = mix
    if rg:
        st = state.__dict__  # this thread's recording state: one lookup, then plain dict reads
        if st["grad"]:
            t._rg = True
            t._parents = parents
            t._op = op
            t._ctx = ctx
            t._stamp = next(_clock)
            mods = st["modules"]
            if mods:  # the innermost running module (a picture's module frames)
                t._mod = mods[-1]
            if st["anomaly"]:
                from ..anomaly import created
                created(t)
            return t
    t._rg = False
    t._parents = ()
    t._op = None
    t._ctx = None
    st = state.__dict__  # (one thread-local lookup for both flags: every op outside a graph passes here)
    if st["inference"]:  # (a result of an inference_mode block: is_inference(), as torch)
        t._inf = True
    if op is not None and st["anomaly"]:  # (an op that records nothing is checked too)
        from ..anomaly import computed
        computed(t, op, parents, ctx)
    if bs & 1:  # BATCHED outside the graph: the batch it is of (batchstate.origin)
        t._origin = batchstate.origin(parents)
    if parents and t._data.base is not None:
        _home(t, parents[0])
    return t


def _home(t: Any, p: Any) -> None:
    """A view made outside the graph (``v = out[1]``) remembers the tensor that owns its
    memory and whether that tensor required grad then: ``t._home = (owner, constant)``. An
    in-place change of ``v`` that writes a value requiring grad writes through to a tensor
    that was a constant, as torch's (``formers.buffer_of``); a change outside the graph
    keeps what it overwrites for the owner's former nodes (``formers.undo_for``). A view of
    a view remembers the first one's owner. An owner that was a constant keeps a weak set of
    such views (``owner._views``): when a write in the graph makes it a result, they become
    regions of its new values, as torch's views join the graph with their base
    (``torchwrite.recorded``)."""
    if not isinstance(p, Tensor):
        return
    b = t._data.base
    pd = p._data
    if pd is b:
        t._home = home = (p, not p._rg)
    elif pd.base is b:
        h = getattr(p, "_home", None)
        if h is None or h[0]._data is not b:
            return
        t._home = home = (h[0], h[1] and not p._rg)
    else:
        return
    if home[1]:
        views = getattr(home[0], "_views", None)
        if views is None:
            views = home[0]._views = weakref.WeakSet()
        views.add(t)


def failed(op: Any, exc: BaseException, inputs: tuple) -> BaseException:
    """Attach the failing op (an Op, or the name of a function or layer) and its input Tensors to ``exc``."""
    try:
        exc.operands = tuple(inputs)  # type: ignore[attr-defined]
        exc.op = op if isinstance(op, str) else op.name  # type: ignore[attr-defined]
    except (AttributeError, TypeError):
        pass
    return exc


def with_operands(exc: BaseException, who: str, args: tuple, more: tuple = ()) -> None:
    """Give ``exc``, raised in the function or layer ``who`` before an op attached its own, the Tensors
    among ``args`` (and ``more``) as ``.operands`` (what ``tl.viz.draw_graph(exc)`` draws)."""
    if getattr(exc, "operands", None) is None and (ts := tuple(a for a in args if isinstance(a, Tensor)) + more):
        failed(who, exc, ts)


def const(x: Any, who: str = "") -> Any:
    """A Tensor for a numpy array (or array-like) operand: no gradient, not batched (a
    ``TypeError`` naming ``who``, the op, for anything not numeric)."""
    if isinstance(x, Tensor):
        return x
    pre = f"{who}: " if who else ""
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{pre}cannot use an object of type {type(x).__name__} as a tensor operand ({e})") from None
    if arr.dtype.kind not in "biuf":
        what = "complex numbers are not supported" if arr.dtype.kind == "c" else "a tensor operand must be numeric"
        raise TypeError(f"{pre}cannot use an object of type {type(x).__name__} (dtype {arr.dtype}) as a tensor "
                        f"operand: {what}")
    return make(arr, None, (), None, False)


def val(a: np.ndarray) -> Any:
    """The operand for arithmetic with a Python number: a 0-d array as its numpy scalar
    (same dtype and promotion rules, several times cheaper); ``make`` wraps the result."""
    return a[()] if a.ndim == 0 else a


def no_values(like: np.ndarray, fill: Any = 0) -> np.ndarray:
    """``like``'s shape and dtype in no memory (a read-only broadcast of ``fill``): the values
    of a node whose real values live elsewhere (a store that writes into its tensor's memory
    itself, a former node that kept only a region)."""
    return np.broadcast_to(np.array(fill, dtype=like.dtype), like.shape)


def owned(a: np.ndarray) -> np.ndarray:  # (writes through views of a result that owns its memory are followed)
    """``a``, or a copy when numpy returned a view (of a private array): a result that owns its memory."""
    return a if a.base is None else a.copy()


def alias(g: Any) -> Any:
    """``g`` passed on unchanged: an array as a view (a leaf copies views: no two ``.grad`` share memory)."""
    return g.view() if type(g) is np.ndarray else g


def lead(node: Any, g: np.ndarray) -> int:
    """Number of extra leading (per-sample stack) axes of ``g``."""
    return g.ndim - node._data.ndim


def tmm(a: np.ndarray, b: np.ndarray, out: Optional[np.ndarray] = None) -> np.ndarray:
    """a.T @ b for 2-D a, b with the same number of rows (into ``out`` when given). With one
    row it is an outer product, which matmul computes without BLAS (several times slower
    than einsum)."""
    if out is not None and (out.shape != (a.shape[1], b.shape[1]) or not out.dtype == a.dtype == b.dtype):
        out = None  # (operands of two dtypes: a new array of their result type)
    if a.shape[0] == 1:
        return np.einsum("ki,kj->ij", a, b, out=out)
    return np.matmul(a.T, b, out=out)


_ONES: dict = {}  # (n, dtype) -> a read-only vector of n ones (colsum's)


def colsum(a: np.ndarray) -> np.ndarray:
    """The column sums of 2-D ``a``, sum_i a[i, :] (a Linear bias's gradient). For float32 and
    float64 as the product of a vector of ones with ``a`` (BLAS's matrix-vector product): 2-5x
    faster than numpy's axis-0 reduction from 1 to 2048 rows, and as exact (float64) or more
    exact (float32: blocked instead of row-by-row accumulation)."""
    ones = ones_for(a)
    return np.add.reduce(a, 0) if ones is None else ones @ a


def ones_for(a: Any) -> Optional[np.ndarray]:
    """``colsum``'s vector of ones for ``a`` (an array or a Tensor), or None where it sums
    with numpy's reduction instead (not 2-D float32 or float64)."""
    dt = a.dtype
    if a.ndim != 2 or dt.kind != "f" or dt.itemsize not in (4, 8):
        return None
    key = (a.shape[0], dt)
    ones = _ONES.get(key)
    if ones is None:
        if len(_ONES) > 64:
            _ONES.clear()
        ones = np.ones(a.shape[0], dt)
        ones.flags.writeable = False
        _ONES[key] = ones
    return ones


def xwt(x: np.ndarray, W: np.ndarray) -> np.ndarray:
    """x @ W.T (a Linear layer's product, C-ordered), by the faster of OpenBLAS's two ways for the
    shape. numpy hands ``x @ W.T`` to sgemm with W transposed, whose packing of W^T costs about
    as much for 8 samples as for 32; computing (W @ x^T)^T and copying it to row order takes
    0.5-0.8x the time for float32 with 8-32 rows and a weight of 128+ by 128+ (256+ by 256+
    below 16 rows), measured on x86-64 with one BLAS thread. Elsewhere (float64, one row, many
    rows, small weights) the plain product is as fast or faster, and is used."""
    if W.dtype is _F32 and x.dtype is _F32 and x.ndim == 2:
        M, (N, K) = x.shape[0], W.shape
        if (16 <= M <= 32 and N >= 128 and K >= 128) or (8 <= M < 16 and N >= 256 and K >= 256):
            if W.flags.c_contiguous and x.flags.c_contiguous:
                return np.ascontiguousarray((W @ x.T).T)
    return x @ W.T


_F32 = np.dtype(np.float32)
_AxisError = getattr(np, "exceptions", np).AxisError


class ShapeMismatchError(ValueError, RuntimeError):
    """An array argument of the wrong shape: a ``ValueError``, and a ``RuntimeError`` as torch raises there."""


class ArgumentError(ValueError, RuntimeError):
    """An argument value a function refuses (an empty input, a mode it does not know, weights
    that cannot be normalised): a ``ValueError``, and a ``RuntimeError`` as torch raises there."""


class IndexRangeError(IndexError, RuntimeError):
    """An index (or ``k``) outside the axis it addresses where torch raises a ``RuntimeError``
    (scatter, gather, kthvalue): an ``IndexError`` too."""


class DtypeError(TypeError, RuntimeError):
    """An input of a dtype a function does not take, where torch raises a ``RuntimeError``:
    a ``TypeError`` too."""


class AmbiguousTruthError(ValueError, RuntimeError):
    """``bool()`` of a tensor that has not exactly one element: a ``RuntimeError`` as in torch,
    and a ``ValueError`` as numpy raises for an array."""


def axes_of(ndim: int, axis: Any, op: str) -> Optional[tuple]:
    """Normalise ``axis`` (None, int or tuple of ints) to a sorted tuple of non-negative ints."""
    if axis is None:
        return None
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer, tuple, list)):
        raise TypeError(f"{op}: axis must be an int, a tuple of ints or None, got {axis!r}")
    ax = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in ax:
        if isinstance(a, (bool, np.bool_)) or not isinstance(a, (int, np.integer)):
            raise TypeError(f"{op}: axis must be an int, a tuple of ints or None, got {axis!r}")
        a = int(a)
        if (a not in (0, -1)) if ndim == 0 else not -ndim <= a < ndim:  # a 0-d tensor takes 0 and -1
            raise _AxisError(f"{op}: axis {a} is out of bounds for a tensor of dimension {ndim}")
        out.append(a % ndim if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis!r}")
    return tuple(sorted(out)) if ndim else None


def axis_of(ndim: int, axis: Any, op: str) -> int:
    """One axis (an int in ``-ndim..ndim-1``) as a non-negative int; None, a tuple or a
    non-int raises ``TypeError`` naming ``op``. A 0-d tensor takes 0 and -1 (and gives 0)."""
    if axis is None or isinstance(axis, (tuple, list)):
        raise TypeError(f"{op}: dim must be one int, got {axis!r}")
    return (axes_of(ndim, axis, op) or (0,))[0]


class Op:
    """Base of all tensor ops (see the module docstring for the protocol)."""

    name = "op"
    rule = ""
    symbol = ""  # infix symbol for pictures and traces: "a + b", "x * 3"
    rsymbol = ""  # ... with the constant on the left: "3 - x"
    local = False  # vjp of a cotangent of ones gives the local derivative (elementwise ops)
    unread: tuple = ()  # positions of parents whose values the vjp never reads (an in-place change is harmless)
    reads_output = False  # the vjp reads the op's own output values (exp, tanh, relu, softmax, ...)

    def __repr__(self) -> str:
        return f"<op {self.name}>"

    def forward(self, *arrays: np.ndarray, **params: Any) -> tuple:
        raise NotImplementedError

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        raise NotImplementedError

    def tvjp(self, node: Any, g: Any) -> tuple:
        """The vjp on Tensors (for ``create_graph=True``); none by default."""
        raise no_tvjp(self)

    def batch(self, inputs: tuple, out: np.ndarray, ctx: Any) -> tuple:
        """Default batch rule: an elementwise op (non-linear in each input)."""
        if len(inputs) == 1:
            return batchstate.unary(self.name, inputs[0])
        a, b = inputs
        return batchstate.elementwise(self.name, out.shape, a, b, "")

    def __call__(self, *inputs: Any, **params: Any) -> Any:
        try:
            out, ctx = self.forward(*[t._data for t in inputs], **params)
        except Exception as e:
            big = too_big(self.name, e, [t._data.shape for t in inputs])
            if big is not None:
                raise failed(self, big, inputs) from None
            failed(self, e, inputs)
            raise
        s = 0
        rg = False
        for t in inputs:
            s |= t._bs
            rg = rg or t._rg
        bs, mix = self.batch(inputs, out, ctx) if s else (0, None)
        return make(out, self, inputs, ctx, rg, bs, mix)


class ReadsOutput(Op):
    """Base of an op whose vjp reads its own output's values (exp, tanh, relu, softmax, ...),
    named first among its bases: a backward after that output changed in place is refused."""

    reads_output = True


class ShapeOnly(Op):
    """Base of an op whose vjp needs its input's shape and dtype, not its values (reshape,
    expand, sum, ...), named first among its bases: the input may change in place after the
    forward."""

    unread = (0,)


def no_tvjp(op: Any) -> NotImplementedError:
    """The error of a ``create_graph=True`` backward reaching an op without a differentiable backward."""
    return NotImplementedError(
        f"create_graph=True: op '{op.name}' has no differentiable backward, so a gradient through it cannot be "
        "differentiated again; compute this gradient without create_graph")


def broadcasts_to(shape: tuple, target: tuple) -> bool:
    """Whether an array of ``shape`` broadcasts to ``target`` (without changing ``target``)."""
    try:
        return np.broadcast_shapes(shape, target) == tuple(target)
    except (ValueError, TypeError):
        return False


def shape_error(op: str, a: Any, b: Any) -> ValueError:
    return ShapeMismatchError(f"{op}: shapes {np.shape(a)} and {np.shape(b)} are not compatible")
