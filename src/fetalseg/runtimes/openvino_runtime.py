"""OpenVINO runtime for exported ONNX models.

The same int8 QDQ file that ONNX Runtime runs is compiled by OpenVINO's CPU plugin, whose
oneDNN int8 convolutions are faster on this network: 12-14 ms against 15-16 ms for ONNX Runtime
at 384x256, batch 1, 2 threads (2-core AMD EPYC with AVX-512 VNNI; ``fetalseg benchmark``). Most
of the gap is the first convolutions, which see one input channel: in per-operator profiles
ONNX Runtime spends ~2.5 ms on them, OpenVINO ~0.6 ms.

A model is compiled once per input shape (static shapes compile to the fastest kernels; a
predictor sees one shape). Layers left in floating point keep fp32 precision
(``INFERENCE_PRECISION_HINT``): OpenVINO would otherwise run them in bf16 on CPUs that have it,
which moves the logits by up to ~2 and the mask boundary with them.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from fetalseg.runtimes.base import register_runtime


@register_runtime("openvino")
class OpenVinoRuntime:
    """``run(x)``: ``(N, C, H, W) float32 -> (N, 1, h, w)`` logits on OpenVINO's CPU plugin.

    Args:
        path: an ``.onnx`` file with one input and one output.
        threads: inference threads (``None``: OpenVINO's default, one per physical core).
    """

    name: str

    def __init__(self, path: str | Path, threads: int | None = None) -> None:
        import openvino as ov

        self.path = Path(path)
        self._core = ov.Core()
        self._model = self._core.read_model(str(self.path))
        self._config: dict[str, Any] = {
            "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_PRECISION_HINT": "f32",
        }
        if threads:
            self._config["INFERENCE_NUM_THREADS"] = int(threads)
        self._requests: dict[tuple[int, ...], Any] = {}
        # an infer request is not re-entrant; ONNX Runtime sessions may be shared by threads,
        # so this one may be too (calls are serialised)
        self._lock = threading.Lock()

    def _request(self, shape: tuple[int, ...]) -> Any:
        request = self._requests.get(shape)
        if request is None:
            model = self._model.clone()
            model.reshape(list(shape))
            compiled = self._core.compile_model(model, "CPU", self._config)
            request = self._requests[shape] = compiled.create_infer_request()
        return request

    def run(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32)
        with self._lock:
            request = self._request(x.shape)
            # copy: the request reuses its output buffer on the next call
            return request.infer({0: x})[0].copy()
