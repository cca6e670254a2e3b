"""``fetalseg check-data``: check HC18 annotations against the CSV's HC."""

from __future__ import annotations

import argparse

from fetalseg.errors import InputError

NAME = "check-data"
HELP = "check HC18 annotations against the CSV's HC"
NEEDS_EXTRA = None


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", help="HC18 folder (default: $FETALSEG_DATA or ../shared/hc18)")
    p.add_argument("--out", help="write the summary and per-image values as JSON here")
    p.add_argument("--csv", help="write the per-image values as CSV here")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    import json
    from dataclasses import asdict
    from pathlib import Path

    from fetalseg.config import default_data_root
    from fetalseg.data.checks import (
        annotation_report,
        format_summary,
        summarize_report,
        write_report_csv,
    )
    from fetalseg.data.hc18 import read_records

    checks = annotation_report(
        read_records(args.data or default_data_root(), "training_set"), progress=not args.quiet
    )
    summary = summarize_report(checks)
    print(format_summary(summary, checks))
    try:
        if args.out:
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            report = {"summary": summary, "images": [asdict(c) for c in checks]}
            Path(args.out).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
            print(f"wrote {args.out}")
        if args.csv:
            Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
            write_report_csv(args.csv, checks)
            print(f"wrote {args.csv}")
    except OSError as e:
        raise InputError(f"{e.filename or args.out}: cannot write ({e.strerror or e})") from None
    return 0
