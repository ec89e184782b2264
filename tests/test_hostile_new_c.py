"""Hostile input to the newer training surface, part C: ``tl.amp.GradScaler``, ``save`` /
``load`` with file objects, LR schedulers with their own ``get_lr()``, the clip functions'
number arguments and the process-wide switches. Each case used to give a wrong answer, an
obscure error or a half-changed state: it must now give torch's result, or a refusal that
names the function and the offending value and leaves every state as it was."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite.amp import GradScaler
from tinygrad_lite.nn.utils import clip_grad_norm_, clip_grad_value_
from tinygrad_lite.optim.lr_scheduler import LRScheduler


def _opt(grads: list) -> tuple[list, Any]:
    ps = [tl.tensor(np.ones(2), requires_grad=True) for _ in grads]
    for p, g in zip(ps, grads):
        p.grad = None if g is None else np.array(g, dtype=float)
    return ps, tl.optim.SGD(ps, lr=0.1)


# ------------------------------------------------------------------ GradScaler
def test_unscale_of_what_is_no_optimizer_is_refused_and_records_nothing() -> None:
    scaler = GradScaler("cpu")
    with pytest.raises(TypeError, match="GradScaler.unscale_: expected an optimizer .* got Linear"):
        scaler.unscale_(tl.nn.Linear(2, 2))
    with pytest.raises(RuntimeError, match="no inf checks were recorded"):
        scaler.update()  # the failed call left no record behind
    assert scaler.get_scale() == 2.0 ** 16


def test_step_without_any_gradient_is_refused_and_changes_nothing() -> None:
    scaler = GradScaler("cpu")
    ps, opt = _opt([None, None])
    with pytest.raises(RuntimeError, match="GradScaler.step: no inf checks were recorded for this optimizer"):
        scaler.step(opt)
    assert all(np.array_equal(p.data, np.ones(2)) and p.grad is None for p in ps)
    with pytest.raises(RuntimeError, match="no inf checks were recorded"):
        scaler.update()


def test_inf_in_one_parameter_only_unscales_all_and_skips_the_step_as_torch() -> None:
    torch = pytest.importorskip("torch")
    grads = [[4.0, 8.0], [np.inf, 1.0]]
    ps, opt = _opt(grads)
    scaler = GradScaler("cpu", init_scale=4.0)
    tps = [torch.nn.Parameter(torch.ones(2, dtype=torch.float64)) for _ in grads]
    for p, g in zip(tps, grads):
        p.grad = torch.tensor(g, dtype=torch.float64)
    topt = torch.optim.SGD(tps, lr=0.1)
    tscaler = torch.amp.GradScaler("cpu", init_scale=4.0)
    for s, o, lib in ((scaler, opt, tl), (tscaler, topt, torch)):
        s.scale(lib.tensor(1.0))  # (torch's scaler makes its scale here)
        s.unscale_(o)
        with pytest.raises(RuntimeError, match="unscale_\\(\\) has already been called"):
            s.unscale_(o)
        s.step(o)
        s.update()
    for p, tp in zip(ps, tps):
        np.testing.assert_array_equal(p.grad, tp.grad.numpy())
        np.testing.assert_array_equal(p.data, tp.detach().numpy())
    assert scaler.get_scale() == tscaler.get_scale() == 2.0


def test_scaling_an_integer_output_gives_float_values_as_torch() -> None:
    torch = pytest.importorskip("torch")
    out = GradScaler("cpu", init_scale=1.5).scale(tl.tensor([1, 2]))
    ref = torch.amp.GradScaler("cpu", init_scale=1.5).scale(torch.tensor([1, 2]))
    np.testing.assert_array_equal(out.numpy(), ref.numpy())


def test_scale_takes_lists_tuples_and_iterators_as_torch_and_refuses_other_things() -> None:
    torch = pytest.importorskip("torch")
    mine, ref = GradScaler("cpu", init_scale=4.0), torch.amp.GradScaler("cpu", init_scale=4.0)
    a, b = np.array([1.0, -2.0]), np.array([0.5])
    got = mine.scale(t for t in (tl.tensor(a), tl.tensor(b)))
    want = ref.scale(t for t in (torch.tensor(a), torch.tensor(b)))
    assert not isinstance(got, (list, tuple))  # (scaled as it is read, as torch's map)
    for x, y in zip(got, want, strict=True):
        np.testing.assert_array_equal(x.numpy(), y.numpy())
    pair = mine.scale((tl.tensor(a), [tl.tensor(b)]))
    assert type(pair) is tuple and type(pair[1]) is list
    np.testing.assert_array_equal(pair[1][0].numpy(), b * 4.0)
    for bad in ({"loss": tl.tensor(a)}, "loss", 3.0):
        with pytest.raises(TypeError, match="GradScaler.scale: outputs must be a Tensor"):
            mine.scale(bad)


def _scaler_state(s: GradScaler) -> dict:
    return dict(s.state_dict())


@pytest.mark.parametrize("key, value", [
    ("growth_interval", "x"), ("growth_interval", 0), ("growth_interval", 2.5), ("_growth_tracker", -3),
    ("_growth_tracker", 2.7), ("growth_factor", 0.5), ("scale", np.inf), ("scale", None),
    ("scale", tl.tensor([8.0, 2.0])),
])
def test_scaler_load_state_dict_refuses_a_bad_entry_and_changes_nothing(key: str, value: Any) -> None:
    state = GradScaler("cpu", init_scale=2.0).state_dict()
    state[key] = value
    scaler = GradScaler("cpu", init_scale=8.0, growth_interval=5)
    before = _scaler_state(scaler)
    with pytest.raises(ValueError, match=f"GradScaler.load_state_dict: {key} must be"):
        scaler.load_state_dict(state)
    assert _scaler_state(scaler) == before


def test_scaler_load_state_dict_names_missing_keys_and_wrong_types() -> None:
    scaler = GradScaler("cpu", init_scale=8.0)
    state = GradScaler("cpu").state_dict()
    del state["growth_factor"]
    with pytest.raises(KeyError, match=r"GradScaler.load_state_dict: the state dict lacks \['growth_factor'\]"):
        scaler.load_state_dict(state)
    with pytest.raises(TypeError, match="GradScaler.load_state_dict: expected a dict, got NoneType"):
        scaler.load_state_dict(None)  # type: ignore[arg-type]
    assert scaler.get_scale() == 8.0


def test_scaler_state_round_trip_with_tensor_entries_and_an_extra_key() -> None:
    src = GradScaler("cpu", init_scale=32.0, growth_interval=7)
    state = {**src.state_dict(), "scale": tl.tensor(32.0), "_growth_tracker": np.array(3), "extra": 1}
    dst = GradScaler("cpu")
    dst.load_state_dict(state)  # torch ignores keys it does not use
    assert dst.state_dict() == {**src.state_dict(), "_growth_tracker": 3}


@pytest.mark.parametrize("bad", [np.inf, np.nan, 0.0, "x", tl.tensor([4.0, 2.0])])
def test_update_refuses_a_bad_new_scale_and_keeps_the_iteration(bad: Any) -> None:
    scaler = GradScaler("cpu")
    _, opt = _opt([[1.0, 1.0]])
    scaler.step(opt)
    with pytest.raises(ValueError, match="GradScaler.update: new_scale must be a positive number"):
        scaler.update(bad)
    assert scaler.get_scale() == 2.0 ** 16
    scaler.update()  # the recorded iteration is still there to end
    assert scaler.get_scale() == 2.0 ** 16


def test_one_element_arrays_and_tensors_are_numbers_for_the_scaler() -> None:
    assert GradScaler("cpu", init_scale=tl.tensor(4.0)).get_scale() == 4.0
    scaler = GradScaler("cpu")
    _, opt = _opt([[1.0, 1.0]])
    scaler.step(opt)
    scaler.update(np.array(8.0))
    assert scaler.get_scale() == 8.0
    with pytest.raises(ValueError, match="GradScaler: init_scale must be a positive number"):
        GradScaler("cpu", init_scale=np.inf)


# ------------------------------------------------------------------ save / load with file objects
def _archive() -> bytes:
    buf = io.BytesIO()
    tl.save({"w": np.arange(3.0)}, buf)
    return buf.getvalue()


def test_a_closed_file_object_is_refused_naming_the_function() -> None:
    closed = io.BytesIO(_archive())
    closed.close()
    with pytest.raises(ValueError, match="load: the BytesIO file object is closed"):
        tl.load(closed)
    out = io.BytesIO()
    out.close()
    with pytest.raises(ValueError, match="save: the BytesIO file object is closed"):
        tl.save({"a": 1}, out)


def test_a_file_open_in_the_wrong_mode_is_refused_naming_the_function(tmp_path: Any) -> None:
    path = tmp_path / "c.npz"
    path.write_bytes(_archive())
    with open(path, "rb") as f, pytest.raises(io.UnsupportedOperation, match="save: .* not open for write"):
        tl.save({"a": 1}, f)
    assert tl.load(path)["w"].tolist() == [0.0, 1.0, 2.0]  # untouched
    with open(path, "ab") as f, pytest.raises(io.UnsupportedOperation, match="load: .* not open for read"):
        tl.load(f)


def test_a_text_mode_file_object_is_refused_naming_the_function(tmp_path: Any) -> None:
    path = tmp_path / "c.npz"
    path.write_bytes(_archive())
    with open(path, encoding="latin-1") as f, pytest.raises(TypeError, match="load: .* is in text mode.* 'rb'"):
        tl.load(f)
    with pytest.raises(TypeError, match="save: the StringIO file object is in text mode"):
        tl.save({"a": 1}, io.StringIO())


class _Pipe(io.RawIOBase):
    """A readable stream that cannot seek (as a pipe or socket)."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        return self._data.readinto(b)

    def seekable(self) -> bool:
        return False


