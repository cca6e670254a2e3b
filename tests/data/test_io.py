import io
import struct

import cv2
import numpy as np
import pytest
from PIL import Image

from fetalseg.data.io import (
    MAX_TOTAL_PIXELS,
    check_clip_size,
    decode_image,
    list_images,
    one_value_per_name,
    read_image,
    tiff_page_count,
)
from fetalseg.errors import InputError


def _png(arr, mode=None) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr, mode=mode).save(buf, format="PNG")
    return buf.getvalue()


def test_gray_png_round_trip():
    a = np.random.default_rng(0).integers(0, 255, (40, 50), dtype=np.uint8)
    assert np.array_equal(decode_image(_png(a)), a)


def test_16bit_rgba_and_palette_become_gray_uint8():
    g16 = (np.arange(40 * 50, dtype=np.uint16).reshape(40, 50) * 30).astype(np.uint16)
    out = decode_image(_png(g16))
    assert out.dtype == np.uint8 and out.shape == (40, 50)
    rgba = np.zeros((40, 50, 4), np.uint8)
    rgba[..., :3] = 200
    assert decode_image(_png(rgba)).mean() == pytest.approx(200, abs=1)
    pal = Image.fromarray(np.full((40, 50), 3, np.uint8), mode="L").convert("P")
    buf = io.BytesIO()
    pal.save(buf, format="PNG")
    assert decode_image(buf.getvalue()).shape == (40, 50)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty file"),
        (b"this is not an image at all", "not a readable image"),
    ],
)
def test_bad_bytes(data, message):
    with pytest.raises(InputError, match=message):
        decode_image(data, "x.png")


