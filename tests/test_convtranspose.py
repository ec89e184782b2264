"""Transposed convolutions: values and gradients against torch and finite differences over
strides, paddings, output padding, dilation and groups (1-d, 2-d, unbatched), torch's
parameter shapes and initialisation, torch weights loaded by name, per-sample gradients
through a decoder, and clear errors."""

from __future__ import annotations

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

# (name, spatial input shape, kernel, stride, padding, output_padding, groups, dilation)
CASES = [
    ("1d_plain", (7,), (3,), 1, 0, 0, 1, 1),
    ("1d_stride", (6,), (3,), 2, 1, 1, 1, 1),
    ("1d_stride3_pad_crop", (5,), (2,), 3, 2, 2, 1, 1),
    ("1d_dilation_groups", (6,), (3,), 2, 1, 1, 2, 2),
    ("1d_outpad_below_dilation", (5,), (3,), 1, 0, 1, 1, 2),
    ("2d_plain", (4, 5), (3, 3), 1, 0, 0, 1, 1),
    ("2d_stride_pad", (4, 5), (3, 2), (2, 3), (1, 0), (1, 2), 1, 1),
    ("2d_groups_dilation", (3, 4), (2, 3), 2, (0, 2), 0, 2, (2, 1)),
    ("2d_wide_padding", (5, 5), (3, 3), 2, 3, 1, 1, 1),
    ("2d_all", (3, 4), (3, 2), (3, 2), (2, 1), (2, 1), 2, (1, 2)),
    ("3d_all", (2, 3, 2), (2, 3, 2), (2, 1, 3), (1, 0, 1), (1, 0, 2), 2, (1, 2, 1)),
]


def _make(case: tuple, seed: int = 0, batch: tuple = (2,)) -> tuple:
    _, S, k, stride, padding, opad, groups, dilation = case
    rng = np.random.default_rng(seed)
    Cin, Og = 4, 3
    x = rng.standard_normal(batch + (Cin,) + S)
    W = rng.standard_normal((Cin, Og) + k)
    b = rng.standard_normal(Og * groups)
    kw = dict(stride=stride, padding=padding, output_padding=opad, groups=groups, dilation=dilation)
    return x, W, b, kw


def _fns(nd: int) -> tuple:
    name = f"conv_transpose{nd}d"
    return getattr(F, name), (getattr(torch.nn.functional, name) if torch else None)


@needs_torch
@pytest.mark.parametrize("batch", [(2,), ()], ids=["batched", "unbatched"])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_values_and_gradients_match_torch(case: tuple, batch: tuple) -> None:
    x, W, b, kw = _make(case, batch=batch)
    ours, theirs = _fns(len(case[1]))
    X, Wt, bt = (tl.Tensor(a, requires_grad=True) for a in (x, W, b))
    y = ours(X, Wt, bt, **kw)
    tx, tW, tb = (torch.tensor(a, requires_grad=True) for a in (x, W, b))
    ty = theirs(tx, tW, tb, **kw)
    assert y.shape == tuple(ty.shape)
    up = np.random.default_rng(5).standard_normal(y.shape)
    (y * up).sum().backward()
    (ty * torch.tensor(up)).sum().backward()
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    for name, got, want in (("input", X.grad, tx.grad), ("weight", Wt.grad, tW.grad), ("bias", bt.grad, tb.grad)):
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("case", [CASES[1], CASES[3], CASES[6], CASES[9], CASES[10]], ids=lambda c: c[0])
def test_gradients_match_finite_differences(case: tuple) -> None:
    x, W, b, kw = _make(case, seed=3)
    ours, _ = _fns(len(case[1]))
    X, Wt, bt = (tl.Tensor(a, requires_grad=True) for a in (x, W, b))
    w = np.random.default_rng(4).standard_normal(ours(X, Wt, bt, **kw).shape)
    assert tl.gradcheck(lambda a, c, d: (ours(a, c, d, **kw) * w).sum(), [X, Wt, bt])


def test_output_length_formula() -> None:
    for n, k, s, p, q, d in ((5, 3, 2, 1, 1, 1), (4, 2, 3, 0, 2, 2), (6, 4, 1, 2, 0, 3)):
        y = F.conv_transpose1d(tl.Tensor(np.ones((1, 2, n))), np.ones((2, 1, k)), None, s, p, q, 1, d)
        assert y.shape == (1, 1, (n - 1) * s - 2 * p + d * (k - 1) + q + 1)


def test_parameter_shapes_and_init() -> None:
    m = tl.nn.ConvTranspose2d(6, 4, (3, 2), stride=2, groups=2, rng=0)
    assert m.weight.shape == (6, 2, 3, 2) and m.bias.shape == (4,)
    bound = 1.0 / np.sqrt(2 * 3 * 2)  # fan_in from the weight's axis 1: out_channels/groups * prod(k)
    assert np.abs(m.weight.data).max() <= bound and np.abs(m.bias.data).max() <= bound
    big = tl.nn.ConvTranspose1d(64, 32, 3, rng=1)
    assert big.weight.shape == (64, 32, 3)
    assert 0.9 * np.sqrt(1 / 96) < np.abs(big.weight.data).max() <= np.sqrt(1 / 96)
    assert tl.nn.ConvTranspose1d(2, 3, 2, bias=False).bias is None
    assert [n for n, _ in m.named_parameters()] == ["weight", "bias"]
    assert repr(tl.nn.ConvTranspose2d(2, 3, 2, stride=2, output_padding=1)) == \
        "ConvTranspose2d(2, 3, kernel_size=(2, 2), stride=(2, 2), output_padding=(1, 1))"
    assert tl.nn.ConvTranspose1d(2, 3, 2, rng=0, dtype=np.float32).weight.dtype == np.float32


