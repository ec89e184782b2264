r"""Data-parallel training on MPI: every rank holds the whole model and one shard of each batch.

Start N copies of a training script with the launcher (or ``mpiexec``,
``srun``, a Kubernetes MPI job)::

    python -m tinygrad_lite.distributed -n 4 train.py

and in the script::

    from tinygrad_lite import distributed as dist
    dist.init()
    dist.broadcast_parameters(model)                  # same start on every rank
    loader = tl.data.DataLoader(X, y, batch_size=256, seed=0,
                                shard=(dist.rank(), dist.world_size()))
    for xb, yb in loader:                             # this rank's part of the global batch
        opt.zero_grad()
        tl.nn.cross_entropy(model(xb), yb).backward()
        dist.all_reduce_gradients(model)              # the gradient over the global batch
        opt.step()                                    # the same step on every rank

The maths. Rank k holds ``n_k`` of the global batch's ``N = sum_k n_k``
samples and its backward leaves ``grad_k``. For a MEAN cost ``grad_k`` is the
mean of its samples' gradients, so the global batch's gradient is::

    grad = (1/N) * sum_b grad e_b = sum_k n_k * grad_k / sum_k n_k

a size-weighted mean (the plain mean of the ``grad_k`` would over-weight the
samples of a small shard). For a SUM cost it is ``grad = sum_k grad_k``. Every
rank learns all ``n_k`` from a small header first, then packs ``(n_k / N) * grad_k``
(or ``grad_k``) of all its parameters, and ``n_k``, into ONE float64 buffer; the
buffers of all ranks are added in rank order, so every rank computes bitwise the
same result, whatever the MPI library's reduction algorithm: three or more ranks
gather all buffers and add them in rank order; two ranks use MPI's Allreduce,
which moves half the data, because with two terms every order of addition gives
the same bits. A rank with an empty shard takes part with ``n_k = 0``
and adds nothing.

Every exchange between ranks is such a sum, made by one function, the core of
:func:`allreduce_sum`: the fixed-size header (each rank fills its own row of a
zero table, so the sum is everybody's rows), the gradients, and
:func:`broadcast_parameters` (the root adds its values, every other rank adds
``-0.0``, which leaves every float as it is). So one code path moves data, and
one rule (the rank-order sum) makes it bitwise the same on every rank.

Without a launcher (or without mpi4py) the world is one process, mpi4py is not
imported, and every function here leaves the data as it is: the same script
runs on a laptop unchanged.

Optional extra: ``pip install "tinygrad_lite[distributed]"`` (mpi4py and the
``mpich`` wheel).
"""

from __future__ import annotations

import atexit
import math
import sys
import zlib
from collections.abc import Iterable
from typing import Any, Optional, Union

import numpy as np

from ..ops.memory import owned_grad, scratch
from ..tensor import Tensor
from . import _abort, _mpi
from ._batch import _REDUCTIONS, MEAN_BY_SUM, ONE_SUM, _local_batch

__all__ = [
    "all_reduce_gradients",
    "allreduce_sum",
    "broadcast_parameters",
    "init",
    "is_initialized",
    "rank",
    "world_size",
]

ParamsLike = Union[Any, Iterable[Tensor]]

_comm: Any = None
_rank = 0
_size = 1
_initialized = False

# The fixed-size header every rank sends before a collective's data (what the call is and what it is
# about to send): a mismatch raises the same clear error on every rank instead of hanging.
_STATUS, _KIND, _COUNT, _TOTAL, _CRC, _ADLER, _N, _REDUCTION, _ROOT = range(9)
_HEADER = 9
_KINDS = {1: "broadcast_parameters", 2: "all_reduce_gradients", 3: "allreduce_sum", 4: "the end of the script"}


