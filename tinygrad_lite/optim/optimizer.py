"""The optimizer base class: parameter groups, the loop over parameters, state dicts.

An optimizer owns a list of *parameter groups*: dicts holding ``"params"`` (a list of
Tensors) and the hyper-parameters for those parameters (``"lr"``, ``"momentum"``, ...).
Per-parameter buffers (momentum, running averages, step counters) live in
``optimizer.state[p]``, created the first time they are needed.

The base class owns the loop: ``step()`` checks every group's hyper-parameters and every
parameter's gradient BEFORE changing anything (a failing step changes nothing), fetches
each gradient in its parameter's dtype (casting the parameter's floating state arrays to it
too, e.g. after ``model.float()``), negates it when ``maximize`` is set, adds the L2 term
``weight_decay * p`` (unless the rule decouples weight decay), and calls the subclass's
``update(p, g, state, group)``: the update rule alone. A rule without state that changes
every element alike (SGD without momentum) may also give ``update_flat``, which then updates
a group's small parameters as one flat array (``packed.py``). A subclass may also override
``step()`` itself (looping over ``self.param_groups``), as in PyTorch::

    class SignSGD(Optimizer):
        def __init__(self, params, lr):
            super().__init__(params, {"lr": lr})

        def update(self, p, g, state, group):
            p.data -= group["lr"] * np.sign(g)
"""

from __future__ import annotations

import copy
import math
import numbers
from collections import defaultdict
from typing import Any, Callable, Iterable, Optional

import numpy as np

from ..conventions import ShapeMismatchError
from ..lazygrad import LazyGrad, keep_factors
from ..ops.base import _DETACHED, _clock, _root, updated
from ..tensor import Tensor
from . import packed
from .checks import _index, check_bool, check_number, hyper
from .hooks import HookMethods, register_optimizer_step_post_hook, register_optimizer_step_pre_hook, wrap

__all__ = ["Optimizer", "check_number", "check_bool", "hyper", "changed", "register_optimizer_step_pre_hook",
           "register_optimizer_step_post_hook"]


def _is_param(obj: Any) -> bool:
    """A parameter is anything with an ndarray ``.data`` and a ``.grad`` slot (a Tensor)."""
    return isinstance(getattr(obj, "data", None), np.ndarray) and hasattr(obj, "grad")


_SPELLED = {"lr": "lr (learning rate)", "eps": "eps (epsilon)"}
# group entries a loaded state may lack (states saved by older versions): the group's own are kept
_OPTIONAL = frozenset({"foreach", "fused", "differentiable", "capturable", "decoupled_weight_decay"})
_OFF = {"differentiable": "gradients do not flow through an optimizer step here",
        "capturable": "it is for CUDA graph capture, and this library runs on the CPU"}


def changed(p: Any) -> None:
    """Record that parameter ``p`` was changed in place by a step: graphs built before it
    cannot backward (also those that read a detach() of it)."""
    p._v = updated(p._data) if _DETACHED else next(_clock)


def _follow_dtype(state: dict, g: np.ndarray) -> None:
    """Cast a parameter's floating state arrays of its shape to its (gradient ``g``'s) dtype
    when they differ: after ``model.float()`` an Adam moment kept in float64 continues in
    float32 (a 0-d parameter's too), as if the state had been saved and loaded
    (``load_state_dict`` casts the same way)."""
    dtype = g.dtype
    for k, v in state.items():
        if type(v) is np.ndarray and v.dtype != dtype and v.dtype.kind == "f" and v.shape == g.shape:
            state[k] = v.astype(dtype)


