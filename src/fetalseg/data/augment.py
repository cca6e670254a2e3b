"""Joint image/mask augmentation: flips, rotation, shift and zoom as one OpenCV affine warp.

One warp per sample (instead of a chain) interpolates the image once; the mask is warped with
nearest neighbour so it stays binary.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges of the random transforms; a probability of 0 or a range of 0 disables one."""

    hflip: float = 0.5
    vflip: float = 0.5
    rotate_deg: float = 20.0
    shift: float = 0.1  # fraction of width/height
    zoom: float = 0.1  # scale drawn from [1 - zoom, 1 + zoom]


def random_affine(
    width: int, height: int, cfg: AugmentConfig, rng: np.random.Generator
) -> np.ndarray:
    """A random ``2x3`` affine matrix about the image centre."""
    angle = rng.uniform(-cfg.rotate_deg, cfg.rotate_deg)
    scale = rng.uniform(1 - cfg.zoom, 1 + cfg.zoom)
    m = np.vstack([cv2.getRotationMatrix2D((width / 2, height / 2), angle, scale), [0, 0, 1]])
    flip = np.eye(3)
    if rng.random() < cfg.hflip:
        flip[0, 0], flip[0, 2] = -1, width - 1
    if rng.random() < cfg.vflip:
        flip[1, 1], flip[1, 2] = -1, height - 1
    shift = np.eye(3)
    shift[0, 2] = rng.uniform(-cfg.shift, cfg.shift) * width
    shift[1, 2] = rng.uniform(-cfg.shift, cfg.shift) * height
    return (shift @ m @ flip)[:2]


def augment_pair(
    image: np.ndarray, mask: np.ndarray, cfg: AugmentConfig, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Apply the same random affine to ``(H, W) uint8`` image and ``{0, 1}`` mask."""
    h, w = image.shape[:2]
    m = random_affine(w, h, cfg, rng)
    image = cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=0)
    mask = cv2.warpAffine(mask, m, (w, h), flags=cv2.INTER_NEAREST, borderValue=0)
    return image, mask
