"""Write the failure corpus (heads cut by the border, heads removed, frames without a head,
"other scanner" transforms, wrong calibrations) from one split's labelled HC18 frames.

    python scripts/make_failure_corpus.py --split val --out /tmp/corpus-val [--seed 0]

Deterministic for a seed. The frames derive from HC18 (CC BY 4.0): keep them out of the
repository. See fetalseg.quality.corpus for what each kind is.
"""

from __future__ import annotations

import argparse
from collections import Counter

from fetalseg.config import DataConfig, default_data_root
from fetalseg.data.hc18 import read_records, split_subjects
from fetalseg.quality.corpus import make_corpus

SPLITS = {"train": 0, "val": 1, "test": 2}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=default_data_root())
    ap.add_argument("--split", choices=tuple(SPLITS), default="val")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    d = DataConfig()
    records = split_subjects(read_records(args.data), d.fractions, d.split_seed)[SPLITS[args.split]]
    rows = make_corpus(records, args.out, args.seed)
    print(f"{len(rows)} frames from {len(records)} {args.split} images in {args.out}")
    for kind, n in sorted(Counter(r["kind"] for r in rows).items()):
        print(f"  {kind}: {n}")


if __name__ == "__main__":
    main()
