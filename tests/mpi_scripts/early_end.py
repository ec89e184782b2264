"""``early_end.py``: rank 1 runs 2 training steps, the others 4; rank 1's script then ends
normally while the others still call ``all_reduce_gradients``: every rank must end (non-zero)
with a message, instead of the others waiting forever."""

from __future__ import annotations

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import distributed as dist

dist.init()
m = tl.nn.Linear(3, 1, rng=0)
for _step in range(2 if dist.rank() == 1 else 4):
    m.zero_grad()
    m(tl.Tensor(np.ones((2, 3)), batched=True)).mean().backward()
    dist.all_reduce_gradients(m)
