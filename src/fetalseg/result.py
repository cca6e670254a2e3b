"""The one result type per frame (:class:`FrameResult`) and per clip (:class:`ClipResult`).

Every output (the CSV and JSON of ``predict``, a clip's ``frames.csv`` and ``summary.json``, the
web API, the overlays) is a thin adapter of these: nothing else decides a frame's status, its
px fields, or which pixel size it was measured with.

Calibration precedence (one rule for the CLI, the Python API and the web page,
:func:`resolve_calibration`): **a DICOM file's own calibration wins**; a size the user gave
(``--pixel-size``, a ``--pixel-csv`` row, the API's ``pixel_size_mm``, the page's field) is used for
files without one. The scanner wrote its calibration for that very frame, while a user's value
is often typed once for a whole folder or carried over from another image; when the two disagree
by more than 0.1 % the result's ``note`` says so.

Gestational age: ``ga_weeks`` and ``ga_standard`` come from one rule,
:func:`fetalseg.standards.ga_from_hc` (INTERGROWTH-21st 2016 within 14+0-25+6 weeks, else Hadlock
1984), for frames and clips alike; ``Measurement.ga_weeks`` of :mod:`fetalseg.biometry` is
Hadlock's alone and is not what the outputs show.

Units: ``*_mm`` fields are millimetres and exist only when the frame has a pixel size (never
invented); ``*_px`` fields are pixels of the original image, from the same ellipse fit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fetalseg.biometry import Ellipse, Measurement, Status, measure_head
from fetalseg.quality import CHECK, GOOD, REJECT, Quality, Reason, worst
from fetalseg.standards import GAEstimate, ga_from_hc

PixelSize = tuple[float, float]

#: ``status`` of a frame with a head but no pixel size (px only)
PX_ONLY_MESSAGE = "Pixel size unknown: measured in px only."


def as_pixel_size(size: float | tuple[float, float] | None) -> PixelSize | None:
    """``(x, y)`` mm per px from one number or a pair; ``None`` stays ``None``."""
    if size is None:
        return None
    if isinstance(size, tuple | list):
        return (float(size[0]), float(size[1]))
    return (float(size), float(size))


def resolve_calibration(
    file_size: float | tuple[float, float] | None,
    file_source: str | None,
    user_size: float | tuple[float, float] | None,
    user_source: str | None,
) -> tuple[PixelSize | None, str | None, str | None]:
    """``(pixel size (x, y) mm, its source, note)`` by the package's one precedence rule: the
    file's own calibration, else the user's, else ``None`` (px only). ``note`` says when the
    user's value was not used because it disagrees with the file's."""
    file_xy, user_xy = as_pixel_size(file_size), as_pixel_size(user_size)
    if file_xy is not None:
        note = None
        if user_xy is not None and not all(
            math.isclose(u, f, rel_tol=1e-3) for u, f in zip(user_xy, file_xy)
        ):
            note = (
                f"given pixel size {_fmt_size(user_xy)} mm not used: the file's own "
                f"calibration ({file_source}, {_fmt_size(file_xy)} mm) is"
            )
        return file_xy, file_source, note
    if user_xy is not None:
        return user_xy, user_source, None
    return None, None, None


def _fmt_size(size: PixelSize) -> str:
    x, y = size
    return f"{x:.6g}" if math.isclose(x, y, rel_tol=1e-9) else f"{x:.6g} x {y:.6g}"


@dataclass
class FrameResult:
    """Everything measured on one frame.

    Attributes:
        mask: ``(H, W) uint8 {0, 1}`` head mask on the frame's own pixel grid.
        fit: the measurement of the mask; in mm when ``pixel_size_mm`` is set, else a 1 px =
            1 unit fit whose px fields are the same (its mm fields are not used).
        pixel_size_mm: ``(x, y)`` mm per px, or ``None`` (px only).
        pixel_size_source: e.g. ``"dicom ultrasound regions"``, ``"--pixel-size"``, ``"user"``.
        name / index / time_s: the file, the frame's index in a clip, and its time (s).
        note: a remark on the input (e.g. a calibration that was not used).
        timings_ms: stage times (``pre``, ``model``, ``post``, ``quality``) in ms.
        quality: the verdict (``good`` / ``check`` / ``reject``) and its reasons
            (:mod:`fetalseg.quality`); ``None`` only for results built without a prediction.
    """

    mask: np.ndarray
    fit: Measurement
    pixel_size_mm: PixelSize | None = None
    pixel_size_source: str | None = None
    name: str = ""
    index: int = 0
    time_s: float | None = None
    note: str | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    quality: Quality | None = None

    @property
    def verdict(self) -> str | None:
        """``good``, ``check`` or ``reject`` (``None`` without a quality assessment)."""
        return None if self.quality is None else self.quality.verdict

    # --- what was found -----------------------------------------------------------------
    @property
    def has_mm(self) -> bool:
        return self.pixel_size_mm is not None

    @property
    def found(self) -> bool:
        return self.fit.found

    @property
    def measurement(self) -> Measurement | None:
        """The mm measurement, ``None`` without a pixel size."""
        return self.fit if self.has_mm else None

    @property
    def ellipse_px(self) -> Ellipse | None:
        return self.fit.ellipse_px

    @property
    def status(self) -> str:
        """``ok``, ``no_head``, ``out_of_range`` (no GA for this HC by :func:`ga_from_hc`);
        without a pixel size a found head is ``ok`` (there is no GA to be out of range)."""
        if not self.found:
            return Status.NO_HEAD.value
        if self.has_mm and self.ga_weeks is None:
            return Status.OUT_OF_RANGE.value
        return Status.OK.value

    @property
    def message(self) -> str:
        if not self.found:
            return self.fit.message
        if not self.has_mm:
            return PX_ONLY_MESSAGE
        f = self.fit
        base = f"HC {f.hc_mm:.1f} mm, BPD {f.bpd_mm:.1f} mm, OFD {f.ofd_mm:.1f} mm. "
        return base + self.ga_estimate.message  # type: ignore[union-attr]

    def _mm(self, value: float | None) -> float | None:
        return value if self.has_mm and self.found else None

    @property
    def hc_mm(self) -> float | None:
        return self._mm(self.fit.hc_mm)

    @property
    def bpd_mm(self) -> float | None:
        """BPD: the minor axis of the fitted outer skull ellipse (outer-to-outer), mm."""
        return self._mm(self.fit.bpd_mm)

    @property
    def ofd_mm(self) -> float | None:
        return self._mm(self.fit.ofd_mm)

    @property
    def ga_estimate(self) -> GAEstimate | None:
        """GA from this frame's HC by :func:`fetalseg.standards.ga_from_hc` (``None`` without
        an HC in mm)."""
        hc = self.hc_mm
        return None if hc is None else ga_from_hc(hc)

    @property
    def ga_weeks(self) -> float | None:
        """GA (weeks) from HC by :func:`ga_from_hc`; ``None`` without one."""
        g = self.ga_estimate
        return None if g is None else g.weeks

    @property
    def ga_standard(self) -> str | None:
        """The standard :attr:`ga_weeks` is by (``"intergrowth21"`` or ``"hadlock"``), ``None``
        without a GA."""
        g = self.ga_estimate
        return None if g is None or g.weeks is None else g.standard

    def px(self) -> dict[str, float | None]:
        """The fitted ellipse in px of the original image (all ``None`` without a head).

        ``angle_px_rad``: the major axis' angle in the *pixel* frame (which differs from
        :attr:`Measurement.angle_rad`, the mm frame's, when pixels are not square).
        """
        e = self.ellipse_px
        keys = ("hc_px", "bpd_px", "ofd_px", "center_x_px", "center_y_px")
        keys += ("semi_axis_a_px", "semi_axis_b_px", "angle_px_rad")
        if e is None:
            return dict.fromkeys(keys)
        values = (e.perimeter, 2 * e.b, 2 * e.a, e.center_x, e.center_y, e.a, e.b, e.angle_rad)
        return dict(zip(keys, values))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (no mask): status, message, mm fields (``None`` when unknown), px
        fields, calibration, note."""
        return {
            "file": self.name,
            "frame": self.index,
            "time_s": self.time_s,
            "status": self.status,
            "message": self.message,
            "hc_mm": self.hc_mm,
            "bpd_mm": self.bpd_mm,
            "ofd_mm": self.ofd_mm,
            "ga_weeks": self.ga_weeks,
            "ga_standard": self.ga_standard,
            **self.px(),
            "pixel_size_mm": None if self.pixel_size_mm is None else list(self.pixel_size_mm),
            "pixel_size_source": self.pixel_size_source,
            "note": self.note,
            "quality": self.verdict,
            "quality_reasons": []
            if self.quality is None
            else [r.to_dict() for r in self.quality.reasons],
        }


