"""Head ellipse fitting and biometry on synthetic masks of known geometry."""

from __future__ import annotations

import json
import math

import cv2
import numpy as np
import pytest
from scipy.special import ellipe

from fetalseg.biometry import (
    CHALLENGE_HEADER,
    CV2_FILLED,
    HADLOCK_HC_RANGE_MM,
    NO_CORRECTION,
    PIXEL_CENTRE,
    ChallengeRow,
    Ellipse,
    Status,
    challenge_row,
    ellipse_px_to_mm,
    fit_head_ellipse_px,
    gestational_age_weeks,
    hadlock_ga_weeks,
    measure_head,
    ramanujan_perimeter,
    read_challenge_csv,
    write_challenge_csv,
)

H, W = 660, 800


def draw_cv2(cx: float, cy: float, ax1: float, ax2: float, deg: int) -> np.ndarray:
    """Filled ellipse drawn like fetalseg.data.hc18.fill_outline (1/16 px geometry)."""
    mask = np.zeros((H, W), np.uint8)
    s = 16
    cv2.ellipse(
        mask,
        (round(cx * s), round(cy * s)),
        (round(ax1 * s), round(ax2 * s)),
        deg,
        0,
        360,
        1,
        thickness=-1,
        lineType=cv2.LINE_8,
        shift=4,
    )
    return mask


def draw_centres(
    cx: float,
    cy: float,
    a: float,
    b: float,
    angle_rad: float,
    shape: tuple[int, int] = (H, W),
    pixel: tuple[float, float] = (1.0, 1.0),
) -> np.ndarray:
    """Pixels whose centre (x * sx, y * sy) lies inside the ellipse (in the pixel-size unit)."""
    y, x = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float64)
    dx, dy = x * pixel[0] - cx, y * pixel[1] - cy
    c, s = math.cos(angle_rad), math.sin(angle_rad)
    u, v = dx * c + dy * s, -dx * s + dy * c
    return ((u / a) ** 2 + (v / b) ** 2 <= 1.0).astype(np.uint8)


def angle_diff(x: float, y: float) -> float:
    """Distance between two axis directions (mod pi), radians."""
    d = (x - y) % math.pi
    return min(d, math.pi - d)


# (cx, cy, first axis, second axis, degrees of the first axis) as given to cv2.ellipse
CASES = [
    (400.3, 330.6, 150.0, 110.0, 0),
    (399.7, 331.2, 180.0, 120.0, 30),
    (402.0, 328.5, 100.0, 160.0, 90),  # first axis minor: major axis at 180° = 0
    (400.0, 330.0, 220.0, 170.0, 135),
    (401.1, 329.4, 140.0, 140.0, 17),  # circle
    (400.5, 330.5, 60.0, 60.0, 0),  # smallest realistic head
    (400.0, 330.0, 300.0, 240.0, 45),  # largest realistic head
    (400.0, 330.0, 75.0, 60.0, 120),
]


@pytest.mark.parametrize(("cx", "cy", "ax1", "ax2", "deg"), CASES)
def test_cv2_drawn_ellipse_round_trip(cx, cy, ax1, ax2, deg):
    m = measure_head(draw_cv2(cx, cy, ax1, ax2, deg), 0.2)  # HC 75-340 mm: GA in range
    a, b = max(ax1, ax2), min(ax1, ax2)
    major = math.radians(deg) if ax1 >= ax2 else math.radians(deg + 90)
    assert m.status is Status.OK
    assert abs(m.hc_mm / (0.2 * ramanujan_perimeter(a, b)) - 1) < 1e-3
    assert m.semi_axis_a_px >= m.semi_axis_b_px
    assert m.semi_axis_a_px == pytest.approx(a, abs=0.15)
    assert m.semi_axis_b_px == pytest.approx(b, abs=0.15)
    assert m.center_x_px == pytest.approx(cx, abs=0.15)
    assert m.center_y_px == pytest.approx(cy, abs=0.15)
    assert m.center_x_mm == pytest.approx(0.2 * m.center_x_px)
    assert m.bpd_mm == pytest.approx(2 * m.semi_axis_b_mm)
    assert m.ofd_mm == pytest.approx(2 * m.semi_axis_a_mm)
    assert 0 <= m.angle_rad < math.pi
    assert m.angle_rad == m.angle_px_rad  # square pixels
    if a / b > 1.1:
        assert angle_diff(m.angle_rad, major) < math.radians(0.5)


