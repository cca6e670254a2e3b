"""fetalseg.standards: fetal growth standards, GA estimation and GA input (numpy only).

* Centiles / z-scores of HC, BPD, OFD at a known GA: :func:`assess`, :func:`value_at_centile`,
  :func:`centile_curves`, against INTERGROWTH-21st (default) or WHO 2017 (:data:`STANDARDS`).
* GA from HC: :func:`estimate_ga` (one formula), :func:`ga_from_hc` (the rule every output
  uses: INTERGROWTH-21st 2016 in its range, else Hadlock 1984).
* GA given by the user: :func:`parse_ga` ("20w3d", "20+3"), :func:`ga_from_dates`.
* Cephalic index: :func:`cephalic_index`.

See docs/clinical.md for the standards, their populations, ranges and caliper conventions.
"""

from fetalseg.standards.core import (
    CEPHALIC_INDEX_NORMAL_RANGE,
    DEFAULT_GA_STANDARD,
    DEFAULT_STANDARD,
    FETALSEG_BPD_CONVENTION,
    MEASURES,
    STANDARDS,
    CentileResult,
    CephalicIndexResult,
    GAEstimate,
    Standard,
    Status,
    assess,
    bpd_outer_inner_from_outer_outer,
    bpd_outer_outer_from_outer_inner,
    centile_curves,
    cephalic_index,
    estimate_ga,
    estimate_ga_all,
    format_centile,
    ga_from_hc,
    ga_label,
    get_standard,
    value_at_centile,
)
from fetalseg.standards.gestational_age import (
    MAX_PLAUSIBLE_GA_WEEKS,
    format_ga,
    ga_from_dates,
    parse_ga,
)
from fetalseg.standards.intergrowth import (
    IG_DATING_RANGE_WEEKS,
    IG_GA_RANGE_WEEKS,
    ig_dating_band_days,
    ig_ga_days_from_hc,
    ig_mean_mm,
    ig_sd_mm,
)
from fetalseg.standards.who2017 import WHO_GA_RANGE_WEEKS, WHO_QUANTILES, who_quantile_values_mm

__all__ = [
    "CEPHALIC_INDEX_NORMAL_RANGE",
    "DEFAULT_GA_STANDARD",
    "DEFAULT_STANDARD",
    "FETALSEG_BPD_CONVENTION",
    "IG_DATING_RANGE_WEEKS",
    "IG_GA_RANGE_WEEKS",
    "MAX_PLAUSIBLE_GA_WEEKS",
    "MEASURES",
    "STANDARDS",
    "WHO_GA_RANGE_WEEKS",
    "WHO_QUANTILES",
    "CentileResult",
    "CephalicIndexResult",
    "GAEstimate",
    "Standard",
    "Status",
    "assess",
    "bpd_outer_inner_from_outer_outer",
    "bpd_outer_outer_from_outer_inner",
    "centile_curves",
    "cephalic_index",
    "estimate_ga",
    "estimate_ga_all",
    "format_centile",
    "format_ga",
    "ga_from_dates",
    "ga_from_hc",
    "ga_label",
    "get_standard",
    "ig_dating_band_days",
    "ig_ga_days_from_hc",
    "ig_mean_mm",
    "ig_sd_mm",
    "parse_ga",
    "value_at_centile",
    "who_quantile_values_mm",
]
