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
* a ``Tensor`` (as torch.save keeps one: a model's weights, the loss of a general
  checkpoint) is its array member plus whether it requires grad and is a parameter;
  it loads as a new leaf Tensor (a parameter as ``tl.nn.Parameter``), with no graph;
* object arrays (which need pickle) are refused by both functions.

Writes are atomic: the archive goes to a temporary file
``.<name>.<pid>.<random>.tmp-ckpt`` in the target's directory, is flushed,
``os.fsync``-ed and moved onto the target with ``os.replace``. Any exception on
the way (a ``KeyboardInterrupt`` included) leaves an existing checkpoint
untouched and removes the temporary file; one left behind by a killed process
is removed by the next save to the same path once that process is gone. A
symlink is written through (its target is replaced, the link stays a link), an
existing file keeps its permission bits, and a path that exists but is not a
regular file (directory, FIFO, device) is refused before anything is written.

Loading trusts nothing in the file (see :mod:`tinygrad_lite._npzsafe`): only a
regular file is opened; the zip directory, every member's sizes and every
``.npy`` header are checked before the data is decompressed or allocated;
unexpected, duplicate, overlapping or oversized members, two structure entries
naming one member, and structures nested deeper than ``MAX_DEPTH`` all raise
:class:`CheckpointError`. A file of ``S`` bytes never makes ``load`` allocate
more than about ``112 * S`` bytes for its arrays (``_npzsafe.MAX_RATIO`` = 100 times the
compressed sizes, plus ``RATIO_SLACK`` per member), and its structure at most 16 values per
byte it occupies (about 1.6 KiB of memory per byte) and ``MAX_STRUCTURE_VALUES`` in all.

Paths are used exactly as given: no ``.npz`` suffix is appended by either
function, so ``save(obj, "ckpt")`` writes the file ``ckpt`` and
``load("ckpt")`` reads it. Naming files ``*.npz`` is still recommended.

