"""More hostile input: integer and bool inputs to functions whose results are fractions
(they must compute in float, never truncate silently), loss targets torch refuses, and
loaded optimizer states whose buffers arrive as integers; then a sweep of the newer parts
(linalg, the scatter family, layout, statistics, special functions, nn extras, optimizer
states) with NaN / empty / 0-d / wrong-dtype / out-of-range / absurd-size input: values
and gradients as torch's, refusals of torch's exception type that name the function and
change nothing. Each case is written with the input that used to give a wrong answer or an
obscure failure; references are torch in float64 or exact maths."""

from __future__ import annotations

import copy
import math
import re
import warnings
from typing import Any, Callable

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn, optim
from tinygrad_lite.nn import functional as F

INTS = np.array([[0, 1, 2, 0], [1, 2, 0, 1], [2, 2, 1, 0]])


# ------------------------------------------------------------------ integer inputs compute in float
@pytest.mark.parametrize("name", ["layer_norm", "group_norm", "mse_loss", "cross_entropy", "cross_entropy sum"])
def test_integer_inputs_of_fractional_functions_match_torch_in_float64(torch: Any, name: str) -> None:
    """An integer input is read as the numbers it holds: the result is torch's on the same
    numbers in float64 (never a truncated integer)."""
    tF = torch.nn.functional
    x, tx = tl.tensor(INTS), torch.tensor(INTS, dtype=torch.float64)
    labels = np.array([0, 3, 1])
    ours, theirs = {
        "layer_norm": (lambda: F.layer_norm(x, 4), lambda: tF.layer_norm(tx, (4,))),
        "group_norm": (lambda: F.group_norm(x, 2), lambda: tF.group_norm(tx, 2)),
        "mse_loss": (lambda: F.mse_loss(x, np.ones_like(INTS)), lambda: tF.mse_loss(tx, torch.ones_like(tx))),
        "cross_entropy": (lambda: F.cross_entropy(x, labels), lambda: tF.cross_entropy(tx, torch.tensor(labels))),
        "cross_entropy sum": (lambda: F.cross_entropy(x, labels, reduction="sum"),
                              lambda: tF.cross_entropy(tx, torch.tensor(labels), reduction="sum")),
    }[name]
    got, want = ours(), theirs().numpy()
    assert got.dtype.kind == "f", f"{name} of an integer input gave dtype {got.dtype}"
    np.testing.assert_allclose(got.data, want, rtol=1e-12, atol=1e-12)


def test_integer_inputs_of_the_norm_and_loss_modules_compute_in_float(torch: Any) -> None:
    tx = torch.tensor(INTS, dtype=torch.float64)
    np.testing.assert_allclose(nn.LayerNorm(4)(tl.tensor(INTS)).data,
                               torch.nn.LayerNorm(4, dtype=torch.float64)(tx).detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(nn.GroupNorm(2, 4)(tl.tensor(INTS)).data,
                               torch.nn.GroupNorm(2, 4, dtype=torch.float64)(tx).detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(nn.MSELoss()(tl.tensor(INTS), np.zeros_like(INTS)).data, (INTS ** 2).mean(),
                               rtol=1e-15)


@pytest.mark.parametrize("make", [
    lambda x, p: F.dropout(x, p, training=True, rng=0),
    lambda x, p: nn.Dropout(p, rng=0)(x),
    lambda x, p: F.dropout1d(x, p, training=True, rng=0),
    lambda x, p: nn.Dropout2d(p, rng=0)(x[..., None]),
])
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_])
def test_dropout_of_an_integer_input_scales_the_kept_values(make: Callable, dtype: Any) -> None:
    """Each kept value is x / (1 - p) exactly; an integer dtype used to truncate the scale
    1 / (1 - p) to 1 and return the input unscaled."""
    p = 0.3
    data = np.full((4, 5, 6), 7).astype(dtype)
    out = make(tl.tensor(data), p)
    assert out.dtype.kind == "f"
    x = np.broadcast_to(data.reshape(out.shape), out.shape).astype(np.float64)
    kept = out.data != 0
    assert kept.any() and (~kept).any()
    np.testing.assert_allclose(out.data[kept], x[kept] / (1 - p), rtol=1e-15)


# ------------------------------------------------------------------ loss targets torch refuses
@pytest.mark.parametrize("target", [[2.0, 0.0], [0.5, -0.5], [np.nan, 1.0]])
def test_binary_cross_entropy_refuses_a_target_outside_0_1_as_torch(torch: Any, target: list) -> None:
    x = tl.Tensor(np.array([0.5, 0.25]), requires_grad=True)
    with pytest.raises(RuntimeError, match="target"):
        torch.nn.functional.binary_cross_entropy(torch.tensor([0.5, 0.25]), torch.tensor(target))
    with pytest.raises(ValueError, match="binary_cross_entropy: every target value"):
        F.binary_cross_entropy(x, np.array(target))
    with pytest.raises(ValueError, match="binary_cross_entropy"):
        nn.BCELoss()(x, np.array(target))
    assert x.grad is None
    ok = np.array([1.0, 0.0])  # the edges themselves are targets
    np.testing.assert_allclose(F.binary_cross_entropy(x, ok).data,
                               torch.nn.functional.binary_cross_entropy(torch.tensor([0.5, 0.25], dtype=torch.float64),
                                                                        torch.tensor(ok)).item(), rtol=1e-14)


# ------------------------------------------------------------------ optimizer states loaded as integers
OPTIMIZERS = [
    ("SGD", lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9), "momentum_buffer"),
    ("Adam", lambda ps: optim.Adam(ps, lr=0.1), "exp_avg"),
    ("AdamW", lambda ps: optim.AdamW(ps, lr=0.1), "exp_avg_sq"),
    ("RMSprop", lambda ps: optim.RMSprop(ps, lr=0.1, momentum=0.5), "momentum_buffer"),
    ("Adagrad", lambda ps: optim.Adagrad(ps, lr=0.1), "sum"),
]
TORCH_OPT = {"SGD": ("SGD", {"lr": 0.1, "momentum": 0.9}), "Adam": ("Adam", {"lr": 0.1}),
             "AdamW": ("AdamW", {"lr": 0.1}), "RMSprop": ("RMSprop", {"lr": 0.1, "momentum": 0.5}),
             "Adagrad": ("Adagrad", {"lr": 0.1})}


