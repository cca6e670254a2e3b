import numpy as np
import pytest

from fetalseg.data.augment import AugmentConfig, augment_pair, random_affine
from fetalseg.data.preprocess import probability_to_original, resize_image, resize_mask


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
