"""torch's ``nn.Buffer``, ``nn.UninitializedParameter`` and ``nn.UninitializedBuffer``.

Keeps no state of its own; touches the module it is assigned to: a ``Buffer`` put on a
module as an attribute (``m.running = nn.Buffer(x)``) registers itself there as a buffer,
persistent or not (``Module.__setattr__`` hands it to ``Buffer._adopt``, which calls the
module's ``register_buffer``), as torch >= 2.5 does.

An uninitialized tensor has no shape yet: reading its shape is a RuntimeError and any
other use of its values (an op, ``.data``, ``state_dict``) a ValueError, until
``materialize(shape)`` gives it zeros of that shape and turns it, in place (the same object,
so an optimizer or a module holding it sees the change), into an ordinary parameter (a
leaf Tensor that is one, ``nn.Parameter``) or an ordinary ``Buffer``.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ..conventions import check_bool, check_dtype
from ..factories import check_device, param_dtype
from ..tensor import Tensor

__all__ = ["Buffer", "UninitializedParameter", "UninitializedBuffer"]

_SLOT = Tensor.__dict__["_data"]  # the storage of a Tensor's array (read past the guard below)


class Buffer(Tensor):
    """``Buffer(data=None, *, persistent=True)``: a Tensor that a module keeps as a buffer
    (saved by ``state_dict`` unless ``persistent=False``, never trained) as soon as it is
    assigned as an attribute. A Tensor's array is shared (as torch's ``detach``), other data
    converted as ``tl.Tensor`` converts it; None gives an empty float64 tensor."""

    __slots__ = ("persistent",)
    _is_buffer = True  # (what Module.__setattr__ looks for)

    def __init__(self, data: Any = None, *, persistent: bool = True) -> None:
        check_bool("Buffer", "persistent", persistent)
        shared = data._data if isinstance(data, Tensor) else None
        Tensor.__init__(self, np.empty((0,)) if data is None or shared is not None else data)
        if shared is not None:
            self._data = shared
        self.persistent = bool(persistent)

    def _adopt(self, module: Any, name: str) -> None:
        """Become ``module``'s buffer ``name`` (``module.<name> = self``), with this buffer's
        persistence; a parameter's or a child module's name refuses it (TypeError, as torch)."""
        from .module import Module, _is_param

        old = module.__dict__.get(name)
        kind = ("child module" if isinstance(old, Module) else "parameter" if isinstance(old, Tensor) and _is_param(
            old) and name not in module.__dict__.get("_buffer_names", ()) else "")
        if kind:
            raise TypeError(f"{type(module).__name__}: cannot assign a Buffer as {kind} {name!r} "
                            f"({'a Module' if kind == 'child module' else 'a Parameter'} or None expected)")
        module.register_buffer(name, None, self.persistent)  # (checks the name; nothing changes if it refuses)
        object.__setattr__(module, name, self)


def _shape(who: str, shape: Any) -> tuple:
    """``materialize``'s shape: an int or a sequence of ints >= 0."""
    dims = (shape,) if isinstance(shape, numbers.Integral) else shape
    if isinstance(dims, (str, bytes)) or not hasattr(dims, "__iter__"):
        raise TypeError(f"{who}.materialize: shape must be an int or a sequence of ints, got {shape!r}")
    dims = tuple(dims)
    if any(isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral) for n in dims):
        raise TypeError(f"{who}.materialize: shape must be an int or a sequence of ints, got {shape!r}")
    if any(n < 0 for n in dims):
        raise RuntimeError(f"{who}.materialize: negative dimension in shape {dims}")
    return tuple(int(n) for n in dims)


def _dtype(who: str, dtype: Any, device: Any, kind: str) -> np.dtype:
    """A parameter's dtype (float; default float64), a buffer's (any numeric; default float64)."""
    if kind == "parameter":
        return param_dtype(who, dtype, device)
    check_device(who, device)
    return np.dtype(np.float64) if dtype is None else check_dtype(who, dtype)


class _Uninitialized:
    """What the two uninitialized kinds share: the guard on the array, ``materialize``."""

    __slots__ = ()
    _becomes: type = Tensor

    @property
    def _data(self) -> np.ndarray:
        raise ValueError(f"Attempted to use an uninitialized {self._kind()} (shape not known yet): call "
                         f"materialize(shape), or run the lazy module's forward once, before using it")

    @_data.setter
    def _data(self, value: np.ndarray) -> None:
        _SLOT.__set__(self, value)

    def _kind(self) -> str:
        return "parameter" if isinstance(self, UninitializedParameter) else "buffer"

    @property
    def shape(self) -> tuple:
        raise RuntimeError(f"Can't access the shape of an uninitialized {self._kind()}: call materialize(shape) "
                           "(or the lazy module's forward) first")

    @property
    def dtype(self) -> np.dtype:
        return _SLOT.__get__(self).dtype

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    def materialize(self, shape: Any, device: Any = None, dtype: Any = None) -> None:
        """Zeros of ``shape`` (in ``dtype``, default the one given at construction); the
        object becomes, in place, an ordinary parameter (or Buffer)."""
        who = type(self).__name__
        dims = _shape(who, shape)
        dt = _dtype(who, _SLOT.__get__(self).dtype if dtype is None else dtype, device, self._kind())
        _SLOT.__set__(self, np.zeros(dims, dt))
        self.__class__ = self._becomes


class UninitializedParameter(_Uninitialized, Tensor):
    """``UninitializedParameter(requires_grad=True, device=None, dtype=None)``: a parameter
    whose shape is not known yet (``isinstance(p, nn.Parameter)`` holds); ``materialize(shape)``
    makes it an ordinary parameter of that shape (zeros). ``dtype`` defaults to float64."""

    __slots__ = ()

    def __init__(self, requires_grad: bool = True, device: Any = None, dtype: Any = None) -> None:
        check_bool("UninitializedParameter", "requires_grad", requires_grad)
        Tensor.__init__(self, np.empty((0,), _dtype("UninitializedParameter", dtype, device, "parameter")),
                        requires_grad=bool(requires_grad))
        self._param = True


class UninitializedBuffer(_Uninitialized, Buffer):
    """``UninitializedBuffer(requires_grad=False, device=None, dtype=None, persistent=True)``:
    a buffer whose shape is not known yet; assigned to a module it registers as a buffer;
    ``materialize(shape)`` makes it an ordinary ``Buffer`` of that shape (zeros). A buffer
    here never requires grad (a module would take it for a parameter), so
    ``requires_grad=True`` is refused."""

    __slots__ = ()
    _becomes = Buffer

    def __init__(self, requires_grad: bool = False, device: Any = None, dtype: Any = None,
                 persistent: bool = True) -> None:
        if check_bool("UninitializedBuffer", "requires_grad", requires_grad):
            raise ValueError("UninitializedBuffer: requires_grad=True is not supported (a buffer that requires grad "
                             "would be taken for a parameter); use UninitializedParameter")
        Buffer.__init__(self, None, persistent=persistent)
        self._data = np.empty((0,), _dtype("UninitializedBuffer", dtype, device, "buffer"))
