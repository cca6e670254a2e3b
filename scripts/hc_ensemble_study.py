"""Would averaging several trained models lower the HC error? Measured on a split that is not
the test split (default: validation).

    python scripts/hc_ensemble_study.py CHECKPOINT [CHECKPOINT ...] [--data ../shared/hc18]

Each CHECKPOINT is a ``.pt`` / ``.safetensors`` file or ``shipped``. Prints the HC ADF (mm) of
each model and of the mean of the logits of every combination of two or more of them (the
ensemble: one mask from the averaged soft maps), then how alike the models' errors are: the
correlation of their per-image HC differences (DF). A checkpoint picked by its validation score
is optimistic here; give the last epoch of a run for a fair figure.
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np
from tqdm import tqdm

from fetalseg.biometry import hc_difference_mm, measure_head
from fetalseg.config import DataConfig, default_data_root
from fetalseg.data.hc18 import read_records, split_subjects
from fetalseg.data.io import read_image
from fetalseg.data.preprocess import full_size_logits, mask_on_original
from fetalseg.inference.predictor import Predictor


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoints", nargs="+")
    ap.add_argument("--data", default=default_data_root())
    ap.add_argument("--split", choices=["train", "val"], default="val")
    args = ap.parse_args()
    records = read_records(args.data, "training_set")
    chosen = split_subjects(records, DataConfig().fractions, DataConfig().split_seed)[
        {"train": 0, "val": 1}[args.split]
    ]
    images = [read_image(r.image) for r in chosen]
    logits, geometries = {}, []
    size = None
    for name in args.checkpoints:
        p = Predictor(None if name == "shipped" else name, "torch")
        if size not in (None, p.size):
            raise SystemExit(f"{name}: input size {p.size}, the first model's is {size}")
        size = p.size
        maps = []
        for image in tqdm(images, desc=name, leave=False):
            x, geometry = p.preprocess(image)
            maps.append(full_size_logits(p.logits(x)[0], p.size))
            if len(geometries) < len(images):
                geometries.append(geometry)
        logits[name] = np.stack(maps)

    def df(maps: np.ndarray) -> np.ndarray:
        diffs = []
        for m, g, r in zip(maps, geometries, chosen):
            hc = measure_head(mask_on_original(m, g), r.pixel_size_mm).hc_mm
            diffs.append(hc_difference_mm(hc, r.hc_mm))
        return np.asarray(diffs)

    print(f"{args.split} split, {len(chosen)} images: HC ADF (mm)")
    for k in range(1, len(args.checkpoints) + 1):
        for combo in itertools.combinations(args.checkpoints, k):
            mean = np.mean([logits[c] for c in combo], axis=0)
            print(f"  {np.abs(df(mean)).mean():.3f}  {' + '.join(combo)}")
    if len(args.checkpoints) > 1:
        diffs = np.stack([df(logits[c]) for c in args.checkpoints])
        common = diffs.mean(0)
        print("correlation of the models' per-image DF (rows and columns in the order given):")
        print(np.array2string(np.corrcoef(diffs), precision=2))
        print(
            f"sd of the per-image DF shared by the models {common.std():.2f} mm, "
            f"of each model's own part {(diffs - common).std():.2f} mm"
        )


if __name__ == "__main__":
    main()
