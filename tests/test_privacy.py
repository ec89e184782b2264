"""Privacy accounting: tl.privacy.Accountant, get_noise_multiplier and make_private.

Epsilons are checked against Google's dp-accounting called directly (the library the
accountant wraps) and against Opacus (its RDP accountant and its noise search) when Opacus
is importable; the ImportError without dp-accounting, the argument checks, the history
merging and the state_dict round trip through tl.save / tl.load are checked too. The
end-to-end make_private tests need the Poisson DataLoader and DPSGD's accountant keywords
and skip until both exist.
"""

from __future__ import annotations

import functools
import math
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import privacy

dpa = pytest.importorskip("dp_accounting")

ROOT = Path(__file__).resolve().parents[1]
HINT = 'pip install "tinygrad_lite[privacy]"'


# (noise_multiplier, sample_rate, steps, delta)
CASES = [(1.0, 0.01, 1000, 1e-5), (1.5, 0.004, 5000, 1e-6), (0.8, 0.05, 200, 1e-5), (4.0, 0.2, 300, 1e-3),
         (1.1, 1.0, 10, 1e-5)]


def _event(sigma: float, q: float, n: int) -> Any:
    return dpa.SelfComposedDpEvent(dpa.PoissonSampledDpEvent(q, dpa.GaussianDpEvent(sigma)), n)


def _direct_rdp(entries: list, delta: float) -> float:
    acc = dpa.rdp.RdpAccountant(orders=[1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64)))
    for sigma, q, n in entries:
        acc.compose(_event(sigma, q, n))
    return acc.get_epsilon(delta)


def _direct_pld(entries: list, delta: float) -> float:
    acc = dpa.pld.PLDAccountant(value_discretization_interval=1e-4)
    for sigma, q, n in entries:
        acc.compose(_event(sigma, q, n))
    return acc.get_epsilon(delta)


def _epsilon(kind: str, sigma: float, q: float, n: int, delta: float) -> float:
    acc = privacy.Accountant(kind)
    acc.step(sigma, q, n)
    return acc.get_epsilon(delta)


# --------------------------------------------------------------------------- against dp-accounting


def test_rdp_orders_are_opacus_defaults() -> None:
    assert privacy.RDP_ORDERS == tuple([1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64)))


@pytest.mark.parametrize("sigma, q, n, delta", CASES)
def test_rdp_epsilon_equals_dp_accounting(sigma: float, q: float, n: int, delta: float) -> None:
    eps = _epsilon("rdp", sigma, q, n, delta)
    assert 0 < eps < math.inf
    assert eps == pytest.approx(_direct_rdp([(sigma, q, n)], delta), rel=1e-12)


@pytest.mark.parametrize("sigma, q, n, delta", [CASES[0], CASES[3], CASES[4]])
def test_pld_epsilon_equals_dp_accounting(sigma: float, q: float, n: int, delta: float) -> None:
    eps = _epsilon("pld", sigma, q, n, delta)
    assert 0 < eps < math.inf
    assert eps == pytest.approx(_direct_pld([(sigma, q, n)], delta), rel=1e-12)
    # PLD is the tighter accounting: never above RDP, and within the same ballpark
    assert eps <= _epsilon("rdp", sigma, q, n, delta) * (1 + 1e-9)
    assert eps > 0.5 * _epsilon("rdp", sigma, q, n, delta)


@pytest.mark.parametrize("kind", ["rdp", "pld"])
def test_mixed_history_composes_every_entry(kind: str) -> None:
    entries = [(2.0, 0.05, 100), (4.0, 0.2, 30), (2.0, 0.05, 20)]
    acc = privacy.Accountant(kind)
    for sigma, q, n in entries:
        acc.step(sigma, q, n)
    assert acc.history == entries
    direct = (_direct_rdp if kind == "rdp" else _direct_pld)(entries, 1e-5)
    assert acc.get_epsilon(1e-5) == pytest.approx(direct, rel=1e-12)
    first_only = privacy.Accountant(kind)
    first_only.step(*entries[0])
    assert acc.get_epsilon(1e-5) > first_only.get_epsilon(1e-5)


