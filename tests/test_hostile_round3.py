"""Hostile inputs, third round: optimizer steps on non-finite gradients and replaced parameter
lists, duplicate keys in checkpoint files, and pow's gradient at exponent 0 under an infinite
cotangent, each compared with torch where torch has the same function."""

import io
import json
import zipfile

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite._npzsafe import CheckpointError


def _torch():
    return pytest.importorskip("torch")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_muon_steps_through_a_non_finite_gradient_as_torch(bad, dtype):
    a = tl.Tensor(np.ones((2, 3), dtype), requires_grad=True)
    b = tl.Tensor(np.ones((3, 2), dtype), requires_grad=True)
    opt = tl.optim.Muon([a, b], lr=0.01)
    a.grad = np.full((2, 3), 0.5, dtype)
    b.grad = np.full((3, 2), bad, dtype)
    opt.step()  # (it raised a TypeError half-way, after changing a)
    torch = _torch()
    ta = torch.ones(2, 3, dtype=torch.float64 if dtype == np.float64 else torch.float32, requires_grad=True)
    tb = torch.ones(3, 2, dtype=ta.dtype, requires_grad=True)
    topt = torch.optim.Muon([ta, tb], lr=0.01)
    ta.grad = torch.full((2, 3), 0.5, dtype=ta.dtype)
    tb.grad = torch.full((3, 2), bad, dtype=ta.dtype)
    topt.step()
    np.testing.assert_allclose(a.data, ta.detach().numpy(), rtol=1e-6)
    np.testing.assert_array_equal(np.isnan(b.data), np.isnan(tb.detach().numpy()))


def test_a_replaced_params_list_steps_its_new_parameters():
    a = tl.Tensor(np.ones(2), requires_grad=True)
    b = tl.Tensor(np.ones(3), requires_grad=True)
    opt = tl.optim.SGD([a], lr=0.1)
    a.grad = np.ones(2)
    opt.step()
    opt.param_groups[0]["params"] = [b]  # (a list of other tensors: compared elementwise, it raised)
    b.grad = np.ones(3)
    opt.step()
    np.testing.assert_allclose(b.data, np.full(3, 0.9))
    np.testing.assert_allclose(a.data, np.full(2, 0.9))


def test_rprop_leaves_a_weight_whose_gradient_is_nan_as_torch():
    torch = _torch()
    p = tl.Tensor(np.ones(2), requires_grad=True)
    tp = torch.ones(2, dtype=torch.float64, requires_grad=True)
    opt, topt = tl.optim.Rprop([p]), torch.optim.Rprop([tp])
    for g in ([np.nan, 1.0], [1.0, 1.0], [-1.0, 2.0], [np.nan, -3.0]):
        p.grad = np.array(g)
        tp.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        topt.step()
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-12)
    assert np.isfinite(p.data).all()


def _archive(path, document: str):
    with zipfile.ZipFile(path, "w") as z:
        for name, arr in [("__structure__", np.frombuffer(document.encode(), np.uint8)),
                          ("arr0", np.zeros(2)), ("arr1", np.ones(2))]:
            buf = io.BytesIO()
            np.save(buf, arr)
            z.writestr(name + ".npy", buf.getvalue())


def _doc(root, extra=""):
    return '{"format": "tinygrad_lite.checkpoint", "version": 1, ' + extra + '"root": ' + json.dumps(root) + "}"


@pytest.mark.parametrize("keys", [["w", "w"], [1, True], [1, 1.0]])
def test_a_checkpoint_with_a_key_twice_is_refused(tmp_path, keys):
    path = tmp_path / "dup.npz"
    _archive(path, _doc({"$dict": [[keys[0], {"$array": "arr0"}], [keys[1], {"$array": "arr1"}]]}))
    with pytest.raises(CheckpointError, match="holds a key twice"):
        tl.load(path)


def test_a_checkpoint_document_with_two_roots_is_refused(tmp_path):
    path = tmp_path / "roots.npz"
    root = {"$dict": [["a", {"$array": "arr0"}], ["b", {"$array": "arr1"}]]}
    _archive(path, _doc(root, extra='"root": null, '))
    with pytest.raises(CheckpointError, match="holds a key twice"):
        tl.load(path)
    path2 = tmp_path / "fine.npz"
    _archive(path2, _doc(root))
    out = tl.load(path2)
    assert list(out) == ["a", "b"] and out["b"].tolist() == [1.0, 1.0]


def test_pow_zero_under_an_infinite_cotangent_as_torch():
    torch = _torch()
    x = tl.Tensor(np.array([0.0, 2.0, -1.0]), requires_grad=True)
    (x ** 0).backward(np.array([np.inf, np.inf, 1.0]))
    tx = torch.tensor([0.0, 2.0, -1.0], dtype=torch.float64, requires_grad=True)
    (tx ** 0).backward(torch.tensor([np.inf, np.inf, 1.0], dtype=torch.float64))
    np.testing.assert_array_equal(x.grad, tx.grad.numpy())
    b = tl.Tensor(np.array([0.0, 0.0, 3.0]), requires_grad=True)
    e = tl.Tensor(np.array([0.0, 1.0, 2.0]), requires_grad=True)
    (b ** e).backward(np.array([np.inf, 1.0, 1.0]))
    tb = torch.tensor([0.0, 0.0, 3.0], dtype=torch.float64, requires_grad=True)
    te = torch.tensor([0.0, 1.0, 2.0], dtype=torch.float64, requires_grad=True)
    (tb ** te).backward(torch.tensor([np.inf, 1.0, 1.0], dtype=torch.float64))
    np.testing.assert_array_equal(b.grad, tb.grad.numpy())
    v = tl.Value(2.0)
    (v ** 0).backward(gradient=float("inf"))
    assert v.grad == 0.0


def test_pow_zero_under_create_graph_gives_zero_too():
    x = tl.Tensor(np.array([0.0, 2.0]), requires_grad=True)
    (g,) = tl.autograd.grad(x ** 0, x, tl.Tensor(np.array([np.inf, 1.0])), create_graph=True)
    np.testing.assert_array_equal(g.data, [0.0, 0.0])
