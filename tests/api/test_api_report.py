"""Model.exam / Model.report: the clinical outputs from the Python API (core install)."""

from __future__ import annotations

import cv2
import pydicom
import pytest

import fetalseg
from fetalseg.data.synthetic import synthetic_frame
from fetalseg.errors import InputError
from fetalseg.outputs.build import exam_from_results, model_label
from fetalseg.outputs.clinical import assess_exam
from fetalseg.result import ClipResult


@pytest.fixture(scope="module")
def model() -> fetalseg.Model:
    return fetalseg.load()


@pytest.fixture(scope="module")
def image():
    return synthetic_frame(400, 300, rng=5)[0]


def test_exam_of_an_array_with_a_known_ga(model, image):
    exam = model.exam(image, ga="20+3", pixel_size_mm=0.25, standard="who2017")
    a = assess_exam(exam)
    assert exam.known_ga.weeks == pytest.approx(20 + 3 / 7)
    assert exam.standard == "who2017"
    assert a.centiles["hc"].standard == "who2017"
    assert exam.selected.quality is not None  # the verdict travels into the outputs


def test_report_writes_html_and_dicom(model, image, tmp_path):
    png = tmp_path / "scan.png"
    cv2.imwrite(str(png), image)
    html = model.report(
        png,
        tmp_path / "r.html",
        dicom_dir=tmp_path / "dcm",
        lmp="2026-06-01",
        exam_date="2026-10-19",
        pixel_size_mm=0.25,
    )
    assert (tmp_path / "r.html").read_text() == html
    assert "LMP 2026-06-01, exam 2026-10-19" in html and "20w0d" in html
    sr = pydicom.dcmread(tmp_path / "dcm" / "sr.dcm")
    assert sr.Modality == "SR"
    with pytest.raises(InputError, match="--overwrite"):
        model.report(png, tmp_path / "r.html")


def test_exam_from_frame_results(model, image):
    results = [model.measure(image, 0.25), model.measure(image[:, ::-1].copy(), 0.25)]
    exam = exam_from_results(results, [image, image[:, ::-1].copy()], model_label(model.predictor))
    assert exam.is_clip and exam.spread("hc").n == 2
    for i, r in enumerate(results):
        r.index = i
    clip = ClipResult(results, results[0].pixel_size_mm)
    assert exam.selected_index == clip.key_frame  # the clip summary's frame, one rule
    assert exam.clip_verdict == clip.verdict
    assert "bisenet" in exam.selected.model_name
