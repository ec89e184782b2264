"""Tests of tl.save / tl.load: exact round trips, no pickle, atomic writes, clear errors."""

from __future__ import annotations

import collections
import io
import json
import math
import os
import pathlib
import re
import socket
import stat
import struct
import subprocess
import sys
import threading
import tracemalloc
import zipfile
import zlib
from typing import Any

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import _npzsafe, checkpoint
from tinygrad_lite.checkpoint import CheckpointError, load, save
from tinygrad_lite.nn.statearray import StateArray

# ----------------------------------------------------------------------------- helpers


def assert_same(a: Any, b: Any, where: str = "obj") -> None:
    """Exact structural equality: types, dict key types and order, array dtype/shape/values
    (a state dict's ``StateArray`` is saved as, and loads as, a plain ndarray)."""
    kind_a = np.ndarray if isinstance(a, StateArray) else type(a)
    assert kind_a is type(b), f"{where}: {kind_a.__name__} != {type(b).__name__}"
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


def test_tensors_load_as_new_leaves_with_their_values_dtype_and_flags(tmp_path: pathlib.Path) -> None:
    # torch.save's general checkpoint keeps Tensors, the loss among them (a non-leaf)
    x = tl.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    layer = tl.nn.Linear(3, 2, dtype=np.float32)
    obj = {"loss": (x * x).sum(), "x": x, "frozen": x.detach(), "w": layer.weight,
           "ints": tl.tensor(np.array([[1, -2]], dtype=np.int16)), "nested": [(tl.tensor(2.5),)]}
    save(obj, tmp_path / "c.npz")
    back = load(tmp_path / "c.npz")
    for key, want in [("loss", (x * x).sum()), ("x", x), ("frozen", x), ("w", layer.weight), ("ints", obj["ints"])]:
        got = back[key]
        assert type(got) is tl.Tensor and got.grad_fn is None, key
        assert got.dtype == want.dtype and got.shape == want.shape, key
        np.testing.assert_array_equal(got.data, want.data)
        assert not np.shares_memory(got.data, want.data), key
    assert [back[k].requires_grad for k in ("loss", "x", "frozen", "w", "ints")] == [True, True, False, True, False]
    assert isinstance(back["w"], tl.nn.Parameter) and not isinstance(back["frozen"], tl.nn.Parameter)
    assert back["nested"][0][0].item() == 2.5 and isinstance(back["nested"][0], tuple)
    (back["x"] * 3).sum().backward()  # a loaded leaf trains
    np.testing.assert_array_equal(back["x"].grad, np.full((2, 3), 3.0))
    assert x.grad is None
    save(x, tmp_path / "t.npz")  # a bare tensor, as torch.save(tensor, path)
    np.testing.assert_array_equal(load(tmp_path / "t.npz").data, x.data)


def test_module_is_refused_with_a_hint(tmp_path: pathlib.Path) -> None:
    with pytest.raises(TypeError, match=r"Linear at obj\['m'\] \(save its state_dict\(\)\)"):
        save({"m": tl.nn.Linear(2, 2)}, tmp_path / "c.npz")
    assert files_in(tmp_path) == []


@pytest.mark.parametrize(("node", "what"), [
    (["arr0", "yes", False], "a tensor node must hold"),
    (["arr0", True], "a tensor node must hold"),
    ("arr0", "a tensor node must hold"),
    (["arr1", False, False], "missing array member 'arr1'"),
])
def test_bad_tensor_nodes_are_refused(tmp_path: pathlib.Path, node: Any, what: str) -> None:
    path = tmp_path / "t.npz"
    path.write_bytes(raw_zip([member("__structure__.npy", structure_npy({"$tensor": node})),
                              member("arr0.npy", npy_bytes(np.ones(2)))]))
    assert_refused(path, what)


