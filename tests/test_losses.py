"""The losses of ``tl.nn.functional`` / ``tl.nn`` beyond mse_loss, and cross_entropy's torch
arguments (weight, ignore_index, label_smoothing, probability targets).

* every loss, over hypothesis shapes and parameters: the value equals a numpy reference, the
  gradients equal float64 central differences of it (the helpers of ``test_ops``) and value
  and gradients equal torch's to ~1e-10;
* per sample: with a batched input through a Linear, ``grad_sample`` equals one backward per
  sample alone, for the mean and the sum; a weighted mean that cannot be written as a mean
  of the samples' own losses raises the mixing error on read (and ``.grad`` stays right);
* DP-SGD without noise equals Opacus for BCEWithLogitsLoss and NLLLoss;
* modules against torch's modules; bad inputs raise errors naming the loss.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from test_ops import (
    DOMAINS,
    OpSpec,
    table_tests,
    two_same,
)

import tinygrad_lite as tl
from tinygrad_lite import Tensor, nn, ops
from tinygrad_lite.nn import functional as F

DOMAINS.setdefault("prob", lambda rng, shape: rng.uniform(0.05, 0.95, shape))


def _tt(T: Any, v: Any) -> Any:
    """Keyword arguments for torch: arrays as float64 (or int64) tensors."""
    if isinstance(v, np.ndarray):
        return T.tensor(v)
    return v


def _torch(name: str) -> Callable:
    def f(T: Any, *xs: Any, **kw: Any) -> Any:
        return getattr(T.nn.functional, name)(*xs, **{k: _tt(T, v) for k, v in kw.items()})
    return f


def _reduce(v: np.ndarray, reduction: str, divisor: Any = None) -> np.ndarray:
    if reduction == "none":
        return v
    if reduction == "sum":
        return np.sum(v)
    return np.sum(v) / (v.size if divisor is None else divisor)


# ------------------------------------------------------------------------------- pointwise losses
reductions = st.sampled_from(["mean", "sum", "none"])


@st.composite
def pointwise_params(draw: Any, shapes: tuple, extra: str = "") -> dict:
    p: dict = {"reduction": draw(reductions)}
    s = shapes[0]
    if extra == "delta":
        p["delta"] = draw(st.floats(0.3, 1.5))
    if extra == "beta":
        p["beta"] = draw(st.sampled_from([0.0, 0.4, 1.0, 1.7]))
    if extra in ("weight", "logits", "same_weight") and draw(st.booleans()):
        wshape = s if extra == "same_weight" or not s else s[draw(st.integers(0, len(s))):]
        p["weight"] = draw(hnp.arrays(np.float64, wshape, elements=st.floats(0.1, 2.0)))
    if extra == "logits" and draw(st.booleans()):
        p["pos_weight"] = draw(hnp.arrays(np.float64, s[-1:], elements=st.floats(0.1, 3.0)))
    return p


def np_l1(p: np.ndarray, t: np.ndarray, reduction: str, weight: Any = None) -> np.ndarray:
    w = 1.0 if weight is None else weight
    v = w * np.abs(p - t)
    return _reduce(v, reduction, None if weight is None else np.sum(np.broadcast_to(w, p.shape)))


def np_huber(p: np.ndarray, t: np.ndarray, reduction: str, delta: float, weight: Any = None) -> np.ndarray:
    a = np.abs(p - t)
    v = np.where(a < delta, a * a / 2, delta * a - delta * delta / 2) * (1.0 if weight is None else weight)
    return _reduce(v, reduction)


def np_smooth_l1(p: np.ndarray, t: np.ndarray, reduction: str, beta: float) -> np.ndarray:
    a = np.abs(p - t)
    v = a if beta == 0 else np.where(a < beta, a * a / (2 * beta), a - beta / 2)
    return _reduce(v, reduction)


def np_bce(x: np.ndarray, t: np.ndarray, reduction: str, weight: Any = None) -> np.ndarray:
    v = -(t * np.log(x) + (1 - t) * np.log(1 - x)) * (1.0 if weight is None else weight)
    return _reduce(v, reduction)


def np_bce_logits(z: np.ndarray, t: np.ndarray, reduction: str, weight: Any = None, pos_weight: Any = None
                  ) -> np.ndarray:
    s = 1 / (1 + np.exp(-z))
    P = 1.0 if pos_weight is None else pos_weight
    v = -(P * t * np.log(s) + (1 - t) * np.log(1 - s)) * (1.0 if weight is None else weight)
    return _reduce(v, reduction)


def _pointwise_spec(name: str, ref: Callable, fn: Callable, domains: tuple, extra: str) -> OpSpec:
    return OpSpec(name, ref, fn, _torch(name), domains, two_same, lambda s: pointwise_params(s, extra),
                  modes=("tt", "tn", "nt"))


POINTWISE = [
    _pointwise_spec("l1_loss", np_l1, F.l1_loss, ("real", "real"), "same_weight"),
    _pointwise_spec("huber_loss", np_huber, F.huber_loss, ("real", "real"), "delta"),
    _pointwise_spec("smooth_l1_loss", np_smooth_l1, F.smooth_l1_loss, ("real", "real"), "beta"),
    _pointwise_spec("binary_cross_entropy", np_bce, F.binary_cross_entropy, ("prob", "prob"), "weight"),
    _pointwise_spec("binary_cross_entropy_with_logits", np_bce_logits, F.binary_cross_entropy_with_logits,
                    ("real", "prob"), "logits"),
]


# ------------------------------------------------------------------------------- class losses
@st.composite
def class_shapes(draw: Any) -> tuple:
    n, c, d = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 3))
    return (draw(st.sampled_from([(n, c), (c,), (n, c, d)])),)


@st.composite
def class_params(draw: Any, shapes: tuple, ce: bool) -> dict:
    s = shapes[0]
    C = s[1] if len(s) > 1 else s[0]
    lshape = s[:1] + s[2:] if len(s) > 1 else ()
    p: dict = {"reduction": draw(reductions)}
    if ce and draw(st.integers(0, 3)) == 0:  # probability targets
        q = draw(hnp.arrays(np.float64, s, elements=st.floats(0.05, 1.0)))
        p["target"] = q / q.sum(axis=1 if len(s) > 1 else 0, keepdims=True)
    else:
        y = draw(hnp.arrays(np.int64, lshape, elements=st.integers(0, C - 1)))
        ignore = draw(st.sampled_from([-100, 0, C - 1, 7]))
        if draw(st.booleans()) and y.size:  # some labels ignored
            flat = y.reshape(-1)
            flat[draw(st.integers(0, flat.size - 1))] = ignore
        if p["reduction"] == "mean" and not np.any(y != ignore):
            y = np.where(y == ignore, 0, y)  # (every label ignored: a mean of nothing, nan, checked on its own)
            ignore = -100
        p["target"], p["ignore_index"] = y, ignore
    if draw(st.booleans()):
        p["weight"] = draw(hnp.arrays(np.float64, (C,), elements=st.floats(0.2, 2.0)))
    if ce and draw(st.booleans()):
        p["label_smoothing"] = draw(st.sampled_from([0.1, 0.35, 1.0]))
    return p


def np_nll(lp: np.ndarray, target: np.ndarray, reduction: str, ignore_index: int = -100, weight: Any = None,
           label_smoothing: float = 0.0) -> np.ndarray:
    """Reference by loops: position by position, the weighted target distribution."""
    lpm = lp[None] if lp.ndim == 1 else np.moveaxis(lp, 1, -1)
    C = lpm.shape[-1]
    w = np.ones(C) if weight is None else weight
    probs = target.dtype.kind == "f"
    tg = (target[None] if lp.ndim == 1 else np.moveaxis(target, 1, -1)) if probs else target.reshape(
        lpm.shape[:-1])
    terms = np.zeros(lpm.shape[:-1])
    total = 0.0
    eps = label_smoothing
    for pos in np.ndindex(*lpm.shape[:-1]):
        if probs:
            q = (1 - eps) * tg[pos] + eps / C
            terms[pos] = -np.sum(w * q * lpm[pos])
            total += 1
            continue
        y = int(tg[pos])
        if y == ignore_index:
            continue
        terms[pos] = -(1 - eps) * w[y] * lpm[pos][y] - eps / C * np.sum(w * lpm[pos])
        total += w[y]
    terms = terms[0] if lp.ndim == 1 else terms
    return _reduce(terms, reduction, total)


def np_ce(z: np.ndarray, target: np.ndarray, reduction: str, **kw: Any) -> np.ndarray:
    ax = 1 if z.ndim > 1 else 0
    m = z.max(axis=ax, keepdims=True)
    return np_nll(z - m - np.log(np.exp(z - m).sum(axis=ax, keepdims=True)), target, reduction, **kw)


def _class_torch(name: str) -> Callable:
    def f(T: Any, x: Any, target: np.ndarray, **kw: Any) -> Any:
        return getattr(T.nn.functional, name)(x, T.tensor(target), **{k: _tt(T, v) for k, v in kw.items()})
    return f


CLASS = [
    OpSpec("nll_loss", np_nll, F.nll_loss, _class_torch("nll_loss"), ("real",), class_shapes(),
           lambda s: class_params(s, False)),
    OpSpec("cross_entropy", np_ce, F.cross_entropy, _class_torch("cross_entropy"), ("real",), class_shapes(),
           lambda s: class_params(s, True)),
]
SPECS = POINTWISE + CLASS
IDS = [s.name for s in SPECS]


(test_value_matches_numpy, test_gradients_match_finite_differences,
 test_value_and_gradients_match_torch) = table_tests(SPECS)


def test_every_new_loss_op_is_registered() -> None:
    names = {o.name for o in ops.ALL}
    assert {"l1_loss", "huber_loss", "smooth_l1_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
            "nll_loss"} <= names


# ------------------------------------------------------------------------------- edges vs torch
def test_extreme_logits_and_clamped_probabilities_match_torch(torch: Any) -> None:
    z = np.array([[-800.0, 800.0, 0.0], [40.0, -40.0, 1e-3]])
    t = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 1.0]])
    x = np.array([[0.0, 1.0, 0.5], [1.0, 0.0, 1e-300]])
    pw = np.array([2.0, 0.5, 3.0])
    for fn, tfn, inp, kw in ((F.binary_cross_entropy_with_logits, torch.nn.functional.binary_cross_entropy_with_logits,
                              z, {"pos_weight": pw}),
                             (F.binary_cross_entropy, torch.nn.functional.binary_cross_entropy, x, {})):
        a = Tensor(inp, requires_grad=True)
        ta = torch.tensor(inp, requires_grad=True)
        out = fn(a, t, reduction="sum", **kw)
        tout = tfn(ta, torch.tensor(t), reduction="sum", **{k: torch.tensor(v) for k, v in kw.items()})
        assert np.isfinite(out.item())
        np.testing.assert_allclose(out.item(), tout.item(), rtol=1e-12)
        out.backward()
        tout.backward()
        np.testing.assert_allclose(a.grad, ta.grad.numpy(), rtol=1e-12, atol=1e-300)


def test_all_labels_ignored_gives_nan_mean_and_zero_gradient_as_torch(torch: Any) -> None:
    z = Tensor(np.ones((2, 3)), requires_grad=True)
    out = F.cross_entropy(z, np.array([-100, -100]))
    tz = torch.ones((2, 3), dtype=torch.float64, requires_grad=True)
    tout = torch.nn.functional.cross_entropy(tz, torch.tensor([-100, -100]))
    assert np.isnan(out.item()) and np.isnan(tout.item())
    out.backward()
    tout.backward()
    np.testing.assert_array_equal(z.grad, tz.grad.numpy())


@pytest.mark.filterwarnings("ignore:size_average and reduce args")
@pytest.mark.parametrize("legacy", [(None, False), (False, None), (False, True), (True, True)])
def test_legacy_size_average_and_reduce(torch: Any, legacy: tuple) -> None:
    z, y = np.random.default_rng(0).standard_normal((4, 3)), np.array([0, 2, 1, 1])
    size_average, reduce = legacy
    for name in ("cross_entropy", "nll_loss"):
        out = getattr(F, name)(Tensor(z), y, size_average=size_average, reduce=reduce)
        tout = getattr(torch.nn.functional, name)(torch.tensor(z), torch.tensor(y), size_average=size_average,
                                                  reduce=reduce)
        np.testing.assert_allclose(out.data, tout.numpy(), rtol=1e-13)


def test_modules_match_torch_modules(torch: Any) -> None:
    rng = np.random.default_rng(1)
    z, t, y = rng.standard_normal((4, 3)), rng.uniform(0, 1, (4, 3)), np.array([0, 2, -100, 1])
    w = rng.uniform(0.5, 2.0, 3)
    T = torch.tensor
    pairs = [
        (nn.L1Loss(reduction="sum"), torch.nn.L1Loss(reduction="sum"), z, t),
        (nn.HuberLoss(delta=0.4), torch.nn.HuberLoss(delta=0.4), z, t),
        (nn.SmoothL1Loss(beta=0.3), torch.nn.SmoothL1Loss(beta=0.3), z, t),
        (nn.BCELoss(w), torch.nn.BCELoss(T(w)), t, rng.uniform(0, 1, (4, 3))),
        (nn.BCEWithLogitsLoss(w, pos_weight=2 * w), torch.nn.BCEWithLogitsLoss(T(w), pos_weight=T(2 * w)), z, t),
        (nn.NLLLoss(w, ignore_index=-100), torch.nn.NLLLoss(T(w)), z, y),
        (nn.CrossEntropyLoss(w, label_smoothing=0.2), torch.nn.CrossEntropyLoss(T(w), label_smoothing=0.2), z, y),
        (nn.CrossEntropyLoss(reduction="none"), torch.nn.CrossEntropyLoss(reduction="none"), z, y),
    ]
    for ours, theirs, a, b in pairs:
        np.testing.assert_allclose(ours(Tensor(a), b).data, theirs(T(a), T(b)).numpy(), rtol=1e-13, atol=1e-15)
    assert set(nn.CrossEntropyLoss(w).state_dict()) == set(torch.nn.CrossEntropyLoss(T(w)).state_dict()) == {"weight"}
    assert set(nn.BCEWithLogitsLoss(pos_weight=w).state_dict()) == {"pos_weight"}


# ------------------------------------------------------------------------------- per sample
B, D, K = 6, 4, 3


def _data(seed: int = 0) -> tuple:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((B, D)), rng.uniform(0, 1, (B, K)), rng.integers(0, K, B)


X, T01, Y = _data()
PROBS = T01 / T01.sum(axis=1, keepdims=True)
W3 = np.array([0.5, 2.0, 1.25])


def _rows(b: Any) -> slice:
    return slice(None) if b is None else slice(b, b + 1)


PER_SAMPLE: dict = {
    "l1_loss": lambda o, b, r: F.l1_loss(o, T01[_rows(b)], reduction=r),
    "l1_loss rowwise weight": lambda o, b, r: F.l1_loss(o, T01[_rows(b)], reduction=r,
                                                        weight=np.tile(W3, (B, 1))[_rows(b)]),
    "huber_loss": lambda o, b, r: F.huber_loss(o, T01[_rows(b)], reduction=r, delta=0.3),
    "smooth_l1_loss": lambda o, b, r: F.smooth_l1_loss(o, T01[_rows(b)], reduction=r, beta=0.4),
    "binary_cross_entropy": lambda o, b, r: F.binary_cross_entropy(o.sigmoid(), T01[_rows(b)], W3, reduction=r),
    "bce_with_logits": lambda o, b, r: F.binary_cross_entropy_with_logits(o, T01[_rows(b)], W3, reduction=r,
                                                                          pos_weight=2 * W3),
    "nll_loss": lambda o, b, r: F.nll_loss(o.log_softmax(-1), Y[_rows(b)], reduction=r),
    "nll_loss uniform weight": lambda o, b, r: F.nll_loss(o.log_softmax(-1), Y[_rows(b)], np.full(K, 0.3),
                                                          reduction=r),
    "cross_entropy smoothing": lambda o, b, r: F.cross_entropy(o, Y[_rows(b)], reduction=r, label_smoothing=0.2),
    "cross_entropy probabilities": lambda o, b, r: F.cross_entropy(o, PROBS[_rows(b)], W3, reduction=r,
                                                                   label_smoothing=0.1),
    "cross_entropy weighted sum": lambda o, b, r: F.cross_entropy(o, Y[_rows(b)], W3, reduction="sum"),
    "BCEWithLogitsLoss module": lambda o, b, r: nn.BCEWithLogitsLoss(reduction=r)(o, T01[_rows(b)]),
    "NLLLoss module": lambda o, b, r: nn.NLLLoss(reduction=r)(o.log_softmax(-1), Y[_rows(b)]),
}


def _alone(cost: Callable, reduction: str) -> tuple:
    return each_sample_alone(cost, reduction, X, K, 5)


def each_sample_alone(cost: Callable, reduction: str, X: np.ndarray, K: int, hidden: int) -> tuple:
    """(model, each sample's gradients run alone: {name: (B, *shape)}) for the model
    Linear(D, hidden) -> Tanh -> Linear(hidden, K) over the rows of X, the model's gradients
    cleared; ``cost(output, b, reduction)`` is sample b's cost (b None: the whole batch)."""
    model = nn.Sequential(nn.Linear(X.shape[1], hidden, rng=0), nn.Tanh(), nn.Linear(hidden, K, rng=1))
    rows: dict = {n: [] for n, _ in model.named_parameters()}
    for b in range(len(X)):
        model.zero_grad()
        cost(model(Tensor(X[b:b + 1])), b, reduction).backward(per_sample=False)
        for n, p in model.named_parameters():
            rows[n].append(p.grad.copy())
    model.zero_grad()
    return model, {n: np.stack(v) for n, v in rows.items()}


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("name", list(PER_SAMPLE))
def test_grad_sample_equals_each_sample_alone(name: str, reduction: str) -> None:
    cost = PER_SAMPLE[name]
    if name.endswith("weighted sum"):
        reduction = "sum"
    model, ref = _alone(cost, reduction)
    cost(model(Tensor(X, batched=True)), None, reduction).backward()
    for n, p in model.named_parameters():
        np.testing.assert_allclose(p.grad_sample, ref[n], rtol=1e-10, atol=1e-13, err_msg=n)
        agg = ref[n].mean(axis=0) if reduction == "mean" else ref[n].sum(axis=0)
        np.testing.assert_allclose(p.grad, agg, rtol=1e-10, atol=1e-13, err_msg=n)
    norms = tl.per_sample_norms(model.parameters())
    expect = np.sqrt(sum((r.reshape(B, -1) ** 2).sum(axis=1) for r in ref.values()))
    np.testing.assert_allclose(norms, expect, rtol=1e-10)


def test_a_batched_target_alone_gives_each_samples_gradient() -> None:
    """An unbatched prediction (a parameter) against a batched target: sample b's term."""
    p = Tensor(np.full((B, K), 0.3), requires_grad=True)
    F.huber_loss(p, Tensor(T01, batched=True), delta=0.1).backward()
    ref = np.zeros((B, B, K))
    for b in range(B):
        ref[b, b] = np.clip(0.3 - T01[b], -0.1, 0.1) / K
    np.testing.assert_allclose(p.grad_sample, ref, rtol=1e-12, atol=1e-15)


MIXING = {
    "nll_loss class weights": lambda o: F.nll_loss(o.log_softmax(-1), Y, W3),
    "cross_entropy ignored label": lambda o: F.cross_entropy(o, np.where(np.arange(B) == 2, -100, Y)),
    "cross_entropy ignore_index a class": lambda o: F.cross_entropy(o, Y, ignore_index=int(Y[0])),
    "l1_loss weights differing by sample": lambda o: F.l1_loss(o, T01, weight=np.arange(B * K, dtype=float
                                                                                        ).reshape(B, K) + 1),
}


@pytest.mark.parametrize("name", list(MIXING))
def test_a_mean_over_the_batchs_selected_weight_raises_the_mixing_error(torch: Any, name: str) -> None:
    model = nn.Linear(D, K, rng=0)
    cost = MIXING[name](model(Tensor(X, batched=True)))
    cost.backward()
    with pytest.raises(RuntimeError, match="gradients .* undefined: op '(nll_loss|l1_loss)'.*reduction='sum'"):
        _ = model.weight.grad_sample
    with pytest.raises(RuntimeError, match="undefined"):
        tl.optim.DPSGD(model.parameters(), lr=0.1, max_grad_norm=1.0, noise_multiplier=0.0).step()
    other = nn.Linear(D, K, rng=0)  # .grad is the plain batch gradient all the same
    MIXING[name](other(Tensor(X))).backward()
    np.testing.assert_allclose(model.weight.grad, other.weight.grad, rtol=1e-13, atol=1e-15)


def test_a_weighted_sum_or_none_then_mean_gives_per_sample_gradients() -> None:
    model = nn.Linear(D, K, rng=0)
    F.nll_loss(model(Tensor(X, batched=True)).log_softmax(-1), Y, W3, reduction="none").mean().backward()
    ref = []
    for b in range(B):
        model.zero_grad()
        F.nll_loss(model(Tensor(X[b:b + 1])).log_softmax(-1), Y[b:b + 1], W3, reduction="sum").backward()
        ref.append(model.weight.grad.copy())
    model.zero_grad()
    F.nll_loss(model(Tensor(X, batched=True)).log_softmax(-1), Y, W3, reduction="none").mean().backward()
    np.testing.assert_allclose(model.weight.grad_sample, np.stack(ref), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("fn", [
    lambda o: F.binary_cross_entropy_with_logits(o, np.zeros((0, K))),
    lambda o: F.nll_loss(o.log_softmax(-1), np.zeros(0, np.int64)),
    lambda o: F.cross_entropy(o, np.zeros(0, np.int64), label_smoothing=0.1),
    lambda o: F.l1_loss(o, np.zeros((0, K))),
])
def test_empty_batch_mean_is_zero_with_empty_grad_sample(fn: Callable) -> None:
    check_empty_batch(fn)


def check_empty_batch(fn: Callable, d: int = D, k: int = K) -> None:
    """A mean cost over an empty batch of a Linear(d, k) is 0, with an empty grad_sample and a
    zero .grad."""
    model = nn.Linear(d, k, rng=0)
    loss = fn(model(Tensor(np.zeros((0, d)), batched=True)))
    assert loss.item() == 0.0
    loss.backward()
    assert model.weight.grad_sample.shape == (0, k, d) and not model.weight.grad.any()


# ------------------------------------------------------------------------------- DP-SGD vs Opacus
@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("which", ["BCEWithLogitsLoss", "NLLLoss"])
def test_noise_free_dpsgd_step_matches_opacus(torch: Any, which: str) -> None:
    opacus = pytest.importorskip("opacus")
    from opacus.optimizers import DPOptimizer

    n, C, lr = 12, 0.2, 0.4
    rng = np.random.default_rng(5)
    Xo, To, Yo = rng.standard_normal((n, D)), rng.uniform(0, 1, (n, K)), rng.integers(0, K, n)
    model = nn.Sequential(nn.Linear(D, 7, rng=0), nn.Tanh(), nn.Linear(7, K, rng=1))
    tmodel = torch.nn.Sequential(torch.nn.Linear(D, 7), torch.nn.Tanh(), torch.nn.Linear(7, K)).double()
    tmodel.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in model.state_dict().items()})
    gsm = opacus.GradSampleModule(tmodel, loss_reduction="mean")
    topt = DPOptimizer(torch.optim.SGD(gsm.parameters(), lr=lr), noise_multiplier=0.0, max_grad_norm=C,
                       expected_batch_size=n, loss_reduction="mean")
    topt.zero_grad()
    tx = torch.from_numpy(Xo)
    if which == "BCEWithLogitsLoss":
        torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(2 * W3))(gsm(tx), torch.from_numpy(To)).backward()
        nn.BCEWithLogitsLoss(pos_weight=2 * W3)(model(Tensor(Xo, batched=True)), To).backward()
    else:
        torch.nn.NLLLoss()(torch.log_softmax(gsm(tx), -1), torch.from_numpy(Yo)).backward()
        nn.NLLLoss()(model(Tensor(Xo, batched=True)).log_softmax(-1), Yo).backward()
    topt.step()
    w0 = [p.data.copy() for p in model.parameters()]
    opt = tl.optim.DPSGD(model.parameters(), lr=lr, max_grad_norm=C, noise_multiplier=0.0, expected_batch_size=n)
    opt.step()
    assert 0 < opt.last_clipped_fraction
    theirs = {k: v.detach().numpy() for k, v in tmodel.state_dict().items()}
    for (name, p), w in zip(model.named_parameters(), w0):
        # Opacus clips with C / (norm + 1e-6): agreement to ~1e-6 relative on the update
        upd, their_upd = p.data - w, theirs[name] - w
        np.testing.assert_allclose(upd, their_upd, rtol=2e-6, atol=2e-6 * np.abs(upd).max())


