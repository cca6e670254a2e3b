"""Exams from what the model measured, and an exam's DICOM files.

* :func:`known_ga`: the GA the user gave (``"20+3"``, weeks, or LMP + exam date).
* :func:`exam_from_results`: :class:`~fetalseg.result.FrameResult` s and their images -> an
  :class:`~fetalseg.outputs.exam.Exam` (the frame to report: a clip summary's key frame,
  :attr:`fetalseg.result.ClipResult.key_frame`, else :func:`~fetalseg.outputs.exam.select_frame`).
  (:func:`fetalseg.api.measure_exam` measures an exam with a model, then calls it.)
* :func:`dicom_datasets` / :func:`write_dicom`: the SR, the SEG and (for a non-DICOM input)
  the Secondary Capture they reference.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fetalseg.errors import InputError
from fetalseg.outputs.exam import Exam, ExamFrame, KnownGA, select_frame

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

    from fetalseg.result import ClipResult, FrameResult

__all__ = [
    "dicom_datasets",
    "dicom_folder",
    "exam_frame",
    "exam_from_results",
    "frame_dicom_writer",
    "known_ga",
    "model_label",
    "read_header",
    "write_clip_dicom",
    "write_dicom",
    "write_frame_dicom",
]


def model_label(predictor: Any) -> str:
    """How outputs name the model: its architecture and weights file, e.g.
    ``"bisenet (shipped_int8.onnx)"``."""
    loaded = predictor.loaded
    return f"{loaded.name} ({Path(loaded.source).name})"


def known_ga(
    ga: str | float | KnownGA | None = None,
    *,
    lmp: dt.date | str | None = None,
    exam_date: dt.date | str | None = None,
) -> KnownGA | None:
    """The GA known before the scan: ``ga`` as weeks+days text (``"20+3"``, ``"20w3d"``), a
    number of weeks or a :class:`KnownGA`; or ``lmp`` with ``exam_date`` (default today).
    ``None`` when neither is given; both, or bad text/dates -> :class:`InputError`."""
    from fetalseg.standards import format_ga, ga_from_dates, parse_ga

    if ga is not None and lmp is not None:
        raise InputError("gestational age: give the GA or the LMP, not both")
    if isinstance(ga, KnownGA):
        return ga
    if isinstance(ga, str):
        weeks = parse_ga(ga)
        return KnownGA(weeks, f"given: {ga.strip()}")
    if ga is not None:
        weeks = float(ga)
        if not 0 < weeks <= 45:
            raise InputError(f"gestational age {ga!r} weeks: not a plausible GA")
        return KnownGA(weeks, f"given: {format_ga(weeks)}")
    if lmp is None:
        if exam_date is not None:
            raise InputError("gestational age: an exam date needs the LMP (--lmp) too")
        return None
    exam = exam_date if exam_date is not None else dt.date.today()
    weeks = ga_from_dates(exam, lmp=lmp)
    shown = exam.isoformat() if isinstance(exam, dt.date) else str(exam).strip()
    return KnownGA(weeks, f"LMP {str(lmp).strip()}, exam {shown}", from_lmp=True)


def read_header(path: str | Path) -> Dataset | None:
    """The DICOM header of ``path`` (pixels not read), or ``None`` when it is not DICOM."""
    import pydicom

    from fetalseg.data.dicom import is_dicom

    path = Path(path)
    if path.is_dir():  # a folder of frames
        return None
    try:
        with path.open("rb") as f:
            if not is_dicom(f.read(132)):
                return None
        return pydicom.dcmread(path, stop_before_pixels=True)
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror or e})") from None
    except Exception as e:  # a corrupt element fails where it is read
        raise InputError(f"{path}: not a readable DICOM header ({type(e).__name__})") from None


def exam_frame(
    result: FrameResult,
    image: np.ndarray,
    model_name: str,
    *,
    source_name: str | None = None,
    source_dataset: Dataset | None = None,
    frame_number: int | None = None,
) -> ExamFrame:
    """The :class:`ExamFrame` of one measured frame: ``image`` ``(H, W) uint8`` as measured
    (the result's mask is on its grid)."""
    return ExamFrame(
        image=image,
        mask=result.mask,
        measurement=result.measurement,
        pixel_size_mm=result.pixel_size_mm,
        pixel_size_source=result.pixel_size_source,
        model_name=model_name,
        source_name=source_name or result.name,
        source_dataset=source_dataset,
        frame_number=frame_number,
        time_s=result.time_s,
        quality=result.quality,
    )


def exam_from_results(
    results: Sequence[FrameResult],
    images: Sequence[np.ndarray],
    model_name: str,
    *,
    standard: str | None = None,
    ga: KnownGA | None = None,
    source_name: str | None = None,
    headers: Sequence[Dataset | None] | None = None,
    multi_frame: bool = False,
) -> Exam:
    """One exam from its frames: ``results[i]`` measured on ``images[i]``.

    ``headers[i]``: frame ``i``'s DICOM header (``None``: not DICOM); for a multi-frame
    DICOM (``multi_frame``) give the clip's header for every frame: the outputs then
    reference frame ``i + 1`` of it. ``standard`` defaults to
    :data:`fetalseg.standards.DEFAULT_STANDARD`.
    """
    from fetalseg import standards
    from fetalseg.result import ClipResult

    if not results or len(results) != len(images):
        raise InputError(f"{len(results)} results for {len(images)} frames: nothing to report")
    headers = list(headers) if headers is not None else [None] * len(results)
    measurements = [r.measurement for r in results]
    clip = ClipResult(_indexed(results), results[0].pixel_size_mm) if len(results) > 1 else None
    key = clip.key_frame if clip is not None else None  # the clip summary's own frame
    k = key if key is not None else select_frame(measurements, [r.verdict for r in results])
    frame = exam_frame(
        results[k],
        images[k],
        model_name,
        source_name=source_name,
        source_dataset=headers[k],
        frame_number=k + 1 if multi_frame else None,
    )
    return Exam(
        frame,
        standards.get_standard(standard or standards.DEFAULT_STANDARD).name,
        known_ga=ga,
        frame_measurements=measurements,
        selected_index=k,
        frame_verdicts=[r.verdict for r in results],
        clip_verdict=None if clip is None else clip.verdict,
        clip_reasons=[] if clip is None else clip.quality_reasons(),
    )


def _indexed(results: Sequence[FrameResult]) -> list[FrameResult]:
    """``results`` with ``index`` = their position (a clip's key frame is an index)."""
    import dataclasses

    return [r if r.index == i else dataclasses.replace(r, index=i) for i, r in enumerate(results)]


def dicom_datasets(exam: Exam) -> dict[str, Dataset]:
    """The exam's DICOM objects by file name: ``sr.dcm`` always, ``seg.dcm`` when a head was
    segmented, ``sc.dcm`` (the Secondary Capture both reference) when the frame is not from
    a DICOM file."""
    from fetalseg.outputs.dicom_seg import build_seg, source_image
    from fetalseg.outputs.dicom_sr import build_sr

    source = source_image(exam.selected)
    out: dict[str, Dataset] = {}
    if source.created:
        out["sc.dcm"] = source.dataset
    if exam.selected.mask.any():
        out["seg.dcm"] = build_seg(exam.selected, source)
    out["sr.dcm"] = build_sr(exam, source)
    return out


def write_dicom(exam: Exam, folder: str | Path) -> list[Path]:
    """Write :func:`dicom_datasets` into ``folder`` (made if missing; the caller owns it, e.g.
    a folder from :func:`fetalseg.destination.output_dir`); the paths written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, ds in dicom_datasets(exam).items():
        path = folder / name
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def _subfolder(folder: str | Path, name: str) -> Path:
    stem = Path(name).stem or "image"
    path = Path(folder) / stem
    i = 2
    while path.exists():
        path = Path(folder) / f"{stem}-{i}"
        i += 1
    return path


def write_frame_dicom(
    folder: str | Path,
    path: str | Path,
    image: np.ndarray,
    result: FrameResult,
    model_name: str,
) -> list[Path]:
    """``fetalseg predict --dicom-out``: the SR and SEG (and SC) of one measured file, in
    ``folder/<file stem>/``; the file's DICOM header, if it is DICOM, is re-read so the
    outputs stay in its study."""
    exam = exam_from_results(
        [result], [image], model_name, headers=[read_header(path)], source_name=Path(path).name
    )
    return write_dicom(exam, _subfolder(folder, Path(path).name))


def write_clip_dicom(
    folder: str | Path, path: str | Path, clip: ClipResult, model_name: str
) -> list[Path]:
    """``fetalseg predict CLIP --dicom-out``: the SR (with the spread over the frames) and the
    SEG of the clip's reported frame, in ``folder/<clip stem>/``. The frame's pixels are read
    again from the clip (a clip result keeps masks, not images)."""
    from fetalseg.inference.video import open_clip

    frames, _, _, dicom = open_clip(path)
    images = list(frames)
    if len(images) != len(clip.frames):
        raise InputError(f"{path}: {len(images)} frames now, {len(clip.frames)} when measured")
    header = read_header(path) if dicom is not None else None
    exam = exam_from_results(
        clip.frames,
        images,
        model_name,
        headers=[header] * len(images),
        multi_frame=header is not None,
        source_name=Path(path).name,
    )
    return write_dicom(exam, _subfolder(folder, Path(path).name))


@contextlib.contextmanager
def dicom_folder(path: str | Path | None, overwrite: bool = False) -> Iterator[Path | None]:
    """``--dicom-out``'s folder under :func:`fetalseg.destination.output_dir` (refused
    when it holds earlier results, unless ``overwrite``; swapped in when the run finished);
    ``None`` when no ``path`` was given."""
    from fetalseg.destination import output_dir

    if path is None:
        yield None
        return
    with output_dir(path, overwrite) as tmp:
        yield tmp


def frame_dicom_writer(
    folder: Path | None, predictor: Any
) -> Callable[[Path, np.ndarray, FrameResult], list[Path]] | None:
    """``on_frame(path, image, result)`` writing :func:`write_frame_dicom` into ``folder``
    (``None`` without a folder): what ``fetalseg predict --dicom-out`` calls per file."""
    if folder is None:
        return None
    name = model_label(predictor)

    def on_frame(path: Path, image: np.ndarray, result: FrameResult) -> list[Path]:
        return write_frame_dicom(folder, path, image, result, name)

    return on_frame