def test_an_integer_tensor_that_requires_grad_is_refused(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "t.npz"
    path.write_bytes(raw_zip([member("__structure__.npy", structure_npy({"$tensor": ["arr0", True, False]})),
                              member("arr0.npy", npy_bytes(np.arange(3)))]))
    assert_refused(path, r"tensor member 'arr0' of dtype int64 cannot require grad")


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


@pytest.mark.parametrize(("offset", "patch"), [(6, b"\xff\x00"), (10, b"\x63\x00")],
                         ids=["unknown zip version", "unknown compression method"])
def test_load_refuses_what_zipfile_cannot_read(tmp_path: pathlib.Path, offset: int, patch: bytes) -> None:
    # zipfile raises NotImplementedError for these; load names the file with CheckpointError
    path = tmp_path / "v.npz"
    save({"w": np.arange(3.0)}, path)
    data = bytearray(path.read_bytes())
    k = data.find(b"PK\x01\x02")  # the first central directory entry
    data[k + offset : k + offset + 2] = patch
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"v\.npz") as info:
        load(path)
    assert isinstance(info.value, ValueError)


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


# ----------------------------------------------------------------------------- hardening: helpers

REPO = pathlib.Path(__file__).resolve().parent.parent
POSIX_ONLY = pytest.mark.skipif(os.name != "posix", reason="POSIX file types and permissions")


def call_with_timeout(func: Any, seconds: float = 10.0) -> BaseException | None:
    """Runs ``func()`` in a daemon thread; returns the exception it raised (None if none).
    Fails the test if it has not finished after ``seconds`` (e.g. blocked on a FIFO)."""
    outcome: list = []

    def run() -> None:
        try:
            func()
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still blocked after {seconds} s"
    return outcome[0]


def release_fifo(path: pathlib.Path) -> None:
    """Unblocks a reader left waiting on the FIFO ``path`` (if any)."""
    for flags in (os.O_WRONLY | os.O_NONBLOCK, os.O_RDONLY | os.O_NONBLOCK):
        try:
            os.close(os.open(path, flags))
        except OSError:
            pass


RANDOM_BYTES = np.random.default_rng(0).bytes(60_000)  # incompressible filler


def npy_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, allow_pickle=False)
    return buf.getvalue()


