"""Head ellipse from a segmentation mask, and the biometry that follows from it.

Pipeline (:func:`measure_head`): binary mask in the *original* image's pixel grid → largest
connected component → its outer contour → :func:`cv2.fitEllipse` → rasterisation-bias correction
(in px) → exact conversion to mm → HC (Ramanujan), BPD, OFD, GA (Hadlock 1984).

Coordinates and units
    Pixel coordinates follow OpenCV/NumPy: ``x`` to the right (column), ``y`` down (row), the
    centre of the top-left pixel at ``(0, 0)``. Millimetre coordinates are the same axes scaled
    by the pixel size: ``x_mm = x_px * pixel_size_x_mm``, ``y_mm = y_px * pixel_size_y_mm`` (so the
    origin is the top-left pixel's centre, half a pixel inside the image corner). Angles are in
    radians, of the major semi-axis ``a``, measured from ``+x`` towards ``+y`` (clockwise as the
    image is displayed) and folded into ``[0, pi)``. Semi-axes are ordered ``a >= b``.

Rasterisation bias (measured, see :data:`CV2_FILLED` and :data:`PIXEL_CENTRE`)
    The contour of a filled mask runs through the centres of its boundary pixels. Whether that
    lies inside the true outline depends on how the mask was rasterised:

    * A mask whose pixels are on iff their centre lies inside the head has its contour about
      0.45 px inside the outline: fitting gives semi-axes ``true - 0.448 px`` (300 random
      ellipses with semi-axes of 60-300 px; the size-dependent part, ``-4.5e-5 * true``, is
      negligible). Correction :data:`PIXEL_CENTRE` adds 0.45 px.
    * ``cv2.ellipse(..., thickness=-1)`` (how this project draws its training masks,
      :func:`fetalseg.data.hc18.fill_outline`) also fills pixels whose centres lie up to about
      half a pixel *outside* the outline, which cancels that half pixel; what remains is that
      OpenCV draws the ellipse as an inscribed polygon with 5° steps, whose chords lie inside
      the arc by ``(2/3)(1 - cos 2.5°) = 6.3e-4`` of the radius on average. Measured: fitting
      gives ``true * (1 - 6.5e-4) + 0.028 px``. Correction :data:`CV2_FILLED` (the default)
      inverts that. Adding a flat 0.5 px to such masks would overstate HC by 0.3 % on average
      and up to 0.8 % for 60 px semi-axes.

    The network is trained on :data:`CV2_FILLED`-style masks, and the resampling in
    :mod:`fetalseg.data.preprocess` (area-downsample then threshold; bilinear upsample of the
    probability then threshold) keeps the region a mask covers, so predicted masks should
    follow the same convention (an argument, not yet measured on network output). With the
    matching correction, HC from a rasterised ellipse is within 0.09 % (largest of 300
    validation ellipses) of the true HC, for either convention.

Anisotropic pixels
    The fit and the correction are done in px, where the rasterisation happened; the px ellipse
    is then mapped to mm exactly (the image of an ellipse under ``diag(sx, sy)`` is an ellipse,
    whose semi-axes and orientation are the singular values and left singular vectors of
    ``diag(sx, sy) @ R(angle) @ diag(a, b)``). Fitting mm-scaled contour points instead would give
    the same ellipse up to the fit's weighting but would leave the half-pixel correction, which
    is a px quantity, anisotropic in mm.

References
    S. Ramanujan, "Modular equations and approximations to pi", Quart. J. Math. 45 (1914)
    350-372 (second approximation of the ellipse perimeter).
    F. P. Hadlock, R. L. Deter, R. B. Harrist, S. K. Park, "Estimating fetal age:
    computer-assisted analysis of multiple fetal growth parameters", Radiology 152 (1984)
    497-501.
    T. L. A. van den Heuvel, D. de Bruijn, C. L. de Korte, B. van Ginneken, "Automated
    measurement of fetal head circumference using 2D ultrasound images", PLoS ONE 13 (2018)
    e0200412 (HC18 challenge).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from enum import Enum
from pathlib import Path
from typing import Any, NamedTuple

import cv2
import numpy as np

__all__ = [
    "CHALLENGE_HEADER",
    "CV2_FILLED",
    "GA_MAX_WEEKS",
    "GA_MIN_WEEKS",
    "HADLOCK_HC_RANGE_MM",
    "MIN_HEAD_AREA_PX",
    "NO_CORRECTION",
    "PIXEL_CENTRE",
    "BoundaryCorrection",
    "ChallengeRow",
    "Ellipse",
    "Measurement",
    "Status",
    "challenge_row",
    "ellipse_px_to_mm",
    "fit_head_ellipse_px",
    "gestational_age_weeks",
    "hadlock_ga_weeks",
    "hc_difference_mm",
    "measure_head",
    "measurement_from_ellipse",
    "ramanujan_formula",
    "ramanujan_perimeter",
    "read_challenge_csv",
    "write_challenge_csv",
]


class Status(str, Enum):
    """Outcome of a measurement; the value is what goes into JSON/CSV."""

    OK = "ok"
    """Head found, HC measured, GA within the range of Hadlock's formula."""
    NO_HEAD = "no_head"
    """Empty mask, or its largest component is too small to be a head: no numbers at all."""
    OUT_OF_RANGE = "out_of_range"
    """Head found and measured, but HC is outside :data:`HADLOCK_HC_RANGE_MM`: no GA."""


