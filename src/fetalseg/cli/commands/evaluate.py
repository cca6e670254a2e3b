"""``fetalseg evaluate``: score a model on labelled HC18 images."""

from __future__ import annotations

import argparse
from pathlib import Path

from fetalseg.cli.common import add_model_args, add_overwrite_arg
from fetalseg.errors import InputError

NAME = "evaluate"
HELP = "score a model on labelled HC18 images"
NEEDS_EXTRA = "train"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_model_args(p)
    p.add_argument("--data", help="HC18 folder (default: $FETALSEG_DATA or ../shared/hc18)")
    p.add_argument(
        "--split",
        default="test",
        choices=("train", "val", "test", "all"),
        help="subject-level split, as the model's training config defines it (default: test)",
    )
    p.add_argument("--limit", type=int, default=0, help="only the first N images (default 0: all)")
    p.add_argument("--out", default="out/evaluate", help="output folder")
    add_overwrite_arg(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from fetalseg.config import default_data_root
    from fetalseg.data.hc18 import read_records, split_subjects
    from fetalseg.destination import output_dir
    from fetalseg.inference.evaluate import evaluate_records, summary_markdown, write_outputs
    from fetalseg.inference.predictor import Predictor

    if args.limit < 0:
        raise InputError(f"--limit {args.limit}: must be 0 (all) or a number of images")
    predictor = Predictor(args.checkpoint, args.backend)
    data_cfg = predictor.loaded.config["data"]
    records = read_records(args.data or default_data_root(), "training_set")
    if args.split != "all":
        parts = split_subjects(records, data_cfg["fractions"], data_cfg["split_seed"])
        records = parts[("train", "val", "test").index(args.split)]
    if args.limit:
        records = records[: args.limit]
    title = f"{predictor.loaded.source.name} on the {args.split} split"
    with output_dir(args.out, args.overwrite) as tmp:  # refused before the images are scored
        ev = evaluate_records(predictor, records, progress=not args.quiet)
        paths = write_outputs(ev, tmp, title)
    print(summary_markdown(ev, title))
    print("wrote " + ", ".join(str(Path(args.out) / p.name) for p in paths.values()))
    return 0
