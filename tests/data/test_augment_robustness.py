"""The switchable robustness augmentations: each off draws nothing, each on does its one job."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from fetalseg.data.augment import (
    AugmentConfig,
    add_noise,
    augment_pair,
    gaussian_blur,
    random_affine,
    random_sector,
    sector_mask,
    simulate_low_resolution,
)

STILL = {"hflip": 0, "vflip": 0, "rotate_deg": 0, "shift": 0, "zoom": 0}
NEW = ("aspect", "blur", "low_res", "speckle", "noise", "sector")


def _frame() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    img = rng.integers(40, 200, (64, 96)).astype(np.uint8)
    mask = np.zeros((64, 96), np.uint8)
    mask[20:44, 30:66] = 1
    return img, mask


def test_defaults_are_off_and_draw_nothing():
    """The reference recipe's stream is unchanged: same draws, same output as before."""
    assert all(getattr(AugmentConfig(), k) == 0 for k in NEW)
    img, mask = _frame()
    r1, r2 = np.random.default_rng(1), np.random.default_rng(1)
    a, _ = augment_pair(img, mask, AugmentConfig(), r1)
    random_affine(96, 64, AugmentConfig(), r2)  # what the reference recipe draws
    assert r1.random() == r2.random()
    assert a.dtype == np.uint8


@pytest.mark.parametrize("name", ["blur", "low_res", "speckle", "noise", "sector"])
def test_image_only_transforms_change_the_image_not_the_mask(name):
    img, mask = _frame()
    value = {"blur": 2.0, "low_res": 3.0, "speckle": 0.5, "noise": 0.2, "sector": 1.0}[name]
    cfg = AugmentConfig(**STILL, **{name: value})
    changed = 0
    for seed in range(4):
        a, m = augment_pair(img, mask, cfg, np.random.default_rng(seed))
        assert a.shape == img.shape and a.dtype == np.uint8
        assert np.array_equal(m, mask)
        changed += not np.array_equal(a, img)
    assert changed >= 3  # the strength is random (may be ~0) but rarely nothing


def test_aspect_jitter_moves_image_and_mask_together():
    img = np.zeros((128, 128), np.uint8)
    img[44:84, 44:84] = 255
    mask = (img > 0).astype(np.uint8)
    cfg = AugmentConfig(**STILL, aspect=0.5)
    ratios = []
    for seed in range(6):
        a, m = augment_pair(img, mask, cfg, np.random.default_rng(seed))
        ys, xs = np.nonzero(m)
        ratios.append(np.ptp(xs) / np.ptp(ys))
        assert (a[m == 1] > 128).mean() > 0.95
    assert max(ratios) > 1.1 and min(ratios) < 0.9


def test_blur_and_low_resolution_remove_fine_detail():
    noise = np.random.default_rng(0).integers(0, 256, (64, 64)).astype(np.uint8)
    detail = lambda x: np.abs(np.diff(x.astype(float), axis=1)).mean()  # noqa: E731
    assert gaussian_blur(noise, 0) is noise
    assert simulate_low_resolution(noise, 1.0) is noise
    assert detail(gaussian_blur(noise, 2.0)) < 0.3 * detail(noise)
    assert detail(simulate_low_resolution(noise, 4.0)) < 0.5 * detail(noise)


def test_speckle_is_multiplicative_and_noise_additive():
    img = np.zeros((32, 32), np.uint8)
    img[:, 16:] = 128
    rng = np.random.default_rng(0)
    s = add_noise(img, 0.3, 0.0, rng).astype(float)
    assert (s[:, :16] == 0).all()  # black stays black
    assert 0.2 * 128 < s[:, 16:].std() < 0.4 * 128
    n = add_noise(img, 0.0, 0.1, rng).astype(float)
    assert n[:, :16].std() > 5  # additive: the black half gets noise too (clipped at 0)
    assert add_noise(img, 0.0, 0.0, rng) is img


def test_sector_mask_geometry():
    fan = sector_mask(200, 100, apex_y=-50, half_angle_deg=30, r_min=50, r_max=140)
    assert fan[5, 100] and fan[90, 100]  # along the axis, inside the radii
    assert not fan[5, 0] and not fan[5, 199]  # the top corners are outside the fan
    # 31 degrees off-axis at radius 100 is outside, 29 degrees inside
    for deg, inside in ((29, True), (31, False)):
        x = 100 + 100 * np.sin(np.radians(deg))
        y = -50 + 100 * np.cos(np.radians(deg))
        assert fan[round(y), round(x)] == inside
    m = random_sector(96, 64, np.random.default_rng(0))
    assert 0.3 < m.mean() < 1.0


def test_every_new_option_is_a_config_key():
    from fetalseg.config import load_config

    cfg = load_config(None, [f"train.augment.{k}=0.25" for k in NEW])
    assert all(getattr(cfg.train.augment, k) == 0.25 for k in NEW)
    assert {f.name for f in dataclasses.fields(AugmentConfig)} >= set(NEW)


def test_shift_transforms_are_fixed_and_each_changes_the_frame():
    from fetalseg.data.augment import SHIFT_TRANSFORMS, apply_shift

    img, _ = _frame()
    for name in SHIFT_TRANSFORMS:
        out = apply_shift(name, img, seed=3)
        assert out.shape == img.shape and out.dtype == np.uint8
        assert np.array_equal(out, apply_shift(name, img, seed=3))  # the same set every run
        assert np.array_equal(out, img) == (name == "none")
    assert (apply_shift("gain_low", img) <= img).all()
    with pytest.raises(ValueError, match="unknown shift"):
        apply_shift("fog", img)
