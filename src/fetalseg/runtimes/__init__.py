"""Network runtimes: one small interface, registered by name.

A runtime runs a segmentation network on a batch ``(N, C, H, W) float32`` (normalised to
``[-1, 1]``) and returns its logits ``(N, 1, h, w) float32`` (``h = H``, or ``H / 8`` for BiSeNet,
whose logits are taken before its x8 upsampling). Adding a runtime is one module here with a
``@register_runtime("name")`` class, plus its test; nothing else changes.

``onnxruntime`` and ``openvino`` run ``.onnx`` exports and need no PyTorch; ``torch`` runs a
PyTorch model in eager mode (the ``train`` extra).
"""

from fetalseg.runtimes.base import RUNTIMES, Runtime, open_runtime, register_runtime, runtime_names

__all__ = ["RUNTIMES", "Runtime", "open_runtime", "register_runtime", "runtime_names"]
