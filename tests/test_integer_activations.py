"""threshold, relu6 and hardtanh keep an integer input's dtype, with their constants cut to
integers, as torch (they returned float64, and threshold's value was not cut)."""

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")
F = tl.nn.functional


CASES = [("threshold", (1.5, 0.5)), ("threshold", (-1.5, -7)), ("threshold", (2, 9)), ("relu6", ()),
         ("hardtanh", ()), ("hardtanh", (-1.5, 2.5))]


@pytest.mark.parametrize("dtype,name,args", [(d, n, a) for d in (np.int64, np.int32, np.int16, np.uint8)
                                             for n, a in CASES
                                             if not (d is np.uint8 and n == "threshold" and a[1] < 0)])
def test_integer_inputs_match_torch(dtype, name, args):
    a = np.array([-3, -1, 0, 1, 2, 5, 9])
    x = (np.abs(a) if dtype is np.uint8 else a).astype(dtype)
    if dtype is np.uint8 and name == "hardtanh":  # (its lower limit is negative: torch refuses it too)
        with pytest.raises(ValueError, match="unsigned integer tensor.*negative"):
            getattr(F, name)(tl.tensor(x), *args)
        return
    got = getattr(F, name)(tl.tensor(x), *args)
    want = getattr(torch.nn.functional, name)(torch.tensor(x), *args)
    assert str(got.dtype) == str(want.dtype).replace("torch.", "")
    np.testing.assert_array_equal(got.data, want.numpy())


def test_float_inputs_keep_their_gradient():
    x = tl.tensor([-2.0, 0.5, 3.0, 7.0], requires_grad=True)
    (F.relu6(x) + F.hardtanh(x) + F.threshold(x, 1.0, 0.0)).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 2.0, 2.0, 1.0])
