"""Module (parameters, buffers, train/eval, state dicts), Linear and the containers
(Sequential, ModuleList, Identity, Flatten), shaped like PyTorch's ``torch.nn``.

A parameter is a leaf ``Tensor`` attribute that requires grad, or was created requiring it
(a frozen parameter, ``requires_grad_(False)``, stays one, as in torch), or a leaf scalar
``Value`` (micrograd-style models); a buffer is a Tensor
registered with ``register_buffer`` (saved and loaded with the parameters, never trained,
e.g. BatchNorm's running statistics); a child is a ``Module`` attribute (also inside a
list, tuple or dict). Linear is one fused graph node with its own per-sample rule.
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from typing import Any, Iterator, NamedTuple, Optional, Union

import numpy as np

from .. import hooks as _hooks
from .. import ops
from ..conventions import ShapeMismatchError, check_bool
from ..factories import param_dtype
from ..graph import state
from ..hooks import MODULES as _MODULE_HOOKS
from ..ops.base import allocating, too_big, with_operands
from ..ops.base import const as _const
from ..random import as_generator
from ..tensor import Tensor
from ..value import Value
from .module_api import Listed, ModuleAPI, _cast, _check_name, _named, cycle_safe_repr
from .state_hooks import StateHooks, has_load_post, run_load_post, run_load_pre, run_state_post, run_state_pre
from .statearray import StateArray

__all__ = ["Module", "Linear", "Sequential", "ModuleList", "Identity", "Flatten"]


def _as_tensor(x: Any) -> Tensor:
    """A Tensor as it is; an array (or array-like) wrapped without copying, as operators do."""
    return x if isinstance(x, Tensor) else _const(x)


def _rng(rng: Union[None, int, np.random.Generator]) -> np.random.Generator:
    return as_generator(rng)


class Module(ModuleAPI, StateHooks):
    """Base class of all layers and models.

    Parameters are found by walking attributes: a leaf ``Tensor`` that requires grad (or
    was created requiring it, a frozen parameter) is a parameter; a ``Module`` (also inside
    a list, tuple or dict attribute) is a child.
    Calling a module runs ``forward``. ``ModuleAPI`` adds torch's ``apply``, ``to``,
    ``float``, ``add_module``, ``get_submodule`` and the like.
    """

    training: bool = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A layer of this package whose size arguments ask for more memory than there is says so
        by name (``AllocationError``), instead of numpy's message naming no layer."""
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is not None and cls.__module__.startswith("tinygrad_lite."):
            cls.__init__ = allocating(None)(init)  # type: ignore[method-assign]

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __setattr__(self, name: str, value: Any) -> None:
        """As torch: a parameter's or a buffer's attribute takes a Tensor or None, a child's a Module
        or None; anything else would silently stop being trained or saved (TypeError naming it). (A
        Tensor that is not a parameter may replace one: a weight computed from others, functional style.)"""
        d = self.__dict__
        old = d.get(name)
        buffer = name in d.get("_buffer_names", ())  # (None below: an absent parameter, torch's empty slot)
        param = not buffer and (_is_param(old) if isinstance(old, Tensor) else
                                old is None and name in d.get("_absent", ()))
        if buffer and (isinstance(value, Module) or getattr(value, "_param", False)):  # (it takes the name over)
            Module.__delattr__(self, name)
            buffer = False
        if value is not None and not isinstance(value, Tensor) and (buffer or param):
            raise TypeError(f"{type(self).__name__}: cannot assign {type(value).__name__} as "
                            f"{'buffer' if buffer else 'parameter'} {name!r} (a Tensor or None expected); to change "
                            f"its values write `with tl.no_grad(): module.{name}.copy_(...)`")
        if param and isinstance(value, Tensor) and value._op is None and not _is_param(value):  # (torch's rule)
            raise TypeError(f"{type(self).__name__}: cannot assign a Tensor that is no parameter as parameter "
                            f"{name!r} (tl.nn.Parameter, a Tensor with requires_grad=True, or None expected); to "
                            f"change its values write `with tl.no_grad(): module.{name}.copy_(...)`")
        if isinstance(old, Module) and value is not None and not isinstance(value, Module):
            raise TypeError(f"{type(self).__name__}: cannot assign {type(value).__name__} as child module {name!r} "
                            "(a Module or None expected)")
        if value is None and isinstance(old, Tensor) and _is_param(old):
            d.setdefault("_absent", set()).add(name)  # (the parameter's slot stays one, as torch's)
        object.__setattr__(self, name, value) if not getattr(type(value), "_is_buffer", 0) else value._adopt(self, name)

    def __delattr__(self, name: str) -> None:
        """Delete an attribute; a buffer's name stops being one (as torch)."""
        object.__delattr__(self, name)
        for key in ("_buffer_names", "_non_persistent"):
            names = self.__dict__.get(key)
            if names is not None and name in names:
                names.remove(name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _MODULE_HOOKS:  # some module has hooks (module_api's register_*_hook)
            return _hooks.call(self, args, kwargs)
        stack = state.modules
        stack.append(self)
        try:
            return self.forward(*args, **kwargs)
        except RecursionError as e:
            if len(stack) > 1:  # not yet the outermost call: let it unwind
                raise
            raise RecursionError(f"{type(self).__name__}: forward went past Python's recursion limit "
                               f"({sys.getrecursionlimit()}): modules nested too deeply, a module that calls "
                               "itself, or a deeply recursive forward") from e
        except Exception as e:
            if isinstance(e, TypeError):  # an input that is no tensor: the innermost module says it was given it
                _named(self, e)
            self._failed(e, args, kwargs)
            raise
        finally:
            stack.pop()

    def _failed(self, e: BaseException, args: tuple, kwargs: dict) -> None:
        """Give an error of this module's forward its inputs and own tensors as ``.operands``
        (unless an op inside gave its own), for ``tl.viz.draw_graph(e)``."""
        with_operands(e, type(self).__name__, (*args, *kwargs.values()),
                      tuple(v for _, _, v in self._entries() if isinstance(v, Tensor)))

    # ----------------------------------------------------------------- traversal -------
    def _entries(self) -> list:
        """The members as (attribute, index or key or None, value): the Tensors and Modules
        held directly or inside a list, tuple or dict attribute (the one membership rule)."""
        out: list = []
        for name, v in vars(self).items():
            if isinstance(v, _MEMBER):
                out.append((name, None, v))
            elif isinstance(v, (list, tuple)):
                out += [(name, i, item) for i, item in enumerate(v) if isinstance(item, _MEMBER)]
            elif isinstance(v, dict):
                out += [(name, k, item) for k, item in v.items() if isinstance(item, _MEMBER)]
        return out

    def _members(self) -> Iterator[tuple]:
        for name, key, v in self._entries():
            yield (name if key is None else f"{name}.{key}"), v

    def _child_items(self) -> Iterator[tuple]:
        """(name, module) for each direct child, a module held under two names under both."""
        for name, v in self._members():
            if isinstance(v, Module):
                yield name, v

    def named_children(self) -> Iterator[tuple]:
        """(name, module) for each direct child module; a module held under two names is
        listed once, under the first (as torch)."""
        seen: set = set()
        for name, m in self._child_items():
            if id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self) -> Iterator["Module"]:
        for _, m in self.named_children():
            yield m

    def named_modules(self, memo: Optional[set] = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple]:
        """(dotted name, module) for this module and every module below it, parents first, as
        torch: names start with ``prefix``; a module in ``memo`` (a set, filled on the way) is
        skipped; ``remove_duplicate=False`` lists a shared module under each of its names."""
        if memo is not None and not isinstance(memo, set):
            raise TypeError(f"named_modules: memo must be a set of modules or None, got {type(memo).__name__} "
                            f"{memo!r} (the prefix is the second argument: prefix=...)")
        if not isinstance(prefix, str):
            raise TypeError(f"named_modules: prefix must be a string, got {prefix!r}")
        check_bool("named_modules", "remove_duplicate", remove_duplicate)
        seen: set = set() if memo is None else memo  # (without a memo, by id: a module need not be hashable)
        stack: list = [(prefix, self, ())]
        while stack:
            name, m, above = stack.pop()
            key = id(m) if memo is None else m
            if key in seen:  # (a memo given is honoured either way; it is filled only when removing duplicates)
                continue
            if remove_duplicate:
                seen.add(key)
            yield name, m
            inside = above + (id(m),)  # (a module that holds itself: once)
            kids = [(f"{name}.{c}" if name else c, child, inside) for c, child in m._child_items()
                    if id(child) not in inside]
            stack += reversed(kids)

    def modules(self) -> Iterator["Module"]:
        for _, m in self.named_modules():
            yield m

    def _walk(self, who: str, prefix: str, recurse: bool, remove_duplicate: bool) -> Any:
        """The (name, module) pairs a ``named_*`` walk visits: all below (``recurse``) or self."""
        check_bool(who, "recurse", recurse)
        check_bool(who, "remove_duplicate", remove_duplicate)
        if not isinstance(prefix, str):
            raise TypeError(f"{who}: prefix must be a string, got {prefix!r}")
        return self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple]:
        """(dotted name, parameter), e.g. ``0.weight``, ``layers.2.bias``; each once (unless
        ``remove_duplicate=False``); ``recurse=False``: this module's own parameters only."""
        seen: set = set()
        for mname, m in self._walk("named_parameters", prefix, recurse, remove_duplicate):
            for name, v in m._members():
                if isinstance(v, _PARAM) and _is_param(v) and not (remove_duplicate and id(v) in seen):
                    seen.add(id(v))
                    yield (f"{mname}.{name}" if mname else name), v

    def parameters(self, recurse: bool = True) -> list:
        """The parameters, in ``named_parameters`` order (the same walk and membership rule as
        ``_entries``, without the names or the entry tuples: ``zero_grad()`` and optimizers
        call it every step); ``recurse=False``: this module's own parameters only."""
        if recurse is not True:
            return Listed(p for _, p in self.named_parameters(recurse=recurse))
        out = Listed()
        seen: set = set()
        stack: list = [self]
        while stack:
            m = stack.pop()
            if id(m) in seen:
                continue
            seen.add(id(m))
            kids = []
            for v in vars(m).values():
                if isinstance(v, _MEMBER):
                    items: Any = (v,)
                elif isinstance(v, (list, tuple)):
                    items = v
                elif isinstance(v, dict):
                    items = v.values()
                else:
                    continue
                for v in items:
                    if isinstance(v, _PARAM):
                        if _is_param(v) and id(v) not in seen:
                            seen.add(id(v))
                            out.append(v)
                    elif isinstance(v, Module):
                        kids.append(v)
            stack += reversed(kids)
        return out

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear ``grad`` and everything per-sample of every parameter (``set_to_none=False``:
        zero the ``grad`` arrays instead, as torch)."""
        check_bool("zero_grad", "set_to_none", set_to_none)
        for p in self.parameters():
            if isinstance(p, Value):  # a scalar's gradient is a float: back to 0.0, never None
                p.grad = 0.0
            else:
                p.zero_grad(set_to_none)

    # ----------------------------------------------------------------- buffers ---------
    def register_buffer(self, name: str, value: Any, persistent: bool = True) -> None:
        """Keep ``value`` (an array or Tensor, or None) as the buffer ``name``: an attribute
        that is saved in ``state_dict`` and loaded by ``load_state_dict`` but is not a
        parameter (no gradient), like BatchNorm's ``running_mean``. A leaf Tensor that is not
        a parameter is kept as it is (the same object), anything else as a new Tensor.
        ``persistent=False``: listed by ``named_buffers`` but left out of state dicts."""
        _check_name("register_buffer", "buffer", name)
        check_bool("register_buffer", "persistent", persistent)
        names = self.__dict__.setdefault("_buffer_names", [])
        if name not in names:  # as torch: a parameter, child or other attribute of that name is kept
            self._check_free("register_buffer", name, lambda v: False)
        if value is not None and not (isinstance(value, Tensor) and value._op is None and not _is_param(value)
                                      and not value.batched):
            value = Tensor(value.data if isinstance(value, Tensor) else np.asarray(value))
        setattr(self, name, value)
        if name not in names:
            names.append(name)
        transient = self.__dict__.setdefault("_non_persistent", [])
        if persistent and name in transient:
            transient.remove(name)
        elif not persistent and name not in transient:
            transient.append(name)

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple]:
        """(dotted name, buffer Tensor) of this module and every module below it (``recurse=False``:
        of this module only); a buffer held twice is listed once unless ``remove_duplicate=False``."""
        seen: set = set()
        for mname, m in self._walk("named_buffers", prefix, recurse, remove_duplicate):
            for name in m.__dict__.get("_buffer_names", ()):
                b = getattr(m, name, None)
                if isinstance(b, Tensor) and not (remove_duplicate and id(b) in seen):
                    seen.add(id(b))
                    yield (f"{mname}.{name}" if mname else name), b

    def buffers(self, recurse: bool = True) -> list:
        """The buffers, in ``named_buffers`` order (``recurse=False``: this module's own)."""
        return Listed(b for _, b in self.named_buffers(recurse=recurse))

    # ----------------------------------------------------------------- state -----------
    def _state_tensors(self) -> "OrderedDict[str, Tensor]":
        """Parameters and persistent buffers by dotted name, module by module. As torch's state
        dict, a tensor or module reached under two names (tied weights, a layer used twice) is
        listed under both."""
        out: "OrderedDict[str, Tensor]" = OrderedDict()
        stack: list = [("", self, ())]
        while stack:
            mname, m, above = stack.pop()
            buffers = m.__dict__.get("_buffer_names", ())
            transient = m.__dict__.get("_non_persistent", ())
            for name, v in m._members():
                if isinstance(v, _PARAM) and _is_param(v) and name not in buffers:
                    out[f"{mname}.{name}" if mname else name] = v
            for name in buffers:
                if name not in transient and isinstance(getattr(m, name, None), Tensor):
                    out[f"{mname}.{name}" if mname else name] = getattr(m, name)
            inside = above + (id(m),)
            kids = [(f"{mname}.{n}" if mname else n, c, inside) for n, c in m._child_items()
                    if id(c) not in inside]  # (a module that holds itself: once)
            stack += reversed(kids)
        return out

    def state_dict(self, *, destination: Optional[dict] = None, prefix: str = "",
                   keep_vars: bool = False) -> "OrderedDict[str, np.ndarray]":
        """Parameter and buffer name -> a copy of its array (PyTorch's keys: ``0.weight``,
        ``bn.running_mean``, ``bn.num_batches_tracked`` ...), each key preceded by ``prefix``;
        ``keep_vars=True``: the Tensors themselves instead of copies; ``destination``: a dict
        to fill (and return) instead of a new one."""
        if not isinstance(prefix, str):
            raise TypeError(f"state_dict: prefix must be a string, got {prefix!r}")
        check_bool("state_dict", "keep_vars", keep_vars)
        if destination is not None and not isinstance(destination, dict):
            raise TypeError(f"state_dict: destination must be a dict or None, got {type(destination).__name__}")
        out = OrderedDict() if destination is None else destination
        run_state_pre(self, prefix, keep_vars)  # (the modules' state-dict hooks, state_hooks.py)
        for name, t in self._state_tensors().items():
            out[prefix + name] = t if keep_vars else (
                np.array(t.data) if isinstance(t, Value) else StateArray.copy_of(t.data))
        run_state_post(self, out, prefix)
        return out

    def load_state_dict(self, state: Any, strict: bool = True, assign: bool = False) -> "IncompatibleKeys":
        """Copy arrays into the parameters and buffers, all or nothing: every problem is listed in
        one error, a missing or unexpected key (``strict``; load post-hooks may clear them, as
        torch's) ``KeyError`` (a norm layer's missing ``num_batches_tracked`` keeps its value, as
        torch), else a wrong shape or a non-numeric value ``ValueError``; on any error nothing
        changes. Values keep each tensor's dtype (like PyTorch), so ``{k: v.numpy() for k, v in
        torch_model.state_dict().items()}`` loads. ``assign=True``: each tensor takes the given
        array itself (no copy) and its dtype, as torch's ``assign``. Returns ``(missing_keys,
        unexpected_keys)`` as torch does (empty unless ``strict=False``)."""
        if not hasattr(state, "keys") or not hasattr(state, "__getitem__"):
            raise TypeError(f"load_state_dict: expected a dict of arrays, got {type(state).__name__}")
        check_bool("load_state_dict", "strict", strict)
        check_bool("load_state_dict", "assign", assign)
        state = run_load_pre(self, state, strict)  # (may rename keys, in a copy: state_hooks.py)
        params = self._state_tensors()
        lazy = []  # uninitialised lazy layers (lazy.py), built for the sizes the state implies
        for n, m in self.named_modules():
            if "_lazy_args" in m.__dict__:
                real = m._for_state(state, f"{n}." if n else "")
                lazy += [(m, real, f"{n}." if n else "")] if real is not None else []
        checked = dict(params)
        for _, real, prefix in lazy:
            checked.update({prefix + k: t for k, t in real._state_tensors().items()})
        missing = [k for k in params if k not in state  # (a norm layer's counter may be absent, as torch
                   and k.rsplit(".", 1)[-1] != "num_batches_tracked"]  # allows: it keeps its value)
        extra = [k for k in state if k not in params]
        keyed = [f"missing keys {missing}"] * bool(strict and missing) + [f"unexpected keys {extra}"] * bool(
            strict and extra)
        problems, new = [], {}
        for k, p in checked.items():
            if k in state:
                arr, why = _loadable(k, state[k], p, assign)
                problems += [why] if why else []
                new[k] = arr
        # (with key problems and post-hooks, which may clear them as torch's do, the load is tried and undone)
        if problems or (keyed and (lazy or not has_load_post(self))):
            raise (KeyError if keyed else ValueError)(f"load_state_dict: {'; '.join(keyed + problems)}")
        if lazy:
            for m, real, _ in lazy:
                m._install(real)
            params = self._state_tensors()
        old = {k: np.array(params[k].data) if isinstance(params[k], Value) else params[k].data for k in new}
        _put(params, new)
        result = IncompatibleKeys(missing, extra)
        run_load_post(self, result)
        if keyed and strict and (result.missing_keys or result.unexpected_keys):
            _put(params, old)  # (all or nothing: the weights as they were)
            raise KeyError("load_state_dict: " + "; ".join([f"missing keys {result.missing_keys}"] * bool(
                result.missing_keys) + [f"unexpected keys {result.unexpected_keys}"] * bool(result.unexpected_keys)))
        return result

    @cycle_safe_repr
    def __repr__(self) -> str:
        """torch's layout: ``Name(extra)`` for a leaf module; else the extra lines, then one
        ``(name): child`` line per child, indented."""
        kids = list(self._child_items())
        extra = self.extra_repr()
        if not kids and "\n" not in extra:
            return f"{type(self).__name__}({extra})"
        lines = (extra.split("\n") if extra else []) + [f"({n}): " + repr(m) for n, m in kids]
        body = "\n".join("  " + line.replace("\n", "\n  ") for line in lines)
        return f"{type(self).__name__}(\n{body}\n)"

    def extra_repr(self) -> str:
        return ""


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict`` did not match: the model's keys missing from the state dict,
    and the state dict's keys the model does not have."""

    missing_keys: list
    unexpected_keys: list

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return f"IncompatibleKeys(missing_keys={self.missing_keys}, unexpected_keys={self.unexpected_keys})"


def _put(params: dict, arrays: dict) -> None:
    """Each ``params[k]`` takes ``arrays[k]`` (and its dtype, with its gradients: ``_cast``)."""
    for k, arr in arrays.items():
        if isinstance(params[k], Value):
            params[k].data = float(arr)
        else:
            _cast(params[k], arr.dtype)
            params[k].data = arr


def _loadable(key: str, v: Any, p: Union[Tensor, Value], assign: bool) -> tuple:
    """``(array to load, None)`` for the state dict's entry ``key``, or ``(None, why not)``:
    the model tensor ``p``'s shape and, unless ``assign``, a copy in its dtype."""
    try:
        arr = np.asarray(v.data if isinstance(v, (Tensor, Value)) else v)
    except (TypeError, ValueError):
        return None, f"{key!r} is not an array (got {type(v).__name__})"
    if arr.dtype.kind not in "biuf":
        return None, f"{key!r} has non-numeric dtype {arr.dtype} (got {type(v).__name__})"
    if arr.shape != np.shape(p.data):
        return None, f"{key!r} has shape {arr.shape}, the model's tensor has shape {np.shape(p.data)}"
    target = np.result_type(p.data)
    if not assign and target.kind in "biu" and arr.dtype.kind == "f" and not np.isfinite(arr).all():
        return None, (f"{key!r} holds NaN or infinite values, which the model's {target} tensor of shape "
                      f"{np.shape(p.data)} cannot take")
    if not assign:
        return arr.astype(target, copy=True), None
    if arr.dtype.kind != "f" and isinstance(p, Tensor) and _is_param(p):
        return None, f"{key!r} has dtype {arr.dtype}; with assign=True a parameter needs a floating-point array"
    return arr, None


_MEMBER = (Module, Tensor, Value)  # what an attribute (or an item of a list, tuple or dict one) may be
_PARAM = (Tensor, Value)  # what may be a parameter


def _is_param(t: Union[Tensor, Value]) -> bool:
    """A parameter: a leaf Tensor that requires grad, or was created requiring it (frozen); a
    leaf Value (a scalar engine weight, frozen or not)."""
    return t._op is None and (t.requires_grad or getattr(t, "_param", False) or isinstance(t, Value))


class Linear(Module):
    """y = x @ W.T + b with W of shape (out_features, in_features), b of shape (out_features,).

    Initialised like PyTorch: W and b uniform in [-1/sqrt(in), 1/sqrt(in)], drawn from
    ``rng`` (a numpy Generator or an int seed). One graph node; per sample b,
    dterm_b/dW = g_b^T x_b and dterm_b/db = g_b.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 rng: Union[None, int, np.random.Generator] = None, dtype: Any = np.float64, *,
                 device: Any = None) -> None:
        for name, v in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
                raise TypeError(f"Linear: {name} must be an int, got {v!r}")
            if not 1 <= v < 2**63:
                raise ValueError(f"Linear: {name} must be >= 1 (an int64), got {v}")
        check_bool("Linear", "bias", bias)
        dtype = param_dtype("Linear", dtype, device)
        self.in_features, self.out_features = int(in_features), int(out_features)
        r = _rng(rng)
        bound = 1.0 / np.sqrt(in_features)
        try:
            self.weight = Tensor(r.uniform(-bound, bound, (out_features, in_features)).astype(dtype),
                                 requires_grad=True)
        except (MemoryError, ValueError) as e:  # (numpy's refusal of a size past memory names nothing)
            raise too_big("Linear", e, (out_features, in_features)) or e from None
        self.register_parameter("bias", Tensor(r.uniform(-bound, bound, (out_features,)).astype(dtype),
                                               requires_grad=True) if bias else None)

    def reset_parameters(self) -> None:
        """Weight and bias drawn again, uniform in +-1/sqrt(in_features) (``nn.reset``)."""
        from .reset import fan_in
        fan_in(self)

    def forward(self, input: Any) -> Tensor:
        if type(input) is not Tensor:
            input = _as_tensor(input)
        xd = input._data
        w, b = self.weight, self.bias  # (their own shapes: functional_call may put others in)
        ws = w._data.shape
        if xd.ndim == 0 or xd.shape[-1] != ws[-1] or (b is not None and b._data.shape != ws[:1]):
            what = (f"input of shape {xd.shape} does not end in {ws[-1]}" if xd.ndim == 0 or xd.shape[-1] != ws[-1]
                    else f"bias of shape {b.shape} does not match")
            raise ShapeMismatchError(f"Linear(in_features={self.in_features}, out_features={self.out_features}): "
                                     f"{what} (weight of shape {ws})")
        return ops.LINEAR(input, w, b)

    def extra_repr(self) -> str:
        has_bias = self.bias is not None
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={has_bias}"


# (defined in sequential.py, which needs Module; kept importable from here)
from .sequential import Flatten, Identity, ModuleList, Sequential  # noqa: E402
