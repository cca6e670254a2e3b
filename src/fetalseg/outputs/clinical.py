"""The clinical reading of an exam, from :mod:`fetalseg.standards`: GA estimated from HC, the
centile and z-score of each measure at the known GA, the cephalic index.

The report and the Structured Report both show this one :class:`Assessment`, so they never
disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fetalseg.outputs.exam import MEASURES, Exam, measure_value

__all__ = ["Assessment", "assess_exam"]


@dataclass
class Assessment:
    """``ga_estimate``: :class:`fetalseg.standards.GAEstimate` from the selected frame's HC
    (``None`` without a head in mm); ``centiles``: measure -> :class:`CentileResult` at the
    known GA (empty without one); ``cephalic_index``: BPD / OFD x 100 (%), ``None`` without a
    head; ``problems``: measure -> why the standard gave no centile for it."""

    ga_estimate: Any | None = None
    centiles: dict[str, Any] = field(default_factory=dict)
    cephalic_index: float | None = None
    problems: dict[str, str] = field(default_factory=dict)


def assess_exam(exam: Exam) -> Assessment:
    """Assess the selected frame of ``exam`` by ``exam.standard``.

    A standard that does not cover a measure (or a GA outside its range) gives no centile for
    it, and the reason in :attr:`Assessment.problems`; it never stops the report.
    """
    from fetalseg import standards
    from fetalseg.errors import InputError

    out = Assessment()
    m = exam.selected.measurement
    hc = measure_value(m, "hc")
    if hc is None:
        return out
    out.ga_estimate = standards.estimate_ga(hc, exam.standard)
    bpd, ofd = measure_value(m, "bpd"), measure_value(m, "ofd")
    if bpd is not None and ofd is not None:
        out.cephalic_index = float(standards.cephalic_index(bpd, ofd))
    if exam.known_ga is None:
        return out
    for measure in MEASURES:
        value = measure_value(m, measure)
        if value is None:
            continue
        try:
            out.centiles[measure] = standards.assess(
                measure, value, exam.known_ga.weeks, exam.standard
            )
        except (InputError, ValueError, KeyError) as e:
            out.problems[measure] = str(e)
    return out
