"""GA from HC, GA input (text and dates) and the cephalic index."""

from __future__ import annotations

import datetime as dt

import pytest

from fetalseg.biometry import HADLOCK_HC_RANGE_MM, hadlock_ga_weeks
from fetalseg.errors import InputError
from fetalseg.standards import (
    DEFAULT_GA_STANDARD,
    Status,
    cephalic_index,
    estimate_ga,
    estimate_ga_all,
    format_ga,
    ga_from_dates,
    ig_ga_days_from_hc,
    ig_mean_mm,
    parse_ga,
)


def test_intergrowth_dating_agrees_with_intergrowth_median_hc() -> None:
    # Both come from the INTERGROWTH-21st cohort: dating the median HC of the size standard
    # (Lancet 2014) with the dating equation (UOG 2016) must give back about the same GA.
    for ga in range(14, 26):
        est = estimate_ga(float(ig_mean_mm("hc", ga)), "intergrowth21")
        assert est.status == Status.OK
        assert abs(est.weeks - ga) * 7 < 2.0, ga


def test_intergrowth_dating_equation_worked_value() -> None:
    # HC 175 mm: log(GA days) = 0.05970 * ln(175)^2 + 6.409e-9 * 175^3 + 3.3258
    #   = 0.05970 * 26.67501 + 0.034348 + 3.3258 = 4.952647 -> 141.55 days = 20w1.5d.
    assert ig_ga_days_from_hc(175.0) == pytest.approx(141.55, abs=0.01)
    est = estimate_ga(175.0)
    assert est.standard == DEFAULT_GA_STANDARD == "intergrowth21"
    assert est.weeks == pytest.approx(141.55 / 7, abs=0.002)
    assert 7.0 < est.plus_minus_days < 10.0
    assert "INTERGROWTH-21st" in est.message and "20w2d" in est.message


def test_intergrowth_dating_range_and_band() -> None:
    est = estimate_ga(300.0, "intergrowth21")  # dates to ~33 weeks: beyond 25+6
    assert est.status == Status.VALUE_OUT_OF_RANGE
    assert est.weeks is None and est.plus_minus_days is None and "outside" in est.message
    assert estimate_ga(60.0).status == Status.VALUE_OUT_OF_RANGE  # below 14+0
    bands = [estimate_ga(float(ig_mean_mm("hc", g))).plus_minus_days for g in (14, 20, 25)]
    assert bands == sorted(bands) and 5.0 < bands[0] < 7.5 and 9.5 < bands[-1] < 12.5


def test_hadlock_reuses_biometry_and_has_its_bands() -> None:
    for hc, band in ((120.0, 8.4), (200.0, 13.3), (260.0, 23.8), (320.0, 26.6)):
        est = estimate_ga(hc, "hadlock")
        assert est.status == Status.OK and est.weeks == hadlock_ga_weeks(hc)
        assert est.plus_minus_days == pytest.approx(band)
    lo, hi = HADLOCK_HC_RANGE_MM
    early = estimate_ga(lo + 1.0, "hadlock")  # ~12 weeks: valid, but no tabulated accuracy
    assert early.status == Status.OK and early.plus_minus_days is None
    assert estimate_ga(hi + 1.0, "hadlock").status == Status.VALUE_OUT_OF_RANGE
    both = estimate_ga_all(200.0)
    assert set(both) == {"intergrowth21", "hadlock"}
    assert both["hadlock"].to_dict()["status"] == "ok"


def test_estimate_ga_bad_input() -> None:
    with pytest.raises(InputError, match="no GA-from-HC formula"):
        estimate_ga(200.0, "who2017")
    for bad in (0.0, -5.0, float("nan")):
        with pytest.raises(InputError):
            estimate_ga(bad)


@pytest.mark.parametrize(
    ("text", "weeks"),
    [
        ("20w3d", 20 + 3 / 7),
        ("20W 3D", 20 + 3 / 7),
        ("20+3", 20 + 3 / 7),
        (" 20 + 3 ", 20 + 3 / 7),
        ("20 weeks 3 days", 20 + 3 / 7),
        ("20wk 6d", 20 + 6 / 7),
        ("20w", 20.0),
        ("20", 20.0),
        ("20.5", 20.5),
    ],
)
def test_parse_ga_accepts(text: str, weeks: float) -> None:
    assert parse_ga(text) == pytest.approx(weeks)


