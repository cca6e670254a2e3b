"""Resizing to the network's grid and mapping predictions back to the original pixel grid.

The network sees ``(H, W) = (height, width)`` of the target size (default 384x256, W x H). HC18
frames are mostly 800x540 but not all, and 800->384 and 540->256 are different scales, so x and y
scale factors are kept separately: a single factor would bias every length measured in mm.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Geometry:
    """How an original ``orig_w x orig_h`` frame maps to the network's ``net_w x net_h`` grid.

    ``scale_x = orig_w / net_w`` original pixels per network pixel along x (likewise y).
    """

    orig_w: int
    orig_h: int
    net_w: int
    net_h: int

    @property
    def scale_x(self) -> float:
        return self.orig_w / self.net_w

    @property
    def scale_y(self) -> float:
        return self.orig_h / self.net_h


def resize_image(image: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, Geometry]:
    """Resize ``(H, W) uint8`` to ``size = (W, H)``; area interpolation when shrinking."""
    w, h = size
    oh, ow = image.shape[:2]
    interp = cv2.INTER_AREA if (w < ow and h < oh) else cv2.INTER_LINEAR
    return cv2.resize(image, (w, h), interpolation=interp), Geometry(ow, oh, w, h)


def resize_mask(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a ``{0, 1}`` mask to ``size = (W, H)``, by area then threshold (no aliasing steps)."""
    return (_area_fraction(mask, size) >= 0.5).astype(np.uint8)


def resize_mask_and_coverage(
    mask: np.ndarray, size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`resize_mask`'s binary mask and each pixel's covered fraction scaled to
    ``uint8 0..255``, from one area resize: the coverage keeps where in a network pixel the edge
    lies, which the threshold rounds away."""
    fraction = _area_fraction(mask, size)
    return (fraction >= 0.5).astype(np.uint8), np.rint(fraction * 255.0).astype(np.uint8)


def _area_fraction(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return cv2.resize(mask.astype(np.float32), size, interpolation=cv2.INTER_AREA)


def probability_to_original(prob: np.ndarray, geometry: Geometry) -> np.ndarray:
    """Upsample a ``(net_h, net_w)`` probability (or logit) map to ``(orig_h, orig_w)``; any
    map covering the whole network input will do, e.g. BiSeNet's 1/8-resolution logits.

    Interpolating the soft map and thresholding afterwards gives smooth sub-network-pixel edges,
    which matters for HC in mm; thresholding first would give 2-pixel staircases.
    """
    return cv2.resize(
        prob.astype(np.float32), (geometry.orig_w, geometry.orig_h), interpolation=cv2.INTER_LINEAR
    )


def full_size_logits(logits: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``(..., h, w)`` logits -> ``(..., H, W)`` at ``size = (W, H)``, bilinear with half-pixel
    centres (as PyTorch's ``align_corners=False``); returned as is when already that size.

    For BiSeNet's ONNX exports, which stop at the 1/8-resolution logits (see
    :func:`fetalseg.export.onnx.export_onnx`), where the network-size map is wanted.
    """
    w, h = size
    if logits.shape[-2:] == (h, w):
        return logits
    flat = logits.reshape(-1, *logits.shape[-2:]).astype(np.float32, copy=False)
    up = [cv2.resize(m, (w, h), interpolation=cv2.INTER_LINEAR) for m in flat]
    return np.stack(up).reshape(*logits.shape[:-2], h, w)


def mask_on_original(logits: np.ndarray, geometry: Geometry) -> np.ndarray:
    """``(net_h, net_w)`` (or coarser) logits -> ``(orig_h, orig_w) uint8 {0, 1}`` head mask: the
    soft map is upsampled first, then thresholded at logit 0 (probability 0.5)."""
    return (probability_to_original(logits, geometry) > 0).astype(np.uint8)


def normalize(image: np.ndarray) -> np.ndarray:
    """``uint8 (..., H, W) -> float32`` in ``[-1, 1]``: a fixed map, so every backend agrees."""
    if image.dtype == np.uint8:
        # a table lookup is ~3x faster than the arithmetic per frame, with identical values
        return np.take(_NORMALIZE_LUT, image)
    return image.astype(np.float32) / 127.5 - 1.0


_NORMALIZE_LUT = np.arange(256, dtype=np.uint8).astype(np.float32) / 127.5 - 1.0
