"""End to end: the real server on a loopback port, and the page driven in headless Chromium.

The browser is Debian's ``chromium`` (``/usr/bin/chromium``, installed by ``.ci/run``), driven by
the ``playwright`` package (its own browser downloads are not used). Set
``FETALSEG_SCREENSHOT=/path/shot.png`` to keep a screenshot of the measured page (with a known
GA), ``FETALSEG_REPORT_SCREENSHOT=/path/report.png`` for one of the report it downloads, and
``FETALSEG_CLIP_SCREENSHOT=/path/clip.png`` for the clip view.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import socket
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
import uvicorn
from playwright.sync_api import sync_playwright

from fetalseg.data.dicom import encode_ultrasound_dicom
from fetalseg.data.synthetic import synthetic_frame
from fetalseg.inference.predictor import Predictor
from fetalseg.web.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PIXEL_SIZE = 0.15
GA = "20+3"


def loopback_socket() -> socket.socket:
    """A socket bound to a free loopback port (handed to the server: no port race)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextlib.contextmanager
def running_server(app) -> Iterator[str]:
    """uvicorn in a thread, serving ``app`` on a free loopback port; its base URL."""
    sock = loopback_socket()
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()


def truth_predictor(checkpoint: Path, truth_mask: np.ndarray) -> Predictor:
    """The tiny checkpoint's predictor whose network output is the frame's true head (soft,
    at the network size): the rest of the pipeline is real, and the page shows a sensible
    contour (the two-step checkpoint itself finds no head)."""
    p = Predictor(checkpoint, "torch")
    w, h = p.size
    frac = cv2.resize(truth_mask.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA)
    logits = ((frac - 0.5) * 16.0).astype(np.float32)
    p.logits = lambda x: np.repeat(logits[None], x.shape[0], axis=0)  # type: ignore[method-assign]
    return p


def shown(page, element_id: str) -> str:
    return page.locator(f"#{element_id}").inner_text().strip()


