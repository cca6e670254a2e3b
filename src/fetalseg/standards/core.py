"""Centiles, z-scores and GA estimates against named growth standards.

Registry (:data:`STANDARDS`)
    ``"intergrowth21"``  INTERGROWTH-21st fetal growth standards (HC, BPD, OFD; 14-40 weeks) and
                         HC dating (:mod:`fetalseg.standards.intergrowth`).
    ``"who2017"``        WHO fetal growth charts, Kiserud et al. 2017 (HC, BPD; 14-40 weeks)
                         (:mod:`fetalseg.standards.who2017`).
    ``"hadlock"``        Hadlock et al. 1984 GA from HC (dating only; no size centiles here),
                         reusing :func:`fetalseg.biometry.hadlock_ga_weeks`.

BPD caliper convention
    fetalseg's BPD is the minor axis of the ellipse fitted to the *outer* skull border, i.e.
    **outer-to-outer** (:mod:`fetalseg.biometry.ellipse`). Each standard's convention is in
    :attr:`Standard.conventions`. INTERGROWTH-21st's BPD is taken as **outer-to-outer** (its
    published mean HC equals the ellipse perimeter of its mean BPD and OFD within 0.35 % at
    18-38 weeks, which holds only if BPD and OFD are the same kind of diameter; issue 18 had
    assumed outer-to-inner; evidence in docs/clinical.md and tests/standards/test_conventions.py).
    WHO 2017's BPD is **outer-to-inner**. For a standard measured outer-to-inner, :func:`assess`
    by default converts our BPD with the regression of L. Wong, E. Paul, H. K. M. Murday, et al.,
    "Biparietal diameter measurements using the outer-to-outer versus outer-to-inner
    measurement: a question of pedantry?", Australas J Ultrasound Med 21 (2018) 161-168,
    doi:10.1002/ajum.12091 (543 fetuses, 14-40 weeks): ``BPDoi = -0.403458 + 0.9714153 BPDoo``
    (mm). Curves are drawn in our convention with the algebraic inverse of the same line (the
    paper's separate regression of BPDoo on BPDoi, ``0.555934 + 1.027318 BPDoi``, differs from it
    by up to 0.1 mm, and using one line both ways keeps centile -> value -> centile exact).
    Every BPD result says what was done in ``convention_note``; with ``convert_bpd=False`` the
    raw outer-to-outer value is compared and the note says that it is biased high (about 3 mm at
    term).

Statuses (:class:`Status`) are plain strings in JSON; out-of-range input gives a status and a
message, never NaN.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from enum import Enum
from statistics import NormalDist
from types import MappingProxyType
from typing import NamedTuple

import numpy as np

from fetalseg.biometry import GA_MAX_WEEKS, GA_MIN_WEEKS, HADLOCK_HC_RANGE_MM, hadlock_ga_weeks
from fetalseg.errors import InputError
from fetalseg.standards.gestational_age import format_ga
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
    "MEASURES",
    "STANDARDS",
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
    "ga_from_hc",
    "ga_label",
    "get_standard",
    "value_at_centile",
]

_NORMAL = NormalDist()

MEASURES: tuple[str, ...] = ("hc", "bpd", "ofd")
"""Measures known to this module (lower case; :func:`assess` accepts any case)."""

OUTER_OUTER = "outer-to-outer"
OUTER_INNER = "outer-to-inner"
OUTER_ELLIPSE = "ellipse on the outer skull border"
FETALSEG_BPD_CONVENTION = OUTER_OUTER
"""fetalseg's BPD: minor axis of the ellipse fitted to the outer skull border."""


class Status(str, Enum):
    """Outcome of a standards computation; the value is what goes into JSON/CSV."""

    OK = "ok"
    GA_OUT_OF_RANGE = "ga_out_of_range"
    """The GA is outside the standard's range: no centile / no GA estimate."""
    VALUE_OUT_OF_RANGE = "value_out_of_range"
    """The value is outside what the standard describes (WHO: beyond the 1st-99th centile;
    dating: HC outside the formula's range)."""
    MEASURE_NOT_COVERED = "measure_not_covered"
    """The standard has no chart for this measure (e.g. OFD in WHO 2017, anything in Hadlock)."""
    BELOW_NORMAL_RANGE = "below_normal_range"
    ABOVE_NORMAL_RANGE = "above_normal_range"


