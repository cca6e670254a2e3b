"""ONNX export, int8 quantisation and ONNX Runtime sessions.

* :func:`export_onnx` writes the inference graph (eval mode: logits only, no auxiliary heads)
  with the ``torch.export``-based exporter: input ``"image"`` ``(N, C, H, W) float32`` normalised
  to ``[-1, 1]``, output ``"logits"`` the model's
  :meth:`~fetalseg.models.SegmentationNet.inference_logits`, ``(N, 1, H/s, W/s)`` with ``s`` its
  ``logit_stride`` (U-Net: 1; BiSeNet: 8, before its x8 upsampling; bring them to size with
  :func:`fetalseg.data.preprocess.full_size_logits`). ``N``, ``H`` and ``W`` are dynamic, ``H``
  and ``W`` must be multiples of the model's ``output_stride`` at run time (BiSeNet: 32, the
  symbolic dims named ``32*h32``, ``32*w32``). The resolved training config and provenance go
  into the model's ``metadata_props`` (``"fetalseg_config"``, ``"fetalseg_info"``, JSON), read
  back by :func:`fetalseg.artifacts.onnx_metadata` (no ``onnx`` package needed).
* :func:`quantize_int8` makes a static int8 QDQ model (per-channel int8 weights, uint8
  activations, percentile calibration) from an fp32 export and a calibration batch, e.g. from
  :func:`calibration_batch` (HC18 *training* images only, never validation or test).
* :func:`parity_check` compares an ONNX model's logits, run by one of
  :mod:`fetalseg.runtimes`, with the PyTorch model's.

Dynamic quantisation (``quantize_dynamic``) is not offered: it turns each convolution into
``ConvInteger`` with activations quantised on the fly, which on this network is at best ~1.2x
faster than fp32 (uint8 weights; int8 weights are ~3.5x *slower*), against ~3.3x for the static
QDQ model of :func:`quantize_int8` (batch 1, 384x256, 1 thread, ONNX Runtime 1.32, AVX-512 VNNI).
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fetalseg.artifacts import CONFIG_KEY, INFO_KEY, INPUT_NAME, OUTPUT_NAME, onnx_metadata
from fetalseg.data.hc18 import read_gray, read_records, split_subjects
from fetalseg.data.preprocess import full_size_logits, normalize, resize_image
from fetalseg.inference.weights import LoadedModel
from fetalseg.runtimes import Runtime, open_runtime

#: The ``torch.export``-based exporter emits opset 18 natively; converting it down fails (Resize
#: and Reduce* changed their axes inputs), so 18 is the lowest opset offered.
MIN_OPSET = 18


def export_onnx(loaded: LoadedModel, path: str | Path, opset: int = MIN_OPSET) -> Path:
    """Export ``loaded``'s inference graph to ``path`` (one self-contained ``.onnx`` file)."""
    if opset < MIN_OPSET:
        raise ValueError(f"opset {opset} is not supported; the exporter needs {MIN_OPSET}+")
    import onnx
    from torch.export import Dim

    import fetalseg

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    net = loaded.model.eval()
    stride, logit_stride = net.output_stride, net.logit_stride
    model = _InferenceGraph(net).eval()
    w, h = loaded.size
    # Batch 2 for the example: torch.export would specialise a dynamic dim traced at size 1.
    example = torch.zeros(2, loaded.in_channels, h, w)
    dims = {
        0: Dim("N", min=1),
        2: stride * Dim(f"h{stride}", min=1),
        3: stride * Dim(f"w{stride}", min=1),
    }
    with _quiet_exporter():
        program = torch.onnx.export(
            model,
            (example,),
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            opset_version=opset,
            dynamo=True,
            dynamic_shapes=(dims,),
            external_data=False,
            verbose=False,
        )
    proto = _fold_batchnorms(program.model_proto)
    info = {
        **loaded.info,
        "source": str(loaded.source),
        "fetalseg": fetalseg.__version__,
        "torch": torch.__version__,
        "opset": opset,
        "input": f"{INPUT_NAME} (N, {loaded.in_channels}, H, W) float32 in [-1, 1], "
        f"H and W multiples of {stride}; trained at {w}x{h} (W x H)",
        "output": f"{OUTPUT_NAME} (N, 1, H/{logit_stride}, W/{logit_stride}) float32, head where "
        f"> 0 after bilinear upsampling (half-pixel centres) to H x W or the image's own size"
        if logit_stride > 1
        else f"{OUTPUT_NAME} (N, 1, H, W) float32, head where > 0",
        "precision": "fp32",
    }
    _set_metadata(proto, loaded.config, info)
    onnx.save_model(proto, str(path))
    return path


