"""Exams for the output tests (built by :mod:`outputs_helpers`)."""

from __future__ import annotations

import numpy as np
import pytest
from outputs_helpers import PIXEL_SIZE, dicom_source, frames, make_frame

from fetalseg.biometry import measure_head
from fetalseg.outputs import Exam, KnownGA


@pytest.fixture
def png_exam() -> Exam:
    """One PNG frame, GA known (18w3d), INTERGROWTH-21st."""
    ((image, mask),) = frames(1)
    return Exam(make_frame(image, mask), "intergrowth21", KnownGA(18 + 3 / 7, "given: 18+3"))


@pytest.fixture
def dicom_exam() -> Exam:
    """One single-frame DICOM source, no known GA."""
    ((image, mask),) = frames(1)
    return Exam(make_frame(image, mask, dicom_source(image)), "intergrowth21")


@pytest.fixture
def clip_exam() -> Exam:
    """A 3-frame multi-frame DICOM clip; frame 2 (the median HC) reported."""
    from fetalseg.outputs import select_frame

    fr = frames(3)
    ms = [measure_head(m, PIXEL_SIZE) for _, m in fr]
    k = select_frame(ms)
    header = dicom_source(np.stack([im for im, _ in fr]))
    del header.PixelData
    image, mask = fr[k]
    frame = make_frame(image, mask, header, frame_number=k + 1, source_name="clip.dcm")
    return Exam(
        frame, "who2017", KnownGA(18.0, "given: 18+0"), frame_measurements=ms, selected_index=k
    )
