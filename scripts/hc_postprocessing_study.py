"""Does post-processing or test-time augmentation lower the HC error? Measured on a split that
is not the test split (default: validation), with the shipped int8 model.

    python scripts/hc_postprocessing_study.py [--data ../shared/hc18] [--split val]

Prints HC ADF / DF (mm) over the split for: the shipped pipeline; flip test-time augmentation
(mean logits of the image and its horizontal / vertical / both flips); shift augmentation (the
input moved by half of BiSeNet's 8-px output cell, logits moved back); the convex hull of the
outline; and an ellipse re-fitted without the 10 % of outline points farthest from the first fit.
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np

from fetalseg.biometry import hc_difference_mm, measure_head, ramanujan_perimeter
from fetalseg.biometry.ellipse import CV2_FILLED
from fetalseg.config import default_data_root
from fetalseg.data.hc18 import read_records, split_subjects
from fetalseg.data.io import read_image
from fetalseg.data.preprocess import full_size_logits, mask_on_original
from fetalseg.inference.predictor import Predictor


def shifted(x: np.ndarray, d: int) -> np.ndarray:
    """Content moved by ``d`` px right and down (edge pixels repeated)."""
    return np.pad(x, ((0, 0), (0, 0), (d, 0), (d, 0)), mode="edge")[..., : x.shape[2], : x.shape[3]]


def tta_logits(p: Predictor, x: np.ndarray) -> dict[str, np.ndarray]:
    def net(x: np.ndarray) -> np.ndarray:  # logits at the network size
        return full_size_logits(p.logits(np.ascontiguousarray(x))[0], p.size)

    plain = net(x)
    flips = [plain, net(x[..., ::-1])[:, ::-1], net(x[..., ::-1, :])[::-1]]
    flips.append(net(x[..., ::-1, ::-1])[::-1, ::-1])
    back = np.pad(net(shifted(x, 4)), ((0, 4), (0, 4)), mode="edge")[4:, 4:]
    return {"plain": plain, "flip4": np.mean(flips, 0), "shift": (plain + back) / 2}


def fit_hc_mm(points: np.ndarray, px: float) -> float:
    (_, _), (d1, d2), _ = cv2.fitEllipse(points.astype(np.float32))
    return ramanujan_perimeter(CV2_FILLED.apply(d1 / 2), CV2_FILLED.apply(d2 / 2)) * px


def outline(mask: np.ndarray) -> np.ndarray | None:
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    return max(contours, key=cv2.contourArea).reshape(-1, 2) if contours else None


def hull_hc(mask: np.ndarray, px: float) -> float | None:
    pts = outline(mask)
    if pts is None or len(pts) < 5:
        return None
    hull = cv2.convexHull(pts.reshape(-1, 1, 2)).reshape(-1, 2)
    filled = np.zeros_like(mask)
    cv2.fillPoly(filled, [hull], 1)
    return measure_head(filled, px).hc_mm


def trimmed_hc(mask: np.ndarray, px: float, drop: float = 0.1) -> float | None:
    pts = outline(mask)
    if pts is None or len(pts) < 20:
        return None
    (cx, cy), (d1, d2), deg = cv2.fitEllipse(pts.astype(np.float32))
    t = np.deg2rad(deg)
    x, y = pts[:, 0] - cx, pts[:, 1] - cy
    u, v = x * np.cos(t) + y * np.sin(t), -x * np.sin(t) + y * np.cos(t)
    r = np.abs(np.hypot(u / (d1 / 2), v / (d2 / 2)) - 1)
    return fit_hc_mm(pts[r <= np.quantile(r, 1 - drop)], px)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=default_data_root())
    ap.add_argument("--split", choices=("train", "val"), default="val")
    args = ap.parse_args()
    p = Predictor(None, "onnx-int8", threads=2)
    d = p.loaded.config["data"]
    parts = split_subjects(read_records(args.data), d["fractions"], d["split_seed"])
    records = parts[{"train": 0, "val": 1}[args.split]]
    errors: dict[str, list[float]] = {}
    for rec in records:
        image = read_image(rec.image)
        x, geom = p.preprocess(image)
        variants = tta_logits(p, x)
        masks = {k: mask_on_original(v, geom) for k, v in variants.items()}
        hcs = {k: measure_head(m, rec.pixel_size_mm).hc_mm for k, m in masks.items()}
        hcs["hull"] = hull_hc(masks["plain"], rec.pixel_size_mm)
        hcs["trimmed fit"] = trimmed_hc(masks["plain"], rec.pixel_size_mm)
        for k, hc in hcs.items():
            errors.setdefault(k, []).append(hc_difference_mm(hc, float(rec.hc_mm)))
    print(f"{len(records)} images of the {args.split} split")
    for k, e in errors.items():
        df = np.asarray(e)
        print(f"{k:12s} ADF {np.abs(df).mean():.3f} mm   DF {df.mean():+.3f} ± {df.std():.3f} mm")


if __name__ == "__main__":
    main()
