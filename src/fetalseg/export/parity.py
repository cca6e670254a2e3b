"""Parity: an exported model, run by one of :mod:`fetalseg.runtimes`, against PyTorch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from fetalseg.artifacts import LoadedModel
from fetalseg.data.hc18 import read_records, split_subjects
from fetalseg.data.preprocess import full_size_logits
from fetalseg.export.calibration import network_batch, records_batch
from fetalseg.runtimes import Runtime, open_runtime


def run_batches(runtime: Runtime, images: np.ndarray, batch_size: int = 8) -> np.ndarray:
    """``(N, C, H, W) float32 -> (N, 1, h, w)`` logits as the model gives them (``h = H`` or, for
    BiSeNet, ``H / 8``), ``batch_size`` images per run."""
    out = [runtime.run(images[i : i + batch_size]) for i in range(0, len(images), batch_size)]
    return np.concatenate(out)


def parity_check(
    loaded: LoadedModel,
    onnx_path: str | Path,
    images: np.ndarray,
    threads: int | None = 1,
    runtime: str = "onnxruntime",
) -> dict[str, float]:
    """Compare the ONNX model's logits, run by ``runtime`` (``"onnxruntime"`` or
    ``"openvino"``) and brought to full size, with PyTorch's on ``(N, C, H, W) float32`` images.

    Returns ``max_abs_diff`` and ``mean_abs_diff`` of the logits, ``logit_scale`` (max |logit| of
    PyTorch), ``rel_max_abs_diff`` (the ratio) and ``mask_agreement``: the fraction of pixels
    where both logits have the same sign (head / background), over all images.
    """
    images = np.ascontiguousarray(images, dtype=np.float32)
    with torch.inference_mode():
        ref = np.concatenate(
            [
                loaded.model(torch.from_numpy(images[i : i + 8])).numpy()
                for i in range(0, len(images), 8)
            ]
        )
    engine = open_runtime(runtime, onnx_path, threads)
    out = full_size_logits(run_batches(engine, images), (images.shape[-1], images.shape[-2]))
    diff = np.abs(out - ref)
    scale = float(np.abs(ref).max())
    return {
        "max_abs_diff": float(diff.max()),
        "mean_abs_diff": float(diff.mean()),
        "logit_scale": scale,
        "rel_max_abs_diff": float(diff.max()) / max(scale, 1e-12),
        "mask_agreement": float(np.mean((out > 0) == (ref > 0))),
    }


def parity_images(
    loaded: LoadedModel, root: str | Path | None, n: int = 8
) -> tuple[np.ndarray, str]:
    """``n`` held-out HC18 test-split frames (the model's own split), or ``n`` synthetic frames
    when ``root`` holds no HC18 data: ``(n, C, H, W) float32`` network inputs, and what they are."""
    channels = loaded.in_channels
    if root is not None and (Path(root) / "training_set").is_dir():
        d = loaded.config["data"]
        test = split_subjects(read_records(root), d["fractions"], d["split_seed"])[2][:n]
        return records_batch(test, loaded.size, channels), f"{len(test)} HC18 test-split images"
    from fetalseg.data.synthetic import synthetic_set

    images = synthetic_set(n, loaded.size).images
    return network_batch(images, channels), f"{n} synthetic frames (no HC18 data found)"
