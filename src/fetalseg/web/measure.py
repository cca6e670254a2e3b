"""Measuring uploads for the web API: one shared model, per-frame results, clip summaries.

Thread safety
    The server holds **one** :class:`~fetalseg.inference.predictor.Predictor` for all requests
    (loading a model per request would cost far more than inference). FastAPI runs the
    synchronous endpoints in a thread pool, so requests arrive on several threads at once.
    :class:`Measurer` serialises the model call with a :class:`threading.Lock`: one frame is
    inferred at a time, which is also the fastest order on a small CPU (two concurrent
    inferences only fight over the same cores and double peak memory), and it keeps the
    predictor's per-call state (``timings``) consistent. Decoding the upload and drawing and
    encoding the overlay happen outside the model lock, so they overlap with another request's
    inference; at most ``max_concurrent`` requests do that work at once (a semaphore), which
    bounds memory when many large uploads arrive together. A lock was chosen over a
    single-worker executor because the endpoints are already synchronous: it needs no event-loop
    plumbing, and waiting requests queue in FIFO-ish order on the lock; the time a request
    waited is reported as ``timing_ms.queue_ms``.

Units
    Without a pixel size nothing is reported in mm (those fields are ``None``): the px fields
    (always present when a head is found) come from the same fit with a 1 px = 1 unit scale,
    as in :mod:`fetalseg.inference.batch`.
"""

from __future__ import annotations

import base64
import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np

from fetalseg.biometry import Ellipse
from fetalseg.inference.overlay import draw_overlay, measurement_lines
from fetalseg.inference.predictor import Prediction, Predictor
from fetalseg.result import ClipResult, FrameResult, resolve_calibration
from fetalseg.result import frame_result as build_frame_result
from fetalseg.web.memory import IdleTrim
from fetalseg.web.uploads import Upload

__all__ = ["Measurer", "frame_result", "summarize_clip"]


