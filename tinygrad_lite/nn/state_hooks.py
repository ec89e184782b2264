"""Module state-dict hooks, as torch's: code run when a module's ``state_dict()`` is taken and
when ``load_state_dict()`` loads one, for every module of the model that registered some.

* ``register_state_dict_pre_hook(hook)``: ``hook(module, prefix, keep_vars)`` before the
  state is collected.
* ``register_state_dict_post_hook(hook)``: ``hook(module, state_dict, prefix, local_metadata)``
  after; it may change ``state_dict`` in place.
* ``register_load_state_dict_pre_hook(hook)``: ``hook(module, state_dict, prefix,
  local_metadata, strict, missing_keys, unexpected_keys, error_msgs)`` before anything is
  loaded; it may rename or change entries of ``state_dict`` (a copy of the caller's, which is
  never changed); a message appended to ``error_msgs`` makes the load fail, changing nothing.
* ``register_load_state_dict_post_hook(hook)``: ``hook(module, incompatible_keys)`` after the
  values are loaded; it may clear keys it expected to be missing or unexpected, and a strict
  load then succeeds; keys left make it fail with the weights restored, as before the load.

``prefix`` is the module's dotted path in the model followed by a dot ('' for the model
itself). Each call returns a handle whose ``remove()`` detaches the hook. This module keeps
one process-wide count of registered hooks, so a model without any pays one test per call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from ..hooks import insert

if TYPE_CHECKING:
    from ..optim.hooks import Handle

__all__ = ["StateHooks"]

_REGISTERED = [0]  # hooks ever registered (the walks below run only once there are some)
_KINDS = ("_state_dict_pre_hooks", "_state_dict_post_hooks", "_load_state_dict_pre_hooks",
          "_load_state_dict_post_hooks")


def _register(module: Any, kind: str, hook: Callable, who: str) -> "Handle":
    from ..optim.hooks import Handle  # (the optimizers' handle: remove() drops the hook from its table)
    if not callable(hook):
        raise TypeError(f"{type(module).__name__}.{who}: the hook must be callable, got {type(hook).__name__}")
    table = module.__dict__.setdefault(kind, {})
    _REGISTERED[0] += 1
    return Handle(table, insert(table, hook, False))


def _hooked(model: Any, kind: str) -> list:
    """(prefix, module, hooks) of every module of ``model`` holding hooks of ``kind``."""
    if not _REGISTERED[0]:
        return []
    return [(f"{n}." if n else "", m, list(m.__dict__[kind].values())) for n, m in model.named_modules()
            if m.__dict__.get(kind)]


def run_state_pre(model: Any, prefix: str, keep_vars: bool) -> None:
    for p, m, hooks in _hooked(model, _KINDS[0]):
        for hook in hooks:
            hook(m, prefix + p, keep_vars)


def run_state_post(model: Any, state: dict, prefix: str) -> None:
    for p, m, hooks in _hooked(model, _KINDS[1]):
        for hook in hooks:
            hook(m, state, prefix + p, {})


def run_load_pre(model: Any, state: Any, strict: bool) -> Any:
    """The state to load: ``state`` itself without hooks, else a copy the hooks have edited."""
    found = _hooked(model, _KINDS[2])
    if not found:
        return state
    state, errors = dict(state), []
    for p, m, hooks in found:
        for hook in hooks:
            hook(m, state, p, {}, strict, [], [], errors)
    if errors:
        raise RuntimeError("load_state_dict: " + "; ".join(str(e) for e in errors))
    return state


def has_load_post(model: Any) -> bool:
    """Whether some module of ``model`` has a load_state_dict post-hook."""
    return bool(_hooked(model, _KINDS[3]))


def run_load_post(model: Any, result: Any) -> None:
    for _, m, hooks in _hooked(model, _KINDS[3]):
        for hook in hooks:
            hook(m, result)


class StateHooks:
    """The registering methods (see the module docstring)."""

    def register_state_dict_pre_hook(self, hook: Callable) -> "Handle":
        """``hook(module, prefix, keep_vars)`` before ``state_dict()`` collects the state."""
        return _register(self, _KINDS[0], hook, "register_state_dict_pre_hook")

    def register_state_dict_post_hook(self, hook: Callable) -> "Handle":
        """``hook(module, state_dict, prefix, local_metadata)`` after ``state_dict()``; it may
        change the dict in place."""
        return _register(self, _KINDS[1], hook, "register_state_dict_post_hook")

    def register_load_state_dict_pre_hook(self, hook: Callable) -> "Handle":
        """``hook(module, state_dict, prefix, local_metadata, strict, missing_keys,
        unexpected_keys, error_msgs)`` before ``load_state_dict()`` loads anything; it may edit
        the (copied) state dict; a message added to ``error_msgs`` fails the load."""
        return _register(self, _KINDS[2], hook, "register_load_state_dict_pre_hook")

    def register_load_state_dict_post_hook(self, hook: Callable) -> "Handle":
        """``hook(module, incompatible_keys)`` after a successful ``load_state_dict()``."""
        return _register(self, _KINDS[3], hook, "register_load_state_dict_post_hook")
