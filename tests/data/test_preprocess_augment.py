import cv2
import numpy as np
import pytest

from fetalseg.data.augment import (
    AugmentConfig,
    augment_pair,
    random_affine,
    random_intensity_lut,
)
from fetalseg.data.preprocess import (
    probability_to_original,
    resize_image,
    resize_mask,
    resize_mask_and_coverage,
)


def test_geometry_keeps_separate_scales():
    img = np.zeros((540, 800), np.uint8)
    out, geom = resize_image(img, (384, 256))
    assert out.shape == (256, 384)
    assert geom.scale_x == pytest.approx(800 / 384)
    assert geom.scale_y == pytest.approx(540 / 256)
    assert geom.scale_x != geom.scale_y


def test_odd_size_round_trip():
    img = np.zeros((537, 803), np.uint8)
    _, geom = resize_image(img, (384, 256))
    back = probability_to_original(np.ones((256, 384), np.float32), geom)
    assert back.shape == (537, 803)


def test_resize_mask_is_binary_and_keeps_area():
    mask = np.zeros((540, 800), np.uint8)
    mask[100:400, 200:600] = 1
    small = resize_mask(mask, (384, 256))
    assert set(np.unique(small)) <= {0, 1}
    frac = mask.mean()
    assert abs(small.mean() - frac) < 0.01


def test_augment_is_joint_and_mask_stays_binary():
    rng = np.random.default_rng(0)
    img = np.zeros((256, 384), np.uint8)
    img[60:200, 100:300] = 200
    mask = (img > 0).astype(np.uint8)
    for _ in range(10):
        a, m = augment_pair(img, mask, AugmentConfig(), rng)
        assert set(np.unique(m)) <= {0, 1}
        # image and mask moved together: bright pixels are where the mask is
        inside = a[m == 1]
        assert inside.size == 0 or inside.mean() > 150
        assert a[m == 0].mean() < 60


def test_identity_augmentation_changes_nothing():
    cfg = AugmentConfig(hflip=0, vflip=0, rotate_deg=0, shift=0, zoom=0)
    m = random_affine(384, 256, cfg, np.random.default_rng(0))
    assert np.allclose(m, [[1, 0, 0], [0, 1, 0]])


def test_flip_maps_corner_to_corner():
    cfg = AugmentConfig(hflip=1, vflip=1, rotate_deg=0, shift=0, zoom=0)
    img = np.zeros((4, 6), np.uint8)
    img[0, 0] = 255
    out, _ = augment_pair(img, (img > 0).astype(np.uint8), cfg, np.random.default_rng(0))
    assert out[3, 5] == 255


def test_coverage_keeps_the_edge_and_agrees_with_the_binary_mask():
    mask = np.zeros((540, 800), np.uint8)
    cv2.ellipse(mask, ((400, 270), (500, 350), 30), 1, -1)
    binary, cov = resize_mask_and_coverage(mask, (384, 256))
    assert cov.dtype == np.uint8 and cov.shape == (256, 384)
    assert abs(cov.mean() / 255 - mask.mean()) < 1e-3  # area is kept to rounding
    assert ((cov > 0) & (cov < 255)).any()  # edge pixels are partly covered
    np.testing.assert_array_equal(cov >= 128, resize_mask(mask, (384, 256)) == 1)
    np.testing.assert_array_equal(binary, resize_mask(mask, (384, 256)))


def test_intensity_transforms_off_draw_no_random_numbers():
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    assert random_intensity_lut(AugmentConfig(), rng) is None
    assert rng.bit_generator.state == state


def test_intensity_map_is_monotonic_keeps_black_and_varies():
    cfg = AugmentConfig(gamma=0.4, contrast=0.2)
    rng = np.random.default_rng(1)
    luts = [random_intensity_lut(cfg, rng) for _ in range(5)]
    for lut in luts:
        assert lut.dtype == np.uint8 and lut.shape == (256,)
        assert lut[0] == 0 and np.all(np.diff(lut.astype(int)) >= 0)
    assert len({lut.tobytes() for lut in luts}) == 5


def test_intensity_changes_the_image_not_the_mask():
    still = dict(hflip=0, vflip=0, rotate_deg=0, shift=0, zoom=0)
    img = np.tile(np.arange(0, 256, 2, dtype=np.uint8), (32, 1))
    mask = (img > 100).astype(np.uint8)
    out, m = augment_pair(img, mask, AugmentConfig(**still, gamma=0.5), np.random.default_rng(3))
    np.testing.assert_array_equal(m, mask)
    assert not np.array_equal(out, img)


def test_soft_mask_is_warped_smoothly():
    cov = np.zeros((64, 96), np.uint8)
    cov[16:48, 24:72] = 255
    cfg = AugmentConfig(hflip=0, vflip=0, rotate_deg=30, shift=0, zoom=0)
    _, soft = augment_pair(cov, cov, cfg, np.random.default_rng(0), soft_mask=True)
    _, hard = augment_pair(cov, cov, cfg, np.random.default_rng(0), soft_mask=False)
    assert ((soft > 0) & (soft < 255)).any()
    assert set(np.unique(hard)) <= {0, 255}
