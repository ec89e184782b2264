"""Checkpoints that cannot run code when loaded.

``save(obj, path)`` writes a model state dict, an optimizer state dict, or any
nesting of them (``{"model": ..., "optim": ..., "epoch": 3}``) to ONE ``.npz``
file, and ``load(path)`` reads it back. No pickle is involved anywhere:

* every numpy array (and numpy scalar) becomes its own ``.npy`` member of the
  archive, so its dtype, byte order and shape (0-d included) are kept exactly;
* everything else -- dicts, lists, tuples, ``None``, ``bool``, ``int``,
  ``float`` and ``str`` -- is described by a JSON document stored as the
  uint8 member ``__structure__``. Dict keys keep their type (``0`` and
  ``"0"`` are different keys and stay different), tuples stay tuples, and
  array leaves refer to their members by name;
* ``load`` opens the archive with ``allow_pickle=False``, so an archive that
  smuggles in a pickled object array is refused before anything in it runs.

Writes are atomic: the archive is written to a temporary file in the target's
directory, flushed, ``os.fsync``-ed and then moved onto the target with
``os.replace``. A failure or crash part-way through leaves an existing
checkpoint untouched and removes the temporary file.

Paths are used exactly as given: no ``.npz`` suffix is appended by either
function, so ``save(obj, "ckpt")`` writes the file ``ckpt`` and
``load("ckpt")`` reads it. Naming files ``*.npz`` is still recommended.

Limits: only the types listed above are accepted (anything else, object arrays
included, is a ``TypeError`` naming where it sits); an ``OrderedDict`` loads
as an ``OrderedDict``, other dict, list and tuple subclasses (named tuples
too) load as their plain base type; two references to one array are stored, and loaded, as two
independent arrays.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
import zipfile
import zlib
from collections import OrderedDict
from pathlib import Path
from typing import Any, BinaryIO, Union

import numpy as np

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "STRUCTURE_MEMBER", "CheckpointError", "load", "save"]

PathLike = Union[str, "os.PathLike[str]"]

FORMAT_NAME = "tinygrad_lite.checkpoint"
"""Value of the ``format`` field of the structure document."""

FORMAT_VERSION = 1
"""Version of the structure document written by :func:`save`."""

STRUCTURE_MEMBER = "__structure__"
"""Name of the archive member holding the JSON structure document."""


class CheckpointError(ValueError):
    """A file that :func:`load` refuses: not a checkpoint, damaged, or unsafe."""


_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_NPY_MAGIC = b"\x93NUMPY"

# Tags of the JSON objects that encode non-JSON nodes. Every JSON object in the
# document has exactly one of these keys; JSON arrays are Python lists.
_DICT, _ODICT, _TUPLE, _ARRAY, _SCALAR, _FLOAT = "$dict", "$odict", "$tuple", "$array", "$scalar", "$float"
_NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


# --------------------------------------------------------------------------- encoding


def _where(path: str) -> str:
    return f"obj{path}"


def _encode_key(key: Any, path: str) -> Any:
    if key is None or isinstance(key, (bool, str)):
        return key
    if isinstance(key, int) and not isinstance(key, np.integer):
        return int(key)
    if isinstance(key, float) and not isinstance(key, np.floating):
        return _encode_float(float(key))
    raise TypeError(
        f"cannot save dict key {key!r} of type {type(key).__name__} in {_where(path)}: "
        "keys must be str, int, float, bool or None"
    )


def _encode_float(x: float) -> Any:
    if math.isfinite(x):
        return x
    return {_FLOAT: "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")}


class _Encoder:
    """Turns a Python structure into a JSON-able tree plus a dict of arrays."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self._active: set[int] = set()

    def _add_array(self, arr: np.ndarray, path: str) -> str:
        if arr.dtype.hasobject:
            raise TypeError(
                f"cannot save the object array ({arr.dtype}) at {_where(path)}: object arrays need "
                "pickle, which checkpoints never use; convert it to a numeric or string dtype"
            )
        name = f"arr{len(self.arrays)}"
        self.arrays[name] = arr
        return name

    def encode(self, obj: Any, path: str) -> Any:
        if isinstance(obj, np.ndarray):
            return {_ARRAY: self._add_array(np.asarray(obj), path)}
        if isinstance(obj, np.generic):
            return {_SCALAR: self._add_array(np.asarray(obj), path)}
        if obj is None or isinstance(obj, bool):
            return obj
        if isinstance(obj, str):
            return str.__str__(obj)
        if isinstance(obj, int):
            return int(obj)
        if isinstance(obj, float):
            return _encode_float(float(obj))
        if isinstance(obj, (dict, list, tuple)):
            if id(obj) in self._active:
                raise ValueError(f"cannot save a structure that contains itself (at {_where(path)})")
            self._active.add(id(obj))
            try:
                if isinstance(obj, dict):
                    pairs = [[_encode_key(k, path), self.encode(v, f"{path}[{k!r}]")] for k, v in obj.items()]
                    return {_ODICT if isinstance(obj, OrderedDict) else _DICT: pairs}
                items = [self.encode(v, f"{path}[{i}]") for i, v in enumerate(obj)]
                return {_TUPLE: items} if isinstance(obj, tuple) else items
            finally:
                self._active.discard(id(obj))
        hint = ""
        if hasattr(obj, "data") and isinstance(getattr(obj, "data", None), np.ndarray):
            hint = " (save its .data array, or a module's state_dict())"
        raise TypeError(
            f"cannot save {type(obj).__name__} at {_where(path)}{hint}: supported are numpy arrays and "
            "scalars, dict, list, tuple, None, bool, int, float and str"
        )


