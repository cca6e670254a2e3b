"""The public Python API: load a model once, measure frames and clips.

>>> import fetalseg
>>> model = fetalseg.load()                       # the shipped model, int8 on OpenVINO
>>> result = model.measure("scan.dcm")            # a path (PNG/JPEG/DICOM), an array or a Frame
>>> result.hc_mm, result.bpd_mm, result.ga_weeks  # doctest: +SKIP

Inputs: a path, a :class:`Frame` from :func:`read_frame`, or a numpy array: ``(H, W)`` grey or
``(H, W, 3/4)`` colour (the channels' mean: RGB or BGR alike; alpha dropped), of dtype
``uint8``, ``uint16`` (scaled by 1/257) or float in ``[0, 1]`` or ``[0, 255]``
(:func:`fetalseg.inference.predictor.as_frame`). Anything else raises
:class:`~fetalseg.errors.InputError` saying what is wrong.

Calibration: a DICOM file's own pixel size wins over ``pixel_size_mm``
(:func:`fetalseg.result.resolve_calibration`); without either, results are in px only.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fetalseg.errors import InputError
from fetalseg.result import (
    ClipResult,
    FrameResult,
    PixelSize,
    as_pixel_size,
    frame_result,
    resolve_calibration,
)

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

    from fetalseg.outputs.exam import Exam, KnownGA

#: ``pixel_size_source`` of a size given to :meth:`Model.measure`
SOURCE_API = "pixel_size_mm"


@dataclass(frozen=True)
class Frame:
    """One frame as read: ``image`` ``(H, W) uint8``; ``pixel_size_mm`` ``(x, y)`` mm per px or
    ``None``; ``pixel_size_source`` (e.g. ``"dicom ultrasound regions"``); ``source``: the path
    it came from."""

    image: np.ndarray
    pixel_size_mm: PixelSize | None = None
    pixel_size_source: str | None = None
    source: str = ""


def read_frame(path: str | Path) -> Frame:
    """Read an image (PNG, JPEG, BMP, TIFF) or a single-frame DICOM file (told by content)
    with the file's own calibration, if any. :class:`InputError` naming the file otherwise
    (also for a multi-frame DICOM: measure it with :meth:`Model.measure_clip`)."""
    from fetalseg.inference.batch import read_frame as read_image_and_size

    image, size, source = read_image_and_size(Path(path))
    return Frame(image, as_pixel_size(size), source, str(path))


def _as_frame(x: Any) -> Frame:
    if isinstance(x, Frame):
        return x
    if isinstance(x, str | Path):
        return read_frame(x)
    from fetalseg.inference.predictor import as_frame

    return Frame(as_frame(x, "array"), source="array")


class Model:
    """A loaded model: call :meth:`measure` per frame, :meth:`measure_clip` per clip.

    Thread-safe: calls are serialised on one lock (one inference at a time is also the
    fastest order on a small CPU).
    """

    def __init__(self, predictor: Any) -> None:
        self.predictor = predictor
        self._lock = threading.Lock()

    @property
    def backend(self) -> str:
        return self.predictor.backend

    @property
    def info(self) -> dict[str, Any]:
        """Provenance of the weights (epochs, validation DSC, source file ...)."""
        return {**self.predictor.loaded.info, "file": str(self.predictor.loaded.source)}

    def measure(
        self,
        x: str | Path | np.ndarray | Frame,
        pixel_size_mm: float | tuple[float, float] | None = None,
        *,
        name: str | None = None,
    ) -> FrameResult:
        """Segment and measure one frame.

        Args:
            x: a path (PNG/JPEG/DICOM), a :class:`Frame`, or an array (see the module's notes).
            pixel_size_mm: mm per px (one number, or ``(x, y)``), for frames without their own
                calibration.
            name: the name recorded in the result (default: the path, or ``"array"``).
        """
        _check_user_size(pixel_size_mm, SOURCE_API)
        frame = _as_frame(x)
        size, source, note = resolve_calibration(
            frame.pixel_size_mm, frame.pixel_size_source, pixel_size_mm, SOURCE_API
        )
        other = as_pixel_size(pixel_size_mm) if frame.pixel_size_mm is not None else None
        with self._lock:
            pred = self.predictor.predict(frame.image, size, source, other)
            timings = {k: 1000 * v[-1] for k, v in self.predictor.timings.items() if v}
            self.predictor.timings.clear()
        return frame_result(
            pred.mask,
            pred.measurement,
            size,
            source,
            name=name or Path(frame.source).name or frame.source,
            note=note,
            timings_ms=timings,
            quality=pred.quality,
        )

    def measure_clip(
        self,
        x: str | Path | Iterable[np.ndarray],
        pixel_size_mm: float | tuple[float, float] | None = None,
    ) -> ClipResult:
        """Measure every frame of a clip (a video file, GIF, multi-frame DICOM, or an iterable
        of arrays); the summary is the median over the frames with a head."""
        _check_user_size(pixel_size_mm, SOURCE_API)
        if isinstance(x, str | Path):
            from fetalseg.inference.video import clip_pixel_size, open_clip

            frames, fps, _, dicom = open_clip(x)
            size, source, note = clip_pixel_size(pixel_size_mm, dicom, SOURCE_API)
            images: Iterable[np.ndarray] = frames
        else:
            fps = None
            size, source, note = resolve_calibration(None, None, pixel_size_mm, SOURCE_API)
            from fetalseg.inference.predictor import as_frame

            images = (as_frame(a, f"frame {i}") for i, a in enumerate(x))
        results = []
        for i, image in enumerate(images):
            r = self.measure(Frame(image, size, source), name=f"frame {i}")
            r.index, r.time_s = i, (i / fps if fps else None)
            results.append(r)
        if not results:
            raise InputError(f"{x if isinstance(x, str | Path) else 'clip'}: no frames")
        return ClipResult(results, size, source, note)

    # --- clinical outputs (fetalseg.outputs) ---------------------------------------------
    def exam(
        self,
        x: str | Path | np.ndarray | Frame | list[str | Path],
        *,
        ga: str | float | None = None,
        lmp: str | None = None,
        exam_date: str | None = None,
        standard: str | None = None,
        pixel_size_mm: float | tuple[float, float] | None = None,
    ) -> Any:
        """Measure one exam: an image, several images of one exam (a list of paths) or a clip
        path; a :class:`fetalseg.outputs.Exam` (the frame nearest the median HC, every frame's
        measurement, the known GA). ``ga``: ``"20+3"`` or weeks; or ``lmp`` (+ ``exam_date``,
        default today), ISO dates. ``standard``: ``"intergrowth21"`` (default), ``"who2017"``
        or ``"hadlock"``. Its clinical reading: :func:`fetalseg.outputs.clinical.assess_exam`."""
        from fetalseg.outputs.build import known_ga

        known = known_ga(ga, lmp=lmp, exam_date=exam_date)
        if isinstance(x, Frame):
            x = x.image if not x.source or x.source == "array" else x.source
        return measure_exam(self, x, ga=known, standard=standard, pixel_size_mm=pixel_size_mm)

    def report(
        self,
        x: str | Path | np.ndarray | Frame | list[str | Path],
        path: str | Path | None = None,
        *,
        overwrite: bool = False,
        dicom_dir: str | Path | None = None,
        **exam_args: Any,
    ) -> str:
        """The exam report (self-contained HTML, :func:`fetalseg.outputs.report.render_report`)
        of :meth:`exam` ``(x, **exam_args)``; written to ``path`` too when given, and the DICOM
        SR + SEG (+ SC for a non-DICOM frame) into the folder ``dicom_dir`` when given. Existing
        files are kept unless ``overwrite`` (:mod:`fetalseg.destination`)."""
        from fetalseg.destination import write_text
        from fetalseg.outputs.build import dicom_folder, write_dicom
        from fetalseg.outputs.report import render_report

        exam = self.exam(x, **exam_args)
        html = render_report(exam)
        if dicom_dir is not None:
            with dicom_folder(dicom_dir, overwrite) as folder:
                write_dicom(exam, folder)  # type: ignore[arg-type]
        if path is not None:
            write_text(path, html, overwrite)
        return html


def load(
    checkpoint: str | Path | None = None, backend: str = "auto", threads: int | None = None
) -> Model:
    """Load a model: ``checkpoint`` ``None`` for the shipped one (int8 on OpenVINO by default,
    no PyTorch needed), or a ``.onnx`` export (no PyTorch), ``.safetensors`` / ``.pt`` (needs
    the ``train`` extra). ``backend``: ``auto``, ``openvino-int8``, ``onnx-int8``, ``onnx``,
    ``torch``."""
    from fetalseg.inference.predictor import Predictor

    return Model(Predictor(checkpoint, backend, threads))


_default: dict[tuple[Any, ...], Model] = {}
_default_lock = threading.Lock()


def _check_user_size(size: float | tuple[float, float] | None, where: str) -> None:
    """A pixel size the caller gives: the package's one plausibility check
    (:func:`fetalseg.quality.check_pixel_size`, as for ``--pixel-size`` and the web form)."""
    if size is not None:
        from fetalseg.quality import check_pixel_size

        check_pixel_size(size, where)


def measure(
    x: str | Path | np.ndarray | Frame,
    pixel_size_mm: float | tuple[float, float] | None = None,
    *,
    checkpoint: str | Path | None = None,
    backend: str = "auto",
) -> FrameResult:
    """:meth:`Model.measure` with a model loaded on first use and kept for later calls."""
    key = (str(checkpoint) if checkpoint else None, backend)
    with _default_lock:
        if key not in _default:
            _default[key] = load(checkpoint, backend)
    return _default[key].measure(x, pixel_size_mm)


def measure_exam(
    model: Any,
    inputs: str | Path | np.ndarray | Sequence[str | Path],
    *,
    ga: KnownGA | None = None,
    standard: str | None = None,
    pixel_size_mm: float | tuple[float, float] | None = None,
    pixel_size_source: str | None = None,
) -> Exam:
    """Measure one exam with ``model`` (a :class:`fetalseg.api.Model`): one image (path or
    array), several images of one exam (paths), or a clip (a video, GIF or multi-frame DICOM
    path). ``pixel_size_source`` renames the source of a given ``pixel_size_mm`` in the
    outputs (e.g. ``"--pixel-size"``)."""
    from fetalseg.inference.video import clip_pixel_size, is_clip, open_clip
    from fetalseg.outputs.build import exam_from_results, model_label, read_header

    _check_user_size(pixel_size_mm, pixel_size_source or SOURCE_API)

    name = model_label(model.predictor)
    single = isinstance(inputs, str | Path)
    if single and is_clip(inputs):
        path = Path(inputs)  # type: ignore[arg-type]
        frames, _, _, dicom = open_clip(path)
        size, source, note = clip_pixel_size(pixel_size_mm, dicom, SOURCE_API)
        images = list(frames)
        results = [model.measure(Frame(im, size, source), name=path.name) for im in images]
        header = read_header(path) if dicom is not None else None
        headers: list[Dataset | None] = [header] * len(images)
        multi = header is not None
        label = path.name
    else:
        items = [inputs] if single or isinstance(inputs, np.ndarray) else list(inputs)
        if not items:
            raise InputError("no input to report on")
        frames_in = [_as_frame(x) for x in items]
        images = [f.image for f in frames_in]
        results = [model.measure(f, pixel_size_mm) for f in frames_in]
        headers = [read_header(x) if isinstance(x, str | Path) else None for x in items]
        multi, note = False, None
        label = None
    for r in results:
        if pixel_size_source and r.pixel_size_source == SOURCE_API:
            r.pixel_size_source = pixel_size_source
        if note and not r.note:
            r.note = note
    exam = exam_from_results(
        results,
        images,
        name,
        standard=standard,
        ga=ga,
        headers=headers,
        multi_frame=multi,
        source_name=label,
    )
    if not single and exam.is_clip:  # several images: name the one reported
        exam.selected.source_name = results[exam.selected_index].name
    return exam
