"""One self-contained HTML report of an exam: the frame and its overlay, HC / BPD / OFD in mm,
the GA estimated from HC with its uncertainty, each measure's centile on its growth chart when
the GA is known, and for a clip the spread over its frames.

Self-contained: images are inline PNG (base64), charts inline SVG, the style sheet inline;
the file fetches nothing, so it opens offline, can be mailed or archived, and prints (A4).
"""

from __future__ import annotations

import base64
import datetime
import html
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from fetalseg import __version__
from fetalseg.destination import write_text
from fetalseg.outputs.charts import CENTILES, growth_chart_svg, ordinal, series_svg
from fetalseg.outputs.clinical import Assessment, assess_exam, dating_standard
from fetalseg.outputs.exam import MEASURE_NAMES, MEASURES, Exam, measure_value
from fetalseg.standards import format_centile, format_ga, get_standard

__all__ = ["CENTILES", "growth_chart", "render_report", "write_report"]

#: How each measure is taken from the fitted ellipse (said in the report).
CONVENTIONS = {
    "hc": "perimeter of the ellipse fitted to the outer edge of the skull (Ramanujan)",
    "bpd": "outer-to-outer: the minor axis of the fitted ellipse",
    "ofd": "outer-to-outer: the major axis of the fitted ellipse",
}

_CSS = """
:root { --ink: #1b1f24; --muted: #5b6470; --line: #d0d5dc; --accent: #0b5cad; --warn: #a3470a; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  color: var(--ink); margin: 0; background: #f3f5f8; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 28px 40px; background: #fff; }
header { border-bottom: 2px solid var(--accent); padding-bottom: 10px; margin-bottom: 16px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 22px 0 8px; color: var(--accent);
  border-bottom: 1px solid var(--line); padding-bottom: 3px; }
.sub { color: var(--muted); font-size: 13px; }
.banner { background: #fff4e5; border: 1px solid #f0c58e; color: var(--warn); padding: 6px 10px;
  border-radius: 4px; margin: 10px 0; font-size: 13px; }
.figures { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
figure { margin: 0; }
figure img { width: 100%; height: auto; border: 1px solid var(--line); background: #000; }
figcaption { color: var(--muted); font-size: 12px; margin-top: 3px; }
table { border-collapse: collapse; width: 100%; margin: 4px 0 8px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line);
  vertical-align: top; }
th { background: #f0f3f7; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.big { font-size: 20px; font-weight: 600; }
.ga { display: flex; gap: 28px; flex-wrap: wrap; align-items: baseline; }
.charts { display: grid; grid-template-columns: repeat(3, 1fr); gap: 10px; }
.note { color: var(--muted); font-size: 12px; }
.status-ok { color: #17702e; font-weight: 600; }
.verdict { padding: 6px 10px; border-radius: 4px; border-left: 5px solid; margin: 8px 0; }
.verdict ul { margin: 4px 0 0; padding-left: 18px; }
.verdict-good { border-color: #17702e; background: #eaf6ef; }
.verdict-check { border-color: #b7791f; background: #fff6e0; }
.verdict-reject { border-color: #b3261e; background: #fdecea; }
figure.chart svg, figure.series svg { width: 100%; height: auto; }
.status-warn { color: var(--warn); font-weight: 600; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 0; }
dl.meta dt { color: var(--muted); }
dl.meta dd { margin: 0; }
footer { margin-top: 24px; color: var(--muted); font-size: 12px;
  border-top: 1px solid var(--line); padding-top: 8px; }
@media (max-width: 800px) { .figures, .charts { grid-template-columns: 1fr; } }
@media print {
  @page { size: A4; margin: 12mm; }
  body { background: #fff; font-size: 11pt; }
  main { max-width: none; padding: 0; }
  h2 { break-after: avoid; }
  section, figure, table { break-inside: avoid; }
  .figures { grid-template-columns: 1fr 1fr; }
  .charts { grid-template-columns: repeat(3, 1fr); }
}
"""


def _esc(x: object) -> str:
    return html.escape(str(x), quote=True)


def _png_data_uri(image: np.ndarray) -> str:
    """``(H, W)`` gray or ``(H, W, 3)`` BGR uint8 -> ``data:image/png;base64,...``."""
    ok, buf = cv2.imencode(".png", image)
    if not ok:
        raise ValueError("PNG encoding failed")
    return "data:image/png;base64," + base64.b64encode(buf.tobytes()).decode("ascii")


