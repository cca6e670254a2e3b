"""Calibration batches: HC18 training-split images only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from export_helpers import H, W

from fetalseg.config import RunConfig, to_dict
from fetalseg.export.calibration import calibration_batch


def test_calibration_batch_from_training_split(hc18_root: Path) -> None:
    x = calibration_batch(hc18_root, (W, H), n=3, seed=0)
    assert x.shape == (3, 1, H, W) and x.dtype == np.float32
    assert x.min() >= -1.0 and x.max() <= 1.0
    np.testing.assert_array_equal(x, calibration_batch(hc18_root, (W, H), n=3, seed=0))


def test_calibration_batch_needs_training_subjects(hc18_root: Path) -> None:
    config = to_dict(RunConfig())
    config["data"]["fractions"] = [0.0, 0.5, 0.5]
    with pytest.raises(ValueError, match="training split is empty"):
        calibration_batch(hc18_root, (W, H), n=3, config=config)
