"""Resizing (``F.interpolate``, ``nn.Upsample``) and channel dropout (``Dropout1d``,
``Dropout2d``): values and gradients against torch and finite differences, per-sample
gradients through a decoder with ConvTranspose2d and Upsample, dropout statistics, and
clear errors."""

from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite.nn import functional as F

try:
    import torch
except ImportError:  # the oracle comparisons skip; the direct checks still run
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")

SPECS = [{"size": 7}, {"size": 3}, {"size": 1}, {"size": 10}, {"scale_factor": 2}, {"scale_factor": 1.7},
         {"scale_factor": 0.6}, {"scale_factor": 3}, {"scale_factor": 1.7, "recompute_scale_factor": True}]
MODES = [("nearest", None), ("nearest-exact", None), ("linear", False), ("linear", True)]
CASES = [(nd, mode, ac, spec) for nd in (1, 2) for mode, ac in MODES for spec in SPECS]


def _mode(mode: str, nd: int) -> str:
    return "bilinear" if mode == "linear" and nd == 2 else mode


def _name(c: tuple) -> str:
    nd, mode, ac, spec = c
    return f"{nd}d-{_mode(mode, nd)}-{ac}-" + "-".join(f"{k}{v}" for k, v in spec.items())


@needs_torch
@pytest.mark.parametrize("case", CASES, ids=[_name(c) for c in CASES])
def test_interpolate_matches_torch(case: tuple) -> None:
    nd, mode, ac, spec = case
    mode = _mode(mode, nd)
    x = np.random.default_rng(0).standard_normal((2, 3) + ((5,) if nd == 1 else (5, 4)))
    X = tl.Tensor(x, requires_grad=True)
    y = F.interpolate(X, mode=mode, align_corners=ac, **spec)
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.nn.functional.interpolate(tx, mode=mode, align_corners=ac, **spec)
    assert y.shape == tuple(ty.shape)
    up = np.random.default_rng(1).standard_normal(y.shape)
    (y * up).sum().backward()
    (ty * torch.tensor(up)).sum().backward()
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(X.grad, tx.grad.numpy(), rtol=1e-10, atol=1e-12)


@needs_torch
def test_upsample_module_matches_torch() -> None:
    x = np.random.default_rng(2).standard_normal((2, 3, 4, 5))
    for kw in ({"scale_factor": 2}, {"size": (6, 9), "mode": "bilinear"},
               {"scale_factor": (1.5, 2.5), "mode": "bilinear", "align_corners": True}, {"size": 7}):
        ours, theirs = tl.nn.Upsample(**kw), torch.nn.Upsample(**kw)
        np.testing.assert_allclose(ours(tl.Tensor(x)).data, theirs(torch.tensor(x)).numpy(), rtol=1e-10, atol=1e-12)
        assert repr(ours) == repr(theirs)


# bicubic (Keys' cubic convolution, A = -0.75), trilinear, area, and the nearest modes on a 5-d input
MORE = [(mode, nd, ac, spec) for mode, nd, acs in [("bicubic", 2, (False, True)), ("trilinear", 3, (False, True)),
                                                   ("area", 1, (None,)), ("area", 2, (None,)), ("area", 3, (None,)),
                                                   ("nearest", 3, (None,)), ("nearest-exact", 3, (None,))]
        for ac in acs for spec in SPECS]


@needs_torch
@pytest.mark.parametrize("case", MORE, ids=[f"{m}-{nd}d-{ac}-" + "-".join(f"{k}{v}" for k, v in s.items())
                                            for m, nd, ac, s in MORE])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_more_interpolate_modes_match_torch(case: tuple, dtype: Any) -> None:
    mode, nd, ac, spec = case
    x = np.random.default_rng(0).standard_normal((2, 3) + (5, 4, 6)[:nd] if nd > 1 else (2, 3, 5)).astype(dtype)
    X = tl.Tensor(x, requires_grad=True)
    y = F.interpolate(X, mode=mode, align_corners=ac, **spec)
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.nn.functional.interpolate(tx, mode=mode, align_corners=ac, **spec)
    assert y.shape == tuple(ty.shape) and y.dtype == dtype
    up = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
    (y * up).sum().backward()
    (ty * torch.tensor(up)).sum().backward()
    tol = 1e-10 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(X.grad, tx.grad.numpy(), rtol=tol, atol=tol)


