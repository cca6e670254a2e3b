"""The :class:`~fetalseg.models.SegmentationNet` contract, checked on every registered model.

A new model registered with ``@register_model`` is picked up here with nothing to add; ``SMALL``
only lists optional constructor arguments that make a model cheaper to test (the contract does
not depend on widths).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from fetalseg.config import RunConfig, to_dict
from fetalseg.models import MODELS, SegmentationNet, TrainOutputs, create_model, model_class
from fetalseg.models.profile import REFERENCE_SIZES

#: cheaper widths for models whose constructor has them
SMALL: dict[str, dict[str, object]] = {
    "unet": {"base_width": 8},
    "bisenet": {"fusion_channels": 32},
}
NAMES = sorted(MODELS)


@pytest.fixture(scope="module", params=NAMES)
def net(request: pytest.FixtureRequest) -> SegmentationNet:
    torch.manual_seed(0)
    return create_model(request.param, **SMALL.get(request.param, {}))


def _x(net: SegmentationNet, n: int, h_strides: int, w_strides: int) -> torch.Tensor:
    s = net.output_stride
    return torch.randn(n, net.in_channels, h_strides * s, w_strides * s)


def test_small_settings_name_registered_models() -> None:
    assert set(SMALL) <= set(MODELS)


def test_registry_names_and_unknown_name() -> None:
    assert {"bisenet", "unet"} <= set(MODELS)
    for name, cls in MODELS.items():
        assert issubclass(cls, SegmentationNet) and cls.name == name
        assert model_class(name.upper()) is cls
    with pytest.raises(ValueError, match="valid names: " + ", ".join(NAMES)):
        create_model("segformer")


def test_declared_contract(net: SegmentationNet) -> None:
    assert net.output_stride >= 1 and net.logit_stride >= 1
    assert net.output_stride % net.logit_stride == 0
    assert net.in_channels == 1
    children = dict(net.named_children())
    assert all(name in children for name in net.training_only)


@pytest.mark.parametrize("size", REFERENCE_SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_eval_shapes_at_the_reference_sizes(net: SegmentationNet, size: tuple[int, int]) -> None:
    w, h = size
    net.eval()
    x = torch.zeros(1, 1, h, w)
    with torch.no_grad():
        logits = net(x)
        coarse = net.inference_logits(x)
    assert isinstance(logits, torch.Tensor) and logits.shape == (1, 1, h, w)
    s = net.logit_stride
    assert coarse.shape == (1, 1, h // s, w // s)


def test_eval_logits_are_the_inference_logits_upsampled(net: SegmentationNet) -> None:
    net.eval()
    x = _x(net, 2, 2, 3)
    with torch.no_grad():
        full, coarse = net(x), net.inference_logits(x)
    up = torch.nn.functional.interpolate(coarse, size=x.shape[-2:], mode="bilinear")
    torch.testing.assert_close(up, full)


def test_bad_inputs_are_clear_errors(net: SegmentationNet) -> None:
    s = net.output_stride
    net.eval()
    odd = torch.zeros(1, 1, 2 * s + 1, 3 * s)
    with pytest.raises(ValueError, match=f"{net.name}: input size .* multiple of {s}"):
        net(odd)
    with pytest.raises(ValueError, match=f"multiple of {s}"):
        net.inference_logits(odd)
    with pytest.raises(ValueError, match=r"shape \(N, 1, H, W\)"):
        net(torch.zeros(1, 3, 2 * s, 2 * s))
    net.train()
    with pytest.raises(ValueError, match="at least 2"):
        net(_x(net, 1, 2, 2))
    with pytest.raises(ValueError, match="inference"):
        net.inference_logits(_x(net, 2, 2, 2))


def test_training_outputs_and_gradients_reach_every_parameter(net: SegmentationNet) -> None:
    net.train()
    x = _x(net, 2, 2, 3)
    out = net(x)
    assert isinstance(out, TrainOutputs)
    assert all(t.shape == (2, 1, *x.shape[-2:]) for t in (out.logits, *out.aux))
    (out.logits.mean() + sum(a.mean() for a in out.aux)).backward()
    dead = [n for n, p in net.named_parameters() if p.grad is None or not p.grad.abs().sum()]
    net.zero_grad(set_to_none=True)
    assert not dead


def test_inference_uses_exactly_the_parameters_not_training_only(net: SegmentationNet) -> None:
    net.eval()
    net(_x(net, 1, 2, 2)).mean().backward()
    for name, p in net.named_parameters():
        assert (p.grad is None) == net.is_training_only(name), name
    net.zero_grad(set_to_none=True)


def test_builds_from_a_config_and_refuses_foreign_options(net: SegmentationNet) -> None:
    cfg = {**to_dict(RunConfig())["model"], "name": net.name}
    assert type(model_class(net.name).from_config(cfg)) is type(net)
    if "context" not in net.config_options:
        with pytest.raises(ValueError, match="no option context"):
            model_class(net.name).from_config({**cfg, "context": "efficientnet_lite0"})
    if "pretrained" not in net.config_options:
        with pytest.raises(ValueError, match="no pretrained"):
            model_class(net.name).from_config(cfg, pretrained=True)


@pytest.mark.slow  # the torch.export-based exporter takes 5-10 s per model
def test_onnx_export_matches_pytorch(net: SegmentationNet, tmp_path: Path) -> None:
    from fetalseg.artifacts import LoadedModel
    from fetalseg.export.onnx import export_onnx
    from fetalseg.runtimes import open_runtime

    s = net.output_stride
    config = to_dict(RunConfig())
    config["model"]["name"] = net.name
    config["data"].update(width=2 * s, height=2 * s)
    net.eval()
    path = export_onnx(LoadedModel(config, {}, Path("x.pt"), net), tmp_path / "m.onnx")
    x = _x(net, 2, 2, 3)  # another size than the traced one: the spatial axes are dynamic
    with torch.no_grad():
        expected = net.inference_logits(x).numpy()
    got = open_runtime("onnxruntime", path, threads=1).run(x.numpy())
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=1e-4)
