"""Synthetic ultrasound frames: determinism, exact truth, image statistics, the cached set."""

from __future__ import annotations

import math
import time

import cv2
import numpy as np
import pytest

from fetalseg.data.preprocess import Geometry
from fetalseg.data.synthetic import (
    SyntheticHead,
    synthetic_frame,
    synthetic_heads,
    synthetic_set,
)


def test_deterministic_by_seed_and_generator():
    a = synthetic_frame(rng=7)
    b = synthetic_frame(rng=7)
    c = synthetic_frame(rng=np.random.default_rng(7))
    for x, y in [(a, b), (a, c)]:
        np.testing.assert_array_equal(x[0], y[0])
        np.testing.assert_array_equal(x[1], y[1])
        assert x[2] == y[2]


def test_different_seeds_differ():
    a, b = synthetic_frame(rng=1), synthetic_frame(rng=2)
    assert a[2] != b[2]
    assert np.mean(a[0] != b[0]) > 0.5
    assert not np.array_equal(a[1], b[1])


@pytest.mark.parametrize(("w", "h"), [(800, 540), (401, 299)])
def test_shapes_and_dtypes(w, h):
    img, mask, head = synthetic_frame(w, h, rng=0)
    assert img.shape == mask.shape == (h, w)
    assert img.dtype == mask.dtype == np.uint8
    assert set(np.unique(mask)) <= {0, 1}
    assert (head.width, head.height) == (w, h)
    assert img.max() > 150  # the skull saturates towards white
    assert np.mean(img == 0) > 0.02  # dark outside the scan sector


@pytest.mark.parametrize("seed", range(6))
def test_mask_is_the_true_ellipse(seed):
    _, mask, head = synthetic_frame(rng=seed)
    np.testing.assert_array_equal(mask, head.mask())
    expected = math.pi * head.semi_major * head.semi_minor
    assert mask.sum() == pytest.approx(expected, rel=0.01)
    # cv2's own rasterisation of the same RotatedRect, drawn independently.
    ref = np.zeros_like(mask)
    box = (
        (head.center_x, head.center_y),
        (2 * head.semi_major, 2 * head.semi_minor),
        head.angle_deg,
    )
    cv2.ellipse(ref, box, 1, -1)
    np.testing.assert_array_equal(mask, ref)


def test_heads_are_inside_the_frame_with_the_requested_shape():
    heads = synthetic_heads(300, seed=3)
    for hd in heads:
        hx, hy = hd.half_extent()
        assert hd.center_x - hx >= 0 and hd.center_x + hx <= hd.width - 1
        assert hd.center_y - hy >= 0 and hd.center_y + hy <= hd.height - 1
        assert hd.semi_major <= 0.35 * hd.width
        assert 0.7 <= hd.semi_minor / hd.semi_major <= 0.95
        assert 0 <= hd.angle_deg < 180
    sizes = np.array([hd.semi_major / hd.width for hd in heads])
    assert np.mean(sizes >= 0.15) > 0.95 and sizes.max() > 0.3
    for seed in range(4):
        _, mask, _ = synthetic_frame(rng=seed)
        border = np.concatenate([mask[0], mask[-1], mask[:, 0], mask[:, -1]])
        assert border.sum() == 0


def _regions(mask: np.ndarray, head: SyntheticHead):
    """Ring band just inside the edge, the brain well inside, and tissue just outside."""
    t = max(round(0.05 * head.semi_major), 3)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * t + 1, 2 * t + 1))
    inner = cv2.erode(mask, k)
    ring = (mask == 1) & (inner == 0)
    core = np.zeros_like(mask)
    box = (
        (head.center_x, head.center_y),
        (1.5 * head.semi_major, 1.5 * head.semi_minor),
        head.angle_deg,
    )
    cv2.ellipse(core, box, 1, -1)
    outer = cv2.dilate(mask, k) - mask
    far = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (61, 61)))
    background = far == 0
    return ring, core == 1, outer == 1, background


def test_ring_is_brighter_than_brain_and_background():
    means = []
    for seed in range(8):
        img, mask, head = synthetic_frame(rng=seed)
        ring, core, outer, background = _regions(mask, head)
        m = [img[r].mean() for r in (ring, core, outer, background)]
        assert m[0] > 1.5 * m[1], (seed, m)  # skull vs brain, every frame
        assert m[0] > m[2], (seed, m)  # the ring sits inside the mask edge, not outside it
        means.append(m)
    ring_m, core_m, outer_m, back_m = np.mean(means, axis=0)
    assert ring_m > 2.0 * core_m
    assert ring_m > 1.5 * back_m
    assert ring_m > 1.5 * outer_m


def test_given_head_is_used():
    head = SyntheticHead(300.5, 250.25, 150.0, 120.0, 30.0, 640, 480)
    img, mask, truth = synthetic_frame(rng=0, head=head)
    assert truth == head
    assert img.shape == (480, 640)
    np.testing.assert_array_equal(mask, head.mask())


def test_synthetic_set():
    data = synthetic_set(4, size=(192, 128), seed=5, pixel_size_mm=0.2)
    assert len(data) == 4
    assert data.images.shape == data.masks.shape == (4, 128, 192)
    assert data.images.dtype == data.masks.dtype == np.uint8
    assert data.names == [f"synthetic_{i:03d}.png" for i in range(4)]
    np.testing.assert_array_equal(data.pixel_size_mm, np.full(4, 0.2))
    assert data.geometry == [Geometry(800, 540, 192, 128)] * 4
    for hd, hc in zip(synthetic_heads(4, seed=5), data.hc_mm, strict=True):
        a, b = hd.semi_major * 0.2, hd.semi_minor * 0.2
        h = ((a - b) / (a + b)) ** 2
        expected = math.pi * (a + b) * (1 + 3 * h / (10 + math.sqrt(4 - 3 * h)))
        assert hc == pytest.approx(expected, rel=1e-12)
        assert 60 < hc < 400
    # Mask area at network size matches the ellipse scaled by the resize.
    for hd, m in zip(synthetic_heads(4, seed=5), data.masks, strict=True):
        area = math.pi * hd.semi_major * hd.semi_minor * (192 / 800) * (128 / 540)
        assert m.sum() == pytest.approx(area, rel=0.03)
    # Frame i depends on (seed, i) only; another seed gives other frames.
    more = synthetic_set(5, size=(192, 128), seed=5, pixel_size_mm=0.2)
    np.testing.assert_array_equal(more.images[:4], data.images)
    other = synthetic_set(1, size=(192, 128), seed=6)
    assert not np.array_equal(other.images[0], data.images[0])


def test_frame_is_fast():
    synthetic_frame(rng=0)
    t0 = time.perf_counter()
    for seed in range(5):
        synthetic_frame(rng=seed)
    assert (time.perf_counter() - t0) / 5 < 0.2


def test_scan_sector_holds_the_whole_head() -> None:
    """The sector stage is drawn wide enough for the head: every head pixel is in the beam."""
    from fetalseg.data.synthetic import _beam, _Grid, random_head

    for seed in range(10):
        rng = np.random.default_rng(seed)
        head = random_head(400, 270, rng)
        grid = _Grid.for_frame(head.width, head.height)
        sector = cv2.resize(_beam(rng, head, grid).sector, (head.width, head.height))
        assert sector[head.mask() > 0].min() > 0.5
