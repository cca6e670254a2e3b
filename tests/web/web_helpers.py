"""Builders of PNG, GIF and DICOM uploads for the web tests (made in memory; no downloaded
samples), and the oracle network output."""

from __future__ import annotations

import io

import cv2
import numpy as np


def oracle_logits(x: np.ndarray) -> np.ndarray:
    """Stand-in network output: a head-sized ellipse at the network size, whatever the input
    (the tiny checkpoint finds no head after two training steps, and the API's numbers need
    one). Its size grows with the input's mean (so a clip's frames differ); a blank input
    gives no head."""
    n, _, h, w = x.shape
    out = np.full((n, h, w), -8.0, np.float32)
    for i in range(n):
        if float(x[i].std()) < 1e-6:
            continue
        s = 1.0 + 0.15 * float(np.tanh(x[i].mean()))
        m = np.zeros((h, w), np.uint8)
        cv2.ellipse(m, ((w / 2, h / 2), (0.6 * w * s, 0.42 * h * s), 20.0), 1, thickness=-1)
        out[i][m > 0] = 8.0
    return out


def png_bytes(image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", image)
    assert ok
    return buf.tobytes()


def gif_bytes(frames: list[np.ndarray]) -> bytes:
    from PIL import Image

    images = [Image.fromarray(f) for f in frames]
    buf = io.BytesIO()
    images[0].save(buf, "GIF", save_all=True, append_images=images[1:], duration=40, loop=0)
    return buf.getvalue()


def dicom_bytes(
    frames: np.ndarray,
    region_cm: tuple[float, float] | None = None,
    pixel_spacing: list[float] | None = None,
) -> bytes:
    """An ultrasound DICOM file: ``frames`` is (H, W) or (N, H, W) uint8 MONOCHROME2."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.sequence import Sequence
    from pydicom.uid import (
        ExplicitVRLittleEndian,
        UltrasoundImageStorage,
        UltrasoundMultiFrameImageStorage,
        generate_uid,
    )

    multi = frames.ndim == 3
    sop = UltrasoundMultiFrameImageStorage if multi else UltrasoundImageStorage
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "US"
    ds.Rows, ds.Columns = frames.shape[-2:]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    if multi:
        ds.NumberOfFrames = frames.shape[0]
        ds.FrameTime = 40.0
    ds.PixelData = np.ascontiguousarray(frames, np.uint8).tobytes()
    if region_cm is not None:
        r = Dataset()
        r.RegionSpatialFormat = 1
        r.RegionDataType = 1
        r.RegionLocationMinX0, r.RegionLocationMinY0 = 0, 0
        r.RegionLocationMaxX1, r.RegionLocationMaxY1 = ds.Columns - 1, ds.Rows - 1
        r.PhysicalUnitsXDirection = r.PhysicalUnitsYDirection = 3
        r.PhysicalDeltaX, r.PhysicalDeltaY = region_cm
        ds.SequenceOfUltrasoundRegions = Sequence([r])
    if pixel_spacing is not None:
        ds.PixelSpacing = pixel_spacing
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()
