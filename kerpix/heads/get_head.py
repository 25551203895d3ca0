from kerpix.heads.bernoulli_head import BernoulliHead
from kerpix.heads.categorical_head import CategoricalHead
from kerpix.heads.discretized_logistic_mixture_head import (
    DiscretizedLogisticMixtureHead,
)

HEADS = {
    "bernoulli": BernoulliHead,
    "categorical": CategoricalHead,
    "logistic_mixture": DiscretizedLogisticMixtureHead,
}


def get_head(head, num_channels, num_levels):
    """Build a head from its name; `"auto"` is Bernoulli for 2 levels,
    categorical otherwise.

    Args:
        head: `"auto"`, `"categorical"`, `"bernoulli"`,
            `"logistic_mixture"` (10 components) or a `PixelHead`.
        num_channels: int. Colour channels of the image.
        num_levels: int. Values per sub-pixel.
    """
    if head == "auto":
        head = "bernoulli" if num_levels == 2 else "categorical"
    if not isinstance(head, str):
        return head
    if head not in HEADS:
        raise ValueError(
            "Invalid value for argument `head`. Expected one of "
            f"{sorted(HEADS) + ['auto']}. Received: head={head!r}"
        )
    if head == "bernoulli":
        if num_levels != 2:
            raise ValueError(
                'Invalid value for argument `head`. head="bernoulli" models '
                'binary images; use num_levels=2 or head="categorical". '
                f"Received: num_levels={num_levels}"
            )
        return BernoulliHead(num_channels=num_channels)
    return HEADS[head](num_channels=num_channels, num_levels=num_levels)