def test_bicubic_weights_are_keys_cubic_convolution() -> None:
    # one output between x[1] and x[2] at t = 1/4 (align_corners: u = 1.25): the four taps'
    # weights are W(1.25), W(0.25), W(0.75), W(1.75), and they sum to 1
    row = np.zeros((1, 1, 1, 6))
    a = -0.75
    near = lambda s: (a + 2) * s ** 3 - (a + 3) * s ** 2 + 1  # noqa: E731
    far = lambda s: a * s ** 3 - 5 * a * s ** 2 + 8 * a * s - 4 * a  # noqa: E731
    w = [far(1.25), near(0.25), near(0.75), far(1.75)]
    np.testing.assert_allclose(sum(w), 1.0, rtol=1e-15)
    for k in range(4):  # each tap's weight, read through a unit impulse at x[k]
        row[..., :] = 0.0
        row[0, 0, 0, k] = 1.0
        y = F.interpolate(tl.Tensor(row), size=(1, 21), mode="bicubic", align_corners=True).data
        np.testing.assert_allclose(y[0, 0, 0, 5], w[k], rtol=1e-14)  # output 5: u = 5 * 5 / 20 = 1.25
    flat = F.interpolate(tl.Tensor(np.full((1, 1, 3, 6), 2.5)), size=(4, 21), mode="bicubic").data
    np.testing.assert_allclose(flat, 2.5, rtol=1e-14)  # the weights sum to 1 at every output


@pytest.mark.parametrize("mode,spec", [("bicubic", {"size": (7, 3)}), ("bicubic", {"scale_factor": 1.5}),
                                       ("trilinear", {"size": (3, 5, 4)}), ("area", {"size": (2, 3)})])
def test_more_modes_gradients_match_finite_differences(mode: str, spec: dict) -> None:
    shape = (2, 2, 3, 4, 3) if mode == "trilinear" else (2, 2, 5, 4)
    X = tl.Tensor(np.random.default_rng(3).standard_normal(shape), requires_grad=True)
    w = np.random.default_rng(4).standard_normal(F.interpolate(X, mode=mode, **spec).shape)
    assert tl.gradcheck(lambda a: (F.interpolate(a, mode=mode, **spec) * w).sum(), [X])


def test_per_sample_gradients_through_bicubic_upsampling() -> None:
    conv = tl.nn.Conv2d(2, 3, 3, rng=0)
    up = tl.nn.Upsample(scale_factor=1.5, mode="bicubic")
    X = np.random.default_rng(5).standard_normal((3, 2, 4, 5))

    def loss(x: tl.Tensor) -> tl.Tensor:
        return (conv(up(x)) ** 2).mean(axis=(1, 2, 3)).sum()

    loss(tl.Tensor(X, batched=True)).backward()
    got = conv.weight.grad_sample.copy()
    for b in range(3):
        conv.zero_grad()
        loss(tl.Tensor(X[b:b + 1])).backward()
        np.testing.assert_allclose(got[b], conv.weight.grad, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("mode,spec", [("linear", {"size": 7}), ("linear", {"scale_factor": 0.6}),
                                       ("nearest", {"size": 8}), ("bilinear", {"size": (3, 7)})])
def test_interpolate_gradients_match_finite_differences(mode: str, spec: dict) -> None:
    shape = (2, 2, 5, 4) if mode == "bilinear" else (2, 2, 5)
    X = tl.Tensor(np.random.default_rng(3).standard_normal(shape), requires_grad=True)
    w = np.random.default_rng(4).standard_normal(F.interpolate(X, mode=mode, **spec).shape)
    assert tl.gradcheck(lambda a: (F.interpolate(a, mode=mode, **spec) * w).sum(), [X])


def test_nearest_reads_floor_of_the_scaled_index() -> None:
    x = np.arange(5.0)[None, None]
    np.testing.assert_array_equal(F.interpolate(tl.Tensor(x), size=7).data[0, 0], [0, 0, 1, 2, 2, 3, 4])
    np.testing.assert_array_equal(F.interpolate(tl.Tensor(x), size=2).data[0, 0], [0, 2])
    lin = F.interpolate(tl.Tensor(x), size=9, mode="linear", align_corners=True).data[0, 0]
    np.testing.assert_allclose(lin, np.linspace(0, 4, 9), rtol=1e-15)
    x32 = tl.Tensor(np.ones((1, 2, 3, 3), np.float32))
    assert F.interpolate(x32, scale_factor=2, mode="bilinear").dtype == np.float32


class Decoder(tl.nn.Module):
    def __init__(self) -> None:
        self.up = tl.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1, rng=0)
        self.resize = tl.nn.Upsample(scale_factor=1.5, mode="bilinear")
        self.near = tl.nn.Upsample(size=(5, 7))
        self.conv = tl.nn.Conv2d(3, 2, 3, rng=1)
        self.head = tl.nn.Linear(2, 3, rng=2)

    def forward(self, x: Any) -> tl.Tensor:
        h = self.resize(self.up(x).tanh())
        h = self.conv(self.near(h)).relu()
        return self.head(h.mean(axis=(2, 3)))


