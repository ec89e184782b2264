"""The differentiation level shared by ``tl.func.grad`` / ``vjp`` / ``jacrev``.

A level takes the pytrees a transform differentiates with respect to and puts a new tensor
in place of each leaf ``x``: a fresh leaf holding ``x``'s values when ``x`` has no graph
outside (or gradients are off outside), else an identity op of ``x`` (so the level's
cotangents are collected there, and the function's results stay a function of ``x`` for
the code outside). Cotangents are taken by ``tl.autograd.grad`` (no ``.grad`` is written);
they are themselves differentiable (``create_graph``) only when the function reaches a
tensor outside the level that requires grad.
"""

from __future__ import annotations

from typing import Any, List, Optional, Sequence

import numpy as np

from . import autograd as _ag
from ._pytree import flatten, unflatten
from .graph import enable_grad, is_grad_enabled
from .tensor import Tensor

__all__ = ["Level", "as_cotangent", "check_argnums", "check_callable"]


def check_callable(where: str, func: Any) -> None:
    """A TypeError naming ``where`` unless ``func`` can be called."""
    if not callable(func):
        raise TypeError(f"{where}: expected a callable, got {type(func).__name__}")


def check_argnums(where: str, argnums: Any, nargs: int) -> tuple:
    """``argnums`` (an int or a non-empty tuple of distinct ints, negative counting from the
    end) as a tuple of positions among ``nargs`` positional arguments."""
    if isinstance(argnums, bool) or not isinstance(argnums, (int, tuple)):
        raise RuntimeError(f"{where}: argnums must be int or Tuple[int, ...], got: {type(argnums).__name__}")
    nums = (argnums,) if isinstance(argnums, int) else argnums
    if not nums:
        raise RuntimeError(f"{where}: argnums must be non-empty")
    for n in nums:
        if isinstance(n, bool) or not isinstance(n, int):
            raise RuntimeError(f"{where}: argnums must be int or Tuple[int, ...], got an element {n!r}")
        if not -nargs <= n < nargs:
            raise RuntimeError(f"{where}: Got argnum={n}, but only {nargs} positional inputs")
    norm = tuple(n % nargs for n in nums)
    if len(set(norm)) != len(norm):
        raise RuntimeError(f"{where}: argnums elements must be unique, got {argnums}")
    return norm


def as_cotangent(a: Tensor, dtype: Any, differentiable: bool) -> Any:
    """The direction ``a`` (a tangent or cotangent) as the vector of a sweep: ``a`` itself, in
    ``dtype``, when the result is differentiated and ``a`` requires grad (torch differentiates
    with respect to it too), else its values."""
    if differentiable and a.requires_grad:
        return a if a.dtype == dtype else a.to(dtype)
    return np.asarray(a.data, dtype)


def reaches(t: Tensor, outside: set) -> bool:
    """Whether ``t``'s graph holds a leaf that requires grad and is not in ``outside`` (ids)."""
    if not t.requires_grad:
        return False
    seen = {id(t)}
    stack = [t]
    while stack:
        node = stack.pop()
        if node._op is None:
            if id(node) not in outside:
                return True
            continue
        for p in node._parents:
            if p.requires_grad and id(p) not in seen:
                seen.add(id(p))
                stack.append(p)
    return False


class Level:
    """The stand-ins for the leaves of ``trees`` (``self.trees``) and the cotangents reaching
    them. ``where`` names the transform in errors."""

    def __init__(self, where: str, trees: Sequence[Any]) -> None:
        self.where = where
        self.outer = is_grad_enabled()
        flat = [flatten(t) for t in trees]
        for leaves, _ in flat:  # every check before anything is made
            for x in leaves:
                if not isinstance(x, Tensor):
                    raise ValueError(f"{where}: the inputs it differentiates must be Tensors (or tuples, lists "
                                     f"and dicts of them), got {type(x).__name__}")
                if x.dtype.kind != "f":
                    raise RuntimeError(f"{where}: only Tensors of floating point dtype can require gradients, got "
                                       f"dtype {x.dtype} (shape {x.shape})")
        self.fresh: set = set()
        self.leaves: List[Tensor] = []
        self.specs = []
        for leaves, spec in flat:
            self.specs.append((spec, len(leaves)))
            for x in leaves:
                if self.outer and x.requires_grad:
                    with enable_grad():
                        w = x.view_as(x)  # an identity op: the graph goes on to x
                else:
                    w = x.detach().requires_grad_()
                    self.fresh.add(id(w))
                self.leaves.append(w)
        self.trees = self.unflatten(self.leaves)

    def unflatten(self, values: List[Any]) -> list:
        """One tree per differentiated input, with ``values`` (one per leaf) in it."""
        out, i = [], 0
        for spec, n in self.specs:
            out.append(unflatten(spec, values[i:i + n]))
            i += n
        return out

    def needs_graph(self, outs: Sequence[Tensor]) -> bool:
        """Whether the cotangents must be differentiable: some output reaches a tensor
        outside this level that requires grad (and gradients are on outside)."""
        return self.outer and any(reaches(o, self.fresh) for o in outs)

    def grads(self, outs: Sequence[Tensor], cots: Sequence[Any], create: Optional[bool] = None) -> list:
        """``sum_k J_k^T cots[k]`` for each stand-in (zeros where the outputs do not depend on
        it); outputs without a graph add nothing."""
        live = [(o, c) for o, c in zip(outs, cots) if o.requires_grad]
        if not live or not self.leaves:
            return [Tensor(np.zeros_like(w.data)) for w in self.leaves]
        os_, cs = [o for o, _ in live], [c for _, c in live]
        create = self.needs_graph(os_) if create is None else create
        try:
            gs = _ag.grad(os_, self.leaves, cs, allow_unused=True, create_graph=create)
        except NotImplementedError as e:
            if not create:
                raise
            raise NotImplementedError(
                f"{self.where}: the result depends on tensors outside this transform that require grad (the inputs "
                "of an enclosing transform, as in grad(grad(f)), or tensors given or closed over that require "
                "grad), so the gradient must itself be differentiable (create_graph=True), and an op on the way "
                f"has no differentiable backward ({e})") from e
        return [Tensor(np.zeros_like(w.data)) if g is None else g for g, w in zip(gs, self.leaves)]

    def result(self, t: Any) -> Any:
        """A value the function returned, as seen outside: cut from this level's graph unless it
        depends on a tensor outside that requires grad."""
        if isinstance(t, Tensor) and t.requires_grad and not (self.outer and reaches(t, self.fresh)):
            return t.detach()
        return t
