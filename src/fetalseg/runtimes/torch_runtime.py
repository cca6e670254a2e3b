"""PyTorch eager runtime (fp32, CPU, channels-last) for a loaded model (the ``train`` extra)."""

from __future__ import annotations

import numpy as np
import torch

from fetalseg.models import SegmentationNet
from fetalseg.runtimes.base import register_runtime


@register_runtime("torch")
class TorchRuntime:
    """``run(x)`` with a :class:`~fetalseg.models.SegmentationNet` in eval mode.

    It runs :meth:`~fetalseg.models.SegmentationNet.inference_logits` (BiSeNet: before its x8
    upsampling), as its ONNX export does, so every runtime returns the same grid.
    """

    name: str

    def __init__(self, model: SegmentationNet, threads: int | None = None) -> None:
        if threads:
            torch.set_num_threads(threads)
        # oneDNN's convolutions run ~1.3-1.5x faster on channels-last (NHWC) tensors
        self.model = model.eval().to(memory_format=torch.channels_last)

    def run(self, x: np.ndarray) -> np.ndarray:
        xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
        with torch.inference_mode():
            out = self.model.inference_logits(xt.contiguous(memory_format=torch.channels_last))
        return out.numpy()
