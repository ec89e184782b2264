"""Layer constructors take torch's ``device=`` and ``dtype=`` keywords: ``dtype=None`` is the
default (float64 here), a torch dtype is read as numpy's, the CPU is the one device, and
anything else is refused naming the layer."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import tinygrad_lite as tl

nn = tl.nn

# (name, a constructor given keyword arguments); the positional arguments are valid for torch too
LAYERS: list[tuple[str, Callable[..., Any]]] = [
    ("Linear", lambda **k: nn.Linear(4, 3, **k)),
    ("Bilinear", lambda **k: nn.Bilinear(4, 2, 3, **k)),
    ("Embedding", lambda **k: nn.Embedding(5, 3, **k)),
    ("LayerNorm", lambda **k: nn.LayerNorm(4, **k)),
    ("GroupNorm", lambda **k: nn.GroupNorm(2, 4, **k)),
    ("BatchNorm1d", lambda **k: nn.BatchNorm1d(4, **k)),
    ("BatchNorm2d", lambda **k: nn.BatchNorm2d(4, **k)),
    ("BatchNorm3d", lambda **k: nn.BatchNorm3d(4, **k)),
    ("SyncBatchNorm", lambda **k: nn.SyncBatchNorm(4, **k)),
    ("LinearCrossEntropyLoss", lambda **k: nn.LinearCrossEntropyLoss(4, 3, **k)),
    ("InstanceNorm1d", lambda **k: nn.InstanceNorm1d(4, affine=True, **k)),
    ("InstanceNorm2d", lambda **k: nn.InstanceNorm2d(4, affine=True, **k)),
    ("InstanceNorm3d", lambda **k: nn.InstanceNorm3d(4, affine=True, **k)),
    ("RMSNorm", lambda **k: nn.RMSNorm(4, **k)),
    ("EmbeddingBag", lambda **k: nn.EmbeddingBag(5, 4, **k)),
    ("PReLU", lambda **k: nn.PReLU(**k)),
    ("Conv1d", lambda **k: nn.Conv1d(2, 3, 3, **k)),
    ("Conv2d", lambda **k: nn.Conv2d(2, 3, 3, **k)),
    ("ConvTranspose1d", lambda **k: nn.ConvTranspose1d(2, 3, 3, **k)),
    ("ConvTranspose2d", lambda **k: nn.ConvTranspose2d(2, 3, 3, **k)),
    ("Conv3d", lambda **k: nn.Conv3d(2, 3, 3, **k)),
    ("ConvTranspose3d", lambda **k: nn.ConvTranspose3d(2, 3, 3, **k)),
    ("RNN", lambda **k: nn.RNN(4, 3, **k)),
    ("GRU", lambda **k: nn.GRU(4, 3, **k)),
    ("LSTM", lambda **k: nn.LSTM(4, 3, **k)),
    ("RNNCell", lambda **k: nn.RNNCell(4, 3, **k)),
    ("GRUCell", lambda **k: nn.GRUCell(4, 3, **k)),
    ("LSTMCell", lambda **k: nn.LSTMCell(4, 3, **k)),
    ("RNNBase", lambda **k: nn.RNNBase("LSTM", 4, 3, **k)),
    ("RNNCellBase", lambda **k: nn.RNNCellBase(4, 3, True, 4, **k)),
    ("AdaptiveLogSoftmaxWithLoss", lambda **k: nn.AdaptiveLogSoftmaxWithLoss(16, 6, [2, 4], **k)),
    ("MultiheadAttention", lambda **k: nn.MultiheadAttention(4, 2, batch_first=True, **k)),
    ("TransformerEncoderLayer", lambda **k: nn.TransformerEncoderLayer(4, 2, 8, **k)),
    ("TransformerDecoderLayer", lambda **k: nn.TransformerDecoderLayer(4, 2, 8, **k)),
    ("Transformer", lambda **k: nn.Transformer(4, 2, 1, 1, 8, **k)),
    ("LazyLinear", lambda **k: nn.LazyLinear(3, **k)),
    ("LazyConv1d", lambda **k: nn.LazyConv1d(3, 3, **k)),
    ("LazyConv2d", lambda **k: nn.LazyConv2d(3, 3, **k)),
    ("LazyConv3d", lambda **k: nn.LazyConv3d(3, 3, **k)),
    ("LazyConvTranspose1d", lambda **k: nn.LazyConvTranspose1d(3, 3, **k)),
    ("LazyConvTranspose2d", lambda **k: nn.LazyConvTranspose2d(3, 3, **k)),
    ("LazyConvTranspose3d", lambda **k: nn.LazyConvTranspose3d(3, 3, **k)),
    ("LazyBatchNorm1d", lambda **k: nn.LazyBatchNorm1d(**k)),
    ("LazyBatchNorm2d", lambda **k: nn.LazyBatchNorm2d(**k)),
    ("LazyBatchNorm3d", lambda **k: nn.LazyBatchNorm3d(**k)),
    ("LazyInstanceNorm1d", lambda **k: nn.LazyInstanceNorm1d(**k)),
    ("LazyInstanceNorm2d", lambda **k: nn.LazyInstanceNorm2d(**k)),
    ("LazyInstanceNorm3d", lambda **k: nn.LazyInstanceNorm3d(**k)),
]
IDS = [name for name, _ in LAYERS]


def dtypes(m: Any) -> set:
    return {p.data.dtype for p in m.parameters()}


@pytest.mark.parametrize("name, make", LAYERS, ids=IDS)
def test_dtype_none_and_the_cpu_device_are_the_defaults(name: str, make: Callable[..., Any]) -> None:
    assert dtypes(make(dtype=None)) == {np.dtype(np.float64)}
    for device in ("cpu", "cpu:0", tl.device("cpu"), None):
        assert dtypes(make(device=device, dtype=None)) == {np.dtype(np.float64)}
    assert dtypes(make(dtype=np.float32, device="cpu")) == {np.dtype(np.float32)}


@pytest.mark.parametrize("name, make", LAYERS, ids=IDS)
def test_another_device_or_a_non_float_dtype_is_refused_naming_the_layer(name: str,
                                                                          make: Callable[..., Any]) -> None:
    with pytest.raises(RuntimeError, match=f"{name}: device 'cuda'"):
        make(device="cuda")
    with pytest.raises(TypeError, match=name):
        make(device=3)
    for bad in (np.int64, "text", 2.5):
        with pytest.raises(TypeError, match=name):
            make(dtype=bad)


@pytest.mark.parametrize("name, make", LAYERS, ids=IDS)
def test_a_torch_device_and_a_torch_dtype_are_read(name: str, make: Callable[..., Any]) -> None:
    torch = pytest.importorskip("torch")
    assert dtypes(make(device=torch.device("cpu"), dtype=torch.float32)) == {np.dtype(np.float32)}
    with pytest.raises(RuntimeError, match=name):
        make(device=torch.device("meta"))