@pytest.mark.parametrize("text", ["203", "20 3", "20w7d", "20+9", "w3d", "", "50w", "0w0d"])
def test_parse_ga_rejects(text: str) -> None:
    with pytest.raises(InputError, match="gestational age"):
        parse_ga(text)


def test_format_ga() -> None:
    assert format_ga(20 + 3 / 7) == "20w3d"
    assert format_ga(20.99) == "21w0d"
    assert format_ga(parse_ga("39+6")) == "39w6d"


def test_ga_from_lmp_and_dating_scan() -> None:
    assert ga_from_dates("2026-06-01", lmp="2026-01-12") == pytest.approx(20.0)
    assert ga_from_dates(dt.date(2026, 6, 4), lmp=dt.date(2026, 1, 12)) == pytest.approx(20 + 3 / 7)
    # Dated 12w2d at a scan on 2026-03-02; exam 8 weeks and 1 day later -> 20w3d.
    ga = ga_from_dates("2026-04-28", dating_scan="2026-03-02", ga_at_dating="12+2")
    assert format_ga(ga) == "20w3d"
    assert ga_from_dates("2026-03-02", dating_scan="2026-03-02", ga_at_dating=12.5) == 12.5


def test_ga_from_dates_rejects() -> None:
    with pytest.raises(InputError, match="before the LMP"):
        ga_from_dates("2026-01-01", lmp="2026-02-01")
    with pytest.raises(InputError, match="not both"):
        ga_from_dates("2026-06-01", lmp="2026-01-12", dating_scan="2026-03-01", ga_at_dating=12)
    with pytest.raises(InputError, match="dating scan"):
        ga_from_dates("2026-06-01", dating_scan="2026-03-01")
    with pytest.raises(InputError, match="YYYY-MM-DD"):
        ga_from_dates("01/06/2026", lmp="2026-01-12")
    with pytest.raises(InputError, match="check the dates"):
        ga_from_dates("2027-06-01", lmp="2026-01-12")


def test_cephalic_index() -> None:
    value, status, message = cephalic_index(50.0, 62.5)
    assert value == pytest.approx(80.0) and status == Status.OK and "70-86%" in message
    assert cephalic_index(40.0, 60.0).status == Status.BELOW_NORMAL_RANGE  # 66.7 %
    assert cephalic_index(55.0, 60.0).status == Status.ABOVE_NORMAL_RANGE  # 91.7 %
    assert cephalic_index(70.0, 100.0).status == Status.OK  # bounds are inclusive
    assert cephalic_index(86.0, 100.0).status == Status.OK
    with pytest.raises(InputError):
        cephalic_index(0.0, 60.0)


def test_ga_from_hc_is_intergrowth_in_its_range_else_hadlock() -> None:
    from fetalseg.standards import ga_from_hc

    ig = ga_from_hc(175.0)  # about 20 weeks: INTERGROWTH-21st dates it
    assert ig.standard == "intergrowth21" and ig.weeks == estimate_ga(175.0).weeks
    late = ga_from_hc(300.0)  # about 33 weeks: beyond IG's 25+6, Hadlock's estimate, named
    assert late.standard == "hadlock" and late.weeks == pytest.approx(hadlock_ga_weeks(300.0))
    assert "Hadlock 1984 used" in late.message
    assert ga_from_hc(300.0, "intergrowth21").weeks == late.weeks  # the default is the rule
    assert ga_from_hc(175.0, "hadlock").standard == "hadlock"  # an explicit choice is strict
    lo, hi = HADLOCK_HC_RANGE_MM
    for hc in (lo - 1.0, hi + 1.0):  # outside both formulas: no GA, never NaN
        none = ga_from_hc(hc)
        assert none.weeks is None and none.status.value == "value_out_of_range"
