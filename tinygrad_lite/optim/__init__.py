"""Optimizers (pluggable: the base class owns the loop, a subclass writes its update rule),
DP-SGD, the learning-rate schedules (also importable from ``tl.optim.lr_scheduler``,
PyTorch's path) and weight averaging (``tl.optim.swa_utils``)."""

from . import lr_scheduler, swa_utils
from .adafactor import Adafactor, SparseAdam
from .dpsgd import DPSGD
from .lbfgs import LBFGS
from .lr_scheduler import (
           ChainedScheduler,
           ConstantLR,
           CosineAnnealingLR,
           CosineAnnealingWarmRestarts,
           CyclicLR,
           ExponentialLR,
           LambdaLR,
           LinearLR,
           LRScheduler,
           MultiplicativeLR,
           MultiStepLR,
           OneCycleLR,
           PolynomialLR,
           ReduceLROnPlateau,
           SequentialLR,
           StepLR,
)
from .muon import Muon
from .optimizer import Optimizer
from .rules import SGD, Adagrad, Adam, AdamW, RMSprop
from .rules_more import ASGD, Adadelta, Adamax, NAdam, RAdam, Rprop

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "NAdam", "RAdam", "Adamax",
           "Adadelta", "ASGD", "Rprop", "LBFGS", "DPSGD", "LRScheduler", "StepLR",
           "ExponentialLR", "CosineAnnealingLR", "MultiStepLR", "LambdaLR", "LinearLR", "ConstantLR",
           "MultiplicativeLR", "PolynomialLR", "CosineAnnealingWarmRestarts", "CyclicLR", "OneCycleLR",
           "ReduceLROnPlateau", "SequentialLR", "ChainedScheduler", "lr_scheduler", "Adafactor", "SparseAdam",
           "swa_utils", "Muon"]
