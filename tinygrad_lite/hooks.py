"""Hooks, as torch has them: functions attached to a Tensor (called with its gradient
during backward, and able to replace it) or to a Module (called before and after its
forward, and with the gradients of its inputs and outputs during backward). Every
``register_*`` returns a :class:`RemovableHandle`; ``handle.remove()`` detaches the hook.

Maths of the backward hooks. For a module ``y = f(x_1, ..., x_k)`` inside a cost ``L``,
``grad_output = dL/dy`` and ``grad_input = (dL/dx_1, ..., dL/dx_k)`` counted through this
call of the module only (``None`` for an argument that is not a Tensor needing a gradient).
To see them, each such input and each output passes through an identity node of its own
(op ``module_hook``), as torch does. The backward sweep visits nodes from the newest to the
oldest, and every node of the module's forward is newer than its inputs' identity nodes and
older than its outputs', so when the sweep reaches the first of those nodes the gradients
of all of them are complete: that is when the hook runs, and what it returns replaces them.

Nothing here costs anything until a hook is registered: the sweep and ``Module.__call__``
first look at a registry that is empty otherwise. This file touches the hooked Tensors'
cotangents during a sweep and the module-call stack; nothing else.
"""

from __future__ import annotations

import functools
import itertools
import weakref
from typing import Any, Callable, Optional

import numpy as np

from .graph import POST_HOOKS, TENSOR_HOOKS, state
from .lazygrad import LazyGrad

# id(Tensor) -> (weak ref to it, weak ref to its hooks {hook id: fn(node, g, pending, sweep) -> new g
# or None}, which live in the tensor): the table the backward sweep reads (graph.TENSOR_HOOKS)
TENSORS: dict = TENSOR_HOOKS
# id(Module) -> (weak ref to it, weak ref to its _ModuleHooks): the modules that have hooks. The
# hooks themselves live in the module (``module.__dict__["_module_hooks"]``, as torch keeps them in the
# module), so a hook that refers to its module does not keep it alive, and a deep copy of the
# module copies them.
MODULES: dict = {}
_HOOKS = "_module_hooks"
_ids = itertools.count()


class RemovableHandle:
    """What ``register_*`` returns: ``remove()`` detaches the hook (also as a context manager)."""

    def __init__(self, registry: dict, key: int, table: dict, hid: int) -> None:
        self.id = hid
        self._registry, self._key, self._table = registry, key, table

    def remove(self) -> None:
        self._table.pop(self.id, None)
        entry = self._registry.get(self._key)
        if entry is None:
            return
        owner = entry[1]() if isinstance(entry[1], weakref.ref) else entry[1]
        if not (owner.any() if isinstance(owner, _ModuleHooks) else owner):
            del self._registry[self._key]  # the fast paths see an empty registry again

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


class _TensorHooks(dict):
    """A tensor's hooks, id -> fn, kept in the tensor (its ``_hooks`` slot) as torch keeps them;
    the registry holds weak references only, so a hook that refers to its tensor does not keep
    it alive."""


def _tensor_table(t: Any) -> dict:
    """The hook table of the Tensor ``t`` (created on first use)."""
    key = id(t)
    entry = TENSORS.get(key)
    if entry is not None and entry[0]() is t and entry[1]() is not None:
        return entry[1]()

    def gone(ref: Any) -> None:
        if TENSORS.get(key, (None,))[0] is ref:
            del TENSORS[key]

    table = _TensorHooks()
    t._hooks = table
    TENSORS[key] = (weakref.ref(t, gone), weakref.ref(table))
    return table


def insert(table: dict, fn: Any, prepend: bool) -> int:
    """Put ``fn`` in the hook ``table`` under a new id (first with ``prepend``); returns the id."""
    hid = next(_ids)
    if prepend:
        items = list(table.items())
        table.clear()
        table[hid] = fn
        table.update(items)
    else:
        table[hid] = fn
    return hid


def _handle(registry: dict, obj: Any, table: dict, hid: int) -> RemovableHandle:
    return RemovableHandle(registry, id(obj), table, hid)


# ----------------------------------------------------------------------------- tensors


def _as_array(who: str, value: Any, like: np.ndarray) -> np.ndarray:
    """A hook's returned gradient as an array of ``like``'s shape and dtype."""
    arr = np.asarray(getattr(value, "data", value))
    if arr.shape != like.shape:
        raise RuntimeError(f"{who}: the hook returned a gradient of shape {arr.shape}, expected {like.shape}")
    return arr.astype(like.dtype, copy=False)


