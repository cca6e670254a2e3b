"""``fetalseg report``: one exam (an image, several images, or a clip) -> one HTML report with
the centiles at the known GA; optionally the DICOM SR and SEG beside it."""

from __future__ import annotations

import argparse

from fetalseg.cli.common import add_model_args, pixel_size_arg

NAME = "report"
HELP = "write the exam report (HTML) of an image, several images of one exam, or a clip"
NEEDS_EXTRA = None

#: ``--standard`` names -> :data:`fetalseg.standards.STANDARDS` names
STANDARD_CHOICES = {"intergrowth": "intergrowth21", "who": "who2017", "hadlock": "hadlock"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "inputs",
        nargs="+",
        help="an image (PNG, JPEG, DICOM), several images of one exam, or one clip (video, "
        "GIF, multi-frame DICOM): one report, on the frame nearest the median HC",
    )
    add_model_args(p)
    p.add_argument("--ga", help="gestational age known before the scan: weeks+days, '20+3'")
    p.add_argument("--lmp", help="first day of the last menstrual period, YYYY-MM-DD")
    p.add_argument("--exam-date", help="date of this scan, YYYY-MM-DD (default: today)")
    p.add_argument(
        "--standard",
        default="intergrowth",
        choices=sorted(STANDARD_CHOICES),
        help="growth standard of the centiles (default intergrowth: INTERGROWTH-21st); GA from "
        "HC by INTERGROWTH-21st (Hadlock 1984 beyond its 14+0-25+6 weeks), or by Hadlock alone "
        "with --standard hadlock",
    )
    p.add_argument(
        "--pixel-size",
        type=pixel_size_arg,
        help="mm per pixel, for files without their own calibration",
    )
    p.add_argument("--out", default="report.html", help="the report (default report.html)")
    p.add_argument("--dicom-out", help="folder for the DICOM SR and SEG (and SC) of the exam")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier report/folder")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from fetalseg.api import load, measure_exam
    from fetalseg.destination import check_destination, output_dir
    from fetalseg.errors import InputError
    from fetalseg.inference.video import is_clip
    from fetalseg.outputs.build import known_ga, write_dicom
    from fetalseg.outputs.clinical import assess_exam
    from fetalseg.outputs.report import write_report
    from fetalseg.quality import check_pixel_size

    size = args.pixel_size
    if size is not None:
        check_pixel_size(size, "--pixel-size")
    ga = known_ga(args.ga, lmp=args.lmp, exam_date=args.exam_date)
    paths = [Path(p) for p in args.inputs]
    for p in paths:
        if not p.is_file():
            raise InputError(f"{p}: no such file")
    if len(paths) > 1 and any(is_clip(p) for p in paths):
        raise InputError("a clip is reported on its own: give one clip, or several images")
    _refuse_early(check_destination(args.out), args.overwrite)  # before minutes of measuring
    if args.dicom_out:
        _refuse_early(check_destination(args.dicom_out), args.overwrite)
    model = load(args.checkpoint, args.backend)
    exam = measure_exam(
        model,
        paths[0] if len(paths) == 1 else paths,
        ga=ga,
        standard=STANDARD_CHOICES[args.standard],
        pixel_size_mm=size,
        pixel_size_source="--pixel-size",
    )
    assessment = assess_exam(exam)
    if args.dicom_out:
        with output_dir(args.dicom_out, args.overwrite) as tmp:
            written = [p.name for p in write_dicom(exam, tmp)]
    write_report(args.out, exam, overwrite=args.overwrite, assessment=assessment)
    _print_summary(exam, assessment)
    print(f"report: {args.out}")
    if args.dicom_out:
        print(f"DICOM: {str(args.dicom_out).rstrip('/')}/ ({', '.join(written)})")
    return 0


def _refuse_early(path, overwrite: bool) -> None:
    """The destination rule's refusal (:mod:`fetalseg.destination`), said before the
    model runs; writing checks it again."""
    from fetalseg.errors import InputError

    if overwrite or not path.exists() or (path.is_dir() and not any(path.iterdir())):
        return
    raise InputError(f"{path}: already holds earlier results; pass --overwrite to replace them")


def _print_summary(exam, assessment) -> None:
    from fetalseg.outputs.exam import MEASURE_NAMES, MEASURES, measure_value
    from fetalseg.standards import format_centile, format_ga

    f = exam.selected
    where = f" (frame {exam.selected_index + 1} of {len(exam.frame_measurements)})"
    print(f"{f.source_name}{where if exam.is_clip else ''}:")
    if f.measurement is None:
        print("  no pixel size (--pixel-size): nothing in mm, no GA, no centiles")
    for measure in MEASURES:
        value = measure_value(f.measurement, measure)
        if value is None:
            continue
        r = assessment.centile(measure)
        c = f", centile {format_centile(r.centile)} (z {r.z:+.2f})" if r is not None else ""
        print(f"  {MEASURE_NAMES[measure]} {value:.1f} mm{c}")
    g = assessment.ga_estimate
    if g is not None:
        print(f"  {g.message}")
    if exam.known_ga is not None:
        print(f"  known GA {format_ga(exam.known_ga.weeks)} ({exam.known_ga.how})")
    if f.quality is not None:
        why = f": {f.quality.reasons[0].message}" if f.quality.reasons else ""
        print(f"  quality {f.quality.verdict}{why}")