@pytest.mark.parametrize("name,make,key", OPTIMIZERS)
@pytest.mark.parametrize("dtype", [np.int64, np.bool_])
def test_an_integer_state_buffer_is_loaded_in_the_parameters_dtype_and_steps_as_torch(
        torch: Any, name: str, make: Callable, key: str, dtype: Any) -> None:
    """torch casts a loaded buffer to its floating parameter's dtype; a buffer kept as an
    integer array used to make the next step fail in numpy's in-place arithmetic (after
    the step count had already moved)."""
    w = tl.Tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    opt = make([w])
    w.grad = np.array([0.5, -1.0, 2.0])
    opt.step()
    state = opt.state_dict()
    buffer = np.array([1, 2, 0]).astype(dtype)
    state["state"][0][key] = buffer
    opt.load_state_dict(copy.deepcopy(state))
    assert opt.state[w][key].dtype == np.float64
    opt.step()

    tw = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64, requires_grad=True)
    cls, kw = TORCH_OPT[name]
    topt = getattr(torch.optim, cls)([tw], **kw)
    tw.grad = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)
    topt.step()
    tstate = topt.state_dict()
    tstate["state"][0][key] = torch.tensor(buffer)
    topt.load_state_dict(tstate)
    assert topt.state[tw][key].dtype == torch.float64
    topt.step()
    np.testing.assert_allclose(w.data, tw.detach().numpy(), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(opt.state[w][key], topt.state[tw][key].numpy(), rtol=1e-13, atol=1e-15)


# ------------------------------------------------------------------ module attributes
@pytest.mark.parametrize("make,name", [(lambda: nn.Linear(2, 3, rng=0), "weight"),
                                       (lambda: nn.Linear(2, 3, rng=0), "bias"),
                                       (lambda: nn.BatchNorm1d(3), "running_mean"),
                                       (lambda: nn.BatchNorm1d(3), "num_batches_tracked")])
@pytest.mark.parametrize("value", [np.ones((3, 2)), 3.0, [1.0, 2.0], "w"])
def test_assigning_a_non_tensor_to_a_parameter_or_buffer_is_refused_as_torch(torch: Any, make: Callable, name: str,
                                                                             value: Any) -> None:
    """torch raises TypeError; here the parameter used to be replaced silently (it left
    ``parameters()`` and ``state_dict()``, so an optimizer trained a tensor no longer used)."""
    tm = torch.nn.Linear(2, 3) if name in ("weight", "bias") else torch.nn.BatchNorm1d(3)
    with pytest.raises(TypeError):
        setattr(tm, name, value)
    m = make()
    before = m.state_dict()
    held = getattr(m, name)
    with pytest.raises(TypeError, match=f"{type(m).__name__}: cannot assign .* {name!r}"):
        setattr(m, name, value)
    assert getattr(m, name) is held and list(m.state_dict()) == list(before)
    setattr(m, name, None)  # None is allowed, as in torch: the entry leaves the state dict
    assert name not in m.state_dict()


def test_a_plain_attribute_and_a_new_tensor_can_still_be_assigned() -> None:
    m = nn.Linear(2, 3, rng=0)
    m.note = np.ones(2)  # not a parameter or buffer: anything goes
    m.note = "text"
    w = tl.Tensor(np.zeros((3, 2)), requires_grad=True)
    m.weight = w
    assert m.weight is w and [p for p in m.parameters()][0] is w


@pytest.mark.parametrize("name", ["weight", "bias", "forward", "training"])
def test_register_buffer_over_an_existing_attribute_is_refused_as_torch(torch: Any, name: str) -> None:
    """torch: KeyError "attribute already exists"; here a parameter used to turn silently
    into a buffer (no longer trained)."""
    with pytest.raises(KeyError):
        torch.nn.Linear(2, 3).register_buffer(name, torch.zeros(1))
    m = nn.Linear(2, 3, rng=0)
    params = [id(p) for p in m.parameters()]
    with pytest.raises(KeyError, match=f"register_buffer: attribute {name!r} already exists"):
        m.register_buffer(name, np.zeros(1))
    assert [id(p) for p in m.parameters()] == params and list(m.state_dict()) == ["weight", "bias"]
    m.register_buffer("extra", np.zeros(1))  # a new name, and the same again, are fine
    m.register_buffer("extra", np.ones(1))
    assert m.state_dict()["extra"].tolist() == [1.0]


# ------------------------------------------------------------------ error messages that named the wrong cause
@pytest.mark.parametrize("sa,sb,why", [((4, 2, 3), (5, 3, 5), r"the leading \(batch\) axes \(4,\) and \(5,\)"),
                                       ((2, 2, 3), (3, 3, 4), r"the leading \(batch\) axes \(2,\) and \(3,\)"),
                                       ((4, 2, 3), (4, 2, 5), "a's last axis must match b's second-to-last"),
                                       ((2, 3), (2,), "a's last axis must match b's second-to-last")])
def test_matmul_names_which_axes_do_not_fit(torch: Any, sa: tuple, sb: tuple, why: str) -> None:
    """The inner axes of (4, 2, 3) @ (5, 3, 5) agree: the message used to blame them anyway."""
    with pytest.raises(RuntimeError):
        torch.ones(sa) @ torch.ones(sb)
    a = tl.Tensor(np.ones(sa), requires_grad=True)
    with pytest.raises(ValueError, match=rf"matmul: shapes .* not aligned \({why}"):
        a @ tl.Tensor(np.ones(sb))
    assert a.grad is None


@pytest.mark.parametrize("shape,dim", [((0, 3), None), ((0, 3), 0), ((0,), -1), ((2, 0), 1)])
@pytest.mark.parametrize("fn", ["argmax", "argmin"])
def test_argmax_of_an_empty_axis_names_the_function_and_shape(torch: Any, shape: tuple, dim: Any, fn: str) -> None:
    with pytest.raises((IndexError, RuntimeError)):
        getattr(torch.zeros(shape), fn)(dim)
    want = rf"{fn}: cannot reduce an empty axis of a tensor of shape {re.escape(str(shape))}"
    with pytest.raises(ValueError, match=want):
        getattr(tl.zeros(*shape), fn)(dim)
    if dim is not None and len(shape) == 2:  # an empty tensor along another axis is fine, as torch
        other = 1 - dim % 2
        np.testing.assert_array_equal(getattr(tl.zeros(*shape), fn)(other).data,
                                      getattr(torch.zeros(shape), fn)(other).numpy())


# ------------------------------------------------------------------ linalg: non-finite and empty matrices
NAN3 = np.full((3, 3), np.nan)


@pytest.mark.parametrize("name", ["linalg.svd", "linalg.svdvals", "linalg.pinv", "linalg.matrix_rank", "linalg.cond",
                                  "linalg.eigh", "linalg.eigvalsh", "svd"])
def test_a_decomposition_that_does_not_converge_raises_torchs_linalg_error_naming_the_function(torch: Any,
                                                                                               name: str) -> None:
    """A NaN matrix: numpy's own LinAlgError ("SVD did not converge", a ValueError naming no
    function) used to escape; torch raises its LinAlgError (a RuntimeError)."""
    def call(lib: Any, x: Any) -> Any:
        f = lib
        for part in name.split("."):
            f = getattr(f, part)
        return f(x)
    with pytest.raises(torch.linalg.LinAlgError):
        call(torch, torch.tensor(NAN3))
    with pytest.raises(tl.linalg.LinAlgError, match=rf"{name.split('.')[-1]}: .*converge.*shape \(3, 3\)") as e:
        call(tl, tl.tensor(NAN3))
    assert isinstance(e.value, RuntimeError)


@pytest.mark.parametrize("a", [NAN3, [[4.0, 1.0], [1.0, np.nan]], [[4.0, np.nan], [np.nan, 4.0]],
                               np.stack([np.eye(2), [[1.0, 0.0], [0.0, np.nan]]])])
def test_cholesky_of_a_nan_pivot_fails_as_torch(torch: Any, a: Any) -> None:
    """numpy's cholesky returns NaNs for these without complaint: cholesky returned them and
    cholesky_ex reported info 0 (success); torch fails at the NaN pivot."""
    a = np.asarray(a, dtype=float)
    with pytest.raises(torch.linalg.LinAlgError):
        torch.linalg.cholesky(torch.tensor(a))
    with pytest.raises(tl.linalg.LinAlgError, match=r"linalg.cholesky: .*not positive-definite"):
        tl.linalg.cholesky(tl.tensor(a))
    np.testing.assert_array_equal(tl.linalg.cholesky_ex(tl.tensor(a)).info.data,
                                  torch.linalg.cholesky_ex(torch.tensor(a)).info.numpy())


@pytest.mark.parametrize("shape", [(0, 0), (2, 0, 0), (0, 3), (3, 0), (0, 2, 2)])
@pytest.mark.parametrize("p", [None, 2, -2, "fro", "nuc", 1, -1, np.inf])
def test_cond_of_empty_matrices_is_zero_as_torch(torch: Any, shape: tuple, p: Any) -> None:
    """It used to fail in an index (IndexError from getitem) or a max over an empty axis."""
    try:
        want = torch.linalg.cond(torch.zeros(shape, dtype=torch.float64), p).numpy()
    except RuntimeError:  # 'fro' / 'nuc' of a non-square matrix
        with pytest.raises(RuntimeError, match="linalg.cond"):
            tl.linalg.cond(tl.zeros(*shape), p)
        return
    x = tl.zeros(*shape, requires_grad=True)
    got = tl.linalg.cond(x, p)
    np.testing.assert_array_equal(got.data, want)
    if got.data.size:
        got.sum().backward()
        np.testing.assert_array_equal(x.grad, np.zeros(shape))


def test_vecdot_of_numbers_and_svdvals_of_a_vector_as_torch(torch: Any) -> None:
    """vecdot of 0-d tensors is their product in torch (it was refused); svdvals of a vector
    raises torch's RuntimeError (it was a ValueError only)."""
    for dim in (-1, 0):
        np.testing.assert_allclose(tl.linalg.vecdot(tl.tensor(2.0), tl.tensor(-3.5), dim=dim).data,
                                   torch.linalg.vecdot(torch.tensor(2.0), torch.tensor(-3.5), dim=dim).numpy())
    with pytest.raises(IndexError):
        torch.linalg.vecdot(torch.tensor(2.0), torch.tensor(3.0), dim=1)
    with pytest.raises(IndexError, match="linalg.vecdot: dim 1"):
        tl.linalg.vecdot(tl.tensor(2.0), tl.tensor(3.0), dim=1)
    with pytest.raises(IndexError, match=r"linalg.vecdot: dim 2 .*\[-2, 1\]"):
        tl.linalg.vecdot(tl.ones(3, 2), tl.ones(3, 2), dim=2)
    with pytest.raises(RuntimeError):
        torch.linalg.svdvals(torch.ones(3))
    with pytest.raises(RuntimeError, match=r"svdvals: .*shape \(3,\)"):
        tl.linalg.svdvals(tl.ones(3))


# ------------------------------------------------------------------ layout and statistics
def test_unique_keeps_each_nan_apart_as_torch(torch: Any) -> None:
    """numpy's unique merges NaNs (equal_nan=True): unique gave one NaN with count 3."""
    x = np.array([np.nan, np.nan, 1.0, 2.0, np.nan, 1.0])
    got = tl.unique(tl.tensor(x), return_inverse=True, return_counts=True)
    want = torch.unique(torch.tensor(x), return_inverse=True, return_counts=True)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g.data, w.numpy())


