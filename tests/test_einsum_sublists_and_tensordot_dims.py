"""torch's sublist form of einsum and a 0-d tensor as tensordot's dims."""

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")
RNG = np.random.default_rng(0)


@pytest.mark.parametrize("spec", [
    lambda a, b, c: (a, [0, 1], b, [1, 2], [0, 2]),
    lambda a, b, c: (a, [0, 1], b, [1, 2]),
    lambda a, b, c: (c, [Ellipsis, 1], [Ellipsis]),
    lambda a, b, c: (a, [0, 1], a, [0, 1], []),
    lambda a, b, c: (c, [5, 7, 9], b, [7, 9], [5]),
])
def test_sublist_form_values_and_gradients_as_torch(spec):
    a, b, c = RNG.standard_normal((2, 3)), RNG.standard_normal((3, 4)), RNG.standard_normal((2, 3, 4))
    ts = [tl.tensor(v, requires_grad=True) for v in (a, b, c)]
    tts = [torch.tensor(v, requires_grad=True) for v in (a, b, c)]
    out, tout = tl.einsum(*spec(*ts)), torch.einsum(*spec(*tts))
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12)
    out.sum().backward()
    tout.sum().backward()
    for t, tt in zip(ts, tts):
        if tt.grad is not None:
            np.testing.assert_allclose(t.grad, tt.grad.numpy(), rtol=1e-12)


def test_bad_sublist_axes_are_refused():
    with pytest.raises(ValueError, match="sublist axes"):
        tl.einsum(tl.ones(2), [60])


def test_tensordot_takes_a_zero_d_tensor_as_dims():
    c, d = RNG.standard_normal((2, 3, 4)), RNG.standard_normal((3, 4, 2))
    np.testing.assert_allclose(tl.tensordot(tl.tensor(c), tl.tensor(d), dims=tl.tensor(2)).data,
                               torch.tensordot(torch.tensor(c), torch.tensor(d), dims=torch.tensor(2)).numpy(),
                               rtol=1e-12)
