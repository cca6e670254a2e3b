"""Model registry: ``build_model("bisenet", in_channels=1)``."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

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


def build_from_config(model_cfg: Mapping[str, Any], pretrained: bool = False) -> nn.Module:
    """The model a config's ``model`` section describes (a :class:`fetalseg.config.ModelConfig`
    as a dict, as stored in checkpoints). ``context`` is passed only when set to something other
    than ResNet-18, so configs written before it existed, and other models, build as before.
    ``pretrained`` (training only; checkpoints carry every weight) loads ImageNet weights."""
    kwargs: dict[str, Any] = {"in_channels": int(model_cfg.get("in_channels", 1))}
    context = model_cfg.get("context", "resnet18")
    if context != "resnet18":
        kwargs["context"] = context
    if pretrained:
        kwargs["pretrained"] = True
    name = str(model_cfg.get("name", "bisenet"))
    if name.lower() != "bisenet" and len(kwargs) > 1:
        raise ValueError(f"model {name!r} has no pluggable context path or pretrained weights")
    return build_model(name, **kwargs)


def has_coarse_logits(model: nn.Module) -> bool:
    """Whether ``model(x, full_size=False)`` returns its logits before a final upsampling
    (BiSeNet: 1/8 of the input); inference then interpolates once, to the size it needs."""
    return "full_size" in inspect.signature(model.forward).parameters


__all__ = ["MODELS", "BiSeNet", "UNet", "build_from_config", "build_model", "has_coarse_logits"]
