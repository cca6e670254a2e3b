"""Validation HC ADF of training runs: the best epoch, the mean over the last epochs, and the
training cost: minutes (the log's per-epoch seconds, summed) to the first epoch whose validation
DSC reaches ``--target-dsc``.

    python scripts/summarize_runs.py RUN_DIR [RUN_DIR ...] [--last 20] [--target-dsc 0.975]

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
    ap.add_argument(
        "--target-dsc", type=float, default=0.975, help="validation DSC of the cost column"
    )
    args = ap.parse_args()
    print(
        f"{'run':32s} epochs  best ADF (epoch)  last-{args.last} ADF ± sd  last-{args.last} DSC"
        f"  best DSC (epoch)  min to DSC {100 * args.target_dsc:.1f} %"
    )
    for run in args.runs:
        log = read_log(run / "log.csv")
        adf = np.array([r.get("val_adf_mm", np.nan) for r in log], np.float64)
        dsc = np.array([r["val_dsc"] for r in log], np.float64)
        if not np.isfinite(adf).any():
            print(f"{run.name:32s} {len(log):6d}  (no HC ADF logged)")
            continue
        i = int(np.nanargmin(adf))
        j = int(np.argmax(dsc))
        tail = adf[-args.last :]
        print(
            f"{run.name:32s} {len(log):6d}  {adf[i]:.3f} mm ({i + 1:3d})"
            f"     {np.nanmean(tail):.3f} ± {np.nanstd(tail):.3f} mm"
            f"   {100 * np.mean(dsc[-args.last :]):.2f} %"
            f"   {100 * dsc[j]:.2f} % ({j + 1:3d})  {minutes_to(log, args.target_dsc)}"
        )


def minutes_to(log: list[dict[str, float]], target: float) -> str:
    """Training minutes (per-epoch ``seconds`` summed, validation included) to the first epoch
    with validation DSC >= ``target``, as text; "not reached" if none."""
    total = 0.0
    for row in log:
        total += row.get("seconds", np.nan)
        if row["val_dsc"] >= target:
            return f"{total / 60:.1f} (epoch {int(row['epoch'])})"
    return "not reached"


if __name__ == "__main__":
    main()
