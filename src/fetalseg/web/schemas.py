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
