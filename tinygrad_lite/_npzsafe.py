"""Bounded, pickle-free reading and writing of the ``.npz`` archives behind checkpoints,
and the file handling of atomic saves (regular files only, temporary files, stale ones).

Reading never trusts the archive. Before a single byte is decompressed, the zip central
directory and every member's local header are checked:

* member names are ``<key>.npy`` and appear once; no two members share or overlap bytes of
  the file (the "overlapping entries" trick that lets a small zip expand enormously);
* only the ``stored`` and ``deflate`` methods are accepted, without encryption; a stored
  member's two sizes agree, and a deflated member declares at most
  ``MAX_RATIO * compressed + RATIO_SLACK`` uncompressed bytes (deflate itself cannot exceed
  about 1032:1; honest zip bombs sit near that, real arrays far below).

A member of ``c`` compressed bytes therefore costs at most ``MAX_RATIO * c + RATIO_SLACK``
bytes of memory, and since every member also takes at least ``_MIN_MEMBER_BYTES`` bytes
of the file (its two headers), a file of ``S`` bytes can make :func:`read_npy` allocate at
most about ``(MAX_RATIO + RATIO_SLACK / _MIN_MEMBER_BYTES) * S`` bytes in total: a 2 MB file
cannot ask for 2 GB. Reading a member then:

* parses its ``.npy`` header (at most ``MAX_HEADER`` bytes, Python literals only) and
  requires ``header + prod(shape) * itemsize`` to EQUAL the member's declared size, before
  allocating the array; object dtypes (which need pickle) are refused;
* reads exactly that many bytes into the array, in chunks, through a reader that never
  returns more than the declared size, whatever the compressed stream really holds; the
  CRC is checked at the end.

Writing (:func:`write_npz`) produces a plain ``.npz`` that ``numpy.load`` reads too. With
``compress=True`` a member is deflated only when that keeps it within ``SAVE_RATIO``
(half of ``MAX_RATIO``), so every file written here is accepted by the reader.
"""

from __future__ import annotations

import ast
import io
import os
import re
import secrets
import stat
import struct
import sys
import threading
import zipfile
import zlib
from typing import Any, BinaryIO, Optional

import numpy as np


class CheckpointError(ValueError):
    """A checkpoint file or path that :func:`tinygrad_lite.load` (or ``save``) refuses:
    not a checkpoint, damaged, unsafe, or not a regular file."""


MAX_RATIO = 100
"""Largest accepted ratio of a deflated member's declared size to its compressed size."""

RATIO_SLACK = 1024
"""Bytes any deflated member may declare beyond ``MAX_RATIO`` times its compressed size."""

SAVE_RATIO = 50
"""A member is written deflated only when its size is at most this many times the deflated size."""

MAX_HEADER = 10_000
"""Largest accepted ``.npy`` header, in bytes (numpy's own default limit)."""

_CHUNK = 1 << 20
_MIN_MEMBER_BYTES = 30 + 46 + 2 * len(".npy") + 2  # local + central header, two names of >= 5 bytes
_LOCAL = struct.Struct("<4s5H3L2H")
_LOCAL_MAGIC = b"PK\x03\x04"
_NPY_MAGIC = b"\x93NUMPY"


def unique_pairs(pairs: list) -> dict:
    """A JSON object as a dict, refusing a key written twice (JSON keeps the last silently)."""
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError(f"a JSON object holds a key twice: {[k for k, _ in pairs]!r:.120}")
    return out


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "directory"), (stat.S_ISFIFO, "FIFO (named pipe)"),
                       (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"),
                       (stat.S_ISSOCK, "socket")):
        if test(mode):
            return name
    return "special file"


def not_regular(mode: int) -> str | None:
    """What a non-regular file of mode ``mode`` is ("directory", "FIFO (named pipe)", ...), else None."""
    return None if stat.S_ISREG(mode) else _kind(mode)


