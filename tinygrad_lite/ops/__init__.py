"""The op table of the tensor engine: one class per op, grouped by kind.

``base`` holds the protocol every op follows (forward, vjp, batch rule, per-sample rule,
derivative text); the other modules hold the ops. ``ALL`` lists every op object, which is
what the pictures, traces and tests iterate over.
"""

from .activations import (
                          ELU,
                          HARDTANH,
                          LEAKYRELU,
                          LOGSIGMOID,
                          MISH,
                          SOFTPLUS,
                          SOFTSIGN,
                          Elu,
                          Hardtanh,
                          LeakyRelu,
                          LogSigmoid,
                          Mish,
                          Softplus,
                          Softsign,
)
from .base import Op
from .elementwise import (
                          ABS,
                          ADD,
                          ADDC,
                          CAST,
                          CLIP,
                          DIV,
                          DIVC,
                          EXP,
                          LOG,
                          MUL,
                          MULC,
                          NEG,
                          POW,
                          POWC,
                          RDIVC,
                          RELU,
                          RPOWC,
                          RSUBC,
                          SIGMOID,
                          SQRT,
                          SUB,
                          SUBC,
                          TANH,
                          Abs,
                          Add,
                          AddC,
                          Cast,
                          Clip,
                          Div,
                          DivC,
                          Exp,
                          Log,
                          Mul,
                          MulC,
                          Neg,
                          Pow,
                          PowC,
                          RDivC,
                          Relu,
                          RPowC,
                          RSubC,
                          Sigmoid,
                          Sqrt,
                          Sub,
                          SubC,
                          Tanh,
)
from .fused import LINEAR, MATMUL, MSE, XENT, CrossEntropy, Linear, Matmul, MSELoss
from .layout import (
    CLONE,
    CONCAT,
    EXPAND,
    GETITEM,
    HOOKPOINT,
    REPEAT,
    RESHAPE,
    SCATTERBACK,
    TRANSPOSE,
    Clone,
    Concat,
    Expand,
    GetItem,
    HookPoint,
    Repeat,
    Reshape,
    ScatterBack,
    Transpose,
)
from .losses import (
                          BCE,
                          BCELOGITS,
                          HUBER,
                          L1,
                          NLL,
                          SMOOTHL1,
                          BCELoss,
                          BCEWithLogits,
                          HuberLoss,
                          L1Loss,
                          NLLLoss,
                          SmoothL1Loss,
)
from .reduce import (
    CUMSUM,
    LOGSOFTMAX,
    LOGSUMEXP,
    MAX,
    MEAN,
    MIN,
    NORM,
    PROD,
    SOFTMAX,
    SUM,
    Cumsum,
    LogSoftmax,
    LogSumExp,
    Max,
    Mean,
    Min,
    Norm,
    Prod,
    Softmax,
    Sum,
)
from .select import (
    CEIL,
    FLOOR,
    GATHER,
    ROUND,
    SIGN,
    SORT,
    TOPK,
    WHERE,
    Ceil,
    Floor,
    Gather,
    Round,
    Sign,
    Sort,
    TopK,
    Where,
)

# isort: split
from .conv import CONV, Conv
from .nnops import (
                          BATCHNORM,
                          EMBEDDING,
                          GELU,
                          GROUPNORM,
                          INPROJ,
                          LAYERNORM,
                          SILU,
                          BatchNorm,
                          Embedding,
                          Gelu,
                          GroupNorm,
                          InProj,
                          LayerNorm,
                          Silu,
)
from .pool import AVGPOOL, FOLD, MAXPOOL, MAXUNPOOL, UNFOLD, AvgPool, Fold, MaxPool, MaxUnpool, Unfold