def _free_buffer(name: str, value: Any, p: Any, key: Any, depth: int = 0) -> Any:
    """A loaded buffer of no declared kind (a custom optimizer's, or one a subclass adds): numeric
    arrays of any shape (one of the parameter's shape and a float dtype takes its dtype), numbers,
    strings, None, and lists, tuples and dicts of them; copied."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise ValueError(f"state buffer {name!r} of parameter {key!r} has non-numeric dtype {value.dtype}")
        if value.shape == p.data.shape and value.dtype.kind == "f" and p.data.dtype.kind == "f":
            return value.astype(p.data.dtype)
        return value.copy()
    if depth > 32:
        raise ValueError(f"state buffer {name!r} of parameter {key!r} is nested too deeply")
    if isinstance(value, (list, tuple)):
        items = [_free_buffer(name, v, p, key, depth + 1) for v in value]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, dict):
        return {k: _free_buffer(name, v, p, key, depth + 1) for k, v in value.items()}
    if isinstance(value, (numbers.Number, str, bytes, type(None), np.generic)):
        return value
    raise ValueError(f"state buffer {name!r} of parameter {key!r} holds unsupported type {type(value).__name__}")


class Optimizer(HookMethods):
    """Base class of all optimizers.

    Args:
        params: an iterable of Tensors, or of dicts (parameter groups) each holding
            ``"params"`` and any hyper-parameters that differ from ``defaults``.
        defaults: the hyper-parameters every group gets unless it sets its own.

    Attributes:
        param_groups: list of dicts with ``"params"`` (list of Tensors) and hyper-parameters.
        state: ``state[p]`` is a dict of buffers for parameter ``p``, created on first use.
        defaults: the default hyper-parameters.

    A subclass writes ``update()`` (or ``step()``) and may override ``_check_group()`` to
    validate the hyper-parameters of each group. Hooks around ``step``, ``state_dict`` and
    ``load_state_dict`` (``register_step_pre_hook`` ...) are in ``hooks.py``.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        wrap(cls)  # a subclass's own step / state_dict / load_state_dict run the hooks too
        if "buffers" in vars(cls) and "required" not in vars(cls):  # (by default every buffer not marked "?")
            cls.required = tuple(name for name, kind in cls.buffers.items() if not kind.endswith("?"))

    # True: update() applies weight decay itself (as it does for a group with "decoupled_weight_decay")
    decoupled_weight_decay = False
    # True: update() may get a weight gradient as its factors (a ``LazyGrad``, see _factors) and apply it so or
    # read ``p.grad``; groups where _factored_group() holds keep such gradients after any backward
    takes_factors = False
    # the per-parameter buffers a rule keeps: name -> "array" (of the parameter's shape), "array?"
    # (such an array or None), "step" (an int >= 0) or "scalar" (a float, loaded from a number or
    # a 0-d array); a loaded state must hold ``required`` ones (a class listing ``buffers`` and
    # not ``required``: all but the "array?" ones). Empty (a custom optimizer): anything is accepted.
    buffers: dict = {}
    required: tuple = ()
    # hyper-parameters checked for every group: name -> "number" (a real >= 0) or "bool"
    # "flag": None or a bool that picks how torch runs the same maths (foreach, fused): accepted,
    # the update is the same; "off": a torch mode this library does not have, False or None only
    checks: dict = {"lr": "number", "weight_decay": "number", "maximize": "bool", "foreach": "flag",
                    "fused": "flag", "differentiable": "off", "capturable": "off"}

    def __init__(self, params: Any, defaults: dict) -> None:
        if not isinstance(defaults, dict):
            raise TypeError(f"defaults must be a dict of hyper-parameters, got {type(defaults).__name__}")
        self.defaults: dict = dict(defaults)
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list = []
        if _is_param(params) or isinstance(params, dict):
            raise TypeError("params must be an iterable of Tensors or of dicts (parameter groups), "
                            f"not a single {type(params).__name__}; wrap it in a list")
        if not isinstance(params, Iterable) or isinstance(params, (str, bytes)):
            raise TypeError(f"params must be an iterable of Tensors or of dicts, got {type(params).__name__}")
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines) + "\n)"

    def _check_group(self, group: dict) -> None:
        """Raise TypeError/ValueError if a group's hyper-parameters are invalid: each name in
        ``checks`` (of this class and its bases) present in the group; subclasses add rules."""
        for cls in type(self).__mro__:
            for name, kind in vars(cls).get("checks", {}).items():
                if name in group:
                    if kind == "bool":
                        check_bool(name, group[name])
                    elif kind == "number":
                        check_number(_SPELLED.get(name, name), group[name])
                    elif group[name] is not None and check_bool(name, group[name]) and kind == "off":
                        raise ValueError(f"{type(self).__name__}: {name}=True is not supported ({_OFF[name]}); "
                                         f"leave {name}=False")

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters; hyper-parameters it does not set are taken from ``defaults``."""
        if not isinstance(param_group, dict):
            raise TypeError(f"a parameter group must be a dict, got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError("a parameter group must have a 'params' entry")
        params = param_group["params"]
        if not _is_param(params) and (not isinstance(params, Iterable) or isinstance(params, (str, bytes, dict))):
            raise TypeError(f"a parameter group's 'params' must be a Tensor or an iterable of Tensors, got "
                            f"{type(params).__name__}")
        if isinstance(params, (set, frozenset)):  # as torch: a set's order changes between runs
            raise TypeError(f"add_param_group: a parameter group's 'params' must be an ordered collection, got a "
                            f"{type(params).__name__} of {len(params)} tensor(s), whose order changes between "
                            "runs; use a list")
        params = [params] if _is_param(params) else list(params)
        names = None
        if params and all(isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str) for p in params):
            names, params = [n for n, _ in params], [p for _, p in params]  # named_parameters(), as torch
        if self.param_groups and (names is None) != ("param_names" not in self.param_groups[0]):
            raise ValueError("add_param_group: all parameter groups must be given with names (named_parameters()) "
                             "or all without")
        for p in params:
            if not _is_param(p):
                raise TypeError(f"an optimizer can only optimize Tensors, got {type(p).__name__}")
            if getattr(p, "_op", None) is not None:
                raise ValueError(f"an optimizer can only optimize leaf tensors; got the result of op "
                                 f"'{p._op.name}' (shape {p.data.shape}): optimize the tensor it was computed "
                                 "from, or detach() it and set requires_grad")
        group = {k: v for k, v in param_group.items() if k != "params"}
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        group["params"] = params
        if names is not None:
            group["param_names"] = names
        ids = [id(p) for p in params]
        taken = {id(p) for g in self.param_groups for p in g["params"]}
        if len(set(ids)) != len(ids) or taken.intersection(ids):
            raise ValueError("a parameter appears more than once in the optimizer's parameter groups")
        self._check_group(group)
        self.param_groups.append(group)
        if self.takes_factors and self._factored_group(group):
            keep_factors(params)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear ``.grad`` and everything per-sample of every parameter (``set_to_none=False``:
        zero the ``.grad`` arrays instead, as torch)."""
        set_to_none = check_bool("set_to_none", set_to_none)
        for group in self.param_groups:
            for p in group["params"]:
                p.zero_grad(set_to_none)

    # ---------------------------------------------------------------- the loop ----------
    def _gradients(self) -> list:
        """Every (group, parameter, gradient) of this step, checked before anything changes:
        the groups' hyper-parameters, each gradient's shape, maximize and weight decay."""
        work: list = []
        roots: list = []  # the memory of this optimizer's parameters, found when first needed
        checked = self.__dict__.setdefault("_checked", {})
        for group in self.param_groups:
            # re-check a group's hyper-parameters only when they changed (a scheduler or the
            # user may have written new values into the dict since the last step)
            sig = (tuple(group), tuple(group.values()))
            try:
                same = checked.get(id(group)) == sig
            except Exception:  # (a new params list: its Tensors compare elementwise, as torch's)
                same = False
            if not same:
                self._check_group(group)
                checked[id(group)] = sig
            wd = float(group.get("weight_decay", 0.0))
            neg = bool(group.get("maximize", False))
            for p in group["params"]:
                if type(p) is not Tensor:
                    g, d = p.grad, p.data
                elif p._lazy:  # (a weight gradient kept as factors)
                    if self.takes_factors and not neg and wd == 0 and (g := self._factors(p, roots)) is not None:
                        work.append((group, p, g))
                        continue
                    g, d = p.grad, p._data
                else:
                    g, d = p._grad, p._data
                if g is None:
                    continue
                if type(g) is not np.ndarray or g.dtype is not d.dtype or g.shape != d.shape:
                    g = self._checked_gradient(g, d)
                if neg:
                    g = -g
                if wd != 0 and not (self.decoupled_weight_decay or group.get("decoupled_weight_decay")):
                    g = g + wd * d
                if type(g) is not np.ndarray:  # (numpy gives a scalar for a 0-d parameter: an
                    g = np.asarray(g)  # update rule must get an array it can keep and update in place)
                work.append((group, p, g))
        for _, p, _ in work:  # (a read-only one would stop the step after it changed the others)
            if not (p._data if type(p) is Tensor else p.data).flags.writeable:
                raise ValueError(f"{type(self).__name__}.step: a parameter of shape {p.shape} holds a read-only "
                                 "array (flags.writeable is False), which a step cannot update; nothing was changed")
        return work

    def _factored_group(self, group: dict) -> bool:
        """Whether update() applies a factored gradient for this group (see ``takes_factors``)."""
        return False

    def _factors(self, p: Tensor, roots: list) -> Optional[LazyGrad]:
        """``p``'s gradient as one ``LazyGrad`` (sum_k G_k^T X_k) when an update rule may apply it
        from its factors: all of it kept so, of ``p``'s shape and dtype, and no factor in the
        memory of a parameter of this optimizer (which a step could change before the factor is
        read). Else None: the step multiplies it out first, as ``.grad`` does."""
        d, lazy = p._data, p._lazy
        if p._grad is not None or any(lg.dtype != d.dtype or lg.shape != d.shape for lg in lazy):
            return None
        if not roots:
            roots.append({id(_root(q._data if type(q) is Tensor else q.data))
                          for group in self.param_groups for q in group["params"]})
        held = roots[0]
        for lg in lazy:
            for G, X in lg.parts:
                if id(_root(G)) in held or id(_root(X)) in held:
                    return None
        return lazy[0] if len(lazy) == 1 else LazyGrad([part for lg in lazy for part in lg.parts], d.shape, d.dtype)

    def _checked_gradient(self, g: Any, d: np.ndarray) -> np.ndarray:
        """A gradient that is not already an array of its parameter's shape and dtype: checked
        (TypeError / ShapeMismatchError naming the step) and cast to the parameter's dtype."""
        if not isinstance(g, np.ndarray) or g.dtype.kind not in "biuf":
            raise TypeError(f"{type(self).__name__}.step: a gradient must be a numeric numpy array, got "
                            f"{type(g).__name__}{f' of dtype {g.dtype}' if isinstance(g, np.ndarray) else ''} "
                            f"for a parameter of shape {d.shape}; nothing was changed")
        if g.shape != d.shape:
            raise ShapeMismatchError(f"{type(self).__name__}.step: gradient of shape {g.shape} does not match "
                                     f"its parameter's shape {d.shape}; nothing was changed")
        g = np.asarray(g)
        return g.astype(d.dtype) if g.dtype != d.dtype else g

    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        """Update the parameters from their gradients (``closure``, if given, is called
        first to recompute the loss, and its result returned)."""
        loss = closure() if closure is not None else None
        state = self.state
        update = self.update
        work = self._gradients()
        if self.update_flat is not None and packed.usable(self):  # (small parameters as one array)
            work = packed.apply(self, work)
        for group, p, g in work:
            st = state[p]
            if st:
                _follow_dtype(st, g)
            update(p, g, st, group)
            changed(p)
        return loss

    # a rule that, for the groups where ``flat_group(group)`` holds, changes every element of every
    # parameter alike and keeps no state may also define ``update_flat(flat, gflat, group)``: the
    # same rule on one flat array of small parameters and their gradients (``packed.py``)
    update_flat: Optional[Callable[[np.ndarray, np.ndarray, dict], None]] = None

    def flat_group(self, group: dict) -> bool:
        """Whether ``update_flat`` applies to ``group`` (with its hyper-parameters of now)."""
        return False

    def update(self, p: Any, g: np.ndarray, state: dict, group: dict) -> None:
        """The update rule for one parameter ``p`` with gradient ``g`` (subclasses)."""
        raise NotImplementedError(f"{type(self).__name__} implements neither update() nor step()")

    # ---------------------------------------------------------------- state -------------
    def state_dict(self) -> dict:
        """The optimizer's state as plain data (arrays, numbers, strings, lists, dicts).

        Parameters are referred to by their index in the order of the groups:
        ``{"state": {index: {buffer name: value}}, "param_groups": [{..., "params": [indices]}]}``.
        Arrays are copies, so later steps do not change a saved state dict.
        """
        index: dict = {}
        groups = []
        for group in self.param_groups:
            saved = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            saved["params"] = []
            for p in group["params"]:
                index[id(p)] = len(index)
                saved["params"].append(index[id(p)])
            groups.append(saved)
        state = {index[id(p)]: copy.deepcopy(self.state[p])
                 for group in self.param_groups for p in group["params"] if self.state.get(p)}
        return {"state": state, "param_groups": groups}

    def _check_buffer(self, name: str, value: Any, p: Any, key: Any) -> Any:
        """A loaded state buffer, validated against its parameter (subclasses may refine)."""
        kind = self.buffers.get(name)
        if name == "step" and isinstance(value, np.ndarray):
            if value.size != 1:
                raise ValueError(f"state buffer 'step' of parameter {key!r} must be a non-negative int, got an "
                                 f"array of shape {value.shape}")
            value = value.item()  # a step saved as a 0-d (or one-element) array
        if kind is None and "buffers" in vars(type(self)) and self.buffers:  # (a subclass may add its own)
            raise ValueError(f"state of parameter {key!r} has an unknown buffer {name!r} (a {type(self).__name__} "
                             f"keeps {sorted(self.buffers)})")
        if kind == "scalar":
            if isinstance(value, np.ndarray) and value.size == 1:
                value = value.item()
            return check_number(f"state buffer {name!r} of parameter {key!r}", value, -math.inf)
        if kind == "array?" and value is None:
            return None
        if kind in ("array", "array?") and not isinstance(value, np.ndarray):
            raise ValueError(f"state buffer {name!r} of parameter {key!r} is a {type(value).__name__}, not an array "
                             f"of the parameter's shape {p.data.shape}")
        if kind in ("array", "array?") and value.shape != p.data.shape:
            raise ValueError(f"state buffer {name!r} of parameter {key!r} has shape {value.shape}, but the parameter "
                             f"has shape {p.data.shape}")
        if kind is None and isinstance(value, (np.ndarray, list, tuple, dict)):
            return _free_buffer(name, value, p, key)
        if isinstance(value, np.ndarray):
            if value.ndim > 0 and value.shape != p.data.shape:
                raise ValueError(f"state buffer {name!r} of parameter {key!r} has shape {value.shape}, "
                                 f"but the parameter has shape {p.data.shape}")
            if value.dtype.kind not in "biuf":
                raise ValueError(f"state buffer {name!r} of parameter {key!r} has non-numeric dtype {value.dtype}")
            # an update rule's buffer (even one saved as ints or bools) takes a float parameter's dtype,
            # as torch casts it: an integer moment could not be updated in place
            known = kind in ("array", "array?") and p.data.dtype.kind == "f"
            if value.shape == p.data.shape and (known or np.issubdtype(value.dtype, np.floating)):
                return value.astype(p.data.dtype)  # astype copies
            return value.copy()
        if name == "step":
            if isinstance(value, (float, np.floating)) and float(value).is_integer():
                value = int(value)  # a count kept as a float, as torch keeps it (a float32 tensor)
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < 0:
                raise ValueError(f"state buffer 'step' of parameter {key!r} must be a non-negative int, "
                                 f"got {value!r}")
            return int(value)
        if isinstance(value, (numbers.Real, str, type(None))):
            return value
        raise ValueError(f"state buffer {name!r} of parameter {key!r} has unsupported type {type(value).__name__}")

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore a state made by ``state_dict()``: buffers and hyper-parameters of every group.

        Everything is validated first (the number of groups and of parameters, every
        buffer's shape and type, every group's hyper-parameters); on any problem a
        ValueError/TypeError names it and nothing is changed. Loaded arrays are copied
        (floating ones cast to their parameter's dtype).
        """
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= state_dict.keys():
            raise ValueError("an optimizer state_dict is a dict with the entries 'state' and 'param_groups', "
                             f"got {type(state_dict).__name__}")
        saved_groups = state_dict["param_groups"]
        if not isinstance(saved_groups, (list, tuple)) or not all(
                isinstance(g, dict) and "params" in g for g in saved_groups):
            raise ValueError("state_dict['param_groups'] must be a list of dicts with a 'params' entry")
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"the loaded state_dict has {len(saved_groups)} parameter group(s), "
                             f"this optimizer has {len(self.param_groups)}")
        by_index: dict = {}
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if not isinstance(saved["params"], (list, tuple)) or len(saved["params"]) != len(group["params"]):
                n = len(saved["params"]) if isinstance(saved["params"], (list, tuple)) else "a malformed list of"
                raise ValueError(f"parameter group {i} has {n} parameter(s) in the loaded state_dict and "
                                 f"{len(group['params'])} in this optimizer")
            try:
                indices = [_index(k) for k in saved["params"]]
            except (TypeError, ValueError):
                raise ValueError(f"param_groups[{i}]['params'] must be a list of parameter indices") from None
            by_index.update(zip(indices, group["params"]))
        if len(by_index) != sum(len(g["params"]) for g in self.param_groups):
            raise ValueError("a parameter index appears twice in the loaded state_dict's param_groups")
        if not isinstance(state_dict["state"], dict):
            raise TypeError("state_dict['state'] must be a dict keyed by parameter index")
        new_state: defaultdict = defaultdict(dict)
        for key, buffers in state_dict["state"].items():
            try:
                p = by_index[_index(key)]
            except (KeyError, ValueError, TypeError):
                raise ValueError(f"the loaded state_dict has state for parameter {key!r}, which is not one of "
                                 f"this optimizer's {len(by_index)} parameter indices") from None
            if not isinstance(buffers, dict):
                raise TypeError(f"the state of parameter {key!r} is a {type(buffers).__name__}, not a dict")
            new_state[p] = {name: self._check_buffer(name, value, p, key) for name, value in buffers.items()}
            lacking = [n for n in self.required if n not in buffers]
            if buffers and lacking:
                raise ValueError(f"the state of parameter {key!r} lacks the buffer(s) {lacking}")
        new_groups = []
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            missing = sorted(self.defaults.keys() - saved.keys() - _OPTIONAL)
            if missing:
                raise ValueError(f"parameter group {i} of the loaded state_dict lacks {', '.join(missing)}")
            new_group = {k: copy.deepcopy(v) for k, v in saved.items() if k != "params"}
            for k in _OPTIONAL & (group.keys() - saved.keys()):  # (a state saved before they were kept)
                new_group[k] = group[k]
            new_group["params"] = group["params"]
            self._check_group(new_group)
            new_groups.append(new_group)
        for i, group in enumerate(new_groups):  # buffers only some settings keep (RMSprop's momentum)
            for p in group["params"]:
                lacking = [n for n in self._needs(group) if p in new_state and new_state[p] and n not in new_state[p]]
                if lacking:
                    raise ValueError(f"the state of a parameter of shape {p.data.shape} in group {i} lacks the "
                                     f"buffer(s) {lacking}, which the group's settings keep; nothing was loaded")
        self._check_loaded(new_state, new_groups)
        # all checks passed: commit (group dicts are updated in place, so references stay valid)
        self.state = new_state
        for group, new_group in zip(self.param_groups, new_groups):
            group.clear()
            group.update(new_group)

    def _needs(self, group: dict) -> tuple:
        """The buffers beyond ``required`` that a stepped parameter of ``group`` keeps (subclasses)."""
        return ()

    def _check_loaded(self, state: dict, groups: list) -> None:
        """Subclass hook: cross-checks of a loaded state before it is committed."""


wrap(Optimizer)
