"""Quality verdicts for head measurements: ``good`` / ``check`` / ``reject`` with reasons."""

from fetalseg.quality.features import Features, compute_features, content_region
from fetalseg.quality.verdict import (
    CHECK,
    GOOD,
    PIXEL_SIZE_RANGE_MM,
    REJECT,
    Quality,
    Reason,
    assess,
    calibration_reasons,
    check_pixel_size,
    combine,
    load_thresholds,
    worst,
)

__all__ = [
    "CHECK",
    "GOOD",
    "PIXEL_SIZE_RANGE_MM",
    "REJECT",
    "Features",
    "Quality",
    "Reason",
    "assess",
    "calibration_reasons",
    "check_pixel_size",
    "combine",
    "compute_features",
    "content_region",
    "load_thresholds",
    "worst",
]