def _pixel_size_text(size: float | tuple[float, float] | None, source: str | None) -> str:
    if size is None:
        return "unknown: no measurement in mm"
    if isinstance(size, tuple) and size[0] == size[1]:
        size = size[0]
    if isinstance(size, tuple):
        shown = f"{size[0]:.6g} x {size[1]:.6g} mm/px (x, y)"
    else:
        shown = f"{size:.6g} mm/px"
    return f"{shown}, from {source or 'the caller'}"


def _overlay(exam: Exam) -> np.ndarray:
    from fetalseg.inference.overlay import draw_overlay

    f = exam.selected
    ellipse = f.measurement.ellipse_px if f.measurement is not None else None
    return draw_overlay(f.image, f.mask, ellipse, [])


def _chart_svg(exam: Exam, measure: str, value: float, ga_weeks: float, result: Any) -> str | None:
    """The growth chart of ``measure`` by ``exam.standard`` (:func:`growth_chart`); ``None``
    when the standard has no chart for the measure."""
    return growth_chart(exam.standard, measure, value, ga_weeks, result)


def growth_chart(
    standard: str, measure: str, value: float | None, ga_weeks: float | None, result: Any
) -> str | None:
    """SVG growth chart of ``measure`` by ``standard``: the :data:`CENTILES` curves over the
    standard's GA range, and ``value`` (mm) at ``ga_weeks`` as a point (red beyond the
    3rd-97th centiles); ``None`` when the standard has no chart for the measure. ``result``:
    the :class:`~fetalseg.standards.CentileResult` (its centile goes in the title)."""
    from fetalseg import standards

    std = get_standard(standard)
    if measure not in std.measures or std.ga_range_weeks is None:
        return None
    grid = np.linspace(*std.ga_range_weeks, 53)
    curves = standards.centile_curves(measure, std.name, CENTILES, ga_weeks=grid)
    title = MEASURE_NAMES[measure]
    inside = ga_weeks is not None and std.ga_range_weeks[0] <= ga_weeks <= std.ga_range_weeks[1]
    if result is not None and result.centile is not None:
        title += f": centile {format_centile(result.centile)}"
    elif ga_weeks is not None and not inside:
        title += ": GA outside the chart"
    point = None if value is None or ga_weeks is None else (ga_weeks, value)
    return growth_chart_svg(
        grid,
        curves,
        title=title,
        label=f"{title}, {std.title}",
        ylabel=f"{MEASURE_NAMES[measure]} (mm)",
        point=point,
        outside=result is not None and _outside(result),
    )


def _outside(result: Any) -> bool:
    return result.centile is not None and not 3.0 <= result.centile <= 97.0


