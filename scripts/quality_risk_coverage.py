"""Risk-coverage of the quality verdict and the issue's three targets, on a split and a
failure corpus (the test split is measured once, with thresholds already fitted).

    python scripts/make_failure_corpus.py --split test --out /tmp/corpus-test
    python scripts/quality_risk_coverage.py --split test --corpus /tmp/corpus-test [--rows rows.csv]
"""

from __future__ import annotations

import argparse
import itertools
from collections import Counter

from fetalseg.config import DataConfig, default_data_root
from fetalseg.data.hc18 import read_records, split_subjects
from fetalseg.inference.predictor import Predictor
from fetalseg.quality import study

SPLITS = {"train": 0, "val": 1, "test": 2}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=default_data_root())
    ap.add_argument("--split", choices=tuple(SPLITS), default="test")
    ap.add_argument("--corpus", default="", help="make_failure_corpus.py output (optional)")
    ap.add_argument("--rows", default="", help="write the per-frame rows (CSV) here")
    args = ap.parse_args()
    d = DataConfig()
    records = split_subjects(read_records(args.data), d.fractions, d.split_seed)[SPLITS[args.split]]
    items = study.hc18_items(records)
    if args.corpus:
        items = itertools.chain(items, study.corpus_items(args.corpus))
    rows = study.frame_rows(Predictor(), items)
    if args.rows:
        study.write_rows(rows, args.rows)
    print("\n".join(study.risk_coverage(rows)))
    print("\nverdicts by category:")
    for cat in sorted({r["category"] for r in rows}):
        c = Counter(r["verdict"] for r in rows if r["category"] == cat)
        print(f"  {cat}: " + ", ".join(f"{k} {v}" for k, v in sorted(c.items())))
    print("\nreason codes (frames):")
    codes = Counter(c for r in rows for c in r["reasons"].split(";") if c)
    for code, n in codes.most_common():
        print(f"  {code}: {n}")


if __name__ == "__main__":
    main()
