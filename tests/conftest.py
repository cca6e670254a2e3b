"""Shared fixtures. HC18 tests read ``../shared/hc18`` (or ``$FETALSEG_DATA``), skip without."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

try:  # the core install (no PyTorch) runs the tests that do not need it
    import torch
except ImportError:
    torch = None

HC18 = Path(os.environ.get("FETALSEG_DATA", Path(__file__).resolve().parents[1] / "../shared/hc18"))


@pytest.fixture(scope="session")
def hc18_root() -> Path:
    if not (HC18 / "training_set").is_dir():
        pytest.skip(f"HC18 not found at {HC18}")
    return HC18


@pytest.fixture(autouse=True)
def _few_threads():
    # Tests share 2 cores; more threads only add contention.
    if torch is not None:
        torch.set_num_threads(1)
    yield


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """A BiSeNet trained for a few steps on 64x64 synthetic frames (a ``last.pt`` checkpoint)."""
    if torch is None:
        pytest.skip("needs the train extra (PyTorch)")
    from fetalseg.config import load_config
    from fetalseg.training.trainer import train

    torch.set_num_threads(1)
    cfg = load_config(
        None,
        [
            "data.synthetic=8",
            "data.width=64",
            "data.height=64",
            "train.epochs=1",
            "train.batch_size=2",
            "train.max_steps_per_epoch=2",
            "train.precision=fp32",
        ],
    )
    run = tmp_path_factory.mktemp("tiny_run")
    return train(cfg, run, progress=False).last_path
