"""``fetalseg demo``: segment and measure frames with known truth; no download."""

from __future__ import annotations

import argparse

from fetalseg.cli.common import add_model_args, add_overwrite_arg
from fetalseg.errors import InputError

NAME = "demo"
HELP = "segment and measure frames with known truth; no download"
NEEDS_EXTRA = None
#: Most frames of a demo: its frames are held in memory (about 1 MB each); more is a batch
#: (``fetalseg predict FOLDER``). ``-n 100000000000`` ran for ever.
MAX_FRAMES = 200


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", help="HC18 folder: use its test split instead of synthetic frames")
    add_model_args(p)
    p.add_argument(
        "-n", type=int, default=8, help=f"number of frames (default 8, at most {MAX_FRAMES})"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic frames")
    p.add_argument("--out", default="out/demo", help="output folder")
    add_overwrite_arg(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from fetalseg.destination import output_dir
    from fetalseg.inference.demo import hc18_frames, run_demo, synthetic_frames
    from fetalseg.inference.predictor import Predictor

    if not 1 <= args.n <= MAX_FRAMES:
        raise InputError(
            f"-n {args.n}: must be 1-{MAX_FRAMES} frames (for more, run predict on a folder)"
        )
    predictor = Predictor(args.checkpoint, args.backend)
    if args.data:
        frames = hc18_frames(args.data, predictor, args.n)
        if not frames:
            raise InputError(f"{args.data}: the model's test split of this folder has no images")
    else:
        frames = synthetic_frames(args.n, seed=args.seed)
    with output_dir(args.out, args.overwrite) as tmp:
        report = run_demo(predictor, frames, tmp, progress=not args.quiet)
    print(report)
    print(f"overlays and report in {args.out}/")
    return 0
