"""DICOM Segmentation (SEG) of the head mask, and the image it references.

A SEG must reference the image it segments. For a DICOM input that is the input itself (same
study, a new series); for a PNG/JPEG input a Secondary Capture image of the frame is made first
(:func:`secondary_capture`), in a new study with clearly synthetic identifiers
(:data:`SYNTHETIC_PATIENT_NAME`), so the SEG references something real that can be stored
beside it.

Built with highdicom (Herrmann et al., "Highdicom: a Python library for standardized encoding of
image annotations and machine learning model outputs in pathology and radiology", J. Digit.
Imaging 35 (2022) 1719-1737).
"""

from __future__ import annotations

import copy
import datetime
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from fetalseg import __version__
from fetalseg.outputs.exam import ExamFrame

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

__all__ = [
    "MANUFACTURER",
    "SYNTHETIC_PATIENT_ID",
    "SYNTHETIC_PATIENT_NAME",
    "SourceImage",
    "build_seg",
    "secondary_capture",
    "source_image",
]

MANUFACTURER = "fetalseg"
#: Patient identifiers of outputs made from a non-DICOM image: nobody's, and saying so.
SYNTHETIC_PATIENT_NAME = "ANONYMOUS^FETALSEG"
SYNTHETIC_PATIENT_ID = "FETALSEG-SYNTHETIC"
#: Series numbers of what fetalseg writes (a source's own series keep theirs).
SERIES_SC, SERIES_SEG, SERIES_SR = 9001, 9002, 9003

# Patient and study attributes of Type 2 (must be present, may be empty) in every output.
_TYPE2_IDENTITY = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyDate",
    "StudyTime",
    "StudyID",
    "AccessionNumber",
    "ReferringPhysicianName",
)


@dataclass
class SourceImage:
    """The image the outputs reference: a header (no pixel data needed) and, when fetalseg made
    it (a Secondary Capture of a non-DICOM frame), the dataset to store beside them.

    ``notes``: what had to be filled in (e.g. a source without a Study Instance UID).
    """

    dataset: Dataset
    created: bool
    notes: list[str] = field(default_factory=list)


def _now() -> datetime.datetime:
    return datetime.datetime.now().replace(microsecond=0)


def secondary_capture(frame: ExamFrame) -> Dataset:
    """A Secondary Capture image of ``frame.image`` in a new study, with synthetic patient
    identifiers; its ``PixelSpacing`` (mm, ``[row, column]``) is the frame's pixel size when
    known. Patient orientation is left empty (Type 2): an ultrasound frame does not say it."""
    import highdicom as hd
    from pydicom.uid import generate_uid

    now = _now()
    pixel_spacing = None
    if frame.pixel_size_mm is not None:
        sx, sy = (
            frame.pixel_size_mm
            if isinstance(frame.pixel_size_mm, tuple)
            else (frame.pixel_size_mm, frame.pixel_size_mm)
        )
        pixel_spacing = (float(sy), float(sx))
    sc = hd.sc.SCImage(
        pixel_array=np.ascontiguousarray(frame.image),
        photometric_interpretation="MONOCHROME2",
        bits_allocated=8,
        coordinate_system="PATIENT",
        study_instance_uid=generate_uid(),
        series_instance_uid=generate_uid(),
        series_number=SERIES_SC,
        sop_instance_uid=generate_uid(),
        instance_number=1,
        manufacturer=MANUFACTURER,
        patient_id=SYNTHETIC_PATIENT_ID,
        patient_name=SYNTHETIC_PATIENT_NAME,
        patient_birth_date="",
        patient_sex="",
        accession_number="",
        study_id="FETALSEG",
        study_date=now.date(),
        study_time=now.time(),
        referring_physician_name="",
        pixel_spacing=pixel_spacing,
        patient_orientation=("A", "F"),  # required by highdicom; emptied below (unknown)
    )
    sc.PatientOrientation = None
    sc.Laterality = None  # Type 2C, empty: dciodvfy cannot tell a head is unpaired (absent: Error)
    sc.SeriesDescription = "fetalseg: the measured frame"
    sc.ImageComments = f"Secondary capture of {frame.source_name[:40]} (not a DICOM file)"
    return sc


