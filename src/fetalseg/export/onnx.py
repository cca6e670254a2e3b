"""ONNX export and the graph rewrites it applies.

:func:`export_onnx` writes the inference graph (eval mode: logits only, no auxiliary heads)
with the ``torch.export``-based exporter: input ``"image"`` ``(N, C, H, W) float32`` normalised
to ``[-1, 1]``, output ``"logits"`` the model's
:meth:`~fetalseg.models.SegmentationNet.inference_logits`, ``(N, 1, H/s, W/s)`` with ``s`` its
``logit_stride`` (U-Net: 1; BiSeNet: 8, before its x8 upsampling; bring them to size with
:func:`fetalseg.data.preprocess.full_size_logits`). ``N``, ``H`` and ``W`` are dynamic, ``H``
and ``W`` must be multiples of the model's ``output_stride`` at run time (BiSeNet: 32, the
symbolic dims named ``32*h32``, ``32*w32``). The resolved training config and provenance go
into the model's ``metadata_props`` (``"fetalseg_config"``, ``"fetalseg_info"``, JSON), read
back by :func:`fetalseg.artifacts.onnx_metadata` (no ``onnx`` package needed).

The rewrites, applied in this order to every export: :func:`fold_batchnorms` (each
BatchNormalization into its convolution), :func:`batchnorms_to_mul_add` (the ones left),
:func:`set_metadata`.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fetalseg.artifacts import CONFIG_KEY, INFO_KEY, INPUT_NAME, OUTPUT_NAME, LoadedModel

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
    proto = batchnorms_to_mul_add(fold_batchnorms(program.model_proto))
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
    set_metadata(proto, loaded.config, info)
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


def fold_batchnorms(proto: Any) -> Any:
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


def batchnorms_to_mul_add(proto: Any) -> Any:
    """Rewrite each inference-mode BatchNormalization left in ``proto`` (one that follows no
    convolution, e.g. on a pooled or concatenated tensor) as ``x * scale + shift``, in place.

    ``scale = gamma / sqrt(var + eps)`` and ``shift = beta - mean * scale`` (the BatchNorm
    formula of the ONNX operator spec, computed in float64), stored as float32 constants of
    shape ``(C, 1, ..., 1)`` that broadcast over the input ``(N, C, D1, ...)``, whose rank is
    taken from ONNX shape inference. Why: OpenVINO 2026.4 segfaults compiling int8 graphs with
    Concat -> Q/DQ -> BatchNormalization; ``Mul``/``Add`` it compiles. A BatchNorm whose
    parameters are not constants, in training mode, or on an input of unknown rank is kept.
    Returns ``proto``.
    """
    import onnx
    from onnx import numpy_helper

    inits = {t.name: t for t in proto.graph.initializer}
    ranks = _ranks(proto)
    nodes, replaced = [], set()
    for node in proto.graph.node:
        params = list(node.input[1:5])
        training = any(a.name == "training_mode" and a.i for a in node.attribute)
        if (
            node.op_type != "BatchNormalization"
            or len(node.output) != 1
            or training
            or not all(name in inits for name in params)
            or ranks.get(node.input[0], 0) < 2
        ):
            nodes.append(node)
            continue
        eps = next((a.f for a in node.attribute if a.name == "epsilon"), 1e-5)
        gamma, beta, mean, var = (
            numpy_helper.to_array(inits[n]).astype(np.float64) for n in params
        )
        scale = gamma / np.sqrt(var + eps)
        shift = beta - mean * scale
        out = node.output[0]
        names = (f"{out}_bn_scale", f"{out}_bn_shift", f"{out}_bn_scaled")
        for name, value in zip(names, (scale, shift)):
            array = value.astype(np.float32).reshape(-1, *[1] * (ranks[node.input[0]] - 2))
            proto.graph.initializer.append(numpy_helper.from_array(array, name))
        nodes.append(onnx.helper.make_node("Mul", [node.input[0], names[0]], [names[2]]))
        nodes.append(onnx.helper.make_node("Add", [names[2], names[1]], [out]))
        replaced.update(params)
    del proto.graph.node[:]
    proto.graph.node.extend(nodes)
    used = {name for node in nodes for name in node.input}
    kept = [t for t in proto.graph.initializer if t.name in used or t.name not in replaced]
    del proto.graph.initializer[:]
    proto.graph.initializer.extend(kept)
    return proto


def _ranks(proto: Any) -> dict[str, int]:
    """``tensor name -> rank`` of every tensor of ``proto`` whose rank ONNX shape inference
    knows (graph inputs and outputs, intermediate values)."""
    import onnx

    graph = onnx.shape_inference.infer_shapes(proto).graph
    return {
        v.name: len(v.type.tensor_type.shape.dim)
        for v in [*graph.input, *graph.value_info, *graph.output]
        if v.type.tensor_type.HasField("shape")
    }


def set_metadata(proto: Any, config: dict[str, Any], info: dict[str, Any]) -> None:
    """Store ``config`` and ``info`` as JSON in ``proto``'s ``metadata_props`` (keys
    :data:`~fetalseg.artifacts.CONFIG_KEY`, :data:`~fetalseg.artifacts.INFO_KEY`), dropping the
    exporter's own ``pkg.torch*`` entries; read back by :func:`fetalseg.artifacts.onnx_metadata`."""
    import onnx

    props = {p.key: p.value for p in proto.metadata_props if not p.key.startswith("pkg.torch")}
    props.update({CONFIG_KEY: json.dumps(config), INFO_KEY: json.dumps(info, default=str)})
    del proto.metadata_props[:]
    onnx.helper.set_model_props(proto, props)
