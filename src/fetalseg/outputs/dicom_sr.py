"""DICOM Structured Report of the fetal head biometry: DICOM PS3.16 TID 5000 "OB-GYN Ultrasound
Procedure Report", with its fetal biometry section (TID 5005) of one biometry group (TID 5008)
per measure.

highdicom has no class for TID 5000, so the content tree is built from its content items in a
Comprehensive SR (which allows the spatial coordinates of the fitted ellipse):

.. code-block:: text

    CONTAINER (125000, DCM, "OB-GYN Ultrasound Procedure Report")        TID 5000
      HAS CONCEPT MOD  Language of Content Item and Descendants          TID 1204
      HAS OBS CONTEXT  Observer Type = Device, Device Observer UID/Name   TID 1002/1004
      CONTAINS TEXT    (121106, DCM, "Comment") = the quality verdict      when assessed
      CONTAINS CONTAINER (121111, DCM, "Summary")                        TID 5002, known GA only
        CONTAINS CONTAINER (125008, DCM, "Fetus Summary")                TID 5003
          CONTAINS NUM (11885-1, LN, "Gestational Age by LMP") | (18185-9, LN, "Gestational Age")
      CONTAINS CONTAINER (125002, DCM, "Fetal Biometry")                 TID 5005
        CONTAINS CONTAINER (125005, DCM, "Biometry Group")               TID 5008, per measure
          CONTAINS NUM (11984-2, LN, "Head Circumference") mm            TID 300 (HC)
            HAS CONCEPT MOD  Measurement Method (private code: how it was measured)
            HAS CONCEPT MOD  Algorithm Name / Version                    TID 4019
            INFERRED FROM    SCOORD ELLIPSE (HC) | POLYLINE (BPD, OFD axis), SELECTED FROM IMAGE
          CONTAINS NUM (11984-2, ...) mm, Derivation = Median            clips: over the frames
          CONTAINS NUM (18185-9, LN, "Gestational Age") d                HC group only
            INFERRED FROM CODE (121420, DCM, "Equation") = the GA equation
            HAS PROPERTIES   NUM (121417, DCM, "2 Sigma deviation of population") d: the
                             estimate's +- days (a 95 % band, i.e. 1.96 or 2 SD)
          CONTAINS NUM (125012, DCM, "Growth Percentile Rank") %         known GA only
            INFERRED FROM CODE (121424, DCM, "Table of Values") = the growth standard
          CONTAINS NUM (125013, DCM, "Growth Z-score") 1                 known GA only
            INFERRED FROM CODE (121424, DCM, "Table of Values") = the growth standard

Measures: LOINC 11984-2 (HC), 11820-8 (BPD), 11851-3 (OFD) of DICOM CID 12005 "Fetal Biometry
Measurement"; units UCUM ``mm``. The GA equation is DICOM's code where DICOM has one (CID 12013
"Gestational Age Equation/Table": 11932-1 "HC, Hadlock 1984"); INTERGROWTH-21st's dating and
the INTERGROWTH-21st and WHO 2017 growth charts are in neither CID 12013 nor CID 12015 "Fetal
Growth Equation/Table", so they get private codes (coding scheme ``99FETALSEG``, declared in the
Coding Scheme Identification Sequence) whose meanings name the publications. The report is
marked PRELIMINARY and UNVERIFIED: an automatic measurement, for a clinician to confirm.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from fetalseg import __version__
from fetalseg.outputs.clinical import Assessment, assess_exam
from fetalseg.outputs.dicom_seg import MANUFACTURER, SERIES_SR, SourceImage
from fetalseg.outputs.exam import MEASURE_NAMES, MEASURES, Exam, measure_value

if TYPE_CHECKING:
    from pydicom.dataset import Dataset
    from pydicom.sr.coding import Code

__all__ = ["PRIVATE_SCHEME", "build_sr", "equation_code", "growth_table_code", "measure_code"]

PRIVATE_SCHEME = "99FETALSEG"

#: Private codes (value <= 16 characters, DICOM's SH) of how each measure is taken.
_METHODS = {
    "hc": ("ELLIPSE-PERIM", "Perimeter of the ellipse fitted to the head outline"),
    "bpd": ("ELLIPSE-MINOR-OO", "Minor axis of the fitted ellipse, outer-to-outer"),
    "ofd": ("ELLIPSE-MAJOR-OO", "Major axis of the fitted ellipse, outer-to-outer"),
}


def _code(value: str, scheme: str, meaning: str) -> Code:
    from pydicom.sr.coding import Code

    return Code(value, scheme, meaning)


def measure_code(measure: str) -> Code:
    """LOINC code of ``hc``, ``bpd`` or ``ofd`` (DICOM CID 12005)."""
    from pydicom.sr.codedict import codes

    return {
        "hc": codes.LN.HeadCircumference,  # 11984-2
        "bpd": codes.LN.BiparietalDiameter,  # 11820-8
        "ofd": codes.LN.OccipitalFrontalDiameter,  # 11851-3
    }[measure]


#: GA-from-HC equations: DICOM CID 12013's code where it has one, else a private code.
_EQUATIONS = {
    "hadlock": ("11932-1", "LN", "HC, Hadlock 1984"),
    "intergrowth21": ("IG21-GA-HC", PRIVATE_SCHEME, "HC, INTERGROWTH-21st, Papageorghiou 2016"),
}
#: Measure-by-GA growth standards: DICOM CID 12015 has none for these, so private codes.
_GROWTH_TABLES = {
    "intergrowth21": ("IG21", "INTERGROWTH-21st, Papageorghiou 2014"),
    "who2017": ("WHO17", "WHO fetal growth charts, Kiserud 2017"),
}


def equation_code(ga_standard: str) -> Code:
    """The GA-from-HC equation of ``ga_standard`` (a :data:`fetalseg.standards.STANDARDS`
    name with a dating formula): (11932-1, LN, "HC, Hadlock 1984") from DICOM CID 12013, or a
    private code for INTERGROWTH-21st (not in CID 12013)."""
    return _code(*_EQUATIONS[ga_standard])


def growth_table_code(standard: str, measure: str) -> Code:
    """The ``measure``-by-GA chart of ``standard`` as a private code naming the publication
    (DICOM CID 12015 lists Hadlock, Chitty, Merz... but neither INTERGROWTH-21st nor WHO
    2017)."""
    prefix, title = _GROWTH_TABLES[standard]
    name = MEASURE_NAMES[measure]
    return _code(f"{prefix}-{name}-GA", PRIVATE_SCHEME, f"{name} by GA, {title}")


def _r(value: float, digits: int) -> float:
    """Rounded for the report: DICOM's DS holds 16 characters, and float noise says nothing."""
    return round(float(value), digits)


