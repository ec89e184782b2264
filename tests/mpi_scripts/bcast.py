"""broadcast_parameters from every root: each rank starts from its own values (special floats
included) and saves what it holds after each broadcast, for the test to compare bitwise."""

import sys

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import distributed as dist


def own_values(r: int) -> list:
    """Parameters of three dtypes whose values differ by rank, with -0.0, +0.0, inf, nan and
    a subnormal among them."""
    rng = np.random.default_rng(r)
    special = np.array([-0.0, 0.0, np.inf, -np.inf, np.nan, 5e-324, -1.5, 1e300])
    a = rng.standard_normal((3, 4))
    a.ravel()[:8] = special if r % 2 == 0 else -special
    b = rng.standard_normal(5).astype(np.float32)
    b[:2] = (-0.0, np.float32(1e-45)) if r % 2 == 0 else (0.0, -np.float32(1e-45))
    c = rng.standard_normal((2, 2)).astype(np.float16)
    c[0, 0] = -0.0 if r % 2 == 0 else 0.0
    return [a, b, c]


def main(out_dir: str) -> None:
    dist.init()
    rank, world = dist.rank(), dist.world_size()
    out = {}
    for root in range(world):
        params = [tl.Tensor(v.copy(), requires_grad=True) for v in own_values(rank)]
        dist.broadcast_parameters(params, root=root)
        for i, p in enumerate(params):
            out[f"root{root}__{i}"] = np.array(p.data)
    np.savez(f"{out_dir}/rank{rank}.npz", **out)


if __name__ == "__main__":
    main(sys.argv[1])
