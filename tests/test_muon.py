"""tl.optim.Muon against torch.optim.Muon.

Both optimizers start from the same weights and get the same numpy gradients of the same
function at their own current weights (so the update rules alone are compared) for every
option. torch orthogonalises in bfloat16 whatever the parameter's dtype, with float32
sums whose order depends on its matrix kernels, so a bfloat16 result that lies at a
rounding tie may come out one bfloat16 step apart: the default (bfloat16) runs are held to
bfloat16 precision, and every option is held to 1e-10 in float64 (float32 tolerance in
float32) with the orthogonalisation in the parameter's dtype on both sides
(``ns_dtype=None`` here, torch with its bfloat16 cast taken out). Also: a model trained
through autograd on both sides, the exact maths of the iteration (SVD), state dicts
(round trip, torch's layout, torch's state loaded) and what both refuse.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import Tensor, optim
from tinygrad_lite.optim.muon import newton_schulz

torch = pytest.importorskip("torch")

N_STEPS = 24
RNG = np.random.default_rng(3)
X = RNG.standard_normal((12, 5))
Y = RNG.standard_normal((12, 3))
W1_0 = 0.5 * RNG.standard_normal((5, 7))  # wide
W2_0 = 0.5 * RNG.standard_normal((7, 3))  # tall
W3_0 = 0.5 * RNG.standard_normal((3, 3))  # square (a linear map applied after W2)


def grads(w1: np.ndarray, w2: np.ndarray, w3: np.ndarray) -> tuple:
    """f = mean((tanh(X W1) W2 W3 - Y)^2) and its gradients, in float64."""
    h = np.tanh(X @ w1)
    z = h @ w2
    r = z @ w3 - Y
    gr = 2 * r / r.size
    gz = gr @ w3.T
    gh = gz @ w2.T
    return X.T @ (gh * (1 - h * h)), h.T @ gz, z.T @ gr


CASES: dict = {
    "defaults": ({}, None),
    "lr": ({"lr": 0.02}, None),
    "no_nesterov": ({"lr": 0.02, "nesterov": False}, None),
    "match_rms_adamw_no_wd": ({"lr": 0.05, "weight_decay": 0.0, "adjust_lr_fn": "match_rms_adamw"}, None),
    "original_ns3_momentum": ({"lr": 0.02, "momentum": 0.5, "ns_steps": 3, "adjust_lr_fn": "original"}, None),
    "no_momentum": ({"lr": 0.02, "momentum": 0.0, "weight_decay": 0.3}, None),
    "no_momentum_no_nesterov": ({"lr": 0.03, "momentum": 0.0, "nesterov": False}, None),
    "ns_steps_0_1": ({"lr": 0.01, "ns_steps": 1}, ({"ns_steps": 0}, {}, {})),
    "ns_steps_7_coefficients": ({"lr": 0.02, "ns_steps": 7, "ns_coefficients": (2.0, -1.5, 0.5)}, None),
    "eps_large": ({"lr": 0.02, "eps": 10.0}, None),
    "groups": ({"lr": 0.02}, ({"lr": 0.05, "adjust_lr_fn": "match_rms_adamw"},
                              {"nesterov": False, "weight_decay": 0.0},
                              {"momentum": 0.8, "ns_steps": 2})),
}
GRAD_FREE = 4  # on this step the square matrix gets no gradient (it must be skipped)


def groups_of(params: list, extra: Any) -> Any:
    return params if extra is None else [{"params": [p], **e} for p, e in zip(params, extra)]


def run(case: str, dtype: Any, steps: int = N_STEPS, patch: bool = False, ns_dtype: Any = "bfloat16",
        monkeypatch: Any = None) -> tuple:
    """(torch's weights, ours, torch's optimizer, ours) after ``steps`` steps of ``case``."""
    kw, extra = CASES[case]
    npd = np.float64 if dtype == torch.float64 else np.float32
    tw = [torch.tensor(w, dtype=dtype) for w in (W1_0, W2_0, W3_0)]
    ww = [Tensor(w.astype(npd), requires_grad=True) for w in (W1_0, W2_0, W3_0)]
    topt = torch.optim.Muon(groups_of(tw, extra), **kw)
    opt = optim.Muon(groups_of(ww, extra), **kw, ns_dtype=ns_dtype)
    for k in range(steps):
        g = grads(*(w.data.astype(np.float64) for w in ww))
        for i, (t, w, gi) in enumerate(zip(tw, ww, g)):
            skip = i == 2 and k == GRAD_FREE
            t.grad = None if skip else torch.tensor(gi, dtype=dtype)
            w.grad = None if skip else gi.astype(npd)
        if patch:  # torch's orthogonalisation in the parameter's dtype: its bfloat16 cast made a copy
            with monkeypatch.context() as m:
                m.setattr(torch.Tensor, "bfloat16", lambda self, *a, **k: self.clone())
                topt.step()
        else:
            topt.step()
        opt.step()
    return tw, ww, topt, opt


def assert_close(tw: list, ww: list, topt: Any, opt: Any, rtol: float) -> None:
    for t, w in zip(tw, ww):
        a = t.detach().numpy()
        assert w.data.dtype == a.dtype
        np.testing.assert_allclose(w.data, a, rtol=rtol, atol=rtol * np.abs(a).max())
        tb = topt.state[t]["momentum_buffer"].numpy()
        np.testing.assert_allclose(opt.state[w]["momentum_buffer"], tb, rtol=rtol, atol=rtol * np.abs(tb).max())


@pytest.mark.parametrize("case", list(CASES))
def test_float64_matches_torch(case: str, monkeypatch: Any) -> None:
    tw, ww, topt, opt = run(case, torch.float64, patch=True, ns_dtype=None, monkeypatch=monkeypatch)
    assert_close(tw, ww, topt, opt, 1e-10)
    assert not np.allclose(ww[0].data, W1_0)  # the weights did move
    assert not np.allclose(run(case, torch.float64)[1][0].data, ww[0].data, rtol=1e-6, atol=0)  # not bfloat16's


@pytest.mark.parametrize("case", ["defaults", "no_nesterov", "match_rms_adamw_no_wd", "groups", "ns_steps_0_1"])
def test_float32_matches_torch(case: str, monkeypatch: Any) -> None:
    tw, ww, topt, opt = run(case, torch.float32, patch=True, ns_dtype=None, monkeypatch=monkeypatch)
    assert_close(tw, ww, topt, opt, 1e-5)


def _gap(tw: list, ww: list) -> float:
    return max(float(np.abs(w.data - t.detach().numpy()).max()) for t, w in zip(tw, ww))


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_bfloat16_default_matches_torch_to_bfloat16_precision(case: str, dtype: str) -> None:
    tdtype = getattr(torch, dtype)
    tw, ww, topt, opt = run(case, tdtype)
    moved = min(float(np.abs(t.detach().numpy() - w0).max()) for t, w0 in zip(tw, (W1_0, W2_0, W3_0)))
    gap = _gap(tw, ww)
    assert gap <= 2.0**-7 * moved  # within bfloat16's relative precision of the distance travelled
    # and far closer to torch than the same run orthogonalised in the parameter's dtype
    assert gap <= 0.25 * _gap(tw, run(case, tdtype, ns_dtype=None)[1])


@pytest.mark.parametrize("shape", [(3, 5), (6, 2), (4, 4), (1, 6), (7, 1), (20, 33)])
def test_newton_schulz_in_bfloat16_as_torchs(shape: tuple) -> None:
    muon_module = pytest.importorskip("torch.optim._muon")
    reference = getattr(muon_module, "_zeropower_via_newtonschulz", None)
    if reference is None:
        pytest.skip("torch's orthogonalisation is not reachable")
    rng = np.random.default_rng(sum(shape))
    for steps, coefficients in ((5, (3.4445, -4.775, 2.0315)), (3, (2.0, -1.5, 0.5)), (0, (1.0, 0.0, 0.0))):
        for dtype in (torch.float64, torch.float32):
            m = torch.tensor(rng.standard_normal(shape) * 3.0, dtype=dtype)
            want = reference(m, coefficients, steps, 1e-7).double().numpy()
            got = newton_schulz(m.numpy(), coefficients, steps, 1e-7)
            assert got.dtype == np.float64
            np.testing.assert_array_equal(torch.tensor(got).bfloat16().double().numpy(), got)  # bfloat16 values
            np.testing.assert_allclose(got, want, rtol=0, atol=2.0**-7 * np.abs(want).max())


@pytest.mark.parametrize("shape", [(4, 6), (6, 4), (5, 5)])
def test_newton_schulz_in_float64_converges_to_the_polar_factor(shape: tuple) -> None:
    """The cubic iteration (a, b, c) = (1.5, -0.5, 0) converges to U V^T of the SVD."""
    rng = np.random.default_rng(1)
    u, _, vt = np.linalg.svd(rng.standard_normal(shape), full_matrices=False)
    m = (u * np.array([3.0, 2.0, 1.5, 1.0][: min(shape)] + [1.0] * (min(shape) - 4))) @ vt
    ortho = newton_schulz(m, (1.5, -0.5, 0.0), 60, 1e-7, None)
    np.testing.assert_allclose(ortho, u @ vt, rtol=0, atol=1e-12)
    assert np.array_equal(newton_schulz(np.zeros(shape), (3.4445, -4.775, 2.0315), 5, 1e-7, None), np.zeros(shape))


def test_a_model_trained_through_autograd_matches_torch(monkeypatch: Any) -> None:
    """Each library computes its own gradients (and the loss in a closure)."""
    ws = [Tensor(w.copy(), requires_grad=True) for w in (W1_0, W2_0)]
    ts = [torch.tensor(w, requires_grad=True) for w in (W1_0, W2_0)]
    monkeypatch.setattr(torch.Tensor, "bfloat16", lambda self, *a, **k: self.clone())
    opt = optim.Muon(ws, lr=0.03, adjust_lr_fn="match_rms_adamw", ns_dtype=None)
    topt = torch.optim.Muon(ts, lr=0.03, adjust_lr_fn="match_rms_adamw")
    x, y = Tensor(X), Tensor(Y)
    tx, ty = torch.tensor(X), torch.tensor(Y)

    def closure() -> Any:
        opt.zero_grad()
        loss = ((((x @ ws[0]).tanh() @ ws[1]) - y) ** 2).mean()
        loss.backward()
        return loss

    def tclosure() -> Any:
        topt.zero_grad()
        loss = ((torch.tanh(tx @ ts[0]) @ ts[1] - ty) ** 2).mean()
        loss.backward()
        return loss

    losses = []
    for _ in range(20):
        loss, tloss = opt.step(closure), topt.step(tclosure)
        np.testing.assert_allclose(float(loss.item()), tloss.item(), rtol=1e-10)
        losses.append(tloss.item())
    for w, t in zip(ws, ts):
        np.testing.assert_allclose(w.data, t.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert losses[-1] < 0.8 * losses[0]


def test_defaults_and_state_dict_layout_are_torchs() -> None:
    w, tw = Tensor(W2_0.copy(), requires_grad=True), torch.tensor(W2_0, requires_grad=True)
    opt, topt = optim.Muon([w]), torch.optim.Muon([tw])
    assert opt.defaults == topt.defaults
    w.grad, tw.grad = np.ones((7, 3)), torch.ones(7, 3, dtype=torch.float64)
    opt.step()
    topt.step()
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert sd["param_groups"] == tsd["param_groups"]
    assert {k: set(v) for k, v in sd["state"].items()} == {k: set(v) for k, v in tsd["state"].items()}
    np.testing.assert_array_equal(sd["state"][0]["momentum_buffer"], tsd["state"][0]["momentum_buffer"].numpy())


def to_numpy(sd: dict) -> dict:
    return {"state": {k: {n: v.numpy().copy() for n, v in s.items()} for k, s in sd["state"].items()},
            "param_groups": copy.deepcopy(sd["param_groups"])}


@pytest.mark.parametrize("ns_dtype", ["bfloat16", None])
@pytest.mark.parametrize("case", ["defaults", "groups", "no_nesterov"])
def test_state_dict_round_trip_continues_exactly(case: str, ns_dtype: Any, monkeypatch: Any) -> None:
    _, full, _, _ = run(case, torch.float64, steps=N_STEPS, ns_dtype=ns_dtype)
    tw, first, topt, opt1 = run(case, torch.float64, steps=10, ns_dtype=ns_dtype, patch=ns_dtype is None,
                                monkeypatch=monkeypatch)
    saved = opt1.state_dict()
    kw, extra = CASES[case]
    # ours, and (orthogonalising in float64 on both sides) torch's converted to numpy
    for source in (saved, to_numpy(topt.state_dict())) if ns_dtype is None else (saved,):
        resumed = [Tensor(p.data.copy(), requires_grad=True) for p in first]
        opt2 = optim.Muon(groups_of(resumed, extra), lr=0.7, ns_dtype=ns_dtype)  # the load sets the rest
        opt2.load_state_dict(copy.deepcopy(source))
        assert [g["lr"] for g in opt2.param_groups] == [g["lr"] for g in opt1.param_groups]
        for k in range(10, N_STEPS):
            g = grads(*(w.data for w in resumed))
            for i, (w, gi) in enumerate(zip(resumed, g)):
                w.grad = None if i == 2 and k == GRAD_FREE else gi
            opt2.step()
        for p, q in zip(resumed, full):
            if source is saved:
                np.testing.assert_array_equal(p.data, q.data)
            else:
                np.testing.assert_allclose(p.data, q.data, rtol=1e-10, atol=1e-12)


def test_step_skips_params_without_grad_and_zero_grad_clears() -> None:
    a, b = Tensor(W1_0.copy(), requires_grad=True), Tensor(W2_0.copy(), requires_grad=True)
    opt = optim.Muon([a, b], lr=0.1)
    a.grad = np.ones_like(W1_0)
    opt.step()
    np.testing.assert_array_equal(b.data, W2_0)
    assert b not in opt.state or not opt.state[b]
    assert not np.array_equal(a.data, W1_0)
    opt.zero_grad()
    assert a.grad is None and b.grad is None


BAD = [
    ({"lr": -1.0}, "lr"),
    ({"momentum": -0.5}, "momentum"),
    ({"weight_decay": -0.1}, "weight_decay"),
    ({"adjust_lr_fn": "cosine"}, "adjust_lr_fn 'cosine' is not supported"),
    ({"ns_steps": 100}, r"ns_steps must be in \[0, 100\)"),
    ({"ns_coefficients": (1.0, 2.0)}, "exactly 3"),
]


@pytest.mark.parametrize(("kw", "match"), BAD)
def test_bad_hyperparameters_are_refused_as_by_torch(kw: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        optim.Muon([Tensor(W1_0.copy(), requires_grad=True)], **kw)
    t = torch.tensor(W1_0, requires_grad=True)
    with pytest.raises(ValueError):  # torch refuses these too (some only at the step)
        topt = torch.optim.Muon([t], **kw)
        t.grad = torch.ones_like(t)
        topt.step()


@pytest.mark.parametrize("shape", [(3,), (2, 3, 4), ()])
def test_parameters_that_are_not_matrices_are_refused(shape: tuple) -> None:
    with pytest.raises(ValueError, match=re.escape(f"Muon only optimizes 2-D parameters, got one of shape {shape}")):
        optim.Muon([Tensor(np.zeros(shape), requires_grad=True)])
    with pytest.raises(ValueError, match="2D"):
        torch.optim.Muon([torch.zeros(shape, requires_grad=True)])
    opt = optim.Muon([Tensor(W1_0.copy(), requires_grad=True)])
    with pytest.raises(ValueError, match="2-D parameters"):
        opt.add_param_group({"params": [Tensor(np.zeros(shape), requires_grad=True)]})
    assert len(opt.param_groups) == 1
    with pytest.raises(ValueError, match="ns_dtype"):
        optim.Muon([Tensor(W1_0.copy(), requires_grad=True)], ns_dtype="float16")


def _trained() -> tuple:
    params = [Tensor(W1_0.copy(), requires_grad=True), Tensor(W2_0.copy(), requires_grad=True)]
    opt = optim.Muon(params, lr=0.05)
    for _ in range(3):
        for p, g in zip(params, grads(params[0].data, params[1].data, W3_0)[:2]):
            p.grad = g
        opt.step()
    return params, opt


@pytest.mark.parametrize(
    ("spoil", "match"),
    [
        (lambda sd: sd["state"][1].update(momentum_buffer=np.zeros((3, 7))),
         r"'momentum_buffer' of parameter 1 has shape \(3, 7\)"),
        (lambda sd: sd["state"][0].update(exp_avg=np.zeros((5, 7))), "unknown buffer 'exp_avg'"),
        (lambda sd: sd["state"][0].clear() or sd["state"][0].update(step=3), "unknown buffer 'step'"),
        (lambda sd: sd["param_groups"][0].update(ns_steps=100), "ns_steps"),
        (lambda sd: sd["param_groups"][0].update(adjust_lr_fn="x"), "adjust_lr_fn"),
        (lambda sd: sd["param_groups"][0].pop("ns_coefficients"), "lacks ns_coefficients"),
    ],
)
def test_bad_state_is_refused_and_changes_nothing(spoil: Any, match: str) -> None:
    params, opt = _trained()
    before = opt.state_dict()
    weights = [p.data.copy() for p in params]
    bad = opt.state_dict()
    bad["param_groups"][0]["lr"] = 123.0  # would show if the group were touched
    spoil(bad)
    with pytest.raises(ValueError, match=match):
        opt.load_state_dict(bad)
    after = opt.state_dict()
    assert after["param_groups"] == before["param_groups"]
    for k in before["state"]:
        np.testing.assert_array_equal(after["state"][k]["momentum_buffer"], before["state"][k]["momentum_buffer"])
    for p, w in zip(params, weights):
        np.testing.assert_array_equal(p.data, w)


def test_exported() -> None:
    assert "Muon" in optim.__all__ and tl.optim.Muon is optim.Muon
