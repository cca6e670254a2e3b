"""Cine clips and live streams: frame-by-frame measurement, annotated video, stable summary.

Clips (``.mp4``, ``.avi``, ``.mov``, ``.mkv``, ``.webm`` or a folder of frames) are decoded with
PyAV (FFmpeg bindings, maintained, wheels bundle FFmpeg), frame by frame; a ``.gif`` through
:mod:`fetalseg.data.gif` and a multi-frame DICOM file (told by content, any suffix) through
:mod:`fetalseg.data.dicom` (with its frame time and pixel size), whole, within the clip limits
of :func:`fetalseg.data.io.check_clip_size`.
A live source (a generator of frames, a camera index, or a stream URL) is read on its own thread
that keeps only the newest frame: when inference is slower than the source, older frames are
dropped and counted, never queued, so the output never falls behind the scan.
"""

from __future__ import annotations

import csv
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from fetalseg.data.dicom import DicomImage, decode_dicom, dicom_frame_count, is_dicom
from fetalseg.data.gif import decode_gif
from fetalseg.data.io import (
    check_size,
    list_images,
    read_file_bytes,
    read_image,
    require_regular_file,
    to_gray_uint8,
    write_image,
)
from fetalseg.destination import output_dir
from fetalseg.errors import InputError, has_extra, require_extra
from fetalseg.inference.batch import SOURCE_OPTION
from fetalseg.inference.overlay import draw_overlay, measurement_lines
from fetalseg.inference.predictor import Prediction, Predictor
from fetalseg.result import (
    ClipResult,
    FrameResult,
    PixelSize,
    as_pixel_size,
    frame_result,
    resolve_calibration,
)

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".gif", ".webm")
FRAME_FIELDS = (
    "frame",
    "time_s",
    "status",
    "hc_mm",
    "bpd_mm",
    "ofd_mm",
    "ga_weeks",
    "ga_standard",
    "hc_px",
    "quality",
    "quality_reasons",
    "message",
)


#: Frame rate of a DICOM clip without a ``FrameTime``, and of a folder of frames.
DEFAULT_FPS = 25.0


def _dicom_bytes(path: Path) -> bytes | None:
    """The file's bytes when it is DICOM (by its ``DICM`` marker), else ``None`` (also when it
    cannot be read: whoever reads it next reports why)."""
    try:
        with path.open("rb") as f:
            if not is_dicom(f.read(132)):
                return None
    except OSError:
        return None
    return read_file_bytes(path)


def is_clip(path: str | Path) -> bool:
    """Whether ``path`` is a clip: a video suffix, or a DICOM file (any suffix) whose header
    says more than one frame. An unreadable DICOM is not a clip: read as an image, its error
    row says why."""
    path = Path(path)
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return True
    data = _dicom_bytes(path) if path.is_file() else None
    if data is None:
        return False
    try:
        return dicom_frame_count(data, str(path)) > 1
    except InputError:
        return False


def read_clip(path: str | Path) -> tuple[Iterator[np.ndarray], float, int]:
    """``(frames, fps, count)``: ``(H, W) uint8`` frames of a video file, a multi-frame DICOM
    file or a frame folder.

    ``count`` is 0 when the container does not say; a DICOM clip's fps is ``1000 / FrameTime``
    (ms), else 25. Errors name the file.
    """
    frames, fps, count, _ = open_clip(path)
    return frames, fps, count


def open_clip(path: str | Path) -> tuple[Iterator[np.ndarray], float, int, DicomImage | None]:
    """:func:`read_clip`'s answer and, for a DICOM file, the decoded file (its
    :attr:`~fetalseg.data.dicom.DicomImage.calibration` is the clip's pixel size)."""
    path = Path(path)
    if path.is_dir():
        files = list_images(path)
        if not files:
            raise InputError(f"{path}: no frames (png, jpg, bmp, tif) in the folder")
        return (read_image(f) for f in files), DEFAULT_FPS, len(files), None
    if path.exists():  # not a stream URL: a device or FIFO is refused before it is opened
        require_regular_file(path)
    data = _dicom_bytes(path) if path.is_file() else None
    if data is not None:
        d = decode_dicom(data, str(path))  # all frames at once: bounded by the file's limits
        fps = 1000.0 / d.frame_time_ms if d.frame_time_ms else DEFAULT_FPS
        return iter(d.frames), fps, d.n_frames, d
    if path.suffix.lower() == ".gif":
        gif = decode_gif(read_file_bytes(path), str(path))  # all frames: within the clip limits
        fps = 1000.0 / gif.frame_time_ms if gif.frame_time_ms else DEFAULT_FPS
        return iter(gif.frames), fps, gif.n_frames, None
    require_extra("video", "reading or writing video files")
    import av

    try:
        container = av.open(str(path))
        stream = container.streams.video[0]
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (av.error.FFmpegError, IndexError, OSError) as e:
        raise InputError(f"{path}: not a readable video ({type(e).__name__})") from None
    fps = float(stream.average_rate or stream.guessed_rate or DEFAULT_FPS)
    count = int(stream.frames or 0)

    def frames() -> Iterator[np.ndarray]:
        try:
            for frame in container.decode(stream):
                check_size(frame.width, frame.height, str(path))
                yield to_gray_uint8(frame.to_ndarray(format="gray"), str(path))
        except av.error.FFmpegError as e:
            raise InputError(f"{path}: video is corrupt after some frames ({e})") from None
        finally:
            container.close()

    return frames(), fps, count, None


