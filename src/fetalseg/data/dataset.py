"""Decoded, resized in-memory data and a light batch iterator.

An epoch re-uses the cached ``uint8`` arrays (no PNG decoding), so on a 2-core CPU the time goes
to the network, not to I/O. No DataLoader workers: on 2 cores they would compete with training.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from fetalseg.data.augment import AugmentConfig, augment_pair
from fetalseg.data.hc18 import Record, load_pair
from fetalseg.data.preprocess import Geometry, normalize, resize_image, resize_mask


@dataclass
class CachedSet:
    """``images``/``masks``: ``(N, H, W) uint8`` at the network size; per-item metadata."""

    images: np.ndarray
    masks: np.ndarray
    names: list[str]
    pixel_size_mm: np.ndarray  # (N,) mm per *original* pixel
    geometry: list[Geometry]
    hc_mm: np.ndarray  # (N,), NaN where unknown

    def __len__(self) -> int:
        return len(self.names)


def cache_records(
    records: Sequence[Record], size: tuple[int, int], progress: bool = False
) -> CachedSet:
    """Decode, fill and resize every record once. ``size`` is ``(W, H)``."""
    w, h = size
    images = np.empty((len(records), h, w), np.uint8)
    masks = np.empty((len(records), h, w), np.uint8)
    geoms = []
    for i, rec in enumerate(tqdm(records, desc="decode", disable=not progress, leave=False)):
        img, mask = load_pair(rec)
        images[i], geom = resize_image(img, size)
        masks[i] = resize_mask(mask, size)
        geoms.append(geom)
    return CachedSet(
        images,
        masks,
        [r.name for r in records],
        np.array([r.pixel_size_mm for r in records], np.float64),
        geoms,
        np.array([np.nan if r.hc_mm is None else r.hc_mm for r in records], np.float64),
    )


def to_tensor(images: np.ndarray, in_channels: int = 1) -> torch.Tensor:
    """``(N, H, W) uint8 -> (N, in_channels, H, W) float32`` normalised to ``[-1, 1]``."""
    x = torch.from_numpy(normalize(images)).unsqueeze(1)
    return x.expand(-1, in_channels, -1, -1).contiguous() if in_channels != 1 else x


def iterate_batches(
    data: CachedSet,
    batch_size: int,
    indices: Sequence[int] | None = None,
    augment: AugmentConfig | None = None,
    rng: np.random.Generator | None = None,
    drop_last: bool = False,
    in_channels: int = 1,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield ``(x, y)``: ``x (B, C, H, W) float32``, ``y (B, 1, H, W) float32 {0, 1}``.

    Batches follow ``indices`` (default: all, in order; shuffle them beforehand for training).
    With ``augment`` and ``rng`` each sample gets a random joint affine. ``drop_last`` skips a
    final short batch (training needs 2+ samples for BatchNorm).
    """
    order = np.arange(len(data)) if indices is None else np.asarray(indices)
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        if drop_last and len(idx) < batch_size:
            return
        imgs, msks = data.images[idx], data.masks[idx]
        if augment is not None and rng is not None:
            pairs = [augment_pair(i, m, augment, rng) for i, m in zip(imgs, msks)]
            imgs = np.stack([p[0] for p in pairs])
            msks = np.stack([p[1] for p in pairs])
        y = torch.from_numpy(msks.astype(np.float32)).unsqueeze(1)
        yield to_tensor(imgs, in_channels), y
