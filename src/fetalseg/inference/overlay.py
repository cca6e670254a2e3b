"""Drawing results on the frame: head contour, fitted ellipse, BPD/OFD axes and the numbers."""

from __future__ import annotations

import math

import cv2
import numpy as np

from fetalseg.biometry import Ellipse, Measurement

CONTOUR = (0, 0, 255)  # BGR red: what the network segmented
ELLIPSE = (0, 255, 0)  # green: the fitted ellipse HC is measured on
AXES = (255, 200, 0)  # cyan-ish: BPD (minor) and OFD (major)


def measurement_lines(m: Measurement | None, hc_px: float | None = None) -> list[str]:
    """Text lines for a measurement; px values only when the pixel size is unknown."""
    if m is None:
        if hc_px is None:
            return ["no head found"]
        return [f"HC {hc_px:.0f} px", "pixel size unknown: no mm"]
    if not m.found:
        return ["no head found"]
    lines = [f"HC  {m.hc_mm:.1f} mm", f"BPD {m.bpd_mm:.1f} mm", f"OFD {m.ofd_mm:.1f} mm"]
    lines.append(f"GA  {m.ga_weeks:.1f} wk" if m.ga_weeks is not None else "GA  out of range")
    return lines


def draw_overlay(
    image: np.ndarray,
    mask: np.ndarray,
    ellipse_px: Ellipse | None,
    lines: list[str],
) -> np.ndarray:
    """``(H, W) uint8`` frame -> ``(H, W, 3) uint8`` BGR overlay.

    ``ellipse_px``: the head ellipse in the frame's pixels (``Measurement.ellipse_px``).
    """
    out = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    scale = max(image.shape) / 800
    thick = max(1, round(2 * scale))
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
    font_scale = 0.6 * scale
    y = round(28 * scale)
    for line in lines:
        for colour, t in (((0, 0, 0), thick + 2), ((255, 255, 255), thick)):
            cv2.putText(
                out,
                line,
                (round(10 * scale), y),
                cv2.FONT_HERSHEY_SIMPLEX,
                font_scale,
                colour,
                t,
                cv2.LINE_AA,
            )
        y += round(26 * scale)
    return out
