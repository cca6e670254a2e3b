"""Uploaded bytes to frames: an image, a DICOM file (single or multi-frame) or an animated GIF.

The kind is told by content, never by the file name: DICOM by its ``DICM`` marker after the
128-byte preamble, GIF by its signature, anything else by :func:`fetalseg.data.io.decode_image`
(which reads the header, checks the size, then decodes). The client's file name is only ever
echoed back (cleaned by :func:`safe_name`); it never becomes a path.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass

import numpy as np

from fetalseg.data.dicom import decode_dicom, dicom_pixel_count, is_dicom
from fetalseg.data.gif import decode_gif, is_gif
from fetalseg.data.io import MAX_FRAMES, MAX_PIXELS, MAX_TOTAL_PIXELS, decode_image
from fetalseg.errors import InputError

__all__ = [
    "MAX_REQUEST_PIXELS",
    "Upload",
    "check_request_budget",
    "decode_upload",
    "decoded_pixels",
    "safe_name",
]

#: Most decoded pixels (frames x rows x columns, over all files) in one request, checked from
#: the files' headers before any is decoded: two of the largest single files. A batch decodes
#: its files one after the other, so memory is bounded per file (see
#: :mod:`fetalseg.data.io`); this bounds the request's time.
MAX_REQUEST_PIXELS = 2 * MAX_TOTAL_PIXELS

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Upload:
    """Decoded upload. ``frames``: ``(N, H, W) uint8``; ``format``: ``dicom``, ``gif``, ``png``,
    ``jpeg``..."""

    name: str
    format: str
    frames: np.ndarray
    pixel_size_mm: tuple[float, float] | None = None
    pixel_size_source: str | None = None
    frame_time_ms: float | None = None

    @property
    def is_clip(self) -> bool:
        return self.frames.shape[0] > 1


def safe_name(filename: str | None) -> str:
    """The client's file name, for display only: last path component, no control characters,
    at most 120 characters."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = _CONTROL.sub("", name).strip()
    return name[:120] or "upload"


def _image_format(data: bytes) -> str:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            return (im.format or "image").lower()
    except Exception:
        return "image"


def decoded_pixels(data: bytes, name: str) -> int:
    """Pixels decoding ``data`` will hold (over all frames), from its header alone. 0 when the
    header cannot be read, or when the file is over its own limits (:data:`MAX_PIXELS` for an
    image, :data:`MAX_TOTAL_PIXELS` for a clip): such a file is refused, naming it, before
    its pixels are decoded."""
    from PIL import Image

    try:
        if is_dicom(data):
            count, limit = dicom_pixel_count(data, name), MAX_TOTAL_PIXELS
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with Image.open(io.BytesIO(data)) as im:
                    w, h = im.size
                    n = int(getattr(im, "n_frames", 1)) if im.format == "GIF" else 1
            count, limit = w * h * n, MAX_TOTAL_PIXELS if n > 1 else MAX_PIXELS
    except Exception:  # unreadable: decode_upload's own error names the file
        return 0
    return count if count <= limit else 0


def check_request_budget(total_pixels: int, n_files: int) -> None:
    """Refuse (:class:`InputError`, one line) a request whose ``n_files`` decode to
    ``total_pixels`` (:func:`decoded_pixels`, summed) over :data:`MAX_REQUEST_PIXELS`."""
    if total_pixels > MAX_REQUEST_PIXELS:
        raise InputError(
            f"{n_files} files decode to {total_pixels / 1e6:.0f} MP together; at most "
            f"{MAX_REQUEST_PIXELS / 1e6:.0f} MP per request: send them in several requests"
        )


def decode_upload(data: bytes, name: str, max_frames: int = MAX_FRAMES) -> Upload:
    """Decode an upload to frames (and, for DICOM, its pixel size); :class:`InputError` else."""
    if not data:
        raise InputError(f"{name}: empty file")
    if is_dicom(data):
        d = decode_dicom(data, name, max_frames)
        return Upload(
            name, "dicom", d.frames, d.pixel_size_mm, d.pixel_size_source, d.frame_time_ms
        )
    if is_gif(data):
        gif = decode_gif(data, name, max_frames)
        if gif.n_frames > 1:
            return Upload(name, "gif", gif.frames, frame_time_ms=gif.frame_time_ms)
        # one frame: an image like any other (decode_image's checks and gray conversion)
    image = decode_image(data, name)
    return Upload(name, _image_format(data), image[None])
