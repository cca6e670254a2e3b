"""Clips round trip through an encoded video; live mode drops frames it cannot keep up with."""

import csv
import json
import time

import cv2
import numpy as np
import pytest

from fetalseg.cli.main import main
from fetalseg.data.dicom import encode_ultrasound_dicom
from fetalseg.data.synthetic import synthetic_frame
from fetalseg.inference.predictor import Predictor
from fetalseg.inference.video import _VideoWriter, is_clip, read_clip, run_live
from fetalseg.result import ClipResult, FrameResult, frame_result


def _frames(n):
    return [synthetic_frame(width=320, height=224, rng=i)[0] for i in range(n)]


def _write_clip(path, frames, fps=10):
    import cv2

    w = _VideoWriter(path, fps)
    for f in frames:
        w.write(cv2.cvtColor(f, cv2.COLOR_GRAY2BGR))
    w.close()


def test_clip_round_trip(tiny_checkpoint, tmp_path, capsys):
    clip = tmp_path / "clip.mp4"
    _write_clip(clip, _frames(6))
    frames, fps, _ = read_clip(clip)
    decoded = list(frames)
    assert len(decoded) == 6 and decoded[0].shape == (224, 320) and fps == pytest.approx(10)
    out = tmp_path / "out"
    rc = main(
        [
            "predict",
            str(clip),
            "--checkpoint",
            str(tiny_checkpoint),
            "--pixel-size",
            "0.2",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert rc == 0
    rows = list(csv.DictReader((out / "frames.csv").open()))
    assert [int(r["frame"]) for r in rows] == list(range(6))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_frames"] == 6
    assert len(list(read_clip(out / "annotated.mp4")[0])) == 6
    assert (
        main(
            [
                "predict",
                str(clip),
                "--checkpoint",
                str(tiny_checkpoint),
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 2
    )  # never overwrites without --overwrite
    capsys.readouterr()


def test_gif_and_frame_folder(tiny_checkpoint, tmp_path):
    from PIL import Image

    frames = _frames(3)
    gif = tmp_path / "c.gif"
    Image.fromarray(frames[0]).save(
        gif, save_all=True, append_images=[Image.fromarray(f) for f in frames[1:]]
    )
    assert len(list(read_clip(gif)[0])) == 3
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, f in enumerate(frames):
        Image.fromarray(f).save(folder / f"f{i:02d}.png")
    rc = main(
        [
            "predict",
            str(folder),
            "--clip",
            "--checkpoint",
            str(tiny_checkpoint),
            "--out",
            str(tmp_path / "o"),
            "--quiet",
        ]
    )
    assert rc == 0
    assert len(list(csv.DictReader((tmp_path / "o" / "frames.csv").open()))) == 3


def _dicom_clip(path, n=3, region_cm=None, frame_time_ms=40.0):
    """A multi-frame ultrasound DICOM of small synthetic frames (``FrameTime`` as given)."""
    import pydicom

    frames = np.stack([synthetic_frame(width=96, height=64, rng=i)[0] for i in range(n)])
    path.write_bytes(encode_ultrasound_dicom(frames, region_cm))
    ds = pydicom.dcmread(path)
    if frame_time_ms is None:
        del ds.FrameTime
    else:
        ds.FrameTime = frame_time_ms
    ds.save_as(path, enforce_file_format=True)
    return path, frames


def test_read_dicom_clip_frames_and_fps(tmp_path):
    path, frames = _dicom_clip(tmp_path / "cine.bin", frame_time_ms=50.0)  # any suffix
    assert is_clip(path)
    got, fps, count = read_clip(path)
    assert fps == pytest.approx(20.0) and count == 3
    np.testing.assert_array_equal(np.stack(list(got)), frames)
    path, _ = _dicom_clip(tmp_path / "no_time.dcm", frame_time_ms=None)
    assert read_clip(path)[1] == 25.0  # no FrameTime: the default
    single = tmp_path / "one.dcm"
    single.write_bytes(encode_ultrasound_dicom(frames[0]))
    assert not is_clip(single)  # one frame: an image
    broken = tmp_path / "broken.dcm"
    broken.write_bytes(single.read_bytes()[:200])
    assert not is_clip(broken)  # read as an image, which reports why


def _predict(path, checkpoint, out, *extra):
    argv = ["predict", str(path), "--checkpoint", str(checkpoint), "--out", str(out), "--quiet"]
    return main([*argv, *extra])


def test_multi_frame_dicom_is_a_clip_with_its_pixel_size(tiny_checkpoint, tmp_path, capsys):
    clip, _ = _dicom_clip(tmp_path / "cine.dcm", n=4, region_cm=(0.02, 0.03))
    out = tmp_path / "out"
    assert _predict(clip, tiny_checkpoint, out) == 0
    stdout = capsys.readouterr().out
    assert "pixel size 0.2 x 0.3 mm from the file (dicom ultrasound regions)" in stdout
    assert "no mm" not in stdout
    rows = list(csv.DictReader((out / "frames.csv").open()))
    assert [int(r["frame"]) for r in rows] == list(range(4))
    assert float(rows[1]["time_s"]) == pytest.approx(0.04)  # FrameTime 40 ms: 25 frames/s
    assert all(r["status"] == "error" or r["hc_mm"] != "" or r["hc_px"] == "" for r in rows)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_frames"] == 4
    assert summary["pixel_size_mm"] == pytest.approx([0.2, 0.3])
    assert summary["pixel_size_source"] == "dicom ultrasound regions"
    assert len(list(read_clip(out / "annotated.mp4")[0])) == 4
    # the file's own calibration wins over --pixel-size (one rule everywhere), with a note
    assert _predict(clip, tiny_checkpoint, out, "--pixel-size", "0.1", "--overwrite") == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["pixel_size_mm"] == pytest.approx([0.2, 0.3])
    assert "given pixel size 0.1 mm not used" in summary["note"]


def test_live_playback_of_a_dicom_clip_uses_its_pixel_size(tiny_checkpoint, tmp_path, capsys):
    clip, _ = _dicom_clip(tmp_path / "cine.dcm", n=3, region_cm=(0.02, 0.03), frame_time_ms=5.0)
    assert _predict(clip, tiny_checkpoint, tmp_path / "out", "--live") == 0
    assert "pixel size 0.2 x 0.3 mm from the file" in capsys.readouterr().out
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["pixel_size_mm"] == pytest.approx([0.2, 0.3])
    assert summary["pixel_size_source"] == "dicom ultrasound regions"
    plain, _ = _dicom_clip(tmp_path / "plain.dcm", n=3, frame_time_ms=5.0)
    assert _predict(plain, tiny_checkpoint, tmp_path / "o2", "--live", "--pixel-size", "0.1") == 0
    summary = json.loads((tmp_path / "o2" / "summary.json").read_text())
    assert (summary["pixel_size_mm"], summary["pixel_size_source"]) == ([0.1, 0.1], "--pixel-size")


def test_uncalibrated_dicom_clip_is_px_only(tiny_checkpoint, tmp_path, capsys):
    clip, _ = _dicom_clip(tmp_path / "cine.dcm", n=2)
    assert _predict(clip, tiny_checkpoint, tmp_path / "out") == 0
    assert "no mm" in capsys.readouterr().out
    rows = list(csv.DictReader((tmp_path / "out" / "frames.csv").open()))
    assert all(r["hc_mm"] == "" and r["ga_weeks"] == "" for r in rows)
    assert all(r["hc_px"] == "" or "px only" in r["message"] for r in rows)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["pixel_size_mm"] is None and summary["hc_mm"] is None


def test_corrupt_video_is_a_clear_error(tmp_path, tiny_checkpoint, capsys):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 100)
    assert (
        main(
            [
                "predict",
                str(bad),
                "--checkpoint",
                str(tiny_checkpoint),
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "bad.mp4" in err and "Traceback" not in err


def test_live_mode_drops_frames_and_counts_them(tiny_checkpoint):
    predictor = Predictor(tiny_checkpoint, "torch")
    slow = predictor.predict

    def slow_predict(frame, px):
        time.sleep(0.05)  # inference slower than the source
        return slow(frame, px)

    predictor.predict = slow_predict
    frames = _frames(2)

    def fast_source():
        for i in range(40):
            time.sleep(0.005)  # ~200 frames/s
            yield frames[i % 2]

    stats = run_live(predictor, fast_source(), 0.2)
    assert stats.received == 40
    assert stats.dropped > 0
    assert stats.processed + stats.dropped == stats.received
    indices = [r.index for r in stats.results]
    assert indices == sorted(indices) and indices[-1] == 39  # always the newest frame


def test_live_mode_keeps_every_frame_when_it_keeps_up(tiny_checkpoint):
    import threading

    predictor = Predictor(tiny_checkpoint, "torch")
    frames = _frames(1)
    measured = threading.Event()

    def paced_source():  # the next frame arrives only once the last one was measured
        for _ in range(5):
            yield frames[0]
            assert measured.wait(timeout=60)
            measured.clear()

    stats = run_live(predictor, paced_source(), None, on_result=lambda *_: measured.set())
    assert (stats.received, stats.processed, stats.dropped) == (5, 5, 0)


def test_summary_is_median_over_frames_with_a_head():
    from fetalseg.biometry import measure_head

    def head(a: float) -> FrameResult:  # an ellipse of semi-axes a, 0.8a px at 1 mm per px
        mask = np.zeros((400, 400), np.uint8)
        cv2.ellipse(mask, (200, 200), (int(a), int(0.8 * a)), 0, 0, 360, 1, -1)
        return frame_result(mask, measure_head(mask, 1.0), (1.0, 1.0), "test")

    empty = frame_result(np.zeros((400, 400), np.uint8), None, None)
    frames = [head(a) for a in (30, 31, 80)] + [empty]
    for i, f in enumerate(frames):
        f.index = i
    s = ClipResult(frames, (1.0, 1.0), "test").to_dict()
    hc = [f.hc_mm for f in frames[:3]]
    assert s["n_frames"] == 4 and s["frames_with_head"] == 3
    assert s["hc_mm"] == pytest.approx(hc[1]) and s["key_frame"] == 1
    assert s["hc_sd"] == pytest.approx(np.std(hc, ddof=1))


def test_dicom_clip_without_the_video_extra_writes_png_frames(
    tiny_checkpoint, tmp_path, monkeypatch
):
    """The core install has no PyAV: a DICOM clip is still measured, its annotated frames
    written as PNGs instead of annotated.mp4."""
    from fetalseg.inference import video

    monkeypatch.setattr(video, "has_extra", lambda extra: extra != "video")
    clip, _ = _dicom_clip(tmp_path / "cine.dcm", n=3, region_cm=(0.02, 0.02))
    out = tmp_path / "out"
    assert _predict(clip, tiny_checkpoint, out) == 0
    assert not (out / "annotated.mp4").exists()
    assert sorted(p.name for p in (out / "overlays").iterdir()) == [
        "frame_0000.png",
        "frame_0001.png",
        "frame_0002.png",
    ]
    assert json.loads((out / "summary.json").read_text())["n_frames"] == 3
