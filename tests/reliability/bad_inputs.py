"""A corpus of bad (and awkward but valid) inputs for the reliability tests, made from nothing.

:func:`make_corpus` writes single files (images, DICOM, pixel-size CSVs, configs, checkpoints);
:func:`make_hc18_variants` writes small HC18-layout folders, each broken in one way. Both return
``{name: path}``; :data:`EXPECTED` says what each single file should give. Nothing is
downloaded and no HC18 file is used: frames come from :mod:`fetalseg.data.synthetic`.

``scripts/make_bad_inputs.py`` writes the same corpus to a folder, for trying it by hand.
"""

from __future__ import annotations

import io
import shutil
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np

from fetalseg.data.dicom import encode_constant_rle_dicom, encode_ultrasound_dicom
from fetalseg.data.io import encode_constant_png
from fetalseg.data.synthetic import synthetic_frame, write_hc18_layout

#: What each image-like corpus file must give: ``"error"`` (refused, named in the message),
#: ``"valid"`` (decoded and measured: any status but error), ``"no_head"`` (decoded, no head).
EXPECTED: dict[str, str] = {
    "good.png": "valid",
    "empty.png": "error",
    "truncated.png": "error",
    "truncated.jpg": "error",
    "not_an_image.png": "error",
    "not_an_image.jpg": "error",
    "gray16.png": "valid",
    "rgba.png": "valid",
    "palette.png": "valid",
    "tiny_1x1.png": "error",
    "bomb_20000x20000.png": "error",
    "blank.png": "no_head",
    "no_head.png": "no_head",
    "no_pixel_data.dcm": "error",
    "no_spacing.dcm": "valid",
    "corrupt_vr.dcm": "error",
    "unknown_transfer_syntax.dcm": "error",
    "gif_frame_outside.gif": "error",
    "truncated_clip.gif": "error",
    "tiny_1x1.gif": "error",
    "png_chunk_2gb.png": "valid",
    "rgba16_40mp.png": "error",
    "clip_rle16_5x40mp.dcm": "error",
    # second probe (issue 17 follow-up): contents that do not match the name, odd shapes
    "dicom_named.png": "valid",  # read by content, its PixelSpacing used
    "png_named.dcm": "valid",
    "wide_10000x1.png": "error",
    "strip_8000x32.png": "no_head",  # 250:1, constant: measured, no head
    "dicom_header_only.dcm": "error",  # cut after 200 bytes: no pixel data
    "nan_float.tiff": "error",
    "two_pages.tiff": "error",  # not measured on its first page alone
}

#: Corpus files that are clips (many frames): ``predict FILE`` measures them frame by frame.
CLIP_FILES = (
    "truncated_clip.gif",
    "gif_frame_outside.gif",
    "tiny_1x1.gif",
    "clip_rle16_5x40mp.dcm",
)

#: Corpus files that are pixel-size CSVs for ``predict --pixel-csv`` (all refused but
#: ``pixels_extra_row.csv``, whose extra row without an image is ignored).
CSV_FILES = (
    "pixels_nan.csv",
    "pixels_negative.csv",
    "pixels_zero.csv",
    "pixels_missing.csv",
    "pixels_text.csv",
    "pixels_extra_row.csv",
    "pixels_latin1.csv",
    "pixels_huge_field.csv",
    "pixels_duplicate.csv",
    "pixels_out_of_range.csv",
)


def _frame(width: int = 800, height: int = 540, seed: int = 0) -> np.ndarray:
    return synthetic_frame(width, height, rng=seed)[0]


def _with_nan(frame: np.ndarray) -> np.ndarray:
    out = frame.astype(np.float32)
    out[0, 0] = np.nan
    return out


