"""Per-sample and batch gradients from one backward() (API.md, "Per-sample and batch gradients").

The reference for every per-sample gradient is the plain (non-batched) backward run on
sample b alone, with the same reduction applied to that single sample; the reference for
``.grad`` is the plain backward over the whole batch. When torch is importable the MLP
results are also checked against ``torch.func.vmap(torch.func.grad(...))``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_lite as tl
from tinygrad_lite import Tensor, nn

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid}
TOL = {np.float64: 1e-10, np.float32: 2e-5}
N_IN, N_HIDDEN, N_OUT = 4, 6, 3


# ----------------------------------------------------------------------------- helpers


def assert_close(actual: np.ndarray, expected: np.ndarray, dtype: Any = np.float64, what: str = "") -> None:
    """Equal to float rounding: relative ``TOL[dtype]``, absolute the same fraction of max |expected|."""
    expected = np.asarray(expected)
    assert np.shape(actual) == expected.shape, f"{what}: shape {np.shape(actual)} != {expected.shape}"
    tol = TOL[np.dtype(dtype).type]
    scale = max(float(np.max(np.abs(expected), initial=0.0)), 1e-30)
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol * scale, err_msg=what)


def make_mlp(act: str, seed: int = 0, dtype: Any = np.float64, n_out: int = N_OUT) -> nn.Sequential:
    """Linear -> act -> Linear -> act -> Linear, weights fixed by ``seed``, cast to ``dtype``."""
    A = ACTIVATIONS[act]
    model = nn.Sequential(nn.Linear(N_IN, N_HIDDEN, rng=seed), A(),
                          nn.Linear(N_HIDDEN, N_HIDDEN, rng=seed + 1), A(),
                          nn.Linear(N_HIDDEN, n_out, rng=seed + 2))
    for p in model.parameters():
        p.data = p.data.astype(dtype)
    return model


def make_data(B: int, loss: str, dtype: Any = np.float64, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Inputs (B, N_IN) and targets: floats (B, N_OUT) for mse, class indices (B,) for cross-entropy."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((B, N_IN)).astype(dtype)
    if loss == "mse":
        return X, rng.standard_normal((B, N_OUT)).astype(dtype)
    return X, rng.integers(0, N_OUT, size=B)


def cost_of(loss: str, out: Tensor, target: Any, reduction: str) -> Tensor:
    if loss == "mse":
        return nn.mse_loss(out, target, reduction=reduction)
    return nn.cross_entropy(out, target, reduction=reduction)


def target_tensor(T: np.ndarray, batched_target: bool) -> Any:
    """Targets as a batched Tensor, or as the plain numpy array."""
    return Tensor(T, batched=True) if batched_target else T


def mlp_grads(act: str, loss: str, reduction: str, X: np.ndarray, T: np.ndarray, batched: bool,
              dtype: Any = np.float64, batched_target: bool = False) -> nn.Sequential:
    """A fresh model after one backward of the cost on (X, T)."""
    model = make_mlp(act, dtype=dtype)
    x = Tensor(X, batched=batched)
    out = model(x)
    assert out.batched == batched
    cost = cost_of(loss, out, target_tensor(T, batched and batched_target), reduction)
    cost.backward()
    return model


def per_sample_reference(act: str, loss: str, reduction: str, X: np.ndarray, T: np.ndarray,
                         dtype: Any = np.float64) -> dict[str, np.ndarray]:
    """For each parameter name, the stacked gradients of running each sample alone (plain backward)."""
    rows: dict[str, list] = {}
    for b in range(len(X)):
        model = mlp_grads(act, loss, reduction, X[b:b + 1], T[b:b + 1], False, dtype)
        for name, p in model.named_parameters():
            assert p.grad_sample is None
            rows.setdefault(name, []).append(p.grad)
    return {k: np.stack(v) for k, v in rows.items()}


def reduce_samples(gs: np.ndarray, reduction: str) -> np.ndarray:
    return gs.mean(axis=0) if reduction == "mean" else gs.sum(axis=0)


# ----------------------------------------------------------------------------- 1. MLPs and losses


@pytest.mark.parametrize("batched_target", [False, True], ids=["target-plain", "target-batched"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("B", [1, 5, 32])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("loss", ["mse", "xent"])
@pytest.mark.parametrize("act", sorted(ACTIVATIONS))
def test_mlp_one_backward_gives_batch_and_per_sample_gradients(act: str, loss: str, reduction: str, B: int,
                                                               dtype: Any, batched_target: bool) -> None:
    X, T = make_data(B, loss, dtype, seed=B)
    model = mlp_grads(act, loss, reduction, X, T, True, dtype, batched_target)
    ref = per_sample_reference(act, loss, reduction, X, T, dtype)
    plain = dict(mlp_grads(act, loss, reduction, X, T, False, dtype).named_parameters())
    for name, p in model.named_parameters():
        gs = p.grad_sample
        assert gs is not None, name
        assert gs.shape == (B,) + p.shape, name
        assert gs.dtype == p.dtype == np.dtype(dtype), name
        assert p.grad.dtype == np.dtype(dtype), name
        assert_close(gs, ref[name], dtype, f"grad_sample of {name}")
        assert_close(p.grad, reduce_samples(gs, reduction), dtype, f"grad vs reduced grad_sample of {name}")
        assert_close(p.grad, plain[name].grad, dtype, f"grad vs plain backward of {name}")
        assert plain[name].grad_sample is None


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_mse_with_only_the_target_batched_gives_per_sample_gradients(reduction: str) -> None:
    """Fitting a constant prediction w to batched targets y_b: sample b's own gradient is
    2 (w - y_b) / k for a mean over its k outputs (2 (w - y_b) for a sum)."""
    rng = np.random.default_rng(21)
    B, k = 5, 3
    Y, w0 = rng.standard_normal((B, k)), rng.standard_normal(k)
    w = Tensor(w0.copy(), requires_grad=True)
    pred = w * np.ones((B, 1))  # the prediction for every sample, explicitly (shapes must match)
    cost = nn.mse_loss(pred, Tensor(Y, batched=True), reduction=reduction)
    assert_close(cost.data, ((w0 - Y) ** 2).mean() if reduction == "mean" else ((w0 - Y) ** 2).sum())
    cost.backward()
    expected = 2 * (w0 - Y) / (k if reduction == "mean" else 1)
    assert w.grad_sample is not None
    assert_close(w.grad_sample, expected)
    assert_close(w.grad, reduce_samples(expected, reduction))


def test_mse_mean_per_sample_term_is_the_mean_over_its_own_outputs() -> None:
    """A hand-derived check of the scaling: y = x @ W.T, cost = mean over all (y - t)^2."""
    rng = np.random.default_rng(3)
    B, k, n = 4, 3, 2
    X, Tg, W0 = rng.standard_normal((B, n)), rng.standard_normal((B, k)), rng.standard_normal((k, n))
    W = Tensor(W0, requires_grad=True)
    nn.mse_loss(Tensor(X, batched=True) @ W.T, Tg).backward()
    resid = X @ W0.T - Tg  # (B, k)
    expected = np.einsum("bk,bn->bkn", 2.0 * resid / k, X)  # d/dW of mean_k (W x_b - t_b)^2
    assert_close(W.grad_sample, expected)
    assert_close(W.grad, expected.mean(0))


TORCH_CASES = [(a, lo, r) for a in sorted(ACTIVATIONS) for lo in ("mse", "xent") for r in ("mean", "sum")]


@pytest.mark.parametrize("act,loss,reduction", TORCH_CASES)
def test_mlp_matches_torch_vmap_grad(act: str, loss: str, reduction: str) -> None:
    torch = pytest.importorskip("torch")
    from torch.func import grad, vmap

    B = 5
    X, T = make_data(B, loss, seed=11)
    model = mlp_grads(act, loss, reduction, X, T, True)
    state = {k: torch.tensor(v, dtype=torch.float64) for k, v in model.state_dict().items()}
    t_act = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid}[act]
    n_lin = len(state) // 2

    def forward(params: dict, x: Any) -> Any:
        h = x
        for i in range(n_lin):
            h = h @ params[f"{2 * i}.weight"].T + params[f"{2 * i}.bias"]
            if i < n_lin - 1:
                h = t_act(h)
        return h

    def loss_fn(params: dict, x: Any, y: Any) -> Any:
        out = forward(params, x)
        if loss == "mse":
            return torch.nn.functional.mse_loss(out, y, reduction=reduction)
        return torch.nn.functional.cross_entropy(out, y, reduction=reduction)

    def one_sample(params: dict, x: Any, y: Any) -> Any:
        return loss_fn(params, x.unsqueeze(0), y.unsqueeze(0))

    tx = torch.tensor(X)
    ty = torch.tensor(T)
    per_sample = vmap(grad(one_sample), in_dims=(None, 0, 0))(state, tx, ty)
    full = grad(loss_fn)(state, tx, ty)
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad_sample, per_sample[name].numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=name)
        np.testing.assert_allclose(p.grad, full[name].numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


# ----------------------------------------------------------------------------- 2. every op


@dataclass
class Case:
    """A batched function ``fn(x, P, rows)`` of the sample data x (shape (B, *x_shape)) and the
    parameters P (Tensors of ``params`` shapes); ``rows`` are the sample indices x holds.
    Its output keeps axis 0 as the sample axis."""

    name: str
    x_shape: tuple
    params: dict
    fn: Callable[[Tensor, dict, np.ndarray], Tensor]
    x_pos: bool = False
    p_pos: bool = False


LABELS = np.array([2, 0, 1, 1, 0, 2, 2, 1])  # class of sample i (enough for B <= 8)


def _linear_module(P: dict) -> nn.Linear:
    lin = nn.Linear(P["W"].shape[1], P["W"].shape[0])
    del lin.weight, lin.bias  # (torch's idiom for weights given from outside: plain attributes then)
    lin.weight, lin.bias = P["W"], P["b"]
    return lin


CASES = [
    # elementwise with broadcasting, the parameter on either side
    Case("x*w", (3,), {"w": (3,)}, lambda x, P, r: x * P["w"]),
    Case("w*x", (3,), {"w": (3,)}, lambda x, P, r: P["w"] * x),
    Case("x*w-row", (2, 3), {"w": (1, 3)}, lambda x, P, r: x * P["w"]),
    Case("x*w-col", (2, 3), {"w": (2, 1)}, lambda x, P, r: P["w"] * x),
    Case("x*w-scalar", (3,), {"w": ()}, lambda x, P, r: x * P["w"]),
    Case("x1*w-grow", (1, 3), {"w": (2, 3)}, lambda x, P, r: x * P["w"]),
    Case("x+w", (3,), {"w": (3,)}, lambda x, P, r: (x + P["w"]) ** 2),
    Case("w+x", (2, 3), {"w": (3,)}, lambda x, P, r: (P["w"] + x) ** 2),
    Case("x-w", (3,), {"w": (3,)}, lambda x, P, r: (x - P["w"]) ** 2),
    Case("w-x", (3,), {"w": (3,)}, lambda x, P, r: (P["w"] - x) ** 3),
    Case("x/w", (3,), {"w": (3,)}, lambda x, P, r: x / P["w"], p_pos=True),
    Case("w/x", (3,), {"w": (3,)}, lambda x, P, r: P["w"] / x, x_pos=True),
    Case("(x*w)**2", (3,), {"w": (3,)}, lambda x, P, r: (x * P["w"]) ** 2),
    Case("2**(x*w)", (3,), {"w": (3,)}, lambda x, P, r: 2 ** (x * P["w"])),
    Case("x**w", (3,), {"w": (3,)}, lambda x, P, r: x ** P["w"], x_pos=True),
    Case("w**x", (3,), {"w": (3,)}, lambda x, P, r: P["w"] ** x, p_pos=True),
    Case("1/(x*w)", (3,), {"w": (3,)}, lambda x, P, r: 1.0 / (x * P["w"]), x_pos=True, p_pos=True),
    Case("3-x*w", (3,), {"w": (3,)}, lambda x, P, r: (3.0 - x * P["w"]) ** 2),
    Case("numpy*x*w", (3,), {"w": (3,)}, lambda x, P, r: np.array([1.0, -2.0, 0.5]) * x * P["w"]),
    Case("-(x*w)", (3,), {"w": (3,)}, lambda x, P, r: -(x * P["w"]) * x),
    # elementwise functions
    Case("exp", (3,), {"w": (3,)}, lambda x, P, r: (x * P["w"]).exp()),
    Case("log", (3,), {"w": (3,)}, lambda x, P, r: (x * P["w"]).log(), x_pos=True, p_pos=True),
    Case("sqrt", (3,), {"w": (3,)}, lambda x, P, r: (x * P["w"]).sqrt(), x_pos=True, p_pos=True),
    Case("tanh", (3,), {"w": (3,)}, lambda x, P, r: (x * P["w"]).tanh()),
    Case("relu", (3,), {"w": (3,)}, lambda x, P, r: (x * P["w"]).relu() * x),
    Case("sigmoid", (3,), {"w": (3,)}, lambda x, P, r: (x * P["w"]).sigmoid()),
    Case("abs", (3,), {"w": (3,)}, lambda x, P, r: (x * P["w"]).abs() * x),
    # matmul with the parameter on either side, and the fused Linear
    Case("x@W.T", (4,), {"W": (3, 4)}, lambda x, P, r: (x @ P["W"].T).tanh()),
    Case("x@W", (4,), {"W": (4, 3)}, lambda x, P, r: (x @ P["W"]).tanh()),
    Case("x@w-vec", (4,), {"w": (4,)}, lambda x, P, r: (x @ P["w"]).tanh()),
    Case("W@x-3d", (4, 2), {"W": (3, 4)}, lambda x, P, r: (P["W"] @ x).tanh()),
    Case("x-3d@W", (2, 4), {"W": (4, 3)}, lambda x, P, r: (x @ P["W"]).tanh()),
    Case("w-vec@x-3d", (4, 2), {"w": (4,)}, lambda x, P, r: (P["w"] @ x).tanh()),
    Case("numpy@x-3d", (4, 2), {"w": (2,)}, lambda x, P, r: (np.ones((3, 4)) @ x) * P["w"]),
    Case("Linear", (4,), {"W": (3, 4), "b": (3,)}, lambda x, P, r: _linear_module(P)(x).tanh()),
    Case("Linear-3d", (2, 4), {"W": (3, 4), "b": (3,)}, lambda x, P, r: _linear_module(P)(x).tanh()),
    # reductions and softmax over non-sample axes
    Case("sum(1)", (2, 3), {"w": (3,)}, lambda x, P, r: (x * P["w"]).sum(1).tanh()),
    Case("sum(-1,keep)", (2, 3), {"w": (3,)}, lambda x, P, r: (x * P["w"]).sum(-1, keepdims=True) * x),
    Case("mean(axis=(1,2))", (2, 3), {"w": (3,)}, lambda x, P, r: (x * P["w"]).mean(axis=(1, 2)) ** 2),
    Case("max(-1)", (2, 3), {"w": (3,)}, lambda x, P, r: (x * P["w"]).max(-1)),
    Case("softmax(-1)", (3,), {"w": (3,)}, lambda x, P, r: (x * P["w"]).softmax(-1) * x),
    Case("softmax(1)", (2, 3), {"w": (3,)}, lambda x, P, r: (x * P["w"]).softmax(1) * x),
    Case("log_softmax(-1)", (3,), {"w": (3,)}, lambda x, P, r: (x * P["w"]).log_softmax(-1) * x),
    Case("log_softmax(1)", (2, 3), {"w": (3,)}, lambda x, P, r: (x * P["w"]).log_softmax(1) * x),
    # layout ops that keep axis 0 first
    Case("x[:,1:]", (3,), {"w": (2,)}, lambda x, P, r: x[:, 1:] * P["w"]),
    Case("x[...,0]", (2, 3), {"w": (2,)}, lambda x, P, r: (x * x)[..., 0] * P["w"]),
    Case("x[:,::-1]", (3,), {"w": (3,)}, lambda x, P, r: (x * P["w"])[:, ::-1] * x),
    Case("x[:,None]", (3,), {"w": (2, 1)}, lambda x, P, r: x[:, None] * P["w"]),
    Case("x[:,[2,0,2]]", (3,), {"w": (3,)}, lambda x, P, r: (x * P["w"])[:, [2, 0, 2]]),
    Case("reshape(B,-1)", (2, 3), {"W": (2, 6)}, lambda x, P, r: x.reshape(x.shape[0], -1) @ P["W"].T),
    Case("transpose(0,2,1)", (2, 3), {"W": (2, 4)}, lambda x, P, r: x.transpose(0, 2, 1) @ P["W"]),
    Case("log_softmax[arange,labels]", (4,), {"W": (3, 4)},
         lambda x, P, r: (x @ P["W"].T).log_softmax(-1)[np.arange(x.shape[0]), LABELS[r]]),
    # parameter-side transforms used with batched data
    Case("W*2", (4,), {"W": (3, 4)}, lambda x, P, r: (x @ (P["W"] * 2).T).tanh()),
    Case("W.reshape", (4,), {"W": (12,)}, lambda x, P, r: (x @ P["W"].reshape(3, 4).T).tanh()),
    Case("W[idx]", (3,), {"W": (4,)}, lambda x, P, r: x * P["W"][np.array([0, 2, 2])]),
    Case("W[1:]", (3,), {"W": (4,)}, lambda x, P, r: x * P["W"][1:]),
    Case("W.sum(0)", (3,), {"W": (2, 3)}, lambda x, P, r: x * P["W"].sum(0)),
    Case("W.exp()", (3,), {"W": (3,)}, lambda x, P, r: x * P["W"].exp()),
    Case("W.softmax()", (3,), {"W": (3,)}, lambda x, P, r: x * P["W"].softmax()),
    Case("W@V", (4,), {"W": (3, 2), "V": (2, 4)}, lambda x, P, r: (x @ (P["W"] @ P["V"]).T).tanh()),
    Case("W+V", (3,), {"W": (3,), "V": (1,)}, lambda x, P, r: x * (P["W"] + P["V"])),
    # a parameter used twice
    Case("W-twice", (3,), {"W": (3, 3)}, lambda x, P, r: (x @ P["W"].T).tanh() @ P["W"]),
    Case("w-twice-elementwise", (3,), {"w": (3,)}, lambda x, P, r: (x * P["w"]).tanh() * P["w"]),
    Case("mlp", (4,), {"W1": (5, 4), "b1": (5,), "W2": (2, 5)},
         lambda x, P, r: (x @ P["W1"].T + P["b1"]).sigmoid() @ P["W2"].T),
]


def _case_data(case: Case, B: int, seed: int) -> tuple[np.ndarray, dict]:
    rng = np.random.default_rng(seed)

    def draw(shape: tuple, pos: bool) -> np.ndarray:
        return rng.uniform(0.5, 1.5, shape) if pos else rng.standard_normal(shape)

    X = draw((B,) + case.x_shape, case.x_pos)
    params = {k: draw(s, case.p_pos) for k, s in case.params.items()}
    return X, params


def _run_case(case: Case, X: np.ndarray, params: dict, reduction: str, batched: bool,
              rows: np.ndarray) -> tuple[Tensor, dict]:
    P = {k: Tensor(v.copy(), requires_grad=True, name=k) for k, v in params.items()}
    out = case.fn(Tensor(X, batched=batched), P, rows)
    assert out.batched == batched, f"{case.name}: output batched={out.batched}"
    assert out.shape[0] == len(X)
    cost = out.sum() if reduction == "sum" else out.mean()
    cost.backward()
    return out, P


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
@settings(max_examples=6, deadline=None)
@given(B=st.integers(1, 6), seed=st.integers(0, 2**31 - 1), reduction=st.sampled_from(["sum", "mean"]))
def test_op_per_sample_gradient_matches_running_each_sample_alone(case: Case, B: int, seed: int,
                                                                  reduction: str) -> None:
    X, params = _case_data(case, B, seed)
    _, P = _run_case(case, X, params, reduction, True, np.arange(B))
    _, plain = _run_case(case, X, params, reduction, False, np.arange(B))
    alone = [_run_case(case, X[b:b + 1], params, reduction, False, np.array([b]))[1] for b in range(B)]
    for k, p in P.items():
        assert p.grad_sample is not None and p.grad_sample.shape == (B,) + p.shape, (case.name, k)
        ref = np.stack([a[k].grad for a in alone])
        assert_close(p.grad_sample, ref, what=f"{case.name}: grad_sample of {k}")
        assert_close(p.grad, reduce_samples(p.grad_sample, reduction), what=f"{case.name}: grad of {k}")
        assert_close(p.grad, plain[k].grad, what=f"{case.name}: grad of {k} vs plain backward")
        assert plain[k].grad_sample is None


def _sample_term(case: Case, X: np.ndarray, params: dict, b: int) -> float:
    """Sample b's own term of a sum cost, evaluated without a graph."""
    with tl.no_grad():
        P = {k: Tensor(v) for k, v in params.items()}
        return float(case.fn(Tensor(X[b:b + 1]), P, np.array([b])).sum().item())


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_op_per_sample_gradient_matches_finite_differences(case: Case) -> None:
    """Anchors the per-sample results to numbers, independently of the plain backward."""
    B, eps = 3, 1e-6
    X, params = _case_data(case, B, seed=17)
    _, P = _run_case(case, X, params, "sum", True, np.arange(B))
    for k, arr in params.items():
        numeric = np.zeros((B,) + arr.shape)
        for i in np.ndindex(arr.shape):
            for sign in (1, -1):
                moved = dict(params, **{k: arr.copy()})
                moved[k][i] += sign * eps
                for b in range(B):
                    numeric[(b,) + i] += sign * _sample_term(case, X, moved, b) / (2 * eps)
        np.testing.assert_allclose(P[k].grad_sample, numeric, rtol=1e-5, atol=1e-7,
                                   err_msg=f"{case.name}: {k}")


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_regularisation_term_is_shared_by_every_sample(reduction: str) -> None:
    """cost = data term + lam * |W|^2: each sample's own cost holds the whole regulariser, so
    grad_sample[b] = dterm_b + (the regulariser's gradient, weighted like one sample)."""
    rng = np.random.default_rng(5)
    B, lam = 6, 0.3
    X, W0, V0 = rng.standard_normal((B, 4)), rng.standard_normal((3, 4)), rng.standard_normal(3)

    def run(Xd: np.ndarray, batched: bool) -> tuple[Tensor, Tensor]:
        W = Tensor(W0.copy(), requires_grad=True)
        V = Tensor(V0.copy(), requires_grad=True)  # only in the regulariser
        h = (Tensor(Xd, batched=batched) @ W.T).tanh()
        data = h.mean() if reduction == "mean" else h.sum()
        (data + lam * (W ** 2).sum() + lam * (V ** 2).sum()).backward()
        return W, V

    W, V = run(X, True)
    Wp, Vp = run(X, False)
    per_sample_share = 1.0 if reduction == "mean" else 1.0 / B
    for b in range(B):
        Wb, Vb = run(X[b:b + 1], False)
        reg_W = 2 * lam * W0
        assert_close(W.grad_sample[b], (Wb.grad - reg_W) + per_sample_share * reg_W, what=f"W sample {b}")
        assert_close(V.grad_sample[b], per_sample_share * 2 * lam * V0, what=f"V sample {b}")
    for p, q in ((W, Wp), (V, Vp)):
        assert_close(p.grad, reduce_samples(p.grad_sample, reduction))
        assert_close(p.grad, q.grad)


