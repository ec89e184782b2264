"""Every rank's part of a batch holds at most one sample: ``one_sample_only.py OUT_DIR CASE``.

``refused`` / ``given``: a global batch of 2 split 1/1/0 over 3 ranks, the cost a mean written
``.sum() / len(x)``: of one sample it reads as a sum, and no rank has more samples to say which
it is. ``refused``: ``all_reduce_gradients(m)`` refuses on every rank. ``given``: with
``reduction="mean"`` the result is the one-process gradient.

``last_sum`` / ``last_mean``: an epoch's short last batch. 7 samples in batches of 5 and 2 split
2/2/1, then 1/1/0: the cost (``l.sum()``, or ``l.sum() / len(x)``) of the last batch reads as a
sum either way, and ``all_reduce_gradients(m)`` takes the reduction the first batch told.

``last_meanop``: the same with the cost written ``.mean()``: a mean op reads as a mean even of one
sample, so nothing needs telling.

``switch`` / ``fresh``: a first batch of 6 (2 per rank) whose cost is a mean (``.mean()``, or
``l.sum() / len(x)``), then a batch of 3 (1 per rank) whose cost is a sum (``l.sum()``), through
the same model (``switch``) or another of the same shapes (``fresh``): the earlier call tells
nothing about this cost, and ``all_reduce_gradients(m)`` refuses instead of taking a mean.

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
if case in ("switch", "fresh"):
    X = np.random.default_rng(0).normal(size=(9, 3))
    batches = [(np.array_split(X[:6], world)[rank], "mean" if case == "switch" else "sum / B"),
               (np.array_split(X[6:], world)[rank], "sum")]
    for k, (xs, cost) in enumerate(batches):
        if k and case == "fresh":
            m = tl.nn.Linear(3, 1, rng=1)
        m.zero_grad()
        err = (m(tl.Tensor(xs, batched=True)) - tl.Tensor(xs.sum(1, keepdims=True), batched=True)) ** 2
        (err.mean() if cost == "mean" else err.sum() / len(xs) if cost == "sum / B" else err.sum()).backward()
        dist.all_reduce_gradients(m)
    batches = []
for xs, ys in batches:
    m.zero_grad(set_to_none=False)
    if len(xs):
        xb = xs if isinstance(xs, tl.Tensor) else tl.Tensor(xs, batched=True)
        yb = ys if isinstance(ys, tl.Tensor) else tl.Tensor(ys, batched=True)
        if case == "last_meanop":
            ((m(xb) - yb) ** 2).mean().backward()
        else:
            total = ((m(xb) - yb) ** 2).sum()
            (total if case == "last_sum" else total / len(xs)).backward()
    dist.all_reduce_gradients(m, reduction="mean" if case == "given" else None)
np.savez(os.path.join(out_dir, f"rank{rank}.npz"), **{str(i): p.grad for i, p in enumerate(m.parameters())})
