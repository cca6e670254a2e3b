"""Joint image/mask augmentation: flips, rotation, shift and zoom as one OpenCV affine warp, then
optional intensity changes (gamma, contrast, brightness) of the image alone.

One warp per sample (instead of a chain) interpolates the image once; a binary mask is warped
with nearest neighbour so it stays binary, a coverage mask (0..255, see
:attr:`fetalseg.config.DataConfig.soft_masks`) bilinearly so its edge stays sub-pixel.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges of the random transforms; a probability of 0 or a range of 0 disables one.

    The intensity transforms are not in the reference and are off by default. They stand in for
    what differs between scans of the same anatomy: gain and dynamic range settings (contrast,
    brightness) and the display curve (gamma), which decide how faint a shadowed skull looks.
    A disabled transform draws no random number, so runs without them are unchanged.
    """

    hflip: float = 0.5
    vflip: float = 0.5
    rotate_deg: float = 20.0
    shift: float = 0.1  # fraction of width/height
    zoom: float = 0.1  # scale drawn from [1 - zoom, 1 + zoom]
    gamma: float = 0.0  # exponent drawn log-uniformly from [1 / (1 + gamma), 1 + gamma]
    contrast: float = 0.0  # factor drawn from [1 - contrast, 1 + contrast]
    brightness: float = 0.0  # offset drawn from [-brightness, brightness], fraction of 255


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


def random_intensity_lut(cfg: AugmentConfig, rng: np.random.Generator) -> np.ndarray | None:
    """A random ``(256,) uint8`` grey-level map ``v -> 255 * (c * (v/255)^g + b)`` (clipped),
    or ``None`` when every intensity transform is off. Black stays black unless ``b > 0``: the
    area outside the ultrasound sector keeps its meaning."""
    if not (cfg.gamma or cfg.contrast or cfg.brightness):
        return None
    g = np.exp(rng.uniform(-1, 1) * np.log1p(cfg.gamma)) if cfg.gamma else 1.0
    c = rng.uniform(1 - cfg.contrast, 1 + cfg.contrast) if cfg.contrast else 1.0
    b = rng.uniform(-cfg.brightness, cfg.brightness) if cfg.brightness else 0.0
    v = np.arange(256) / 255.0
    return np.clip(np.rint(255.0 * (c * v**g + b)), 0, 255).astype(np.uint8)


def augment_pair(
    image: np.ndarray,
    mask: np.ndarray,
    cfg: AugmentConfig,
    rng: np.random.Generator,
    soft_mask: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Apply the same random affine to ``(H, W) uint8`` image and mask, then the random
    intensity map (if any) to the image. ``mask``: ``{0, 1}``, or with ``soft_mask`` a
    ``0..255`` coverage map (warped bilinearly)."""
    h, w = image.shape[:2]
    m = random_affine(w, h, cfg, rng)
    image = cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=0)
    mask_interp = cv2.INTER_LINEAR if soft_mask else cv2.INTER_NEAREST
    mask = cv2.warpAffine(mask, m, (w, h), flags=mask_interp, borderValue=0)
    lut = random_intensity_lut(cfg, rng)
    if lut is not None:
        image = cv2.LUT(image, lut)
    return image, mask
