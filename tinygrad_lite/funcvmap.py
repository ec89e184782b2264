"""``tl.func.vmap``: map a function over an axis of its inputs (``torch.func.vmap``).

``vmap(f, in_dims, out_dims)(*args)[..., b, ...] = f(*args_b)``: ``args_b`` takes slice b
along ``in_dims`` of each mapped input (an input whose in_dim is None is passed whole),
and each output of ``f`` gets the sample axis at its ``out_dims``. It runs ``f`` on each
slice and joins the results with the differentiable ``stack``, so gradients flow through it
(to the inputs, and to tensors ``f`` closes over) and transforms nest (``vmap(grad(f))``,
``vmap(vmap(f))``).
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Optional

import numpy as np

from . import random as _random
from ._pytree import flatten, prefix_leaves, spec_str, unflatten
from .funclevel import check_callable
from .tensor import Tensor, stack

__all__ = ["vmap"]

_RANDOMNESS = ("error", "different", "same")


def _name(func: Any) -> str:
    return getattr(func, "__name__", type(func).__name__)


def _dim_ok(d: Any) -> bool:
    return d is None or (isinstance(d, int) and not isinstance(d, bool))


class _Rng:
    """The default generator's state around the slices: 'same' restores it before each
    slice; 'error' refuses a slice that drew from it (and puts it back)."""

    def __init__(self, randomness: str) -> None:
        self.mode = randomness
        self.state = _random.get_rng_state()

    def before(self) -> None:
        if self.mode == "same":
            self.restore()

    def restore(self) -> None:
        _random.set_rng_state(self.state)

    def after(self) -> None:
        if self.mode == "error" and not np.array_equal(_random.get_rng_state(), self.state):
            self.restore()
            raise RuntimeError("vmap: called random operation while in randomness error mode. Please either use the "
                               "'same' or 'different' randomness flags on vmap or perform the randomness operation "
                               "out of vmap")


def _in_leaves(where: str, in_dims: Any, args: tuple) -> tuple:
    """``(leaves, dims, spec, batch size)`` of the positional arguments, each leaf's in_dim
    checked and made non-negative."""
    if not args:
        raise ValueError(f"{where}: got no inputs. Maybe you forgot to add inputs, or you are trying to vmap over a "
                         "function with no inputs. The latter is unsupported.")
    if isinstance(in_dims, bool) or not isinstance(in_dims, (int, tuple)):
        raise ValueError(f"{where}: expected `in_dims` to be int or a (potentially nested) tuple matching the "
                         f"structure of inputs, got: {type(in_dims).__name__}.")
    leaves, spec = flatten(args)
    dims = prefix_leaves(in_dims, args) if isinstance(in_dims, tuple) else [in_dims] * len(leaves)
    if dims is None:
        raise ValueError(f"{where}: in_dims is not compatible with the structure of `inputs`. in_dims has structure "
                         f"{spec_str(flatten(in_dims)[1])} but inputs has structure {spec_str(spec)}.")
    sizes, out = [], []
    for x, d in zip(leaves, dims):
        if not _dim_ok(d):
            raise ValueError(f"{where}: Got in_dim={d!r} for an input but in_dim must be either an integer dimension "
                             "or None.")
        if d is not None and not isinstance(x, Tensor):
            raise ValueError(f"{where}: Got in_dim={d} for an input but the input is of type {type(x).__name__}. We "
                             "cannot vmap over non-Tensor arguments, please use None as the respective in_dim")
        if d is not None:
            n = x.ndim
            if not -n <= d < n:
                raise ValueError(f"{where}: Got in_dim={d} for some input, but that input is a Tensor of "
                                 f"dimensionality {n} so expected in_dim to satisfy -{n} <= in_dim < {n}.")
            d %= n
            sizes.append(x.shape[d])
        out.append(d)
    if not sizes:
        raise ValueError(f"{where}: Expected at least one Tensor to vmap over")
    if len(set(sizes)) != 1:
        raise ValueError(f"{where}: Expected all tensors to have the same size in the mapped dimension, got sizes "
                         f"{sizes} for the mapped dimension")
    return leaves, out, spec, sizes[0]


def _same_value(a: Any, b: Any) -> bool:
    """Whether two samples' outputs are the same (Tensors: shape and values)."""
    if a is b:
        return True
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return isinstance(a, Tensor) and isinstance(b, Tensor) and a.shape == b.shape and \
            bool(np.array_equal(a.data, b.data))
    try:
        return type(a) is type(b) and bool(np.array_equal(a, b))
    except (TypeError, ValueError):
        return False


