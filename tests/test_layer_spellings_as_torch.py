"""torch spellings of layers that ported code uses: ``Dropout(p, True)`` (positional
``inplace``), the attributes ``transposed`` / ``output_padding`` of the convolutions and
``sparse`` / ``scale_grad_by_freq`` of Embedding."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl

DROPOUTS = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"]


@pytest.mark.parametrize("name", DROPOUTS)
def test_dropout_takes_torchs_positional_inplace(name: str) -> None:
    d = getattr(tl.nn, name)(0.3, True)
    assert d.inplace is True and d.rng is None and d.p == 0.3
    torch = pytest.importorskip("torch")
    assert repr(d) == repr(getattr(torch.nn, name)(0.3, True))
    d.eval()
    x = tl.tensor(np.ones({"Dropout1d": (2, 3, 4), "Dropout2d": (2, 3, 4, 4)}.get(name, (2, 3, 4, 4, 4))))
    np.testing.assert_array_equal(d(x).data, x.data)


def test_dropout_still_takes_an_rng_second() -> None:
    a, b = tl.nn.Dropout(0.5, 7), tl.nn.Dropout(0.5, 7)
    x = tl.tensor(np.ones((4, 50)))
    np.testing.assert_array_equal(a(x).data, b(x).data)
    assert not a.inplace


def test_convolutions_and_embedding_carry_torchs_attributes() -> None:
    torch = pytest.importorskip("torch")
    pairs = [(tl.nn.Conv1d(2, 3, 3), torch.nn.Conv1d(2, 3, 3)),
             (tl.nn.Conv2d(2, 3, 3, stride=2), torch.nn.Conv2d(2, 3, 3, stride=2)),
             (tl.nn.Conv3d(2, 3, 1), torch.nn.Conv3d(2, 3, 1)),
             (tl.nn.ConvTranspose1d(2, 3, 3, stride=2, output_padding=1),
              torch.nn.ConvTranspose1d(2, 3, 3, stride=2, output_padding=1)),
             (tl.nn.ConvTranspose2d(2, 3, 3), torch.nn.ConvTranspose2d(2, 3, 3))]
    for ours, theirs in pairs:
        assert (ours.transposed, tuple(ours.output_padding)) == (theirs.transposed, tuple(theirs.output_padding))
    e, te = tl.nn.Embedding(4, 2), torch.nn.Embedding(4, 2)
    assert (e.sparse, e.scale_grad_by_freq) == (te.sparse, te.scale_grad_by_freq)


@pytest.mark.parametrize("size", [0, (0, 2), (3, 0)])
@pytest.mark.parametrize("name", ["AdaptiveAvgPool2d", "AdaptiveMaxPool2d"])
def test_an_adaptive_pool_to_a_zero_size_is_empty_as_torch(name: str, size) -> None:
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).random((2, 3, 5, 4))
    want = getattr(torch.nn, name)(size)(torch.tensor(x))
    xt = tl.tensor(x, requires_grad=True)
    got = getattr(tl.nn, name)(size)(xt)
    assert got.shape == tuple(want.shape)
    got.sum().backward()
    np.testing.assert_array_equal(xt.grad, np.zeros_like(x))


def test_a_key_padding_mask_passed_fourth_is_told_apart() -> None:
    m = tl.nn.MultiheadAttention(8, 2)
    x = tl.tensor(np.random.default_rng(0).standard_normal((3, 4, 8)))
    with pytest.raises(ValueError, match="key_padding_mask= by keyword"):
        m(x, x, x, np.zeros((3, 4), bool))
