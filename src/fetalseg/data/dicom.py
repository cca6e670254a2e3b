"""Reading ultrasound DICOM files: frames as ``(H, W) uint8`` gray, and the pixel size in mm.

Pixel size, in order of preference:

1. The Sequence of Ultrasound Regions (0018,6011), how ultrasound scanners calibrate a frame:
   among the regions with ``RegionSpatialFormat == 1`` (2D tissue) whose physical units are cm
   in both directions (``PhysicalUnitsX/YDirection == 3``) and whose ``PhysicalDeltaX/Y`` are
   positive, the one covering most of the image (its area clipped to the frame) is used;
   cm per pixel × 10 = mm per pixel. A region of M-mode or Doppler (other spatial formats) is
   never used.
2. ``PixelSpacing`` (0028,0030), in mm, ordered ``[row spacing, column spacing]`` = ``[y, x]``.
3. Neither: ``None``, and measurements are made in px only (no mm is ever invented).

Pixels: ``MONOCHROME1`` is inverted (so the skull is bright), ``RGB`` and ``YBR_*`` are converted to
luminance (pydicom converts YBR to RGB on decoding), ``PALETTE COLOR`` goes through its lookup
table; more than 8 bits stored are scaled by ``BitsStored`` (the same scale for every frame of a
clip, so frames stay comparable); signed pixels are shifted to unsigned. A multi-frame file is a
clip: one frame per ``NumberOfFrames``.

Safety: the header is read first and the frame size is checked against :mod:`fetalseg.data.io`'s
limits (and the frame count against ``max_frames``) before any pixel is decoded; deflated
transfer syntax (a zip of the whole dataset, which can inflate without bound) is refused.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from fetalseg.data.io import (
    MAX_FRAMES,
    check_clip_size,
    check_decoded_bytes,
)
from fetalseg.errors import InputError

__all__ = [
    "MAX_FRAMES",
    "DicomImage",
    "decode_dicom",
    "dicom_frame_count",
    "dicom_pixel_count",
    "is_dicom",
    "pixel_size_from_dataset",
    "pixel_size_value",
    "read_dicom",
]

SOURCE_REGIONS = "ultrasound regions"
SOURCE_PIXEL_SPACING = "PixelSpacing"

_DEFLATED = "1.2.840.10008.1.2.1.99"
_UNITS_CM = 3
_SPATIAL_2D = 1


@dataclass(frozen=True)
class DicomImage:
    """Frames of one DICOM file and its pixel size.

    ``frames``: ``(N, H, W) uint8`` (``N == 1`` for a single image); ``pixel_size_mm``:
    ``(x, y)`` in mm or ``None``; ``pixel_size_source``: ``"ultrasound regions"``,
    ``"PixelSpacing"`` or ``None``; ``frame_time_ms``: time between frames of a clip, if given.
    """

    frames: np.ndarray
    pixel_size_mm: tuple[float, float] | None
    pixel_size_source: str | None
    photometric: str
    frame_time_ms: float | None = None

    @property
    def n_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def is_clip(self) -> bool:
        return self.n_frames > 1

    @property
    def calibration(self) -> tuple[float | tuple[float, float] | None, str | None]:
        """``(pixel size as measuring takes it, "dicom <source>")``, or ``(None, None)`` when the
        file has no calibration (see :func:`pixel_size_value`)."""
        if self.pixel_size_mm is None:
            return None, None
        return pixel_size_value(self.pixel_size_mm), f"dicom {self.pixel_size_source}"


def is_dicom(data: bytes) -> bool:
    """Whether ``data`` is a DICOM Part 10 file (128-byte preamble then ``DICM``)."""
    return len(data) >= 132 and data[128:132] == b"DICM"


def _positive(value: object) -> float | None:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) and v > 0 else None


def _region_area(region: object, width: int, height: int) -> int:
    """Pixels of the image inside the region's bounding box (0 when the box is missing)."""
    try:
        x0 = int(region.RegionLocationMinX0)  # type: ignore[attr-defined]
        y0 = int(region.RegionLocationMinY0)  # type: ignore[attr-defined]
        x1 = int(region.RegionLocationMaxX1)  # type: ignore[attr-defined]
        y1 = int(region.RegionLocationMaxY1)  # type: ignore[attr-defined]
    except (AttributeError, TypeError, ValueError):
        return 0
    w = min(x1, width - 1) - max(x0, 0) + 1
    h = min(y1, height - 1) - max(y0, 0) + 1
    return max(w, 0) * max(h, 0)


