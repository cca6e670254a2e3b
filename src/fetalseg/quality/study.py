"""Measuring the verdict against truth: per-frame rows (error, Dice, features, verdict), the
threshold fit and the risk-coverage table. Used by ``scripts/fit_quality_thresholds.py`` and
``scripts/quality_risk_coverage.py``.

"Bad" frames: HC error > 5 mm or DSC < 90 %; "accurate" frames: HC error <= 3 mm and
DSC >= 95 %. A frame without a head in its truth (a corpus frame) scores DSC 0 and an infinite
HC error when a head is reported, DSC 1 and error 0 when none is.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fetalseg.biometry import measure_head
from fetalseg.data.hc18 import Record, load_pair
from fetalseg.data.io import read_image, write_image
from fetalseg.quality.features import Features
from fetalseg.quality.verdict import CHECK, GOOD, REJECT, assess

#: feature -> direction of "bad" (see :func:`fetalseg.quality.verdict.feature_reasons`)
DIRECTIONS = {
    "outside_image": "high",
    "outside_content": "high",
    "border_contact": "high",
    "components": "high",
    "hole_fraction": "high",
    "ellipse_dice": "low",
    "fit_residual": "high",
    "uncertain_band": "high",
    "uncertain_elsewhere": "high",
    "interior_prob": "low",
    "head_fraction": "both",
    "axis_ratio": "both",
    "content_fraction": "low",
    "content_mean": "both",
    "content_std": "both",
    "noise": "high",
}


@dataclass
class Item:
    name: str
    image: np.ndarray
    truth: np.ndarray | None
    pixel_size_mm: float
    hc_true_mm: float
    kind: str = "hc18"
    category: str = "hc18"


def hc18_items(records: Sequence[Record]) -> Iterable[Item]:
    for r in records:
        image, mask = load_pair(r)
        yield Item(r.name, image, mask, r.pixel_size_mm, float(r.hc_mm or 0))


def corpus_items(folder: str | Path) -> Iterable[Item]:
    folder = Path(folder)
    with (folder / "manifest.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            image = read_image(folder / "frames" / row["file"])
            truth = None
            if row["truth_mask"]:
                truth = (read_image(folder / "masks" / row["truth_mask"]) > 127).astype(np.uint8)
            yield Item(
                row["file"],
                image,
                truth,
                float(row["pixel_size_mm"]),
                float(row["hc_true_mm"]),
                row["kind"],
                row["category"],
            )


def dice(pred: np.ndarray, truth: np.ndarray | None) -> float:
    p = pred > 0
    if truth is None:
        return 0.0 if p.any() else 1.0
    t = truth > 0
    s = p.sum() + t.sum()
    return 1.0 if s == 0 else float(2 * (p & t).sum() / s)


def frame_rows(predictor: Any, items: Iterable[Item], thresholds: dict | None = None) -> list[dict]:
    """Run ``predictor`` on every item: error, Dice, features and verdict per frame."""
    from fetalseg.data.preprocess import mask_on_original

    rows = []
    for it in items:
        x, geom = predictor.preprocess(it.image)
        logits = predictor.logits(x)[0]
        mask = mask_on_original(logits, geom)
        m = measure_head(mask, it.pixel_size_mm)
        if m.found:
            err = abs(m.hc_mm - it.hc_true_mm) if it.truth is not None else math.inf
        else:
            err = it.hc_true_mm if it.truth is not None else 0.0
        q = assess(
            it.image, logits, mask, m.ellipse_px, m, it.pixel_size_mm, None, None, thresholds
        )
        feats = q.features.to_dict() if q.features is not None else {}
        rows.append(
            {
                "file": it.name,
                "kind": it.kind,
                "category": it.category,
                "hc_err_mm": err,
                "dsc": dice(mask, it.truth),
                "found": m.found,
                "verdict": q.verdict,
                "reasons": q.codes,
                **feats,
            }
        )
    return rows


def is_bad(r: dict) -> bool:
    return float(r["hc_err_mm"]) > 5.0 or float(r["dsc"]) < 0.90


def is_accurate(r: dict) -> bool:
    return float(r["hc_err_mm"]) <= 3.0 and float(r["dsc"]) >= 0.95


#: share of accurate frames each feature may flag ``check`` (the fitting rule)
CHECK_QUANTILE = 0.997
#: the least ``span`` of a feature (revision 2 of the rule): no accurate validation frame has a
#: hole, so a span of 0 made any hole, a pin-hole included, a ``reject``. A hole's area is a
#: share of the head region's; 0.01 puts ``check`` at 0.1 % and ``reject`` at 0.5 % of it.
MIN_SPAN = {"hole_fraction": 0.01}


def fit_thresholds(rows: Sequence[dict]) -> dict[str, Any]:
    """The fitting rule (decided before the test split was looked at):

    Reference frames R: the accurate (HC error <= 3 mm, DSC >= 95 %) frames among the rows
    given (the validation split and the failure corpus made from its subjects), excluding corpus
    frames that must never be good (truncated, non-head) and wrong calibrations. For each
    feature, with ``span`` = R's 5-95 % range: ``check`` at R's 0.997 quantile
    (:data:`CHECK_QUANTILE`) in the bad direction (both tails for two-sided features) moved
    outwards by 0.1 ``span``; ``reject`` at R's most extreme value moved outwards by 0.5
    ``span``. Integer-valued ``components`` checks at > 1 region (the quantile) and rejects
    above 3. Revision 2: ``span`` is at least :data:`MIN_SPAN` (``hole_fraction``: 0.01).
    """
    ref = [
        r for r in rows if is_accurate(r) and r["category"] in ("hc18", "scanner") and r["found"]
    ]
    out: dict[str, Any] = {}
    for name, direction in DIRECTIONS.items():
        v = np.array([float(r[name]) for r in ref], float)
        v = v[np.isfinite(v)]
        if v.size < 10:
            continue
        p5, p95 = np.percentile(v, [5, 95])
        span = max(float(p95 - p5), MIN_SPAN.get(name, 0.0))
        q = CHECK_QUANTILE
        if name == "components":
            out[name] = {"direction": "high", "check": float(np.quantile(v, q)), "reject": 3.0}
            continue
        if direction == "high":
            spec = {
                "check": float(np.quantile(v, q)) + 0.1 * span,
                "reject": float(v.max()) + 0.5 * span,
            }
        elif direction == "low":
            spec = {
                "check": float(np.quantile(v, 1 - q)) - 0.1 * span,
                "reject": float(v.min()) - 0.5 * span,
            }
        else:
            lo, hi = np.quantile(v, [(1 - q) / 2, 1 - (1 - q) / 2])
            spec = {
                "check": [float(lo) - 0.1 * span, float(hi) + 0.1 * span],
                "reject": [float(v.min()) - 0.5 * span, float(v.max()) + 0.5 * span],
            }
        out[name] = {"direction": direction, **spec}
    return out


#: the risk-coverage levels: the verdicts kept at each
LEVELS = (("good", (GOOD,)), ("good + check", (GOOD, CHECK)), ("all", (GOOD, CHECK, REJECT)))


def kept_by_level(
    verdicts: Sequence[str], adf_mm: Sequence[float], dsc: Sequence[float]
) -> list[dict[str, Any]]:
    """Risk-coverage of labelled frames: per level of :data:`LEVELS`, the frames kept, their
    share, and the mean HC ADF (mm) and DSC (0-1) of the kept frames (NaN when none is kept).
    """
    out = []
    n = len(verdicts)
    for label, levels in LEVELS:
        keep = [i for i, v in enumerate(verdicts) if v in levels]
        out.append(
            {
                "kept": label,
                "frames": len(keep),
                "share": len(keep) / n if n else math.nan,
                "adf_mm": float(np.mean([adf_mm[i] for i in keep])) if keep else math.nan,
                "dsc": float(np.mean([dsc[i] for i in keep])) if keep else math.nan,
            }
        )
    return out


def risk_coverage(rows: Sequence[dict]) -> list[str]:
    """Markdown: per verdict level kept (good; good+check; all), the share kept, HC error and
    DSC of kept frames; then the three targets."""
    lines = [
        "| kept | frames | share kept | HC error mean mm | HC error > 5 mm | DSC mean % "
        "| DSC < 90 % |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    n = len(rows)
    for label, levels in (
        ("good", {GOOD}),
        ("good + check", {GOOD, CHECK}),
        ("all", {GOOD, CHECK, REJECT}),
    ):
        kept = [r for r in rows if r["verdict"] in levels]
        measured = [r for r in kept if r["found"] and math.isfinite(float(r["hc_err_mm"]))]
        err = np.array([float(r["hc_err_mm"]) for r in measured])
        dsc = np.array([float(r["dsc"]) for r in kept])
        lines.append(
            f"| {label} | {len(kept)} | {100 * len(kept) / max(n, 1):.1f} % | "
            f"{err.mean() if err.size else float('nan'):.2f} | "
            f"{sum(is_bad(r) and float(r['hc_err_mm']) > 5 for r in kept)} | "
            f"{100 * dsc.mean() if dsc.size else float('nan'):.2f} | {int((dsc < 0.9).sum())} |"
        )
    bad = [r for r in rows if is_bad(r)]
    acc = [r for r in rows if is_accurate(r) and r["category"] in ("hc18", "scanner")]
    must = [r for r in rows if r["category"] in ("truncated", "non_head")]
    t1 = sum(r["verdict"] != GOOD for r in bad) / max(len(bad), 1)
    t2 = sum(r["verdict"] != GOOD for r in acc) / max(len(acc), 1)
    t3 = sum(r["verdict"] != GOOD for r in must) / max(len(must), 1)
    lines += [
        "",
        "| target | frames | measured | goal |",
        "|---|---:|---:|---|",
        f"| HC error > 5 mm or DSC < 90 %: check or reject | {len(bad)} | "
        f"{100 * t1:.1f} % | >= 90 % |",
        f"| HC error <= 3 mm and DSC >= 95 %: not good | {len(acc)} | {100 * t2:.1f} % | <= 5 % |",
        f"| truncated and non-head frames: check or reject | {len(must)} | "
        f"{100 * t3:.1f} % | >= 95 % |",
    ]
    return lines


def features_fields() -> list[str]:
    return list(Features.__dataclass_fields__)


def write_rows(rows: Sequence[dict], path: str | Path) -> None:
    fields = [
        "file",
        "kind",
        "category",
        "hc_err_mm",
        "dsc",
        "found",
        "verdict",
        "reasons",
        *features_fields(),
    ]
    with Path(path).open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)


def save_preview(image: np.ndarray, path: str | Path) -> None:
    write_image(path, image)
