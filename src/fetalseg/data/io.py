"""Reading user files safely.

Images are checked by content (not extension), size-limited before the pixels are decoded (a
20000x20000 PNG is a few KB on disk and gigabytes in memory), normalised to ``(H, W) uint8``
grayscale whatever the file's bit depth or colour mode. Memory is bounded by the *decoded* size,
read from the header before decoding: at most :data:`MAX_FRAME_BYTES` for what the decoder
allocates for one frame (width x height x channels x bytes per sample, in the file's own depth);
16-bit and colour frames are then reduced to 8-bit gray without wider temporaries. A TIFF of
several pages is refused (the decoders would read its first page without a word), counted from
its directory chain before anything is decoded (:func:`tiff_page_count`).

Only regular files are read (a device such as ``/dev/zero`` or a FIFO is refused before it is
opened); text files (CSV, configs) are decoded as UTF-8 (a BOM allowed), anything else is a
one-line error. Images are written through ``cv2.imencode`` and Python's file I/O, so any file
name Python can hold (non-UTF-8 bytes included) works.
"""

from __future__ import annotations

import csv
import io
import os
import stat
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np

from fetalseg.errors import InputError

T = TypeVar("T")

#: Largest accepted frame: ultrasound frames are ~1 MP; 8 k per side covers any export, and
#: 16 MP any frame a scanner exports (the model sees 384x256). With :data:`MAX_FRAME_BYTES`
#: these bound one upload's memory (``scripts/memory_probe.py``, docs/reliability.md).
MAX_SIDE = 8192
MAX_PIXELS = 16_000_000
#: Most bytes a decoder may allocate for one frame (its own bit depth and channels): a 16 MP
#: 8-bit RGB or 16-bit gray frame (48 or 32 MB) passes, a 16 MP 16-bit RGBA one (128 MB) is
#: refused before decoding.
MAX_FRAME_BYTES = 64_000_000
#: Most frames read from one clip file held in memory whole (a multi-frame DICOM, a GIF): a 10 s
#: clip at 30 frames/s.
MAX_FRAMES = 300
#: Most pixels over all frames of such a clip (frames x rows x columns): the decoded clip is held
#: as uint8, so this bounds its memory (100 MB: 10 s of 640x480 at 30 frames/s, or six
#: 16 MP frames); with one frame decoded at a time (:data:`MAX_FRAME_BYTES`) decoding a file
#: grows memory by < 300 MB (``scripts/memory_probe.py``).
MAX_TOTAL_PIXELS = 100_000_000
#: Longest CSV field accepted (Python's own default limit, 128 KiB, raised a bare ``_csv.Error``).
MAX_CSV_FIELD = 4096
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
#: DICOM files are told by content wherever they are read; in a folder, by these suffixes.
DICOM_SUFFIXES = (".dcm", ".dicom")
#: Most TIFF directories (IFDs) walked to count a file's pages: each step reads a few bytes, so
#: this only bounds a hostile chain (a loop is stopped at once).
MAX_TIFF_IFDS = 10_000


