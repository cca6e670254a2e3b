"""``predict_files`` on DICOM files: the file's own pixel size, the user's overriding it, px only
without one, and bad or multi-frame files reported in their row while the rest are processed;
nothing written when every file failed."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pydicom
import pytest
from pydicom.uid import JPEGLSLossless

from fetalseg.biometry import ramanujan_perimeter
from fetalseg.biometry.ellipse import measure_head
from fetalseg.data.dicom import encode_ultrasound_dicom
from fetalseg.data.synthetic import synthetic_frame
from fetalseg.inference.batch import NothingMeasured, collect_inputs, predict_files
from fetalseg.inference.predictor import Predictor

#: A known head on a 128x96 frame: centre (64, 48), semi-axes 50 px along x and 40 px along y.
W, H, A_PX, B_PX = 128, 96, 50, 40


def frame(seed: int = 0) -> np.ndarray:
    """``(H, W) uint8`` ultrasound-like frame."""
    return synthetic_frame(width=W, height=H, rng=seed)[0]


def known_mask() -> np.ndarray:
    mask = np.zeros((H, W), np.uint8)
    cv2.ellipse(mask, (W // 2, H // 2), (A_PX, B_PX), 0, 0, 360, 1, -1)
    return mask


class KnownHead:
    """The tiny model's whole pipeline, with its (untrained, often empty) mask replaced by a known
    ellipse, so the mm measured from a given pixel size can be checked. Records the sizes."""

    def __init__(self, predictor: Predictor) -> None:
        self.predictor = predictor
        self.sizes: list[object] = []

    def predict(self, image, pixel_size_mm=None, pixel_size_source=None, other_pixel_size_mm=None):
        pred = self.predictor.predict(image, None)
        mask = known_mask()
        self.sizes.append(pixel_size_mm)
        m = None if pixel_size_mm is None else measure_head(mask, pixel_size_mm)
        return dataclasses.replace(pred, mask=mask, measurement=m)


@pytest.fixture(scope="module")
def tiny(tiny_checkpoint) -> Predictor:
    return Predictor(tiny_checkpoint, "torch")


@pytest.fixture()
def known(tiny) -> KnownHead:
    return KnownHead(tiny)


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def rows(out: Path) -> list[dict[str, str]]:
    with (out / "measurements.csv").open(newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize(
    "region_cm, spacing, cell, size, source",
    [
        ((0.02, 0.02), None, "0.2", 0.2, "dicom ultrasound regions"),
        ((0.02, 0.03), [0.5, 0.5], "0.2;0.3", (0.2, 0.3), "dicom ultrasound regions"),
        (None, [0.3, 0.2], "0.2;0.3", (0.2, 0.3), "dicom PixelSpacing"),  # [row (y), col (x)]
    ],
)
def test_calibrated_dicom_is_measured_in_mm(
    region_cm, spacing, cell, size, source, known, tmp_path
):
    path = write(tmp_path / "a.dcm", encode_ultrasound_dicom(frame(), region_cm, spacing))
    out = tmp_path / "out"
    (row,) = predict_files(known, [path], out, progress=False)
    assert row["status"] != "error", row["message"]
    sx, sy = size if isinstance(size, tuple) else (size, size)
    assert known.sizes == [pytest.approx((sx, sy))]
    (written,) = rows(out)
    assert written["pixel_size_mm"] == cell and written["pixel_size_source"] == source
    # mm from the exact (x, y) scale: semi-axes 50 px * x and 40 px * y
    expected = ramanujan_perimeter(A_PX * sx, B_PX * sy)
    assert float(written["hc_mm"]) == pytest.approx(expected, rel=0.03)
    assert (out / "hc18_submission.csv").is_file()
    assert (out / "overlays" / "a.png").is_file()


def test_dicom_is_told_by_content_whatever_its_suffix(known, tmp_path):
    path = write(tmp_path / "scan.img", encode_ultrasound_dicom(frame(), (0.02, 0.02)))
    (row,) = predict_files(known, [path], tmp_path / "out", progress=False)
    assert row["pixel_size_source"] == "dicom ultrasound regions" and row["hc_mm"] != ""


def test_the_dicom_calibration_wins_over_the_user_pixel_size(known, tmp_path):
    """One rule everywhere (fetalseg.result.resolve_calibration): the file's own calibration
    is used, a disagreeing given size is named in the row; files without one take the user's."""
    data = encode_ultrasound_dicom(frame(), (0.02, 0.03))
    a, b = write(tmp_path / "a.dcm", data), write(tmp_path / "b.dcm", data)
    png = tmp_path / "c.png"
    cv2.imwrite(str(png), frame())
    got = predict_files(known, [a, png], tmp_path / "o1", pixel_size_mm=0.1, progress=False)
    assert [(r["pixel_size_mm"], r["pixel_size_source"]) for r in got] == [
        ("0.2;0.3", "dicom ultrasound regions"),
        (0.1, "--pixel-size"),
    ]
    assert "given pixel size 0.1 mm not used" in got[0]["message"]
    assert known.sizes == [pytest.approx((0.2, 0.3)), (0.1, 0.1)]
    assert float(got[1]["hc_mm"]) == pytest.approx(ramanujan_perimeter(5.0, 4.0), rel=0.03)
    # a --pixel-csv row that agrees with the file: no note
    got = predict_files(known, [b], tmp_path / "o2", pixel_sizes={"b.dcm": 0.2}, progress=False)
    assert got[0]["pixel_size_source"] == "dicom ultrasound regions"
    assert "not used" in got[0]["message"]  # 0.2 x 0.2 disagrees with 0.2 x 0.3


