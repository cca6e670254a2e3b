"""Measuring needs no PyTorch: predict, serve and the API never import it (run in CI's core
venv, where torch is not installed, and in the full one, where it must stay unimported)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2

from fetalseg.data.synthetic import synthetic_frame

HEAVY = ("torch", "monai", "onnx", "safetensors")


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


def test_predict_and_the_api_import_no_torch(tmp_path: Path):
    image, _, _ = synthetic_frame(400, 300, rng=2)
    cv2.imwrite(str(tmp_path / "f.png"), image)
    code = f"""
import json, sys
from fetalseg.cli.main import main
rc = main(["predict", {str(tmp_path / "f.png")!r}, "--out", {str(tmp_path / "out")!r},
           "--pixel-size", "0.2", "--quiet"])
import fetalseg
r = fetalseg.measure({str(tmp_path / "f.png")!r}, 0.2)
print(json.dumps({{"rc": rc, "hc": r.hc_mm, "heavy": [m for m in {HEAVY!r} if m in sys.modules]}}))
"""
    out = _run(code)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["rc"] == 0 and got["hc"] > 0 and got["heavy"] == []
    assert (tmp_path / "out" / "measurements.csv").is_file()


def test_the_web_api_imports_no_torch(tmp_path: Path):
    image, _, _ = synthetic_frame(400, 300, rng=2)
    _, png = cv2.imencode(".png", image)
    (tmp_path / "f.png").write_bytes(png.tobytes())
    code = f"""
import json, sys
from fastapi.testclient import TestClient
from fetalseg.web.app import create_app
client = TestClient(create_app())
data = open({str(tmp_path / "f.png")!r}, "rb").read()
r = client.post("/api/measure", files={{"file": ("f.png", data, "image/png")}},
                data={{"pixel_size_mm": "0.2"}})
print(json.dumps({{"status": r.status_code, "hc": r.json()["measurement"]["hc_mm"],
                   "heavy": [m for m in {HEAVY!r} if m in sys.modules]}}))
"""
    out = _run(code)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["status"] == 200 and got["hc"] > 0 and got["heavy"] == []


def test_a_torch_command_without_torch_names_the_extra():
    code = """
import sys
sys.modules["torch"] = None  # as on the core install
import importlib.util
real = importlib.util.find_spec
importlib.util.find_spec = lambda name, *a: None if name == "torch" else real(name, *a)
from fetalseg.cli.main import main
sys.exit(main(["train", "--out", "/nonexistent/run"]))
"""
    out = _run(code)
    assert out.returncode == 2
    assert 'pip install "fetalseg[train]"' in out.stderr and "Traceback" not in out.stderr
