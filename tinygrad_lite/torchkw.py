"""torch's keyword spellings of a parameter that has another name here: ``x.pow(exponent=2)``
beside ``x.pow(2)``, ``tl.mm(a, mat2=b)``, ``x.swapdims(dim0=0, dim1=2)``, ...

A function taking both spellings passes them to ``one_of``, which returns the one given.
"""

from __future__ import annotations

from typing import Any


def one_of(who: str, **spellings: Any) -> Any:
    """The one value in ``spellings`` that is not None: the alternative spellings of one
    parameter of ``who``. None of them, or two, is a TypeError naming ``who`` and the spellings."""
    given = [k for k, v in spellings.items() if v is not None]
    if len(given) != 1:
        raise TypeError(f"{who}: give exactly one of {' / '.join(spellings)} (one argument, two spellings), got "
                        f"{' and '.join(given) if given else 'none'}")
    return spellings[given[0]]


__all__ = ["one_of"]
