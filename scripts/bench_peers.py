"""Our shipped network against the fastest real-time peer, interleaved, int8 on OpenVINO.

Issue 19's target: the shipped network at least as fast per frame as the fastest real-time
peer (DDRNet-23-slim, 1.68 GMACs at 384x256) measured in the same run, at batch 1, 384x256,
2 threads, static int8 QDQ from our quantiser. The peer has random weights (speed does not
depend on them); it is exported and quantised the same way as our models (BatchNorms folded,
percentile calibration on HC18 training-split images, or on synthetic frames without data).

    python scripts/bench_peers.py --candidate out/export/candidate_int8.onnx \\
        --data ../shared/hc18 --rounds 10 --iterations 30 --out out/bench_peers.json

Prints p50/p95 per model and writes JSON with the machine's description.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import torch
from bench_pair import interleaved_latency
from peer_ddrnet import DDRNet23Slim

from fetalseg.artifacts import shipped_int8
from fetalseg.data.synthetic import synthetic_frame
from fetalseg.export.calibration import calibration_batch, network_batch
from fetalseg.export.onnx import batchnorms_to_mul_add, fold_batchnorms, set_metadata
from fetalseg.export.quantize import quantize_int8
from fetalseg.inference.benchmark import machine_info
from fetalseg.models.profile import count_macs

SIZE = (384, 256)  # (W, H)


def calibration(data: Path | None, n: int = 32) -> np.ndarray:
    """``(n, 1, H, W)`` float32 calibration images: HC18 training split, else synthetic."""
    if data is not None:
        return calibration_batch(data, SIZE, n)
    frames = [synthetic_frame(*SIZE, rng=i)[0] for i in range(n)]
    return network_batch(np.stack(frames), channels=1)


def export_peer(model: torch.nn.Module, name: str, folder: Path, calib: np.ndarray) -> Path:
    """fp32 ONNX (BatchNorms folded, fetalseg-style metadata) and its int8 QDQ model."""
    import onnx

    w, h = SIZE
    program = torch.onnx.export(
        model.eval(), (torch.zeros(1, 1, h, w),), input_names=["image"], dynamo=True
    )
    proto = batchnorms_to_mul_add(fold_batchnorms(program.model_proto))
    config = {"model": {"name": name, "in_channels": 1}, "data": {"width": w, "height": h}}
    set_metadata(proto, config, {"peer": name, "weights": "random"})
    fp32 = folder / f"{name}_fp32.onnx"
    onnx.save_model(proto, str(fp32))
    return quantize_int8(fp32, folder / f"{name}_int8.onnx", calib)


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--candidate", type=Path, action="append", default=[], help="int8 ONNX")
    p.add_argument("--data", type=Path, help="HC18 folder for calibration (default synthetic)")
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--iterations", type=int, default=30)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    torch.manual_seed(0)
    peer = DDRNet23Slim()
    with tempfile.TemporaryDirectory() as tmp:
        peer_int8 = export_peer(peer, "ddrnet23_slim", Path(tmp), calibration(args.data))
        models = {"shipped": shipped_int8(), "ddrnet23_slim (peer)": peer_int8}
        models.update({str(c): c for c in args.candidate})
        stats = interleaved_latency(
            list(models.values()), args.rounds, args.iterations, args.threads
        )
    result = {
        "machine": machine_info(args.threads),
        "peer_gmacs": count_macs(peer, *SIZE) / 1e9,
        "models": dict(zip(models, stats)),
    }
    for name, s in result["models"].items():
        print(f"{name:40s} p50 {s['p50_ms']:6.2f} ms  p95 {s['p95_ms']:6.2f} ms  n {s['n']}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