def register_tensor_hook(t: Any, hook: Callable) -> RemovableHandle:
    """``t.register_hook(hook)``: ``hook(grad)`` runs when the sweep reaches ``t`` with the
    gradient of the cost w.r.t. ``t`` (for a leaf: this backward's share, before it is added
    to ``.grad``); a returned Tensor or array replaces that gradient."""
    if not callable(hook):
        raise TypeError(f"register_hook: hook must be callable, got {type(hook).__name__}")
    if not t.requires_grad:
        raise RuntimeError("register_hook: cannot register a hook on a tensor that does not require grad")
    from .tensor import Tensor

    def call(node: Any, g: Any, pending: dict, sweep: Any) -> Optional[np.ndarray]:
        if type(g) is LazyGrad:  # a weight gradient kept as factors: the hook sees its value
            g = g.value()
        gt = Tensor(g)  # (a copy: the hook may keep it)
        out = hook(gt)
        if out is None:  # a hook that changed its argument in place (g.mul_(3)) gives that value, as torch
            d = gt._data
            return None if d.shape == g.shape and np.array_equal(d, g, equal_nan=True) else _as_array(
                "register_hook", d, g)
        return _as_array("register_hook", out, g)

    table = _tensor_table(t)
    return _handle(TENSORS, t, table, insert(table, call, False))


def register_post_accumulate_hook(t: Any, hook: Callable) -> RemovableHandle:
    """``t.register_post_accumulate_grad_hook(hook)``: ``hook(t)`` runs (its result ignored) each
    time a backward has added its gradient to the leaf ``t``'s ``.grad``, so ``t.grad`` (and
    ``t.grad_sample``) already hold it: the place for an optimizer step per parameter."""
    who = "register_post_accumulate_grad_hook"
    if not callable(hook):
        raise TypeError(f"{who}: hook must be callable, got {type(hook).__name__}")
    if not t.requires_grad:
        raise RuntimeError(f"{who}: cannot register a hook on a tensor that does not require grad")
    if t._op is not None:
        raise RuntimeError(f"{who}: hooks cannot be registered on non-leaf tensors (the result of an op)")
    key = id(t)
    entry = POST_HOOKS.get(key)
    table = entry[1]() if entry is not None and entry[0]() is t else None
    if table is None:
        def gone(ref: Any) -> None:
            if POST_HOOKS.get(key, (None,))[0] is ref:
                del POST_HOOKS[key]

        table = _TensorHooks()
        t._post = table  # the hooks live in the tensor; the registry holds weak references
        POST_HOOKS[key] = (weakref.ref(t, gone), weakref.ref(table))
    return _handle(POST_HOOKS, t, table, insert(table, hook, False))


def after_accumulate(t: Any) -> None:
    """Run the post-accumulate hooks of the leaf ``t``, in the order they were registered."""
    entry = POST_HOOKS.get(id(t))
    table = entry[1]() if entry is not None and entry[0]() is t else None
    for fn in list(table.values()) if table else ():
        fn(t)


DROP = object()  # a module backward hook returned None for this gradient: it goes nowhere


def run(node: Any, g: Any, table: dict, pending: dict, sweep: Any) -> Any:
    """The sweep's call: each hook of ``node`` in order, each seeing the previous one's result
    (None: the node passes no gradient on)."""
    for fn in list(table.values()):
        out = fn(node, g, pending, sweep)
        if out is DROP:
            return None
        if out is not None:
            g = out
    return g


# ----------------------------------------------------------------------------- modules


class _ModuleHooks:
    __slots__ = ("pre", "post", "backward", "backward_pre", "__weakref__")

    def __init__(self) -> None:
        self.pre: dict = {}  # id -> (fn, with_kwargs)
        self.post: dict = {}  # id -> (fn, with_kwargs, always_call)
        self.backward: dict = {}
        self.backward_pre: dict = {}

    def any(self) -> bool:
        return bool(self.pre or self.post or self.backward or self.backward_pre)

    def __deepcopy__(self, memo: dict) -> "_ModuleHooks":
        import copy

        new = _ModuleHooks()
        for kind in ("pre", "post", "backward", "backward_pre"):
            setattr(new, kind, copy.deepcopy(getattr(self, kind), memo))
        return new


def module_hooks(module: Any) -> Optional[_ModuleHooks]:
    """The hooks ``module`` holds, or None."""
    hooks = module.__dict__.get(_HOOKS)
    return hooks if isinstance(hooks, _ModuleHooks) else None


