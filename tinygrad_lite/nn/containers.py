"""The keyed and parameter containers of ``tl.nn``, shaped like PyTorch's: ``ModuleDict``
(children named by their keys), ``ParameterList`` and ``ParameterDict`` (parameters named
``0``, ``1``, ... or by key), ``Parameter`` (a leaf Tensor that is a parameter, frozen or not)
and ``Unflatten`` (the inverse of ``Flatten``).

Each container keeps its members in one plain list or dict attribute, which the membership
walk of ``Module`` (``parameters()``) already reads, and names them through ``_entries``
(what ``named_parameters``, ``state_dict`` and the pictures read), so the two stay in the
same order.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any, Iterable, Iterator, Mapping, Optional

import numpy as np

from ..tensor import Tensor
from ..torchkw import one_of
from .module import Module, _as_tensor, _is_param

__all__ = ["Parameter", "ModuleDict", "ParameterList", "ParameterDict", "Unflatten"]


class _ParameterType(type):
    """``isinstance(t, Parameter)`` is True for a Tensor that a module would hold as a
    parameter: a leaf that requires grad or was created requiring it (frozen)."""

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, Tensor) and _is_param(obj)


class Parameter(metaclass=_ParameterType):
    """``Parameter(data, requires_grad=True)``: a leaf Tensor holding ``data`` (an array,
    array-like or leaf Tensor; its array is copied, as ``tl.Tensor`` copies) that a module
    keeps as a parameter; with ``requires_grad=False`` it is a frozen one
    (still in ``parameters()`` and ``state_dict()``). Floating-point data only when it
    requires grad (``TypeError`` otherwise, as torch)."""

    def __new__(cls, data: Any = None, requires_grad: bool = True) -> Tensor:  # type: ignore[misc]
        if not isinstance(requires_grad, (bool, np.bool_)):
            raise TypeError(f"Parameter: requires_grad must be a bool, got {requires_grad!r}")
        if data is None:
            data = np.empty((0,))
        if isinstance(data, Tensor):  # (a computed value's values, detached, as torch)
            data = data.data
        arr = np.asarray(data)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"Parameter: data must be a numeric array, array-like or Tensor, got "
                            f"{type(data).__name__} (dtype {arr.dtype})")
        if requires_grad and arr.dtype.kind != "f":
            raise TypeError(f"Parameter: only floating-point data can require gradients, got dtype {arr.dtype}")
        t = Tensor(arr, requires_grad=bool(requires_grad))
        t._param = True
        return t


def _key(who: str, key: Any, owner: Any = None) -> str:
    """A member key: a non-empty string without dots that is not already an attribute of
    ``owner`` (a method, ``training``, ...), which the key would hide."""
    if not isinstance(key, str):
        raise TypeError(f"{who}: keys must be strings, got {type(key).__name__}")
    if not key or "." in key:
        raise KeyError(f"{who}: a key must be a non-empty string without dots, got {key!r}")
    if owner is not None and key not in owner._items and (key in vars(owner) or hasattr(type(owner), key)):
        raise KeyError(f"{who}: key {key!r} is already an attribute of {who} (choose another name)")
    return key


def _rest(entries: list) -> list:
    """The entries a container holds outside its items (``register_parameter``, an attribute
    set on it), so that ``named_parameters`` and ``state_dict`` list what ``parameters`` finds."""
    return [e for e in entries if e[0] != "_items"]


class _Keyed(Module):
    """A dict of members (``_items``) named by their keys; ``kind`` checks a member."""

    _what = "member"
    _sorts_plain_dicts = False

    def __init__(self, items: Any = None) -> None:
        self._items: dict = {}
        if items is not None:
            self.update(items)

    def _check(self, value: Any) -> Any:
        raise NotImplementedError

    def _entries(self) -> list:
        return [(k, None, v) for k, v in self._items.items()] + _rest(super()._entries())

    def __getitem__(self, key: str) -> Any:
        try:
            return self._items[key]
        except KeyError:
            raise KeyError(f"{type(self).__name__} has no key {key!r} (keys: {list(self._items)})") from None

    def __setitem__(self, key: str, value: Any) -> None:
        key = _key(type(self).__name__, key, self)
        self._items[key] = self._check(value)

    def __delitem__(self, key: str) -> None:
        self[key]  # noqa: B018  (the error names the keys)
        del self._items[key]

    def __getattr__(self, name: str) -> Any:  # (only called when ordinary lookup fails)
        items = self.__dict__.get("_items")
        if items is not None and name in items:
            return items[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def keys(self) -> Any:
        return self._items.keys()

    def values(self) -> Any:
        return self._items.values()

    def items(self) -> Any:
        return self._items.items()

    def pop(self, key: str) -> Any:
        value = self[key]
        del self._items[key]
        return value

    def clear(self) -> None:
        self._items.clear()

    def update(self, items: Any) -> None:
        """Add or replace members from a mapping or an iterable of ``(key, value)`` pairs;
        all are checked before any is added."""
        who = type(self).__name__
        if isinstance(items, (Mapping, _Keyed)):
            pairs = list(items.items())
            if self._sorts_plain_dicts and not isinstance(items, (OrderedDict, _Keyed)):
                pairs.sort(key=lambda kv: kv[0])  # (torch's ParameterDict orders a plain dict by key)
        elif isinstance(items, Iterable) and not isinstance(items, (str, bytes, Module, Tensor)):
            pairs = []
            for i, kv in enumerate(items):
                if not isinstance(kv, (tuple, list)) or len(kv) != 2:
                    raise TypeError(f"{who}.update: item {i} is not a (key, value) pair")
                pairs.append(tuple(kv))
        else:
            raise TypeError(f"{who}.update: expected a mapping or (key, value) pairs, got {type(items).__name__}")
        checked = [(_key(who, k, self), self._check(v)) for k, v in pairs]
        self._items.update(checked)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} has no forward(); call its members")


class ModuleDict(_Keyed):
    """Modules by name (insertion order), as torch's ``nn.ModuleDict``: ``md["enc"]`` or
    ``md.enc``; their parameters are named ``enc.weight`` ... A module set as an attribute
    (``md.dec = ...``) or through ``add_module`` becomes an entry too."""

    def __init__(self, modules: Any = None, *, items: Any = None) -> None:
        """``modules`` (torch's keyword; ``items`` too): a mapping or ``(name, module)`` pairs."""
        super().__init__(modules if items is None else one_of("ModuleDict", modules=modules, items=items))

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, Module) and "_items" in self.__dict__:
            self[name] = value
        else:
            super().__setattr__(name, value)

    def __delattr__(self, name: str) -> None:
        if name in self.__dict__.get("_items", ()):
            del self._items[name]
        else:
            super().__delattr__(name)

    def _add_child(self, name: str, module: Optional[Module]) -> None:
        if module is None:
            raise TypeError(f"ModuleDict.add_module: {name!r} must be a Module (a ModuleDict holds modules), got None")
        self[name] = module

    def _check(self, value: Any) -> Module:
        if not isinstance(value, Module):
            raise TypeError(f"ModuleDict: values must be Modules, got {type(value).__name__}")
        return value


