"""Transforms compare by value, as torch's: parameter-free ones by type, AffineTransform by loc
and scale, PowerTransform by exponent, inverses and compositions by their parts."""

import numpy as np
import pytest

import tinygrad_lite as tl

T = tl.distributions.transforms


def _pairs(lib, tensor):
    t = lib
    return [
        (t.AffineTransform(0.0, 1.0), t.AffineTransform(0.0, 1.0)),
        (t.AffineTransform(0.0, 1.0), t.AffineTransform(0.0, 2.0)),
        (t.AffineTransform(1.0, 1.0), t.AffineTransform(0.0, 1.0)),
        (t.AffineTransform(tensor([0.0, 0.0]), 1.0), t.AffineTransform(0.0, 1.0)),
        (t.AffineTransform(tensor([0.0, 1.0]), 1.0), t.AffineTransform(0.0, 1.0)),
        (t.PowerTransform(tensor(2.0)), t.PowerTransform(tensor(2.0))),
        (t.PowerTransform(tensor(2.0)), t.PowerTransform(tensor(3.0))),
        (t.PowerTransform(tensor(2.0)).inv, t.PowerTransform(tensor(2.0)).inv),
        (t.ExpTransform(), t.ExpTransform()),
        (t.ExpTransform(), t.SigmoidTransform()),
        (t.ComposeTransform([t.ExpTransform(), t.AffineTransform(0.0, 2.0)]),
         t.ComposeTransform([t.ExpTransform(), t.AffineTransform(0.0, 2.0)])),
        (t.ComposeTransform([t.ExpTransform(), t.AffineTransform(0.0, 2.0)]),
         t.ComposeTransform([t.ExpTransform(), t.AffineTransform(0.0, 3.0)])),
    ]


def test_transforms_compare_as_torch_s():
    torch = pytest.importorskip("torch")
    ours = _pairs(T, lambda v: tl.tensor(np.asarray(v)))
    theirs = _pairs(torch.distributions.transforms, lambda v: torch.tensor(v, dtype=torch.float64))
    for (a, b), (pa, pb) in zip(ours, theirs):
        assert (a == b) == (pa == pb), (a, b)
        assert (a != b) == (pa != pb), (a, b)


def test_affine_and_power_transforms_compare_by_value():
    assert T.AffineTransform(0.0, 1.0) == T.AffineTransform(0.0, 1.0)
    assert T.AffineTransform(0.0, 1.0) != T.AffineTransform(0.0, 2.0)
    assert T.PowerTransform(2.0) == T.PowerTransform(2.0) and T.PowerTransform(2.0) != T.PowerTransform(0.5)
    assert T.AffineTransform(tl.tensor([0.0, 0.0]), 1.0) != T.AffineTransform(tl.tensor([0.0, 0.0, 0.0]), 1.0)
    assert T.AffineTransform(0.0, 1.0) != T.ExpTransform()
