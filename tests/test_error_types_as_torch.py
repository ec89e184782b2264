"""Errors a torch user catches by torch's type: a max / min / argmax over an empty axis
(torch: RuntimeError or IndexError) and an integer tensor to a negative integer power
(torch: RuntimeError) raise exceptions that are those types too (and ValueError, as before)."""

from __future__ import annotations

import pytest

import tinygrad_lite as tl

CASES = {
    "max()": lambda L: L.zeros(0).max(),
    "min()": lambda L: L.zeros(0).min(),
    "amax(0)": lambda L: L.zeros(0).amax(0),
    "amin()": lambda L: L.zeros(0).amin(),
    "argmax()": lambda L: L.zeros(0).argmax(),
    "argmax(0)": lambda L: L.zeros(0).argmax(0),
    "max(0) of (0, 3)": lambda L: L.zeros(0, 3).max(0),
    "max(1) of (2, 0)": lambda L: L.zeros(2, 0).max(1),
    "aminmax": lambda L: L.aminmax(L.zeros(0)),
    "int ** -1": lambda L: L.tensor([2]) ** -1,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_error_is_of_torchs_type(name: str) -> None:
    torch = pytest.importorskip("torch")
    with pytest.raises(Exception) as theirs:
        CASES[name](torch)
    with pytest.raises(Exception) as ours:
        CASES[name](tl)
    assert isinstance(ours.value, type(theirs.value)), (type(ours.value), type(theirs.value))
    assert isinstance(ours.value, ValueError)