def test_parameter_whose_axis_0_lines_up_with_the_samples() -> None:
    """w of shape (B, n) times x of shape (B, n): sample b uses row b of w only, so its own
    gradient is zero outside row b."""
    rng = np.random.default_rng(8)
    B, n = 4, 3
    X, W0 = rng.standard_normal((B, n)), rng.standard_normal((B, n))
    w = Tensor(W0.copy(), requires_grad=True)
    (Tensor(X, batched=True) * w).tanh().sum().backward()
    expected = np.zeros((B, B, n))
    for b in range(B):
        expected[b, b] = (1 - np.tanh(X[b] * W0[b]) ** 2) * X[b]
    assert_close(w.grad_sample, expected)
    assert_close(w.grad, expected.sum(0))


def test_grad_sample_arrays_are_writable_and_not_shared() -> None:
    """Each parameter owns its grad_sample: scaling one in place (e.g. clipping) must work and
    must not change another parameter's."""
    rng = np.random.default_rng(2)
    W = Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    u = Tensor(rng.standard_normal(3), requires_grad=True)
    v = Tensor(rng.standard_normal(3), requires_grad=True)
    x = Tensor(rng.standard_normal((4, 3)), batched=True)
    ((x * W.sum(0)) * (u + v)).sum().backward()
    for p in (W, u, v):
        assert p.grad_sample.flags.writeable
    before_v = v.grad_sample.copy()
    u.grad_sample *= 0.5
    W.grad_sample[0] = 0.0
    np.testing.assert_array_equal(v.grad_sample, before_v)
    assert not np.shares_memory(u.grad_sample, v.grad_sample)
    assert not np.shares_memory(u.grad, v.grad)


