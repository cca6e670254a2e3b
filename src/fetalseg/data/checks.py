"""Data-quality checks on HC18 annotations: how well our masks reproduce the reference HC.

For every labelled image the outline is filled exactly as training does
(:func:`fetalseg.data.hc18.fill_outline`) and HC is measured from that mask with
:func:`fetalseg.biometry.measure_head`. The difference to the CSV's HC is the floor of our own
measurement error: what a perfect segmentation (the training target itself) would score against
the challenge reference.

The area check compares the filled mask's area with the area of the ellipse the CSV's HC
implies: the fitted outline ellipse's axis ratio, scaled so that its Ramanujan perimeter equals
the CSV HC (the perimeter is homogeneous of degree 1, so the scale is ``HC_csv / P(a, b)``).
A cv2-filled mask also covers pixels whose centres lie up to about half a pixel outside the
outline, so even a perfect annotation gives ``area_rel_diff`` of about ``+0.5 (1/a + 1/b)`` (a, b
the semi-axes in px): +0.4 % on average on HC18, +1.4 % for its smallest heads in px.
"""

from __future__ import annotations

import csv
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
from tqdm import tqdm

from fetalseg.biometry import measure_head
from fetalseg.biometry.ellipse import ramanujan_perimeter
from fetalseg.data.hc18 import (
    Record,
    fill_outline,
    fit_outline_ellipse,
    read_image_and_outline,
)
from fetalseg.errors import InputError

__all__ = [
    "AREA_LIMIT",
    "AnnotationCheck",
    "annotation_report",
    "check_record",
    "format_summary",
    "summarize_report",
    "write_report_csv",
]

AREA_LIMIT = 0.03
"""Relative area difference above which an image is counted as suspicious (3 %)."""


@dataclass(frozen=True)
class AnnotationCheck:
    """Checks for one labelled image. ``hc_mask_mm`` (and what depends on it) is ``None`` if no
    head could be measured in the filled mask (never expected for a valid annotation)."""

    file: str
    width: int
    height: int
    pixel_size_mm: float
    hc_csv_mm: float
    hc_mask_mm: float | None
    hc_diff_mm: float | None
    """``hc_mask_mm - hc_csv_mm``."""
    hc_outline_mm: float
    """Ramanujan perimeter of the ellipse fitted to the outline pixels (no mask involved)."""
    mask_area_mm2: float
    implied_area_mm2: float
    """``pi a b`` of the outline ellipse rescaled so its perimeter is ``hc_csv_mm``."""
    area_rel_diff: float
    """``mask_area_mm2 / implied_area_mm2 - 1``."""


def check_record(record: Record) -> AnnotationCheck:
    """:class:`AnnotationCheck` for one labelled record; :class:`InputError` if it has no
    annotation or HC, or its files are unreadable or of different sizes."""
    if record.annotation is None or record.hc_mm is None:
        raise InputError(f"{record.image}: not labelled (no annotation or HC)")
    image, outline = read_image_and_outline(record)
    try:
        _, (d1, d2), _ = fit_outline_ellipse(outline)
        mask = fill_outline(outline)
    except InputError as e:
        raise InputError(f"{record.annotation}: {e}") from None
    px = record.pixel_size_mm
    a_mm, b_mm = d1 / 2.0 * px, d2 / 2.0 * px
    hc_outline = ramanujan_perimeter(a_mm, b_mm)
    scale = record.hc_mm / hc_outline
    implied_area = math.pi * a_mm * b_mm * scale * scale
    mask_area = float(mask.sum()) * px * px
    hc_mask = measure_head(mask, px).hc_mm
    return AnnotationCheck(
        file=record.name,
        width=int(image.shape[1]),
        height=int(image.shape[0]),
        pixel_size_mm=px,
        hc_csv_mm=record.hc_mm,
        hc_mask_mm=hc_mask,
        hc_diff_mm=None if hc_mask is None else hc_mask - record.hc_mm,
        hc_outline_mm=hc_outline,
        mask_area_mm2=mask_area,
        implied_area_mm2=implied_area,
        area_rel_diff=mask_area / implied_area - 1.0,
    )


def annotation_report(records: Iterable[Record], progress: bool = False) -> list[AnnotationCheck]:
    """:func:`check_record` for every labelled record (unlabelled ones are skipped), in order.

    :class:`InputError` if there is no labelled record at all.
    """
    labelled = [r for r in records if r.annotation is not None and r.hc_mm is not None]
    if not labelled:
        raise InputError("no labelled images to check (annotation and HC needed)")
    return [
        check_record(r) for r in tqdm(labelled, desc="check-data", disable=not progress, unit="img")
    ]


def _f(x: float | np.floating) -> float:
    return float(x)


