"""A failure corpus from labelled HC18 frames: heads cut by the border, heads removed, frames
without a head, "other scanner" transforms and wrong calibrations, with the truth of each.

Deterministic for a seed. Frames are written to a folder the user names (never to the
repository: they derive from HC18 images) with ``manifest.csv`` (one row per frame: the file,
its kind and category, the pixel size to give, the true pixel size, the true HC of the head in
mm, and the truth mask file, empty for frames without a head).
"""

from __future__ import annotations

import csv
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from fetalseg.data.hc18 import Record, load_pair
from fetalseg.data.io import write_image

MANIFEST_FIELDS = (
    "file",
    "source",
    "kind",
    "category",
    "pixel_size_mm",
    "true_pixel_size_mm",
    "hc_true_mm",
    "truth_mask",
)

#: category of each kind: ``truncated`` and ``non_head`` frames must never be ``good``;
#: ``scanner`` and ``calibration`` frames are judged by their measured error.
CATEGORY = {
    "crop": "truncated",
    "inpaint": "non_head",
    "noise": "non_head",
    "blank": "non_head",
    "background_crop": "non_head",
    "gain": "scanner",
    "gamma": "scanner",
    "speckle": "scanner",
    "blur": "scanner",
    "downsample": "scanner",
    "sector": "scanner",
    "calib_hc_as_size": "calibration",
    "calib_x10": "calibration",
    "calib_cm": "calibration",
}
SCANNER = [k for k, c in CATEGORY.items() if c == "scanner"]
NON_HEAD = [k for k, c in CATEGORY.items() if c == "non_head"]
CALIB = [k for k, c in CATEGORY.items() if c == "calibration"]


@dataclass
class Frame:
    image: np.ndarray  # (H, W) uint8
    mask: np.ndarray | None  # (H, W) {0,1} truth, None = no head
    pixel_size_mm: float  # what the user gives
    true_pixel_size_mm: float


def crop_through_head(image: np.ndarray, mask: np.ndarray, depth: float, side: int) -> tuple:
    """Crop so that the image edge on ``side`` (0 left, 1 right, 2 top, 3 bottom) cuts
    ``depth`` (a fraction of the head's extent on that axis) off the head."""
    ys, xs = np.nonzero(mask)
    h, w = mask.shape
    if side in (0, 1):
        lo, hi = xs.min(), xs.max()
        cut = int(lo + depth * (hi - lo)) if side == 0 else int(hi - depth * (hi - lo))
        sl = (slice(None), slice(cut, w)) if side == 0 else (slice(None), slice(0, cut))
    else:
        lo, hi = ys.min(), ys.max()
        cut = int(lo + depth * (hi - lo)) if side == 2 else int(hi - depth * (hi - lo))
        sl = (slice(cut, h), slice(None)) if side == 2 else (slice(0, cut), slice(None))
    return image[sl].copy(), mask[sl].copy()


def background_crop(image: np.ndarray, mask: np.ndarray, rng: random.Random) -> np.ndarray | None:
    """The largest-by-trial quarter-size window of content that misses the head, scaled back
    to the frame size (a view of non-head anatomy); ``None`` when none is found."""
    h, w = mask.shape
    ch, cw = h // 2, w // 2
    for _ in range(50):
        y, x = rng.randrange(0, h - ch), rng.randrange(0, w - cw)
        win = image[y : y + ch, x : x + cw]
        if mask[y : y + ch, x : x + cw].any() or (win > 12).mean() < 0.6:
            continue
        return cv2.resize(win, (w, h), interpolation=cv2.INTER_LINEAR)
    return None


def sector_mask(shape: tuple[int, int], mask: np.ndarray, margin: float = 0.1) -> np.ndarray:
    """A fan from the top centre just wide enough to hold the head (plus ``margin`` rad)."""
    h, w = shape
    ys, xs = np.nonzero(mask)
    apex = (w / 2.0, -0.1 * h)
    ang = np.arctan2(xs - apex[0], ys - apex[1])
    lo, hi = ang.min() - margin, ang.max() + margin
    yy, xx = np.mgrid[0:h, 0:w]
    a = np.arctan2(xx - apex[0], yy - apex[1])
    r = np.hypot(xx - apex[0], yy - apex[1])
    return ((a >= lo) & (a <= hi) & (r <= 1.15 * h)).astype(np.uint8)