def frame_result(
    mask: np.ndarray,
    measurement: Measurement | None,
    pixel_size_mm: PixelSize | None,
    pixel_size_source: str | None = None,
    **fields: Any,
) -> FrameResult:
    """The :class:`FrameResult` of a predicted ``mask`` and its mm ``measurement`` (``None``
    without a pixel size: the px fields then come from a 1 px = 1 unit fit of the same mask)."""
    fit = measurement if measurement is not None else measure_head(mask, 1.0)
    source = pixel_size_source if pixel_size_mm is not None else None
    return FrameResult(mask, fit, pixel_size_mm, source, **fields)


def _median(values: list[float]) -> float | None:
    return float(np.median(values)) if values else None


#: Clip-wide reasons: about the calibration every frame of a clip shares. Said once for the
#: clip; a frame's own grade (:func:`frame_grade`) leaves them out, so that a px-only clip
#: still has ``good`` frames to summarise.
CLIP_WIDE_CODES = frozenset({"no_pixel_size", "pixel_size_conflict"})

#: Good frames of one head disagree when their HC's robust sd (IQR / 1.349, the normal
#: distribution's sd; the sample sd for fewer than 4 frames) exceeds this, in mm: 3x the sd of
#: one frame's HC error (about 2.3 mm: the test split's ADF of 1.8 mm is a mean absolute error,
#: sd = ADF x sqrt(pi / 2) for a normal error; see docs/hc_accuracy.md).
DISAGREE_SD_MM = 7.0
#: The same without a pixel size, relative to the median HC (px): 3x a 2.3 mm error on a
#: 180 mm (30 week) head, 1.3 %, rounded up.
DISAGREE_CV = 0.04


