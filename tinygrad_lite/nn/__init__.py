"""Neural-network building blocks shaped like PyTorch's ``torch.nn``: Module and containers
(also keyed ones and parameter lists), Linear, convolutions (1-, 2- and 3-d, also
transposed), pooling, fold / unfold, resizing (Upsample), Embedding, normalisation layers,
Dropout (also of whole channels), attention, transformer layers, recurrent layers (RNN, LSTM, GRU and their cells),
activations and losses; ``tl.nn.functional`` (``F``), ``tl.nn.init`` and ``tl.nn.utils``.

Every layer gives per-sample gradients from the same ``backward()`` on a batched input
(BatchNorm in training mode aside: it mixes samples). Linear, Conv and Embedding weights
(and attention's projections) keep them factored, so their norms never build
``(B, *p.shape)`` arrays.
"""

from . import functional, functional_names, grad, init, utils  # noqa: F401 (functional_names: more F names)
from .activations import ELU, Hardtanh, LeakyReLU, LogSigmoid, Mish, ReLU6, Softplus, Softsign
from .activations_more import CELU, GLU, SELU, Hardsigmoid, Hardswish, PReLU, Softmin, Tanhshrink, Threshold
from .adaptive_softmax import AdaptiveLogSoftmaxWithLoss
from .attention import MultiheadAttention
from .bilinear import Bilinear
from .containers import ModuleDict, Parameter, ParameterDict, ParameterList, Unflatten
from .conv import Conv1d, Conv2d, Conv3d
from .convtranspose import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .ctc import CTCLoss
from .dropout import AlphaDropout, Dropout1d, Dropout2d, FeatureAlphaDropout
from .embedding_bag import EmbeddingBag
from .fold import Fold, Unfold
from .fractional3d import FractionalMaxPool3d
from .functional import cross_entropy, mse_loss
from .functional_extra import Dropout3d, FractionalMaxPool2d
from .functional_more import CosineSimilarity, PairwiseDistance
from .instancenorm import InstanceNorm1d, InstanceNorm2d, InstanceNorm3d
from .layers import (
    GELU,
    BatchNorm1d,
    BatchNorm2d,
    BatchNorm3d,
    Dropout,
    Embedding,
    GroupNorm,
    LayerNorm,
    LogSoftmax,
    MSELoss,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Tanh,
)
from .layers_extra import (
    ChannelShuffle,
    LocalResponseNorm,
    LPPool1d,
    LPPool2d,
    LPPool3d,
    RReLU,
    Softmax2d,
    UpsamplingBilinear2d,
    UpsamplingNearest2d,
)
from .layers_misc import CrossMapLRN2d, DataParallel, RNNBase, RNNCellBase
from .layers_more import Hardshrink, PixelShuffle, PixelUnshuffle, RMSNorm, Softshrink
from .lazy import (
    LazyBatchNorm1d,
    LazyBatchNorm2d,
    LazyBatchNorm3d,
    LazyConv1d,
    LazyConv2d,
    LazyConv3d,
    LazyConvTranspose1d,
    LazyConvTranspose2d,
    LazyConvTranspose3d,
    LazyInstanceNorm1d,
    LazyInstanceNorm2d,
    LazyInstanceNorm3d,
    LazyLinear,
)
from .linear_ce import LinearCrossEntropyLoss
from .losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, L1Loss, NLLLoss, SmoothL1Loss
from .losses_margin import (
    MultiLabelMarginLoss,
    MultiLabelSoftMarginLoss,
    MultiMarginLoss,
    TripletMarginWithDistanceLoss,
)
from .losses_more import (
    CosineEmbeddingLoss,
    GaussianNLLLoss,
    HingeEmbeddingLoss,
    KLDivLoss,
    MarginRankingLoss,
    PoissonNLLLoss,
    SoftMarginLoss,
    TripletMarginLoss,
)
from .module import Flatten, Identity, Linear, Module, ModuleList, Sequential
from .padding import (
    CircularPad1d,
    CircularPad2d,
    CircularPad3d,
    ConstantPad1d,
    ConstantPad2d,
    ConstantPad3d,
    ReflectionPad1d,
    ReflectionPad2d,
    ReflectionPad3d,
    ReplicationPad1d,
    ReplicationPad2d,
    ReplicationPad3d,
    ZeroPad1d,
    ZeroPad2d,
    ZeroPad3d,
)
from .parameters_more import Buffer, UninitializedBuffer, UninitializedParameter
from .pool_layers import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AdaptiveAvgPool3d,
    AdaptiveMaxPool1d,
    AdaptiveMaxPool2d,
    AdaptiveMaxPool3d,
    AvgPool1d,
    AvgPool2d,
    AvgPool3d,
    MaxPool1d,
    MaxPool2d,
    MaxPool3d,
    MaxUnpool1d,
    MaxUnpool2d,
    MaxUnpool3d,
)
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from .resample import Upsample
from .syncbatchnorm import SyncBatchNorm
from .transformer import (
    Transformer,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)