@dataclass(frozen=True)
class BoundaryCorrection:
    """Maps fitted semi-axes (px) to true ones: ``true = (fitted - offset_px) / (1 + relative)``.

    ``offset_px`` and ``relative`` describe the bias of the fit for a given mask rasterisation:
    ``fitted = true * (1 + relative) + offset_px``. See the module docstring for the measurements.
    """

    offset_px: float
    relative: float

    def apply(self, semi_axis_px: float) -> float:
        """Corrected semi-axis in px (never below 0)."""
        return max((semi_axis_px - self.offset_px) / (1.0 + self.relative), 0.0)


CV2_FILLED = BoundaryCorrection(offset_px=0.028, relative=-6.5e-4)
"""Masks drawn like ``cv2.ellipse(..., thickness=-1)``, as this project's training targets."""
PIXEL_CENTRE = BoundaryCorrection(offset_px=-0.45, relative=0.0)
"""Masks whose pixels are on iff their centre lies inside the head."""
NO_CORRECTION = BoundaryCorrection(offset_px=0.0, relative=0.0)
"""The raw :func:`cv2.fitEllipse` result on boundary-pixel centres."""

MIN_HEAD_AREA_PX = 200
"""Default smallest component (pixel count) taken as a head: a disc of radius 8 px. HC18 heads
have semi-axes of tens to hundreds of px; anything smaller is a speck, not a head."""

GA_MIN_WEEKS = 12.0
GA_MAX_WEEKS = 42.0
"""Range of gestational age over which Hadlock's HC formula is used (it was derived on fetuses
of roughly 12-42 weeks); outside it :func:`gestational_age_weeks` gives ``None``."""


@dataclass(frozen=True)
class Ellipse:
    """An ellipse in one unit (px or mm, said by whoever returns it).

    ``center_x``/``center_y`` as in the module docstring (``y`` down), semi-axes ``a >= b``,
    ``angle_rad`` of ``a`` from ``+x`` towards ``+y``, in ``[0, pi)``.
    """

    center_x: float
    center_y: float
    a: float
    b: float
    angle_rad: float

    @property
    def perimeter(self) -> float:
        """Circumference by :func:`ramanujan_perimeter`, in the ellipse's unit."""
        return ramanujan_perimeter(self.a, self.b)

    def as_cv2_box(self) -> tuple[tuple[float, float], tuple[float, float], float]:
        """``((cx, cy), (2a, 2b), degrees)``, the form ``cv2.ellipse(img, box, ...)`` draws."""
        return (
            (self.center_x, self.center_y),
            (2.0 * self.a, 2.0 * self.b),
            math.degrees(self.angle_rad),
        )


