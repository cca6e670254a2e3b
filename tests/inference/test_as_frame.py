"""The one input conversion of the Python entry points (fetalseg.inference.predictor.as_frame):
each accepted kind of array becomes the same ``(H, W) uint8`` frame, each refused kind a
one-line InputError naming the input."""

from __future__ import annotations

import numpy as np
import pytest

from fetalseg.errors import InputError
from fetalseg.inference.predictor import as_frame

GREY = np.arange(12 * 16, dtype=np.uint8).reshape(12, 16)  # 0..191


@pytest.mark.parametrize(
    "kind, convert",
    [
        ("uint8", lambda g: g),
        ("float [0, 1]", lambda g: g.astype(np.float32) / 255.0),
        ("float [0, 255]", lambda g: g.astype(np.float64)),
        ("uint16 (x 257)", lambda g: g.astype(np.uint16) * 257),
        ("int32 in 0-255", lambda g: g.astype(np.int32)),
        ("(H, W, 1)", lambda g: g[..., None]),
        ("RGB", lambda g: np.dstack([g, g, g])),
        ("BGR float [0, 1]", lambda g: np.dstack([g, g, g]).astype(np.float32) / 255.0),
        ("RGBA", lambda g: np.dstack([g, g, g, np.zeros_like(g)])),
        ("RGB uint16", lambda g: np.dstack([g, g, g]).astype(np.uint16) * 257),
    ],
)
def test_accepted_inputs_give_the_grey_frame(kind, convert):
    out = as_frame(convert(GREY))
    assert out.dtype == np.uint8 and out.shape == GREY.shape, kind
    np.testing.assert_array_equal(out, GREY)


def test_colour_is_the_mean_of_the_channels_so_order_does_not_matter():
    rgb = np.dstack([GREY, GREY // 2, np.zeros_like(GREY)])
    np.testing.assert_array_equal(as_frame(rgb), as_frame(rgb[..., ::-1].copy()))
    expected = np.rint((GREY.astype(np.float32) + GREY // 2) / 3).astype(np.uint8)
    np.testing.assert_array_equal(as_frame(rgb), expected)


@pytest.mark.parametrize(
    "bad, words",
    [
        (np.full((4, 4), np.nan, np.float32), "NaN or infinite"),
        (np.full((4, 4), np.inf), "NaN or infinite"),
        (np.zeros((4, 4), np.float32) - 0.5, "outside [0, 1] and [0, 255]"),
        (np.zeros((4, 4), np.float32) + 256.0, "outside [0, 1] and [0, 255]"),
        (np.zeros((4, 4), np.int64) - 5, "outside 0-255"),
        (np.zeros((4, 4), np.int32) + 1000, "outside 0-255"),
        (np.zeros((4, 4), bool), "mask, not an image"),
        (np.zeros(16, np.uint8), "got shape (16,)"),
        (np.zeros((2, 4, 5), np.uint8), "got shape (2, 4, 5)"),  # a stack of frames
        (np.zeros((4, 4, 3, 1), np.uint8), "got shape"),
        (np.zeros((0, 4), np.uint8), "empty"),
        (np.zeros((4, 4), np.complex64), "unsupported dtype"),
        ([[1, 2], [3, 4]], "expected a NumPy array, got list"),
    ],
)
def test_refused_inputs_say_why(bad, words):
    with pytest.raises(InputError) as e:
        as_frame(bad, "scan")
    msg = str(e.value)
    assert msg.startswith("scan: ") and words in msg and "\n" not in msg