# ----------------------------------------------------------------------------- 3. batches


def _mlp_batch(model: nn.Module, X: np.ndarray, T: np.ndarray, reduction: str = "mean") -> None:
    nn.mse_loss(model(Tensor(X, batched=True)), T, reduction=reduction).backward()


def test_batches_of_every_size_and_a_smaller_last_batch_give_the_full_gradient() -> None:
    N, bs = 11, 4
    X, T = make_data(N, "mse", seed=7)
    model = make_mlp("tanh")
    full = {k: g for k, g in zip(dict(model.named_parameters()), mlp_full(model, X, T))}
    loader = tl.data.DataLoader(X, T, batch_size=bs, shuffle=False)
    weighted = {k: 0.0 for k in full}
    sizes = []
    for xb, yb in loader:
        model.zero_grad()
        nn.mse_loss(model(xb), yb).backward()
        B = xb.shape[0]
        sizes.append(B)
        for k, p in model.named_parameters():
            assert p.grad_sample.shape == (B,) + p.shape
            assert_close(p.grad, p.grad_sample.mean(0))
            weighted[k] = weighted[k] + B * p.grad
    assert sizes == [4, 4, 3]
    for k in full:
        assert_close(weighted[k] / N, full[k], what=k)


def mlp_full(model: nn.Module, X: np.ndarray, T: np.ndarray) -> list:
    """The plain full-data mean gradient, leaving the model's gradients cleared."""
    model.zero_grad()
    nn.mse_loss(model(Tensor(X)), T).backward()
    out = [p.grad.copy() for p in model.parameters()]
    model.zero_grad()
    return out


