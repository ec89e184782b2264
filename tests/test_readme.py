"""The README's Python examples run as written, in order, like a notebook: a block may use
what an earlier block of the same page defined."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def _torch_ok() -> bool:
    try:
        import torch  # noqa: F401
    except Exception:
        return False
    return True


def _optional_missing(code: str) -> bool:
    """Whether a block needs an optional extra that is not installed: PyTorch for the
    weight-loading recipe, dp-accounting (the [privacy] extra) for the private-training ones."""
    import importlib.util

    if re.search(r"^import torch", code, re.M) and not _torch_ok():
        return True
    return bool(re.search(r"make_private|Accountant|get_noise_multiplier", code)) and \
        importlib.util.find_spec("dp_accounting") is None


def test_readme_has_examples() -> None:
    assert len(BLOCKS) >= 10


def test_readme_blocks_run_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    ran = skipped = 0
    for i, code in enumerate(BLOCKS):
        if _optional_missing(code):
            skipped += 1
            continue
        try:
            exec(compile(code, f"{README}:block{i}", "exec"), namespace)
        except Exception as e:  # name the block that failed
            raise AssertionError(f"README python block {i} failed: {type(e).__name__}: {e}\n{code}") from e
        ran += 1
    assert "tl" in namespace and ran + skipped == len(BLOCKS) and ran >= len(BLOCKS) - 3
