"""Inputs not marked batched: ``plain_inputs.py OUT_DIR CASE``.

A backward over plain Tensors records no batch (``p.last_batch`` is None). ``refused``: after
``zero_grad()`` and such a backward, ``all_reduce_gradients(m)`` must refuse on every rank
(it cannot weigh the gradient), not take the rank for an empty shard. ``given_n``: the same
with ``n=`` (each rank's sample count) gives the one-process gradient. Each rank writes
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
rng = np.random.default_rng(0)
X, Y = rng.normal(size=(9, 3)), rng.normal(size=(9, 2))
idx = np.array_split(np.arange(9), world)[rank]
m = tl.nn.Linear(3, 2, rng=0)
opt = tl.optim.SGD(m.parameters(), lr=0.1)
opt.zero_grad(set_to_none=False)
tl.nn.functional.mse_loss(m(tl.Tensor(X[idx])), tl.Tensor(Y[idx])).backward()
assert all(p.last_batch is None for p in m.parameters()), [p.last_batch for p in m.parameters()]
dist.all_reduce_gradients(m, len(idx) if case == "given_n" else None)
np.savez(os.path.join(out_dir, f"rank{rank}.npz"), **{str(i): p.grad for i, p in enumerate(m.parameters())})