class ParameterDict(_Keyed):
    """Parameters by name, as torch's ``nn.ParameterDict``; an array or a plain Tensor is made
    a ``Parameter``. Order of insertion, except that the entries of a plain ``dict`` given to
    the constructor or ``update`` go in by sorted key, as torch (an ``OrderedDict``, a
    ``ParameterDict`` or ``(key, value)`` pairs keep their order)."""

    _sorts_plain_dicts = True

    def __init__(self, parameters: Any = None, *, items: Any = None) -> None:
        """``parameters`` (torch's keyword; ``items`` too): a mapping or ``(name, value)`` pairs."""
        super().__init__(parameters if items is None else one_of("ParameterDict", parameters=parameters, items=items))

    def extra_repr(self) -> str:
        return _params_repr(self._items.items())

    def _check(self, value: Any) -> Tensor:
        return value if isinstance(value, Parameter) else Parameter(value)

    def get(self, key: str, default: Any = None) -> Any:
        """The parameter ``key``, or ``default`` when there is none."""
        return self._items.get(key, default)

    def setdefault(self, key: str, default: Any = None) -> Any:
        """The parameter ``key``; when there is none, ``default`` (made a ``Parameter``) is
        added under ``key`` and returned."""
        if key not in self._items:
            self[key] = default
        return self._items[key]

    def copy(self) -> "ParameterDict":
        """A new ParameterDict holding the same parameters (not copies of them)."""
        return ParameterDict(self._items)

    def popitem(self) -> tuple:
        """Remove and return the last ``(key, parameter)`` pair (KeyError when empty)."""
        if not self._items:
            raise KeyError("ParameterDict.popitem: the dict is empty")
        return self._items.popitem()

    def fromkeys(self, keys: Iterable, default: Any = None) -> "ParameterDict":
        """A new ParameterDict with each of ``keys`` holding ``default`` (made a Parameter)."""
        return ParameterDict([(k, default) for k in keys])

    def __reversed__(self) -> Iterator[str]:
        return reversed(list(self._items))

    def __or__(self, other: Any) -> "ParameterDict":
        """A new ParameterDict: this one's entries, then ``other``'s (which win on a shared key)."""
        if not isinstance(other, ParameterDict):
            return NotImplemented
        out = self.copy()
        out.update(other)
        return out

    def __ror__(self, other: Any) -> "ParameterDict":
        if not isinstance(other, ParameterDict):
            return NotImplemented
        return other.__or__(self)

    def __ior__(self, other: Any) -> "ParameterDict":
        self.update(other)
        return self


