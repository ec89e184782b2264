"""``tl.nn.utils.prune``: masking entries of a module's parameter, as ``torch.nn.utils.prune``.

Pruning the parameter ``name`` of a module keeps it as the parameter ``name + "_orig"``
(the same object), adds the buffer ``name + "_mask"`` (1 keeps an entry, 0 prunes it) and a
forward pre-hook (the pruning method itself) that sets the plain attribute
``module.<name> = orig * mask`` before every forward, so ``d cost / d orig = mask * d cost /
d <name>`` (per-sample gradients too). Pruning the same tensor again gathers the methods in a
:class:`PruningContainer`: the new method sees only what is still unpruned (the entries with
mask 1 for unstructured methods, the channels along ``dim`` with a nonzero mask for
structured ones), so a fractional ``amount`` is a fraction of the remaining entries or
channels. ``remove`` makes the pruning permanent: ``name`` becomes the parameter again,
holding ``orig * mask``. Random methods draw from the library's default generator
(``tl.manual_seed``). This file touches the pruned module's attributes, parameters, buffers
and forward pre-hooks only.
"""

from __future__ import annotations

import numbers
from typing import Any, Iterable, Optional, Union

import numpy as np

from ...graph import no_grad
from ...hooks import drop_module_hook, module_hooks
from ...random import as_generator
from ...tensor import Tensor
from ..module import Module
from .prune_base import BasePruningMethod, PruningContainer, _arr, _check_amount, _check_dim, _count, _structured_dim

__all__ = ["BasePruningMethod", "PruningContainer", "Identity", "RandomUnstructured", "L1Unstructured",
           "RandomStructured", "LnStructured", "CustomFromMask", "identity", "random_unstructured", "l1_unstructured",
           "random_structured", "ln_structured", "global_unstructured", "custom_from_mask", "remove", "is_pruned"]


class Identity(BasePruningMethod):
    """Prunes nothing: the mask is ``default_mask`` (ones at first)."""

    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t: Any, default_mask: Any) -> Tensor:
        return Tensor(np.array(_arr(default_mask)))

    @classmethod
    def apply(cls, module: Module, name: str) -> BasePruningMethod:  # type: ignore[override]
        """Add the pruning machinery to ``module.<name>`` without pruning anything."""
        return super().apply(module, name)


class _AmountUnstructured(BasePruningMethod):
    """An unstructured method pruning ``amount`` entries (an int, or a fraction of them): the
    first ``k`` entries of :meth:`_order` among all of ``t`` flattened."""

    PRUNING_TYPE = "unstructured"
    _who: str

    def __init__(self, amount: Union[int, float]) -> None:
        _check_amount(self._who, amount)
        self.amount = amount

    def _order(self, t: np.ndarray) -> np.ndarray:
        """The flat indices of ``t``, those to prune first first."""
        raise NotImplementedError

    def compute_mask(self, t: Any, default_mask: Any) -> Tensor:
        t = _arr(t)
        k = _count(self._who, self.amount, t.size)
        mask = np.array(_arr(default_mask), order="C")  # (row order: reshape(-1) below is a view)
        if k:
            mask.reshape(-1)[self._order(t)[:k]] = 0
        return Tensor(mask)


class RandomUnstructured(_AmountUnstructured):
    """Prunes ``amount`` entries (an int, or a fraction of them) chosen uniformly at random:
    those whose uniform draw from the default generator is among the largest."""

    _who = "RandomUnstructured"

    def _order(self, t: np.ndarray) -> np.ndarray:
        prob = as_generator(None).random(t.size)
        return np.argsort(-prob, kind="stable")

    @classmethod
    def apply(cls, module: Module, name: str, amount: Union[int, float]) -> BasePruningMethod:  # type: ignore[override]
        """Prune ``amount`` random entries of ``module.<name>``."""
        return super().apply(module, name, amount=amount)


class L1Unstructured(_AmountUnstructured):
    """Prunes the ``amount`` entries (an int, or a fraction of them) of smallest ``|t|``
    (ties: the earlier entry in row-major order first)."""

    _who = "L1Unstructured"

    def _order(self, t: np.ndarray) -> np.ndarray:
        return np.argsort(np.abs(t).reshape(-1), kind="stable")

    @classmethod
    def apply(cls, module: Module, name: str, amount: Union[int, float],  # type: ignore[override]
              importance_scores: Any = None) -> BasePruningMethod:
        """Prune the ``amount`` entries of ``module.<name>`` of smallest ``|importance_scores|``."""
        return super().apply(module, name, amount=amount, importance_scores=importance_scores)


class _AmountStructured(BasePruningMethod):
    """A structured method pruning ``amount`` whole channels along ``dim`` (an int, or a
    fraction of them): all but the channels :meth:`_keep` returns."""

    PRUNING_TYPE = "structured"
    _who: str
    amount: Union[int, float]
    dim: int

    def _keep(self, t: np.ndarray, dim: int, k: int) -> np.ndarray:
        """The channels along ``dim`` to keep (a boolean or index array) when ``k`` of them go."""
        raise NotImplementedError

    def compute_mask(self, t: Any, default_mask: Any) -> Tensor:
        t, default = _arr(t), _arr(default_mask)
        dim = _structured_dim(self._who, t, self.dim)
        k = _count(self._who, self.amount, t.shape[dim])
        if not k:
            return Tensor(np.array(default))
        return Tensor(_channels(t, dim, self._keep(t, dim, k), default))