def _listed(module: Any) -> _ModuleHooks:
    """``module``'s hooks (created if it has none), with the module in the registry."""
    hooks = module_hooks(module)
    if hooks is None:
        hooks = module.__dict__[_HOOKS] = _ModuleHooks()
    key = id(module)
    entry = MODULES.get(key)
    if entry is None or entry[0]() is not module or entry[1]() is not hooks:

        def gone(ref: Any) -> None:
            if MODULES.get(key, (None,))[0] is ref:
                del MODULES[key]

        MODULES[key] = (weakref.ref(module, gone), weakref.ref(hooks))
    return hooks


def adopt_copied_hooks(module: Any) -> None:
    """List a deep copy of a module in the registry when the copy holds hooks (a deep copy
    copies the hooks with the module, as torch's: functions stay themselves, a bound method is
    bound to the copy, a callable object is deep-copied)."""
    hooks = module_hooks(module)
    if hooks is not None and hooks.any():
        _listed(module)


def drop_module_hook(module: Any, kind: str, fn: Any) -> bool:
    """Detach ``module``'s hook ``fn`` of ``kind`` (found by identity); False if it has none."""
    hooks = module_hooks(module)
    if hooks is None:
        return False
    table = getattr(hooks, kind)
    for hid, item in list(table.items()):
        if item[0] is fn:
            del table[hid]
            entry = MODULES.get(id(module))
            if not hooks.any() and entry is not None and entry[0]() is module:
                del MODULES[id(module)]
            return True
    return False


_METHODS = {"pre": "register_forward_pre_hook", "post": "register_forward_hook",
            "backward": "register_full_backward_hook", "backward_pre": "register_full_backward_pre_hook"}


def register_module_hook(module: Any, kind: str, hook: Callable, prepend: bool, *extra: Any) -> RemovableHandle:
    """Attach ``hook`` to ``module`` (``kind``: pre, post, backward or backward_pre)."""
    if not callable(hook):
        raise TypeError(f"{_METHODS[kind]}: hook must be callable, got {type(hook).__name__}")
    hooks = _listed(module)
    table = getattr(hooks, kind)
    return _handle(MODULES, module, table, insert(table, (hook, *extra), prepend))


def _plain(module: Any, args: tuple, kwargs: dict) -> Any:
    """The forward itself, with ``module`` on the running-module stack while it runs."""
    with state.running(module):
        try:
            return module.forward(*args, **kwargs)
        except Exception as e:  # (as Module.__call__: the inputs and the layer's tensors for draw_graph)
            module._failed(e, args, kwargs)
            raise


def call(module: Any, args: tuple, kwargs: dict) -> Any:
    """``module(*args, **kwargs)`` with its hooks: forward pre-hooks (which may replace the
    arguments), the forward, forward hooks (which may replace the output), and identity
    nodes on inputs and outputs for its backward hooks."""
    hooks = module_hooks(module)
    if hooks is None:
        return _plain(module, args, kwargs)
    try:  # (a pre-hook or the forward that raises still runs the always_call forward hooks, as torch)
        for fn, with_kwargs in list(hooks.pre.values()):
            if with_kwargs:
                out = fn(module, args, kwargs)
                if out is not None:
                    if not (isinstance(out, tuple) and len(out) == 2):
                        raise RuntimeError("forward pre-hook with with_kwargs=True must return None or (args, kwargs)")
                    args, kwargs = out
            else:
                out = fn(module, args)
                if out is not None:
                    args = out if isinstance(out, tuple) else (out,)
        record = _Record(module, hooks, len(args)) if (hooks.backward or hooks.backward_pre) and state.grad else None
        if record is not None:
            args = record.wrap_inputs(args)
        out = _plain(module, args, kwargs)
    except BaseException:
        for fn, with_kwargs, always in list(hooks.post.values()):
            if always:
                fn(module, args, kwargs, None) if with_kwargs else fn(module, args, None)
        raise
    for fn, with_kwargs, _always in list(hooks.post.values()):
        r = fn(module, args, kwargs, out) if with_kwargs else fn(module, args, out)
        if r is not None:
            out = r
    return record.wrap_outputs(out) if record is not None else out


