"""Older spellings torch still accepts: F.upsample / upsample_nearest / upsample_bilinear,
nn.utils.clip_grad_norm (each warns that it is deprecated, as torch), and ``tl.distributed``
reached as an attribute of the package without importing it first."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import numpy as np
import pytest

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _pair(shape: tuple, seed: int = 0) -> tuple:
    x = np.random.default_rng(seed).standard_normal(shape)
    return tl.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)


CASES = [
    ("upsample", (2, 3, 5), {"scale_factor": 2}),
    ("upsample", (2, 3, 4, 5), {"size": (7, 3), "mode": "bilinear", "align_corners": False}),
    ("upsample", (2, 3, 4, 5), {"scale_factor": 1.5, "mode": "bicubic", "align_corners": True}),
    ("upsample", (1, 2, 3, 4, 5), {"size": 4, "mode": "trilinear"}),
    ("upsample_nearest", (2, 3, 4, 5), {"scale_factor": 3}),
    ("upsample_nearest", (2, 3, 6), {"size": 4}),
    ("upsample_bilinear", (2, 3, 4, 5), {"scale_factor": 2}),
    ("upsample_bilinear", (1, 1, 3, 3), {"size": (5, 8)}),
]


@pytest.mark.parametrize("name,shape,kw", CASES)
def test_upsample_spellings_match_torch_values_gradients_and_warning(name: str, shape: tuple, kw: dict) -> None:
    a, b = _pair(shape)
    with pytest.warns(UserWarning, match=name):
        out = getattr(F, name)(a, **kw)
    with pytest.warns(UserWarning):
        ref = getattr(TF, name)(b, **kw)
    assert out.shape == tuple(ref.shape)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-12, atol=1e-12)
    w = np.random.default_rng(1).standard_normal(out.shape)
    (out * tl.Tensor(w)).sum().backward()
    (ref * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_upsample_bilinear_is_interpolate_with_aligned_corners() -> None:
    a, _ = _pair((1, 2, 3, 4))
    with pytest.warns(UserWarning):
        out = F.upsample_bilinear(a, scale_factor=2)
    np.testing.assert_array_equal(out.data, F.interpolate(a, scale_factor=2, mode="bilinear",
                                                          align_corners=True).data)
    assert not np.array_equal(out.data, F.interpolate(a, scale_factor=2, mode="bilinear").data)


def test_upsample_bad_input_names_the_function() -> None:
    a, _ = _pair((2, 3))
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="upsample_nearest"):
        F.upsample_nearest(a, size=4)
    b, _ = _pair((1, 1, 3, 3))
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="upsample"):
        F.upsample(b)  # neither size nor scale_factor


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
def test_clip_grad_norm_warns_and_clips_as_the_underscore_form(norm_type: float) -> None:
    rng = np.random.default_rng(2)
    grads = [rng.standard_normal((3, 4)), rng.standard_normal(5)]
    ps = [tl.Tensor(np.zeros_like(g), requires_grad=True) for g in grads]
    qs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, q, g in zip(ps, qs, grads):
        p.grad = g.copy()
        q.grad = torch.tensor(g)
    with pytest.warns(FutureWarning, match="clip_grad_norm_"):
        total = tl.nn.utils.clip_grad_norm(ps, 0.5, norm_type)
    with pytest.warns(FutureWarning):
        ref = torch.nn.utils.clip_grad_norm(qs, 0.5, norm_type)
    assert float(total) == pytest.approx(float(ref), rel=1e-12)
    for p, q in zip(ps, qs):
        np.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=1e-12, atol=1e-15)
    with pytest.warns(FutureWarning), pytest.raises(ValueError, match="max_norm"):
        tl.nn.utils.clip_grad_norm(ps, -1.0)


def test_distributed_is_an_attribute_loaded_on_first_use() -> None:
    code = ("import sys, tinygrad_lite as tl\n"
            "assert 'tinygrad_lite.distributed' not in sys.modules\n"
            "d = tl.distributed\n"
            "assert d is sys.modules['tinygrad_lite.distributed']\n"
            "d.init()\n"
            "assert (d.rank(), d.world_size()) == (0, 1)\n"
            "assert 'mpi4py' not in sys.modules\n"
            "try:\n"
            "    tl.no_such_name\n"
            "except AttributeError as e:\n"
            "    assert 'no_such_name' in str(e)\n"
            "else:\n"
            "    raise SystemExit('no AttributeError')\n")
    env = {k: v for k, v in __import__("os").environ.items()
           if not (k.startswith(("PMI_", "PMIX_", "OMPI_", "HYDRA_")))}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr


def test_variable_is_a_detached_leaf_sharing_the_data_as_torch() -> None:
    from tinygrad_lite.autograd import Variable

    TV = torch.autograd.Variable
    x = tl.tensor([1.0, 2.0])
    tx = torch.tensor([1.0, 2.0], dtype=torch.float64)
    v, tv = Variable(x, requires_grad=True), TV(tx, requires_grad=True)
    assert (v is x, v.requires_grad, x.requires_grad) == (tv is tx, tv.requires_grad, tx.requires_grad)
    assert np.shares_memory(v.data, x.data)
    (v * v).sum().backward()
    (tv * tv).sum().backward()
    np.testing.assert_array_equal(v.grad, tv.grad.numpy())
    y = tl.tensor([1.0], requires_grad=True) * 2  # a non-leaf: cut from its graph
    w = Variable(y)
    assert not w.requires_grad and w._op is None
    assert isinstance(x, Variable) and isinstance(w, Variable) and not isinstance(np.ones(1), Variable)
    with pytest.raises(TypeError, match="Variable: data has to be a Tensor"):
        Variable([1.0, 2.0])
    with pytest.raises(TypeError):
        TV([1.0, 2.0])
    with pytest.warns(UserWarning, match="volatile"):
        Variable(x, volatile=True)


def test_grad_modes_and_multithreading_switch_under_autograd() -> None:
    A = tl.autograd
    assert A.no_grad is tl.no_grad and A.enable_grad is tl.enable_grad
    assert A.set_grad_enabled is tl.set_grad_enabled and A.inference_mode is tl.inference_mode
    assert A.is_multithreading_enabled() is torch.autograd.is_multithreading_enabled() is True
    with A.set_multithreading_enabled(False):
        assert A.is_multithreading_enabled() is False
    assert A.is_multithreading_enabled() is True
    with pytest.raises(TypeError, match="set_multithreading_enabled"):
        A.set_multithreading_enabled(1)


def _modes_walk(lib: Any) -> list:
    """(grad enabled, inference mode) at each point of nested grad-mode blocks."""
    seen = []

    def look() -> None:
        seen.append((lib.is_grad_enabled(), lib.is_inference_mode_enabled()))

    @lib.inference_mode
    def bare() -> None:
        look()

    @lib.inference_mode(False)
    def off() -> None:
        look()

    look()
    with lib.inference_mode():
        look()
        with lib.inference_mode(False):
            look()
            with lib.no_grad():
                look()
            look()
        with lib.enable_grad():
            look()
        off()
        look()
    with lib.no_grad():
        with lib.inference_mode(False):
            look()
        bare()
        off()
        look()
    with lib.inference_mode(True):
        with lib.inference_mode(True):
            look()
        look()
    look()
    return seen


def test_inference_mode_flags_follow_torch() -> None:
    assert _modes_walk(tl) == _modes_walk(torch)


def test_inference_mode_is_per_thread() -> None:
    import threading

    got = []
    with tl.inference_mode():
        t = threading.Thread(target=lambda: got.append((tl.is_inference_mode_enabled(), tl.is_grad_enabled())))
        t.start()
        t.join()
        assert tl.is_inference_mode_enabled()
    assert got == [(False, True)]
