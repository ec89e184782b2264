"""``view`` (and ``view_as``) return a tensor sharing memory with the one viewed, or raise as
torch does: a transposed, expanded or sliced view of a contiguous tensor that cannot take the
new shape without copying refuses with a RuntimeError naming the shapes, instead of returning a
copy that writes would not reach. ``reshape`` copies where it must, as before."""

from __future__ import annotations

from typing import Callable

import numpy as np
import pytest

import tinygrad_lite as tl

REFUSED: list = [
    ("transpose, flattened", lambda x: x.reshape(6, 4).T.view(24)),
    ("permute, flattened", lambda x: x.permute(2, 0, 1).view(-1)),
    ("columns sliced, flattened", lambda x: x[:, 1:].view(-1)),
    ("expanded, flattened", lambda x: x[:1].expand(3, 3, 4).view(-1)),
    ("a column selected", lambda x: x[:, 0].view(-1)),
    ("mT", lambda x: x.mT.view(-1)),
    ("movedim", lambda x: x.movedim(0, 2).view(-1)),
    ("narrow", lambda x: x.narrow(2, 1, 2).view(-1)),
    ("view_as", lambda x: x.permute(2, 0, 1).view_as(x.reshape(-1))),
]
ALLOWED: list = [
    ("transpose, same shape", lambda x: x.reshape(6, 4).T.view(4, 6)),
    ("transpose, last axis split", lambda x: x.transpose(0, 1).view(3, 2, 2, 2)),
    ("every other element", lambda x: x[:, :, ::2].view(-1)),
    ("rows sliced", lambda x: x[:1].view(-1)),
    ("expanded, same shape", lambda x: x[:1].expand(3, 3, 4).view(3, 3, 4)),
    ("empty", lambda x: x[:, :, :0].view(-1)),
]


@pytest.mark.parametrize("requires_grad", [False, True])
@pytest.mark.parametrize("label, build", REFUSED, ids=[k for k, _ in REFUSED])
def test_a_view_that_would_copy_is_refused(label: str, build: Callable, requires_grad: bool) -> None:
    x = tl.Tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=requires_grad)
    with pytest.raises(RuntimeError, match=r"view(_as)?: shape \(\d+,\) is not compatible with the tensor's shape"):
        build(x)


@pytest.mark.parametrize("requires_grad", [False, True])
@pytest.mark.parametrize("label, build", ALLOWED, ids=[k for k, _ in ALLOWED])
def test_a_possible_view_shares_memory(label: str, build: Callable, requires_grad: bool) -> None:
    x = tl.Tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=requires_grad)
    v = build(x)
    if v.data.size:
        assert np.shares_memory(v.data, x.data), f"{label}: the view does not share x's memory"
    if not requires_grad and v.data.size and v.data.flags.writeable:  # (an expanded view is read-only)
        v.data[(0,) * v.data.ndim] = -1.0  # a write through the view reaches x
        assert (x.data == -1.0).sum() >= 1


def test_reshape_and_outputs_of_ops_still_reshape_freely() -> None:
    x = tl.Tensor(np.arange(24.0).reshape(2, 3, 4))
    np.testing.assert_array_equal(x.permute(2, 0, 1).reshape(-1).data, x.data.transpose(2, 0, 1).reshape(-1))
    np.testing.assert_array_equal(x.permute(2, 0, 1).contiguous().view(-1).data, x.data.transpose(2, 0, 1).reshape(-1))
    np.testing.assert_array_equal(x.permute(2, 0, 1).reshape_as(x.reshape(-1)).data,
                                  x.data.transpose(2, 0, 1).reshape(-1))
    out, (h, _) = tl.nn.LSTM(4, 5)(tl.Tensor(np.ones((3, 2, 4))))  # (a layer's output owns its memory in torch)
    assert out.view(6, 5).shape == (6, 5)
    assert out[0].view(-1).shape == (10,)
    assert h.view(-1).shape == (10,)
    out, h = tl.nn.GRU(4, 5)(tl.Tensor(np.ones((3, 4))))  # unbatched
    assert out[0].view(-1).shape == (5,) and h.view(-1).shape == (5,)
    assert x.rot90(1, (1, 2)).view(-1).shape == (24,)


EVERY = REFUSED + ALLOWED + [("contiguous() first", lambda x: x.permute(2, 0, 1).contiguous().view(-1))]


@pytest.mark.parametrize("label, build", EVERY, ids=[k for k, _ in EVERY])
def test_the_same_cases_as_torch(label: str, build: Callable) -> None:
    torch = pytest.importorskip("torch")
    refused = []
    for x in (torch.arange(24.0).reshape(2, 3, 4), tl.Tensor(np.arange(24.0).reshape(2, 3, 4))):
        try:
            build(x)
            refused.append(False)
        except RuntimeError:
            refused.append(True)
    assert refused[0] == refused[1], f"{label}: torch refuses: {refused[0]}, tinygrad_lite refuses: {refused[1]}"
