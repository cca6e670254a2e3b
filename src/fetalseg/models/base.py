"""The contract every segmentation network follows, and the registry that names them.

A network is a :class:`SegmentationNet` subclass registered with :func:`register_model`; adding a
model is one file with one registered class (plus its test), nothing else. What the rest of the
package relies on, and nothing more:

* ``in_channels`` (1 grey or 3), ``output_stride``: input ``H`` and ``W`` must be multiples of it
  (:meth:`SegmentationNet.check_input` says so, in one place); ``logit_stride``: the stride of the
  logits :meth:`~SegmentationNet.inference_logits` returns (1 = input size; BiSeNet: 8);
* ``model(x)`` with ``x`` ``(N, in_channels, H, W)``: in eval mode the logits ``(N, 1, H, W)``
  (head where > 0); in training mode a :class:`TrainOutputs` (the same logits plus auxiliary
  logits for deep supervision, each ``(N, 1, H, W)``), which the losses take;
* ``training_only``: the top-level submodules used only in training mode (auxiliary heads): their
  tensors are neither shipped nor counted as inference parameters;
* :meth:`~SegmentationNet.inference_logits`: the graph the runtimes and the ONNX export run.

Patterned on ``segmentation_models.pytorch`` (a base model declaring its input rules) and timm
(``@register_model``, ``create_model``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import torch
import torch.nn.functional as F
from torch import nn

from fetalseg.config import ModelConfig


@dataclass(frozen=True)
class TrainOutputs:
    """What a :class:`SegmentationNet` returns in training mode.

    ``logits``: the main logits ``(N, 1, H, W)``; ``aux``: auxiliary logits for deep
    supervision, each ``(N, 1, H, W)`` (empty for a model without auxiliary heads). Only
    ``logits`` exists at inference.
    """

    logits: torch.Tensor
    aux: tuple[torch.Tensor, ...] = ()


class SegmentationNet(nn.Module):
    """Base class of the binary (head / background) segmentation networks.

    Subclasses set the class attributes and implement :meth:`compute`; ``forward`` is here and
    is the same for every model: check the input, compute, upsample the logits (bilinear,
    half-pixel centres, as :func:`fetalseg.data.preprocess.full_size_logits` does at inference)
    from ``logit_stride`` to the input size.
    """

    #: the registered name (set by :func:`register_model`)
    name: ClassVar[str] = ""
    #: input height and width must be multiples of this
    output_stride: ClassVar[int] = 1
    #: stride of the logits :meth:`compute` returns (and :meth:`inference_logits`)
    logit_stride: ClassVar[int] = 1
    #: names of the top-level submodules used only in training mode (auxiliary heads)
    training_only: ClassVar[tuple[str, ...]] = ()
    #: :class:`fetalseg.config.ModelConfig` fields, besides ``in_channels``, that this model
    #: takes as constructor keywords (``"pretrained"`` here: it can load pretrained weights)
    config_options: ClassVar[tuple[str, ...]] = ()

    def __init__(self, in_channels: int = 1) -> None:
        super().__init__()
        self.in_channels = in_channels

    def compute(self, x: torch.Tensor) -> TrainOutputs:
        """The network proper, on a checked input: logits ``(N, 1, H/s, W/s)`` with ``s =
        logit_stride``, and in training mode the auxiliary logits at any stride (upsampled to the
        input size by ``forward``); in eval mode ``aux`` must be empty."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor | TrainOutputs:
        """``(N, in_channels, H, W)`` -> logits ``(N, 1, H, W)`` (eval) or :class:`TrainOutputs`
        (training)."""
        self.check_input(x)
        out = self.compute(x)
        size = x.shape[-2:]
        logits = out.logits if self.logit_stride == 1 else _upsample(out.logits, size)
        if not self.training:
            return logits
        return TrainOutputs(logits, tuple(_upsample(a, size) for a in out.aux))

    def inference_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Eval mode only: the logits before the final upsampling, ``(N, 1, H / logit_stride,
        W / logit_stride)``. Exported graphs and the runtimes stop here; the caller interpolates
        once, straight to the size it needs (one interpolation instead of two)."""
        if self.training:
            raise ValueError("inference_logits is for inference: call model.eval() first")
        self.check_input(x)
        return self.compute(x).logits

    def check_input(self, x: torch.Tensor) -> None:
        """Raise a clear ``ValueError`` for inputs the network cannot take: not ``(N,
        in_channels, H, W)``; ``H`` or ``W`` not a multiple of ``output_stride`` (the prediction
        would be misaligned); in training mode a batch of 1 (BatchNorm has no variance)."""
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"{self.name}: expected input of shape (N, {self.in_channels}, H, W), "
                f"got {tuple(x.shape)}"
            )
        h, w = x.shape[-2:]
        s = self.output_stride
        if h % s or w % s:
            raise ValueError(
                f"{self.name}: input size {w}x{h} (W x H) must be a multiple of {s}; "
                f"resize or pad, e.g. to {-(-w // s) * s}x{-(-h // s) * s}"
            )
        if self.training and x.shape[0] < 2:
            raise ValueError(
                f"{self.name}: training needs a batch of at least 2 (BatchNorm); "
                "drop the last incomplete batch"
            )

    @classmethod
    def is_training_only(cls, key: str) -> bool:
        """Whether a parameter or state-dict key belongs to a training-only submodule."""
        return key.split(".")[0] in cls.training_only

    @classmethod
    def from_config(cls, model_cfg: Mapping[str, Any], pretrained: bool = False) -> SegmentationNet:
        """The model a config's ``model`` section describes (a :class:`~fetalseg.config.
        ModelConfig` as a dict, as stored in checkpoints). A field left at its default is
        ignored by a model that does not take it; set to anything else it is refused
        (``ValueError``). ``pretrained`` (training only: checkpoints carry every weight)."""
        defaults = dataclasses.asdict(ModelConfig())
        kwargs: dict[str, Any] = {"in_channels": int(model_cfg.get("in_channels", 1))}
        for key, value in model_cfg.items():
            if key in ("name", "in_channels", "pretrained"):
                continue
            if key in cls.config_options:
                kwargs[key] = value
            elif key not in defaults or value != defaults[key]:
                raise ValueError(f"model {cls.name!r} has no option {key}={value!r}")
        if pretrained:
            if "pretrained" not in cls.config_options:
                raise ValueError(f"model {cls.name!r} has no pretrained weights")
            kwargs["pretrained"] = True
        return cls(**kwargs)


def _upsample(x: torch.Tensor, size: torch.Size) -> torch.Tensor:
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


#: name -> class, filled by :func:`register_model` (names are lower case).
MODELS: dict[str, type[SegmentationNet]] = {}

N = TypeVar("N", bound=type[SegmentationNet])


def register_model(name: str) -> Callable[[N], N]:
    """Class decorator: register a :class:`SegmentationNet` subclass under ``name``."""

    def register(cls: N) -> N:
        key = name.lower()
        if not issubclass(cls, SegmentationNet):
            raise TypeError(f"{cls.__name__} is not a SegmentationNet")
        if key in MODELS and MODELS[key] is not cls:
            raise ValueError(f"model name {key!r} is already registered by {MODELS[key]}")
        cls.name = key
        MODELS[key] = cls
        return cls

    return register


def model_class(name: str) -> type[SegmentationNet]:
    """The registered class called ``name`` (case-insensitive); an unknown name raises
    ``ValueError`` listing the valid ones."""
    try:
        return MODELS[name.lower()]
    except KeyError:
        raise ValueError(
            f"unknown model {name!r}; valid names: {', '.join(sorted(MODELS))}"
        ) from None


def create_model(name: str, **kwargs: Any) -> SegmentationNet:
    """Instantiate the registered model ``name`` with constructor keywords ``kwargs``."""
    return model_class(name)(**kwargs)


def create_model_from_config(
    model_cfg: Mapping[str, Any], pretrained: bool = False
) -> SegmentationNet:
    """:meth:`SegmentationNet.from_config` of the class the config's ``name`` registers."""
    return model_class(str(model_cfg.get("name", "bisenet"))).from_config(model_cfg, pretrained)
