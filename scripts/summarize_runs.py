"""Validation HC ADF of training runs: the best epoch, and the mean over the last epochs.

    python scripts/summarize_runs.py RUN_DIR [RUN_DIR ...] [--last 20]

The best epoch's value is picked on the validation split itself, so it is optimistic; the mean
over the final (low learning rate) epochs says more about a recipe. Reads each ``log.csv``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from fetalseg.training.runlog import read_log


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--last", type=int, default=20, help="epochs averaged at the end (default 20)")
    args = ap.parse_args()
    print(f"{'run':32s} epochs  best ADF (epoch)  last-{args.last} ADF ± sd  last-{args.last} DSC")
    for run in args.runs:
        log = read_log(run / "log.csv")
        adf = np.array([r.get("val_adf_mm", np.nan) for r in log], np.float64)
        dsc = np.array([r["val_dsc"] for r in log], np.float64)
        if not np.isfinite(adf).any():
            print(f"{run.name:32s} {len(log):6d}  (no HC ADF logged)")
            continue
        i = int(np.nanargmin(adf))
        tail = adf[-args.last :]
        print(
            f"{run.name:32s} {len(log):6d}  {adf[i]:.3f} mm ({i + 1:3d})"
            f"     {np.nanmean(tail):.3f} ± {np.nanstd(tail):.3f} mm"
            f"   {100 * np.mean(dsc[-args.last :]):.2f} %"
        )


if __name__ == "__main__":
    main()