Limits: only the types listed above are accepted (anything else, a Module
or a ``set`` for instance, is a ``TypeError`` naming where it sits); an
``OrderedDict`` loads as an ``OrderedDict``, other dict, list and tuple
subclasses (named tuples too) and array subclasses (a state dict's
``StateArray``) load as their plain base type; two references to
one array are stored, and loaded, as two independent arrays; a deflated member
is only kept deflated when it shrinks at most ``_npzsafe.SAVE_RATIO`` times
(larger ratios, e.g. big all-zero arrays, are stored uncompressed so that
``load`` can tell them from zip bombs).
"""

from __future__ import annotations

import io
import json
import math
import os
import struct
import zipfile
import zlib
from collections import OrderedDict
from pathlib import Path
from typing import Any, BinaryIO, Optional, Union

import numpy as np

from . import _npzsafe
from ._npzsafe import CheckpointError
from .checkpoint_torch import check_load_options, is_stream, read_stream, write_stream
from .tensor import Tensor

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "MAX_DEPTH", "STRUCTURE_MEMBER", "CheckpointError", "load",
           "save"]

PathLike = Union[str, "os.PathLike[str]"]

FORMAT_NAME = "tinygrad_lite.checkpoint"
"""Value of the ``format`` field of the structure document."""

FORMAT_VERSION = 1
"""Version of the structure document written by :func:`save`."""

STRUCTURE_MEMBER = "__structure__"
"""Name of the archive member holding the JSON structure document."""

MAX_DEPTH = 100
"""Deepest nesting of dicts / lists / tuples that :func:`save` writes and :func:`load` reads."""

MAX_STRUCTURE_BYTES = 64 << 20  # the largest structure document load reads, in bytes,
MAX_STRUCTURE_VALUES = 4 << 20  # and the most values it may hold (big data belongs in arrays)

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_NPY_MAGIC = b"\x93NUMPY"
_MEMBER_KEYS = r"__structure__|arr[0-9]{1,9}"

# Tags of the JSON objects that encode non-JSON nodes. Every JSON object in the
# document has exactly one of these keys; JSON arrays are Python lists.
_DICT, _ODICT, _TUPLE, _ARRAY, _SCALAR, _FLOAT = "$dict", "$odict", "$tuple", "$array", "$scalar", "$float"
_TENSOR = "$tensor"  # [member, requires_grad, is a parameter]
_NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
# A Python nesting level takes at most 3 JSON levels ({"$dict": [[k, v]]}); the document
# object and a leaf node ({"$array": ...}) add 2.
_MAX_JSON_DEPTH = 3 * MAX_DEPTH + 2


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

    def encode(self, obj: Any, path: str, depth: int = 0) -> Any:
        if isinstance(obj, np.ndarray):
            return {_ARRAY: self._add_array(np.asarray(obj), path)}
        if isinstance(obj, np.generic):
            return {_SCALAR: self._add_array(np.asarray(obj), path)}
        if isinstance(obj, Tensor):
            return {_TENSOR: [self._add_array(np.array(obj.data), path), bool(obj.requires_grad),
                              bool(getattr(obj, "_param", False))]}
        if obj is None or isinstance(obj, bool):
            return obj
        if isinstance(obj, str):
            return str.__str__(obj)
        if isinstance(obj, int):
            return _npzsafe.text_int(obj, _where(path))
        if isinstance(obj, float):
            return _encode_float(float(obj))
        if isinstance(obj, (dict, list, tuple)):
            if id(obj) in self._active:
                raise ValueError(f"cannot save a structure that contains itself (at {_where(path)})")
            if depth >= MAX_DEPTH:
                raise ValueError(f"cannot save {_where(path)}: containers nested deeper than MAX_DEPTH = "
                                 f"{MAX_DEPTH} levels")
            self._active.add(id(obj))
            try:
                if isinstance(obj, dict):
                    pairs = [[_encode_key(k, path), self.encode(v, f"{path}[{k!r}]", depth + 1)]
                             for k, v in obj.items()]
                    return {_ODICT if isinstance(obj, OrderedDict) else _DICT: pairs}
                items = [self.encode(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(obj)]
                return {_TUPLE: items} if isinstance(obj, tuple) else items
            finally:
                self._active.discard(id(obj))
        hint = " (save its state_dict())" if hasattr(obj, "state_dict") else ""
        raise TypeError(
            f"cannot save {type(obj).__name__} at {_where(path)}{hint}: supported are numpy arrays and "
            "scalars, Tensors, dict, list, tuple, None, bool, int, float and str"
        )


# --------------------------------------------------------------------------- decoding


class _Decoder:
    """Rebuilds the Python structure from the JSON tree.

    ``arrays`` maps member names to loaded arrays. With ``arrays=None`` the decoder
    only checks the tree and records in ``refs`` which member each array leaf names
    (and whether it must be 0-d), refusing a member named twice (aliasing), so that
    nothing is decompressed before the whole structure is known to be sound.
    """

    def __init__(self, members: Any, arrays: Optional[dict[str, np.ndarray]], where: str) -> None:
        self.members = members
        self.arrays = arrays
        self.refs: dict[str, bool] = {}
        self.where = where

    def _bad(self, what: str) -> CheckpointError:
        return CheckpointError(f"{self.where}: invalid checkpoint structure: {what}")

    def _member(self, name: Any, scalar: bool) -> Any:
        if not isinstance(name, str) or name not in self.members or name == STRUCTURE_MEMBER:
            raise self._bad(f"reference to missing array member {name!r}")
        if self.arrays is None:
            if name in self.refs:
                raise self._bad(f"two entries refer to the same array member {name!r} (aliasing)")
            self.refs[name] = scalar
            return None
        arr = self.arrays[name]
        if scalar:
            if arr.ndim != 0:
                raise self._bad(f"scalar member {name!r} has shape {arr.shape}")
            return arr[()]
        return arr

    def _tensor(self, value: Any) -> Any:
        """A saved Tensor: a new leaf holding its array (a parameter as ``tl.nn.Parameter``)."""
        if not (isinstance(value, list) and len(value) == 3 and all(isinstance(v, bool) for v in value[1:])):
            raise self._bad(f"a tensor node must hold [member, requires_grad, parameter], got {str(value)[:80]}")
        arr = self._member(value[0], False)
        if arr is None:
            return None
        if value[1] and arr.dtype.kind != "f":
            raise self._bad(f"tensor member {value[0]!r} of dtype {arr.dtype} cannot require grad")
        t = Tensor(arr, requires_grad=value[1])
        t._param = value[2]
        return t

    def _float(self, node: Any) -> float:
        if isinstance(node, float):
            return node
        value = node.get(_FLOAT) if isinstance(node, dict) and len(node) == 1 else None
        if not isinstance(value, str) or value not in _NONFINITE:
            raise self._bad(f"bad float node {str(node)[:80]}")
        return _NONFINITE[value]

    def key(self, node: Any) -> Any:
        if node is None or isinstance(node, (bool, int, str, float)):
            return node
        return self._float(node)

    def decode(self, node: Any, depth: int = 0) -> Any:
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        container = isinstance(node, list) or (
            isinstance(node, dict) and len(node) == 1 and next(iter(node)) in (_DICT, _ODICT, _TUPLE))
        if container and depth >= MAX_DEPTH:
            raise self._bad(f"containers nested deeper than MAX_DEPTH = {MAX_DEPTH} levels")
        if isinstance(node, list):
            return [self.decode(v, depth + 1) for v in node]
        if not isinstance(node, dict) or len(node) != 1:
            raise self._bad(f"unexpected node {str(node)[:80]}")
        ((tag, value),) = node.items()
        if tag in (_DICT, _ODICT):
            if not isinstance(value, list) or not all(isinstance(kv, list) and len(kv) == 2 for kv in value):
                raise self._bad("a dict node must hold [key, value] pairs")
            pairs = [(self.key(k), self.decode(v, depth + 1)) for k, v in value]
            if len(out := OrderedDict(pairs) if tag == _ODICT else dict(pairs)) != len(pairs):  # (save never does)
                raise self._bad(f"a dict node holds a key twice: {[k for k, _ in pairs]!r:.120}")
            return out
        if tag == _TUPLE:
            if not isinstance(value, list):
                raise self._bad("a tuple node must hold a list")
            return tuple(self.decode(v, depth + 1) for v in value)
        if tag in (_ARRAY, _SCALAR):
            return self._member(value, tag == _SCALAR)
        if tag == _TENSOR:
            return self._tensor(value)
        if tag == _FLOAT:
            return self._float(node)
        raise self._bad(f"unknown tag {tag!r}")


# --------------------------------------------------------------------------- writing


_write_npz = _npzsafe.write_npz  # (fileobj, arrays, compress): the archive into an open binary file


def _check_path(path: Any, func: str) -> str:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{func}() needs a str or os.PathLike path (or a binary file object), got "
                        f"{type(path).__name__}")
    p = os.fspath(path)
    if not isinstance(p, str):
        raise TypeError(f"{func}() needs a str or os.PathLike path, got a {type(p).__name__} path")
    if p == "":
        raise ValueError(f"{func}() got an empty path")
    if "\0" in p:
        raise ValueError(f"{func}() got a path with a NUL character: {p!r}")
    return p


def save(obj: Any, path: Union[PathLike, BinaryIO], *, compress: bool = False) -> Union[Path, BinaryIO]:
    """Saves ``obj`` to the ``.npz`` file ``path`` atomically, without pickle.

    As torch.save, ``path`` may also be a binary file object (``io.BytesIO``, an open file):
    the archive is written at its position and the object is returned, left open.

    Args:
        obj: a model ``state_dict()`` (name -> ndarray), an optimizer
            ``state_dict()``, or any nesting of dict / list / tuple (at most
            ``MAX_DEPTH`` levels) whose leaves are numpy arrays, numpy scalars,
            Tensors, ``None``, ``bool``, ``int``, ``float`` or ``str``. Dict keys may be
            ``str``, ``int``, ``float``, ``bool`` or ``None`` and keep their type.
        path: the file to write, used exactly as given (no suffix is added).
            A symlink is written through to its target; an existing file keeps
            its permission bits, a new one gets ``0o666`` less the umask.
        compress: deflate the array members (smaller, slower); a member that
            would shrink more than ``_npzsafe.SAVE_RATIO`` times is stored.

    Returns:
        The path written, as a :class:`pathlib.Path`.

    Raises:
        TypeError: for a ``path`` that is no str / PathLike / file object, a ``compress``
            that is not a bool, or an unsupported value, key or object array in
            ``obj`` (the message names where it sits).
        ValueError: for a structure that contains itself or is nested deeper
            than ``MAX_DEPTH``.
        CheckpointError: (a ``ValueError``) if ``path`` exists and is not a
            regular file (directory, FIFO, device).
        FileNotFoundError: if the target's directory does not exist.

    Nothing is written when it raises; on any exception during the write the
    previous file is intact and no temporary file is left.
    """
    stream = is_stream(path, "write")
    target = path if stream else _check_path(path, "save")
    if not isinstance(compress, (bool, np.bool_)):
        raise TypeError(f"save() argument 'compress' must be a bool, got {type(compress).__name__}")
    encoder = _Encoder()
    tree = encoder.encode(obj, "")
    document = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "root": tree}
    text = json.dumps(document, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    arrays = {STRUCTURE_MEMBER: np.frombuffer(text.encode("ascii"), dtype=np.uint8)}
    arrays.update(encoder.arrays)
    if stream:
        return write_stream(path, lambda buffer: _write_npz(buffer, arrays, bool(compress)))

    real, mode = _npzsafe.resolve_target(target)
    directory, base = os.path.split(real)
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"cannot save checkpoint {target!r}: directory {directory!r} does not exist")
    _npzsafe.remove_stale_temps(directory, base)
    tmp = _npzsafe.temp_name(directory, base)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
    _npzsafe.mark_active(tmp, True)
    try:
        # Never wider than the final mode: an existing 0o600 file's data is never exposed.
        fd = os.open(tmp, flags, 0o600 if mode is not None else 0o666)
        try:
            with os.fdopen(fd, "wb") as f:
                if mode is not None and hasattr(os, "fchmod"):
                    os.fchmod(f.fileno(), mode)
                _write_npz(f, arrays, bool(compress))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, real)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    finally:
        _npzsafe.mark_active(tmp, False)
    _npzsafe.fsync_directory(directory)
    return Path(target)


# --------------------------------------------------------------------------- reading


def _parse_structure(raw: np.ndarray, where: str, stored: int) -> Any:
    """The structure document's checked ``root`` node (``stored``: its size in the file)."""
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise CheckpointError(f"cannot load {where}: member {STRUCTURE_MEMBER!r} is not a uint8 byte string")
    data = raw.tobytes()
    depth, values = _npzsafe.json_shape(data)
    if depth > _MAX_JSON_DEPTH:
        raise CheckpointError(f"cannot load {where}: invalid checkpoint structure: containers nested deeper "
                              f"than MAX_DEPTH = {MAX_DEPTH} levels")
    if values > min(MAX_STRUCTURE_VALUES, 16 * stored + 65536):  # (each parsed value costs ~100 bytes)
        raise CheckpointError(f"cannot load {where}: its structure holds about {values} values in {stored} "
                              f"bytes (at most 16 per byte and {MAX_STRUCTURE_VALUES} in all: a bomb of empty "
                              "containers?); refused before parsing")
    try:
        document = json.loads(data.decode("ascii"), object_pairs_hook=_npzsafe.unique_pairs)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise CheckpointError(
            f"cannot load {where}: member {STRUCTURE_MEMBER!r} is not valid JSON ({str(exc)[:200]})"
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


def _load_archive(f: BinaryIO, where: str, start: int = 0) -> Any:
    """Checks the archive ``f`` (at ``start``) from its headers, its structure, then reads the arrays. zip
    reads the directory at the END: when other archives follow (saves into one stream), this one is read alone."""
    zf, members, unexpected = _npzsafe.list_members(f, where, _MEMBER_KEYS)
    first = min((info.header_offset for info in members.values()), default=start)
    if first > start:
        zf.close()
        f.seek(start)
        data = f.read(first - start)
        data = data[:_npzsafe.first_end(data) or len(data)]  # (one pass: the loop reopens once per archive)
        while first := _npzsafe.first_offset(data):  # (still a later archive's directory: zip64 saves)
            data = data[:first]
        f.seek(start + len(data))
        return _load_archive(io.BytesIO(data), where)
    with zf:
        if STRUCTURE_MEMBER not in members:
            raise CheckpointError(
                f"cannot load {where}: no {STRUCTURE_MEMBER!r} member, so it was not written by save() "
                "(a plain np.savez archive?)"
            )
        if unexpected:
            raise CheckpointError(f"cannot load {where}: unexpected archive members {unexpected}")
        raw = _npzsafe.read_npy(zf, members[STRUCTURE_MEMBER], where, max_bytes=MAX_STRUCTURE_BYTES)
        root = _parse_structure(raw, where, members[STRUCTURE_MEMBER].compress_size)
        check = _Decoder(members, None, f"cannot load {where}")
        check.decode(root)
        unused = sorted(set(members) - set(check.refs) - {STRUCTURE_MEMBER})
        if unused:
            raise CheckpointError(f"cannot load {where}: unexpected archive members {unused}")
        arrays = {name: _npzsafe.read_npy(zf, members[name], where) for name in check.refs}
    return _Decoder(members, arrays, f"cannot load {where}").decode(root)


def load(path: Union[PathLike, BinaryIO], map_location: Any = None, *, weights_only: Optional[bool] = None,
         mmap: Optional[bool] = None) -> Any:
    """Loads a checkpoint written by :func:`save`; never unpickles anything.

    As torch.load, ``path`` may be a binary file object (read from its position, left open);
    torch.load's ``map_location`` (``None``, ``"cpu"``, a device, a dict or a callable),
    ``weights_only`` and ``mmap`` change nothing (:mod:`tinygrad_lite.checkpoint_torch`): the arrays are
    always in host memory and loading is always weights-only. Every size is checked from the
    archive's headers before anything is decompressed, and reads are capped at those sizes: a
    crafted file cannot make ``load`` allocate more than the module docstring's bounds.

    Args:
        path: the file to read, used exactly as given (no suffix is added).

    Returns:
        The saved structure: dicts (with their original key types), lists,
        tuples, numpy arrays (same dtype and shape), numpy scalars, leaf Tensors and Python
        ``None`` / ``bool`` / ``int`` / ``float`` / ``str``.

    Raises:
        TypeError: if ``path`` is neither a str / os.PathLike nor a binary file object, or a
            keyword has the wrong type.
        RuntimeError: if ``map_location`` names a device other than the CPU.
        FileNotFoundError: if ``path`` does not exist.
        CheckpointError: (a ``ValueError``) if ``path`` is not a regular file
            (directory, FIFO, device), is not an ``.npz`` archive, is truncated
            or damaged, was not written by :func:`save` (no or an invalid
            structure member, missing, unexpected, duplicate, overlapping or
            oversized members, two entries naming one member, nesting deeper
            than ``MAX_DEPTH``), or holds a pickled object array. The message
            names the path and the problem.
    """
    check_load_options(map_location, weights_only, mmap)
    if is_stream(path, "read"):
        return read_stream(path, _read)
    source = _check_path(path, "load")
    where = f"checkpoint {source!r}"
    try:
        f, _ = _npzsafe.open_regular(source, where)
    except FileNotFoundError:
        hint = ""
        if not source.endswith(".npz") and os.path.exists(source + ".npz"):
            hint = f" (a file {source + '.npz'!r} exists; paths are used exactly as given)"
        raise FileNotFoundError(f"cannot load {where}: no such file{hint}") from None

    with f:
        return _read(f, where, 0)


def _read(f: BinaryIO, where: str, start: int) -> Any:
    """The checkpoint in the open binary file ``f`` from offset ``start``."""
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
    f.seek(start)
    try:
        return _load_archive(f, where, start)
    except CheckpointError:
        raise
    except (ValueError, TypeError, zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError, struct.error,
            RuntimeError) as exc:  # (zipfile: NotImplementedError, a RuntimeError; TypeError: a tensor of strings)
        raise CheckpointError(
            f"cannot load {where}: truncated or damaged archive ({type(exc).__name__}: {exc})"
        ) from exc
