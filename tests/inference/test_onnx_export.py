"""ONNX export (dynamic axes, parity, metadata) and int8 quantisation on an untrained BiSeNet."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from fetalseg.artifacts import onnx_metadata
from fetalseg.config import RunConfig, to_dict
from fetalseg.data.dataset import to_tensor
from fetalseg.data.synthetic import synthetic_set
from fetalseg.inference.onnx_export import (
    calibration_batch,
    export_onnx,
    parity_check,
    quantize_int8,
)
from fetalseg.inference.weights import LoadedModel
from fetalseg.models import create_model
from fetalseg.models.bisenet import LOGIT_STRIDE
from fetalseg.runtimes import open_runtime

W, H = 128, 64


def _images(n: int, size: tuple[int, int] = (W, H), seed: int = 0) -> np.ndarray:
    return to_tensor(synthetic_set(n, size=size, seed=seed).images).numpy()


@pytest.fixture(scope="module")
def loaded() -> LoadedModel:
    torch.manual_seed(0)
    config = to_dict(RunConfig())
    config["data"].update(width=W, height=H)
    return LoadedModel(config, {"epoch": 0}, Path("x.pt"), create_model("bisenet").eval())


@pytest.fixture(scope="module")
def fp32_path(loaded: LoadedModel, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_onnx(loaded, tmp_path_factory.mktemp("onnx") / "model.onnx")


@pytest.mark.slow  # uses the ONNX export (about 10 s, once per module)
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


@pytest.mark.slow  # uses the ONNX export (about 10 s, once per module)
def test_parity_with_pytorch(loaded: LoadedModel, fp32_path: Path) -> None:
    result = parity_check(loaded, fp32_path, _images(3))
    assert result["rel_max_abs_diff"] < 1e-3, result
    assert result["mask_agreement"] > 0.999, result


@pytest.mark.slow  # uses the ONNX export (about 10 s, once per module)
def test_metadata_round_trip(loaded: LoadedModel, fp32_path: Path) -> None:
    config, info = onnx_metadata(fp32_path)
    assert config == loaded.config
    assert info["epoch"] == 0 and info["precision"] == "fp32" and info["source"] == "x.pt"


@pytest.mark.slow  # uses the ONNX export (about 10 s, once per module)
def test_int8_static_quantisation(loaded: LoadedModel, fp32_path: Path, tmp_path: Path) -> None:
    int8 = quantize_int8(fp32_path, tmp_path / "int8.onnx", _images(4, seed=1))
    proto = onnx.load(str(int8))
    assert any(n.op_type == "QuantizeLinear" for n in proto.graph.node)
    config, info = onnx_metadata(int8)
    assert config == loaded.config
    assert info["precision"] == "int8" and info["quantization"]["calibration_images"] == 4
    out = open_runtime("onnxruntime", int8, threads=1).run(_images(2, (96, 64)))
    assert out.shape == (2, 1, 64 // LOGIT_STRIDE, 96 // LOGIT_STRIDE)
    result = parity_check(loaded, int8, _images(3, seed=2))
    assert result["mask_agreement"] > 0.9, result


@pytest.mark.slow  # uses the ONNX export (about 10 s, once per module)
def test_openvino_runs_the_same_files(loaded: LoadedModel, fp32_path: Path, tmp_path: Path) -> None:
    session = open_runtime("openvino", fp32_path, threads=1)
    for size in ((W, H), (96, 64), (W, H)):  # one compiled model per shape, reused
        x = _images(2, size, seed=3)
        ov = session.run(x)
        ort = open_runtime("onnxruntime", fp32_path, threads=1).run(x)
        assert ov.shape == ort.shape == (2, 1, size[1] // LOGIT_STRIDE, size[0] // LOGIT_STRIDE)
        np.testing.assert_allclose(ov, ort, atol=1e-3 * np.abs(ort).max())
    assert len(session._requests) == 2
    int8 = quantize_int8(fp32_path, tmp_path / "int8.onnx", _images(4, seed=1))
    result = parity_check(loaded, int8, _images(3, seed=2), runtime="openvino")
    assert result["mask_agreement"] > 0.9, result
    with pytest.raises(ValueError, match="runtime"):
        parity_check(loaded, int8, _images(1), runtime="tensorrt")


@pytest.mark.slow  # uses the ONNX export (about 10 s, once per module)
def test_rejects_bad_arguments(loaded: LoadedModel, fp32_path: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="opset"):
        export_onnx(loaded, tmp_path / "old.onnx", opset=13)
    with pytest.raises(ValueError, match="calibration method"):
        quantize_int8(fp32_path, tmp_path / "q.onnx", _images(1), method="kl")
    with pytest.raises(ValueError, match="calibration must be"):
        quantize_int8(fp32_path, tmp_path / "q.onnx", _images(1)[0])


def test_calibration_batch_from_training_split(hc18_root: Path) -> None:
    x = calibration_batch(hc18_root, (W, H), n=3, seed=0)
    assert x.shape == (3, 1, H, W) and x.dtype == np.float32
    assert x.min() >= -1.0 and x.max() <= 1.0
    np.testing.assert_array_equal(x, calibration_batch(hc18_root, (W, H), n=3, seed=0))


def test_calibration_batch_needs_training_subjects(hc18_root: Path) -> None:
    config = to_dict(RunConfig())
    config["data"]["fractions"] = [0.0, 0.5, 0.5]
    with pytest.raises(ValueError, match="training split is empty"):
        calibration_batch(hc18_root, (W, H), n=3, config=config)


@pytest.mark.slow  # uses the ONNX export (about 10 s, once per module)
def test_openvino_session_can_be_shared_by_threads(fp32_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    session = open_runtime("openvino", fp32_path, threads=1)
    inputs = [_images(1, seed=s) for s in range(8)]
    expected = [session.run(x) for x in inputs]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda x: session.run(x), inputs))
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)