def _stat(path: str, what: str, tail: str = "") -> os.stat_result:
    """``os.stat(path)``; a path that leads nowhere a file can be (a symlink loop, a file used as a
    directory, a name too long) is a CheckpointError. A missing file or a denied permission
    propagate as such (FileNotFoundError, PermissionError), as in torch."""
    try:
        return os.stat(path)
    except (FileNotFoundError, PermissionError):
        raise
    except OSError as e:
        raise CheckpointError(f"{what}: {e.strerror or e}, not a regular file{tail}") from None


def text_int(obj: int, where: str) -> int:
    """``obj`` as a plain int, which the structure member stores as text: an int with more
    digits than Python converts to text is a ValueError naming where it is."""
    n = int(obj)
    if n.bit_length() > 4096:
        try:
            str(n)
        except ValueError:
            raise ValueError(f"cannot save int at {where}: it has more digits than Python converts to text "
                             f"(sys.get_int_max_str_digits() is {sys.get_int_max_str_digits()})") from None
    return n


def open_regular(path: str, where: str) -> tuple[BinaryIO, int]:
    """Opens ``path`` for reading if it is a regular file; returns the file and its size.

    A FIFO, a device, a socket or a directory is refused from ``stat`` before it is opened,
    and again from ``fstat`` of what was opened (without blocking), so a file swapped in
    between cannot make the caller hang. ``FileNotFoundError`` propagates.
    """
    kind = not_regular(_stat(path, f"cannot load {where}").st_mode)
    if kind is not None:
        raise CheckpointError(f"cannot load {where}: it is a {kind}, not a regular file")
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0)
    flags |= getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        kind = not_regular(st.st_mode)
        if kind is not None:
            raise CheckpointError(f"cannot load {where}: it is a {kind}, not a regular file")
        return os.fdopen(fd, "rb"), st.st_size
    except BaseException:
        os.close(fd)
        raise


# --------------------------------------------------------------------------- the central directory


# a JSON string, or an unterminated one up to the end: each character can match in one way
# only and the match cannot fail once it starts, so the scan is linear in the length
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.S)
_STEP = np.zeros(256, dtype=np.int8)  # [ and { open a level, ] and } close one
_STEP[[ord("["), ord("{")]] = 1
_STEP[[ord("]"), ord("}")]] = -1
_VALUE = np.zeros(256, dtype=bool)  # a value starts after each of these (an empty container counts once)
_VALUE[[ord("["), ord("{"), ord(","), ord(":")]] = True


def json_shape(raw: bytes) -> tuple[int, int]:
    """``(deepest nesting of [ and {, about how many values)`` of the JSON text ``raw``, from
    its skeleton (strings removed), before any parsing."""
    skeleton = np.frombuffer(_JSON_STRING.sub(b"", raw), dtype=np.uint8)
    return int(np.cumsum(_STEP[skeleton], dtype=np.int32).max(initial=0)), int(_VALUE[skeleton].sum())