@dataclass(frozen=True)
class Measurement:
    """Head ellipse and biometry for one image. Numbers are ``None``, never NaN, when absent.

    With ``status == NO_HEAD`` every measured number is ``None``. With ``OUT_OF_RANGE``
    everything but ``ga_weeks`` is set. ``*_px`` fields are in the pixel grid of the mask (the
    original image); ``*_mm`` fields use the pixel sizes; ``angle_rad`` is in the mm frame (the
    HC18 convention) and ``angle_px_rad`` in the px frame; they are equal for square pixels.
    ``bpd_mm = 2 * semi_axis_b_mm`` and ``ofd_mm = 2 * semi_axis_a_mm`` are the minor and major
    axes of the ellipse fitted to the outer contour (outer-to-outer).
    """

    status: Status
    message: str
    pixel_size_x_mm: float
    pixel_size_y_mm: float
    center_x_px: float | None = None
    center_y_px: float | None = None
    semi_axis_a_px: float | None = None
    semi_axis_b_px: float | None = None
    angle_px_rad: float | None = None
    center_x_mm: float | None = None
    center_y_mm: float | None = None
    semi_axis_a_mm: float | None = None
    semi_axis_b_mm: float | None = None
    angle_rad: float | None = None
    hc_mm: float | None = None
    bpd_mm: float | None = None
    ofd_mm: float | None = None
    ga_weeks: float | None = None

    @property
    def found(self) -> bool:
        """Whether a head was found (``status`` is not ``NO_HEAD``)."""
        return self.status is not Status.NO_HEAD

    @property
    def ellipse_px(self) -> Ellipse | None:
        """The head ellipse in px, or ``None`` when no head was found."""
        if not self.found:
            return None
        return Ellipse(
            _req(self.center_x_px),
            _req(self.center_y_px),
            _req(self.semi_axis_a_px),
            _req(self.semi_axis_b_px),
            _req(self.angle_px_rad),
        )

    @property
    def ellipse_mm(self) -> Ellipse | None:
        """The head ellipse in mm, or ``None`` when no head was found."""
        if not self.found:
            return None
        return Ellipse(
            _req(self.center_x_mm),
            _req(self.center_y_mm),
            _req(self.semi_axis_a_mm),
            _req(self.semi_axis_b_mm),
            _req(self.angle_rad),
        )

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dict (``status`` as its string value)."""
        d = asdict(self)
        d["status"] = self.status.value
        return d


def _req(x: float | None) -> float:
    if x is None:  # unreachable for measurements built by this module
        raise ValueError("measurement with a head lacks a value")
    return x


def _fold_angle(rad: float) -> float:
    """Angle of an axis (a direction modulo pi) in ``[0, pi)``."""
    r = rad % math.pi
    return 0.0 if r >= math.pi else r


def ramanujan_perimeter(a: float, b: float) -> float:
    """Ellipse circumference from semi-axes ``a``, ``b`` (any order, same unit as the result).

    Ramanujan's second approximation (Quart. J. Math. 45, 1914):
    ``pi (a + b) (1 + 3h / (10 + sqrt(4 - 3h)))`` with ``h = ((a - b) / (a + b))^2``. Its relative
    error (vs. the exact ``4a E(1 - b^2/a^2)``) is below 5e-10 for ``b/a >= 0.5``, 8e-8 at
    ``b/a = 0.3`` and 4e-4 at worst (``b = 0``).
    """
    if a < 0 or b < 0 or not (math.isfinite(a) and math.isfinite(b)):
        raise ValueError(f"semi-axes must be finite and >= 0, got a={a}, b={b}")
    if a + b == 0:
        return 0.0
    return float(ramanujan_formula(a, b))


def ramanujan_formula(a: Any, b: Any) -> Any:
    """:func:`ramanujan_perimeter`'s formula alone, elementwise on floats, NumPy arrays or torch
    tensors (differentiable), without its checks: ``a + b`` must be positive."""
    s = a + b
    h = ((a - b) / s) ** 2
    return math.pi * s * (1.0 + 3.0 * h / (10.0 + (4.0 - 3.0 * h) ** 0.5))


def hadlock_ga_weeks(hc_mm: float) -> float:
    """Hadlock et al. (1984): ``GA [weeks] = 8.96 + 0.540 HC + 0.0003 HC^3`` with HC in **cm**.

    Takes HC in mm. No range check: see :func:`gestational_age_weeks`.
    """
    hc_cm = hc_mm / 10.0
    return 8.96 + 0.540 * hc_cm + 0.0003 * hc_cm**3


def _hadlock_hc_mm_for(weeks: float) -> float:
    """Inverse of :func:`hadlock_ga_weeks` (Cardano: ``x^3 + px + q = 0`` has one real root)."""
    p = 0.540 / 0.0003
    q = (8.96 - weeks) / 0.0003
    d = math.sqrt(q * q / 4.0 + p**3 / 27.0)

    def cbrt(x: float) -> float:
        return math.copysign(abs(x) ** (1.0 / 3.0), x)

    return 10.0 * (cbrt(-q / 2.0 + d) + cbrt(-q / 2.0 - d))


HADLOCK_HC_RANGE_MM: tuple[float, float] = (
    _hadlock_hc_mm_for(GA_MIN_WEEKS),
    _hadlock_hc_mm_for(GA_MAX_WEEKS),
)
"""HC (mm) for which Hadlock's formula gives 12 and 42 weeks: about 55.4 and 357.7 mm."""