def pixel_size_from_dataset(ds: object) -> tuple[tuple[float, float] | None, str | None]:
    """``((x_mm, y_mm), source)`` from a pydicom dataset, or ``(None, None)`` (see module doc)."""
    width = int(getattr(ds, "Columns", 0) or 0)
    height = int(getattr(ds, "Rows", 0) or 0)
    best: tuple[int, tuple[float, float]] | None = None
    for region in getattr(ds, "SequenceOfUltrasoundRegions", None) or []:
        if getattr(region, "RegionSpatialFormat", None) != _SPATIAL_2D:
            continue
        if (
            getattr(region, "PhysicalUnitsXDirection", None) != _UNITS_CM
            or getattr(region, "PhysicalUnitsYDirection", None) != _UNITS_CM
        ):
            continue
        dx = _positive(getattr(region, "PhysicalDeltaX", None))
        dy = _positive(getattr(region, "PhysicalDeltaY", None))
        if dx is None or dy is None:
            continue
        area = _region_area(region, width, height)
        if best is None or area > best[0]:
            best = (area, (dx * 10.0, dy * 10.0))
    if best is not None:
        return best[1], SOURCE_REGIONS
    spacing = getattr(ds, "PixelSpacing", None)
    if spacing is not None:
        try:
            row, col = (_positive(v) for v in spacing)
        except (TypeError, ValueError):  # not two values
            return None, None
        if row is not None and col is not None:
            return (col, row), SOURCE_PIXEL_SPACING
    return None, None


def pixel_size_value(size: tuple[float, float]) -> float | tuple[float, float]:
    """A DICOM ``(x, y)`` pixel size (mm) as the measuring code takes it: one number for square
    pixels, the pair only when they differ (so anisotropic mm stay exact)."""
    x, y = size
    return x if x == y else (x, y)


def _check_transfer_syntax(data: bytes, name: str) -> None:
    """Refuse deflated datasets before pydicom inflates them whole."""
    from pydicom.filereader import _read_file_meta_info, read_preamble

    try:
        fp = io.BytesIO(data)
        read_preamble(fp, False)
        meta = _read_file_meta_info(fp)
    except Exception:
        raise InputError(f"{name}: not a readable DICOM file (corrupt file meta header)") from None
    if str(getattr(meta, "TransferSyntaxUID", "")) == _DEFLATED:
        raise InputError(f"{name}: deflated DICOM (transfer syntax {_DEFLATED}) is not supported")


#: Rows converted at once: temporaries of the integer scaling stay a few MB whatever the frame.
_BLOCK_ROWS = 256


@dataclass(frozen=True)
class _Scale:
    """How a file's samples map to 0-255, the same for every frame: integers by ``bits``
    stored (``signed`` shifted up by half the range), floats by the file's ``(lo, hi)``."""

    bits: int
    signed: bool
    lo: float = 0.0
    hi: float = 0.0


