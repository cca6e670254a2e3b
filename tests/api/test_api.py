"""The public API on the shipped model (default backend: int8 on OpenVINO, no PyTorch).

These tests run in the core install too (CI's torch-free venv)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

import fetalseg
from fetalseg.data.dicom import encode_ultrasound_dicom
from fetalseg.data.synthetic import synthetic_frame

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture(scope="module")
def model() -> fetalseg.Model:
    return fetalseg.load()


@pytest.fixture(scope="module")
def frame() -> np.ndarray:
    image, _, _ = synthetic_frame(400, 300, rng=3)
    return image


def test_public_names_are_listed_and_lazy():
    code = "import sys, fetalseg; print('fetalseg.api' in sys.modules, 'cv2' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]  # import fetalseg does no work
    for name in fetalseg.__all__:
        assert getattr(fetalseg, name) is not None
    with pytest.raises(AttributeError):
        fetalseg.no_such_name  # noqa: B018


def test_measure_array_path_and_frame_agree(model, frame, tmp_path):
    by_array = model.measure(frame, pixel_size_mm=0.2)
    assert by_array.status == "ok" and by_array.found
    assert by_array.pixel_size_source == "pixel_size_mm" and by_array.pixel_size_mm == (0.2, 0.2)
    path = tmp_path / "f.png"
    cv2.imwrite(str(path), frame)
    by_path = model.measure(path, 0.2)
    by_frame = model.measure(fetalseg.read_frame(path), 0.2)
    assert by_path.name == "f.png"
    assert by_path.hc_mm == pytest.approx(by_array.hc_mm) == pytest.approx(by_frame.hc_mm)
    assert set(by_path.timings_ms) == {"pre", "model", "post", "quality"}
    assert by_path.verdict in ("good", "check", "reject")


def test_no_pixel_size_gives_px_only(model, frame):
    r = model.measure(frame)
    assert r.hc_mm is None and r.ga_weeks is None and r.px()["hc_px"] > 0
    assert "px only" in r.message and r.to_dict()["pixel_size_mm"] is None


def test_dicom_calibration_wins_and_the_note_says_so(model, frame, tmp_path):
    path = tmp_path / "a.dcm"
    path.write_bytes(encode_ultrasound_dicom(frame, (0.02, 0.02)))  # 0.2 mm per px
    f = fetalseg.read_frame(path)
    assert f.pixel_size_mm == pytest.approx((0.2, 0.2))
    r = model.measure(path, pixel_size_mm=0.5)
    assert r.pixel_size_mm == pytest.approx((0.2, 0.2))
    assert r.pixel_size_source == "dicom ultrasound regions"
    assert "0.5 mm not used" in r.note


@pytest.mark.parametrize(
    "convert",
    [
        lambda g: g.astype(np.float32) / 255.0,  # float in [0, 1]
        lambda g: g.astype(np.uint16) * 257,  # 16-bit
        lambda g: np.dstack([g, g, g]),  # RGB
        lambda g: np.dstack([g, g, g, np.full_like(g, 255)]),  # RGBA
        lambda g: g[..., None],  # (H, W, 1)
    ],
)
def test_array_inputs_are_converted(model, frame, convert):
    expected = model.measure(frame, 0.2).hc_mm
    assert model.measure(convert(frame), 0.2).hc_mm == pytest.approx(expected, rel=0.01)


@pytest.mark.parametrize(
    "bad, words",
    [
        (np.zeros((300, 400), np.float32) + 300.0, "outside [0, 1] and [0, 255]"),
        (np.zeros((300, 400), bool), "mask, not an image"),
        (np.zeros((300, 400, 5), np.uint8), "got shape"),
        (np.zeros((300, 400), np.int64) - 5, "outside 0-255"),
        (np.full((300, 400), np.nan, np.float32), "NaN"),
        ([[1, 2], [3, 4]], "expected a NumPy array"),
    ],
)
def test_bad_arrays_are_refused_with_a_clear_error(model, bad, words):
    with pytest.raises(fetalseg.InputError, match=words.replace("[", r"\[").replace("]", r"\]")):
        model.measure(bad)


def test_channel_order_does_not_matter(model, frame):
    colour = np.dstack([frame, frame // 2, frame // 3])
    assert model.measure(colour, 0.2).hc_mm == pytest.approx(
        model.measure(colour[..., ::-1].copy(), 0.2).hc_mm
    )


def test_module_level_measure_reuses_one_model(frame):
    a = fetalseg.measure(frame, 0.2)
    b = fetalseg.measure(frame, 0.2)
    assert a.hc_mm == b.hc_mm
    from fetalseg import api

    assert len(api._default) == 1


def test_measure_clip_from_arrays_and_dicom(model, tmp_path):
    frames = [synthetic_frame(200, 160, rng=i)[0] for i in range(3)]
    clip = model.measure_clip(frames, pixel_size_mm=0.3)
    d = clip.to_dict()
    assert d["n_frames"] == 3 and [f.index for f in clip.frames] == [0, 1, 2]
    assert d["pixel_size_source"] == "pixel_size_mm"
    path = tmp_path / "cine.dcm"
    path.write_bytes(encode_ultrasound_dicom(np.stack(frames), (0.02, 0.03)))
    clip = model.measure_clip(path)
    assert clip.pixel_size_mm == pytest.approx((0.2, 0.3))
    assert clip.pixel_size_source == "dicom ultrasound regions"
    with pytest.raises(fetalseg.InputError, match="no frames"):
        model.measure_clip([])


def test_missing_file_is_an_input_error(model, tmp_path):
    with pytest.raises(fetalseg.InputError, match=r"nope\.png"):
        model.measure(tmp_path / "nope.png")


@pytest.mark.parametrize("size", [5.0, 0.0, -0.1, float("nan"), (0.1, 3.0), 0.001])
def test_implausible_pixel_size_is_refused_as_on_the_cli(model, frame, size):
    """The API took any size (5 mm gave HC in metres): one range, 0.02-1 mm, everywhere."""
    with pytest.raises(fetalseg.InputError, match=r"pixel_size_mm: pixel size .* plausible"):
        model.measure(frame, size)
    with pytest.raises(fetalseg.InputError, match="plausible"):
        model.measure_clip([frame], size)


def test_the_readme_python_example_runs(tmp_path, monkeypatch):
    """The README's ``python`` block, run as written (with its file names made here: an HC18
    path relative to the repository root, and a clip)."""
    text = README.read_text(encoding="utf-8")
    start = text.index("```python\n") + len("```python\n")
    code = text[start : text.index("```", start)]
    image, _, _ = synthetic_frame(400, 300, rng=1)
    hc18 = tmp_path / "shared" / "hc18" / "test_set"
    hc18.mkdir(parents=True)
    cv2.imwrite(str(hc18 / "001_HC.png"), image)
    repo = tmp_path / "repo"
    repo.mkdir()
    clip = np.stack([image, image])
    (repo / "sweep.dcm").write_bytes(encode_ultrasound_dicom(clip, (0.015, 0.015)))
    monkeypatch.chdir(repo)
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    result = namespace["result"]
    assert isinstance(result, fetalseg.FrameResult) and result.hc_mm is not None
    assert isinstance(namespace["clip"], fetalseg.ClipResult)
