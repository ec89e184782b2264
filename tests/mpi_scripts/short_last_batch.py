"""The short last batch of an epoch: ``short_last_batch.py OUT_DIR COST`` on 3 ranks.

7 samples in batches of 5 and 2: the first batch splits 2/2/1 over the ranks, the last 1/1/0,
so in the last no rank holds more than one sample and its cost (``sum``: ``l.sum()``;
``mean``: ``l.sum() / len(x)``) reads as a sum either way. ``all_reduce_gradients(m)`` then
takes the reduction the first batch told. Each rank writes the last batch's gradients to
``OUT_DIR/rank<K>.npz``."""

from __future__ import annotations

import os
import sys

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import distributed as dist

out_dir, cost = sys.argv[1], sys.argv[2]
dist.init()
rank, world = dist.rank(), dist.world_size()
X = np.random.default_rng(0).normal(size=(7, 3))
Y = X.sum(1, keepdims=True)
m = tl.nn.Linear(3, 1, rng=0)
loader = tl.data.DataLoader(X, Y, batch_size=5, shuffle=False, shard=(rank, world))
for xb, yb in loader:
    m.zero_grad()
    if len(xb):
        total = ((m(xb) - yb) ** 2).sum()
        (total if cost == "sum" else total / len(xb)).backward()
    dist.all_reduce_gradients(m)
np.savez(os.path.join(out_dir, f"rank{rank}.npz"), **{str(i): p.grad for i, p in enumerate(m.parameters())})
