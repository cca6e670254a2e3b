"""PyTorch eager runtime (fp32, CPU, channels-last) for a loaded model (the ``train`` extra)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from fetalseg.models import has_coarse_logits
from fetalseg.runtimes.base import register_runtime


@register_runtime("torch")
class TorchRuntime:
    """``run(x)`` with a :class:`torch.nn.Module` in eval mode.

    BiSeNet's logits are taken before its x8 upsampling (``full_size=False``), as in its ONNX
    export, so every runtime returns the same grid; this is decided once, here.
    """

    name: str

    def __init__(self, model: torch.nn.Module, threads: int | None = None) -> None:
        if threads:
            torch.set_num_threads(threads)
        # oneDNN's convolutions run ~1.3-1.5x faster on channels-last (NHWC) tensors
        self.model = model.eval().to(memory_format=torch.channels_last)
        self._kwargs: dict[str, Any] = {"full_size": False} if has_coarse_logits(model) else {}

    def run(self, x: np.ndarray) -> np.ndarray:
        xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
        with torch.inference_mode():
            out = self.model(xt.contiguous(memory_format=torch.channels_last), **self._kwargs)
        return out.numpy()
