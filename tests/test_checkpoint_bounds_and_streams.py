"""Loading stays bounded for a structure made of millions of empty containers, refuses a
tensor entry of strings with CheckpointError, and reads two checkpoints saved one after the
other into one stream in order (as torch.load does)."""

import io
import json
import struct
import time
import zipfile
import zlib

import numpy as np
import pytest

import tinygrad_lite as tl


def _npy(a):
    s = io.BytesIO()
    np.lib.format.write_array(s, a, allow_pickle=False)
    return s.getvalue()


def _bomb(path, n, flush_every):
    """An archive whose only member is a structure of n empty lists, deflated with full flushes
    so that its compression ratio stays under the archive's ratio limit."""
    body = (b'{"format":"tinygrad_lite.checkpoint","version":1,"root":[' + b"[]," * n + b"[]]}")
    npy = _npy(np.frombuffer(body, dtype=np.uint8))
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    parts = []
    for i in range(0, len(npy), flush_every):
        parts += [c.compress(npy[i:i + flush_every]), c.flush(zlib.Z_FULL_FLUSH)]
    comp = b"".join(parts) + c.flush()
    crc, name = zlib.crc32(npy), b"__structure__.npy"
    local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0x21, crc, len(comp), len(npy), len(name), 0)
    cd = struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0x21, crc, len(comp), len(npy), len(name),
                     0, 0, 0, 0, 0, 0)
    cd_size, cd_at = len(cd) + len(name), len(local) + len(name) + len(comp)
    eocd = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, cd_size, cd_at, 0)
    with open(path, "wb") as f:
        f.write(local + name + comp + cd + name + eocd)
    assert len(npy) < 100 * len(comp)  # (under the ratio limit: only the structure's own bound refuses it)


def test_a_structure_of_millions_of_empty_lists_is_refused_quickly(tmp_path):
    p = tmp_path / "bomb.npz"
    _bomb(p, 2_000_000, 1300)
    t = time.perf_counter()
    with pytest.raises(tl.CheckpointError, match=r"structure holds about \d+ values in \d+ bytes"):
        tl.load(p)
    assert time.perf_counter() - t < 5.0  # (it took a minute and gigabytes: parsed first)


def test_large_honest_structures_still_load(tmp_path):
    nested = {f"k{i}": {"a": [1, 2, {"b": None}], "c": "x" * 5} for i in range(20000)}
    for compress in (False, True):
        p = tmp_path / f"n{compress}.npz"
        tl.save(nested, p, compress=compress)
        assert tl.load(p) == nested
        p = tmp_path / f"l{compress}.npz"
        tl.save(list(range(300000)), p, compress=compress)
        assert tl.load(p) == list(range(300000))


def test_a_tensor_entry_of_strings_is_a_checkpoint_error(tmp_path):
    doc = {"format": "tinygrad_lite.checkpoint", "version": 1, "root": {"$tensor": ["arr0", False, False]}}
    p = tmp_path / "bad.npz"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("__structure__.npy", _npy(np.frombuffer(json.dumps(doc).encode(), np.uint8)))
        z.writestr("arr0.npy", _npy(np.array(["ab"])))
    with pytest.raises(tl.CheckpointError, match="cannot load"):
        tl.load(p)


def test_two_checkpoints_in_one_stream_load_in_order():
    buf = io.BytesIO()
    tl.save({"epoch": 1, "w": np.arange(3.0)}, buf)
    tl.save({"epoch": 2}, buf)
    tl.save({"epoch": 3}, buf)
    buf.seek(0)
    first = tl.load(buf)
    assert first["epoch"] == 1 and np.array_equal(first["w"], np.arange(3.0))
    assert tl.load(buf) == {"epoch": 2}
    assert tl.load(buf) == {"epoch": 3}


def test_a_file_holding_two_archives_loads_the_first(tmp_path):
    a, b = io.BytesIO(), io.BytesIO()
    tl.save({"first": 1}, a)
    tl.save({"second": 2}, b)
    p = tmp_path / "ab.npz"
    p.write_bytes(a.getvalue() + b.getvalue())
    assert tl.load(p) == {"first": 1}
