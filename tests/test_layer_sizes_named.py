"""Layers asked for more memory than there is name themselves (an AllocationError, a
MemoryError and a RuntimeError as torch raises), whatever layer it is."""

import pytest

import tinygrad_lite as tl
from tinygrad_lite.ops.base import AllocationError

HUGE = 10**13

CASES = [
    ("Embedding", lambda: tl.nn.Embedding(HUGE, 10**6)),
    ("EmbeddingBag", lambda: tl.nn.EmbeddingBag(HUGE, 10**6)),
    ("LayerNorm", lambda: tl.nn.LayerNorm(HUGE)),
    ("BatchNorm1d", lambda: tl.nn.BatchNorm1d(HUGE)),
    ("GroupNorm", lambda: tl.nn.GroupNorm(1, HUGE)),
    ("InstanceNorm1d", lambda: tl.nn.InstanceNorm1d(HUGE, affine=True)),
    ("PReLU", lambda: tl.nn.PReLU(HUGE)),
    ("Bilinear", lambda: tl.nn.Bilinear(10**5, 10**5, 10**5)),
    ("LSTM", lambda: tl.nn.LSTM(10**7, 10**7)),
    ("GRU", lambda: tl.nn.GRU(10**7, 10**7)),
    ("MultiheadAttention", lambda: tl.nn.MultiheadAttention(10**7, 1)),
    ("Linear", lambda: tl.nn.Linear(10**7, 10**7)),
]


@pytest.mark.parametrize("name,make", CASES, ids=[c[0] for c in CASES])
def test_an_absurd_layer_size_names_the_layer(name, make):
    with pytest.raises(AllocationError, match=rf"^{name}: the result is too large to allocate") as info:
        make()
    assert isinstance(info.value, MemoryError) and isinstance(info.value, RuntimeError)


def test_a_user_module_keeps_its_own_errors():
    class Mine(tl.nn.Module):
        def __init__(self):
            super().__init__()
            raise ValueError("array is too big; my own message")

    with pytest.raises(ValueError, match="my own message"):  # (only the package's layers are told so)
        Mine()


def test_layers_still_build_and_keep_their_signature():
    import inspect

    assert list(inspect.signature(tl.nn.Embedding.__init__).parameters)[:3] == ["self", "num_embeddings",
                                                                               "embedding_dim"]
    assert tl.nn.Embedding(4, 3).weight.shape == (4, 3)