@pytest.mark.slow  # a server process / a browser
def test_page_in_headless_chromium(tiny_checkpoint, tmp_path):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium)")

    image, mask, truth = synthetic_frame(rng=7)
    png = tmp_path / "synthetic_head.png"
    cv2.imwrite(str(png), image)
    bad = tmp_path / "notes.png"
    bad.write_bytes(b"not an image, whatever the name says")
    app = create_app(truth_predictor(tiny_checkpoint, mask))
    errors: list[str] = []

    with running_server(app) as url, sync_playwright() as pw:
        api = httpx.post(
            f"{url}/api/measure",
            files={"file": (png.name, png.read_bytes(), "image/png")},
            data={"pixel_size_mm": str(PIXEL_SIZE)},
            timeout=60,
        ).json()
        api_px = httpx.post(
            f"{url}/api/measure", files={"file": (png.name, png.read_bytes())}, timeout=60
        ).json()
        m = api["measurement"]
        assert m["status"] == "ok", m
        # the pipeline around the network is exact: HC within 1 % of the truth
        true_hc = PIXEL_SIZE * np.pi * (truth.semi_major + truth.semi_minor)
        assert abs(m["hc_mm"] / true_hc - 1) < 0.05

        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900}, accept_downloads=True)
            page.set_default_timeout(30_000)
            page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
            page.on(
                "console",
                lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None,
            )
            page.goto(url)
            page.wait_for_function(
                "() => document.getElementById('model-info').textContent.includes('bisenet')"
            )

            # 1. Choose the file with no pixel size: px only, clearly marked.
            page.set_input_files("#file-input", str(png))
            page.wait_for_function(
                "() => document.getElementById('pixel-size-source').dataset.source === 'unknown'"
            )
            assert "unknown" in shown(page, "pixel-size-source")
            assert shown(page, "hc") == f"{api_px['measurement']['hc_px']:.0f}"
            assert shown(page, "hc-unit") == "px"
            assert shown(page, "ga") == "—"
            assert page.locator("#overlay").is_visible()

            # 2. Enter the pixel size and measure: mm and GA, equal to the API's numbers.
            page.fill("#pixel-size", str(PIXEL_SIZE))
            page.click("#measure-btn")
            page.wait_for_function(
                "() => document.getElementById('pixel-size-source').dataset.source === 'user'"
            )
            assert shown(page, "status") == "Measured."
            for key in ("hc", "bpd", "ofd"):
                assert abs(float(shown(page, key)) - m[f"{key}_mm"]) <= 0.05 + 1e-9, key
                assert shown(page, f"{key}-unit") == "mm"
            ga = api["clinical"]["ga_estimate"]  # by INTERGROWTH-21st, the default standard
            assert abs(float(shown(page, "ga")) - ga["weeks"]) <= 0.05 + 1e-9
            assert "INTERGROWTH-21st" in shown(page, "ga-by")
            verdict = m["quality"]
            assert page.locator("#verdict").get_attribute("data-verdict") == verdict
            assert shown(page, "verdict-word").startswith("Quality:")
            assert shown(page, "ga-unit") == "weeks"
            assert "entered" in shown(page, "pixel-size-source")
            natural = page.evaluate("() => document.getElementById('overlay').naturalWidth")
            assert natural == image.shape[1]

            # 2b. The known GA: centiles and growth charts beside the numbers, as the API says.
            with_ga = httpx.post(
                f"{url}/api/measure",
                files={"file": (png.name, png.read_bytes(), "image/png")},
                data={"pixel_size_mm": str(PIXEL_SIZE), "ga": GA},
                timeout=60,
            ).json()["clinical"]
            page.fill("#ga-input", GA)
            page.press("#ga-input", "Enter")
            page.wait_for_function(
                "() => document.getElementById('hc-centile').textContent.includes('centile')"
            )
            hc_c = with_ga["centiles"]["hc"]
            assert f"centile {hc_c['centile_text']}" in shown(page, "hc-centile")
            for key in ("hc", "bpd", "ofd"):
                assert page.locator(f"#{key}-growth").is_visible()
            assert "Known GA 20w3d" in shown(page, "known-ga")
            if shot := os.environ.get("FETALSEG_SCREENSHOT"):
                page.screenshot(path=shot, full_page=True)

            # 2c. Report and DICOM downloads, made by the server for this file and GA.
            with page.expect_download() as dl:
                page.click("#download-report")
            assert dl.value.suggested_filename == "synthetic_head_report.html"
            report = Path(dl.value.path()).read_text()
            assert "20w3d" in report and "INTERGROWTH-21st" in report
            if shot := os.environ.get("FETALSEG_REPORT_SCREENSHOT"):
                report_page = browser.new_page(viewport={"width": 1200, "height": 900})
                report_page.set_content(report)
                report_page.screenshot(path=shot, full_page=True)
                report_page.close()
            with page.expect_download() as dl:
                page.click("#download-dicom")
            names = zipfile.ZipFile(dl.value.path()).namelist()
            assert sorted(names) == ["sc.dcm", "seg.dcm", "sr.dcm"]

            # 3. Downloads: the CSV holds the same numbers; the PNG is the server's overlay.
            with page.expect_download() as dl:
                page.click("#download-csv")
            rows = list(csv.DictReader(io.StringIO(Path(dl.value.path()).read_text())))
            assert len(rows) == 1 and rows[0]["file"] == png.name
            assert float(rows[0]["hc_mm"]) == pytest.approx(m["hc_mm"])
            assert rows[0]["pixel_size_source"] == "user"
            with page.expect_download() as dl:
                page.click("#download-png")
            overlay = cv2.imread(dl.value.path())
            assert overlay.shape == (*image.shape, 3)
            with page.expect_download() as dl:
                page.click("#download-json")
            assert dl.value.suggested_filename == "synthetic_head.json"
            assert "overlay_png" not in Path(dl.value.path()).read_text()

            # 4. A file that is not an image: the server's message, no numbers left behind.
            page.set_input_files("#file-input", str(bad))
            page.wait_for_function(
                "() => document.getElementById('status').classList.contains('error')"
            )
            assert "not a readable image" in shown(page, "status")
            assert shown(page, "hc") == "—"
            assert not page.locator("#overlay").is_visible()  # the old overlay is gone
            assert page.locator("#verdict").get_attribute("data-verdict") == ""
            assert not page.locator("#hc-growth").is_visible()
            # the pixel size typed for the first file was not carried over, and it says so
            assert page.input_value("#pixel-size") == ""
            assert "typed for synthetic_head.png was cleared" in shown(page, "pixel-size-carry")
        finally:
            browser.close()
    # the failed upload's 422 is logged by Chromium as a failed resource: nothing else
    assert [e for e in errors if "422" not in e] == []