def test_backward_over_another_batch_appends_its_rows_and_the_same_batch_adds() -> None:
    """Opacus's virtual steps: another batch before zero_grad() APPENDS its rows (each sample
    keeps its own gradient); a second cost over the SAME batched input adds to its rows."""
    X1, T1 = make_data(5, "mse", seed=1)
    X2, T2 = make_data(5, "mse", seed=2)
    model = make_mlp("sigmoid")
    _mlp_batch(model, X1, T1)
    first = {k: (p.grad.copy(), p.grad_sample.copy()) for k, p in model.named_parameters()}
    model.zero_grad()
    _mlp_batch(model, X2, T2)
    second = {k: (p.grad.copy(), p.grad_sample.copy()) for k, p in model.named_parameters()}
    model.zero_grad()
    _mlp_batch(model, X1, T1)
    _mlp_batch(model, X2, T2)
    for k, p in model.named_parameters():
        assert_close(p.grad, first[k][0] + second[k][0], what=k)
        assert_close(p.grad_sample, np.concatenate([first[k][1], second[k][1]]), what=k)
    model.zero_grad()
    xb = Tensor(X1, batched=True)
    nn.mse_loss(model(xb), T1).backward()
    nn.mse_loss(model(xb), T1).backward()
    for k, p in model.named_parameters():
        assert_close(p.grad_sample, 2 * first[k][1], what=k)


