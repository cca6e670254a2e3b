"""``fetalseg benchmark``: latency and throughput of every model x backend on this machine.

Batch 1 at the model's input size (384x256 by default), after a warm-up, over many iterations:
model-only (a normalised tensor in, logits out) and end-to-end (PNG bytes decoded, mask on the
original grid, ellipse, HC in mm). The main model (the shipped BiSeNet by default) uses the given
weights; each baseline (any registered model; U-Net by default) has the same input size and
untrained weights: speed does not depend on the weights' values.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from fetalseg.data.io import decode_image
from fetalseg.inference.predictor import Predictor
from fetalseg.inference.weights import load_model
from fetalseg.machine import cpu_flags
from fetalseg.models import create_model

BACKEND_LABELS = {
    "torch": "PyTorch eager fp32",
    "onnx": "ONNX Runtime fp32",
    "onnx-int8": "ONNX Runtime int8",
    "openvino-int8": "OpenVINO int8",
}


@dataclass
class BenchRow:
    model: str
    backend: str
    mode: str  # "model" or "end-to-end"
    p50_ms: float
    p95_ms: float
    fps: float  # 1 / mean latency
    iterations: int
    #: end-to-end only: mean ms per stage (decode, pre, model, post) over the timed iterations
    stages_ms: dict[str, float] | None = None


def machine_info(threads: int) -> dict[str, object]:
    model_name = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model_name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import onnxruntime
    import openvino

    flags = sorted(
        cpu_flags()
        & {"avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8", "avx_vnni"}
    )
    return {
        "cpu": model_name,
        "logical_cpus": os.cpu_count(),
        "threads": threads,
        "cpu_flags": flags,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
        "openvino": openvino.__version__,
    }


def time_calls(fn, warmup: int, iterations: int) -> list[float]:
    """Seconds of each of ``iterations`` calls of ``fn()``, after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def _row(
    model: str,
    backend: str,
    mode: str,
    times: list[float],
    stages: dict[str, list[float]] | None = None,
) -> BenchRow:
    t = np.asarray(times) * 1000
    n = len(t)
    return BenchRow(
        model,
        backend,
        mode,
        float(np.percentile(t, 50)),
        float(np.percentile(t, 95)),
        float(1000 / t.mean()),
        n,
        None if stages is None else {k: float(np.mean(v[-n:]) * 1000) for k, v in stages.items()},
    )


def _model_files(
    checkpoint: str | Path | None,
    tmp: Path,
    data_root: str | Path | None,
    baselines: tuple[str, ...] = ("unet",),
):
    """``{model: {backend: file}}``: .pt/.safetensors for torch, exported .onnx files; the
    checkpoint's model first, then each of ``baselines`` (registered model names, untrained)."""
    from fetalseg.export.calibration import calibration_batch
    from fetalseg.export.onnx import export_onnx
    from fetalseg.export.parity import parity_images
    from fetalseg.export.quantize import quantize_int8

    main = load_model(checkpoint)
    models = {main.config["model"]["name"]: main}
    for name in baselines:
        net = create_model(name, in_channels=main.in_channels).eval()
        config = {**main.config, "model": {"name": net.name, "in_channels": main.in_channels}}
        path = tmp / f"{net.name}.pt"
        torch.save({"model": net.state_dict(), "config": config}, path)
        models[net.name] = load_model(path)
    files = {}
    for name, loaded in models.items():
        fp32 = export_onnx(loaded, tmp / f"{name}.onnx")
        if data_root is not None and (Path(data_root) / "training_set").is_dir():
            calib = calibration_batch(data_root, loaded.size, n=16, config=loaded.config)
        else:
            calib = parity_images(loaded, None, n=16)[0]
        int8 = quantize_int8(fp32, tmp / f"{name}_int8.onnx", calib)
        # both int8 runtimes run the same quantised file
        files[name] = {
            "torch": loaded.source,
            "onnx": fp32,
            "onnx-int8": int8,
            "openvino-int8": int8,
        }
    return files