def clip_predictor(checkpoint: Path, frames: list[tuple[np.ndarray, np.ndarray]]) -> Predictor:
    """Like :func:`truth_predictor` for a clip: each frame's network output is that frame's
    true head (frames told apart by their network input)."""
    p = Predictor(checkpoint, "torch")
    w, h = p.size
    table = []
    for image, mask in frames:
        frac = cv2.resize(mask.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA)
        table.append((p.preprocess(image)[0], ((frac - 0.5) * 16.0).astype(np.float32)))

    def logits(x: np.ndarray) -> np.ndarray:
        return next(lk[None] for xk, lk in table if xk.shape == x.shape and np.allclose(xk, x))

    p.logits = logits  # type: ignore[method-assign]
    return p


@pytest.mark.slow  # a server process / a browser
def test_clip_view_shows_the_verdict_best_frame_and_disagreement(tiny_checkpoint, tmp_path):
    """A DICOM clip of four different heads: the page shows the clip's verdict, its best
    frame and a warning that the frames disagree, as the API's summary says."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium)")
    made = [synthetic_frame(rng=k)[:2] for k in (0, 2, 4, 6)]  # HC about 186, 136, 234, 174 mm
    clip = tmp_path / "sweep.dcm"
    clip.write_bytes(encode_ultrasound_dicom(np.stack([f for f, _ in made]), (0.015, 0.015)))
    app = create_app(clip_predictor(tiny_checkpoint, made))
    errors: list[str] = []
    with running_server(app) as url, sync_playwright() as pw:
        api = httpx.post(
            f"{url}/api/measure", files={"file": (clip.name, clip.read_bytes())}, timeout=60
        ).json()
        s = api["summary"]
        assert s["frames_disagree"] and s["best_frame"] is not None, s
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.set_default_timeout(30_000)
            page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
            page.goto(url)
            page.set_input_files("#file-input", str(clip))
            page.wait_for_function("() => !document.getElementById('clip-summary').hidden")
            assert page.locator("#clip-verdict").get_attribute("data-verdict") == s["quality"]
            assert page.locator("#verdict").get_attribute("data-verdict") == s["quality"]
            assert shown(page, "verdict-word").startswith("Clip")
            assert page.locator("#clip-disagree").is_visible()
            assert "disagree" in shown(page, "clip-disagree")
            assert page.locator("#clip-best").get_attribute("data-frame") == str(s["best_frame"])
            assert f"frame {s['best_frame'] + 1}" in shown(page, "clip-best")
            assert page.locator("#frames-table tbody tr").count() == 4
            assert page.locator("#frames-table tr.best").count() == 1
            assert abs(float(shown(page, "ga")) - s["ga_weeks"]) <= 0.05 + 1e-9
            assert "INTERGROWTH-21st" in shown(page, "ga-by")  # the GA names its standard
            if shot := os.environ.get("FETALSEG_CLIP_SCREENSHOT"):
                page.screenshot(path=shot, full_page=True)
        finally:
            browser.close()
    assert errors == []


@pytest.mark.slow  # a server process / a browser
def test_serve_command_starts_and_answers(tiny_checkpoint, tmp_path):
    """``fetalseg serve`` in a subprocess on a free loopback port: health, info, page, one
    measurement (the two-step checkpoint finds no head: px and mm fields all null)."""
    with contextlib.closing(loopback_socket()) as s:
        port = s.getsockname()[1]
    cmd = [
        sys.executable,
        "-m",
        "fetalseg.cli.main",
        "serve",
        "--checkpoint",
        str(tiny_checkpoint),
        "--backend",
        "torch",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "fetalseg serve did not answer in 90 s"
            time.sleep(0.2)
        info = httpx.get(f"{url}/api/info").json()
        assert info["model"]["source"] == tiny_checkpoint.name and info["backend"] == "torch"
        assert 'id="hc"' in httpx.get(url).text
        image = synthetic_frame(width=200, height=150, rng=1)[0]
        _, buf = cv2.imencode(".png", image)
        r = httpx.post(
            f"{url}/api/measure",
            files={"file": ("f.png", buf.tobytes())},
            data={"pixel_size_mm": "0.2"},
            timeout=60,
        )
        assert r.status_code == 200 and r.json()["pixel_size_source"] == "user"
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:  # pragma: no cover
            proc.kill()
            proc.wait()
