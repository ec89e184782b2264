"""torch.save / torch.load spellings that :mod:`tinygrad_lite.checkpoint` accepts.

Keeps no state. ``is_stream`` tells a binary file object (``io.BytesIO``, an ``open(..., "wb")``
handle) from a path, so ``save(obj, buffer)`` / ``load(buffer)`` work as torch's do;
``check_load_options`` checks torch.load's ``map_location``, ``weights_only`` and ``mmap``,
which change nothing here: every array is read into host memory and nothing is unpickled
(torch's ``weights_only=True``).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .factories import check_device

__all__ = ["check_load_options", "is_stream"]


def is_stream(obj: Any, mode: str) -> bool:
    """Whether ``obj`` is a file object to ``"read"`` (``read`` and ``seek``) or to
    ``"write"`` (``write``) rather than a path."""
    if isinstance(obj, (str, bytes, os.PathLike)):
        return False
    if mode == "read":
        return callable(getattr(obj, "read", None)) and callable(getattr(obj, "seek", None))
    return callable(getattr(obj, "write", None))


def check_load_options(map_location: Any, weights_only: Any, mmap: Any) -> None:
    """``map_location``: ``None``, ``"cpu"``, a CPU device, a dict of location -> location
    (each target the CPU) or a callable (torch's ``(storage, location) -> storage`` hook:
    every storage is on the CPU already); another device is a RuntimeError as torch without
    it. ``weights_only`` and ``mmap``: a bool or None, else a TypeError."""
    targets = list(map_location.values()) if isinstance(map_location, dict) else [map_location]
    for target in targets:
        if not callable(target):
            check_device("load: map_location", target)
    for name, value in (("weights_only", weights_only), ("mmap", mmap)):
        if value is not None and not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"load: {name} must be a bool or None, got {value!r}")
