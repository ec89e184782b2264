"""Module state-dict hooks as torch's, and the older weight_norm's state dict loading into the
parametrized one through its load pre-hook."""

import warnings

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")


def test_state_dict_hooks_see_each_modules_prefix_and_may_edit():
    model = tl.nn.Sequential(tl.nn.Linear(2, 3, rng=0), tl.nn.Sequential(tl.nn.Linear(3, 1, rng=1)))
    seen = []
    h1 = model[1][0].register_state_dict_pre_hook(lambda m, prefix, keep_vars: seen.append(("pre", prefix, keep_vars)))

    def post(m, state, prefix, meta):
        seen.append(("post", prefix))
        state[prefix + "extra"] = np.zeros(1)

    h2 = model[1].register_state_dict_post_hook(post)
    sd = model.state_dict(prefix="net.")
    assert seen == [("pre", "net.1.0.", False), ("post", "net.1.")]
    assert "net.1.extra" in sd
    h1.remove()
    h2.remove()
    seen.clear()
    assert "1.extra" not in model.state_dict() and seen == []


def test_load_pre_hook_renames_on_a_copy_and_errors_change_nothing():
    lin = tl.nn.Linear(2, 1, rng=0)
    state = {"w": np.ones((1, 2)), "bias": np.zeros(1)}

    def rename(m, sd, prefix, meta, strict, missing, unexpected, errors):
        sd[prefix + "weight"] = sd.pop(prefix + "w")

    lin.register_load_state_dict_pre_hook(rename)
    got = []
    lin.register_load_state_dict_post_hook(lambda m, keys: got.append(tuple(keys)))
    lin.load_state_dict(state)
    np.testing.assert_array_equal(lin.weight.data, np.ones((1, 2)))
    assert "w" in state and got == [([], [])]
    other = tl.nn.Linear(2, 1, rng=0)
    before = other.weight.data.copy()
    other.register_load_state_dict_pre_hook(lambda m, sd, p, meta, s, mk, uk, errors: errors.append("refused"))
    with pytest.raises(RuntimeError, match="refused"):
        other.load_state_dict(tl.nn.Linear(2, 1, rng=5).state_dict())
    np.testing.assert_array_equal(other.weight.data, before)


def test_older_weight_norm_state_loads_into_the_parametrized_one_as_torch():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        old = tl.nn.utils.weight_norm(tl.nn.Linear(4, 3, rng=0))
        told = torch.nn.utils.weight_norm(torch.nn.Linear(4, 3).double())
    with torch.no_grad():
        told.weight_g.copy_(torch.tensor(old.weight_g.data))
        told.weight_v.copy_(torch.tensor(old.weight_v.data))
        told.bias.copy_(torch.tensor(old.bias.data))
    new = tl.nn.utils.parametrizations.weight_norm(tl.nn.Linear(4, 3, rng=9))
    tnew = torch.nn.utils.parametrizations.weight_norm(torch.nn.Linear(4, 3).double())
    new.load_state_dict(old.state_dict())
    tnew.load_state_dict(told.state_dict())
    x = np.random.default_rng(0).standard_normal((2, 4))
    np.testing.assert_allclose(new(tl.Tensor(x)).data, tnew(torch.tensor(x)).detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(new(tl.Tensor(x)).data, old(tl.Tensor(x)).data, rtol=1e-12)
    model = tl.nn.Sequential(tl.nn.utils.parametrizations.weight_norm(tl.nn.Linear(4, 3, rng=2)))
    model.load_state_dict({"0." + k: v for k, v in old.state_dict().items()})
    np.testing.assert_allclose(model(tl.Tensor(x)).data, old(tl.Tensor(x)).data, rtol=1e-12)
