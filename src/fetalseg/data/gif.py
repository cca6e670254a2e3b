"""Animated GIFs from bytes: every frame as ``(N, H, W) uint8``, within the clip limits.

The one GIF reader: the web app (uploads) and ``fetalseg video`` (a ``.gif`` path, through
:func:`fetalseg.data.io.read_file_bytes`) both decode with :func:`decode_gif`. Pillow reads the
frames (FFmpeg's GIF demuxer merges frames that lack a delay). The header is checked first
(:func:`fetalseg.data.io.check_clip_size`: each frame's size, at most ``max_frames`` frames,
at most :data:`~fetalseg.data.io.MAX_TOTAL_PIXELS` in all), then the frames are decoded one at
a time; a frame reaching outside the first one's size (which would grow Pillow's canvas, and
the memory, past those checks) is refused before its pixels are decoded.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np

from fetalseg.data.io import MAX_FRAMES, check_clip_size
from fetalseg.errors import InputError

#: The first bytes of every GIF file (GIF87a and GIF89a specifications).
GIF_SIGNATURES = (b"GIF87a", b"GIF89a")


@dataclass(frozen=True)
class GifClip:
    """A decoded GIF. ``frames``: ``(N, H, W) uint8`` gray (Pillow's ``"L"`` conversion, ITU-R
    601-2 luma); ``frame_time_ms``: the first frame's delay in ms, ``None`` when the file gives
    none (or 0)."""

    frames: np.ndarray
    frame_time_ms: float | None

    @property
    def n_frames(self) -> int:
        return int(self.frames.shape[0])


def is_gif(data: bytes) -> bool:
    """Whether ``data`` starts with a GIF signature (the kind is told by content, not name)."""
    return data[:6] in GIF_SIGNATURES


def decode_gif(data: bytes, name: str = "clip.gif", max_frames: int = MAX_FRAMES) -> GifClip:
    """Decode a GIF file's bytes (one frame or more); :class:`InputError` naming ``name`` for a
    file that is not a readable GIF, is corrupt after some frames, or is over the limits."""
    from PIL import Image, ImageSequence

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                if im.format != "GIF":
                    raise InputError(f"{name}: not a GIF file")
                w, h = im.size
                n = int(getattr(im, "n_frames", 1))
                check_clip_size(n, w, h, name, max_frames)
                duration = im.info.get("duration")
                frames = []
                for f in ImageSequence.Iterator(im):
                    if f.size != (w, h):
                        raise InputError(
                            f"{name}: frame {len(frames) + 1} is {f.size[0]}x{f.size[1]}, "
                            f"larger than the clip's {w}x{h}"
                        )
                    frames.append(np.asarray(f.convert("L")))
    except InputError:
        raise
    except Exception:  # Pillow decodes lazily: a corrupt frame fails where it is read
        raise InputError(f"{name}: not a readable GIF (truncated or corrupt)") from None
    frame_time = float(duration) if isinstance(duration, (int, float)) and duration > 0 else None
    return GifClip(np.stack(frames), frame_time)