def _frame_row(result: FrameResult) -> dict[str, object]:
    """``frames.csv``'s row of a frame (empty cells for unknown values)."""
    d = result.to_dict()
    row = {k: "" if d.get(k) is None else d[k] for k in FRAME_FIELDS}
    row["quality_reasons"] = " | ".join(
        f"{r['code']}: {r['message']}" for r in d["quality_reasons"]
    )
    return row


def _result(
    pred: Prediction, size: PixelSize | None, source: str | None, index: int, t: float
) -> FrameResult:
    return frame_result(
        pred.mask,
        pred.measurement,
        size,
        source,
        index=index,
        time_s=round(t, 4),
        quality=pred.quality,
    )


def _annotate(frame: np.ndarray, result: FrameResult) -> np.ndarray:
    lines = measurement_lines(result.measurement, result.px()["hc_px"])
    return draw_overlay(frame, result.mask, result.ellipse_px, lines, result.quality)


class _FrameFolderWriter:
    """The annotated frames as numbered PNGs (the core install has no video encoder)."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir()
        self.folder, self.count = folder, 0

    def write(self, bgr: np.ndarray) -> None:
        write_image(self.folder / f"frame_{self.count:04d}.png", bgr)
        self.count += 1

    def close(self) -> None:
        pass


class _VideoWriter:
    """H.264 (or MPEG-4 where x264 is missing) MP4 writer; sizes are made even for yuv420p."""

    def __init__(self, path: Path, fps: float) -> None:
        require_extra("video", "reading or writing video files")
        import av

        self.av = av
        self.container = av.open(str(path), mode="w")
        codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
        self.stream = self.container.add_stream(codec, rate=max(1, round(fps)))
        self.stream.pix_fmt = "yuv420p"
        self.started = False

    def write(self, bgr: np.ndarray) -> None:
        h, w = bgr.shape[:2]
        bgr = bgr[: h - h % 2, : w - w % 2]
        if not self.started:
            self.stream.height, self.stream.width = bgr.shape[:2]
            self.started = True
        frame = self.av.VideoFrame.from_ndarray(np.ascontiguousarray(bgr), format="bgr24")
        for packet in self.stream.encode(frame):
            self.container.mux(packet)

    def close(self) -> None:
        if self.started:
            for packet in self.stream.encode():
                self.container.mux(packet)
        self.container.close()


def clip_pixel_size(
    given_mm: float | tuple[float, float] | None,
    dicom: DicomImage | None,
    given_source: str = SOURCE_OPTION,
) -> tuple[PixelSize | None, str | None, str | None]:
    """``(pixel size (x, y) mm, source, note)`` for a clip by the package's one rule
    (:func:`fetalseg.result.resolve_calibration`): a DICOM clip's own calibration, else the
    user's ``--pixel-size``, else ``None`` (px only)."""
    file_size, file_source = dicom.calibration if dicom is not None else (None, None)
    return resolve_calibration(file_size, file_source, given_mm, given_source)