def test_a_non_seekable_stream_loads() -> None:
    np.testing.assert_array_equal(tl.load(_Pipe(_archive()))["w"], np.arange(3.0))


@pytest.mark.parametrize("cut", [10, 60, -20])
def test_a_failed_load_leaves_the_file_position_where_it_was(cut: int) -> None:
    raw = _archive()
    f = io.BytesIO(b"head" + raw[:cut])
    f.seek(4)
    with pytest.raises(tl.checkpoint.CheckpointError, match="cannot load checkpoint from BytesIO"):
        tl.load(f)
    assert f.tell() == 4


# ------------------------------------------------------------------ LR schedulers' get_lr
def _two_groups() -> Any:
    a, b = tl.tensor(np.ones(2), requires_grad=True), tl.tensor(np.ones(2), requires_grad=True)
    return tl.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)


def _groups(opt: Any) -> list:
    return [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]


@pytest.mark.parametrize("ret, err, needle", [
    ([1.0], ValueError, r"Warm.get_lr\(\) returned 1 learning rate\(s\), .* parameter groups is needed \(2;"),
    ([1.0, 2.0, 3.0], ValueError, r"Warm.get_lr\(\) returned 3 learning rate"),
    ([None, 1.0], ValueError, r"Warm.get_lr\(\) returned None for parameter group 0"),
    (["x", 1.0], ValueError, r"Warm.get_lr\(\) returned 'x' for parameter group 0"),
    ([0.1, np.nan], ValueError, r"Warm.get_lr\(\) returned nan for parameter group 1"),
    (0.1, TypeError, r"Warm.get_lr\(\) must return a list of 2 learning rate\(s\), got float"),
])
def test_a_bad_get_lr_at_creation_is_refused_and_leaves_the_groups(ret: Any, err: type, needle: str) -> None:
    class Warm(LRScheduler):
        def get_lr(self) -> Any:
            return ret

    opt = _two_groups()
    before = _groups(opt)
    with pytest.raises(err, match=needle):
        Warm(opt)
    assert _groups(opt) == before  # no lr and no initial_lr written


