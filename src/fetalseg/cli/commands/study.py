"""``fetalseg study``: reproduce the reference's Table 1 / Figure 2 (resumable)."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "study"
HELP = "reproduce the reference's Table 1 / Figure 2 (resumable)"
NEEDS_EXTRA = "train"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="study YAML: base run config, rows, out")
    p.add_argument("--data", help="HC18 folder (default: $FETALSEG_DATA or ../shared/hc18)")
    p.add_argument("--out", help="study folder (default: runs/study)")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override the base run config, e.g. --set train.epochs=30",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from fetalseg.training.study import load_study_config, run_study

    study = load_study_config(args.config, args.set)
    if args.data:
        study.base.data.root = args.data
    if args.out:
        study.out = args.out
    report = run_study(study, progress=not args.quiet)
    print(Path(study.out, "study.md").read_text())
    print(f"{len(report['rows'])} rows; table, JSON and figure2.png in {study.out}/")
    return 0
