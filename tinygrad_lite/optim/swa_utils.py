"""Weight averaging, as ``torch.optim.swa_utils``: ``AveragedModel`` (a copy of a model that keeps
a running average of its parameters: SWA, EMA or any rule), the ``SWALR`` schedule, ``update_bn``
and the averaging rules ``get_swa_avg_fn`` / ``get_ema_avg_fn`` and their list forms
``get_swa_multi_avg_fn`` / ``get_ema_multi_avg_fn``.

``AveragedModel.update_parameters`` writes (in place, without recording a graph) only the
averaged copy's parameters and buffers and its ``n_averaged`` buffer; ``update_bn`` writes the
BatchNorm running statistics of the model it is given; ``SWALR`` writes ``"lr"`` and
``"swa_lr"`` into its optimizer's parameter groups.
"""

from __future__ import annotations

import copy
import math
import numbers
from typing import Any, Callable, Iterable, Optional, Sequence, Union

import numpy as np

from ..graph import no_grad
from ..nn.layers import _BatchNorm
from ..nn.module import Module
from ..tensor import Tensor
from .lr_scheduler.base import LRScheduler, _check_optimizer, _per_group
from .optimizer import Optimizer

__all__ = ["AveragedModel", "SWALR", "update_bn", "get_ema_multi_avg_fn", "get_swa_multi_avg_fn",
           "get_ema_avg_fn", "get_swa_avg_fn"]

AvgFn = Callable[[Tensor, Tensor, Union[Tensor, int]], Tensor]
MultiAvgFn = Callable[[Sequence[Tensor], Sequence[Tensor], Union[Tensor, int]], None]


def _decay(who: str, decay: Any) -> float:
    if isinstance(decay, (bool, np.bool_)) or not isinstance(decay, numbers.Real) or not 0.0 <= decay <= 1.0:
        raise ValueError(f"{who}: decay must be a number in [0, 1], got {decay!r}")
    return float(decay)


def _count(n: Union[Tensor, int], who: str = "get_swa_avg_fn") -> float:
    """The number of models averaged so far (a Tensor of one element or a real number)."""
    v = n.item() if isinstance(n, Tensor) and n.numel() == 1 else n
    if isinstance(v, (str, bytes)) or not isinstance(v, numbers.Real):
        raise TypeError(f"{who}: num_averaged must be a number or a one-element Tensor, got {n!r}")
    return float(v)


def _lerp(a: np.ndarray, b: np.ndarray, w: float) -> np.ndarray:
    """``a + w (b - a)``, evaluated as torch's ``lerp`` does (from the nearer end)."""
    d = b - a
    return a + w * d if w < 0.5 else b - d * (1.0 - w)


def _averaged(r: Any, a: Tensor, i: int) -> Any:
    """The result ``r`` of ``avg_fn`` for parameter ``i`` (averaged tensor ``a``), checked: a
    Tensor or array of real numbers that broadcasts to ``a``'s shape."""
    arr = r.data if isinstance(r, Tensor) else np.asarray(r) if isinstance(r, (np.ndarray, numbers.Real)) else None
    if arr is None or arr.dtype.kind not in "biuf":
        raise TypeError(f"AveragedModel.update_parameters: avg_fn returned a {type(r).__name__} for parameter {i}; "
                        "it must return a Tensor of the parameter's shape")
    try:
        np.broadcast_to(arr, tuple(a.shape))
    except ValueError:
        raise ValueError(f"AveragedModel.update_parameters: avg_fn returned shape {arr.shape} for parameter {i} of "
                         f"shape {tuple(a.shape)}") from None
    return r


def get_ema_multi_avg_fn(decay: float = 0.999) -> MultiAvgFn:
    """The in-place exponential moving average of lists of tensors:
    ``ema <- decay * ema + (1 - decay) * current`` (floating point: ``lerp(ema, current,
    1 - decay)``), for ``AveragedModel(multi_avg_fn=...)``; ``decay`` in [0, 1]."""
    d = _decay("get_ema_multi_avg_fn", decay)

    def ema_update(ema_params: Sequence[Tensor], current_params: Sequence[Tensor], _: Any = None) -> None:
        with no_grad():
            for pe, pc in zip(ema_params, current_params):
                a, b = pe.data, np.asarray(pc.data)
                new = _lerp(a, b, 1.0 - d) if a.dtype.kind == "f" else a * d + b * (1.0 - d)
                pe.copy_(new)

    return ema_update


