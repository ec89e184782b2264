"""Learning-rate schedules with PyTorch's ``torch.optim.lr_scheduler`` names, signatures and
formulas. This package keeps them in modules by kind (``base``: the base class; ``simple``:
schedules of the epoch alone; ``cyclic``: per-batch cycles and warm restarts; ``plateau``:
the metric-driven one; ``combine``: schedules of schedules) and re-exports every name here.
"""

from .base import LRScheduler
from .combine import ChainedScheduler, SequentialLR
from .cyclic import CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR
from .plateau import ReduceLROnPlateau
from .simple import (
    ConstantLR,
    CosineAnnealingLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    MultiplicativeLR,
    MultiStepLR,
    PolynomialLR,
    StepLR,
)

__all__ = ["LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR", "MultiStepLR", "LambdaLR", "LinearLR",
           "ConstantLR", "MultiplicativeLR", "PolynomialLR", "CosineAnnealingWarmRestarts", "CyclicLR", "OneCycleLR",
           "ReduceLROnPlateau", "SequentialLR", "ChainedScheduler"]
