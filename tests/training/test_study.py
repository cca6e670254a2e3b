import json

import pytest

from fetalseg.cli.main import main
from fetalseg.data.synthetic import write_hc18_layout


@pytest.mark.slow  # trains and evaluates every study row
def test_study_runs_end_to_end_on_tiny_synthetic_data(tmp_path, capsys):
    data = write_hc18_layout(tmp_path / "hc18", n_subjects=12)
    cfg = tmp_path / "study.yaml"
    cfg.write_text(
        "base:\n"
        "  train: {epochs: 1, batch_size: 2, max_steps_per_epoch: 1, precision: fp32}\n"
        "rows:\n"
        "  - {model: unet, width: 64, height: 64}\n"
        "  - {model: bisenet, width: 64, height: 64}\n"
        "latency_iterations: 2\n"
        "figure_images: 2\n"
    )
    out = tmp_path / "study"
    rc = main(["study", "--config", str(cfg), "--data", str(data), "--out", str(out), "--quiet"])
    assert rc == 0
    report = json.loads((out / "study.json").read_text())
    assert [r["row"] for r in report["rows"]] == ["unet-64x64", "bisenet-64x64"]
    for r in report["rows"]:
        assert 0 <= r["summary"]["dsc"]["mean"] <= 1
        assert r["latency_fp32_ms"] > 0 and r["latency_int8_ms"] > 0 and r["epochs"] == 1
    table = (out / "study.md").read_text()
    assert "| unet-64x64 |" in table and "HC ADF mm" in table
    assert "| bisenet-64x64 | 1 |" in table  # the epochs/hours table
    assert "best epoch by validation DSC" in table and "Machine: " in table
    assert (out / "figure2.png").stat().st_size > 0
    # resumable: a second run trains nothing more and gives the same table
    assert (
        main(["study", "--config", str(cfg), "--data", str(data), "--out", str(out), "--quiet"])
        == 0
    )
    assert json.loads((out / "study.json").read_text())["rows"][0]["epochs"] == 1
    capsys.readouterr()


def test_study_config_with_aliases_or_latin1_is_refused(tmp_path):
    """The study config went through ``yaml.safe_load`` (aliases expanded, any encoding
    decoded lazily); it now uses the config module's reader."""
    from fetalseg.errors import InputError
    from fetalseg.training.study import load_study_config

    aliased = tmp_path / "study.yaml"
    aliased.write_text("base: &b {train: {epochs: 1}}\nrows: [*b]\n")
    with pytest.raises(InputError, match=r"study\.yaml: .*aliases"):
        load_study_config(aliased)
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("out: r\xe9sultats\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"latin1\.yaml: line 1: byte 0xe9"):
        load_study_config(latin1)
