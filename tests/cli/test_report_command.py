"""`fetalseg report` and `fetalseg predict --dicom-out` with the shipped model (core install)."""

from __future__ import annotations

import cv2
import numpy as np
import pydicom
import pytest

from fetalseg.cli.main import main
from fetalseg.data.dicom import encode_ultrasound_dicom
from fetalseg.data.synthetic import synthetic_frame


@pytest.fixture(scope="module")
def png(tmp_path_factory):
    path = tmp_path_factory.mktemp("in") / "scan.png"
    cv2.imwrite(str(path), synthetic_frame(400, 300, rng=5)[0])
    return path


def test_report_with_ga_and_dicom_out(png, tmp_path, capsys):
    out, dcm = tmp_path / "r.html", tmp_path / "dcm"
    args = [str(png), "--pixel-size", "0.25", "--ga", "20+3", "--out", str(out)]
    assert main(["report", *args, "--dicom-out", str(dcm), "--standard", "who"]) == 0
    text = capsys.readouterr().out
    html = out.read_text()
    assert "report: " in text and "known GA 20w3d" in text
    assert "WHO fetal growth charts" in html and "20w3d" in html
    assert "0.25 mm/px, from --pixel-size" in html
    names = sorted(p.name for p in dcm.iterdir())
    assert names[-1] == "sr.dcm" and "sc.dcm" in names
    sr = pydicom.dcmread(dcm / "sr.dcm")
    assert sr.SOPClassUID.name == "Comprehensive SR Storage"


def test_report_refuses_an_existing_file_before_measuring(png, tmp_path, capsys):
    out = tmp_path / "r.html"
    out.write_text("earlier")
    assert main(["report", str(png), "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert out.read_text() == "earlier"
    assert main(["report", str(png), "--out", str(out), "--overwrite"]) == 0
    assert "No GA was given" in out.read_text()


@pytest.mark.parametrize(
    "extra, words",
    [
        (["--ga", "20+9"], "days must be 0-6"),
        (["--ga", "20+3", "--lmp", "2026-01-01"], "not both"),
        (["--lmp", "2026-13-01"], "YYYY-MM-DD"),
        (["--exam-date", "2026-01-01"], "needs the LMP"),
        (["--pixel-size", "-1"], "--pixel-size"),
    ],
)
def test_bad_ga_or_size_is_one_line_and_exit_2(png, tmp_path, capsys, extra, words):
    assert main(["report", str(png), "--out", str(tmp_path / "r.html"), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and len(err.splitlines()) == 1
    assert not (tmp_path / "r.html").exists()


def test_report_of_a_dicom_clip_names_the_frame_and_the_spread(tmp_path, capsys):
    clip = np.stack([synthetic_frame(400, 300, rng=7)[0] for _ in range(3)])
    path = tmp_path / "clip.dcm"
    path.write_bytes(encode_ultrasound_dicom(clip, region_cm=(0.025, 0.025)))
    out = tmp_path / "clip.html"
    assert (
        main(
            [
                "report",
                str(path),
                "--lmp",
                "2026-06-01",
                "--exam-date",
                "2026-10-20",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    html = out.read_text()
    assert "Clip: 3 frames" in html and "dicom ultrasound regions" in html
    assert "LMP 2026-06-01, exam 2026-10-20" in html


def test_predict_dicom_out_writes_sr_and_seg_per_file(png, tmp_path):
    dcm = tmp_path / "dcm"
    args = ["predict", str(png), "--pixel-size", "0.25", "--out", str(tmp_path / "p")]
    assert main([*args, "--dicom-out", str(dcm), "--quiet"]) == 0
    files = sorted(p.name for p in (dcm / "scan").iterdir())
    assert files[0] == "sc.dcm" and files[-1] == "sr.dcm"
    assert main([*args, "--dicom-out", str(dcm), "--quiet"]) == 2  # no --overwrite


def test_report_of_several_images_is_one_exam(png, tmp_path):
    other = tmp_path / "other.png"
    cv2.imwrite(str(other), synthetic_frame(400, 300, rng=6)[0])
    out = tmp_path / "two.html"
    assert main(["report", str(png), str(other), "--pixel-size", "0.25", "--out", str(out)]) == 0
    html = out.read_text()
    assert "Clip: 2 frames" in html and "frame" in html
    assert "Frames by quality verdict" in html
