"""The machinery of ``tl.nn.utils.prune`` (see that module): ``BasePruningMethod`` (the
mask's computation, hooking it on a module, ``prune`` of a bare tensor, ``remove``) and
``PruningContainer`` (iterative pruning of one tensor), with the checks of ``amount`` and
``dim`` the methods share. It touches the pruned module's attributes, parameters, buffers and
forward pre-hooks only."""

from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from typing import Any, Optional

import numpy as np

from ...graph import no_grad
from ...hooks import drop_module_hook, module_hooks
from ...tensor import Tensor
from ..module import Module, _is_param

__all__ = ["BasePruningMethod", "PruningContainer"]

def _arr(x: Any) -> np.ndarray:
    return np.asarray(x.data if isinstance(x, Tensor) else x)


def _check_amount(who: str, amount: Any) -> None:
    """torch's check of ``amount`` at construction: an int >= 0 or a float in [0, 1]."""
    if not isinstance(amount, numbers.Real):
        raise TypeError(f"{who}: invalid type for amount: {amount!r}. Must be int or float.")
    if (isinstance(amount, numbers.Integral) and amount < 0) or (
            not isinstance(amount, numbers.Integral) and not 0.0 <= float(amount) <= 1.0):
        raise ValueError(f"{who}: amount={amount} should either be a float in the range [0, 1] or a non-negative "
                         "integer")


def _count(who: str, amount: Any, size: int) -> int:
    """How many of ``size`` entries (or channels) to prune: an int amount as it is (at most
    ``size``), a float one ``round(amount * size)`` (Python's rounding, as torch)."""
    if isinstance(amount, numbers.Integral):
        if amount > size:
            raise ValueError(f"{who}: amount={amount} should be smaller than the number of parameters to "
                             f"prune={size}")
        return int(amount)
    return round(float(amount) * size)


def _structured_dim(who: str, t: np.ndarray, dim: int) -> int:
    if t.ndim <= 1:
        raise ValueError(f"{who}: structured pruning can only be applied to multidimensional tensors, got a tensor "
                         f"of shape {t.shape} with {t.ndim} dims")
    if not -t.ndim <= dim < t.ndim:
        raise IndexError(f"{who}: invalid index {dim} for a tensor of shape {t.shape}")
    return dim % t.ndim


def _check_dim(who: str, dim: Any) -> None:
    if isinstance(dim, (bool, np.bool_)) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{who}: dim must be an int, got {dim!r}")


class BasePruningMethod(ABC):
    """A way of computing a mask; also the forward pre-hook of a pruned tensor. Subclasses
    define ``compute_mask(t, default_mask)`` (a mask of ``t``'s shape given the importance
    scores ``t`` and the mask so far) and ``PRUNING_TYPE`` ("unstructured", "structured" with
    an attribute ``dim``, or "global"), which says what a :class:`PruningContainer` hands them
    on iterative pruning."""

    _tensor_name: Optional[str] = None
    PRUNING_TYPE: str

    def __call__(self, module: Module, inputs: Any) -> None:
        """The forward pre-hook: ``module.<name> = orig * mask``."""
        setattr(module, self._name(module, "forward"), self.apply_mask(module))

    def _name(self, module: Module, who: str) -> str:
        if self._tensor_name is None:
            raise RuntimeError(f"{type(self).__name__}.{who}: module {type(module).__name__} has to be pruned first")
        return self._tensor_name

    @abstractmethod
    def compute_mask(self, t: Any, default_mask: Any) -> Tensor:
        """The mask (1 keep, 0 prune) of ``t``'s shape, starting from ``default_mask``."""

    def apply_mask(self, module: Module) -> Tensor:
        """``orig * mask`` (the mask in orig's dtype), differentiable w.r.t. ``orig``."""
        name = self._name(module, "apply_mask")
        orig, mask = getattr(module, name + "_orig"), getattr(module, name + "_mask")
        if mask.data.dtype != orig.data.dtype:
            mask = Tensor(mask.data.astype(orig.data.dtype))
        return orig * mask

    @classmethod
    def apply(cls, module: Module, name: str, *args: Any, importance_scores: Any = None,
              **kwargs: Any) -> "BasePruningMethod":
        """Prune ``module.<name>`` with ``cls(*args, **kwargs)`` (see the module docstring);
        ``importance_scores`` (of the tensor's shape; default the tensor itself) rank the
        entries. On an error nothing is changed. Returns the method now hooked (a
        :class:`PruningContainer` when the tensor was pruned before)."""
        who = f"{cls.__name__}.apply"
        if not isinstance(module, Module):
            raise TypeError(f"{who}: expected a Module, got {type(module).__name__}")
        if not isinstance(name, str):
            raise TypeError(f"{who}: name must be a string, got {name!r}")
        hooks = module_hooks(module)
        old = [fn for fn, *_ in (hooks.pre.values() if hooks is not None else ())
               if isinstance(fn, BasePruningMethod) and fn._tensor_name == name]
        if len(old) > 1:
            raise RuntimeError(f"{who}: {name!r} of {type(module).__name__} has several pruning hooks; use a "
                               "PruningContainer")
        method = cls(*args, **kwargs)
        method._tensor_name = name
        if old:
            current = getattr(module, name)
            default = np.array(getattr(module, name + "_mask").data)
        else:
            current = module.__dict__.get(name)
            if not (isinstance(current, Tensor) and _is_param(current)) or name in module.__dict__.get(
                    "_buffer_names", ()):
                raise ValueError(f"{who}: module {type(module).__name__} has no parameter named {name!r}")
            taken = [n for n in (name + "_orig", name + "_mask") if n in module.__dict__]
            if taken:
                raise KeyError(f"{who}: module {type(module).__name__} already has an attribute {taken[0]!r}")
            default = np.ones_like(current.data)
        scores = current.data if importance_scores is None else _arr(importance_scores)
        if scores.shape != current.data.shape:
            raise ValueError(f"{who}: importance_scores should have the shape {current.data.shape} of {name!r}, got "
                             f"{scores.shape}")
        hooked: BasePruningMethod = method
        if old and isinstance(old[0], PruningContainer):
            hooked = old[0]
        elif old:
            hooked = PruningContainer(old[0])
        before = hooked._pruning_methods if isinstance(hooked, PruningContainer) else ()
        if hooked is not method:
            hooked.add_pruning_method(method)  # type: ignore[attr-defined]
        try:
            with no_grad():
                mask = _arr(hooked.compute_mask(Tensor(np.array(scores)), Tensor(default)))
            if mask.shape != default.shape:
                raise ValueError(f"{who}: compute_mask returned a mask of shape {mask.shape}, expected "
                                 f"{default.shape}")
        except BaseException:
            if isinstance(hooked, PruningContainer):
                hooked._pruning_methods = before
            raise
        if old:
            drop_module_hook(module, "pre", old[0])
        else:
            delattr(module, name)
            module.register_parameter(name + "_orig", current)
        module.register_buffer(name + "_mask", np.array(mask))
        setattr(module, name, hooked.apply_mask(module))
        module.register_forward_pre_hook(hooked)
        return hooked

    def prune(self, t: Any, default_mask: Any = None, importance_scores: Any = None) -> Tensor:
        """``t * compute_mask(importance_scores or t, default_mask or ones)``, differentiable
        w.r.t. ``t``; no module is involved."""
        t = t if isinstance(t, Tensor) else Tensor(np.asarray(t))
        scores = t.data if importance_scores is None else _arr(importance_scores)
        if scores.shape != t.data.shape:
            raise ValueError(f"{type(self).__name__}.prune: importance_scores should have the shape {t.data.shape} "
                             f"of t, got {scores.shape}")
        default = np.ones_like(t.data) if default_mask is None else np.array(_arr(default_mask))
        with no_grad():
            mask = _arr(self.compute_mask(Tensor(np.array(scores)), Tensor(default)))
        return t * Tensor(mask.astype(t.data.dtype))

    def remove(self, module: Module) -> None:
        """Make the pruning permanent: ``<name>`` becomes the parameter (the object that was
        ``<name>_orig``) holding ``orig * mask``; ``_orig`` and ``_mask`` go. The hook itself
        is detached by the module-level :func:`remove`."""
        name = self._name(module, "remove")
        with no_grad():
            weight = self.apply_mask(module)
        orig = getattr(module, name + "_orig")
        if name in module.__dict__:
            delattr(module, name)
        orig.data = np.array(weight.data)
        delattr(module, name + "_orig")
        delattr(module, name + "_mask")
        module.register_parameter(name, orig)


