"""Torch spellings that must not silently mean something else:

* a module built with ``inplace=True`` (``nn.ReLU(inplace=True)``, dropout modules) writes its
  result into its input and returns it, as torch's (AlphaDropout leaves it, as torch's);
* ``x.max(dim, keepdim)`` / ``x.min(dim, keepdim)`` with keepdim positional return the named
  tuple ``(values, indices)``, as with ``keepdim=``.
"""

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")

_ACTS = {
    "ReLU": (), "ReLU6": (), "LeakyReLU": (0.1,), "ELU": (), "CELU": (), "SELU": (), "SiLU": (), "Mish": (),
    "Hardtanh": (), "Hardswish": (), "Hardsigmoid": (), "Threshold": (0.1, 2.0),
}


def _x():
    return np.random.default_rng(0).standard_normal((3, 4)) * 3


@pytest.mark.parametrize("name", sorted(_ACTS))
def test_activation_module_inplace_writes_into_its_input_as_torch(name):
    args = _ACTS[name]
    results = {}
    for lib in (torch, tl):
        x = lib.tensor(_x(), requires_grad=True)
        h = x * 2
        a = getattr(lib.nn, name)(*args, inplace=True)(h)
        y = h + a  # the input read again after the in-place activation
        y.sum().backward()
        results[lib.__name__] = (a is h, np.asarray(y.detach().numpy()), np.asarray(x.grad))
    (t_same, t_y, t_g), (same, y, g) = results["torch"], results["tinygrad_lite"]
    assert same and t_same
    np.testing.assert_allclose(y, t_y, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(g, t_g, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name,shape", [("Dropout", (4, 6)), ("Dropout1d", (4, 3, 5)), ("Dropout2d", (4, 3, 5, 5)),
                                        ("Dropout3d", (2, 3, 2, 4, 4)), ("RReLU", (4, 6)),
                                        ("AlphaDropout", (4, 6)), ("FeatureAlphaDropout", (4, 3, 5, 5))])
def test_random_modules_inplace_write_where_torchs_do(name, shape):
    x0 = np.random.default_rng(1).standard_normal(shape)
    xt = torch.tensor(x0.copy())
    torch_writes = getattr(torch.nn, name)(inplace=True)(xt) is xt
    assert torch_writes == (not np.array_equal(xt.numpy(), x0))
    x = tl.tensor(x0.copy())
    out = getattr(tl.nn, name)(inplace=True)(x)
    assert (out is x) == torch_writes
    if torch_writes:
        assert not np.array_equal(x.data, x0)
    else:
        np.testing.assert_array_equal(x.data, x0)


@pytest.mark.parametrize("fn", ["max", "min"])
@pytest.mark.parametrize("keep", [True, False])
def test_max_min_with_keepdim_positional_return_values_and_indices_as_torch(fn, keep):
    a = np.array([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    xt = torch.tensor(a, requires_grad=True)
    x = tl.tensor(a, requires_grad=True)
    rt = getattr(xt, fn)(1, keep)
    r = getattr(x, fn)(1, keep)
    np.testing.assert_array_equal(r[0].data, rt[0].detach().numpy())
    np.testing.assert_array_equal(r.indices.data, rt.indices.numpy())
    rt.values.sum().backward()
    r.values.sum().backward()
    np.testing.assert_array_equal(x.grad, xt.grad.numpy())
    np.testing.assert_array_equal(getattr(x, fn)(1).data, getattr(a, fn)(1))  # the contract's x.max(d): values
    with pytest.raises(TypeError, match=f"{fn}\\(\\) takes \\(dim, keepdim\\)"):
        getattr(x, fn)(1, True, True)
