"""``fetalseg study``: the reference's Table 1 and Figure 2, measured here.

Trains (resumably) and evaluates the U-Net at 384x256 and BiSeNet at 512x384, 384x256, 256x160 and
128x64 on the same subject-level splits with the same schedule, then writes one table with, per
row: DSC, SE, SP, PC, JS (mean ± sd), HD95 and HC ADF (mm), parameters, GMACs and CPU latency
(ONNX Runtime fp32 and int8, batch 1) beside the reference's numbers, and a Figure-2-style grid.
"""

from __future__ import annotations

import copy
import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from fetalseg.config import RunConfig, from_dict, to_dict
from fetalseg.errors import InputError

#: Table 1 of the reference: DSC, SE, SP, PC, JS (%), params (M), GMACs.
REFERENCE_TABLE = {
    ("unet", 384, 256): (97.23, 97.53, 98.57, 97.01, 94.64, 8.23, 24.68),
    ("bisenet", 512, 384): (97.16, 98.27, 98.25, 96.12, 94.49, 11.67, 7.50),
    ("bisenet", 384, 256): (97.36, 97.91, 98.51, 96.86, 94.86, 11.67, 4.50),
    ("bisenet", 256, 160): (95.87, 99.23, 96.65, 92.80, 92.11, 11.67, 1.88),
    ("bisenet", 128, 64): (94.46, 96.62, 96.53, 92.50, 89.54, 11.67, 0.38),
}


SELECTION_NAMES = {"dsc": "DSC", "hc_adf": "HC ADF"}


@dataclass
class StudyRow:
    model: str
    width: int
    height: int

    @property
    def name(self) -> str:
        return f"{self.model}-{self.width}x{self.height}"


@dataclass
class StudyConfig:
    """``base``: the run config every row shares (data, schedule); rows change model and size."""

    base: RunConfig = field(default_factory=RunConfig)
    rows: list[StudyRow] = field(
        default_factory=lambda: [StudyRow(m, w, h) for (m, w, h) in REFERENCE_TABLE]
    )
    out: str = "runs/study"
    latency_iterations: int = 50
    figure_images: int = 4


def load_study_config(path: str | Path | None, overrides: list[str] | None = None) -> StudyConfig:
    """YAML ``{base: {data/model/train sections}, rows: [{model, width, height}], out, ...}``."""
    from fetalseg.config import load_config, read_config_file

    values: dict[str, Any] = {}
    if path is not None:
        values = read_config_file(Path(path))  # UTF-8, size-capped, YAML aliases refused
    unknown = set(values) - {"base", "rows", "out", "latency_iterations", "figure_images"}
    if unknown:
        raise InputError(f"{path}: unknown study key(s) {sorted(unknown)}")
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        yaml.safe_dump(values.get("base", {}), f)
    try:
        base = load_config(f.name, overrides)
    finally:
        Path(f.name).unlink()
    cfg = StudyConfig(base=base)
    if "rows" in values:
        cfg.rows = [from_dict(StudyRow, r, f"{path}: rows") for r in values["rows"]]
    for key in ("out", "latency_iterations", "figure_images"):
        if key in values:
            setattr(cfg, key, type(getattr(cfg, key))(values[key]))
    return cfg


def _row_config(study: StudyConfig, row: StudyRow) -> RunConfig:
    cfg = copy.deepcopy(study.base)
    cfg.model.name = row.model
    cfg.data.width, cfg.data.height = row.width, row.height
    return cfg


def _latency_ms(onnx_path: Path, size: tuple[int, int], iterations: int) -> float:
    from fetalseg.runtimes import open_runtime

    runtime = open_runtime("onnxruntime", onnx_path, threads=2)
    x = np.zeros((1, 1, size[1], size[0]), np.float32)
    for _ in range(3):
        runtime.run(x)
    t0 = time.perf_counter()
    for _ in range(iterations):
        runtime.run(x)
    return (time.perf_counter() - t0) / iterations * 1000


