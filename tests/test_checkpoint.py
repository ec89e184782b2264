"""Tests of tl.save / tl.load: exact round trips, no pickle, atomic writes, clear errors."""

from __future__ import annotations

import collections
import json
import math
import os
import pathlib
import zipfile
from typing import Any

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import checkpoint
from tinygrad_lite.checkpoint import CheckpointError, load, save

# ----------------------------------------------------------------------------- helpers


def assert_same(a: Any, b: Any, where: str = "obj") -> None:
    """Exact structural equality: types, dict key types and order, array dtype/shape/values."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype, f"{where}: dtype {a.dtype} != {b.dtype}"
        assert a.shape == b.shape, f"{where}: shape {a.shape} != {b.shape}"
        assert np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"), f"{where}: values differ"
    elif isinstance(a, np.generic):
        assert a.dtype == b.dtype, f"{where}: dtype {a.dtype} != {b.dtype}"
        assert a == b or (np.isnan(a) and np.isnan(b)), f"{where}: {a!r} != {b!r}"
    elif isinstance(a, dict):
        assert [(type(k), k) for k in a] == [(type(k), k) for k in b], f"{where}: keys differ"
        for k in a:
            assert_same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), f"{where}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), f"{where}: nan != {b!r}"
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"
        if isinstance(a, float):
            assert np.copysign(1.0, a) == np.copysign(1.0, b), f"{where}: sign of zero differs"


def roundtrip(obj: Any, tmp_path: pathlib.Path, **kwargs: Any) -> Any:
    path = tmp_path / "ckpt.npz"
    save(obj, path, **kwargs)
    return load(path)


def optimizer_like_state() -> dict:
    rng = np.random.default_rng(0)
    return {
        "state": {
            0: {"step": 3, "exp_avg": rng.normal(size=(4, 3)), "exp_avg_sq": rng.random((4, 3))},
            1: {"step": 3, "exp_avg": rng.normal(size=4).astype(np.float32), "max_sq": None},
        },
        "param_groups": [
            {
                "params": [0, 1],
                "lr": 0.1,
                "betas": (0.9, 0.999),
                "eps": 1e-8,
                "weight_decay": 0,
                "nesterov": False,
                "amsgrad": True,
                "foo": None,
                "name": "group-0",
            }
        ],
    }


def make_model(seed: int) -> Any:
    return tl.nn.Sequential(tl.nn.Linear(3, 5, rng=seed), tl.nn.Tanh(), tl.nn.Linear(5, 2, rng=seed + 1))


def files_in(directory: pathlib.Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


# ----------------------------------------------------------------------------- round trips


def test_package_exports_save_and_load() -> None:
    assert tl.save is save
    assert tl.load is load


def test_arrays_keep_dtype_shape_and_values(tmp_path: pathlib.Path) -> None:
    rng = np.random.default_rng(1)
    obj = {
        "f32": rng.normal(size=(3, 4)).astype(np.float32),
        "f64": rng.normal(size=(2, 2, 2)),
        "f16": np.array([1.5, -2.0], dtype=np.float16),
        "zero_d": np.array(2.5),
        "zero_d_f32": np.array(2.5, dtype=np.float32),
        "empty": np.zeros((0, 3)),
        "int64": np.arange(5),
        "int8": np.arange(-3, 3, dtype=np.int8),
        "uint32": np.arange(4, dtype=np.uint32),
        "bool": np.array([True, False]),
        "complex": np.array([1 + 2j, -1j]),
        "big_endian": np.arange(3, dtype=">f4"),
        "fortran": np.asfortranarray(rng.normal(size=(3, 2))),
        "nonfinite": np.array([np.nan, np.inf, -np.inf, -0.0]),
        "unicode": np.array(["ab", "ü€"]),
        "structured": np.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")]),
    }
    back = roundtrip(obj, tmp_path)
    assert_same(obj, back)
    assert back["big_endian"].dtype.byteorder == ">"
    assert back["zero_d"].ndim == 0 and isinstance(back["zero_d"], np.ndarray)


def test_python_leaves_keep_their_types(tmp_path: pathlib.Path) -> None:
    obj = [
        None, True, False, 0, 1, -7, 2**100, 1.0, 0.1, -0.0, 1e308, 5e-324,
        float("nan"), float("inf"), float("-inf"), "", "text", "ünïcödé \u2603 \"quoted\" \\",
        [], (), {}, [[]], ((),), (1,), [1.0, 1, True, "1", None],
    ]  # fmt: skip
    assert_same(obj, roundtrip(obj, tmp_path))


def test_numpy_scalars_stay_numpy_scalars(tmp_path: pathlib.Path) -> None:
    obj = {"a": np.float32(1.25), "b": np.int64(7), "c": np.bool_(True), "d": np.float64(0.1)}
    back = roundtrip(obj, tmp_path)
    assert_same(obj, back)
    assert type(back["a"]) is np.float32


def test_dict_keys_keep_their_types_and_order(tmp_path: pathlib.Path) -> None:
    obj = {0: "int zero", "0": "str zero", 2: "two", "b": 1, 1.5: "float", None: "none", True: "true"}
    back = roundtrip(obj, tmp_path)
    assert_same(obj, back)
    assert back[0] == "int zero" and back["0"] == "str zero"


def test_ordered_dict_stays_ordered_dict_and_subclasses_load_as_base_types(tmp_path: pathlib.Path) -> None:
    class MyDict(dict):
        pass

    Pair = collections.namedtuple("Pair", "a b")
    obj = {"od": collections.OrderedDict([("z", 1), ("a", np.ones(2))]), "sub": MyDict(k=1), "nt": Pair(1, 2)}
    back = roundtrip(obj, tmp_path)
    assert_same(obj["od"], back["od"])
    assert type(back["sub"]) is dict and back["sub"] == {"k": 1}
    assert type(back["nt"]) is tuple and back["nt"] == (1, 2)


def test_tuples_and_lists_stay_distinct(tmp_path: pathlib.Path) -> None:
    obj = {"t": (0.9, 0.999), "l": [0.9, 0.999], "nested": ([1, (2, [3])],)}
    back = roundtrip(obj, tmp_path)
    assert_same(obj, back)
    assert isinstance(back["t"], tuple) and isinstance(back["l"], list)


def test_optimizer_like_state_dict_round_trip(tmp_path: pathlib.Path) -> None:
    obj = optimizer_like_state()
    back = roundtrip(obj, tmp_path)
    assert_same(obj, back)
    assert back["param_groups"][0]["betas"] == (0.9, 0.999)
    assert back["state"][1]["exp_avg"].dtype == np.float32


@pytest.mark.parametrize("compress", [False, True])
def test_combined_checkpoint(tmp_path: pathlib.Path, compress: bool) -> None:
    obj = {"model": make_model(0).state_dict(), "optim": optimizer_like_state(), "epoch": 3}
    assert_same(obj, roundtrip(obj, tmp_path, compress=compress))


def test_top_level_array_and_empty_dict(tmp_path: pathlib.Path) -> None:
    arr = np.arange(6.0).reshape(2, 3)
    assert_same(arr, roundtrip(arr, tmp_path))
    assert_same({}, roundtrip({}, tmp_path))


def test_saved_file_is_a_plain_npz_with_a_json_structure(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "c.npz"
    save({"w": np.ones(2, dtype=np.float32), "step": 1}, path)
    with np.load(path, allow_pickle=False) as npz:
        raw = npz[checkpoint.STRUCTURE_MEMBER]
        arrays = [npz[n] for n in npz.files if n != checkpoint.STRUCTURE_MEMBER]
    assert raw.dtype == np.uint8
    document = json.loads(raw.tobytes().decode("ascii"))
    assert document["format"] == checkpoint.FORMAT_NAME
    assert document["version"] == checkpoint.FORMAT_VERSION
    assert len(arrays) == 1 and arrays[0].dtype == np.float32


@pytest.mark.parametrize("bit_generator", ["PCG64", "MT19937", "Philox", "SFC64"])
def test_numpy_generator_state_round_trip(tmp_path: pathlib.Path, bit_generator: str) -> None:
    rng = np.random.Generator(getattr(np.random, bit_generator)(5))
    rng.random(3)
    back = roundtrip({"rng_state": rng.bit_generator.state}, tmp_path)["rng_state"]
    assert_same(rng.bit_generator.state, back)
    restored = getattr(np.random, bit_generator)()
    restored.state = back
    assert np.array_equal(np.random.Generator(restored).random(5), rng.random(5))


def test_loaded_arrays_are_independent(tmp_path: pathlib.Path) -> None:
    a = np.zeros(3)
    back = roundtrip({"x": a, "y": a}, tmp_path)
    back["x"][0] = 1.0
    assert back["y"][0] == 0.0 and a[0] == 0.0


# ----------------------------------------------------------------------------- real model and optimizer


def test_model_state_dict_round_trip_gives_identical_outputs(tmp_path: pathlib.Path) -> None:
    model = make_model(0)
    path = tmp_path / "model.npz"
    save(model.state_dict(), path)
    fresh = make_model(10)
    x = tl.Tensor(np.random.default_rng(2).normal(size=(7, 3)))
    assert not np.array_equal(fresh(x).data, model(x).data)
    state = load(path)
    assert_same(model.state_dict(), state)
    fresh.load_state_dict(state)
    assert np.array_equal(fresh(x).data, model(x).data)
    for (name_a, p_a), (name_b, p_b) in zip(model.named_parameters(), fresh.named_parameters()):
        assert name_a == name_b
        assert p_a.data.dtype == p_b.data.dtype and np.array_equal(p_a.data, p_b.data)


def _train_steps(model: Any, opt: Any, X: np.ndarray, Y: np.ndarray, steps: int) -> None:
    for _ in range(steps):
        opt.zero_grad()
        tl.nn.mse_loss(model(tl.Tensor(X, batched=True)), tl.Tensor(Y)).backward()
        opt.step()


OPTIMIZERS = {
    "Adam": lambda params, lr: tl.optim.Adam(params, lr=lr, betas=(0.8, 0.99)),
    "AdamW": lambda params, lr: tl.optim.AdamW(params, lr=lr, weight_decay=0.1),
    "SGD-nesterov": lambda params, lr: tl.optim.SGD(params, lr=lr, momentum=0.9, nesterov=True),
    "RMSprop": lambda params, lr: tl.optim.RMSprop(params, lr=lr),
    "Adagrad": lambda params, lr: tl.optim.Adagrad(params, lr=lr),
    "DPSGD": lambda params, lr: tl.optim.DPSGD(
        params, lr=lr, max_grad_norm=0.5, noise_multiplier=1.0, rng=int(lr * 1000)
    ),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_state_dict_round_trip_continues_training_identically(
    tmp_path: pathlib.Path, name: str
) -> None:
    make_opt = OPTIMIZERS[name]
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(16, 3)), rng.normal(size=(16, 2))
    model = make_model(0)
    opt = make_opt(model.parameters(), 0.01)
    _train_steps(model, opt, X, Y, 3)
    path = tmp_path / "train.npz"
    saved_state = opt.state_dict()
    save({"model": model.state_dict(), "optim": saved_state, "epoch": 3}, path)

    _train_steps(model, opt, X, Y, 4)  # the original run goes on

    ckpt = load(path)
    assert ckpt["epoch"] == 3
    assert_same(saved_state, ckpt["optim"])
    fresh = make_model(10)
    fresh_opt = make_opt(fresh.parameters(), 0.5)  # other hyper-parameters: the checkpoint restores them
    fresh.load_state_dict(ckpt["model"])
    fresh_opt.load_state_dict(ckpt["optim"])
    assert_same(saved_state, fresh_opt.state_dict())
    _train_steps(fresh, fresh_opt, X, Y, 4)
    for p, q in zip(model.parameters(), fresh.parameters()):
        assert np.array_equal(p.data, q.data)


# ----------------------------------------------------------------------------- refused at save time


def test_object_array_is_refused_at_save_naming_the_key(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "c.npz"
    bad = {"optim": {"state": {0: {"buf": np.array([1, "a"], dtype=object)}}}}
    with pytest.raises(TypeError, match=r"object array.*\['optim'\]\['state'\]\[0\]\['buf'\]"):
        save(bad, path)
    assert files_in(tmp_path) == []


@pytest.mark.parametrize(
    ("value", "type_name"),
    [(object(), "object"), ({1, 2}, "set"), (1 + 2j, "complex"), (b"bytes", "bytes"), (len, "builtin")],
)
def test_unsupported_values_are_refused_naming_where(
    tmp_path: pathlib.Path, value: Any, type_name: str
) -> None:
    with pytest.raises(TypeError, match=rf"{type_name}.*obj\['a'\]\[1\]"):
        save({"a": [0, value]}, tmp_path / "c.npz")
    assert files_in(tmp_path) == []


def test_tensor_is_refused_with_a_hint(tmp_path: pathlib.Path) -> None:
    with pytest.raises(TypeError, match=r"\.data"):
        save({"w": tl.Tensor(np.ones(2))}, tmp_path / "c.npz")


def test_unsupported_key_is_refused(tmp_path: pathlib.Path) -> None:
    with pytest.raises(TypeError, match=r"key \(1, 2\)"):
        save({"a": {(1, 2): 3}}, tmp_path / "c.npz")


def test_self_containing_structure_is_refused(tmp_path: pathlib.Path) -> None:
    loop: list = [1]
    loop.append(loop)
    with pytest.raises(ValueError, match="contains itself"):
        save({"x": loop}, tmp_path / "c.npz")


def test_shared_but_not_cyclic_containers_are_fine(tmp_path: pathlib.Path) -> None:
    shared = [1, 2]
    assert_same({"a": shared, "b": shared}, roundtrip({"a": shared, "b": shared}, tmp_path))


# ----------------------------------------------------------------------------- atomic writes


def _fail_midway(fileobj: Any, arrays: Any, compress: bool) -> None:
    fileobj.write(b"PK\x03\x04 half of an archive")
    raise OSError("disk full")


def _fail_on_fsync(fd: int) -> None:
    raise OSError("fsync failed")


def _fail_on_replace(src: Any, dst: Any) -> None:
    raise OSError("rename failed")


def _interrupt_midway(fileobj: Any, arrays: Any, compress: bool) -> None:
    fileobj.write(b"PK\x03\x04")
    raise KeyboardInterrupt


@pytest.mark.parametrize(
    ("target", "attribute", "replacement", "error"),
    [
        (checkpoint, "_write_npz", _fail_midway, OSError),
        (checkpoint, "_write_npz", _interrupt_midway, KeyboardInterrupt),
        (os, "fsync", _fail_on_fsync, OSError),
        (os, "replace", _fail_on_replace, OSError),
    ],
)
def test_failed_save_leaves_old_file_intact_and_no_temp_file(
    tmp_path: pathlib.Path,
    monkeypatch: pytest.MonkeyPatch,
    target: Any,
    attribute: str,
    replacement: Any,
    error: type[BaseException],
) -> None:
    path = tmp_path / "ckpt.npz"
    save({"model": {"w": np.arange(4.0)}, "epoch": 1}, path)
    before = path.read_bytes()
    monkeypatch.setattr(target, attribute, replacement)
    with pytest.raises(error):
        save({"model": {"w": np.arange(400.0)}, "epoch": 2}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert files_in(tmp_path) == ["ckpt.npz"]
    assert load(path)["epoch"] == 1


def test_failed_first_save_leaves_nothing(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checkpoint, "_write_npz", _fail_midway)
    with pytest.raises(OSError, match="disk full"):
        save({"w": np.ones(3)}, tmp_path / "new.npz")
    assert files_in(tmp_path) == []


def test_save_syncs_before_replacing(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append("fsync")
        real_fsync(fd)

    def replace(src: Any, dst: Any) -> None:
        events.append("replace")
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    save({"w": np.ones(3)}, tmp_path / "c.npz")
    assert events[:2] == ["fsync", "replace"]


def test_save_overwrites_and_leaves_only_the_target(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "c.npz"
    save({"epoch": 1}, path)
    save({"epoch": 2}, path)
    assert load(path) == {"epoch": 2}
    assert files_in(tmp_path) == ["c.npz"]


def test_saved_file_permissions_follow_the_umask(tmp_path: pathlib.Path) -> None:
    if os.name != "posix":
        pytest.skip("POSIX permissions only")
    old = os.umask(0o022)
    try:
        save({"epoch": 1}, tmp_path / "c.npz")
    finally:
        os.umask(old)
    assert (tmp_path / "c.npz").stat().st_mode & 0o777 == 0o644


# ----------------------------------------------------------------------------- paths


def test_str_and_pathlike_paths(tmp_path: pathlib.Path) -> None:
    written = save({"a": 1}, str(tmp_path / "s.npz"))
    assert isinstance(written, pathlib.Path) and written == tmp_path / "s.npz"
    assert load(tmp_path / "s.npz") == {"a": 1}
    save({"a": 2}, tmp_path / "p.npz")
    assert load(str(tmp_path / "p.npz")) == {"a": 2}


def test_path_without_suffix_is_used_exactly(tmp_path: pathlib.Path) -> None:
    save({"a": 1}, tmp_path / "ckpt")
    assert files_in(tmp_path) == ["ckpt"]
    assert load(tmp_path / "ckpt") == {"a": 1}


def test_missing_file_hints_at_the_npz_suffix(tmp_path: pathlib.Path) -> None:
    save({"a": 1}, tmp_path / "ckpt.npz")
    with pytest.raises(FileNotFoundError, match=r"ckpt'.*no such file.*ckpt\.npz"):
        load(tmp_path / "ckpt")


def test_bad_path_types(tmp_path: pathlib.Path) -> None:
    with pytest.raises(TypeError, match="path"):
        save({}, 123)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="path"):
        load(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="empty path"):
        load("")


def test_save_into_missing_directory(tmp_path: pathlib.Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save({}, tmp_path / "no" / "such" / "c.npz")


# ----------------------------------------------------------------------------- refused at load time


def test_load_missing_file(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "missing.npz"
    with pytest.raises(FileNotFoundError, match=r"missing\.npz.*no such file"):
        load(path)


def test_load_directory(tmp_path: pathlib.Path) -> None:
    with pytest.raises(CheckpointError, match="directory, not a regular file"):
        load(tmp_path)


@pytest.mark.parametrize(
    ("content", "what"),
    [
        (b"", "empty"),
        (b"hello, this is text\n", "not an .npz"),
        (b"\x80\x04\x95 a pickle stream", "not an .npz"),
    ],
)
def test_load_non_npz_files(tmp_path: pathlib.Path, content: bytes, what: str) -> None:
    path = tmp_path / "bad.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=rf"bad\.npz.*{what}"):
        load(path)


def test_load_single_npy_file(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "a.npy"
    np.save(path, np.ones(3))
    with pytest.raises(ValueError, match=r"a\.npy.*single \.npy array"):
        load(path)


def test_load_truncated_files(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "full.npz"
    save({"model": make_model(0).state_dict(), "optim": optimizer_like_state()}, path)
    data = path.read_bytes()
    cut = tmp_path / "cut.npz"
    for size in sorted({4, 10, 100, len(data) // 3, len(data) // 2, len(data) - 30, len(data) - 1}):
        cut.write_bytes(data[:size])
        with pytest.raises(CheckpointError, match=r"cut\.npz") as info:
            load(cut)
        assert isinstance(info.value, ValueError)


def test_load_corrupted_member(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "c.npz"
    save({"w": np.arange(1000.0)}, path, compress=True)
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 8] = b"\x00\xff" * 4
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"c\.npz"):
        load(path)


def test_plain_npz_is_not_a_checkpoint(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "plain.npz"
    np.savez(path, w=np.ones(3))
    with pytest.raises(ValueError, match=r"plain\.npz.*not written by save\(\)"):
        load(path)


def _write_archive(path: pathlib.Path, structure: Any, **arrays: np.ndarray) -> None:
    raw = structure if isinstance(structure, bytes) else json.dumps(structure).encode()
    np.savez(path, **{checkpoint.STRUCTURE_MEMBER: np.frombuffer(raw, dtype=np.uint8)}, **arrays)


def _doc(root: Any, **overrides: Any) -> dict:
    return {"format": checkpoint.FORMAT_NAME, "version": 1, "root": root, **overrides}


@pytest.mark.parametrize(
    ("structure", "arrays", "what"),
    [
        (b"{not json", {}, "not valid JSON"),
        (b"\xff\xfe", {}, "not valid JSON"),
        ([1, 2], {}, "not a tinygrad_lite.checkpoint document"),
        ({"format": "other", "version": 1, "root": None}, {}, "not a tinygrad_lite.checkpoint document"),
        (_doc(None, version=99), {}, "version 99 is not supported"),
        (_doc(None, version="1"), {}, "version '1' is not supported"),
        (_doc({"$array": "arr0"}), {}, "missing array member 'arr0'"),
        (_doc({"$dict": [[1]]}), {}, "pairs"),
        (_doc({"$what": 1}), {}, "unknown tag"),
        (_doc({"a": 1, "b": 2}), {}, "unexpected node"),
        (_doc({"$float": "1e5"}), {}, "bad float"),
        (_doc({"$scalar": "arr0"}), {"arr0": np.ones(2)}, "scalar member"),
        (_doc(None), {"arr0": np.ones(2)}, r"unexpected archive members \['arr0'\]"),
    ],
)
def test_invalid_structure_is_refused(
    tmp_path: pathlib.Path, structure: Any, arrays: dict, what: str
) -> None:
    path = tmp_path / "forged.npz"
    _write_archive(path, structure, **arrays)
    with pytest.raises(CheckpointError, match=rf"forged\.npz.*{what}"):
        load(path)


def test_structure_member_of_wrong_dtype_is_refused(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "forged.npz"
    np.savez(path, **{checkpoint.STRUCTURE_MEMBER: np.array([1.0, 2.0])})
    with pytest.raises(CheckpointError, match="not a uint8 byte string"):
        load(path)


def test_non_npy_member_is_refused(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "forged.npz"
    save({"a": 1}, path)
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("readme.txt", "not an array")
    with pytest.raises(CheckpointError, match=r"'readme.txt' is not a \.npy array"):
        load(path)


# Set by _Payload when it is unpickled; proves whether any pickled code ran.
EXECUTED: list[str] = []


def _record_execution(tag: str) -> str:
    EXECUTED.append(tag)
    return tag


class _Payload:
    """An object whose unpickling calls _record_execution (a stand-in for malicious code)."""

    def __reduce__(self) -> tuple:
        return (_record_execution, ("payload ran",))


def test_pickled_object_array_is_refused_and_never_executed(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "evil.npz"
    save({"w": np.ones(2)}, path)
    with np.load(path, allow_pickle=False) as npz:
        members = {name: npz[name] for name in npz.files}
    evil = np.empty(1, dtype=object)
    evil[0] = _Payload()
    victim = next(name for name in members if name != checkpoint.STRUCTURE_MEMBER)
    members[victim] = evil
    np.savez(path, **members)  # numpy pickles object arrays into .npy members by default

    EXECUTED.clear()
    with pytest.raises(CheckpointError, match=rf"evil\.npz.*{victim}.*pickled object array"):
        load(path)
    assert EXECUTED == []

    # The payload is live: a loader that allowed pickle would have run it.
    with np.load(path, allow_pickle=True) as npz:
        npz[victim]
    assert EXECUTED == ["payload ran"]
    EXECUTED.clear()
