"""The sample axis folded into another before the model: ``folded_batch.py OUT_DIR CASE``.

Each rank's batch (B, T, D) is reshaped to (B T, D) (``fold``) or made time-major
(``tmajor``) before a Linear layer, a mean cost after. The backward cannot tell the batch
size, so ``all_reduce_gradients(m)`` must refuse on every rank (it once sent zeros, taking
each rank for an empty shard); with ``n=`` (and the cost a mean) it reduces exactly.
``CASE`` ends in ``_n`` for that. Each rank writes ``OUT_DIR/rank<K>.npz``."""

from __future__ import annotations

import os
import sys

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import distributed as dist

out_dir, case = sys.argv[1], sys.argv[2]
dist.init()
rank, world = dist.rank(), dist.world_size()
X = np.random.default_rng(0).normal(size=(6, 4, 3))
idx = np.array_split(np.arange(6), world)[rank]
m = tl.nn.Linear(3, 2, rng=0)
x = tl.Tensor(X[idx], batched=True)
h = x.reshape(-1, 3) if case.startswith("fold") else x.transpose(0, 1)
(m(h) ** 2).mean().backward()
assert all(p.last_batch is None for p in m.parameters()), [p.last_batch for p in m.parameters()]
dist.all_reduce_gradients(m, len(idx) if case.endswith("_n") else None, reduction="mean")
np.savez(os.path.join(out_dir, f"rank{rank}.npz"), **{str(i): p.grad for i, p in enumerate(m.parameters())})