# isort: split
from .indexing import INDEXADD, INDEXCOPY, IndexAdd, IndexCopy, getitem, torch_order
from .intdiv import FLOORDIV, FMOD, REMAINDER, TRUNCDIV, FloorDivide, Fmod, Remainder, TruncDivide
from .linalg import DIAG, DIAGONAL, EINSUM, SVDVALS, TRIL, TRIU, DiagEmbed, Diagonal, Einsum, Svdvals, Tril, Triu
from .mathfns import (
    ATAN2,
    COS,
    ERF,
    EXP2,
    EXPM1,
    LOG1P,
    LOG2,
    LOG10,
    MAXIMUM,
    MINIMUM,
    RECIPROCAL,
    RSQRT,
    SIN,
    Atan2,
    Cos,
    Erf,
    Exp2,
    Expm1,
    Log1p,
    Log2,
    Log10,
    Maximum,
    Minimum,
    Reciprocal,
    Rsqrt,
    Sin,
)

# isort: split
from .mathmore import (
                          ACOS,
                          ACOSH,
                          ASIN,
                          ASINH,
                          ATAN,
                          ATANH,
                          COSH,
                          CUMPROD,
                          ERFINV,
                          HYPOT,
                          LOGCUMSUMEXP,
                          SINH,
                          TAN,
                          TRUNC,
                          XLOGY,
)
from .mathmore import ALL as _MORE
from .special import ALL as _SPECIAL

# isort: split
from .linalg_decomp import ALL as _DECOMP
from .linalg_lu import ALL as _LU
from .linalg_more import ALL as _LINALG

# isort: split
from .region import ALL as _REGION
from .region import REGION, REGIONWRITE, Region, RegionWrite
from .scatter import ALL as _SCATTER
from .scatter import INDEXPUT, SCATTER, SCATTERADD, SCATTERREDUCE, IndexPut, Scatter, ScatterAdd, ScatterReduce

ALL = (ADD, SUB, MUL, DIV, POW, ADDC, SUBC, MULC, DIVC, RSUBC, RDIVC, POWC, RPOWC, NEG, EXP, LOG, SQRT, TANH,
       SIGMOID, RELU, ABS, CLIP, CAST, SUM, MEAN, MAX, MIN, SOFTMAX, LOGSOFTMAX, RESHAPE, TRANSPOSE, GETITEM, CONCAT,
       MATMUL, LINEAR, MSE, XENT)
ALL = ALL + (CONV, MAXPOOL, AVGPOOL, EMBEDDING, LAYERNORM, GROUPNORM, BATCHNORM, GELU, SILU, INPROJ)
ALL = ALL + (EXPAND, REPEAT, CLONE, PROD, LOGSUMEXP, NORM, CUMSUM, WHERE, GATHER, FLOOR, CEIL, ROUND, SIGN)
ALL = ALL + (SIN, COS, LOG1P, EXPM1, LOG2, LOG10, EXP2, RSQRT, RECIPROCAL, ERF, MAXIMUM, MINIMUM, ATAN2)
ALL = ALL + (L1, HUBER, SMOOTHL1, BCE, BCELOGITS, NLL)
ALL = ALL + (LEAKYRELU, ELU, SOFTPLUS, HARDTANH, LOGSIGMOID, MISH, SOFTSIGN)
ALL = ALL + (HOOKPOINT, SCATTERBACK)
ALL = ALL + (SORT, TOPK, DIAGONAL, DIAG, TRIL, TRIU, EINSUM)
ALL = ALL + (FLOORDIV, TRUNCDIV, REMAINDER, FMOD, MAXUNPOOL, SVDVALS, UNFOLD, FOLD)
ALL = ALL + (INDEXADD, INDEXCOPY)
ALL = ALL + _MORE
ALL = ALL + _SPECIAL + _LINALG + _DECOMP + _SCATTER + _REGION + _LU

