"""Fit the quality thresholds on the validation split and its failure corpus (never the test
split) and write them, with the rule and the data that set them, to the package's
thresholds.json.

    python scripts/make_failure_corpus.py --split val --out /tmp/corpus-val
    python scripts/fit_quality_thresholds.py --corpus /tmp/corpus-val [--data ../shared/hc18]

The rule is fetalseg.quality.study.fit_thresholds's docstring.
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections import Counter

from fetalseg.config import DataConfig, default_data_root
from fetalseg.data.hc18 import read_records, split_subjects
from fetalseg.inference.predictor import Predictor
from fetalseg.quality import study
from fetalseg.quality.verdict import thresholds_path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=default_data_root())
    ap.add_argument("--corpus", required=True, help="make_failure_corpus.py --split val output")
    ap.add_argument("--out", default=str(thresholds_path()))
    ap.add_argument("--rows", default="", help="also write the per-frame rows (CSV) here")
    args = ap.parse_args()
    d = DataConfig()
    val = split_subjects(read_records(args.data), d.fractions, d.split_seed)[1]
    predictor = Predictor()
    items = itertools.chain(study.hc18_items(val), study.corpus_items(args.corpus))
    rows = study.frame_rows(predictor, items, {"features": {}})
    if args.rows:
        study.write_rows(rows, args.rows)
    features = study.fit_thresholds(rows)
    ref = [r for r in rows if study.is_accurate(r) and r["category"] in ("hc18", "scanner")]
    doc = {
        "rule": " ".join(study.fit_thresholds.__doc__.split()),
        "fitted_on": {
            "validation_images": len(val),
            "corpus_frames": len(rows) - len(val),
            "corpus_kinds": dict(Counter(r["kind"] for r in rows[len(val) :])),
            "reference_frames": len(ref),
            "model": "shipped BiSeNet, int8 on OpenVINO (default backend)",
            "split": {"fractions": list(d.fractions), "seed": d.split_seed},
            "commands": [
                "python scripts/make_failure_corpus.py --split val --out /tmp/corpus-val",
                "python scripts/fit_quality_thresholds.py --corpus /tmp/corpus-val",
            ],
        },
        "features": features,
    }
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    print(f"{len(rows)} frames, {len(ref)} reference frames; thresholds written to {args.out}")


if __name__ == "__main__":
    main()
