"""One object to load once and call per frame: image in, head mask and measurements out.

Backends: ``torch`` (PyTorch eager, fp32), ``onnx`` (ONNX Runtime fp32), ``onnx-int8`` (ONNX
Runtime, static int8) and ``openvino-int8`` (the same int8 model compiled by OpenVINO).
``auto`` picks the shipped int8 model on OpenVINO when the shipped model is used (fastest, and
measured as accurate as fp32: see README), else PyTorch.

Stages (each timed, see :attr:`Predictor.timings`): pre-processing (resize, normalise), the
network, post-processing (soft map back to the original grid, threshold, largest component,
ellipse fit, mm).
"""

from __future__ import annotations

import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fetalseg.artifacts import ModelInfo, onnx_model_info, shipped_int8
from fetalseg.biometry import Measurement, measure_head
from fetalseg.data.preprocess import Geometry, mask_on_original, normalize, resize_image
from fetalseg.errors import InputError, has_extra, require_extra
from fetalseg.quality import Quality, assess
from fetalseg.runtimes import Runtime, open_runtime

BACKENDS = ("auto", "torch", "onnx", "onnx-int8", "openvino-int8")
#: backends that run a static int8 ONNX model
INT8_BACKENDS = ("onnx-int8", "openvino-int8")
#: backend -> the runtime (:mod:`fetalseg.runtimes`) that runs it
RUNTIME_OF = {
    "torch": "torch",
    "onnx": "onnxruntime",
    "onnx-int8": "onnxruntime",
    "openvino-int8": "openvino",
}


@dataclass
class Prediction:
    """Result for one frame. ``mask``: ``(H, W) uint8 {0, 1}`` on the original pixel grid;
    ``logits``: ``(h, w) float32``: the network size, or 1/8 of it for BiSeNet
    (:func:`fetalseg.data.preprocess.full_size_logits` scales them)."""

    mask: np.ndarray
    logits: np.ndarray
    geometry: Geometry
    measurement: Measurement | None  # None when no pixel size was given
    #: the quality verdict (``good`` / ``check`` / ``reject``) and its reasons
    quality: Quality | None = None
    #: the head fit in px (the same ellipse as ``measurement``'s; set without a pixel size too)
    fit: Measurement | None = None


def as_frame(image: object, name: str = "image") -> np.ndarray:
    """A frame as the network takes it, ``(H, W) uint8``, from what a Python caller may pass.

    Converted: ``(H, W, 1)``; 3-channel (RGB or BGR: the channels' mean, so their order does not
    matter; ultrasound frames are grey) and 4-channel arrays (alpha dropped); float images in
    ``[0, 1]`` (x 255) or ``[0, 255]``; 16-bit images (``/ 257``, full range to 0-255); other
    integer images with values in 0-255. Refused with :class:`InputError`: anything else
    (other shapes, NaN or infinite values, negative values, floats above 255, integers above
    255 that are not 16-bit, booleans, empty arrays).
    """
    if not isinstance(image, np.ndarray):
        raise InputError(f"{name}: expected a NumPy array, got {type(image).__name__}")
    if image.size == 0:
        raise InputError(f"{name}: the image is empty (shape {image.shape})")
    a = image
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim == 3 and a.shape[2] in (3, 4):
        a = a[..., :3]
        if a.dtype != np.uint8:
            a = as_frame(np.ascontiguousarray(a.reshape(a.shape[0], -1)), name).reshape(a.shape)
        a = np.rint(a.astype(np.float32).mean(axis=2)).astype(np.uint8)
    if a.ndim != 2:
        raise InputError(
            f"{name}: expected a (H, W) grey or (H, W, 3/4) colour image, got shape {image.shape}"
        )
    if a.dtype == np.uint8:
        return a
    if a.dtype == np.bool_:
        raise InputError(f"{name}: a boolean array is a mask, not an image")
    if np.issubdtype(a.dtype, np.floating):
        if not np.isfinite(a).all():
            raise InputError(f"{name}: the image has NaN or infinite values")
        lo, hi = float(a.min()), float(a.max())
        if lo < 0 or hi > 255:
            raise InputError(f"{name}: float values {lo:g}..{hi:g} are outside [0, 1] and [0, 255]")
        scale = 255.0 if hi <= 1.0 else 1.0
        return np.rint(a * scale).astype(np.uint8)
    if a.dtype == np.uint16:
        return np.rint(a / 257.0).astype(np.uint8)
    if np.issubdtype(a.dtype, np.integer):
        lo, hi = int(a.min()), int(a.max())
        if lo < 0 or hi > 255:
            raise InputError(f"{name}: {a.dtype} values {lo}..{hi} are outside 0-255")
        return a.astype(np.uint8)
    raise InputError(f"{name}: unsupported dtype {a.dtype}")


