"""Clinical outputs of an exam: a self-contained HTML report, a DICOM Structured Report (TID
5000 OB-GYN Ultrasound Procedure Report) and a DICOM Segmentation of the head.

Input: :class:`ExamFrame` (one measured frame) inside an :class:`Exam` (the selected frame, a
clip's other measurements, the known GA, the growth standard).
"""

from fetalseg.outputs.exam import Exam, ExamFrame, KnownGA, Spread, select_frame

__all__ = ["Exam", "ExamFrame", "KnownGA", "Spread", "select_frame"]
