"""Each quality reason on synthetic frames with known geometry."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from fetalseg.biometry import measure_head
from fetalseg.quality import CHECK, GOOD, REJECT, assess, calibration_reasons, load_thresholds
from fetalseg.quality.features import compute_features, content_region

H, W = 300, 400

#: thresholds for the synthetic frames (the shipped ones are fitted on HC18)
TH = {
    "features": {
        "outside_image": {"direction": "high", "check": 0.02, "reject": 0.1},
        "outside_content": {"direction": "high", "check": 0.05, "reject": 0.3},
        "components": {"direction": "high", "check": 1.0, "reject": 3.0},
        "hole_fraction": {"direction": "high", "check": 0.02, "reject": 0.2},
        "ellipse_dice": {"direction": "low", "check": 0.97, "reject": 0.9},
        "fit_residual": {"direction": "high", "check": 0.03, "reject": 0.1},
        "uncertain_band": {"direction": "high", "check": 0.5, "reject": 1.5},
        "head_fraction": {"direction": "both", "check": [0.02, 0.8], "reject": [0.005, 1.5]},
        "axis_ratio": {"direction": "both", "check": [0.65, 0.95], "reject": [0.5, 1.01]},
        "content_fraction": {"direction": "low", "check": 0.2, "reject": 0.05},
        "noise": {"direction": "high", "check": 30.0, "reject": 50.0},
    }
}


def frame(rng: np.random.Generator | None = None) -> np.ndarray:
    """A smooth textured sector on black, like an ultrasound frame."""
    rng = rng or np.random.default_rng(0)
    tex = cv2.GaussianBlur(rng.normal(90, 40, (H, W)).astype(np.float32), (0, 0), 3)
    fan = np.zeros((H, W), np.uint8)
    cv2.ellipse(fan, (W // 2, -40), (330, 330), 90, -55, 55, 1, -1)
    return (np.clip(tex, 20, 255) * fan).astype(np.uint8)


def ellipse_mask(cx: float, cy: float, a: float, b: float, deg: float = 20) -> np.ndarray:
    m = np.zeros((H, W), np.uint8)
    cv2.ellipse(m, ((cx, cy), (2 * a, 2 * b), deg), 1, -1)
    return m


def sharp_logits(mask: np.ndarray, level: float = 8.0) -> np.ndarray:
    """1/8-resolution logits of a confident network for ``mask``."""
    small = cv2.resize(mask.astype(np.float32), (W // 8, H // 8), interpolation=cv2.INTER_AREA)
    return (small - 0.5) * 2 * level


def verdict_for(image, mask, logits=None, px=0.15, th=TH):
    logits = sharp_logits(mask) if logits is None else logits
    fit = measure_head(mask, px or 1.0)
    m = fit if px is not None else None
    return assess(image, logits, mask, fit.ellipse_px, m, px, thresholds=th)


def codes(q) -> set[str]:
    return {r.code for r in q.reasons}


def test_clean_head_is_good() -> None:
    q = verdict_for(frame(), ellipse_mask(200, 160, 80, 65))
    assert q.verdict == GOOD, q.text
    assert q.reasons == ()


def test_head_cut_by_the_image_edge_is_truncated() -> None:
    q = verdict_for(frame(), ellipse_mask(360, 160, 80, 65))  # 40 px past the right edge
    assert "truncated" in codes(q) and q.verdict == REJECT
    f = q.features
    assert f is not None and f.outside_image > 0.1 and f.border_contact > 0


def test_head_beyond_the_scan_sector_is_truncated() -> None:
    image = frame()
    region = content_region(image)
    assert 0.3 < region.mean() < 0.9  # the fan, not the whole frame
    q = verdict_for(image, ellipse_mask(60, 200, 70, 60))  # the lower left corner: no sector
    assert "truncated" in codes(q)


def test_two_regions_and_a_hole_are_not_one_region() -> None:
    two = ellipse_mask(130, 150, 60, 50) | ellipse_mask(290, 150, 55, 50)
    assert "not_one_region" in codes(verdict_for(frame(), two))
    ring = ellipse_mask(200, 160, 80, 65) - ellipse_mask(200, 160, 40, 30)
    q = verdict_for(frame(), ring)
    assert "not_one_region" in codes(q) and q.features.hole_fraction > 0.2


def test_irregular_region_is_not_an_ellipse() -> None:
    star = np.zeros((H, W), np.uint8)
    t = np.linspace(0, 2 * math.pi, 10, endpoint=False)
    r = np.where(np.arange(10) % 2 == 0, 100, 45)
    pts = np.column_stack([200 + r * np.cos(t), 150 + r * np.sin(t)]).astype(np.int32)
    cv2.fillPoly(star, [pts], 1)
    q = verdict_for(frame(), star)
    assert "not_ellipse" in codes(q) and q.verdict == REJECT


def test_soft_logits_are_unsure() -> None:
    mask = ellipse_mask(200, 160, 80, 65)
    soft = cv2.GaussianBlur(sharp_logits(mask, 1.0), (0, 0), 2.0)
    q = verdict_for(frame(), (cv2.resize(soft, (W, H)) > 0).astype(np.uint8), soft)
    assert "unsure" in codes(q)
    assert "unsure" not in codes(verdict_for(frame(), mask))


def test_implausible_geometry() -> None:
    long = ellipse_mask(200, 160, 110, 40)  # cephalic index 36
    assert "implausible_shape" in codes(verdict_for(frame(), long))
    tiny = ellipse_mask(200, 160, 12, 10)
    assert "implausible_size" in codes(verdict_for(frame(), tiny))
    q = verdict_for(frame(), ellipse_mask(200, 160, 80, 65), px=0.9)  # HC ~ 410 mm
    assert "implausible_hc" in codes(q) and q.verdict == REJECT


def test_blank_and_noise_frames() -> None:
    blank = np.zeros((H, W), np.uint8)
    head = ellipse_mask(200, 160, 80, 65)
    q = verdict_for(blank, head)
    assert "no_ultrasound" in codes(q) and q.verdict == REJECT
    noise = np.random.default_rng(1).integers(0, 256, (H, W), dtype=np.uint8)
    assert "unusual_image" in codes(verdict_for(noise, head))


def test_no_head_is_reject() -> None:
    empty = np.zeros((H, W), np.uint8)
    q = verdict_for(frame(), empty, np.full((H // 8, W // 8), -9.0, np.float32))
    assert q.verdict == REJECT and "no_head" in codes(q)


def test_calibration_reasons() -> None:
    (r,) = calibration_reasons(None)
    assert (r.code, r.severity) == ("no_pixel_size", CHECK)
    (r,) = calibration_reasons(204.1, "--pixel-csv")
    assert (r.code, r.severity) == ("implausible_pixel_size", REJECT)
    assert "--pixel-csv" in r.message
    assert calibration_reasons(0.01)[0].code == "implausible_pixel_size"
    assert calibration_reasons((0.1, 0.12)) == []
    (r,) = calibration_reasons(0.1, "user", 0.2)
    assert (r.code, r.severity) == ("pixel_size_conflict", CHECK)
    assert calibration_reasons(0.1, "user", 0.1) == []


def test_verdict_is_the_worst_severity_and_json_ready() -> None:
    q = verdict_for(frame(), ellipse_mask(360, 160, 80, 65), px=None)
    assert q.verdict == REJECT
    assert q.reasons[0].severity == REJECT  # worst first
    d = q.to_dict()
    assert d["verdict"] == REJECT and all(isinstance(r["message"], str) for r in d["reasons"])
    assert "no_pixel_size" in q.codes.split(";")


def test_shipped_thresholds_are_fitted_with_their_rule() -> None:
    th = load_thresholds()
    assert "validation" in th["rule"] and th["fitted_on"]["validation_images"] > 0
    assert {"outside_image", "ellipse_dice", "uncertain_band", "noise"} <= set(th["features"])
    q = verdict_for(np.zeros((H, W), np.uint8), ellipse_mask(200, 160, 80, 65), th=th)
    assert q.verdict == REJECT


@pytest.mark.parametrize("shape", [(H, W), (H // 2, W // 3)])
def test_features_are_finite_for_a_head(shape) -> None:
    h, w = shape
    mask = np.zeros(shape, np.uint8)
    cv2.ellipse(mask, ((w / 2, h / 2), (w / 2, h / 3), 0), 1, -1)
    image = np.full(shape, 80, np.uint8)
    m = measure_head(mask, 0.1)
    f = compute_features(image, np.where(mask > 0, 5.0, -5.0), mask, m.ellipse_px)
    assert all(math.isfinite(v) for v in f.to_dict().values())


def test_unsure_pixels_away_from_the_head_and_a_weak_interior_are_unsure() -> None:
    th = {
        "features": {
            "uncertain_elsewhere": {"direction": "high", "check": 0.3, "reject": 0.8},
            "interior_prob": {"direction": "low", "check": 0.95, "reject": 0.8},
        }
    }
    mask = ellipse_mask(200, 160, 80, 65)
    logits = sharp_logits(mask)
    assert verdict_for(frame(), mask, logits, th=th).verdict == GOOD
    second = logits.copy()
    second[2:10, 2:12] = 0.0  # probability 0.5 far from the head: a second candidate
    q = verdict_for(frame(), mask, second, th=th)
    assert "unsure" in codes(q) and q.features.uncertain_elsewhere > 0.3
    weak = np.where(logits > 0, 1.0, logits)  # inside the head: probability 0.73 only
    q = verdict_for(frame(), mask, weak, th=th)
    assert "unsure" in codes(q) and q.features.interior_prob < 0.8 and q.verdict == REJECT


def test_brightness_and_contrast_unlike_the_training_data() -> None:
    th = {
        "features": {
            "content_mean": {"direction": "both", "check": [30, 130], "reject": [15, 200]},
            "content_std": {"direction": "both", "check": [10, 80], "reject": [3, 100]},
        }
    }
    head = ellipse_mask(200, 160, 80, 65)
    assert verdict_for(frame(), head, th=th).verdict == GOOD
    bright = np.where(frame() > 0, 235, 0).astype(np.uint8)  # a bright sector
    q = verdict_for(bright, head, th=th)
    assert "unusual_image" in codes(q) and q.verdict == REJECT and q.features.content_mean > 200
    flat = np.full((H, W), 90, np.uint8)  # no contrast at all
    q = verdict_for(flat, head, th=th)
    assert "unusual_image" in codes(q) and q.features.content_std < 3 and q.verdict == REJECT


def test_a_second_pixel_size_that_disagrees_is_a_check() -> None:
    mask = ellipse_mask(200, 160, 80, 65)
    fit = measure_head(mask, 0.15)
    logits = sharp_logits(mask)
    q = assess(frame(), logits, mask, fit.ellipse_px, fit, 0.15, "dicom", 0.3, thresholds=TH)
    assert "pixel_size_conflict" in codes(q) and q.verdict == CHECK
    q = assess(frame(), logits, mask, fit.ellipse_px, fit, 0.15, "dicom", 0.15, thresholds=TH)
    assert q.verdict == GOOD


def test_fitting_rule_gives_a_hole_floor() -> None:
    """Revision 2 of the rule: no reference frame with a hole still leaves room for pin-holes."""
    import numpy as np

    from fetalseg.quality.study import DIRECTIONS, fit_thresholds

    rng = np.random.default_rng(0)
    rows = [
        {
            "hc_err_mm": 1.0,
            "dsc": 0.97,
            "category": "hc18",
            "found": True,
            **{name: float(rng.uniform(0.4, 0.6)) for name in DIRECTIONS},
            "hole_fraction": 0.0,
        }
        for _ in range(50)
    ]
    spec = fit_thresholds(rows)["hole_fraction"]
    assert spec["check"] == pytest.approx(0.001) and spec["reject"] == pytest.approx(0.005)
