"""Puts on ``tl.nn.functional`` (``F``) the functions that live outside functional.py:
``multi_head_attention_forward`` (mha_functional.py), ``fractional_max_pool3d`` and
``fractional_max_pool3d_with_indices`` (fractional3d.py).

Keeps no state; touches ``tl.nn.functional``: sets those attributes and adds them to its
``__all__`` once, when ``tl.nn`` is imported.
"""

from __future__ import annotations

from . import functional as _F
from .fractional3d import fractional_max_pool3d, fractional_max_pool3d_with_indices
from .mha_functional import multi_head_attention_forward

__all__: list = []

for _f in (multi_head_attention_forward, fractional_max_pool3d, fractional_max_pool3d_with_indices):
    setattr(_F, _f.__name__, _f)
    if _f.__name__ not in _F.__all__:
        _F.__all__.append(_f.__name__)