def test_pixel_centre_masks_with_their_correction():
    rng = np.random.default_rng(0)
    for _ in range(12):
        a = rng.uniform(60, 300)
        b = rng.uniform(max(60.0, 0.6 * a), a)
        cx, cy, t = 400 + rng.uniform(-2, 2), 330 + rng.uniform(-2, 2), rng.uniform(0, math.pi)
        e, _ = fit_head_ellipse_px(draw_centres(cx, cy, a, b, t), correction=PIXEL_CENTRE)
        assert abs(e.perimeter / ramanujan_perimeter(a, b) - 1) < 1e-3
        if a / b > 1.1:
            assert angle_diff(e.angle_rad, t) < math.radians(0.5)


def test_correction_must_match_the_rasterisation():
    """The flat half-pixel correction suits pixel-centre masks, not cv2.ellipse-filled ones."""
    true_hc = ramanujan_perimeter(60, 50)
    cv2_mask = draw_cv2(400, 330, 60, 50, 20)
    centre_mask = draw_centres(400, 330, 60, 50, math.radians(20))

    def hc_err(mask, corr):
        e, _ = fit_head_ellipse_px(mask, correction=corr)
        return e.perimeter / true_hc - 1

    assert abs(hc_err(cv2_mask, CV2_FILLED)) < 1e-3
    assert abs(hc_err(centre_mask, PIXEL_CENTRE)) < 1e-3
    assert hc_err(cv2_mask, PIXEL_CENTRE) > 5e-3  # +0.45 px overstates a small head
    assert hc_err(centre_mask, NO_CORRECTION) < -5e-3  # raw contour fit understates


def test_anisotropic_pixels():
    sx, sy = 0.25, 0.18  # mm per px in x and y
    cx, cy, a, b, t = 70.0, 38.0, 40.0, 30.0, math.radians(30)  # all in mm
    mask = draw_centres(cx, cy, a, b, t, shape=(420, 560), pixel=(sx, sy))
    m = measure_head(mask, (sx, sy), correction=PIXEL_CENTRE)
    assert m.status is Status.OK
    assert m.pixel_size_x_mm == sx and m.pixel_size_y_mm == sy
    assert abs(m.hc_mm / ramanujan_perimeter(a, b) - 1) < 1e-3
    assert m.semi_axis_a_mm == pytest.approx(a, rel=1e-3)
    assert m.semi_axis_b_mm == pytest.approx(b, rel=1e-3)
    assert m.center_x_mm == pytest.approx(cx, abs=0.03)
    assert m.center_y_mm == pytest.approx(cy, abs=0.03)
    assert angle_diff(m.angle_rad, t) < math.radians(0.3)
    # The px ellipse is a different shape: squeezed along x, so tilted further from x.
    assert angle_diff(m.angle_px_rad, t) > math.radians(3)
    # Treating the pixels as square (either size) would be wrong by far more than 0.1 %.
    wrong = measure_head(mask, sx, correction=PIXEL_CENTRE)
    assert abs(wrong.hc_mm / m.hc_mm - 1) > 0.05


