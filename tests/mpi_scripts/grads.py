"""Gradients reduced over ranks: ``grads.py OUT_DIR CASE[,CASE...]``.

Each rank runs one backward over its slice of the N samples (sizes from
``_common.split_sizes``), calls ``dist.all_reduce_gradients`` and writes every reduced
gradient to ``OUT_DIR/rank<K>.npz`` as ``<case>__<i>``. Cases: ``even``, ``uneven``,
``empty`` (a rank with no samples and no backward), ``emptyfwd`` (the same, but that rank
runs its backward over an empty batch), each ``-mean`` or ``-sum``; a ``default-`` prefix
leaves ``n`` and the reduction to what the backward recorded; a ``held-`` prefix keeps
this rank's own gradient arrays alive across the reduction and checks that they were left
as they were (the reduced gradients are then new arrays).
"""

from __future__ import annotations

import os
import sys

import numpy as np
from _common import make_data, make_model, split_sizes

import tinygrad_lite as tl
from tinygrad_lite import distributed as dist

out_dir, cases = sys.argv[1], sys.argv[2].split(",")
dist.init()
rank, world = dist.rank(), dist.world_size()
X, Y = make_data()
results = {}
for case in cases:
    held = case.startswith("held-")
    default = case.startswith("default-")
    shape_case = case.split("-", 1)[1] if default or held else case
    reduction = "sum" if case.endswith("-sum") else "mean"
    sizes = split_sizes(shape_case, world)
    start = sum(sizes[:rank])
    idx = np.arange(start, start + sizes[rank])
    model = make_model(seed=0)
    model.zero_grad()
    if len(idx) or shape_case.startswith("emptyfwd"):
        xb, yb = tl.Tensor(X[idx], batched=True), tl.Tensor(Y[idx], batched=True)
        tl.nn.mse_loss(model(xb), yb, reduction=reduction).backward()
    own = [p.grad for p in model.parameters()] if held else []
    copies = [None if g is None else g.copy() for g in own]
    if default or (not len(idx) and not shape_case.startswith("emptyfwd")):
        dist.all_reduce_gradients(model)  # n and reduction from the backward; no grads: an empty shard
    else:
        dist.all_reduce_gradients(model, n=len(idx), reduction=reduction)
    for g, c in zip(own, copies):
        if g is not None and not np.array_equal(g, c):
            raise AssertionError(f"{case}: all_reduce_gradients wrote into a gradient array the caller holds")
    for i, p in enumerate(model.parameters()):
        results[f"{case}__{i}"] = p.grad
np.savez(os.path.join(out_dir, f"rank{rank}.npz"), **results)
