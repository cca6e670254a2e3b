"""INTERGROWTH-21st fetal growth standards for HC, BPD and OFD, and GA from HC.

Size standards
    A. T. Papageorghiou, E. O. Ohuma, D. G. Altman, et al., "International standards for fetal
    growth based on serial ultrasound measurements: the Fetal Growth Longitudinal Study of the
    INTERGROWTH-21st Project", Lancet 384 (2014) 869-879, doi:10.1016/S0140-6736(14)61490-2.
    Each measure is normal at a given GA, with mean ``mu(GA)`` and SD ``sigma(GA)`` given as
    fractional polynomials in exact GA weeks (``log`` is the natural logarithm). The
    coefficients below are the published ones, as also used by the reference implementation in
    the R package ``gigs`` (LSHTM, ``R/ig_fet.R``, ``ig_fet_equations``). Valid 14+0 to 40+0
    weeks. Reproducing the published z-score tables (``GROW_Fetal-zs_{hc,bpd,ofd}_Table.pdf``
    on intergrowth21.tghn.org) is tested in ``tests/standards``.

Caliper conventions (transthalamic plane)
    * HC: ellipse around the *outer* border of the skull.
    * OFD: outer-to-outer.
    * BPD: taken here as **outer-to-outer**. Issue 18 assumed outer-to-inner; the primary text
      was not available to check, but the standard's own equations are consistent only with
      outer-to-outer: the ellipse with the mean BPD and OFD as axes has the mean HC as its
      perimeter within 0.35 % from 18 to 38 weeks (+1.2 to +1.6 % if BPD were outer-to-inner and
      converted), and the WHO 2017 median BPD (outer-to-inner) equals this mean BPD converted to
      outer-to-inner within 0.6 mm at 20-35 weeks while the two HC medians agree within 1.4 %
      (``tests/standards/test_conventions.py``; docs/clinical.md).

GA from HC
    A. T. Papageorghiou, B. Kemp, W. Stones, et al., "Ultrasound-based gestational-age
    estimation in late pregnancy", Ultrasound Obstet Gynecol 48 (2016) 719-726,
    doi:10.1002/uog.15894: ``log(GA_days) = 0.05970 (log HC)^2 + 0.000000006409 HC^3 + 3.3258``
    with HC in mm (same equation in ``gigs``' ``ig_fet_estimate_ga_hc`` and in the
    ``nutriverse/intergrowth`` R package's ``calculate_gestage_hcfl``). ``gigs`` documents the
    HC as taken from a scan at 98-181 days (14+0 to 25+6 weeks); that is the range used here.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "IG_DATING_RANGE_WEEKS",
    "IG_GA_RANGE_WEEKS",
    "ig_dating_band_days",
    "ig_ga_days_from_hc",
    "ig_mean_mm",
    "ig_sd_mm",
]

IG_GA_RANGE_WEEKS: tuple[float, float] = (14.0, 40.0)
"""GA range (exact weeks, inclusive) of the INTERGROWTH-21st fetal growth standards."""

IG_DATING_RANGE_WEEKS: tuple[float, float] = (14.0, 26.0)
"""GA range (weeks; 14+0 inclusive to 26+0 exclusive, i.e. 98-181 days) over which the
INTERGROWTH-21st HC dating equation is used (the window ``gigs`` documents for the HC scan)."""


def _log(ga: np.ndarray) -> np.ndarray:
    return np.log(ga)


def ig_mean_mm(measure: str, ga_weeks: np.ndarray | float) -> np.ndarray:
    """Mean of ``measure`` ("hc", "bpd", "ofd") in mm at GA (exact weeks); no range check.

    Papageorghiou et al., Lancet 2014 (module docstring). Shape: that of ``ga_weeks``.
    """
    g = np.asarray(ga_weeks, dtype=float)
    if measure == "hc":
        return -28.2849 + 1.69267 * g**2 - 0.397485 * g**2 * _log(g)
    if measure == "bpd":
        return 5.60878 + 0.158369 * g**2 - 0.00256379 * g**3
    if measure == "ofd":
        return -12.4097 + 0.626342 * g**2 - 0.148075 * g**2 * _log(g)
    raise KeyError(measure)


def ig_sd_mm(measure: str, ga_weeks: np.ndarray | float) -> np.ndarray:
    """SD of ``measure`` ("hc", "bpd", "ofd") in mm at GA (exact weeks); no range check.

    Papageorghiou et al., Lancet 2014 (module docstring). Shape: that of ``ga_weeks``.
    """
    g = np.asarray(ga_weeks, dtype=float)
    lg = _log(g)
    if measure == "hc":
        return 1.98735 + 0.0136772 * g**3 - 0.00726264 * g**3 * lg + 0.000976253 * g**3 * lg**2
    if measure == "bpd":
        return np.exp(
            0.101242 + 0.00150557 * g**3 - 0.000771535 * g**3 * lg + 0.0000999638 * g**3 * lg**2
        )
    if measure == "ofd":
        return np.exp(
            -0.880034 + 0.0631165 * g**2 - 0.0317136 * g**2 * lg + 0.00408302 * g**2 * lg**2
        )
    raise KeyError(measure)


def ig_ga_days_from_hc(hc_mm: float) -> float:
    """GA in days from HC in mm by Papageorghiou et al., UOG 2016 (module docstring).

    No range check; ``hc_mm`` must be positive.
    """
    lhc = math.log(hc_mm)
    return math.exp(0.05970 * lhc**2 + 0.000000006409 * hc_mm**3 + 3.3258)


def _ig_hc_mean_slope_mm_per_week(ga_weeks: float) -> float:
    """Derivative of :func:`ig_mean_mm` for HC with respect to GA (mm per week)."""
    g = ga_weeks
    return 2.0 * 1.69267 * g - 0.397485 * (2.0 * g * math.log(g) + g)


def ig_dating_band_days(ga_weeks: float) -> float:
    """Half-width (days) of a 95 % band for dating by HC at ``ga_weeks``, *derived* here.

    ``1.96 * SD_HC(GA) / (d mean_HC / d GA)`` from the INTERGROWTH-21st HC size standard
    (Lancet 2014): the spread of HC among fetuses of the same GA, expressed as days of growth.
    This is not the prediction interval printed in Papageorghiou et al. 2016, which this
    project could not consult; it is of the same nature (between-fetus variation of HC at a
    given GA) and comes from the same cohort: 6.1 days at 14 weeks, 8.4 at 20, 10.8 at 25.
    """
    sd = float(ig_sd_mm("hc", ga_weeks))
    return 7.0 * 1.96 * sd / _ig_hc_mean_slope_mm_per_week(ga_weeks)