@pytest.mark.parametrize("kind", ["rdp", "pld"])
def test_epsilon_zero_before_any_step_and_inf_without_noise(kind: str) -> None:
    acc = privacy.Accountant(kind)
    assert acc.get_epsilon(1e-5) == 0.0 and acc.history == []
    acc.step(2.0, 0.01)
    assert 0 < acc.get_epsilon(1e-5) < math.inf
    acc.step(0.0, 0.01)
    assert acc.get_epsilon(1e-5) == math.inf
    assert acc.history == [(2.0, 0.01, 1), (0.0, 0.01, 1)]


def test_epsilon_grows_with_steps_and_falls_with_delta_and_noise() -> None:
    e = [_epsilon("rdp", 1.0, 0.01, n, 1e-5) for n in (100, 1000, 10000)]
    assert e[0] < e[1] < e[2]
    assert _epsilon("rdp", 1.0, 0.01, 1000, 1e-3) < e[1] < _epsilon("rdp", 1.0, 0.01, 1000, 1e-7)
    assert _epsilon("rdp", 2.0, 0.01, 1000, 1e-5) < e[1]


# --------------------------------------------------------------------------- against Opacus

# Agreement with Opacus's RDP accountant. Same orders, same (epsilon, delta) conversion, so the
# only difference is how the two libraries sum the series of the RDP of the subsampled Gaussian at
# fractional orders (Opacus stops at an absolute cut-off, dp-accounting at one relative to the sum,
# and leaves out an order whose series does not converge). Over a grid of sigma in [0.8, 4],
# q in [0.001, 0.05], 100..10^4 steps and delta 1e-5/1e-6, wherever epsilon <= 10 the relative
# difference was at most 3.8e-4 (largest where the best order is small, ~3), 1e-6 or less for most
# cases, and dp-accounting's epsilon was never the smaller one: hence 1e-3 below. (For epsilon ~50-100,
# best order < 2, the two part by up to 14%, dp-accounting again being the cautious one.)
OPACUS_CASES = [(1.0, 0.01, 1000, 1e-5), (0.8, 0.01, 1000, 1e-5), (1.5, 0.05, 1000, 1e-6),
                (2.0, 0.004, 10000, 1e-6), (1.0, 0.05, 100, 1e-5), (4.0, 0.001, 100, 1e-5),
                (1.2, 0.02, 3000, 1e-5)]


@pytest.fixture(scope="module")
def opacus_accountants() -> Any:
    pytest.importorskip("opacus")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from opacus.accountants import RDPAccountant
        from opacus.accountants.utils import get_noise_multiplier
    return RDPAccountant, get_noise_multiplier