class Measurer:
    """The shared predictor, its lock, and the measurement of one upload."""

    def __init__(self, predictor: Predictor, max_concurrent: int = 2) -> None:
        self.predictor = predictor
        self._model_lock = threading.Lock()
        self._work = threading.BoundedSemaphore(max_concurrent)
        self.idle_trim = IdleTrim()

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the ``max_concurrent`` request slots: reading the upload's bytes,
        decoding, measuring, encoding all happen inside one, so at most ``max_concurrent``
        uploads are in memory at once. When the last slot holder or waiter is done, freed
        memory is given back to the system (:class:`fetalseg.web.memory.IdleTrim`)."""
        with self.idle_trim.request(), self._work:
            yield

    def predict(
        self, frame: np.ndarray, pixel_size_mm: tuple[float, float] | None
    ) -> tuple[Prediction, dict[str, float]]:
        """One frame through the model, under the lock; the stage times (s) and queue wait."""
        t0 = time.perf_counter()
        with self._model_lock:
            waited = time.perf_counter() - t0
            pred = self.predictor.predict(frame, pixel_size_mm)
            stages = {k: v[-1] for k, v in self.predictor.timings.items() if v}
            # A server runs for months: keep no per-call history in the shared predictor.
            self.predictor.timings.clear()
        stages["queue"] = waited
        return pred, stages

    def measure(self, upload: Upload, user_pixel_size_mm: float | None) -> dict[str, Any]:
        """Measure every frame of ``upload``; the API's JSON result (see the app's schema)."""
        t_start = time.perf_counter()
        size, source, note = resolve_pixel_size(upload, user_pixel_size_mm)
        results: list[FrameResult] = []
        preds: list[Prediction] = []
        totals = {"queue": 0.0, "pre": 0.0, "model": 0.0, "post": 0.0}
        for i, image in enumerate(upload.frames):
            pred, stages = self.predict(image, size)
            for k in totals:
                totals[k] += stages.get(k, 0.0)
            results.append(result_of(pred, size, index=i, name=upload.name))
            preds.append(pred)
        frames = [r.to_dict() for r in results]
        t_inf = time.perf_counter()
        summary = summarize_clip(results, size) if upload.is_clip else None
        key = summary["key_frame"] if summary and summary["key_frame"] is not None else 0
        extra = [f"frame {key + 1}/{len(frames)}"] if upload.is_clip else []
        png = overlay_png(upload.frames[key], preds[key], frames[key], extra)
        t_end = time.perf_counter()
        head = summary if summary is not None else frames[0]
        n, h, w = upload.frames.shape
        return {
            "file": upload.name,
            "format": upload.format,
            "kind": "clip" if upload.is_clip else "image",
            "width": int(w),
            "height": int(h),
            "n_frames": int(n),
            "frame_time_ms": upload.frame_time_ms,
            "status": head["status"],
            "message": head["message"],
            "pixel_size_mm": None if size is None else {"x": size[0], "y": size[1]},
            "pixel_size_source": source,
            "note": note,
            "measurement": frames[key],
            "frames": frames,
            "summary": summary,
            "overlay_frame": key,
            "overlay_png": base64.b64encode(png).decode("ascii"),
            "backend": self.predictor.backend,
            "timing_ms": {
                "queue_ms": 1000 * totals["queue"],
                "pre_ms": 1000 * totals["pre"],
                "model_ms": 1000 * totals["model"],
                "post_ms": 1000 * totals["post"],
                "inference_ms": 1000 * (t_inf - t_start),
                "overlay_ms": 1000 * (t_end - t_inf),
            },
        }


def resolve_pixel_size(
    upload: Upload, user_mm: float | None
) -> tuple[tuple[float, float] | None, str | None, str | None]:
    """``(size (x, y) mm, source, note)`` by the package's one calibration rule
    (:func:`fetalseg.result.resolve_calibration`): the file's own (DICOM) calibration first,
    then the size the user entered (source ``"user"``), else ``None`` (px only)."""
    return resolve_calibration(upload.pixel_size_mm, upload.pixel_size_source, user_mm, "user")


def frame_result(index: int, pred: Prediction, size: tuple[float, float] | None) -> dict[str, Any]:
    """One frame's numbers (:meth:`fetalseg.result.FrameResult.to_dict`): mm fields ``None``
    without a pixel size, px fields from the fit."""
    return result_of(pred, size, index=index).to_dict()


def result_of(pred: Prediction, size: tuple[float, float] | None, **fields: Any) -> FrameResult:
    """The :class:`~fetalseg.result.FrameResult` of a prediction measured with ``size``."""
    return build_frame_result(pred.mask, pred.measurement, size, quality=pred.quality, **fields)


def summarize_clip(frames: list[FrameResult], size: tuple[float, float] | None) -> dict[str, Any]:
    """:meth:`fetalseg.result.ClipResult.to_dict` of the frames: medians of the frames with a
    head, GA from the median HC, the spread of HC (mm, or px without a pixel size) and the key
    frame (HC closest to the median: the one shown)."""
    return ClipResult(frames, size).to_dict()


def overlay_png(
    image: np.ndarray, pred: Prediction, row: dict[str, Any], extra: list[str]
) -> bytes:
    """The frame with the head contour, ellipse and axes and the numbers, as PNG bytes."""
    ellipse = None
    if row["hc_px"] is not None:
        ellipse = Ellipse(
            row["center_x_px"],
            row["center_y_px"],
            row["semi_axis_a_px"],
            row["semi_axis_b_px"],
            row["angle_px_rad"],
        )
    lines = measurement_lines(pred.measurement, row["hc_px"]) + extra
    overlay = draw_overlay(image, pred.mask, ellipse, lines, pred.quality)
    ok, buf = cv2.imencode(".png", overlay)
    if not ok:  # pragma: no cover - PNG encoding of a uint8 BGR array does not fail
        raise RuntimeError("PNG encoding failed")
    return buf.tobytes()
