"""tinygrad_lite: a small, exact reverse-mode autodiff on numpy.

A scalar engine (``Value``) and a tensor engine (``Tensor``) share one graph walker;
one ``backward()`` gives a batch cost's gradient AND every sample's own gradient.
"""

from . import data, nn, optim, viz
from .checkpoint import load, save
from .gradcheck import GradcheckError, gradcheck
from .graph import enable_grad, is_grad_enabled, no_grad
from .persample import total_norms as per_sample_norms
from .tensor import Tensor, cat, stack
from .value import Value

__version__ = "0.1.0"

__all__ = ["Tensor", "Value", "no_grad", "enable_grad", "is_grad_enabled", "gradcheck", "GradcheckError",
           "nn", "optim", "data", "viz", "save", "load", "cat", "stack", "per_sample_norms", "__version__"]
