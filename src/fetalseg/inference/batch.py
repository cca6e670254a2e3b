"""Folder (or single image) prediction: overlays, masks, a measurement table, HC18 submission.

Images are PNG, JPEG, BMP, TIFF or single-frame DICOM (told by content; in a folder, ``.dcm`` and
``.dicom`` files are listed too). A DICOM file's own pixel size is used unless the user gave one
(``--pixel-size``, or a ``--pixel-csv`` row for that file); the ``pixel_size_source`` column
says where each row's mm came from. A multi-frame DICOM is a clip (:mod:`fetalseg.inference.video`)
and gets an error row here.

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
from fetalseg.data.dicom import decode_dicom, dicom_frame_count, is_dicom
from fetalseg.data.io import decode_image, list_images, read_file_bytes
from fetalseg.errors import InputError
from fetalseg.inference.overlay import draw_overlay, measurement_lines
from fetalseg.inference.predictor import Predictor

FIELDS = (
    "file",
    "status",
    "pixel_size_mm",
    "pixel_size_source",
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


#: ``pixel_size_source`` of sizes the user gave; a DICOM file's is ``"dicom <its source>"``.
SOURCE_OPTION = "--pixel-size"
SOURCE_CSV = "--pixel-csv"

PixelSize = float | tuple[float, float]


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
    """An image file, or the images (DICOM included) of a folder (HC18 ``_Annotation`` files
    skipped)."""
    target = Path(target)
    if target.is_dir():
        images = list_images(target, dicom=True)
        if not images:
            raise InputError(f"{target}: no images found (png, jpg, bmp, tif, dcm)")
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
    ``masks/`` (optional) and ``hc18_submission.csv`` (when every image has a pixel size).

    Pixel size (mm per px), per file: ``pixel_size_mm`` for all, else the file's entry in
    ``pixel_sizes`` (by file name), else a DICOM file's own calibration, else none (px only).
    """
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
            source = None
            if size is not None:
                source = SOURCE_OPTION if pixel_size_mm is not None else SOURCE_CSV
            row, submission = predict_one(predictor, path, out, size, save_masks, source)
            rows.append(row)
            writer.writerow(row)
            f.flush()  # an interrupted batch keeps every finished row
            if submission is not None:
                challenge.append(submission)
    (out / "measurements.json").write_text(json.dumps(rows, indent=2))
    if challenge and len(challenge) == len(paths):
        write_challenge_csv(out / "hc18_submission.csv", challenge)
    return rows


def read_frame(path: Path) -> tuple[np.ndarray, PixelSize | None, str | None]:
    """``(image (H, W) uint8, pixel size in mm or None, its source)`` of an image or a
    single-frame DICOM file (told by content, whatever the suffix); only DICOM carries a size.

    :class:`InputError` naming the file for anything unreadable, and for a multi-frame DICOM
    (a clip, measured frame by frame on its own: ``fetalseg predict CLIP``).
    """
    data = read_file_bytes(path)
    if not is_dicom(data):
        return decode_image(data, str(path)), None, None
    n = dicom_frame_count(data, str(path))  # from the header: a clip's pixels are not decoded
    if n > 1:
        raise InputError(
            f"{path}: a DICOM clip of {n} frames, not an image; "
            f"pass it on its own: fetalseg predict {path}"
        )
    d = decode_dicom(data, str(path))
    return (d.frames[0], *d.calibration)


def _size_cell(size: PixelSize | None) -> object:
    """The ``pixel_size_mm`` cell: the number for square pixels, ``"x;y"`` (mm) otherwise.

    Shown to 12 significant digits: a DICOM's cm × 10 is ``0.30000000000000004`` for 0.03 cm,
    and the last digits are float noise, not calibration (the exact value is what is measured).
    """
    if size is None:
        return ""
    if isinstance(size, tuple):
        return f"{size[0]:.12g};{size[1]:.12g}"
    return float(f"{size:.12g}")


def predict_one(
    predictor: Predictor,
    path: Path,
    out: Path,
    pixel_size_mm: PixelSize | None,
    save_mask: bool,
    pixel_size_source: str | None = None,
) -> tuple[dict[str, object], ChallengeRow | None]:
    """Predict one file: its table row and, given a pixel size, its HC18 submission row.

    ``pixel_size_mm``: mm per px given by the user (one number, or ``(x, y)``), which wins over
    a DICOM file's own; ``pixel_size_source`` says where it came from (a table column).
    """
    if pixel_size_mm is None:
        pixel_size_source = None  # no size, so no source to show
    row: dict[str, object] = dict.fromkeys(FIELDS, "")
    row.update(
        file=path.name,
        pixel_size_mm=_size_cell(pixel_size_mm),
        pixel_size_source=pixel_size_source or "",
    )
    try:
        image, file_size, file_source = read_frame(path)
    except InputError as e:
        row.update(status="error", message=str(e))
        return row, None
    if pixel_size_mm is None and file_size is not None:
        pixel_size_mm = file_size
        row.update(pixel_size_mm=_size_cell(file_size), pixel_size_source=file_source)
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