def get_swa_multi_avg_fn() -> MultiAvgFn:
    """The in-place running mean of lists of tensors: with ``n`` models averaged so far,
    ``avg <- avg + (current - avg) / (n + 1)`` (floating point: ``lerp(avg, current,
    1 / (n + 1))``, the weight in float64)."""

    def swa_update(averaged_params: Sequence[Tensor], current_params: Sequence[Tensor],
                   num_averaged: Union[Tensor, int]) -> None:
        n = _count(num_averaged, "get_swa_multi_avg_fn")
        with no_grad():
            for pa, pc in zip(averaged_params, current_params):
                a, b = pa.data, np.asarray(pc.data)
                pa.copy_(_lerp(a, b, 1.0 / (n + 1)) if a.dtype.kind == "f" else a + (b - a) / (n + 1))

    return swa_update


def get_ema_avg_fn(decay: float = 0.999) -> AvgFn:
    """The exponential moving average of one tensor: returns
    ``decay * ema + (1 - decay) * current`` (a new Tensor), for ``AveragedModel(avg_fn=...)``."""
    d = _decay("get_ema_avg_fn", decay)

    def ema_update(ema_param: Tensor, current_param: Tensor, num_averaged: Any = None) -> Tensor:
        with no_grad():
            return d * ema_param + (1 - d) * current_param

    return ema_update


def get_swa_avg_fn() -> AvgFn:
    """The running mean of one tensor: returns ``avg + (current - avg) / (n + 1)`` (a new
    Tensor) with ``n`` the number of models averaged so far; ``AveragedModel``'s default."""

    def swa_update(averaged_param: Tensor, current_param: Tensor, num_averaged: Union[Tensor, int]) -> Tensor:
        with no_grad():
            return averaged_param + (current_param - averaged_param) / (_count(num_averaged) + 1)

    return swa_update


