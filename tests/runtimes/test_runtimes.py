"""The runtime registry and contract; both ONNX runtimes on the shipped int8 model."""

from __future__ import annotations

import numpy as np
import pytest

from fetalseg.artifacts import shipped_int8
from fetalseg.errors import has_extra
from fetalseg.runtimes import RUNTIMES, Runtime, open_runtime, runtime_names


def test_unknown_runtime_lists_the_valid_names():
    with pytest.raises(ValueError, match="onnxruntime, openvino, torch"):
        open_runtime("tensorrt", shipped_int8())


needs_openvino = pytest.mark.skipif(not has_extra("openvino"), reason="the openvino extra")


@pytest.mark.parametrize("name", ["onnxruntime", pytest.param("openvino", marks=needs_openvino)])
def test_onnx_runtimes_follow_the_contract(name):
    runtime = open_runtime(name, shipped_int8(), threads=1)
    assert isinstance(runtime, Runtime) and runtime.name == name and RUNTIMES[name] is type(runtime)
    x = np.random.default_rng(0).uniform(-1, 1, (2, 1, 256, 384)).astype(np.float32)
    out = runtime.run(x)
    assert out.shape == (2, 1, 32, 48) and out.dtype == np.float32  # BiSeNet: 1/8 logits
    np.testing.assert_allclose(runtime.run(x[:1]), out[:1], atol=1e-4)


@needs_openvino
def test_the_two_runtimes_agree_on_the_int8_model():
    x = np.random.default_rng(1).uniform(-1, 1, (1, 1, 256, 384)).astype(np.float32)
    a, b = (open_runtime(n, shipped_int8(), threads=1).run(x) for n in ("onnxruntime", "openvino"))
    assert np.mean((a > 0) == (b > 0)) > 0.99


def test_names():
    assert runtime_names() == ("onnxruntime", "openvino", "torch")
