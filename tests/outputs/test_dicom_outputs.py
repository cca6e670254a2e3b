"""The SR and SEG read back with pydicom/highdicom, and checked by dciodvfy (dicom3tools)."""

from __future__ import annotations

import copy
import io
import shutil
import subprocess

import numpy as np
import pydicom
import pytest
from outputs_helpers import frames, make_frame

from fetalseg.outputs import Exam
from fetalseg.outputs.build import dicom_datasets, write_dicom
from fetalseg.outputs.clinical import assess_exam
from fetalseg.outputs.dicom_seg import SYNTHETIC_PATIENT_ID, build_seg, source_image
from fetalseg.outputs.dicom_sr import PRIVATE_SCHEME, build_sr

LOINC = {"hc": "11984-2", "bpd": "11820-8", "ofd": "11851-3"}


def reread(ds) -> pydicom.Dataset:
    """Through bytes, as an archive would get it."""
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return pydicom.dcmread(io.BytesIO(buf.getvalue()))


def items(ds):
    """Every content item of an SR, depth first."""
    for item in getattr(ds, "ContentSequence", []):
        yield item
        yield from items(item)


def nums(sr, code: str) -> list:
    return [
        i
        for i in items(sr)
        if i.ValueType == "NUM" and i.ConceptNameCodeSequence[0].CodeValue == code
    ]


def test_sr_of_a_png_frame(png_exam):
    datasets = {k: reread(v) for k, v in dicom_datasets(png_exam).items()}
    sr, sc = datasets["sr.dcm"], datasets["sc.dcm"]
    assert sr.SOPClassUID.name == "Comprehensive SR Storage"
    assert sr.ConceptNameCodeSequence[0].CodeValue == "125000"  # OB-GYN US Procedure Report
    assert sr.ContentTemplateSequence[0].TemplateIdentifier == "5000"
    assert (sr.CompletionFlag, sr.VerificationFlag, sr.PreliminaryFlag) == (
        "COMPLETE",
        "UNVERIFIED",
        "PRELIMINARY",
    )
    m = png_exam.selected.measurement
    for measure, code in LOINC.items():
        (item, *_) = nums(sr, code)
        assert item.ConceptNameCodeSequence[0].CodingSchemeDesignator == "LN"
        mv = item.MeasuredValueSequence[0]
        assert float(mv.NumericValue) == pytest.approx(getattr(m, f"{measure}_mm"), abs=0.005)
        unit = mv.MeasurementUnitsCodeSequence[0]
        assert (unit.CodeValue, unit.CodingSchemeDesignator) == ("mm", "UCUM")
    # GA from HC (days) inferred from the INTERGROWTH-21st equation, and the known GA
    a = assess_exam(png_exam)
    ga_items = nums(sr, "18185-9")
    assert any(
        float(i.MeasuredValueSequence[0].NumericValue)
        == pytest.approx(a.ga_estimate.weeks * 7, abs=0.05)
        for i in ga_items
    )
    # centile (%) and z-score of each measure, by the growth table used
    ranks = nums(sr, "125012")
    assert len(ranks) == 3
    assert {
        r.MeasuredValueSequence[0].MeasurementUnitsCodeSequence[0].CodeValue for r in ranks
    } == {"%"}
    hc_rank = float(ranks[0].MeasuredValueSequence[0].NumericValue)
    assert hc_rank == pytest.approx(a.centiles["hc"].centile, abs=1e-4)
    assert len(nums(sr, "125013")) == 3
    tables = [
        i
        for i in items(sr)
        if i.ValueType == "CODE"
        and i.ConceptCodeSequence[0].CodingSchemeDesignator == PRIVATE_SCHEME
    ]
    assert any("INTERGROWTH-21st" in t.ConceptCodeSequence[0].CodeMeaning for t in tables)
    assert sr.CodingSchemeIdentificationSequence[0].CodingSchemeDesignator == PRIVATE_SCHEME
    # references the secondary capture it was made for, in its (synthetic) study
    images = [i for i in items(sr) if i.ValueType == "IMAGE"]
    assert images and all(
        i.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == sc.SOPInstanceUID for i in images
    )
    evidence = sr.CurrentRequestedProcedureEvidenceSequence[0]
    assert (
        evidence.ReferencedSeriesSequence[0].ReferencedSOPSequence[0].ReferencedSOPInstanceUID
        == sc.SOPInstanceUID
    )
    assert sr.StudyInstanceUID == sc.StudyInstanceUID
    assert sr.PatientID == sc.PatientID == SYNTHETIC_PATIENT_ID
    assert "FETALSEG" in str(sr.PatientName)


