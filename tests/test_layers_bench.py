"""Smoke test of ``bench/bench_cnn.py``: its quick mode finishes, its checks pass, its numbers are finite."""

from __future__ import annotations

import importlib
import math
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"


def test_bench_cnn_runs_and_checks_pass() -> None:
    sys.path.insert(0, str(BENCH))
    try:
        result = importlib.import_module("bench_cnn").main(
            ["--quick", "--rounds", "1", "--sample-ms", "0.2", "--budget", "0.01", "--batches", "4"])
    finally:
        sys.path.remove(str(BENCH))
    assert result["checks"] and all(c["ok"] for c in result["checks"]), result["checks"]
    for group in result["groups"].values():
        for name, row in group["contenders"].items():
            assert math.isfinite(row["median_s"]) and row["median_s"] > 0, name
    assert len(result["targets"]) == 3
