"""``tl.distributions``: probability distributions with torch.distributions' names, arguments,
shapes and semantics, built on Tensors so that ``log_prob``, ``entropy``, ``rsample`` and
``kl_divergence`` differentiate back to the parameters (VAEs, policy gradients, Bayesian
models). Draws come from the library's default generator (``tl.manual_seed`` governs them).

This package keeps the distribution classes (``distribution.py``: the base class and shared
helpers; ``continuous.py``; ``gamma.py``; ``discrete.py``; ``multivariate.py``;
``transformed.py``: TransformedDistribution and the distributions built on it, with more in
``transformed_more.py``; ``mixture.py``; ``discrete_more.py``, ``continuous_more.py`` (with the
SoftplusTransform) and ``exp_family.py``: ExponentialFamily, ContinuousBernoulli and their KL rules),
the transforms with the biject_to / transform_to registries (``transforms.py``, over
``transform_base.py``, ``transform_more.py`` and ``transform_blocks.py``), the
constraints (``constraints.py``) and the KL registry (``kl.py``); it touches nothing else.
"""

from . import constraints, transforms
from .continuous import Cauchy, Exponential, Laplace, Normal, Uniform
from .continuous_more import FisherSnedecor, GeneralizedPareto, InverseGamma, SoftplusTransform
from .discrete import Bernoulli, Binomial, Categorical, Geometric, OneHotCategorical, Poisson
from .discrete_more import Multinomial, NegativeBinomial, OneHotCategoricalStraightThrough
from .distribution import Distribution
from .exp_family import ContinuousBernoulli, ExponentialFamily
from .gamma import Beta, Chi2, Dirichlet, Gamma, StudentT
from .kl import kl_divergence, register_kl
from .mixture import LowRankMultivariateNormal, MixtureSameFamily, VonMises
from .multivariate import Independent, MultivariateNormal
from .transformed import (
                          ExpRelaxedCategorical,
                          Kumaraswamy,
                          LogitRelaxedBernoulli,
                          Pareto,
                          RelaxedBernoulli,
                          RelaxedOneHotCategorical,
                          TransformedDistribution,
                          Weibull,
)
from .transformed_more import Gumbel, HalfCauchy, HalfNormal, LogisticNormal, LogNormal
from .transforms import (
                          AbsTransform,
                          AffineTransform,
                          CatTransform,
                          ComposeTransform,
                          CumulativeDistributionTransform,
                          ExpTransform,
                          IndependentTransform,
                          LowerCholeskyTransform,
                          PowerTransform,
                          ReshapeTransform,
                          SigmoidTransform,
                          SoftmaxTransform,
                          StackTransform,
                          StickBreakingTransform,
                          TanhTransform,
                          Transform,
                          biject_to,
                          identity_transform,
                          transform_to,
)

__all__ = ["Distribution", "Normal", "Uniform", "Bernoulli", "Categorical", "OneHotCategorical", "Binomial",
           "Exponential", "Laplace", "Beta", "Gamma", "Chi2", "Dirichlet", "Poisson", "Geometric", "LogNormal",
           "MultivariateNormal", "Independent", "StudentT", "Cauchy", "Gumbel", "HalfNormal", "kl_divergence",
           "register_kl", "constraints",
           "transforms", "Transform", "ExpTransform", "AffineTransform", "SigmoidTransform", "TanhTransform",
           "PowerTransform", "SoftmaxTransform", "StickBreakingTransform", "ComposeTransform", "AbsTransform",
           "LowerCholeskyTransform", "IndependentTransform", "identity_transform", "biject_to", "transform_to",
           "TransformedDistribution", "Weibull", "Pareto", "Kumaraswamy", "LogitRelaxedBernoulli", "RelaxedBernoulli",
           "ExpRelaxedCategorical", "RelaxedOneHotCategorical", "MixtureSameFamily", "LowRankMultivariateNormal",
           "VonMises", "HalfCauchy", "LogisticNormal", "CatTransform", "StackTransform", "ReshapeTransform",
           "CumulativeDistributionTransform", "Multinomial", "NegativeBinomial", "ContinuousBernoulli",
           "FisherSnedecor", "InverseGamma", "GeneralizedPareto", "OneHotCategoricalStraightThrough",
           "SoftplusTransform", "ExponentialFamily"]

transforms.SoftplusTransform = SoftplusTransform  # (defined in continuous_more.py; also reachable as transforms.*)