def test_backward_twice_on_the_same_graph_doubles_grad_sample() -> None:
    X, T = make_data(4, "xent", seed=3)
    model = make_mlp("relu")
    cost = nn.cross_entropy(model(Tensor(X, batched=True)), T)
    cost.backward()
    once = {k: p.grad_sample.copy() for k, p in model.named_parameters()}
    cost.backward()
    for k, p in model.named_parameters():
        assert_close(p.grad_sample, 2 * once[k], what=k)
        assert_close(p.grad, p.grad_sample.mean(0), what=k)


def test_backward_over_a_batch_of_another_size_appends_its_rows() -> None:
    X, T = make_data(7, "mse", seed=4)
    model = make_mlp("tanh")
    _mlp_batch(model, X[:5], T[:5])
    saved = {k: p.grad_sample.copy() for k, p in model.named_parameters()}
    _mlp_batch(model, X[5:], T[5:])
    model2 = make_mlp("tanh")
    _mlp_batch(model2, X[5:], T[5:])
    for (k, p), p2 in zip(model.named_parameters(), model2.parameters()):
        assert p.grad_sample.shape[0] == 7
        assert_close(p.grad_sample, np.concatenate([saved[k], p2.grad_sample]), what=k)
        assert_close(p.grad_sample_norm, np.linalg.norm(p.grad_sample.reshape(7, -1), axis=1), what=k)
    model.zero_grad()
    _mlp_batch(model, X[5:], T[5:])
    assert all(p.grad_sample.shape[0] == 2 for p in model.parameters())


