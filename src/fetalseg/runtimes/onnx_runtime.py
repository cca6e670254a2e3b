"""ONNX Runtime (CPU) for exported ``.onnx`` models, fp32 or static int8 QDQ."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fetalseg.artifacts import INPUT_NAME, OUTPUT_NAME
from fetalseg.runtimes.base import register_runtime


def ort_session(path: str | Path, threads: int | None = None) -> Any:
    """A CPU :class:`onnxruntime.InferenceSession` with all graph optimisations.

    ``threads``: intra-op threads (``None``: ONNX Runtime's default, one per physical core).
    Inter-op parallelism is off (sequential execution): this graph is one chain of convolutions.
    """
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.inter_op_num_threads = 1
    if threads:
        so.intra_op_num_threads = int(threads)
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


@register_runtime("onnxruntime")
class OnnxRuntime:
    """``run(x)`` on an ONNX Runtime session of ``path`` (sessions are thread-safe)."""

    name: str

    def __init__(self, path: str | Path, threads: int | None = None) -> None:
        self.path = Path(path)
        self.session = ort_session(self.path, threads)

    def run(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32)
        return self.session.run([OUTPUT_NAME], {INPUT_NAME: x})[0]