# --------------------------------------------------------------------------- decoding


class _Decoder:
    """Rebuilds the Python structure from the JSON tree and the loaded arrays."""

    def __init__(self, arrays: dict[str, np.ndarray], where: str) -> None:
        self.arrays = arrays
        self.used: set[str] = set()
        self.where = where

    def _bad(self, what: str) -> CheckpointError:
        return CheckpointError(f"{self.where}: invalid checkpoint structure: {what}")

    def _member(self, name: Any) -> np.ndarray:
        if not isinstance(name, str) or name not in self.arrays:
            raise self._bad(f"reference to missing array member {name!r}")
        self.used.add(name)
        return self.arrays[name]

    def _float(self, node: Any) -> float:
        if isinstance(node, float):
            return node
        value = node.get(_FLOAT) if isinstance(node, dict) and len(node) == 1 else None
        if not isinstance(value, str) or value not in _NONFINITE:
            raise self._bad(f"bad float node {node!r}")
        return _NONFINITE[value]

    def key(self, node: Any) -> Any:
        if node is None or isinstance(node, (bool, int, str, float)):
            return node
        return self._float(node)

    def decode(self, node: Any) -> Any:
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.decode(v) for v in node]
        if not isinstance(node, dict) or len(node) != 1:
            raise self._bad(f"unexpected node {str(node)[:80]}")
        ((tag, value),) = node.items()
        if tag in (_DICT, _ODICT):
            if not isinstance(value, list) or not all(isinstance(kv, list) and len(kv) == 2 for kv in value):
                raise self._bad("a dict node must hold [key, value] pairs")
            pairs = [(self.key(k), self.decode(v)) for k, v in value]
            return OrderedDict(pairs) if tag == _ODICT else dict(pairs)
        if tag == _TUPLE:
            if not isinstance(value, list):
                raise self._bad("a tuple node must hold a list")
            return tuple(self.decode(v) for v in value)
        if tag == _ARRAY:
            return self._member(value)
        if tag == _SCALAR:
            arr = self._member(value)
            if arr.ndim != 0:
                raise self._bad(f"scalar member {value!r} has shape {arr.shape}")
            return arr[()]
        if tag == _FLOAT:
            return self._float(node)
        raise self._bad(f"unknown tag {tag!r}")


# --------------------------------------------------------------------------- writing


def _write_npz(fileobj: BinaryIO, arrays: dict[str, np.ndarray], compress: bool) -> None:
    """Writes ``arrays`` as an npz archive into the open binary file ``fileobj``."""
    writer = np.savez_compressed if compress else np.savez
    writer(fileobj, **arrays)


def _fsync_directory(directory: str) -> None:
    """Makes a rename in ``directory`` durable where the platform allows it."""
    if os.name != "posix":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _check_path(path: Any, func: str) -> str:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{func}() needs a str or os.PathLike path, got {type(path).__name__}")
    p = os.fspath(path)
    if not isinstance(p, str):
        raise TypeError(f"{func}() needs a str or os.PathLike path, got a {type(p).__name__} path")
    if p == "":
        raise ValueError(f"{func}() got an empty path")
    return p