@dataclass(frozen=True)
class Standard:
    """One growth / dating standard: what it covers, for whom, and how it was measured."""

    name: str
    title: str
    citation: str
    population: str
    ga_range_weeks: tuple[float, float] | None
    """GA range of the size charts (weeks, inclusive); ``None`` if it has none."""
    conventions: Mapping[str, str]
    """Caliper convention of each measure it has a size chart for (keys from :data:`MEASURES`)."""
    dating: str | None
    """Citation of its GA-from-HC formula, or ``None``."""
    convention_sources: Mapping[str, str] = field(default_factory=dict)
    """Where a measure's convention comes from, when that needs saying (added to the note)."""

    @property
    def measures(self) -> tuple[str, ...]:
        """Measures with a size chart."""
        return tuple(self.conventions)


_IG_CITATION = (
    "Papageorghiou AT et al. International standards for fetal growth based on serial "
    "ultrasound measurements (INTERGROWTH-21st). Lancet 2014;384:869-79"
)
_IG_DATING = (
    "Papageorghiou AT et al. Ultrasound-based gestational-age estimation in late pregnancy. "
    "Ultrasound Obstet Gynecol 2016;48:719-26"
)
_WHO_CITATION = (
    "Kiserud T et al. The World Health Organization fetal growth charts. PLoS Med 2017;14:e1002220"
)
_HADLOCK_DATING = (
    "Hadlock FP, Deter RL, Harrist RB, Park SK. Estimating fetal age: computer-assisted "
    "analysis of multiple fetal growth parameters. Radiology 1984;152:497-501"
)

STANDARDS: Mapping[str, Standard] = MappingProxyType(
    {
        "intergrowth21": Standard(
            name="intergrowth21",
            title="INTERGROWTH-21st",
            citation=_IG_CITATION,
            population=(
                "4321 low-risk pregnancies of healthy, well-nourished women in 8 urban "
                "populations (Brazil, China, India, Italy, Kenya, Oman, UK, USA), GA confirmed "
                "by first-trimester CRL; prescriptive standard"
            ),
            ga_range_weeks=IG_GA_RANGE_WEEKS,
            conventions=MappingProxyType(
                {"hc": OUTER_ELLIPSE, "bpd": OUTER_OUTER, "ofd": OUTER_OUTER}
            ),
            dating=_IG_DATING,
            convention_sources=MappingProxyType(
                {
                    "bpd": (
                        "INTERGROWTH-21st BPD taken as outer-to-outer: its mean HC is the "
                        "ellipse perimeter of its mean BPD and OFD within 0.35% at 18-38 weeks "
                        "(docs/clinical.md)."
                    )
                }
            ),
        ),
        "who2017": Standard(
            name="who2017",
            title="WHO fetal growth charts (Kiserud 2017)",
            citation=_WHO_CITATION,
            population=(
                "1387 low-risk pregnancies of women of middle/high socioeconomic status in 10 "
                "countries (Argentina, Brazil, DR Congo, Denmark, Egypt, France, Germany, India, "
                "Norway, Thailand), GA confirmed by CRL at 8-13 weeks"
            ),
            ga_range_weeks=WHO_GA_RANGE_WEEKS,
            conventions=MappingProxyType({"hc": OUTER_ELLIPSE, "bpd": OUTER_INNER}),
            dating=None,
            convention_sources=MappingProxyType(
                {
                    "bpd": (
                        "WHO 2017 BPD taken as outer-to-inner: its median is the INTERGROWTH-21st "
                        "mean BPD converted to outer-to-inner within 0.7 mm (docs/clinical.md)."
                    )
                }
            ),
        ),
        "hadlock": Standard(
            name="hadlock",
            title="Hadlock 1984",
            citation=_HADLOCK_DATING,
            population="fetuses of 12-42 weeks at one US centre (Houston), 1980s scanners",
            ga_range_weeks=None,
            conventions=MappingProxyType({}),
            dating=_HADLOCK_DATING,
        ),
    }
)
"""All standards by name."""

