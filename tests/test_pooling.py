"""1-d and adaptive pools: values and gradients against torch and finite differences,
per-sample gradients through a CNN with a global average pool, and clear errors."""

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

# (name, our function, torch's name, input shape, args, kwargs)
CASES = [
    ("avg2d_global", F.adaptive_avg_pool2d, "adaptive_avg_pool2d", (2, 3, 7, 10), ((1, 1),), {}),
    ("avg2d_uneven", F.adaptive_avg_pool2d, "adaptive_avg_pool2d", (2, 3, 7, 10), ((3, 4),), {}),
    ("avg2d_grow", F.adaptive_avg_pool2d, "adaptive_avg_pool2d", (2, 2, 3, 4), ((5, 6),), {}),
    ("avg2d_none", F.adaptive_avg_pool2d, "adaptive_avg_pool2d", (2, 2, 5, 9), ((None, 4),), {}),
    ("avg2d_even_int", F.adaptive_avg_pool2d, "adaptive_avg_pool2d", (2, 2, 6, 6), (3,), {}),
    ("avg2d_unbatched", F.adaptive_avg_pool2d, "adaptive_avg_pool2d", (3, 5, 7), ((2, 3),), {}),
    ("max2d_uneven", F.adaptive_max_pool2d, "adaptive_max_pool2d", (2, 3, 7, 10), ((3, 4),), {}),
    ("max2d_even", F.adaptive_max_pool2d, "adaptive_max_pool2d", (2, 3, 8, 6), ((2, 3),), {}),
    ("avg1d_uneven", F.adaptive_avg_pool1d, "adaptive_avg_pool1d", (2, 3, 11), (4,), {}),
    ("max1d_uneven", F.adaptive_max_pool1d, "adaptive_max_pool1d", (2, 3, 11), (4,), {}),
    ("maxpool1d", F.max_pool1d, "max_pool1d", (2, 3, 11), (3, 2, 1), {}),
    ("maxpool1d_dilated", F.max_pool1d, "max_pool1d", (2, 3, 12), (3,), {"stride": 1, "dilation": 2}),
    ("avgpool1d", F.avg_pool1d, "avg_pool1d", (2, 3, 11), (4, 3, 2), {"count_include_pad": False}),
    ("avgpool1d_unbatched", F.avg_pool1d, "avg_pool1d", (3, 10), (2,), {}),
    ("avg3d_uneven", F.adaptive_avg_pool3d, "adaptive_avg_pool3d", (2, 2, 5, 4, 7), ((2, 3, 3),), {}),
    ("max3d_uneven", F.adaptive_max_pool3d, "adaptive_max_pool3d", (2, 2, 5, 4, 7), ((3, 2, 4),), {}),
    ("maxpool3d_ceil", F.max_pool3d, "max_pool3d", (2, 2, 5, 4, 7), (3, 2, 1), {"ceil_mode": True}),
    ("avgpool3d_unbatched", F.avg_pool3d, "avg_pool3d", (2, 4, 5, 3), ((2, 3, 1),), {"stride": 1}),
]


def _input(shape: tuple, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).permutation(np.prod(shape)).reshape(shape) / 7.0 - 3.0  # distinct: no ties


