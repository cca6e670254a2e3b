"""Reading HC18 in its original layout.

van den Heuvel et al., "Automated measurement of fetal head circumference using 2D ultrasound
images", PLoS ONE 2018; data: Zenodo doi:10.5281/zenodo.1327317 (CC BY 4.0).

A labelled image ``training_set/NNN[_k]HC.png`` has an outline ``NNN[_k]HC_Annotation.png``
(the expert's ellipse, a thin 0/255 curve) and a CSV row ``filename,pixel size(mm),head
circumference (mm)``. ``NNN`` is the subject: ``NNN_2HC.png`` is another image of subject ``NNN``.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from fetalseg.data.io import one_value_per_name, read_csv_rows, read_image
from fetalseg.errors import InputError

_IMAGE_RE = re.compile(r"^(?P<subject>\d+)(?:_(?P<k>\d+))?_?HC\.png$", re.IGNORECASE)

TRAIN_CSV = "training_set_pixel_size_and_HC.csv"
TEST_CSV = "test_set_pixel_size.csv"


@dataclass(frozen=True)
class Record:
    """One HC18 image. ``annotation`` is ``None`` for the unlabelled test set."""

    image: Path
    subject: str
    pixel_size_mm: float
    hc_mm: float | None = None
    annotation: Path | None = None

    @property
    def name(self) -> str:
        return self.image.name


def subject_of(filename: str) -> str:
    """``'012_2HC.png' -> '012'``; raises :class:`InputError` for names outside HC18's scheme."""
    m = _IMAGE_RE.match(Path(filename).name)
    if not m:
        raise InputError(f"{filename}: not an HC18 image name (expected NNN_HC.png or NNN_kHC.png)")
    return m.group("subject")


def _read_csv(path: Path) -> dict[str, list[str]]:
    """``file name -> the row's other cells`` of an HC18 CSV (UTF-8; header skipped).

    A file listed twice with different values is refused (which row would be used?), naming
    both lines; identical duplicate rows are fine."""
    rows = read_csv_rows(path)
    if not rows:
        raise InputError(f"{path}: empty CSV")
    entries = (
        (line, r[0].strip(), [c.strip() for c in r[1:]])
        for line, r in enumerate(rows[1:], start=2)
        if r and r[0].strip()
    )
    return one_value_per_name(path, entries, show=",".join)


def _cell(row: list[str], i: int) -> str:
    """Value ``i`` of a CSV row after the file name; ``""`` where the row is too short."""
    return row[i] if i < len(row) else ""


def _positive_float(value: str, where: str) -> float:
    if not value:
        raise InputError(f"{where}: missing in the CSV")
    try:
        x = float(value)
    except ValueError:
        raise InputError(f"{where}: not a number: {value!r}") from None
    if not math.isfinite(x) or x <= 0:
        raise InputError(f"{where}: must be a positive finite number, got {value!r}")
    return x


