"""How much HC error does the output grid alone cause? The floor of a perfect network.

    python scripts/hc_resolution_floor.py [--data ../shared/hc18] [--split val]

BiSeNet predicts at 1/8 of its input size; the mask is that map upsampled bilinearly to the
original image and thresholded. Here the *annotated* head replaces the network: its coverage of
each output cell (area resize) becomes a logit, which goes through the same upsampling,
threshold and ellipse fit as a prediction. The HC ADF / DF (mm) that remain are the error of
the grid, for the output grids of 384x256 and 512x384 inputs and finer ones.
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np

from fetalseg.biometry import hc_difference_mm, measure_head
from fetalseg.config import DataConfig, default_data_root
from fetalseg.data.hc18 import load_pair, read_records, split_subjects
from fetalseg.data.preprocess import Geometry, mask_on_original

GRIDS = {  # name: output grid (W, H)
    "384x256 input, 1/8 output (48x32)": (48, 32),
    "512x384 input, 1/8 output (64x48)": (64, 48),
    "384x256 input, 1/4 output (96x64)": (96, 64),
    "384x256 input, full output": (384, 256),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=default_data_root())
    ap.add_argument("--split", choices=["train", "val"], default="val")
    args = ap.parse_args()
    records = read_records(args.data, "training_set")
    parts = split_subjects(records, DataConfig().fractions, DataConfig().split_seed)
    chosen = parts[{"train": 0, "val": 1}[args.split]]
    diffs: dict[str, list[float]] = {name: [] for name in GRIDS}
    for record in chosen:
        _, mask = load_pair(record)
        h, w = mask.shape
        for name, size in GRIDS.items():
            cover = cv2.resize(mask.astype(np.float32), size, interpolation=cv2.INTER_AREA)
            cover = np.clip(cover, 1e-3, 1 - 1e-3)
            logits = np.log(cover / (1 - cover))
            measured = measure_head(
                mask_on_original(logits, Geometry(w, h, *size)), record.pixel_size_mm
            )
            diffs[name].append(hc_difference_mm(measured.hc_mm, record.hc_mm))
    print(f"{args.split} split, {len(chosen)} images: HC from the annotation through each grid")
    for name, d in diffs.items():
        d = np.asarray(d)
        print(f"  {name:36s} ADF {np.abs(d).mean():.3f} mm  DF {d.mean():+.3f} mm")


if __name__ == "__main__":
    main()