def test_uncalibrated_dicom_is_px_only_like_the_same_png(tiny, tmp_path):
    image = frame(3)
    dcm = write(tmp_path / "same.dcm", encode_ultrasound_dicom(image))
    png = tmp_path / "same.png"
    cv2.imwrite(str(png), image)
    out = tmp_path / "out"
    from_dicom, from_png = predict_files(tiny, [dcm, png], out, progress=False)
    assert from_dicom["pixel_size_mm"] == "" and from_dicom["pixel_size_source"] == ""
    assert from_dicom["hc_mm"] == "" and from_dicom["ga_weeks"] == ""
    assert from_dicom["status"] != "error"
    assert {**from_dicom, "file": ""} == {**from_png, "file": ""}  # same pixels, same row
    assert not (out / "hc18_submission.csv").exists()


def _jpeg_ls(data: bytes, path: Path) -> Path:
    """The same DICOM declaring JPEG-LS pixels, which needs a decoder this project lacks."""
    from pydicom.encaps import encapsulate
    from pydicom.pixels import get_decoder

    if get_decoder(JPEGLSLossless).is_available:
        pytest.skip("a JPEG-LS decoder is installed here")
    write(path, data)
    ds = pydicom.dcmread(path)
    ds.file_meta.TransferSyntaxUID = JPEGLSLossless
    ds.PixelData = encapsulate([b"\xff\xd8\xff\xf7jpeg-ls\xff\xd9"])
    ds.save_as(path, enforce_file_format=True)
    return path


def test_bad_and_multi_frame_dicoms_get_error_rows_the_rest_is_processed(known, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    good = encode_ultrasound_dicom(frame(), (0.02, 0.02))
    cv2.imwrite(str(folder / "a_image.png"), frame(1))
    write(folder / "b_good.dcm", good)
    write(folder / "c_truncated.dcm", good[: len(good) // 2])
    write(folder / "d_no_pixels.dcm", encode_ultrasound_dicom(None, rows_cols=(H, W)))
    _jpeg_ls(good, folder / "e_jpeg_ls.dcm")
    clip = np.stack([frame(i) for i in range(3)])
    write(folder / "f_clip.DICOM", encode_ultrasound_dicom(clip, (0.02, 0.02)))
    write(folder / "notes.txt", b"not listed")
    paths = collect_inputs(folder)
    assert [p.name for p in paths] == [
        "a_image.png",
        "b_good.dcm",
        "c_truncated.dcm",
        "d_no_pixels.dcm",
        "e_jpeg_ls.dcm",
        "f_clip.DICOM",
    ]
    got = {r["file"]: r for r in predict_files(known, paths, tmp_path / "out", progress=False)}
    assert got["a_image.png"]["status"] != "error" and got["a_image.png"]["hc_mm"] == ""
    assert got["b_good.dcm"]["status"] != "error" and got["b_good.dcm"]["hc_mm"] != ""
    expected = {
        "c_truncated.dcm": "DICOM pixel data",
        "d_no_pixels.dcm": "no pixel data",
        "e_jpeg_ls.dcm": "compressed DICOM",
        "f_clip.DICOM": "clip of 3 frames",
    }
    for name, words in expected.items():
        row = got[name]
        message = str(row["message"])
        assert row["status"] == "error" and name in message and words in message, message
        assert "\n" not in message and "Traceback" not in message
        assert not (tmp_path / "out" / "overlays" / f"{Path(name).stem}.png").exists()
    assert "pass it on its own" in str(got["f_clip.DICOM"]["message"])
    assert len(rows(tmp_path / "out")) == 6


def test_nothing_is_written_when_every_file_failed(known, tmp_path):
    bad = [write(tmp_path / "a.png", b"not an image"), write(tmp_path / "b.dcm", b"")]
    out = tmp_path / "out"
    with pytest.raises(NothingMeasured) as e:
        predict_files(known, bad, out, progress=False)
    assert [r["status"] for r in e.value.rows] == ["error", "error"]
    assert "a.png" in str(e.value.rows[0]["message"]) and "b.dcm" in str(e.value.rows[1]["message"])
    assert str(e.value).startswith("all 2 inputs failed (") and "a.png" in str(e.value)
    assert not out.exists() and sorted(tmp_path.iterdir()) == bad  # no temporary folder left
    # an earlier run's results, with overwrite, are kept rather than replaced by error rows
    good = write(tmp_path / "good.png", cv2.imencode(".png", frame())[1].tobytes())
    predict_files(known, [good], out, progress=False)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with pytest.raises(NothingMeasured, match=r"^\S*/a\.png: not a readable image"):
        predict_files(known, bad[:1], out, overwrite=True, progress=False)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    # one good file among bad ones: written, its row and theirs
    got = predict_files(known, [*bad, good], out, overwrite=True, progress=False)
    assert [r["status"] == "error" for r in got] == [True, True, False]
    assert [r["file"] for r in rows(out)] == ["a.png", "b.dcm", "good.png"]