def test_sr_and_seg_stay_in_the_source_study_in_new_series(dicom_exam):
    src = dicom_exam.selected.source_dataset
    datasets = {k: reread(v) for k, v in dicom_datasets(dicom_exam).items()}
    assert set(datasets) == {"sr.dcm", "seg.dcm"}  # no secondary capture for a DICOM source
    for ds in datasets.values():
        assert ds.StudyInstanceUID == src.StudyInstanceUID
        assert ds.SeriesInstanceUID != src.SeriesInstanceUID
        assert (str(ds.PatientName), ds.PatientID) == ("Test^Patient", "P-0001")
    sr, seg = datasets["sr.dcm"], datasets["seg.dcm"]
    assert sr.SeriesInstanceUID != seg.SeriesInstanceUID
    refs = {
        i.ReferencedSOPSequence[0].ReferencedSOPInstanceUID
        for i in items(sr)
        if i.ValueType == "IMAGE"
    }
    assert refs == {src.SOPInstanceUID}
    assert not nums(sr, "125012")  # no known GA: no centiles


def test_seg_reads_back_with_highdicom(dicom_exam):
    import highdicom as hd

    src = dicom_exam.selected.source_dataset
    seg = hd.seg.segread(io.BytesIO(_bytes(dicom_datasets(dicom_exam)["seg.dcm"])))
    (desc,) = seg.SegmentSequence
    assert desc.SegmentLabel == "Fetal head"
    assert desc.SegmentedPropertyTypeCodeSequence[0].CodeValue == "69536005"  # SCT Head
    assert desc.SegmentAlgorithmType == "AUTOMATIC"
    ref = seg.ReferencedSeriesSequence[0].ReferencedInstanceSequence[0]
    assert ref.ReferencedSOPInstanceUID == src.SOPInstanceUID
    mask = seg.get_pixels_by_source_instance(
        source_sop_instance_uids=[src.SOPInstanceUID], segment_numbers=[1]
    )[0, :, :, 0]
    assert np.array_equal(mask.astype(bool), dicom_exam.selected.mask.astype(bool))


def test_clip_outputs_reference_the_reported_frame_and_leave_the_source_alone(clip_exam):
    src = clip_exam.selected.source_dataset
    before = copy.deepcopy(src)
    source = source_image(clip_exam.selected)
    seg = reread(build_seg(clip_exam.selected, source))
    sr = reread(build_sr(clip_exam, source))
    assert source.dataset.SOPClassUID == before.SOPClassUID  # multi-frame US, unchanged
    assert int(source.dataset.NumberOfFrames) == 3
    assert src == before
    k = clip_exam.selected.frame_number
    derivation = seg.PerFrameFunctionalGroupsSequence[0].DerivationImageSequence[0]
    assert derivation.SourceImageSequence[0].ReferencedFrameNumber == k
    assert derivation.SourceImageSequence[0].ReferencedSOPClassUID == before.SOPClassUID
    images = [i for i in items(sr) if i.ValueType == "IMAGE"]
    assert {int(i.ReferencedSOPSequence[0].ReferencedFrameNumber) for i in images} == {k}
    medians = [
        i
        for i in items(sr)
        if i.ValueType == "NUM"
        and any(
            c.ConceptCodeSequence[0].CodeValue == "373099004"
            for c in getattr(i, "ContentSequence", [])
            if c.ValueType == "CODE"
        )
    ]
    assert len(medians) == 3  # HC, BPD, OFD medians over the clip's frames
    s = clip_exam.spread("hc")
    assert float(medians[0].MeasuredValueSequence[0].NumericValue) == pytest.approx(
        s.median, abs=0.005
    )


def test_no_head_gives_an_sr_saying_so_and_no_seg():
    ((image, _),) = frames(1)
    frame = make_frame(image, np.zeros_like(image))
    datasets = dicom_datasets(Exam(frame, "intergrowth21"))
    assert "seg.dcm" not in datasets
    comments = [i.TextValue for i in items(datasets["sr.dcm"]) if i.ValueType == "TEXT"]
    assert any("No head" in c or "no head" in c for c in comments), comments
    with pytest.raises(ValueError, match="empty"):
        build_seg(frame, source_image(frame))


def _bytes(ds) -> bytes:
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


DCIODVFY = shutil.which("dciodvfy")


@pytest.mark.skipif(
    DCIODVFY is None, reason="dciodvfy not on PATH (Debian: apt-get install dicom3tools)"
)
@pytest.mark.parametrize("which", ["png_exam", "dicom_exam", "clip_exam"])
def test_dciodvfy_finds_no_error(which, request, tmp_path):
    """dicom3tools' IOD checker: every module and attribute the SOP class requires, value
    representations, multiplicities, enumerated values, and the references' consistency."""
    exam = request.getfixturevalue(which)
    paths = write_dicom(exam, tmp_path)
    assert {p.name for p in paths} >= {"sr.dcm", "seg.dcm"}
    for path in paths:
        r = subprocess.run([DCIODVFY, str(path)], capture_output=True, text=True, timeout=60)
        lines = (r.stdout + r.stderr).splitlines()
        errors = [line for line in lines if line.startswith("Error")]
        assert not errors, f"{path.name}: " + "\n".join(errors)
