"""The quality verdict of one measurement: ``good``, ``check`` or ``reject``, with reasons.

A :class:`Reason` is machine-readable (``code``, ``severity``, the ``value`` and the
``threshold`` it crossed) and carries a sentence for people. The verdict is the worst
severity among the reasons (``good`` when there are none). Thresholds come from
``thresholds.json`` in this package, fitted on the validation split by
``scripts/fit_quality_thresholds.py`` (the rule and the data are written in the file).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from fetalseg.biometry import HADLOCK_HC_RANGE_MM, Ellipse, Measurement
from fetalseg.errors import InputError
from fetalseg.quality.features import Features, compute_features

GOOD, CHECK, REJECT = "good", "check", "reject"
_RANK = {GOOD: 0, CHECK: 1, REJECT: 2}

#: Plausible obstetric pixel sizes, mm per px (HC18: 0.049-0.393). Outside: the number is not
#: a pixel size (e.g. an HC or a cm value) and no mm are trusted.
PIXEL_SIZE_RANGE_MM = (0.02, 1.0)

#: What each feature's reason says: ``(code, sentence template)``; ``{v}`` the value,
#: ``{t}`` the threshold.
MESSAGES: dict[str, tuple[str, str]] = {
    "outside_image": (
        "truncated",
        "{p} of the head's outline lies outside the image (limit {tp}).",
    ),
    "outside_content": (
        "truncated",
        "{p} of the head's outline lies outside the scan sector (limit {tp}).",
    ),
    "border_contact": ("truncated", "{p} of the head's outline runs along the image border."),
    "components": ("not_one_region", "The mask has {v:.0f} large separate regions."),
    "hole_fraction": ("not_one_region", "The head region has holes ({p} of its area)."),
    "ellipse_dice": (
        "not_ellipse",
        "The head region matches its fitted ellipse poorly (Dice {v:.3f}, limit {t:.3f}).",
    ),
    "fit_residual": (
        "not_ellipse",
        "The outline departs from its ellipse by {p} of the radius (limit {tp}).",
    ),
    "uncertain_band": (
        "unsure",
        "The network is unsure where the head's edge is (band {v:.2f}, limit {t:.2f}).",
    ),
    "uncertain_elsewhere": (
        "unsure",
        "{p} of the network's unsure pixels lie away from the head (limit {tp}).",
    ),
    "interior_prob": (
        "unsure",
        "The network is not confident inside the head (mean probability {v:.4f}, limit {t:.4f}).",
    ),
    "head_fraction": (
        "implausible_size",
        "The head covers {p} of the scan area, outside the usual range (limit {tp}).",
    ),
    "axis_ratio": (
        "implausible_shape",
        "Cephalic index {c:.0f} (BPD/OFD x 100) is outside the physiological range.",
    ),
    "content_fraction": (
        "no_ultrasound",
        "Little or no ultrasound content in the image ({p} of it, limit {tp}).",
    ),
    "content_mean": ("unusual_image", "The image brightness {v:.0f} is unlike the training data."),
    "content_std": ("unusual_image", "The image contrast {v:.0f} is unlike the training data."),
    "noise": ("unusual_image", "The image is noisier than the training data ({v:.1f})."),
}


@dataclass(frozen=True)
class Reason:
    """Why a measurement is not ``good``: ``severity`` is ``check`` or ``reject``."""

    code: str
    severity: str
    message: str
    value: float | None = None
    threshold: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "value": _json_num(self.value),
            "threshold": _json_num(self.threshold),
        }


def _json_num(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


@dataclass(frozen=True)
class Quality:
    """The verdict and its reasons (empty for ``good``)."""

    verdict: str
    reasons: tuple[Reason, ...] = ()
    features: Features | None = None

    @property
    def codes(self) -> str:
        """Reason codes joined by ``;`` (a CSV cell); empty for ``good``."""
        return ";".join(dict.fromkeys(r.code for r in self.reasons))

    @property
    def text(self) -> str:
        """The reasons' sentences, one after another; empty for ``good``."""
        return " ".join(r.message for r in self.reasons)

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "reasons": [r.to_dict() for r in self.reasons]}


