"""Shared test fixtures and helpers.

``torch`` is the optional reference implementation: the fixture hands over the module
(in float64 mode of use: callers create float64 tensors explicitly) or skips the test
cleanly when it cannot be imported.
"""

from __future__ import annotations

from typing import Any

import pytest


def _import_torch() -> Any:
    try:
        import torch
    except Exception:  # not installed, or an install that fails to load
        return None
    return torch


TORCH = _import_torch()


def pytest_configure(config: Any) -> None:
    config.addinivalue_line("markers", "slow: a test that takes more than about ten seconds")


@pytest.fixture(scope="session")
def torch() -> Any:
    """The torch module, or a clean skip when it is not importable."""
    if TORCH is None:
        pytest.skip("torch is not importable")
    return TORCH
