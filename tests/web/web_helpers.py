"""Builders of PNG, GIF and DICOM uploads for the web tests (made in memory; no downloaded
samples), and the oracle network output."""

from __future__ import annotations

import io

import cv2
import numpy as np

from fetalseg.data.dicom import encode_ultrasound_dicom


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
    return encode_ultrasound_dicom(frames, region_cm, pixel_spacing)
