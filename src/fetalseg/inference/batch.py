"""Folder (or single image) prediction: overlays, masks, a measurement table, HC18 submission.

One bad file is reported in its row (status ``error``) and the rest are processed. Existing
results are never overwritten unless asked.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from fetalseg.biometry import ChallengeRow, challenge_row, ramanujan_perimeter, write_challenge_csv
from fetalseg.biometry.ellipse import measure_head
from fetalseg.data.io import list_images, read_image
from fetalseg.errors import InputError
from fetalseg.inference.overlay import draw_overlay, measurement_lines
from fetalseg.inference.predictor import Predictor

FIELDS = (
    "file",
    "status",
    "pixel_size_mm",
    "hc_mm",
    "bpd_mm",
    "ofd_mm",
    "ga_weeks",
    "hc_px",
    "center_x_px",
    "center_y_px",
    "semi_axis_a_px",
    "semi_axis_b_px",
    "angle_rad",
    "message",
)


def read_pixel_csv(path: str | Path) -> dict[str, float]:
    """``filename -> pixel size (mm)`` from an HC18-style CSV (first two columns).

    Rows with a missing, non-numeric, non-finite or non-positive size raise :class:`InputError`
    naming the row, so no measurement is ever made with an invented scale.
    """
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
    except OSError as e:
        raise InputError(f"{path}: cannot read CSV ({e.strerror or e})") from None
    sizes: dict[str, float] = {}
    for i, row in enumerate(rows[1:], start=2):
        if not row or not row[0].strip():
            continue
        try:
            value = float(row[1])
        except (IndexError, ValueError):
            raise InputError(f"{path}: line {i}: no numeric pixel size for {row[0]!r}") from None
        if not math.isfinite(value) or value <= 0:
            raise InputError(f"{path}: line {i}: pixel size must be positive, got {row[1]!r}")
        sizes[row[0].strip()] = value
    return sizes


def collect_inputs(target: str | Path) -> list[Path]:
    """An image file, or the images of a folder (HC18 ``_Annotation`` files skipped)."""
    target = Path(target)
    if target.is_dir():
        images = list_images(target)
        if not images:
            raise InputError(f"{target}: no images found (png, jpg, bmp, tif)")
        return images
    if not target.exists():
        raise InputError(f"{target}: no such file or folder")
    return [target]


def predict_files(
    predictor: Predictor,
    paths: Sequence[Path],
    out: str | Path,
    pixel_size_mm: float | None = None,
    pixel_sizes: Mapping[str, float] | None = None,
    save_masks: bool = False,
    overwrite: bool = False,
    progress: bool = True,
) -> list[dict[str, object]]:
    """Predict and measure every path; write ``measurements.csv/json``, ``overlays/``,
    ``masks/`` (optional) and ``hc18_submission.csv`` (when every image has a pixel size)."""
    out = Path(out)
    table = out / "measurements.csv"
    if table.exists() and not overwrite:
        raise InputError(f"{out}: already holds results (measurements.csv); pass --overwrite")
    (out / "overlays").mkdir(parents=True, exist_ok=True)
    if save_masks:
        (out / "masks").mkdir(exist_ok=True)
    rows: list[dict[str, object]] = []
    challenge = []
    with table.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        for path in tqdm(paths, desc="predict", unit="img", disable=not progress):
            size = (
                pixel_size_mm if pixel_size_mm is not None else (pixel_sizes or {}).get(path.name)
            )
            row, submission = predict_one(predictor, path, out, size, save_masks)
            rows.append(row)
            writer.writerow(row)
            f.flush()  # an interrupted batch keeps every finished row
            if submission is not None:
                challenge.append(submission)
    (out / "measurements.json").write_text(json.dumps(rows, indent=2))
    if challenge and len(challenge) == len(paths):
        write_challenge_csv(out / "hc18_submission.csv", challenge)
    return rows


def predict_one(
    predictor: Predictor, path: Path, out: Path, pixel_size_mm: float | None, save_mask: bool
) -> tuple[dict[str, object], ChallengeRow | None]:
    """Predict one file: its table row and, given a pixel size, its HC18 submission row."""
    row: dict[str, object] = dict.fromkeys(FIELDS, "")
    row.update(file=path.name, pixel_size_mm="" if pixel_size_mm is None else pixel_size_mm)
    try:
        image = read_image(path)
    except InputError as e:
        row.update(status="error", message=str(e))
        return row, None
    pred = predictor.predict(image, pixel_size_mm)
    submission = None
    m = pred.measurement  # None without a pixel size: then no mm at all, never invented ones
    fit = m if m is not None else measure_head(pred.mask, 1.0)  # px fields are the same
    # Without a pixel size there is no GA to be out of range: a found head is simply "ok".
    row["status"] = fit.status.value if m is not None or not fit.found else "ok"
    if fit.found:
        row.update(
            hc_px=ramanujan_perimeter(fit.semi_axis_a_px, fit.semi_axis_b_px),
            center_x_px=fit.center_x_px,
            center_y_px=fit.center_y_px,
            semi_axis_a_px=fit.semi_axis_a_px,
            semi_axis_b_px=fit.semi_axis_b_px,
            angle_rad=fit.angle_px_rad,
        )
    if m is not None:
        row.update(
            hc_mm=m.hc_mm or "", bpd_mm=m.bpd_mm or "", ofd_mm=m.ofd_mm or "", message=m.message
        )
        row["ga_weeks"] = "" if m.ga_weeks is None else m.ga_weeks
        submission = challenge_row(path.name, m)
    else:
        row["message"] = "pixel size unknown: measured in px only" if fit.found else fit.message
    lines = measurement_lines(m, row["hc_px"] or None)  # type: ignore[arg-type]
    overlay = draw_overlay(image, pred.mask, fit.ellipse_px, lines)
    cv2.imwrite(str(out / "overlays" / f"{path.stem}.png"), overlay)
    if save_mask:
        cv2.imwrite(str(out / "masks" / f"{path.stem}.png"), (pred.mask * 255).astype(np.uint8))
    return row, submission