def thresholds_path() -> Path:
    return Path(str(resources.files("fetalseg.quality") / "thresholds.json"))


@lru_cache(maxsize=4)
def load_thresholds(path: str | None = None) -> dict[str, Any]:
    """The fitted thresholds: ``{"features": {name: {"direction", "check", "reject"}}, ...}``."""
    text = Path(path).read_text() if path else thresholds_path().read_text()
    return json.loads(text)


def _pct(x: float) -> str:
    """A share as a percentage; small ones with the digits that make them non-zero."""
    p = 100 * x
    return f"{p:.0f} %" if abs(p) >= 1 or p == 0 else f"{p:.2g} %"


def feature_reasons(features: Features, thresholds: dict[str, Any]) -> list[Reason]:
    """One reason per feature past its ``check`` (or ``reject``) threshold.

    ``direction`` ``high``: values above the threshold are bad; ``low``: below; ``both``: the
    threshold is ``[lo, hi]`` and values outside it are bad. NaN features are skipped.
    """
    out = []
    for name, spec in thresholds["features"].items():
        v = getattr(features, name)
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        severity, t = None, None
        for level in (REJECT, CHECK):
            lim = spec.get(level)
            if lim is None:
                continue
            bad = _past(v, lim, spec["direction"])
            if bad is not None:
                severity, t = level, bad
                break
        if severity is None:
            continue
        code, template = MESSAGES[name]
        msg = template.format(v=v, t=t, p=_pct(v), tp=_pct(t), c=100 * v)
        out.append(Reason(code, severity, msg, float(v), float(t)))
    return out


def _past(v: float, lim: Any, direction: str) -> float | None:
    """The limit ``v`` is past, or ``None``."""
    if direction == "high":
        return float(lim) if v > lim else None
    if direction == "low":
        return float(lim) if v < lim else None
    lo, hi = lim
    if v < lo:
        return float(lo)
    if v > hi:
        return float(hi)
    return None


def check_pixel_size(value: float | tuple[float, float], where: str) -> float | tuple[float, float]:
    """``value`` (mm per px; one number or ``(x, y)``) when every size is finite and within the
    plausible :data:`PIXEL_SIZE_RANGE_MM`; else :class:`~fetalseg.errors.InputError` naming
    ``where``. The one check of a size a user gives: ``predict``/``report --pixel-size``,
    ``--pixel-csv`` values, the API's ``pixel_size_mm`` (:meth:`fetalseg.api.Model.measure`)
    and the web form's field. (A file's own calibration outside the range is not an error:
    the verdict rejects the measurement, :func:`calibration_reasons`.)"""
    lo, hi = PIXEL_SIZE_RANGE_MM
    for size in value if isinstance(value, (tuple, list)) else (value,):
        if not (isinstance(size, (int, float)) and math.isfinite(size) and lo <= size <= hi):
            shown = f"{size:g}" if isinstance(size, (int, float)) else repr(size)[:40]
            raise InputError(
                f"{where}: pixel size {shown} mm is outside the plausible {lo:g}-{hi:g} mm"
            )
    return value


