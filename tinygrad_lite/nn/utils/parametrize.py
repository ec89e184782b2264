"""``tl.nn.utils.parametrize``: a module's tensor recomputed from other tensors on each access,
as in PyTorch.

``register_parametrization(module, "weight", P)`` moves the parameter ``weight`` to
``module.parametrizations.weight.original`` (or, when ``P.right_inverse`` returns several
tensors, ``original0``, ``original1``, ...) and makes ``module.weight`` a property whose
value is ``P(original)`` (``P(original0, original1, ...)``), with further registered
parametrizations applied in turn. The module's class becomes a subclass named
``Parametrized<Class>``; its state dict holds the originals under torch's keys, and the
gradients (also per-sample ones) reach the originals through the recomputed tensor.
Assigning ``module.weight = value`` stores ``right_inverse(value)`` in the originals.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator, Optional

import numpy as np

from ...graph import no_grad
from ...tensor import Tensor
from ..containers import ModuleDict, Parameter
from ..module import Module
from ..sequential import ModuleList

__all__ = ["register_parametrization", "remove_parametrizations", "is_parametrized", "cached",
           "type_before_parametrizations", "ParametrizationList"]

_cache: dict = {}
_cache_depth = [0]


@contextlib.contextmanager
def cached() -> Iterator[None]:
    """Inside the block each parametrized tensor is computed once, on its first access, and
    that value is returned afterwards (one graph shared by every use)."""
    _cache_depth[0] += 1
    try:
        yield
    finally:
        _cache_depth[0] -= 1
        if not _cache_depth[0]:
            _cache.clear()


def _leaf_copy(t: Tensor, requires_grad: bool) -> Tensor:
    return Parameter(np.array(t.data), requires_grad)


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor (children ``0``, ``1``, ...) and its originals:
    ``original`` or ``original0``, ``original1``, ... (what the chain of ``right_inverse``
    made of the tensor given at registration)."""

    def __init__(self, modules: list, original: Tensor, unsafe: bool = False, buffer: bool = False) -> None:
        super().__init__(modules)
        self.unsafe = unsafe
        with no_grad():
            new: Any = original
            for m in reversed(modules):
                if hasattr(m, "right_inverse"):
                    try:
                        new = m.right_inverse(new)
                    except NotImplementedError:  # (as torch: the tensor is kept as the original)
                        pass
        if isinstance(new, Tensor):
            self.is_tensor, self.ntensors = True, 1
            if not unsafe and (new.data.dtype != original.data.dtype or new.data.shape != original.data.shape):
                raise ValueError(f"register_parametrization: right_inverse returned a tensor of dtype {new.data.dtype} "
                                 f"and shape {new.data.shape} for an original of dtype {original.data.dtype} and "
                                 f"shape {original.data.shape}; it may change neither (use unsafe=True to allow it)")
            if new is not original:  # (the same parameter object keeps its identity, as torch)
                original.data = np.array(new.data, dtype=original.data.dtype)
            if buffer:
                self.register_buffer("original", original)
            else:
                self.original = original
        else:
            if not isinstance(new, (tuple, list)) or not all(isinstance(t, Tensor) for t in new):
                raise ValueError(f"register_parametrization: right_inverse must return a Tensor or a sequence of "
                                 f"Tensors, got {type(new).__name__}")
            self.is_tensor, self.ntensors = False, len(new)
            for i, t in enumerate(new):
                if buffer:
                    self.register_buffer(f"original{i}", np.array(t.data))
                else:
                    setattr(self, f"original{i}", _leaf_copy(t, original.requires_grad))

    def originals(self) -> list:
        return [self.original] if self.is_tensor else [getattr(self, f"original{i}") for i in range(self.ntensors)]

    def right_inverse(self, value: Any) -> None:
        """Store ``value`` (what the tensor should become) in the originals, through the
        ``right_inverse`` of each parametrization, last first; nothing is recorded."""
        with no_grad():
            for m in reversed(self.layers):
                if not hasattr(m, "right_inverse"):
                    raise RuntimeError(f"right_inverse: parametrization {type(m).__name__} does not implement "
                                       "right_inverse")
                value = m.right_inverse(value if isinstance(value, (Tensor, tuple, list)) else Tensor(value))
            values = [value] if self.is_tensor else list(value)
            if len(values) != self.ntensors:
                raise ValueError(f"right_inverse: expected {self.ntensors} tensors, got {len(values)}")
            olds = self.originals()
            for o, v in zip(olds, values):
                arr = np.asarray(v.data if isinstance(v, Tensor) else v)
                if arr.shape != o.data.shape:
                    raise ValueError(f"right_inverse: a tensor of shape {arr.shape} cannot replace the original of "
                                     f"shape {o.data.shape}")
                if self.is_tensor and not self.unsafe and arr.dtype != o.data.dtype:
                    raise ValueError(f"right_inverse: a tensor of dtype {arr.dtype} cannot replace the original of "
                                     f"dtype {o.data.dtype} (use unsafe=True to allow it)")
            for o, v in zip(olds, values):
                o.data = np.array(v.data if isinstance(v, Tensor) else v, dtype=o.data.dtype)

    def forward(self) -> Tensor:  # type: ignore[override]
        first, *rest = self.layers
        x = first(self.original) if self.is_tensor else first(*self.originals())
        for m in rest:
            x = m(x)
        return x

    def __repr__(self) -> str:
        return super().__repr__().replace("ModuleList", "ParametrizationList", 1)