def test_per_sample_gradients_through_upsample_and_conv_transpose() -> None:
    m = Decoder()
    X = np.random.default_rng(6).standard_normal((4, 2, 3, 2))
    y = np.array([0, 2, 1, 2])
    F.cross_entropy(m(tl.Tensor(X, batched=True)), y).backward()
    got = {n: p.grad_sample.copy() for n, p in m.named_parameters()}
    assert set(got) == {"up.weight", "up.bias", "conv.weight", "conv.bias", "head.weight", "head.bias"}
    for b in range(4):
        m.zero_grad()
        F.cross_entropy(m(tl.Tensor(X[b:b + 1])), y[b:b + 1]).backward()
        for n, p in m.named_parameters():
            np.testing.assert_allclose(got[n][b], p.grad, rtol=1e-10, atol=1e-13, err_msg=n)


def test_per_sample_gradients_with_channel_dropout_in_training() -> None:
    lin = tl.nn.Conv1d(3, 4, 1, rng=0)
    X = np.random.default_rng(7).standard_normal((5, 3, 6))
    mask_rng = np.random.default_rng(8)
    out = F.dropout1d(lin(tl.Tensor(X, batched=True)), 0.4, rng=mask_rng)
    (out ** 2).mean(axis=(1, 2)).sum().backward()
    got = lin.weight.grad_sample.copy()
    keep = (np.random.default_rng(8).random((5, 4, 1)) >= 0.4) / 0.6
    for b in range(5):
        lin.zero_grad()
        ((lin(tl.Tensor(X[b:b + 1])) * keep[b]) ** 2).mean().backward()
        np.testing.assert_allclose(got[b], lin.weight.grad, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("nd", [1, 2])
def test_channel_dropout_zeroes_whole_channels_at_rate_p(nd: int) -> None:
    shape = (200, 50) + (4,) * nd
    layer = (tl.nn.Dropout1d if nd == 1 else tl.nn.Dropout2d)(0.3, rng=0)
    y = layer(tl.Tensor(np.ones(shape))).data
    flat = y.reshape(200, 50, -1)
    assert ((flat == flat[..., :1]).all())  # every channel all zero or all kept
    kept = flat[..., 0] != 0
    assert abs(1 - kept.mean() - 0.3) < 0.02  # 10000 channels: sd of the rate is about 0.005
    np.testing.assert_allclose(flat[kept][..., 0], 1 / 0.7, rtol=1e-15)
    assert len({tuple(r) for r in kept[:20]}) > 1  # each sample its own mask
    layer.eval()
    x = tl.Tensor(np.random.default_rng(1).standard_normal(shape))
    assert layer(x) is x
    fn = F.dropout1d if nd == 1 else F.dropout2d
    assert fn(x, 0.5, training=False) is x and fn(x, 0.0) is x


def test_channel_dropout_draws_from_the_project_generator_and_rng() -> None:
    x = tl.Tensor(np.ones((4, 6, 3, 3)))
    tl.manual_seed(3)
    a = F.dropout2d(x, 0.5).data
    tl.manual_seed(3)
    np.testing.assert_array_equal(a, F.dropout2d(x, 0.5).data)
    np.testing.assert_array_equal(F.dropout2d(x, 0.5, rng=9).data, F.dropout2d(x, 0.5, rng=9).data)
    np.testing.assert_array_equal(F.dropout1d(tl.Tensor(np.ones((6, 5))), 1.0).data, np.zeros((6, 5)))
    un = F.dropout1d(tl.Tensor(np.ones((40, 5))), 0.5, rng=1).data  # unbatched (C, L): one draw per channel
    assert (un == un[:, :1]).all() and 0 < (un[:, 0] == 0).sum() < 40


def test_dropout2d_reads_a_3d_input_as_channels_of_a_batch_with_a_warning() -> None:
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        y = F.dropout2d(tl.Tensor(np.ones((30, 8, 5))), 0.5, rng=0).data
    assert any("read as (B, C, L)" in str(x.message) for x in w)
    assert (y == y[..., :1]).all() and len({tuple(r) for r in y[:, :, 0]}) > 1


@pytest.mark.parametrize("call,exc,words", [
    (lambda: F.interpolate(tl.Tensor(np.ones((2, 3, 4))), size=5, scale_factor=2), ValueError,
     "interpolate: give exactly one of size and scale_factor"),
    (lambda: F.interpolate(tl.Tensor(np.ones((2, 3, 4)))), ValueError, "exactly one"),
    (lambda: F.interpolate(tl.Tensor(np.ones((2, 3, 4))), size=(5, 5)), ValueError,
     r"size must be one positive number or a tuple of 1, got \(5, 5\)"),
    (lambda: F.interpolate(tl.Tensor(np.ones((2, 3, 4))), size=0), ValueError, "size must be one positive"),
    (lambda: F.interpolate(tl.Tensor(np.ones((2, 3, 4))), scale_factor=-1.0), ValueError, "scale_factor must"),
    (lambda: F.interpolate(tl.Tensor(np.ones((2, 3, 4))), scale_factor=0.2), ValueError,
     r"output size \(0,\) from the spatial size \(4,\)"),
    (lambda: F.interpolate(tl.Tensor(np.ones((2, 3, 4, 4))), size=3, mode="linear"), ValueError,
     r"mode 'linear' needs a 3-d input, got shape \(2, 3, 4, 4\)"),
    (lambda: F.interpolate(tl.Tensor(np.ones((3, 4))), size=3), ValueError,
     r"expected an input of shape \(B, C, L\), \(B, C, H, W\) or \(B, C, D, H, W\), got shape \(3, 4\)"),
    (lambda: F.interpolate(tl.Tensor(np.ones((2, 3, 4, 4))), size=3, mode="bicubic2"), NotImplementedError,
     "mode 'bicubic2' is not supported"),
    (lambda: F.interpolate(tl.Tensor(np.ones((2, 3, 4))), size=3, mode="bicubic"), ValueError,
     r"mode 'bicubic' needs a 4-d input, got shape \(2, 3, 4\)"),
    (lambda: F.interpolate(tl.Tensor(np.ones((2, 3, 4, 4))), size=3, mode="trilinear"), ValueError,
     r"mode 'trilinear' needs a 5-d input"),
    (lambda: F.interpolate(tl.Tensor(np.ones((2, 3, 4), int)), size=3, mode="area"), TypeError,
     "mode 'area' needs a floating input"),
    (lambda: F.interpolate(tl.Tensor(np.ones((2, 3, 4))), size=3, mode="area", align_corners=False), ValueError,
     "align_corners only applies"),
    (lambda: F.interpolate(tl.Tensor(np.ones((2, 3, 4))), size=3, align_corners=True), ValueError,
     "align_corners only applies"),
    (lambda: tl.nn.Upsample(size=3, mode="cubic"), NotImplementedError, "Upsample: mode 'cubic'"),
    (lambda: tl.nn.Upsample(), ValueError, "Upsample: give exactly one"),
    (lambda: tl.nn.Upsample(size=(2, 2, 2))(tl.Tensor(np.ones((1, 2, 3, 3)))), ValueError,
     r"Upsample\(size=\(2, 2, 2\), mode='nearest'\): size must be"),
    (lambda: F.dropout2d(tl.Tensor(np.ones((2, 3, 4, 4, 4))), 0.5), ValueError,
     r"dropout2d: expected an input of shape \(B, C, H, W\) or \(C, H, W\), got shape \(2, 3, 4, 4, 4\)"),
    (lambda: tl.nn.Dropout1d(0.5)(tl.Tensor(np.ones((3, 4)), batched=True)), ValueError,
     "Dropout1d: expected .* sample axis first"),
    (lambda: tl.nn.Dropout2d(1.5), ValueError, "Dropout2d: p must be a probability"),
    (lambda: F.dropout1d(tl.Tensor(np.ones((2, 3, 4))), 0.5, inplace=None), TypeError, "dropout1d: inplace must"),
])
def test_bad_arguments_are_refused_naming_the_layer(call: Callable, exc: Any, words: str) -> None:
    with pytest.raises(exc, match=words):
        call()