def test_zero_grad_of_module_tensor_and_optimizer_clears_grad_sample() -> None:
    X, T = make_data(3, "mse")
    model = make_mlp("tanh")
    _mlp_batch(model, X, T)
    model.zero_grad()
    assert all(p.grad is None and p.grad_sample is None for p in model.parameters())
    _mlp_batch(model, X, T)
    w = model[0].weight
    w.zero_grad()
    assert w.grad is None and w.grad_sample is None
    assert model[0].bias.grad_sample is not None
    opt = tl.optim.SGD(model.parameters(), lr=0.1)
    opt.zero_grad()
    assert all(p.grad is None and p.grad_sample is None for p in model.parameters())


def test_no_batched_input_computes_no_grad_sample() -> None:
    X, T = make_data(5, "xent")
    model = make_mlp("tanh")
    nn.cross_entropy(model(Tensor(X)), T).backward()
    assert all(p.grad is not None and p.grad_sample is None for p in model.parameters())


def test_a_kept_grad_sample_is_not_overwritten_by_a_later_batch() -> None:
    X, T = make_data(8, "mse", seed=13)
    model = make_mlp("tanh")
    _mlp_batch(model, X[:4], T[:4])
    w = model[0].weight
    kept, row0 = w.grad_sample, w.grad_sample[0]
    saved, saved_row0 = kept.copy(), row0.copy()
    history = {k: p.grad_sample for k, p in model.named_parameters()}
    history_saved = {k: v.copy() for k, v in history.items()}
    model.zero_grad()
    _mlp_batch(model, X[4:], T[4:])
    np.testing.assert_array_equal(kept, saved)
    np.testing.assert_array_equal(row0, saved_row0)
    for k, v in history.items():
        np.testing.assert_array_equal(v, history_saved[k], err_msg=k)
    assert not np.allclose(w.grad_sample, saved)


