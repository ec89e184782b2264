"""``tl.utils``, torch's ``torch.utils``: ``tl.utils.data`` is the module ``tl.data`` itself
(the same objects: ``DataLoader``, ``Dataset``, ``TensorDataset``, ``random_split``, ``Subset``,
the samplers, ``default_collate``, ``default_convert``, ``get_worker_info``, ...).

This file registers ``tinygrad_lite.utils.data`` in ``sys.modules`` as that module, so
``from tinygrad_lite.utils.data import DataLoader`` works; other utilities are submodules of
this package (``checkpoint``: activation checkpointing). It keeps no state of its own.
"""

import sys as _sys

from .. import data

_sys.modules[__name__ + ".data"] = data

from . import checkpoint  # noqa: E402  (after the alias: tl.utils.checkpoint.checkpoint)

__all__ = ["data", "checkpoint"]
