"""Record the reference results that tests/test_optim.py compares against when torch is not installed.

Runs every optimizer case and learning-rate schedule of tests/test_optim.py with
torch.optim and writes the results, together with the test problem they start
from, to tests/data/optim_reference.npz. Needs torch. From the project root:

    python tests/data/make_optim_reference.py
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def main() -> None:
    import torch

    sys.path[:0] = [str(HERE.parent), str(HERE.parent.parent)]  # tests/ and the project root
    cases = importlib.import_module("test_optim")

    problem = cases.make_problem()
    arrays: dict[str, np.ndarray] = {f"problem/{k}": v for k, v in problem.items()}
    for case in sorted(cases.OPTIM_CASES):
        W, b = cases.run_torch(torch, case, problem)
        arrays[f"optim/{case}/W"], arrays[f"optim/{case}/b"] = W, b
    for case in sorted(cases.SCHED_CASES):
        arrays[f"sched/{case}"] = cases.lr_sequence_torch(torch, case)
    arrays["torch_version"] = np.array(torch.__version__)
    out = HERE / "optim_reference.npz"
    np.savez_compressed(out, **arrays)
    print(f"wrote {len(arrays)} arrays to {out}")


if __name__ == "__main__":
    main()