def test_per_sample_false_skips_grad_sample() -> None:
    X, T = make_data(5, "mse")
    model = make_mlp("tanh")
    plain = mlp_full(model, X, T)
    nn.mse_loss(model(Tensor(X, batched=True)), T).backward(per_sample=False)
    for g, p in zip(plain, model.parameters()):
        assert p.grad_sample is None
        assert_close(p.grad, g)


# ----------------------------------------------------------------------------- 4. ops that mix samples


def _h(x: Tensor, W: Tensor) -> Tensor:
    return (x @ W.T).tanh()


MIXING = [
    ("sum(0)-broadcast-back", "add", lambda x, W: (_h(x, W) + _h(x, W).sum(0)).sum()),
    ("x-x.mean(0)", "sub", lambda x, W: ((x - x.mean(0)) @ W.T).tanh().mean()),
    ("h-h.mean(0)", "sub", lambda x, W: ((_h(x, W) - _h(x, W).mean(0)) ** 2).mean()),
    ("x.T@x", "transpose", lambda x, W: ((x.T @ x)[:2] * W).sum()),
    ("h.T@h", "transpose", lambda x, W: (_h(x, W).T @ _h(x, W)).sum()),
    ("reshape(-1)", "reshape", lambda x, W: (_h(x, W).reshape(-1) ** 2).sum()),
    ("x.reshape(-1)", "reshape", lambda x, W: (x.reshape(-1)[:3] @ W.T).tanh().sum()),
    ("softmax(0)", "softmax", lambda x, W: (_h(x, W).softmax(0) * x[:, :2]).sum()),
    ("log_softmax(0)", "log_softmax", lambda x, W: _h(x, W).log_softmax(0).mean()),
    ("max(0)", "max", lambda x, W: _h(x, W).max(0).sum()),
    ("max()", "max", lambda x, W: _h(x, W).max()),
    ("mse**2", "pow", lambda x, W: nn.mse_loss(_h(x, W), np.zeros((x.shape[0], 2))) ** 2),
    ("(h.mean(0)**2).sum()", "pow", lambda x, W: (_h(x, W).mean(0) ** 2).sum()),
    ("cost.sqrt()", "sqrt", lambda x, W: (_h(x, W) ** 2).mean().sqrt()),
    ("cost*cost", "mul", lambda x, W: _h(x, W).mean() * _h(x, W).sum(1).mean()),
    ("const/cost", "div", lambda x, W: Tensor(np.array(2.0)) / (_h(x, W) ** 2).mean()),
    ("cost*W.sum()", "mul", lambda x, W: _h(x, W).mean() * W.sum()),
    ("h.mean(0)@W", "matmul", lambda x, W: (_h(x, W).mean(0) @ W).sum()),
    ("h@W-3d", "matmul", lambda x, W: (_h(x, W) @ W.reshape(3, 2, 1)).sum()),
    ("h@h-3d", "matmul", lambda x, W: (_h(x, W) @ _h(x, W).reshape(x.shape[0], 2, 1)).sum()),
    ("x[0]", "getitem", lambda x, W: (_h(x, W)[0] ** 2).sum()),
    ("x[::-1]", "getitem", lambda x, W: (_h(x, W)[::-1] * x[:, :2]).sum()),
    ("x[permutation]", "getitem", lambda x, W: (_h(x, W)[np.array([1, 0, 3, 2])] * x[:, :2]).sum()),
    ("x[..., 0, 1]", "getitem", lambda x, W: _h(x, W)[..., 0, 1] * W[0, 0]),
    ("broadcast-moves-sample-axis", "mul", lambda x, W: (_h(x, W) * W[:, None, :2]).sum()),
]


@pytest.mark.parametrize("requires_grad_x", [False, True], ids=["x", "x-requires-grad"])
@pytest.mark.parametrize("name,op,fn", MIXING, ids=[m[0] for m in MIXING])
def test_op_that_mixes_samples_trains_and_raises_on_read_naming_it(name: str, op: str, fn: Callable,
                                                                    requires_grad_x: bool) -> None:
    """A graph that mixes samples fills .grad like an ordinary backward; only READING
    per-sample gradients raises, naming the op."""
    rng = np.random.default_rng(9)
    B = 4
    X, W0 = rng.standard_normal((B, 3)), rng.standard_normal((2, 3))
    W = Tensor(W0.copy(), requires_grad=True)
    x = Tensor(X, batched=True, requires_grad=requires_grad_x)
    cost = fn(x, W)
    cost.backward()
    Wp = Tensor(W0.copy(), requires_grad=True)
    xp = Tensor(X, requires_grad=requires_grad_x)
    fn(xp, Wp).backward()
    assert_close(W.grad, Wp.grad, what=name)
    if requires_grad_x:
        assert_close(x.grad, xp.grad, what=name)
    for read in (lambda: W.grad_sample, lambda: W.grad_sample_norm, lambda: tl.per_sample_norms([W])):
        with pytest.raises(RuntimeError, match=f"'{op}'") as info:
            read()
        assert "sample" in str(info.value)
    W.zero_grad()
    cost.backward(per_sample=False)
    assert W.grad_sample is None and W.grad_sample_norm is None
    assert_close(W.grad, Wp.grad, what=name)


class BatchSumBack(nn.Module):
    """Adds the batch total to every sample: mixes samples."""

    def forward(self, h: Tensor) -> Tensor:
        return h + h.sum(0)