def frame_grade(f: FrameResult) -> str | None:
    """A frame's verdict within a clip: the worst severity among its reasons other than the
    clip-wide :data:`CLIP_WIDE_CODES`; ``None`` without a quality assessment."""
    if f.quality is None:
        return None
    return worst(r.severity for r in f.quality.reasons if r.code not in CLIP_WIDE_CODES)


def _robust_sd(values: list[float]) -> float:
    if len(values) < 2:
        return 0.0
    if len(values) < 4:
        return float(np.std(values, ddof=1))
    q1, q3 = np.percentile(values, [25, 75])
    return float(q3 - q1) / 1.349


@dataclass
class ClipResult:
    """A clip's answer: the median over its ``good`` frames with a head.

    Which frames count (:attr:`used`): those with a head whose :func:`frame_grade` is
    ``good``; when there are none, the ``check`` ones (said in :attr:`message` and in the
    reasons, the clip's verdict is then at best ``check``); frames graded ``reject`` never.

    ``key_frame``: the used frame whose HC is closest to the median; ``best_frame``: the used
    frame to show as the sweep's best (:meth:`best_frame`). Spread (``hc_min``, ``hc_max``,
    ``hc_iqr``, ``hc_sd``) is over the used frames, in ``spread_unit``: mm, or px without a
    pixel size; ``frames_disagree`` when it is wider than one head's frames scatter
    (:data:`DISAGREE_SD_MM`, :data:`DISAGREE_CV`).
    """

    frames: list[FrameResult]
    pixel_size_mm: PixelSize | None = None
    pixel_size_source: str | None = None
    note: str | None = None
    dropped_frames: int = 0
    fps_processed: float | None = None

    @property
    def with_head(self) -> list[FrameResult]:
        return [f for f in self.frames if f.found]

    @property
    def good_frames(self) -> list[FrameResult]:
        """Frames with a head graded ``good`` (unassessed frames count as good: results built
        without a prediction, e.g. in tests of the medians)."""
        return [f for f in self.with_head if frame_grade(f) in (GOOD, None)]

    @property
    def used(self) -> list[FrameResult]:
        """The frames the summary is computed on (see the class docstring)."""
        good = self.good_frames
        if good:
            return good
        return [f for f in self.with_head if frame_grade(f) == CHECK]

    @property
    def spread_unit(self) -> str:
        return "mm" if self.pixel_size_mm is not None else "px"

    def _hc(self, frames: list[FrameResult] | None = None) -> list[float]:
        key = "hc_mm" if self.pixel_size_mm is not None else "hc_px"
        return [float(f.to_dict()[key]) for f in (self.used if frames is None else frames)]

    @property
    def hc_median(self) -> float | None:
        return _median(self._hc())

    @property
    def key_frame(self) -> int | None:
        hc = self._hc()
        if not hc:
            return None
        med = float(np.median(hc))
        return self.used[int(np.argmin([abs(v - med) for v in hc]))].index

    @property
    def best_frame(self) -> int | None:
        """The sweep's best frame: among the used frames whose HC lies in the central half
        (Q1-Q3; all of them for fewer than 4), the one whose head region matches its fitted
        ellipse best (highest ``ellipse_dice``, :class:`fetalseg.quality.Features`: a clean,
        complete outline); ties, and frames without features, go to the HC closest to the
        median. ``None`` without a used frame."""
        used, hc = self.used, self._hc()
        if not used:
            return None
        med = float(np.median(hc))
        central = list(range(len(used)))
        if len(used) >= 4:
            q1, q3 = np.percentile(hc, [25, 75])
            central = [i for i in central if q1 <= hc[i] <= q3]

        def score(i: int) -> tuple[float, float]:
            q = used[i].quality
            d = q.features.ellipse_dice if q is not None and q.features is not None else None
            d = d if d is not None and math.isfinite(d) else -math.inf
            return (d, -abs(hc[i] - med))

        return used[max(central, key=score)].index

    @property
    def frames_disagree(self) -> bool:
        """Whether the used frames' HC scatter more than one head's frames do."""
        hc = self._hc()
        if len(hc) < 2:
            return False
        sd = _robust_sd(hc)
        if self.pixel_size_mm is not None:
            return sd > DISAGREE_SD_MM
        return sd > DISAGREE_CV * float(np.median(hc))

    def quality_reasons(self) -> list[dict[str, Any]]:
        """The clip's reasons (as :meth:`fetalseg.quality.Reason.to_dict`): the clip-wide
        calibration reasons of its frames (once each), no good frames, frames that disagree."""
        out: dict[str, dict[str, Any]] = {}
        for f in self.frames:
            for r in f.quality.reasons if f.quality is not None else ():
                if r.code in CLIP_WIDE_CODES or r.code == "implausible_pixel_size":
                    out.setdefault(r.code, r.to_dict())
        n_good, n_used = len(self.good_frames), len(self.used)
        if self.with_head and not n_good:
            sev = CHECK if n_used else REJECT
            msg = (
                f"No good frame: the summary is of the {n_used} frames to check."
                if n_used
                else "No frame with a head passed the quality check: no clip measurement."
            )
            out["no_good_frames"] = _reason("no_good_frames", sev, msg, float(n_good), 1.0)
        if self.frames_disagree:
            sd, unit = _robust_sd(self._hc()), self.spread_unit
            limit = DISAGREE_SD_MM if unit == "mm" else DISAGREE_CV * (self.hc_median or 0.0)
            msg = (
                f"The frames' HC disagree (sd {sd:.1f} {unit}, limit {limit:.1f} {unit}): "
                "more than one head or view in the clip?"
            )
            out["frames_disagree"] = _reason("frames_disagree", CHECK, msg, sd, limit)
        return list(out.values())

    @property
    def verdict(self) -> str:
        """The clip's verdict: the worst severity of :meth:`quality_reasons` (``reject``
        without any used frame)."""
        if not self.used:
            return REJECT
        return worst(r["severity"] for r in self.quality_reasons())

    def spread(self) -> dict[str, float | None]:
        hc = self._hc()
        if not hc:
            return dict.fromkeys(("hc_min", "hc_max", "hc_iqr", "hc_sd", "hc_q1", "hc_q3"))
        q1, q3 = np.percentile(hc, [25, 75])
        return {
            "hc_min": min(hc),
            "hc_max": max(hc),
            "hc_iqr": float(q3 - q1),
            "hc_sd": float(np.std(hc, ddof=1)) if len(hc) > 1 else 0.0,
            "hc_q1": float(q1),
            "hc_q3": float(q3),
        }

    def medians(self) -> dict[str, float | None]:
        """Median HC/BPD/OFD of the used frames in mm (``None`` without a pixel size) and px,
        and the GA of the median HC with its standard (:func:`ga_from_hc`)."""
        heads = [f.to_dict() for f in self.used]
        out = {k: _median([h[k] for h in heads]) for k in ("hc_px", "bpd_px", "ofd_px")}
        mm = self.pixel_size_mm is not None and bool(heads)
        for k in ("hc_mm", "bpd_mm", "ofd_mm"):
            out[k] = _median([h[k] for h in heads]) if mm else None
        ga = ga_from_hc(out["hc_mm"]) if out["hc_mm"] else None
        out["ga_weeks"] = None if ga is None else ga.weeks
        out["ga_standard"] = None if ga is None or ga.weeks is None else ga.standard
        return out

    @property
    def status(self) -> str:
        if not self.used:
            return Status.NO_HEAD.value
        medians = self.medians()
        if medians["hc_mm"] is not None and medians["ga_weeks"] is None:
            return Status.OUT_OF_RANGE.value
        return Status.OK.value

    @property
    def message(self) -> str:
        n, k = len(self.frames), len(self.with_head)
        if not k:
            return f"No head found in any of the {n} frames."
        used, good = len(self.used), len(self.good_frames)
        if not used:
            return f"None of the {k} frames with a head passed the quality check (of {n} frames)."
        kind = GOOD if good else CHECK
        text = f"Median of the {used} {kind} frames of {n} ({k} with a head)."
        if self.pixel_size_mm is None:
            text += " Pixel size unknown: px only."
        elif self.status == Status.OUT_OF_RANGE.value:
            text += " Median HC outside the GA formulas' range: no GA."
        if self.frames_disagree:
            text += " The frames disagree: check the clip."
        return text

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary. Quality keys: ``good_frames`` (count), ``frames_used``,
        ``best_frame`` (index), ``frames_disagree`` (bool), ``quality`` (the clip's verdict) and
        ``quality_reasons`` (list of reason dicts)."""
        return {
            "n_frames": len(self.frames),
            "frames_with_head": len(self.with_head),
            "good_frames": len(self.good_frames),
            "frames_used": len(self.used),
            "key_frame": self.key_frame,
            "best_frame": self.best_frame,
            "frames_disagree": self.frames_disagree,
            "quality": self.verdict,
            "quality_reasons": self.quality_reasons(),
            "status": self.status,
            "message": self.message,
            **self.medians(),
            "spread_unit": self.spread_unit,
            **self.spread(),
            "pixel_size_mm": None if self.pixel_size_mm is None else list(self.pixel_size_mm),
            "pixel_size_source": self.pixel_size_source,
            "note": self.note,
            "dropped_frames": self.dropped_frames,
            "fps_processed": self.fps_processed,
        }


def _reason(code: str, severity: str, message: str, value: float, threshold: float) -> dict:
    return Reason(code, severity, message, value, threshold).to_dict()