def _encode(ext: str, image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(ext, image)
    assert ok, ext
    return buf.tobytes()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def bomb_png(width: int = 20000, height: int = 20000) -> bytes:
    """A valid ``width x height`` 1-bit gray PNG of zeros, written by hand: ~50 KB on disk, but
    ``width * height`` bytes once decoded to 8-bit gray. Compressing it streams one row at a
    time (never the whole image in memory)."""
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed 1-bit pixels
    comp = zlib.compressobj(9)
    parts = [comp.compress(row) for _ in range(height)]
    parts.append(comp.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", b"".join(parts))
        + _png_chunk(b"IEND", b"")
    )


def dicom_bytes(
    frame: np.ndarray | None, pixel_spacing: list[float] | None = None, rows_cols=(540, 800)
) -> bytes:
    """An ultrasound DICOM (MONOCHROME2, 8 bit); ``frame=None``: no pixel data at all."""
    return encode_ultrasound_dicom(frame, None, pixel_spacing, rows_cols)


def _corrupt_vr(dicom: bytes) -> bytes:
    """PixelRepresentation (0028,0103) with VR ``ES``, which does not exist (found by fuzzing)."""
    tag = b"\x28\x00\x03\x01US"
    assert tag in dicom
    return dicom.replace(tag, b"\x28\x00\x03\x01ES", 1)


def _unknown_transfer_syntax(dicom: bytes) -> bytes:
    """Transfer syntax UID replaced by a UID that names no transfer syntax (found by fuzzing)."""
    uid = b"1.2.840.10008.1.2.1\x00"  # Explicit VR Little Endian, padded to even length
    assert uid in dicom
    return dicom.replace(uid, b"1.2.840.10008.1.1\x00\x00\x00", 1)


def png_chunk_2gb() -> bytes:
    """A valid PNG whose IDAT chunk declares a length of ~2 GB (found by fuzzing): OpenCV
    allocated the 2 GB before failing; the data itself is complete, so it can be decoded."""
    data = bytearray(_encode(".png", _frame(96, 64)))
    i = data.index(b"IDAT") - 4
    data[i : i + 4] = struct.pack(">I", 0x7F000000)
    return bytes(data)


def _pil_bytes(image: np.ndarray, fmt: str) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, fmt)
    return buf.getvalue()


def _gif_clip() -> bytes:
    """A valid 3-frame 96x64 GIF clip."""
    from PIL import Image

    frames = [Image.fromarray(_frame(96, 64, seed=i)) for i in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=40)
    return buf.getvalue()


def _gif_frame_outside() -> bytes:
    """:func:`_gif_clip` with its last frame placed at y = 127, outside the canvas: Pillow
    grows the canvas for it (found by fuzzing; a larger one would be a memory bomb)."""
    data = bytearray(_gif_clip())
    # image descriptors: 0x2C, left, top, width, height (little-endian 16-bit)
    starts = [
        i
        for i in range(len(data) - 9)
        if data[i] == 0x2C and struct.unpack("<HH", data[i + 5 : i + 9]) == (96, 64)
    ]
    data[starts[-1] + 3 : starts[-1] + 5] = struct.pack("<H", 127)
    return bytes(data)


def _palette_png(image: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).convert("P", palette=Image.Palette.ADAPTIVE).save(buf, "PNG")
    return buf.getvalue()


