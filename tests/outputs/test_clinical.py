from __future__ import annotations

import pytest
from outputs_helpers import frames, make_frame

from fetalseg import standards
from fetalseg.outputs import Exam, KnownGA
from fetalseg.outputs.clinical import assess_exam, dating_standard


def _exam(standard: str, ga: float | None = 30.0) -> Exam:
    ((image, mask),) = frames(1)
    known = None if ga is None else KnownGA(ga, "given")
    return Exam(make_frame(image, mask), standard, known)


def test_centiles_are_the_standards_at_the_known_ga(png_exam):
    a = assess_exam(png_exam)
    m = png_exam.selected.measurement
    for measure in ("hc", "bpd", "ofd"):
        expected = standards.assess(measure, getattr(m, f"{measure}_mm"), 18 + 3 / 7)
        assert a.centiles[measure].centile == pytest.approx(expected.centile)
        assert a.centile(measure) is a.centiles[measure]
    assert a.ga_estimate.standard == "intergrowth21"
    assert a.cephalic_index.value == pytest.approx(100 * m.bpd_mm / m.ofd_mm)


def test_no_known_ga_means_no_centiles_but_a_ga_estimate():
    a = assess_exam(_exam("intergrowth21", ga=None))
    assert a.centiles == {}
    assert a.ga_estimate is not None and a.ga_estimate.hc_mm > 0


def test_who_dates_by_the_default_dating_standard_and_has_no_ofd_chart():
    exam = _exam("who2017")
    a = assess_exam(exam)
    assert dating_standard(exam) == standards.DEFAULT_GA_STANDARD
    assert a.centiles["ofd"].status is standards.Status.MEASURE_NOT_COVERED
    assert a.centile("ofd") is None
    assert a.centiles["hc"].standard == "who2017"


def test_hadlock_dates_by_hadlock_and_charts_nothing():
    exam = _exam("hadlock")
    a = assess_exam(exam)
    assert a.ga_estimate.standard == "hadlock"
    assert all(r.centile is None for r in a.centiles.values())


def test_ga_outside_the_charts_is_a_status_not_a_number():
    a = assess_exam(_exam("intergrowth21", ga=42.0))
    assert a.centiles["hc"].status is standards.Status.GA_OUT_OF_RANGE
    assert a.centiles["hc"].centile is None


def test_no_pixel_size_gives_an_empty_assessment():
    ((image, mask),) = frames(1)
    frame = make_frame(image, mask)
    frame.measurement = None
    a = assess_exam(Exam(frame, "intergrowth21", KnownGA(30.0, "given")))
    assert a.ga_estimate is None and a.centiles == {} and a.cephalic_index is None
