"""``fetalseg predict``: segment and measure images, folders of images (DICOM too) or a clip."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from fetalseg.cli.common import (
    EXIT_REJECTED,
    add_model_args,
    add_overwrite_arg,
    batch_exit_code,
    pixel_size_arg,
)
from fetalseg.errors import InputError

if TYPE_CHECKING:
    from fetalseg.result import ClipResult

NAME = "predict"
HELP = "segment and measure an image or a folder of images (DICOM too), or a clip"
NEEDS_EXTRA = None


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "input",
        help="image (PNG, JPEG, BMP, TIFF, DICOM), folder of images (HC18 _Annotation files "
        "skipped), or clip (.mp4 .avi .mov .mkv .gif, multi-frame DICOM); a DICOM file's own "
        "pixel size wins over --pixel-size and --pixel-csv (a disagreement is noted)",
    )
    add_model_args(p)
    size = p.add_mutually_exclusive_group()
    size.add_argument(
        "--pixel-size",
        type=pixel_size_arg,
        help="pixel size in mm, for images without their own calibration (a DICOM "
        "file's own wins; a disagreement is noted in its row)",
    )
    size.add_argument(
        "--pixel-csv",
        help="CSV of filename,pixel size(mm) (HC18 format; images without their own calibration)",
    )
    p.add_argument("--out", default="out/predict", help="output folder")
    p.add_argument("--save-masks", action="store_true", help="write each head mask as a PNG")
    p.add_argument("--clip", action="store_true", help="treat a folder as the frames of one clip")
    p.add_argument(
        "--live",
        action="store_true",
        help="INPUT is a live source (camera index, stream URL, or a file played at "
        "its frame rate): frames are dropped, and counted, when inference is slower",
    )
    p.add_argument(
        "--dicom-out",
        help="folder for a DICOM SR (TID 5000 biometry) and SEG (head mask) per file, or of a "
        "clip's reported frame; a non-DICOM input also gets the Secondary Capture they reference",
    )
    add_overwrite_arg(p)
    p.add_argument(
        "--keep-going",
        action="store_true",
        help="exit 0 when some (not all) files of a batch failed (default: exit 1)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--strict",
        action="store_true",
        help=f"exit {EXIT_REJECTED} when any image's verdict (a clip's summary verdict) is reject",
    )


def run(args: argparse.Namespace) -> int:
    from fetalseg.inference.batch import (
        NothingMeasured,
        collect_inputs,
        predict_files,
        read_pixel_csv,
        report_lines,
    )
    from fetalseg.inference.predictor import Predictor
    from fetalseg.outputs.build import dicom_folder, frame_dicom_writer
    from fetalseg.quality import check_pixel_size

    if args.pixel_size is not None:
        check_pixel_size(args.pixel_size, "--pixel-size")
    from fetalseg.inference.video import is_clip

    if args.live or args.clip or is_clip(args.input):
        return _predict_stream(args)
    paths = collect_inputs(args.input)
    sizes = read_pixel_csv(args.pixel_csv) if args.pixel_csv else None
    predictor = Predictor(args.checkpoint, args.backend)
    try:
        with dicom_folder(args.dicom_out, args.overwrite) as dicom_dir:
            rows = predict_files(
                predictor,
                paths,
                args.out,
                args.pixel_size,
                sizes,
                args.save_masks,
                args.overwrite,
                progress=not args.quiet,
                on_frame=frame_dicom_writer(dicom_dir, predictor),
            )
    except NothingMeasured as e:  # no results folder (nor --dicom-out) written or replaced
        for r in e.rows:
            print(f"fetalseg predict: {r['message']}", file=sys.stderr)
        kept = "left as it was" if Path(args.out).exists() else "not written"
        print(f"{len(e.rows)} images: all failed, nothing measured; {args.out} {kept}")
        return batch_exit_code(len(e.rows), len(e.rows), args.keep_going)
    counts: dict[str, int] = {}
    for r in rows:
        counts[str(r["status"])] = counts.get(str(r["status"]), 0) + 1
    for r in rows:
        if r["status"] == "error":
            print(f"fetalseg predict: {r['message']}", file=sys.stderr)
    print(f"{len(rows)} images: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
    print("\n".join(report_lines(rows)))
    print(f"results in {args.out}/ (measurements.csv, measurements.json, overlays/)")
    code = batch_exit_code(len(rows), counts.get("error", 0), args.keep_going)
    if code == 0 and args.strict and any(r["quality"] == "reject" for r in rows):
        return EXIT_REJECTED
    return code


def _predict_stream(args: argparse.Namespace) -> int:
    """A clip (video file, GIF, or ``--clip`` folder of frames) or a ``--live`` source."""
    from fetalseg.destination import output_dir
    from fetalseg.inference.predictor import Predictor
    from fetalseg.inference.video import (
        clip_pixel_size,
        open_clip,
        process_clip,
        run_live,
        write_summary,
    )
    from fetalseg.result import ClipResult

    if args.pixel_csv:
        raise InputError(f"{args.input}: a clip takes --pixel-size, not --pixel-csv")
    if args.live and args.dicom_out:
        raise InputError("--dicom-out is for files and clips, not a --live source")
    predictor = Predictor(args.checkpoint, args.backend)
    out = Path(args.out)
    if not args.live:
        clip = process_clip(
            predictor, args.input, out, args.pixel_size, args.overwrite, progress=not args.quiet
        )
        if args.dicom_out:
            from fetalseg.outputs.build import dicom_folder, model_label, write_clip_dicom

            with dicom_folder(args.dicom_out, args.overwrite) as dicom_dir:
                write_clip_dicom(dicom_dir, args.input, clip, model_label(predictor))
    else:
        import time

        source, dicom = args.input, None
        if not str(source).isdigit() and Path(source).exists():
            frames, fps, _, dicom = open_clip(source)  # a file played back at its own frame rate

            def paced():
                t0 = time.perf_counter()
                for i, frame in enumerate(frames):
                    time.sleep(max(0.0, t0 + i / fps - time.perf_counter()))
                    yield frame

            source = paced()
        size, size_source, note = clip_pixel_size(args.pixel_size, dicom)
        with output_dir(out, args.overwrite) as tmp:  # refused at once when out holds results
            t0 = time.perf_counter()
            stats = run_live(predictor, source, size, pixel_size_source=size_source)
            seconds = time.perf_counter() - t0
            clip = ClipResult(
                stats.results, size, size_source, note, stats.dropped, stats.processed / seconds
            )
            write_summary(clip, tmp)
        print(
            f"live: {stats.received} frames received, {stats.processed} measured, "
            f"{stats.dropped} dropped (inference slower than the source)"
        )
    _print_clip(clip)
    print(f"results in {out}/")
    return EXIT_REJECTED if args.strict and clip.verdict == "reject" else 0


def _print_clip(clip: ClipResult) -> None:
    from fetalseg.inference.batch import ga_text

    s = clip.to_dict()
    head = f"{s['n_frames']} frames, head in {s['frames_with_head']}, good {s['good_frames']}"
    if s["hc_mm"] is not None:
        print(
            f"{head}: median HC {s['hc_mm']:.1f} mm "
            f"(IQR {s['hc_q1']:.1f}-{s['hc_q3']:.1f}, sd {s['hc_sd']:.2f}), {ga_text(s)}"
        )
    else:
        print(head + ("" if clip.pixel_size_mm is not None else " (no pixel size: no mm)"))
    why = "; ".join(r["message"] for r in s["quality_reasons"])
    print(f"quality: {s['quality']}" + (f" ({why})" if why else ""))
    if s["best_frame"] is not None:
        print(f"best frame: {s['best_frame']} (key frame, HC nearest the median: {s['key_frame']})")
    if clip.note:
        print(clip.note)
    if clip.pixel_size_source and clip.pixel_size_source.startswith("dicom"):
        x, y = clip.pixel_size_mm  # type: ignore[misc]
        shown = f"{x:.12g}" if x == y else f"{x:.12g} x {y:.12g}"  # cm x 10 leaves float noise
        print(f"pixel size {shown} mm from the file ({clip.pixel_size_source})")
