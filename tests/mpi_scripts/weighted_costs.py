"""Costs that sample counts cannot weigh exactly: ``weighted_costs.py OUT_DIR CASE``.

``weighted``: cross_entropy with class weights and reduction="mean" (each rank divides by its
own labels' weight total): every rank refuses. ``ignored``: the same with ignore_index, where
passing n= (each rank's number of kept labels) gives the one-process gradient. ``penalty``: a
sum cost plus an L2 penalty, which every rank would add: refused; ``penalty_rank0``: the
penalty added on rank 0 only and reduction="sum" passed, which reduces exactly. Each rank
writes ``OUT_DIR/rank<K>.npz``."""

from __future__ import annotations

import os
import sys

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import distributed as dist

out_dir, case = sys.argv[1], sys.argv[2]
dist.init()
rank, world = dist.rank(), dist.world_size()
rng = np.random.default_rng(0)
X = rng.normal(size=(9, 3))
Y = np.array([0, 1, 2, 3, 1, 1, 0, 2, 1])
idx = np.array_split(np.arange(9), world)[rank]
m = tl.nn.Linear(3, 4, rng=0)
F = tl.nn.functional
logits = m(tl.Tensor(X[idx], batched=True))
n = None
if case == "weighted":
    F.cross_entropy(logits, Y[idx], weight=np.array([1.0, 2.0, 3.0, 4.0])).backward()
elif case == "ignored":
    F.cross_entropy(logits, Y[idx], ignore_index=1).backward()
    n = int((Y[idx] != 1).sum())
else:
    cost = F.cross_entropy(logits, Y[idx], reduction="sum")
    if case == "penalty" or rank == 0:
        cost = cost + 0.1 * (m.weight ** 2).sum()
    cost.backward()
dist.all_reduce_gradients(m, n, reduction="sum" if case == "penalty_rank0" else None)
np.savez(os.path.join(out_dir, f"rank{rank}.npz"), **{str(i): p.grad for i, p in enumerate(m.parameters())})
