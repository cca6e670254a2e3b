"""Findings of an independent probe (issue 17), each reproduced here before it was fixed.

Security (pickles, Host/Origin, slow clients), crashes and tracebacks, silently wrong values,
the one rule for results on disk and the exit code, and memory bounded by decoded size.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import torch
from cli_helpers import assert_user_error, run

from fetalseg.errors import InputError
from fetalseg.training.checkpoint import load_checkpoint

# ---------------------------------------------------------------- security: pickles


class _Payload:
    """Unpickling this creates the file named ``marker``: code run by ``torch.load``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _evil_checkpoint(tmp_path: Path) -> tuple[Path, Path]:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"model": {}, "config": {}, "x": _Payload(marker)}, path)
    return path, marker


def test_a_pickle_payload_in_a_checkpoint_does_not_run(tmp_path):
    path, marker = _evil_checkpoint(tmp_path)
    with pytest.raises(InputError, match=r"evil\.pt"):
        load_checkpoint(path)
    assert not marker.exists()


@pytest.mark.parametrize("command", ["predict", "export", "serve"])
def test_commands_refuse_a_pickle_payload(command, tmp_path, capsys):
    path, marker = _evil_checkpoint(tmp_path)
    argv = {
        "predict": ["predict", tmp_path / "x.png", "--out", tmp_path / "o"],
        "export": ["export", "--format", "safetensors", "--out", tmp_path / "o.safetensors"],
        "serve": ["serve", "--port", _free_port()],
    }[command]
    if command == "predict":
        (tmp_path / "x.png").write_bytes(b"")
    rc, err = run([*argv, "--checkpoint", path], capsys)
    assert_user_error(rc, err, "evil.pt")
    assert not marker.exists()


def test_our_own_checkpoints_still_load(tiny_checkpoint):
    ckpt = load_checkpoint(tiny_checkpoint)
    assert {"model", "config", "optimizer", "rng", "epoch"} <= set(ckpt)


def _checkpoint_with(tmp_path: Path, tiny_checkpoint: Path, edit) -> Path:
    ckpt = torch.load(tiny_checkpoint, weights_only=True)
    edit(ckpt)
    path = tmp_path / "edited.pt"
    torch.save(ckpt, path)
    return path


@pytest.mark.parametrize(
    "edit",
    [
        lambda c: c.pop("config"),
        lambda c: c["config"].pop("model"),
        lambda c: c["config"]["data"].pop("width"),
        lambda c: c["config"]["data"].update(width="64"),
        lambda c: c["config"].update(model=[1]),
        lambda c: c["config"]["model"].update(name="resnet9000"),
        lambda c: c.update(model={"x": 1}),
        lambda c: c["model"].update({next(iter(c["model"])): torch.zeros(1, 2, 3)}),
    ],
    ids=[
        "no-config",
        "no-model-section",
        "no-width",
        "str-width",
        "list-model",
        "bad-name",
        "not-state-dict",
        "wrong-shape",
    ],
)
def test_checkpoint_with_bad_config_or_model(edit, tiny_checkpoint, tmp_path, capsys):
    path = _checkpoint_with(tmp_path, tiny_checkpoint, edit)
    (tmp_path / "x.png").write_bytes(b"")
    rc, err = run(
        ["predict", tmp_path / "x.png", "--checkpoint", path, "--out", tmp_path / "o"], capsys
    )
    assert_user_error(rc, err, "edited.pt")


@pytest.mark.parametrize(
    "meta",
    [
        {"config": "{not json"},
        {"config": "{}"},
        {"config": '{"model": {"name": "bisenet"}}'},
        {"config": "[]", "info": "x"},
    ],
)
def test_safetensors_with_bad_metadata(meta, tmp_path, capsys):
    from safetensors.torch import save_file

    path = tmp_path / "bad.safetensors"
    save_file({"w": torch.zeros(1)}, str(path), metadata=meta)
    (tmp_path / "x.png").write_bytes(b"")
    rc, err = run(
        ["predict", tmp_path / "x.png", "--checkpoint", path, "--out", tmp_path / "o"], capsys
    )
    assert_user_error(rc, err, "bad.safetensors")


# ---------------------------------------------------------------- security: the web server


@pytest.fixture(scope="module")
def predictor(tiny_checkpoint):
    from fetalseg.inference.predictor import Predictor

    return Predictor(tiny_checkpoint, "torch")


def _png(width: int = 96, height: int = 64) -> bytes:
    import cv2
    import numpy as np

    _ok, buf = cv2.imencode(".png", np.full((height, width), 90, np.uint8))
    return buf.tobytes()


