"""Puts on ``tl.nn.functional`` (``F``) the functions that live outside functional.py:
``multi_head_attention_forward`` (mha_functional.py), ``fractional_max_pool3d`` and
``fractional_max_pool3d_with_indices`` (fractional3d.py).

Also gives every function of ``F`` the Tensors it was called with as the ``.operands`` of an
exception it raises before any op attached its own (argument checks: ``tl.viz.draw_graph(exc)``
draws them, the function in red): each public function is replaced by a wrapper that does so.

Keeps no state; touches ``tl.nn.functional``: sets those attributes and adds them to its
``__all__`` once, when ``tl.nn`` is imported.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

from ..ops.base import with_operands
from . import functional as _F
from .fractional3d import fractional_max_pool3d, fractional_max_pool3d_with_indices
from .mha_functional import multi_head_attention_forward

__all__: list = []

for _f in (multi_head_attention_forward, fractional_max_pool3d, fractional_max_pool3d_with_indices):
    setattr(_F, _f.__name__, _f)
    if _f.__name__ not in _F.__all__:
        _F.__all__.append(_f.__name__)


def _drawable(fn: Callable) -> Callable:
    """``fn`` whose exceptions carry its Tensor arguments as ``.operands`` (see the docstring)."""

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as e:
            with_operands(e, fn.__name__, (*args, *kwargs.values()))
            raise

    call._drawable = True  # type: ignore[attr-defined]
    return call


for _name in _F.__all__:
    _f = getattr(_F, _name)
    if inspect.isfunction(_f) and not getattr(_f, "_drawable", False):
        setattr(_F, _name, _drawable(_f))
