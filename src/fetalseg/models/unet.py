"""U-Net baseline (Ronneberger et al., MICCAI 2015), with padding so output size = input size.

Sized to the reference's baseline (8.23 M parameters, 24.68 GMACs at 384x256): see
``docs/models.md`` for the width chosen and why.
"""

from __future__ import annotations

import itertools

import torch
from torch import nn

from fetalseg.models.base import SegmentationNet, TrainOutputs, register_model
from fetalseg.models.layers import ConvBNReLU, kaiming_init


class DoubleConv(nn.Sequential):
    """Two 3x3 conv-BN-ReLU: the unit of every U-Net level."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(
            ConvBNReLU(in_channels, out_channels), ConvBNReLU(out_channels, out_channels)
        )


class Down(nn.Sequential):
    """2x2 max-pool, then :class:`DoubleConv`."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(nn.MaxPool2d(2), DoubleConv(in_channels, out_channels))


class Up(nn.Module):
    """Upsample x2 halving the channels, concatenate the skip, :class:`DoubleConv`.

    ``mode="bilinear"``: bilinear x2 then 3x3 conv-BN-ReLU (the default, closest to the
    reference's compute); ``mode="transpose"``: a 2x2 stride-2 transposed convolution.
    """

    def __init__(
        self, in_channels: int, skip_channels: int, out_channels: int, mode: str = "bilinear"
    ) -> None:
        super().__init__()
        half = in_channels // 2
        if mode == "bilinear":
            self.up: nn.Module = nn.Sequential(
                nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                ConvBNReLU(in_channels, half),
            )
        elif mode == "transpose":
            self.up = nn.ConvTranspose2d(in_channels, half, 2, stride=2)
        else:
            raise ValueError(f"upsampling mode must be 'bilinear' or 'transpose', got {mode!r}")
        self.conv = DoubleConv(half + skip_channels, out_channels)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.conv(torch.cat([skip, self.up(x)], dim=1))


@register_model("unet")
class UNet(SegmentationNet):
    """Four down- and four up-sampling levels, widths ``base * (1, 2, 4, 8, 16)``.

    ``model(x)``: ``(N, in_channels, H, W) -> (N, 1, H, W)`` logits; ``H``, ``W`` multiples of
    16 (four 2x2 poolings). No auxiliary heads: in training mode ``aux`` is empty.
    """

    output_stride = 16

    def __init__(
        self, in_channels: int = 1, base_width: int = 32, upsampling: str = "bilinear"
    ) -> None:
        super().__init__(in_channels)
        widths = [base_width * 2**i for i in range(5)]
        self.stem = DoubleConv(in_channels, widths[0])
        self.downs = nn.ModuleList(Down(a, b) for a, b in itertools.pairwise(widths))
        self.ups = nn.ModuleList(
            Up(deep, skip, skip, upsampling) for deep, skip in zip(widths[:0:-1], widths[-2::-1])
        )
        self.head = nn.Conv2d(widths[0], 1, 1)
        assert 2 ** len(self.downs) == self.output_stride
        kaiming_init(self)

    def compute(self, x: torch.Tensor) -> TrainOutputs:
        skips = [self.stem(x)]
        for down in self.downs:
            skips.append(down(skips[-1]))
        x = skips.pop()
        for up in self.ups:
            x = up(x, skips.pop())
        return TrainOutputs(self.head(x))