__all__ = ["Module", "Linear", "Sequential", "ModuleList", "Identity", "Flatten", "ReLU", "Tanh", "Sigmoid", "GELU",
           "SiLU", "Softmax", "LogSoftmax", "Dropout", "MSELoss", "CrossEntropyLoss", "Embedding", "LayerNorm",
           "GroupNorm", "BatchNorm1d", "BatchNorm2d", "Conv1d", "Conv2d", "MaxPool2d", "AvgPool2d",
           "MultiheadAttention", "ModuleDict", "Parameter", "ParameterDict", "ParameterList",
           "Unflatten", "mse_loss", "cross_entropy", "functional", "init", "utils", "NLLLoss", "BCELoss",
           "BCEWithLogitsLoss", "L1Loss", "HuberLoss", "SmoothL1Loss", "LeakyReLU", "ELU", "Softplus", "Hardtanh",
           "ReLU6", "LogSigmoid", "Mish", "Softsign", "MaxPool1d", "AvgPool1d", "MaxUnpool1d", "MaxUnpool2d",
           "AdaptiveAvgPool1d",
           "AdaptiveAvgPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "SELU", "CELU", "Hardsigmoid", "Hardswish",
           "Softmin", "GLU", "Threshold", "PReLU", "Tanhshrink", "RNN", "LSTM", "GRU", "RNNCell",
           "LSTMCell", "GRUCell", "ConvTranspose1d", "ConvTranspose2d",
           "Dropout1d", "Dropout2d", "Upsample", "TransformerEncoderLayer", "TransformerEncoder", "Transformer",
           "TransformerDecoderLayer", "TransformerDecoder", "ConstantPad1d", "ConstantPad2d", "ZeroPad1d", "ZeroPad2d",
           "ReflectionPad1d", "ReflectionPad2d", "ReplicationPad1d", "ReplicationPad2d", "CircularPad1d",
           "CircularPad2d", "CosineSimilarity", "PairwiseDistance", "KLDivLoss", "SoftMarginLoss", "MarginRankingLoss",
           "HingeEmbeddingLoss", "CosineEmbeddingLoss", "TripletMarginLoss", "PoissonNLLLoss", "GaussianNLLLoss"]
__all__ += ["InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"]
__all__ += ["BatchNorm3d", "RMSNorm", "Hardshrink", "Softshrink", "PixelShuffle", "PixelUnshuffle"]
__all__ += ["Conv3d", "ConvTranspose3d", "MaxPool3d", "AvgPool3d", "MaxUnpool3d", "AdaptiveAvgPool3d",
            "AdaptiveMaxPool3d", "Fold", "Unfold"]
__all__ += ["AlphaDropout", "FeatureAlphaDropout", "Bilinear"]
__all__ += ["MultiMarginLoss", "MultiLabelMarginLoss", "MultiLabelSoftMarginLoss", "TripletMarginWithDistanceLoss",
            "LPPool1d", "LPPool2d", "LPPool3d", "LocalResponseNorm", "RReLU", "Softmax2d", "ChannelShuffle",
            "UpsamplingNearest2d", "UpsamplingBilinear2d", "ZeroPad3d", "ConstantPad3d", "ReflectionPad3d",
            "ReplicationPad3d", "CircularPad3d", "EmbeddingBag", "CTCLoss"]
__all__ += ["Dropout3d", "FractionalMaxPool2d"]
__all__ += ["SyncBatchNorm"]
__all__ += ["LinearCrossEntropyLoss"]
__all__ += ["LazyLinear", "LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d",
            "LazyConvTranspose3d", "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d", "LazyInstanceNorm1d",
            "LazyInstanceNorm2d", "LazyInstanceNorm3d"]
__all__ += ["DataParallel", "Buffer", "UninitializedParameter", "UninitializedBuffer", "RNNBase", "RNNCellBase",
            "AdaptiveLogSoftmaxWithLoss", "FractionalMaxPool3d", "CrossMapLRN2d", "grad"]
