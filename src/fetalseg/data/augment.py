"""Joint image/mask augmentation: flips, rotation, shift, zoom (and optional aspect jitter) as one
OpenCV affine warp, then optional changes of the image alone: intensity (gamma, contrast,
brightness), blur, simulated low resolution, multiplicative speckle, additive Gaussian noise and
a random ultrasound sector mask (the image-only transforms in that order, after nnU-Net's
``get_moreDA_augmentation``: Isensee et al., Nature Methods 2021, supplementary note 4).

They are written with OpenCV/NumPy on the caller's ``np.random.Generator`` rather than with MONAI's
``RandGaussianNoise``/``RandGaussianSmooth``/``RandSimulateLowResolution``, whose random state is
their own: one seeded stream per worker keeps runs reproducible and resumable.

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
    #: scale-aspect jitter: x scaled by ``a``, y by ``1 / a``, ``a`` log-uniform in
    #: ``[1 / (1 + aspect), 1 + aspect]`` (image and mask: a head of another shape)
    aspect: float = 0.0
    #: Gaussian blur, sigma (network pixels) drawn from ``[0, blur]``
    blur: float = 0.0
    #: simulated low resolution: down-sampled by a factor drawn from ``[1, 1 + low_res]``
    #: (area), then back up (linear), as a coarser probe or scan-converter would give
    low_res: float = 0.0
    #: multiplicative speckle ``v * (1 + s * n)``, ``n ~ N(0, 1)`` per pixel, ``s`` drawn from
    #: ``[0, speckle]`` (black stays black)
    speckle: float = 0.0
    #: additive Gaussian noise, sd drawn from ``[0, noise]`` (fraction of 255)
    noise: float = 0.0
    #: probability of blacking out all but a random ultrasound sector (a fan from an apex above
    #: the image); the head's truth is kept, so the net learns heads cut off by the field of view
    sector: float = 0.0


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
    if cfg.aspect:
        a = np.exp(rng.uniform(-1, 1) * np.log1p(cfg.aspect))
        cx, cy = width / 2, height / 2
        aspect = np.array([[a, 0, cx * (1 - a)], [0, 1 / a, cy * (1 - 1 / a)], [0, 0, 1]])
        return (shift @ aspect @ m @ flip)[:2]
    return (shift @ m @ flip)[:2]


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """``(H, W) uint8`` blurred with a Gaussian of ``sigma`` pixels (returned as is at 0)."""
    if sigma <= 0:
        return image
    return cv2.GaussianBlur(image, (0, 0), sigmaX=sigma, sigmaY=sigma)


def simulate_low_resolution(image: np.ndarray, factor: float) -> np.ndarray:
    """Down-sample ``(H, W) uint8`` by ``factor`` (area) and back to its size (linear)."""
    if factor <= 1:
        return image
    h, w = image.shape[:2]
    small = cv2.resize(
        image, (max(1, round(w / factor)), max(1, round(h / factor))), interpolation=cv2.INTER_AREA
    )
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def add_noise(
    image: np.ndarray, speckle_sd: float, noise_sd: float, rng: np.random.Generator
) -> np.ndarray:
    """``v * (1 + speckle_sd * n1) + 255 * noise_sd * n2`` with ``n1, n2 ~ N(0, 1)`` per pixel,
    clipped to ``uint8``; a zero sd draws nothing."""
    if not (speckle_sd or noise_sd):
        return image
    v = image.astype(np.float32)
    if speckle_sd:
        v = v * (1 + np.float32(speckle_sd) * rng.standard_normal(v.shape, dtype=np.float32))
    if noise_sd:
        v = v + np.float32(255 * noise_sd) * rng.standard_normal(v.shape, dtype=np.float32)
    return np.clip(np.rint(v), 0, 255).astype(np.uint8)


def sector_mask(
    width: int,
    height: int,
    apex_y: float,
    half_angle_deg: float,
    r_min: float,
    r_max: float,
    tilt_deg: float = 0.0,
) -> np.ndarray:
    """``(H, W) bool``: inside a fan with its apex at ``(width / 2, apex_y)`` (``apex_y < 0``:
    above the image), pointing down (tilted by ``tilt_deg``), ``half_angle_deg`` wide, between
    radii ``r_min`` and ``r_max`` pixels: the field of view of a curved or phased-array probe."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    dx, dy = xx - width / 2, yy - apex_y
    r = np.hypot(dx, dy)
    angle = np.degrees(np.arctan2(dx, dy)) - tilt_deg  # 0 = straight down
    return (np.abs(angle) <= half_angle_deg) & (r >= r_min) & (r <= r_max)