class RandomStructured(_AmountStructured):
    """Prunes ``amount`` whole channels along ``dim`` (an int, or a fraction of them) chosen
    at random: those whose uniform draw is at most the ``amount``-th smallest draw."""

    _who = "RandomStructured"

    def __init__(self, amount: Union[int, float], dim: int = -1) -> None:
        _check_amount(self._who, amount)
        _check_dim(self._who, dim)
        self.amount, self.dim = amount, dim

    def _keep(self, t: np.ndarray, dim: int, k: int) -> np.ndarray:
        prob = as_generator(None).random(t.shape[dim])
        return prob > np.partition(prob, k - 1)[k - 1]

    @classmethod
    def apply(cls, module: Module, name: str, amount: Union[int, float],  # type: ignore[override]
              dim: int = -1) -> BasePruningMethod:
        """Prune ``amount`` random channels of ``module.<name>`` along ``dim``."""
        return super().apply(module, name, amount=amount, dim=dim)


def _channels(t: np.ndarray, dim: int, keep: np.ndarray, default: np.ndarray) -> np.ndarray:
    """Ones on the kept channels along ``dim`` (a boolean or index array), zeros elsewhere,
    times ``default``."""
    mask = np.zeros(t.shape, dtype=default.dtype if default.dtype.kind == "f" else t.dtype)
    mask[tuple(keep if a == dim else slice(None) for a in range(t.ndim))] = 1
    return mask * default


def _norm(t: np.ndarray, n: Any, dim: int) -> np.ndarray:
    """The ``n``-norm of each channel along ``dim``: ``(sum |x|^n)^(1/n)`` over the other
    axes; ``inf`` / ``-inf`` the largest / smallest ``|x|``, 0 the count of nonzero entries,
    ``"fro"`` the 2-norm."""
    axes = tuple(a for a in range(t.ndim) if a != dim)
    a = np.abs(t)
    p = 2.0 if n == "fro" else float(n)
    if p == np.inf:
        return a.max(axis=axes)
    if p == -np.inf:
        return a.min(axis=axes)
    if p == 0:
        return (a != 0).sum(axis=axes).astype(float)
    return (a ** p).sum(axis=axes) ** (1.0 / p)


class LnStructured(_AmountStructured):
    """Prunes the ``amount`` channels along ``dim`` (an int, or a fraction of them) of smallest
    ``n``-norm (see :func:`_norm`); the kept ones are the largest (ties: the earlier channel)."""

    _who = "LnStructured"

    def __init__(self, amount: Union[int, float], n: Union[int, float, str], dim: int = -1) -> None:
        _check_amount(self._who, amount)
        _check_dim(self._who, dim)
        if not (n == "fro" if isinstance(n, str) else isinstance(n, numbers.Real) and not isinstance(n, bool)):
            raise ValueError(f"LnStructured: n must be a number (inf and -inf included) or 'fro', got {n!r}")
        self.amount, self.n, self.dim = amount, n, dim

    def _keep(self, t: np.ndarray, dim: int, k: int) -> np.ndarray:
        return np.argsort(-_norm(t, self.n, dim), kind="stable")[:t.shape[dim] - k]

    @classmethod
    def apply(cls, module: Module, name: str, amount: Union[int, float], n: Union[int, float, str],  # type: ignore[override]
              dim: int, importance_scores: Any = None) -> BasePruningMethod:
        """Prune the ``amount`` channels of ``module.<name>`` along ``dim`` of smallest ``n``-norm."""
        return super().apply(module, name, amount=amount, n=n, dim=dim, importance_scores=importance_scores)


class CustomFromMask(BasePruningMethod):
    """Prunes where the given ``mask`` is 0: the new mask is ``default_mask * mask``."""

    PRUNING_TYPE = "global"

    def __init__(self, mask: Any) -> None:
        self.mask = mask

    def compute_mask(self, t: Any, default_mask: Any) -> Tensor:
        default, mask = _arr(default_mask), _arr(self.mask)
        if default.shape != mask.shape:
            raise ValueError(f"CustomFromMask: the mask of shape {mask.shape} does not match the tensor's shape "
                             f"{default.shape}")
        return Tensor(default * mask.astype(default.dtype))

    @classmethod
    def apply(cls, module: Module, name: str, mask: Any) -> BasePruningMethod:  # type: ignore[override]
        """Prune ``module.<name>`` where ``mask`` is 0."""
        return super().apply(module, name, mask=mask)


def identity(module: Module, name: str) -> Module:
    """:meth:`Identity.apply`: the pruning machinery on ``module.<name>``, an all-ones mask;
    returns the module."""
    Identity.apply(module, name)
    return module


