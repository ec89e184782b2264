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


@pytest.mark.parametrize("args", [(0, 5, -1), (5, 0, 1), (0, 5, -1.5), (0, float("nan")), (0, float("inf")),
                                  (float("-inf"), 0), (0, 0.5, 0)])
def test_arange_refuses_bounds_torch_refuses(torch: Any, args: tuple) -> None:
    with pytest.raises(RuntimeError):
        torch.arange(*args)
    with pytest.raises(ValueError, match="arange"):
        tl.arange(*args)


def test_arange_reads_0d_tensor_bounds_and_allows_an_empty_range(torch: Any) -> None:
    for args in ((3,), (1.0, 3, 0.5), (5, 5, -1), (4, 1, -1)):
        ours = tl.arange(*(tl.tensor(a) for a in args))
        theirs = torch.arange(*(torch.tensor(a) for a in args))
        assert ours.tolist() == theirs.tolist()
        assert (ours.dtype.kind == "f") == theirs.is_floating_point()  # float64 here is torch's float32
    with pytest.raises(TypeError, match="arange"):
        tl.arange(tl.tensor([3]))


@pytest.mark.parametrize("make", ["zeros", "ones", "empty", "randn", "rand"])
def test_a_size_too_large_for_an_array_is_named(torch: Any, make: str) -> None:
    with pytest.raises(RuntimeError):
        getattr(torch, make)(10**12, 10**12)
    with pytest.raises(ValueError, match=rf"{make}: size \(1000000000000, 1000000000000\)"):
        getattr(tl, make)(10**12, 10**12)


@pytest.mark.parametrize("name", ["randn_like", "rand_like"])
def test_random_like_of_an_integer_tensor_needs_a_float_dtype(torch: Any, name: str) -> None:
    for src in ([1, 2], [True]):
        with pytest.raises(NotImplementedError):
            getattr(torch, name)(torch.tensor(src))
        with pytest.raises(NotImplementedError, match=name):
            getattr(tl, name)(tl.tensor(src))
    out, ref = getattr(tl, name)(tl.tensor([1, 2]), dtype="float32"), getattr(torch, name)(
        torch.tensor([1, 2]), dtype=torch.float32)
    assert out.shape == tuple(ref.shape) and out.dtype == np.float32