def test_px_to_mm_matches_fitting_scaled_points():
    e = Ellipse(200.0, 150.0, 120.0, 70.0, math.radians(35))
    sx, sy = 0.3, 0.12
    t = np.linspace(0, 2 * np.pi, 720, endpoint=False)
    c, s = math.cos(e.angle_rad), math.sin(e.angle_rad)
    x = e.center_x + e.a * np.cos(t) * c - e.b * np.sin(t) * s
    y = e.center_y + e.a * np.cos(t) * s + e.b * np.sin(t) * c
    pts = np.column_stack([x * sx, y * sy]).astype(np.float32)
    (fx, fy), (d1, d2), deg = cv2.fitEllipse(pts)
    major = math.radians(deg) if d1 >= d2 else math.radians(deg + 90)
    got = ellipse_px_to_mm(e, sx, sy)
    assert got.a >= got.b
    assert got.a == pytest.approx(max(d1, d2) / 2, rel=1e-4)
    assert got.b == pytest.approx(min(d1, d2) / 2, rel=1e-4)
    assert (got.center_x, got.center_y) == pytest.approx((fx, fy), abs=1e-3)
    assert angle_diff(got.angle_rad, major) < 1e-4
    # Square pixels: a plain scaling.
    sq = ellipse_px_to_mm(e, 0.2, 0.2)
    assert (sq.a, sq.b, sq.angle_rad) == (e.a * 0.2, e.b * 0.2, e.angle_rad)


def test_hole_and_spurious_blob_are_ignored():
    clean = draw_cv2(400, 330, 180, 130, 30)
    dirty = clean.copy()
    cv2.circle(dirty, (400, 330), 40, 0, thickness=-1)  # hole inside the head
    dirty[20:50, 20:60] = 1  # spurious blob, not connected
    dirty[600:640, 740:790] = 1  # another
    a, b = measure_head(clean, 0.1), measure_head(dirty, 0.1)
    assert b.status is Status.OK
    assert b.hc_mm == a.hc_mm
    assert (b.center_x_px, b.center_y_px, b.angle_rad) == (
        a.center_x_px,
        a.center_y_px,
        a.angle_rad,
    )


def test_head_cut_by_the_image_edge():
    """The straight run along the image border is not part of the head's outline."""
    full = measure_head(draw_cv2(400, 330, 200, 150, 20), 0.2)
    mask = draw_cv2(400, 330, 200, 150, 20)[:, 250:]  # the left ~15 % of the head is cut off
    m = measure_head(mask, 0.2)
    assert m.status is Status.OK
    assert abs(m.hc_mm / full.hc_mm - 1) < 2e-3
    assert m.center_x_px == pytest.approx(full.center_x_px - 250, abs=0.5)


def test_largest_blob_wins_over_a_smaller_ellipse():
    mask = draw_cv2(250, 330, 150, 120, 0) | draw_cv2(650, 330, 80, 60, 0)
    m = measure_head(mask, 0.1)
    assert m.center_x_px == pytest.approx(250, abs=0.2)
    assert m.semi_axis_a_px == pytest.approx(150, abs=0.2)


@pytest.mark.parametrize(
    "mask",
    [
        np.zeros((H, W), np.uint8),
        np.zeros((H, W), bool),
        np.full((H, W), 0.3, np.float32),  # probability below threshold everywhere
        np.full((H, W), np.nan, np.float32),
    ],
    ids=["uint8", "bool", "low-probability", "nan"],
)
def test_empty_mask_is_no_head(mask):
    m = measure_head(mask, 0.1)
    assert m.status is Status.NO_HEAD
    assert not m.found
    assert "no head" in m.message.lower()
    assert m.ellipse_px is None and m.ellipse_mm is None
    numbers = [v for k, v in m.to_dict().items() if k not in ("status", "message")]
    assert numbers[:2] == [0.1, 0.1]  # pixel sizes
    assert all(v is None for v in numbers[2:])
    json.dumps(m.to_dict(), allow_nan=False)


def test_tiny_blob_is_no_head():
    mask = np.zeros((H, W), np.uint8)
    mask[100:105, 200:206] = 1  # 30 px
    m = measure_head(mask, 0.1)
    assert m.status is Status.NO_HEAD
    assert "30 px" in m.message
    assert m.hc_mm is None and m.ga_weeks is None
    # The threshold is a parameter.
    assert measure_head(mask, 0.1, min_area_px=20).status is not Status.NO_HEAD