class _Record:
    """One call of a module with backward hooks: its input and output identity nodes."""

    def __init__(self, module: Any, hooks: _ModuleHooks, n_args: int) -> None:
        self.module, self.hooks = module, hooks
        self.inputs: list = [None] * n_args
        self.outputs: list = []
        self.single = True
        self.fired: dict = {"out": None, "in": None}  # side -> the sweep for which that side ran
        self.grad_output: tuple = ()

    def _point(self, t: Any, side: str) -> Any:
        from .ops import HOOKPOINT

        node = HOOKPOINT(t)
        insert(_tensor_table(node), functools.partial(self._reach, side), False)
        return node

    def wrap_inputs(self, args: tuple) -> tuple:
        from .tensor import Tensor

        out = list(args)
        for i, a in enumerate(args):
            if isinstance(a, Tensor) and a.requires_grad:
                out[i] = self._point(a, "in")
                self.inputs[i] = weakref.ref(out[i])
        return tuple(out)

    def wrap_outputs(self, out: Any) -> Any:
        from .tensor import Tensor

        if isinstance(out, Tensor):
            items, self.single = [out], True
        elif isinstance(out, (tuple, list)):
            items, self.single = list(out), False
        else:
            return out
        wrapped = []
        for t in items:
            if isinstance(t, Tensor) and t.requires_grad:
                node = self._point(t, "out")
                self.outputs.append(weakref.ref(node))
                wrapped.append(node)
            else:
                self.outputs.append(None)
                wrapped.append(t)
        if not any(n is not None for n in self.outputs):
            return out
        if self.single:
            return wrapped[0]
        return type(out)(wrapped) if isinstance(out, list) else tuple(wrapped)

    @staticmethod
    def _tensors(arrays: list) -> tuple:
        from .tensor import Tensor

        return tuple(None if a is None else Tensor(a) for a in arrays)

    @staticmethod
    def _alive(refs: list) -> list:
        """The identity nodes (held weakly: the graph owns them, the record only names them)."""
        return [None if r is None else r() for r in refs]

    def _current(self, nodes: list, node: Any, g: Any, pending: dict) -> list:
        return [None if n is None else (g if n is node else pending.get(n)) for n in nodes]

    def _replace(self, who: str, nodes: list, node: Any, g: Any, pending: dict, new: Any, old: list) -> Any:
        if not isinstance(new, (tuple, list)) or len(new) != len(nodes):
            raise RuntimeError(f"{who}: the hook must return None or a tuple of {len(nodes)} gradients, got {new!r}")
        for n, value, before in zip(nodes, new, old):
            if n is None or before is None:
                continue
            if value is None:  # as torch: this input (output) then gets no gradient from here
                if n is node:
                    g = DROP
                else:
                    pending.pop(n, None)
                continue
            arr = _as_array(who, value, before)
            if n is node:
                g = arr
            else:
                pending[n] = arr
        return g

    def _reach(self, side: str, node: Any, g: Any, pending: dict, sweep: Any) -> Any:
        """An identity node of ``side`` ("out" or "in") reached by the backward ``sweep``: the
        first one reached finds every gradient of its side complete and runs that side's hooks
        (:meth:`_output_side`, :meth:`_input_side`) on the side's nodes and their current
        gradients; the others of the side return None."""
        if self.fired[side] is sweep:
            return None
        self.fired[side] = sweep
        nodes = self._alive(self.outputs if side == "out" else self.inputs)
        run = self._output_side if side == "out" else self._input_side
        return run(nodes, self._current(nodes, node, g, pending), node, g, pending)

    def _output_side(self, outputs: list, grads: list, node: Any, g: Any, pending: dict) -> Any:
        """Every output's gradient is complete: the backward pre-hooks, each seeing the
        gradients the previous one returned."""
        for fn, in list(self.hooks.backward_pre.values()):
            new = fn(self.module, self._tensors(grads))
            if new is not None:
                g = self._replace("backward pre-hook", outputs, node, g, pending, new, grads)
                grads = self._current(outputs, node, g, pending)
        self.grad_output = self._tensors(grads)
        if not any(n is not None for n in self.inputs):  # nothing to wait for: no input needs a gradient
            self._call_backward(self._tensors([None] * len(self.inputs)))
        return g

    def _input_side(self, inputs: list, grads: list, node: Any, g: Any, pending: dict) -> Any:
        """Every input's gradient is complete: the backward hooks."""
        new = self._call_backward(self._tensors(grads))
        if new is not None:
            g = self._replace("backward hook", inputs, node, g, pending, new, grads)
        return g

    def _call_backward(self, grad_input: tuple) -> Any:
        """Each backward hook in order, each seeing the grad_input the previous one returned."""
        result = None
        for fn, in list(self.hooks.backward.values()):
            out = fn(self.module, grad_input, self.grad_output)
            if out is not None:
                result = out
                grad_input = tuple(out)
        return result
