"""Shared by the export tests: an untrained BiSeNet at 128x64 and its fp32 export (made once
per test run, about 10 s: the tests using it are marked slow)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from export_helpers import H, W

from fetalseg.artifacts import LoadedModel
from fetalseg.config import RunConfig, to_dict
from fetalseg.export.onnx import export_onnx
from fetalseg.models import create_model


@pytest.fixture(scope="session")
def loaded() -> LoadedModel:
    torch.manual_seed(0)
    config = to_dict(RunConfig())
    config["data"].update(width=W, height=H)
    return LoadedModel(config, {"epoch": 0}, Path("x.pt"), create_model("bisenet").eval())


@pytest.fixture(scope="session")
def fp32_path(loaded: LoadedModel, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_onnx(loaded, tmp_path_factory.mktemp("onnx") / "model.onnx")
