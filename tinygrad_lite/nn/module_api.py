"""The part of ``Module``'s PyTorch interface that edits or converts a model as a whole:
``apply``, ``requires_grad_``, registering children and parameters by name
(``add_module`` / ``register_module``, ``register_parameter``), dotted look-ups
(``get_submodule``, ``get_parameter``, ``get_buffer``) and the dtype moves (``to``,
``float``, ``double``, ``type``, ``cpu``).

``Module`` inherits ``ModuleAPI``; the walks and the membership rule it relies on
(``_members``, ``named_children``, ``parameters``, ``buffers``) stay in ``module.py``.
A dtype move changes every floating parameter and floating buffer IN PLACE (the same
Tensor objects, so an optimizer built before keeps updating the model); a parameter's
gradient, its per-sample gradients and what they are built from follow the new dtype.
"""

from __future__ import annotations

import functools
import sys
import threading
from typing import TYPE_CHECKING, Any, Callable, Optional

import numpy as np

from .. import hooks
from ..conventions import check_bool
from ..factories import as_dtype, check_device, is_device
from ..tensor import Tensor

_REPR_OPEN = threading.local()  # ids of the modules whose repr is being built, in this thread


def cycle_safe_repr(method: Callable[[Any], str]) -> Callable[[Any], str]:
    """Wrap a module ``__repr__`` so a module held inside itself prints as ``Name(<itself>)``
    at its second appearance instead of recursing without end."""
    @functools.wraps(method)
    def wrapper(self: Any) -> str:
        open_ids = _REPR_OPEN.__dict__.setdefault("ids", set())
        if id(self) in open_ids:
            return f"{type(self).__name__}(<itself>)"
        outermost = not open_ids
        open_ids.add(id(self))
        try:
            return method(self)
        except RecursionError as e:
            if not outermost:
                raise
            raise RecursionError(f"repr of {type(self).__name__}: modules nested too deeply to print within "
                               f"Python's recursion limit ({sys.getrecursionlimit()})") from e
        finally:
            open_ids.discard(id(self))
    return wrapper


class Listed(list):
    """The list ``parameters()`` / ``buffers()`` return, which is also its own iterator, so
    torch's ``next(model.parameters())`` gives the first one (a for loop iterates as a list)."""

    def __next__(self) -> Any:
        i = self.__dict__.get("_at", 0)
        if i >= len(self):
            raise StopIteration
        self._at = i + 1
        return self[i]


if TYPE_CHECKING:
    from .module import Module

__all__ = ["ModuleAPI"]


def _check_name(who: str, kind: str, name: Any) -> str:
    """A child or parameter name: a non-empty string without dots (torch's errors: TypeError
    for a non-string, KeyError for an empty or dotted one)."""
    if not isinstance(name, str):
        raise TypeError(f"{who}: the {kind} name must be a string, got {type(name).__name__} {name!r}")
    if not name:
        raise KeyError(f"{who}: the {kind} name must not be empty")
    if "." in name:
        raise KeyError(f"{who}: the {kind} name must not contain '.', got {name!r}")
    return name


def _float_target(who: str, dtype: Any) -> np.dtype:
    """``dtype`` (numpy's spelling or torch's: ``torch.float32``, ``"torch.FloatTensor"``) as a
    numpy floating dtype, else a TypeError naming ``who`` and the value."""
    try:
        dt = None if dtype is None or isinstance(dtype, bool) else as_dtype(who, dtype)
    except (TypeError, ValueError):
        dt = None
    if dt is None:
        raise TypeError(f"{who}: expected a dtype (e.g. np.float32), got {dtype!r}")
    if dt.kind != "f":
        raise TypeError(f"{who}: a module's parameters and buffers can only move to a floating-point dtype, "
                        f"got {dt}")
    return dt


def _cast(t: Tensor, dt: np.dtype) -> None:
    """Convert ``t`` to ``dt`` in place: its data (a new version, so graphs built before
    refuse to backward), its gradient (kept factors included) and its per-sample gradients."""
    if t._data.dtype == dt:
        return
    t.data = t._data.astype(dt)
    if t._grad is not None:
        t._grad = t._grad.astype(dt)
    if t._lazy:
        t._lazy = [g.astype(dt) for g in t._lazy]
    if t._gs is not None:
        t._gs = np.asarray(t._gs).astype(dt)
    if t._ps is not None:
        for seg in t._ps.segments:
            for part in seg.parts:
                part.dtype = dt  # the rows are built (and cast) on read
    norms = getattr(t, "_gsnorm", None)
    if norms is not None:
        t._gsnorm = norms.astype(dt)
    t._gbuf = t._gsbuf = None  # memory kept for reuse, in the old dtype


