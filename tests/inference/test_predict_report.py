"""What ``fetalseg predict`` prints (fetalseg.inference.batch.report_lines) and ``--strict``."""

from __future__ import annotations

import cv2

from fetalseg.cli.common import EXIT_REJECTED
from fetalseg.cli.main import main
from fetalseg.data.synthetic import synthetic_frame
from fetalseg.inference.batch import report_lines


def row(name: str, verdict: str, hc: float | str = 180.0, size: float | str = 0.15) -> dict:
    mm = hc != ""
    reasons = "" if verdict == "good" else "unsure: The network is unsure. | truncated: Cut."
    return {
        "file": name,
        "status": "ok",
        "hc_mm": hc,
        "bpd_mm": 50.0 if mm else "",
        "ofd_mm": 62.0 if mm else "",
        "ga_weeks": 20.1 if mm else "",
        "ga_standard": "intergrowth21" if mm else "",
        "hc_px": 1200.0,
        "pixel_size_mm": size,
        "quality": verdict,
        "quality_reasons": reasons,
    }


def test_small_runs_get_a_line_per_file_with_the_first_reason():
    lines = report_lines([row("a.png", "good"), row("b.png", "check")])
    assert lines[0] == (
        "a.png: ok, HC 180.0 mm, BPD 50.0 mm, OFD 62.0 mm, GA 20.1 wk (INTERGROWTH-21st); good"
    )
    assert lines[1].endswith("; check (The network is unsure.)")  # the first reason only
    assert "Cut." not in lines[1]
    assert lines[2] == "quality: 1 good, 1 check"


def test_large_runs_get_a_summary_by_verdict():
    rows = [row(f"{i}.png", "good") for i in range(20)] + [row("x.png", "reject")]
    lines = report_lines(rows)
    assert lines == ["quality: 20 good, 1 reject"]


def test_missing_pixel_size_is_said():
    lines = report_lines([row("a.png", "check", hc="", size="")])
    assert "HC 1200 px (no pixel size)" in lines[0]
    assert lines[-1].startswith("1 of 1 images had no pixel size") and "px only" in lines[-1]


def test_error_rows_are_left_to_the_error_stream():
    err = {**row("bad.png", ""), "status": "error"}
    assert report_lines([err]) == []


def test_strict_exits_non_zero_on_a_reject(tiny_checkpoint, tmp_path, capsys):
    """The tiny checkpoint finds no head: ``no_head`` is a reject."""
    path = tmp_path / "f.png"
    cv2.imwrite(str(path), synthetic_frame(rng=0)[0])
    args = ["predict", str(path), "--checkpoint", str(tiny_checkpoint), "--quiet"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    assert "f.png: no_head, no head; reject (No head found" in out
    assert "no pixel size" in out
    assert main([*args, "--out", str(tmp_path / "b"), "--strict"]) == EXIT_REJECTED