# ------------------------------------------------------------------------------- bad inputs
z34 = Tensor(np.zeros((3, 4)), requires_grad=True)
BAD: list = [
    (lambda: F.l1_loss(z34, np.zeros((3, 1))), ValueError, r"l1_loss: input shape \(3, 4\) and target shape \(3, 1\)"),
    (lambda: F.huber_loss(z34, np.zeros(4)), ValueError, r"huber_loss: .*\(3, 4\).*\(4,\)"),
    (lambda: F.smooth_l1_loss(z34, np.zeros((4, 3))), ValueError, r"smooth_l1_loss: .*\(3, 4\).*\(4, 3\)"),
    (lambda: F.binary_cross_entropy(z34, np.zeros((1, 4))), ValueError, r"binary_cross_entropy: .*\(1, 4\)"),
    (lambda: F.binary_cross_entropy_with_logits(z34, np.zeros((3,))), ValueError,
     r"binary_cross_entropy_with_logits: .*\(3, 4\).*\(3,\)"),
    (lambda: F.binary_cross_entropy(Tensor([0.5, 1.5]), np.zeros(2)), ValueError, "binary_cross_entropy.*1.5"),
    (lambda: F.binary_cross_entropy_with_logits(z34, np.zeros((3, 4)), pos_weight=np.ones(3)), ValueError,
     "pos_weight of shape"),
    (lambda: F.l1_loss(z34, np.zeros((3, 4)), weight=np.ones(4)), ValueError, "l1_loss: weight"),
    (lambda: F.l1_loss(z34, np.zeros((3, 4)), reduction="avg"), ValueError, "l1_loss: reduction"),
    (lambda: F.binary_cross_entropy_with_logits(z34, np.zeros((3, 4)), reduction="batchmean"), ValueError,
     "reduction"),
    (lambda: F.huber_loss(z34, np.zeros((3, 4)), delta=0.0), ValueError, "huber_loss: delta"),
    (lambda: F.smooth_l1_loss(z34, np.zeros((3, 4)), beta=-1.0), ValueError, "smooth_l1_loss: beta"),
    (lambda: F.nll_loss(z34, np.array([0, 4, 1])), IndexError, "nll_loss: label 4 is out of range for 4"),
    (lambda: F.nll_loss(z34, np.array([0, -3, 1])), IndexError, "label -3"),
    (lambda: F.cross_entropy(z34, np.array([0, 9, 1]), weight=np.ones(4)), IndexError, "cross_entropy: label 9"),
    (lambda: F.cross_entropy(z34, np.array([0, 1])), ValueError, r"labels of shape \(2,\).*\(3, 4\)"),
    (lambda: F.nll_loss(z34, np.array([0, 1, 2]), weight=np.ones(3)), ValueError, r"nll_loss: weight .*\(4,\)"),
    (lambda: F.nll_loss(z34, np.array([0.0, 1.0, 2.0])), TypeError, "nll_loss: labels must be integer"),
    (lambda: F.nll_loss(z34, np.array([0, 1, 2]), reduction="avg"), ValueError, "nll_loss: reduction"),
    (lambda: F.cross_entropy(z34, np.array([0, 1, 2]), label_smoothing=1.5), ValueError, "label_smoothing"),
    (lambda: F.nll_loss(z34, np.array([0, 1, 2]), "sum"), ValueError, "reduction='sum'"),  # (cross_entropy: the
    # contract's positional reduction, tests/test_contract_spellings.py)
    (lambda: F.cross_entropy(z34, np.array([0, 1, 2]), weight=Tensor(np.ones(4), requires_grad=True)), TypeError,
     "weight"),
    (lambda: nn.CrossEntropyLoss(label_smoothing=-0.1), ValueError, "label_smoothing"),
    (lambda: nn.NLLLoss(reduction="avg"), ValueError, "NLLLoss: reduction"),
    (lambda: nn.BCELoss(weight="mean"), ValueError, "BCELoss: weight"),
]