__all__ = ["Op", "ALL", "Abs", "Add", "AddC", "Cast", "Clip", "Div", "DivC", "Exp", "Log", "Mul", "MulC", "Neg",
           "Pow", "PowC", "RDivC", "Relu", "RPowC", "RSubC", "Sigmoid", "Sqrt", "Sub", "SubC", "Tanh", "CrossEntropy",
           "Linear", "Matmul", "MSELoss", "Concat", "GetItem", "Reshape", "Transpose", "LogSoftmax", "Max", "Mean",
           "Softmax", "Sum", "ADD", "SUB", "MUL", "DIV", "POW", "ADDC", "SUBC", "MULC", "DIVC", "RSUBC", "RDIVC",
           "POWC", "RPOWC", "NEG", "EXP", "LOG", "SQRT", "TANH", "SIGMOID", "RELU", "ABS", "CLIP", "CAST", "SUM",
           "MEAN", "MAX", "SOFTMAX", "LOGSOFTMAX", "RESHAPE", "TRANSPOSE", "GETITEM", "CONCAT", "MATMUL", "LINEAR",
           "MSE", "XENT", "Min", "MIN"]
__all__ += ["Conv", "MaxPool", "AvgPool", "Embedding", "LayerNorm", "GroupNorm", "BatchNorm", "Gelu", "Silu", "InProj",
            "CONV", "MAXPOOL", "AVGPOOL", "EMBEDDING", "LAYERNORM", "GROUPNORM", "BATCHNORM", "GELU", "SILU", "INPROJ"]
__all__ += ["Expand", "Repeat", "Clone", "Prod", "LogSumExp", "Norm", "Cumsum", "Where", "Gather", "Floor", "Ceil",
            "Round", "Sign", "EXPAND", "REPEAT", "CLONE", "PROD", "LOGSUMEXP", "NORM", "CUMSUM", "WHERE", "GATHER",
            "FLOOR", "CEIL", "ROUND", "SIGN"]
__all__ += ["Sin", "Cos", "Log1p", "Expm1", "Log2", "Log10", "Exp2", "Rsqrt", "Reciprocal", "Erf", "Maximum", "Minimum",
            "Atan2", "SIN", "COS", "LOG1P", "EXPM1", "LOG2", "LOG10", "EXP2", "RSQRT", "RECIPROCAL", "ERF", "MAXIMUM",
            "MINIMUM", "ATAN2"]
__all__ += ["L1Loss", "HuberLoss", "SmoothL1Loss", "BCELoss", "BCEWithLogits", "NLLLoss", "L1", "HUBER", "SMOOTHL1",
            "BCE", "BCELOGITS", "NLL"]
__all__ += ["LeakyRelu", "Elu", "Softplus", "Hardtanh", "LogSigmoid", "Mish", "Softsign", "LEAKYRELU", "ELU",
            "SOFTPLUS", "HARDTANH", "LOGSIGMOID", "MISH", "SOFTSIGN"]
__all__ += ["HookPoint", "HOOKPOINT", "ScatterBack", "SCATTERBACK"]
__all__ += ["Sort", "TopK", "Diagonal", "DiagEmbed", "Tril", "Triu", "Einsum", "SORT", "TOPK", "DIAGONAL", "DIAG",
            "TRIL", "TRIU", "EINSUM"]
__all__ += ["FloorDivide", "TruncDivide", "Remainder", "Fmod", "FLOORDIV", "TRUNCDIV", "REMAINDER", "FMOD"]
__all__ += ["MaxUnpool", "MAXUNPOOL", "Svdvals", "SVDVALS", "Unfold", "UNFOLD", "Fold", "FOLD"]
__all__ += ["IndexAdd", "IndexCopy", "INDEXADD", "INDEXCOPY"]
__all__ += ["Region", "RegionWrite", "REGION", "REGIONWRITE"]
__all__ += ["TAN", "ATAN", "ASIN", "ACOS", "SINH", "COSH", "ASINH", "ACOSH", "ATANH", "ERFINV", "TRUNC", "HYPOT",
            "XLOGY", "CUMPROD", "LOGCUMSUMEXP"]
__all__ += ["Scatter", "ScatterAdd", "ScatterReduce", "IndexPut", "SCATTER", "SCATTERADD", "SCATTERREDUCE", "INDEXPUT"]
__all__ += ["getitem", "torch_order"]
