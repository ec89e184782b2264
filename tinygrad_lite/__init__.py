"""tinygrad_lite: a small, exact reverse-mode autodiff on numpy.

A scalar engine (``Value``) and a tensor engine (``Tensor``) share one graph walker;
one ``backward()`` gives a batch cost's gradient AND every sample's own gradient.
"""

import sys as _sys

from . import (
    amp,
    autograd,
    cuda,
    data,
    distributions,
    func,
    functions,
    layoutfunctions,
    linalg,
    morefunctions,
    nn,
    optim,
    privacy,
    special,
    statfunctions,
    stats,
    testing,
    torchlinalg,
    torchport,
    viz,
)
from . import autograd_checks as _autograd_checks
from . import autograd_function as _autograd_function
from . import autograd_functional as _autograd_functional
from . import dtypes as _dtypes
from . import forward_ad as _forward_ad
from . import random as random  # tl.random, as torch.random (not in __all__)
from . import utils as utils  # tl.utils.data is tl.data (not in __all__)
from .amp import autocast  # noqa: F401  (torch.autocast: an attribute only, not in __all__)
from .anomaly import detect_anomaly
from .axisalias import add_axis_aliases as _add_axis_aliases
from .axisalias import alias_functions as _alias_functions
from .checkpoint import CheckpointError, load, save
from .compiling import compile  # noqa: F401  (an attribute only, not in __all__)
from .factories import (
    allclose,
    arange,
    device,
    empty,
    empty_like,
    equal,
    eye,
    full,
    full_like,
    get_default_dtype,
    linspace,
    multinomial,
    normal,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    set_default_dtype,
    where,
    zeros,
    zeros_like,
)
from .functions import *  # noqa: F403  (torch's function namespace: tl.exp, tl.sum, tl.maximum, ...)
from .gradcheck import GradcheckError, gradcheck
from .graph import enable_grad, inference_mode, is_grad_enabled, is_inference_mode_enabled, no_grad, set_grad_enabled
from .layoutfunctions import *  # noqa: F403  (tl.scatter, tl.take_along_dim, tl.tile, tl.combinations, ...)
from .morefunctions import *  # noqa: F403  (more of it: tl.tan, tl.cumprod, tl.cdist, tl.meshgrid, ...)
from .persample import total_norms as per_sample_norms
from .printing import get_printoptions, set_printoptions
from .random import Generator, default_generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state
from .size import Size
from .statfunctions import *  # noqa: F403  (tl.median, tl.quantile, tl.lgamma, tl.hann_window, ...)
from .tensor import Tensor, cat, stack, tensor
from .torchglobals import (  # noqa: F401  (attributes only, not in __all__: torch's process-wide switches)
    are_deterministic_algorithms_enabled,
    backends,
    get_float32_matmul_precision,
    get_num_threads,
    set_float32_matmul_precision,
    set_num_threads,
    use_deterministic_algorithms,
)
from .torchlinalg import *  # noqa: F403  (tl.det, tl.svd, tl.cholesky_solve, tl.cross, tl.inner, ...)
from .torchnames import *  # noqa: F403  (torch's top-level spellings: tl.conv2d, tl.batch_norm, tl.relu_, tl.bernoulli, ...)
from .torchnames_c import *  # noqa: F403  (tl.pi, tl.angle, tl.as_strided, tl.view_copy, tl.empty_strided, ...)
from .torchnames_c import from_dlpack, strided, to_dlpack  # noqa: F401  (attributes only, as torch's)
from .torchnames_d import *  # noqa: F403  (tl.lstm_cell, tl.native_layer_norm, tl.cond, tl.svd_lowrank, ...)
from .torchport import *  # noqa: F403  (tl.finfo, tl.promote_types, tl.is_floating_point, tl.cosine_similarity, ...)
from .value import Value

_add_axis_aliases(Tensor)  # numpy's axis= / keepdims= beside dim= / keepdim=, as torch takes both
_alias_functions(*(vars(m) for m in (functions, layoutfunctions, morefunctions, statfunctions, torchlinalg, torchport)),
                 globals())  # likewise tl.softmax(x, axis=1), tl.std(x, axis=0, keepdims=True), ...

