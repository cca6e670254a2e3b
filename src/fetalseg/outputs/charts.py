"""Small inline SVG charts (no plotting library: the core install draws them): a measure's
growth chart (the standard's centile curves over its GA range, this exam's value as a point) and
a clip's HC per frame.

The SVG is text, so the HTML report embeds it as is and the web API returns it; it fetches
nothing and prints sharply.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

import numpy as np

__all__ = ["CENTILES", "growth_chart_svg", "ordinal", "series_svg"]

#: Centile curves drawn on each growth chart.
CENTILES = (3, 10, 50, 90, 97)

_W, _H = 300.0, 220.0
_LEFT, _RIGHT, _TOP, _BOTTOM = 40.0, 30.0, 22.0, 32.0
_INK, _CURVE, _POINT, _OUTSIDE = "#1b1f24", "#5b6a7a", "#0b5cad", "#c0392b"
#: dash pattern and width of each curve: 50th solid, 10th/90th dashed, 3rd/97th dotted
_STYLE = {
    50: ("", 1.6),
    10: ("5 3", 1.0),
    90: ("5 3", 1.0),
    3: ("1.5 2.5", 1.2),
    97: ("1.5 2.5", 1.2),
}


def _esc(x: object) -> str:
    return html.escape(str(x), quote=True)


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, ... 11th, 12th, 13th, ... 21st."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _ticks(lo: float, hi: float, n: int = 5, min_step: float = 0.0) -> list[float]:
    """About ``n`` round tick values in ``[lo, hi]``, ``min_step`` apart at least."""
    raw = max((hi - lo) / max(n, 1), min_step)
    step = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    for k in (1, 2, 5, 10):
        if raw <= k * step:
            step *= k
            break
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step) + 1)]


class _Axes:
    """Maps data (x, y) to SVG pixels inside the plot area."""

    def __init__(
        self, x: tuple[float, float], y: tuple[float, float], size: tuple[float, float] = (_W, _H)
    ) -> None:
        self.x0, self.x1 = x
        self.y0, self.y1 = y
        self.w, self.h = size

    def px(self, x: float) -> float:
        return _LEFT + (x - self.x0) / (self.x1 - self.x0) * (self.w - _LEFT - _RIGHT)

    def py(self, y: float) -> float:
        return self.h - _BOTTOM - (y - self.y0) / (self.y1 - self.y0) * (self.h - _TOP - _BOTTOM)

    def path(self, xs: Sequence[float], ys: Sequence[float]) -> str:
        pts = [
            f"{self.px(x):.1f},{self.py(y):.1f}"
            for x, y in zip(xs, ys)
            if y is not None and math.isfinite(y)
        ]
        return "M" + " L".join(pts) if pts else ""

    def frame(self, xlabel: str, ylabel: str, xticks: list[float], yticks: list[float]) -> str:
        parts = []
        bottom, left = self.h - _BOTTOM, _LEFT
        for t in yticks:
            y = self.py(t)
            parts.append(
                f'<line x1="{left}" x2="{self.w - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                'stroke="#e3e7ec" stroke-width="0.6"/>'
                f'<text x="{left - 4}" y="{y + 3:.1f}" text-anchor="end">{t:g}</text>'
            )
        for t in xticks:
            x = self.px(t)
            parts.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{_TOP}" y2="{bottom}" stroke="#e3e7ec" '
                f'stroke-width="0.6"/><text x="{x:.1f}" y="{bottom + 11}" '
                f'text-anchor="middle">{t:g}</text>'
            )
        parts.append(
            f'<rect x="{left}" y="{_TOP}" width="{self.w - _LEFT - _RIGHT}" '
            f'height="{self.h - _TOP - _BOTTOM}" fill="none" stroke="#9aa5b1" stroke-width="0.7"/>'
            f'<text x="{(left + self.w - _RIGHT) / 2}" y="{self.h - 4}" text-anchor="middle">'
            f"{_esc(xlabel)}</text>"
            f'<text transform="translate(10 {(_TOP + bottom) / 2}) rotate(-90)" '
            f'text-anchor="middle">{_esc(ylabel)}</text>'
        )
        return "".join(parts)


def _svg(body: str, title: str, label: str, size: tuple[float, float] = (_W, _H)) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size[0]:g} {size[1]:g}" role="img" '
        f'aria-label="{_esc(label)}" font-family="system-ui, sans-serif" font-size="8" '
        f'fill="{_INK}"><title>{_esc(label)}</title>'
        f'<text x="{_LEFT}" y="13" font-size="10" font-weight="600">{_esc(title)}</text>'
        f"{body}</svg>"
    )


def growth_chart_svg(
    ga_weeks: np.ndarray,
    curves: dict[float, np.ndarray],
    *,
    title: str,
    ylabel: str,
    point: tuple[float, float] | None = None,
    outside: bool = False,
    label: str | None = None,
) -> str:
    """A growth chart as SVG text.

    ``ga_weeks``: ``(N,)`` weeks; ``curves``: centile -> ``(N,)`` values (mm) on that grid
    (:func:`fetalseg.standards.centile_curves`); ``point``: ``(GA weeks, value mm)`` of this
    exam, drawn red when ``outside`` (beyond the 3rd-97th centiles), else blue; a point off the
    chart's GA range is not drawn. ``label``: the accessible name (default: ``title``).
    """
    ga = np.asarray(ga_weeks, float)
    values = np.concatenate([np.asarray(v, float) for v in curves.values()])
    lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
    if point is not None and ga[0] <= point[0] <= ga[-1]:
        lo, hi = min(lo, point[1]), max(hi, point[1])
    pad = 0.04 * (hi - lo or 1.0)
    ax = _Axes((float(ga[0]), float(ga[-1])), (lo - pad, hi + pad))
    parts = [ax.frame("gestational age (weeks)", ylabel, _ticks(ga[0], ga[-1], 6), _ticks(lo, hi))]
    for c, ys in sorted(curves.items()):
        dash, width = _STYLE.get(int(c), ("", 1.0))
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<path d="{ax.path(ga, ys)}" fill="none" stroke="{_CURVE}" '
            f'stroke-width="{width}"{dash_attr}/>'
            f'<text x="{ax.px(ga[-1]) + 2:.1f}" y="{ax.py(float(ys[-1])) + 3:.1f}" '
            f'font-size="7" fill="{_CURVE}">{ordinal(int(c))}</text>'
        )
    if point is not None and ga[0] <= point[0] <= ga[-1]:
        colour = _OUTSIDE if outside else _POINT
        parts.append(
            f'<circle class="exam" cx="{ax.px(point[0]):.1f}" cy="{ax.py(point[1]):.1f}" r="4" '
            f'fill="{colour}" stroke="#fff" stroke-width="1"/>'
        )
    return _svg("".join(parts), title, label or f"{title}: growth chart")


def series_svg(
    values: Sequence[float | None], *, selected: int | None, ylabel: str, title: str
) -> str:
    """A value per frame (``None``: not measured) as a line, ``selected`` frame (0-based) as a
    larger point."""
    xs = np.arange(1, len(values) + 1, dtype=float)
    ok = [v for v in values if v is not None]
    lo, hi = (min(ok), max(ok)) if ok else (0.0, 1.0)
    pad = 0.1 * (hi - lo) if hi > lo else 1.0
    size = (600.0, 150.0)
    ax = _Axes((1.0, max(float(len(values)), 2.0)), (lo - pad, hi + pad), size)
    ys = [float("nan") if v is None else float(v) for v in values]
    xticks = _ticks(1, max(len(values), 2), 10, min_step=1.0)
    parts = [
        ax.frame("frame", ylabel, xticks, _ticks(lo - pad, hi + pad, 4)),
        f'<path d="{ax.path(xs, ys)}" fill="none" stroke="{_CURVE}" stroke-width="1"/>',
    ]
    for x, y in zip(xs, ys):
        if math.isfinite(y):
            parts.append(
                f'<circle cx="{ax.px(x):.1f}" cy="{ax.py(y):.1f}" r="1.6" fill="{_CURVE}"/>'
            )
    if selected is not None and math.isfinite(ys[selected]):
        parts.append(
            f'<circle class="exam" cx="{ax.px(xs[selected]):.1f}" cy="{ax.py(ys[selected]):.1f}"'
            f' r="4" fill="{_POINT}" stroke="#fff" stroke-width="1"/>'
        )
    return _svg("".join(parts), title, title, size)