def transform(
    kind: str, image: np.ndarray, mask: np.ndarray, px: float, hc: float, rng: random.Random
) -> Frame | None:
    """One corpus frame of ``kind`` from a labelled frame (``px`` mm per px, ``hc`` mm)."""
    nrng = np.random.default_rng(rng.randrange(2**32))
    f = image.astype(np.float32)
    if kind == "crop":
        side = rng.randrange(4)
        depth = rng.choice((0.15, 0.3, 0.45))
        im, mk = crop_through_head(image, mask, depth, side)
        if min(im.shape) < 32:
            return None
        return Frame(im, mk, px, px)
    if kind == "inpaint":
        hole = cv2.dilate(mask, np.ones((15, 15), np.uint8))
        return Frame(cv2.inpaint(image, hole, 5, cv2.INPAINT_TELEA), None, px, px)
    if kind == "noise":
        return Frame(nrng.integers(0, 256, image.shape, dtype=np.uint8), None, px, px)
    if kind == "blank":
        return Frame(np.full(image.shape, rng.choice((0, 30)), np.uint8), None, px, px)
    if kind == "background_crop":
        bg = background_crop(image, mask, rng)
        return None if bg is None else Frame(bg, None, px / 2, px / 2)
    if kind == "gain":
        g = rng.choice((0.5, 0.7, 1.4, 1.8))
        return Frame(np.clip(f * g, 0, 255).astype(np.uint8), mask, px, px)
    if kind == "gamma":
        g = rng.choice((0.5, 0.7, 1.5, 2.0))
        return Frame((255 * (f / 255) ** g).astype(np.uint8), mask, px, px)
    if kind == "speckle":
        s = rng.choice((0.3, 0.6))
        noisy = f * nrng.rayleigh(1.0, f.shape) / math.sqrt(math.pi / 2) ** 1
        mixed = (1 - s) * f + s * noisy
        return Frame(np.clip(mixed, 0, 255).astype(np.uint8), mask, px, px)
    if kind == "blur":
        s = rng.choice((2.0, 4.0))
        return Frame(cv2.GaussianBlur(image, (0, 0), s), mask, px, px)
    if kind == "downsample":
        k = rng.choice((0.5, 0.35))
        h, w = image.shape
        size = (max(32, round(w * k)), max(32, round(h * k)))
        im = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        mk = cv2.resize(mask.astype(np.float32), size, interpolation=cv2.INTER_AREA) >= 0.5
        s = px * w / size[0]
        return Frame(im, mk.astype(np.uint8), s, s)
    if kind == "sector":
        fan = sector_mask(image.shape, mask)
        return Frame(image * fan, mask, px, px)
    if kind == "calib_hc_as_size":
        return Frame(image, mask, hc, px)
    if kind == "calib_x10":
        return Frame(image, mask, px * 10, px)
    if kind == "calib_cm":
        return Frame(image, mask, px / 10, px)
    raise ValueError(f"unknown corpus kind {kind!r}")


def kinds_for(index: int, rng: random.Random) -> list[str]:
    """Which kinds one source frame gives: a crop, two scanner transforms, and in turn a
    non-head frame (every 2nd source) and a wrong calibration (every 4th)."""
    kinds = ["crop", *rng.sample(SCANNER, 2)]
    if index % 2 == 0:
        kinds.append(NON_HEAD[(index // 2) % len(NON_HEAD)])
    if index % 4 == 1:
        kinds.append(CALIB[(index // 4) % len(CALIB)])
    return kinds


def make_corpus(records: Sequence[Record], out: str | Path, seed: int = 0) -> list[dict]:
    """Write the corpus of ``records`` to ``out`` (PNG frames, truth masks, ``manifest.csv``)."""
    out = Path(out)
    (out / "frames").mkdir(parents=True, exist_ok=True)
    (out / "masks").mkdir(exist_ok=True)
    rng = random.Random(seed)
    rows = []
    for i, rec in enumerate(records):
        image, mask = load_pair(rec)
        for kind in kinds_for(i, rng):
            fr = transform(kind, image, mask, rec.pixel_size_mm, float(rec.hc_mm or 0), rng)
            if fr is None:
                continue
            name = f"{Path(rec.name).stem}_{kind}.png"
            write_image(out / "frames" / name, fr.image)
            mask_name = ""
            if fr.mask is not None:
                mask_name = name
                write_image(out / "masks" / name, fr.mask.astype(np.uint8) * 255)
            rows.append(
                {
                    "file": name,
                    "source": rec.name,
                    "kind": kind,
                    "category": CATEGORY[kind],
                    "pixel_size_mm": repr(fr.pixel_size_mm),
                    "true_pixel_size_mm": repr(fr.true_pixel_size_mm),
                    "hc_true_mm": rec.hc_mm,
                    "truth_mask": mask_name,
                }
            )
    with (out / "manifest.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=MANIFEST_FIELDS)
        w.writeheader()
        w.writerows(rows)
    return rows