_TRAINING = threading.local()  # ids of the modules whose train() is running, in this thread


class ModuleAPI:
    """Mixin of ``Module`` (see the module docstring)."""

    # ----------------------------------------------------------------- the whole tree ---
    def train(self, mode: bool = True) -> "Module":
        """Set training mode (``mode=True``) or evaluation mode on this module and every
        module below it (Dropout and BatchNorm behave differently); returns self."""
        if not isinstance(mode, (bool, np.bool_)):
            raise TypeError(f"train: mode must be a bool, got {mode!r}")
        busy = _TRAINING.__dict__.setdefault("ids", set())  # (a module held inside itself is set once)
        before = None if busy else [(m, m.__dict__.get("training")) for m in self.modules()]  # (the outermost call)
        busy.add(id(self))
        try:
            self.training = bool(mode)
            for m in self.children():  # each child's own train(), as torch: an override is honoured
                if id(m) not in busy:
                    m.train(mode)
        except BaseException as e:
            if before is None:
                raise
            for m, was in before:  # a failed switch changes nothing
                if was is None:
                    m.__dict__.pop("training", None)
                else:
                    m.__dict__["training"] = was
            if isinstance(e, RecursionError):
                raise RecursionError(f"{type(self).__name__}.train: modules nested deeper than Python's recursion "
                                     f"limit ({sys.getrecursionlimit()}) allows; nothing was changed") from e
            raise
        finally:
            busy.discard(id(self))
        return self

    def eval(self) -> "Module":
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def apply(self, fn: Callable[["Module"], Any]) -> "Module":
        """Call ``fn(module)`` on every child (recursively, children first) and then on this
        module, as torch does (e.g. a custom initialisation); returns self."""
        if not callable(fn):
            raise TypeError(f"apply: fn must be callable, got {type(fn).__name__} {fn!r}")
        self._apply_to_tree(fn, ())
        return self  # type: ignore[return-value]

    def _apply_to_tree(self, fn: Callable, above: tuple) -> None:
        # an explicit stack, not recursion: a tree thousands of modules deep is walked too
        path = set(above) | {id(self)}  # the modules from the root down to the current one
        frames: list = [(self, iter(list(self.named_children())), set())]  # type: ignore[attr-defined]
        while frames:
            module, kids, done = frames[-1]
            for _, child in kids:
                if id(child) in done or id(child) in path:  # (a module that holds itself: not again)
                    continue
                done.add(id(child))
                path.add(id(child))
                frames.append((child, iter(list(child.named_children())), set()))
                break
            else:
                frames.pop()
                path.discard(id(module))
                fn(module)

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        """Make every parameter require gradients (``False``: freeze them; a frozen parameter
        stays in ``parameters()`` and ``state_dict()``); returns self."""
        flag = check_bool("requires_grad_", "requires_grad", requires_grad)
        for p in self.parameters():  # type: ignore[attr-defined]
            p.requires_grad_(flag)
        return self  # type: ignore[return-value]

    # ----------------------------------------------------------------- registering ------
    def _check_free(self, who: str, name: str, fits: Callable[[Any], bool]) -> None:
        """KeyError unless ``name`` is new, or already holds None or something that ``fits``
        (a child for ``add_module``, a parameter for ``register_parameter``)."""
        if name in self.__dict__.get("_buffer_names", ()):
            raise KeyError(f"{who}: attribute {name!r} already exists (a buffer of {type(self).__name__})")
        members = dict(self._members())  # type: ignore[attr-defined]
        if name in members:
            if fits(members[name]):
                return
        elif name in self.__dict__:
            if self.__dict__[name] is None:
                return
        elif not hasattr(self, name):
            return
        raise KeyError(f"{who}: attribute {name!r} already exists on {type(self).__name__}")

    def add_module(self, name: str, module: Optional["Module"]) -> None:
        """Make ``module`` (or None) the child ``name``, as ``self.<name> = module`` does."""
        from .module import Module

        _check_name("add_module", "module", name)
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module or None, got {type(module).__name__}")
        self._check_free("add_module", name, lambda v: isinstance(v, Module))
        self._add_child(name, module)

    def register_module(self, name: str, module: Optional["Module"]) -> None:
        """The same as ``add_module``."""
        self.add_module(name, module)

    def _add_child(self, name: str, module: Optional["Module"]) -> None:
        setattr(self, name, module)

    def register_parameter(self, name: str, param: Optional[Tensor]) -> None:
        """Make ``param`` the parameter ``name`` (None: an absent parameter, like a Linear
        without bias). ``param`` must be a floating-point leaf Tensor, not batched; it stays a
        parameter when it does not require grad (a frozen one)."""
        from .module import _is_param

        _check_name("register_parameter", "parameter", name)
        if param is not None:
            if not isinstance(param, Tensor):
                raise TypeError(f"register_parameter: {name!r} must be a Tensor or None, got {type(param).__name__}")
            if param._op is not None:
                raise ValueError(f"register_parameter: {name!r} is the result of op '{param._op.name}', not a leaf; "
                                 "a parameter must be created directly (detach() it first)")
            if param._data.dtype.kind != "f":
                raise TypeError(f"register_parameter: {name!r} has dtype {param._data.dtype}; parameters must be "
                                "floating-point")
            if param.batched:
                raise ValueError(f"register_parameter: {name!r} is batched (axis 0 indexes samples); a parameter "
                                 "is shared by all samples")
        self._check_free("register_parameter", name, lambda v: isinstance(v, Tensor) and _is_param(v))
        if param is not None:
            param._param = True
        else:  # an absent parameter: an array put there later is refused, as torch
            self.__dict__.setdefault("_absent", set()).add(name)
        setattr(self, name, param)

    # ----------------------------------------------------------------- look-ups ---------
    def _resolve(self, who: str, target: str) -> tuple:
        """Walk the dotted path ``target``: (the module holding the last piece, its name, the
        object or None if absent). A child held in a list or dict attribute is reached by
        the name ``named_children`` gives it (``layers.0``)."""
        from .module import Module

        if not isinstance(target, str):
            raise TypeError(f"{who}: target must be a dotted string such as 'layers.0.weight', got {target!r}")
        atoms = target.split(".")
        m: Any = self
        i = 0
        while True:
            members = dict(m._members())
            for k in range(i + 1, len(atoms) + 1):  # a member name may hold one dot ("layers.0")
                name = ".".join(atoms[i:k])
                if name in members:
                    break
            else:
                k, name = i + 1, atoms[i]
            if k == len(atoms):
                return m, name, members.get(name, self._plain(m, name))
            nxt = members.get(name, self._plain(m, name))
            if nxt is _MISSING:
                raise AttributeError(f"{who}: {type(m).__name__} has no attribute {name!r} (looking up {target!r})")
            if not isinstance(nxt, Module):
                raise AttributeError(f"{who}: {name!r} is a {type(nxt).__name__}, not a Module (looking up "
                                     f"{target!r})")
            m, i = nxt, k

    @staticmethod
    def _plain(m: Any, name: str) -> Any:
        """An attribute that is not a member (a number, None, a method), or ``_MISSING``."""
        try:
            return getattr(m, name)
        except AttributeError:
            return _MISSING

    def get_submodule(self, target: str) -> "Module":
        """The module at the dotted path ``target`` (``""``: self), e.g. ``"encoder.0"``;
        AttributeError naming the piece that is missing or is not a module."""
        from .module import Module

        if target == "":
            return self  # type: ignore[return-value]
        m, name, obj = self._resolve("get_submodule", target)
        if obj is _MISSING:
            raise AttributeError(f"get_submodule: {type(m).__name__} has no attribute {name!r} (looking up "
                                 f"{target!r})")
        if not isinstance(obj, Module):
            raise AttributeError(f"get_submodule: {name!r} is a {type(obj).__name__}, not a Module (looking up "
                                 f"{target!r})")
        return obj

    def set_submodule(self, target: str, module: "Module", strict: bool = False) -> None:
        """Put ``module`` at the dotted path ``target`` (``"encoder.0"``), replacing what is
        there, as torch: every piece but the last must be a module; the last may be new
        unless ``strict``; an attribute there that is not a module is an AttributeError."""
        from .module import Module

        if not isinstance(module, Module):
            raise TypeError(f"set_submodule: module must be a Module, got {type(module).__name__}")
        if not isinstance(target, str) or target == "":
            raise ValueError("set_submodule: target must be a non-empty dotted name")
        path, _, name = target.rpartition(".")
        parent = self.get_submodule(path)
        _, _, obj = parent._resolve("set_submodule", name)
        if obj is _MISSING and strict:
            raise AttributeError(f"set_submodule: {type(parent).__name__} has no attribute {name!r} (strict=True; "
                                 f"setting {target!r})")
        if obj is not _MISSING and not isinstance(obj, Module):
            raise AttributeError(f"set_submodule: {name!r} is a {type(obj).__name__}, not a Module (setting "
                                 f"{target!r})")
        setattr(parent, name, module)

    def get_parameter(self, target: str) -> Tensor:
        """The parameter at the dotted path ``target``, e.g. ``"0.weight"``; AttributeError
        naming the piece that is missing or is not a parameter."""
        from .module import _is_param

        m, name, obj = self._resolve("get_parameter", target)
        if obj is _MISSING:
            raise AttributeError(f"get_parameter: {type(m).__name__} has no attribute {name!r} (looking up "
                                 f"{target!r})")
        if not isinstance(obj, Tensor) or not _is_param(obj) or name in m.__dict__.get("_buffer_names", ()):
            raise AttributeError(f"get_parameter: {name!r} of {type(m).__name__} is not a parameter (looking up "
                                 f"{target!r})")
        return obj

    def get_buffer(self, target: str) -> Optional[Tensor]:
        """The buffer at the dotted path ``target``, e.g. ``"bn.running_mean"`` (None for a
        buffer registered as None); AttributeError naming the piece that is missing or is
        not a buffer."""
        m, name, obj = self._resolve("get_buffer", target)
        if obj is _MISSING:
            raise AttributeError(f"get_buffer: {type(m).__name__} has no attribute {name!r} (looking up "
                                 f"{target!r})")
        if name not in m.__dict__.get("_buffer_names", ()):
            raise AttributeError(f"get_buffer: {name!r} of {type(m).__name__} is not a buffer (looking up "
                                 f"{target!r})")
        return obj

    # ----------------------------------------------------------------- dtype moves ------
    def _convert(self, who: str, dt: np.dtype, integers: bool = False) -> "Module":
        """Every floating parameter and buffer (with ``integers``, every buffer) to ``dt``, in
        place. The arguments were checked before: nothing here can fail half-way. Scalar
        ``Value`` parameters are Python floats: float64 leaves them as they are, any other
        dtype is refused (TypeError) before anything changes."""
        params = self.parameters()  # type: ignore[attr-defined]
        scalars = [p for p in params if not isinstance(p, Tensor)]
        if scalars and dt != np.float64:
            raise TypeError(f"{who}: this model has scalar Value parameters, which are Python floats "
                            f"(float64) and cannot become {dt}")
        seen = {id(p) for p in params}
        for p in params:
            if isinstance(p, Tensor):
                _cast(p, dt)
        for b in self.buffers():  # type: ignore[attr-defined]
            if id(b) not in seen and (integers or b._data.dtype.kind == "f"):
                seen.add(id(b))
                _cast(b, dt)
        return self  # type: ignore[return-value]

    def to(self, *args: Any, **kwargs: Any) -> "Module":
        """torch's ``to``: ``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(tensor)``
        (its dtype), keywords ``device``, ``dtype`` and ``non_blocking`` (accepted, no effect).
        The only device is ``"cpu"``; the dtype must be a floating one. Floating parameters
        and buffers change in place (integer buffers such as ``num_batches_tracked`` stay);
        returns self. On a bad argument nothing changes."""
        device, dtype, non_blocking = _parse_to(args, kwargs)
        check_bool("to", "non_blocking", non_blocking)
        if device is not None:
            check_device("to", device)
        if dtype is None:
            return self  # type: ignore[return-value]
        return self._convert("to", _float_target("to", dtype))

    def float(self) -> "Module":
        """Floating parameters and buffers to float32, in place; returns self."""
        return self._convert("float", np.dtype(np.float32))

    def double(self) -> "Module":
        """Floating parameters and buffers to float64, in place; returns self."""
        return self._convert("double", np.dtype(np.float64))

    def type(self, dst_type: Any) -> "Module":
        """Every parameter and buffer (integer buffers too, as torch) to ``dst_type``, which
        must be a floating dtype (parameters cannot hold integers); returns self."""
        return self._convert("type", _float_target("type", dst_type), integers=True)

    # ------------------------------------------------------------------ hooks -----------
    def __deepcopy__(self, memo: dict) -> Any:
        """A deep copy of the module's attributes, and of its hooks (as torch's, which keeps them
        in the module): a copy of a module whose forward pre-hook recomputes a weight (the
        older ``weight_norm``) recomputes its own."""
        import copy

        new = object.__new__(type(self))
        memo[id(self)] = new
        for k, v in self.__dict__.items():
            new.__dict__[k] = copy.deepcopy(v, memo)
        hooks.adopt_copied_hooks(new)
        return new

    def register_forward_pre_hook(self, hook: Callable, *, prepend: bool = False,
                                  with_kwargs: bool = False) -> Any:
        """``hook(module, args)`` before each forward; a returned value replaces ``args`` (a
        non-tuple is wrapped in one). ``with_kwargs=True``: ``hook(module, args, kwargs)``
        returning None or ``(args, kwargs)``. Returns a handle whose ``remove()`` detaches it."""
        return hooks.register_module_hook(self, "pre", hook, prepend, bool(with_kwargs))

    def register_forward_hook(self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False,
                              always_call: bool = False) -> Any:
        """``hook(module, args, output)`` after each forward; a returned value replaces the
        output. ``with_kwargs=True``: ``hook(module, args, kwargs, output)``; ``always_call``:
        also called (with output None) when the forward raises."""
        return hooks.register_module_hook(self, "post", hook, prepend, bool(with_kwargs), bool(always_call))

    def register_full_backward_hook(self, hook: Callable, prepend: bool = False) -> Any:
        """``hook(module, grad_input, grad_output)`` during backward, once the gradients of the
        cost w.r.t. this call's positional inputs are known (``grad_input``; None for an
        argument that is no Tensor needing a gradient) and w.r.t. its outputs
        (``grad_output``); a returned tuple replaces ``grad_input``. A returned gradient
        changes ``.grad`` only: per-sample gradients are not rescaled by it."""
        return hooks.register_module_hook(self, "backward", hook, prepend)

    def register_full_backward_pre_hook(self, hook: Callable, prepend: bool = False) -> Any:
        """``hook(module, grad_output)`` during backward, before the module's own backward; a
        returned tuple replaces ``grad_output``."""
        return hooks.register_module_hook(self, "backward_pre", hook, prepend)

    def half(self) -> "Module":
        """Floating parameters and buffers to float16, in place; returns self."""
        return self._convert("half", np.dtype(np.float16))

    def cpu(self) -> "Module":
        """Everything already lives on the CPU: returns self."""
        return self  # type: ignore[return-value]

    def cuda(self, device: Any = None) -> "Module":
        """There is no CUDA device here: a RuntimeError (as torch built without CUDA)."""
        check_device("cuda", "cuda" if device is None else device)
        return self  # type: ignore[return-value]  # (device "cpu" given: nothing to move)