def init() -> None:
    """Joins the job's world of processes; calling it again does nothing.

    Under an MPI launcher with mpi4py importable, the world is ``MPI.COMM_WORLD``.
    Otherwise (no launcher: mpi4py is then not even imported; or no mpi4py) it
    is one process of rank 0. In a world above 1 an uncaught exception on any
    rank prints its traceback to stderr, each line prefixed ``rank K:``, and
    aborts every rank (the launcher exits non-zero) instead of leaving the
    others waiting.
    """
    global _comm, _rank, _size, _initialized
    if _initialized:
        return
    comm = _mpi.connect()
    rank_, size_ = _mpi.rank_and_size(comm) if comm is not None else (0, 1)
    _comm, _rank, _size, _initialized = comm, rank_, size_, True
    if size_ > 1:
        _abort.install(comm, rank_, size_)
        atexit.register(_at_exit)  # (a rank whose script exits, also by sys.exit, says so to the others)


def _at_exit() -> None:
    """The last exchange of a rank whose interpreter exits (``_run.script_ended``; under the launcher
    it was made already): a rank still calling collectives raises; here the mismatch is reported."""
    from ._run import script_ended

    try:
        script_ended()
    except (RuntimeError, ValueError) as e:
        sys.stderr.write(f"rank {_rank}: {e}\n")


def is_initialized() -> bool:
    """Whether :func:`init` has run in this process."""
    return _initialized


def _require_init(fn: str) -> None:
    if not _initialized:
        raise RuntimeError(f"dist.{fn}: call dist.init() first")


def rank() -> int:
    """This process's rank, 0 .. world_size() - 1 (rank 0 usually logs and saves checkpoints)."""
    _require_init("rank")
    return _rank


def world_size() -> int:
    """The number of processes in the job (1 without a launcher)."""
    _require_init("world_size")
    return _size


# --------------------------------------------------------------------------- helpers


def _parameters(params_or_module: ParamsLike, fn: str, buffers: bool = False) -> list[Tensor]:
    """A Module's parameters (and ``buffers`` after them), or an iterable's (a dict's) Tensors."""
    if isinstance(params_or_module, Tensor):
        params = [params_or_module]
    elif hasattr(params_or_module, "parameters") and callable(params_or_module.parameters):
        params = list(params_or_module.parameters())
        if buffers:
            params += [b for b in params_or_module.buffers() if isinstance(b, Tensor)]
    elif isinstance(params_or_module, dict):
        params = list(params_or_module.values())
        if not all(isinstance(p, Tensor) for p in params):
            raise TypeError(f"dist.{fn}: a dict must hold Tensors (a state_dict holds copies, which would not "
                            "change the model); pass the model itself")
    else:
        try:
            params = [q[1] if isinstance(q, tuple) and len(q) == 2 and isinstance(q[0], str) else q
                      for q in params_or_module]
        except TypeError:
            raise TypeError(
                f"dist.{fn}: params_or_module must be a Module or an iterable of Tensors, "
                f"got {type(params_or_module).__name__}"
            ) from None
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"dist.{fn}: params_or_module item {i} is a {type(p).__name__}, not a Tensor")
    return params


_signatures: dict[tuple, tuple[int, int, int, int]] = {}
# the reduction all_reduce_gradients last found for a signature: of a batch in which every rank
# holds at most one sample it cannot be read from the costs
_told: dict[tuple, int] = {}


def _shape_signature(params: list[Tensor], flags: bool = False) -> tuple[int, int, int, int]:
    """(number of parameters, elements, two checksums of the shapes and dtypes, and with ``flags``
    of which require grad): equal on every rank exactly when the ranks pass the same shapes and
    dtypes in the same order (a training loop passes the same every step, so each list is worked
    out once). A tensor of another dtype would take a broadcast's values rounded, or round its
    steps differently: the ranks would drift apart."""
    shapes = tuple([p.shape for p in params])
    dtypes = tuple([p._data.dtype.str for p in params])
    key = (shapes, dtypes, tuple([bool(p._rg) for p in params]) if flags else None)
    sig = _signatures.get(key)
    if sig is None:
        text = ";".join("x".join(map(str, shape)) for shape in shapes) + ";" + ",".join(dtypes)
        if flags:  # (a parameter frozen on some ranks only would be stepped with the others' gradient)
            text += ";" + "".join("g" if f else "-" for f in key[2])
        sig = (len(shapes), sum(math.prod(shape) for shape in shapes), zlib.crc32(text.encode()),
               zlib.adler32(text.encode()))
        if len(_signatures) > 64:
            _signatures.clear()
        _signatures[key] = sig
    return sig


