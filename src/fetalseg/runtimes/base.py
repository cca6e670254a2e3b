"""The runtime contract and its registry."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import numpy as np

#: runtime name -> module that registers it (imported on first use, so that choosing
#: ``openvino`` never imports torch and vice versa)
_MODULES = {
    "onnxruntime": "fetalseg.runtimes.onnx_runtime",
    "openvino": "fetalseg.runtimes.openvino_runtime",
    "torch": "fetalseg.runtimes.torch_runtime",
}
RUNTIMES: dict[str, Callable[..., Runtime]] = {}


@runtime_checkable
class Runtime(Protocol):
    """Runs one network. ``run(x)``: ``(N, C, H, W) float32 -> (N, 1, h, w) float32`` logits.

    Implementations may be called from several threads; they serialise internally if their
    engine is not re-entrant.
    """

    name: str

    def run(self, x: np.ndarray) -> np.ndarray: ...


def register_runtime(name: str) -> Callable[[type], type]:
    """Class decorator: make ``cls(model, threads)`` available as ``open_runtime(name, ...)``."""

    def register(cls: type) -> type:
        cls.name = name
        RUNTIMES[name] = cls
        return cls

    return register


def runtime_names() -> tuple[str, ...]:
    return tuple(_MODULES)


def open_runtime(name: str, model: Any, threads: int | None = None) -> Runtime:
    """A :class:`Runtime` called ``name`` for ``model`` (an ``.onnx`` path for ``onnxruntime`` /
    ``openvino``, a loaded PyTorch module for ``torch``); ``ValueError`` listing valid names."""
    if name not in _MODULES:
        raise ValueError(f"runtime {name!r}: expected one of {', '.join(_MODULES)}")
    if name not in RUNTIMES:
        importlib.import_module(_MODULES[name])
    return RUNTIMES[name](model, threads)
