"""The activations of ``tl.nn.functional`` / ``tl.nn`` beyond relu, tanh, sigmoid, gelu, silu:
leaky_relu, elu, softplus, hardtanh, relu6, logsigmoid, mish, softsign; and one_hot.

* over hypothesis shapes (inputs kept off the kinks): the value equals a numpy reference, the
  gradient equals float64 central differences and value and gradient equal torch's;
* at the kinks, the bounds and huge inputs: the same numbers as torch;
* per sample: an activation between two Linears keeps ``grad_sample`` equal to each sample
  alone; float32 stays float32; modules equal torch's; bad arguments raise naming the function.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import strategies as st
from test_ops import DOMAINS, OpSpec, one_shape, table_tests

import tinygrad_lite as tl
from tinygrad_lite import Tensor, nn, ops
from tinygrad_lite.nn import functional as F


def _off_kinks(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    """|x| in [0.1, 0.9] or [1.1, 3]: away from 0 and +-1 (hardtanh's bounds)."""
    mag = np.where(rng.random(shape) < 0.5, rng.uniform(0.1, 0.9, shape), rng.uniform(1.1, 3.0, shape))
    return rng.choice([-1.0, 1.0], shape) * mag


def _wide(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    """|x| in [0.1, 8]: across relu6's upper bound, off 0 and 6."""
    x = rng.choice([-1.0, 1.0], shape) * rng.uniform(0.1, 8.0, shape)
    return np.where(np.abs(x - 6.0) < 0.1, 5.5, x)


DOMAINS.setdefault("off_kinks", _off_kinks)
DOMAINS.setdefault("wide", _wide)


def np_softplus(x: np.ndarray, beta: float = 1.0, threshold: float = 20.0) -> np.ndarray:
    return np.where(beta * x > threshold, x, np.log1p(np.exp(beta * x)) / beta)


def _spec(name: str, ref: Callable, fn: Callable, torch_fn: Callable, domain: str = "off_kinks",
          params: Callable = lambda s: st.just({})) -> OpSpec:
    return OpSpec(name, ref, fn, torch_fn, (domain,), one_shape, params)


SPECS = [
    _spec("leaky_relu", lambda x, negative_slope: np.where(x > 0, x, negative_slope * x), F.leaky_relu,
          lambda T, x, negative_slope: T.nn.functional.leaky_relu(x, negative_slope),
          params=lambda s: st.fixed_dictionaries({"negative_slope": st.sampled_from([0.01, 0.2, -0.5, 1.5])})),
    _spec("elu", lambda x, alpha: np.where(x > 0, x, alpha * (np.exp(x) - 1)), F.elu,
          lambda T, x, alpha: T.nn.functional.elu(x, alpha),
          params=lambda s: st.fixed_dictionaries({"alpha": st.sampled_from([1.0, 0.5, 2.5])})),
    _spec("softplus", np_softplus, F.softplus,
          lambda T, x, beta, threshold: T.nn.functional.softplus(x, beta, threshold), "real",
          params=lambda s: st.fixed_dictionaries({"beta": st.sampled_from([1.0, 0.5, 3.0]),
                                                  "threshold": st.just(20.0)})),
    _spec("hardtanh", lambda x, min_val, max_val: np.clip(x, min_val, max_val), F.hardtanh,
          lambda T, x, min_val, max_val: T.nn.functional.hardtanh(x, min_val, max_val),
          params=lambda s: st.fixed_dictionaries({"min_val": st.sampled_from([-1.0, 0.95]),
                                                  "max_val": st.sampled_from([1.0, 2.0])})),
    _spec("relu6", lambda x: np.clip(x, 0, 6), F.relu6, lambda T, x: T.nn.functional.relu6(x), "wide"),
    _spec("logsigmoid", lambda x: -np.log1p(np.exp(-x)), F.logsigmoid, lambda T, x: T.nn.functional.logsigmoid(x),
          "real"),
    _spec("mish", lambda x: x * np.tanh(np.log1p(np.exp(x))), F.mish, lambda T, x: T.nn.functional.mish(x), "real"),
    _spec("softsign", lambda x: x / (1 + np.abs(x)), F.softsign, lambda T, x: T.nn.functional.softsign(x), "real"),
]
IDS = [s.name for s in SPECS]


(test_value_matches_numpy, test_gradient_matches_finite_differences,
 test_value_and_gradient_match_torch) = table_tests(SPECS)


def test_every_new_activation_op_is_registered_with_its_rule() -> None:
    by_name = {o.name: o for o in ops.ALL}
    for name in ("leaky_relu", "elu", "softplus", "hardtanh", "logsigmoid", "mish", "softsign"):
        assert by_name[name].rule and by_name[name].local


EDGES = np.array([0.0, -0.0, 1.0, -1.0, 6.0, 10.0, 20.0, 20.5, -20.0, 40.0, 700.0, -700.0, 1e4, -1e4, 1e-8])
CALLS = [
    ("leaky_relu", {"negative_slope": 0.1}), ("elu", {"alpha": 1.3}), ("softplus", {"beta": 2.0, "threshold": 20.0}),
    ("softplus", {}), ("hardtanh", {"min_val": -1.0, "max_val": 1.0}), ("relu6", {}), ("logsigmoid", {}),
    ("mish", {}), ("softsign", {}),
]


@pytest.mark.parametrize("name,kw", CALLS, ids=[f"{n}{sorted(k.items())}" for n, k in CALLS])
def test_kinks_bounds_and_huge_inputs_match_torch(torch: Any, name: str, kw: dict) -> None:
    x = Tensor(EDGES.copy(), requires_grad=True)
    tx = torch.tensor(EDGES, requires_grad=True)
    out = getattr(F, name)(x, **kw)
    tout = getattr(torch.nn.functional, name)(tx, **kw)
    R = np.linspace(-1.0, 2.0, EDGES.size)
    out.backward(R)
    tout.backward(torch.tensor(R))
    assert np.all(np.isfinite(out.data)) and np.all(np.isfinite(x.grad))
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-10, atol=1e-300)
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-10, atol=1e-300)