def process_clip(
    predictor: Predictor,
    path: str | Path,
    out: str | Path,
    pixel_size_mm: float | None,
    overwrite: bool = False,
    progress: bool = True,
) -> ClipResult:
    """Measure every frame of a clip: ``annotated.mp4`` (with the ``video`` extra; without
    it the annotated frames as ``overlays/frame_NNNN.png``), ``frames.csv``, ``summary.json``.

    ``pixel_size_mm``: mm per px given by the user, for a clip without its own calibration
    (:func:`clip_pixel_size`); else frames are measured in px only. ``out`` follows
    :func:`fetalseg.destination.output_dir` (refused when it holds results, unless
    ``overwrite``; then replaced as a whole once the clip is done).
    """
    with output_dir(out, overwrite) as tmp:
        frames, fps, count, dicom = open_clip(path)
        size, source, note = clip_pixel_size(pixel_size_mm, dicom)
        writer = (
            _VideoWriter(tmp / "annotated.mp4", fps)
            if has_extra("video")
            else _FrameFolderWriter(tmp / "overlays")
        )
        results: list[FrameResult] = []
        t0 = time.perf_counter()
        try:
            with (tmp / "frames.csv").open("w", newline="", encoding="utf-8") as f:
                w = csv.DictWriter(f, fieldnames=FRAME_FIELDS)
                w.writeheader()
                bar = tqdm(
                    frames, total=count or None, desc="clip", unit="frame", disable=not progress
                )
                for i, frame in enumerate(bar):
                    result = _result(predictor.predict(frame, size), size, source, i, i / fps)
                    results.append(result)
                    w.writerow(_frame_row(result))
                    writer.write(_annotate(frame, result))
        finally:
            writer.close()
        if not results:
            raise InputError(f"{path}: the clip has no frames")
        seconds = time.perf_counter() - t0
        clip = ClipResult(results, size, source, note=note, fps_processed=len(results) / seconds)
        write_summary(clip, tmp)
    return clip


def write_summary(clip: ClipResult, out: Path) -> Path:
    """``summary.json`` of a clip (:meth:`fetalseg.result.ClipResult.to_dict`)."""
    path = out / "summary.json"
    path.write_text(json.dumps(clip.to_dict(), indent=2))
    return path


@dataclass
class LiveStats:
    received: int = 0
    processed: int = 0
    dropped: int = 0
    results: list[FrameResult] = field(default_factory=list)


def open_source(source: str | int | Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    """Frames from an iterable, a camera index (``"0"``) or a stream/file URL, via PyAV."""
    if not isinstance(source, (str, int)):
        return iter(source)
    if isinstance(source, int) or str(source).isdigit():
        require_extra("video", "reading or writing video files")
        import av

        try:
            container = av.open(f"/dev/video{int(source)}", format="v4l2")
        except (av.error.FFmpegError, OSError) as e:
            raise InputError(f"camera {source}: cannot open ({type(e).__name__})") from None
        return (to_gray_uint8(fr.to_ndarray(format="gray")) for fr in container.decode(video=0))
    return read_clip(source)[0]


def run_live(
    predictor: Predictor,
    source: str | int | Iterable[np.ndarray],
    pixel_size_mm: float | tuple[float, float] | None,
    on_result: Callable[[int, np.ndarray, Prediction], None] | None = None,
    pixel_size_source: str | None = SOURCE_OPTION,
    max_frames: int | None = None,
) -> LiveStats:
    """Process a live source without falling behind: newest frame only, drops counted.

    A reader thread pulls frames as fast as the source gives them into a one-slot mailbox; the
    caller's thread measures whatever is newest. ``received = processed + dropped`` at the end.
    """
    frames = open_source(source)
    stats = LiveStats()
    lock = threading.Condition()
    slot: list[tuple[int, np.ndarray]] = []
    done = threading.Event()
    error: list[BaseException] = []

    def reader() -> None:
        try:
            for frame in frames:
                with lock:
                    if slot:
                        stats.dropped += 1  # the previous frame was never processed
                        slot.clear()
                    slot.append((stats.received, frame))
                    stats.received += 1
                    lock.notify()
                if done.is_set() or (max_frames is not None and stats.received >= max_frames):
                    break
        except BaseException as e:  # surfaced in the caller's thread below
            error.append(e)
        finally:
            done.set()
            with lock:
                lock.notify()

    thread = threading.Thread(target=reader, name="fetalseg-live-reader", daemon=True)
    thread.start()
    t0 = time.perf_counter()
    while True:
        with lock:
            while not slot and not done.is_set():
                lock.wait(timeout=0.5)
            if not slot:
                break
            index, frame = slot.pop()
        pred = predictor.predict(frame, pixel_size_mm)
        stats.processed += 1
        size = as_pixel_size(pixel_size_mm)
        t = time.perf_counter() - t0
        stats.results.append(_result(pred, size, pixel_size_source, index, t))
        if on_result is not None:
            on_result(index, frame, pred)
    thread.join(timeout=5)
    if error:
        raise error[0]
    return stats
