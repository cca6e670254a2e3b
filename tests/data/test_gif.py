"""The one GIF reader: frames, frame time, and the clip limits checked before decoding."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from PIL import Image

from fetalseg.data.gif import decode_gif, is_gif
from fetalseg.errors import InputError


def _frames(n: int, w: int = 96, h: int = 64) -> list[np.ndarray]:
    """``n`` gray frames, frame ``i`` a constant ``40 * i + 20`` (exact in a GIF palette)."""
    return [np.full((h, w), 40 * i + 20, np.uint8) for i in range(n)]


def _gif(frames: list[np.ndarray], duration: int | None = 40) -> bytes:
    images = [Image.fromarray(f) for f in frames]
    buf = io.BytesIO()
    extra = {"duration": duration} if duration is not None else {}
    images[0].save(buf, "GIF", save_all=True, append_images=images[1:], **extra)
    return buf.getvalue()


def test_decodes_every_frame_and_the_frame_time():
    frames = _frames(3)
    gif = decode_gif(_gif(frames, duration=50), "c.gif")
    assert gif.n_frames == 3 and gif.frames.shape == (3, 64, 96) and gif.frames.dtype == np.uint8
    np.testing.assert_array_equal(gif.frames, np.stack(frames))
    assert gif.frame_time_ms == 50.0


def test_a_single_frame_and_a_gif_without_delay():
    gif = decode_gif(_gif(_frames(1), duration=None), "one.gif")
    assert gif.n_frames == 1 and gif.frame_time_ms is None


def test_is_gif_reads_the_signature_not_the_name():
    assert is_gif(_gif(_frames(2)))
    assert not is_gif(b"\x89PNG\r\n\x1a\n" + bytes(20))


def test_limits_are_checked_from_the_header():
    data = _gif(_frames(4))
    with pytest.raises(InputError, match=r"c\.gif: clip has 4 frames; at most 3 are accepted"):
        decode_gif(data, "c.gif", max_frames=3)
    with pytest.raises(InputError, match=r"tiny\.gif: image is 8x8; at least 32x32"):
        decode_gif(_gif(_frames(2, 8, 8)), "tiny.gif")


def test_a_frame_outside_the_canvas_is_refused():
    data = bytearray(_gif(_frames(3)))
    # the last image descriptor (0x2C, left, top, width, height: little-endian 16-bit) moved to
    # y = 127, below the 96x64 canvas: Pillow would grow the canvas for it
    starts = [
        i
        for i in range(len(data) - 9)
        if data[i] == 0x2C and struct.unpack("<HH", data[i + 5 : i + 9]) == (96, 64)
    ]
    data[starts[-1] + 3 : starts[-1] + 5] = struct.pack("<H", 127)
    with pytest.raises(InputError, match=r"out\.gif: frame 3 is 96x191, larger than the clip"):
        decode_gif(bytes(data), "out.gif")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"GIF89a" + bytes(10), "not a readable GIF"),
        (b"not an image at all", "not a readable GIF"),
    ],
)
def test_unreadable_bytes_are_one_line_errors(data, message):
    with pytest.raises(InputError, match=rf"x\.gif: {message}"):
        decode_gif(data, "x.gif")


def test_a_truncated_clip_names_the_file():
    with pytest.raises(InputError, match=r"cut\.gif: not a readable GIF \(truncated or corrupt"):
        decode_gif(_gif(_frames(3))[:-300], "cut.gif")


def test_another_format_is_not_taken_for_a_gif():
    buf = io.BytesIO()
    Image.fromarray(_frames(1)[0]).save(buf, "PNG")
    with pytest.raises(InputError, match=r"p\.png: not a GIF file"):
        decode_gif(buf.getvalue(), "p.png")