def save(obj: Any, path: PathLike, *, compress: bool = False) -> Path:
    """Saves ``obj`` to the ``.npz`` file ``path`` atomically, without pickle.

    Args:
        obj: a model ``state_dict()`` (name -> ndarray), an optimizer
            ``state_dict()``, or any nesting of dict / list / tuple whose leaves
            are numpy arrays, numpy scalars, ``None``, ``bool``, ``int``,
            ``float`` or ``str``. Dict keys may be ``str``, ``int``,
            ``float``, ``bool`` or ``None`` and keep their type.
        path: the file to write, used exactly as given (no suffix is added).
        compress: deflate the array members (smaller, slower).

    Returns:
        The path written, as a :class:`pathlib.Path`.

    Raises:
        TypeError: for an unsupported value or key, or an object array; the
            message names where in ``obj`` it sits. Nothing is written.
        ValueError: for a structure that contains itself.
        FileNotFoundError: if the target's directory does not exist.
    """
    target = _check_path(path, "save")
    encoder = _Encoder()
    tree = encoder.encode(obj, "")
    document = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "root": tree}
    text = json.dumps(document, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    arrays = dict(encoder.arrays)
    arrays[STRUCTURE_MEMBER] = np.frombuffer(text.encode("ascii"), dtype=np.uint8)

    directory = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"cannot save checkpoint {target!r}: directory {directory!r} does not exist")
    tmp = os.path.join(directory, f".{os.path.basename(target)}.{secrets.token_hex(6)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp, flags, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            _write_npz(f, arrays, compress)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_directory(directory)
    return Path(target)


# --------------------------------------------------------------------------- reading


def _read_member(npz: Any, name: str, where: str) -> np.ndarray:
    try:
        member = npz[name]
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise CheckpointError(
                f"cannot load {where}: member {name!r} is a pickled object array; refused "
                "(checkpoints never contain pickled data and loading never unpickles)"
            ) from None
        raise
    if isinstance(member, bytes):  # the archive member is not a .npy file
        raise CheckpointError(f"cannot load {where}: member {name!r} is not a .npy array")
    return member


def _read_members(f: BinaryIO, where: str) -> dict[str, np.ndarray]:
    """Reads every member of the open archive ``f`` (never unpickling)."""
    with np.load(f, allow_pickle=False) as npz:
        names = list(npz.files)
        if STRUCTURE_MEMBER not in names:
            raise CheckpointError(
                f"cannot load {where}: no {STRUCTURE_MEMBER!r} member, so it was not written by save() "
                "(a plain np.savez archive?)"
            )
        return {name: _read_member(npz, name, where) for name in names}


def _parse_structure(raw: np.ndarray, where: str) -> Any:
    """Parses and checks the structure document; returns its ``root`` node."""
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise CheckpointError(f"cannot load {where}: member {STRUCTURE_MEMBER!r} is not a uint8 byte string")
    try:
        document = json.loads(raw.tobytes().decode("ascii"))
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise CheckpointError(
            f"cannot load {where}: member {STRUCTURE_MEMBER!r} is not valid JSON ({exc})"
        ) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT_NAME or "root" not in document:
        raise CheckpointError(
            f"cannot load {where}: member {STRUCTURE_MEMBER!r} is not a {FORMAT_NAME} document"
        )
    version = document.get("version")
    if type(version) is not int or not 1 <= version <= FORMAT_VERSION:
        raise CheckpointError(
            f"cannot load {where}: format version {version!r} is not supported (this library reads "
            f"versions 1 to {FORMAT_VERSION})"
        )
    return document["root"]


def load(path: PathLike) -> Any:
    """Loads a checkpoint written by :func:`save`; never unpickles anything.

    Args:
        path: the file to read, used exactly as given (no suffix is added).

    Returns:
        The saved structure: dicts (with their original key types), lists,
        tuples, numpy arrays (same dtype and shape), numpy scalars and Python
        ``None`` / ``bool`` / ``int`` / ``float`` / ``str``.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        IsADirectoryError: if ``path`` is a directory.
        CheckpointError: (a ``ValueError``) if the file is not an ``.npz``
            archive, is truncated or damaged, was not written by :func:`save`
            (no or an invalid structure member, missing or unexpected
            members), or holds a pickled object array. The message names the
            path and the problem.
    """
    source = _check_path(path, "load")
    where = f"checkpoint {source!r}"
    if os.path.isdir(source):
        raise IsADirectoryError(f"cannot load {where}: it is a directory")
    if not os.path.exists(source):
        hint = ""
        if not source.endswith(".npz") and os.path.exists(source + ".npz"):
            hint = f" (a file {source + '.npz'!r} exists; paths are used exactly as given)"
        raise FileNotFoundError(f"cannot load {where}: no such file{hint}")

    with open(source, "rb") as f:
        head = f.read(6)
        if head[:4] not in _ZIP_MAGIC:
            what = "not an .npz (zip) archive"
            if head == _NPY_MAGIC:
                what = "a single .npy array, not an .npz archive"
            elif not head:
                what = "the file is empty"
            raise CheckpointError(
                f"cannot load {where}: {what}; checkpoints are .npz archives written by save()"
            )
        f.seek(0)
        try:
            arrays = _read_members(f, where)
        except CheckpointError:
            raise
        except (ValueError, zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError) as exc:
            raise CheckpointError(
                f"cannot load {where}: truncated or damaged archive ({type(exc).__name__}: {exc})"
            ) from exc

    root = _parse_structure(arrays.pop(STRUCTURE_MEMBER), where)
    decoder = _Decoder(arrays, f"cannot load {where}")
    result = decoder.decode(root)
    unused = sorted(set(arrays) - decoder.used)
    if unused:
        raise CheckpointError(f"cannot load {where}: unexpected archive members {unused}")
    return result
