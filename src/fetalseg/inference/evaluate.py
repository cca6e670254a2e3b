"""Scoring a model on labelled images: overlap, boundary distances (mm) and HC error (mm).

Metrics are computed twice: on the original pixel grid (the prediction mapped back, the numbers
a clinician's measurement depends on) and at the network resolution (comparable with the
reference, which scores the resized masks). HC is measured from the predicted mask (largest
component, ellipse fit) and compared with HC18's CSV value: DF (signed) and ADF (absolute), as
the HC18 challenge scores it (van den Heuvel et al. 2018). Every image also gets its quality
verdict (:mod:`fetalseg.quality`, with HC18's pixel size), and the summary the risk-coverage
of the verdict: ADF and DSC of the images kept at each level.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from fetalseg.biometry import hc_difference_mm, measure_head
from fetalseg.data.hc18 import Record, load_pair
from fetalseg.data.preprocess import full_size_logits, mask_on_original, resize_mask
from fetalseg.inference.predictor import Predictor
from fetalseg.metrics import overlap_metrics, summarize, surface_distances
from fetalseg.quality import CHECK, GOOD, REJECT, assess
from fetalseg.quality.study import kept_by_level

OVERLAP = ("dsc", "se", "pc", "sp", "js")
COLUMNS = (
    "file",
    *OVERLAP,
    "hd_mm",
    "hd95_mm",
    "assd_mm",
    *(f"net_{k}" for k in OVERLAP),
    "hc_true_mm",
    "hc_pred_mm",
    "df_mm",
    "adf_mm",
    "status",
    "quality",
    "quality_reasons",
)
#: columns that are not averaged
TEXT = ("file", "status", "hc_true_mm", "hc_pred_mm", "quality", "quality_reasons")


@dataclass
class Evaluation:
    rows: list[dict[str, object]]
    summary: dict[str, dict[str, float]]
    #: for figures: per image, (image, truth mask, predicted mask) on the original grid
    examples: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]


def evaluate_records(
    predictor: Predictor,
    records: Sequence[Record],
    progress: bool = True,
    keep_examples: bool = True,
    transform: Callable[[np.ndarray, int], np.ndarray] | None = None,
) -> Evaluation:
    """Score ``predictor`` on labelled ``records`` (HC18 layout: annotation + pixel size + HC).

    ``transform(image, index)``, if given, changes each ``(H, W) uint8`` frame (same size)
    before prediction, the truth kept: e.g. the robustness set's
    :func:`fetalseg.data.augment.apply_shift`."""
    rows, examples = [], {}
    for i, rec in enumerate(tqdm(records, desc="evaluate", disable=not progress)):
        image, truth = load_pair(rec)
        if transform is not None:
            image = transform(image, i)
        x, geom = predictor.preprocess(image)
        logits = predictor.logits(x)[0]
        pred = mask_on_original(logits, geom)
        row: dict[str, object] = {"file": rec.name}
        row.update({k: float(v[0]) for k, v in overlap_metrics(pred, truth).items()})
        row.update(surface_distances(pred, truth, (rec.pixel_size_mm, rec.pixel_size_mm)))
        net_logits = full_size_logits(logits, predictor.size)
        net = overlap_metrics(net_logits > 0, resize_mask(truth, predictor.size))
        row.update({f"net_{k}": float(v[0]) for k, v in net.items()})
        m = measure_head(pred, rec.pixel_size_mm)
        row["hc_true_mm"] = rec.hc_mm
        row["hc_pred_mm"] = m.hc_mm
        row["status"] = m.status.value
        # no head found: the whole HC is the error (never a NaN left out of the mean)
        row["df_mm"] = 0.0 if rec.hc_mm is None else hc_difference_mm(m.hc_mm, rec.hc_mm)
        row["adf_mm"] = abs(row["df_mm"])
        q = assess(image, logits, pred, m.ellipse_px, m, rec.pixel_size_mm)
        row["quality"] = q.verdict
        row["quality_reasons"] = " | ".join(f"{r.code}: {r.message}" for r in q.reasons)
        rows.append(row)
        if keep_examples:
            examples[rec.name] = (image, truth, pred)
    numeric = [c for c in COLUMNS if c not in TEXT]
    summary = summarize({c: [float(r[c]) for r in rows] for c in numeric})  # type: ignore[arg-type]
    adf = np.array([float(r["adf_mm"]) for r in rows])  # type: ignore[arg-type]
    summary["within_3mm"] = {"mean": float((adf <= 3.0).mean()) if adf.size else float("nan")}
    summary["no_head"] = {"mean": float(sum(r["status"] == "no_head" for r in rows))}
    verdicts = [str(r["quality"]) for r in rows]
    summary["quality"] = {k: verdicts.count(k) for k in (GOOD, CHECK, REJECT)}  # type: ignore[misc]
    summary["risk_coverage"] = kept_by_level(  # type: ignore[assignment]
        verdicts, [float(r["adf_mm"]) for r in rows], [float(r["dsc"]) for r in rows]
    )
    return Evaluation(rows, summary, examples)


PCT = {*OVERLAP, *(f"net_{k}" for k in OVERLAP)}


#: What the summary's metric names mean (one line under its table).
METRIC_LEGEND = (
    "dsc Dice, se sensitivity, pc precision, sp specificity, js Jaccard (on the image's own "
    "grid; net_*: at the network's input size); hd / hd95 / assd: Hausdorff, its 95th "
    "percentile, average symmetric surface distance; df: HC ours - HC18's CSV, adf: |df|."
)


def summary_markdown(ev: Evaluation, title: str = "") -> str:
    """Mean ± sd and median per metric; overlap in %, distances and HC in mm."""
    s = ev.summary
    lines = [f"### {title}" if title else "", "", f"{len(ev.rows)} images", ""]
    lines += ["| metric | mean ± sd | median |", "|---|---:|---:|"]
    for name, v in s.items():
        if "sd" not in v:
            continue
        k = 100.0 if name in PCT else 1.0
        unit = " %" if name in PCT else (" mm" if name.endswith("mm") else "")
        lines.append(
            f"| {name} | {v['mean'] * k:.2f} ± {v['sd'] * k:.2f}{unit} | {v['median'] * k:.2f} |"
        )
    lines += [
        "",
        METRIC_LEGEND,
        "",
        f"HC within ±3 mm: {s['within_3mm']['mean'] * 100:.1f} %; "
        f"no head found: {int(s['no_head']['mean'])}",
        "",
        "quality: " + ", ".join(f"{n} {k}" for k, n in s["quality"].items()),
        "",
        "| kept | images | share | HC ADF mean mm | DSC mean % |",
        "|---|---:|---:|---:|---:|",
    ]
    for lv in s["risk_coverage"]:
        lines.append(
            f"| {lv['kept']} | {lv['frames']} | {100 * lv['share']:.1f} % | "
            f"{lv['adf_mm']:.2f} | {100 * lv['dsc']:.2f} |"
        )
    return "\n".join(lines).lstrip() + "\n"


def write_outputs(ev: Evaluation, out: str | Path, title: str = "") -> dict[str, Path]:
    """``per_image.csv``, ``summary.md``, ``summary.json`` and ``cases.png`` in ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "csv": out / "per_image.csv",
        "markdown": out / "summary.md",
        "json": out / "summary.json",
        "figure": out / "cases.png",
    }
    with paths["csv"].open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(ev.rows)
    paths["markdown"].write_text(summary_markdown(ev, title))
    paths["json"].write_text(json.dumps({"n": len(ev.rows), **ev.summary}, indent=2))
    if ev.examples:
        plot_cases(ev, paths["figure"])
    else:
        del paths["figure"]
    return paths