MODULES = [
    (nn.LeakyReLU(0.3), "LeakyReLU", (0.3,)), (nn.ELU(alpha=0.7), "ELU", (0.7,)),
    (nn.Softplus(beta=2.0, threshold=5.0), "Softplus", (2.0, 5.0)), (nn.Hardtanh(-0.5, 2.0), "Hardtanh", (-0.5, 2.0)),
    (nn.ReLU6(), "ReLU6", ()), (nn.LogSigmoid(), "LogSigmoid", ()), (nn.Mish(), "Mish", ()),
    (nn.Softsign(), "Softsign", ()),
]


@pytest.mark.parametrize("module,tname,args", MODULES, ids=[m[1] for m in MODULES])
def test_modules_match_torch_and_keep_float32(torch: Any, module: nn.Module, tname: str, args: tuple) -> None:
    x = np.random.default_rng(0).uniform(-4, 8, (3, 5))
    np.testing.assert_allclose(module(Tensor(x)).data, getattr(torch.nn, tname)(*args)(torch.tensor(x)).numpy(),
                               rtol=1e-13, atol=1e-15)
    out = module(Tensor(x.astype(np.float32), requires_grad=True))
    assert out.dtype == np.float32
    out.sum().backward()
    assert out._parents[0].grad.dtype == np.float32
    # integer inputs compute in float64, except where torch keeps them integers (clipping)
    assert module(np.arange(3)).dtype == (np.int64 if tname in ("Hardtanh", "ReLU6") else np.float64)


@pytest.mark.parametrize("module,tname,args", MODULES, ids=[m[1] for m in MODULES])
def test_grad_sample_through_each_activation_equals_each_sample_alone(module: nn.Module, tname: str,
                                                                       args: tuple) -> None:
    rng = np.random.default_rng(2)
    X, Y = rng.uniform(-3, 3, (5, 4)), rng.standard_normal((5, 2))
    model = nn.Sequential(nn.Linear(4, 6, rng=0), module, nn.Linear(6, 2, rng=1))
    ref: dict = {n: [] for n, _ in model.named_parameters()}
    for b in range(5):
        model.zero_grad()
        nn.mse_loss(model(Tensor(X[b:b + 1])), Y[b:b + 1]).backward(per_sample=False)
        for n, p in model.named_parameters():
            ref[n].append(p.grad.copy())
    model.zero_grad()
    nn.mse_loss(model(Tensor(X, batched=True)), Y).backward()
    for n, p in model.named_parameters():
        np.testing.assert_allclose(p.grad_sample, np.stack(ref[n]), rtol=1e-10, atol=1e-13, err_msg=n)
        np.testing.assert_allclose(p.grad_sample_norm, np.sqrt((np.stack(ref[n]).reshape(5, -1) ** 2).sum(1)),
                                   rtol=1e-10)


def test_an_activation_of_a_batch_statistic_mixes_samples() -> None:
    lin = nn.Linear(3, 2, rng=0)
    h = lin(Tensor(np.ones((4, 3)), batched=True)).mean(axis=0)
    F.elu(h).sum().backward()
    with pytest.raises(RuntimeError, match="elu"):
        _ = lin.weight.grad_sample


# ------------------------------------------------------------------------------- one_hot
def test_one_hot_matches_torch(torch: Any) -> None:
    idx = np.array([[0, 3], [2, 2], [1, 0]])
    for k in (-1, 4, 6):
        ours = F.one_hot(idx, k)
        theirs = torch.nn.functional.one_hot(torch.tensor(idx), k).numpy()
        assert ours.dtype == np.int64 and not ours.requires_grad
        np.testing.assert_array_equal(ours.data, theirs)
    assert F.one_hot(Tensor(np.array([1, 0]), batched=True), 3).batched
    assert F.one_hot(np.zeros(0, np.int64), 3).shape == (0, 3)


