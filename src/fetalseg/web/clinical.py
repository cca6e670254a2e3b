"""The page's clinical part: the GA fields, the ``clinical`` block of ``/api/measure`` (GA from
HC, centiles, z-scores, the standard, growth charts, the verdict), and the exam of an upload
for the report and DICOM downloads (``/api/report``, ``/api/dicom``).

Everything is computed by :mod:`fetalseg.outputs` and :mod:`fetalseg.standards`, the code the
``fetalseg report`` command and the API use; nothing clinical is decided here.
"""

from __future__ import annotations

import base64
import io
import zipfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fetalseg.errors import InputError
from fetalseg.outputs.exam import MEASURES, Exam, KnownGA

if TYPE_CHECKING:
    from fetalseg.web.measure import Measurer
    from fetalseg.web.uploads import Upload

__all__ = ["STANDARD_NAMES", "ClinicalFields", "clinical_json", "dicom_zip", "upload_exam"]

#: The page's standard selector: value -> :data:`fetalseg.standards.STANDARDS` name.
STANDARD_NAMES = {"intergrowth": "intergrowth21", "who": "who2017", "hadlock": "hadlock"}


@dataclass(frozen=True)
class ClinicalFields:
    """The GA and growth standard a request gave (``known``: ``None`` without a GA)."""

    known: KnownGA | None
    standard: str

    @classmethod
    def parse(
        cls,
        ga: str | None = None,
        lmp: str | None = None,
        exam_date: str | None = None,
        standard: str | None = None,
    ) -> ClinicalFields:
        """The form fields ``ga`` ("20+3"), ``lmp`` and ``exam_date`` (YYYY-MM-DD) and
        ``standard`` (``intergrowth``, ``who``, ``hadlock`` or a full standard name); empty
        fields are absent. Bad values -> :class:`InputError` (422)."""
        from fetalseg import standards
        from fetalseg.outputs.build import known_ga

        def text(v: str | None) -> str | None:
            return v.strip()[:40] if v is not None and v.strip() else None

        name = text(standard) or "intergrowth"
        name = STANDARD_NAMES.get(name.lower(), name)
        std = standards.get_standard(name).name
        known = known_ga(text(ga), lmp=text(lmp), exam_date=text(exam_date))
        return cls(known, std)


def _svg_uri(svg: str | None) -> str | None:
    if svg is None:
        return None
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")


def clinical_json(
    head: dict[str, Any], fields: ClinicalFields, quality: str | None
) -> dict[str, Any]:
    """The ``clinical`` block for the numbers shown (``head``: a frame's or a clip summary's
    ``hc_mm``/``bpd_mm``/``ofd_mm``): the standard used, the known GA, GA from HC, each
    measure's centile (``centile_text`` formatted by
    :func:`fetalseg.standards.format_centile`), z-score, status and note, its growth chart
    (an SVG data URI), the cephalic index, and the quality ``verdict``."""
    from fetalseg import standards
    from fetalseg.outputs.clinical import assess_values
    from fetalseg.outputs.report import growth_chart

    std = standards.get_standard(fields.standard)
    values = {m: head.get(f"{m}_mm") for m in MEASURES}
    known = fields.known
    a = assess_values(values, None if known is None else known.weeks, std.name)
    centiles: dict[str, Any] = {}
    for measure, r in a.centiles.items():
        centiles[measure] = {
            "value_mm": r.value_mm,
            "centile": r.centile,
            "centile_text": None if r.centile is None else standards.format_centile(r.centile),
            "z": r.z,
            "status": r.status.value,
            "message": r.message,
            "convention_note": r.convention_note,
            "chart_svg": _svg_uri(growth_chart(std.name, measure, r.value_mm, r.ga_weeks, r)),
        }
    g = a.ga_estimate
    return {
        "standard": std.name,
        "standard_title": std.title,
        "known_ga": None
        if known is None
        else {"weeks": known.weeks, "text": standards.format_ga(known.weeks), "how": known.how},
        "ga_estimate": None
        if g is None
        else {
            "weeks": g.weeks,
            "text": None if g.weeks is None else standards.format_ga(g.weeks),
            "plus_minus_days": g.plus_minus_days,
            "standard": g.standard,
            "status": g.status.value,
            "message": g.message,
        },
        "centiles": centiles,
        "cephalic_index": None
        if a.cephalic_index is None
        else {
            "value": a.cephalic_index.value,
            "status": a.cephalic_index.status.value,
            "message": a.cephalic_index.message,
        },
        "verdict": quality,
    }


def _header(data: bytes) -> Any:
    """The DICOM header of an upload's bytes (``None`` when it is not DICOM)."""
    import pydicom

    from fetalseg.data.dicom import is_dicom

    if not is_dicom(data):
        return None
    try:
        return pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
    except Exception as e:  # it decoded as an image just before: only a corrupt header
        raise InputError(f"not a readable DICOM header ({type(e).__name__})") from None


def upload_exam(
    measurer: Measurer,
    upload: Upload,
    data: bytes,
    user_pixel_size_mm: float | None,
    fields: ClinicalFields,
) -> Exam:
    """Measure every frame of ``upload`` with the shared model and make its exam (the frame
    nearest the median HC, the clip's spread, the known GA) for the report and DICOM files."""
    from fetalseg.outputs.build import exam_from_results, model_label
    from fetalseg.web.measure import resolve_pixel_size, result_of

    size, source, note = resolve_pixel_size(upload, user_pixel_size_mm)
    results = []
    for i, image in enumerate(upload.frames):
        pred, _ = measurer.predict(image, size)
        r = result_of(pred, size, index=i, name=upload.name)
        r.pixel_size_source, r.note = (source if size is not None else None), note
        results.append(r)
    header = _header(data)
    multi = header is not None and upload.is_clip
    return exam_from_results(
        results,
        list(upload.frames),
        model_label(measurer.predictor),
        standard=fields.standard,
        ga=fields.known,
        source_name=upload.name,
        headers=[header] * len(results),
        multi_frame=multi,
    )


def dicom_zip(exam: Exam) -> bytes:
    """The exam's SR, SEG (and SC) (:func:`fetalseg.outputs.build.dicom_datasets`) as a ZIP."""
    from fetalseg.outputs.build import dicom_datasets

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, ds in dicom_datasets(exam).items():
            part = io.BytesIO()
            ds.save_as(part, enforce_file_format=True)
            z.writestr(name, part.getvalue())
    return buf.getvalue()
