"""``fetalseg demo``: segment and measure frames with known truth, report accuracy and speed.

Without data it generates synthetic ultrasound-like frames (exact masks and HC); with an HC18
folder it uses the model's held-out test split. Nothing is downloaded either way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from fetalseg.biometry import ramanujan_perimeter
from fetalseg.data.io import write_image
from fetalseg.inference.overlay import draw_overlay, measurement_lines
from fetalseg.inference.predictor import Predictor
from fetalseg.metrics import overlap_metrics
from fetalseg.standards import ga_from_hc, ga_label


@dataclass
class DemoFrame:
    name: str
    image: np.ndarray  # (H, W) uint8
    truth: np.ndarray  # (H, W) {0, 1}
    pixel_size_mm: float
    hc_mm: float


def synthetic_frames(n: int, seed: int = 0, pixel_size_mm: float = 0.15) -> list[DemoFrame]:
    from fetalseg.data.synthetic import synthetic_frame

    frames = []
    for i in range(n):
        image, mask, head = synthetic_frame(rng=np.random.default_rng([seed, i]))
        hc = ramanujan_perimeter(head.semi_major * pixel_size_mm, head.semi_minor * pixel_size_mm)
        frames.append(DemoFrame(f"synthetic_{i:03d}", image, mask, pixel_size_mm, hc))
    return frames


def hc18_frames(root: str | Path, predictor: Predictor, n: int) -> list[DemoFrame]:
    from fetalseg.data.hc18 import load_pair, read_records, split_subjects

    cfg = predictor.loaded.config["data"]
    records = read_records(root, "training_set")
    test = split_subjects(records, cfg["fractions"], cfg["split_seed"])[2][:n]
    frames = []
    for rec in test:
        image, mask = load_pair(rec)
        frames.append(DemoFrame(rec.image.stem, image, mask, rec.pixel_size_mm, rec.hc_mm or 0.0))
    return frames


def _fmt(v: float | None) -> str:
    return "" if v is None else f"{v:.1f}"


def run_demo(
    predictor: Predictor, frames: list[DemoFrame], out: str | Path, progress: bool = True
) -> str:
    """Predict every frame, write overlays and ``report.md`` in ``out``; return the report."""
    out = Path(out)
    (out / "overlays").mkdir(parents=True, exist_ok=True)
    predictor.predict(frames[0].image, frames[0].pixel_size_mm)  # warm-up, not timed
    predictor.timings.clear()
    lines = [
        "| frame | DSC % | HC true mm | HC pred mm | abs err mm | BPD mm | GA wk (standard) "
        "| quality |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    dscs, errs, seconds, verdicts = [], [], [], []
    for f in tqdm(frames, desc="demo", disable=not progress):
        t0 = time.perf_counter()
        pred = predictor.predict(f.image, f.pixel_size_mm)
        seconds.append(time.perf_counter() - t0)
        m = pred.measurement
        assert m is not None
        dsc = float(overlap_metrics(pred.mask, f.truth)["dsc"][0])
        dscs.append(dsc)
        err = abs(m.hc_mm - f.hc_mm) if m.hc_mm is not None else f.hc_mm
        errs.append(err)
        q = pred.quality
        overlay = draw_overlay(
            f.image, pred.mask, m.ellipse_px, measurement_lines(m), q, truth=f.truth
        )
        write_image(out / "overlays" / f"{f.name}.png", overlay)
        verdict = q.verdict if q is not None else ""
        verdicts.append(verdict)
        first = f" ({q.reasons[0].code})" if q is not None and q.reasons else ""
        ga = None if m.hc_mm is None else ga_from_hc(m.hc_mm)
        ga_cell = (
            "-" if ga is None or ga.weeks is None else f"{ga.weeks:.1f} ({ga_label(ga.standard)})"
        )
        lines.append(
            f"| {f.name} | {dsc * 100:.1f} | {f.hc_mm:.1f} | {_fmt(m.hc_mm)} | {err:.2f} | "
            f"{_fmt(m.bpd_mm)} | {ga_cell} | {verdict}{first} |"
        )
    t = predictor.timings
    stage = ", ".join(f"{k} {np.mean(v) * 1000:.1f} ms" for k, v in t.items())
    summary = [
        f"{len(frames)} frames; mean DSC {np.mean(dscs) * 100:.2f} %, "
        f"mean HC abs error {np.mean(errs):.2f} mm (max {np.max(errs):.2f} mm)",
        f"end-to-end {1 / np.mean(seconds):.1f} frames/s on this CPU "
        f"({np.mean(seconds) * 1000:.1f} ms/frame: {stage})",
        "quality: "
        + ", ".join(f"{verdicts.count(k)} {k}" for k in ("good", "check", "reject"))
        + " (overlays: annotation yellow, prediction red, fitted ellipse green, axes cyan)",
        f"model: {predictor.loaded.source.name}, backend {predictor.backend}",
    ]
    report = "\n".join(["# fetalseg demo", "", *summary, "", *lines, ""])
    (out / "report.md").write_text(report, encoding="utf-8")
    return report