def _join(where: str, fname: str, results: list, out_dims: Any, empty: bool = False) -> Any:
    """The slices' outputs joined along ``out_dims`` (``empty``: ``results`` holds the output
    for a stand-in slice of an empty batch, which gives each mapped output's shape)."""
    first, spec = flatten(results[0])
    flat = []
    for r in results:
        leaves, s = flatten(r)
        if s != spec:
            raise ValueError(f"{where}: `{fname}` returned outputs of different structures for different samples: "
                             f"{spec_str(spec)} and {spec_str(s)}")
        flat.append(leaves)
    if isinstance(out_dims, tuple) and len(out_dims) == 1 and isinstance(results[0], Tensor):
        out_dims = out_dims[0]  # (a one-element tuple for a single output)
    dims = prefix_leaves(out_dims, results[0]) if isinstance(out_dims, (tuple, list, dict)) else \
        [out_dims] * len(first)
    if dims is None:
        raise ValueError(f"{where}: out_dims is not compatible with the structure of `outputs`. out_dims has "
                         f"structure {spec_str(flatten(out_dims)[1])} but outputs has structure {spec_str(spec)}.")
    joined = []
    for j, d in enumerate(dims):
        col = [leaves[j] for leaves in flat]
        if not _dim_ok(d):
            raise ValueError(f"{where}: `out_dims` must be an int, None or a python collection of ints representing "
                             f"where in the outputs the vmapped dimension should appear, got {d!r}.")
        bad = [c for c in col if not isinstance(c, Tensor)]
        if d is not None and bad:
            raise ValueError(f"{where}: `{fname}` must only return Tensors, got type {type(bad[0]).__name__}. Did you "
                             "mean to set out_dims= to None for output?")
        if d is None:
            if not all(_same_value(c, col[0]) for c in col[1:]):
                raise ValueError(f"{where}: `{fname}` can not return a BatchedTensor when out_dim is None (output {j} "
                                 "differs between samples)")
            joined.append(col[0])
            continue
        n = col[0].ndim + 1
        if not -n <= d < n:
            raise IndexError(f"{where}: Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got "
                             f"{d}) for out_dims of output {j} of shape {col[0].shape}")
        if empty:
            shape = col[0].shape
            joined.append(Tensor(np.zeros(shape[:d % n] + (0,) + shape[d % n:], col[0].dtype)))
        else:
            joined.append(stack(col, d % n))
    return unflatten(spec, joined)


def vmap(func: Callable, in_dims: Any = 0, out_dims: Any = 0, randomness: str = "error", *,
         chunk_size: Optional[int] = None) -> Callable:
    """``f -> (lambda *args, **kwargs: F)`` with ``F[..., b, ...] = f(*args_b, **kwargs)``.

    ``in_dims``: an int (every positional input is mapped along it) or a tuple with one entry
    per positional argument, each an int, None (not mapped) or a pytree prefix of that
    argument; negative dims count from the end. All mapped inputs must have the same size
    B along their dims. ``out_dims``: an int, None (an output that is the same for every
    sample, returned once; also for an output that is not a Tensor) or a pytree prefix of
    the outputs. ``randomness``: 'error'
    (drawing from the default generator inside raises), 'different' (each sample draws its
    own), 'same' (each sample draws the same values). ``chunk_size`` is accepted (the
    samples are run one at a time). Keyword arguments are passed to every call unmapped.
    """
    check_callable("vmap", func)
    if randomness not in _RANDOMNESS:
        raise RuntimeError(f"vmap: Only allowed values for randomness are 'error', 'different', or 'same'. Got "
                           f"{randomness}")
    if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size!r})")
    if not (_dim_ok(out_dims) or isinstance(out_dims, (tuple, list, dict))):
        raise ValueError(f"vmap(..., out_dims={out_dims!r}): `out_dims` must be an int, None or a python collection "
                         "of ints representing where in the outputs the vmapped dimension should appear.")
    fname = _name(func)

    @functools.wraps(func)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        where = f"vmap({fname}, in_dims={in_dims!r}, out_dims={out_dims!r})(<inputs>)"
        leaves, dims, spec, size = _in_leaves(where, in_dims, args)
        rng = _Rng(randomness)
        results = []
        for b in range(max(size, 1)):  # (an empty batch: one call on zeros gives the output shapes)
            sliced = [x if d is None else x.select(d, b) if size else
                      Tensor(np.zeros(x.shape[:d] + x.shape[d + 1:], x.dtype)) for x, d in zip(leaves, dims)]
            rng.before()
            results.append(func(*unflatten(spec, sliced), **kwargs))
            rng.after()
        return _join(where, fname, results, out_dims, empty=size == 0)

    return wrapped