def test_probability_map_and_threshold():
    binary = draw_cv2(400, 330, 160, 120, 60)
    prob = np.where(binary > 0, 0.8, 0.2).astype(np.float32)
    assert measure_head(prob, 0.1).hc_mm == measure_head(binary, 0.1).hc_mm
    assert measure_head(prob, 0.1, threshold=0.9).status is Status.NO_HEAD
    with pytest.raises(ValueError, match="2-D"):
        measure_head(np.zeros((2, H, W)), 0.1)
    with pytest.raises(ValueError, match="positive"):
        measure_head(binary, 0.0)


def test_axis_order_symmetry():
    m1 = measure_head(draw_cv2(400, 330, 170, 120, 25), 0.1)
    m2 = measure_head(draw_cv2(400, 330, 120, 170, 115), 0.1)  # same ellipse, axes swapped
    assert m1.hc_mm == pytest.approx(m2.hc_mm, rel=1e-4)
    assert m1.semi_axis_a_mm == pytest.approx(m2.semi_axis_a_mm, abs=0.02)
    assert angle_diff(m1.angle_rad, m2.angle_rad) < math.radians(0.2)
    assert angle_diff(m1.angle_rad, math.radians(25)) < math.radians(0.5)
    for a, b in [(3.0, 2.0), (10.0, 1.0), (5.0, 5.0), (7.5, 0.0)]:
        assert ramanujan_perimeter(a, b) == ramanujan_perimeter(b, a)


@pytest.mark.parametrize("a", [1.0, 37.5, 150.0])
@pytest.mark.parametrize("ratio", [1.0, 0.9, 0.75, 0.5, 0.3])
def test_ramanujan_against_exact_perimeter(a, ratio):
    b = a * ratio
    exact = 4 * a * ellipe(1 - ratio**2)  # ellipe takes the parameter m = e^2
    assert abs(ramanujan_perimeter(a, b) / exact - 1) < 1e-6
    assert ramanujan_perimeter(a, a) == pytest.approx(2 * math.pi * a, rel=1e-15)


def test_ramanujan_edge_cases():
    assert ramanujan_perimeter(0.0, 0.0) == 0.0
    assert ramanujan_perimeter(2.0, 0.0) == pytest.approx(8.0, rel=5e-4)  # flat: 4a
    with pytest.raises(ValueError):
        ramanujan_perimeter(-1.0, 2.0)
    with pytest.raises(ValueError):
        ramanujan_perimeter(math.nan, 2.0)


def test_hadlock_hand_computed():
    # HC 200 mm = 20 cm: 8.96 + 0.540 * 20 + 0.0003 * 20**3 = 8.96 + 10.8 + 2.4
    assert hadlock_ga_weeks(200.0) == pytest.approx(22.16, abs=1e-12)
    assert gestational_age_weeks(200.0) == pytest.approx(22.16, abs=1e-12)
    # HC 300 mm: 8.96 + 16.2 + 8.1
    assert hadlock_ga_weeks(300.0) == pytest.approx(33.26, abs=1e-12)


def test_ga_range():
    lo, hi = HADLOCK_HC_RANGE_MM
    assert hadlock_ga_weeks(lo) == pytest.approx(12.0, abs=1e-9)
    assert hadlock_ga_weeks(hi) == pytest.approx(42.0, abs=1e-9)
    assert 55 < lo < 56 and 357 < hi < 358
    assert gestational_age_weeks(lo + 1e-6) is not None
    assert gestational_age_weeks(hi - 1e-6) is not None
    assert gestational_age_weeks(lo - 0.01) is None
    assert gestational_age_weeks(hi + 0.01) is None
    assert gestational_age_weeks(math.nan) is None


