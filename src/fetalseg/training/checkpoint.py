"""The training state a checkpoint holds (:class:`TrainingState`, RNG streams included) and its
restoration. The file itself (atomic save, safe load) is the artifacts layer's:
:func:`fetalseg.artifacts.save_atomic`, :func:`fetalseg.artifacts.load_checkpoint`, re-exported
here.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from fetalseg.artifacts import check_model_config, load_checkpoint, save_atomic
from fetalseg.training.averaging import WeightAverage

__all__ = [
    "Resumed",
    "TrainingState",
    "check_model_config",
    "load_checkpoint",
    "restore_training_state",
    "rng_state",
    "save_atomic",
    "set_rng_state",
]


def rng_state(np_rng: np.random.Generator) -> dict[str, Any]:
    """The random streams a resumed run must continue: Python's, ``np_rng``'s and torch's
    (CPU) global generator."""
    return {
        "python": random.getstate(),
        "numpy": np_rng.bit_generator.state,
        "torch": torch.get_rng_state(),
    }


def set_rng_state(state: dict[str, Any], np_rng: np.random.Generator) -> None:
    """Restore what :func:`rng_state` saved (into ``np_rng`` and the global generators)."""
    random.setstate(state["python"])
    np_rng.bit_generator.state = state["numpy"]
    torch.set_rng_state(state["torch"])


@dataclass
class TrainingState:
    """Everything a run needs to continue exactly after epoch ``epoch`` (0-based).

    ``model``: the weights validated and selected (the weight average once averaging started),
    ``train_model``: the weights being trained when they differ (averaging), ``aug_states``:
    each rank's augmentation generator state, ``order_rng``: the shuffling generator (identical
    on every rank; saved with Python's and torch's global streams).
    """

    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    order_rng: np.random.Generator
    aug_states: list[dict[str, Any]]
    epoch: int
    best_score: float
    val_dsc: float
    val_adf_mm: float
    config: dict[str, Any]
    train_model: nn.Module | None = None
    average_count: int | None = None

    def to_checkpoint(self) -> dict[str, Any]:
        """The dict :func:`save_atomic` writes (``last.pt`` / ``best.pt``)."""
        state = {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "rng": {"rank0": rng_state(self.order_rng), "aug": self.aug_states},
            "epoch": self.epoch,
            "best_score": self.best_score,
            "val_dsc": self.val_dsc,
            "val_adf_mm": self.val_adf_mm,
            "config": self.config,
        }
        if self.train_model is not None:
            state["train_model"] = self.train_model.state_dict()
            state["average_count"] = self.average_count
        return state


@dataclass
class Resumed:
    """Where a restored run continues: the next epoch (0-based), the best score so far (higher
    is better), and the weight average if averaging had started."""

    start_epoch: int
    best_score: float
    average: WeightAverage | None


def restore_training_state(
    ckpt: dict[str, Any],
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    order_rng: np.random.Generator,
    aug_rng: np.random.Generator,
    rank: int = 0,
) -> Resumed:
    """Load a :meth:`TrainingState.to_checkpoint` dict into the run's objects (in place) and
    say where to continue. A checkpoint from before ``best_score`` existed has ``best_dsc``."""
    model.load_state_dict(ckpt.get("train_model", ckpt["model"]))
    average = None
    if "average_count" in ckpt:
        average = WeightAverage(model)
        average.model.load_state_dict(ckpt["model"])
        average.count = ckpt["average_count"]
    optimizer.load_state_dict(ckpt["optimizer"])
    scheduler.load_state_dict(ckpt["scheduler"])
    set_rng_state(ckpt["rng"]["rank0"], order_rng)
    aug_rng.bit_generator.state = ckpt["rng"]["aug"][rank]
    best = ckpt.get("best_score", ckpt.get("best_dsc", -math.inf))
    return Resumed(ckpt["epoch"] + 1, best, average)