@pytest.mark.parametrize("sigma, q, n, delta", OPACUS_CASES)
def test_rdp_epsilon_agrees_with_opacus(opacus_accountants: Any, sigma: float, q: float, n: int,
                                        delta: float) -> None:
    RDPAccountant, _ = opacus_accountants
    theirs = RDPAccountant()
    theirs.history = [(sigma, q, n)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = theirs.get_epsilon(delta)
    ours = _epsilon("rdp", sigma, q, n, delta)
    assert expected <= 10
    assert ours >= expected * (1 - 1e-9)
    assert ours == pytest.approx(expected, rel=1e-3)


def test_history_merges_like_opacus(opacus_accountants: Any) -> None:
    RDPAccountant, _ = opacus_accountants
    rng = np.random.default_rng(0)
    ours, theirs = privacy.Accountant("rdp"), RDPAccountant()
    for _ in range(200):
        sigma, q = float(rng.choice([1.0, 1.3])), float(rng.choice([0.01, 0.02]))
        if rng.random() < 0.7 and ours.history:  # mostly repeat the last setting
            sigma, q = ours.history[-1][:2]
        ours.step(sigma, q)
        theirs.step(noise_multiplier=sigma, sample_rate=q)
    assert ours.history == [tuple(h) for h in theirs.history]
    assert 2 < len(ours.history) < 200


def _opacus_sigma(opacus_accountants: Any, eps: float, delta: float, q: float, steps: int) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return opacus_accountants[1](target_epsilon=eps, target_delta=delta, sample_rate=q, steps=steps)


@pytest.mark.parametrize("eps, delta, q, steps", [(1.0, 1e-5, 0.01, 1000), (3.0, 1e-5, 0.0445, 440),
                                                  (0.5, 1e-6, 0.004, 5000)])
def test_noise_multiplier_equals_opacus(opacus_accountants: Any, eps: float, delta: float, q: float,
                                        steps: int) -> None:
    # the same search over epsilons that agree to ~1e-6: the same bisection steps, the same sigma
    expected = _opacus_sigma(opacus_accountants, eps, delta, q, steps)
    assert privacy.get_noise_multiplier(eps, delta, q, steps=steps) == pytest.approx(expected, rel=1e-9)


def test_noise_multiplier_near_opacus_at_a_large_sample_rate(opacus_accountants: Any) -> None:
    # q = 0.18: the epsilons part by ~1e-3 (see above), enough to take one bisection step the other
    # way; the sigmas stay within 1%, dp-accounting's the larger (the cautious side)
    expected = _opacus_sigma(opacus_accountants, 8.0, 1e-5, 0.1781, 150)
    ours = privacy.get_noise_multiplier(8.0, 1e-5, 0.1781, steps=150)
    assert expected <= ours <= 1.01 * expected


# --------------------------------------------------------------------------- get_noise_multiplier


@pytest.mark.parametrize("eps, q, steps, tol", [(1.0, 0.01, 1000, 1e-3), (3.0, 0.05, 300, 1e-3),
                                                (8.0, 0.2, 100, 1e-3), (2.0, 0.01, 2000, 0.01)])
def test_noise_multiplier_meets_the_target_and_is_minimal(eps: float, q: float, steps: int,
                                                          tol: float) -> None:
    sigma = privacy.get_noise_multiplier(eps, 1e-5, q, steps=steps, epsilon_tolerance=tol)
    spent = _epsilon("rdp", sigma, q, steps, 1e-5)
    assert eps - tol <= spent <= eps
    # minimal: 1% less noise breaks the budget
    assert _epsilon("rdp", 0.99 * sigma, q, steps, 1e-5) > eps


def test_noise_multiplier_pld_meets_the_target() -> None:
    sigma = privacy.get_noise_multiplier(2.0, 1e-5, 1.0, steps=5, kind="pld")
    spent = _epsilon("pld", sigma, 1.0, 5, 1e-5)
    assert 2.0 - 0.01 <= spent <= 2.0
    assert _epsilon("pld", 0.99 * sigma, 1.0, 5, 1e-5) > 2.0
    assert sigma < privacy.get_noise_multiplier(2.0, 1e-5, 1.0, steps=5)  # tighter accounting, less noise


def test_noise_multiplier_from_epochs_rounds_the_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = []
    compose = privacy._compose
    monkeypatch.setattr(privacy, "_compose", lambda kind, history, interval: seen.append(history[0][2])
                        or compose(kind, history, interval))
    sigma = privacy.get_noise_multiplier(2.0, 1e-5, 0.1, epochs=0.7)   # 0.7 / 0.1 = 6.999999999999999
    assert set(seen) == {7}
    assert sigma == privacy.get_noise_multiplier(2.0, 1e-5, 0.1, steps=7)
    seen.clear()
    privacy.get_noise_multiplier(2.0, 1e-5, 0.01, epochs=3)
    assert set(seen) == {300}


def test_noise_multiplier_errors() -> None:
    good: dict = {"target_epsilon": 1.0, "target_delta": 1e-5, "sample_rate": 0.01, "steps": 100}
    for name, bad in [("target_epsilon", 0.0), ("target_epsilon", -1.0), ("target_epsilon", math.nan),
                      ("target_epsilon", math.inf), ("target_delta", 0.0), ("target_delta", 1.0),
                      ("sample_rate", 0.0), ("sample_rate", 1.5), ("steps", 0), ("steps", 2.5),
                      ("kind", "gdp"), ("epsilon_tolerance", 0.0), ("epsilon_tolerance", -0.1)]:
        with pytest.raises(ValueError, match=name):
            privacy.get_noise_multiplier(**{**good, name: bad})
    with pytest.raises(ValueError, match="exactly one of steps and epochs"):
        privacy.get_noise_multiplier(1.0, 1e-5, 0.01)
    with pytest.raises(ValueError, match="exactly one of steps and epochs"):
        privacy.get_noise_multiplier(1.0, 1e-5, 0.01, steps=10, epochs=1)
    with pytest.raises(ValueError, match="epochs"):
        privacy.get_noise_multiplier(1.0, 1e-5, 0.01, epochs=-1)
    with pytest.raises(ValueError, match="cannot be reached"):   # RDP cannot certify delta = 1e-300
        privacy.get_noise_multiplier(1.0, 1e-300, 0.01, steps=10)


# --------------------------------------------------------------------------- Accountant mechanics


def test_history_merges_consecutive_equal_steps() -> None:
    acc = privacy.Accountant()
    acc.step(1.0, 0.01)
    acc.step(1.0, 0.01)
    acc.step(noise_multiplier=1.0, sample_rate=0.01, num_steps=3)
    acc.step(2.0, 0.01)
    acc.step(2.0, 0.02)
    acc.step(1.0, 0.01, num_steps=np.int64(4))
    assert acc.history == [(1.0, 0.01, 5), (2.0, 0.01, 1), (2.0, 0.02, 1), (1.0, 0.01, 4)]
    assert all(type(s) is float and type(q) is float and type(n) is int for s, q, n in acc.history)


def test_many_single_steps_equal_one_merged_step() -> None:
    one, many = privacy.Accountant(), privacy.Accountant()
    one.step(1.3, 0.02, 500)
    for _ in range(500):
        many.step(1.3, 0.02)
    assert many.history == one.history
    assert many.get_epsilon(1e-5) == one.get_epsilon(1e-5)


def test_step_is_cheap_and_epsilon_is_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    compose = privacy._compose

    def counting(*args: Any) -> Any:
        calls.append(args)
        return compose(*args)

    monkeypatch.setattr(privacy, "_compose", counting)
    acc = privacy.Accountant()
    for _ in range(1000):
        acc.step(1.0, 0.01)
    assert calls == []                           # step only records
    e1 = acc.get_epsilon(1e-5)
    assert acc.get_epsilon(1e-5) == e1 and acc.get_epsilon(1e-6) > e1
    assert len(calls) == 1                       # composed once for both deltas
    acc.step(1.0, 0.01)
    assert acc.get_epsilon(1e-5) > e1 and len(calls) == 2
    acc.history = [(1.0, 0.01, 1000)]            # replacing the history is seen too
    assert acc.get_epsilon(1e-5) == e1 and len(calls) == 3


@pytest.mark.parametrize("kind", ["rdp", "pld"])
def test_state_dict_round_trip_through_save_and_load(kind: str, tmp_path: Path) -> None:
    acc = privacy.Accountant(kind)
    acc.step(2.0, 0.05, 100)
    acc.step(1.5, 0.02, 50)
    state = acc.state_dict()
    assert state["kind"] == kind and state["history"] == [[2.0, 0.05, 100], [1.5, 0.02, 50]]
    tl.save({"accountant": state}, tmp_path / "dp.npz")
    restored = privacy.Accountant(kind)
    restored.load_state_dict(tl.load(tmp_path / "dp.npz")["accountant"])
    assert restored.history == acc.history
    assert restored.get_epsilon(1e-5) == acc.get_epsilon(1e-5)
    restored.step(1.5, 0.02)                     # and it goes on merging
    assert restored.history[-1] == (1.5, 0.02, 51)
    state["history"].append([9.0, 0.5, 1])       # the state is a copy
    assert len(acc.history) == 2


def test_pld_state_keeps_the_discretization(tmp_path: Path) -> None:
    acc = privacy.Accountant("pld", value_discretization_interval=1e-3)
    acc.step(2.0, 0.05, 100)
    other = privacy.Accountant("pld")
    other.load_state_dict(acc.state_dict())
    assert other.value_discretization_interval == 1e-3
    assert other.get_epsilon(1e-5) == acc.get_epsilon(1e-5)
    assert privacy.Accountant("rdp").value_discretization_interval is None
    with pytest.raises(ValueError, match="value_discretization_interval"):
        privacy.Accountant("rdp", value_discretization_interval=1e-3)
    with pytest.raises(ValueError, match="value_discretization_interval"):
        privacy.Accountant("pld", value_discretization_interval=0.0)


def test_load_state_dict_validates_and_changes_nothing() -> None:
    acc = privacy.Accountant("rdp")
    acc.step(1.0, 0.01, 100)
    eps = acc.get_epsilon(1e-5)
    good = acc.state_dict()
    bad_states = [
        (TypeError, "expects a dict", [("rdp",)]),
        (KeyError, "missing keys", {"kind": "rdp"}),
        (KeyError, "unexpected keys", {**good, "extra": 1}),
        (ValueError, "'pld' accountant", {**good, "kind": "pld"}),
        (ValueError, "history must be a list", {**good, "history": "1,0.01,5"}),
        (ValueError, r"history\[1\]", {**good, "history": [[1.0, 0.01, 5], [1.0, 0.01]]}),
        (ValueError, r"history\[0\].*noise_multiplier", {**good, "history": [[-1.0, 0.01, 5]]}),
        (ValueError, r"history\[0\].*noise_multiplier", {**good, "history": [[math.nan, 0.01, 5]]}),
        (ValueError, r"history\[0\].*sample_rate", {**good, "history": [[1.0, 0.0, 5]]}),
        (ValueError, r"history\[0\].*num_steps", {**good, "history": [[1.0, 0.01, 0]]}),
        (ValueError, r"history\[0\].*num_steps", {**good, "history": [[1.0, 0.01, 2.5]]}),
    ]
    for exc, message, state in bad_states:
        with pytest.raises(exc, match=message):
            acc.load_state_dict(state)  # type: ignore[arg-type]
        assert acc.history == [(1.0, 0.01, 100)] and acc.get_epsilon(1e-5) == eps
    with pytest.raises(ValueError, match="value_discretization_interval"):
        privacy.Accountant("pld").load_state_dict({"kind": "pld", "history": [],
                                                   "value_discretization_interval": -1.0})


def test_bad_arguments_name_themselves_and_change_nothing() -> None:
    acc = privacy.Accountant()
    acc.step(1.0, 0.01)
    for args, name in [((-0.5, 0.01), "noise_multiplier"), ((math.nan, 0.01), "noise_multiplier"),
                       ((math.inf, 0.01), "noise_multiplier"), ((1.0, 0.0), "sample_rate"),
                       ((1.0, 1.01), "sample_rate"), ((1.0, -0.1), "sample_rate"),
                       ((1.0, math.nan), "sample_rate"), ((1.0, 0.01, 0), "num_steps"),
                       ((1.0, 0.01, -3), "num_steps"), ((1.0, 0.01, 1.0), "num_steps"),
                       ((1.0, 0.01, True), "num_steps")]:
        with pytest.raises(ValueError, match=name):
            acc.step(*args)
    with pytest.raises(TypeError, match="noise_multiplier"):
        acc.step("1.0", 0.01)
    assert acc.history == [(1.0, 0.01, 1)]
    acc.step(1.0, 1.0)                           # q = 1 (full batch) is allowed
    for delta in (0.0, 1.0, -1e-5, 2.0, math.nan):
        with pytest.raises(ValueError, match="delta"):
            acc.get_epsilon(delta)
    with pytest.raises(ValueError, match="kind"):
        privacy.Accountant("gdp")
    acc.history = [(1.0, 0.01, "many")]          # a replaced history is validated when used
    with pytest.raises(ValueError, match=r"history\[0\]"):
        acc.get_epsilon(1e-5)


# --------------------------------------------------------------------------- without dp-accounting


def test_import_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "dp_accounting", None)
    for make in (lambda: privacy.Accountant(), lambda: privacy.Accountant("pld"),
                 lambda: privacy.get_noise_multiplier(1.0, 1e-5, 0.01, steps=10),
                 lambda: privacy.make_private(tl.nn.Linear(2, 2), np.zeros((10, 2)), np.zeros(10, dtype=int),
                                              batch_size=2, epochs=1, target_epsilon=1.0, target_delta=1e-5,
                                              max_grad_norm=1.0, lr=0.1)):
        with pytest.raises(ImportError, match=re.escape(HINT)):
            make()


