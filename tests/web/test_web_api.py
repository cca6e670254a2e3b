"""HTTP API through FastAPI's TestClient, around a predictor built from the tiny checkpoint."""

from __future__ import annotations

import base64
import json
import threading

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from web_helpers import dicom_bytes, gif_bytes, png_bytes

from fetalseg.standards import ga_from_hc
from fetalseg.web.app import create_app

MM_FIELDS = ("hc_mm", "bpd_mm", "ofd_mm")
PX_FIELDS = ("hc_px", "bpd_px", "ofd_px", "center_x_px", "semi_axis_a_px", "angle_px_rad")


@pytest.fixture(scope="module")
def client(head_predictor):
    with TestClient(create_app(head_predictor)) as c:
        yield c


@pytest.fixture(scope="module")
def small_client(head_predictor):
    """Same model, a 64 KB per-file limit (so the 413 tests send little)."""
    with TestClient(create_app(head_predictor, max_upload_bytes=64 * 1024)) as c:
        yield c


def post(client, name: str, data: bytes, pixel_size: str | None = None, url="/api/measure"):
    form = {} if pixel_size is None else {"pixel_size_mm": pixel_size}
    return client.post(url, files={"file": (name, data, "application/octet-stream")}, data=form)


def overlay_image(result: dict) -> np.ndarray:
    raw = base64.b64decode(result["overlay_png"])
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    return cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_UNCHANGED)