def run_study(study: StudyConfig, progress: bool = True) -> dict[str, Any]:
    """Train, evaluate and time every row; write ``study.md``, ``study.json``, ``figure2.png``."""
    from fetalseg.data.hc18 import read_records, split_subjects
    from fetalseg.export.calibration import calibration_batch
    from fetalseg.export.onnx import export_onnx
    from fetalseg.export.quantize import quantize_int8
    from fetalseg.inference.evaluate import evaluate_records
    from fetalseg.inference.predictor import Predictor
    from fetalseg.models import create_model
    from fetalseg.models.profile import count_macs, inference_params
    from fetalseg.training.runlog import read_log
    from fetalseg.training.trainer import train

    out = Path(study.out)
    out.mkdir(parents=True, exist_ok=True)
    d = study.base.data
    test = split_subjects(read_records(d.root), d.fractions, d.split_seed)[2]
    if not test:
        raise InputError(f"{d.root}: the test split is empty; use more subjects")
    results, evals = [], {}
    for row in study.rows:
        cfg = _row_config(study, row)
        run_dir = out / row.name
        train(cfg, run_dir, resume=True, progress=progress)
        predictor = Predictor(run_dir / "best.pt", "torch")
        ev = evaluate_records(predictor, test, progress=progress)
        evals[row.name] = ev
        model = create_model(row.model, in_channels=cfg.model.in_channels)
        fp32 = export_onnx(predictor.loaded, run_dir / "model.onnx")
        calib = calibration_batch(d.root, (row.width, row.height), 16, config=to_dict(cfg))
        int8 = quantize_int8(fp32, run_dir / "model_int8.onnx", calib)
        log = read_log(run_dir / "log.csv")
        results.append(
            {
                "row": row.name,
                "model": row.model,
                "width": row.width,
                "height": row.height,
                "epochs": len(log),
                "train_hours": sum(r["seconds"] for r in log) / 3600,
                "summary": ev.summary,
                "params_m": inference_params(model) / 1e6,
                "gmacs": count_macs(model, row.width, row.height, cfg.model.in_channels) / 1e9,
                "latency_fp32_ms": _latency_ms(
                    fp32, (row.width, row.height), study.latency_iterations
                ),
                "latency_int8_ms": _latency_ms(
                    int8, (row.width, row.height), study.latency_iterations
                ),
            }
        )
    from fetalseg.inference.benchmark import machine_info

    report = {
        "test_images": len(test),
        "schedule": to_dict(study.base.train),
        "machine": machine_info(threads=2),
        "rows": results,
    }
    (out / "study.json").write_text(json.dumps(report, indent=2))
    (out / "study.md").write_text(study_markdown(report))
    _figure(evals, study, out / "figure2.png")
    return report


def study_markdown(report: dict[str, Any]) -> str:
    t = report["schedule"]
    epochs = sorted({r["epochs"] for r in report["rows"]})
    lines = [
        f"Test split: {report['test_images']} images (subjects never seen in training). "
        f"Schedule for every row: {', '.join(map(str, epochs))} epochs of a {t['epochs']}-epoch "
        f"plan, Adam lr {t['lr']}, batch {t['batch_size']}, best epoch by validation "
        f"{SELECTION_NAMES[t.get('select_by', 'dsc')]}. Latency: ONNX Runtime, batch 1, "
        "2 threads. Reference values in brackets.",
        "",
        "| row | DSC % | SE % | SP % | PC % | JS % | HD95 mm | HC ADF mm | params M | GMACs "
        "| ms fp32 | ms int8 |",
        "|---|---|---|---|---|---|---:|---:|---|---|---:|---:|",
    ]
    for r in report["rows"]:
        s = r["summary"]
        ref = REFERENCE_TABLE.get((r["model"], r["width"], r["height"]))
        cells = [r["row"]]
        for i, k in enumerate(("dsc", "se", "sp", "pc", "js")):
            v = f"{s[k]['mean'] * 100:.2f} ± {s[k]['sd'] * 100:.2f}"
            cells.append(v + (f" ({ref[i]:.2f})" if ref else ""))
        cells += [f"{s['hd95_mm']['mean']:.2f}", f"{s['adf_mm']['mean']:.2f}"]
        cells.append(f"{r['params_m']:.2f}" + (f" ({ref[5]:.2f})" if ref else ""))
        cells.append(f"{r['gmacs']:.2f}" + (f" ({ref[6]:.2f})" if ref else ""))
        cells += [f"{r['latency_fp32_ms']:.1f}", f"{r['latency_int8_ms']:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    m = report.get("machine")
    lines += [
        "",
        "| row | epochs | training hours |",
        "|---|---:|---:|",
    ]
    lines += [f"| {r['row']} | {r['epochs']} | {r['train_hours']:.2f} |" for r in report["rows"]]
    if m:
        lines += [
            "",
            f"Machine: {m['cpu']}, {m['logical_cpus']} logical CPUs, "
            f"torch {m['torch']}, onnxruntime {m['onnxruntime']}.",
        ]
    return "\n".join(lines) + "\n"


def _figure(evals: dict[str, Any], study: StudyConfig, path: Path) -> None:
    """Input, truth, then each row's prediction, for the hardest and easiest test images (by
    the first row's DSC)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(evals)
    first = evals[names[0]]
    ranked = [str(r["file"]) for r in sorted(first.rows, key=lambda r: float(r["dsc"]))]
    k = min(study.figure_images, len(ranked))
    picks = ranked[: (k + 1) // 2] + ranked[::-1][: k // 2]
    cols = 2 + len(names)
    fig, axes = plt.subplots(len(picks), cols, figsize=(2.6 * cols, 2 * len(picks)), squeeze=False)
    for i, f in enumerate(picks):
        image, truth, _ = first.examples[f]
        panels = [("input", image), ("truth", truth * 255)]
        panels += [(n, evals[n].examples[f][2] * 255) for n in names]
        for j, (title, arr) in enumerate(panels):
            axes[i, j].imshow(arr.astype(np.uint8), cmap="gray", vmin=0, vmax=255)
            axes[i, j].set_title(title if i == 0 else "", fontsize=8)
            axes[i, j].axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