class BatchSum(nn.Module):
    """Returns the batch total, shape (1, n): a batch statistic fed to the next layer."""

    def forward(self, h: Tensor) -> Tensor:
        return h.sum(0, keepdims=True)


class Stack(nn.Module):
    def __init__(self, mixer: nn.Module) -> None:
        self.layers = [nn.Linear(3, 4, rng=0), nn.Tanh(), mixer, nn.Linear(4, 2, rng=1)]

    def forward(self, x: Tensor) -> Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


@pytest.mark.parametrize("nested", [False, True], ids=["sequential", "nested"])
def test_mixing_inside_a_module_names_the_module_path(nested: bool) -> None:
    rng = np.random.default_rng(4)
    X, T = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    if nested:
        model, where = Stack(BatchSumBack()), "layers.2"
    else:
        model, where = nn.Sequential(nn.Linear(3, 4, rng=0), BatchSumBack(), nn.Linear(4, 2, rng=1)), "1"
    cost = nn.mse_loss(model(Tensor(X, batched=True)), T)
    cost.backward()
    for p in model.parameters():
        with pytest.raises(RuntimeError, match=f"module '{where}'") as info:
            _ = p.grad_sample
        assert "'add'" in str(info.value)
    got = [p.grad.copy() for p in model.parameters()]
    model.zero_grad()
    nn.mse_loss(model(Tensor(X)), T).backward()
    for g, p in zip(got, model.parameters()):
        assert_close(g, p.grad)


def test_batch_statistic_leaving_a_module_raises_where_it_is_used() -> None:
    rng = np.random.default_rng(4)
    X, T = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    model = Stack(BatchSum())
    cost = nn.mse_loss(model(Tensor(X, batched=True)), T.sum(0, keepdims=True))
    cost.backward()
    assert all(p.grad is not None for p in model.parameters())
    with pytest.raises(RuntimeError, match="batch statistic") as info:
        _ = model.parameters()[0].grad_sample
    assert "module 'layers." in str(info.value)


# ----------------------------------------------------------------------------- 5. input gradient


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("loss", ["mse", "xent"])
def test_batched_input_gets_its_own_gradient(loss: str, reduction: str) -> None:
    B = 6
    X, T = make_data(B, loss, seed=8)
    model = make_mlp("tanh")

    def run(Xd: np.ndarray, Td: np.ndarray, batched: bool) -> Tensor:
        model.zero_grad()
        x = Tensor(Xd, batched=batched, requires_grad=True)
        cost_of(loss, model(x), Td, reduction).backward()
        return x

    x = run(X, T, True)
    assert model[0].weight.grad_sample is not None
    xp = run(X, T, False)
    assert x.grad.shape == X.shape
    assert_close(x.grad, xp.grad)
    weight = 1.0 / B if reduction == "mean" else 1.0  # sample b's share of the cost
    for b in range(B):
        alone = run(X[b:b + 1], T[b:b + 1], False)
        assert_close(x.grad[b], weight * alone.grad[0], what=f"row {b}")


# ----------------------------------------------------------------------------- 6. cost reductions


@pytest.mark.parametrize("combo", ["mean+sum", "mse-mean+xent-sum", "sum-0-then-mean"])
def test_mixed_mean_and_sum_over_the_sample_axis_raises(combo: str) -> None:
    rng = np.random.default_rng(6)
    B = 4
    W = Tensor(rng.standard_normal((3, 2)), requires_grad=True)
    x = Tensor(rng.standard_normal((B, 2)), batched=True)
    h = x @ W.T
    if combo == "mean+sum":
        cost = h.mean() + (h ** 2).sum()
    elif combo == "mse-mean+xent-sum":
        cost = nn.mse_loss(h, np.zeros((B, 3))) + nn.cross_entropy(h, np.arange(B) % 3, reduction="sum")
    else:
        cost = h.sum(0).mean() + (h ** 2).mean(0).sum()
    cost.backward()
    g = W.grad.copy()
    with pytest.raises(RuntimeError, match="mean") as info:
        _ = W.grad_sample
    assert "sum" in str(info.value)
    W.zero_grad()
    cost.backward(per_sample=False)
    assert W.grad_sample is None
    np.testing.assert_array_equal(W.grad, g)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_two_costs_of_one_reduction_over_the_same_batch_add_up(reduction: str) -> None:
    B = 5
    X, Y = make_data(B, "mse", seed=12)
    labels = np.arange(B) % N_OUT

    def run(Xd: np.ndarray, Yd: np.ndarray, lab: np.ndarray, batched: bool) -> nn.Sequential:
        model = make_mlp("tanh")
        out = model(Tensor(Xd, batched=batched))
        cost = nn.mse_loss(out, Yd, reduction=reduction) + nn.cross_entropy(out, lab, reduction=reduction)
        (cost + 0.5 * nn.mse_loss(out, 2 * Yd, reduction=reduction)).backward()
        return model

    model = run(X, Y, labels, True)
    plain = run(X, Y, labels, False)
    alone = [run(X[b:b + 1], Y[b:b + 1], labels[b:b + 1], False) for b in range(B)]
    for (k, p), q in zip(model.named_parameters(), plain.parameters()):
        ref = np.stack([dict(a.named_parameters())[k].grad for a in alone])
        assert_close(p.grad_sample, ref, what=k)
        assert_close(p.grad, reduce_samples(p.grad_sample, reduction), what=k)
        assert_close(p.grad, q.grad, what=k)
