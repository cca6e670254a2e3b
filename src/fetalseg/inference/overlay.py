"""Drawing results on the frame: head contour, fitted ellipse, BPD/OFD axes, the numbers and
the quality verdict.

One colour scheme everywhere (predict, evaluate, the page): truth yellow, the network's
prediction red, the fitted ellipse green, the axes cyan; the verdict good green, check amber,
reject red, written on a dark box.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from fetalseg.biometry import Ellipse, Measurement
from fetalseg.quality import Quality
from fetalseg.standards import ga_from_hc, ga_label

CONTOUR = (0, 0, 255)  # BGR red: what the network segmented
ELLIPSE = (0, 255, 0)  # green: the fitted ellipse HC is measured on
AXES = (255, 200, 0)  # cyan-ish: BPD (minor) and OFD (major)
TRUTH = (0, 255, 255)  # BGR yellow: the annotation, where one is known
VERDICT = {"good": (80, 200, 0), "check": (0, 176, 255), "reject": (40, 40, 230)}  # BGR


def measurement_lines(m: Measurement | None, hc_px: float | None = None) -> list[str]:
    """Text lines for a measurement; px values only when the pixel size is unknown."""
    if m is None:
        if hc_px is None:
            return ["no head found"]
        return [f"HC {hc_px:.0f} px", "pixel size unknown: no mm"]
    if not m.found:
        return ["no head found"]
    lines = [f"HC  {m.hc_mm:.1f} mm", f"BPD {m.bpd_mm:.1f} mm", f"OFD {m.ofd_mm:.1f} mm"]
    return [*lines, ga_line(m.hc_mm)]


def ga_line(hc_mm: float | None) -> str:
    """ "GA 19.8 wk (INTERGROWTH-21st)": the GA of :func:`fetalseg.standards.ga_from_hc`, with
    its standard named."""
    ga = None if hc_mm is None else ga_from_hc(hc_mm)
    if ga is None or ga.weeks is None:
        return "GA  out of range"
    return f"GA  {ga.weeks:.1f} wk ({ga_label(ga.standard)})"


def draw_overlay(
    image: np.ndarray,
    mask: np.ndarray,
    ellipse_px: Ellipse | None,
    lines: list[str],
    quality: Quality | None = None,
    truth: np.ndarray | None = None,
) -> np.ndarray:
    """``(H, W) uint8`` frame -> ``(H, W, 3) uint8`` BGR overlay.

    ``ellipse_px``: the head ellipse in the frame's pixels (``Measurement.ellipse_px``);
    ``quality``: its verdict, written (with the first reason) on a dark box at the bottom;
    ``truth``: an annotation mask ``(H, W) {0, 1}`` drawn in :data:`TRUTH`.
    """
    out = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    scale = max(image.shape) / 800
    thick = max(1, round(2 * scale))
    if truth is not None:
        t, _ = cv2.findContours(truth.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(out, t, -1, TRUTH, thick)
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(out, contours, -1, CONTOUR, thick)
    if ellipse_px is not None:
        e = ellipse_px
        cx, cy, a, b, angle = e.center_x, e.center_y, e.a, e.b, e.angle_rad
        cv2.ellipse(
            out, ((cx, cy), (2 * a, 2 * b), math.degrees(angle)), ELLIPSE, thick, cv2.LINE_AA
        )
        ca, sa = math.cos(angle), math.sin(angle)
        for length, (dx, dy) in ((a, (ca, sa)), (b, (-sa, ca))):
            p1 = (round(cx - length * dx), round(cy - length * dy))
            p2 = (round(cx + length * dx), round(cy + length * dy))
            cv2.line(out, p1, p2, AXES, thick, cv2.LINE_AA)
    draw_lines(out, lines, scale)
    if quality is not None:
        draw_verdict(out, quality, scale)
    return out


def _darken(out: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> None:
    """Darken ``out[y0:y1, x0:x1]`` to a quarter: a box white or coloured text reads on."""
    box = out[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)]
    box[:] = (box * 0.25).astype(np.uint8)


def draw_lines(out: np.ndarray, lines: list[str], scale: float) -> None:
    """The measurement ``lines`` in white on a dark box at the top left."""
    if not lines:
        return
    font, fs, t = cv2.FONT_HERSHEY_SIMPLEX, 0.6 * scale, max(1, round(2 * scale))
    step, pad, x = round(26 * scale), round(6 * scale), round(10 * scale)
    width = max(cv2.getTextSize(line, font, fs, t)[0][0] for line in lines)
    top = round(28 * scale)
    bottom = top + step * (len(lines) - 1) + 2 * pad
    _darken(out, x - pad, top - step + pad, x + width + pad, bottom)
    for i, line in enumerate(lines):
        cv2.putText(out, line, (x, top + i * step), font, fs, (255, 255, 255), t, cv2.LINE_AA)


def draw_verdict(out: np.ndarray, quality: Quality, scale: float) -> None:
    """The verdict (and its first reason, shortened) on a dark box along the bottom edge."""
    text = quality.verdict.upper()
    if quality.reasons:
        first = quality.reasons[0].message
        limit = max(20, int(out.shape[1] / (11 * scale)) - len(text) - 3)
        text += ": " + (first if len(first) <= limit else first[: limit - 3] + "...")
    font, fs = cv2.FONT_HERSHEY_SIMPLEX, 0.5 * scale
    t = max(1, round(scale))
    (w, h), base = cv2.getTextSize(text, font, fs, t)
    pad = round(6 * scale)
    y1 = out.shape[0] - pad
    y0 = y1 - h - base - 2 * pad
    _darken(out, 0, y0, w + 3 * pad, y1 + pad)  # readable on any frame
    colour = VERDICT.get(quality.verdict, (255, 255, 255))
    cv2.putText(out, text, (pad, y1 - base), font, fs, colour, t, cv2.LINE_AA)
