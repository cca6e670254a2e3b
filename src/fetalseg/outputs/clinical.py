"""The clinical reading of an exam, from :mod:`fetalseg.standards`: GA estimated from HC, the
centile and z-score of each measure at the known GA, the cephalic index.

The report and the Structured Report both show this one :class:`Assessment`, so they never
disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fetalseg.outputs.exam import MEASURES, Exam, measure_value

__all__ = ["Assessment", "assess_exam", "assess_values", "dating_standard"]


@dataclass
class Assessment:
    """``ga_estimate``: :class:`fetalseg.standards.GAEstimate` from the selected frame's HC
    (``None`` without a head in mm); ``centiles``: measure -> :class:`CentileResult` at the
    known GA, whatever its status (empty without a known GA); ``cephalic_index``:
    :class:`CephalicIndexResult` (BPD / OFD x 100, %), ``None`` without a head."""

    ga_estimate: Any | None = None
    centiles: dict[str, Any] = field(default_factory=dict)
    cephalic_index: Any | None = None

    def centile(self, measure: str) -> Any | None:
        """``measure``'s result when it has a centile (status ok), else ``None``."""
        r = self.centiles.get(measure)
        return r if r is not None and r.centile is not None else None


def dating_standard(exam: Exam) -> str:
    """The standard GA is estimated by: the exam's own when it has a GA-from-HC formula,
    else :data:`fetalseg.standards.DEFAULT_GA_STANDARD` (WHO 2017 has none)."""
    from fetalseg import standards

    if exam.ga_standard is not None:
        return exam.ga_standard
    std = standards.get_standard(exam.standard)
    return std.name if std.dating else standards.DEFAULT_GA_STANDARD


def assess_exam(exam: Exam) -> Assessment:
    """Assess the selected frame of ``exam``: GA by :func:`dating_standard`, centiles by
    ``exam.standard`` at the known GA (:func:`assess_values`)."""
    m = exam.selected.measurement
    values = {measure: measure_value(m, measure) for measure in MEASURES}
    known = None if exam.known_ga is None else exam.known_ga.weeks
    return assess_values(values, known, exam.standard, dating_standard(exam))


def assess_values(
    values: dict[str, float | None],
    known_ga_weeks: float | None,
    standard: str,
    ga_standard: str | None = None,
) -> Assessment:
    """The clinical reading of HC / BPD / OFD ``values`` (mm, ``None``: not measured): GA
    from HC by :func:`fetalseg.standards.ga_from_hc` with ``ga_standard`` (default:
    ``standard`` if it dates, else the default one; the default falls back to Hadlock 1984
    outside INTERGROWTH-21st's dating range, as every frame result does),
    centiles by ``standard`` at ``known_ga_weeks`` (``None``: no centiles), cephalic index.

    A standard that does not chart a measure, or a GA outside its range, gives a result with
    that status and no centile; it never stops the report.
    """
    from fetalseg import standards

    out = Assessment()
    hc = values.get("hc")
    if hc is None:
        return out
    if ga_standard is None:
        std = standards.get_standard(standard)
        ga_standard = std.name if std.dating else standards.DEFAULT_GA_STANDARD
    out.ga_estimate = standards.ga_from_hc(hc, ga_standard)  # the package's one GA rule
    bpd, ofd = values.get("bpd"), values.get("ofd")
    if bpd is not None and ofd is not None:
        out.cephalic_index = standards.cephalic_index(bpd, ofd)
    if known_ga_weeks is None:
        return out
    for measure in MEASURES:
        value = values.get(measure)
        if value is not None:
            out.centiles[measure] = standards.assess(measure, value, known_ga_weeks, standard)
    return out