def resolve_backend(backend: str, checkpoint: str | Path | None) -> str:
    if backend not in BACKENDS:
        raise InputError(f"backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    if backend != "auto":
        return backend
    if checkpoint is not None and Path(checkpoint).suffix == ".onnx":
        return "onnx"
    if checkpoint is None and shipped_int8().is_file():
        # OpenVINO is the faster int8 runtime here (see README); the core install may lack it
        return "openvino-int8" if has_extra("openvino") else "onnx-int8"
    return "torch"


class Predictor:
    """Inference for one model.

    Args:
        checkpoint: ``.safetensors``, ``.pt`` or ``.onnx`` file; ``None`` for the shipped model.
        backend: one of :data:`BACKENDS`. ``onnx-int8``/``openvino-int8`` on the shipped model,
            and any ONNX backend on an ``.onnx`` file, need no PyTorch; ``torch``, and ``onnx`` on
            PyTorch weights (exported once, here), need the ``train`` extra.
        threads: intra-op threads (``None``: the runtime's default).

    Attributes:
        loaded: the model's :class:`~fetalseg.artifacts.ModelInfo` (config, provenance, file).
        runtime: the :class:`~fetalseg.runtimes.Runtime` that runs it.
    """

    def __init__(
        self,
        checkpoint: str | Path | None = None,
        backend: str = "auto",
        threads: int | None = None,
    ) -> None:
        self.backend = resolve_backend(backend, checkpoint)
        onnx_given = checkpoint is not None and Path(checkpoint).suffix == ".onnx"
        if onnx_given and self.backend == "torch":
            raise InputError(
                f"{checkpoint}: an ONNX file needs backend onnx, onnx-int8 or openvino-int8"
            )
        self.timings: dict[str, list[float]] = defaultdict(list)
        self.loaded, self.runtime = self._open(checkpoint, onnx_given, threads)
        self.size = self.loaded.size

    def _open(
        self, checkpoint: str | Path | None, onnx_given: bool, threads: int | None
    ) -> tuple[ModelInfo, Runtime]:
        runtime = RUNTIME_OF[self.backend]
        if runtime == "openvino":
            require_extra("openvino", f"backend {self.backend!r}")
        if onnx_given or self.backend in INT8_BACKENDS:
            path = Path(checkpoint) if onnx_given else self._shipped_int8(checkpoint)  # type: ignore[arg-type]
            return onnx_model_info(path), open_runtime(runtime, path, threads)
        require_extra("train", f"backend {self.backend!r} (PyTorch weights)")
        from fetalseg.inference.weights import load_model

        loaded = load_model(checkpoint)
        if self.backend == "torch":
            return loaded, open_runtime("torch", loaded.model, threads)
        from fetalseg.export.onnx import export_onnx

        # fp32 ONNX from the PyTorch weights, exported once per Predictor.
        self._tmp = tempfile.TemporaryDirectory(prefix="fetalseg-onnx-")
        path = export_onnx(loaded, Path(self._tmp.name) / "model.onnx")
        return loaded, open_runtime(runtime, path, threads)

    @staticmethod
    def _shipped_int8(checkpoint: str | Path | None) -> Path:
        if checkpoint is not None:
            raise InputError(
                f"{checkpoint}: make its int8 model first (fetalseg export --int8 "
                "--checkpoint ...) and pass the .onnx file"
            )
        if not shipped_int8().is_file():
            raise InputError(f"{shipped_int8()}: the package ships no int8 model")
        return shipped_int8()

    def preprocess(self, image: np.ndarray) -> tuple[np.ndarray, Geometry]:
        """``(H, W) uint8`` -> ``(1, C, h, w) float32`` at the network size, and the geometry."""
        small, geom = resize_image(image, self.size)
        x = normalize(small)[None, None]
        if self.loaded.in_channels != 1:
            x = np.repeat(x, self.loaded.in_channels, axis=1)
        return x, geom

    def logits(self, x: np.ndarray) -> np.ndarray:
        """``(N, C, h, w) float32 -> (N, h', w')`` logits: ``h' = h``, or ``h / 8`` for BiSeNet,
        whose logits are taken before its x8 upsampling on every backend (the mask is upsampled
        once, straight to the original grid, instead)."""
        return self.runtime.run(x)[:, 0]

    def predict(
        self,
        image: np.ndarray,
        pixel_size_mm: float | tuple[float, float] | None = None,
        pixel_size_source: str | None = None,
        other_pixel_size_mm: float | tuple[float, float] | None = None,
    ) -> Prediction:
        """Segment one frame and, given the pixel size (mm; one value, or ``(x, y)``), measure
        it; every result carries its quality verdict (:mod:`fetalseg.quality`).

        ``image``: ``(H, W) uint8``, or any array :func:`as_frame` converts (colour, float,
        16-bit). ``pixel_size_source``: where the size came from (said in the reasons);
        ``other_pixel_size_mm``: a second size given for the frame (a disagreement is a reason).
        """
        t0 = time.perf_counter()
        image = as_frame(image)
        x, geom = self.preprocess(image)
        t1 = time.perf_counter()
        logits = self.logits(x)[0]
        t2 = time.perf_counter()
        mask = mask_on_original(logits, geom)
        measurement = None if pixel_size_mm is None else measure_head(mask, pixel_size_mm)
        fit = measurement if measurement is not None else measure_head(mask, 1.0)
        t3 = time.perf_counter()
        quality = assess(
            image,
            logits,
            mask,
            fit.ellipse_px,
            measurement,
            pixel_size_mm,
            pixel_size_source,
            other_pixel_size_mm,
        )
        t4 = time.perf_counter()
        stages = (("pre", t1 - t0), ("model", t2 - t1), ("post", t3 - t2), ("quality", t4 - t3))
        for stage, seconds in stages:
            self.timings[stage].append(seconds)
        return Prediction(mask, logits, geom, measurement, quality, fit)
