"""``fetalseg check-data``: check HC18 annotations against the CSV's HC."""

from __future__ import annotations

import argparse
from pathlib import Path

from fetalseg.cli.common import add_overwrite_arg
from fetalseg.errors import InputError

NAME = "check-data"
HELP = "check HC18 annotations against the CSV's HC"
NEEDS_EXTRA = None


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", help="HC18 folder (default: $FETALSEG_DATA or ../shared/hc18)")
    p.add_argument("--out", help="write the summary and per-image values as JSON here")
    p.add_argument("--csv", help="write the per-image values as CSV here")
    add_overwrite_arg(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    import contextlib
    import json
    from dataclasses import asdict

    from fetalseg.config import default_data_root
    from fetalseg.data.checks import (
        annotation_report,
        format_summary,
        summarize_report,
        write_report_csv,
    )
    from fetalseg.data.hc18 import read_records
    from fetalseg.destination import output_file

    if args.out and args.csv and Path(args.out).resolve() == Path(args.csv).resolve():
        raise InputError(f"{args.out}: --out and --csv name the same file")
    with contextlib.ExitStack() as stack:  # both destinations refused before the checks run
        out = stack.enter_context(output_file(args.out, args.overwrite)) if args.out else None
        csv = stack.enter_context(output_file(args.csv, args.overwrite)) if args.csv else None
        checks = annotation_report(
            read_records(args.data or default_data_root(), "training_set"),
            progress=not args.quiet,
        )
        summary = summarize_report(checks)
        print(format_summary(summary, checks))
        if out is not None:
            report = {"summary": summary, "images": [asdict(c) for c in checks]}
            out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        if csv is not None:
            write_report_csv(csv, checks)
    for path in (args.out, args.csv):
        if path:
            print(f"wrote {path}")
    return 0