def source_image(frame: ExamFrame) -> SourceImage:
    """The image the outputs reference: a copy of the frame's DICOM header (pixel data left
    out) with empty Type 2 patient/study attributes added where the file lacks them, or a new
    Secondary Capture (:func:`secondary_capture`) when the frame is not from DICOM.

    A DICOM source without a Study or Series Instance UID (not a valid file, but seen) gets
    generated ones, said in :attr:`SourceImage.notes`.
    """
    from pydicom.uid import generate_uid

    if frame.source_dataset is None:
        return SourceImage(secondary_capture(frame), created=True)
    ds = copy.deepcopy(frame.source_dataset)
    for keyword in ("PixelData", "FloatPixelData", "DoubleFloatPixelData"):
        if keyword in ds:
            delattr(ds, keyword)
    notes = []
    for keyword in _TYPE2_IDENTITY:
        if keyword not in ds:
            setattr(ds, keyword, "")
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID"):
        if not str(getattr(ds, keyword, "") or ""):
            setattr(ds, keyword, generate_uid())
            notes.append(f"the source has no {keyword}: a new one was generated")
    return SourceImage(ds, created=False, notes=notes)


def _algorithm(frame: ExamFrame):  # -> hd.AlgorithmIdentificationSequence
    import highdicom as hd
    from pydicom.sr.codedict import codes

    return hd.AlgorithmIdentificationSequence(
        name=frame.model_name[:64],
        family=codes.cid7162.ArtificialIntelligence,
        version=__version__,
        source=MANUFACTURER,
    )


def build_seg(frame: ExamFrame, source: SourceImage) -> Dataset:
    """A binary SEG with one segment, "Fetal head" (SNOMED CT 69536005 "Head", category
    91723000 "Anatomical Structure"), made automatically by the model, referencing ``source``.

    For a multi-frame source only ``frame.frame_number`` is segmented (the SEG frame references
    that source frame). An empty mask (no head found) is refused (``ValueError``): there is
    nothing to segment.
    """
    import highdicom as hd
    from pydicom.sr.codedict import codes
    from pydicom.uid import UltrasoundImageStorage, generate_uid

    ds = source.dataset
    mask = frame.mask.astype(bool)
    if not mask.any():
        raise ValueError(f"{frame.source_name}: the head mask is empty: no SEG")
    n_frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    if n_frames > 1:
        if frame.frame_number is None or not 1 <= frame.frame_number <= n_frames:
            raise ValueError(f"frame_number {frame.frame_number} is not a frame of {n_frames}")
        # highdicom segments a source without a frame of reference (an ultrasound clip has
        # none) only when it is a single-frame image: the SEG is made against the header as
        # one, then its references are pointed back at the clip and the frame segmented.
        sop_class = ds.SOPClassUID
        ds = copy.deepcopy(ds)  # a shallow copy shares the elements: the source would change
        ds.SOPClassUID = UltrasoundImageStorage
        for keyword in ("NumberOfFrames", "FrameIncrementPointer", "FrameTime"):
            if keyword in ds:
                delattr(ds, keyword)
    segment = hd.seg.SegmentDescription(
        segment_number=1,
        segment_label="Fetal head",
        segmented_property_category=codes.SCT.AnatomicalStructure,
        segmented_property_type=codes.SCT.Head,
        algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
        algorithm_identification=_algorithm(frame),
        tracking_id="fetal head",
        tracking_uid=generate_uid(),
    )
    seg = hd.seg.Segmentation(
        source_images=[ds],
        pixel_array=mask,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=[segment],
        series_instance_uid=generate_uid(),
        series_number=SERIES_SEG,
        sop_instance_uid=generate_uid(),
        instance_number=1,
        manufacturer=MANUFACTURER,
        manufacturer_model_name=frame.model_name[:64],
        software_versions=__version__,
        device_serial_number="none",
        content_description="Fetal head mask",
        content_label="FETAL_HEAD",
        series_description="fetalseg: fetal head segmentation",
    )
    if "FrameOfReferenceUID" not in seg:
        seg.PatientOrientation = None  # Type 2C, unknown for an ultrasound frame
    if n_frames > 1:
        for series in seg.ReferencedSeriesSequence:
            for ref in series.ReferencedInstanceSequence:
                ref.ReferencedSOPClassUID = sop_class
        for item in seg.PerFrameFunctionalGroupsSequence:
            for derivation in item.DerivationImageSequence:
                for ref in derivation.SourceImageSequence:
                    ref.ReferencedSOPClassUID = sop_class
                    ref.ReferencedFrameNumber = frame.frame_number
    return seg
