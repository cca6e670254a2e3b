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
import math
import threading
import time
from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np

from fetalseg.biometry import Ellipse, Measurement, gestational_age_weeks, measure_head
from fetalseg.inference.overlay import draw_overlay, measurement_lines
from fetalseg.inference.predictor import Prediction, Predictor
from fetalseg.web.uploads import Upload

__all__ = ["Measurer", "frame_result", "summarize_clip"]

MM_FIELDS = ("hc_mm", "bpd_mm", "ofd_mm", "ga_weeks")


class Measurer:
    """The shared predictor, its lock, and the measurement of one upload."""

    def __init__(self, predictor: Predictor, max_concurrent: int = 2) -> None:
        self.predictor = predictor
        self._model_lock = threading.Lock()
        self._work = threading.BoundedSemaphore(max_concurrent)

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the ``max_concurrent`` request slots (decode, measure, encode)."""
        with self._work:
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
        frames: list[dict[str, Any]] = []
        preds: list[Prediction] = []
        totals = {"queue": 0.0, "pre": 0.0, "model": 0.0, "post": 0.0}
        for i, image in enumerate(upload.frames):
            pred, stages = self.predict(image, size)
            for k in totals:
                totals[k] += stages.get(k, 0.0)
            frames.append(frame_result(i, pred, size))
            preds.append(pred)
        t_inf = time.perf_counter()
        summary = summarize_clip(frames, size is not None) if upload.is_clip else None
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
    """``(size (x, y) mm, source, note)``: the file's own calibration (DICOM) first, then the
    size the user entered, else ``None`` (px only). The calibration a scanner wrote for the
    frame is more trustworthy than a number typed for another image, so it wins; the note says
    when an entered value was not used."""
    if upload.pixel_size_mm is not None:
        note = None
        if user_mm is not None and not all(
            math.isclose(user_mm, s, rel_tol=1e-3) for s in upload.pixel_size_mm
        ):
            note = (
                f"entered pixel size {user_mm:g} mm not used: the DICOM file's own "
                f"calibration ({upload.pixel_size_source}) is"
            )
        return upload.pixel_size_mm, upload.pixel_size_source, note
    if user_mm is not None:
        return (user_mm, user_mm), "user", None
    return None, None, None


def frame_result(index: int, pred: Prediction, size: tuple[float, float] | None) -> dict[str, Any]:
    """One frame's numbers: mm fields ``None`` without a pixel size, px fields from the fit."""
    m: Measurement | None = pred.measurement
    fit = m if m is not None else measure_head(pred.mask, 1.0)
    row: dict[str, Any] = {
        "frame": index,
        "status": fit.status.value,
        "message": fit.message,
        **dict.fromkeys(MM_FIELDS),
        "hc_px": None,
        "bpd_px": None,
        "ofd_px": None,
        "center_x_px": None,
        "center_y_px": None,
        "semi_axis_a_px": None,
        "semi_axis_b_px": None,
        "angle_px_rad": None,
    }
    e = fit.ellipse_px
    if e is not None:
        row.update(
            hc_px=e.perimeter,
            bpd_px=2 * e.b,
            ofd_px=2 * e.a,
            center_x_px=e.center_x,
            center_y_px=e.center_y,
            semi_axis_a_px=e.a,
            semi_axis_b_px=e.b,
            angle_px_rad=e.angle_rad,
        )
    if m is not None:
        row.update(hc_mm=m.hc_mm, bpd_mm=m.bpd_mm, ofd_mm=m.ofd_mm, ga_weeks=m.ga_weeks)
    elif e is not None:
        # The 1 px = 1 mm fit's GA range check means nothing: a head was found and measured.
        row.update(status="ok", message="Pixel size unknown: measured in px only.")
    return row


def _median(values: list[float]) -> float | None:
    return float(np.median(values)) if values else None


def summarize_clip(frames: list[dict[str, Any]], has_mm: bool) -> dict[str, Any]:
    """Median HC/BPD/OFD over the frames with a head, GA from the median HC, and the spread of
    HC (min, max, interquartile range, standard deviation) in mm, or px without a pixel size.
    ``key_frame``: the frame whose HC is closest to the median (the one shown)."""
    heads = [f for f in frames if f["hc_px"] is not None]
    unit = "mm" if has_mm else "px"
    hc = [float(f[f"hc_{unit}"]) for f in heads]
    out: dict[str, Any] = {
        "n_frames": len(frames),
        "frames_with_head": len(heads),
        "key_frame": None,
        "status": "no_head",
        "message": f"No head found in any of the {len(frames)} frames.",
        **dict.fromkeys(MM_FIELDS),
        "hc_px": _median([f["hc_px"] for f in heads]),
        "bpd_px": _median([f["bpd_px"] for f in heads]),
        "ofd_px": _median([f["ofd_px"] for f in heads]),
        "spread_unit": unit,
        "hc_min": None,
        "hc_max": None,
        "hc_iqr": None,
        "hc_sd": None,
    }
    if not heads:
        return out
    med = float(np.median(hc))
    key = heads[int(np.argmin([abs(v - med) for v in hc]))]["frame"]
    q1, q3 = np.percentile(hc, [25, 75])
    out.update(
        key_frame=key,
        hc_min=min(hc),
        hc_max=max(hc),
        hc_iqr=float(q3 - q1),
        hc_sd=float(np.std(hc, ddof=1)) if len(hc) > 1 else 0.0,
        status="ok",
        message=f"Median of the {len(heads)} of {len(frames)} frames with a head.",
    )
    if has_mm:
        ga = gestational_age_weeks(med)
        out.update(
            hc_mm=med,
            bpd_mm=_median([f["bpd_mm"] for f in heads]),
            ofd_mm=_median([f["ofd_mm"] for f in heads]),
            ga_weeks=ga,
        )
        if ga is None:
            out["status"] = "out_of_range"
            out["message"] += " Median HC outside the range of Hadlock's formula: no GA."
    else:
        out["message"] += " Pixel size unknown: px only."
    return out


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
    ok, buf = cv2.imencode(".png", draw_overlay(image, pred.mask, ellipse, lines))
    if not ok:  # pragma: no cover - PNG encoding of a uint8 BGR array does not fail
        raise RuntimeError("PNG encoding failed")
    return buf.tobytes()
