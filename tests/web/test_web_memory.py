"""The server's memory: uploads read only inside a request slot, memory trimmed when idle."""

from __future__ import annotations

import platform
import threading
import time

import pytest
from fastapi.testclient import TestClient
from web_helpers import png_bytes

from fetalseg.web import app as app_module
from fetalseg.web import memory
from fetalseg.web.app import create_app


def test_idle_trim_only_when_the_last_request_ends(monkeypatch):
    calls = []
    monkeypatch.setattr(memory, "release_free_memory", lambda: calls.append(1))
    trim = memory.IdleTrim()
    with trim.request():
        with trim.request():
            pass
        assert calls == []  # another request is still in progress
    assert calls == [1] and trim.trims == 1
    with pytest.raises(RuntimeError), trim.request():
        raise RuntimeError("a failed request")
    assert calls == [1, 1]


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only"
)
def test_glibc_calls_apply():
    assert memory.limit_malloc_arenas(8)  # 8 per core is glibc's own default: harmless here
    memory.release_free_memory()  # returns whether anything was freed; must not fail


@pytest.mark.parametrize("url", ["/api/measure", "/api/measure/batch", "/api/report"])
def test_upload_is_read_only_inside_a_slot(head_predictor, frame, monkeypatch, url):
    """``max_concurrent`` bounds the uploads held in memory: a request waiting for a slot has
    not read its file's bytes yet (it did before: 16 waiting clients held 16 uploads)."""
    reads = []
    real_read = app_module._read_upload
    monkeypatch.setattr(app_module, "_read_upload", lambda *a: reads.append(1) or real_read(*a))
    app = create_app(head_predictor, max_concurrent=1)
    field = "files" if url.endswith("batch") else "file"
    with TestClient(app) as client:
        answers = []
        with app.state.measurer.slot():  # the only slot is taken
            t = threading.Thread(
                target=lambda: answers.append(
                    client.post(url, files={field: ("a.png", png_bytes(frame), "image/png")})
                )
            )
            t.start()
            time.sleep(0.5)
            read_while_waiting = list(reads)
        t.join(timeout=30)
    assert read_while_waiting == []
    assert answers[0].status_code == 200 and reads == [1]
    assert app.state.measurer.idle_trim.trims >= 1
