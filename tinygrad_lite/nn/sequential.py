"""The ordered containers and shape helpers of ``tl.nn``, shaped like PyTorch's:
``Sequential`` (modules run in order), ``ModuleList`` (modules the owner calls),
``Identity`` and ``Flatten``.

Both containers keep their modules in one plain list, ``layers``, which the membership walk
of ``Module`` (``parameters()``) reads directly; ``_entries`` names them ``0``, ``1``, ...
(or, for ``Sequential(OrderedDict(...))``, by the dict's keys). As in torch, deleting,
popping or inserting a module numbers the children afresh.
"""

from __future__ import annotations

import operator
from collections import OrderedDict
from typing import Any, Iterable, Iterator

import numpy as np

from ..tensor import Tensor
from .module import Module, _as_tensor, cycle_safe_repr

__all__ = ["Sequential", "ModuleList", "Identity", "Flatten"]


def _module(who: str, m: Any) -> Module:
    if not isinstance(m, Module):
        raise TypeError(f"{who}: expected a Module, got {type(m).__name__}")
    return m


class _Chain(Module):
    """What ``Sequential`` and ``ModuleList`` share: modules kept in order in ``layers``
    (neither is an instance of the other, as in torch)."""

    def __init__(self, *modules: Any) -> None:
        names = None
        if len(modules) == 1 and isinstance(modules[0], dict) and type(self) is not ModuleList:
            names = list(modules[0])
            for k in names:
                if not isinstance(k, str) or not k or "." in k:
                    raise ValueError(f"{type(self).__name__}: child names must be non-empty strings without "
                                     f"dots, got {k!r}")
            modules = tuple(modules[0].values())
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(f"{type(self).__name__}: item {i} is a {type(m).__name__}, not a Module")
        self.layers = list(modules)
        if names is not None:
            self._names = names

    def _child_names(self) -> list:
        names = self.__dict__.get("_names")
        return names if names is not None else [str(i) for i in range(len(self.layers))]

    def _entries(self) -> list:
        rest = [e for e in super()._entries() if e[0] != "layers"]  # (what add_module/register_parameter set)
        return list(zip(self._child_names(), [None] * len(self.layers), self.layers)) + rest

    def _add_child(self, name: str, module: Any) -> None:
        """``add_module``: replace the child ``name`` or append a new one, run last."""
        if not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__}.add_module: {name!r} must be a Module, got {type(module).__name__}")
        names = self._child_names()
        if name in names:
            self.layers[names.index(name)] = module
            return
        if self.__dict__.get("_names") is not None or name != str(len(self.layers)):
            self._names = names + [name]
        self.layers.append(module)

    def _renumber(self) -> None:
        """Name the children ``0``, ``1``, ... again (after a deletion or an insertion)."""
        self.__dict__.pop("_names", None)

    def __setattr__(self, name: str, value: Any) -> None:
        """As torch: a Module put at a child's name replaces that child (in place, in order); on a
        plain Sequential or ModuleList a Module at a new public name becomes the last child."""
        d = self.__dict__
        if "layers" in d and not name.startswith("_") and name != "layers":
            names = self._child_names()
            if isinstance(value, Module) and (name in names or (name not in d and type(self) in (Sequential,
                                                                                                  ModuleList))):
                self._add_child(name, value)
                return
            if name in names and value is not None and name not in d:
                raise TypeError(f"{type(self).__name__}: cannot assign {type(value).__name__} as child module "
                                f"{name!r} (a Module expected)")
        super().__setattr__(name, value)

    def __delattr__(self, name: str) -> None:
        """``del seq.name`` of a named child removes it (the others keep their names)."""
        names = self.__dict__.get("_names")
        if names is not None and name in names and name not in self.__dict__:
            i = names.index(name)
            del self.layers[i]
            self._names = names[:i] + names[i + 1:]
            return
        super().__delattr__(name)

    def __getattr__(self, name: str) -> Any:  # (only called when ordinary lookup fails)
        names = self.__dict__.get("_names")
        if names is not None and name in names:
            return self.__dict__["layers"][names.index(name)]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def forward(self, input: Any) -> Any:
        for m in self.layers:
            input = m(input)
        return input

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            if type(self) is ModuleList:  # torch's ModuleList slice numbers its children afresh
                return ModuleList(self.layers[i])
            return type(self)(OrderedDict(zip(self._child_names()[i], self.layers[i])))
        k = operator.index(i)
        if not -len(self.layers) <= k < len(self.layers):
            raise IndexError(f"{type(self).__name__}: index {k} is out of range for {len(self.layers)} modules")
        return self.layers[k]

    def __setitem__(self, i: int, m: Module) -> None:
        self.layers[operator.index(i)] = _module(type(self).__name__, m)

    def __delitem__(self, i: Any) -> None:
        """Remove the child at index ``i`` (an int or a slice); the rest are numbered afresh."""
        del self.layers[i if isinstance(i, slice) else operator.index(i)]
        self._renumber()

    def pop(self, key: Any) -> Any:
        """Remove and return the child (or, for a slice, the container of children) at ``key``."""
        v = self[key]
        del self[key]
        return v

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)

    def append(self, m: Module) -> "Sequential":
        """Add ``m`` under the name ``str(len(self))``, as torch (after a slice that name may be
        a child's already: that child is then replaced)."""
        self._add_child(str(len(self.layers)), _module(f"{type(self).__name__}.append", m))
        return self

    def insert(self, index: int, m: Module) -> "Sequential":
        """Put ``m`` before position ``index`` (``-len <= index <= len``, else IndexError);
        the children are numbered afresh."""
        _module("Sequential.insert", m)
        n = len(self.layers)
        if not -n <= operator.index(index) <= n:
            raise IndexError(f"Sequential.insert: index {index} is out of range for {n} modules")
        self.layers.insert(index, m)
        self._renumber()
        return self

    def extend(self, modules: Iterable) -> "Sequential":
        """Append every module of ``modules`` (all are checked first); returns self."""
        if isinstance(modules, Module) and not isinstance(modules, _Chain) or not isinstance(modules, Iterable):
            raise TypeError(f"{type(self).__name__}.extend: expected an iterable of Modules, got "
                            f"{type(modules).__name__}")
        new = list(modules)
        for m in new:
            _module(f"{type(self).__name__}.extend", m)
        for m in new:
            self.append(m)
        return self

    def __add__(self, other: Any) -> "Sequential":
        if not isinstance(other, Sequential) or isinstance(other, ModuleList):
            raise ValueError(f"Sequential +: only a Sequential can be added, got {type(other).__name__}")
        return Sequential(*self.layers, *other.layers)

    def __iadd__(self, other: Any) -> "Sequential":
        if not isinstance(other, Sequential) or isinstance(other, ModuleList):
            raise ValueError(f"Sequential +=: only a Sequential can be added, got {type(other).__name__}")
        return self.extend(list(other.layers))

    def _times(self, n: Any) -> list:
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
            raise TypeError(f"Sequential *: the number of repetitions must be an int, got {type(n).__name__}")
        if n <= 0:
            raise ValueError(f"Sequential *: the number of repetitions must be > 0, got {n}")
        return self.layers * int(n)

    def __mul__(self, n: int) -> "Sequential":
        """The same modules (not copies) ``n`` times in a row, numbered ``0``, ``1``, ..."""
        return Sequential(*self._times(n))

    def __rmul__(self, n: int) -> "Sequential":
        return self.__mul__(n)

    def __imul__(self, n: int) -> "Sequential":
        return self.extend(self._times(n)[len(self.layers):])


