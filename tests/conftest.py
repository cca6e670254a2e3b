"""Shared fixtures. HC18 tests read ``../shared/hc18`` (or ``$FETALSEG_DATA``), skip without."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

HC18 = Path(os.environ.get("FETALSEG_DATA", Path(__file__).resolve().parents[1] / "../shared/hc18"))


@pytest.fixture(scope="session")
def hc18_root() -> Path:
    if not (HC18 / "training_set").is_dir():
        pytest.skip(f"HC18 not found at {HC18}")
    return HC18


@pytest.fixture(autouse=True)
def _few_threads():
    # Tests share 2 cores; more threads only add contention.
    torch.set_num_threads(1)
    yield
