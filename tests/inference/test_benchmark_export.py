"""Benchmark and export commands on a tiny model (speed figures themselves are benchmarks)."""

import pytest

from fetalseg.cli.main import main
from fetalseg.inference.benchmark import run_benchmark, speedups, to_markdown
from fetalseg.inference.predictor import Predictor


@pytest.mark.slow  # ONNX exports and int8 quantisation
def test_benchmark_covers_every_model_backend_and_mode(tiny_checkpoint):
    result = run_benchmark(tiny_checkpoint, data_root=None, threads=1, iterations=2, warmup=1)
    keys = {(r["model"], r["backend"], r["mode"]) for r in result["rows"]}
    assert len(keys) == 16  # 2 models x 4 backends x (model, end-to-end)
    assert all(r["p95_ms"] >= r["p50_ms"] > 0 and r["fps"] > 0 for r in result["rows"])
    assert set(speedups(result)) >= {
        "bisenet onnx-int8 vs torch fp32 (model only)",
        "bisenet openvino-int8 vs torch fp32 (model only)",
        "bisenet vs unet, openvino-int8 (model only)",
    }
    md = to_markdown(result)
    assert "ONNX Runtime int8" in md and "OpenVINO int8" in md and "threads" in md
    assert result["machine"]["openvino"]
    for r in result["rows"]:
        if r["mode"] == "model":
            assert r["stages_ms"] is None
            continue
        st = r["stages_ms"]  # the stages of the timed iterations add up to their latency
        assert set(st) == {"decode", "pre", "model", "post"} and all(v > 0 for v in st.values())
        assert sum(st.values()) <= 1000 / r["fps"] * 1.05
    assert "| decode | pre | model | post |" in md


@pytest.mark.slow  # ONNX exports and int8 quantisation
def test_export_onnx_and_int8_predictors_agree(tiny_checkpoint, tmp_path, capsys, hc18_root):
    out = tmp_path / "m.onnx"
    rc = main(
        [
            "export",
            "--checkpoint",
            str(tiny_checkpoint),
            "--out",
            str(out),
            "--int8",
            "--data",
            str(hc18_root),
        ]
    )
    assert rc == 0
    text = capsys.readouterr().out
    assert "onnx fp32: max |logit diff|" in text and "onnx int8" in text
    assert "openvino int8" in text
    from fetalseg.data.synthetic import synthetic_frame

    image, _, _ = synthetic_frame(rng=3)
    torch_mask = Predictor(tiny_checkpoint, "torch").predict(image).mask
    onnx_mask = Predictor(out, "auto").predict(image).mask
    assert (torch_mask == onnx_mask).mean() > 0.999
    int8 = Predictor(tmp_path / "m_int8.onnx").predict(image).mask
    assert int8.shape == image.shape
    ov = Predictor(tmp_path / "m_int8.onnx", "openvino-int8").predict(image).mask
    assert (ov == int8).mean() > 0.99


@pytest.mark.slow  # an ONNX export
def test_onnx_file_cannot_run_on_torch_backend(tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "m.onnx"
    assert main(["export", "--checkpoint", str(tiny_checkpoint), "--out", str(out)]) == 0
    import cv2

    from fetalseg.data.synthetic import synthetic_frame

    frame = tmp_path / "f.png"
    cv2.imwrite(str(frame), synthetic_frame(rng=0)[0])
    assert main(["predict", str(frame), "--checkpoint", str(out), "--backend", "torch"]) == 2
    assert "needs backend onnx" in capsys.readouterr().err