def calibration_reasons(
    pixel_size_mm: float | tuple[float, float] | None,
    source: str | None = None,
    other_pixel_size_mm: float | tuple[float, float] | None = None,
) -> list[Reason]:
    """Reasons about the pixel size: missing (``check``: px only), outside
    :data:`PIXEL_SIZE_RANGE_MM` (``reject``), or disagreeing with another source by > 1 %
    (``check``; e.g. a typed value vs the file's own)."""
    if pixel_size_mm is None:
        return [Reason("no_pixel_size", CHECK, "No pixel size given: measured in px only, no mm.")]
    sizes = pixel_size_mm if isinstance(pixel_size_mm, (tuple, list)) else (pixel_size_mm,)
    lo, hi = PIXEL_SIZE_RANGE_MM
    out = []
    for s in sizes:
        if not (math.isfinite(s) and lo <= s <= hi):
            where = f" (from {source})" if source else ""
            out.append(
                Reason(
                    "implausible_pixel_size",
                    REJECT,
                    f"Pixel size {s:g} mm{where} is outside the plausible {lo:g}-{hi:g} mm: "
                    "the mm values cannot be trusted.",
                    float(s),
                    hi if s > hi else lo,
                )
            )
            break
    if other_pixel_size_mm is not None:
        a = np.atleast_1d(np.asarray(pixel_size_mm, float))
        b = np.atleast_1d(np.asarray(other_pixel_size_mm, float))
        if not np.allclose(a.mean(), b.mean(), rtol=0.01):
            out.append(
                Reason(
                    "pixel_size_conflict",
                    CHECK,
                    f"Two pixel sizes disagree: {a.mean():g} mm used, {b.mean():g} mm also given.",
                    float(a.mean()),
                    float(b.mean()),
                )
            )
    return out


def geometry_reasons(m: Measurement | None) -> list[Reason]:
    """HC outside Hadlock's 12-42 week range (:data:`HADLOCK_HC_RANGE_MM`): ``reject``."""
    if m is None or m.hc_mm is None:
        return []
    lo, hi = HADLOCK_HC_RANGE_MM
    if lo <= m.hc_mm <= hi:
        return []
    return [
        Reason(
            "implausible_hc",
            REJECT,
            f"HC {m.hc_mm:.1f} mm is outside {lo:.0f}-{hi:.0f} mm (12-42 weeks, Hadlock 1984): "
            "a wrong head or a wrong pixel size.",
            float(m.hc_mm),
            hi if m.hc_mm > hi else lo,
        )
    ]


def worst(severities: Iterable[str]) -> str:
    """The worst of ``good`` / ``check`` / ``reject`` given (``good`` when none)."""
    return max(severities, key=_RANK.__getitem__, default=GOOD)


def combine(reasons: list[Reason], features: Features | None = None) -> Quality:
    """The worst severity among ``reasons`` (``good`` when empty)."""
    verdict = worst(r.severity for r in reasons)
    order = sorted(reasons, key=lambda r: -_RANK[r.severity])
    return Quality(verdict, tuple(order), features)


def assess(
    image: np.ndarray,
    logits: np.ndarray,
    mask: np.ndarray,
    ellipse_px: Ellipse | None,
    measurement: Measurement | None,
    pixel_size_mm: float | tuple[float, float] | None,
    pixel_size_source: str | None = None,
    other_pixel_size_mm: float | tuple[float, float] | None = None,
    thresholds: dict[str, Any] | None = None,
) -> Quality:
    """The verdict for one frame (see the module docstring).

    Args:
        image: ``(H, W) uint8`` frame; logits: ``(h, w)`` head logits over the frame (any
            resolution); mask: ``(H, W) {0, 1}`` on the frame's grid; ellipse_px: the head
            ellipse (px) or ``None`` (no head: ``reject``); measurement: the mm measurement or
            ``None`` without a pixel size; pixel_size_mm / pixel_size_source: the size used and
            where it came from; other_pixel_size_mm: a second size given for the same frame.
    """
    th = thresholds if thresholds is not None else load_thresholds()
    features = compute_features(image, logits, mask, ellipse_px)
    reasons = calibration_reasons(pixel_size_mm, pixel_size_source, other_pixel_size_mm)
    if ellipse_px is None:
        why = measurement.message if measurement is not None else "No head found."
        reasons.append(Reason("no_head", REJECT, why))
        reasons += [r for r in feature_reasons(features, th) if r.code == "no_ultrasound"]
        return combine(reasons, features)
    reasons += geometry_reasons(measurement)
    reasons += feature_reasons(features, th)
    return combine(reasons, features)