def first_offset(data: bytes) -> int:
    """Where the first member of the zip archive that ``data`` ends with starts (0: ``data`` is
    one archive; more: other bytes, such as an earlier archive, come before it)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return min((info.header_offset for info in zf.infolist()), default=0)


def first_end(data: bytes) -> int:
    """Where the first zip archive of ``data`` (archives one after another, the first at 0)
    ends, from its end-of-central-directory record: the first such record whose directory
    ends right before it (bytes that look like one inside a member do not); 0 if none
    (zip64, or not this layout). One pass, however many archives follow."""
    i = data.find(b"PK\x05\x06")
    while i >= 0:
        if i + 22 <= len(data):
            size, offset, comment = struct.unpack("<IIH", data[i + 12:i + 22])
            if offset + size == i and i + 22 + comment <= len(data):
                return i + 22 + comment
        i = data.find(b"PK\x05\x06", i + 1)
    return 0


def list_members(f: BinaryIO, where: str, key_pattern: str) -> tuple[zipfile.ZipFile, dict[str, Any], list]:
    """Opens the zip archive ``f`` and checks every member from the headers alone.

    Returns the open ``ZipFile``, ``{key: ZipInfo}`` for the members (all named
    ``<key>.npy``) and the sorted keys that do not match ``key_pattern`` (for the caller to
    refuse). Nothing is decompressed here. Raises :class:`CheckpointError` for anything
    else unexpected; zip parsing errors propagate.
    """
    zf = zipfile.ZipFile(f)
    try:
        members = _check_directory(zf, f, where)
    except BaseException:
        zf.close()
        raise
    keys = re.compile(key_pattern)
    return zf, members, sorted(k for k in members if not keys.fullmatch(k))


def _check_directory(zf: zipfile.ZipFile, f: BinaryIO, where: str) -> dict[str, Any]:
    def bad(what: str) -> CheckpointError:
        return CheckpointError(f"cannot load {where}: {what}")

    members: dict[str, Any] = {}
    for info in zf.infolist():
        name = info.filename
        if not name.endswith(".npy"):
            raise bad(f"member {name!r} is not a .npy array")
        key = name[: -len(".npy")]
        if key in members:
            raise bad(f"duplicate member name {name!r} (two entries for one name)")
        if info.flag_bits & 0x1:
            raise bad(f"member {name!r} is encrypted")
        if info.compress_type == zipfile.ZIP_STORED:
            if info.compress_size != info.file_size:
                raise bad(f"stored member {name!r} declares {info.file_size} bytes but occupies "
                          f"{info.compress_size}")
        elif info.compress_type == zipfile.ZIP_DEFLATED:
            if info.file_size > MAX_RATIO * info.compress_size + RATIO_SLACK:
                raise bad(f"member {name!r} declares {info.file_size} bytes from {info.compress_size} "
                          f"compressed bytes, a compression ratio above {MAX_RATIO} (a zip bomb?); refused "
                          "before decompressing")
        else:
            raise bad(f"member {name!r} uses zip compression method {info.compress_type}; only "
                      "stored and deflate are accepted")
        members[key] = info

    # Every member's bytes (local header + data) must lie before the central directory and
    # must not overlap another member's: no byte of the file is decompressed twice.
    spans = []
    for info in members.values():
        f.seek(info.header_offset)
        raw = f.read(_LOCAL.size)
        if len(raw) < _LOCAL.size:
            raise bad(f"member {info.filename!r}: local header past the end of the file")
        fields = _LOCAL.unpack(raw)
        if fields[0] != _LOCAL_MAGIC:
            raise bad(f"member {info.filename!r}: no local header at offset {info.header_offset}")
        name_len, extra_len = fields[9], fields[10]
        local_name = f.read(name_len)
        if local_name != info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437"):
            raise bad(f"member {info.filename!r}: its local header names {local_name[:80]!r}")
        end = info.header_offset + _LOCAL.size + name_len + extra_len + info.compress_size
        spans.append((info.header_offset, end, info.filename))
    spans.sort()
    for (_, end_a, name_a), (start_b, _, name_b) in zip(spans, spans[1:]):
        if end_a > start_b:
            raise bad(f"members {name_a!r} and {name_b!r} overlap in the file (aliased data)")
    if spans and spans[-1][1] > zf.start_dir:
        raise bad(f"member {spans[-1][2]!r} runs into the central directory")
    return members


# --------------------------------------------------------------------------- one .npy member


def _read_exactly(fh: Any, n: int, what: str) -> bytes:
    data = fh.read(n)
    if len(data) != n:
        raise CheckpointError(f"{what}: truncated")
    return data


def _parse_header(fh: Any, bad: Any) -> tuple[np.dtype, tuple[int, ...], bool, int]:
    """Reads a ``.npy`` header from ``fh``: (dtype, shape, fortran_order, header bytes)."""
    magic = fh.read(8)
    if len(magic) < 8 or magic[:6] != _NPY_MAGIC:
        raise bad("is not a .npy array (no .npy magic string)")
    major, minor = magic[6], magic[7]
    if major not in (1, 2, 3) or minor != 0:
        raise bad(f"has unsupported .npy format version {major}.{minor}")
    size_len = 2 if major == 1 else 4
    raw_len = fh.read(size_len)
    if len(raw_len) < size_len:
        raise bad("is truncated inside its .npy header")
    header_len = int.from_bytes(raw_len, "little")
    if header_len > MAX_HEADER:
        raise bad(f"has a {header_len}-byte .npy header (at most {MAX_HEADER} accepted)")
    text = fh.read(header_len)
    if len(text) < header_len:
        raise bad("is truncated inside its .npy header")
    try:
        header = ast.literal_eval(text.decode("latin1" if major < 3 else "utf8"))
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError, UnicodeDecodeError):
        raise bad("has an unreadable .npy header") from None
    if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
        raise bad("has a .npy header without exactly the keys descr, fortran_order, shape")
    shape, fortran = header["shape"], header["fortran_order"]
    if not isinstance(shape, tuple) or not all(type(d) is int and d >= 0 for d in shape):
        raise bad(f"has an invalid shape {str(shape)[:80]} in its .npy header")
    if not isinstance(fortran, bool):
        raise bad("has an invalid fortran_order in its .npy header")
    try:
        dtype = np.lib.format.descr_to_dtype(header["descr"])
    except (TypeError, ValueError, KeyError, IndexError, RecursionError):
        raise bad(f"has an invalid dtype {str(header['descr'])[:80]} in its .npy header") from None
    return dtype, shape, fortran, 8 + size_len + header_len


def read_npy(zf: zipfile.ZipFile, info: Any, where: str, max_bytes: int | None = None) -> np.ndarray:
    """Reads the ``.npy`` member ``info`` of ``zf`` in bounded memory, never unpickling.

    The array's size from its header must match the member's declared size exactly (and
    be at most ``max_bytes`` when given) before anything is allocated.
    """
    label = f"cannot load {where}: member {info.filename[:-4]!r}"

    def bad(what: str) -> CheckpointError:
        return CheckpointError(f"{label} {what}")

    if max_bytes is not None and info.file_size > max_bytes:
        raise bad(f"declares {info.file_size} bytes (at most {max_bytes} accepted)")
    with zf.open(info) as fh:
        dtype, shape, fortran, header_bytes = _parse_header(fh, bad)
        if dtype.hasobject:
            raise bad(f"is a pickled object array ({dtype}); refused (checkpoints never contain "
                      "pickled data and loading never unpickles)")
        count = 1
        for d in shape:
            count *= d
        nbytes = count * dtype.itemsize
        if header_bytes + nbytes != info.file_size or count > info.file_size:
            raise bad(f"declares a {dtype} array of shape {shape} ({nbytes} bytes) but the member holds "
                      f"{info.file_size - header_bytes} bytes of data")
        flat = np.empty(count, dtype=dtype)
        if nbytes:
            buffer = memoryview(flat.view(np.uint8))
            pos = 0
            while pos < nbytes:
                chunk = _read_exactly(fh, min(_CHUNK, nbytes - pos), label)
                buffer[pos : pos + len(chunk)] = chunk
                pos += len(chunk)
        if fh.read(1):  # also reaches the end of the stream, where the CRC is checked
            raise bad("holds more data than its declared size")
    if dtype.kind == "U" and nbytes and (flat.view(np.dtype("u4").newbyteorder(dtype.byteorder)) > 0x10FFFF).any():
        raise bad(f"is a {dtype} array holding a character beyond Unicode's last code point (U+10FFFF)")
    if fortran:
        return flat.reshape(shape[::-1]).transpose()
    return flat.reshape(shape)


# --------------------------------------------------------------------------- atomic files


def fsync_directory(directory: str) -> None:
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


# Temporary files: ".<name>.<pid>.<12 hex digits>.tmp-ckpt" next to the target. The
# name part is cut to keep the whole within common file-name limits.
_TMP_SUFFIX = ".tmp-ckpt"
_TMP_NAME_KEEP = 120
_TMP_RE = re.compile(r"\.(?P<name>.*)\.(?P<pid>[0-9]{1,10})\.[0-9a-f]{12}" + re.escape(_TMP_SUFFIX))
_active_temps: set[str] = set()
_active_lock = threading.Lock()


def _pid_is_dead(pid: int) -> bool:
    """True when no process ``pid`` exists (POSIX only; elsewhere always False)."""
    if os.name != "posix" or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # EPERM: it exists, under another user
        return False
    return False


def remove_stale_temps(directory: str, base: str) -> None:
    """Removes temporary files of earlier saves to ``directory/base`` whose writer is gone:
    a dead process, or this process when no save of it is writing that file now."""
    stem = base[:_TMP_NAME_KEEP]
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    me = os.getpid()
    for entry in entries:
        m = _TMP_RE.fullmatch(entry.name)
        if m is None or m.group("name") != stem:
            continue
        pid = int(m.group("pid"))
        with _active_lock:
            stale = entry.path not in _active_temps if pid == me else _pid_is_dead(pid)
            if stale and entry.is_file(follow_symlinks=False):
                try:
                    os.unlink(entry.path)
                except OSError:
                    pass


def resolve_target(target: str) -> tuple[str, Optional[int]]:
    """The file a save to ``target`` replaces (symlinks followed) and its permission bits
    (None when it does not exist yet). Refuses a path that is not a regular file."""
    if target.endswith(("/", os.sep)):
        raise CheckpointError(f"cannot save to {target!r}: the path ends with a separator; nothing was "
                              "written")
    real = os.path.realpath(target)
    try:
        st = _stat(real, f"cannot save to {target!r}", "; nothing was written")
    except FileNotFoundError:
        return real, None
    kind = not_regular(st.st_mode)
    if kind is not None:
        raise CheckpointError(f"cannot save to {target!r}: it is a {kind}, not a regular file; nothing was "
                              "written")
    return real, stat.S_IMODE(st.st_mode)


def temp_name(directory: str, base: str) -> str:
    """A fresh temporary path for a save to ``directory/base``."""
    name = f".{base[:_TMP_NAME_KEEP]}.{os.getpid()}.{secrets.token_hex(6)}{_TMP_SUFFIX}"
    return os.path.join(directory, name)


def mark_active(tmp: str, active: bool) -> None:
    """Records whether a save of this process is writing ``tmp`` (so it is not stale)."""
    with _active_lock:
        (_active_temps.add if active else _active_temps.discard)(tmp)


# --------------------------------------------------------------------------- writing


class _DeflatedSize:
    """A write-only sink that counts how many bytes deflate would make of what it is given."""

    def __init__(self) -> None:
        self._z = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
        self.raw = 0
        self.deflated = 0

    def write(self, data: Any) -> int:
        n = memoryview(data).nbytes
        self.raw += n
        self.deflated += len(self._z.compress(data))
        return n

    def finish(self) -> None:
        self.deflated += len(self._z.flush())


def _deflate_pays(arr: np.ndarray) -> bool:
    """True when deflating ``arr``'s ``.npy`` bytes stays within ``SAVE_RATIO`` (same level as
    the writer, so the same compressed size)."""
    sink = _DeflatedSize()
    np.lib.format.write_array(sink, arr, allow_pickle=False)
    sink.finish()
    return sink.raw <= SAVE_RATIO * sink.deflated


def write_npz(fileobj: BinaryIO, arrays: dict[str, np.ndarray], compress: bool) -> None:
    """Writes ``arrays`` as the members ``<key>.npy`` of a zip archive into ``fileobj``.

    With ``compress`` a member is deflated when that keeps its ratio within ``SAVE_RATIO``,
    else stored. Timestamps are fixed, so equal inputs give equal bytes.
    """
    with zipfile.ZipFile(fileobj, "w", allowZip64=True) as zf:
        for key, arr in arrays.items():
            info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            deflate = compress and _deflate_pays(arr)
            info.compress_type = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
            with zf.open(info, "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, arr, allow_pickle=False)