DEFAULT_STANDARD = "intergrowth21"
"""Standard for centiles when none is named (see docs/clinical.md for why)."""
DEFAULT_GA_STANDARD = "intergrowth21"
"""Standard for GA from HC when none is named. Note: :func:`fetalseg.biometry.measure_head`
still reports Hadlock's GA in ``Measurement.ga_weeks``; this constant is the one place to change
the default of this module."""


def get_standard(name: str) -> Standard:
    """The :class:`Standard` called ``name``; unknown names -> InputError listing valid ones."""
    key = name.strip().lower() if isinstance(name, str) else name
    try:
        return STANDARDS[key]
    except (KeyError, TypeError):
        valid = ", ".join(sorted(STANDARDS))
        raise InputError(f"growth standard {name!r}: unknown; choose one of {valid}") from None


def _measure(measure: str) -> str:
    key = measure.strip().lower() if isinstance(measure, str) else ""
    if key not in MEASURES:
        raise InputError(f"measure {measure!r}: unknown; choose one of {', '.join(MEASURES)}")
    return key


def _finite(x: float, what: str) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise InputError(f"{what} {x!r}: not a number") from None
    if not math.isfinite(v):
        raise InputError(f"{what} {x!r}: not a finite number")
    return v


def bpd_outer_inner_from_outer_outer(bpd_oo_mm: float | np.ndarray) -> float | np.ndarray:
    """Outer-to-inner BPD (mm) from outer-to-outer BPD (mm): Wong et al. 2018 (module doc)."""
    return -0.403458 + 0.9714153 * bpd_oo_mm


def bpd_outer_outer_from_outer_inner(bpd_oi_mm: float | np.ndarray) -> float | np.ndarray:
    """Outer-to-outer BPD (mm) from outer-to-inner BPD (mm): inverse of
    :func:`bpd_outer_inner_from_outer_outer` (Wong et al. 2018, module docstring)."""
    return (bpd_oi_mm + 0.403458) / 0.9714153