class AveragedModel(Module):
    """A deep copy of ``model`` (``self.module``) whose parameters are a running average of
    the model's, as ``torch.optim.swa_utils.AveragedModel``.

    ``update_parameters(model)``: the first call copies the model's parameters; each later
    one averages them in: with ``avg_fn(avg, current, n)`` (one tensor, returns the new
    average), else with ``multi_avg_fn(avgs, currents, n)`` (lists of tensors of one dtype,
    updated in place), else the equal-weight mean ``avg + (current - avg) / (n + 1)`` (SWA);
    ``n`` is the buffer ``n_averaged`` (an int64 0-d Tensor: how many models are in the
    average). ``use_buffers=True`` averages the buffers too (BatchNorm's running
    statistics); otherwise they are copied from the model at each update. Calling the
    averaged model runs ``self.module``; its ``state_dict`` holds ``n_averaged`` and the
    copy's entries as ``module.<name>``. ``device`` (None or the CPU) moves the copy.
    """

    def __init__(self, model: Module, device: Any = None, avg_fn: Optional[AvgFn] = None,
                 multi_avg_fn: Optional[MultiAvgFn] = None, use_buffers: bool = False) -> None:
        who = "AveragedModel"
        if not isinstance(model, Module):
            raise TypeError(f"{who}: model must be a Module, got {type(model).__name__}")
        if avg_fn is not None and multi_avg_fn is not None:
            raise ValueError(f"{who}: give only one of avg_fn and multi_avg_fn")
        for name, fn in (("avg_fn", avg_fn), ("multi_avg_fn", multi_avg_fn)):
            if fn is not None and not callable(fn):
                raise TypeError(f"{who}: {name} must be callable or None, got {type(fn).__name__}")
        if not isinstance(use_buffers, (bool, np.bool_)):
            raise TypeError(f"{who}: use_buffers must be a bool, got {use_buffers!r}")
        module = copy.deepcopy(model)
        if device is not None:
            module = module.to(device)
        self.module = module
        self.register_buffer("n_averaged", np.array(0, dtype=np.int64))
        self.avg_fn, self.multi_avg_fn, self.use_buffers = avg_fn, multi_avg_fn, bool(use_buffers)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The averaged module's forward."""
        return self.module(*args, **kwargs)

    def _pairs(self, model: Module, with_buffers: bool) -> list:
        """(averaged tensor, model tensor) in parameter (and buffer) order; ValueError, before
        anything changes, if the two do not match in number or shapes."""
        def listed(m: Module) -> list:
            return list(m.parameters()) + (list(m.buffers()) if with_buffers else [])

        ours, theirs = listed(self.module), listed(model)
        what = "parameters and buffers" if with_buffers else "parameters"
        if len(ours) != len(theirs):
            raise ValueError(f"AveragedModel.update_parameters: the model has {len(theirs)} {what}, the averaged "
                             f"copy {len(ours)}")
        for i, (a, b) in enumerate(zip(ours, theirs)):
            if a.shape != b.shape:
                raise ValueError(f"AveragedModel.update_parameters: {what} entry {i} has shape {b.shape} in the "
                                 f"model but {a.shape} in the averaged copy")
        return list(zip(ours, theirs))

    def update_parameters(self, model: Module) -> None:
        """Average ``model``'s current parameters (and buffers with ``use_buffers``) into this
        copy and add one to ``n_averaged`` (see the class). If the averaging function raises,
        the averaged copy and ``n_averaged`` are restored as they were."""
        if not isinstance(model, Module):
            raise TypeError(f"AveragedModel.update_parameters: model must be a Module, got {type(model).__name__}")
        pairs = self._pairs(model, self.use_buffers)
        copies = [] if self.use_buffers else self._pairs_buffers(model)
        n = self.n_averaged
        kept = [(t, np.array(t.data)) for t in [a for a, _ in pairs] + [a for a, _ in copies] + [n]]
        try:
            self._average(pairs, copies, n)
        except BaseException:
            with no_grad():  # a failed update (an averaging function that raised) changes nothing
                for t, v in kept:
                    t.copy_(v)
            raise

    def _average(self, pairs: list, copies: list, n: Tensor) -> None:
        with no_grad():
            if int(n.item()) == 0:
                for a, b in pairs:
                    a.copy_(b.data)
            else:
                avgs = [a.detach() for a, _ in pairs]
                currents = [b.detach() for _, b in pairs]
                if self.avg_fn is not None:
                    for i, (a, b) in enumerate(zip(avgs, currents)):
                        a.copy_(_averaged(self.avg_fn(a, b, n), a, i))
                else:
                    groups: dict = {}  # by dtype, as torch groups them for the list rules
                    for a, b in zip(avgs, currents):
                        groups.setdefault(a.dtype, ([], []))
                        groups[a.dtype][0].append(a)
                        groups[a.dtype][1].append(b)
                    if self.multi_avg_fn is not None:
                        for ga, gb in groups.values():
                            self.multi_avg_fn(ga, gb, n)
                    else:
                        swa = get_swa_avg_fn()
                        for a, b in zip(avgs, currents):
                            a.copy_(swa(a, b, n))
            for a, b in copies:
                a.copy_(b.data)
            n.copy_(n.data + 1)

    def _pairs_buffers(self, model: Module) -> list:
        ours, theirs = self.module.buffers(), model.buffers()
        if len(ours) != len(theirs) or any(a.shape != b.shape for a, b in zip(ours, theirs)):
            raise ValueError("AveragedModel.update_parameters: the model's buffers do not match the averaged "
                             f"copy's ({[tuple(b.shape) for b in theirs]} vs {[tuple(a.shape) for a in ours]})")
        return list(zip(ours, theirs))


