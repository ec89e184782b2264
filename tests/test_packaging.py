"""The distributions carry what they promise: the wheel the package, its type marker and its
licence; the source distribution everything its own tests need. Running the examples
without Graphviz leaves the repository clean.

The builds use ``python -m build --no-isolation`` when the installed setuptools satisfies
the build requirements (no network needed), else an isolated build.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIP_DIRS = {".git", "__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis", "build", "dist", "out",
             "tinygrad_lite_demo_out"}
NAME, VERSION = "tinygrad_lite", "0.1.0"


def source_files(folder: str, suffixes: tuple[str, ...] = ()) -> set[str]:
    """Files under ``ROOT/folder`` (paths relative to ROOT), build and cache folders left out."""
    found = set()
    for path in (ROOT / folder).rglob("*"):
        rel = path.relative_to(ROOT)
        if path.is_file() and not SKIP_DIRS & set(rel.parts) and not path.name.endswith((".pyc", ".pyo")):
            if not suffixes or path.suffix in suffixes:
                found.add(rel.as_posix())
    return found


def _setuptools_is_new_enough() -> bool:
    try:
        major = int(metadata.version("setuptools").split(".")[0])
    except (metadata.PackageNotFoundError, ValueError):
        return False
    return major >= 77


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Builds the sdist and the wheel (from the sdist) of a copy of the source tree."""
    pytest.importorskip("build")
    import shutil

    work = tmp_path_factory.mktemp("packaging")
    src = work / "src"
    shutil.copytree(ROOT, src, ignore=lambda d, names: [n for n in names if n in SKIP_DIRS
                                                         or n.endswith((".egg-info", ".pyc"))])
    out = work / "dist"
    cmd = [sys.executable, "-m", "build", "--outdir", str(out), str(src)]
    if _setuptools_is_new_enough():
        cmd.insert(3, "--no-isolation")
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    sdists, wheels = list(out.glob("*.tar.gz")), list(out.glob("*.whl"))
    assert len(sdists) == 1 and len(wheels) == 1, sorted(p.name for p in out.iterdir())
    return {"sdist": sdists[0], "wheel": wheels[0]}


@pytest.fixture(scope="module")
def wheel_names(dists: dict[str, Path]) -> list[str]:
    with zipfile.ZipFile(dists["wheel"]) as zf:
        return zf.namelist()


@pytest.fixture(scope="module")
def sdist_names(dists: dict[str, Path]) -> set[str]:
    top = f"{NAME}-{VERSION}/"
    with tarfile.open(dists["sdist"]) as tf:
        names = [m.name for m in tf.getmembers() if m.isfile()]
    assert all(n.startswith(top) for n in names)
    return {n[len(top):] for n in names}


def read_wheel_text(dists: dict[str, Path], name: str) -> str:
    with zipfile.ZipFile(dists["wheel"]) as zf:
        return zf.read(name).decode("utf-8")


def test_wheel_holds_the_package_its_type_marker_and_licence(
    dists: dict[str, Path], wheel_names: list[str]
) -> None:
    modules = {n for n in wheel_names if n.startswith(f"{NAME}/") and n.endswith(".py")}
    assert modules == source_files(NAME, (".py",))
    assert f"{NAME}/py.typed" in wheel_names
    assert {n for n in wheel_names if n.endswith(".json")} == source_files(NAME, (".json",))
    assert f"{NAME}/ops/bessel_tables.json" in wheel_names  # (the Bessel kernels' coefficient tables)
    info = f"{NAME}-{VERSION}.dist-info"
    assert f"{info}/licenses/LICENSE" in wheel_names
    licence = read_wheel_text(dists, f"{info}/licenses/LICENSE")
    assert licence == (ROOT / "LICENSE").read_text(encoding="utf-8")
    leaked = [n for n in wheel_names if n.split("/")[0] in ("tests", "examples", "bench", "docs")
              or "__pycache__" in n or n.endswith(".pyc")]
    assert leaked == []


def test_metadata_declares_mit_the_classifiers_and_the_urls(dists: dict[str, Path]) -> None:
    meta = Parser().parsestr(read_wheel_text(dists, f"{NAME}-{VERSION}.dist-info/METADATA"))
    assert meta["License-Expression"] == "MIT"
    assert meta.get_all("License-File") == ["LICENSE"]
    classifiers = set(meta.get_all("Classifier"))
    assert not [c for c in classifiers if c.startswith("License ::")]  # the SPDX expression says it
    for wanted in ("Typing :: Typed", "Topic :: Scientific/Engineering :: Artificial Intelligence",
                   "Intended Audience :: Science/Research", "Intended Audience :: Education",
                   "Operating System :: OS Independent", "Programming Language :: Python :: 3.9"):
        assert wanted in classifiers
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL"))
    assert {"Homepage", "Documentation", "Source"} <= set(urls)
    assert all(u.startswith("https://github.com/tinygrad-lite/tinygrad_lite") for u in urls.values())
    assert meta["Requires-Python"] == ">=3.9"


def test_license_file_is_mit() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License")
    assert "tinygrad_lite developers" in text and "WITHOUT WARRANTY OF ANY KIND" in text


def test_sdist_carries_what_its_tests_need(dists: dict[str, Path], sdist_names: set[str]) -> None:
    for name in ("LICENSE", "README.md", "pyproject.toml", "PKG-INFO", "tests/conftest.py",
                 f"{NAME}/py.typed", "docs/neuron_graph.svg"):
        assert name in sdist_names
    for folder in ("tests", "examples", "bench", NAME):
        missing = source_files(folder) - sdist_names
        assert missing == set(), f"missing from the sdist: {sorted(missing)}"
    assert source_files("tests/data")  # the data files exist, and are checked above
    assert not [n for n in sdist_names if "__pycache__" in n or n.endswith(".pyc")]
    with tarfile.open(dists["sdist"]) as tf:
        pkg_info = tf.extractfile(f"{NAME}-{VERSION}/PKG-INFO")
        assert pkg_info is not None
        assert Parser().parsestr(pkg_info.read().decode("utf-8"))["License-Expression"] == "MIT"


def test_py_typed_marker_is_in_the_source_tree() -> None:
    assert (ROOT / NAME / "py.typed").is_file()


def test_examples_without_dot_leave_the_repository_clean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """With no ``dot``, a graph picture meant for ``docs/`` falls back to a DOT source that
    goes to a folder outside the repository, not next to the tracked pictures."""
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    shared: Any = importlib.import_module("_shared")
    neuron_graph: Any = importlib.import_module("neuron_graph")
    real_fallback = shared.dot_fallback_dir().resolve()
    assert ROOT not in real_fallback.parents and real_fallback != ROOT
    fallback = tmp_path / "fallback"
    monkeypatch.setattr(shared, "dot_fallback_dir", lambda: fallback)
    empty = tmp_path / "empty_bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    docs_before = sorted(p.name for p in shared.DOCS.iterdir())
    with pytest.warns(UserWarning, match="dot"):
        result = neuron_graph.main(fast=True)
    assert sorted(p.name for p in shared.DOCS.iterdir()) == docs_before
    assert [p.parent for p in result["pictures"]] == [fallback, fallback]
    assert [p.name for p in result["pictures"]] == ["neuron_graph.dot", "neuron_graph_tensor.dot"]
    assert all(p.read_text().lstrip().startswith("digraph") for p in result["pictures"])
    assert str(fallback) in capsys.readouterr().out
