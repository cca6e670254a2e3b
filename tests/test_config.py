import pytest

from fetalseg.config import RunConfig, load_config, save_config, to_dict
from fetalseg.errors import InputError


def test_defaults_are_the_reference_recipe():
    cfg = RunConfig()
    assert cfg.model.name == "bisenet"
    assert (cfg.data.width, cfg.data.height) == (384, 256)
    assert cfg.train.lr == 3e-4 and cfg.train.epochs == 100
    assert (cfg.train.lr_decay_start, cfg.train.lr_decay_every) == (50, 20)


def test_yaml_then_overrides(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("train:\n  epochs: 7\n  augment:\n    rotate_deg: 5\nmodel:\n  name: unet\n")
    cfg = load_config(f, ["train.epochs=9", "data.fractions=0.7,0.2,0.1"])
    assert cfg.train.epochs == 9 and cfg.model.name == "unet"
    assert cfg.train.augment.rotate_deg == 5.0
    assert cfg.data.fractions == (0.7, 0.2, 0.1)


def test_toml(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('[train]\nepochs = 3\nprecision = "fp32"\n')
    assert load_config(f).train.precision == "fp32"


def test_round_trip(tmp_path):
    cfg = load_config(None, ["train.batch_size=4"])
    save_config(cfg, tmp_path / "r.yaml")
    assert to_dict(load_config(tmp_path / "r.yaml")) == to_dict(cfg)


@pytest.mark.parametrize(
    "override, message",
    [("train.epoch=3", "unknown key"), ("train.epochs=abc", "cannot use"), ("noequals", "KEY")],
)
def test_bad_values_are_clear(override, message):
    with pytest.raises(InputError, match=message if message != "KEY" else "section.key=value"):
        load_config(None, [override])


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_config(tmp_path / "nope.yaml")