def test_a_bad_get_lr_at_a_step_keeps_the_epoch_and_the_lrs() -> None:
    class Shrinking(LRScheduler):
        def get_lr(self) -> list:
            return [g["lr"] * 0.5 for g in self.optimizer.param_groups][: 2 - self.last_epoch]

    opt = _two_groups()
    sched = Shrinking(opt)
    lrs = [g["lr"] for g in opt.param_groups]
    with pytest.raises(ValueError, match=r"Shrinking.get_lr\(\) returned 1 learning rate"):
        sched.step()
    assert sched.last_epoch == 0 and [g["lr"] for g in opt.param_groups] == lrs


def test_one_element_tensor_lrs_from_get_lr_are_taken() -> None:
    class Fixed(LRScheduler):
        def get_lr(self) -> list:
            return [tl.tensor(0.25), np.float32(0.125)]

    opt = _two_groups()
    Fixed(opt)
    assert [float(g["lr"]) for g in opt.param_groups] == [0.25, 0.125]


# ------------------------------------------------------------------ clip functions' numbers
@pytest.mark.parametrize("max_norm, norm_type", [
    (lambda lib: 1.0, lambda lib: "inf"), (lambda lib: np.array(1.0), lambda lib: 2.0),
    (lambda lib: 1.0, lambda lib: np.array(1.0)), (lambda lib: lib.tensor(1.0), lambda lib: 2.0),
    (lambda lib: 1.0, lambda lib: lib.tensor(3.0)),
])
def test_clip_grad_norm_takes_torch_s_tensor_and_string_numbers(max_norm: Any, norm_type: Any) -> None:
    torch = pytest.importorskip("torch")
    g = np.array([3.0, -4.0, 1.0])
    p = tl.tensor(np.ones(3), requires_grad=True)
    p.grad = g.copy()
    tp = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
    tp.grad = torch.tensor(g)
    total = clip_grad_norm_([p], max_norm(tl), norm_type=norm_type(tl))
    ttotal = torch.nn.utils.clip_grad_norm_([tp], max_norm(torch), norm_type=norm_type(torch))
    np.testing.assert_allclose(total, ttotal.item(), rtol=1e-12)
    np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-12)


