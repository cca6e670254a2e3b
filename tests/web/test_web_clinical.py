"""The page's clinical API: GA fields, centiles in /api/measure, /api/report and /api/dicom."""

from __future__ import annotations

import base64
import io
import zipfile

import numpy as np
import pydicom
import pytest
from fastapi.testclient import TestClient
from pydicom.uid import generate_uid
from web_helpers import dicom_bytes, png_bytes

from fetalseg import standards
from fetalseg.web.app import create_app


@pytest.fixture(scope="module")
def client(head_predictor):
    with TestClient(create_app(head_predictor)) as c:
        yield c


def post(client, url, name, data, **form):
    files = {"file": (name, data, "application/octet-stream")}
    return client.post(url, files=files, data={k: v for k, v in form.items() if v is not None})


def test_measure_with_ga_returns_centiles_z_standard_and_verdict(client, frame):
    r = post(client, "/api/measure", "scan.png", png_bytes(frame), pixel_size_mm="0.3", ga="20+3")
    assert r.status_code == 200, r.text
    res = r.json()
    c = res["clinical"]
    assert c["standard"] == "intergrowth21" and c["standard_title"] == "INTERGROWTH-21st"
    assert c["known_ga"]["text"] == "20w3d"
    assert c["verdict"] == res["measurement"]["quality"]
    hc = res["measurement"]["hc_mm"]
    expected = standards.assess("hc", hc, 20 + 3 / 7)
    got = c["centiles"]["hc"]
    assert got["centile"] == pytest.approx(expected.centile)
    assert got["z"] == pytest.approx(expected.z)
    assert got["centile_text"] == standards.format_centile(expected.centile)
    svg = base64.b64decode(got["chart_svg"].split(",", 1)[1]).decode()
    assert svg.startswith("<svg") and 'class="exam"' in svg
    assert set(c["centiles"]) == {"hc", "bpd", "ofd"}
    assert c["ga_estimate"]["standard"] == "intergrowth21"


def test_measure_with_lmp_and_who(client, frame):
    res = post(
        client,
        "/api/measure",
        "scan.png",
        png_bytes(frame),
        pixel_size_mm="0.3",
        lmp="2026-06-01",
        exam_date="2026-10-19",
        standard="who",
    ).json()
    c = res["clinical"]
    assert c["standard"] == "who2017"
    assert c["known_ga"]["weeks"] == pytest.approx(20.0)
    assert c["centiles"]["ofd"]["status"] == "measure_not_covered"
    assert c["centiles"]["ofd"]["chart_svg"] is None


def test_measure_without_ga_has_no_centiles(client, frame):
    c = post(client, "/api/measure", "scan.png", png_bytes(frame), pixel_size_mm="0.3").json()[
        "clinical"
    ]
    assert c["centiles"] == {} and c["known_ga"] is None and c["ga_estimate"] is not None


@pytest.mark.parametrize(
    "form, words",
    [
        ({"ga": "20+9"}, "days must be 0-6"),
        ({"ga": "20+3", "lmp": "2026-01-01"}, "not both"),
        ({"lmp": "01/02/2026"}, "YYYY-MM-DD"),
        ({"standard": "nice"}, "unknown"),
    ],
)
def test_bad_ga_fields_are_422_with_a_sentence(client, frame, form, words):
    for url in ("/api/measure", "/api/report", "/api/dicom"):
        r = post(client, url, "scan.png", png_bytes(frame), **form)
        assert r.status_code == 422 and words in r.json()["error"], (url, r.text)


def test_report_download_is_self_contained_html(client, frame):
    r = post(client, "/api/report", "my scan.png", png_bytes(frame), pixel_size_mm="0.3", ga="20+3")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert 'filename="my_scan_report.html"' in r.headers["content-disposition"]
    assert "20w3d" in r.text and "INTERGROWTH-21st" in r.text and "<svg" in r.text
    assert "0.3 mm/px, from user" in r.text


def test_dicom_download_of_a_dicom_clip_stays_in_its_study(client, frame):
    clip = np.stack([frame, np.roll(frame, 3, axis=1), np.roll(frame, -3, axis=1)])
    src = pydicom.dcmread(io.BytesIO(dicom_bytes(clip, region_cm=(0.03, 0.03))))
    src.StudyInstanceUID, src.SeriesInstanceUID = generate_uid(), generate_uid()
    buf = io.BytesIO()
    src.save_as(buf, enforce_file_format=True)
    data = buf.getvalue()
    r = post(client, "/api/dicom", "clip.dcm", data, ga="20+3")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    z = zipfile.ZipFile(io.BytesIO(r.content))
    assert sorted(z.namelist()) == ["seg.dcm", "sr.dcm"]
    sr = pydicom.dcmread(io.BytesIO(z.read("sr.dcm")))
    seg = pydicom.dcmread(io.BytesIO(z.read("seg.dcm")))
    ref = seg.ReferencedSeriesSequence[0].ReferencedInstanceSequence[0]
    assert ref.ReferencedSOPInstanceUID == src.SOPInstanceUID
    assert sr.StudyInstanceUID == seg.StudyInstanceUID == src.StudyInstanceUID
    assert len({sr.SeriesInstanceUID, seg.SeriesInstanceUID, src.SeriesInstanceUID}) == 3


def test_dicom_download_of_a_png_adds_the_secondary_capture(client, frame):
    r = post(client, "/api/dicom", "scan.png", png_bytes(frame), pixel_size_mm="0.3")
    names = sorted(zipfile.ZipFile(io.BytesIO(r.content)).namelist())
    assert names == ["sc.dcm", "seg.dcm", "sr.dcm"]


def test_openapi_lists_the_downloads(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/report", "/api/dicom"} <= set(paths)


def test_batch_items_carry_the_clinical_block(client, frame):
    files = [
        ("files", ("one.png", png_bytes(frame), "image/png")),
        ("files", ("bad.png", b"not an image", "image/png")),
    ]
    form = {"pixel_size_mm": "0.3", "ga": "20+3", "standard": "who"}
    body = client.post("/api/measure/batch", files=files, data=form).json()
    one, bad = body["results"]
    single = post(client, "/api/measure", "one.png", png_bytes(frame), **form).json()
    assert one["clinical"] == single["clinical"]  # one function for both endpoints
    assert (
        one["clinical"]["standard"] == "who2017" and one["clinical"]["known_ga"]["text"] == "20w3d"
    )
    assert one["clinical"]["ga_estimate"]["standard"] == one["measurement"]["ga_standard"]
    assert "clinical" not in bad
    r = client.post("/api/measure/batch", files=files[:1], data={"ga": "20+9"})
    assert r.status_code == 422 and "20+9" in r.json()["error"]