@dataclass(frozen=True)
class CentileResult:
    """Centile and z-score of one measurement against one standard.

    ``value_mm`` is the measurement as given (fetalseg's convention); ``compared_value_mm`` what
    was compared with the standard (after any BPD conversion). ``z``/``centile`` (0-100) are
    ``None`` unless ``status`` is "ok".
    """

    measure: str
    value_mm: float
    ga_weeks: float
    standard: str
    z: float | None
    centile: float | None
    status: Status
    message: str
    convention_note: str
    compared_value_mm: float | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dict (status as its string value)."""
        d = asdict(self)
        d["status"] = self.status.value
        return d


def format_centile(centile: float) -> str:
    """A centile (0-100) as shown to a reader, to one decimal: ``"50.0"``; a centile that
    would round to 100.0 or 0.0 is ``">99.9"`` / ``"<0.1"`` (no measurement is at the 100th
    or 0th centile of a normal distribution). The one formatting of centiles in fetalseg."""
    c = _finite(centile, "centile")
    if c >= 99.95:
        return ">99.9"
    if c < 0.05:
        return "<0.1"
    return f"{c:.1f}"


def _centile_words(c: float) -> str:
    if c < 3.0:
        return "below the 3rd centile"
    if c > 97.0:
        return "above the 97th centile"
    return "within the 3rd-97th centiles"


def _convention(measure: str, std: Standard, convert_bpd: bool) -> tuple[str, bool]:
    """(note, convert?) for comparing our ``measure`` with ``std``."""
    theirs = std.conventions[measure]
    source = std.convention_sources.get(measure, "")
    if measure != "bpd" or theirs == FETALSEG_BPD_CONVENTION:
        note = f"{measure.upper()}: {theirs} in both fetalseg and {std.title}."
        return (f"{note} {source}" if source else note), False
    if convert_bpd:
        note = (
            f"BPD: fetalseg measures {OUTER_OUTER}, {std.title} {theirs}; converted with "
            "Wong et al. 2018 (BPDoi = -0.403458 + 0.9714153 x BPDoo) before comparison."
        )
    else:
        note = (
            f"BPD: fetalseg measures {OUTER_OUTER}, {std.title} {theirs}; NOT converted, so the "
            "centile is biased high (outer-to-outer exceeds outer-to-inner by about 1-3 mm)."
        )
    return (f"{note} {source}" if source else note), convert_bpd


def _who_centile(measure: str, value: float, ga: float) -> float | None:
    q = who_quantile_values_mm(measure, ga)
    eps = 1e-9 * q[-1]  # floating-point slack, so that the 1st/99th centile curves round-trip
    if not q[0] - eps <= value <= q[-1] + eps:
        return None
    return 100.0 * float(np.interp(value, q, WHO_QUANTILES))


def assess(
    measure: str,
    value_mm: float,
    ga_weeks: float,
    standard: str = DEFAULT_STANDARD,
    *,
    convert_bpd: bool = True,
) -> CentileResult:
    """Centile and z-score of ``value_mm`` (mm, fetalseg convention) at ``ga_weeks``.

    ``measure``: "hc", "bpd" or "ofd". Bad input (unknown measure/standard, non-finite or
    non-positive value, non-finite GA) -> InputError; a GA outside the standard's range, a
    measure it does not chart or (WHO) a value beyond its 1st-99th centile -> a status.
    """
    m = _measure(measure)
    std = get_standard(standard)
    value = _finite(value_mm, f"{m.upper()} (mm)")
    if value <= 0:
        raise InputError(f"{m.upper()} {value_mm!r} mm: must be positive")
    ga = _finite(ga_weeks, "gestational age (weeks)")

    def result(
        status: Status,
        msg: str,
        note: str = "",
        z: float | None = None,
        c: float | None = None,
        cmp: float | None = None,
    ) -> CentileResult:
        return CentileResult(m, value, ga, std.name, z, c, status, msg, note, cmp)

    if m not in std.conventions:
        covered = ", ".join(x.upper() for x in std.measures) or "no size charts"
        return result(
            Status.MEASURE_NOT_COVERED, f"{std.title} has no {m.upper()} chart ({covered})."
        )
    note, convert = _convention(m, std, convert_bpd)
    lo, hi = std.ga_range_weeks  # type: ignore[misc]
    if not lo <= ga <= hi:
        return result(
            Status.GA_OUT_OF_RANGE,
            f"GA {format_ga(max(ga, 0.0))} is outside {std.title}'s range "
            f"{format_ga(lo)}-{format_ga(hi)}: no centile.",
            note,
        )
    compared = float(bpd_outer_inner_from_outer_outer(value)) if convert else value
    if std.name == "intergrowth21":
        z = (compared - float(ig_mean_mm(m, ga))) / float(ig_sd_mm(m, ga))
        c = 100.0 * _NORMAL.cdf(z)
    else:
        c = _who_centile(m, compared, ga)
        if c is None:
            side = (
                "below the 1st" if compared < who_quantile_values_mm(m, ga)[0] else "above the 99th"
            )
            return result(
                Status.VALUE_OUT_OF_RANGE,
                f"{m.upper()} {compared:.1f} mm at {format_ga(ga)} is {side} centile of "
                f"{std.title}, beyond what the chart describes.",
                note,
                cmp=compared,
            )
        z = _NORMAL.inv_cdf(min(max(c / 100.0, 1e-12), 1 - 1e-12))
    msg = (
        f"{m.upper()} {value:.1f} mm at {format_ga(ga)}: centile {format_centile(c)} "
        f"(z = {z:+.2f}), "
        f"{_centile_words(c)}, {std.title}."
    )
    return result(Status.OK, msg, note, z=z, c=c, cmp=compared)


def _check_centile(centile: float, std: Standard) -> float:
    c = _finite(centile, "centile")
    lo, hi = (1.0, 99.0) if std.name == "who2017" else (0.0, 100.0)
    if not (lo <= c <= hi) or (std.name != "who2017" and c in (0.0, 100.0)):
        raise InputError(f"centile {centile!r}: {std.title} gives centiles in ({lo:g}, {hi:g})")
    return c


def value_at_centile(
    measure: str,
    centile: float,
    ga_weeks: float,
    standard: str = DEFAULT_STANDARD,
    *,
    bpd_convention: str = FETALSEG_BPD_CONVENTION,
) -> float | None:
    """Value (mm) of ``measure`` at ``centile`` (0-100) and ``ga_weeks``; ``None`` out of range.

    For BPD the value is given in ``bpd_convention``: "outer-to-outer" (fetalseg's, the
    default) or "outer-to-inner", converted with Wong et al. 2018 where it differs from the
    standard's. Inverse of :func:`assess` with ``convert_bpd=True``.
    """
    m = _measure(measure)
    std = get_standard(standard)
    if bpd_convention not in (OUTER_OUTER, OUTER_INNER):
        raise InputError(
            f"BPD convention {bpd_convention!r}: use {OUTER_OUTER!r} or {OUTER_INNER!r}"
        )
    if m not in std.conventions:
        return None
    c = _check_centile(centile, std)
    ga = _finite(ga_weeks, "gestational age (weeks)")
    lo, hi = std.ga_range_weeks  # type: ignore[misc]
    if not lo <= ga <= hi:
        return None
    if std.name == "intergrowth21":
        v = float(ig_mean_mm(m, ga) + _NORMAL.inv_cdf(c / 100.0) * ig_sd_mm(m, ga))
    else:
        v = float(np.interp(c / 100.0, WHO_QUANTILES, who_quantile_values_mm(m, ga)))
    if m == "bpd":
        theirs = std.conventions["bpd"]
        if bpd_convention == theirs:
            return v
        if theirs == OUTER_INNER and bpd_convention == OUTER_OUTER:
            return float(bpd_outer_outer_from_outer_inner(v))
        if theirs == OUTER_OUTER and bpd_convention == OUTER_INNER:
            return float(bpd_outer_inner_from_outer_outer(v))
        raise InputError(
            f"BPD convention {bpd_convention!r}: use {OUTER_OUTER!r} or {OUTER_INNER!r}"
        )
    return v


def centile_curves(
    measure: str,
    standard: str = DEFAULT_STANDARD,
    centiles: Iterable[float] = (3, 10, 50, 90, 97),
    ga_weeks: np.ndarray | None = None,
    *,
    bpd_convention: str = FETALSEG_BPD_CONVENTION,
) -> dict[float, np.ndarray]:
    """Curves for plots: ``{centile: values_mm}``, each of the shape of ``ga_weeks``.

    ``ga_weeks`` (weeks, any shape) defaults to the standard's range in steps of one day; a GA
    outside the range, or a standard without a chart for ``measure`` -> InputError. BPD is in
    ``bpd_convention`` (see :func:`value_at_centile`).
    """
    m = _measure(measure)
    std = get_standard(standard)
    if m not in std.conventions:
        raise InputError(f"{std.title} has no {m.upper()} chart")
    lo, hi = std.ga_range_weeks  # type: ignore[misc]
    if ga_weeks is None:
        ga = np.arange(round(lo * 7), round(hi * 7) + 1) / 7.0
    else:
        ga = np.asarray(ga_weeks, dtype=float)
    if ga.size == 0 or not np.all(np.isfinite(ga)) or ga.min() < lo or ga.max() > hi:
        raise InputError(
            f"GA for {std.title} curves must be finite and within {format_ga(lo)}-{format_ga(hi)}"
        )
    out: dict[float, np.ndarray] = {}
    for c in centiles:
        values = [
            value_at_centile(m, float(c), float(g), std.name, bpd_convention=bpd_convention)
            for g in ga.ravel()
        ]
        out[float(c)] = np.array(values, dtype=float).reshape(ga.shape)
    return out


@dataclass(frozen=True)
class GAEstimate:
    """GA estimated from HC by one standard's formula.

    ``weeks`` and ``plus_minus_days`` are ``None`` unless ``status`` is "ok" (``plus_minus_days``
    may also be ``None`` where the source tabulates no accuracy). ``uncertainty_note`` says what
    ``plus_minus_days`` is and where it comes from; ``valid_range_weeks`` is the formula's range.
    """

    weeks: float | None
    plus_minus_days: float | None
    standard: str
    status: Status
    message: str
    hc_mm: float | None = None
    valid_range_weeks: tuple[float, float] | None = None
    uncertainty_note: str = ""
    citation: str = ""

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dict (status as its string value)."""
        d = asdict(self)
        d["status"] = self.status.value
        return d


