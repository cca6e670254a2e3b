"""Folder (or single image) prediction: overlays, masks, a measurement table, HC18 submission.

Images are PNG, JPEG, BMP, TIFF or single-frame DICOM (told by content; in a folder, ``.dcm`` and
``.dicom`` files are listed too). A DICOM file's own pixel size is used; the one the user gave
(``--pixel-size``, or a ``--pixel-csv`` row for that file) measures files without one
(:func:`fetalseg.result.resolve_calibration`; a disagreeing value is named in the row's message).
The ``pixel_size_source`` column says where each row's mm came from. A multi-frame DICOM is a
clip (:mod:`fetalseg.inference.video`) and gets an error row here.

One bad file is reported in its row (status ``error``) and the rest are processed; when every
file failed nothing is written (:class:`NothingMeasured`). Existing results are never
overwritten unless asked, and then replaced as a whole (:mod:`fetalseg.destination`).
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from fetalseg.biometry import ChallengeRow, challenge_row, write_challenge_csv
from fetalseg.data.dicom import decode_dicom, dicom_frame_count, is_dicom
from fetalseg.data.io import (
    decode_image,
    list_images,
    one_value_per_name,
    read_csv_rows,
    read_file_bytes,
    require_regular_file,
    write_image,
)
from fetalseg.destination import output_dir
from fetalseg.errors import InputError
from fetalseg.inference.overlay import draw_overlay, measurement_lines
from fetalseg.inference.predictor import Predictor
from fetalseg.quality import Quality, check_pixel_size
from fetalseg.result import FrameResult, as_pixel_size, frame_result, resolve_calibration
from fetalseg.standards import ga_label

FIELDS = (
    "file",
    "status",
    "pixel_size_mm",
    "pixel_size_source",
    "hc_mm",
    "bpd_mm",
    "ofd_mm",
    "ga_weeks",
    "ga_standard",
    "hc_px",
    "center_x_px",
    "center_y_px",
    "semi_axis_a_px",
    "semi_axis_b_px",
    "angle_px_rad",
    "quality",
    "quality_reasons",
    "message",
)


#: ``pixel_size_source`` of sizes the user gave; a DICOM file's is ``"dicom <its source>"``.
SOURCE_OPTION = "--pixel-size"
SOURCE_CSV = "--pixel-csv"

PixelSize = float | tuple[float, float]


class NothingMeasured(InputError):
    """Every input of a batch failed: nothing was written (``out`` left as it was, an earlier
    run's results included). ``rows`` are the error rows, one per input, each naming its file;
    the message is the one error, or the count and the first."""

    def __init__(self, rows: list[dict[str, object]]) -> None:
        self.rows = rows
        first = str(rows[0]["message"])
        super().__init__(first if len(rows) == 1 else f"all {len(rows)} inputs failed ({first})")


#: header names (lower case, letters only) of a pixel-size CSV's columns
_FILE_HEADERS = {"filename", "file", "image", "name"}
_SIZE_HEADERS = {"pixelsizemm", "pixelsize", "pixelspacingmm", "mmperpixel", "mmperpx"}


def _header_key(cell: str) -> str:
    return re.sub(r"[^a-z]", "", cell.lower())


def read_pixel_csv(path: str | Path) -> dict[str, float]:
    """``filename -> pixel size (mm)`` from a UTF-8 CSV with a header row.

    Columns are found by their header names, not their position: the file name
    (``filename``, ``file``, ``image``) and the pixel size (HC18's ``pixel size(mm)``, or
    ``pixel_size_mm``; case, spaces and punctuation ignored), so a CSV whose second column is
    something else (e.g. HC18's head circumference) is never read as pixel sizes. Sizes are
    checked like ``--pixel-size`` (:func:`check_pixel_size`). A file listed twice with
    different sizes is refused (which would be measured?); identical duplicates are fine.
    Every problem raises :class:`InputError` naming the file and line.
    """
    path = Path(path)
    rows = read_csv_rows(path)
    if not rows:
        raise InputError(f"{path}: empty CSV (expected a header filename,pixel_size_mm)")
    keys = [_header_key(c) for c in rows[0]]
    name_col = next((i for i, k in enumerate(keys) if k in _FILE_HEADERS), None)
    size_col = next((i for i, k in enumerate(keys) if k in _SIZE_HEADERS), None)
    if name_col is None or size_col is None:
        found = ",".join(c[:40] for c in rows[0][:10])
        raise InputError(
            f"{path}: header {found!r} has no "
            + ("file name" if name_col is None else "pixel size")
            + " column (expected e.g. 'filename,pixel size(mm)' or 'filename,pixel_size_mm')"
        )
    entries = []
    for i, row in enumerate(rows[1:], start=2):
        if not row or name_col >= len(row) or not row[name_col].strip():
            continue
        name = row[name_col].strip()
        cell = row[size_col].strip() if size_col < len(row) else ""
        try:
            value = float(cell)
        except ValueError:
            raise InputError(f"{path}: line {i}: no numeric pixel size for {name!r}") from None
        entries.append((i, name, check_pixel_size(value, f"{path}: line {i}: {name!r}")))
    return one_value_per_name(path, entries, show=lambda mm: f"{mm:g} mm")


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
    return [require_regular_file(target)]  # a device or FIFO is refused before it is opened


def predict_files(
    predictor: Predictor,
    paths: Sequence[Path],
    out: str | Path,
    pixel_size_mm: float | None = None,
    pixel_sizes: Mapping[str, float] | None = None,
    save_masks: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    on_frame: Callable[[Path, np.ndarray, FrameResult], object] | None = None,
) -> list[dict[str, object]]:
    """Predict and measure every path; write ``measurements.csv/json``, ``overlays/``,
    ``masks/`` (optional) and ``hc18_submission.csv`` (when every image has a pixel size).
    ``on_frame(path, image, result)`` is called for each measured file (e.g. the DICOM SR/SEG
    writer of :func:`fetalseg.outputs.build.frame_dicom_writer`).

    Pixel size (mm per px), per file: ``pixel_size_mm`` for all, else the file's entry in
    ``pixel_sizes`` (by file name), else a DICOM file's own calibration, else none (px only; a
    file the CSV does not list is warned about on stderr and in its row's message).

    ``out`` follows :func:`fetalseg.destination.output_dir`: earlier results are
    refused unless ``overwrite``, and then replaced as a whole (no file of the previous run is
    left beside the new ones) once the batch finished; an interrupted batch leaves ``out`` as it
    was, and so does a batch where every file failed (nothing was measured: a folder of error
    rows alone would replace earlier results with nothing).

    Raises:
        NothingMeasured: every path failed (its ``rows`` say why, file by file).
    """
    with output_dir(out, overwrite) as tmp:
        (tmp / "overlays").mkdir()
        if save_masks:
            (tmp / "masks").mkdir()
        rows: list[dict[str, object]] = []
        challenge = []
        # surrogateescape: a file name that is not UTF-8 is written as its own bytes
        table = tmp / "measurements.csv"
        with table.open("w", newline="", encoding="utf-8", errors="surrogateescape") as f:
            writer = csv.DictWriter(f, fieldnames=FIELDS)
            writer.writeheader()
            for path in tqdm(paths, desc="predict", unit="img", disable=not progress):
                row, submission = _predict_listed(
                    predictor, path, tmp, pixel_size_mm, pixel_sizes, save_masks, on_frame
                )
                rows.append(row)
                writer.writerow({k: row[k] for k in FIELDS})
                if submission is not None:
                    challenge.append(submission)
        if rows and all(r["status"] == "error" for r in rows):
            raise NothingMeasured(rows)  # inside output_dir: the temporary folder is discarded
        json_rows = [_json_row(r) for r in rows]
        (tmp / "measurements.json").write_text(json.dumps(json_rows, indent=2), encoding="utf-8")
        if challenge and len(challenge) == len(paths):
            write_challenge_csv(tmp / "hc18_submission.csv", challenge)
    return rows


def _json_row(row: dict[str, object]) -> dict[str, object]:
    """A table row for ``measurements.json``: the reasons as dicts, not the CSV's joined text."""
    out = {k: v for k, v in row.items() if k != "_reasons"}
    out["quality_reasons"] = row.get("_reasons", [])
    return out


def _predict_listed(
    predictor: Predictor,
    path: Path,
    out: Path,
    pixel_size_mm: float | None,
    pixel_sizes: Mapping[str, float] | None,
    save_masks: bool,
    on_frame: Callable[[Path, np.ndarray, FrameResult], object] | None = None,
) -> tuple[dict[str, object], ChallengeRow | None]:
    """:func:`predict_one` with the pixel size the user gave for ``path`` (``--pixel-size``,
    else its ``--pixel-csv`` row); an image the CSV does not list (and without a calibration of
    its own) is warned about, on stderr and in its row."""
    size = pixel_size_mm if pixel_size_mm is not None else (pixel_sizes or {}).get(path.name)
    source = None
    if size is not None:
        source = SOURCE_OPTION if pixel_size_mm is not None else SOURCE_CSV
    row, submission = predict_one(predictor, path, out, size, save_masks, source, on_frame=on_frame)
    unlisted = pixel_sizes is not None and pixel_size_mm is None and size is None
    if unlisted and row["status"] != "error" and not str(row["pixel_size_source"]):
        warning = f"{path.name}: not listed in the pixel-size CSV: measured in px only"
        row["message"] = f"{warning}. {row['message']}".strip()
        print(f"fetalseg predict: warning: {warning}", file=sys.stderr)
    return row, submission


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
    quality_cells(row, result.quality)
    return row


def predict_one(
    predictor: Predictor,
    path: Path,
    out: Path,
    pixel_size_mm: PixelSize | None,
    save_mask: bool,
    pixel_size_source: str | None = None,
    on_frame: Callable[[Path, np.ndarray, FrameResult], object] | None = None,
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
    # a given size the file's own calibration overrode is a quality reason when they disagree
    other = as_pixel_size(pixel_size_mm) if file_size is not None else None
    pred = predictor.predict(image, size, source, other)
    result = frame_result(
        pred.mask, pred.measurement, size, source, name=path.name, note=note, quality=pred.quality
    )
    if on_frame is not None:
        on_frame(path, image, result)
    m = result.measurement  # None without a pixel size: then no mm at all, never invented ones
    lines = measurement_lines(m, result.px()["hc_px"])
    overlay = draw_overlay(image, pred.mask, result.ellipse_px, lines, pred.quality)
    write_image(out / "overlays" / f"{path.stem}.png", overlay)
    if save_mask:
        write_image(out / "masks" / f"{path.stem}.png", (pred.mask * 255).astype(np.uint8))
    submission = challenge_row(path.name, m) if m is not None else None
    return result_row(result), submission


def quality_cells(row: dict[str, object], quality: Quality | None) -> None:
    """Fill ``quality`` (the verdict) and ``quality_reasons`` (``code: sentence`` joined by
    `` | ``) of a table row; the reasons as dicts under ``_reasons`` (for the JSON)."""
    if quality is None:
        return
    row["quality"] = quality.verdict
    row["quality_reasons"] = " | ".join(f"{r.code}: {r.message}" for r in quality.reasons)
    row["_reasons"] = [r.to_dict() for r in quality.reasons]


def _fmt(x: object, spec: str) -> str:
    return "-" if x in ("", None) else format(float(x), spec)  # type: ignore[arg-type]


def ga_text(row: Mapping[str, object]) -> str:
    """A row's GA with its standard named, e.g. ``GA 19.8 wk (INTERGROWTH-21st)``, or ``GA out
    of range``; ``row``: a frame's or a clip summary's ``ga_weeks`` and ``ga_standard``."""
    if row.get("ga_weeks") in ("", None):
        return "GA out of range"
    return f"GA {_fmt(row['ga_weeks'], '.1f')} wk ({ga_label(str(row['ga_standard']))})"


def report_lines(rows: Sequence[Mapping[str, object]], detail_limit: int = 20) -> list[str]:
    """What ``fetalseg predict`` prints: one line per file (HC, BPD, OFD, GA, verdict and its
    first reason) for up to ``detail_limit`` files, else a summary by verdict; a line when
    files had no pixel size."""
    out: list[str] = []
    if len(rows) <= detail_limit:
        for r in rows:
            if r["status"] == "error":
                continue
            mm = r["hc_mm"] not in ("", None)
            nums = (
                f"HC {_fmt(r['hc_mm'], '.1f')} mm, BPD {_fmt(r['bpd_mm'], '.1f')} mm, "
                f"OFD {_fmt(r['ofd_mm'], '.1f')} mm, {ga_text(r)}"
                if mm
                else "no head"
                if r["hc_px"] in ("", None)
                else f"HC {_fmt(r['hc_px'], '.0f')} px (no pixel size)"
            )
            why = str(r.get("quality_reasons") or "").split(" | ")[0]
            why = why.split(": ", 1)[-1] if why else ""
            out.append(
                f"{r['file']}: {r['status']}, {nums}; {r['quality']}" + (f" ({why})" if why else "")
            )
    verdicts: dict[str, int] = {}
    for r in rows:
        if r["status"] != "error":
            verdicts[str(r["quality"])] = verdicts.get(str(r["quality"]), 0) + 1
    if verdicts:
        out.append(
            "quality: "
            + ", ".join(f"{verdicts[k]} {k}" for k in ("good", "check", "reject") if k in verdicts)
        )
    no_size = sum(1 for r in rows if r["status"] != "error" and not r["pixel_size_mm"])
    if no_size:
        out.append(
            f"{no_size} of {len(rows)} images had no pixel size (--pixel-size or --pixel-csv): "
            "measured in px only"
        )
    return out
