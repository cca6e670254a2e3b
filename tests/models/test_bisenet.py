import pytest
import torch

from fetalseg.models import TrainOutputs, create_model
from fetalseg.models.bisenet import (
    LOGIT_STRIDE,
    AttentionRefinementModule,
    BiSeNet,
    FeatureFusionModule,
    SpatialPath,
)
from fetalseg.models.profile import REFERENCE_SIZES, count_macs, inference_params


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return BiSeNet(in_channels=1)


@pytest.mark.parametrize("size", REFERENCE_SIZES)
def test_eval_output_shape_at_reference_sizes(model, size):
    w, h = size
    model.eval()
    with torch.no_grad():
        y = model(torch.randn(1, 1, h, w))
    assert isinstance(y, torch.Tensor) and y.shape == (1, 1, h, w)


def test_training_returns_aux_outputs_at_input_size(model):
    model.train()
    out = model(torch.randn(2, 1, 64, 96))
    assert isinstance(out, TrainOutputs) and len(out.aux) == 2
    assert all(o.shape == (2, 1, 64, 96) for o in (out.logits, *out.aux))


def test_coarse_logits_are_the_full_size_logits_before_upsampling(model):
    import numpy as np

    from fetalseg.data.preprocess import full_size_logits

    model.eval()
    x = torch.randn(2, 1, 64, 96)
    with torch.no_grad():
        full = model(x)
        coarse = model.inference_logits(x)
    assert coarse.shape == (2, 1, 64 // LOGIT_STRIDE, 96 // LOGIT_STRIDE)
    up = torch.nn.functional.interpolate(coarse, size=(64, 96), mode="bilinear")
    torch.testing.assert_close(up, full)
    # the NumPy/OpenCV upsampling used at inference is the same interpolation
    np.testing.assert_allclose(full_size_logits(coarse.numpy(), (96, 64)), full.numpy(), atol=1e-5)
    model.train()
    with pytest.raises(ValueError, match="inference"):
        model.inference_logits(x)


def test_odd_size_is_a_clear_error(model):
    model.eval()
    with pytest.raises(ValueError, match="multiple of 32"):
        model(torch.randn(1, 1, 250, 380))


def test_batch_of_one_in_training_is_a_clear_error(model):
    model.train()
    with pytest.raises(ValueError, match="at least 2"):
        model(torch.randn(1, 1, 64, 64))


def test_gradients_reach_every_parameter(model):
    model.train()
    out = model(torch.randn(2, 1, 64, 96))
    (out.logits.mean() + sum(a.mean() for a in out.aux)).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum()]
    assert not missing
    model.zero_grad()


def test_logits_can_be_negative():
    # The class map must not come out of a ReLU: background needs negative logits. The logits are
    # a signed linear read-out of the fused features, so flipping the classifier flips them.
    torch.manual_seed(1)
    m = BiSeNet().eval()
    x = torch.randn(2, 1, 64, 64)
    with torch.no_grad():
        m.classifier.bias.zero_()
        y = m(x)
        m.classifier.weight.neg_()
        y_neg = m(x)
    assert y.abs().max() > 0
    assert torch.allclose(y_neg, -y, atol=1e-5)
    assert (y < 0).any() or (y_neg < 0).any()


def test_three_channel_input():
    m = BiSeNet(in_channels=3).eval()
    with torch.no_grad():
        assert m(torch.randn(1, 3, 64, 64)).shape == (1, 1, 64, 64)


def test_blocks_follow_the_paper():
    sp = SpatialPath(1, (64, 128, 256))
    assert sp(torch.randn(2, 1, 64, 96)).shape == (2, 256, 8, 12)
    arm = AttentionRefinementModule(16).eval()
    x = torch.rand(2, 16, 4, 4)
    y = arm(x)
    assert y.shape == x.shape and (y <= x + 1e-6).all()  # sigmoid re-weighting only shrinks
    ffm = FeatureFusionModule(24, 8).eval()
    assert ffm(torch.rand(2, 8, 4, 4), torch.rand(2, 16, 4, 4)).shape == (2, 8, 4, 4)


def test_matches_reference_size_and_compute(model):
    params_m = inference_params(model) / 1e6
    gmacs = count_macs(model, 384, 256) / 1e9
    assert abs(params_m - 11.67) / 11.67 < 0.05
    assert abs(gmacs - 4.50) <= 0.05


def test_registry_lists_valid_names():
    assert isinstance(create_model("BiSeNet"), BiSeNet)
    with pytest.raises(ValueError, match="bisenet, unet"):
        create_model("segformer")
