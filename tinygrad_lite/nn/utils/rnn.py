"""torch's ``nn.utils.rnn.pad_sequence``: sequences of different lengths padded into one
tensor (the padded batch a recurrent layer or a transformer takes, with a mask built from the
lengths)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ...ops.layout import cat, stack
from ...tensor import Tensor


def pad_sequence(sequences: Sequence[Any], batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack tensors of shapes (L_i, *) into (L, B, *) (``batch_first=True``: (B, L, *)),
    L = max_i L_i, sequence i's rows first (``padding_side="left"``: last) and
    ``padding_value`` (in the sequences' dtype) after them; the gradient reaches the rows
    that came from the sequences. Sequences whose trailing shapes or dtypes differ raise a
    ValueError naming them, an empty list a ValueError."""
    if padding_side not in ("right", "left"):
        raise ValueError(f"pad_sequence: padding_side must be 'right' or 'left', got {padding_side!r}")
    seqs = [s if isinstance(s, Tensor) else Tensor(s) for s in sequences]
    if not seqs:
        raise ValueError("pad_sequence: received an empty list of sequences")
    rest, dt = seqs[0].shape[1:], seqs[0].dtype
    for i, s in enumerate(seqs):
        if s.ndim == 0 or s.shape[1:] != rest or s.dtype != dt:
            raise ValueError(f"pad_sequence: sequence {i} has shape {s.shape} and dtype {s.dtype}, sequence 0 has "
                             f"shape {seqs[0].shape} and dtype {dt} (every one must be (L_i, *same) of one dtype)")
    n = max(s.shape[0] for s in seqs)
    rows = []
    for s in seqs:
        if s.shape[0] == n:
            rows.append(s)
            continue
        pad = Tensor(np.full((n - s.shape[0], *rest), padding_value).astype(dt))
        rows.append(cat([s, pad] if padding_side == "right" else [pad, s]))
    return stack(rows, 0 if batch_first else 1)
