"""What ``expand`` keeps and refuses, as torch: a distribution rebuilt for ``expand`` still
validates values; a batch shape it cannot broadcast to is a RuntimeError (ShapeMismatchError,
also a ValueError); a user's subclass with its own ``__init__`` must write ``expand`` or list
``_params``; the shuffle modules can be subclassed."""

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite.conventions import ShapeMismatchError

D = tl.distributions


def _t(v):
    return tl.tensor(np.asarray(v, dtype=float))


BUILT = {
    "Weibull": lambda: D.Weibull(_t([1.0, 2.0, 3.0]), _t([1.0, 1.5, 2.0])),
    "Pareto": lambda: D.Pareto(_t([1.0, 2.0, 3.0]), _t([1.0, 1.5, 2.0])),
    "Kumaraswamy": lambda: D.Kumaraswamy(_t([1.0, 2.0, 3.0]), _t([1.0, 1.5, 2.0])),
    "LogNormal": lambda: D.LogNormal(_t([0.0, 1.0, 2.0]), _t([1.0, 1.5, 2.0])),
    "Gamma": lambda: D.Gamma(_t([1.0, 2.0, 3.0]), _t([1.0, 1.5, 2.0])),
}


@pytest.mark.parametrize("name", sorted(BUILT))
def test_an_expanded_distribution_still_refuses_values_outside_its_support(name):
    e = BUILT[name]().expand((2, 3))
    assert e.batch_shape == (2, 3)
    with pytest.raises(ValueError, match=f"{name}.log_prob"):
        e.log_prob(_t([-5.0, -5.0, -5.0]))


def test_an_expanded_mixture_keeps_validating():
    mix = D.MixtureSameFamily(D.Categorical(probs=_t([0.3, 0.7])), D.Normal(_t([0.0, 1.0]), _t([1.0, 2.0])))
    e = mix.expand((4,))
    assert e.batch_shape == (4,) and e._validate_args
    with pytest.raises(ValueError, match="MixtureSameFamily.expand"):
        D.MixtureSameFamily(D.Categorical(probs=_t([[0.3, 0.7]] * 3)),
                            D.Normal(_t([[0.0, 1.0]] * 3), _t([[1.0, 2.0]] * 3))).expand((2,))


@pytest.mark.parametrize("name", sorted(BUILT) + ["Normal", "Categorical"])
def test_a_batch_shape_that_does_not_broadcast_is_a_runtime_error_naming_the_distribution(name):
    d = {"Normal": lambda: D.Normal(_t([0.0, 1.0, 2.0]), 1.0),
         "Categorical": lambda: D.Categorical(probs=_t([[0.5, 0.5]] * 3))}.get(name, BUILT.get(name))()
    with pytest.raises(ShapeMismatchError, match=rf"{name}.expand: batch_shape \(3,\) cannot be expanded to \(2,\)"):
        d.expand((2,))
    with pytest.raises(RuntimeError):  # (as torch's)
        d.expand((2,))


def test_a_user_subclass_with_its_own_init_must_write_expand():
    class Unit(D.Normal):
        def __init__(self, loc):
            super().__init__(loc, 1.0)

    with pytest.raises(NotImplementedError, match="Unit.expand: a subclass that defines its own __init__"):
        Unit(_t([0.0, 1.0])).expand((3, 2))

    class Plain(D.Normal):  # no __init__ of its own: the parameters are Normal's
        pass

    assert Plain(_t([0.0, 1.0]), 1.0).expand((3, 2)).loc.shape == (3, 2)

    class Listed(D.Normal):  # its own __init__, and the tensors to expand named
        _params = (("loc", 0), ("scale", 0))

        def __init__(self, loc):
            super().__init__(loc, 1.0)

    e = Listed(_t([0.0, 1.0])).expand((3, 2))
    assert e.loc.shape == (3, 2) and e.scale.shape == (3, 2)


@pytest.mark.parametrize("cls,arg", [(tl.nn.PixelShuffle, 2), (tl.nn.PixelUnshuffle, 2), (tl.nn.ChannelShuffle, 2)])
def test_the_shuffle_modules_can_be_subclassed(cls, arg):
    class Mine(cls):
        def forward(self, input):
            return super().forward(input) * 2

    x = tl.Tensor(np.arange(32.0).reshape(1, 8, 2, 2))
    np.testing.assert_array_equal(Mine(arg)(x).data, cls(arg)(x).data * 2)
    assert repr(Mine(arg)).startswith("Mine(")