def test_clip_refusals_name_the_value() -> None:
    p = tl.tensor(np.ones(2), requires_grad=True)
    p.grad = np.array([3.0, 4.0])
    with pytest.raises(TypeError, match="clip_grad_norm_: norm_type must be a real number or 'inf', got 'fro'"):
        clip_grad_norm_([p], 1.0, norm_type="fro")
    clip_grad_value_([p], tl.tensor(1.0))
    np.testing.assert_array_equal(p.grad, [1.0, 1.0])


# ------------------------------------------------------------------ process-wide switches
def test_a_refused_use_deterministic_algorithms_keeps_both_flags() -> None:
    torch = pytest.importorskip("torch")
    was = tl.are_deterministic_algorithms_enabled()
    try:
        tl.use_deterministic_algorithms(False)
        with pytest.raises(TypeError, match="use_deterministic_algorithms: warn_only must be a bool"):
            tl.use_deterministic_algorithms(True, warn_only="x")  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            torch.use_deterministic_algorithms(True, warn_only="x")
        assert tl.are_deterministic_algorithms_enabled() is torch.are_deterministic_algorithms_enabled() is False
    finally:
        tl.use_deterministic_algorithms(was)


def test_a_numpy_string_precision_is_kept_as_a_str() -> None:
    was = tl.get_float32_matmul_precision()
    try:
        tl.set_float32_matmul_precision(np.str_("high"))  # type: ignore[arg-type]
        assert type(tl.get_float32_matmul_precision()) is str
    finally:
        tl.set_float32_matmul_precision(was)


# ------------------------------------------------------------------ StateArray
def test_state_array_item_of_many_elements_names_the_shape_as_torch_refuses() -> None:
    torch = pytest.importorskip("torch")
    weight = tl.nn.Linear(2, 3).state_dict()["weight"]
    with pytest.raises(RuntimeError, match=r"StateArray.item: only a one-element array .* shape \(3, 2\)"):
        weight.item()
    with pytest.raises(RuntimeError):
        torch.nn.Linear(2, 3).state_dict()["weight"].item()
    assert weight.item(4) == float(weight.reshape(-1)[4])  # numpy's item(index) still works
    bias = tl.nn.Linear(2, 1).state_dict()["bias"]
    assert bias.item() == float(np.asarray(bias)[0]) and type(bias.item()) is float


def test_state_array_to_an_integer_device_index_is_a_device_refusal() -> None:
    weight = tl.nn.Linear(2, 3).state_dict()["weight"]
    with pytest.raises(TypeError, match="StateArray.to: expected a device such as 'cpu', got int 3"):
        weight.to(3)


def test_a_thread_count_beyond_32_bits_is_refused_before_blas_is_touched() -> None:
    was = tl.get_num_threads()
    tl.set_num_threads(2)
    try:
        with pytest.raises(ValueError, match="set_num_threads: number of threads must fit in 32 bits, got 2147483648"):
            tl.set_num_threads(2**31)
        assert tl.get_num_threads() == 2
    finally:
        tl.set_num_threads(was)