@pytest.mark.parametrize("name", ["unique", "unique_consecutive"])
@pytest.mark.parametrize("dim", [0, -1])
def test_unique_of_a_0d_tensor_along_a_dim_raises_index_error_as_torch(torch: Any, name: str, dim: int) -> None:
    """It used to answer as if the number were a 1-element vector."""
    with pytest.raises(IndexError):
        getattr(torch, name)(torch.tensor(1.0), dim=dim)
    with pytest.raises(IndexError, match=rf"{name}: dim {dim} .*0-d"):
        getattr(tl.tensor(1.0), name)(dim=dim)


@pytest.mark.parametrize("name", ["quantile", "nanquantile"])
@pytest.mark.parametrize("shape,dim", [((3, 0), 0), ((0, 4), 1), ((0,), None), ((2, 0), None)])
def test_quantile_of_an_empty_input_raises_as_torch(torch: Any, name: str, shape: tuple, dim: Any) -> None:
    """Along a non-empty dim of an empty tensor it returned an empty result; torch refuses
    every empty input (RuntimeError)."""
    with pytest.raises(RuntimeError, match="non-empty"):
        getattr(torch, name)(torch.zeros(shape, dtype=torch.float64), 0.5, dim=dim)
    with pytest.raises(RuntimeError, match=rf"{name}: .*non-empty.*{re.escape(str(shape))}"):
        getattr(tl, name)(tl.zeros(*shape), 0.5, dim=dim)


