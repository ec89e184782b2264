"""The tutorial notebook runs top to bottom without an error and prints the numbers that make its
points; it is committed without outputs. It is executed in memory (nothing is written into the
repository), with the working directory in pytest's tmp_path, with and without Graphviz's dot."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "examples" / "tutorial.ipynb"

# makes shutil.which("dot") answer None inside the kernel, as on a machine without Graphviz
NO_DOT = '''import shutil as _shutil
_which = _shutil.which
_shutil.which = lambda name, *a, **k: None if name == "dot" else _which(name, *a, **k)'''


def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prepend: str = "") -> Any:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    pytest.importorskip("matplotlib")  # (the notebook plots: the [examples] extra)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the kernel imports this checkout
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(tmp_path)
    nb = nbformat.read(str(NOTEBOOK), as_version=4)
    if prepend:
        nb.cells.insert(0, nbformat.v4.new_code_cell(prepend))
    client = nbclient.NotebookClient(nb, timeout=60, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError naming the cell if one fails
    return nb


def outputs(nb: Any) -> tuple:
    """(all printed text, the mime types of every rich output, error outputs)."""
    text, kinds, errors = [], [], []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for o in cell.outputs:
            if o.output_type == "stream":
                text.append(o.text)
            elif o.output_type == "error":
                errors.append(f"{o.ename}: {o.evalue}")
            else:
                kinds.append(set(o.get("data", {})))
                text.append(o.get("data", {}).get("text/plain", ""))
    return "".join(text), kinds, errors


def number(text: str, label: str) -> float:
    m = re.search(re.escape(label) + r"\s*=\s*([-+0-9.eE]+)", text)
    assert m, f"{label!r} was not printed"
    return float(m.group(1))


def test_committed_without_outputs() -> None:
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert len(code) >= 8
    for c in code:
        assert c["outputs"] == [] and c["execution_count"] is None


def test_notebook_runs_and_makes_its_points(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = sorted(p.name for p in ROOT.iterdir())
    nb = run(tmp_path, monkeypatch)
    text, kinds, errors = outputs(nb)
    assert errors == []
    assert number(text, "max |dW by hand - dW from Value|") < 1e-12
    assert number(text, "max |dW by hand - dW from Tensor|") < 1e-12
    assert number(text, "max |db by hand - db from Tensor|") < 1e-12
    assert number(text, "max |grad - grad_sample.mean(0)|") < 1e-12
    assert number(text, "max |grad_sample[b] - gradient of sample b alone|") < 1e-12
    assert "batch sizes: [4, 4, 2]" in text
    assert number(text, "max |weighted mean of batch gradients - full gradient|") < 1e-12
    assert number(text, "max |plain mean of batch gradients - full gradient|") > 1e-3
    for label in ("GD (B = N)", "SGD (B = 1)", "mini-batch (B = 16)"):
        m = re.search(re.escape(label) + r"\s+(\d+) updates, full-data loss ([0-9.]+) -> ([0-9.]+)", text)
        assert m and float(m.group(3)) < float(m.group(2)) / 4, label
    m = re.search(r"share of the saliency on the 4 centre pixels: ([0-9.]+) \(they are ([0-9.]+)", text)
    assert m and float(m.group(1)) > 4 * float(m.group(2))
    assert sum("image/png" in k for k in kinds) == 2  # the two plots
    assert any("<iframe srcdoc=" in "".join(c.outputs[0].get("data", {}).get("text/html", ""))
               for c in nb.cells if c.cell_type == "code" and c.outputs
               and c.outputs[0].output_type == "execute_result")
    if shutil.which("dot"):
        assert sum("image/svg+xml" in k for k in kinds) == 2  # the two graphs
    assert sorted(p.name for p in ROOT.iterdir()) == before  # nothing written into the repository


def test_notebook_without_dot_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nb = run(tmp_path, monkeypatch, prepend=NO_DOT)
    text, kinds, errors = outputs(nb)
    assert errors == []
    assert text.count("Graphviz's 'dot' program is not installed, so the graph is not drawn") == 2
    assert not any("image/svg+xml" in k for k in kinds)
    assert number(text, "max |grad - grad_sample.mean(0)|") < 1e-12