def decode_image(data: bytes, name: str = "image", min_side: int = 32) -> np.ndarray:
    """Decode encoded image bytes to ``(H, W) uint8`` grayscale; :class:`InputError` otherwise.

    The header is read first (Pillow, lazily) so an oversized image is refused before its
    pixels are decoded (and one with a side below ``min_side``). 16-bit images are scaled to
    8 bits; alpha is dropped; colour and palette images are converted to luminance. A TIFF of
    more than one page (thumbnails aside) is an :class:`InputError` saying how many.
    """
    from PIL import Image

    if not data:
        raise InputError(f"{name}: empty file")
    # DICOM (frames and a pixel size) is read by fetalseg.data.dicom, which the web app and
    # ``predict`` call first; code that expects one plain image gets this one-line refusal.
    if data[128:132] == b"DICM":
        raise InputError(f"{name}: a DICOM file; this reads PNG, JPEG, BMP and TIFF images")
    # The decoders read a TIFF's first page and say nothing of the others: a stack of frames
    # would be measured on its first alone, a silently partial result.
    pages = tiff_page_count(data)
    if pages > 1:
        shown = f"at least {pages}" if pages >= MAX_TIFF_IFDS else str(pages)
        raise InputError(
            f"{name}: a TIFF of {shown} pages; fetalseg reads single-frame TIFF, "
            "give one page or a DICOM/GIF clip"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                w, h = im.size
                fmt = im.format
                sample_bytes = _decoded_bytes_per_pixel(im, data)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise InputError(f"{name}: image too large to decode safely") from None
    except Exception:
        raise InputError(f"{name}: not a readable image (unknown or corrupt format)") from None
    check_size(w, h, name, min_side)
    check_decoded_bytes(w * h * sample_bytes, name, f"{w}x{h}")
    # OpenCV trusts a PNG's chunk lengths: a 5 KB file declaring a 2 GB chunk makes it allocate
    # 2 GB, and a file cut short makes libpng print to the process's stderr. Such PNGs go to
    # Pillow, which reads what is there (and refuses a truncated image quietly).
    arr = None
    if fmt != "PNG" or _png_chunks_fit(data):
        arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None:
        arr = _decode_with_pillow(data, name)
    return to_gray_uint8(arr, name)


def tiff_page_count(data: bytes, limit: int = MAX_TIFF_IFDS) -> int:
    """Pages (full-resolution images) of a TIFF, from its directory chain alone; 0 when
    ``data`` is not a TIFF.

    Walks the IFD chain of classic TIFF and BigTIFF, either byte order, reading a few bytes per
    directory (nothing is decoded): a directory flagged reduced-resolution (``NewSubfileType``
    bit 0, a thumbnail or preview beside the image) is not a page. The walk stops at a zero or
    out-of-file offset, at a directory seen before (a loop), or after ``limit`` directories
    (then the count is at most ``limit``)."""
    order = {b"II": "little", b"MM": "big"}.get(data[:2])
    if order is None or len(data) < 8:
        return 0

    def uint(pos: int, size: int) -> int | None:
        if pos + size > len(data):
            return None
        return int.from_bytes(data[pos : pos + size], order)  # type: ignore[arg-type]

    version = uint(2, 2)
    if version == 42:
        off_size, count_size, entry_size, first = 4, 2, 12, uint(4, 4)
    elif version == 43 and uint(4, 2) == 8:
        off_size, count_size, entry_size, first = 8, 8, 20, uint(8, 8)
    else:
        return 0
    pages, seen, ifd = 0, set(), first
    while ifd and ifd not in seen and len(seen) < limit:
        seen.add(ifd)
        n_entries = uint(ifd, count_size)
        if n_entries is None:
            break
        entries = ifd + count_size
        reduced = False
        # Entries are sorted by tag and 254 is the lowest baseline tag: it is among the first
        # if present (only a few looked at, so a hostile chain costs O(limit)).
        for i in range(min(n_entries, 4)):
            tag = uint(entries + i * entry_size, 2)
            if tag is None or tag > 254:
                break
            if tag == 254:  # a LONG, its value in the entry after tag, type and count
                value = uint(entries + i * entry_size + 4 + off_size, 4)
                reduced = bool((value or 0) & 1)
                break
        pages += not reduced
        ifd = uint(entries + n_entries * entry_size, off_size)
    return pages


#: channels OpenCV decodes a PNG colour type to (IHDR byte 25; palette as BGR, gray+alpha as BGRA)
_PNG_CHANNELS = {0: 1, 2: 3, 3: 3, 4: 4, 6: 4}


def _decoded_bytes_per_pixel(im: object, data: bytes) -> int:
    """Bytes per pixel the decoder will allocate, from the header only.

    PNG: from its IHDR (bit depth and colour type; Pillow reports 16-bit colour as 8-bit);
    else from Pillow's mode (bands x bytes per band)."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 26:
        depth, colour = data[24], data[25]
        return _PNG_CHANNELS.get(colour, 4) * (2 if depth == 16 else 1)
    mode = str(getattr(im, "mode", ""))
    bands = len(im.getbands())  # type: ignore[attr-defined]
    per_band = 4 if mode in ("I", "F") else 2 if "16" in mode else 1
    return max(bands, 1) * per_band


def check_decoded_bytes(n_bytes: int, name: str, what: str, limit: int = MAX_FRAME_BYTES) -> None:
    """Refuse (:class:`InputError`) a frame whose decoding would allocate over ``limit`` bytes."""
    if n_bytes > limit:
        raise InputError(
            f"{name}: {what} decodes to {n_bytes / 1e6:.0f} MB; the limit is "
            f"{limit / 1e6:.0f} MB per frame"
        )


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


def check_clip_size(
    n_frames: int, width: int, height: int, name: str, max_frames: int = MAX_FRAMES
) -> None:
    """Refuse (:class:`InputError`, naming ``name``) a clip of ``n_frames`` frames of
    ``width x height`` px before its pixels are decoded: each frame over :func:`check_size`'s
    limits, more than ``max_frames`` frames, or more than :data:`MAX_TOTAL_PIXELS` in all."""
    check_size(width, height, name)
    if n_frames < 1:
        raise InputError(f"{name}: the clip says it has {n_frames} frames")
    if n_frames > max_frames:
        raise InputError(f"{name}: clip has {n_frames} frames; at most {max_frames} are accepted")
    if n_frames * width * height > MAX_TOTAL_PIXELS:
        raise InputError(
            f"{name}: {n_frames} frames of {width}x{height} are too many pixels "
            f"(limit {MAX_TOTAL_PIXELS // 1_000_000} MP in all)"
        )


def to_gray_uint8(arr: np.ndarray, name: str = "image") -> np.ndarray:
    """Any decoded array (gray/BGR/BGRA, 8/16-bit, float) to ``(H, W) uint8``."""
    if arr.ndim == 3 and arr.dtype in (np.uint8, np.uint16, np.float32):
        code = {4: cv2.COLOR_BGRA2GRAY, 3: cv2.COLOR_BGR2GRAY}.get(arr.shape[2])
        arr = cv2.cvtColor(arr, code) if code is not None else arr[..., 0]  # in its own dtype
    elif arr.ndim == 3:
        arr = arr[..., 0] if arr.shape[2] not in (3, 4) else arr[..., :3].mean(axis=2)
    if arr.ndim != 2:
        raise InputError(f"{name}: unsupported image layout {arr.shape}")
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.uint16:
        out = np.empty(arr.shape, np.uint8)
        np.right_shift(arr, 8, out=out, casting="unsafe")  # no 16-bit temporary
        return out
    a = arr.astype(np.float64)
    if not np.isfinite(a).all():
        raise InputError(f"{name}: image has NaN or infinite values")
    lo, hi = a.min(), a.max()
    return (
        np.zeros(a.shape, np.uint8) if hi <= lo else ((a - lo) / (hi - lo) * 255).astype(np.uint8)
    )


def require_regular_file(path: str | Path) -> Path:
    """``path`` as a :class:`Path` when it is a regular file (symlinks followed); else
    :class:`InputError` naming it, before it is opened: reading ``/dev/zero`` never ends, and
    opening a FIFO blocks until something writes to it."""
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror or e})") from None
    if stat.S_ISDIR(mode):
        raise InputError(f"{path}: is a folder, not a file")
    if not stat.S_ISREG(mode):
        kind = (
            "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
        )
        raise InputError(f"{path}: not a regular file ({kind}); only files are read")
    return path


def read_file_bytes(path: str | Path) -> bytes:
    """A regular file's bytes; a missing, special or unreadable file is an :class:`InputError`
    naming it."""
    path = require_regular_file(path)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror or e})") from None


def read_text_file(path: str | Path, what: str = "file") -> str:
    """A regular file's text, decoded as UTF-8 (a leading BOM dropped); :class:`InputError`
    naming the file, the line and the first undecodable byte otherwise (e.g. a Latin-1
    export)."""
    data = read_file_bytes(path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise InputError(
            f"{path}: line {line}: byte 0x{data[e.start]:02x} is not UTF-8; "
            f"save the {what} as UTF-8"
        ) from None


def read_csv_rows(path: str | Path) -> list[list[str]]:
    """Rows of a UTF-8 CSV file (:func:`read_text_file`); a malformed file (a field longer than
    :data:`MAX_CSV_FIELD` characters, a NUL byte) is an :class:`InputError` naming the line."""
    reader = csv.reader(io.StringIO(read_text_file(path, "CSV"), newline=""))
    rows: list[list[str]] = []
    try:
        for row in reader:
            if any(len(cell) > MAX_CSV_FIELD for cell in row):
                raise InputError(
                    f"{path}: line {reader.line_num}: a field is longer than "
                    f"{MAX_CSV_FIELD} characters; not a table of file names and values"
                )
            rows.append(row)
    except csv.Error as e:
        raise InputError(f"{path}: line {reader.line_num}: not a valid CSV ({e})") from None
    return rows


def one_value_per_name(
    path: str | Path, entries: Iterable[tuple[int, str, T]], show: Callable[[T], str] = str
) -> dict[str, T]:
    """``name -> value`` from a table's ``(line, name, value)`` entries: a name listed again
    with the same value is fine, with another value an :class:`InputError` naming both lines
    (which one would be used?); ``show`` writes a value in that message."""
    table: dict[str, T] = {}
    first_line: dict[str, int] = {}
    for line, name, value in entries:
        if name in table and table[name] != value:
            raise InputError(
                f"{path}: line {line}: {name!r} is listed again with {show(value)} "
                f"(line {first_line[name]}: {show(table[name])}); keep one row per file"
            )
        table[name] = value
        first_line.setdefault(name, line)
    return table


def write_image(path: str | Path, image: np.ndarray) -> Path:
    """Encode ``image`` (``(H, W)`` or ``(H, W, 3)`` BGR uint8) by ``path``'s suffix with
    ``cv2.imencode`` and write the bytes with Python: ``cv2.imwrite`` takes a C string, and
    crashes or fails on names that are not valid UTF-8 (surrogate escapes)."""
    path = Path(path)
    ok, buf = cv2.imencode(path.suffix or ".png", image)
    if not ok:
        raise InputError(f"{path}: cannot encode the image as {path.suffix or '.png'}")
    path.write_bytes(buf.tobytes())
    return path


def encode_constant_png(
    width: int, height: int, depth: int = 8, colour_type: int = 0, value: int = 0
) -> bytes:
    """A valid ``width x height`` PNG whose every sample byte is ``value``, written one row at a
    time (never the whole image in memory): ``depth`` 8 or 16, ``colour_type`` 0 gray, 2 RGB,
    4 gray+alpha, 6 RGBA. A few hundred KB on disk for hundreds of MB decoded: for the memory
    probe and tests."""
    import struct
    import zlib

    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour_type]
    row = b"\x00" + bytes([value]) * (width * channels * depth // 8)  # filter 0, then samples
    comp = zlib.compressobj(9)
    idat = b"".join(comp.compress(row) for _ in range(height)) + comp.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat)
    return png + chunk(b"IEND", b"")


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