@pytest.mark.parametrize("weights", [{"aweights": np.zeros(4)}, {"fweights": np.zeros(4, np.int64)},
                                     {"fweights": np.array([1, 0, 0, 0]), "aweights": np.array([0.0, 1, 1, 1])}])
def test_cov_with_weights_that_sum_to_zero_raises_as_torch(torch: Any, weights: dict) -> None:
    """It returned a matrix of NaN."""
    x = np.arange(8.0).reshape(2, 4)
    with pytest.raises(RuntimeError, match="sum to zero"):
        torch.cov(torch.tensor(x), **{k: torch.tensor(v) for k, v in weights.items()})
    with pytest.raises(RuntimeError, match="cov: the weights sum to zero"):
        tl.cov(tl.tensor(x), **{k: tl.tensor(v) for k, v in weights.items()})


@pytest.mark.parametrize("x,kw", [([1.0, np.nan], {}), ([1.0, np.inf], {}), ([1.0, 2.0], {"range": (0.0, np.inf)}),
                                  ([1.0, 2.0], {"range": (np.nan, 1.0)}), ([1.0, 2.0], {"bins": np.array([0.0])})])
def test_histogram_refusals_name_the_function_as_torch(torch: Any, x: list, kw: dict) -> None:
    """numpy's own message ('autodetected range of [nan, nan] is not finite') escaped without
    the function's name; one bin edge (no bin) was accepted."""
    bins = kw.get("bins", 3)
    rng = {"range": kw["range"]} if "range" in kw else {}
    with pytest.raises(RuntimeError):
        torch.histogram(torch.tensor(x), torch.tensor(bins) if isinstance(bins, np.ndarray) else bins, **rng)
    with pytest.raises(RuntimeError, match="histogram: "):
        tl.histogram(tl.tensor(x), tl.tensor(bins) if isinstance(bins, np.ndarray) else bins, **rng)


def test_histogram_with_a_finite_range_ignores_nan_and_empty_input_as_torch(torch: Any) -> None:
    for x, kw in (([1.0, np.nan], {"range": (0.0, 2.0)}), ([], {})):
        got = tl.histogram(tl.tensor(np.array(x, float)), 3, **kw)
        want = torch.histogram(torch.tensor(x, dtype=torch.float64), 3, **kw)
        np.testing.assert_array_equal(got.hist.data, want.hist.numpy())
        np.testing.assert_allclose(got.bin_edges.data, want.bin_edges.numpy(), rtol=1e-15)


# ------------------------------------------------------------------ optimizers and nn extras
def _adafactor_with_state() -> tuple:
    p, q = tl.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True), tl.Tensor(np.ones(3), requires_grad=True)
    opt = optim.Adafactor([p, q])
    for _ in range(2):
        p.grad, q.grad = np.full((2, 3), 0.3), np.full(3, -0.2)
        opt.step()
    return opt, p, q


@pytest.mark.parametrize("key,buf,value", [(0, "row_var", None), (0, "col_var", None), (1, "variance", None),
                                           (0, "row_var", np.ones((2, 1), complex)),
                                           (0, "col_var", np.array([[None, None, None]], dtype=object))])
def test_adafactor_refuses_a_loaded_state_without_its_moments_and_changes_nothing(key: int, buf: str,
                                                                                 value: Any) -> None:
    """A state lacking row_var (or variance) loaded, and the next step failed with a bare
    KeyError; a complex or object moment loaded too. Now load_state_dict refuses them and
    keeps the state it had."""
    good, _, _ = _adafactor_with_state()
    sd = copy.deepcopy(good.state_dict())
    if value is None:
        del sd["state"][key][buf]
    else:
        sd["state"][key][buf] = value
    opt, p, q = _adafactor_with_state()
    before = copy.deepcopy(opt.state_dict())
    with pytest.raises(ValueError, match=rf"parameter {key}.*{buf}|{buf}.*parameter {key}"):
        opt.load_state_dict(sd)
    after = opt.state_dict()
    for i in (0, 1):
        for name, v in before["state"][i].items():
            np.testing.assert_array_equal(after["state"][i][name], v)
    p.grad, q.grad = np.ones((2, 3)), np.ones(3)
    opt.step()  # the kept state still steps


def test_sparse_adam_refuses_eps_zero_as_torch(torch: Any) -> None:
    with pytest.raises(ValueError):
        torch.optim.SparseAdam([torch.zeros(2, requires_grad=True)], eps=0.0)
    with pytest.raises(ValueError, match="eps"):
        optim.SparseAdam([tl.Tensor(np.zeros(2), requires_grad=True)], eps=0.0)
    opt = optim.SparseAdam([tl.Tensor(np.zeros(2), requires_grad=True)])
    sd = opt.state_dict()
    sd["param_groups"][0]["eps"] = 0.0
    with pytest.raises(ValueError, match="eps"):
        opt.load_state_dict(sd)
    assert opt.param_groups[0]["eps"] == 1e-8


def test_spectral_norm_refuses_zero_power_iterations_as_torch(torch: Any) -> None:
    """The hook form accepted 0 (sigma never estimated), torch refuses it; the module is untouched."""
    with pytest.raises(ValueError):
        torch.nn.utils.spectral_norm(torch.nn.Linear(3, 2), n_power_iterations=0)
    m = nn.Linear(3, 2)
    w = m.weight
    with pytest.raises(ValueError, match="spectral_norm: n_power_iterations"):
        nn.utils.spectral_norm(m, n_power_iterations=0)
    assert m.weight is w and "weight" in dict(m.named_parameters())


