"""Edge cases of torch's Tensor methods and factories: required arguments (``flip``,
``repeat``), ``arange``'s bounds, sizes too large for an array, ``chunk`` of an empty axis,
random ``*_like`` of integer tensors, ``norm``'s dtype, ``sign`` of nan, 0-d ``gather``,
broadcast ``masked_fill`` masks and ``var`` with no degrees of freedom. Each is checked
against torch where torch is importable, and errors must name the function.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tinygrad_lite as tl


def test_flip_and_repeat_need_their_arguments(torch: Any) -> None:
    for make, call, name in ((lambda m: m.tensor([1.0, 2.0]), lambda x: x.flip(), "flip"),
                             (lambda m: m.tensor(2.0), lambda x: x.repeat(), "repeat")):
        with pytest.raises(TypeError):
            call(make(torch))
        with pytest.raises(TypeError, match=name):
            call(make(tl))
    assert tl.tensor([1.0, 2.0]).flip(()).tolist() == torch.tensor([1.0, 2.0]).flip(()).tolist()
    assert tl.tensor(2.0).repeat(()).tolist() == torch.tensor(2.0).repeat(()).tolist()


def test_chunk_of_an_empty_axis_gives_chunks_empty_pieces(torch: Any) -> None:
    for shape, chunks, dim in (((0, 3), 3, 0), ((0, 3), 2, 0), ((3, 0), 3, 1), ((1, 3), 3, 0), ((6,), 4, 0)):
        ours = tl.zeros(*shape).chunk(chunks, dim)
        theirs = torch.zeros(*shape).chunk(chunks, dim)
        assert [tuple(c.shape) for c in ours] == [tuple(c.shape) for c in theirs]
