"""Per-frame numbers a quality verdict is decided on: image content, mask shape, the network's
certainty, the head's geometry and where it lies relative to the image and its scan sector.

Every feature is a pure function of the frame ``(H, W) uint8``, the network's logits (any
resolution covering the whole input: BiSeNet's 1/8-resolution map is upsampled to the mask
grid) and the mask on the original grid. Units are stated per field; all are cheap (a few ms
on an 800x540 frame), so they run on the live path.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import cv2
import numpy as np

from fetalseg.biometry import Ellipse

#: Grey level above which a pixel counts as ultrasound content (the sector's black surround is 0
#: in HC18 frames; JPEG ringing and text stay below it after a 5x5 median).
CONTENT_LEVEL = 12


@dataclass(frozen=True)
class Features:
    """Numbers describing one frame's result (NaN where undefined, e.g. no head).

    ``content_fraction``: share of the image inside the content region (the convex hull of the
    largest non-black region); ``content_mean``/``content_std``: grey levels (0-255) inside it;
    ``noise``: median absolute Laplacian over the content (grey levels), high for pure noise;
    ``outside_image``: share of the fitted ellipse's perimeter outside the image;
    ``outside_content``: share of it outside the content region (the sector edge);
    ``border_contact``: share of the mask outline on the outermost image rows/columns;
    ``components``: connected regions of the mask larger than 10 % of the largest;
    ``hole_fraction``: share of the largest region's filled outline that the mask leaves empty;
    ``ellipse_dice``: Dice of the largest region vs its own fitted ellipse (1 = ellipse);
    ``fit_residual``: median ``| r / r_ellipse - 1 |`` of the outline points (relative);
    ``uncertain_band``: cells of the logits' grid with head probability in 0.2-0.8 per cell of
    ellipse perimeter (the unsure band's mean width in cells: 1/8 of the network input for
    BiSeNet);
    ``uncertain_elsewhere``: share of unsure pixels farther than 10 % of the minor semi-axis from
    the ellipse (a second candidate head);
    ``interior_prob``: mean head probability inside the fitted ellipse;
    ``head_fraction``: ellipse area / content area; ``axis_ratio``: minor / major axis (the
    cephalic index / 100 for an axial view).
    """

    content_fraction: float
    content_mean: float
    content_std: float
    noise: float
    outside_image: float = math.nan
    outside_content: float = math.nan
    border_contact: float = math.nan
    components: float = math.nan
    hole_fraction: float = math.nan
    ellipse_dice: float = math.nan
    fit_residual: float = math.nan
    uncertain_band: float = math.nan
    uncertain_elsewhere: float = math.nan
    interior_prob: float = math.nan
    head_fraction: float = math.nan
    axis_ratio: float = math.nan

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def content_region(image: np.ndarray) -> np.ndarray:
    """``(H, W) uint8 {0, 1}``: convex hull of the largest region brighter than
    :data:`CONTENT_LEVEL` after a 5x5 median (the ultrasound sector); all zeros for a blank
    frame."""
    smooth = cv2.medianBlur(image, 5)
    binary = (smooth > CONTENT_LEVEL).astype(np.uint8)
    binary = cv2.morphologyEx(binary, cv2.MORPH_CLOSE, np.ones((9, 9), np.uint8))
    contours, _ = cv2.findContours(binary, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    region = np.zeros_like(binary)
    if contours:
        biggest = max(contours, key=cv2.contourArea)
        cv2.fillPoly(region, [cv2.convexHull(biggest)], 1)
    return region


def ellipse_points(e: Ellipse, n: int = 360) -> np.ndarray:
    """``(n, 2) float`` points ``(x, y)`` px evenly spaced in angle on the ellipse."""
    t = np.linspace(0.0, 2.0 * math.pi, n, endpoint=False)
    c, s = math.cos(e.angle_rad), math.sin(e.angle_rad)
    x = e.center_x + e.a * np.cos(t) * c - e.b * np.sin(t) * s
    y = e.center_y + e.a * np.cos(t) * s + e.b * np.sin(t) * c
    return np.column_stack([x, y])


def _ellipse_mask(e: Ellipse, shape: tuple[int, int]) -> np.ndarray:
    out = np.zeros(shape, np.uint8)
    box = ((e.center_x, e.center_y), (2 * e.a, 2 * e.b), math.degrees(e.angle_rad))
    cv2.ellipse(out, box, 1, thickness=-1)
    return out


def image_features(image: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
    """The content region and the image-only features of :class:`Features`."""
    region = content_region(image)
    inside = region.astype(bool)
    frac = float(inside.mean())
    if inside.sum() < 16:
        return region, {
            "content_fraction": frac,
            "content_mean": math.nan,
            "content_std": math.nan,
            "noise": math.nan,
        }
    # every 2nd row and column: the same statistics at a quarter of the cost
    sub = inside[::2, ::2]
    vals = image[::2, ::2][sub]
    lap = np.abs(cv2.Laplacian(image, cv2.CV_32F, ksize=1))[::2, ::2]
    return region, {
        "content_fraction": frac,
        "content_mean": float(vals.mean()),
        "content_std": float(vals.std()),
        "noise": float(np.median(lap[sub])),
    }


def compute_features(
    image: np.ndarray, logits: np.ndarray, mask: np.ndarray, ellipse_px: Ellipse | None
) -> Features:
    """All :class:`Features` of one frame.

    Args:
        image: ``(H, W) uint8`` frame as given to the network.
        logits: ``(h, w)`` head logits covering the whole frame (any resolution).
        mask: ``(H, W) {0, 1}`` head mask on the frame's grid.
        ellipse_px: the head ellipse fitted to ``mask`` (px), ``None`` when there is no head.
    """
    region, img = image_features(image)
    if ellipse_px is None:
        return Features(**img)
    h, w = mask.shape
    e = ellipse_px
    pts = ellipse_points(e)
    xi, yi = np.round(pts[:, 0]).astype(int), np.round(pts[:, 1]).astype(int)
    in_img = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
    in_content = np.zeros(len(pts), bool)
    in_content[in_img] = region[yi[in_img], xi[in_img]] > 0
    binary = (mask > 0).astype(np.uint8)
    contours, _ = cv2.findContours(binary, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    areas = np.array([cv2.contourArea(c) + len(c) / 2 + 1 for c in contours])  # Pick's theorem
    components = float((areas > 0.1 * areas.max()).sum()) if areas.size else 0.0
    outline = (
        contours[int(np.argmax(areas))].reshape(-1, 2) if areas.size else np.zeros((0, 2), int)
    )
    filled = np.zeros_like(binary)
    if len(outline):
        cv2.fillPoly(filled, [outline.astype(np.int32)], 1)
    cv2.polylines(filled, [outline.astype(np.int32)], True, 1)
    largest = binary & filled
    filled_px = float(filled.sum())
    hole = 1.0 - float(largest.sum()) / filled_px if filled_px else math.nan
    on_border = (
        (outline[:, 0] == 0)
        | (outline[:, 0] == w - 1)
        | (outline[:, 1] == 0)
        | (outline[:, 1] == h - 1)
    )
    ell = _ellipse_mask(e, (h, w))
    inter = float((ell & filled).sum())
    dice = 2.0 * inter / (float(ell.sum()) + filled_px) if filled_px else math.nan
    c, s = math.cos(e.angle_rad), math.sin(e.angle_rad)
    dx, dy = outline[:, 0] - e.center_x, outline[:, 1] - e.center_y
    u, v = dx * c + dy * s, -dx * s + dy * c
    resid = np.abs(np.hypot(u / e.a, v / e.b) - 1.0)
    resid = resid[~on_border] if (~on_border).sum() >= 5 else resid
    # certainty, on the logits' own grid (cheap): the ellipse scaled to it
    lh, lw = logits.shape
    fx, fy = lw / w, lh / h
    prob = 1.0 / (1.0 + np.exp(-np.clip(logits.astype(np.float32), -30, 30)))
    unsure = (prob > 0.2) & (prob < 0.8)
    yy, xx = np.mgrid[0:lh, 0:lw]
    gx, gy = (xx + 0.5) / fx - e.center_x, (yy + 0.5) / fy - e.center_y
    ru = np.hypot((gx * c + gy * s) / e.a, (-gx * s + gy * c) / e.b)
    near = np.abs(ru - 1.0) <= max(0.1, 2.0 / (fy * e.b))  # within 10 % or 2 cells
    perimeter_cells = e.perimeter * math.sqrt(fx * fy)  # the ellipse's length in logit cells
    n_unsure = float(unsure.sum())
    band = n_unsure / max(perimeter_cells, 1.0)
    elsewhere = float((unsure & ~near).sum()) / n_unsure if n_unsure else 0.0
    inside_e = ru < 0.9
    interior = float(prob[inside_e].mean()) if inside_e.any() else math.nan
    content_px = float(region.sum())
    return Features(
        **img,
        outside_image=float(1.0 - in_img.mean()),
        outside_content=float(1.0 - in_content.mean()),
        border_contact=float(on_border.mean()) if len(outline) else math.nan,
        components=components,
        hole_fraction=hole,
        ellipse_dice=dice,
        fit_residual=float(np.median(resid)) if resid.size else math.nan,
        uncertain_band=band,
        uncertain_elsewhere=elsewhere,
        interior_prob=interior,
        head_fraction=math.pi * e.a * e.b / content_px if content_px else math.inf,
        axis_ratio=e.b / e.a,
    )
