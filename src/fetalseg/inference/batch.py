"""Folder (or single image) prediction: overlays, masks, a measurement table, HC18 submission.

Images are PNG, JPEG, BMP, TIFF or single-frame DICOM (told by content; in a folder, ``.dcm`` and
``.dicom`` files are listed too). A DICOM file's own pixel size is used; the one the user gave
(``--pixel-size``, or a ``--pixel-csv`` row for that file) measures files without one
(:func:`fetalseg.result.resolve_calibration`; a disagreeing value is named in the row's message).
The ``pixel_size_source`` column says where each row's mm came from. A multi-frame DICOM is a
clip (:mod:`fetalseg.inference.video`) and gets an error row here.

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

from fetalseg.biometry import ChallengeRow, challenge_row, write_challenge_csv
from fetalseg.data.dicom import decode_dicom, dicom_frame_count, is_dicom
from fetalseg.data.io import decode_image, list_images, read_file_bytes
from fetalseg.errors import InputError
from fetalseg.inference.overlay import draw_overlay, measurement_lines
from fetalseg.inference.predictor import Predictor
from fetalseg.result import FrameResult, frame_result, resolve_calibration

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
    "angle_px_rad",
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
    if isinstance(size, tuple) and size[0] != size[1]:
        return f"{size[0]:.12g};{size[1]:.12g}"
    return float(f"{size[0] if isinstance(size, tuple) else size:.12g}")


def result_row(result: FrameResult) -> dict[str, object]:
    """``measurements.csv``'s row of a :class:`~fetalseg.result.FrameResult` (empty cells for
    unknown values); ``message`` carries the note on the input, if any."""
    d = result.to_dict()
    row: dict[str, object] = {k: "" if d.get(k) is None else d[k] for k in FIELDS}
    row.update(
        file=result.name,
        pixel_size_mm=_size_cell(result.pixel_size_mm),
        pixel_size_source=result.pixel_size_source or "",
        message=" ".join(x for x in (result.message, result.note) if x),
    )
    return row


def predict_one(
    predictor: Predictor,
    path: Path,
    out: Path,
    pixel_size_mm: PixelSize | None,
    save_mask: bool,
    pixel_size_source: str | None = None,
) -> tuple[dict[str, object], ChallengeRow | None]:
    """Predict one file: its table row and, given a pixel size, its HC18 submission row.

    ``pixel_size_mm``: mm per px given by the user (one number, or ``(x, y)``), used when the
    file has no calibration of its own (:func:`fetalseg.result.resolve_calibration`);
    ``pixel_size_source`` says where it came from (a table column).
    """
    try:
        image, file_size, file_source = read_frame(path)
    except InputError as e:
        row: dict[str, object] = dict.fromkeys(FIELDS, "")
        row.update(file=path.name, status="error", message=str(e))
        return row, None
    size, source, note = resolve_calibration(
        file_size, file_source, pixel_size_mm, pixel_size_source
    )
    pred = predictor.predict(image, size)
    result = frame_result(pred.mask, pred.measurement, size, source, name=path.name, note=note)
    m = result.measurement  # None without a pixel size: then no mm at all, never invented ones
    lines = measurement_lines(m, result.px()["hc_px"])
    overlay = draw_overlay(image, pred.mask, result.ellipse_px, lines)
    cv2.imwrite(str(out / "overlays" / f"{path.stem}.png"), overlay)
    if save_mask:
        cv2.imwrite(str(out / "masks" / f"{path.stem}.png"), (pred.mask * 255).astype(np.uint8))
    submission = challenge_row(path.name, m) if m is not None else None
    return result_row(result), submission