def test_weight_norm_twice_says_so_as_torch(torch: Any) -> None:
    """The second call said 'no parameter named weight' (a ValueError); torch raises a
    RuntimeError that names the existing hook."""
    with pytest.warns(FutureWarning):
        tm = torch.nn.utils.weight_norm(torch.nn.Linear(3, 2))
    with pytest.raises(RuntimeError, match="weight_norm"):
        torch.nn.utils.weight_norm(tm)
    with pytest.warns(FutureWarning):
        m = nn.utils.weight_norm(nn.Linear(3, 2))
    with pytest.warns(FutureWarning), pytest.raises(RuntimeError, match="weight_norm: 'weight' of Linear already has"):
        nn.utils.weight_norm(m)


def test_a_parametrization_that_changes_the_dtype_is_refused_as_torch(torch: Any) -> None:
    class TInt(torch.nn.Module):
        def forward(self, X: Any) -> Any:
            return X.int()

    class Int(nn.Module):
        def forward(self, X: Any) -> Any:
            return X.int()

    with pytest.raises(ValueError, match="dtype"):
        torch.nn.utils.parametrize.register_parametrization(torch.nn.Linear(3, 3), "weight", TInt())
    m = nn.Linear(3, 3)
    w = m.weight
    with pytest.raises(ValueError, match="register_parametrization: .*dtype float64.*'weight'.*int32"):
        nn.utils.parametrize.register_parametrization(m, "weight", Int())
    assert m.weight is w and type(m) is nn.Linear
    nn.utils.parametrize.register_parametrization(m, "weight", Int(), unsafe=True)
    assert m.weight.dtype == np.int32


# ------------------------------------------------------------------ special functions
def test_sinc_gradient_at_a_tiny_input_is_a_number_as_torch(torch: Any) -> None:
    """(pi a cos(pi a) - sin(pi a)) / (pi a^2) is 0/0 once a^2 underflows: the gradient was NaN
    at a = 1e-300 or a subnormal a, where torch gives a number; it is -pi^2 a / 3 there."""
    xs = np.array([-1e-320, 1e-320, 1e-300, -1e-160, 1e-9, 0.5, -2.3, 0.0])
    x = tl.tensor(xs, requires_grad=True)
    tl.sinc(x).sum().backward()
    t = torch.tensor(xs, requires_grad=True)
    torch.sinc(t).sum().backward()
    assert np.isfinite(x.grad).all()
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-12, atol=1e-14)
    for v, g in zip(xs[:4], x.grad[:4]):  # the exact derivative to first order (subnormal digits aside)
        assert g == pytest.approx(-math.pi ** 2 * v / 3, rel=1e-12, abs=1e-322)
    x32 = tl.tensor(xs.astype(np.float32), requires_grad=True)
    tl.sinc(x32).sum().backward()
    assert x32.grad.dtype == np.float32 and np.isfinite(x32.grad).all()