def _spans(params: list[Tensor]) -> list[tuple[int, int]]:
    """Where each parameter's gradient lies in the buffer that follows ``n_k`` and the
    ``len(params)`` has-a-gradient flags: ``[(start, stop), ...]`` (worked out once per list
    of sizes)."""
    sizes = tuple([p._data.size for p in params])
    spans = _layouts.get(sizes)
    if spans is None:
        stops = np.cumsum((1 + len(sizes),) + sizes).tolist()
        spans = list(zip(stops[:-1], stops[1:]))
        if len(_layouts) > 64:
            _layouts.clear()
        _layouts[sizes] = spans
    return spans


_layouts: dict[tuple, list[tuple[int, int]]] = {}


def _header(kind: int, failed: bool, signature: tuple[int, int, int, int] = (0, 0, 0, 0), n: int = 0,
            reduction: int = 0, root: int = 0) -> np.ndarray:
    return np.array([float(failed), kind, *signature, n, reduction, root], dtype=np.float64)


def _exchange_headers(header: np.ndarray, local_error: Optional[BaseException]) -> np.ndarray:
    """Every rank's header; raises the same way on every rank when the ranks disagree."""
    rows = np.zeros((_size, header.size))  # this rank's row set, the others 0: the sum is a gather
    rows[_rank] = header
    _sum_over_ranks(rows, rows)
    table = rows.tolist()
    mine = header.tolist()
    if all(r[_STATUS] == 0.0 and r[_KIND:_ADLER + 1] == mine[_KIND:_ADLER + 1] and r[_ROOT] == mine[_ROOT]
           for r in table):
        return rows  # the usual case: the ranks agree (checked in plain Python: a few microseconds)
    kind = int(header[_KIND])
    fn = _KINDS[kind]
    failed = [r for r in range(_size) if rows[r, _STATUS]]
    if failed:
        if local_error is not None:
            raise local_error
        raise RuntimeError(f"dist.{fn}: the call failed on rank(s) {failed} (see that rank's error); "
                           "nothing was changed")
    kinds = rows[:, _KIND].astype(int)
    if np.any(kinds != kind):
        calls = ", ".join(f"rank {r}: {_KINDS.get(int(k), '?')}" for r, k in enumerate(kinds))
        ended = f"the script ended on rank(s) {np.flatnonzero(kinds == 4).tolist()}: " if 4 in kinds else ""
        raise RuntimeError(f"dist{'' if kind == 4 else '.' + fn}: {ended}the ranks called different collectives "
                           f"({calls}); every rank must make the same calls (an empty shard's rank too)")
    sig = rows[:, _COUNT:_ADLER + 1]
    if np.any(sig != sig[0]) and kind == 3:
        detail = "; ".join(f"rank {r}: {int(rows[r, _TOTAL])} elements" for r in range(_size))
        raise ValueError(f"dist.{fn}: the arrays differ in shape or dtype across ranks ({detail}); every "
                         "rank must pass an array of the same shape and dtype")
    if np.any(sig != sig[0]):
        detail = "; ".join(  # (the checksum of the shapes, dtypes and flags tells which ranks differ)
            f"rank {r}: {int(rows[r, _COUNT])} parameters, {int(rows[r, _TOTAL])} elements, layout "
            f"{int(rows[r, _CRC]):08x}" for r in range(_size)
        )
        raise ValueError(
            f"dist.{fn}: the parameters differ in shape, number or dtype across ranks, or in which require grad "
            f"({detail}); every rank must pass the same model, its parameters in the same order, of the same dtypes "
            "and frozen alike"
        )
    if np.any(rows[:, _ROOT] != rows[0, _ROOT]):
        roots = rows[:, _ROOT].astype(int).tolist()
        raise ValueError(f"dist.{fn}: the ranks passed different root ranks {roots}")
    return rows


