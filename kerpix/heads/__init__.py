"""Pixel distributions: `call(features) -> params`, `log_prob`, `sample`."""

from kerpix.heads.bernoulli_head import BernoulliHead
from kerpix.heads.categorical_head import CategoricalHead
from kerpix.heads.discretized_logistic_mixture_head import (
    DiscretizedLogisticMixtureHead,
)
from kerpix.heads.discretized_logistic_mixture_head import (
    discretized_logistic_log_prob,
)
from kerpix.heads.get_head import get_head
from kerpix.heads.mcgsm_head import MCGSMHead
from kerpix.heads.pixel_head import PixelHead