class ParameterList(Module):
    """A list of parameters named ``0``, ``1``, ... as torch's ``nn.ParameterList``; an
    array or a plain Tensor appended is made a ``Parameter``."""

    def __init__(self, values: Optional[Iterable] = None) -> None:
        self._items: list = []
        if values is not None:
            self.extend(values)

    def _entries(self) -> list:
        return [(str(i), None, p) for i, p in enumerate(self._items)] + _rest(super()._entries())

    @staticmethod
    def _check(value: Any) -> Tensor:
        return value if isinstance(value, Parameter) else Parameter(value)

    def append(self, value: Any) -> "ParameterList":
        self._items.append(self._check(value))
        return self

    def extend(self, values: Iterable) -> "ParameterList":
        if isinstance(values, (Tensor, np.ndarray)) or not isinstance(values, Iterable):
            raise TypeError(f"ParameterList.extend: expected an iterable of parameters, got {type(values).__name__}")
        checked = [self._check(v) for v in values]
        self._items.extend(checked)
        return self

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return ParameterList(self._items[i])
        return self._items[i]

    def __setitem__(self, i: int, value: Any) -> None:
        self._items[i] = self._check(value)

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Tensor]:
        return iter(self._items)

    def __iadd__(self, values: Iterable) -> "ParameterList":
        return self.extend(values)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ParameterList has no forward(); use its parameters")

    def extra_repr(self) -> str:
        return _params_repr(enumerate(self._items))


def _params_repr(items: Iterable) -> str:
    """One ``  (key): Parameter containing: [float64 of size 2x3]`` line per parameter (indented
    by two spaces, so that the container prints as torch's does)."""
    return "\n".join(f"  ({k}): Parameter containing: [{p.dtype} of size {'x'.join(map(str, p.shape))}]"
                     for k, p in items)


class Unflatten(Module):
    """Split axis ``dim`` into ``unflattened_size``: ``Unflatten(1, (C, H, W))`` turns
    ``(B, C*H*W)`` into ``(B, C, H, W)``; one size may be -1 (inferred)."""

    def __init__(self, dim: int, unflattened_size: Any) -> None:
        if isinstance(dim, (bool, np.bool_)) or not isinstance(dim, (int, np.integer)):
            raise TypeError(f"Unflatten: dim must be an int, got {dim!r}")
        sizes = tuple(unflattened_size) if isinstance(unflattened_size, (tuple, list)) else None
        if not sizes or any(isinstance(s, (bool, np.bool_)) or not isinstance(s, (int, np.integer))
                            or (s < 0 and s != -1) for s in sizes) or sum(s == -1 for s in sizes) > 1:
            raise ValueError(f"Unflatten: unflattened_size must be a non-empty tuple of ints >= 0 (one may be "
                             f"-1), got {unflattened_size!r}")
        self.dim, self.unflattened_size = int(dim), tuple(int(s) for s in sizes)

    def forward(self, input: Any) -> Tensor:
        input = _as_tensor(input)
        shape = input.shape
        nd = len(shape)
        if not -nd <= self.dim < nd:
            raise IndexError(f"Unflatten: dim {self.dim} is out of range for an input of shape {shape}")
        d = self.dim % nd
        sizes = self.unflattened_size
        known = math.prod(s for s in sizes if s != -1)
        if -1 in sizes:
            if known == 0 or shape[d] % known:
                raise ValueError(f"Unflatten: axis {d} of size {shape[d]} cannot be split into {sizes}")
            sizes = tuple(shape[d] // known if s == -1 else s for s in sizes)
        elif known != shape[d]:
            raise ValueError(f"Unflatten: axis {d} of size {shape[d]} (input shape {shape}) cannot be split into "
                             f"{sizes}")
        return input.reshape(shape[:d] + sizes + shape[d + 1:])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
