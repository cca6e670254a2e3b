"""Fixtures for the web tests: predictors around the session's tiny checkpoint, a frame."""

from __future__ import annotations

import numpy as np
import pytest
from web_helpers import oracle_logits

from fetalseg.data.synthetic import synthetic_frame
from fetalseg.inference.predictor import Predictor


@pytest.fixture(scope="session")
def tiny_predictor(tiny_checkpoint) -> Predictor:
    """The tiny checkpoint as is (it finds no head)."""
    return Predictor(tiny_checkpoint, "torch")


@pytest.fixture(scope="session")
def head_predictor(tiny_checkpoint) -> Predictor:
    """The tiny checkpoint's predictor with its network output replaced by a fixed ellipse:
    everything else (resizing, mapping back, fit, mm, overlay) is the real pipeline."""
    p = Predictor(tiny_checkpoint, "torch")
    p.logits = oracle_logits  # type: ignore[method-assign]
    return p


@pytest.fixture(scope="session")
def frame() -> np.ndarray:
    return synthetic_frame(width=320, height=240, rng=3)[0]