cuda.amp = amp  # tl.cuda.amp.autocast / GradScaler, torch's older spelling
_sys.modules[__name__ + ".cuda.amp"] = amp
autograd.functional = _autograd_functional  # tl.autograd.functional, as torch.autograd.functional
_sys.modules[__name__ + ".autograd.functional"] = _autograd_functional
autograd.Function = _autograd_function.Function  # tl.autograd.Function, torch's custom op
autograd.function = _autograd_function  # tl.autograd.function.once_differentiable, FunctionCtx
_sys.modules[__name__ + ".autograd.function"] = _autograd_function
autograd.forward_ad = _forward_ad  # tl.autograd.forward_ad: make_dual / unpack_dual
_sys.modules[__name__ + ".autograd.forward_ad"] = _forward_ad
for _name in _autograd_checks.__all__:  # tl.autograd.gradcheck, gradgradcheck, set_detect_anomaly, grad_mode ...
    setattr(autograd, _name, getattr(_autograd_checks, _name))
autograd.__all__ = autograd.__all__ + [n for n in _autograd_checks.__all__ if n not in autograd.__all__]
_sys.modules[__name__ + ".autograd.grad_mode"] = _autograd_checks.grad_mode
del _name

range = statfunctions.range  # torch.range: an attribute only, never in __all__

__version__ = "0.1.0"

__all__ = ["Tensor", "Value", "tensor", "no_grad", "inference_mode", "enable_grad", "set_grad_enabled",
           "is_grad_enabled", "gradcheck", "GradcheckError", "detect_anomaly", "nn", "optim", "data", "privacy",
           "stats", "viz", "autograd", "func", "save", "load", "CheckpointError", "manual_seed", "cat", "stack",
           "per_sample_norms", "Generator", "default_generator", "seed", "initial_seed", "get_rng_state",
           "set_rng_state", "distributions", "__version__"]
__all__ += ["zeros", "ones", "full", "empty", "zeros_like", "ones_like", "full_like", "empty_like", "randn", "rand",
            "randn_like", "rand_like", "arange", "linspace", "eye", "where", "allclose", "equal", "device", "cuda",
            "randint", "randperm", "multinomial", "normal", "linalg", "get_default_dtype",
            "set_default_dtype", "Size", "set_printoptions", "get_printoptions", "testing"]
# (tl.compile is an attribute only: ``from tinygrad_lite import *`` leaves Python's compile alone)
# (``from tinygrad_lite import *`` leaves Python's own abs, all, any, max, min, pow, round and sum alone)
__all__ += morefunctions.__all__ + ["is_inference_mode_enabled"]
__all__ += statfunctions.__all__ + ["special"]
__all__ += torchlinalg.__all__
__all__ += torchport.__all__
__all__ += torchnames.__all__  # noqa: F405  (none of them shadows a Python builtin)
__all__ += torchnames_c.__all__  # noqa: F405  (none of them shadows a Python builtin)
__all__ += torchnames_d.__all__  # noqa: F405  (none of them shadows a Python builtin)
__all__ += layoutfunctions.__all__
__all__ += [n for n in functions.__all__ if n not in ("abs", "all", "any", "max", "min", "pow", "round", "sum")]

# torch's dtype names (tl.float32, tl.long, tl.float, tl.int, tl.bool ...): attributes only, never
# in __all__, so ``from tinygrad_lite import *`` leaves Python's float, int and bool alone
globals().update(_dtypes.DTYPES)
dtype = _dtypes.np.dtype  # torch.dtype's spelling: ``isinstance(x.dtype, tl.dtype)`` (an attribute only)


def __getattr__(name: str) -> object:
    """``tl.distributed`` on first use (as ``torch.distributed``): importing the package does not
    import it, so a plain ``import tinygrad_lite`` costs no MPI set-up."""
    if name == "distributed":
        import importlib

        return importlib.import_module(__name__ + ".distributed")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