def test_health(client):
    r = client.get("/api/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok" and r.json()["backend"] == "torch"


def test_info(client, tiny_checkpoint):
    r = client.get("/api/info")
    assert r.status_code == 200
    info = r.json()
    assert info["model"]["name"] == "bisenet"
    assert info["model"]["source"] == tiny_checkpoint.name  # a name, not a server path
    assert info["model"]["input_size"] == [64, 64]
    assert info["backend"] == "torch"
    assert info["version"]
    assert "epoch" in info["training"]
    assert info["limits"]["max_upload_mb"] == 32


def test_openapi_schema(client):
    r = client.get("/openapi.json")
    assert r.status_code == 200
    schema = r.json()
    for path in ("/api/measure", "/api/measure/batch", "/api/health", "/api/info"):
        assert path in schema["paths"]
    measure = schema["paths"]["/api/measure"]["post"]
    assert {"200", "413", "422"} <= set(measure["responses"])
    components = schema["components"]["schemas"]
    assert {"MeasureResponse", "FrameResult", "ClipSummary", "ErrorResponse"} <= set(components)
    assert client.get("/docs").status_code == 404  # CDN-loaded docs are off: works offline


def test_page_and_static_files(client):
    r = client.get("/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    for element in ('id="hc"', 'id="bpd"', 'id="ofd"', 'id="ga"', 'id="status"'):
        assert element in r.text
    assert 'id="pixel-size-source"' in r.text and 'id="file-input"' in r.text
    assert "http://" not in r.text and "https://" not in r.text  # no CDN
    assert "default-src 'self'" in r.headers["content-security-policy"]
    for name in ("app.js", "style.css"):
        assert client.get(f"/static/{name}").status_code == 200
    assert client.get("/static/../app.py").status_code == 404


def test_measure_png_with_pixel_size(client, frame):
    r = post(client, "scan.png", png_bytes(frame), "0.15")
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    res = r.json()
    assert res["file"] == "scan.png" and res["format"] == "png" and res["kind"] == "image"
    assert (res["width"], res["height"], res["n_frames"]) == (320, 240, 1)
    assert res["pixel_size_mm"] == {"x": 0.15, "y": 0.15}
    assert res["pixel_size_source"] == "user"
    m = res["measurement"]
    assert res["status"] == m["status"] == "ok"
    assert m["hc_mm"] == pytest.approx(0.15 * m["hc_px"], rel=1e-6)
    assert m["bpd_mm"] == pytest.approx(0.15 * m["bpd_px"], rel=1e-6)
    assert m["ofd_mm"] == pytest.approx(0.15 * m["ofd_px"], rel=1e-6)
    ga = ga_from_hc(m["hc_mm"])  # the package's one GA rule, its standard named
    assert m["ga_weeks"] == pytest.approx(ga.weeks) and m["ga_standard"] == ga.standard
    assert res["frames"] == [m] and res["summary"] is None
    assert overlay_image(res).shape == (240, 320, 3)
    assert set(res["timing_ms"]) >= {"decode_ms", "model_ms", "total_ms", "queue_ms"}


def test_measure_png_without_pixel_size_is_px_only(client, frame):
    for form in (None, ""):
        res = post(client, "scan.png", png_bytes(frame), form).json()
        assert res["pixel_size_mm"] is None and res["pixel_size_source"] is None
        m = res["measurement"]
        assert all(m[k] is None for k in (*MM_FIELDS, "ga_weeks"))
        assert all(m[k] is not None for k in PX_FIELDS)
        assert "px only" in m["message"]
        assert m["status"] == res["status"] == "ok"  # not out_of_range by a 1 px = 1 mm scale


def test_pixel_size_with_decimal_comma(client, frame):
    res = post(client, "scan.png", png_bytes(frame), "0,15").json()
    assert res["pixel_size_mm"] == {"x": 0.15, "y": 0.15}


# "5" and "0.01" were accepted (the form took 0-10 mm, the CLI 0.02-1 mm): one range now
@pytest.mark.parametrize("value", ["abc", "0", "-0.1", "nan", "inf", "25", "5", "0.01", "0.1mm"])
def test_bad_pixel_size_is_422(client, frame, value):
    r = post(client, "scan.png", png_bytes(frame), value)
    assert r.status_code == 422
    assert "pixel_size_mm" in r.json()["error"]


def test_measure_dicom_with_ultrasound_regions(client, frame):
    data = dicom_bytes(frame, region_cm=(0.02, 0.02), pixel_spacing=[0.5, 0.5])
    res = post(client, "exam.dcm", data).json()
    assert res["format"] == "dicom"
    assert res["pixel_size_mm"] == pytest.approx({"x": 0.2, "y": 0.2})
    assert res["pixel_size_source"] == "ultrasound regions"
    m = res["measurement"]
    assert m["hc_mm"] == pytest.approx(0.2 * m["hc_px"], rel=1e-6)
    # the file's calibration wins over a typed value, and the answer says so
    res2 = post(client, "exam.dcm", data, "0.1").json()
    assert res2["measurement"]["hc_mm"] == pytest.approx(m["hc_mm"])
    assert "not used" in res2["note"]


def test_measure_dicom_pixel_spacing_and_none(client, frame):
    res = post(client, "a.dcm", dicom_bytes(frame, pixel_spacing=[0.1, 0.1])).json()
    assert res["pixel_size_source"] == "PixelSpacing"
    res = post(client, "b.dcm", dicom_bytes(frame)).json()
    assert res["pixel_size_source"] is None and res["measurement"]["hc_mm"] is None
    res = post(client, "b.dcm", dicom_bytes(frame), "0.12").json()  # no calibration: typed
    assert res["pixel_size_source"] == "user" and res["measurement"]["hc_mm"] is not None


def test_multi_frame_dicom_clip(client, frame):
    frames = np.stack(
        [np.clip(frame.astype(int) + d, 0, 255).astype(np.uint8) for d in (-40, 0, 40, 80)]
        + [np.zeros_like(frame)]  # a blank frame: no head
    )
    res = post(client, "clip.dcm", dicom_bytes(frames, region_cm=(0.015, 0.015))).json()
    assert res["kind"] == "clip" and res["n_frames"] == 5 and len(res["frames"]) == 5
    assert res["frame_time_ms"] == pytest.approx(40.0)
    assert res["frames"][4]["status"] == "no_head"
    s = res["summary"]
    assert s["n_frames"] == 5 and s["frames_with_head"] == 4
    # the stand-in's head (cephalic index 55) is rejected in every frame: the summary uses
    # good frames only (fetalseg.result.ClipResult; its medians are tested in tests/test_result)
    assert all(f["quality"] == "reject" for f in res["frames"])
    assert s["good_frames"] == s["frames_used"] == 0 and s["quality"] == "reject"
    assert s["hc_mm"] is None and s["key_frame"] is None and s["best_frame"] is None
    assert s["quality_reasons"][0]["code"] == "no_good_frames"
    assert res["overlay_frame"] == 0
    assert res["status"] == s["status"]


def test_gif_clip_px_only(client, frame):
    frames = [frame, np.clip(frame.astype(int) + 60, 0, 255).astype(np.uint8)]
    res = post(client, "loop.gif", gif_bytes(frames)).json()
    assert res["format"] == "gif" and res["kind"] == "clip" and res["n_frames"] == 2
    s = res["summary"]
    assert s["spread_unit"] == "px" and s["hc_mm"] is None and s["quality"] == "reject"


def test_no_head(tiny_predictor, frame):
    with TestClient(create_app(tiny_predictor)) as c:
        res = post(c, "scan.png", png_bytes(frame), "0.15").json()
    assert res["status"] == "no_head"
    assert all(v is None for k, v in res["measurement"].items() if k.endswith(("_mm", "_px")))
    assert overlay_image(res).shape == (240, 320, 3)


def test_batch_reports_bad_file_and_processes_the_rest(client, frame):
    files = [
        ("files", ("one.png", png_bytes(frame), "image/png")),
        ("files", ("bad.png", b"this is not an image at all", "image/png")),
        ("files", ("three.dcm", dicom_bytes(frame, region_cm=(0.01, 0.01)), "application/dicom")),
    ]
    r = client.post("/api/measure/batch", files=files, data={"pixel_size_mm": "0.2"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["count"] == 3 and body["errors"] == 1
    one, bad, three = body["results"]
    assert one["status"] == "ok" and one["pixel_size_source"] == "user"
    assert bad == {"file": "bad.png", "status": "error", "error": bad["error"]}
    assert "bad.png" in bad["error"] and "not a readable image" in bad["error"]
    assert three["pixel_size_source"] == "ultrasound regions"


def test_batch_too_many_files(head_predictor, frame):
    with TestClient(create_app(head_predictor, max_batch_files=2)) as c:
        files = [("files", (f"{i}.png", b"x", "image/png")) for i in range(3)]
        r = c.post("/api/measure/batch", files=files)
    assert r.status_code == 422 and "at most 2" in r.json()["error"]


def test_oversize_upload_413(small_client):
    # over the per-file limit, within the request's allowance for form overhead
    r = post(small_client, "big.png", bytes(64 * 1024 + 10))
    assert r.status_code == 413
    assert "big.png" in r.json()["error"] and "too large" in r.json()["error"]
    # over the request limit: refused by Content-Length before the body is parsed
    r = post(small_client, "huge.png", bytes(300 * 1024))
    assert r.status_code == 413 and "too large" in r.json()["error"]


def test_oversize_chunked_upload_413(small_client):
    # No Content-Length: the body is counted as it streams in.
    boundary = "xyzzy"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="s.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()

    def body():
        yield head
        for _ in range(20):
            yield bytes(16 * 1024)
        yield f"\r\n--{boundary}--\r\n".encode()

    r = small_client.post(
        "/api/measure",
        content=body(),
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert r.status_code == 413 and "too large" in r.json()["error"]


def test_default_upload_limit_is_32_mb(client):
    r = client.post(
        "/api/measure",
        content=b"",
        headers={"content-type": "multipart/form-data; boundary=x", "content-length": "40000000"},
    )
    assert r.status_code == 413 and "32 MB" in r.json()["error"]


@pytest.mark.parametrize(
    ("name", "data", "expect"),
    [
        ("notes.png", b"hello, I am a text file" * 10, "not a readable image"),
        ("empty.png", b"", "empty file"),
        ("fake.dcm", bytes(128) + b"DICM" + b"garbage" * 20, "fake.dcm"),
        ("tiny.png", None, "at least 32x32"),
    ],
)
def test_unreadable_uploads_are_422_json(client, name, data, expect):
    if data is None:
        data = png_bytes(np.zeros((10, 10), np.uint8))
    r = post(client, name, data)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/json"
    assert expect in r.json()["error"] and "Traceback" not in r.text


def test_dicom_without_pixel_data_is_422(client, frame):
    import io

    import pydicom

    ds = pydicom.dcmread(io.BytesIO(dicom_bytes(frame)))
    del ds.PixelData
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    r = post(client, "report.dcm", buf.getvalue())
    assert r.status_code == 422 and "no pixel data" in r.json()["error"]


def test_missing_file_field_is_422_json(client):
    r = client.post("/api/measure", data={"pixel_size_mm": "0.1"})
    assert r.status_code == 422
    assert set(r.json()) == {"error"} and "file" in r.json()["error"]


def test_internal_error_is_json_without_traceback(tiny_checkpoint, frame):
    from fetalseg.inference.predictor import Predictor

    broken = Predictor(tiny_checkpoint, "torch")

    def fail(x):
        raise RuntimeError("secret internals /srv/model")

    broken.logits = fail  # type: ignore[method-assign]
    with TestClient(create_app(broken), raise_server_exceptions=False) as c:
        r = post(c, "scan.png", png_bytes(frame))
    assert r.status_code == 500
    assert r.json() == {"error": "internal error (RuntimeError); see the server log"}


def test_unknown_route_is_json_404(client):
    r = client.get("/api/nope")
    assert r.status_code == 404 and "error" in r.json()


def test_client_file_name_is_only_echoed(client, frame, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = post(client, "../../evil<b>.png", png_bytes(frame)).json()
    assert res["file"] == "evil<b>.png"  # its last component, for display only
    assert list(tmp_path.iterdir()) == []


def test_safe_name():
    from fetalseg.web.uploads import safe_name

    assert safe_name("C:\\scans\\a.png") == "a.png"
    assert safe_name("a\r\nb\x00.dcm") == "ab.dcm"
    assert safe_name(None) == safe_name("../") == "upload"
    assert len(safe_name("x" * 500)) == 120


def test_concurrent_requests_share_one_model(client, frame):
    """Requests on several threads at once: all answered, all the same (the model call is
    serialised by the lock)."""
    data = png_bytes(frame)
    results: list[dict] = []
    errors: list[BaseException] = []

    def work():
        try:
            for _ in range(2):
                results.append(post(client, "c.png", data, "0.1").json()["measurement"])
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 8
    assert all(json.dumps(r) == json.dumps(results[0]) for r in results)
