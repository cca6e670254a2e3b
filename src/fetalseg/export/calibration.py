"""Network input batches from HC18 images: calibration for static int8 quantisation (HC18
*training* images only, never validation or test subjects) and the parity checks' frames."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fetalseg.data.hc18 import Record, read_gray
from fetalseg.data.preprocess import normalize, resize_image


def network_batch(images: np.ndarray, channels: int) -> np.ndarray:
    """``(N, H, W) uint8`` frames at the network size -> ``(N, C, H, W) float32`` in
    ``[-1, 1]``, the grey channel repeated ``C = channels`` times."""
    x = normalize(images)[:, None]
    return np.ascontiguousarray(np.repeat(x, channels, axis=1) if channels != 1 else x)


def records_batch(records: Sequence[Record], size: tuple[int, int], channels: int) -> np.ndarray:
    """The HC18 ``records``' images letterboxed to ``size = (W, H)``, as :func:`network_batch`."""
    return network_batch(
        np.stack([resize_image(read_gray(r.image), size)[0] for r in records]), channels
    )


def calibration_batch(
    root: str | Path,
    size: tuple[int, int],
    n: int = 32,
    seed: int = 0,
    config: dict[str, Any] | None = None,
) -> np.ndarray:
    """``n`` random HC18 *training-split* images, ``(n, C, H, W) float32`` at ``size = (W, H)``.

    The split is the model's own (``config["data"]["fractions"]`` and ``["split_seed"]``, the
    defaults when ``config`` is ``None``), so calibration never sees validation or test subjects.
    """
    from fetalseg.config import RunConfig, to_dict
    from fetalseg.data.hc18 import read_records, split_subjects

    cfg = config or to_dict(RunConfig())
    data = cfg["data"]
    train = split_subjects(read_records(root), data["fractions"], data["split_seed"])[0]
    if not train:
        raise ValueError(f"{root}: the training split is empty")
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(train), size=min(n, len(train)), replace=False)
    return records_batch([train[i] for i in sorted(picks)], size, int(cfg["model"]["in_channels"]))