@pytest.fixture(scope="module")
def guarded(predictor):
    from fastapi.testclient import TestClient

    from fetalseg.web.app import create_app
    from fetalseg.web.guard import default_allowed_hosts

    app = create_app(predictor, allowed_hosts=default_allowed_hosts("127.0.0.1"))
    return TestClient(app, base_url="http://127.0.0.1:8000")


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example"])
def test_foreign_host_is_refused(host, guarded):
    r = guarded.get("/api/health", headers={"host": host})
    assert r.status_code == 400 and "Host" in r.json()["error"]


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost:8000", "[::1]:8000", "LOCALHOST"])
def test_own_host_is_served(host, guarded):
    assert guarded.get("/api/health", headers={"host": host}).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "http://evil.example"},
        {"origin": "null"},
        {"origin": "http://127.0.0.1:9999"},
        {"sec-fetch-site": "cross-site"},
    ],
)
def test_cross_origin_post_is_refused(headers, guarded):
    r = guarded.post("/api/measure", files={"file": ("a.png", _png())}, headers=headers)
    assert r.status_code == 403, r.text


def test_same_origin_post_and_allowed_origin_are_served(guarded, predictor):
    from fastapi.testclient import TestClient

    from fetalseg.web.app import create_app

    r = guarded.post(
        "/api/measure",
        files={"file": ("a.png", _png())},
        headers={"origin": "http://127.0.0.1:8000", "sec-fetch-site": "same-origin"},
    )
    assert r.status_code == 200, r.text
    app = create_app(
        predictor, allowed_hosts=["scan.example"], allowed_origins=["https://portal.example"]
    )
    c = TestClient(app, base_url="http://scan.example")
    r = c.post(
        "/api/measure",
        files={"file": ("a.png", _png())},
        headers={"origin": "https://portal.example"},
    )
    assert r.status_code == 200, r.text


def test_multipart_body_cut_before_its_last_field_is_refused(guarded):
    boundary = "XyZ123"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + _png()
        + (
            f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="pixel_size_mm"\r\n\r\n0.2'
        ).encode()
    )
    headers = {"content-type": f"multipart/form-data; boundary={boundary}"}
    r = guarded.post("/api/measure", content=body, headers=headers)
    assert r.status_code == 400 and "incomplete" in r.json()["error"]
    r = guarded.post(
        "/api/measure", content=body + f"\r\n--{boundary}--\r\n".encode(), headers=headers
    )
    assert r.status_code == 200 and r.json()["pixel_size_mm"] == {"x": 0.2, "y": 0.2}


@pytest.fixture
def live_server(predictor):
    """``fetalseg serve``'s uvicorn config on 127.0.0.1 with short timeouts, in a thread."""
    import threading
    import time

    import uvicorn

    from fetalseg.web.app import create_app
    from fetalseg.web.guard import default_allowed_hosts, server_config

    app = create_app(
        predictor,
        allowed_hosts=default_allowed_hosts("127.0.0.1"),
        body_timeout_s=1.5,
        idle_timeout_s=0.5,
    )
    port = _free_port()
    server = uvicorn.Server(
        server_config(
            app, "127.0.0.1", port, header_timeout_s=0.5, max_connections=8, log_level="critical"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.02)
    yield port
    server.should_exit = True
    thread.join(10)


def _read_until_closed(sock: socket.socket, limit_s: float) -> tuple[bytes, float]:
    import time

    t0 = time.perf_counter()
    sock.settimeout(limit_s)
    data = b""
    try:
        while chunk := sock.recv(4096):
            data += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return data, time.perf_counter() - t0


def test_slow_headers_are_cut(live_server):
    with socket.create_connection(("127.0.0.1", live_server)) as s:
        s.sendall(b"POST /api/measure HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never finished
        data, seconds = _read_until_closed(s, 5)
    assert data.startswith(b"HTTP/1.1 408") and seconds < 2


def test_slow_body_is_cut(live_server):
    with socket.create_connection(("127.0.0.1", live_server)) as s:
        s.sendall(
            b"POST /api/measure HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n--b"
        )
        data, seconds = _read_until_closed(s, 5)
    assert b" 408 " in data.split(b"\r\n")[0] and seconds < 2, data


def test_connections_are_capped(live_server):
    socks = [socket.create_connection(("127.0.0.1", live_server)) for _ in range(8)]
    try:
        with socket.create_connection(("127.0.0.1", live_server)) as s:
            s.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            data, _ = _read_until_closed(s, 3)
        assert data.startswith(b"HTTP/1.1 503"), data
    finally:
        for s in socks:
            s.close()
