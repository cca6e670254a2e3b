"""Response models of the HTTP API (they make the OpenAPI schema; responses are checked
against them)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class ErrorResponse(BaseModel):
    """Every 4xx/5xx answer: one line saying what is wrong (never a traceback)."""

    error: str = Field(examples=["scan.png: not a readable image (unknown or corrupt format)"])


class PixelSize(BaseModel):
    x: float = Field(description="mm per pixel along x (columns)")
    y: float = Field(description="mm per pixel along y (rows)")


class HeadBiometry(BaseModel):
    """Status and head measurements shared by a frame and a clip summary. ``*_mm`` and
    ``ga_weeks`` are null when the pixel size is unknown (never invented); ``*_px`` are set
    whenever a head was found."""

    status: Literal["ok", "no_head", "out_of_range"]
    message: str
    hc_mm: float | None
    bpd_mm: float | None
    ofd_mm: float | None
    ga_weeks: float | None
    ga_standard: Literal["intergrowth21", "hadlock"] | None = Field(
        None,
        description="the standard ga_weeks is by: INTERGROWTH-21st 2016 within 14+0-25+6 weeks, "
        "else Hadlock 1984 (fetalseg.standards.ga_from_hc); null without a GA",
    )
    hc_px: float | None
    bpd_px: float | None
    ofd_px: float | None


class FrameResult(HeadBiometry):
    """One frame, with its ellipse in px."""

    frame: int
    center_x_px: float | None
    center_y_px: float | None
    semi_axis_a_px: float | None
    semi_axis_b_px: float | None
    angle_px_rad: float | None = Field(description="major axis from +x towards +y (down)")
    quality: Literal["good", "check", "reject"] | None = Field(
        None, description="how far the numbers can be trusted (fetalseg.quality)"
    )
    quality_reasons: list[dict[str, Any]] = Field(
        default_factory=list, description="machine-readable code, severity and a sentence each"
    )


class ClipSummary(HeadBiometry):
    """Clip (multi-frame) summary over the frames with a head: medians, GA from the median HC,
    and the spread of HC in ``spread_unit``."""

    n_frames: int
    frames_with_head: int
    key_frame: int | None = Field(description="frame whose HC is closest to the median")
    good_frames: int = Field(0, description="frames with a head judged good (the median's)")
    frames_used: int = Field(0, description="frames the median is of (good, else check ones)")
    best_frame: int | None = Field(None, description="the sweep's best frame (cleanest fit)")
    frames_disagree: bool = Field(False, description="the used frames' HC scatter too much")
    quality: Literal["good", "check", "reject"] | None = Field(
        None, description="the clip's verdict (fetalseg.result.ClipResult)"
    )
    quality_reasons: list[dict[str, Any]] = Field(default_factory=list)
    spread_unit: Literal["mm", "px"]
    hc_min: float | None
    hc_max: float | None
    hc_iqr: float | None
    hc_sd: float | None


class Timing(BaseModel):
    decode_ms: float
    queue_ms: float = Field(description="waiting for the shared model")
    pre_ms: float
    model_ms: float
    post_ms: float
    inference_ms: float = Field(description="all frames, queue included")
    overlay_ms: float
    total_ms: float = Field(description="decode to response, upload excluded")


class Centile(BaseModel):
    """One measure against the growth standard at the known GA."""

    value_mm: float
    centile: float | None = Field(description="0-100; null unless status is ok")
    centile_text: str | None = Field(examples=["50.3", ">99.9", "<0.1"])
    z: float | None
    status: str = Field(examples=["ok", "ga_out_of_range", "measure_not_covered"])
    message: str
    convention_note: str = Field(description="caliper convention, e.g. BPD outer-to-outer")
    chart_svg: str | None = Field(description="growth chart, an SVG data URI")


class Clinical(BaseModel):
    """The clinical reading of the numbers shown (a clip: its medians)."""

    standard: str = Field(examples=["intergrowth21", "who2017", "hadlock"])
    standard_title: str
    known_ga: dict[str, Any] | None = Field(description="weeks, text (20w3d), how it was given")
    ga_estimate: dict[str, Any] | None = Field(
        description="GA from HC: weeks, text, plus_minus_days, standard, status, message"
    )
    centiles: dict[str, Centile] = Field(description="hc, bpd, ofd; empty without a known GA")
    cephalic_index: dict[str, Any] | None
    verdict: Literal["good", "check", "reject"] | None = Field(
        description="quality verdict of the numbers read (a clip: the clip's)"
    )


class MeasureResponse(BaseModel):
    file: str
    status: Literal["ok", "no_head", "out_of_range"]
    message: str
    format: str = Field(examples=["png", "jpeg", "dicom", "gif"])
    kind: Literal["image", "clip"]
    width: int
    height: int
    n_frames: int
    frame_time_ms: float | None
    pixel_size_mm: PixelSize | None
    pixel_size_source: Literal["ultrasound regions", "PixelSpacing", "user"] | None = Field(
        description="DICOM Sequence of Ultrasound Regions, DICOM PixelSpacing, the "
        "pixel_size_mm form field, or null (unknown: px only)"
    )
    note: str | None
    measurement: FrameResult = Field(description="the frame shown in the overlay")
    frames: list[FrameResult]
    summary: ClipSummary | None = Field(description="clips only")
    overlay_frame: int
    overlay_png: str = Field(description="base64 PNG: frame, contour, ellipse, axes, numbers")
    backend: str
    timing_ms: Timing
    clinical: Clinical | None = Field(
        None, description="/api/measure and each item of /api/measure/batch"
    )


class BatchError(BaseModel):
    file: str
    status: Literal["error"]
    error: str


class BatchResponse(BaseModel):
    count: int
    errors: int
    results: list[MeasureResponse | BatchError]


class Health(BaseModel):
    status: Literal["ok"]
    version: str
    backend: str


class Info(BaseModel):
    name: str
    version: str
    backend: str
    model: dict[str, Any] = Field(description="architecture, source file, input size")
    training: dict[str, Any] = Field(description="provenance stored with the weights")
    limits: dict[str, Any]