def test_module_imports_without_dp_accounting() -> None:
    code = (
        "import sys\n"
        "sys.modules['dp_accounting'] = None\n"
        "import tinygrad_lite.privacy as p\n"
        "try:\n"
        "    p.Accountant()\n"
        "except ImportError as e:\n"
        "    print('IMPORTERROR', e)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT,
                          env=env)
    assert done.returncode == 0, done.stderr
    assert "IMPORTERROR" in done.stdout and HINT in done.stdout
    lazy = subprocess.run([sys.executable, "-c", "import sys, tinygrad_lite.privacy; "
                           "print('dp_accounting' in sys.modules)"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT, env=env)
    assert lazy.returncode == 0, lazy.stderr
    assert lazy.stdout.strip() == "False"   # imported only when an accountant is made


# --------------------------------------------------------------------------- make_private


class _FakeLoader:
    made: list = []

    def __init__(self, X: Any, y: Any, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.sample_rate = kwargs["batch_size"] / len(X)
        self.n_batches = len(X) // kwargs["batch_size"]
        _FakeLoader.made.append(self)

    def __len__(self) -> int:
        return self.n_batches


class _FakeDPSGD:
    made: list = []

    def __init__(self, params: Any, **kwargs: Any) -> None:
        self.params, self.kwargs = list(params), kwargs
        self.accountant = kwargs["accountant"]
        _FakeDPSGD.made.append(self)


@pytest.fixture()
def fakes(monkeypatch: pytest.MonkeyPatch) -> tuple:
    _FakeLoader.made, _FakeDPSGD.made = [], []
    monkeypatch.setattr(tl.data, "DataLoader", _FakeLoader)
    monkeypatch.setattr(tl.optim, "DPSGD", _FakeDPSGD)
    return _FakeLoader.made, _FakeDPSGD.made


def _data(n: int = 400) -> tuple:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 5))
    return X, (X[:, 0] + 0.5 * X[:, 1] > 0).astype(np.int64)


