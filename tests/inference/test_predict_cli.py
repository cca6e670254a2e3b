"""End-to-end through the CLI with a tiny checkpoint: predict, demo, evaluate, errors."""

import csv
import json

import cv2
import numpy as np
import pytest

from fetalseg.cli.main import main
from fetalseg.data.synthetic import synthetic_frame
from fetalseg.inference.predictor import Predictor
from fetalseg.models.bisenet import LOGIT_STRIDE


@pytest.fixture(scope="module")
def frames_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("frames")
    for i in range(3):
        image, _, _ = synthetic_frame(rng=i)
        cv2.imwrite(str(d / f"{i:03d}_HC.png"), image)
    (d / "000_HC_Annotation.png").write_bytes(b"ignored: annotation files are skipped")
    (d / "bad_HC.png").write_bytes(b"not a png")
    return d


def test_predictor_outputs_original_grid(tiny_checkpoint):
    p = Predictor(tiny_checkpoint)
    image, _, _ = synthetic_frame(width=301, height=207, rng=0)
    pred = p.predict(image, 0.2)
    assert pred.mask.shape == (207, 301) and pred.mask.dtype == np.uint8
    # BiSeNet's logits are taken before its x8 upsampling, on every backend
    assert pred.logits.shape == (64 // LOGIT_STRIDE, 64 // LOGIT_STRIDE)
    assert pred.measurement is not None
    assert pred.measurement.status.value in {"ok", "no_head", "out_of_range"}
    assert set(p.timings) == {"pre", "model", "post", "quality"}


def test_torch_backend_matches_the_plain_model(tiny_checkpoint):
    import torch

    from fetalseg.data.preprocess import full_size_logits
    from fetalseg.inference.weights import load_model

    p = Predictor(tiny_checkpoint, "torch")  # channels-last, 1/8 logits
    image, _, _ = synthetic_frame(width=301, height=207, rng=1)
    x, _ = p.preprocess(image)
    reference = load_model(tiny_checkpoint).model
    with torch.inference_mode():
        expected = reference(torch.from_numpy(x))[:, 0].numpy()
    got = full_size_logits(p.logits(x), p.size)
    np.testing.assert_allclose(got, expected, atol=1e-4 * np.abs(expected).max())


def test_predict_folder(tiny_checkpoint, frames_dir, tmp_path, capsys):
    out = tmp_path / "out"
    args = [str(frames_dir), "--checkpoint", str(tiny_checkpoint), "--out", str(out)]
    rc = main(["predict", *args, "--pixel-size", "0.15", "--save-masks", "--quiet"])
    assert rc == 1  # one of four files failed: EXIT_SOME_FAILED without --keep-going
    rows = list(csv.DictReader((out / "measurements.csv").open()))
    assert [r["file"] for r in rows] == ["000_HC.png", "001_HC.png", "002_HC.png", "bad_HC.png"]
    assert rows[-1]["status"] == "error" and "bad_HC.png" in rows[-1]["message"]
    assert all(r["status"] != "error" for r in rows[:3])
    assert json.loads((out / "measurements.json").read_text())[0]["file"] == "000_HC.png"
    mask = cv2.imread(str(out / "masks" / "001_HC.png"), cv2.IMREAD_GRAYSCALE)
    assert mask.shape == (540, 800)
    assert (out / "overlays" / "002_HC.png").is_file()
    assert "bad_HC.png" in capsys.readouterr().err
    # earlier results are never overwritten unless asked
    assert main(["predict", *args, "--quiet"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert len(list(csv.DictReader((out / "measurements.csv").open()))) == 4


def test_predict_without_pixel_size_gives_px_only(tiny_checkpoint, frames_dir, tmp_path):
    out = tmp_path / "o"
    rc = main(
        [
            "predict",
            str(frames_dir / "001_HC.png"),
            "--checkpoint",
            str(tiny_checkpoint),
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert rc == 0
    row = next(csv.DictReader((out / "measurements.csv").open()))
    assert row["hc_mm"] == "" and row["bpd_mm"] == "" and row["pixel_size_mm"] == ""
    assert not (out / "hc18_submission.csv").exists()


def test_predict_pixel_csv_and_challenge_file(tiny_checkpoint, frames_dir, tmp_path):
    csv_path = tmp_path / "px.csv"
    csv_path.write_text(
        "filename,pixel size(mm)\n000_HC.png,0.1\n001_HC.png,0.12\n002_HC.png,0.2\n"
    )
    out = tmp_path / "o"
    single = frames_dir / "002_HC.png"
    rc = main(
        [
            "predict",
            str(single),
            "--checkpoint",
            str(tiny_checkpoint),
            "--pixel-csv",
            str(csv_path),
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert rc == 0
    header = (out / "hc18_submission.csv").read_text().splitlines()[0]
    assert header == "filename,center_x_mm,center_y_mm,semi_axes_a_mm,semi_axes_b_mm,angle_rad"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["predict", "/nonexistent/x.png"], "no such file"),
        (["predict", ".", "--pixel-size", "-1"], "outside the plausible"),
        (["evaluate", "--checkpoint", "/nonexistent.pt"], "no such"),
    ],
)
def test_user_errors_are_one_line_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "Traceback" not in err and len(err.splitlines()) == 1


def test_demo_synthetic(tiny_checkpoint, tmp_path, capsys):
    rc = main(
        ["demo", "--checkpoint", str(tiny_checkpoint), "-n", "2", "--out", str(tmp_path), "--quiet"]
    )
    assert rc == 0
    report = (tmp_path / "report.md").read_text()
    assert "frames/s" in report and "mean DSC" in report
    assert len(list((tmp_path / "overlays").glob("*.png"))) == 2


def test_predict_folder_with_dicom_files(tiny_checkpoint, tmp_path, capsys):
    from fetalseg.data.dicom import encode_ultrasound_dicom

    folder = tmp_path / "in"
    folder.mkdir()
    image = synthetic_frame(width=96, height=64, rng=0)[0]
    cv2.imwrite(str(folder / "a.png"), image)
    good = encode_ultrasound_dicom(image, pixel_spacing=[0.25, 0.25])
    (folder / "b.dcm").write_bytes(good)
    (folder / "c_cut.dcm").write_bytes(good[:300])
    (folder / "d_clip.dcm").write_bytes(encode_ultrasound_dicom(np.stack([image, image])))
    out = tmp_path / "out"
    argv = ["predict", str(folder), "--checkpoint", str(tiny_checkpoint), "--out", str(out)]
    assert main([*argv, "--quiet", "--keep-going"]) == 0  # 2 of 4 failed
    captured = capsys.readouterr()
    assert "4 images" in captured.out
    err = captured.err.strip().splitlines()
    assert len(err) == 2 and "Traceback" not in captured.err
    assert "c_cut.dcm" in err[0] and "d_clip.dcm" in err[1] and "on its own" in err[1]
    rows = {r["file"]: r for r in csv.DictReader((out / "measurements.csv").open())}
    assert rows["a.png"]["status"] != "error" and rows["a.png"]["pixel_size_source"] == ""
    assert rows["b.dcm"]["status"] != "error"
    assert rows["b.dcm"]["pixel_size_mm"] == "0.25"
    assert rows["b.dcm"]["pixel_size_source"] == "dicom PixelSpacing"
    assert rows["c_cut.dcm"]["status"] == rows["d_clip.dcm"]["status"] == "error"
    # one DICOM file on its own: its PixelSpacing wins over --pixel-size (one rule everywhere)
    out = tmp_path / "one"
    argv = ["predict", str(folder / "b.dcm"), "--checkpoint", str(tiny_checkpoint), "--quiet"]
    assert main([*argv, "--out", str(out), "--pixel-size", "0.1"]) == 0
    row = next(csv.DictReader((out / "measurements.csv").open()))
    assert (row["pixel_size_mm"], row["pixel_size_source"]) == ("0.25", "dicom PixelSpacing")
    assert "given pixel size 0.1 mm not used" in row["message"]
