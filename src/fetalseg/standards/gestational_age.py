"""Gestational age given by the user: weeks+days text, or dates (LMP / dating scan + exam).

Conventions
    GA is counted from the first day of the last menstrual period (LMP), in completed days;
    "20w3d" = "20+3" = 20 + 3/7 = 20.43 weeks. Dating by an earlier scan carries the GA
    assigned at that scan forward by the calendar days elapsed (ISUOG practice guidelines:
    once GA is assigned by an early scan it is not changed by later scans).
"""

from __future__ import annotations

import datetime as dt
import math
import re

from fetalseg.errors import InputError

__all__ = ["MAX_PLAUSIBLE_GA_WEEKS", "format_ga", "ga_from_dates", "parse_ga"]

MAX_PLAUSIBLE_GA_WEEKS = 45.0
"""A GA beyond this (weeks) is taken as a typing or date error, not a pregnancy."""

_WEEKS_DAYS = re.compile(
    r"""^\s*(?P<w>\d{1,2})\s*
        (?:(?:w|wk|wks|weeks?)\s*(?:[+,]\s*)?(?:(?P<d1>\d)\s*(?:d|days?)?)?
          |[+,]\s*(?P<d2>\d)\s*(?:d|days?)?
        )?\s*$""",
    re.IGNORECASE | re.VERBOSE,
)
_DECIMAL = re.compile(r"^\s*(?P<x>\d{1,2}\.\d+)\s*(?:w|wk|wks|weeks?)?\s*$", re.IGNORECASE)


def parse_ga(text: str) -> float:
    """GA in weeks from text: "20w3d", "20w 3d", "20+3", "20 weeks 3 days", "20w", "20.5".

    Days must be 0-6 and the result within ``(0, MAX_PLAUSIBLE_GA_WEEKS]``; anything else is
    an :class:`~fetalseg.errors.InputError` naming the text.
    """
    if not isinstance(text, str):
        raise InputError(f"gestational age {text!r}: expected text such as '20w3d' or '20+3'")
    m = _DECIMAL.match(text)
    if m:
        weeks = float(m.group("x"))
    else:
        m = _WEEKS_DAYS.match(text)
        if not m:
            raise InputError(
                f"gestational age {text!r}: not understood; write weeks+days as '20w3d' or '20+3'"
            )
        days = int(m.group("d1") or m.group("d2") or 0)
        if days > 6:
            raise InputError(f"gestational age {text!r}: days must be 0-6")
        weeks = int(m.group("w")) + days / 7.0
    if not 0.0 < weeks <= MAX_PLAUSIBLE_GA_WEEKS:
        raise InputError(
            f"gestational age {text!r}: {weeks:.2f} weeks is outside 0-{MAX_PLAUSIBLE_GA_WEEKS:g}"
        )
    return weeks


def format_ga(weeks: float) -> str:
    """``weeks`` as completed weeks and days, e.g. 20.43 -> "20w3d" (days rounded to nearest)."""
    if not math.isfinite(weeks) or weeks < 0:
        raise InputError(f"gestational age {weeks!r}: not a finite, non-negative number of weeks")
    total_days = round(weeks * 7.0)
    return f"{total_days // 7}w{total_days % 7}d"


def _date(value: dt.date | str, name: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            raise InputError(f"{name} {value!r}: not a date in the form YYYY-MM-DD") from None
    raise InputError(f"{name} {value!r}: expected a date or 'YYYY-MM-DD' text")


def ga_from_dates(
    exam_date: dt.date | str,
    lmp: dt.date | str | None = None,
    dating_scan: dt.date | str | None = None,
    ga_at_dating: float | str | None = None,
) -> float:
    """GA (weeks) at ``exam_date`` from the LMP, or from a dating scan and the GA it assigned.

    Give either ``lmp`` or both ``dating_scan`` and ``ga_at_dating`` (weeks, or text for
    :func:`parse_ga`). Dates are :class:`datetime.date` or ISO text. The exam must not be before
    the LMP / dating scan and the result must be at most :data:`MAX_PLAUSIBLE_GA_WEEKS`;
    otherwise :class:`~fetalseg.errors.InputError`.
    """
    exam = _date(exam_date, "exam date")
    if lmp is not None:
        if dating_scan is not None or ga_at_dating is not None:
            raise InputError("gestational age: give either the LMP or a dating scan, not both")
        start = _date(lmp, "LMP")
        if exam < start:
            raise InputError(f"exam date {exam.isoformat()} is before the LMP {start.isoformat()}")
        weeks = (exam - start).days / 7.0
        source = f"LMP {start.isoformat()}"
    elif dating_scan is not None and ga_at_dating is not None:
        scan = _date(dating_scan, "dating scan date")
        if isinstance(ga_at_dating, str):
            ga0 = parse_ga(ga_at_dating)
        else:
            ga0 = float(ga_at_dating)
            if not 0.0 < ga0 <= MAX_PLAUSIBLE_GA_WEEKS:
                raise InputError(f"GA at dating scan {ga_at_dating!r}: not a plausible GA")
        if exam < scan:
            raise InputError(
                f"exam date {exam.isoformat()} is before the dating scan {scan.isoformat()}"
            )
        weeks = ga0 + (exam - scan).days / 7.0
        source = f"dating scan {scan.isoformat()}"
    else:
        raise InputError(
            "gestational age: give the LMP, or the dating scan date together with its GA"
        )
    if weeks > MAX_PLAUSIBLE_GA_WEEKS:
        raise InputError(
            f"exam date {exam.isoformat()}: {weeks:.1f} weeks after {source}; check the dates"
        )
    return weeks
