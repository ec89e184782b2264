"""RMSNorm, Hardshrink, Softshrink, PixelShuffle / PixelUnshuffle and F.instance_norm against
torch (values, input and parameter gradients, float64), with per-sample gradients equal to
each sample run alone and errors that name the function and the shapes."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import Tensor

torch = pytest.importorskip("torch")
F = tl.nn.functional
TF = torch.nn.functional
RNG = np.random.default_rng(21)


def _both(ours: Callable, theirs: Callable, x: np.ndarray, *params: np.ndarray) -> None:
    """ours(x, *params) and theirs(...) agree in value and in every gradient of sum(out * R)."""
    xt = Tensor(x.copy(), requires_grad=True)
    pt = [Tensor(p.copy(), requires_grad=True) for p in params]
    out = ours(xt, *pt)
    R = RNG.standard_normal(out.shape)
    (out * R).sum().backward()
    tx = torch.tensor(x, requires_grad=True)
    tp = [torch.tensor(p, requires_grad=True) for p in params]
    tout = theirs(tx, *tp)
    (tout * torch.tensor(R)).sum().backward()
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(xt.grad, tx.grad.numpy(), rtol=1e-10, atol=1e-13)
    for a, b in zip(pt, tp):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("shape, ns", [((5, 6), (6,)), ((3, 4, 6), (4, 6)), ((6,), (6,))])
@pytest.mark.parametrize("eps", [None, 1e-3])
def test_rms_norm_as_torch(shape: tuple, ns: tuple, eps: Any) -> None:
    x = RNG.standard_normal(shape)
    w = RNG.standard_normal(ns)
    _both(lambda a, b: F.rms_norm(a, ns, b, eps), lambda a, b: TF.rms_norm(a, ns, b, eps), x, w)
    _both(lambda a: F.rms_norm(a, ns, None, eps), lambda a: TF.rms_norm(a, ns, None, eps), x)


def test_rms_norm_module_as_torch_and_its_float32_eps() -> None:
    ours, theirs = tl.nn.RMSNorm(6), torch.nn.RMSNorm(6, dtype=torch.float64)
    assert repr(ours) == repr(theirs)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    x = RNG.standard_normal((4, 6)).astype(np.float32) * 1e-4
    got = tl.nn.RMSNorm(6, dtype=np.float32)(Tensor(x))
    want = torch.nn.RMSNorm(6)(torch.tensor(x))
    assert got.data.dtype == np.float32
    np.testing.assert_allclose(got.data, want.detach().numpy(), rtol=1e-5)
    assert repr(tl.nn.RMSNorm((2, 3), eps=1e-6, elementwise_affine=False)) == repr(
        torch.nn.RMSNorm((2, 3), eps=1e-6, elementwise_affine=False))


@pytest.mark.parametrize("name", ["hardshrink", "softshrink"])
@pytest.mark.parametrize("lambd", [0.5, 0.0, 1.2])
def test_shrinks_as_torch(name: str, lambd: float) -> None:
    x = RNG.standard_normal((4, 5)) * 2
    x[0, :2] = [lambd, -lambd]  # at the edges (gradient 0 there, as torch)
    _both(lambda a: getattr(F, name)(a, lambd), lambda a: getattr(TF, name)(a, lambd), x)
    module = getattr(tl.nn, name.capitalize())(lambd)
    assert repr(module) == repr(getattr(torch.nn, name.capitalize())(lambd))
    np.testing.assert_allclose(module(Tensor(x)).data, getattr(TF, name)(torch.tensor(x), lambd).numpy())


@pytest.mark.parametrize("shape, r", [((2, 8, 3, 4), 2), ((9, 2, 2), 3), ((1, 2, 3, 4, 1), 1)])
def test_pixel_shuffle_and_unshuffle_as_torch(shape: tuple, r: int) -> None:
    x = RNG.standard_normal(shape)
    _both(lambda a: F.pixel_shuffle(a, r), lambda a: TF.pixel_shuffle(a, r), x)
    y = RNG.standard_normal(shape[:-3] + (shape[-3], shape[-2] * r, shape[-1] * r))
    _both(lambda a: F.pixel_unshuffle(a, r), lambda a: TF.pixel_unshuffle(a, r), y)
    assert repr(tl.nn.PixelShuffle(r)) == repr(torch.nn.PixelShuffle(r))
    assert repr(tl.nn.PixelUnshuffle(r)) == repr(torch.nn.PixelUnshuffle(r))
    np.testing.assert_array_equal(tl.nn.PixelUnshuffle(r)(tl.nn.PixelShuffle(r)(Tensor(x))).data, x)


@pytest.mark.parametrize("affine", [False, True])
def test_instance_norm_function_as_torch(affine: bool) -> None:
    x = RNG.standard_normal((3, 4, 5, 2))
    w, b = RNG.standard_normal(4), RNG.standard_normal(4)
    if affine:
        _both(lambda a, p, q: F.instance_norm(a, weight=p, bias=q),
              lambda a, p, q: TF.instance_norm(a, weight=p, bias=q), x, w, b)
    else:
        _both(lambda a: F.instance_norm(a), lambda a: TF.instance_norm(a), x)
    rm, rv = RNG.standard_normal(4), RNG.random(4) + 0.5
    ours_m, ours_v, th_m, th_v = rm.copy(), rv.copy(), torch.tensor(rm), torch.tensor(rv)
    got = F.instance_norm(Tensor(x), ours_m, ours_v, momentum=0.3)
    want = TF.instance_norm(torch.tensor(x), th_m, th_v, momentum=0.3)
    np.testing.assert_allclose(got.data, want.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours_m, th_m.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours_v, th_v.numpy(), rtol=1e-12)
    got = F.instance_norm(Tensor(x), ours_m, ours_v, use_input_stats=False)
    want = TF.instance_norm(torch.tensor(x), th_m, th_v, use_input_stats=False)
    np.testing.assert_allclose(got.data, want.numpy(), rtol=1e-12)


LAYERS = {
    "RMSNorm": (lambda: tl.nn.RMSNorm(5), (6, 5)),
    "RMSNorm over two axes": (lambda: tl.nn.RMSNorm((3, 5)), (6, 3, 5)),
    "Linear, Softshrink, Hardshrink": (lambda: tl.nn.Sequential(tl.nn.Linear(5, 4, rng=1), tl.nn.Softshrink(0.2),
                                                                tl.nn.Hardshrink(0.1), tl.nn.Linear(4, 2, rng=2)),
                                       (6, 5)),
    "Conv2d, PixelShuffle": (lambda: tl.nn.Sequential(tl.nn.Conv2d(1, 4, 3, padding=1, rng=3), tl.nn.PixelShuffle(2),
                                                      tl.nn.PixelUnshuffle(2), tl.nn.Conv2d(4, 1, 1, rng=4)),
                             (6, 1, 3, 3)),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_per_sample_gradients_equal_each_sample_alone(name: str) -> None:
    build, shape = LAYERS[name]
    x = RNG.standard_normal(shape)
    model = build()
    for p in model.parameters():  # (not all ones: the weight gradient then has to be right)
        p.data = p.data + RNG.standard_normal(p.shape) * 0.3
    start = [p.data.copy() for p in model.parameters()]
    (model(Tensor(x, batched=True)) ** 2).mean().backward()
    got = [p.grad_sample for p in model.parameters()]
    for b in range(shape[0]):
        for p, s in zip(model.parameters(), start):
            p.data = s.copy()
        model.zero_grad()
        (model(Tensor(x[b:b + 1])) ** 2).mean().backward()
        for g, p in zip(got, model.parameters()):
            np.testing.assert_allclose(g[b], p.grad, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("call, match", [
    (lambda: F.rms_norm(Tensor(np.ones((2, 3))), (4,)), r"rms_norm: normalized_shape \(4,\) does not match .*\(2, 3\)"),
    (lambda: F.rms_norm(Tensor(np.ones((2, 3))), (3,), Tensor(np.ones(2))), r"rms_norm: weight of shape \(2,\)"),
    (lambda: F.pixel_shuffle(Tensor(np.ones((3, 2, 2))), 2), r"pixel_shuffle: the input of shape \(3, 2, 2\)"),
    (lambda: F.pixel_unshuffle(Tensor(np.ones((1, 3, 3))), 2), r"pixel_unshuffle: the input of shape \(1, 3, 3\)"),
    (lambda: tl.nn.Softshrink(-1.0), "Softshrink: lambd must be >= 0"),
    (lambda: tl.nn.PixelShuffle(0), "PixelShuffle: upscale_factor must be an int >= 1"),
    (lambda: F.instance_norm(Tensor(np.ones((2, 3)))), r"instance_norm: .* got \(2, 3\)"),
])
def test_bad_input_names_the_function(call: Callable, match: str) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        call()


@pytest.mark.parametrize("track", [True, False])
def test_batchnorm3d_trains_and_evaluates_as_torch(track: bool) -> None:
    ours = tl.nn.BatchNorm3d(3, momentum=0.2, track_running_stats=track)
    theirs = torch.nn.BatchNorm3d(3, momentum=0.2, track_running_stats=track, dtype=torch.float64)
    w, b = RNG.standard_normal(3), RNG.standard_normal(3)
    ours.weight.data, ours.bias.data = w.copy(), b.copy()
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(w))
        theirs.bias.copy_(torch.tensor(b))
    for _ in range(2):
        x = RNG.standard_normal((4, 3, 2, 3, 2))
        _both(lambda a: ours(a), lambda a: theirs(a), x)
    if track:
        np.testing.assert_allclose(ours.running_mean.data, theirs.running_mean.numpy(), rtol=1e-12)
        np.testing.assert_allclose(ours.running_var.data, theirs.running_var.numpy(), rtol=1e-12)
        assert int(ours.num_batches_tracked.data) == int(theirs.num_batches_tracked)
    ours.eval()
    theirs.eval()
    x = RNG.standard_normal((2, 3, 2, 2, 2))
    np.testing.assert_allclose(ours(Tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match=r"BatchNorm3d\(3\): expected an input of shape \(B, 3, ..., ..., ...\)"):
        ours(Tensor(np.ones((2, 3, 4, 4))))