_REDUCIBLE = tuple(np.dtype(t) for t in (np.float64, np.float32, np.int64, np.int32))


def _sum_over_ranks(buf: np.ndarray, out: np.ndarray) -> np.ndarray:
    """The one exchange of data between ranks (headers, broadcasts, gradients and
    :func:`allreduce_sum` all use it): ``out`` (a contiguous array shaped as ``buf``, or
    ``buf`` itself) set to the sum of every rank's ``buf``, the same bits on every rank: rows
    added in rank order,
    ``((b_0 + b_1) + b_2) + ...``. Two ranks use MPI's Allreduce, which sends half the data:
    with two terms every order of addition gives the same bits (IEEE addition is commutative)."""
    if _size == 2 and buf.dtype in _REDUCIBLE:
        if out is not buf:
            np.copyto(out, buf)
        _mpi.allreduce_sum_inplace(_comm, out.reshape(-1))
        return out
    recv = scratch("dist.recv", (_size, buf.size), np.float64) if buf.dtype == np.float64 else None
    return _sum_in_rank_order(_mpi.allgather(_comm, buf, out=recv), out=out.reshape(-1)).reshape(out.shape)


def _sum_in_rank_order(rows: np.ndarray, out: Optional[np.ndarray] = None) -> np.ndarray:
    """rows[0] + rows[1] + ... added left to right: the same bits on every rank."""
    total = rows[0].copy() if out is None else out
    if out is not None:
        np.copyto(total, rows[0])
    for r in range(1, rows.shape[0]):
        np.add(total, rows[r], out=total)
    return total


# --------------------------------------------------------------------------- collectives


def _alone(local_error: Optional[BaseException]) -> bool:
    """True in a world of one process (raising this rank's argument error there, since no
    other rank waits for it); in a larger world the error is first shared with every rank."""
    if _size == 1 and local_error is not None:
        raise local_error
    return _size == 1


def allreduce_sum(array: Any) -> np.ndarray:
    """A new array: ``array`` summed over all ranks, ``sum_k array_k``.

    Every rank must pass an array of the same shape and dtype (a mismatch raises
    ``ValueError`` on every rank). The ranks' arrays are added in rank order
    (``((a_0 + a_1) + a_2) + ...``) in the array's dtype, so the result is
    bitwise the same on every rank (see the module docstring for two ranks).
    In a world of 1 it is a copy.
    """
    _require_init("allreduce_sum")
    local_error: Optional[BaseException] = None
    arr = np.asarray(array)
    if not arr.dtype.isnative:  # (a byte order MPI does not take: the same values in the native one)
        arr = arr.astype(arr.dtype.newbyteorder("="))
    if arr.dtype.kind not in "iufc":
        local_error = TypeError(f"dist.allreduce_sum: array must be numeric, got dtype {arr.dtype}")
    if _alone(local_error):
        return arr.copy()
    text = f"{arr.shape}{arr.dtype.str}".encode()
    signature = (arr.ndim, arr.size, zlib.crc32(text), zlib.adler32(text))
    _exchange_headers(_header(3, local_error is not None, signature), local_error)
    return _sum_over_ranks(np.ascontiguousarray(arr), np.empty(arr.shape, arr.dtype))


