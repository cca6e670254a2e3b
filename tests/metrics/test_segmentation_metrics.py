import numpy as np
import pytest

from fetalseg.metrics import confusion_counts, overlap_metrics, summarize, surface_distances


def test_counts_and_ratios_hand_computed():
    truth = np.array([[1, 1, 0, 0], [1, 1, 0, 0]])
    pred = np.array([[1, 0, 0, 0], [1, 1, 1, 0]])
    c = confusion_counts(pred, truth)
    assert (c.tp[0], c.fp[0], c.fn[0], c.tn[0]) == (3, 1, 1, 3)
    m = overlap_metrics(pred, truth)
    assert m["dsc"][0] == pytest.approx(6 / 8)
    assert m["js"][0] == pytest.approx(3 / 5)
    assert m["se"][0] == pytest.approx(3 / 4)
    assert m["pc"][0] == pytest.approx(3 / 4)
    assert m["sp"][0] == pytest.approx(3 / 4)


def test_empty_cases_are_defined():
    z = np.zeros((1, 4, 4))
    o = np.ones((1, 4, 4))
    both_empty = overlap_metrics(z, z)
    assert both_empty["dsc"][0] == 1.0 and both_empty["js"][0] == 1.0
    missed = overlap_metrics(z, o)
    assert missed["dsc"][0] == 0.0 and missed["se"][0] == 0.0
    assert not any(np.isnan(v).any() for v in missed.values())


def test_shape_mismatch():
    with pytest.raises(ValueError, match="differ in shape"):
        confusion_counts(np.zeros((2, 2)), np.zeros((3, 3)))


def _disk(shape, cx, cy, r):
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return ((xx - cx) ** 2 + (yy - cy) ** 2 <= r**2).astype(np.uint8)


def test_surface_distance_uses_anisotropic_spacing():
    a = _disk((100, 100), 50, 50, 20)
    b = _disk((100, 100), 53, 50, 20)  # shifted 3 px along x
    d = surface_distances(b, a, spacing_mm=(1.0, 0.5))  # (row = y, col = x) mm
    assert d["hd_mm"] == pytest.approx(1.5)
    assert d["hd95_mm"] <= d["hd_mm"]
    assert 0 < d["assd_mm"] < d["hd_mm"]
    d2 = surface_distances(b, a, spacing_mm=(0.5, 1.0))
    assert d2["hd_mm"] == pytest.approx(3.0)


def test_surface_distance_empty_rules():
    a = _disk((30, 40), 20, 15, 5)
    z = np.zeros_like(a)
    assert surface_distances(z, z, (1, 1)) == {"hd_mm": 0.0, "hd95_mm": 0.0, "assd_mm": 0.0}
    worst = surface_distances(z, a, (1.0, 1.0))
    assert worst["hd95_mm"] == pytest.approx(50.0)  # the 30 x 40 mm frame's diagonal
    assert not np.isnan(list(worst.values())).any()


def test_summarize_refuses_nan():
    s = summarize({"dsc": [0.9, 1.0]})
    assert s["dsc"]["mean"] == pytest.approx(0.95)
    assert s["dsc"]["sd"] == pytest.approx(np.std([0.9, 1.0], ddof=1))
    assert s["dsc"]["n"] == 2
    with pytest.raises(ValueError, match="NaN"):
        summarize({"hd95": [1.0, float("nan")]})
