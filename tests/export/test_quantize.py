"""Static int8 quantisation of the untrained BiSeNet's fp32 export."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest
from export_helpers import images

from fetalseg.artifacts import LoadedModel, onnx_metadata
from fetalseg.export.parity import parity_check
from fetalseg.export.quantize import quantize_int8
from fetalseg.models.bisenet import LOGIT_STRIDE
from fetalseg.runtimes import open_runtime


@pytest.mark.slow  # uses the ONNX export (about 10 s, once per test run)
def test_int8_static_quantisation(loaded: LoadedModel, fp32_path: Path, tmp_path: Path) -> None:
    int8 = quantize_int8(fp32_path, tmp_path / "int8.onnx", images(4, seed=1))
    proto = onnx.load(str(int8))
    assert any(n.op_type == "QuantizeLinear" for n in proto.graph.node)
    config, info = onnx_metadata(int8)
    assert config == loaded.config
    assert info["precision"] == "int8" and info["quantization"]["calibration_images"] == 4
    out = open_runtime("onnxruntime", int8, threads=1).run(images(2, (96, 64)))
    assert out.shape == (2, 1, 64 // LOGIT_STRIDE, 96 // LOGIT_STRIDE)
    result = parity_check(loaded, int8, images(3, seed=2))
    assert result["mask_agreement"] > 0.9, result


def test_rejects_bad_arguments(tmp_path: Path) -> None:
    fp32 = tmp_path / "never_read.onnx"  # the arguments are checked before the file is read
    with pytest.raises(ValueError, match="calibration method"):
        quantize_int8(fp32, tmp_path / "q.onnx", images(1), method="kl")
    with pytest.raises(ValueError, match="activation type"):
        quantize_int8(fp32, tmp_path / "q.onnx", images(1), activation="int4")
    with pytest.raises(ValueError, match="calibration must be"):
        quantize_int8(fp32, tmp_path / "q.onnx", images(1)[0])