def npy_header(descr: str, shape: tuple, fortran: bool = False) -> bytes:
    """The .npy header (magic, version 1.0, length, dict) of an array, without its data."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": fortran, "shape": shape})
    return buf.getvalue()


def structure_npy(root: Any) -> bytes:
    return npy_bytes(np.frombuffer(json.dumps(_doc(root)).encode(), dtype=np.uint8))


def deflate(raw: bytes) -> bytes:
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    return z.compress(raw) + z.flush()


def member(name: str, raw: bytes, *, method: int = 0, payload: bytes | None = None,
           usize: int | None = None, crc: int | None = None, flags: int = 0) -> dict:
    """One zip member; ``payload`` (the stored bytes) and the declared sizes / CRC may lie."""
    if payload is None:
        payload = raw if method == 0 else deflate(raw)
    return {"name": name.encode(), "payload": payload, "method": method, "flags": flags,
            "usize": len(raw) if usize is None else usize, "crc": zlib.crc32(raw) if crc is None else crc}


def local_header(m: dict) -> bytes:
    return struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, m["flags"], m["method"], 0, 0x21, m["crc"],
                       len(m["payload"]), m["usize"], len(m["name"]), 0) + m["name"]


def raw_zip(members: list, offsets: list | None = None) -> bytes:
    """A zip archive written field by field (central directory offsets may be forced)."""
    body, central = bytearray(), bytearray()
    for i, m in enumerate(members):
        offset = len(body) if offsets is None else offsets[i]
        body += local_header(m) + m["payload"]
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, m["flags"], m["method"], 0, 0x21,
                               m["crc"], len(m["payload"]), m["usize"], len(m["name"]), 0, 0, 0, 0, 0,
                               offset) + m["name"]
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(central), len(body), 0)
    return bytes(body + central + end)


def valid_members(**arrays: np.ndarray) -> list:
    """Members of a sound checkpoint holding ``arrays`` (``name -> array``) at the top level."""
    root = {"$dict": [[k, {"$array": k}] for k in arrays]}
    return [member("__structure__.npy", structure_npy(root))] + [
        member(f"{k}.npy", npy_bytes(v)) for k, v in arrays.items()
    ]


def assert_refused(path: pathlib.Path, what: str, peak_limit: int = 16 << 20) -> None:
    """load(path) raises CheckpointError matching ``what`` and stays under ``peak_limit`` bytes."""
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match=what):
            load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < peak_limit, f"load used {peak} bytes"


def temp_files(directory: pathlib.Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp-ckpt"))


# ----------------------------------------------------------------------------- hardening: save


@POSIX_ONLY
def test_save_through_symlink_updates_target_and_keeps_the_link(tmp_path: pathlib.Path) -> None:
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    target = real_dir / "c.npz"
    save({"epoch": 1}, target)
    target.chmod(0o600)
    link = tmp_path / "latest.npz"
    link.symlink_to(os.path.relpath(target, tmp_path))
    chain = tmp_path / "chain.npz"
    chain.symlink_to(link)
    save({"epoch": 2}, chain)
    assert chain.is_symlink() and link.is_symlink()
    assert os.readlink(link) == os.path.relpath(target, tmp_path)
    assert load(target) == {"epoch": 2} and load(link) == {"epoch": 2}
    assert target.stat().st_mode & 0o777 == 0o600
    assert files_in(tmp_path) == ["chain.npz", "latest.npz", "real"] and files_in(real_dir) == ["c.npz"]


@POSIX_ONLY
def test_save_through_dangling_symlink_creates_its_target(tmp_path: pathlib.Path) -> None:
    link = tmp_path / "link.npz"
    link.symlink_to(tmp_path / "new.npz")
    save({"a": 1}, link)
    assert link.is_symlink() and load(tmp_path / "new.npz") == {"a": 1}


@POSIX_ONLY
@pytest.mark.parametrize("mode", [0o600, 0o640, 0o604, 0o666])
def test_save_keeps_the_permission_bits_of_an_existing_file(tmp_path: pathlib.Path, mode: int) -> None:
    path = tmp_path / "c.npz"
    save({"epoch": 1}, path)
    path.chmod(mode)
    old = os.umask(0o022)
    try:
        save({"epoch": 2}, path)
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == mode
    assert load(path) == {"epoch": 2}


@POSIX_ONLY
def test_save_never_exposes_data_wider_than_the_final_mode(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "secret.npz"
    save({"k": 1}, path)
    path.chmod(0o600)
    seen: list[int] = []
    real_write = checkpoint._write_npz

    def spy(fileobj: Any, arrays: Any, compress: bool) -> None:
        seen.append(os.fstat(fileobj.fileno()).st_mode & 0o777)
        real_write(fileobj, arrays, compress)

    monkeypatch.setattr(checkpoint, "_write_npz", spy)
    save({"k": 2}, path)
    assert seen == [0o600]


@POSIX_ONLY
def test_save_to_a_fifo_is_refused_without_blocking(tmp_path: pathlib.Path) -> None:
    fifo = tmp_path / "pipe.npz"
    os.mkfifo(fifo)
    try:
        error = call_with_timeout(lambda: save({"a": np.ones(3)}, fifo))
    finally:
        release_fifo(fifo)
    assert isinstance(error, CheckpointError) and "FIFO" in str(error) and "pipe.npz" in str(error)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert files_in(tmp_path) == ["pipe.npz"]


def test_save_to_a_directory_is_refused(tmp_path: pathlib.Path) -> None:
    (tmp_path / "d.npz").mkdir()
    with pytest.raises(CheckpointError, match=r"d\.npz.*directory, not a regular file"):
        save({"a": 1}, tmp_path / "d.npz")
    assert files_in(tmp_path) == ["d.npz"] and files_in(tmp_path / "d.npz") == []
    with pytest.raises(CheckpointError, match="separator"):
        save({"a": 1}, str(tmp_path / "new.npz") + os.sep)
    assert files_in(tmp_path) == ["d.npz"]


def make_device_node(path: pathlib.Path) -> None:
    """A character device node (the null device's numbers) of our own in ``tmp_path``: a save
    that wrongly replaced it would only replace this node, never a system device."""
    try:
        os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    except (AttributeError, PermissionError, OSError) as exc:
        pytest.skip(f"cannot create a device node here: {exc}")


@POSIX_ONLY
def test_save_to_a_device_or_socket_is_refused(tmp_path: pathlib.Path) -> None:
    sock_path = tmp_path / "s.npz"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(str(sock_path))
        with pytest.raises(CheckpointError, match="socket, not a regular file"):
            save({"a": 1}, sock_path)
    finally:
        sock.close()
    assert stat.S_ISSOCK(os.lstat(sock_path).st_mode)
    device = tmp_path / "dev.npz"
    make_device_node(device)
    link = tmp_path / "link.npz"
    link.symlink_to(device)
    for path in (device, link):
        with pytest.raises(CheckpointError, match="character device"):
            save({"a": 1}, path)
    assert stat.S_ISCHR(os.lstat(device).st_mode) and link.is_symlink()
    assert files_in(tmp_path) == ["dev.npz", "link.npz", "s.npz"]


@pytest.mark.parametrize("compress", [1, 0, "yes", None, 1.0])
def test_compress_must_be_a_bool(tmp_path: pathlib.Path, compress: Any) -> None:
    path = tmp_path / "c.npz"
    save({"epoch": 1}, path)
    before = path.read_bytes()
    with pytest.raises(TypeError, match="compress.*bool"):
        save({"epoch": 2}, path, compress=compress)
    assert path.read_bytes() == before and files_in(tmp_path) == ["c.npz"]


@pytest.mark.parametrize(
    ("obj", "error", "what"),
    [
        ({"w": np.ones(3), "bad": {1, 2}}, TypeError, r"set.*obj\['bad'\]"),
        ({"w": np.ones(3), "m": tl.nn.Linear(2, 2)}, TypeError, r"Linear.*obj\['m'\].*state_dict"),
        ({"w": np.ones(3), "o": np.array([None])}, TypeError, "object array"),
        ({"k": {(1,): 2}}, TypeError, "key"),
    ],
)
def test_bad_object_leaves_the_existing_file_untouched(
    tmp_path: pathlib.Path, obj: Any, error: type[Exception], what: str
) -> None:
    path = tmp_path / "c.npz"
    save({"epoch": 1}, path)
    before = path.read_bytes()
    with pytest.raises(error, match=what):
        save(obj, path)
    assert path.read_bytes() == before and files_in(tmp_path) == ["c.npz"]


def test_bad_path_types_name_the_problem(tmp_path: pathlib.Path) -> None:
    for bad in (b"bytes.npz", 3.5, ["a"], None):
        with pytest.raises(TypeError, match="path"):
            save({}, bad)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="path"):
            load(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="NUL"):
        save({}, str(tmp_path / "a\0b"))
    assert files_in(tmp_path) == []


@pytest.mark.parametrize("exc", [KeyboardInterrupt, MemoryError])
def test_exception_while_writing_a_member_removes_the_temp_file(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, exc: type[BaseException]
) -> None:
    path = tmp_path / "c.npz"
    save({"w": np.arange(3.0), "epoch": 1}, path)
    before = path.read_bytes()
    real = np.lib.format.write_array
    calls: list[int] = []

    def write_then_fail(fp: Any, array: Any, *args: Any, **kwargs: Any) -> None:
        calls.append(1)
        if len(calls) == 3:  # the structure and one array are written, the next one breaks
            fp.write(b"\x93NUMPY partial")
            raise exc
        real(fp, array, *args, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", write_then_fail)
    with pytest.raises(exc):
        save({"w": np.arange(5.0), "v": np.ones(4), "epoch": 2}, path, compress=False)
    monkeypatch.undo()
    assert len(calls) == 3
    assert path.read_bytes() == before and files_in(tmp_path) == ["c.npz"]


def test_temp_file_name_holds_the_pid(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []
    real_write = checkpoint._write_npz

    def spy(fileobj: Any, arrays: Any, compress: bool) -> None:
        seen.append(temp_files(tmp_path))
        real_write(fileobj, arrays, compress)

    monkeypatch.setattr(checkpoint, "_write_npz", spy)
    save({"a": 1}, tmp_path / "c.npz")
    assert len(seen) == 1 and len(seen[0]) == 1
    assert re.fullmatch(rf"\.c\.npz\.{os.getpid()}\.[0-9a-f]{{12}}\.tmp-ckpt", seen[0][0])
    assert files_in(tmp_path) == ["c.npz"]


KILLED_SAVE = """
import sys, time
import numpy as np
from tinygrad_lite import _npzsafe, checkpoint

def stall(fileobj, arrays, compress):
    fileobj.write(b"PK\\x03\\x04 a partial archive")
    fileobj.flush()
    print("writing", flush=True)
    time.sleep(120)

checkpoint._write_npz = stall
checkpoint.save({"w": np.ones(3)}, sys.argv[1])
"""


@POSIX_ONLY
def test_temp_file_of_a_killed_save_is_removed_by_the_next_save(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "c.npz"
    save({"epoch": 1}, path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", KILLED_SAVE, str(path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
    finally:
        proc.kill()
        _, err = proc.communicate(timeout=30)
    assert line.strip() == "writing", err
    left = temp_files(tmp_path)
    assert len(left) == 1 and f".{proc.pid}." in left[0]
    assert load(path) == {"epoch": 1}  # the killed save left the checkpoint intact

    other = tmp_path / f".other.npz.{proc.pid}.{'a' * 12}.tmp-ckpt"  # another target's: not ours to remove
    other.write_bytes(b"x")
    save({"epoch": 2}, path)
    assert load(path) == {"epoch": 2}
    assert files_in(tmp_path) == [other.name, "c.npz"]


@POSIX_ONLY
def test_temp_files_of_live_writers_are_kept(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "c.npz"
    live = tmp_path / f".c.npz.{os.getppid()}.{'b' * 12}.tmp-ckpt"  # the parent process is alive
    mine = tmp_path / f".c.npz.{os.getpid()}.{'c' * 12}.tmp-ckpt"  # this process, no save running
    live.write_bytes(b"x")
    mine.write_bytes(b"x")
    save({"a": 1}, path)
    assert files_in(tmp_path) == [live.name, "c.npz"]


def test_nesting_up_to_max_depth_round_trips_and_deeper_is_refused(tmp_path: pathlib.Path) -> None:
    def nest(depth: int) -> Any:
        obj: Any = np.ones(2)
        for i in range(depth):
            obj = [obj] if i % 3 == 0 else ((obj,) if i % 3 == 1 else {i: obj})
        return obj

    deepest = nest(checkpoint.MAX_DEPTH)
    assert_same(deepest, roundtrip(deepest, tmp_path))
    with pytest.raises(ValueError, match="nested deeper than MAX_DEPTH"):
        save(nest(checkpoint.MAX_DEPTH + 1), tmp_path / "deep.npz")
    assert not (tmp_path / "deep.npz").exists()


# ----------------------------------------------------------------------------- hardening: load


@POSIX_ONLY
def test_load_from_a_fifo_is_refused_without_blocking(tmp_path: pathlib.Path) -> None:
    fifo = tmp_path / "pipe.npz"
    os.mkfifo(fifo)
    try:
        error = call_with_timeout(lambda: load(fifo))
    finally:
        release_fifo(fifo)
    assert isinstance(error, CheckpointError) and "FIFO" in str(error)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_load_from_a_device_is_refused_at_once() -> None:
    error = call_with_timeout(lambda: load("/dev/zero"))
    assert isinstance(error, CheckpointError) and "character device" in str(error)


def test_every_saved_file_loads_even_when_it_compresses_extremely(tmp_path: pathlib.Path) -> None:
    rng = np.random.default_rng(0)
    obj = {"zeros": np.zeros(300_000), "noise": rng.normal(size=1000), "small_zeros": np.zeros(10)}
    path = tmp_path / "c.npz"
    save(obj, path, compress=True)
    assert_same(obj, load(path))
    with zipfile.ZipFile(path) as zf:
        infos = {i.filename: i for i in zf.infolist()}
    ratio = _npzsafe.SAVE_RATIO
    for info in infos.values():
        assert info.compress_type == zipfile.ZIP_STORED or info.file_size <= ratio * info.compress_size
    zeros = next(i for i in infos.values() if i.file_size > 2_000_000)
    assert zeros.compress_type == zipfile.ZIP_STORED  # deflate would shrink it ~1000 times
    assert any(i.compress_type == zipfile.ZIP_DEFLATED for i in infos.values())


def test_archives_written_by_numpy_savez_still_load(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "c.npz"
    doc = _doc({"$dict": [["w", {"$array": "arr0"}], ["s", {"$scalar": "arr1"}]]})
    _write_archive(path, doc, arr0=np.arange(6.0).reshape(2, 3), arr1=np.float32(2.5))
    back = load(path)
    assert_same({"w": np.arange(6.0).reshape(2, 3), "s": np.float32(2.5)}, back)


def test_zip_bomb_is_refused_from_its_declared_sizes(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bomb.npz"
    count = 25_000_000  # 200 MB of zeros deflate to about 200 KB
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("__structure__.npy", structure_npy({"$array": "arr0"}))
        info = zipfile.ZipInfo("arr0.npy")
        info.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(info, "w", force_zip64=True) as fh:
            fh.write(npy_header("<f8", (count,)))
            chunk = bytes(1 << 20)
            for _ in range(count * 8 // len(chunk)):
                fh.write(chunk)
    assert path.stat().st_size < 1_000_000
    opened: list[str] = []
    real_open = zipfile.ZipFile.open

    def spy(self: Any, name: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(getattr(name, "filename", name))
        return real_open(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    assert_refused(path, r"bomb\.npz.*arr0\.npy.*ratio above 100.*before decompressing", peak_limit=4 << 20)
    assert opened == []  # refused from the central directory: nothing was decompressed


def test_lying_sizes_cannot_blow_memory(tmp_path: pathlib.Path) -> None:
    # The headers declare one float64 (136 bytes); the deflated stream really holds 64 MB.
    declared = npy_header("<f8", (1,)) + bytes(8)
    big = declared + bytes(64 << 20)
    liar = member("arr0.npy", declared, method=8, payload=deflate(big), crc=zlib.crc32(big))
    path = tmp_path / "liar.npz"
    path.write_bytes(raw_zip([member("__structure__.npy", structure_npy({"$array": "arr0"})), liar]))
    assert_refused(path, r"liar\.npz.*(damaged|CRC)", peak_limit=4 << 20)


@pytest.mark.parametrize(
    ("header", "data", "what"),
    [
        (npy_header("<f8", (10**12,)), bytes(64), r"declares a float64 array of shape \(1000000000000,\)"),
        (npy_header("<f8", (1 << 62, 1 << 62)), bytes(64), "declares a float64 array"),
        (npy_header("<f8", (2,)), bytes(24), r"holds 24 bytes of data"),  # more data than declared
        (npy_header("<f8", (4,)), bytes(24), r"holds 24 bytes of data"),  # less data than declared
        (npy_header("|V0", (10**9,)), b"", "declares a"),  # zero-size items in a huge count
        (b"\x93NUMPY\x01\x00" + (60_000).to_bytes(2, "little") + RANDOM_BYTES, b"", "60000-byte .npy header"),
        (b"\x93NUMPY\x01\x00\x10\x00{'descr': '<f8'}", b"", "exactly the keys"),
        (b"\x93NUMPY\x01\x00\x10\x00__import__('os')", b"", "unreadable"),
        (b"\x93NUMPY\x07\x00", b"", "format version 7.0"),
        (b"not npy at all!!", b"", r"not a \.npy array"),
        (npy_header("|O", (1,)), bytes(8), "pickled object array"),
        (npy_header("<f8", (-1,)), bytes(8), "invalid shape"),
        (npy_header("<zz", (1,)), bytes(8), "invalid dtype"),
    ],
    ids=["huge", "overflowing", "too-long", "too-short", "zero-itemsize", "long-header", "missing-keys",
         "code", "version", "magic", "object", "negative", "bad-dtype"],
)
@pytest.mark.parametrize("method", [0, 8], ids=["stored", "deflated"])
def test_npy_header_must_match_the_member_size(
    tmp_path: pathlib.Path, header: bytes, data: bytes, what: str, method: int
) -> None:
    path = tmp_path / "forged.npz"
    path.write_bytes(raw_zip([member("__structure__.npy", structure_npy({"$array": "arr0"})),
                              member("arr0.npy", header + data, method=method)]))
    assert_refused(path, rf"forged\.npz.*'arr0'.*{what}", peak_limit=4 << 20)


def test_duplicate_member_names_are_refused(tmp_path: pathlib.Path) -> None:
    members = valid_members(arr0=np.ones(2))
    path = tmp_path / "dup.npz"
    path.write_bytes(raw_zip(members + [member("arr0.npy", npy_bytes(np.zeros(2)))]))
    assert_refused(path, r"dup\.npz.*duplicate member name 'arr0\.npy'")


def test_overlapping_members_are_refused(tmp_path: pathlib.Path) -> None:
    inner = member("arr0.npy", npy_bytes(np.ones(2)))
    structure = member("__structure__.npy", structure_npy({"$array": "arr0"}))
    # The structure member's (stored) data swallows arr0's header and data; arr0's entry in
    # the central directory points inside it, so those bytes would be read twice.
    outer = member("__structure__.npy", structure["payload"] + local_header(inner) + inner["payload"])
    outer["crc"], outer["usize"] = zlib.crc32(outer["payload"]), len(outer["payload"])
    body = local_header(outer) + outer["payload"]
    arr0_offset = len(local_header(outer)) + len(structure["payload"])
    blob = bytearray(raw_zip([outer, inner], offsets=[0, arr0_offset]))
    path = tmp_path / "overlap.npz"
    path.write_bytes(bytes(blob))
    assert body  # the layout above is what the file holds
    assert_refused(path, r"overlap\.npz.*overlap in the file")


def test_member_running_into_the_central_directory_is_refused(tmp_path: pathlib.Path) -> None:
    members = valid_members(arr0=np.ones(2))
    blob = bytearray(raw_zip(members))
    # Enlarge arr0's compressed size in its central directory entry only.
    cd = blob.index(b"PK\x01\x02" , blob.index(b"PK\x01\x02") + 4)
    (csize,) = struct.unpack_from("<L", blob, cd + 20)
    struct.pack_into("<L", blob, cd + 20, csize + 40)
    path = tmp_path / "long.npz"
    path.write_bytes(bytes(blob))
    assert_refused(path, r"long\.npz.*(stored member 'arr0\.npy' declares|central directory)")


def test_two_structure_entries_naming_one_member_are_refused(tmp_path: pathlib.Path) -> None:
    root = {"$dict": [["a", {"$array": "arr0"}], ["b", {"$array": "arr0"}]]}
    path = tmp_path / "alias.npz"
    path.write_bytes(raw_zip([member("__structure__.npy", structure_npy(root)),
                              member("arr0.npy", npy_bytes(np.ones(2)))]))
    assert_refused(path, r"alias\.npz.*same array member 'arr0' \(aliasing\)")
    root = {"$dict": [["a", {"$array": "__structure__"}]]}
    path.write_bytes(raw_zip([member("__structure__.npy", structure_npy(root))]))
    assert_refused(path, "missing array member '__structure__'")


@pytest.mark.parametrize("depth", [checkpoint.MAX_DEPTH + 1, 1_000, 500_000])
def test_structures_nested_too_deep_are_refused_quickly(tmp_path: pathlib.Path, depth: int) -> None:
    text = json.dumps(_doc(None)).replace("null", "[" * depth + "]" * depth).encode()
    path = tmp_path / "deep.npz"
    path.write_bytes(raw_zip([member("__structure__.npy", npy_bytes(np.frombuffer(text, np.uint8)))]))
    error = call_with_timeout(lambda: assert_refused(path, r"deep\.npz.*nested deeper than MAX_DEPTH"), 20)
    assert error is None


@pytest.mark.parametrize("tail", [b'\\"' * 200_000, b'\\"' * 200_000 + b"\\", b'"' * 400_000])
def test_unterminated_strings_are_refused_in_linear_time(tmp_path: pathlib.Path, tail: bytes) -> None:
    """A structure of escaped quotes with no closing quote: the nesting pre-check must not
    rescan the rest of the text from every quote (400 KB would take hours)."""
    text = b'{"format": "' + tail
    path = tmp_path / "quotes.npz"
    path.write_bytes(raw_zip([member("__structure__.npy", npy_bytes(np.frombuffer(text, np.uint8)))]))
    error = call_with_timeout(lambda: assert_refused(path, r"quotes\.npz", peak_limit=64 << 20), 60)
    assert error is None


def test_brackets_inside_strings_do_not_count_as_nesting(tmp_path: pathlib.Path) -> None:
    obj = {"s": "[" * 5000 + '{"\\"' + "}" * 7, "[[[": ["]]]"]}
    assert roundtrip(obj, tmp_path) == obj


@pytest.mark.parametrize(
    ("extra", "what"),
    [
        (member("evil.npy", npy_bytes(np.ones(2))), r"unexpected archive members \['evil'\]"),
        (member("arr1.npy", npy_bytes(np.ones(2))), r"unexpected archive members \['arr1'\]"),
        (member("../arr1.npy", npy_bytes(np.ones(2))), r"unexpected archive members \['\.\./arr1'\]"),
        (member("notes.txt", b"hello"), r"'notes\.txt' is not a \.npy array"),
        (member("arr1.npy", npy_bytes(np.ones(2)), flags=1), "encrypted"),
        (member("arr1.npy", npy_bytes(np.ones(2)), method=12, payload=b"BZh9"), "method 12"),
        (member("arr1.npy", npy_bytes(np.ones(2)), usize=10_000), r"declares 10000 bytes but occupies"),
    ],
    ids=["evil", "unreferenced", "path", "not-npy", "encrypted", "bzip2", "stored-size"],
)
def test_unexpected_or_unsupported_members_are_refused(
    tmp_path: pathlib.Path, extra: dict, what: str
) -> None:
    path = tmp_path / "extra.npz"
    path.write_bytes(raw_zip(valid_members(arr0=np.ones(3)) + [extra]))
    assert_refused(path, rf"extra\.npz.*{what}")
    path.write_bytes(raw_zip(valid_members(arr0=np.ones(3))))
    assert_same({"arr0": np.ones(3)}, load(path))  # the same archive without the extra member loads


def test_oversized_structure_member_is_refused(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.npz"
    save({"s": "x" * 5000}, path)
    monkeypatch.setattr(checkpoint, "MAX_STRUCTURE_BYTES", 1000)
    assert_refused(path, r"big\.npz.*'__structure__' declares \d+ bytes \(at most 1000")


@pytest.mark.parametrize("compress", [False, True])
def test_truncated_or_flipped_member_data_is_refused(tmp_path: pathlib.Path, compress: bool) -> None:
    path = tmp_path / "c.npz"
    save({"w": np.random.default_rng(0).normal(size=2000)}, path, compress=compress)
    blob = path.read_bytes()
    start = blob.index(b"arr0.npy") + len("arr0.npy") + 200  # inside arr0's data
    for damaged in (blob[:start] + bytes([blob[start] ^ 0xFF]) + blob[start + 1 :], blob[: len(blob) // 2]):
        path.write_bytes(damaged)
        with pytest.raises(CheckpointError, match=r"c\.npz"):
            load(path)
