"""Smoke tests of the benchmark scripts in ``bench/``.

Each script's ``main`` runs in its quick mode with tiny repetitions; the tests only check that
it finishes and returns finite numbers. Speed targets live in the scripts, never here.
"""

from __future__ import annotations

import importlib
import math
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator

import pytest
from conftest import TORCH

BENCH = Path(__file__).resolve().parent.parent / "bench"
HAVE_TORCH = TORCH is not None  # torch rows are timed only when torch imports
TINY = ["--quick", "--rounds", "1", "--sample-ms", "0.2", "--budget", "0.01"]


@pytest.fixture(scope="module")
def load() -> Iterator[Any]:
    """Import a script from ``bench/`` by module name (its folder goes on sys.path meanwhile)."""
    sys.path.insert(0, str(BENCH))

    def _load(name: str) -> ModuleType:
        return importlib.import_module(name)

    try:
        yield _load
    finally:
        sys.path.remove(str(BENCH))


def _finite(x: Any) -> bool:
    return isinstance(x, float) and math.isfinite(x) and x > 0


def _assert_timed(result: dict, with_torch: bool) -> None:
    assert result["groups"], "no workload was timed"
    for name, group in result["groups"].items():
        for contender, row in group["contenders"].items():
            if row["role"] == "torch" and not with_torch:
                assert "median_s" not in row, f"{name}: {contender} ran although torch was skipped"
                continue
            assert _finite(row.get("median_s")), f"{name}: {contender} has no finite time"
            assert _finite(row.get("x_floor")), f"{name}: {contender} has no finite ratio to the floor"
            if with_torch and any(r["role"] == "torch" for r in group["contenders"].values()):
                assert _finite(row.get("x_torch")), f"{name}: {contender} has no finite ratio to torch"
    for target in result["targets"]:
        if target["value"] is None:  # a ratio to a reference that is not installed
            assert target["verdict"] == "n/a", target
            continue
        assert _finite(target["value"]), f"target {target['description']} has no finite value"


def test_bench_step(load: Any) -> None:
    result = load("bench_step").main(TINY)
    assert len(result["groups"]) == 4
    _assert_timed(result, with_torch=HAVE_TORCH)


def test_bench_step_without_torch(load: Any) -> None:
    result = load("bench_step").main(TINY + ["--no-torch", "--only", "2-16-16-1"])
    assert list(result["groups"]) == ["2-16-16-1 f64 B=32"]
    _assert_timed(result, with_torch=False)


def test_bench_persample(load: Any) -> None:
    result = load("bench_persample").main(TINY + ["--batches", "8"])
    _assert_timed(result, with_torch=HAVE_TORCH)
    mem = result["memory"]["B=8"]
    assert mem["per_sample_grad_bytes"] > 0 and mem["first"]["peak_bytes"] > 0


def test_bench_scalar(load: Any) -> None:
    result = load("bench_scalar").main(TINY + ["--chain-n", "500", "--chain-reps", "1"])
    _assert_timed(result, with_torch=HAVE_TORCH)
    chain = result["chain"]
    assert all(_finite(chain[k]["fwd_bwd_s"]) for k in chain if isinstance(chain[k], dict))


def test_deep_chain(load: Any) -> None:
    result = load("deep_chain").main(["--n", "2000"])
    assert set(result["engines"]) == {"value", "tensor"}
    for r in result["engines"].values():
        assert r["ok"], r
        assert _finite(r["forward_s"]) and _finite(r["backward_s"])
