"""torch.save / torch.load spellings that :mod:`tinygrad_lite.checkpoint` accepts.

Keeps no state. ``read_stream`` / ``write_stream`` load from / save to a file object (refusing a
closed or wrong-mode one, naming the function). ``is_stream`` tells a binary file object
(``io.BytesIO``, an ``open(..., "wb")`` handle) from a path, so ``save(obj, buffer)`` /
``load(buffer)`` work as torch's do;
``check_load_options`` checks torch.load's ``map_location``, ``weights_only`` and ``mmap``,
which change nothing here: every array is read into host memory and nothing is unpickled
(torch's ``weights_only=True``).
"""

from __future__ import annotations

import io
import os
from typing import Any, Callable

import numpy as np

from .factories import check_device

__all__ = ["check_load_options", "check_stream", "is_stream", "read_stream", "write_stream"]


def is_stream(obj: Any, mode: str) -> bool:
    """Whether ``obj`` is a file object to ``"read"`` (``read`` and ``seek``) or to
    ``"write"`` (``write``) rather than a path."""
    if isinstance(obj, (str, bytes, os.PathLike)):
        return False
    if mode == "read":
        return callable(getattr(obj, "read", None)) and callable(getattr(obj, "seek", None))
    return callable(getattr(obj, "write", None))


def check_stream(func: str, f: Any, mode: str) -> bool:
    """Refuse a closed file object (ValueError), a text-mode one (TypeError) or one that cannot
    ``"read"`` / ``"write"`` (``io.UnsupportedOperation``), naming ``func``; returns whether it is seekable (a pipe or
    socket is read to its end instead of seeking)."""
    if getattr(f, "closed", False):
        raise ValueError(f"{func}: the {type(f).__name__} file object is closed")
    text_mode = getattr(f, "mode", "b")
    if isinstance(f, io.TextIOBase) or (isinstance(text_mode, str) and "b" not in text_mode):
        raise TypeError(f"{func}: the {type(f).__name__} file object is in text mode; checkpoints are binary "
                        f"(open the file with {'rb' if mode == 'read' else 'wb'!r}, or use io.BytesIO)")
    able = getattr(f, "readable" if mode == "read" else "writable", None)
    if callable(able) and not able():
        raise io.UnsupportedOperation(f"{func}: the {type(f).__name__} file object is not open for {mode} "
                                      f"(mode {getattr(f, 'mode', '?')!r})")
    seekable = getattr(f, "seekable", None)
    return bool(seekable()) if callable(seekable) else True


def read_stream(f: Any, read: Callable[[Any, str, int], Any]) -> Any:
    """``read(file, where, start)`` on the binary file object ``f`` from its position; a
    failure seeks ``f`` back there, and a non-seekable ``f`` is read to its end first."""
    where = f"checkpoint from {type(f).__name__} object"
    if not check_stream("load", f, "read"):
        return read(io.BytesIO(f.read()), where, 0)
    start = f.tell()
    try:
        return read(f, where, start)
    except BaseException:
        f.seek(start)  # a failed load leaves the file where it was
        raise


def write_stream(f: Any, write: Callable[[Any], None]) -> Any:
    """``write(buffer)`` into memory, then the whole archive into ``f`` in one call (a
    failure writes nothing, and ``f`` need not be seekable); returns ``f``."""
    check_stream("save", f, "write")
    buffer = io.BytesIO()
    write(buffer)
    f.write(buffer.getvalue())
    return f


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
