"""The robustness set: HC18's test split under fixed synthetic "other scanner" transforms
(:data:`fetalseg.data.augment.SHIFT_TRANSFORMS`), and a model's DSC / HC ADF per transform.

    # measure a model (default: the shipped one on its default backend, OpenVINO int8)
    python scripts/make_shift_set.py --data ../shared/hc18 --measure out/shift_shipped.md
    # or write the transformed frames (PNG, HC18 layout + CSV) for other tools; never commit them
    python scripts/make_shift_set.py --data ../shared/hc18 --write out/shift_set

The test split is the one stored in the model's config (subject-level, ``DataConfig``).
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import time
from pathlib import Path

import cv2
import numpy as np

from fetalseg.config import default_data_root
from fetalseg.data.augment import SHIFT_TRANSFORMS, apply_shift
from fetalseg.data.hc18 import read_gray, read_records, split_subjects
from fetalseg.inference.evaluate import evaluate_records
from fetalseg.inference.predictor import Predictor


def test_records(data: str, fractions, split_seed: int):
    records = read_records(data, "training_set")
    return split_subjects(records, fractions, split_seed)[2]


def write_set(records, out: Path) -> None:
    """One folder per transform: the transformed frames, the annotations copied, the CSV."""
    for name in SHIFT_TRANSFORMS:
        folder = out / name
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "training_set_pixel_size_and_HC.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["filename", "pixel size(mm)", "head circumference (mm)"])
            for i, rec in enumerate(records):
                cv2.imwrite(
                    str(folder / rec.image.name), apply_shift(name, read_gray(rec.image), i)
                )
                shutil.copy(rec.annotation, folder / rec.annotation.name)
                w.writerow([rec.image.name, rec.pixel_size_mm, rec.hc_mm])


def measure(predictor: Predictor, records, limit: int = 0) -> list[dict[str, float]]:
    rows = []
    records = records[:limit] if limit else records
    for name in SHIFT_TRANSFORMS:
        t0 = time.perf_counter()
        ev = evaluate_records(
            predictor,
            records,
            progress=False,
            keep_examples=False,
            transform=lambda img, i, name=name: apply_shift(name, img, i),
        )
        dsc = np.array([float(r["dsc"]) for r in ev.rows])
        adf = np.array([float(r["adf_mm"]) for r in ev.rows])
        rows.append(
            {
                "shift": name,
                "dsc": float(dsc.mean()),
                "adf_mm": float(adf.mean()),
                "no_head": int(sum(r["status"] == "no_head" for r in ev.rows)),
                "dsc_per_image": dsc.tolist(),
                "adf_per_image": adf.tolist(),
                "seconds": time.perf_counter() - t0,
            }
        )
        print(f"{name}: DSC {100 * dsc.mean():.2f} %, ADF {adf.mean():.3f} mm", flush=True)
    return rows


def table(rows: list[dict[str, float]], title: str) -> str:
    base = rows[0]
    lines = [
        f"{title}",
        "",
        "| transform | what | DSC (%) | DSC drop (points) | HC ADF (mm) | no head |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        drop = 100 * (base["dsc"] - r["dsc"])
        lines.append(
            f"| {r['shift']} | {SHIFT_TRANSFORMS[r['shift']]} | {100 * r['dsc']:.2f} | "
            f"{drop:+.2f} | {r['adf_mm']:.3f} | {r['no_head']} |"
        )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--data", default=default_data_root())
    p.add_argument("--checkpoint", default=None, help="model file (default: the shipped one)")
    p.add_argument("--backend", default="auto")
    p.add_argument("--measure", type=Path, help="write the per-transform table (.md) and .json")
    p.add_argument("--write", type=Path, help="write the transformed frames here")
    p.add_argument("--limit", type=int, default=0, help="first N test images only (smoke runs)")
    args = p.parse_args()
    predictor = Predictor(args.checkpoint, args.backend)
    data_cfg = predictor.loaded.config["data"]
    records = test_records(args.data, data_cfg["fractions"], data_cfg["split_seed"])
    if args.write:
        write_set(records[: args.limit] if args.limit else records, args.write)
    if args.measure:
        rows = measure(predictor, records, args.limit)
        title = (
            f"{predictor.loaded.source.name}, backend {predictor.backend}, "
            f"{len(rows[0]['dsc_per_image'])} test-split images"
        )
        args.measure.parent.mkdir(parents=True, exist_ok=True)
        args.measure.write_text(table(rows, title) + "\n")
        args.measure.with_suffix(".json").write_text(json.dumps(rows))
        print(table(rows, title))


if __name__ == "__main__":
    main()
