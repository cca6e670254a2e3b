"""Latency of lighter BiSeNet / EfficientNet-Lite0 variants against DDRNet-23-slim, interleaved.

The variants narrow the spatial path (16/32/64 instead of 32/64/128) and the fusion width
(64 instead of 128); their new layers have random weights, the context path takes a trained
checkpoint's (random ones give constant activations the int8 calibration cannot bin; latency
does not depend on the values). Not trainable variants yet: a latency study only.

    python scripts/bench_lite0_variants.py --checkpoint runs/effl0_robust_s0/last.pt \\
        --data ../shared/hc18 --out out/lite0_variants
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from bench_pair import interleaved_latency
from bench_peers import calibration, export_peer
from peer_ddrnet import DDRNet23Slim

from fetalseg.artifacts import shipped_int8
from fetalseg.models.bisenet import BiSeNet, FeatureFusionModule, SpatialPath
from fetalseg.models.profile import count_macs

VARIANTS = {
    "lite0": {},
    "lite0_sp16": {"sp": (16, 32, 64)},
    "lite0_sp16_ffm64": {"sp": (16, 32, 64), "ffm": 64},
}


class Logits(torch.nn.Module):
    """The exported graph: logits at 1/8, as ``fetalseg export`` writes it."""

    def __init__(self, model: BiSeNet) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.inference_logits(x)


def variant(
    context: dict[str, torch.Tensor], sp: tuple[int, int, int] = (32, 64, 128), ffm: int = 128
) -> BiSeNet:
    """A Lite0 BiSeNet with spatial-path widths ``sp`` and fusion width ``ffm``; ``context``:
    the context path's weights (``context_path.*`` keys of a checkpoint)."""
    torch.manual_seed(0)
    m = BiSeNet(1, context="efficientnet_lite0")
    m.spatial_path = SpatialPath(1, sp)
    m.ffm = FeatureFusionModule(sp[-1] + 112 + 320, ffm)
    m.classifier = torch.nn.Conv2d(ffm, 1, 1)
    m.load_state_dict(context, strict=False)
    return m.eval()


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--checkpoint", type=Path, required=True, help="a Lite0 BiSeNet training checkpoint"
    )
    p.add_argument("--data", type=Path, help="HC18 folder for calibration (default synthetic)")
    p.add_argument("--out", type=Path, default=Path("out/lite0_variants"))
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--iterations", type=int, default=30)
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    calib = calibration(args.data, 16)
    torch.manual_seed(0)
    models = {
        "shipped": shipped_int8(),
        "ddrnet23_slim": export_peer(DDRNet23Slim(), "ddrnet", args.out, calib),
    }
    state = torch.load(args.checkpoint, weights_only=False, map_location="cpu")["model"]
    context = {k: v for k, v in state.items() if k.startswith("context_path")}
    gmacs = {}
    for name, kw in VARIANTS.items():
        m = variant(context, **kw)
        gmacs[name] = count_macs(m, 384, 256) / 1e9
        models[name] = export_peer(Logits(m), name, args.out, calib)
    for (name, _), s in zip(
        models.items(), interleaved_latency(list(models.values()), args.rounds, args.iterations, 2)
    ):
        extra = f"  {gmacs[name]:.2f} GMACs" if name in gmacs else ""
        print(f"{name:20s} p50 {s['p50_ms']:.2f} ms  p95 {s['p95_ms']:.2f} ms{extra}")


if __name__ == "__main__":
    main()