def _property(name: str) -> property:
    def get(self: Module) -> Tensor:
        plist = self.parametrizations[name]
        if _cache_depth[0]:
            key = (id(self), name)
            if key not in _cache:
                _cache[key] = plist()
            return _cache[key]
        return plist()

    def put(self: Module, value: Any) -> None:
        self.parametrizations[name].right_inverse(value)

    return property(get, put, doc=f"the parametrized tensor {name!r}, recomputed on each access")


def is_parametrized(module: Module, tensor_name: Optional[str] = None) -> bool:
    """Whether ``module`` has a parametrization (on ``tensor_name``, when given)."""
    plists = module.__dict__.get("parametrizations")
    if not isinstance(plists, ModuleDict) or not getattr(type(module), "_parametrized", False):
        return False
    return len(plists) > 0 if tensor_name is None else tensor_name in plists


def type_before_parametrizations(module: Module) -> type:
    """The module's class before any parametrization was registered."""
    cls = type(module)
    return cls.__bases__[0] if getattr(cls, "_parametrized", False) else cls


def register_parametrization(module: Module, tensor_name: str, parametrization: Module, *,
                             unsafe: bool = False) -> Module:
    """Make ``module.<tensor_name>`` (a parameter or a buffer) the value of
    ``parametrization`` applied to the originals (see the module docstring; a buffer's
    originals are buffers); a second call for the same name appends to the chain. Returns
    the module."""
    who = "register_parametrization"
    if not isinstance(module, Module) or not isinstance(parametrization, Module):
        raise TypeError(f"{who}: expected a Module and a parametrization Module, got {type(module).__name__} and "
                        f"{type(parametrization).__name__}")
    parametrization.train(module.training)  # (in the module's mode: a module in eval registers one in eval)
    if is_parametrized(module, tensor_name):
        plist = module.parametrizations[tensor_name]
        if not unsafe:
            with no_grad():
                before = plist()
                after = parametrization(before)
            if not isinstance(after, Tensor) or after.data.shape != before.data.shape:
                raise ValueError(f"{who}: the parametrization changes the shape of {tensor_name!r} from "
                                 f"{before.data.shape} (use unsafe=True to allow it)")
            if after.data.dtype != before.data.dtype:
                raise ValueError(f"{who}: the parametrization changes the dtype of {tensor_name!r} from "
                                 f"{before.data.dtype} to {after.data.dtype} (use unsafe=True to allow it)")
        plist.append(parametrization)
        return module
    original = module.__dict__.get(tensor_name)
    if not isinstance(original, Tensor) or original._op is not None:
        raise ValueError(f"{who}: module {type(module).__name__} has no parameter or buffer named {tensor_name!r}")
    buffer = tensor_name in module.__dict__.get("_buffer_names", ())
    kept, values, version = original._data, original._data.copy(), original._v
    try:  # (right_inverse writes the original; a refused registration puts it back)
        plist = ParametrizationList([parametrization], original, unsafe=unsafe, buffer=buffer)
        if not unsafe:
            with no_grad():
                value = plist()
            if not isinstance(value, Tensor) or value.data.shape != kept.shape:
                raise ValueError(f"{who}: the parametrization must keep the shape {kept.shape} of "
                                 f"{tensor_name!r}, got {getattr(value, 'shape', type(value).__name__)} (use "
                                 "unsafe=True to allow it); nothing was changed")
            if value.data.dtype != kept.dtype:
                raise ValueError(f"{who}: the parametrization must keep the dtype {kept.dtype} of "
                                 f"{tensor_name!r}, got {value.data.dtype} (use unsafe=True to allow it); nothing "
                                 "was changed")
    except BaseException:
        original._data = kept
        if kept.flags.writeable:
            kept[...] = values
        original._v = version
        raise
    delattr(module, tensor_name)
    if not getattr(type(module), "_parametrized", False):
        cls = type(module)
        module.__class__ = type(f"Parametrized{cls.__name__}", (cls,), {"_parametrized": True})
        module.parametrizations = ModuleDict()
    setattr(type(module), tensor_name, _property(tensor_name))
    module.parametrizations[tensor_name] = plist
    return module


def remove_parametrizations(module: Module, tensor_name: str, leave_parametrized: bool = True) -> Module:
    """Undo ``register_parametrization`` for ``tensor_name``: the attribute becomes a plain
    parameter again holding the current parametrized value (``leave_parametrized=True``) or
    the original (False; only for a single original). The class is restored when no
    parametrization remains. Returns the module."""
    who = "remove_parametrizations"
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"{who}: module {type(module).__name__} has no parametrization on {tensor_name!r}")
    plist = module.parametrizations[tensor_name]
    buffer = "original" in plist.__dict__.get("_buffer_names", ()) or "original0" in plist.__dict__.get(
        "_buffer_names", ())
    if plist.is_tensor:
        original = plist.original
        if leave_parametrized:
            with no_grad():
                t = getattr(module, tensor_name)
            original.data = np.array(t.data, dtype=original.data.dtype)
    else:
        if not leave_parametrized:
            raise ValueError(f"{who}: cannot leave {tensor_name!r} unparametrized (leave_parametrized=False): it is "
                             f"parametrized by {plist.ntensors} tensors")
        with no_grad():
            t = getattr(module, tensor_name)
        original = Tensor(np.array(t.data)) if buffer else _leaf_copy(t, plist.original0.requires_grad)
    delattr(type(module), tensor_name)
    del module.parametrizations[tensor_name]
    if buffer:
        module.register_buffer(tensor_name, original)
    else:
        object.__setattr__(module, tensor_name, original)
    if not len(module.parametrizations):
        delattr(module, "parametrizations")
        module.__class__ = type(module).__bases__[0]
    return module