def random_unstructured(module: Module, name: str, amount: Union[int, float]) -> Module:
    """Prune ``amount`` random entries of ``module.<name>`` (:class:`RandomUnstructured`)."""
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(module: Module, name: str, amount: Union[int, float], importance_scores: Any = None) -> Module:
    """Prune the ``amount`` entries of smallest absolute value (:class:`L1Unstructured`)."""
    L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)
    return module


def random_structured(module: Module, name: str, amount: Union[int, float], dim: int) -> Module:
    """Prune ``amount`` random channels along ``dim`` (:class:`RandomStructured`)."""
    RandomStructured.apply(module, name, amount, dim)
    return module


def ln_structured(module: Module, name: str, amount: Union[int, float], n: Union[int, float, str], dim: int,
                  importance_scores: Any = None) -> Module:
    """Prune the ``amount`` channels along ``dim`` of smallest ``n``-norm (:class:`LnStructured`)."""
    LnStructured.apply(module, name, amount, n, dim, importance_scores=importance_scores)
    return module


def custom_from_mask(module: Module, name: str, mask: Any) -> Module:
    """Prune ``module.<name>`` where ``mask`` is 0 (:class:`CustomFromMask`)."""
    CustomFromMask.apply(module, name, mask)
    return module


def global_unstructured(parameters: Iterable, pruning_method: type, importance_scores: Optional[dict] = None,
                        **kwargs: Any) -> None:
    """Prune the ``(module, name)`` tensors together: ``pruning_method(**kwargs)`` (an
    unstructured method) computes one mask of all of them flattened and concatenated, on the
    entries not pruned yet, ranked by ``importance_scores[(module, name)]`` (default: the
    current tensor); each tensor then gets its part through :func:`custom_from_mask`."""
    who = "global_unstructured"
    if not isinstance(parameters, Iterable) or isinstance(parameters, (str, bytes)):
        raise TypeError(f"{who}: parameters is not an iterable of (module, name) pairs, got "
                        f"{type(parameters).__name__}")
    pairs = list(parameters)
    if not pairs:
        raise ValueError(f"{who}: parameters is empty; give at least one (module, name) pair")
    for pair in pairs:
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and isinstance(pair[0], Module)
                and isinstance(pair[1], str) and isinstance(getattr(pair[0], pair[1], None), Tensor)):
            raise TypeError(f"{who}: each entry of parameters must be a (module, name) pair naming a tensor, got "
                            f"{pair!r}")
    scores = {} if importance_scores is None else importance_scores
    if not isinstance(scores, dict):
        raise TypeError(f"{who}: importance_scores must be a dict, got {type(scores).__name__}")
    if not (isinstance(pruning_method, type) and issubclass(pruning_method, BasePruningMethod)):
        raise TypeError(f"{who}: pruning_method must be a BasePruningMethod subclass, got {pruning_method!r}")
    method = pruning_method(**kwargs)
    if getattr(method, "PRUNING_TYPE", None) != "unstructured":
        raise TypeError(f"{who}: only 'unstructured' pruning methods are supported, got {pruning_method.__name__} "
                        f"of type {getattr(method, 'PRUNING_TYPE', None)!r}")
    tensors = [getattr(m, n).data for m, n in pairs]
    parts = []
    for (m, n), t in zip(pairs, tensors):
        s = _arr(scores.get((m, n), t))
        if s.shape != t.shape:
            raise ValueError(f"{who}: importance_scores of {n!r} have shape {s.shape}, the tensor {t.shape}")
        parts.append(s.reshape(-1))
    default = np.concatenate([_arr(getattr(m, n + "_mask")).reshape(-1) if hasattr(m, n + "_mask")
                              else np.ones(t.size, dtype=t.dtype) for (m, n), t in zip(pairs, tensors)])
    method._tensor_name = "temp"
    container = PruningContainer(method)
    with no_grad():
        final = _arr(container.compute_mask(Tensor(np.concatenate(parts)), Tensor(default)))
    start = 0
    for (m, n), t in zip(pairs, tensors):
        custom_from_mask(m, n, mask=final[start:start + t.size].reshape(t.shape))
        start += t.size


def remove(module: Module, name: str) -> Module:
    """Make the pruning of ``module.<name>`` permanent (:meth:`BasePruningMethod.remove`) and
    detach its hook; returns the module."""
    if not isinstance(module, Module):
        raise TypeError(f"remove: module must be a Module, got {type(module).__name__}")
    hooks = module_hooks(module)
    for fn, *_ in list(hooks.pre.values()) if hooks is not None else ():
        if isinstance(fn, BasePruningMethod) and fn._tensor_name == name:
            fn.remove(module)
            drop_module_hook(module, "pre", fn)
            return module
    raise ValueError(f"remove: parameter {name!r} of {type(module).__name__} has to be pruned before pruning can be "
                     "removed")


def is_pruned(module: Module) -> bool:
    """Whether ``module`` or a module below it has a pruning hook."""
    if not isinstance(module, Module):
        raise TypeError(f"is_pruned: module must be a Module, got {type(module).__name__}")
    for m in module.modules():
        hooks = module_hooks(m)
        if hooks is not None and any(isinstance(fn, BasePruningMethod) for fn, *_ in hooks.pre.values()):
            return True
    return False