def _measure_rows(exam: Exam, assessment: Assessment) -> str:
    m = exam.selected.measurement
    rows = []
    for measure in MEASURES:
        value = measure_value(m, measure)
        result = assessment.centiles.get(measure)
        centile = z = ""
        if result is not None and result.centile is not None:
            centile = _esc(format_centile(result.centile))
            z = f"{result.z:+.2f}"
        elif result is not None:
            centile = f'<span class="note">{_esc(result.message)}</span>'
        elif value is not None and exam.known_ga is None:
            centile = '<span class="note">no known GA</span>'
        shown = "-" if value is None else f"{value:.1f}"
        cls = "num status-warn" if result is not None and _outside(result) else "num"
        rows.append(
            f"<tr><th>{MEASURE_NAMES[measure]}</th><td class='num big'>{shown} mm</td>"
            f"<td class='{cls}'>{centile}</td><td class='num'>{z}</td>"
            f"<td class='note'>{_esc(CONVENTIONS[measure])}</td></tr>"
        )
    return (
        "<table><thead><tr><th>measure</th><th>value</th><th>centile</th><th>z-score</th>"
        "<th>how it is measured</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def _notes(assessment: Assessment) -> str:
    notes = sorted({r.convention_note for r in assessment.centiles.values() if r.convention_note})
    return "".join(f"<p class='note'>{_esc(n)}</p>" for n in notes)


def _ga_section(exam: Exam, assessment: Assessment) -> str:
    parts = []
    ga = assessment.ga_estimate
    if ga is not None and ga.weeks is not None:
        pm = "" if ga.plus_minus_days is None else f" &plusmn; {ga.plus_minus_days:.0f} days"
        parts.append(
            f"<div><div class='sub'>GA estimated from HC ({_esc(get_standard(ga.standard).title)})"
            f"</div><div class='big'>{format_ga(ga.weeks)}{pm}</div><div class='note'>"
            f"{_esc(ga.citation)}.<br>&plusmn;: {_esc(ga.uncertainty_note)}</div></div>"
        )
    elif ga is not None:
        parts.append(
            f"<div><div class='sub'>GA estimated from HC</div><div class='status-warn'>"
            f"{_esc(ga.message)}</div></div>"
        )
    if exam.known_ga is not None:
        parts.append(
            f"<div><div class='sub'>GA known before the scan</div><div class='big'>"
            f"{format_ga(exam.known_ga.weeks)}</div><div class='note'>"
            f"{_esc(exam.known_ga.how)}</div></div>"
        )
    if not parts:
        return "<p class='note'>No GA: no head was measured in mm.</p>"
    return "<div class='ga'>" + "".join(parts) + "</div>"


def _charts_section(exam: Exam, assessment: Assessment) -> str:
    if exam.known_ga is None:
        return (
            "<p class='note'>No GA was given (<code>--ga</code>, or <code>--lmp</code> with "
            "<code>--exam-date</code>): centiles need the GA known before the scan, not the "
            "one estimated from the same HC.</p>"
        )
    m = exam.selected.measurement
    imgs = []
    for measure in MEASURES:
        value = measure_value(m, measure)
        if value is None:
            continue
        svg = _chart_svg(
            exam, measure, value, exam.known_ga.weeks, assessment.centiles.get(measure)
        )
        if svg is not None:
            imgs.append(f"<figure class='chart'>{svg}</figure>")
    if not imgs:
        return f"<p class='note'>{_esc(exam.standard)} has no growth curves for these measures.</p>"
    return (
        "<div class='charts'>"
        + "".join(imgs)
        + "</div><p class='note'>Curves: the "
        + ", ".join(ordinal(c) for c in CENTILES)
        + " centiles of "
        + _esc(get_standard(exam.standard).title)
        + "; the point is this exam's value at the known GA.</p>"
    )


def _clip_section(exam: Exam) -> str:
    if not exam.is_clip:
        return ""
    n = len(exam.frame_measurements)
    rows = []
    for measure in MEASURES:
        s = exam.spread(measure)
        if s is None:
            rows.append(f"<tr><th>{MEASURE_NAMES[measure]}</th><td colspan=3>-</td></tr>")
            continue
        rows.append(
            f"<tr><th>{MEASURE_NAMES[measure]}</th><td class='num'>{s.median:.1f} mm</td>"
            f"<td class='num'>{s.sd:.2f} mm</td><td class='num'>{s.n}</td></tr>"
        )
    f = exam.selected
    when = f" ({f.time_s:.2f} s)" if f.time_s is not None else ""
    return (
        f"<h2>Clip: {n} frames</h2><p>Reported frame: <b>{exam.selected_index + 1}</b> of {n}"
        f"{when}: the frame whose HC is nearest the median HC of the frames the clip summary "
        "uses (those judged good, else those to check).</p>"
        + _verdicts_text(exam)
        + "<table><thead><tr><th>measure</th><th>median</th><th>sd</th><th>frames with a head"
        "</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>" + _clip_chart(exam)
    )


def _verdicts_text(exam: Exam) -> str:
    counts = exam.verdict_counts()
    out = ""
    if counts:
        text = ", ".join(f"{n} {v}" for v, n in counts.items())
        cls = "status-ok" if set(counts) == {"good"} else "status-warn"
        out = f"<p>Frames by quality verdict: <span class='{cls}'>{_esc(text)}</span>.</p>"
    if exam.clip_verdict is not None:
        reasons = "".join(f"<li>{_esc(r['message'])}</li>" for r in exam.clip_reasons)
        out += (
            f"<div class='verdict verdict-{_esc(exam.clip_verdict)}'>Clip: "
            f"<b>{_esc(exam.clip_verdict)}</b>"
            + (f"<ul>{reasons}</ul>" if reasons else "")
            + "</div>"
        )
    return out


def _clip_chart(exam: Exam) -> str:
    values = [measure_value(m, "hc") for m in exam.frame_measurements]
    if sum(v is not None for v in values) < 2:
        return ""
    svg = series_svg(values, selected=exam.selected_index, ylabel="HC (mm)", title="HC per frame")
    return f"<figure class='series'>{svg}</figure>"


_VERDICT_WORDS = {
    "good": "good: nothing found that makes this measurement doubtful",
    "check": "check: look at the contour before using these numbers",
    "reject": "reject: do not use these numbers",
}


def _quality_section(exam: Exam) -> str:
    q = exam.selected.quality
    if q is None:
        return "<p>Quality: <span class='note'>not assessed</span></p>"
    reasons = "".join(
        f"<li><code>{_esc(r.code)}</code> ({_esc(r.severity)}): {_esc(r.message)}</li>"
        for r in q.reasons
    )
    words = _VERDICT_WORDS.get(q.verdict, q.verdict)
    return (
        f"<div class='verdict verdict-{_esc(q.verdict)}'>Quality: <b>{_esc(words)}</b>"
        + (f"<ul>{reasons}</ul>" if reasons else "")
        + "</div>"
    )


def _status_text(exam: Exam) -> tuple[str, str]:
    m = exam.selected.measurement
    if m is None:
        return "status-warn", "pixel size unknown: the head was segmented but not measured in mm"
    if m.status.value == "ok":  # the numbers and the GA are in the tables below
        return "status-ok", "ok: head measured"
    return "status-warn", f"{m.status.value}: {m.message}"


def render_report(
    exam: Exam, assessment: Assessment | None = None, title: str | None = None
) -> str:
    """The report of ``exam`` as one HTML document (a string; nothing is fetched when opened).

    ``assessment`` defaults to :func:`fetalseg.outputs.clinical.assess_exam` (GA, centiles).
    """
    if assessment is None:
        assessment = assess_exam(exam)
    f = exam.selected
    cls, status = _status_text(exam)
    generated = datetime.datetime.now().replace(microsecond=0).isoformat(sep=" ")
    frame_text = ""
    if exam.is_clip:
        frame_text = f", frame {exam.selected_index + 1} of {len(exam.frame_measurements)}"
    title = title or "Fetal head biometry"
    h, w = f.image.shape
    body = f"""
<header>
  <h1>{_esc(title)}</h1>
  <div class="sub">{_esc(f.source_name)}{frame_text} &middot; {w} x {h} px &middot;
  report made {generated}</div>
  <div class="banner">Automatic measurement by software, not verified by a clinician.
  Check the contour on the image before using any number.</div>
</header>
<section>
  <h2>Image</h2>
  <div class="figures">
    <figure><img src="{_png_data_uri(f.image)}" alt="frame"><figcaption>The frame as
    measured.</figcaption></figure>
    <figure><img src="{_png_data_uri(_overlay(exam))}" alt="overlay"><figcaption>Red: the
    segmented head; green: the fitted ellipse (HC); cyan: its axes (BPD minor, OFD major).
    </figcaption></figure>
  </div>
</section>
<section>
  <h2>Measurements</h2>
  {_measure_rows(exam, assessment)}
  {_quality_section(exam)}
  <p>Status: <span class="{cls}">{_esc(status)}</span></p>
  {_notes(assessment)}
</section>
<section>
  <h2>Gestational age</h2>
  {_ga_section(exam, assessment)}
</section>
<section>
  <h2>Growth charts ({_esc(get_standard(exam.standard).title)})</h2>
  {_charts_section(exam, assessment)}
</section>
{_clip_section(exam)}
<section>
  <h2>How this was measured</h2>
  <dl class="meta">
    <dt>pixel size</dt><dd>{_esc(_pixel_size_text(f.pixel_size_mm, f.pixel_size_source))}</dd>
    <dt>model</dt><dd>{_esc(f.model_name)}</dd>
    <dt>software</dt><dd>fetalseg {_esc(__version__)}</dd>
    <dt>growth standard</dt><dd>{_esc(_standard_text(exam.standard))}</dd>
    <dt>GA from HC by</dt><dd>{_esc(_dating_text(_ga_standard_used(exam, assessment)))}</dd>
    <dt>cephalic index</dt><dd>{_cephalic(assessment)}</dd>
  </dl>
</section>
<footer>fetalseg {_esc(__version__)}: fetal head segmentation and biometry for 2D ultrasound.
For research; not a medical device.</footer>
"""
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{_esc(title)}: {_esc(f.source_name)}</title><style>{_CSS}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )


def _standard_text(name: str) -> str:
    std = get_standard(name)
    return f"{std.title}: {std.citation}. Population: {std.population}."


def _ga_standard_used(exam: Exam, assessment: Assessment) -> str:
    """The standard the shown GA came from (``ga_from_hc`` may fall back to Hadlock beyond
    INTERGROWTH-21st's range), else the one that would have been used."""
    est = assessment.ga_estimate
    return est.standard if est is not None and est.weeks is not None else dating_standard(exam)


def _dating_text(name: str) -> str:
    std = get_standard(name)
    return f"{std.title}: {std.dating}."


def _cephalic(assessment: Assessment) -> str:
    if assessment.cephalic_index is None:
        return "-"
    return _esc(assessment.cephalic_index.message)


def write_report(path: str | Path, exam: Exam, overwrite: bool = False, **kwargs: Any) -> Path:
    """Write :func:`render_report` to ``path`` by :func:`fetalseg.destination.write_text`
    (an existing file is kept unless ``overwrite``: :class:`InputError` naming it)."""
    return write_text(path, render_report(exam, **kwargs), overwrite)