_MISSING = object()


def _parse_to(args: tuple, kwargs: dict) -> tuple:
    """``to``'s arguments as ``(device, dtype, non_blocking)``; TypeError for an unknown
    keyword, too many arguments or a dtype given twice."""
    unknown = set(kwargs) - {"device", "dtype", "non_blocking"}
    if unknown:
        raise TypeError(f"to: unexpected keyword argument(s) {sorted(unknown)} (accepted: device, dtype, "
                        "non_blocking)")
    device, dtype, non_blocking = kwargs.get("device"), kwargs.get("dtype"), kwargs.get("non_blocking", False)
    rest = list(args)
    if rest and (rest[0] is None or is_device(rest[0])):
        if "device" in kwargs:
            raise TypeError("to: device given twice")
        device = rest.pop(0)
        if rest and not isinstance(rest[0], (bool, np.bool_)):
            if "dtype" in kwargs:
                raise TypeError("to: dtype given twice")
            dtype = rest.pop(0)
    elif rest:
        if "dtype" in kwargs:
            raise TypeError("to: dtype given twice")
        first = rest.pop(0)
        if isinstance(first, (Tensor, np.ndarray)):
            dtype = first.dtype
        else:
            dtype = _float_target("to", first)
    if rest:
        if "non_blocking" in kwargs or len(rest) > 1:
            raise TypeError(f"to: too many arguments {args!r}")
        non_blocking = rest.pop(0)
    return device, dtype, non_blocking


_NOT_AN_OPERAND = ("cannot use an object of type", "Tensor: cannot make a numeric tensor")


def _named(module: Any, e: TypeError) -> None:
    """Prefix the message of ``e``, an op's refusal of an input that is no tensor (which names
    no op), with the class of ``module``, the innermost module it passed through."""
    msg = str(e.args[0]) if e.args else ""
    if msg.startswith(_NOT_AN_OPERAND) and not getattr(e, "_module_named", False):
        e.args = (f"{type(module).__name__}: {msg}",) + e.args[1:]
        e._module_named = True  # type: ignore[attr-defined]