def test_truncated_png():
    data = _png(np.zeros((200, 200), np.uint8) + 7)
    with pytest.raises(InputError, match=r"x\.png"):
        decode_image(data[: len(data) // 2], "x.png")


def test_size_limits_before_decoding():
    tiny = _png(np.zeros((1, 1), np.uint8))
    with pytest.raises(InputError, match="at least 32x32"):
        decode_image(tiny)
    # a 20000x20000 PNG compresses to a few hundred KB; it must be refused from its header
    _, enc = cv2.imencode(".png", np.zeros((20000, 20000), np.uint8))
    with pytest.raises(InputError, match=r"too large|limit"):
        decode_image(enc.tobytes(), "bomb.png")


def test_read_image_names_missing_file(tmp_path):
    with pytest.raises(InputError, match=r"nope\.png: no such file"):
        read_image(tmp_path / "nope.png")


def test_list_images_skips_annotations(tmp_path):
    for name in ("001_HC.png", "001_HC_Annotation.png", "a.jpg", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in list_images(tmp_path)] == ["001_HC.png", "a.jpg"]


def test_list_images_with_dicom(tmp_path):
    for name in ("a.png", "b.dcm", "c.DICOM", "c_Annotation.dcm", "d.txt"):
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in list_images(tmp_path)] == ["a.png"]  # callers reading images only
    assert [p.name for p in list_images(tmp_path, dicom=True)] == ["a.png", "b.dcm", "c.DICOM"]


def test_clip_limits_before_decoding():
    check_clip_size(300, 640, 480, "ok.dcm")  # 92 MP: within the limits
    with pytest.raises(InputError, match=r"long\.gif: clip has 301 frames; at most 300"):
        check_clip_size(301, 64, 64, "long.gif")
    with pytest.raises(InputError, match="at most 5 are accepted"):
        check_clip_size(6, 64, 64, "c.gif", max_frames=5)
    n = MAX_TOTAL_PIXELS // (1000 * 1000) + 1
    with pytest.raises(InputError, match=rf"big\.gif: {n} frames of 1000x1000 are too many"):
        check_clip_size(n, 1000, 1000, "big.gif", max_frames=1000)
    with pytest.raises(InputError, match="at least 32x32"):
        check_clip_size(2, 8, 8, "tiny.gif")
    with pytest.raises(InputError, match="0 frames"):
        check_clip_size(0, 64, 64, "empty.dcm")


def test_one_value_per_name_allows_repeats_and_refuses_disagreements():
    entries = [(2, "a.png", 0.1), (3, "b.png", 0.2), (4, "a.png", 0.1)]
    assert one_value_per_name("t.csv", entries) == {"a.png": 0.1, "b.png": 0.2}
    bad = [*entries, (5, "b.png", 0.25)]
    with pytest.raises(
        InputError,
        match=r"t\.csv: line 5: 'b\.png' is listed again with 0\.25 mm \(line 3: 0\.2 mm\)",
    ):
        one_value_per_name("t.csv", bad, show=lambda mm: f"{mm:g} mm")


def _tiff_chain(
    subfile_types: list[int | None], order: str = "<", big: bool = False, loop: bool = False
) -> bytes:
    """A TIFF's header and IFD chain only (no pixels): one IFD per item, with a NewSubfileType
    entry (a LONG) of that value (``None``: no such entry) then an ImageWidth entry (a SHORT),
    values left-justified in the entry as the spec says; ``loop``: the last IFD points back
    to the first."""
    off, count, field = ("Q", "Q", 8) if big else ("I", "H", 4)
    head = struct.pack(order + "2sH", b"II" if order == "<" else b"MM", 43 if big else 42)
    head += struct.pack(order + "HHQ", 8, 0, 16) if big else struct.pack(order + "I", 8)
    pos, ifds = len(head), []
    for i, kind in enumerate(subfile_types):
        entries = ([(254, 4, kind)] if kind is not None else []) + [(256, 3, 64)]
        body = struct.pack(order + count, len(entries))
        for tag, kind_of_value, value in entries:
            body += struct.pack(order + "HH" + off, tag, kind_of_value, 1)
            body += struct.pack(order + ("I" if kind_of_value == 4 else "H"), value).ljust(field)
        size = len(body) + struct.calcsize(off)
        last = i == len(subfile_types) - 1
        nxt = len(head) if loop and last else 0 if last else pos + size
        ifds.append(body + struct.pack(order + off, nxt))
        pos += size
    return head + b"".join(ifds)


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("big", [False, True])
def test_tiff_page_count_walks_the_ifd_chain(order, big):
    assert tiff_page_count(_tiff_chain([None], order, big)) == 1
    assert tiff_page_count(_tiff_chain([None, None, 0], order, big)) == 3
    # a reduced-resolution directory (a thumbnail or preview) is not a page
    assert tiff_page_count(_tiff_chain([0, 1, 1], order, big)) == 1
    assert tiff_page_count(_tiff_chain([None, None], order, big, loop=True)) == 2  # ends


def test_tiff_page_count_of_other_and_broken_data():
    assert tiff_page_count(_png(np.zeros((40, 50), np.uint8))) == 0
    assert tiff_page_count(b"II*\x00") == 0
    assert tiff_page_count(b"II*\x00\xff\xff\xff\xff") == 0  # first IFD beyond the file
    two = _tiff_chain([None, None])
    second = int.from_bytes(two[22:26], "little")  # the first IFD's next offset
    assert tiff_page_count(two) == 2 and tiff_page_count(two[: second + 1]) == 1  # cut short
    assert tiff_page_count(_tiff_chain([None] * 50), limit=10) == 10


def test_multi_page_tiff_is_refused_naming_its_pages():
    page = np.random.default_rng(0).integers(0, 255, (40, 50), dtype=np.uint8)
    one = cv2.imencode(".tiff", page)[1].tobytes()
    assert tiff_page_count(one) == 1
    assert np.array_equal(decode_image(one, "x.tif"), page)
    three = cv2.imencodemulti(".tiff", [page, page, page])[1].tobytes()
    assert tiff_page_count(three) == 3
    with pytest.raises(InputError, match=r"^x\.tif: a TIFF of 3 pages; .*single-frame TIFF"):
        decode_image(three, "x.tif")
    buf = io.BytesIO()  # the pages of another writer (Pillow)
    Image.fromarray(page).save(buf, "TIFF", save_all=True, append_images=[Image.fromarray(page)])
    with pytest.raises(InputError, match="a TIFF of 2 pages"):
        decode_image(buf.getvalue(), "y.tiff")
