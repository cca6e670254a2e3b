import pytest
import torch

from fetalseg.models import create_model
from fetalseg.models.profile import count_macs, inference_params


@pytest.mark.parametrize("upsampling", ["bilinear", "transpose"])
def test_unet_shapes_and_gradients(upsampling):
    m = create_model("unet", base_width=8, upsampling=upsampling)
    m.train()
    out = m(torch.randn(2, 1, 64, 96))
    assert out.logits.shape == (2, 1, 64, 96) and out.aux == ()
    out.logits.mean().backward()
    assert all(p.grad is not None for p in m.parameters())


def test_unet_odd_size_error():
    with pytest.raises(ValueError, match="multiple of 16"):
        create_model("unet", base_width=8)(torch.randn(1, 1, 70, 96))


def test_unet_bad_upsampling_mode():
    with pytest.raises(ValueError, match="bilinear"):
        create_model("unet", upsampling="nearest")


def test_unet_close_to_reference_budget():
    m = create_model("unet")
    assert abs(inference_params(m) / 1e6 - 8.23) / 8.23 < 0.06
    assert abs(count_macs(m, 384, 256) / 1e9 - 24.68) / 24.68 < 0.02
