"""``bcast_buffers.py OUT_DIR CASE``: ``buffers``: each rank's BatchNorm has its own running
statistics; ``broadcast_parameters(model)`` gives every rank rank 0's (as DDP), and
``broadcast_parameters(model.named_parameters())`` the parameters. ``bigint``: an int64
tensor beyond 2**53 is refused on every rank. Each rank writes ``OUT_DIR/rank<K>.npz``."""

from __future__ import annotations

import os
import sys

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import distributed as dist

out_dir, case = sys.argv[1], sys.argv[2]
dist.init()
rank = dist.rank()
if case == "bigint":
    dist.broadcast_parameters([tl.Tensor(np.array([2**53 + 1, 7], dtype=np.int64))])
else:
    model = tl.nn.Sequential(tl.nn.Linear(3, 4, rng=rank), tl.nn.BatchNorm1d(4))
    model(tl.Tensor(np.random.default_rng(rank).normal(size=(5, 3)) + 3 * rank))  # rank-specific statistics
    lin = tl.nn.Linear(2, 2, rng=10 + rank)
    dist.broadcast_parameters(model)
    dist.broadcast_parameters(lin.named_parameters())
    state = {k: np.asarray(v) for k, v in model.state_dict().items()}
    state.update({f"lin.{k}": np.asarray(v) for k, v in lin.state_dict().items()})
    np.savez(os.path.join(out_dir, f"rank{rank}.npz"), **state)
