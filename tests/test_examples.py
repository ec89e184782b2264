"""Every example and the demo run (small sizes) and their numbers make their point.

Each ``examples/<name>.py`` has ``main(fast=True, out=...)`` returning its key numbers; the
checks below assert what the example claims. A new example without a check fails here.
"""

from __future__ import annotations

import importlib
import math
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from tinygrad_lite import demo

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"
EXAMPLES = sorted(p.stem for p in EXAMPLES_DIR.glob("*.py") if not p.name.startswith("_"))

try:
    import matplotlib  # noqa: F401

    HAVE_MATPLOTLIB = True
except ImportError:
    HAVE_MATPLOTLIB = False


def load(name: str) -> Any:
    """Import ``examples/<name>.py`` as a module."""
    if str(EXAMPLES_DIR) not in sys.path:
        sys.path.insert(0, str(EXAMPLES_DIR))
    return importlib.import_module(name)


def no_dot(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Make Graphviz's ``dot`` program unfindable for the rest of the test."""
    empty = tmp_path / "empty_bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def assert_picture(path: Any) -> None:
    if HAVE_MATPLOTLIB:
        assert path is not None and Path(path).is_file() and Path(path).stat().st_size > 0
    else:
        assert path is None


# ----------------------------------------------------------------------------- the checks
def check_per_sample_vs_batch(r: dict) -> None:
    assert r["grad_mean_diff"] < 1e-12           # grad == grad_sample.mean(0)
    assert r["formula_diff"] < 1e-12             # de/dw_ij = delta_i * x_j, by hand
    assert r["batch_sizes"] == [32, 32, 32, 4]
    assert r["weighted_diff"] < 1e-12            # size-weighted batch means = full gradient
    assert r["helper_diff"] < 1e-12
    assert r["unweighted_diff"] > 1e-3 * r["gradient_scale"]  # the plain mean is off


def check_average_weights_vs_gradients(r: dict) -> None:
    for model in ("tanh", "linear"):
        rows = {row["k"]: row for row in r[model]["rows"]}
        assert abs(rows[1]["cost_avg"] - rows[1]["cost_gd"]) < 1e-12   # one step: identical
        assert rows[1]["weight_distance"] < 1e-12
        for k, row in rows.items():
            if k >= 2:
                assert row["cost_avg"] > row["cost_gd"] + 1e-3        # later: averaging weights is worse
        assert max(rows.values(), key=lambda row: row["k"])["cost_gd"] < r[model]["cost0"]
    assert_picture(r["picture"])


def check_gd_sgd_minibatch(r: dict) -> None:
    curves, final = r["curves"], r["final"]
    for curve in curves.values():
        assert len(curve) == r["epochs"] + 1 and np.all(np.isfinite(curve))
        assert curve[-1] < curve[0]
    assert final["mini-batch 32"] < final["full-batch GD"]
    assert final["SGD (batch 1)"] < final["full-batch GD"]
    assert_picture(r["picture"])


def check_saliency(r: dict) -> None:
    assert r["accuracy"] > 0.5                           # chance is 0.1
    assert r["on_strokes"] > 1.2 * r["stroke_area"]      # more saliency on the strokes than their area
    assert r["on_frame"] > 1.5 * r["frame_area"]
    assert_picture(r["picture"])


def check_neuron_graph(r: dict) -> None:
    assert r["diff_value"] < 1e-12 and r["diff_tensor"] < 1e-12
    assert abs(r["E"] - r["E_tensor"]) < 1e-12
    assert r["value_steps"] > 0 and r["tensor_steps"] > 0
    for path in r["pictures"]:
        assert path.is_file() and path.suffix in (".svg", ".dot")


def check_mislabelled(r: dict) -> None:
    assert r["precision"] > 10 * r["chance"]   # top-k by gradient norm: mostly the flipped labels
    assert r["norms_only_difference"] < 1e-10   # backward(per_sample="norms") gives the same norms
    assert r["auc"] > 0.9
    assert_picture(r["picture"])


def check_dp_sgd(r: dict) -> None:
    assert r["sgd"]["accuracy"] > 0.5
    assert r["dpsgd"]["accuracy"] > 3 * r["chance"]     # DP-SGD still learns
    assert 0 < r["dpsgd"]["clipped_fraction"] <= 1
    assert r["noise_multiplier"] > 0
    assert_picture(r["picture"])


def check_data_parallel(r: dict) -> None:
    assert r["rank"] == 0 and r["world_size"] == 1
    assert len(r["losses"]) == 3 and r["losses"][-1] < r["losses"][0]
    assert r["accuracy"] > 0.5


def check_dp_digits(r: dict) -> None:
    for row in r["private"]:
        assert row["target_epsilon"] - 0.01 <= row["epsilon"] <= row["target_epsilon"]
        assert row["accuracy"] > 3 * r["chance"]
    assert r["non_private_accuracy"] > 0.5
    assert_picture(r["picture"])


def check_cnn_digits(r: dict) -> None:
    assert r["accuracy"] >= 0.95                          # held-out scans of real handwriting
    assert r["losses"][-1] < 0.3 * r["losses"][0]
    norms = r["norms"]
    assert np.all(np.isfinite(norms)) and np.all(norms >= 0)
    assert np.all(norms[r["top"]] >= np.max(np.delete(norms, r["top"])))  # the pictured ones are the largest
    assert_picture(r["picture"])


def check_tiny_transformer(r: dict) -> None:
    first, last = np.mean(r["losses"][:10]), np.mean(r["losses"][-10:])
    assert last < 0.75 * first and first < np.log(r["vocab"]) + 0.5   # the loss falls from about log(vocab)
    assert r["norms"].shape == (r["B"],) and np.all(np.isfinite(r["norms"])) and np.all(r["norms"] > 0)
    assert np.all(r["attn_norms"] <= r["norms"] + 1e-12)   # one parameter's share of the whole norm
    assert r["sample"].startswith("the ") and len(r["sample"]) == 64 and set(r["sample"]) <= r["charset"]


def check_noise_scale(r: dict) -> None:
    steps = r["steps"]
    assert len(steps) >= 3 and all(a > b for a, b in zip(steps, steps[1:]))  # larger batches: fewer steps
    assert steps[0] > 4 * steps[-1]                  # ... in proportion while the batch is small
    B = r["batch_sizes"]
    assert B[-1] * steps[-1] > 4 * B[0] * steps[0]   # ... wasting examples once it is large
    assert 0 < r["b_simple"] < math.inf and r["s_min"] > 0
    assert 0.25 < r["b_simple"] / r["b_crit"] < 4    # the noise scale predicts the critical batch size
    assert all(math.isfinite(c[2]) for c in r["curve"])
    assert_picture(r["picture"])


def check_second_order(r: dict) -> None:
    H, H_exact = r["H"], r["H_exact"]
    assert r["hessian_diff"] < 1e-12                       # hessian() = X^T diag(p(1-p)) X / n
    assert r["fd_diff"] < 1e-6                             # ... = central differences of the gradient
    assert np.allclose(H, H.T, rtol=0, atol=1e-14) and np.all(np.linalg.eigvalsh(H_exact) > 0)
    newton, gd = r["newton_iters"], r["gd_iters"]
    assert set(newton) == set(r["tols"]) and max(newton.values()) <= 10   # Newton reaches every tolerance fast
    for tol in r["tols"]:
        assert newton[tol] < gd.get(tol, r["max_gd"] + 1) / 5            # ... in far fewer steps than GD
    assert np.linalg.norm(r["grad_at_newton"]) < min(r["tols"])
    if min(r["tols"]) in gd:                                             # same minimiser
        assert np.max(np.abs(r["newton_w"] - r["gd_w"])) < 1e-4
    assert r["hv_scale"] > 0.1 and r["hvp_diff"] < 1e-10 * r["hv_scale"]   # H v = full Hessian times v
    assert r["penalty"] > 0 and r["penalty_grad_scale"] > 1e-3
    assert r["penalty_diff"] < 1e-6 * max(1.0, r["penalty_grad_scale"])  # dR/dtheta = finite differences


CHECKS: dict[str, Callable[[dict], None]] = {
    "per_sample_vs_batch": check_per_sample_vs_batch,
    "average_weights_vs_gradients": check_average_weights_vs_gradients,
    "gd_sgd_minibatch": check_gd_sgd_minibatch,
    "saliency": check_saliency,
    "neuron_graph": check_neuron_graph,
    "mislabelled": check_mislabelled,
    "dp_sgd": check_dp_sgd,
    "data_parallel": check_data_parallel,
    "dp_digits": check_dp_digits,
    "cnn_digits": check_cnn_digits,
    "tiny_transformer": check_tiny_transformer,
    "noise_scale": check_noise_scale,
    "second_order": check_second_order,
}


# ----------------------------------------------------------------------------- the tests
def test_every_example_has_a_check() -> None:
    assert set(EXAMPLES) == set(CHECKS)


# the optional extras an example needs beyond the library ([examples]: scikit-learn; [privacy])
NEEDS = {"cnn_digits": ["sklearn"], "dp_digits": ["sklearn", "dp_accounting"]}


@pytest.mark.parametrize("name", EXAMPLES)
def test_example(name: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    for module in NEEDS.get(name, []):
        pytest.importorskip(module)
    result = load(name).main(fast=True, out=tmp_path)
    assert capsys.readouterr().out.strip()   # it printed its numbers
    CHECKS[name](result)


def test_examples_without_optional_packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture) -> None:
    """No matplotlib, no tqdm, no ``dot``: the examples still run, say what they skip."""
    for mod in ("matplotlib", "matplotlib.pyplot", "tqdm", "tqdm.auto"):
        monkeypatch.setitem(sys.modules, mod, None)
    no_dot(monkeypatch, tmp_path)
    r = load("gd_sgd_minibatch").main(fast=True, out=tmp_path)
    assert r["picture"] is None
    assert "matplotlib is not installed" in capsys.readouterr().out
    with pytest.warns(UserWarning):
        r = load("neuron_graph").main(fast=True, out=tmp_path)
    assert [p.suffix for p in r["pictures"]] == [".dot", ".dot"]
    assert all(p.read_text().lstrip().startswith("digraph") for p in r["pictures"])


def test_example_runs_as_a_script(tmp_path: Path) -> None:
    script = EXAMPLES_DIR / "per_sample_vs_batch.py"
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert "max diff" in done.stdout


def test_demo(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    r = demo.main(["--out", str(tmp_path / "out"), "--epochs", "3"])
    text = capsys.readouterr().out
    assert r["max_diff"] < 1e-12
    assert len(r["costs"]) == 3 and r["costs"][-1] < r["costs"][0]
    assert r["picture"].is_file() and r["picture"].parent == tmp_path / "out"
    assert str(r["picture"]) in text and "epoch  3" in text


def test_demo_without_dot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                          capsys: pytest.CaptureFixture) -> None:
    no_dot(monkeypatch, tmp_path)
    r = demo.main(["--out", str(tmp_path / "out"), "--epochs", "1"])
    assert r["picture"].suffix == ".dot"
    assert r["picture"].read_text().lstrip().startswith("digraph")
    assert "dot program was not found" in capsys.readouterr().out


def test_demo_as_module(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "tinygrad_lite.demo", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "grad_sample" in done.stdout and any(tmp_path.iterdir())