def read_records(root: str | Path, split: str = "training_set") -> list[Record]:
    """List the images of ``root/split`` with their CSV values, sorted by file name.

    ``split`` is ``"training_set"`` (labelled: annotation and HC required) or ``"test_set"``.
    Images without a CSV row, or labelled images without an annotation, raise
    :class:`InputError` naming the file; CSV rows without an image are ignored.
    """
    root = Path(root)
    folder = root / split
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder (expected HC18's original layout)")
    labelled = split == "training_set"
    table = _read_csv(root / (TRAIN_CSV if labelled else TEST_CSV))
    records = []
    for image in sorted(folder.glob("*HC.png")):
        row = table.get(image.name)
        if row is None:
            raise InputError(f"{image}: no row in the pixel-size CSV")
        pixel = _positive_float(_cell(row, 0), f"{image.name} pixel size")
        hc = annotation = None
        if labelled:
            hc = _positive_float(_cell(row, 1), f"{image.name} head circumference")
            annotation = image.with_name(image.stem + "_Annotation.png")
            if not annotation.is_file():
                raise InputError(f"{image}: annotation {annotation.name} is missing")
        records.append(Record(image, subject_of(image.name), pixel, hc, annotation))
    if not records:
        raise InputError(f"{folder}: no HC18 images (*HC.png) found")
    return records


def read_gray(path: str | Path) -> np.ndarray:
    """Decode an image file to ``(H, W) uint8``; :class:`InputError` if it is not an image.

    Through :func:`fetalseg.data.io.read_image`: the size is checked before the pixels are
    decoded (a decompression bomb in a data folder is refused, not decoded). Any size from 1x1
    up is read (an outline of the wrong size is reported against its image by the caller).
    """
    return read_image(path, min_side=1)


def fit_outline_ellipse(
    outline: np.ndarray,
) -> tuple[tuple[float, float], tuple[float, float], float]:
    """Least-squares ellipse through the outline pixels, OpenCV's ``((cx, cy), (d1, d2), deg)``.

    Fitting to all pixels of the drawn curve is immune to gaps in it (a flood fill would leak).
    """
    ys, xs = np.nonzero(outline > 127)
    if len(xs) < 5:
        raise InputError("annotation has fewer than 5 outline pixels")
    pts = np.column_stack([xs, ys]).astype(np.float32)
    return cv2.fitEllipse(pts)


def fill_outline(outline: np.ndarray) -> np.ndarray:
    """Filled head mask ``(H, W) uint8 {0, 1}`` from an HC18 outline of the same size."""
    (cx, cy), (d1, d2), angle = fit_outline_ellipse(outline)
    mask = np.zeros(outline.shape[:2], np.uint8)
    # cv2.ellipse wants integer geometry: draw at 1/16 px precision via the shift argument.
    s = 16
    cv2.ellipse(
        mask,
        (round(cx * s), round(cy * s)),
        (round(d1 / 2 * s), round(d2 / 2 * s)),
        angle,
        0,
        360,
        1,
        thickness=-1,
        lineType=cv2.LINE_8,
        shift=4,
    )
    return mask


def read_image_and_outline(record: Record) -> tuple[np.ndarray, np.ndarray]:
    """``(image, outline)``, both ``(H, W) uint8``; :class:`InputError` naming the file if the
    record has no annotation or the two differ in size."""
    image = read_gray(record.image)
    if record.annotation is None:
        raise InputError(f"{record.image}: has no annotation")
    outline = read_gray(record.annotation)
    if outline.shape != image.shape:
        raise InputError(
            f"{record.annotation}: size {outline.shape[1]}x{outline.shape[0]} differs from "
            f"its image's {image.shape[1]}x{image.shape[0]}"
        )
    return image, outline


def load_pair(record: Record) -> tuple[np.ndarray, np.ndarray]:
    """``(image, mask)``: ``(H, W) uint8`` image and its filled ``{0, 1}`` head mask."""
    image, outline = read_image_and_outline(record)
    try:
        return image, fill_outline(outline)
    except InputError as e:
        raise InputError(f"{record.annotation}: {e}") from None


def split_subjects(
    records: Sequence[Record], fractions: Sequence[float], seed: int = 0
) -> list[list[Record]]:
    """Partition records by subject into ``len(fractions)`` groups (e.g. train/val/test).

    Deterministic for a given ``seed`` and set of subjects; all images of a subject land in the
    same group. Fractions are of subjects and are normalised to sum to 1.
    """
    if not fractions or any(f < 0 for f in fractions) or sum(fractions) <= 0:
        raise ValueError(f"fractions must be non-negative and sum > 0, got {list(fractions)}")
    subjects = sorted({r.subject for r in records})
    random.Random(seed).shuffle(subjects)
    total = sum(fractions)
    bounds, acc = [], 0.0
    for f in fractions:
        acc += f / total
        bounds.append(round(acc * len(subjects)))
    group_of: dict[str, int] = {}
    start = 0
    for g, end in enumerate(bounds):
        for s in subjects[start:end]:
            group_of[s] = g
        start = end
    groups: list[list[Record]] = [[] for _ in fractions]
    for r in records:
        groups[group_of[r.subject]].append(r)
    return groups
