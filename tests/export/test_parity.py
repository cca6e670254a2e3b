"""Parity of the fp32 / int8 exports with PyTorch, on ONNX Runtime and OpenVINO."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from export_helpers import H, W, images

from fetalseg.artifacts import LoadedModel
from fetalseg.export.parity import parity_check
from fetalseg.export.quantize import quantize_int8
from fetalseg.models.bisenet import LOGIT_STRIDE
from fetalseg.runtimes import open_runtime


@pytest.mark.slow  # uses the ONNX export (about 10 s, once per test run)
def test_parity_with_pytorch(loaded: LoadedModel, fp32_path: Path) -> None:
    result = parity_check(loaded, fp32_path, images(3))
    assert result["rel_max_abs_diff"] < 1e-3, result
    assert result["mask_agreement"] > 0.999, result


@pytest.mark.slow  # uses the ONNX export (about 10 s, once per test run)
def test_openvino_runs_the_same_files(loaded: LoadedModel, fp32_path: Path, tmp_path: Path) -> None:
    session = open_runtime("openvino", fp32_path, threads=1)
    for size in ((W, H), (96, 64), (W, H)):  # one compiled model per shape, reused
        x = images(2, size, seed=3)
        ov = session.run(x)
        ort = open_runtime("onnxruntime", fp32_path, threads=1).run(x)
        assert ov.shape == ort.shape == (2, 1, size[1] // LOGIT_STRIDE, size[0] // LOGIT_STRIDE)
        np.testing.assert_allclose(ov, ort, atol=1e-3 * np.abs(ort).max())
    assert len(session._requests) == 2
    int8 = quantize_int8(fp32_path, tmp_path / "int8.onnx", images(4, seed=1))
    result = parity_check(loaded, int8, images(3, seed=2), runtime="openvino")
    assert result["mask_agreement"] > 0.9, result
    with pytest.raises(ValueError, match="runtime"):
        parity_check(loaded, int8, images(1), runtime="tensorrt")


@pytest.mark.slow  # uses the ONNX export (about 10 s, once per test run)
def test_openvino_session_can_be_shared_by_threads(fp32_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    session = open_runtime("openvino", fp32_path, threads=1)
    inputs = [images(1, seed=s) for s in range(8)]
    expected = [session.run(x) for x in inputs]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda x: session.run(x), inputs))
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)
