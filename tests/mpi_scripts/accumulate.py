"""Gradient accumulation over micro-batches: ``accumulate.py OUT_DIR CASE``.

``sum``: two micro-batches (global sizes 6 and 2, split unevenly over 3 ranks, one rank's
second part empty) whose costs are sums: the accumulated gradients reduce to the one-process
gradient of both. ``mean``: the same with mean costs, which every rank refuses (how each
rank's samples weigh in each micro-batch is lost). ``global``: sum costs divided by the global
batch size, reduced with ``reduction="sum"`` (the refusal's advice): the one-process mean's
gradient. Each rank writes ``OUT_DIR/rank<K>.npz``."""

from __future__ import annotations

import os
import sys

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import distributed as dist

out_dir, case = sys.argv[1], sys.argv[2]
dist.init()
rank = dist.rank()
X = np.random.default_rng(0).normal(size=(8, 3))
Y = X.sum(1, keepdims=True)
micro = [np.split(np.arange(6), [3, 5]), np.split(np.arange(6, 8), [1, 2])]  # sizes 3/2/1, then 1/1/0
m = tl.nn.Linear(3, 1, rng=0)
for parts in micro:
    idx = parts[rank]
    if len(idx):
        xb, yb = tl.Tensor(X[idx], batched=True), tl.Tensor(Y[idx], batched=True)
        if case == "global":  # (each micro-batch's sum over the global batch size, as the refusal advises)
            (tl.nn.functional.mse_loss(m(xb), yb, reduction="sum") / 8).backward()
        else:
            tl.nn.functional.mse_loss(m(xb), yb, reduction=case).backward()
dist.all_reduce_gradients(m, reduction="sum" if case == "global" else None)
np.savez(os.path.join(out_dir, f"rank{rank}.npz"), **{str(i): p.grad for i, p in enumerate(m.parameters())})
