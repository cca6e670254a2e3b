"""Parameter counts and multiply-accumulates (MACs), as the reference counts them.

``torch.utils.flop_counter`` counts FLOPs of convolutions and matrix products, 2 per MAC; BN,
activations and interpolation are not counted (nor are they by the usual MAC counters).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from fetalseg.models import SegmentationNet, create_model

#: The reference's resolution study, (W, H).
REFERENCE_SIZES: tuple[tuple[int, int], ...] = ((512, 384), (384, 256), (256, 160), (128, 64))

#: Reference values at 384x256 (M parameters, GMACs).
REFERENCE = {"bisenet": (11.67, 4.50), "unet": (8.23, 24.68)}


@dataclass(frozen=True)
class Profile:
    model: str
    width: int
    height: int
    params_m: float  # inference parameters, millions (training-only auxiliary heads excluded)
    gmacs: float


def inference_params(model: SegmentationNet) -> int:
    """Parameters used at inference: the model's ``training_only`` heads are left out."""
    params = model.named_parameters()
    return sum(p.numel() for name, p in params if not model.is_training_only(name))


@torch.no_grad()
def count_macs(model: nn.Module, width: int, height: int, in_channels: int = 1) -> int:
    """MACs of one ``(1, in_channels, height, width)`` forward pass in eval mode."""
    model.eval()
    with FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, in_channels, height, width))
    return counter.get_total_flops() // 2


#: Profiled variants: label -> (model name, extra constructor arguments).
VARIANTS: dict[str, tuple[str, dict[str, str]]] = {
    "bisenet": ("bisenet", {}),
    "bisenet/efficientnet_lite0": ("bisenet", {"context": "efficientnet_lite0"}),
    "unet": ("unet", {}),
}


def profile_models(
    names: tuple[str, ...] = tuple(VARIANTS),
    sizes: tuple[tuple[int, int], ...] = REFERENCE_SIZES,
    in_channels: int = 1,
) -> list[Profile]:
    """One row per variant (a key of :data:`VARIANTS` or of the model registry) and size."""
    rows = []
    for label in names:
        name, kwargs = VARIANTS.get(label, (label, {}))
        model = create_model(name, in_channels=in_channels, **kwargs)
        params = inference_params(model) / 1e6
        for w, h in sizes:
            rows.append(Profile(label, w, h, params, count_macs(model, w, h, in_channels) / 1e9))
    return rows


def format_table(rows: list[Profile]) -> str:
    """A Markdown table, with the reference's values beside ours at 384x256."""
    lines = [
        "| model | input (W x H) | params (M) | GMACs | reference params (M) | reference GMACs |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        ref = REFERENCE.get(r.model) if (r.width, r.height) == (384, 256) else None
        ref_p, ref_g = (f"{ref[0]:.2f}", f"{ref[1]:.2f}") if ref else ("", "")
        cells = [
            r.model,
            f"{r.width}x{r.height}",
            f"{r.params_m:.2f}",
            f"{r.gmacs:.2f}",
            ref_p,
            ref_g,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