def run_benchmark(
    checkpoint: str | Path | None = None,
    data_root: str | Path | None = None,
    threads: int = 2,
    iterations: int = 100,
    warmup: int = 10,
    int8_model: str | Path | None = None,
    baselines: tuple[str, ...] = ("unet",),
) -> dict[str, object]:
    """Benchmark the checkpoint's model (``int8_model``: its own int8 file instead of one
    quantised here) and ``baselines`` on every backend; returns machine info and rows."""
    from fetalseg.data.synthetic import synthetic_frame

    torch.set_num_threads(threads)
    frame, _, _ = synthetic_frame(rng=0)  # an 800x540 frame, as HC18's
    png = cv2.imencode(".png", frame)[1].tobytes()
    rows: list[BenchRow] = []
    with tempfile.TemporaryDirectory(prefix="fetalseg-bench-") as d:
        files = _model_files(checkpoint, Path(d), data_root, baselines)
        main = next(iter(files))
        if int8_model is not None:
            files[main]["onnx-int8"] = Path(int8_model)
            files[main]["openvino-int8"] = Path(int8_model)
        for model, by_backend in files.items():
            for backend, path in by_backend.items():
                p = Predictor(path, backend, threads=threads)
                x, _ = p.preprocess(frame)
                rows.append(
                    _row(
                        model,
                        backend,
                        "model",
                        time_calls(lambda p=p, x=x: p.logits(x), warmup, iterations),
                    )
                )

                decode_s: list[float] = []

                def end_to_end(p=p, decode_s=decode_s):
                    t0 = time.perf_counter()
                    image = decode_image(png)
                    decode_s.append(time.perf_counter() - t0)
                    pred = p.predict(image, 0.15)
                    assert pred.measurement is not None

                p.timings.clear()
                times = time_calls(end_to_end, warmup, iterations)
                stages = {"decode": decode_s, **{k: p.timings[k] for k in ("pre", "model", "post")}}
                rows.append(_row(model, backend, "end-to-end", times, stages))
    return {
        "machine": machine_info(threads),
        "input": "800x540 frame -> 384x256 network, batch 1",
        "main_model": main,
        "rows": [asdict(r) for r in rows],
    }


def speedups(result: dict[str, object]) -> dict[str, float]:
    """The ratios the targets are about: the main model's int8 runtimes against its PyTorch fp32,
    and the main model against each baseline on each backend (model only)."""
    fps = {(r["model"], r["backend"], r["mode"]): r["fps"] for r in result["rows"]}  # type: ignore[index,union-attr]
    main = str(result.get("main_model", "bisenet"))  # results written before it was stored
    out = {
        f"{main} {backend} vs torch fp32 (model only)": fps[(main, backend, "model")]
        / fps[(main, "torch", "model")]
        for backend in ("onnx-int8", "openvino-int8")
    }
    baselines = dict.fromkeys(m for m, _, _ in fps if m != main)
    for baseline in baselines:
        for backend in BACKEND_LABELS:
            out[f"{main} vs {baseline}, {backend} (model only)"] = (
                fps[(main, backend, "model")] / fps[(baseline, backend, "model")]
            )
    return out


def to_markdown(result: dict[str, object]) -> str:
    m = result["machine"]
    lines = [
        f"Machine: {m['cpu']}, {m['threads']} threads; CPU flags: {', '.join(m['cpu_flags'])}; "  # type: ignore[index]
        f"torch {m['torch']}, onnxruntime {m['onnxruntime']}, openvino {m['openvino']}. "  # type: ignore[index]
        f"{result['input']}.",
        "",
        "| model | backend | mode | p50 ms | p95 ms | FPS |",
        "|---|---|---|---:|---:|---:|",
    ]
    for r in result["rows"]:  # type: ignore[union-attr]
        lines.append(
            f"| {r['model']} | {BACKEND_LABELS[r['backend']]} | {r['mode']} | {r['p50_ms']:.1f} | "
            f"{r['p95_ms']:.1f} | {r['fps']:.1f} |"
        )
    lines += [
        "",
        "End-to-end stages, mean ms (post = mask on the original grid, outline, ellipse, mm):",
        "",
        "| model | backend | decode | pre | model | post |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in result["rows"]:  # type: ignore[union-attr]
        st = r.get("stages_ms")
        if st:
            lines.append(
                f"| {r['model']} | {BACKEND_LABELS[r['backend']]} | {st['decode']:.2f} | "
                f"{st['pre']:.2f} | {st['model']:.2f} | {st['post']:.2f} |"
            )
    lines.append("")
    for k, v in speedups(result).items():
        lines.append(f"- {k}: {v:.2f}x")
    return "\n".join(lines) + "\n"


def write_results(result: dict[str, object], out: str | Path) -> tuple[Path, Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "benchmark.json").write_text(json.dumps(result, indent=2))
    (out / "benchmark.md").write_text(to_markdown(result))
    return out / "benchmark.json", out / "benchmark.md"