def _block_to_uint8(a: np.ndarray, scale: _Scale) -> np.ndarray:
    """A block of rows of one frame, any dtype, to uint8 (its temporaries are the block's)."""
    if a.dtype.kind == "f":
        if scale.hi <= scale.lo:
            return np.zeros(a.shape, np.uint8)
        return ((a - scale.lo) * (255.0 / (scale.hi - scale.lo)) + 0.5).astype(np.uint8)
    bits = min(max(scale.bits, 1), a.dtype.itemsize * 8)
    v = a.astype(np.int64)
    if scale.signed:
        v += 1 << (bits - 1)
    top = (1 << bits) - 1
    np.clip(v, 0, top, out=v)
    return v.astype(np.uint8) if bits == 8 else ((v * 255 + top // 2) // top).astype(np.uint8)


def _to_uint8(frame: np.ndarray, scale: _Scale) -> np.ndarray:
    """One frame ``(H, W)`` or ``(H, W, 3)`` in its own dtype to uint8, :data:`_BLOCK_ROWS` rows
    at a time: no whole-frame int64 or float64 temporary (a 16-bit 8000x5000 frame made
    several 320 MB ones)."""
    if frame.dtype == np.uint8:
        return frame
    out = np.empty(frame.shape, np.uint8)
    for r in range(0, frame.shape[0], _BLOCK_ROWS):
        out[r : r + _BLOCK_ROWS] = _block_to_uint8(frame[r : r + _BLOCK_ROWS], scale)
    return out


def _gray(frame: np.ndarray, photometric: str) -> np.ndarray:
    """One uint8 frame ``(H, W)`` or ``(H, W, 3)`` RGB -> ``(H, W)`` uint8 luminance (skull
    bright: ``MONOCHROME1`` inverted)."""
    if frame.ndim == 3:
        if frame.shape[2] != 3:
            raise ValueError(f"{frame.shape[2]} samples per pixel")
        return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    if photometric == "MONOCHROME1":
        return 255 - frame
    return frame


def _can_decode(transfer_syntax: object) -> bool:
    from pydicom.pixels import get_decoder

    try:
        return bool(get_decoder(transfer_syntax).is_available)  # type: ignore[arg-type]
    except Exception:  # no decoder at all for this transfer syntax
        return False


def decode_dicom(data: bytes, name: str = "image", max_frames: int = MAX_FRAMES) -> DicomImage:
    """Decode a DICOM file's bytes: frames as ``(N, H, W) uint8`` and its pixel size.

    Raises :class:`InputError` (naming ``name``) for anything that is not a decodable image:
    not DICOM, no pixel data, frames too large or too many, a compressed transfer syntax with
    no decoder installed, a corrupt element.
    """
    try:
        return _decode_dicom(data, name, max_frames)
    except InputError:
        raise
    except Exception as e:  # pydicom parses elements lazily: a corrupt one fails where it is read
        raise InputError(f"{name}: not a readable DICOM file ({type(e).__name__})") from None


def _decode_dicom(data: bytes, name: str, max_frames: int) -> DicomImage:
    import pydicom

    if not is_dicom(data):
        raise InputError(f"{name}: not a DICOM file (no 'DICM' marker after the preamble)")
    _check_transfer_syntax(data, name)
    try:
        ds = pydicom.dcmread(io.BytesIO(data))
    except Exception as e:
        raise InputError(f"{name}: not a readable DICOM file ({type(e).__name__})") from None
    if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
        raise InputError(f"{name}: DICOM file has no pixel data (not an image)")
    try:
        rows, cols = int(ds.Rows), int(ds.Columns)
        n = int(getattr(ds, "NumberOfFrames", 1) or 1)
        samples = int(getattr(ds, "SamplesPerPixel", 1) or 1)
        bits_stored = int(getattr(ds, "BitsStored", 0) or getattr(ds, "BitsAllocated", 8))
        signed = int(getattr(ds, "PixelRepresentation", 0) or 0) == 1
    except (AttributeError, TypeError, ValueError):
        raise InputError(f"{name}: DICOM image attributes (Rows, Columns...) missing") from None
    photometric = str(getattr(ds, "PhotometricInterpretation", "MONOCHROME2")).strip().upper()
    if n < 1:
        raise InputError(f"{name}: DICOM NumberOfFrames is {n}")
    check_clip_size(n, cols, rows, name, max_frames)
    if samples not in (1, 3):
        raise InputError(f"{name}: {samples} samples per pixel are not supported (1 or 3)")
    palette = photometric == "PALETTE COLOR"
    bits_allocated = int(getattr(ds, "BitsAllocated", 8) or 8)
    # what one decoded frame takes before conversion (a palette frame becomes 16-bit RGB)
    frame_bytes = rows * cols * (6 if palette else samples * max(1, -(-bits_allocated // 8)))
    check_decoded_bytes(frame_bytes, name, f"a {cols}x{rows} frame")
    try:
        frames = _decode_frames(ds, n, rows, cols, bits_stored, signed, photometric)
    except InputError:
        raise
    except (ValueError, TypeError) as e:
        if str(e).startswith("unsupported:"):
            raise InputError(f"{name}: unsupported DICOM pixel layout ({e})") from None
        raise _pixel_error(ds, name, e) from None
    except Exception as e:
        raise _pixel_error(ds, name, e) from None
    size, source = pixel_size_from_dataset(ds)
    frame_time = _positive(getattr(ds, "FrameTime", None)) if n > 1 else None
    return DicomImage(frames, size, source, photometric, frame_time)


def _pixel_error(ds: object, name: str, e: Exception) -> InputError:
    """The one-line error for pixel data that cannot be decoded (naming a missing decoder)."""
    ts = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    if ts is not None and getattr(ts, "is_compressed", False) and not _can_decode(ts):
        return InputError(
            f"{name}: compressed DICOM ({ts.name}) needs a pixel decoder that is not "
            "installed (e.g. pip install pylibjpeg pylibjpeg-libjpeg)"
        )
    return InputError(f"{name}: cannot decode the DICOM pixel data ({type(e).__name__})")


def _decode_frames(
    ds: object,
    n: int,
    rows: int,
    cols: int,
    bits_stored: int,
    signed: bool,
    photometric: str,
) -> np.ndarray:
    """``(n, rows, cols) uint8`` frames, decoded and converted one at a time in the file's own
    dtype (:func:`_to_uint8`): memory is the output plus one decoded frame. Float pixels are
    scaled by the file's range, found in a first pass. ``ValueError("unsupported: ...")`` for
    a layout that does not match the header."""
    from pydicom.pixels import apply_color_lut, iter_pixels

    scale = _Scale(bits_stored, signed)
    if "PixelData" not in ds:  # type: ignore[operator]  # float pixel data: the file's range
        lo, hi = math.inf, -math.inf
        for frame in iter_pixels(ds):
            if not np.isfinite(frame).all():
                raise ValueError("unsupported: NaN or infinite pixel values")
            lo, hi = min(lo, float(frame.min())), max(hi, float(frame.max()))
        scale = _Scale(bits_stored, signed, lo, hi)
    out = np.empty((n, rows, cols), np.uint8)
    count = 0
    for i, frame in enumerate(iter_pixels(ds)):
        if i >= n:
            raise ValueError(f"unsupported: more frames than NumberOfFrames {n}")
        frame_scale = scale
        if photometric == "PALETTE COLOR":
            frame = apply_color_lut(frame, ds)
            frame_scale = _Scale(frame.dtype.itemsize * 8, False)
        if frame.shape[:2] != (rows, cols) or frame.ndim not in (2, 3):
            raise ValueError(f"unsupported: pixel array shape {frame.shape}")
        out[i] = _gray(_to_uint8(frame, frame_scale), photometric)
        count += 1
    if count != n:
        raise ValueError(f"unsupported: {count} frames decoded, NumberOfFrames says {n}")
    return out


def _header(data: bytes, name: str) -> object:
    """The dataset of a DICOM file without its pixel data (not read, nor inflated: a deflated
    file is refused first); :class:`InputError` naming ``name`` for anything unreadable."""
    import pydicom

    if not is_dicom(data):
        raise InputError(f"{name}: not a DICOM file (no 'DICM' marker after the preamble)")
    _check_transfer_syntax(data, name)
    try:
        return pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
    except Exception as e:  # a corrupt element fails where it is read, whatever its type
        raise InputError(f"{name}: not a readable DICOM file ({type(e).__name__})") from None


def dicom_frame_count(data: bytes, name: str = "image") -> int:
    """Frames in a DICOM file (``NumberOfFrames``, 1 when absent), from its header alone.

    For telling a clip from a single image without decoding any pixel. :class:`InputError`
    naming ``name`` for anything unreadable.
    """
    ds = _header(data, name)
    try:
        return int(getattr(ds, "NumberOfFrames", 1) or 1)
    except Exception as e:
        raise InputError(f"{name}: not a readable DICOM file ({type(e).__name__})") from None


def dicom_pixel_count(data: bytes, name: str = "image") -> int:
    """Pixels over all frames (``NumberOfFrames x Rows x Columns``) from the header alone: what
    decoding the file will hold as uint8. :class:`InputError` for anything unreadable."""
    ds = _header(data, name)
    try:
        n = int(getattr(ds, "NumberOfFrames", 1) or 1)
        return max(n, 0) * max(int(ds.Rows), 0) * max(int(ds.Columns), 0)
    except Exception:
        raise InputError(f"{name}: DICOM image attributes (Rows, Columns...) missing") from None


def read_dicom(path: str | Path, max_frames: int = MAX_FRAMES) -> DicomImage:
    """Read a DICOM file; errors name the file."""
    from fetalseg.data.io import read_file_bytes

    return decode_dicom(read_file_bytes(path), str(path), max_frames)


def _ultrasound_dataset(
    sop_class: str, transfer_syntax: str, rows: int, cols: int, bits: int
) -> Any:
    """The header every file written here shares: file meta (new SOP instance UID), modality
    US, ``rows x cols`` unsigned ``bits``-bit MONOCHROME2 pixels (one sample); no pixel data,
    nothing patient-related."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = transfer_syntax
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "US"
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 0
    return ds


def encode_ultrasound_dicom(
    frames: np.ndarray | None,
    region_cm: tuple[float, float] | None = None,
    pixel_spacing: list[float] | None = None,
    rows_cols: tuple[int, int] = (540, 800),
) -> bytes:
    """A minimal ultrasound DICOM file (8-bit MONOCHROME2, explicit VR little endian).

    ``frames``: ``(H, W)`` or ``(N, H, W)`` uint8 (a clip), or ``None`` for a file without pixel
    data of size ``rows_cols``. ``region_cm``: one 2D ultrasound region over the whole frame
    with ``(PhysicalDeltaX, PhysicalDeltaY)`` in cm; ``pixel_spacing``: ``[row, col]`` mm. For
    tests, demos and fuzzing seeds: nothing patient-related is written.
    """
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence
    from pydicom.uid import (
        ExplicitVRLittleEndian,
        UltrasoundImageStorage,
        UltrasoundMultiFrameImageStorage,
    )

    multi = frames is not None and frames.ndim == 3
    sop = UltrasoundMultiFrameImageStorage if multi else UltrasoundImageStorage
    rows, cols = frames.shape[-2:] if frames is not None else rows_cols
    ds = _ultrasound_dataset(sop, ExplicitVRLittleEndian, rows, cols, bits=8)
    if multi:
        ds.NumberOfFrames = frames.shape[0]  # type: ignore[union-attr]
        ds.FrameTime = 40.0
    if frames is not None:
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


def _packbits_row(value: int, length: int) -> bytes:
    """One row of ``length`` equal bytes, PackBits-encoded as DICOM RLE wants (PS3.5 G.3.1):
    replicate runs of at most 128 (header byte ``257 - run``)."""
    runs, rest = divmod(length, 128)
    out = bytes([129, value]) * runs
    return out + (bytes([257 - rest, value]) if rest > 1 else bytes([0, value]) if rest else b"")


def encode_constant_rle_dicom(
    n_frames: int, rows: int, cols: int, bits: int = 16, value: int = 1000
) -> bytes:
    """An RLE Lossless DICOM of ``n_frames`` frames of ``rows x cols`` pixels, every one
    ``value`` (``bits`` 8 or 16, MONOCHROME2): a few MB on disk however many pixels it holds,
    built without holding them. For the memory probe and tests (a decompression bomb within
    the upload limits); nothing patient-related is written."""
    from pydicom.encaps import encapsulate
    from pydicom.uid import RLELossless, UltrasoundMultiFrameImageStorage

    planes = [(value >> 8) & 0xFF, value & 0xFF] if bits == 16 else [value & 0xFF]
    segments = []
    for byte in planes:  # most significant byte first
        segment = _packbits_row(byte, cols) * rows
        segments.append(segment + b"\x00" * (len(segment) % 2))
    offsets, pos = [], 64
    for segment in segments:
        offsets.append(pos)
        pos += len(segment)
    header = np.array([len(segments), *offsets] + [0] * (15 - len(offsets)), "<u4").tobytes()
    frame = header + b"".join(segments)
    ds = _ultrasound_dataset(UltrasoundMultiFrameImageStorage, RLELossless, rows, cols, bits)
    ds.NumberOfFrames = n_frames
    ds.PixelData = encapsulate([frame] * n_frames)
    ds["PixelData"].VR = "OB"
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()
