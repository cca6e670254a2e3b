"""Reductions of per-image metrics: mean, standard deviation, median, count."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def summarize(per_image: Mapping[str, Sequence[float]]) -> dict[str, dict[str, float]]:
    """``{metric: {"mean", "sd", "median", "n"}}``; a NaN anywhere raises instead of vanishing.

    ``sd`` is the sample standard deviation (``ddof=1``; 0 for a single image).
    """
    out = {}
    for name, values in per_image.items():
        v = np.asarray(values, dtype=np.float64)
        if v.size and np.isnan(v).any():
            raise ValueError(f"metric {name!r} has NaN values; define them before summarising")
        out[name] = {
            "mean": float(v.mean()) if v.size else float("nan"),
            "sd": float(v.std(ddof=1)) if v.size > 1 else 0.0,
            "median": float(np.median(v)) if v.size else float("nan"),
            "n": int(v.size),
        }
    return out
