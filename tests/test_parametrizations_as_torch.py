"""Parametrizations and fusion as torch: a parametrization takes its module's train/eval mode
when registered (spectral norm on a model in eval no longer iterates), weight_norm's dim=-1
is the whole tensor, spectral_norm finds transposed convolutions by class (subclasses and
parametrized ones too) and stacks on a parametrized weight, a one-feature BatchNorm fuses into
a wider Linear, kaiming's mode is read case-insensitively, and zeros_/ones_ name themselves."""

import warnings

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")
PZ, TPZ = tl.nn.utils.parametrizations, torch.nn.utils.parametrizations


def test_spectral_norm_registered_in_eval_does_not_iterate():
    m = tl.nn.Linear(8, 8, rng=0)
    m.eval()
    PZ.spectral_norm(m)
    sn = m.parametrizations.weight[0]
    assert sn.training is False
    u0 = sn._u.data.copy()
    a = m(tl.Tensor(np.ones((1, 8)))).data
    b = m(tl.Tensor(np.ones((1, 8)))).data
    np.testing.assert_array_equal(sn._u.data, u0)
    np.testing.assert_array_equal(a, b)
    m.train()
    m(tl.Tensor(np.ones((1, 8))))
    assert not np.array_equal(sn._u.data, u0)


def test_custom_parametrization_takes_the_modules_mode():
    class Scale(tl.nn.Module):
        def forward(self, w):
            return w * (2.0 if self.training else 1.0)

    m = tl.nn.Linear(3, 2, rng=0)
    w = m.weight.data.copy()
    m.eval()
    tl.nn.utils.parametrize.register_parametrization(m, "weight", Scale())
    np.testing.assert_array_equal(m.weight.data, w)


@pytest.mark.parametrize("old", [False, True])
def test_weight_norm_dim_minus_one_is_the_whole_tensor(old):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if old:
            m = tl.nn.utils.weight_norm(tl.nn.Linear(4, 3, rng=0), dim=-1)
            t = torch.nn.utils.weight_norm(torch.nn.Linear(4, 3).double(), dim=-1)
            g, tg = m.weight_g, t.weight_g
        else:
            m = PZ.weight_norm(tl.nn.Linear(4, 3, rng=0), dim=-1)
            t = TPZ.weight_norm(torch.nn.Linear(4, 3).double(), dim=-1)
            g, tg = m.parametrizations.weight.original0, t.parametrizations.weight.original0
    assert g.shape == tuple(tg.shape) == ()
    np.testing.assert_allclose(g.data, np.linalg.norm(m.weight.data), rtol=1e-12)
    assert PZ.weight_norm(tl.nn.Linear(4, 3), dim=-2).parametrizations.weight.original0.shape == \
        tuple(TPZ.weight_norm(torch.nn.Linear(4, 3), dim=-2).parametrizations.weight.original0.shape)


def test_spectral_norm_finds_transposed_convolutions_by_class():
    class Up(tl.nn.ConvTranspose2d):
        pass

    class TUp(torch.nn.ConvTranspose2d):
        pass

    assert PZ.spectral_norm(Up(2, 3, 2)).parametrizations.weight[0]._u.shape == \
        tuple(TPZ.spectral_norm(TUp(2, 3, 2)).parametrizations.weight[0]._u.shape) == (3,)
    c, tc = tl.nn.ConvTranspose2d(2, 3, 2), torch.nn.ConvTranspose2d(2, 3, 2)
    PZ.weight_norm(c, "bias", dim=None)
    TPZ.weight_norm(tc, "bias", dim=None)
    assert PZ.spectral_norm(c).parametrizations.weight[0]._u.shape == \
        tuple(TPZ.spectral_norm(tc).parametrizations.weight[0]._u.shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert tl.nn.utils.spectral_norm(Up(2, 3, 2)).weight_u.shape == \
            tuple(torch.nn.utils.spectral_norm(TUp(2, 3, 2)).weight_u.shape)


def test_spectral_norm_stacks_on_a_parametrized_weight():
    lin, tlin = tl.nn.Linear(4, 3, rng=0), torch.nn.Linear(4, 3).double()
    PZ.weight_norm(lin)
    TPZ.weight_norm(tlin)
    PZ.spectral_norm(lin)
    TPZ.spectral_norm(tlin)
    assert list(lin.state_dict()) == list(tlin.state_dict())
    o = tl.nn.Linear(4, 4, rng=0)
    PZ.orthogonal(o)
    PZ.spectral_norm(o)
    assert len(o.parametrizations.weight) == 2 and o.weight.shape == (4, 4)


def test_one_feature_batchnorm_fuses_into_a_wider_linear():
    from tinygrad_lite.nn.utils.fusion import fuse_linear_bn_eval
    rng = np.random.default_rng(0)
    lin, bn = tl.nn.Linear(4, 3, bias=False, rng=0).eval(), tl.nn.BatchNorm1d(1)
    bn.running_mean.data[:], bn.running_var.data[:], bn.bias.data[:] = 0.3, 2.0, 0.5
    bn.eval()
    tlin, tbn = torch.nn.Linear(4, 3, bias=False).double().eval(), torch.nn.BatchNorm1d(1).double()
    with torch.no_grad():
        tlin.weight.copy_(torch.tensor(lin.weight.data))
        tbn.running_mean[:], tbn.running_var[:], tbn.bias[:] = 0.3, 2.0, 0.5
    tbn.eval()
    x = rng.standard_normal((2, 4))
    got = fuse_linear_bn_eval(lin, bn)(tl.Tensor(x)).data
    want = torch.nn.utils.fusion.fuse_linear_bn_eval(tlin, tbn)(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_kaiming_mode_case_and_fill_names():
    w = tl.zeros(400, 300)
    tl.nn.init.kaiming_normal_(w, mode="FAN_OUT", generator=np.random.default_rng(0))
    assert abs(w.data.std() - np.sqrt(2 / 400)) < 0.01 * np.sqrt(2 / 400) * 5
    for fn, name in ((tl.nn.init.zeros_, "zeros_"), (tl.nn.init.ones_, "ones_")):
        with pytest.raises(TypeError, match=f"^{name}:"):
            fn(np.zeros(3))


class _ToFloat32(tl.nn.Module):
    def forward(self, w):
        return w

    def right_inverse(self, w):
        return w.float()


def test_right_inverse_may_not_change_the_dtype_unless_unsafe():
    with pytest.raises(ValueError, match="right_inverse returned a tensor of dtype float32"):
        tl.nn.utils.parametrize.register_parametrization(tl.nn.Linear(3, 2), "weight", _ToFloat32())

    class Same(tl.nn.Module):
        def forward(self, w):
            return w

        def right_inverse(self, w):
            return w

    m = tl.nn.utils.parametrize.register_parametrization(tl.nn.Linear(3, 2), "weight", Same())
    m.parametrizations.weight.append(_ToFloat32())  # (only assignment reaches its right_inverse now)
    before = m.parametrizations.weight.original.data.copy()
    with pytest.raises(ValueError, match="dtype float32 cannot replace the original of dtype float64"):
        m.weight = tl.ones(2, 3)
    np.testing.assert_array_equal(m.parametrizations.weight.original.data, before)


def test_weight_norm_on_a_parametrized_weight_is_refused_clearly():
    m = tl.nn.Linear(4, 3, rng=0)
    PZ.spectral_norm(m)
    with pytest.raises(ValueError, match="weight_norm must be its first parametrization"):
        PZ.weight_norm(m)
    assert len(m.parametrizations.weight) == 1