def _model() -> tl.nn.Module:
    return tl.nn.Sequential(tl.nn.Linear(5, 8, rng=0), tl.nn.ReLU(), tl.nn.Linear(8, 2, rng=1))


SETUP: dict = {"batch_size": 40, "epochs": 3, "target_epsilon": 2.0, "target_delta": 1e-5,
               "max_grad_norm": 1.0, "lr": 0.5}


def test_make_private_wiring(fakes: tuple) -> None:
    loaders, optimizers = fakes
    X, y = _data()
    model = _model()
    opt, loader = privacy.make_private(model, X, y, **SETUP, seed=7)
    assert loaders == [loader] and optimizers == [opt]
    assert loader.kwargs == {"batch_size": 40, "sampling": "poisson", "seed": 7, "shard": None}  # (one process)
    kw = opt.kwargs
    # q = 40 / 400 and 3 epochs of 400 // 40 batches
    assert kw["noise_multiplier"] == privacy.get_noise_multiplier(2.0, 1e-5, 0.1, steps=30)
    assert kw["lr"] == 0.5 and kw["max_grad_norm"] == 1.0
    assert kw["expected_batch_size"] == 40 and kw["sample_rate"] == loader.sample_rate == 0.1
    assert isinstance(kw["accountant"], privacy.Accountant) and kw["accountant"].kind == "rdp"
    assert kw["accountant"].history == []
    assert [id(p) for p in opt.params] == [id(p) for p in model.parameters()]
    # the noise gets its own stream: an int (the same on every rank), not the loader's seed
    assert isinstance(kw["rng"], int) and kw["rng"] != 7


