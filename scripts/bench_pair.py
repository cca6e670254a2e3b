"""Interleaved OpenVINO latency of exported ONNX models (e.g. a candidate's int8 export and
the shipped one): rounds alternate between them, so machine load hits both alike.

    python scripts/bench_pair.py out/export/candidate_int8.onnx \\
        src/fetalseg/weights/bisenet_hc18_int8.onnx --rounds 10 --iterations 30 --threads 2
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from fetalseg.artifacts import onnx_model_info
from fetalseg.inference.benchmark import machine_info, time_calls
from fetalseg.runtimes import open_runtime


def interleaved_latency(
    models: list[Path], rounds: int, iterations: int, threads: int
) -> list[dict[str, float]]:
    """p50/p95 (ms) and count per model; rounds alternate between the models, so load on the
    machine hits all alike. Each model gets a random ``(1, C, H, W)`` input of its own size."""
    sessions, feeds = [], []
    for path in models:
        info = onnx_model_info(path)  # the config only (input size, channels)
        w, h = info.size
        rng = np.random.default_rng(0)
        feeds.append(rng.uniform(-1, 1, (1, info.in_channels, h, w)).astype(np.float32))
        sessions.append(open_runtime("openvino", path, threads))
    times: list[list[float]] = [[] for _ in models]
    for _ in range(rounds):
        for i, (s, x) in enumerate(zip(sessions, feeds)):
            times[i] += time_calls(lambda s=s, x=x: s.run(x), 3, iterations)
    out = []
    for t in times:
        ms = np.asarray(t) * 1000
        out.append(
            {
                "p50_ms": float(np.percentile(ms, 50)),
                "p95_ms": float(np.percentile(ms, 95)),
                "n": len(ms),
            }
        )
    return out


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("models", nargs="+", type=Path)
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--iterations", type=int, default=30)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    stats = interleaved_latency(args.models, args.rounds, args.iterations, args.threads)
    result = {"machine": machine_info(args.threads), "models": {}}
    for path, r in zip(args.models, stats):
        result["models"][str(path)] = r
        print(f"{path}: p50 {r['p50_ms']:.2f} ms, p95 {r['p95_ms']:.2f} ms, n {r['n']}")
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
