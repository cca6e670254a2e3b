from __future__ import annotations

import numpy as np
import pytest
from outputs_helpers import PIXEL_SIZE, frames, make_frame

from fetalseg.biometry import measure_head
from fetalseg.outputs import Exam, select_frame
from fetalseg.outputs.exam import measure_value


def _m(hc_scale: float):
    """A measurement whose HC scales with ``hc_scale`` (same mask, another pixel size)."""
    ((_, mask),) = frames(1)
    return measure_head(mask, PIXEL_SIZE * hc_scale)


def test_exam_frame_checks_its_arrays():
    ((image, mask),) = frames(1)
    with pytest.raises(ValueError, match="uint8"):
        make_frame(image.astype(np.float32), mask)
    with pytest.raises(ValueError, match="does not match"):
        make_frame(image, mask[:-1])


def test_select_frame_takes_the_frame_nearest_the_median_hc():
    ms = [_m(0.5), _m(0.65), _m(0.55), _m(0.35), _m(0.6), None]
    assert select_frame(ms) == 2  # HC x0.5, x0.65, x0.55, x0.35, x0.6: the median is x0.55
    assert measure_value(ms[2], "hc") == pytest.approx(1.1 * measure_value(ms[0], "hc"))


def test_select_frame_prefers_good_frames_then_check_never_reject_first():
    ms = [_m(0.5), _m(0.55), _m(0.6)]
    assert select_frame(ms, ["reject", "check", "good"]) == 2
    assert select_frame(ms, ["reject", "check", "reject"]) == 1
    assert select_frame(ms, ["reject", "reject", "reject"]) == 1  # all ok: the median
    with pytest.raises(ValueError, match="verdicts"):
        select_frame(ms, ["good"])


def test_select_frame_without_any_head_is_frame_zero():
    empty = measure_head(np.zeros((64, 64), np.uint8), PIXEL_SIZE)
    assert select_frame([None, empty, None]) == 0


def test_spread_is_median_sample_sd_and_count_over_frames_with_a_head():
    fr = frames(3)
    ms = [measure_head(m, PIXEL_SIZE) for _, m in fr] + [None]
    exam = Exam(make_frame(*fr[0]), "intergrowth21", frame_measurements=ms)
    hc = np.array([m.hc_mm for m in ms[:3]])
    s = exam.spread("hc")
    assert exam.is_clip
    assert s.n == 3
    assert s.median == pytest.approx(np.median(hc))
    assert s.sd == pytest.approx(hc.std(ddof=1))


def test_single_frame_exam_and_bad_selected_index():
    ((image, mask),) = frames(1)
    exam = Exam(make_frame(image, mask), "intergrowth21")
    assert not exam.is_clip and exam.spread("bpd").sd == 0.0
    with pytest.raises(ValueError, match="selected_index"):
        Exam(make_frame(image, mask), "intergrowth21", selected_index=1)
