"""Every rank's part of a batch holds at most one sample: ``one_sample_only.py OUT_DIR CASE``.

A global batch of 2 split 1/1/0 over 3 ranks, the cost a mean written ``.sum() / len(x)``:
of one sample it reads as a sum, and no rank has more samples to say which it is.
``refused``: ``all_reduce_gradients(m)`` refuses on every rank. ``given``: with
``reduction="mean"`` the result is the one-process gradient. Each rank writes
``OUT_DIR/rank<K>.npz``."""

from __future__ import annotations

import os
import sys

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import distributed as dist

out_dir, case = sys.argv[1], sys.argv[2]
dist.init()
rank, world = dist.rank(), dist.world_size()
X = np.random.default_rng(0).normal(size=(2, 3))
Y = X.sum(1, keepdims=True)
idx = np.array_split(np.arange(2), world)[rank]
m = tl.nn.Linear(3, 1, rng=0)
m.zero_grad(set_to_none=False)
if len(idx):
    xb, yb = tl.Tensor(X[idx], batched=True), tl.Tensor(Y[idx], batched=True)
    (((m(xb) - yb) ** 2).sum() / len(idx)).backward()
dist.all_reduce_gradients(m, reduction="mean" if case == "given" else None)
np.savez(os.path.join(out_dir, f"rank{rank}.npz"), **{str(i): p.grad for i, p in enumerate(m.parameters())})
