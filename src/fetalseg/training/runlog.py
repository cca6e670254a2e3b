"""The run log, ``run_dir/log.csv`` (one row per epoch), and its plot ``curves.png``.

Columns :data:`LOG_FIELDS`: epoch (1-based), mean training loss, validation DSC, validation HC
ADF (mm), learning rate, training images/s and the epoch's seconds (training + validation). A
resumed run first truncates the log to the epochs its checkpoint holds (:func:`truncate_log`), so
the log never repeats an epoch.
"""

from __future__ import annotations

import contextlib
import csv
import os
from pathlib import Path
from typing import Any

LOG_FIELDS = ["epoch", "train_loss", "val_dsc", "val_adf_mm", "lr", "images_per_s", "seconds"]
#: The log's columns before ``val_adf_mm`` was added: such logs are upgraded on resume.
_LEGACY_LOG_FIELDS = ["epoch", "train_loss", "val_dsc", "lr", "images_per_s", "seconds"]


def append_log(path: Path, row: dict[str, Any]) -> None:
    """Append one row (keys :data:`LOG_FIELDS`), writing the header first in a new file."""
    new = not path.exists()
    with path.open("a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=LOG_FIELDS)
        if new:
            writer.writeheader()
        writer.writerow(row)


def truncate_log(path: Path, epochs_done: int) -> None:
    """Keep the header and the rows of epochs ``1..epochs_done``; drop later rows and a
    half-written last line (a killed write). Replaced atomically; removed if the header itself
    is incomplete."""
    if not path.exists():
        return
    with path.open(newline="") as f:
        lines = f.readlines()
    upgraded = bool(lines) and lines[0].rstrip("\r\n") == ",".join(_LEGACY_LOG_FIELDS)
    if upgraded:
        lines = _upgrade_legacy_log(lines)
    if not lines or lines[0] not in (",".join(LOG_FIELDS) + "\r\n", ",".join(LOG_FIELDS) + "\n"):
        path.unlink()
        return
    keep = lines[:1]
    for line in lines[1:]:
        cells = line.rstrip("\r\n").split(",")
        if not line.endswith("\n") or len(cells) != len(LOG_FIELDS):
            break
        try:
            if int(float(cells[0])) > epochs_done:
                break
        except ValueError:
            break
        keep.append(line)
    if keep != lines or upgraded:
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("w", newline="") as f:
            f.writelines(keep)
        os.replace(tmp, path)


def _upgrade_legacy_log(lines: list[str]) -> list[str]:
    """A log written before ``val_adf_mm`` existed, with that column as ``nan`` (not measured);
    a half-written last line stays half-written, for the caller to drop."""
    at = LOG_FIELDS.index("val_adf_mm")
    out = [",".join(LOG_FIELDS) + "\n"]
    for line in lines[1:]:
        if not line.endswith("\n"):
            out.append(line)
            break
        cells = line.rstrip("\r\n").split(",")
        out.append(",".join([*cells[:at], "nan", *cells[at:]]) + "\n")
    return out


def read_log(path: str | Path) -> list[dict[str, float]]:
    """The log's rows as floats."""
    with Path(path).open(newline="") as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def plot_log(log_path: Path, png_path: Path) -> None:
    """Loss, DSC, HC ADF and lr against the epoch, one panel each (a write error is ignored:
    the plot is a convenience, the log is the record)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_log(log_path)
    epochs = [r["epoch"] for r in rows]
    panels = {
        "train_loss": "training loss",
        "val_dsc": "validation DSC",
        "val_adf_mm": "validation HC ADF (mm)",
        "lr": "learning rate",
    }
    fig, axes = plt.subplots(1, len(panels), figsize=(16, 3.2))
    for ax, (key, title) in zip(axes, panels.items()):
        ax.plot(epochs, [r[key] for r in rows], marker=".")
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    with contextlib.suppress(OSError):
        fig.savefig(png_path, dpi=100)
    plt.close(fig)
