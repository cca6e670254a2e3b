"""Training throughput on this machine for each CPU option (fp32/bf16 x memory format).

The same :func:`~fetalseg.training.trainer.train_step` as real training, on random tensors of
the training shape: the speed of a step does not depend on image content.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from fetalseg.losses.dice import DeepSupervisionDiceLoss
from fetalseg.models import create_model
from fetalseg.training.trainer import train_step

OPTIONS = {
    "fp32": (False, False),
    "fp32 + channels_last": (False, True),
    "bf16": (True, False),
    "bf16 + channels_last": (True, True),
}


@dataclass(frozen=True)
class SpeedResult:
    option: str
    images_per_s: float
    steps: int
    batch_size: int


def measure_train_speed(
    model_name: str = "bisenet",
    batch_size: int = 8,
    size: tuple[int, int] = (384, 256),
    steps: int = 10,
    warmup: int = 2,
    options: tuple[str, ...] = tuple(OPTIONS),
) -> list[SpeedResult]:
    """Images per second of full training steps (forward, Dice losses, backward, Adam)."""
    w, h = size
    results = []
    for option in options:
        bf16, channels_last = OPTIONS[option]
        torch.manual_seed(0)
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        model = create_model(model_name).to(memory_format=fmt).train()
        optimizer = torch.optim.Adam(model.parameters(), lr=3e-4)
        loss_fn = DeepSupervisionDiceLoss()
        x = torch.randn(batch_size, 1, h, w).contiguous(memory_format=fmt)
        y = (torch.rand(batch_size, 1, h, w) > 0.5).float()
        for _ in range(warmup):
            train_step(model, x, y, loss_fn, optimizer, bf16)
        t0 = time.perf_counter()
        for _ in range(steps):
            train_step(model, x, y, loss_fn, optimizer, bf16)
        rate = steps * batch_size / (time.perf_counter() - t0)
        results.append(SpeedResult(option, rate, steps, batch_size))
    return results
