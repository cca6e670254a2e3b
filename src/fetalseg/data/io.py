"""Reading user images safely: checked by content (not extension), size-limited before the pixels
are decoded (a 20000x20000 PNG is a few KB on disk and gigabytes in memory), normalised to
``(H, W) uint8`` grayscale whatever the file's bit depth or colour mode.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import cv2
import numpy as np

from fetalseg.errors import InputError

#: Largest accepted frame: ultrasound frames are ~1 MP; 8 k per side covers any export.
MAX_SIDE = 8192
MAX_PIXELS = 40_000_000
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
#: DICOM files are told by content wherever they are read; in a folder, by these suffixes.
DICOM_SUFFIXES = (".dcm", ".dicom")


def decode_image(data: bytes, name: str = "image", min_side: int = 32) -> np.ndarray:
    """Decode encoded image bytes to ``(H, W) uint8`` grayscale; :class:`InputError` otherwise.

    The header is read first (Pillow, lazily) so an oversized image is refused before its
    pixels are decoded (and one with a side below ``min_side``). 16-bit images are scaled to
    8 bits; alpha is dropped; colour and palette images are converted to luminance.
    """
    from PIL import Image

    if not data:
        raise InputError(f"{name}: empty file")
    # DICOM (frames and a pixel size) is read by fetalseg.data.dicom, which the web app and
    # ``predict`` call first; code that expects one plain image gets this one-line refusal.
    if data[128:132] == b"DICM":
        raise InputError(f"{name}: a DICOM file; this reads PNG, JPEG, BMP and TIFF images")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                w, h = im.size
                fmt = im.format
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise InputError(f"{name}: image too large to decode safely") from None
    except Exception:
        raise InputError(f"{name}: not a readable image (unknown or corrupt format)") from None
    check_size(w, h, name, min_side)
    # OpenCV trusts a PNG's chunk lengths: a 5 KB file declaring a 2 GB chunk makes it allocate
    # 2 GB, and a file cut short makes libpng print to the process's stderr. Such PNGs go to
    # Pillow, which reads what is there (and refuses a truncated image quietly).
    arr = None
    if fmt != "PNG" or _png_chunks_fit(data):
        arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None:
        arr = _decode_with_pillow(data, name)
    return to_gray_uint8(arr, name)


def _png_chunks_fit(data: bytes) -> bool:
    """Whether a PNG's chunks, by their declared lengths, lie within ``data`` up to IEND."""
    pos = 8
    while pos + 12 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        pos += 12 + length
        if kind == b"IEND":
            return pos <= len(data)
    return False


def _decode_with_pillow(data: bytes, name: str) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            if im.mode not in ("L", "I;16", "I", "RGB", "RGBA"):
                im = im.convert("RGB")
            arr = np.asarray(im)
    except Exception:
        raise InputError(f"{name}: not a readable image (truncated or corrupt)") from None
    return arr[..., ::-1] if arr.ndim == 3 else arr  # RGB -> BGR like OpenCV


def check_size(width: int, height: int, name: str = "image", min_side: int = 32) -> None:
    if width < min_side or height < min_side:
        raise InputError(
            f"{name}: image is {width}x{height}; at least {min_side}x{min_side} is needed"
        )
    if max(width, height) > MAX_SIDE or width * height > MAX_PIXELS:
        raise InputError(
            f"{name}: image is {width}x{height}; the limit is {MAX_SIDE} per side and "
            f"{MAX_PIXELS // 1_000_000} MP"
        )


def to_gray_uint8(arr: np.ndarray, name: str = "image") -> np.ndarray:
    """Any decoded array (gray/BGR/BGRA, 8/16-bit, float) to ``(H, W) uint8``."""
    if arr.ndim == 3:
        if arr.shape[2] == 4:
            arr = arr[..., :3]
        arr = cv2.cvtColor(arr, cv2.COLOR_BGR2GRAY) if arr.shape[2] == 3 else arr[..., 0]
    if arr.ndim != 2:
        raise InputError(f"{name}: unsupported image layout {arr.shape}")
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.uint16:
        return (arr >> 8).astype(np.uint8)
    a = arr.astype(np.float64)
    if not np.isfinite(a).all():
        raise InputError(f"{name}: image has NaN or infinite values")
    lo, hi = a.min(), a.max()
    return (
        np.zeros(a.shape, np.uint8) if hi <= lo else ((a - lo) / (hi - lo) * 255).astype(np.uint8)
    )


def read_file_bytes(path: str | Path) -> bytes:
    """A file's bytes; a missing or unreadable file is an :class:`InputError` naming it."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror or e})") from None


def read_image(path: str | Path, min_side: int = 32) -> np.ndarray:
    """Read an image file to ``(H, W) uint8``; errors name the file."""
    return decode_image(read_file_bytes(path), str(path), min_side)


def list_images(folder: str | Path, dicom: bool = False) -> list[Path]:
    """Image files in ``folder`` (sorted), skipping HC18 ``*_Annotation`` outlines; with
    ``dicom``, also ``.dcm``/``.dicom`` files (for callers that read them)."""
    folder = Path(folder)
    suffixes = IMAGE_SUFFIXES + DICOM_SUFFIXES if dicom else IMAGE_SUFFIXES
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in suffixes and not p.stem.endswith("_Annotation")
    )