def random_sector(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """A random :func:`sector_mask` that keeps most of a frame: apex 0.2-1.0 heights above it,
    half-angle 25-45 degrees, tilt up to 10 degrees, outer radius reaching 85-110 % of the
    frame's bottom."""
    apex_y = -rng.uniform(0.2, 1.0) * height
    half = rng.uniform(25, 45)
    tilt = rng.uniform(-10, 10)
    r_max = (height - apex_y) * rng.uniform(0.85, 1.1)
    r_min = -apex_y * rng.uniform(1.0, 1.1)
    return sector_mask(width, height, apex_y, half, r_min, r_max, tilt)


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
    intensity map, blur, low resolution, noise and sector (those switched on) to the image.
    ``mask``: ``{0, 1}``, or with ``soft_mask`` a ``0..255`` coverage map (warped bilinearly)."""
    h, w = image.shape[:2]
    m = random_affine(w, h, cfg, rng)
    image = cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=0)
    mask_interp = cv2.INTER_LINEAR if soft_mask else cv2.INTER_NEAREST
    mask = cv2.warpAffine(mask, m, (w, h), flags=mask_interp, borderValue=0)
    lut = random_intensity_lut(cfg, rng)
    if lut is not None:
        image = cv2.LUT(image, lut)
    if cfg.blur:
        image = gaussian_blur(image, rng.uniform(0, cfg.blur))
    if cfg.low_res:
        image = simulate_low_resolution(image, rng.uniform(1, 1 + cfg.low_res))
    speckle_sd = rng.uniform(0, cfg.speckle) if cfg.speckle else 0.0
    noise_sd = rng.uniform(0, cfg.noise) if cfg.noise else 0.0
    image = add_noise(image, speckle_sd, noise_sd, rng)
    if cfg.sector and rng.random() < cfg.sector:
        image = np.where(random_sector(w, h, rng), image, 0).astype(np.uint8)
    return image, mask


def _lut(image: np.ndarray, fn) -> np.ndarray:
    v = np.arange(256) / 255.0
    return cv2.LUT(image, np.clip(np.rint(255.0 * fn(v)), 0, 255).astype(np.uint8))


def _shift_sector(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    # apex half a frame height above the top, 35 degrees each side, reaching the bottom corners'
    # height: the frame's upper corners and lower sides go black
    fan = sector_mask(w, h, apex_y=-0.5 * h, half_angle_deg=35.0, r_min=0.5 * h, r_max=1.5 * h)
    return np.where(fan, image, 0).astype(np.uint8)


#: The robustness set's fixed synthetic "other scanner" transforms, each applied alone to the
#: original ``(H, W) uint8`` frame (HC18: 800x540, ~0.1-0.2 mm per pixel; strengths are in
#: original pixels). Noise is seeded per image (``seed``), so the set is the same on every run.
SHIFT_TRANSFORMS: dict[str, str] = {
    "none": "the frame as it is",
    "gain_low": "grey levels x 0.6 (lower gain)",
    "gain_high": "grey levels x 1.4, clipped at 255 (higher gain)",
    "gamma": "v -> 255 (v / 255)^1.5 (a darker display curve)",
    "speckle": "multiplicative speckle, sd 0.3 per pixel",
    "blur": "Gaussian blur, sigma 3 px",
    "low_res": "down-sampled x3 (area) and back up (linear)",
    "sector": "all but a 70-degree fan from an apex 0.5 H above the frame blacked out",
}


def apply_shift(name: str, image: np.ndarray, seed: int = 0) -> np.ndarray:
    """Apply the robustness transform ``name`` (a key of :data:`SHIFT_TRANSFORMS`) to a
    ``(H, W) uint8`` frame; ``seed`` fixes the speckle."""
    if name == "none":
        return image
    if name == "gain_low":
        return _lut(image, lambda v: 0.6 * v)
    if name == "gain_high":
        return _lut(image, lambda v: 1.4 * v)
    if name == "gamma":
        return _lut(image, lambda v: v**1.5)
    if name == "speckle":
        return add_noise(image, 0.3, 0.0, np.random.default_rng(seed))
    if name == "blur":
        return gaussian_blur(image, 3.0)
    if name == "low_res":
        return simulate_low_resolution(image, 3.0)
    if name == "sector":
        return _shift_sector(image)
    raise ValueError(f"unknown shift {name!r}; valid: {', '.join(SHIFT_TRANSFORMS)}")