def _num(name: Code, value: float, unit: Code, relationship: str = "CONTAINS"):
    import highdicom as hd

    return hd.sr.NumContentItem(
        name=name, value=float(value), unit=unit, relationship_type=relationship
    )


def _container(name: Code, template: str | None, relationship: str | None = "CONTAINS"):
    import highdicom as hd

    return hd.sr.ContainerContentItem(
        name=name, template_id=template, relationship_type=relationship
    )


def _append(parent: Any, *items: Any) -> None:
    import highdicom as hd

    if "ContentSequence" not in parent:
        parent.ContentSequence = hd.sr.ContentSequence()
    for item in items:
        parent.ContentSequence.append(item)


def _axis_points(exam: Exam, measure: str) -> np.ndarray:
    """``(K, 2)`` (column, row) pixel coordinates of what ``measure`` was measured on: the
    ellipse's four axis end points (major first, as DICOM's ELLIPSE wants) for HC, the end
    points of the minor (BPD) or major (OFD) axis."""
    m = exam.selected.measurement
    e = m.ellipse_px  # type: ignore[union-attr]
    c, s = math.cos(e.angle_rad), math.sin(e.angle_rad)
    major = [
        (e.center_x - e.a * c, e.center_y - e.a * s),
        (e.center_x + e.a * c, e.center_y + e.a * s),
    ]
    minor = [
        (e.center_x + e.b * s, e.center_y - e.b * c),
        (e.center_x - e.b * s, e.center_y + e.b * c),
    ]
    points = {"hc": major + minor, "bpd": minor, "ofd": major}[measure]
    # DICOM image coordinates put the top-left pixel's centre at (0.5, 0.5); ours at (0, 0)
    return np.asarray(points, np.float32) + 0.5