def plot_cases(ev: Evaluation, path: Path, n: int = 4) -> None:
    """Worst and best ``n`` images by DSC, drawn as every overlay is
    (:func:`fetalseg.inference.overlay.draw_overlay`: annotation yellow, prediction red, fitted
    ellipse green, axes cyan), titled with DSC, ADF and the quality verdict."""
    import cv2
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from fetalseg.biometry import measure_head
    from fetalseg.inference.overlay import VERDICT, draw_overlay

    ranked = sorted(ev.rows, key=lambda r: float(r["dsc"]))  # type: ignore[arg-type]
    n = min(n, max(1, len(ranked) // 2))
    picks = [("worst", r) for r in ranked[:n]] + [("best", r) for r in ranked[::-1][:n]]
    fig, axes = plt.subplots(2, n, figsize=(3.2 * n, 6.0), squeeze=False)
    for ax, (kind, row) in zip(axes.flat, picks):
        image, truth, pred = ev.examples[str(row["file"])]
        fit = measure_head(pred, 1.0).ellipse_px
        rgb = cv2.cvtColor(draw_overlay(image, pred, fit, [], truth=truth), cv2.COLOR_BGR2RGB)
        ax.imshow(rgb)
        verdict = str(row.get("quality") or "")
        colour = tuple(c / 255 for c in VERDICT.get(verdict, (0, 0, 0))[::-1])
        ax.set_title(
            f"{kind}: {row['file']}\nDSC {float(row['dsc']) * 100:.1f} %, "
            f"ADF {float(row['adf_mm']):.1f} mm, {verdict or 'no verdict'}",
            fontsize=8,
            color=colour,
        )
        ax.axis("off")
    fig.suptitle(
        "yellow: annotation, red: prediction, green: fitted ellipse, cyan: axes; "
        "title colour: quality verdict",
        fontsize=9,
    )
    fig.tight_layout(h_pad=1.5)
    fig.savefig(path, dpi=110)
    plt.close(fig)
