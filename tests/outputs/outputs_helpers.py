"""Builders of exam frames for the output tests: synthetic frames (known ellipses), their masks, and
DICOM sources made in memory (no patient data, no downloads)."""

from __future__ import annotations

import io

import numpy as np

from fetalseg.biometry import measure_head
from fetalseg.data.dicom import encode_ultrasound_dicom
from fetalseg.data.synthetic import synthetic_frame
from fetalseg.outputs import ExamFrame

PIXEL_SIZE = 0.3  # mm/px: the 320 x 240 synthetic frames then hold heads of about 18 weeks


def frames(n: int = 1, seed: int = 1) -> list[tuple[np.ndarray, np.ndarray]]:
    return [synthetic_frame(320, 240, rng=seed + i)[:2] for i in range(n)]


def dicom_source(image: np.ndarray, **attrs):
    """An ultrasound DICOM header (``image`` ``(H, W)`` or a clip ``(N, H, W)``) in a study
    with a patient, as a scanner would write it."""
    import pydicom
    from pydicom.uid import generate_uid

    ds = pydicom.dcmread(io.BytesIO(encode_ultrasound_dicom(image, region_cm=(0.06, 0.06))))
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientName = "Test^Patient"
    ds.PatientID = "P-0001"
    ds.StudyDate, ds.StudyTime, ds.StudyID = "20261202", "101500", "S1"
    ds.AccessionNumber = "A1"
    ds.ReferringPhysicianName = ""
    ds.PatientBirthDate, ds.PatientSex = "", "F"
    for k, v in attrs.items():
        setattr(ds, k, v)
    return ds


def make_frame(image, mask, source_dataset=None, frame_number=None, quality=None, **kw):
    m = measure_head(mask, PIXEL_SIZE)
    return ExamFrame(
        image,
        mask,
        m,
        PIXEL_SIZE,
        kw.pop("pixel_size_source", "--pixel-size"),
        kw.pop("model_name", "bisenet (test.onnx)"),
        kw.pop("source_name", "frame.png"),
        source_dataset=source_dataset,
        frame_number=frame_number,
        quality=quality,
        **kw,
    )
