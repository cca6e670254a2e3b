"""One object to load once and call per frame: image in, head mask and measurements out.

Stages (each timed, see :attr:`Predictor.timings`): pre-processing (resize, normalise), the
network, post-processing (soft map back to the original grid, threshold, largest component,
ellipse fit, mm).
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from fetalseg.biometry import Measurement, measure_head
from fetalseg.data.preprocess import (
    Geometry,
    normalize,
    probability_to_original,
    resize_image,
)
from fetalseg.inference.weights import LoadedModel, load_model


@dataclass
class Prediction:
    """Result for one frame. ``mask``: ``(H, W) uint8 {0, 1}`` on the original pixel grid;
    ``logits``: ``(net_h, net_w) float32`` at the network size."""

    mask: np.ndarray
    logits: np.ndarray
    geometry: Geometry
    measurement: Measurement | None  # None when no pixel size was given


class Predictor:
    """PyTorch inference for one model.

    Args:
        checkpoint: ``.safetensors`` or ``.pt`` file; ``None`` for the shipped model.
        threads: intra-op threads (``None``: leave PyTorch's default).
    """

    def __init__(self, checkpoint: str | Path | None = None, threads: int | None = None) -> None:
        if threads:
            torch.set_num_threads(threads)
        self.loaded: LoadedModel = load_model(checkpoint)
        self.model = self.loaded.model
        self.size = self.loaded.size
        self.timings: dict[str, list[float]] = defaultdict(list)

    def preprocess(self, image: np.ndarray) -> tuple[np.ndarray, Geometry]:
        """``(H, W) uint8`` (or ``(H, W, 3)``) -> ``(1, C, h, w) float32`` at the network size."""
        if image.ndim == 3:
            import cv2

            image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        small, geom = resize_image(image, self.size)
        x = normalize(small)[None, None]
        if self.loaded.in_channels != 1:
            x = np.repeat(x, self.loaded.in_channels, axis=1)
        return x, geom

    @torch.inference_mode()
    def logits(self, x: np.ndarray) -> np.ndarray:
        """``(N, C, h, w) float32 -> (N, h, w)`` logits."""
        return self.model(torch.from_numpy(np.ascontiguousarray(x)))[:, 0].numpy()

    def predict(
        self, image: np.ndarray, pixel_size_mm: float | tuple[float, float] | None = None
    ) -> Prediction:
        """Segment one frame and, given the pixel size (mm; x and y may differ), measure it."""
        t0 = time.perf_counter()
        x, geom = self.preprocess(image)
        t1 = time.perf_counter()
        logits = self.logits(x)[0]
        t2 = time.perf_counter()
        mask = (probability_to_original(logits, geom) > 0).astype(np.uint8)
        measurement = None if pixel_size_mm is None else measure_head(mask, pixel_size_mm)
        t3 = time.perf_counter()
        for stage, seconds in (("pre", t1 - t0), ("model", t2 - t1), ("post", t3 - t2)):
            self.timings[stage].append(seconds)
        return Prediction(mask, logits, geom, measurement)