def _measurement_item(exam: Exam, measure: str, source: SourceImage):
    import highdicom as hd
    from pydicom.sr.codedict import codes

    frame = exam.selected
    ref = source.dataset
    frames = [frame.frame_number] if frame.frame_number is not None else None
    image = hd.sr.SourceImageForRegion(ref.SOPClassUID, ref.SOPInstanceUID, frames)
    graphic = "ELLIPSE" if measure == "hc" else "POLYLINE"
    coords = hd.sr.CoordinatesForMeasurement(graphic, _axis_points(exam, measure), image)
    method_value, method_meaning = _METHODS[measure]
    method = _code(method_value, PRIVATE_SCHEME, method_meaning)
    return hd.sr.Measurement(
        name=measure_code(measure),
        value=_r(measure_value(frame.measurement, measure), 2),  # type: ignore[arg-type]
        unit=codes.UCUM.Millimeter,
        method=method,
        algorithm_id=hd.sr.AlgorithmIdentification(name=frame.model_name[:64], version=__version__),
        referenced_coordinates=[coords],
    )


def _biometry_group(exam: Exam, measure: str, source: SourceImage, assessment: Assessment):
    from pydicom.sr.codedict import codes

    group = _container(codes.DCM.BiometryGroup, "5008")
    _append(group, *_measurement_item(exam, measure, source))
    spread = exam.spread(measure)
    if exam.is_clip and spread is not None:
        median = _num(measure_code(measure), _r(spread.median, 2), codes.UCUM.Millimeter)
        derivation = _code("373099004", "SCT", "Median")
        import highdicom as hd

        _append(
            median,
            hd.sr.CodeContentItem(
                name=codes.DCM.Derivation, value=derivation, relationship_type="HAS CONCEPT MOD"
            ),
        )
        _append(group, median)
    ga = assessment.ga_estimate
    if measure == "hc" and ga is not None and ga.weeks is not None:
        import highdicom as hd

        item = _num(codes.LN.GestationalAge, _r(ga.weeks * 7.0, 1), _code("d", "UCUM", "days"))
        equation = hd.sr.CodeContentItem(
            name=codes.DCM.Equation,
            value=equation_code(ga.standard),
            relationship_type="INFERRED FROM",
        )
        _append(item, equation)
        if ga.plus_minus_days is not None:
            _append(
                item,
                _num(
                    _code("121417", "DCM", "2 Sigma deviation of population"),
                    _r(ga.plus_minus_days, 1),
                    _code("d", "UCUM", "days"),
                    "HAS PROPERTIES",
                ),
            )
        _append(group, item)
    result = assessment.centile(measure)
    if result is not None:
        import highdicom as hd

        table = growth_table_code(result.standard, measure)
        for name, value, unit in (
            # 4 decimals: a centile of 99.96 must not be stored as 100 (see format_centile)
            (codes.DCM.GrowthPercentileRank, _r(result.centile, 4), codes.UCUM.Percent),
            (codes.DCM.GrowthZScore, _r(result.z, 2), _code("1", "UCUM", "no units")),
        ):
            if value is None:
                continue
            item = _num(name, value, unit)
            _append(
                item,
                hd.sr.CodeContentItem(
                    name=codes.DCM.TableOfValues, value=table, relationship_type="INFERRED FROM"
                ),
            )
            _append(group, item)
    return group


