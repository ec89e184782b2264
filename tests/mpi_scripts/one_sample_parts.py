"""Reductions a rank's backward cannot tell apart: ``one_sample_parts.py OUT_DIR``.

``sumB``: a mean written ``.sum() / B`` over a global batch of 4 split 2/1/1 over 3 ranks
(a part of one sample is a mean and a sum alike; the rank with 2 says which).
``stale``: a rank whose part is empty skips its backward after ``zero_grad(set_to_none=False)``
that followed an earlier batch: its old record must not count. Each rank writes the reduced
gradients to ``OUT_DIR/rank<K>.npz``."""

from __future__ import annotations

import os
import sys

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import distributed as dist

out_dir = sys.argv[1]
dist.init()
rank, world = dist.rank(), dist.world_size()
X = np.random.default_rng(0).normal(size=(4, 3))
Y = X.sum(1, keepdims=True)
parts = np.split(np.arange(4), [2, 3])  # sizes 2, 1, 1
results = {}

m = tl.nn.Linear(3, 1, rng=0)
xb, yb = tl.Tensor(X[parts[rank]], batched=True), tl.Tensor(Y[parts[rank]], batched=True)
(((m(xb) - yb) ** 2).sum() / xb.shape[0]).backward()
dist.all_reduce_gradients(m)
results.update({f"sumB__{i}": p.grad for i, p in enumerate(m.parameters())})

m = tl.nn.Linear(3, 1, rng=0)
m(tl.Tensor(np.ones((2, 3)), batched=True)).mean().backward()  # an earlier step
m.zero_grad(set_to_none=False)
if rank == 0:
    m(tl.Tensor(np.ones((1, 3)), batched=True)).mean().backward()
dist.all_reduce_gradients(m)
results.update({f"stale__{i}": p.grad for i, p in enumerate(m.parameters())})
np.savez(os.path.join(out_dir, f"rank{rank}.npz"), **results)
