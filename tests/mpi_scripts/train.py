"""Data-parallel training: ``train.py OUT_DIR STEPS [--stop-at K --ckpt-dir DIR] [--resume-dir DIR]``.

Runs ``_common.train`` for SGD with momentum and for Adam; each rank writes its final
weights to ``OUT_DIR/rank<K>.npz`` as ``<optimizer>__<i>``; checkpoints go to
``DIR/<optimizer>.npz``.
"""

from __future__ import annotations

import argparse
import os

import numpy as np
from _common import train

from tinygrad_lite import distributed as dist

parser = argparse.ArgumentParser()
parser.add_argument("out_dir")
parser.add_argument("steps", type=int)
parser.add_argument("--stop-at", type=int)
parser.add_argument("--ckpt-dir")
parser.add_argument("--resume-dir")
args = parser.parse_args()
dist.init()
rank, world = dist.rank(), dist.world_size()
results = {}
for kind in ("sgd", "adam"):
    ckpt = os.path.join(args.ckpt_dir, f"{kind}.npz") if args.ckpt_dir else None
    resume = os.path.join(args.resume_dir, f"{kind}.npz") if args.resume_dir else None
    weights = train(kind, rank, world, args.steps, stop_at=args.stop_at, ckpt=ckpt, resume=resume)
    for i, w in enumerate(weights):
        results[f"{kind}__{i}"] = w
np.savez(os.path.join(args.out_dir, f"rank{rank}.npz"), **results)