@needs_torch
@pytest.mark.parametrize("name,fn,tname,shape,args,kw", CASES, ids=[c[0] for c in CASES])
def test_values_and_gradients_match_torch(name: str, fn: Callable, tname: str, shape: tuple, args: tuple,
                                          kw: dict) -> None:
    x = _input(shape)
    up = np.random.default_rng(1).standard_normal(fn(tl.Tensor(x), *args, **kw).shape)
    t = tl.Tensor(x, requires_grad=True)
    out = fn(t, *args, **kw)
    (out * up).sum().backward()
    tx = torch.tensor(x, requires_grad=True)
    tout = getattr(torch.nn.functional, tname)(tx, *args, **kw)
    (tout * torch.tensor(up)).sum().backward()
    assert out.shape == tuple(tout.shape)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(t.grad, tx.grad.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name,fn,tname,shape,args,kw", CASES, ids=[c[0] for c in CASES])
def test_gradients_match_finite_differences(name: str, fn: Callable, tname: str, shape: tuple, args: tuple,
                                            kw: dict) -> None:
    t = tl.Tensor(_input(shape, 2), requires_grad=True)
    w = np.random.default_rng(3).standard_normal(fn(t, *args, **kw).shape)
    assert tl.gradcheck(lambda a: (fn(a, *args, **kw) * w).sum(), [t])


def test_per_sample_gradients_through_a_global_average_pool() -> None:
    model = tl.nn.Sequential(tl.nn.Conv2d(2, 4, 3, padding=1, rng=0), tl.nn.ReLU(), tl.nn.AdaptiveAvgPool2d((2, 3)),
                             tl.nn.Flatten(), tl.nn.Linear(24, 3, rng=1))
    model1d = tl.nn.Sequential(tl.nn.Conv1d(2, 3, 3, rng=2), tl.nn.MaxPool1d(2), tl.nn.AdaptiveMaxPool1d(3),
                               tl.nn.Flatten(), tl.nn.Linear(9, 3, rng=3))
    rng = np.random.default_rng(4)
    for m, X in ((model, rng.standard_normal((4, 2, 7, 5))), (model1d, rng.standard_normal((4, 2, 13)))):
        y = np.array([0, 2, 1, 2])
        tl.nn.functional.cross_entropy(m(tl.Tensor(X, batched=True)), y).backward()
        got = {n: p.grad_sample.copy() for n, p in m.named_parameters()}
        for b in range(4):
            m.zero_grad()
            tl.nn.functional.cross_entropy(m(tl.Tensor(X[b:b + 1])), y[b:b + 1]).backward()
            for n, p in m.named_parameters():
                np.testing.assert_allclose(got[n][b], p.grad, rtol=1e-10, atol=1e-13, err_msg=n)
        m.zero_grad()


@needs_torch
def test_modules_match_torch_modules() -> None:
    x = _input((2, 3, 9, 9))
    for ours, theirs in ((tl.nn.AdaptiveAvgPool2d(1), torch.nn.AdaptiveAvgPool2d(1)),
                         (tl.nn.AdaptiveMaxPool2d((4, None)), torch.nn.AdaptiveMaxPool2d((4, None)))):
        np.testing.assert_allclose(ours(tl.Tensor(x)).data, theirs(torch.tensor(x)).numpy(), rtol=1e-12)
    y = _input((2, 3, 10))
    for ours, theirs in ((tl.nn.MaxPool1d(3, 2, 1), torch.nn.MaxPool1d(3, 2, 1)),
                         (tl.nn.AvgPool1d(3, count_include_pad=False, padding=1),
                          torch.nn.AvgPool1d(3, count_include_pad=False, padding=1)),
                         (tl.nn.AdaptiveAvgPool1d(3), torch.nn.AdaptiveAvgPool1d(3))):
        np.testing.assert_allclose(ours(tl.Tensor(y)).data, theirs(torch.tensor(y)).numpy(), rtol=1e-12)
    assert repr(tl.nn.AdaptiveAvgPool2d((2, 2))) == "AdaptiveAvgPool2d(output_size=(2, 2))"


@pytest.mark.parametrize("call,exc,words", [
    (lambda: F.adaptive_avg_pool2d(tl.Tensor(np.ones((2, 3, 4))[0]), 2), ValueError, "adaptive_avg_pool2d: expected"),
    (lambda: F.adaptive_avg_pool2d(tl.Tensor(np.ones((2, 3, 4, 4))), (2, 2, 2)), ValueError, "tuple of 2"),
    (lambda: F.adaptive_avg_pool2d(tl.Tensor(np.ones((2, 3, 4, 4))), -1), ValueError, "ints >= 0"),
    (lambda: F.adaptive_max_pool2d(tl.Tensor(np.ones((2, 3, 4, 4))), 2, return_indices=1), TypeError,
     "adaptive_max_pool2d: return_indices must be a bool"),
    (lambda: F.max_pool1d(tl.Tensor(np.ones((2, 3, 4, 4))), 2), ValueError, "max_pool1d: expected an input of shape"),
    (lambda: F.max_pool1d(tl.Tensor(np.ones((2, 3, 4))), 6), ValueError, "larger than the padded input length 4"),
    (lambda: F.avg_pool1d(tl.Tensor(np.ones((2, 3, 8))), 2, padding=2), ValueError, "at most half"),
    (lambda: F.avg_pool1d(tl.Tensor(np.ones((2, 3, 8))), 0), ValueError, "kernel_size"),
    (lambda: tl.nn.MaxPool1d(2, ceil_mode=1), TypeError, "MaxPool1d: ceil_mode must be a bool"),
    (lambda: tl.nn.AdaptiveAvgPool2d("big"), ValueError, "AdaptiveAvgPool2d: output_size"),
    (lambda: tl.nn.AvgPool1d(2, padding=3), ValueError, "AvgPool1d: padding"),
])
def test_bad_arguments_are_refused_naming_the_pool(call: Callable, exc: Any, words: str) -> None:
    with pytest.raises(exc, match=words):
        call()