@pytest.mark.parametrize("q", [0.5, 0.0, 1.0, [0.2, 0.9]])
def test_nanquantile_of_an_all_nan_row_sends_its_gradient_where_torch_does(torch: Any, q: Any) -> None:
    """The value is NaN; the gradient went to the row's last element, torch's to its first."""
    x = np.array([[np.nan, np.nan, np.nan], [1.0, np.nan, 2.0]])
    a, t = tl.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    qa, qt = (tl.tensor(np.array(q)), torch.tensor(q, dtype=torch.float64)) if isinstance(q, list) else (q, q)
    out, want = tl.nanquantile(a, qa, -1), torch.nanquantile(t, qt, -1)
    np.testing.assert_array_equal(out.data, want.detach().numpy())
    g = np.random.default_rng(0).standard_normal(out.shape)
    (out * tl.tensor(g)).sum().backward()
    (want * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(a.grad, t.grad.numpy(), rtol=1e-12, atol=1e-15)


# ------------------------------------------------------------------ the scatter family raises torch's exception types
_X34 = np.arange(12.0).reshape(3, 4)
_IDX = np.array([[0, 1, 2, 0], [1, 2, 0, 1]])
_SCATTER_BAD = {  # name: (function name in the message, call(lib, x, as_tensor))
    "scatter index out of range": ("scatter", lambda L, x, T: L.scatter(x, 0, T(np.array([[3, 0, 0, 0]])), T(_X34))),
    "scatter negative index": ("scatter", lambda L, x, T: L.scatter(x, 0, T(np.array([[-1, 0, 0, 0]])), T(_X34))),
    "scatter_add float index": ("scatter_add", lambda L, x, T: L.scatter_add(x, 0, T(np.zeros((1, 4))), T(_X34))),
    "scatter_add int src": ("scatter_add", lambda L, x, T: L.scatter_add(x, 0, T(_IDX), T(_IDX))),
    "scatter index larger than src": ("scatter", lambda L, x, T: L.scatter(x, 0, T(np.zeros((4, 4), np.int64)),
                                                                          T(_X34))),
    "scatter index axes": ("scatter", lambda L, x, T: L.scatter(x, 0, T(np.zeros((2, 4, 1), np.int64)), T(_X34))),
    "scatter_reduce unknown reduce": ("scatter_reduce", lambda L, x, T: L.scatter_reduce(x, 0, T(_IDX), T(_X34),
                                                                                        "bad")),
    "scatter_reduce_ out of range": ("scatter_reduce", lambda L, x, T: x.scatter_reduce_(
        0, T(np.array([[0, 1, 2, 0], [0, 0, 0, 9]])), T(np.ones((2, 4))), "prod")),
    "index_reduce unknown reduce": ("index_reduce", lambda L, x, T: L.index_reduce(x, 0, T(np.array([0, 1, 2])),
                                                                                  T(_X34), "sum")),
    "index_reduce_ out of range": ("index_reduce", lambda L, x, T: x.index_reduce_(0, T(np.array([0, 7])),
                                                                                  T(np.ones((2, 4))), "amax")),
    "index_reduce source shape": ("index_reduce", lambda L, x, T: L.index_reduce(x, 0, T(np.array([0, 1])),
                                                                                T(_X34), "prod")),
    "index_put values shape": ("index_put", lambda L, x, T: L.index_put(x, (T(np.array([0, 1])),), T(_X34))),
    "take float index": ("take", lambda L, x, T: L.take(x, T(np.array([0.0])))),
    "take_along_dim index axes": ("take_along_dim", lambda L, x, T: L.take_along_dim(x, T(np.array([0, 1])), 0)),
    "take_along_dim broadcast": ("take_along_dim", lambda L, x, T: L.take_along_dim(x, T(np.array([[0, 1]])), 0)),
    "take_along_dim flat out of range": ("take_along_dim", lambda L, x, T: L.take_along_dim(x, T(np.array([12])))),
    "masked_scatter_ short source": ("masked_scatter", lambda L, x, T: x.masked_scatter_(
        T(np.ones((3, 4), bool)), T(np.ones(5)))),
    "select_scatter src shape": ("select_scatter", lambda L, x, T: L.select_scatter(x, T(np.ones(3)), 0, 0)),
    "slice_scatter step 0": ("slice_scatter", lambda L, x, T: L.slice_scatter(x, T(_X34), step=0)),
    "slice_scatter src shape": ("slice_scatter", lambda L, x, T: L.slice_scatter(x, T(_X34), start=1)),
    "diagonal_scatter same dims": ("diagonal_scatter", lambda L, x, T: L.diagonal_scatter(x, T(np.ones(3)), 0, 0, 0)),
    "diagonal_scatter src shape": ("diagonal_scatter", lambda L, x, T: L.diagonal_scatter(x, T(np.ones(2)))),
}


@pytest.mark.parametrize("case", sorted(_SCATTER_BAD))
def test_scatter_family_refusals_have_torchs_type_name_the_function_and_change_nothing(torch: Any,
                                                                                       case: str) -> None:
    """These raised ValueError / TypeError / IndexError where torch raises RuntimeError; each is
    now also a RuntimeError (and still the old type), names the function, and writes nothing."""
    who, call = _SCATTER_BAD[case]
    tx = torch.tensor(_X34)
    with pytest.raises(Exception) as want:
        call(torch, tx, torch.tensor)
    x = tl.tensor(_X34.copy())
    with pytest.raises(type(want.value), match=rf"{who}: ") as got:
        call(tl, x, tl.tensor)
    assert isinstance(got.value, (ValueError, TypeError, IndexError))
    np.testing.assert_array_equal(x.data, _X34)


# ------------------------------------------------------------------ layout, statistics and linalg raise torch's types
_F = np.arange(12.0).reshape(3, 4)
_BAD_ARGS = {  # name: (function name in the message, call(lib, T)), T makes a tensor of the library
    "tile negative": ("tile", lambda L, T: L.tile(T(_F), (-1,))),
    "broadcast_to fewer axes": ("broadcast_to", lambda L, T: L.broadcast_to(T(_F), (4,))),
    "broadcast_to size": ("broadcast_to", lambda L, T: L.broadcast_to(T(_F), (3, 1))),
    "rot90 same dims": ("rot90", lambda L, T: L.rot90(T(_F), 1, (0, 0))),
    "rot90 three dims": ("rot90", lambda L, T: L.rot90(T(_F), 1, (0, 1, 2))),
    "rot90 vector": ("rot90", lambda L, T: L.rot90(T(np.ones(3)), 1, (0, 1))),
    "tensor_split zero sections": ("tensor_split", lambda L, T: L.tensor_split(T(_F), 0)),
    "tensor_split float indices": ("tensor_split", lambda L, T: L.tensor_split(T(_F), T(np.array([1.0, 2.0])))),
    "tensor_split 0-d": ("tensor_split", lambda L, T: L.tensor_split(T(np.array(1.0)), 2)),
    "hsplit not divisible": ("hsplit", lambda L, T: L.hsplit(T(_F), 3)),
    "vsplit vector": ("vsplit", lambda L, T: L.vsplit(T(np.ones(4)), 2)),
    "dsplit matrix": ("dsplit", lambda L, T: L.dsplit(T(_F), 2)),
    "unfold size too large": ("unfold", lambda L, T: T(_F).unfold(1, 5, 1)),
    "unfold step 0": ("unfold", lambda L, T: T(_F).unfold(1, 2, 0)),
    "unfold negative size": ("unfold", lambda L, T: T(_F).unfold(1, -1, 1)),
    "unique empty other axis": ("unique", lambda L, T: L.unique(T(np.zeros((0, 3))), dim=1)),
    "kthvalue k 0": ("kthvalue", lambda L, T: L.kthvalue(T(_F), 0, 0)),
    "kthvalue k too large": ("kthvalue", lambda L, T: L.kthvalue(T(_F), 4, 0)),
    "quantile q out of range": ("quantile", lambda L, T: L.quantile(T(_F), 1.5)),
    "quantile q dtype": ("quantile", lambda L, T: L.quantile(T(_F), T(np.array([1, 0])))),
    "quantile integer input": ("quantile", lambda L, T: L.quantile(T(np.array([1, 2, 3])), 0.5)),
    "quantile interpolation": ("quantile", lambda L, T: L.quantile(T(_F), 0.5, interpolation="bad")),
    "nanmean integer input": ("nanmean", lambda L, T: L.nanmean(T(np.array([1, 2])))),
    "cov 3-d": ("cov", lambda L, T: L.cov(T(np.ones((2, 3, 4))))),
    "cov float fweights": ("cov", lambda L, T: L.cov(T(_F), fweights=T(np.ones(4)))),
    "cov negative aweights": ("cov", lambda L, T: L.cov(T(_F), aweights=T(np.array([1.0, -2.0, 1.0, 1.0])))),
    "cov fweights length": ("cov", lambda L, T: L.cov(T(_F), fweights=T(np.array([1, 2, 1])))),
    "histogram weight shape": ("histogram", lambda L, T: L.histogram(T(_F.ravel()), 3, weight=T(np.ones(5)))),
    "qr mode": ("linalg.qr", lambda L, T: L.linalg.qr(T(_F), mode="bad")),
    "eigh UPLO": ("linalg.eigh", lambda L, T: L.linalg.eigh(T(np.eye(3)), UPLO="X")),
    "vander N": ("linalg.vander", lambda L, T: L.linalg.vander(T(np.arange(3.0)), N=0)),
    "cond p": ("linalg.cond", lambda L, T: L.linalg.cond(T(np.eye(3)), 3)),
    "multi_dot one matrix": ("linalg.multi_dot", lambda L, T: L.linalg.multi_dot([T(np.eye(3))])),
    "affine_grid theta batch": ("affine_grid", lambda L, T: L.nn.functional.affine_grid(
        T(np.zeros((2, 2, 3))), (3, 1, 4, 5), align_corners=False)),
    "grid_sample grid batch": ("grid_sample", lambda L, T: L.nn.functional.grid_sample(
        T(np.ones((2, 1, 4, 5))), T(np.zeros((1, 3, 4, 2))), align_corners=False)),
    "grid_sample grid last axis": ("grid_sample", lambda L, T: L.nn.functional.grid_sample(
        T(np.ones((2, 1, 4, 5))), T(np.zeros((2, 3, 4, 1))), align_corners=False)),
    "grid_sample empty plane": ("grid_sample", lambda L, T: L.nn.functional.grid_sample(
        T(np.ones((2, 1, 0, 5))), T(np.zeros((2, 3, 4, 2))), align_corners=False)),
}


@pytest.mark.parametrize("case", sorted(_BAD_ARGS))
def test_layout_stats_and_linalg_refusals_have_torchs_type_and_name_the_function(torch: Any, case: str) -> None:
    """These were ValueError / TypeError / IndexError only, where torch raises RuntimeError
    (broadcast_to's message named expand); they are now both."""
    who, call = _BAD_ARGS[case]
    with pytest.raises(Exception) as want:
        call(torch, torch.tensor)
    assert isinstance(want.value, RuntimeError), want.value
    with pytest.raises(RuntimeError, match=rf"{re.escape(who)}: ") as got:
        call(tl, tl.tensor)
    assert isinstance(got.value, (ValueError, TypeError, IndexError))


# ------------------------------------------------------------------ absurd sizes
_HUGE = {  # name: (function name in the message, call(lib, T)); every size is past the address space
    "hann_window": ("hann_window", lambda L, T: L.hann_window(2 ** 60)),
    "kaiser_window": ("kaiser_window", lambda L, T: L.kaiser_window(2 ** 60)),
    "bartlett_window": ("bartlett_window", lambda L, T: L.bartlett_window(2 ** 60)),
    "vander": ("linalg.vander", lambda L, T: L.linalg.vander(T(np.ones(3)), N=2 ** 60)),
    "histogram": ("histogram", lambda L, T: L.histogram(T(np.ones(3)), 2 ** 60)),
    "affine_grid": ("affine_grid", lambda L, T: L.nn.functional.affine_grid(T(np.ones((1, 2, 3))),
                                                                            (1, 1, 2 ** 30, 2 ** 30),
                                                                            align_corners=False)),
    "tile": ("tile", lambda L, T: L.tile(T(np.ones((3, 4))), (2 ** 60,))),
}


@pytest.mark.parametrize("case", sorted(_HUGE))
def test_an_absurd_size_raises_an_error_naming_the_function(torch: Any, case: str) -> None:
    """numpy's refusal to allocate ('Unable to allocate 8.00 EiB ...', or 'array is too big')
    escaped without the function's name; torch raises a RuntimeError. Now it is an
    AllocationError: a MemoryError and a RuntimeError that names the function."""
    who, call = _HUGE[case]
    with pytest.raises(RuntimeError):
        call(torch, torch.tensor)
    with pytest.raises(MemoryError, match=rf"{re.escape(who)}: the result .*is too large to allocate") as e:
        call(tl, tl.tensor)
    assert isinstance(e.value, RuntimeError)


def test_affine_grid_refuses_an_overflowing_size_before_allocating_anything() -> None:
    """affine_grid built two 2**30-point coordinate axes (8 GB each) before numpy refused the
    grid, and the process could be killed for memory. It now refuses at once, naming the
    result's shape (run under a 1 GB address-space limit, so a regression cannot hurt)."""
    import subprocess
    import sys
    code = ("import resource, numpy as np, tinygrad_lite as tl\n"
            "resource.setrlimit(resource.RLIMIT_AS, (2 ** 30, 2 ** 30))\n"
            "try:\n"
            "    tl.nn.functional.affine_grid(tl.tensor(np.ones((1, 2, 3))), (1, 1, 2 ** 30, 2 ** 30),"
            " align_corners=False)\n"
            "except MemoryError as e:\n"
            "    print(type(e).__name__, e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "AllocationError affine_grid: the result of shape (1, 1073741824, 1073741824, 2)" in out.stdout, \
        out.stdout + out.stderr


@pytest.mark.parametrize("call", [
    lambda L: L.polygamma(1.5, L.tensor([1.0])), lambda L: L.polygamma(True, L.tensor([1.0])),
    lambda L: L.polygamma(-1, L.tensor([1.0])), lambda L: L.hann_window(2.5), lambda L: L.kaiser_window(True),
    lambda L: L.hamming_window(-1), lambda L: L.logspace(0, 1, -1), lambda L: L.logspace(0, 1, 2.5)])
def test_counts_and_orders_that_are_not_ints_or_are_negative_raise_torchs_types(torch: Any, call: Any) -> None:
    """A float or bool count was a ValueError (torch: TypeError); a negative one a ValueError
    only (torch: RuntimeError)."""
    with pytest.raises((TypeError, RuntimeError)) as want:
        call(torch)
    with pytest.raises(type(want.value), match=r"(polygamma|_window|logspace): "):
        call(tl)


def test_polygamma_takes_a_0d_integer_tensor_order_as_torch(torch: Any) -> None:
    x = np.array([0.5, 1.0, 3.0])
    np.testing.assert_allclose(tl.polygamma(tl.tensor(np.array(2)), tl.tensor(x)).data,
                               torch.polygamma(torch.tensor(2), torch.tensor(x)).numpy(), rtol=1e-12)


@pytest.mark.parametrize("who,call", [
    ("gcd", lambda L: L.gcd(L.tensor([1]), None)), ("float_power", lambda L: L.float_power(L.tensor([1.0]), "a")),
    ("logaddexp", lambda L: L.logaddexp(L.tensor([1.0]), None)),
    ("copysign", lambda L: L.copysign(L.tensor([1.0]), "x")),
    ("fmax", lambda L: L.fmax(L.tensor([1.0]), None)),
    ("scatter_add", lambda L: L.scatter_add(L.tensor([1.0]), 0, L.tensor([0]), None)),
    ("index_put", lambda L: L.index_put(L.tensor([1.0]), (L.tensor([0]),), None)),
    ("masked_scatter", lambda L: L.masked_scatter(L.tensor([1.0]), L.tensor([True]), None))])
def test_a_non_numeric_operand_is_a_type_error_naming_the_function(torch: Any, who: str, call: Any) -> None:
    """The message was 'cannot use an object of type NoneType ... as a tensor operand', naming
    no function."""
    with pytest.raises(TypeError):
        call(torch)
    with pytest.raises(TypeError, match=rf"^{who}: "):
        call(tl)


@pytest.mark.parametrize("shape,out", [((1, 0, 6, 6), 1), ((1, 1, 0, 6), 1), ((1, 6, 0), 1), ((1, 1, 6, 6), 6),
                                       ((1, 1, 6, 6), (3, 7))])
def test_fractional_max_pool_refuses_empty_planes_and_outputs_that_do_not_fit_as_torch(torch: Any, shape: tuple,
                                                                                       out: Any) -> None:
    """An input with no channels returned an empty result (torch refuses it); the refusals
    were ValueErrors only (torch: RuntimeError)."""
    with pytest.raises(RuntimeError):
        torch.nn.FractionalMaxPool2d(2, output_size=out)(torch.rand(*shape))
    with pytest.raises(RuntimeError, match=r"fractional_max_pool2d: .*shape"):
        nn.FractionalMaxPool2d(2, output_size=out)(tl.tensor(np.random.default_rng(0).random(shape)))
    assert nn.FractionalMaxPool2d(2, output_size=2)(tl.zeros(0, 1, 6, 6)).shape == (0, 1, 2, 2)


@pytest.mark.parametrize("a", [[[np.nan, 1.0], [1.0, 2.0]], [[1.0, 2.0], [3.0, np.nan]], [[0.0, 0.0], [0.0, np.nan]],
                               np.full((2, 3, 3), np.nan)])
def test_det_and_slogdet_of_a_matrix_with_nan_are_nan_with_sign_0_quietly_as_torch(torch: Any, a: Any) -> None:
    """numpy warned (RuntimeWarning: invalid value encountered in det) and gave slogdet sign 1,
    or det 0 and log|det| -inf when it met a zero pivot before the NaN."""
    a = np.asarray(a)
    x, t = tl.tensor(a), torch.tensor(a)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = tl.linalg.slogdet(x), tl.linalg.det(x), x.logdet(), x.slogdet()
    want = torch.linalg.slogdet(t)
    np.testing.assert_array_equal(got[0].sign.data, want.sign.numpy())
    np.testing.assert_array_equal(got[0].logabsdet.data, want.logabsdet.numpy())
    np.testing.assert_array_equal(got[1].data, torch.linalg.det(t).numpy())
    np.testing.assert_array_equal(got[2].data, torch.logdet(t).numpy())
    np.testing.assert_array_equal(got[3].sign.data, want.sign.numpy())


@pytest.mark.parametrize("name", ["bitwise_left_shift", "bitwise_right_shift"])
def test_shifting_a_bool_tensor_by_a_bool_is_refused_as_torch(torch: Any, name: str) -> None:
    """It gave an integer result; torch refuses a shift whose result would be bool. A bool
    tensor shifted by an int (an int result) works in both."""
    for other in (lambda L: L.tensor([True, False]), lambda L: True):
        with pytest.raises(RuntimeError):
            getattr(torch, name)(torch.tensor([True, False]), other(torch))
        with pytest.raises(RuntimeError, match=rf"{name}: a bool tensor cannot be shifted by a bool") as e:
            getattr(tl, name)(tl.tensor([True, False]), other(tl))
        assert isinstance(e.value, TypeError)
    np.testing.assert_array_equal(getattr(tl, name)(tl.tensor([True, False]), 1).data,
                                  getattr(torch, name)(torch.tensor([True, False]), 1).numpy())
    np.testing.assert_array_equal(getattr(tl, name)(tl.tensor([4, 8]), tl.tensor([True, False])).data,
                                  getattr(torch, name)(torch.tensor([4, 8]), torch.tensor([True, False])).numpy())


@pytest.mark.parametrize("a", [[[np.inf, 1.0], [1.0, np.inf]], [[np.nan, 1.0], [1.0, 2.0]], [[np.inf, 0.0], [0.0, 1.0]],
                               [[0.0, 0.0], [0.0, 0.0]], [[2.0, 1.0], [1.0, 3.0]]])
@pytest.mark.parametrize("p", ["fro", 1, -1, np.inf, -np.inf])
def test_cond_through_the_inverse_is_inf_where_the_inverse_is_not_finite_as_torch(torch: Any, a: list,
                                                                                  p: Any) -> None:
    """A NaN or infinite entry made the condition number NaN (and numpy warned); torch gives inf."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = tl.linalg.cond(tl.tensor(np.array(a)), p).data
    np.testing.assert_array_equal(got, torch.linalg.cond(torch.tensor(a, dtype=torch.float64), p).numpy())


def test_pinv_takes_rcond_and_float_power_a_number_base_as_torch(torch: Any) -> None:
    """pinv(A, rcond) (torch's older spelling of rtol) was a TypeError; float_power(2, t) was
    refused ('input must be a Tensor')."""
    a = np.random.default_rng(3).standard_normal((3, 4))
    want = torch.linalg.pinv(torch.tensor(a), 0.5).numpy()
    np.testing.assert_allclose(tl.linalg.pinv(tl.tensor(a), 0.5).data, want, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(tl.linalg.pinv(tl.tensor(a), rcond=0.5).data, want, rtol=1e-12, atol=1e-14)
    with pytest.raises(TypeError):
        torch.linalg.pinv(torch.tensor(a), rcond=0.5, rtol=0.5)
    with pytest.raises(TypeError, match="linalg.pinv"):
        tl.linalg.pinv(tl.tensor(a), rcond=0.5, rtol=0.5)
    e = np.array([1.0, 2.0, -0.5])
    x, t = tl.tensor(e, requires_grad=True), torch.tensor(e, requires_grad=True)
    out, ref = tl.float_power(2, x), torch.float_power(2, t)
    out.sum().backward()
    ref.sum().backward()
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-15)
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-15)