def _known_ga_summary(exam: Exam):
    import highdicom as hd
    from pydicom.sr.codedict import codes

    known = exam.known_ga
    assert known is not None
    summary = _container(codes.DCM.Summary, "5002")
    fetus = _container(codes.DCM.FetusSummary, "5003")
    name = codes.LN.GestationalAgeByLMP if known.from_lmp else codes.LN.GestationalAge
    _append(fetus, _num(name, _r(known.weeks * 7.0, 1), _code("d", "UCUM", "days")))
    comment = hd.sr.TextContentItem(
        name=codes.DCM.Comment, value=f"Known GA: {known.how}"[:1024], relationship_type="CONTAINS"
    )
    _append(summary, fetus, comment)
    return summary


def _quality_comment(quality: Any):
    """The quality verdict and its reasons as a TEXT Comment (TID 5000 allows comments)."""
    import highdicom as hd
    from pydicom.sr.codedict import codes

    text = f"Automatic quality verdict: {quality.verdict}."
    if quality.reasons:
        text += " " + " ".join(f"[{r.code}] {r.message}" for r in quality.reasons)
    return hd.sr.TextContentItem(
        name=codes.DCM.Comment, value=text[:1024], relationship_type="CONTAINS"
    )


def _device_uid(model_name: str) -> str:
    """One UID per (software version, model): the "device" that measured."""
    from pydicom.uid import generate_uid

    return generate_uid(entropy_srcs=["fetalseg", __version__, model_name])


def build_sr(exam: Exam, source: SourceImage, assessment: Assessment | None = None) -> Dataset:
    """The Comprehensive SR of ``exam`` (see the module docstring), in ``source``'s study with
    its patient, in a new series; ``assessment`` defaults to :func:`assess_exam`."""
    import highdicom as hd
    from highdicom.coding_schemes import CodingSchemeIdentificationItem
    from pydicom.sr.codedict import codes
    from pydicom.uid import generate_uid

    if assessment is None:
        assessment = assess_exam(exam)
    frame = exam.selected
    root = _container(codes.DCM.OBGYNUltrasoundProcedureReport, "5000", relationship=None)
    language = hd.sr.LanguageOfContentItemAndDescendants(
        hd.sr.CodedConcept("en-US", "RFC5646", "English (United States)")
    )
    device = hd.sr.ObserverContext(
        observer_type=codes.cid270.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=_device_uid(frame.model_name),
            name=MANUFACTURER,
            manufacturer_name=MANUFACTURER,
            model_name=frame.model_name[:64],
        ),
    )
    _append(root, *language, *hd.sr.ObservationContext(observer_device_context=device))
    if exam.known_ga is not None:
        _append(root, _known_ga_summary(exam))
    if frame.quality is not None:
        _append(root, _quality_comment(frame.quality))
    if frame.found:
        section = _container(codes.DCM.FetalBiometry, "5005")
        for measure in MEASURES:
            if measure_value(frame.measurement, measure) is not None:
                _append(section, _biometry_group(exam, measure, source, assessment))
        _append(root, section)
    else:
        why = (
            "pixel size unknown: no measurement in mm"
            if frame.measurement is None
            else frame.measurement.message
        )
        _append(
            root,
            hd.sr.TextContentItem(
                name=codes.DCM.Comment, value=why[:1024], relationship_type="CONTAINS"
            ),
        )
    sr = hd.sr.ComprehensiveSR(
        evidence=[source.dataset],
        content=root,
        series_instance_uid=generate_uid(),
        series_number=SERIES_SR,
        sop_instance_uid=generate_uid(),
        instance_number=1,
        manufacturer=MANUFACTURER,
        is_complete=True,
        is_final=False,
        is_verified=False,
        series_description="fetalseg: fetal head biometry (automatic, unverified)",
        coding_schemes=[
            CodingSchemeIdentificationItem(
                designator=PRIVATE_SCHEME,
                name="fetalseg local codes",
                responsible_organization="fetalseg project",
            )
        ],
        manufacturer_model_name=frame.model_name[:64],
        software_versions=__version__,
    )
    return sr