@pytest.mark.parametrize("fn,exc,match", BAD, ids=[b[2][:40] for b in BAD])
def test_bad_inputs_raise_naming_the_loss(fn: Callable, exc: type, match: str) -> None:
    with pytest.raises(exc, match=match):
        fn()


@pytest.mark.filterwarnings("ignore:size_average and reduce args:UserWarning")  # (torch's own deprecation note)
@pytest.mark.parametrize("size_average", [None, True, False])
@pytest.mark.parametrize("reduce", [None, True, False])
def test_mse_legacy_flags_as_torch(size_average: Any, reduce: Any) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    p, t = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    kw = {k: v for k, v in (("size_average", size_average), ("reduce", reduce)) if v is not None}
    tp = torch.tensor(p, requires_grad=True)
    want = torch.nn.functional.mse_loss(tp, torch.tensor(t), **kw)
    want_module = torch.nn.MSELoss(**kw)(tp, torch.tensor(t))
    want.sum().backward()
    for got in (tl.nn.functional.mse_loss(tl.Tensor(p), tl.Tensor(t), **kw),
                tl.nn.MSELoss(**kw)(tl.Tensor(p), tl.Tensor(t))):
        assert got.shape == tuple(want.shape)
        np.testing.assert_allclose(got.data, want.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(want_module.detach().numpy(), want.detach().numpy(), rtol=1e-12)
    x = tl.Tensor(p, requires_grad=True)
    tl.nn.functional.mse_loss(x, tl.Tensor(t), **kw).sum().backward()
    np.testing.assert_allclose(x.grad, tp.grad.numpy(), rtol=1e-12)


def test_mse_module_takes_the_reduction_by_position_too() -> None:
    rng = np.random.default_rng(6)
    p, t = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    got = tl.nn.MSELoss("sum")(tl.Tensor(p), tl.Tensor(t))
    np.testing.assert_allclose(got.data, ((p - t) ** 2).sum(), rtol=1e-12)
