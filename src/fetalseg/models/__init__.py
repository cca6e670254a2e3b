"""Model registry: ``build_model("bisenet", in_channels=1)``."""

from __future__ import annotations

import inspect
from collections.abc import Callable

from torch import nn

from fetalseg.models.bisenet import BiSeNet
from fetalseg.models.unet import UNet

MODELS: dict[str, Callable[..., nn.Module]] = {"bisenet": BiSeNet, "unet": UNet}


def build_model(name: str, **kwargs) -> nn.Module:
    """Instantiate a registered model; an unknown name raises ``ValueError`` listing valid ones."""
    try:
        factory = MODELS[name.lower()]
    except KeyError:
        raise ValueError(
            f"unknown model {name!r}; valid names: {', '.join(sorted(MODELS))}"
        ) from None
    return factory(**kwargs)


def has_coarse_logits(model: nn.Module) -> bool:
    """Whether ``model(x, full_size=False)`` returns its logits before a final upsampling
    (BiSeNet: 1/8 of the input); inference then interpolates once, to the size it needs."""
    return "full_size" in inspect.signature(model.forward).parameters


__all__ = ["MODELS", "BiSeNet", "UNet", "build_model", "has_coarse_logits"]
