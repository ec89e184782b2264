"""``tl.distributions``: probability distributions with torch.distributions' names, arguments,
shapes and semantics, built on Tensors so that ``log_prob``, ``entropy``, ``rsample`` and
``kl_divergence`` differentiate back to the parameters (VAEs, policy gradients, Bayesian
models). Draws come from the library's default generator (``tl.manual_seed`` governs them).

This package keeps the distribution classes (``distribution.py``: the base class and shared
helpers; ``continuous.py``; ``gamma.py``; ``discrete.py``; ``multivariate.py``), the
constraints (``constraints.py``) and the KL registry (``kl.py``); it touches nothing else.
"""

from . import constraints
from .continuous import Cauchy, Exponential, Gumbel, HalfNormal, Laplace, LogNormal, Normal, Uniform
from .discrete import Bernoulli, Binomial, Categorical, Geometric, OneHotCategorical, Poisson
from .distribution import Distribution
from .gamma import Beta, Chi2, Dirichlet, Gamma, StudentT
from .kl import kl_divergence, register_kl
from .multivariate import Independent, MultivariateNormal

__all__ = ["Distribution", "Normal", "Uniform", "Bernoulli", "Categorical", "OneHotCategorical", "Binomial",
           "Exponential", "Laplace", "Beta", "Gamma", "Chi2", "Dirichlet", "Poisson", "Geometric", "LogNormal",
           "MultivariateNormal", "Independent", "StudentT", "Cauchy", "Gumbel", "HalfNormal", "kl_divergence",
           "register_kl", "constraints"]