class _InferenceGraph(torch.nn.Module):
    """The graph to export: the model's ``inference_logits`` (stopping before a final
    upsampling, if it has one): the caller interpolates once, to the size it needs."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.inference_logits(x)


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """Silence the exporter's chatter (notes on torchvision ops this model does not use,
    deprecation notices from its internals) so that a CLI user sees only our own lines."""
    import logging
    import warnings

    log = logging.getLogger("torch.onnx._internal.exporter")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            yield
    finally:
        log.setLevel(level)


def _fold_batchnorms(proto: Any) -> Any:
    """Fold every BatchNormalization into its convolution.

    The exporter folds them all but one: ``ContextPath`` takes the 1/8 size from a convolution
    whose output then feeds both its BatchNorm and ``Shape`` nodes, and a convolution with two
    consumers is not folded. The shape is the same after the BatchNorm, so those ``Shape`` nodes
    are re-pointed at its output and the folding rewrite run again. An unfolded BatchNorm would
    stay an fp32 island (with its quantise/dequantise pair) in the int8 model.
    """
    import onnxscript.rewriter

    users: dict[str, list[Any]] = {}
    for node in proto.graph.node:
        for name in node.input:
            users.setdefault(name, []).append(node)
    for bn in (n for n in proto.graph.node if n.op_type == "BatchNormalization"):
        others = [n for n in users.get(bn.input[0], []) if n is not bn]
        if others and all(n.op_type == "Shape" for n in others):
            for node in others:
                node.input[0] = bn.output[0]
    return onnxscript.rewriter.rewrite(proto)


def _set_metadata(proto: Any, config: dict[str, Any], info: dict[str, Any]) -> None:
    import onnx

    props = {p.key: p.value for p in proto.metadata_props if not p.key.startswith("pkg.torch")}
    props.update({CONFIG_KEY: json.dumps(config), INFO_KEY: json.dumps(info, default=str)})
    del proto.metadata_props[:]
    onnx.helper.set_model_props(proto, props)


def run_batches(runtime: Runtime, images: np.ndarray, batch_size: int = 8) -> np.ndarray:
    """``(N, C, H, W) float32 -> (N, 1, h, w)`` logits as the model gives them (``h = H`` or, for
    BiSeNet, ``H / 8``), ``batch_size`` images per run."""
    out = [runtime.run(images[i : i + batch_size]) for i in range(0, len(images), batch_size)]
    return np.concatenate(out)


def calibration_batch(
    root: str | Path,
    size: tuple[int, int],
    n: int = 32,
    seed: int = 0,
    config: dict[str, Any] | None = None,
) -> np.ndarray:
    """``n`` random HC18 *training-split* images, ``(n, C, H, W) float32`` at ``size = (W, H)``.

    The split is the model's own (``config["data"]["fractions"]`` and ``["split_seed"]``, the
    defaults when ``config`` is ``None``), so calibration never sees validation or test subjects.
    """
    from fetalseg.config import RunConfig, to_dict

    cfg = config or to_dict(RunConfig())
    data = cfg["data"]
    train = split_subjects(read_records(root), data["fractions"], data["split_seed"])[0]
    if not train:
        raise ValueError(f"{root}: the training split is empty")
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(train), size=min(n, len(train)), replace=False)
    images = np.stack([resize_image(read_gray(train[i].image), size)[0] for i in sorted(picks)])
    x = normalize(images)[:, None]
    channels = int(cfg["model"]["in_channels"])
    return np.ascontiguousarray(np.repeat(x, channels, axis=1) if channels != 1 else x)


class _Calibration:
    """:class:`onnxruntime.quantization.CalibrationDataReader` over an array, one image a run."""

    def __init__(self, images: np.ndarray) -> None:
        self.images = images.astype(np.float32, copy=False)
        self._it: Iterator[dict[str, np.ndarray]] = iter(())
        self.rewind()

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._it, None)

    def rewind(self) -> None:
        self._it = ({INPUT_NAME: self.images[i : i + 1]} for i in range(len(self.images)))


def quantize_int8(
    fp32_path: str | Path,
    int8_path: str | Path,
    calibration: np.ndarray,
    method: str = "percentile",
    activation: str = "uint8",
    preprocess: bool = True,
) -> Path:
    """Static int8 QDQ quantisation of an fp32 export, calibrated on ``(N, C, H, W)`` images.

    Weights: symmetric int8, per output channel. Activations: ``activation`` (``"uint8"``, the
    fast u8s8 kernels on x86; ``"int8"`` runs ~2.5x slower there), ranges from ``method``
    (``"percentile"``: the 0.001th to 99.999th percentile of each tensor, which ignores rare
    outliers; ``"minmax"``; ``"entropy"``). With ``preprocess`` the graph first goes through
    ``quant_pre_process`` (shape inference and basic graph optimisation, as ONNX Runtime
    recommends). The fetalseg metadata is carried over, the settings added as
    ``info["quantization"]``.
    """
    import onnx
    from onnxruntime.quantization import (
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    methods = {
        "minmax": CalibrationMethod.MinMax,
        "percentile": CalibrationMethod.Percentile,
        "entropy": CalibrationMethod.Entropy,
    }
    types = {"uint8": QuantType.QUInt8, "int8": QuantType.QInt8}
    if method not in methods:
        raise ValueError(f"calibration method {method!r}: expected one of {sorted(methods)}")
    if activation not in types:
        raise ValueError(f"activation type {activation!r}: expected one of {sorted(types)}")
    if calibration.ndim != 4 or len(calibration) == 0:
        raise ValueError(f"calibration must be (N, C, H, W) with N > 0, got {calibration.shape}")
    config, info = onnx_metadata(fp32_path)
    int8_path = Path(int8_path)
    int8_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(fp32_path)
        if preprocess:
            source = Path(tmp) / "pre.onnx"
            quant_pre_process(str(fp32_path), str(source), skip_symbolic_shape=True)
        # The histogram calibrators print progress lines; keep library output quiet.
        with contextlib.redirect_stdout(io.StringIO()):
            quantize_static(
                str(source),
                str(int8_path),
                _Calibration(calibration),
                quant_format=QuantFormat.QDQ,
                per_channel=True,
                activation_type=types[activation],
                weight_type=QuantType.QInt8,
                calibrate_method=methods[method],
            )
    proto = onnx.load_model(str(int8_path))
    info = {
        **info,
        "precision": "int8",
        "quantization": {
            "format": "QDQ",
            "weights": "int8 symmetric, per channel",
            "activations": activation,
            "calibration": method,
            "calibration_images": len(calibration),
        },
    }
    _set_metadata(proto, config, info)
    onnx.save_model(proto, str(int8_path))
    return int8_path


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
