"""ONNX export of an untrained BiSeNet (dynamic axes, metadata, arguments) and its graph
rewrites."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from export_helpers import H, W
from onnx import TensorProto, helper, numpy_helper

from fetalseg.artifacts import LoadedModel, onnx_metadata
from fetalseg.config import RunConfig, to_dict
from fetalseg.export.onnx import batchnorms_to_mul_add, export_onnx
from fetalseg.models.bisenet import LOGIT_STRIDE
from fetalseg.runtimes import open_runtime


@pytest.mark.slow  # uses the ONNX export (about 10 s, once per test run)
def test_dynamic_batch_and_spatial_axes(fp32_path: Path) -> None:
    proto = onnx.load(str(fp32_path))
    assert [i.name for i in proto.graph.input] == ["image"]
    assert [o.name for o in proto.graph.output] == ["logits"]
    assert not any(n.op_type == "BatchNormalization" for n in proto.graph.node)
    session = open_runtime("onnxruntime", fp32_path, threads=1)
    for n, (w, h) in ((2, (W, H)), (1, (96, 160)), (2, (64, 32))):
        x = np.zeros((n, 1, h, w), np.float32)
        out = session.run(x)
        # BiSeNet's graph stops before the x8 upsampling (the predictor interpolates once)
        assert out.shape == (n, 1, h // LOGIT_STRIDE, w // LOGIT_STRIDE)


@pytest.mark.slow  # uses the ONNX export (about 10 s, once per test run)
def test_metadata_round_trip(loaded: LoadedModel, fp32_path: Path) -> None:
    config, info = onnx_metadata(fp32_path)
    assert config == loaded.config
    assert info["epoch"] == 0 and info["precision"] == "fp32" and info["source"] == "x.pt"


def test_rejects_an_opset_below_the_exporters(loaded: LoadedModel, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="opset"):
        export_onnx(loaded, tmp_path / "old.onnx", opset=13)


def _concat_bn_graph(
    rng: np.random.Generator, spatial: tuple[int, ...] = (4, 4)
) -> onnx.ModelProto:
    """``a (1, 2, *spatial)``, ``b (1, 3, *spatial)`` -> Concat -> BatchNormalization (5
    channels, random statistics, epsilon 1e-3) -> ``y``: a BatchNorm no convolution can take."""
    c = 5
    params = {
        "gamma": rng.uniform(0.5, 2.0, c),
        "beta": rng.normal(0.0, 1.0, c),
        "mean": rng.normal(0.0, 1.0, c),
        "var": rng.uniform(0.1, 3.0, c),
    }
    inits = [numpy_helper.from_array(v.astype(np.float32), k) for k, v in params.items()]
    nodes = [
        helper.make_node("Concat", ["a", "b"], ["cat"], axis=1),
        helper.make_node("BatchNormalization", ["cat", *params], ["y"], epsilon=1e-3),
    ]
    graph = helper.make_graph(
        nodes,
        "concat_bn",
        [
            helper.make_tensor_value_info("a", TensorProto.FLOAT, [1, 2, *spatial]),
            helper.make_tensor_value_info("b", TensorProto.FLOAT, [1, 3, *spatial]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, c, *spatial])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


def _run(proto: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> np.ndarray:
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)[0]


@pytest.mark.parametrize("spatial", [(4, 4), (6,)], ids=["NCHW", "NCL"])
def test_batchnorm_after_concat_becomes_mul_add_with_the_same_outputs(
    spatial: tuple[int, ...],
) -> None:
    rng = np.random.default_rng(0)
    proto = _concat_bn_graph(rng, spatial)
    feeds = {
        "a": rng.normal(size=(1, 2, *spatial)).astype(np.float32),
        "b": rng.normal(size=(1, 3, *spatial)).astype(np.float32),
    }
    before = _run(proto, feeds)
    rewritten = batchnorms_to_mul_add(proto)
    onnx.checker.check_model(rewritten)
    assert [n.op_type for n in rewritten.graph.node] == ["Concat", "Mul", "Add"]
    # the BatchNorm's four parameters are gone, one scale and one shift came instead
    assert sorted(t.name for t in rewritten.graph.initializer) == ["y_bn_scale", "y_bn_shift"]
    after = _run(rewritten, feeds)
    np.testing.assert_allclose(after, before, rtol=1e-5, atol=1e-5)


def test_a_batchnorm_with_non_constant_parameters_is_kept() -> None:
    proto = _concat_bn_graph(np.random.default_rng(1))
    # make gamma a graph input: no longer a constant the rewrite could fold
    gamma = next(t for t in proto.graph.initializer if t.name == "gamma")
    proto.graph.initializer.remove(gamma)
    proto.graph.input.append(helper.make_tensor_value_info("gamma", TensorProto.FLOAT, [5]))
    rewritten = batchnorms_to_mul_add(proto)
    assert [n.op_type for n in rewritten.graph.node] == ["Concat", "BatchNormalization"]
    assert len(rewritten.graph.initializer) == 3


def test_a_batchnorm_in_training_mode_is_kept() -> None:
    proto = _concat_bn_graph(np.random.default_rng(2))
    proto.graph.node[1].attribute.append(helper.make_attribute("training_mode", 1))
    rewritten = batchnorms_to_mul_add(proto)
    assert [n.op_type for n in rewritten.graph.node] == ["Concat", "BatchNormalization"]


class _ConcatBatchNorm(torch.nn.Module):
    """A tiny net with a BatchNorm on a concatenation (which no convolution can take), and the
    attributes :func:`export_onnx` reads of a :class:`~fetalseg.models.SegmentationNet`."""

    output_stride = 1
    logit_stride = 1

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 2, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(3)
        self.head = torch.nn.Conv2d(3, 1, 1)
        with torch.no_grad():
            self.bn.running_mean.uniform_(-1, 1)
            self.bn.running_var.uniform_(0.5, 2)
            self.bn.weight.uniform_(0.5, 2)
            self.bn.bias.uniform_(-1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.bn(torch.cat([self.conv(x), x], dim=1))))

    def inference_logits(self, x: torch.Tensor) -> torch.Tensor:
        return self(x)


@pytest.mark.slow  # a torch.export ONNX export (several seconds)
def test_the_export_leaves_no_batchnorm_and_keeps_the_outputs(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = _ConcatBatchNorm().eval()
    config = to_dict(RunConfig())
    config["data"].update(width=32, height=16)
    config["model"].update(in_channels=1)
    path = export_onnx(LoadedModel(config, {}, Path("x.pt"), net), tmp_path / "m.onnx")
    ops = [n.op_type for n in onnx.load(str(path)).graph.node]
    assert "BatchNormalization" not in ops and "Mul" in ops
    x = np.random.default_rng(0).normal(size=(2, 1, 16, 32)).astype(np.float32)
    with torch.inference_mode():
        ref = net(torch.from_numpy(x)).numpy()
    out = open_runtime("onnxruntime", path, threads=1).run(x)
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4)