def broadcast_parameters(params_or_module: ParamsLike, root: int = 0) -> None:
    """Copies rank ``root``'s parameter values into every rank's parameters, in place.

    ``params_or_module``: a Module (its parameters, then its buffers such as BatchNorm's running
    statistics, as DDP) or an iterable (a dict) of Tensors or ``(name, Tensor)`` pairs, the same
    shapes in the same order on every rank (else ``ValueError`` on every rank). Call it after
    building (or loading) the model. ONE float64 message carries all values: exact for float16/32/64
    and integers up to 2**53 (larger ones are refused on every rank)."""
    _require_init("broadcast_parameters")
    local_error: Optional[BaseException] = None
    params: list[Tensor] = []
    try:
        params = _parameters(params_or_module, "broadcast_parameters", buffers=True)
        if isinstance(root, bool) or not isinstance(root, (int, np.integer)) or not 0 <= root < _size:
            raise ValueError(
                f"dist.broadcast_parameters: root must be a rank in 0..{_size - 1}, got {root!r}"
            )
        big = [p.shape for p in params if p.data.dtype.kind in "iu" and p.data.size and _rank == root
               and ((p.data > 2**53).any() or (p.data < -2**53).any())]  # (the root's refusal reaches all ranks)
        if big:
            raise ValueError(f"dist.broadcast_parameters: an integer tensor of shape {big[0]} holds values "
                             "beyond 2**53, which the float64 message cannot carry exactly")
    except (TypeError, ValueError) as e:
        local_error = e
    if _alone(local_error):
        return
    root_ = 0 if local_error is not None else int(root)
    header = _header(1, local_error is not None, _shape_signature(params), root=root_)
    _exchange_headers(header, local_error)
    # a sum over ranks in which only the root adds values: every other rank adds -0.0, which
    # leaves every float as it is (x + -0.0 == x, also for x = +0.0, -0.0, inf and NaN)
    if _rank == root_:
        buf = np.concatenate([np.asarray(p.data, dtype=np.float64).ravel() for p in params] or [np.zeros(0)])
    else:
        buf = np.full(sum(int(p.data.size) for p in params), -0.0)
    _sum_over_ranks(buf, buf)
    offset = 0
    for p in params:
        size = int(p.data.size)
        p.data[...] = buf[offset:offset + size].reshape(p.shape)
        offset += size


def _sync_reduction(params_or_module: Any) -> Optional[str]:
    """The cost's reduction the ``SyncBatchNorm`` layers of a module name (their ``reduction``
    keyword), when they agree; None without such layers (or for a list of parameters)."""
    modules = getattr(params_or_module, "modules", None)
    if not callable(modules):
        return None
    from ..nn.syncbatchnorm import SyncBatchNorm  # (tl.nn imports this package: imported when used)

    named = {m.reduction for m in modules() if isinstance(m, SyncBatchNorm)}
    return named.pop() if len(named) == 1 else None