def test_out_of_range_measurement_keeps_hc():
    # Circle of radius 80 px at 0.1 mm/px: HC = 16 pi mm = 50.3 mm < 55.4 mm (12 weeks).
    m = measure_head(draw_cv2(400, 330, 80, 80, 0), 0.1)
    assert m.status is Status.OUT_OF_RANGE
    assert m.found
    assert m.ga_weeks is None
    assert m.hc_mm == pytest.approx(16 * math.pi, rel=1e-3)
    assert "outside" in m.message
    # Same head at 0.2 mm/px: 100.5 mm, within range.
    ok = measure_head(draw_cv2(400, 330, 80, 80, 0), 0.2)
    assert ok.status is Status.OK
    assert ok.ga_weeks == pytest.approx(hadlock_ga_weeks(ok.hc_mm))
    assert "weeks" in ok.message


def test_status_values():
    assert [s.value for s in Status] == ["ok", "no_head", "out_of_range"]
    assert Status.NO_HEAD == "no_head"


def test_challenge_csv_round_trip(tmp_path):
    ok = measure_head(draw_cv2(400, 330, 180, 130, 30), 0.137)
    none = measure_head(np.zeros((H, W), np.uint8), 0.137)
    rows = [challenge_row("000_HC.png", ok), challenge_row("001_HC.png", none)]
    path = tmp_path / "submission.csv"
    write_challenge_csv(path, rows)
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == "filename,center_x_mm,center_y_mm,semi_axes_a_mm,semi_axes_b_mm,angle_rad"
    assert tuple(lines[0].split(",")) == CHALLENGE_HEADER
    assert len(lines) == 3
    assert "nan" not in text.lower()
    assert lines[2] == "001_HC.png,0.0,0.0,0.0,0.0,0.0"
    back = read_challenge_csv(path)
    assert back == rows  # exact: repr round-trips floats
    r = back[0]
    assert (r.center_x_mm, r.center_y_mm) == (ok.center_x_mm, ok.center_y_mm)
    assert (r.semi_axes_a_mm, r.semi_axes_b_mm) == (ok.semi_axis_a_mm, ok.semi_axis_b_mm)
    assert r.angle_rad == ok.angle_rad
    assert ramanujan_perimeter(r.semi_axes_a_mm, r.semi_axes_b_mm) == ok.hc_mm
    assert r.center_x_mm == pytest.approx(400 * 0.137, abs=0.02)
    assert angle_diff(r.angle_rad, math.radians(30)) < math.radians(0.5)


def test_challenge_csv_refuses_nan(tmp_path):
    bad = ChallengeRow("x.png", math.nan, 0.0, 1.0, 1.0, 0.0)
    with pytest.raises(ValueError, match=r"x\.png"):
        write_challenge_csv(tmp_path / "s.csv", [bad])
    assert not (tmp_path / "s.csv").exists()


@pytest.mark.parametrize("seed", range(5))
def test_region_size_counts_the_pixels_the_outline_encloses(seed):
    """The size in the no-head message is the filled region's pixel count (Pick's theorem on
    the outline), so ``min_area_px`` means pixels."""
    rng = np.random.default_rng(seed)
    mask = np.zeros((60, 80), np.uint8)
    cv2.ellipse(
        mask,
        (40, 30),
        (int(rng.integers(2, 12)), int(rng.integers(2, 12))),
        float(rng.uniform(0, 180)),
        0,
        360,
        1,
        -1,
    )
    m = measure_head(mask, 0.1, min_area_px=10_000)
    assert f"has {int(mask.sum())} px" in m.message


def test_a_ring_outline_beats_a_smaller_solid_blob_and_a_pixel_counts_one():
    """The region is chosen by the pixels its outline encloses: a head predicted as a ring
    (inside missed) is still the head; a lone pixel encloses exactly one."""
    mask = np.zeros((H, W), np.uint8)
    cv2.ellipse(mask, (300, 270), (150, 110), 0, 0, 360, 1, 3)  # ring: ~1.6k px, encloses ~52k
    cv2.circle(mask, (650, 100), 40, 1, -1)  # solid disc: ~5k px
    m = measure_head(mask, 0.1)
    assert m.center_x_px == pytest.approx(300, abs=1) and m.semi_axis_a_px > 140
    dot = np.zeros((H, W), np.uint8)
    dot[10, 10] = 1
    assert "has 1 px" in measure_head(dot, 0.1).message