class Sequential(_Chain):
    """Modules applied in order; children are named ``0``, ``1``, ... or, as torch's
    ``Sequential(OrderedDict([("conv", ...), ...]))``, by the dict's keys (then also
    reachable as attributes). A slice keeps the children's names, as in torch."""


class ModuleList(_Chain):
    """A list of modules whose parameters are the model's (children named ``0``, ``1``, ...);
    it has no ``forward``: the owner decides how to call them."""

    def __init__(self, modules: Any = None) -> None:
        if modules is None:
            modules = ()
        if isinstance(modules, Module) or not isinstance(modules, Iterable):
            raise TypeError(f"ModuleList: modules must be an iterable of Modules, got {type(modules).__name__}")
        super().__init__(*list(modules))

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ModuleList has no forward(); iterate over it and call its modules")

    def insert(self, index: int, m: Module) -> None:  # type: ignore[override]
        """Put ``m`` before position ``index`` (as ``list.insert``)."""
        self.layers.insert(operator.index(index), _module("ModuleList.insert", m))

    def __add__(self, other: Any) -> "ModuleList":
        """A new ModuleList of this list's modules, then those of the iterable ``other``."""
        if isinstance(other, Module) and not isinstance(other, _Chain) or not isinstance(other, Iterable):
            raise TypeError(f"ModuleList +: expected an iterable of Modules, got {type(other).__name__}")
        return ModuleList(self.layers + list(other))

    def __iadd__(self, other: Any) -> "ModuleList":
        return self.extend(other)  # type: ignore[return-value]

    def __mul__(self, n: Any) -> Any:  # (a list of modules does not repeat, as in torch)
        return NotImplemented

    __rmul__ = __imul__ = __mul__

    @cycle_safe_repr
    def __repr__(self) -> str:
        """torch's layout, a run of children that print alike shown once: ``(0-2): 3 x Linear(...)``."""
        if not self.layers:
            return "ModuleList()"
        runs: list = []  # [first index, last index, text]
        for i, m in enumerate(self.layers):
            text = repr(m)
            if runs and runs[-1][2] == text:
                runs[-1][1] = i
            else:
                runs.append([i, i, text])
        lines = [f"({a}): {t}" if a == b else f"({a}-{b}): {b - a + 1} x {t}" for a, b, t in runs]
        return "ModuleList(\n" + "\n".join("  " + line.replace("\n", "\n  ") for line in lines) + "\n)"


class Identity(Module):
    """Returns its input unchanged (extra arguments are accepted and ignored, as in PyTorch)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def forward(self, input: Any) -> Any:
        return input


class Flatten(Module):
    """Merge axes ``start_dim..end_dim`` into one: (B, C, H, W) -> (B, C*H*W) by default
    (axis 0, the sample axis, is kept)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        for name, v in (("start_dim", start_dim), ("end_dim", end_dim)):
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
                raise TypeError(f"Flatten: {name} must be an int, got {v!r}")
        self.start_dim, self.end_dim = int(start_dim), int(end_dim)

    def forward(self, input: Any) -> Tensor:
        return _as_tensor(input).flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
