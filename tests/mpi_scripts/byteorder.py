"""``allreduce_sum`` of an array in a non-native byte order: the sum, in the native order."""

from __future__ import annotations

import numpy as np

from tinygrad_lite import distributed as dist

dist.init()
other = ">" if np.little_endian else "<"
r = dist.allreduce_sum(np.arange(6, dtype=other + "f8") * (dist.rank() + 1))
assert r.dtype.isnative and np.array_equal(r, np.arange(6.0) * sum(range(1, dist.world_size() + 1))), r