def test_make_private_kind_and_seeds(fakes: tuple, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    monkeypatch.setattr(privacy, "get_noise_multiplier", lambda *a, **k: calls.append((a, k)) or 1.25)
    X, y = _data(401)
    opt, loader = privacy.make_private(_model(), X, y, **SETUP, kind="pld", seed=7)
    assert calls == [((2.0, 1e-5, 40 / 401), {"steps": 30, "kind": "pld"})]
    assert opt.kwargs["noise_multiplier"] == 1.25 and opt.accountant.kind == "pld"
    rng7 = opt.kwargs["rng"]
    assert privacy.make_private(_model(), X, y, **SETUP, seed=7)[0].kwargs["rng"] == rng7
    assert privacy.make_private(_model(), X, y, **SETUP, seed=8)[0].kwargs["rng"] != rng7
    opt, loader = privacy.make_private(_model(), X, y, **SETUP)
    assert opt.kwargs["rng"] is None and loader.kwargs["seed"] is None
    opt, loader = privacy.make_private(_model(), X, y, **SETUP, seed=np.random.default_rng(0))
    assert isinstance(loader.kwargs["seed"], int) and isinstance(opt.kwargs["rng"], int)
    assert loader.kwargs["seed"] != opt.kwargs["rng"]


def test_make_private_bad_arguments_build_nothing(fakes: tuple) -> None:
    loaders, optimizers = fakes
    X, y = _data()
    for name, bad in [("batch_size", 0), ("batch_size", 401), ("epochs", 0), ("epochs", 1.5),
                      ("target_epsilon", -1.0), ("target_delta", 1.0), ("max_grad_norm", 0.0),
                      ("max_grad_norm", math.nan), ("lr", -0.1), ("lr", math.inf), ("kind", "gdp")]:
        with pytest.raises(ValueError, match=name):
            privacy.make_private(_model(), X, y, **{**SETUP, "kind": "rdp", name: bad})
    with pytest.raises(TypeError, match="seed"):
        privacy.make_private(_model(), X, y, **SETUP, seed="0")
    with pytest.raises(TypeError, match="parameters"):
        privacy.make_private(object(), X, y, **SETUP)
    assert loaders == [] and optimizers == []


def _train(opt: Any, loader: Any, model: tl.nn.Module, epochs: int) -> None:
    for _ in range(epochs):
        for xb, yb in loader:
            opt.zero_grad()
            tl.nn.cross_entropy(model(xb), yb).backward()
            opt.step()


@pytest.mark.parametrize("kind, batch_size", [("rdp", 40), ("pld", 200)])  # PLD's search is slow: few steps
def test_make_private_spends_at_most_the_budget(kind: str, batch_size: int) -> None:
    X, y = _data()
    model = _model()
    opt, loader = privacy.make_private(model, X, y, **{**SETUP, "batch_size": batch_size}, kind=kind, seed=0)
    q, steps = batch_size / 400, 3 * (400 // batch_size)
    assert loader.sample_rate == q and len(loader) == 400 // batch_size
    assert opt.expected_batch_size == batch_size and opt.accountant.kind == kind
    sigma = opt.param_groups[0]["noise_multiplier"]
    if kind == "rdp":
        assert sigma == privacy.get_noise_multiplier(2.0, 1e-5, q, steps=steps)
    _train(opt, loader, model, SETUP["epochs"])
    assert opt.accountant.history == [(sigma, q, steps)]
    spent = opt.accountant.get_epsilon(1e-5)
    assert 2.0 - 0.01 <= spent <= 2.0
    assert _epsilon(kind, 0.99 * sigma, q, steps, 1e-5) > 2.0   # no more noise than needed
    _train(opt, loader, model, 1)                # training on spends more
    assert opt.accountant.get_epsilon(1e-5) > 2.0


def test_make_private_is_reproducible_and_learns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(privacy, "get_noise_multiplier", functools.lru_cache()(privacy.get_noise_multiplier))
    X, y = _data()
    weights = []
    for seed in (0, 0, 1):
        model = _model()
        opt, loader = privacy.make_private(model, X, y, **{**SETUP, "target_epsilon": 8.0, "epochs": 5},
                                           seed=seed)
        _train(opt, loader, model, 5)
        weights.append(np.concatenate([p.data.ravel() for p in model.parameters()]))
    np.testing.assert_array_equal(weights[0], weights[1])
    assert not np.array_equal(weights[0], weights[2])
    with tl.no_grad():
        acc = np.mean(model(tl.Tensor(X)).data.argmax(axis=1) == y)
    assert acc > 0.75                            # a linear rule: learnt even under noise


def test_docs_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                           capsys: pytest.CaptureFixture) -> None:
    text = (ROOT / "docs" / "privacy.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) == 2
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tl, "privacy", privacy, raising=False)
    for code in blocks:
        exec(compile(code, "docs/privacy.md", "exec"), {})
    out = capsys.readouterr().out
    spent = float(re.search(r"epsilon spent (\S+)", out).group(1))
    assert 2.9 <= spent <= 3.0


def test_dp_digits_example_quick(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "dp_digits.py"), "--quick", "--out",
                           str(tmp_path)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = re.findall(r"epsilon <= (\S+)\s+(\S+)\s+(\S+)\s+(\S+)", done.stdout)
    assert [float(r[0]) for r in rows] == [1.0, 3.0, 8.0]
    for target, _sigma, spent, accuracy in rows:
        assert float(target) - 0.01 <= float(spent) <= float(target)
        assert float(accuracy) > 0.3             # chance is 0.1
    assert "non-private" in done.stdout
    assert (tmp_path / "dp_digits.png").stat().st_size > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dp_digits.png"]


def test_the_noise_search_passes_below_the_pld_grid_limit_on_its_way_down(monkeypatch: Any) -> None:
    # an answer just above the PLD grid's limit: the search tries smaller candidates on its way
    # and must treat them as spending too much, not fail (a stand-in accountant: epsilon = 1 /
    # sigma, refusing sigma < 0.5 as PLD refuses a sigma below its limit)
    def compose(kind: str, history: list, interval: float) -> float:
        sigma = history[0][0]
        if sigma < 0.5:
            raise ValueError("the PLD accountant cannot compose noise_multiplier=...")
        return 1.0 / sigma

    monkeypatch.setattr(privacy, "_compose", compose)
    monkeypatch.setattr(privacy, "_epsilon", lambda composed, delta: composed)
    sigma = privacy.get_noise_multiplier(1.9, 1e-5, 1.0, steps=1, kind="pld", epsilon_tolerance=1e-6)
    assert sigma == pytest.approx(1 / 1.9, rel=1e-5) and 1 / sigma <= 1.9


def test_make_private_takes_a_dataset_without_targets() -> None:
    pytest.importorskip("dp_accounting")
    X, y = _data()
    ds = tl.data.TensorDataset(tl.Tensor(X), tl.Tensor(y))
    model = _model()
    opt, loader = privacy.make_private(model, ds, None, **SETUP, seed=3)  # (it raised about batch_size)
    assert loader.sample_rate == 0.1 and len(loader) == 10
    xb, yb = next(iter(loader))
    assert xb.shape[1:] == (5,) and yb.shape == xb.shape[:1]
    opt.zero_grad()
    tl.nn.functional.cross_entropy(model(xb), yb.data).backward()
    opt.step()
    assert len(opt.accountant.history) == 1
