"""The clip summary (fetalseg.result.ClipResult) on synthetic frame results: good frames only,
disagreeing frames flagged, the best frame of a sweep."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from fetalseg.biometry import measure_head
from fetalseg.quality import CHECK, GOOD, REJECT, Features, Quality, Reason
from fetalseg.result import DISAGREE_SD_MM, ClipResult, FrameResult, frame_grade, frame_result

FEATURES = Features(content_fraction=0.6, content_mean=60.0, content_std=30.0, noise=5.0)


def head(a: float, verdict: str = GOOD, dice: float = 0.99, code: str = "unsure") -> FrameResult:
    """A frame with an ellipse of semi-axes ``a``, ``0.8 a`` px at 1 mm per px, judged
    ``verdict`` (one reason ``code`` unless good) with ``ellipse_dice`` ``dice``."""
    mask = np.zeros((500, 500), np.uint8)
    cv2.ellipse(mask, (250, 250), (int(a), int(0.8 * a)), 0, 0, 360, 1, -1)
    reasons = () if verdict == GOOD else (Reason(code, verdict, f"{code} ({verdict})"),)
    q = Quality(verdict, reasons, dataclasses.replace(FEATURES, ellipse_dice=dice))
    return frame_result(mask, measure_head(mask, 1.0), (1.0, 1.0), "test", quality=q)


def clip(frames: list[FrameResult], size=(1.0, 1.0)) -> ClipResult:
    for i, f in enumerate(frames):
        f.index = i
    return ClipResult(frames, size, "test")


def test_only_good_frames_make_the_median():
    frames = [head(30), head(31), head(32), head(80, CHECK), head(100, REJECT)]
    s = clip(frames).to_dict()
    assert s["good_frames"] == 3 and s["frames_used"] == 3 and s["frames_with_head"] == 5
    assert s["hc_mm"] == pytest.approx(frames[1].hc_mm)
    assert s["hc_max"] == pytest.approx(frames[2].hc_mm)  # the check / reject frames left out
    assert s["quality"] == GOOD and not s["frames_disagree"] and s["quality_reasons"] == []
    assert "3 good frames" in s["message"]


def test_without_good_frames_the_check_frames_are_used_and_said():
    s = clip([head(30, CHECK), head(31, CHECK), head(60, REJECT)]).to_dict()
    assert s["good_frames"] == 0 and s["frames_used"] == 2 and s["quality"] == CHECK
    assert [r["code"] for r in s["quality_reasons"]] == ["no_good_frames"]
    assert s["hc_mm"] is not None and "check frames" in s["message"]


def test_all_frames_rejected_gives_no_number():
    s = clip([head(30, REJECT), head(31, REJECT)]).to_dict()
    assert s["hc_mm"] is None and s["best_frame"] is None and s["key_frame"] is None
    assert s["quality"] == REJECT and s["status"] == "no_head"
    assert s["quality_reasons"][0]["severity"] == REJECT


def test_clip_wide_calibration_reasons_do_not_hide_good_frames():
    """A px-only clip: every frame has ``no_pixel_size`` (check), yet its clean frames are the
    clip's good frames; the reason is said once for the clip."""
    frames = [head(30, CHECK, code="no_pixel_size"), head(31, CHECK, code="no_pixel_size")]
    frames.append(head(70, CHECK))  # unsure as well as no pixel size: a frame to check
    assert [frame_grade(f) for f in frames] == [GOOD, GOOD, CHECK]
    s = clip(frames, size=None).to_dict()
    assert s["good_frames"] == 2 and s["spread_unit"] == "px" and s["hc_mm"] is None
    assert [r["code"] for r in s["quality_reasons"]] == ["no_pixel_size"]
    assert s["quality"] == CHECK


def test_frames_of_different_heads_disagree():
    same = clip([head(a) for a in (50, 51, 50, 52, 51)]).to_dict()
    assert not same["frames_disagree"]
    mixed = clip([head(a) for a in (30, 45, 60, 75, 90, 105)]).to_dict()  # six heads
    assert mixed["frames_disagree"] and mixed["quality"] == CHECK
    (r,) = mixed["quality_reasons"]
    assert r["code"] == "frames_disagree" and r["value"] > DISAGREE_SD_MM
    assert "disagree" in mixed["message"]


def test_disagreement_without_a_pixel_size_is_relative():
    frames = [head(a, CHECK, code="no_pixel_size") for a in (40, 60, 80)]
    assert clip(frames, size=None).to_dict()["frames_disagree"]
    frames = [head(a, CHECK, code="no_pixel_size") for a in (100, 101, 100)]
    assert not clip(frames, size=None).to_dict()["frames_disagree"]


def test_best_frame_is_the_cleanest_fit_near_the_median():
    frames = [head(50, dice=0.97), head(51, dice=0.995), head(52, dice=0.98)]
    frames += [head(90, dice=0.999)]  # cleanest fit, but outside the central half of HC
    frames += [head(51, REJECT, dice=1.0)]  # rejected: never the best
    s = clip(frames).to_dict()
    assert s["best_frame"] == 1
    assert s["key_frame"] in (1, 2)


def test_best_frame_without_features_is_the_median_frame():
    frames = [frame_result(f.mask, f.fit, (1.0, 1.0)) for f in (head(30), head(40), head(50))]
    s = clip(frames).to_dict()
    assert s["best_frame"] == s["key_frame"] == 1


def test_every_output_names_its_ga_standard():
    small, large = head(28), head(45)  # HC about 160 mm (IG dates it) and 256 mm (beyond 25+6)
    assert small.to_dict()["ga_standard"] == "intergrowth21"
    assert large.to_dict()["ga_standard"] == "hadlock"
    assert "INTERGROWTH-21st" in small.message and "Hadlock 1984" in large.message
    s = clip([head(28), head(28.5), head(29)]).to_dict()
    assert s["ga_standard"] == "intergrowth21" and s["ga_weeks"] is not None
    px_only = frame_result(small.mask, None, None)
    assert px_only.to_dict()["ga_weeks"] is None and px_only.to_dict()["ga_standard"] is None
