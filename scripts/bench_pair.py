"""Interleaved OpenVINO latency of two exported ONNX models (e.g. a candidate's int8 export and
the shipped one): rounds alternate between them, so machine load hits both alike.

    python scripts/bench_pair.py out/export/candidate_int8.onnx \\
        src/fetalseg/weights/bisenet_hc18_int8.onnx --rounds 10 --iterations 30 --threads 2
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from fetalseg.inference.benchmark import _time, machine_info
from fetalseg.inference.weights import load_model
from fetalseg.runtimes import open_runtime


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("models", nargs=2, type=Path)
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--iterations", type=int, default=30)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    sessions, feeds = [], []
    for path in args.models:
        loaded = load_model(path)  # ONNX: the config only (input size, channels)
        w, h = loaded.size
        x = (
            np.random.default_rng(0)
            .uniform(-1, 1, (1, loaded.in_channels, h, w))
            .astype(np.float32)
        )
        sessions.append(open_runtime("openvino", path, args.threads))
        feeds.append(x)
    times: list[list[float]] = [[], []]
    for _ in range(args.rounds):
        for i, (s, x) in enumerate(zip(sessions, feeds)):
            times[i] += _time(lambda s=s, x=x: s.run(x), 3, args.iterations)
    result = {"machine": machine_info(args.threads), "models": {}}
    for path, t in zip(args.models, times):
        ms = np.asarray(t) * 1000
        result["models"][str(path)] = {
            "p50_ms": float(np.percentile(ms, 50)),
            "p95_ms": float(np.percentile(ms, 95)),
            "n": len(ms),
        }
        r = result["models"][str(path)]
        print(f"{path}: p50 {r['p50_ms']:.2f} ms, p95 {r['p95_ms']:.2f} ms, n {r['n']}")
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
