"""Hostile inputs, fourth round: read-only arrays made parameters, integer bases to the power
+-0.5, checkpoint strings beyond Unicode's range, attention without features and unfold/fold
of an empty batch, each compared with torch where torch has the same function."""

import io
import json
import zipfile

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite._npzsafe import CheckpointError
from tinygrad_lite.ops.base import AllocationError


def _torch():
    return pytest.importorskip("torch")


@pytest.mark.parametrize("how", ["assign", "data"])
@pytest.mark.parametrize("opt_cls", [tl.optim.Adam, tl.optim.SGD])
def test_a_read_only_array_made_a_parameter_is_copied_so_a_step_updates_every_parameter(how, opt_cls):
    m = tl.nn.Sequential(tl.nn.Linear(2, 3, rng=0), tl.nn.Linear(3, 1, rng=1))
    ro = np.broadcast_to(np.zeros(1), (1,))
    assert not ro.flags.writeable
    if how == "assign":
        sd = m.state_dict()
        sd["1.bias"] = ro
        m.load_state_dict(sd, assign=True)
    else:
        m[1].bias.data = ro
    assert m[1].bias.data.flags.writeable and not np.shares_memory(m[1].bias.data, ro)
    before = [p.data.copy() for p in m.parameters()]
    opt = opt_cls(m.parameters(), lr=0.1)
    m(tl.Tensor(np.ones((4, 2)))).sum().backward()
    opt.step()  # (it updated the first parameters, then raised numpy's "output array is read-only")
    assert all(not np.array_equal(p.data, b) for p, b in zip(m.parameters(), before))


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int64, np.bool_])
@pytest.mark.parametrize("k", [0.5, -0.5, 1.5])
def test_an_integer_base_to_a_float_power_is_float64_as_every_integer_to_float_op(dtype, k):
    a = np.array([1, 2, 3]).astype(dtype)
    y = tl.Tensor(a) ** k
    assert y.dtype == np.float64  # (0.5 and -0.5 gave float16 for 8-bit bases, float32 for int16)
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(y.data, a.astype(np.float64) ** k, rtol=1e-15)


def _archive(path, descr, data):
    doc = '{"format": "tinygrad_lite.checkpoint", "version": 1, "root": ' + json.dumps({"$array": "arr0"}) + "}"
    header = "{'descr': " + repr(descr) + ", 'fortran_order': False, 'shape': (1,), }"
    header = header + " " * (63 - (len(header) + 10) % 64) + "\n"
    npy = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + data
    with zipfile.ZipFile(path, "w") as z:
        buf = io.BytesIO()
        np.save(buf, np.frombuffer(doc.encode(), np.uint8))
        z.writestr("__structure__.npy", buf.getvalue())
        z.writestr("arr0.npy", npy)


def test_a_checkpoint_string_beyond_unicode_is_refused_at_load(tmp_path):
    path = tmp_path / "u.npz"
    _archive(path, "<U1", (0x110000).to_bytes(4, "little"))
    with pytest.raises(CheckpointError, match="beyond Unicode's last code point"):
        tl.load(path)  # (it loaded; every later use of the string raised SystemError)
    _archive(path, ">U1", (0x110000).to_bytes(4, "big"))
    with pytest.raises(CheckpointError, match="beyond Unicode's last code point"):
        tl.load(path)
    _archive(path, "<U1", ord("z").to_bytes(4, "little"))
    assert tl.load(path).tolist() == ["z"]


def test_attention_without_features_weighs_every_key_alike_as_torch():
    torch = _torch()
    F = tl.nn.functional
    q, v = np.zeros((1, 2, 0)), np.arange(6.0).reshape(1, 2, 3)
    assert F.scaled_dot_product_attention(tl.Tensor(q), tl.Tensor(q), tl.Tensor(q)).shape == (1, 2, 0)
    got = F.scaled_dot_product_attention(tl.Tensor(q), tl.Tensor(q), tl.Tensor(v)).data
    want = torch.nn.functional.scaled_dot_product_attention(torch.tensor(q), torch.tensor(q), torch.tensor(v))
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-12)


def test_unfold_and_fold_of_an_empty_batch_as_torch():
    torch = _torch()
    F = tl.nn.functional
    x = tl.Tensor(np.zeros((0, 1, 3, 3)), requires_grad=True)
    y = F.unfold(x, 2)
    assert y.shape == tuple(torch.nn.functional.unfold(torch.zeros(0, 1, 3, 3), 2).shape)
    y.sum().backward()
    assert x.grad.shape == (0, 1, 3, 3)
    assert tl.nn.Unfold(2)(tl.zeros(0, 2, 3, 3)).shape == (0, 8, 4)
    z = F.fold(tl.zeros(0, 4, 4), (3, 3), 2)
    assert z.shape == tuple(torch.nn.functional.fold(torch.zeros(0, 4, 4), (3, 3), 2).shape)


_HUGE = {
    "arange": lambda: tl.arange(0, 2**62),
    "linspace": lambda: tl.linspace(0, 1, 2**62),
    "logspace": lambda: tl.logspace(0, 1, 2**62),
    "randperm": lambda: tl.randperm(2**62),
    "repeat": lambda: tl.zeros(1).repeat(2**40),
    "pad": lambda: tl.nn.functional.pad(tl.zeros(1, 1), (2**40, 2**40)),
    "interpolate": lambda: tl.nn.functional.interpolate(tl.zeros(1, 1, 2), scale_factor=1e12),
    "one_hot": lambda: tl.nn.functional.one_hot(tl.Tensor(np.array([1])), 2**50),
    "multinomial": lambda: tl.multinomial(tl.ones(3), 2**40, replacement=True),
}


@pytest.mark.parametrize("name", sorted(_HUGE))
def test_an_absurd_size_raises_the_ops_allocation_error_a_runtime_error_as_torch(name):
    with pytest.raises(AllocationError, match=f"^{name}: the result is too large to allocate") as info:
        _HUGE[name]()
    assert isinstance(info.value, RuntimeError) and isinstance(info.value, MemoryError)