class PruningContainer(BasePruningMethod):
    """The pruning methods applied in turn to one tensor; its mask is the last method's,
    computed on what the mask so far leaves (see the module docstring)."""

    def __init__(self, *args: BasePruningMethod) -> None:
        self._pruning_methods: tuple = ()
        if args:
            self._tensor_name = args[0]._tensor_name if isinstance(args[0], BasePruningMethod) else None
        for method in args:
            self.add_pruning_method(method)

    def add_pruning_method(self, method: BasePruningMethod) -> None:
        """Append ``method`` (it must act on the same tensor name)."""
        if method is None:
            return
        if not isinstance(method, BasePruningMethod):
            raise TypeError(f"PruningContainer.add_pruning_method: {type(method).__name__} is not a "
                            "BasePruningMethod subclass")
        if self._tensor_name != method._tensor_name:
            raise ValueError(f"PruningContainer.add_pruning_method: can only add pruning methods acting on the "
                             f"parameter named {self._tensor_name!r}, found {method._tensor_name!r}")
        self._pruning_methods += (method,)

    def __len__(self) -> int:
        return len(self._pruning_methods)

    def __iter__(self) -> Any:
        return iter(self._pruning_methods)

    def __getitem__(self, idx: Any) -> Any:
        return self._pruning_methods[idx]

    def compute_mask(self, t: Any, default_mask: Any) -> Tensor:
        """The last method's mask computed on the still-unpruned part: ``t[mask == 1]``
        (unstructured), the channels along ``dim`` whose mask is not all zero (structured), or
        all of ``t`` (global); the rest of ``default_mask`` is kept."""
        if not self._pruning_methods:
            raise ValueError("PruningContainer.compute_mask: the container holds no pruning method")
        method = self._pruning_methods[-1]
        t, old = _arr(t), _arr(default_mask)
        mask = np.array(old, dtype=t.dtype if t.dtype.kind == "f" else old.dtype)
        kind = getattr(method, "PRUNING_TYPE", None)
        if kind == "unstructured":
            slc: Any = old == 1
        elif kind == "structured":
            if not hasattr(method, "dim"):
                raise AttributeError(f"PruningContainer.compute_mask: {type(method).__name__} is structured but has "
                                     "no attribute dim")
            dim = _structured_dim(type(method).__name__, t, method.dim)
            keep = old.sum(axis=tuple(a for a in range(t.ndim) if a != dim)) != 0
            slc = tuple(keep if a == dim else slice(None) for a in range(t.ndim))
        elif kind == "global":
            slc = (slice(None),) * t.ndim
        else:
            raise ValueError(f"PruningContainer.compute_mask: unrecognized PRUNING_TYPE {kind!r} of "
                             f"{type(method).__name__}")
        part = _arr(method.compute_mask(Tensor(np.array(t[slc])), Tensor(np.array(mask[slc]))))
        mask[slc] = part
        return Tensor(mask)
