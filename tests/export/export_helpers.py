"""Helpers of the export tests (imported by them; the fixtures are in conftest.py)."""

from __future__ import annotations

import numpy as np

from fetalseg.data.dataset import to_tensor
from fetalseg.data.synthetic import synthetic_set

W, H = 128, 64


def images(n: int, size: tuple[int, int] = (W, H), seed: int = 0) -> np.ndarray:
    """``(n, 1, H, W) float32`` synthetic network inputs."""
    return to_tensor(synthetic_set(n, size=size, seed=seed).images).numpy()