def all_reduce_gradients(params_or_module: ParamsLike, n: Optional[int] = None, *,
                         reduction: Optional[str] = None) -> None:
    r"""Makes every rank's ``p.grad`` the gradient of the cost over all ranks' samples.

    Call it after each rank's backward over its own shard of the global batch,
    before ``optimizer.step()``. With rank k's sample count ``n_k`` and
    gradient ``grad_k``::

        mean cost:  p.grad = sum_k n_k * grad_k / sum_k n_k
        sum cost:   p.grad = sum_k grad_k

    Args:
        params_or_module: a Module or an iterable of parameter Tensors, the
            same shapes in the same order on every rank (else ``ValueError`` on
            every rank).
        n: this rank's number of samples. Default: the batch size that each
            parameter's last backward recorded (``p.last_batch``). A rank whose
            parameters have no gradient (no backward since ``zero_grad()``, an
            empty shard) takes part with ``n = 0`` and adds nothing.
        reduction: ``"mean"`` or ``"sum"``, how the cost reduced the batch.
            Default: what the last backward recorded, else ``"mean"`` when ``n``
            is given. (The cost of one sample reads as a sum even when it is a
            mean written ``l.sum() / len(x)``: when no rank holds more than one
            sample, as in an epoch's short last batch, the reduction the last
            call for the same parameters found is taken; without one, this raises.)

    All gradients, with the sample count, travel in ONE float64 buffer per
    rank (after a small fixed-size header that checks that the ranks agree);
    the ranks' buffers are added in rank order, so the result is bitwise the
    same on every rank (see the module docstring). A parameter with
    no gradient on any rank keeps ``grad = None``; the result has each
    parameter's dtype. ``grad_sample`` is left alone (this rank's samples).
    In a world of 1 the gradients are left as they are.
    """
    _require_init("all_reduce_gradients")
    local_error: Optional[BaseException] = None
    params: list[Tensor] = []
    n_k, code = 0, 0
    try:
        params = _parameters(params_or_module, "all_reduce_gradients")
        n_k, code = _local_batch(params, n, reduction, lambda: _sync_reduction(params_or_module))
        if n_k == 0:  # an empty shard adds nothing, whatever its cost's reduction
            code = 0
    except (TypeError, ValueError) as e:
        local_error = e
    if _alone(local_error):
        return
    signature = _shape_signature(params, True)
    rows = _exchange_headers(_header(2, local_error is not None, signature, n_k, code), local_error)
    # a part of one sample is a mean and a sum alike: the ranks with more samples say which it is,
    # else the last call for these parameters that could tell (the short last batch of an epoch)
    every = {int(c) for c in rows[:, _REDUCTION]} - {0}
    codes = {int(c) for c, k in zip(rows[:, _REDUCTION], rows[:, _N]) if k > 1} - {0} or every - {ONE_SUM} or every
    told = (signature, tuple(map(id, params)))  # (these parameters: another model of the same shapes is not told)
    if codes == {ONE_SUM} and told in _told:
        codes = {_told[told]}
    written = codes  # (a mean written as sum / B, MEAN_BY_SUM, is a mean)
    codes = {_REDUCTIONS["mean"] if c == MEAN_BY_SUM else c for c in codes}
    if codes == {ONE_SUM}:
        raise ValueError("dist.all_reduce_gradients: no rank's part of this batch holds more than one sample, "
                         "and of one sample a cost written as a sum divided by the batch size (a mean) and a sum "
                         "look alike; pass reduction='mean' or 'sum' (no earlier call for these parameters told "
                         "them apart)")
    if len(codes) > 1:
        raise ValueError("dist.all_reduce_gradients: some ranks' costs are means and others' sums "
                         f"(per rank: {rows[:, _REDUCTION].astype(int).tolist()}, 1 or 4 = mean, 2 or 3 = sum)")
    mean = codes != {_REDUCTIONS["sum"]}
    # remembered only for a cost written as a sum (a sum, or sum / B): one sample of the same cost
    # reads as a sum again; a cost written with a mean op reads as a mean even of one sample
    if written in ({MEAN_BY_SUM}, {_REDUCTIONS["sum"]}):  # (the same on every rank: read from rows)
        if len(_told) > 64:
            _told.clear()
        _told[told] = codes.pop()
    n_total = int(rows[:, _N].sum())
    # each rank's weight: n_k / N for a mean cost (so the sum over ranks is the global mean
    # and the result needs only a cast), 1 for a sum cost; an empty shard sends zeros
    weight = np.float64(n_k / n_total if mean and n_total else 1.0)
    # the buffer: [n_k, one has-a-gradient flag per parameter, the weighted gradients]
    count = len(params)
    spans = _spans(params)
    send = scratch("dist.send", (spans[-1][1] if spans else 1 + count,), np.float64)
    send[0] = n_k
    for i, (p, (start, stop)) in enumerate(zip(params, spans)):
        g = p.grad
        send[1 + i] = g is not None
        if g is None or not n_k:
            send[start:stop] = 0.0
        elif weight == 1.0:  # (a sum cost)
            np.copyto(send[start:stop], g.reshape(-1))
        elif g.dtype == np.float64:  # the gradient times n_k / N (rounded once, in float64)
            np.multiply(g.reshape(-1), weight, out=send[start:stop])
        else:  # (cast exactly to float64 first, then scaled: the same bits, faster than numpy's mixed-type product)
            np.copyto(send[start:stop], g.reshape(-1))
            np.multiply(send[start:stop], weight, out=send[start:stop])
    g = None  # no reference left here, so owned_grad below may reuse each gradient array
    total = _sum_over_ranks(send, send)  # in place: send is scratch memory nobody else holds
    for i, (p, (start, stop)) in enumerate(zip(params, spans)):
        if total[1 + i]:
            g = owned_grad(p)  # this rank's gradient array, overwritten when nothing else holds it
            if g is None:
                p.grad = np.empty(p.shape, dtype=p.data.dtype)
                g = p._grad
            np.copyto(g, total[start:stop].reshape(g.shape), casting="same_kind")
            g = None