@needs_torch
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_torch_weights_load_by_name(nd: int) -> None:
    torch.manual_seed(0)
    cls, tcls = getattr(tl.nn, f"ConvTranspose{nd}d"), getattr(torch.nn, f"ConvTranspose{nd}d")
    kw = dict(stride=2, padding=1, output_padding=1, groups=2, dilation=2)
    tm = tcls(4, 6, 3, **kw).double()
    m = cls(4, 6, 3, **kw)
    m.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 4) + (5,) * nd)
    np.testing.assert_allclose(m(tl.Tensor(x)).data, tm(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-12)
    want = tm(torch.tensor(x), output_size=(12,) * nd).detach().numpy()
    np.testing.assert_allclose(m(tl.Tensor(x), output_size=(12,) * nd).data, want, rtol=1e-10, atol=1e-12)


class Decoder(tl.nn.Module):
    def __init__(self) -> None:
        self.up = tl.nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1, groups=1, rng=0)
        self.up2 = tl.nn.ConvTranspose2d(4, 4, 2, stride=(1, 2), dilation=(2, 1), groups=2, rng=1)
        self.head = tl.nn.Linear(4, 2, rng=2)

    def forward(self, x: Any) -> tl.Tensor:
        h = self.up2(self.up(x).tanh()).relu()
        return self.head(h.mean(axis=(2, 3)))


def test_per_sample_gradients_equal_each_sample_alone() -> None:
    m = Decoder()
    X = np.random.default_rng(7).standard_normal((4, 3, 3, 2))
    y = np.array([0, 1, 1, 0])
    F.cross_entropy(m(tl.Tensor(X, batched=True)), y).backward()
    got = {n: p.grad_sample.copy() for n, p in m.named_parameters()}
    norms = tl.per_sample_norms(m.parameters())
    for b in range(4):
        m.zero_grad()
        F.cross_entropy(m(tl.Tensor(X[b:b + 1])), y[b:b + 1]).backward()
        for n, p in m.named_parameters():
            np.testing.assert_allclose(got[n][b], p.grad, rtol=1e-10, atol=1e-13, err_msg=n)
    full = np.sqrt(sum((g.reshape(4, -1) ** 2).sum(1) for g in got.values()))
    np.testing.assert_allclose(norms, full, rtol=1e-10)


@pytest.mark.parametrize("call,words", [
    (lambda: F.conv_transpose2d(tl.Tensor(np.ones((1, 3, 4, 4))), np.ones((4, 2, 3, 3))),
     r"conv_transpose2d: expected an input with 4 channels \(weight \(4, 2, 3, 3\)\), got input of shape "
     r"\(1, 3, 4, 4\)"),
    (lambda: tl.nn.ConvTranspose1d(4, 2, 3, rng=0)(tl.Tensor(np.ones((2, 3, 5)))), r"ConvTranspose1d\(4, 2.*3 ch"),
    (lambda: F.conv_transpose1d(tl.Tensor(np.ones((1, 2, 4))), np.ones((2, 1, 3)), stride=2, output_padding=2),
     r"output_padding \(2,\) must be smaller than the stride \(2,\) or the dilation \(1,\)"),
    (lambda: tl.nn.ConvTranspose2d(2, 2, 3, stride=2, dilation=2, output_padding=(1, 2)),
     r"ConvTranspose2d: output_padding \(1, 2\) must be smaller"),
    (lambda: F.conv_transpose1d(tl.Tensor(np.ones((1, 2, 2))), np.ones((2, 1, 1)), padding=3),
     r"conv_transpose1d: the output size \(-4,\) is not positive \(input shape \(1, 2, 2\)"),
    (lambda: F.conv_transpose2d(tl.Tensor(np.ones((4, 3))), np.ones((4, 1, 2, 2))),
     r"conv_transpose2d: expected an input of shape \(B, C, H, W\), got shape \(4, 3\)"),
    (lambda: F.conv_transpose2d(tl.Tensor(np.ones((2, 4, 3))), np.ones((4, 1, 2, 2))),
     r"expected an input with 4 channels .* got input of shape \(2, 4, 3\) with 2 channels"),
    (lambda: F.conv_transpose1d(tl.Tensor(np.ones((1, 3, 4))), np.ones((3, 1, 2)), groups=2),
     "groups=2 does not divide the weight's 3 input channels"),
    (lambda: F.conv_transpose1d(tl.Tensor(np.ones((1, 2, 4))), np.ones((2, 1, 2)), np.ones(3)),
     r"bias must have shape \(1,\), got \(3,\)"),
    (lambda: tl.nn.ConvTranspose2d(3, 4, 2, groups=2), "groups=2 must divide in_channels=3"),
    (lambda: tl.nn.ConvTranspose2d(2, 2, 2, stride=2)(tl.Tensor(np.ones((1, 2, 3, 3))), output_size=(9, 6)),
     r"output_size \(9, 6\) is not reachable .* between \(6, 6\) and \(7, 7\)"),
])
def test_bad_input_is_refused_naming_the_layer_and_shapes(call: Callable, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        call()


@needs_torch
def test_torch_refuses_what_we_refuse() -> None:
    with pytest.raises(RuntimeError):
        torch.nn.functional.conv_transpose1d(torch.ones(1, 2, 4), torch.ones(2, 1, 3), stride=2, output_padding=2)
    x = np.random.default_rng(0).standard_normal((1, 2, 4))
    ty = torch.nn.functional.conv_transpose1d(torch.tensor(x), torch.ones(2, 1, 3, dtype=torch.float64),
                                              output_padding=1, dilation=2)
    y = F.conv_transpose1d(tl.Tensor(x), np.ones((2, 1, 3)), output_padding=1, dilation=2)
    np.testing.assert_allclose(y.data, ty.numpy(), rtol=1e-12)
