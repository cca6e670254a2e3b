"""DDRNet-23-slim (Hong et al., "Deep Dual-resolution Networks for Real-time and Accurate
Semantic Segmentation of Road Scenes", 2021), written after the authors' reference code
(github.com/ydhongHIT/DDRNet, ``DDRNet_23_slim.py``: ``DualResNet(BasicBlock, [2, 2, 2, 2],
planes=32, spp_planes=128, head_planes=64)``), for timing only: random weights, one input
channel, one output class, logits at 1/8 of the input as the reference's inference head.

It is the fastest real-time peer in issue 19's interleaved run (1.70 GMACs at 384x256); used by
``scripts/bench_peers.py``. Not part of the package: a peer, not a fetalseg model.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, momentum=0.1)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin: int, planes: int, stride: int = 1, down=None, no_relu=False) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = _bn(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = _bn(planes)
        self.down, self.no_relu = down, no_relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out = out + (x if self.down is None else self.down(x))
        return out if self.no_relu else F.relu(out)


class Bottleneck(nn.Module):
    expansion = 2

    def __init__(self, cin: int, planes: int, stride: int = 1, down=None, no_relu=True) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin, planes, 1, bias=False),
            _bn(planes),
            nn.ReLU(),
            nn.Conv2d(planes, planes, 3, stride, 1, bias=False),
            _bn(planes),
            nn.ReLU(),
            nn.Conv2d(planes, planes * 2, 1, bias=False),
            _bn(planes * 2),
        )
        self.down, self.no_relu = down, no_relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x) + (x if self.down is None else self.down(x))
        return out if self.no_relu else F.relu(out)


def _layer(block, cin: int, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
    down = None
    if stride != 1 or cin != planes * block.expansion:
        down = nn.Sequential(
            nn.Conv2d(cin, planes * block.expansion, 1, stride, bias=False),
            _bn(planes * block.expansion),
        )
    layers = [block(cin, planes, stride, down)]
    for i in range(1, blocks):
        layers.append(block(planes * block.expansion, planes, no_relu=i == blocks - 1))
    return nn.Sequential(*layers)


def _bn_relu_conv(cin: int, cout: int, k: int, pool: nn.Module | None = None) -> nn.Sequential:
    parts = [pool] if pool is not None else []
    return nn.Sequential(
        *parts, _bn(cin), nn.ReLU(), nn.Conv2d(cin, cout, k, 1, k // 2, bias=False)
    )


class DAPPM(nn.Module):
    """Deep Aggregation Pyramid Pooling Module: pooled branches fused hierarchically."""

    def __init__(self, cin: int, branch: int, cout: int) -> None:
        super().__init__()
        pools = [
            nn.AvgPool2d(5, 2, 2),
            nn.AvgPool2d(9, 4, 4),
            nn.AvgPool2d(17, 8, 8),
            nn.AdaptiveAvgPool2d(1),
        ]
        self.scale0 = _bn_relu_conv(cin, branch, 1)
        self.scales = nn.ModuleList(_bn_relu_conv(cin, branch, 1, p) for p in pools)
        self.process = nn.ModuleList(_bn_relu_conv(branch, branch, 3) for _ in pools)
        self.compression = _bn_relu_conv(branch * 5, cout, 1)
        self.shortcut = _bn_relu_conv(cin, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        outs = [self.scale0(x)]
        for scale, process in zip(self.scales, self.process):
            up = F.interpolate(scale(x), size=size, mode="bilinear", align_corners=False)
            outs.append(process(up + outs[-1]))
        return self.compression(torch.cat(outs, 1)) + self.shortcut(x)


class DDRNet23Slim(nn.Module):
    """``(N, in_channels, H, W)`` → logits ``(N, classes, H/8, W/8)``; H, W multiples of 64."""

    def __init__(self, in_channels: int = 1, classes: int = 1, planes: int = 32) -> None:
        super().__init__()
        high = planes * 2
        self.conv1 = nn.Sequential(
            nn.Conv2d(in_channels, planes, 3, 2, 1),
            _bn(planes),
            nn.ReLU(),
            nn.Conv2d(planes, planes, 3, 2, 1),
            _bn(planes),
            nn.ReLU(),
        )
        self.layer1 = _layer(BasicBlock, planes, planes, 2)
        self.layer2 = _layer(BasicBlock, planes, planes * 2, 2, 2)
        self.layer3 = _layer(BasicBlock, planes * 2, planes * 4, 2, 2)
        self.layer4 = _layer(BasicBlock, planes * 4, planes * 8, 2, 2)
        self.compression3 = nn.Sequential(nn.Conv2d(planes * 4, high, 1, bias=False), _bn(high))
        self.compression4 = nn.Sequential(nn.Conv2d(planes * 8, high, 1, bias=False), _bn(high))
        self.down3 = nn.Sequential(
            nn.Conv2d(high, planes * 4, 3, 2, 1, bias=False), _bn(planes * 4)
        )
        self.down4 = nn.Sequential(
            nn.Conv2d(high, planes * 4, 3, 2, 1, bias=False),
            _bn(planes * 4),
            nn.ReLU(),
            nn.Conv2d(planes * 4, planes * 8, 3, 2, 1, bias=False),
            _bn(planes * 8),
        )
        self.layer3_ = _layer(BasicBlock, planes * 2, high, 2)
        self.layer4_ = _layer(BasicBlock, high, high, 2)
        self.layer5_ = _layer(Bottleneck, high, high, 1)
        self.layer5 = _layer(Bottleneck, planes * 8, planes * 8, 1, 2)
        self.spp = DAPPM(planes * 16, 128, planes * 4)
        self.head = nn.Sequential(
            _bn(planes * 4),
            nn.ReLU(),
            nn.Conv2d(planes * 4, 64, 3, 1, 1, bias=False),
            _bn(64),
            nn.ReLU(),
            nn.Conv2d(64, classes, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size8 = (x.shape[-2] // 8, x.shape[-1] // 8)

        def up(t: torch.Tensor) -> torch.Tensor:
            return F.interpolate(t, size=size8, mode="bilinear", align_corners=False)

        x1 = self.layer1(self.conv1(x))
        x2 = self.layer2(F.relu(x1))
        x3 = self.layer3(F.relu(x2))
        hi = self.layer3_(F.relu(x2))
        lo = x3 + self.down3(F.relu(hi))
        hi = hi + up(self.compression3(F.relu(x3)))
        x4 = self.layer4(F.relu(lo))
        hi = self.layer4_(F.relu(hi))
        lo = x4 + self.down4(F.relu(hi))
        hi = hi + up(self.compression4(F.relu(x4)))
        hi = self.layer5_(F.relu(hi))
        lo = up(self.spp(self.layer5(F.relu(lo))))
        return self.head(lo + hi)