# Hadlock's HC dating accuracy (+-2 SD, weeks) by GA band, as tabulated in "Measurements
# frequently used to estimate gestational age and fetal biometry" (Callen's Ultrasonography in
# Obstetrics and Gynecology, appendix; "adapted from F. P. Hadlock and J. D. Bowie"): HC or
# corrected BPD, +-1.2 wk at 14-20 wk, +-1.9 wk at 20-26, +-3.1-3.4 wk at 26-32, +-3.5-3.8 wk at
# 32-42 (the upper end of each range is used here).
_HADLOCK_BANDS_WEEKS: tuple[tuple[float, float, float], ...] = (
    (14.0, 20.0, 1.2),
    (20.0, 26.0, 1.9),
    (26.0, 32.0, 3.4),
    (32.0, 42.0, 3.8),
)


def _hadlock_band_days(weeks: float) -> float | None:
    for lo, hi, pm in _HADLOCK_BANDS_WEEKS:
        if lo <= weeks < hi or (hi == 42.0 and weeks == hi):
            return 7.0 * pm
    return None


def estimate_ga(hc_mm: float, standard: str = DEFAULT_GA_STANDARD) -> GAEstimate:
    """GA from HC (mm) by ``standard`` ("intergrowth21" or "hadlock"), with range and ±days.

    An HC whose estimate falls outside the formula's range gives status "value_out_of_range"
    (no weeks), never NaN. A standard without a dating formula, or a non-finite / non-positive
    HC -> InputError.
    """
    std = get_standard(standard)
    hc = _finite(hc_mm, "HC (mm)")
    if hc <= 0:
        raise InputError(f"HC {hc_mm!r} mm: must be positive")
    if std.dating is None:
        dating = ", ".join(n for n, s in STANDARDS.items() if s.dating)
        raise InputError(f"{std.title} has no GA-from-HC formula; use one of {dating}")
    if std.name == "intergrowth21":
        lo, hi = IG_DATING_RANGE_WEEKS
        weeks = ig_ga_days_from_hc(hc) / 7.0
        in_range = lo <= weeks < hi
        band = ig_dating_band_days(weeks) if in_range else None
        unc = (
            "95% band derived as 1.96 x SD/slope of the INTERGROWTH-21st HC standard (Lancet "
            "2014) at the estimate; not the prediction interval printed in the 2016 paper."
        )
        range_text = f"{format_ga(lo)}-{format_ga(hi - 1 / 7)}"
    else:
        lo, hi = GA_MIN_WEEKS, GA_MAX_WEEKS
        weeks = hadlock_ga_weeks(hc)
        hc_lo, hc_hi = HADLOCK_HC_RANGE_MM
        in_range = hc_lo <= hc <= hc_hi
        band = _hadlock_band_days(weeks) if in_range else None
        unc = (
            "+-2 SD accuracy of HC dating by GA band (Hadlock & Bowie, as tabulated in Callen's "
            "Ultrasonography in Obstetrics and Gynecology); none tabulated below 14 weeks."
        )
        range_text = f"{format_ga(lo)}-{format_ga(hi)}"
    common = dict(
        hc_mm=hc,
        valid_range_weeks=(lo, hi),
        uncertainty_note=unc,
        citation=std.dating,
    )
    if not in_range:
        return GAEstimate(
            None,
            None,
            std.name,
            Status.VALUE_OUT_OF_RANGE,
            f"HC {hc:.1f} mm dates to about {weeks:.1f} weeks by {std.title}, outside its "
            f"range {range_text}: no GA from this formula.",
            **common,
        )
    pm = "" if band is None else f" ± {band:.0f} days"
    return GAEstimate(
        weeks,
        band,
        std.name,
        Status.OK,
        f"GA {format_ga(weeks)}{pm} from HC {hc:.1f} mm ({std.title}).",
        **common,
    )