def _no_head_frame(width: int = 800, height: int = 540, seed: int = 0) -> np.ndarray:
    """Speckle texture inside a scan sector, with no skull ring: what a probe sees off-target."""
    rng = np.random.default_rng(seed)
    noise = rng.rayleigh(0.25, (height // 4, width // 4)).astype(np.float32)
    noise = cv2.resize(cv2.GaussianBlur(noise, (0, 0), 1.5), (width, height))
    yy, xx = np.mgrid[0:height, 0:width]
    theta = np.arctan2(xx - width / 2, yy + height * 0.3)
    sector = (np.abs(theta) < 0.7).astype(np.float32)
    return np.clip(noise * sector * 255 * 1.5, 0, 255).astype(np.uint8)


def _laughs_yaml() -> bytes:
    """The 'billion laughs': 9 levels of 9 aliases, ~300 bytes for 9^9 strings (took 21 s and
    2.6 GB before aliases were refused)."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for k in "bcdefghi":
        lines.append(f"{k}: &{k} [" + ",".join([f"*{chr(ord(k) - 1)}"] * 9) + "]")
    return ("\n".join(lines) + "\n").encode()


def make_corpus(folder: str | Path) -> dict[str, Path]:
    """Write the corpus of single files into ``folder``; ``{file name: path}``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    frame = _frame()
    png, jpg = _encode(".png", frame), _encode(".jpg", frame)
    rgba = np.dstack([cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR), np.full_like(frame, 200)])
    files: dict[str, bytes] = {
        "good.png": png,
        "empty.png": b"",
        "truncated.png": png[: len(png) // 2],
        "truncated.jpg": jpg[: len(jpg) // 2],
        "not_an_image.png": b"This is a text file with an image extension.\n" * 40,
        "not_an_image.jpg": bytes(np.random.default_rng(1).integers(0, 256, 4096, np.uint8)),
        "gray16.png": _encode(".png", frame.astype(np.uint16) * 257),
        "rgba.png": _encode(".png", rgba),
        "palette.png": _palette_png(frame),
        "tiny_1x1.png": _encode(".png", np.full((1, 1), 128, np.uint8)),
        "bomb_20000x20000.png": bomb_png(),
        "blank.png": _encode(".png", np.zeros_like(frame)),
        "no_head.png": _encode(".png", _no_head_frame()),
        "no_pixel_data.dcm": dicom_bytes(None),
        "no_spacing.dcm": dicom_bytes(frame),
        "corrupt_vr.dcm": _corrupt_vr(dicom_bytes(frame)),
        "unknown_transfer_syntax.dcm": _unknown_transfer_syntax(dicom_bytes(frame)),
        "gif_frame_outside.gif": _gif_frame_outside(),
        "truncated_clip.gif": _gif_clip()[:-300],
        "tiny_1x1.gif": _pil_bytes(np.zeros((1, 1), np.uint8), "GIF"),
        "png_chunk_2gb.png": png_chunk_2gb(),
        # decoded size far beyond the file's: 320 KB for 320 MB, 6.3 MB for 400 MB (issue 17)
        "rgba16_40mp.png": encode_constant_png(8000, 5000, 16, 6, 7),
        "dicom_named.png": dicom_bytes(frame),
        "png_named.dcm": png,
        "wide_10000x1.png": _encode(".png", np.zeros((1, 10000), np.uint8)),
        "strip_8000x32.png": _encode(".png", np.full((32, 8000), 90, np.uint8)),
        "dicom_header_only.dcm": dicom_bytes(frame)[:200],
        "nan_float.tiff": _encode(".tiff", _with_nan(frame)),
        "two_pages.tiff": cv2.imencodemulti(".tiff", [frame, frame])[1].tobytes(),
        "clip_rle16_5x40mp.dcm": encode_constant_rle_dicom(5, 5000, 8000, 16),
        # pixel-size CSVs (HC18 format: filename,pixel size(mm))
        "pixels_nan.csv": b"filename,pixel size(mm)\ngood.png,nan\n",
        "pixels_negative.csv": b"filename,pixel size(mm)\ngood.png,-0.1\n",
        "pixels_zero.csv": b"filename,pixel size(mm)\ngood.png,0\n",
        "pixels_missing.csv": b"filename,pixel size(mm)\ngood.png,\n",
        "pixels_text.csv": b"filename,pixel size(mm)\ngood.png,abc\n",
        "pixels_extra_row.csv": b"filename,pixel size(mm)\ngood.png,0.1\nabsent.png,0.1\n",
        "pixels_latin1.csv": "filename,pixel size(mm)\nbébé.png,0.1\n".encode("latin-1"),
        "pixels_huge_field.csv": b"filename,pixel size(mm)\n" + b"a" * 200_000 + b",0.1\n",
        "pixels_duplicate.csv": b"filename,pixel size(mm)\ngood.png,0.1\ngood.png,0.2\n",
        "pixels_out_of_range.csv": b"filename,pixel size(mm)\ngood.png,5\n",
        # training configs
        "config_not_yaml.yaml": b"train: [epochs: 3\n",
        "config_unknown_key.yaml": b"train:\n  epoks: 3\n",
        "config_wrong_type.yaml": b"train:\n  epochs: many\n",
        "config_not_mapping.yaml": b"- a\n- b\n",
        "config_batch_zero.yaml": b"train:\n  batch_size: 0\n",
        "config_unknown_model.yaml": b"model:\n  name: resnet9000\n",
        "config_bad_precision.yaml": b"train:\n  precision: fp8\n",
        "config_latin1.yaml": "train:\n  precision: fp32  # é\n".encode("latin-1"),
        "config_aliases.yaml": _laughs_yaml(),
        "config_float_epochs.yaml": b"train:\n  epochs: 2.7\n",
        "config_bool_epochs.yaml": b"train:\n  epochs: true\n",
        "config_int_bool.yaml": b"train:\n  channels_last: 5\n",
        # checkpoints that are not
        "empty.pt": b"",
        "garbage.pt": b"PK\x03\x04" + b"\x00" * 100,
        "text.safetensors": b"this is not a safetensors file",
        "text.onnx": b"this is not an onnx file",
    }
    paths = {}
    for name, data in files.items():
        (folder / name).write_bytes(data)
        paths[name] = folder / name
    return paths


#: HC18-layout variants: each breaks one thing; ``"error"`` ones must be refused naming the
#: file, ``"ok"`` ones must run (the broken frame measured as what it is).
HC18_VARIANTS: dict[str, str] = {
    "image_without_csv_row": "error",
    "csv_row_without_image": "ok",
    "pixel_size_nan": "error",
    "pixel_size_negative": "error",
    "pixel_size_missing": "error",
    "hc_missing": "error",
    "annotation_missing": "error",
    "annotation_wrong_size": "error",
    "annotation_empty": "error",
    "image_truncated": "error",
    "image_not_an_image": "error",
    "image_bomb": "error",
    "image_1x1": "error",
    "image_blank": "ok",
    "image_no_head": "ok",
}

#: The image every variant breaks by default: with 8 subjects and the default split (seed 0)
#: it is the test split's only image, so ``demo --data`` and ``export --data`` read it too.
TARGET = "006_HC.png"
#: An image of the training split (``train --data`` reads only the train and validation parts).
TRAIN_TARGET = "000_HC.png"


def named_in_error(variant: str, target: str = TARGET) -> str:
    """What the error of an ``"error"`` variant must name: the extra image for
    ``image_without_csv_row``, else the broken image's stem (its name or its outline's)."""
    return "099_HC.png" if variant == "image_without_csv_row" else target.removesuffix(".png")


def _set_csv_value(root: Path, name: str, column: int, value: str | None) -> None:
    """Replace (``None``: drop, and everything after it) one value of ``name``'s CSV row."""
    path = root / "training_set_pixel_size_and_HC.csv"
    lines = path.read_text().splitlines()
    for i, line in enumerate(lines):
        cells = line.split(",")
        if cells[0] == name:
            cells = (
                cells[:column] if value is None else [*cells[:column], value, *cells[column + 1 :]]
            )
            lines[i] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")


def make_hc18_variants(
    folder: str | Path,
    target: str = TARGET,
    only: tuple[str, ...] | None = None,
    n_subjects: int = 8,
) -> dict[str, Path]:
    """Write ``folder/base`` (a clean synthetic HC18 layout, 400x270 frames) and one copy per
    :data:`HC18_VARIANTS` entry (or those in ``only``) with that one defect in ``target`` (an
    image name such as :data:`TARGET`) or its rows/files."""
    folder = Path(folder)
    base = write_hc18_layout(folder / "base", n_subjects, seed=0)
    out = {"base": base}
    for variant in only or tuple(HC18_VARIANTS):
        root = folder / variant
        if root.exists():
            shutil.rmtree(root)
        shutil.copytree(base, root)
        ts = root / "training_set"
        image = ts / target
        annotation = ts / target.replace("HC.png", "HC_Annotation.png")
        if variant == "image_without_csv_row":
            shutil.copy(image, ts / "099_HC.png")
            shutil.copy(annotation, ts / "099_HC_Annotation.png")
        elif variant == "csv_row_without_image":
            csv = root / "training_set_pixel_size_and_HC.csv"
            csv.write_text(csv.read_text() + "098_HC.png,0.3,150.0\n")
        elif variant == "pixel_size_nan":
            _set_csv_value(root, target, 1, "nan")
        elif variant == "pixel_size_negative":
            _set_csv_value(root, target, 1, "-0.3")
        elif variant == "pixel_size_missing":
            _set_csv_value(root, target, 1, None)
        elif variant == "hc_missing":
            _set_csv_value(root, target, 2, None)
        elif variant == "annotation_missing":
            annotation.unlink()
        elif variant == "annotation_wrong_size":
            cv2.imwrite(str(annotation), cv2.resize(cv2.imread(str(annotation), 0), (200, 135)))
        elif variant == "annotation_empty":
            cv2.imwrite(str(annotation), np.zeros((270, 400), np.uint8))
        elif variant == "image_truncated":
            data = image.read_bytes()
            image.write_bytes(data[: len(data) // 2])
        elif variant == "image_not_an_image":
            image.write_bytes(b"not an image\n" * 50)
        elif variant == "image_bomb":
            image.write_bytes(bomb_png())
        elif variant == "image_1x1":
            cv2.imwrite(str(image), np.zeros((1, 1), np.uint8))
        elif variant == "image_blank":
            cv2.imwrite(str(image), np.zeros((270, 400), np.uint8))
        elif variant == "image_no_head":
            cv2.imwrite(str(image), _no_head_frame(400, 270))
        out[variant] = root
    return out