def gestational_age_weeks(hc_mm: float) -> float | None:
    """GA in weeks from HC in mm (Hadlock 1984), or ``None`` outside :data:`HADLOCK_HC_RANGE_MM`.

    The formula is monotonic in HC, so the HC range is exactly the GA range
    ``[GA_MIN_WEEKS, GA_MAX_WEEKS]``; the bounds are inclusive.
    """
    if not math.isfinite(hc_mm):
        return None
    lo, hi = HADLOCK_HC_RANGE_MM
    if not lo <= hc_mm <= hi:
        return None
    return hadlock_ga_weeks(hc_mm)


def _pixel_sizes(pixel_size_mm: float | tuple[float, float]) -> tuple[float, float]:
    if isinstance(pixel_size_mm, (tuple, list, np.ndarray)):
        if len(pixel_size_mm) != 2:
            raise ValueError(f"pixel_size_mm must be a number or (x, y), got {pixel_size_mm!r}")
        sx, sy = float(pixel_size_mm[0]), float(pixel_size_mm[1])
    else:
        sx = sy = float(pixel_size_mm)
    for s in (sx, sy):
        if not math.isfinite(s) or s <= 0:
            raise ValueError(f"pixel sizes must be positive and finite, got {pixel_size_mm!r}")
    return sx, sy


def ellipse_px_to_mm(ellipse: Ellipse, pixel_size_x_mm: float, pixel_size_y_mm: float) -> Ellipse:
    """The same ellipse in mm, exactly, for pixels of ``pixel_size_x_mm`` by ``pixel_size_y_mm``.

    With square pixels this is a plain scaling (angle unchanged); otherwise the semi-axes and
    angle come from the SVD of ``diag(sx, sy) @ R(angle) @ diag(a, b)``.
    """
    sx, sy = _pixel_sizes((pixel_size_x_mm, pixel_size_y_mm))
    cx, cy = ellipse.center_x * sx, ellipse.center_y * sy
    if sx == sy:
        return Ellipse(cx, cy, ellipse.a * sx, ellipse.b * sx, ellipse.angle_rad)
    c, s = math.cos(ellipse.angle_rad), math.sin(ellipse.angle_rad)
    m = np.array(
        [[sx * c * ellipse.a, -sx * s * ellipse.b], [sy * s * ellipse.a, sy * c * ellipse.b]]
    )
    u, sv, _ = np.linalg.svd(m)
    angle = _fold_angle(math.atan2(float(u[1, 0]), float(u[0, 0])))
    return Ellipse(cx, cy, float(sv[0]), float(sv[1]), angle)