def ga_from_hc(hc_mm: float, standard: str | None = None) -> GAEstimate:
    """The GA fetalseg reports for a measured HC (mm): the package's one rule, used by every
    frame and clip result, the CSV / JSON / overlay / terminal outputs, the page and the report.

    * ``standard`` given (a report's or the page's ``--standard hadlock``): that formula only,
      as :func:`estimate_ga`.
    * ``standard`` ``None`` or :data:`DEFAULT_GA_STANDARD`: INTERGROWTH-21st (2016) where its
      estimate lies in its dating range (14+0-25+6 weeks), else **Hadlock 1984** (12-42 weeks,
      with its wider ±days) — so a third-trimester head still gets a GA, named as Hadlock's in
      ``GAEstimate.standard`` and its message; outside both ranges ``value_out_of_range``
      under the default's name.

    Why: INTERGROWTH-21st is the default standard (docs/clinical.md, "Which standard is the
    default"), but its HC formula dates only up to 25+6 weeks; Hadlock's covers the rest.
    """
    if standard is not None and get_standard(standard).name != DEFAULT_GA_STANDARD:
        return estimate_ga(hc_mm, standard)
    first = estimate_ga(hc_mm, DEFAULT_GA_STANDARD)
    if first.status is Status.OK:
        return first
    fallback = estimate_ga(hc_mm, "hadlock")
    if fallback.status is not Status.OK:
        return replace(first, message=first.message + " Nor from Hadlock 1984 (12-42 weeks).")
    lo, hi = first.valid_range_weeks or (0.0, 0.0)
    note = (
        f" HC outside {get_standard(DEFAULT_GA_STANDARD).title}'s dating range "
        f"({format_ga(lo)}-{format_ga(hi - 1 / 7)}): Hadlock 1984 used."
    )
    return replace(fallback, message=fallback.message + note)


