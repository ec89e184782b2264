"""Tensor.is_inference(): True for what an inference_mode() block makes, as torch's."""

import numpy as np

import tinygrad_lite as tl


def _flags(lib, make):
    x = make(lib, [1.0, 2.0, 3.0], requires_grad=True)
    with lib.inference_mode():
        a = lib.ones(3)
        b = x * 2
        c = make(lib, [1.0, 1.0])
        with lib.inference_mode(False):
            d = x * 2
            e = lib.zeros(2)
    f = b + 1
    g = x * 3
    with lib.no_grad():
        h = x * 2
    return [t.is_inference() for t in (a, b, c, d, e, f, g, h, x)]


def _tl(lib, v, requires_grad=False):
    return lib.Tensor(np.array(v), requires_grad=requires_grad)


def test_is_inference_marks_what_inference_mode_makes():
    assert _flags(tl, _tl) == [True, True, True, False, False, False, False, False, False]


def test_is_inference_as_torch():
    import pytest

    torch = pytest.importorskip("torch")
    want = _flags(torch, lambda lib, v, requires_grad=False: lib.tensor(v, requires_grad=requires_grad))
    assert _flags(tl, _tl) == want
