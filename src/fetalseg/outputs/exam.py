"""What the outputs are made from: one measured frame (:class:`ExamFrame`) and one exam
(:class:`Exam`: the selected frame, the other frames' measurements, the known GA).

These are plain data: whoever measured the frames (the CLI, the web app, a batch) fills them in;
the report and the DICOM writers only read them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from fetalseg.biometry import Measurement, Status

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

    from fetalseg.quality import Quality

__all__ = ["MEASURES", "Exam", "ExamFrame", "KnownGA", "Spread", "measure_value", "select_frame"]

#: The head measures reported, in this order.
MEASURES = ("hc", "bpd", "ofd")
MEASURE_NAMES = {"hc": "HC", "bpd": "BPD", "ofd": "OFD"}


@dataclass
class ExamFrame:
    """One measured frame.

    ``image``: ``(H, W) uint8`` gray frame as measured; ``mask``: ``(H, W) uint8 {0, 1}`` head
    mask on the same grid; ``measurement``: the biometry (``None`` when the pixel size is
    unknown: then nothing is reported in mm); ``pixel_size_mm``: mm per px, one number or
    ``(x, y)``, and ``pixel_size_source`` where it came from (``"--pixel-size"``,
    ``"dicom ultrasound regions"``...). ``source_dataset``: the DICOM file the frame came from
    (its header is enough), so that outputs stay in its study and reference it;
    ``frame_number``: the frame's 1-based number in a multi-frame source (DICOM's
    ``ReferencedFrameNumber`` convention), ``None`` for a single image; ``quality``: the
    frame's verdict (:mod:`fetalseg.quality`), shown in every output.
    """

    image: np.ndarray
    mask: np.ndarray
    measurement: Measurement | None
    pixel_size_mm: float | tuple[float, float] | None
    pixel_size_source: str | None
    model_name: str
    source_name: str
    source_dataset: Dataset | None = None
    frame_number: int | None = None
    time_s: float | None = None
    quality: Quality | None = None

    def __post_init__(self) -> None:
        if self.image.ndim != 2 or self.image.dtype != np.uint8:
            raise ValueError(
                f"image must be (H, W) uint8, got {self.image.shape} {self.image.dtype}"
            )
        if self.mask.shape != self.image.shape:
            raise ValueError(f"mask {self.mask.shape} does not match image {self.image.shape}")

    @property
    def found(self) -> bool:
        """Whether a head was measured in mm."""
        return self.measurement is not None and self.measurement.found


@dataclass(frozen=True)
class KnownGA:
    """The gestational age known before this scan (not estimated from it), in weeks.

    ``how``: where it came from, as shown to the reader (``"given: 20w3d"``,
    ``"LMP 2026-07-01, exam 2026-12-02"``); ``from_lmp``: whether it is menstrual dating.
    """

    weeks: float
    how: str
    from_lmp: bool = False


@dataclass(frozen=True)
class Spread:
    """A measure over the frames of a clip where it was found: median, sample sd, n (mm)."""

    median: float
    sd: float
    n: int


def measure_value(m: Measurement | None, measure: str) -> float | None:
    """``hc``, ``bpd`` or ``ofd`` of a measurement in mm, ``None`` when not measured."""
    if m is None or not m.found:
        return None
    value = getattr(m, f"{measure}_mm")
    return None if value is None or not math.isfinite(value) else float(value)


@dataclass
class Exam:
    """One exam: the selected frame and, for a clip, every frame's measurement.

    ``frame_measurements[i]`` is frame ``i``'s measurement (``None``: no pixel size);
    ``selected_index`` indexes it. ``known_ga``: the GA before the scan, for centiles;
    ``standard``: the growth standard's name in :mod:`fetalseg.standards` (centiles);
    ``ga_standard``: the one GA is estimated by (``None``: ``standard`` where it has a dating
    formula, else the default one, see :func:`fetalseg.outputs.clinical.dating_standard`);
    ``frame_verdicts[i]``: frame ``i``'s quality verdict (empty: not known); ``clip_verdict``
    and ``clip_reasons`` (``code``, ``severity``, ``message`` dicts): the clip's own verdict
    (:class:`fetalseg.result.ClipResult`: no good frame, frames that disagree...).
    """

    selected: ExamFrame
    standard: str
    known_ga: KnownGA | None = None
    ga_standard: str | None = None
    frame_measurements: list[Measurement | None] = field(default_factory=list)
    selected_index: int = 0
    frame_verdicts: list[str | None] = field(default_factory=list)
    clip_verdict: str | None = None
    clip_reasons: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.frame_measurements:
            self.frame_measurements = [self.selected.measurement]
        if self.frame_verdicts and len(self.frame_verdicts) != len(self.frame_measurements):
            n, k = len(self.frame_measurements), len(self.frame_verdicts)
            raise ValueError(f"{k} verdicts for {n} frames")
        if not 0 <= self.selected_index < len(self.frame_measurements):
            n = len(self.frame_measurements)
            raise ValueError(f"selected_index {self.selected_index} outside {n} frames")

    @property
    def is_clip(self) -> bool:
        return len(self.frame_measurements) > 1

    def verdict_counts(self) -> dict[str, int]:
        """Frames per quality verdict (``good``, ``check``, ``reject``; only those present)."""
        counts: dict[str, int] = {}
        for v in self.frame_verdicts:
            if v is not None:
                counts[v] = counts.get(v, 0) + 1
        return {k: counts[k] for k in ("good", "check", "reject") if k in counts}

    def spread(self, measure: str) -> Spread | None:
        """Median, sd (``ddof=1``; 0 for one value) and n of ``measure`` over the frames where
        a head was found; ``None`` when none was."""
        values = [
            v for m in self.frame_measurements if (v := measure_value(m, measure)) is not None
        ]
        if not values:
            return None
        a = np.asarray(values)
        sd = float(a.std(ddof=1)) if len(a) > 1 else 0.0
        return Spread(float(np.median(a)), sd, len(a))


def select_frame(
    measurements: list[Measurement | None], verdicts: list[str | None] | None = None
) -> int:
    """Index of the frame to report from a clip: among frames measured with status ``ok``
    whose quality verdict is ``good`` (else ``ok`` frames not ``reject``, else all ``ok``
    frames, else all frames with a head), the one whose HC is nearest the median HC of those
    frames (the first on ties); frame 0 when no frame has a head. ``verdicts[i]``: frame
    ``i``'s verdict (``None``: not assessed, taken as ``good``).

    The median frame is a typical frame of the sweep, never an outlier picked by chance.
    """
    verdicts = verdicts if verdicts is not None else [None] * len(measurements)
    if len(verdicts) != len(measurements):
        raise ValueError(f"{len(verdicts)} verdicts for {len(measurements)} frames")
    good = {"good", None}
    tiers = (
        ((Status.OK,), good),
        ((Status.OK,), good | {"check"}),
        ((Status.OK,), None),
        ((Status.OK, Status.OUT_OF_RANGE), None),
    )
    for wanted, allowed in tiers:
        idx = [
            i
            for i, m in enumerate(measurements)
            if m is not None and m.status in wanted and (allowed is None or verdicts[i] in allowed)
        ]
        if idx:
            hc = np.array([measure_value(measurements[i], "hc") for i in idx], np.float64)
            median = float(np.median(hc))
            return idx[int(np.argmin(np.abs(hc - median)))]
    return 0
