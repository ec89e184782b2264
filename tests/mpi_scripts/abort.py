"""Rank 1 raises while rank 0 waits in a collective: the whole job must end, non-zero."""

from __future__ import annotations

import numpy as np

from tinygrad_lite import distributed as dist

dist.init()
if dist.rank() == 1:
    raise ValueError("boom on purpose")
dist.allreduce_sum(np.ones(3))  # never completes: rank 1 is gone
print("rank 0 went past the collective", flush=True)
