"""Overlays: one colour scheme, and the verdict in its colour on a dark box."""

from __future__ import annotations

import cv2
import numpy as np

from fetalseg.biometry import measure_head
from fetalseg.inference.overlay import CONTOUR, ELLIPSE, TRUTH, VERDICT, draw_overlay
from fetalseg.quality import CHECK, GOOD, REJECT, Quality, Reason


def scene() -> tuple[np.ndarray, np.ndarray]:
    image = np.full((540, 800), 150, np.uint8)  # bright: the dark box must stand out
    mask = np.zeros((540, 800), np.uint8)
    cv2.ellipse(mask, (400, 250), (180, 140), 0, 0, 360, 1, -1)
    return image, mask


def colour_count(img: np.ndarray, bgr: tuple[int, int, int], tol: int = 40) -> int:
    """Pixels within ``tol`` grey levels of ``bgr`` in every channel (anti-aliased lines)."""
    diff = np.abs(img.astype(int) - np.array(bgr))
    return int(np.all(diff <= tol, axis=2).sum())


def test_the_colour_scheme_is_distinct():
    colours = [CONTOUR, ELLIPSE, TRUTH, *VERDICT.values()]
    assert len(set(colours[:3])) == 3 and set(VERDICT) == {GOOD, CHECK, REJECT}


def test_truth_prediction_and_fit_are_drawn_in_their_colours():
    image, mask = scene()
    truth = np.roll(mask, 15, axis=1)
    out = draw_overlay(image, mask, None, [], truth=truth)
    assert colour_count(out, TRUTH) > 100 and colour_count(out, CONTOUR) > 100
    fitted = draw_overlay(image, mask, measure_head(mask, 1.0).ellipse_px, [])
    assert colour_count(fitted, ELLIPSE) > 100  # drawn over the contour of an exact ellipse


def test_verdict_and_reason_on_a_dark_box():
    image, mask = scene()
    reason = Reason("truncated", REJECT, "The head is cut by the image border.")
    out = draw_overlay(image, mask, None, [], Quality(REJECT, (reason,)))
    bottom = out[-25:, :300]
    assert (bottom < 60).all(axis=2).mean() > 0.5  # darkened box behind the text
    assert colour_count(out[-40:], VERDICT[REJECT]) > 20  # the verdict's colour
    plain = draw_overlay(image, mask, None, [])
    assert colour_count(plain[-40:], VERDICT[REJECT]) == 0
    good = draw_overlay(image, mask, None, [], Quality(GOOD))
    assert colour_count(good[-40:], VERDICT[GOOD]) > 10


def test_numbers_on_a_dark_box_and_the_ga_names_its_standard():
    from fetalseg.inference.overlay import measurement_lines

    image, mask = scene()
    m = measure_head(mask, 0.15)  # HC about 151 mm: dated by INTERGROWTH-21st
    lines = measurement_lines(m)
    assert lines[-1].endswith("(INTERGROWTH-21st)")
    assert measurement_lines(measure_head(mask, 0.25))[-1].endswith("(Hadlock)")  # 252 mm
    out = draw_overlay(image, mask, None, lines)
    box = out[5:120, 5:200]
    assert (box < 60).all(axis=2).mean() > 0.5  # dark behind the text, on a bright frame
    assert (box > 200).all(axis=2).sum() > 100  # white text