def ga_label(standard: str | None) -> str:
    """Short name of a GA's standard for a line of text ("INTERGROWTH-21st", "Hadlock")."""
    if standard is None:
        return ""
    return "Hadlock" if standard == "hadlock" else get_standard(standard).title


def estimate_ga_all(hc_mm: float) -> dict[str, GAEstimate]:
    """:func:`estimate_ga` by every standard that has a dating formula, by name."""
    return {n: estimate_ga(hc_mm, n) for n, s in STANDARDS.items() if s.dating}


CEPHALIC_INDEX_NORMAL_RANGE: tuple[float, float] = (70.0, 86.0)
"""Normal cephalic index (%), mean ± 2 SD (78.3 ± 4.4 %): F. P. Hadlock, R. L. Deter,
R. J. Carpenter, S. K. Park, "Estimating fetal age: effect of head shape on BPD", AJR Am J
Roentgenol 137 (1981) 83-85."""


class CephalicIndexResult(NamedTuple):
    """Cephalic index ``100 * BPD / OFD`` (%), its :class:`Status` and a message."""

    value: float
    status: Status
    message: str


def cephalic_index(bpd_mm: float, ofd_mm: float) -> CephalicIndexResult:
    """Cephalic index (%) from BPD and OFD (mm, both fetalseg's outer-to-outer), vs 70-86 %.

    Status "ok", "below_normal_range" (dolichocephalic: BPD small for the head size, dating by
    BPD underestimates GA; use HC) or "above_normal_range" (brachycephalic). Non-positive or
    non-finite input -> InputError.
    """
    bpd = _finite(bpd_mm, "BPD (mm)")
    ofd = _finite(ofd_mm, "OFD (mm)")
    if bpd <= 0 or ofd <= 0:
        raise InputError(f"cephalic index: BPD {bpd_mm!r} and OFD {ofd_mm!r} mm must be positive")
    ci = 100.0 * bpd / ofd
    lo, hi = CEPHALIC_INDEX_NORMAL_RANGE
    if ci < lo:
        st, words = Status.BELOW_NORMAL_RANGE, "below the normal range (dolichocephaly)"
    elif ci > hi:
        st, words = Status.ABOVE_NORMAL_RANGE, "above the normal range (brachycephaly)"
    else:
        st, words = Status.OK, "within the normal range"
    msg = (
        f"Cephalic index {ci:.1f}% (BPD/OFD, both outer-to-outer), {words} {lo:g}-{hi:g}% "
        "(Hadlock 1981)."
    )
    return CephalicIndexResult(ci, st, msg)