@pytest.mark.parametrize("fn,exc,match", [
    (lambda: F.one_hot(np.array([0, 3]), 3), ValueError, "one_hot: index 3 is out of range for num_classes=3"),
    (lambda: F.one_hot(np.array([0, -1])), ValueError, "one_hot: index -1"),
    (lambda: F.one_hot(np.array([0.0, 1.0])), TypeError, "one_hot: indices must be integers"),
    (lambda: F.one_hot(np.zeros(0, np.int64)), ValueError, "one_hot: cannot infer"),
    (lambda: F.one_hot(np.array([0]), 2.0), TypeError, "one_hot: num_classes"),
    (lambda: F.leaky_relu(Tensor([1.0]), inplace="yes"), TypeError, "leaky_relu: inplace must be a bool"),
    (lambda: F.leaky_relu(np.ones(2), inplace=True), TypeError, "leaky_relu: inplace=True needs a Tensor"),
    (lambda: F.elu(Tensor([1.0]), alpha="1"), TypeError, "elu: alpha"),
    (lambda: F.hardtanh(Tensor([1.0]), 2.0, 1.0), ValueError, "hardtanh: min_val"),
    (lambda: F.softplus(Tensor([1.0]), beta=0), ValueError, "softplus: beta"),
    (lambda: nn.Hardtanh(3.0, -3.0), ValueError, "Hardtanh: min_val"),
    (lambda: nn.ReLU6(inplace=1), TypeError, "ReLU6: inplace"),
    (lambda: nn.ReLU(inplace="yes"), TypeError, "ReLU: inplace"),
    (lambda: nn.Dropout(0.5, inplace=None), TypeError, "Dropout: inplace"),
    (lambda: nn.LeakyReLU(negative_slope=None), TypeError, "LeakyReLU: negative_slope"),
    (lambda: nn.Mish(inplace="no"), TypeError, "Mish: inplace"),
])
def test_bad_arguments_raise_naming_the_function(fn: Callable, exc: type, match: str) -> None:
    with pytest.raises(exc, match=match):
        fn()


def test_modules_print_their_constants() -> None:
    assert repr(nn.LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)"
    assert "beta=2.0, threshold=20.0" in repr(nn.Softplus(2.0))
    assert tl.nn.Softsign()(Tensor([3.0])).item() == 0.75


@pytest.mark.parametrize("make", [lambda: nn.ReLU(inplace=True), lambda: nn.ReLU6(inplace=True),
                                  lambda: nn.LeakyReLU(0.2, inplace=True), lambda: nn.ELU(inplace=True),
                                  lambda: nn.Hardtanh(-2.0, 2.0, inplace=True), lambda: nn.SiLU(inplace=True),
                                  lambda: nn.Mish(inplace=True), lambda: nn.Dropout(0.3, rng=0, inplace=True)])
def test_modules_take_torchs_inplace_flag_and_write_into_their_input(make: Callable) -> None:
    """A torch model's ``nn.ReLU(inplace=True)``: the output is the one of ``inplace=False``,
    written into the input, which is returned (code reading the input again sees it, as in
    torch); the gradient flows through the write. A leaf that requires grad is refused."""
    m = make()
    x = Tensor(np.linspace(-4.0, 4.0, 12).reshape(3, 4), requires_grad=True)
    plain = make()
    plain.inplace = False
    if isinstance(m, nn.Dropout):
        plain.rng = np.random.default_rng(0)  # the same mask
    x2 = Tensor(x.data.copy(), requires_grad=True)
    want = plain(x2 * 1.0)
    (2 * want).sum().backward()  # h + m(h) with h = m(h): twice the activation
    h = x * 1.0
    out = m(h)
    assert out is h
    np.testing.assert_array_equal(h.data, want.data)
    (h + out).sum().backward()
    np.testing.assert_array_equal(x.grad, x2.grad)
    assert "inplace=True" in repr(m)
    with pytest.raises(RuntimeError, match="in place"):
        make()(Tensor([1.0, -1.0], requires_grad=True))


def test_dropout_function_takes_inplace_as_the_activation_functions_do() -> None:
    x = Tensor(np.ones((2, 3)))
    y = F.dropout(x, 0.5, True, inplace=True, rng=0)
    assert y is x and set(np.unique(x.data)) <= {0.0, 2.0} and (x.data == 0).any()  # x itself was dropped out
    with pytest.raises(TypeError, match="dropout: inplace must be a bool"):
        F.dropout(x, 0.5, True, inplace="yes")
    assert F.dropout(x, 0.5, False, inplace=False) is x