def summarize_report(checks: Sequence[AnnotationCheck]) -> dict:
    """Summary statistics of :func:`annotation_report`'s result (JSON-serialisable).

    ``hc_diff_mm`` is over the images whose mask gave an HC (``n_measured``); ``sd`` is the
    sample standard deviation (ddof=1; 0 for a single image); ``within_*`` are fractions in
    ``[0, 1]``. ``area_rel_diff.worst`` is the signed value of the largest ``|area_rel_diff|``.
    """
    if not checks:
        raise InputError("no checks to summarise")
    measured = [c for c in checks if c.hc_diff_mm is not None]
    hc: dict[str, object] = {}
    if measured:
        d = np.array([c.hc_diff_mm for c in measured], float)
        worst = int(np.argmax(np.abs(d)))
        hc = {
            "mean": _f(d.mean()),
            "mean_abs": _f(np.abs(d).mean()),
            "sd": _f(d.std(ddof=1)) if len(d) > 1 else 0.0,
            "max_abs": _f(abs(d[worst])),
            "max_abs_signed": _f(d[worst]),
            "max_abs_file": measured[worst].file,
            "within_1mm": _f(np.mean(np.abs(d) <= 1.0)),
            "within_3mm": _f(np.mean(np.abs(d) <= 3.0)),
        }
    r = np.array([c.area_rel_diff for c in checks], float)
    worst_area = int(np.argmax(np.abs(r)))
    sizes = Counter(f"{c.width}x{c.height}" for c in checks)
    return {
        "n": len(checks),
        "n_measured": len(measured),
        "hc_diff_mm": hc,
        "area_rel_diff": {
            "mean": _f(r.mean()),
            "mean_abs": _f(np.abs(r).mean()),
            "worst": _f(r[worst_area]),
            "worst_file": checks[worst_area].file,
            "limit": AREA_LIMIT,
            "n_over_limit": int(np.sum(np.abs(r) > AREA_LIMIT)),
        },
        "image_sizes": dict(sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0]))),
    }


def format_summary(summary: dict, checks: Sequence[AnnotationCheck], worst: int = 5) -> str:
    """Short Markdown summary, with the ``worst`` images by ``|hc_diff_mm|``."""
    n, hc, area = summary["n"], summary["hc_diff_mm"], summary["area_rel_diff"]
    lines = [f"## HC18 annotation check ({n} labelled images)", ""]
    if summary["n_measured"] < n:
        lines += [f"**{n - summary['n_measured']} images gave no head in the filled mask.**", ""]
    lines += ["| quantity | value |", "|---|---|"]
    if hc:
        lines += [
            f"| HC diff (mask - CSV), mean | {hc['mean']:+.3f} mm |",
            f"| HC diff, mean abs | {hc['mean_abs']:.3f} mm |",
            f"| HC diff, sd | {hc['sd']:.3f} mm |",
            f"| HC diff, max abs | {hc['max_abs_signed']:+.3f} mm ({hc['max_abs_file']}) |",
            f"| within ±1 mm / ±3 mm | {hc['within_1mm']:.1%} / {hc['within_3mm']:.1%} |",
        ]
    lines += [
        f"| area rel diff, mean abs | {area['mean_abs']:.2%} |",
        f"| area rel diff, worst | {area['worst']:+.2%} ({area['worst_file']}) |",
        f"| area rel diff > {area['limit']:.0%} | {area['n_over_limit']} images |",
        "| image sizes | "
        + ", ".join(f"{k}: {v}" for k, v in summary["image_sizes"].items())
        + " |",
    ]
    ranked = sorted(
        (c for c in checks if c.hc_diff_mm is not None),
        key=lambda c: abs(c.hc_diff_mm or 0.0),
        reverse=True,
    )[:worst]
    if ranked:
        lines += [
            "",
            f"Worst {len(ranked)} by |HC diff|:",
            "",
            "| file | size | HC CSV (mm) | HC mask (mm) | diff (mm) | area diff |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {c.file} | {c.width}x{c.height} | {c.hc_csv_mm:.2f} | {c.hc_mask_mm:.2f} "
            f"| {c.hc_diff_mm:+.2f} | {c.area_rel_diff:+.2%} |"
            for c in ranked
        ]
    return "\n".join(lines)


def write_report_csv(path: str | Path, checks: Iterable[AnnotationCheck]) -> None:
    """One row per image, the :class:`AnnotationCheck` fields as columns (empty for ``None``)."""
    names = [f.name for f in fields(AnnotationCheck)]
    with Path(path).open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=names, lineterminator="\n")
        w.writeheader()
        for c in checks:
            w.writerow({k: "" if v is None else v for k, v in asdict(c).items()})