def update_bn(loader: Iterable[Any], model: Module, device: Any = None) -> None:
    """Recompute the running statistics of every BatchNorm layer of ``model`` by one pass
    over ``loader``, as ``torch.optim.swa_utils.update_bn``: the statistics are reset, then
    each batch (a Tensor, or a list/tuple whose first item is the input) is run through the
    model in training mode with ``momentum=None``, so that the running mean and variance
    are the plain average over the batches of each batch's mean and unbiased variance.
    Afterwards every layer's momentum and the model's training mode are as before; no graph
    is recorded. A model without BatchNorm layers is left untouched.
    """
    if not isinstance(model, Module):
        raise TypeError(f"update_bn: model must be a Module, got {type(model).__name__}")
    from ..nn.instancenorm import _InstanceNorm  # (torch's InstanceNorm is no BatchNorm)

    layers = [m for m in model.modules() if isinstance(m, _BatchNorm) and not isinstance(m, _InstanceNorm)]
    if not layers:
        return
    if isinstance(loader, (str, bytes)) or not hasattr(loader, "__iter__"):
        raise TypeError(f"update_bn: loader must be an iterable of batches, got {type(loader).__name__}")
    momenta = {id(m): m.momentum for m in layers}
    was_training = model.training
    stats = [(b, np.array(b.data)) for m in layers for b in m.buffers()]
    try:
        with no_grad():
            for m in layers:
                m.reset_running_stats()
                m.momentum = None
            model.train()
            for batch in loader:
                if isinstance(batch, (list, tuple)):
                    batch = batch[0]
                if device is not None and isinstance(batch, Tensor):
                    batch = batch.to(device)
                model(batch)
    except BaseException:
        with no_grad():  # a failed pass (a batch the model refuses) leaves the statistics as they were
            for b, v in stats:
                b.copy_(v)
        raise
    finally:
        for m in layers:
            m.momentum = momenta[id(m)]
        model.train(was_training)


class SWALR(LRScheduler):
    """Anneal every group's learning rate to ``swa_lr`` over ``anneal_epochs`` steps, then
    keep it there, as ``torch.optim.swa_utils.SWALR``.

    At the k-th step after creation (creation is step 0), with ``t = min(1, k / anneal_epochs)``
    (``k`` at least 1 when ``anneal_epochs`` is 0) and ``alpha = (1 - cos(pi t)) / 2``
    (``"cos"``) or ``t`` (``"linear"``), the lr is ``alpha * swa_lr + (1 - alpha) * lr0``,
    where ``lr0`` is recovered from the group's current lr and the previous step's alpha
    (so the schedule starts from whatever lr the group has when SWA begins). ``swa_lr``:
    one number or one per group (stored as the groups' ``"swa_lr"``).
    """

    _choices = {"_anneal_strategy": ("cos", "linear")}

    def __init__(self, optimizer: Optimizer, swa_lr: Union[float, Sequence[float]], anneal_epochs: int = 10,
                 anneal_strategy: str = "cos", last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        swa_lrs = _per_group("SWALR", "swa_lr", optimizer, swa_lr)
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"SWALR: anneal_strategy must be one of 'cos' or 'linear', got {anneal_strategy!r}")
        if isinstance(anneal_epochs, (bool, np.bool_)) or not isinstance(anneal_epochs, numbers.Integral) \
                or anneal_epochs < 0:
            raise ValueError(f"SWALR: anneal_epochs must be an int >= 0, got {anneal_epochs!r}")
        for lr, group in zip(swa_lrs, optimizer.param_groups):
            group["swa_lr"] = lr
        self._anneal_strategy = anneal_strategy
        self.anneal_epochs = int(anneal_epochs)
        super().__init__(optimizer, last_epoch)  # (it counts the steps in _step_count, as torch's)

    def anneal_func(self, t: float) -> float:
        """The fraction of the way to ``swa_lr`` at progress ``t`` in [0, 1]."""
        return (1 - math.cos(math.pi * t)) / 2 if self._anneal_strategy == "cos" else t

    @staticmethod
    def _get_initial_lr(lr: float, swa_lr: float, alpha: float) -> float:
        return swa_lr if alpha == 1 else (lr - alpha * swa_lr) / (1 - alpha)

    def _initial_lrs(self) -> list:
        return self.get_lr()

    def get_lr(self) -> list:
        """The lrs of the current step (see the class)."""
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_alpha = self.anneal_func(max(0, min(1, (step - 1) / max(1, self.anneal_epochs))))
        prev_lrs = [self._get_initial_lr(g["lr"], g["swa_lr"], prev_alpha) for g in self.optimizer.param_groups]
        alpha = self.anneal_func(max(0, min(1, step / max(1, self.anneal_epochs))))
        return [g["swa_lr"] * alpha + lr * (1 - alpha) for g, lr in zip(self.optimizer.param_groups, prev_lrs)]
