"""Shared test fixtures and helpers.

``torch`` is the optional reference implementation: the fixture hands over the module
(in float64 mode of use: callers create float64 tensors explicitly) or skips the test
cleanly when it cannot be imported.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest


def _import_torch() -> Any:
    try:
        import torch
    except Exception:  # not installed, or an install that fails to load
        return None
    return torch


TORCH = _import_torch()


def close(a: Any, b: Any, what: str = "", tol: float = 1e-10) -> None:
    """``a`` has ``b``'s shape and max |a - b| / max(1, max |b|) < ``tol`` (``what`` names it)."""
    import numpy as np

    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, (what, a.shape, b.shape)
    scale = max(1.0, float(np.max(np.abs(b)))) if b.size else 1.0
    assert (float(np.max(np.abs(a - b))) / scale if a.size else 0.0) < tol, what


def load_torch_state(m: Any, tm: Any) -> None:
    """Load the torch module ``tm``'s state dict into our module ``m``."""
    m.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})


def pytest_configure(config: Any) -> None:
    config.addinivalue_line("markers", "slow: a test that takes more than about ten seconds")


@pytest.fixture(scope="session")
def torch() -> Any:
    """The torch module, or a clean skip when it is not importable."""
    if TORCH is None:
        pytest.skip("torch is not importable")
    return TORCH


@pytest.fixture(scope="module")
def browser() -> Any:
    """Debian's chromium driven by playwright (never a downloaded browser), or a clean skip."""
    sync_api = pytest.importorskip("playwright.sync_api")
    exe = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(exe).exists():
        pytest.skip("chromium is not installed")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        yield b
        b.close()


def one_at_a_time(model: Any, X: Any, Y: Any) -> list:
    """Each sample's gradient of its own loss (an MSE), from B separate backward passes
    with no per-sample machinery: the definition the per-sample tests compare against."""
    import numpy as np

    from tinygrad_lite import Tensor, nn

    out = [np.zeros((len(X), *p.data.shape)) for p in model.parameters()]
    for b in range(len(X)):
        model.zero_grad()
        nn.mse_loss(model(Tensor(X[b:b + 1])), Tensor(Y[b:b + 1])).backward(per_sample=False)
        for o, p in zip(out, model.parameters()):
            o[b] = p.grad
    model.zero_grad()
    return out