def _binary(mask: np.ndarray, threshold: float) -> np.ndarray:
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D (H, W), got shape {mask.shape}")
    if np.issubdtype(mask.dtype, np.floating):
        return (mask >= threshold).astype(np.uint8)  # NaN compares False: background
    return (mask != 0).astype(np.uint8)


def _largest_outline(binary: np.ndarray) -> tuple[np.ndarray, int]:
    """``((K, 2) int32 outline points, pixels it encloses)`` of the 8-connected component whose
    outer outline encloses the most pixels (holes count as inside); ``K == 0`` for an empty mask.

    Works from the outer contours alone (``RETR_EXTERNAL``, ``CHAIN_APPROX_NONE``): a contour
    traced through boundary-pixel centres is a lattice polygon, so the pixels it encloses are
    ``area + boundary / 2 + 1`` (Pick's theorem). Counting the enclosed pixels rather than the
    component's own makes a head predicted as a ring (its inside missed) beat a smaller solid
    blob, as it should: the outline is what is measured. Labelling every pixel
    (``connectedComponentsWithStats``) cost ~25x more on an 800x540 frame, most of the
    post-processing time.
    """
    contours, _ = cv2.findContours(binary, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    best, best_px = np.zeros((0, 2), np.int32), 0
    for c in contours:
        # Pick's theorem holds for polygons with an inside; a lone pixel's "contour" has none
        enclosed = 1 if len(c) == 1 else round(cv2.contourArea(c) + len(c) / 2 + 1)
        if enclosed > best_px:
            best, best_px = c.reshape(-1, 2), enclosed
    return best, best_px


def fit_head_ellipse_px(
    mask: np.ndarray,
    *,
    threshold: float = 0.5,
    min_area_px: int = MIN_HEAD_AREA_PX,
    correction: BoundaryCorrection = CV2_FILLED,
) -> tuple[Ellipse | None, str]:
    """Ellipse (px) of the head in ``mask``, or ``None`` and the reason why there is none.

    ``mask`` is ``(H, W)`` in the original image's pixel grid: bool or integer (nonzero = head),
    or a float probability map (``>= threshold`` = head; NaN = background). Only the
    8-connected component whose outline encloses the most pixels is used (other blobs are
    ignored); its outer contour (``cv2.findContours``, ``RETR_EXTERNAL``, ``CHAIN_APPROX_NONE``)
    is fitted by ``cv2.fitEllipse``, so holes inside it have no effect (as if filled). The
    fitted semi-axes are then corrected for the rasterisation (``correction``, see the module
    docstring).
    Contour points on the image's outermost rows/columns are left out of the fit (a head cut by
    the image edge has a straight edge there that is not its outline) unless they are the
    majority. A component enclosing fewer than ``min_area_px`` pixels counts as no head.
    """
    binary = _binary(mask, threshold)
    points, area = _largest_outline(binary)
    if area == 0:
        return None, "No head found: the mask is empty."
    if area < min_area_px:
        return None, (
            f"No head found: the largest region has {area} px, "
            f"fewer than the {min_area_px} px a head needs."
        )
    h, w = binary.shape
    inside = (
        (points[:, 0] > 0) & (points[:, 0] < w - 1) & (points[:, 1] > 0) & (points[:, 1] < h - 1)
    )
    if inside.sum() >= max(5, len(points) // 2):
        points = points[inside]  # where the head leaves the image, the edge is not its outline
    if len(points) < 5:
        return None, "No head found: the region's outline has fewer than 5 points."
    (cx, cy), (d1, d2), deg = cv2.fitEllipse(points.astype(np.float32))
    values = (cx, cy, d1, d2, deg)
    if not all(math.isfinite(v) for v in values) or min(d1, d2) <= 0:
        return None, "No head found: no ellipse fits the region's outline."
    # cv2 reports the first axis (d1) at `deg` degrees from +x towards +y; d2 is perpendicular.
    if d1 >= d2:
        a, b, angle = d1 / 2.0, d2 / 2.0, math.radians(deg)
    else:
        a, b, angle = d2 / 2.0, d1 / 2.0, math.radians(deg) + math.pi / 2.0
    ellipse = Ellipse(
        center_x=float(cx),
        center_y=float(cy),
        a=correction.apply(a),
        b=correction.apply(b),
        angle_rad=_fold_angle(angle),
    )
    if ellipse.b <= 0:
        return None, "No head found: the region is too thin to be a head."
    return ellipse, "ok"


def _fmt_message(hc: float, bpd: float, ofd: float, ga: float | None) -> str:
    base = f"HC {hc:.1f} mm, BPD {bpd:.1f} mm, OFD {ofd:.1f} mm"
    if ga is not None:
        return f"{base}, GA {ga:.1f} weeks (Hadlock 1984)."
    lo, hi = HADLOCK_HC_RANGE_MM
    return (
        f"{base}; GA not given: HC is outside {lo:.0f}-{hi:.0f} mm, the range of Hadlock's "
        f"formula ({GA_MIN_WEEKS:.0f}-{GA_MAX_WEEKS:.0f} weeks)."
    )


def measurement_from_ellipse(
    ellipse_px: Ellipse | None,
    pixel_size_mm: float | tuple[float, float],
    message: str = "No head found.",
) -> Measurement:
    """Biometry for a px ellipse (``None``: a ``NO_HEAD`` measurement carrying ``message``).

    ``pixel_size_mm`` is one size for square pixels or ``(x, y)`` sizes in mm per px.
    """
    sx, sy = _pixel_sizes(pixel_size_mm)
    if ellipse_px is None:
        return Measurement(Status.NO_HEAD, message, sx, sy)
    e_mm = ellipse_px_to_mm(ellipse_px, sx, sy)
    hc = e_mm.perimeter
    bpd, ofd = 2.0 * e_mm.b, 2.0 * e_mm.a
    ga = gestational_age_weeks(hc)
    return Measurement(
        status=Status.OK if ga is not None else Status.OUT_OF_RANGE,
        message=_fmt_message(hc, bpd, ofd, ga),
        pixel_size_x_mm=sx,
        pixel_size_y_mm=sy,
        center_x_px=ellipse_px.center_x,
        center_y_px=ellipse_px.center_y,
        semi_axis_a_px=ellipse_px.a,
        semi_axis_b_px=ellipse_px.b,
        angle_px_rad=ellipse_px.angle_rad,
        center_x_mm=e_mm.center_x,
        center_y_mm=e_mm.center_y,
        semi_axis_a_mm=e_mm.a,
        semi_axis_b_mm=e_mm.b,
        angle_rad=e_mm.angle_rad,
        hc_mm=hc,
        bpd_mm=bpd,
        ofd_mm=ofd,
        ga_weeks=ga,
    )


def measure_head(
    mask: np.ndarray,
    pixel_size_mm: float | tuple[float, float],
    *,
    threshold: float = 0.5,
    min_area_px: int = MIN_HEAD_AREA_PX,
    correction: BoundaryCorrection = CV2_FILLED,
) -> Measurement:
    """Fit the head ellipse in ``mask`` and derive HC, BPD, OFD (mm) and GA (weeks).

    ``mask``: ``(H, W)`` in the original image's pixel grid, as for :func:`fit_head_ellipse_px`.
    ``pixel_size_mm``: mm per px, one number for square pixels or ``(x, y)``. Never raises for
    an empty or headless mask: that is a ``NO_HEAD`` measurement with a message.
    """
    ellipse, why = fit_head_ellipse_px(
        mask, threshold=threshold, min_area_px=min_area_px, correction=correction
    )
    return measurement_from_ellipse(ellipse, pixel_size_mm, why)


CHALLENGE_HEADER = (
    "filename",
    "center_x_mm",
    "center_y_mm",
    "semi_axes_a_mm",
    "semi_axes_b_mm",
    "angle_rad",
)


class ChallengeRow(NamedTuple):
    """One row of an HC18 submission (van den Heuvel et al. 2018).

    Centre in mm from the top-left pixel's centre, semi-axes in mm (``a`` the major one),
    ``angle_rad`` of ``a`` from ``+x`` towards ``+y`` (image axes, ``y`` down) in ``[0, pi)``.
    The challenge names these fields without fixing the angle's sign; it is scored on the HC
    computed from the semi-axes, which the angle does not affect.
    """

    filename: str
    center_x_mm: float
    center_y_mm: float
    semi_axes_a_mm: float
    semi_axes_b_mm: float
    angle_rad: float


def challenge_row(filename: str, measurement: Measurement) -> ChallengeRow:
    """The HC18 row for ``filename`` (the image's base name, e.g. ``"000_HC.png"``).

    A ``NO_HEAD`` measurement gives all zeros: a zero-size ellipse, HC 0, which the challenge
    scores as a miss (error = the true HC), never NaN.
    """
    e = measurement.ellipse_mm
    if e is None:
        return ChallengeRow(filename, 0.0, 0.0, 0.0, 0.0, 0.0)
    return ChallengeRow(filename, e.center_x, e.center_y, e.a, e.b, e.angle_rad)


def hc_difference_mm(measured_hc_mm: float | None, true_hc_mm: float) -> float:
    """The HC18 challenge's DF, ``measured - true`` in mm (its ADF is the absolute value).

    No measurement (no head found) counts as HC 0, as the challenge scores a zero ellipse: the
    error is then the whole true HC, never a NaN that a mean would silently skip.
    """
    return (measured_hc_mm or 0.0) - true_hc_mm


def write_challenge_csv(path: str | Path, rows: Iterable[ChallengeRow]) -> None:
    """Write an HC18 submission CSV: :data:`CHALLENGE_HEADER`, then one line per row.

    Numbers are written with ``repr`` (shortest exact round trip). Non-finite values are
    refused with ``ValueError`` before anything is written.
    """
    rows = list(rows)
    for r in rows:
        if not all(math.isfinite(v) for v in r[1:]):
            raise ValueError(f"{r.filename}: non-finite value in challenge row {tuple(r)}")
    # surrogateescape: a file name that is not UTF-8 is written as its own bytes
    with Path(path).open("w", newline="", encoding="utf-8", errors="surrogateescape") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(CHALLENGE_HEADER)
        for r in rows:
            w.writerow([r.filename, *(repr(float(v)) for v in r[1:])])


def read_challenge_csv(path: str | Path) -> list[ChallengeRow]:
    """Read back a file written by :func:`write_challenge_csv` (header checked)."""
    with Path(path).open(newline="", encoding="utf-8-sig") as f:
        table = list(csv.reader(f))
    if not table or tuple(c.strip() for c in table[0]) != CHALLENGE_HEADER:
        raise ValueError(f"{path}: header is not {','.join(CHALLENGE_HEADER)}")
    out = []
    for line in table[1:]:
        if not line:
            continue
        if len(line) != len(CHALLENGE_HEADER):
            raise ValueError(f"{path}: row {line!r} has {len(line)} fields, expected 6")
        name, *nums = line
        out.append(ChallengeRow(name, *(float(v) for v in nums)))
    return out
