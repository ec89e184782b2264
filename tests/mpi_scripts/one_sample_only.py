"""Every rank's part of a batch holds at most one sample: ``one_sample_only.py OUT_DIR CASE``.

``refused`` / ``given``: a global batch of 2 split 1/1/0 over 3 ranks, the cost a mean written
``.sum() / len(x)``: of one sample it reads as a sum, and no rank has more samples to say which
it is. ``refused``: ``all_reduce_gradients(m)`` refuses on every rank. ``given``: with
``reduction="mean"`` the result is the one-process gradient.

``last_sum`` / ``last_mean``: an epoch's short last batch. 7 samples in batches of 5 and 2 split
2/2/1, then 1/1/0: the cost (``l.sum()``, or ``l.sum() / len(x)``) of the last batch reads as a
sum either way, and ``all_reduce_gradients(m)`` takes the reduction the first batch told.

Each rank writes the (last) batch's gradients to ``OUT_DIR/rank<K>.npz``."""

from __future__ import annotations

import os
import sys

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import distributed as dist

out_dir, case = sys.argv[1], sys.argv[2]
dist.init()
rank, world = dist.rank(), dist.world_size()
m = tl.nn.Linear(3, 1, rng=0)
if case in ("refused", "given"):
    X = np.random.default_rng(0).normal(size=(2, 3))
    idx = np.array_split(np.arange(2), world)[rank]
    batches = [(X[idx], X[idx].sum(1, keepdims=True))]
else:
    X = np.random.default_rng(0).normal(size=(7, 3))
    batches = list(tl.data.DataLoader(X, X.sum(1, keepdims=True), batch_size=5, shuffle=False, shard=(rank, world)))
for xs, ys in batches:
    m.zero_grad(set_to_none=False)
    if len(xs):
        xb = xs if isinstance(xs, tl.Tensor) else tl.Tensor(xs, batched=True)
        yb = ys if isinstance(ys, tl.Tensor) else tl.Tensor(ys, batched=True)
        total = ((m(xb) - yb) ** 2).sum()
        (total if case == "last_sum" else total / len(xs)).backward()
    dist.all_reduce_gradients(m, reduction="mean" if case == "given" else None)
np.savez(os.path.join(out_dir, f"rank{rank}.npz"), **{str(i): p.grad for i, p in enumerate(m.parameters())})
