"""``fetalseg`` command line: thin sub-commands over the library.

User errors (a bad file, a bad value) print one line naming the input and exit with code 2.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from fetalseg.errors import InputError, require_extra

if TYPE_CHECKING:
    from fetalseg.result import ClipResult

EXIT_USER_ERROR = 2


@contextlib.contextmanager
def distributed_context() -> Iterator[None]:
    """Join the process group when launched by ``torchrun`` (gloo on CPU, NCCL on GPU)."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        yield
        return
    import torch
    import torch.distributed as dist

    dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    try:
        yield
    finally:
        dist.destroy_process_group()


def _cmd_train(args: argparse.Namespace) -> int:
    from fetalseg.config import load_config
    from fetalseg.training.trainer import train

    cfg = load_config(args.config, args.set)
    if args.data:
        cfg.data.root = args.data
    with distributed_context():
        result = train(cfg, args.out, args.resume, progress=not args.quiet, epochs=args.epochs)
    print(f"best checkpoint: {result.best_path} ({result.epochs_run} epochs run)")
    return 0


def _cmd_profile(args: argparse.Namespace) -> int:
    from fetalseg.models.profile import format_table, profile_models

    print(format_table(profile_models(in_channels=args.in_channels)))
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from fetalseg.config import default_data_root
    from fetalseg.data.hc18 import read_records, split_subjects
    from fetalseg.inference.evaluate import evaluate_records, summary_markdown, write_outputs
    from fetalseg.inference.predictor import Predictor

    if args.limit < 0:
        raise InputError(f"--limit {args.limit}: must be 0 (all) or a number of images")
    predictor = Predictor(args.checkpoint, args.backend)
    data_cfg = predictor.loaded.config["data"]
    records = read_records(args.data or default_data_root(), "training_set")
    if args.split != "all":
        parts = split_subjects(records, data_cfg["fractions"], data_cfg["split_seed"])
        records = parts[("train", "val", "test").index(args.split)]
    if args.limit:
        records = records[: args.limit]
    ev = evaluate_records(predictor, records, progress=not args.quiet)
    title = f"{predictor.loaded.source.name} on the {args.split} split"
    paths = write_outputs(ev, args.out, title)
    print(summary_markdown(ev, title))
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 0


def _cmd_check_data(args: argparse.Namespace) -> int:
    import json
    from dataclasses import asdict
    from pathlib import Path

    from fetalseg.config import default_data_root
    from fetalseg.data.checks import (
        annotation_report,
        format_summary,
        summarize_report,
        write_report_csv,
    )
    from fetalseg.data.hc18 import read_records

    checks = annotation_report(
        read_records(args.data or default_data_root(), "training_set"), progress=not args.quiet
    )
    summary = summarize_report(checks)
    print(format_summary(summary, checks))
    try:
        if args.out:
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            report = {"summary": summary, "images": [asdict(c) for c in checks]}
            Path(args.out).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
            print(f"wrote {args.out}")
        if args.csv:
            Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
            write_report_csv(args.csv, checks)
            print(f"wrote {args.csv}")
    except OSError as e:
        raise InputError(f"{e.filename or args.out}: cannot write ({e.strerror or e})") from None
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    from fetalseg.inference.batch import collect_inputs, predict_files, read_pixel_csv
    from fetalseg.inference.predictor import Predictor

    if args.pixel_size is not None and not (args.pixel_size > 0 and args.pixel_size < 10):
        raise InputError(f"--pixel-size {args.pixel_size}: must be a positive size in mm")
    from fetalseg.inference.video import is_clip

    if args.live or args.clip or is_clip(args.input):
        return _predict_stream(args)
    paths = collect_inputs(args.input)
    sizes = read_pixel_csv(args.pixel_csv) if args.pixel_csv else None
    predictor = Predictor(args.checkpoint, args.backend)
    rows = predict_files(
        predictor,
        paths,
        args.out,
        args.pixel_size,
        sizes,
        args.save_masks,
        args.overwrite,
        progress=not args.quiet,
    )
    counts: dict[str, int] = {}
    for r in rows:
        counts[str(r["status"])] = counts.get(str(r["status"]), 0) + 1
    for r in rows:
        if r["status"] == "error":
            print(f"fetalseg predict: {r['message']}", file=sys.stderr)
    print(f"{len(rows)} images: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
    print(f"results in {args.out}/ (measurements.csv, measurements.json, overlays/)")
    return EXIT_USER_ERROR if counts.get("error") == len(rows) else 0


def _predict_stream(args: argparse.Namespace) -> int:
    """A clip (video file, GIF, or ``--clip`` folder of frames) or a ``--live`` source."""
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
    predictor = Predictor(args.checkpoint, args.backend)
    out = Path(args.out)
    if not args.live:
        clip = process_clip(
            predictor, args.input, out, args.pixel_size, args.overwrite, progress=not args.quiet
        )
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
        t0 = time.perf_counter()
        stats = run_live(predictor, source, size, pixel_size_source=size_source)
        seconds = time.perf_counter() - t0
        clip = ClipResult(
            stats.results, size, size_source, note, stats.dropped, stats.processed / seconds
        )
        out.mkdir(parents=True, exist_ok=True)
        write_summary(clip, out)
        print(
            f"live: {stats.received} frames received, {stats.processed} measured, "
            f"{stats.dropped} dropped (inference slower than the source)"
        )
    _print_clip(clip)
    print(f"results in {out}/")
    return 0


def _print_clip(clip: ClipResult) -> None:
    s = clip.to_dict()
    head = f"{s['n_frames']} frames, head in {s['frames_with_head']}"
    if s["hc_mm"] is not None:
        print(
            f"{head}: median HC {s['hc_mm']:.1f} mm "
            f"(IQR {s['hc_q1']:.1f}-{s['hc_q3']:.1f}, sd {s['hc_sd']:.2f})"
        )
    else:
        print(head + ("" if clip.pixel_size_mm is not None else " (no pixel size: no mm)"))
    if clip.note:
        print(clip.note)
    if clip.pixel_size_source and clip.pixel_size_source.startswith("dicom"):
        x, y = clip.pixel_size_mm  # type: ignore[misc]
        shown = f"{x:.12g}" if x == y else f"{x:.12g} x {y:.12g}"  # cm x 10 leaves float noise
        print(f"pixel size {shown} mm from the file ({clip.pixel_size_source})")


def _cmd_demo(args: argparse.Namespace) -> int:
    from fetalseg.inference.demo import hc18_frames, run_demo, synthetic_frames
    from fetalseg.inference.predictor import Predictor

    if args.n < 1:
        raise InputError(f"-n {args.n}: must be at least 1 frame")
    predictor = Predictor(args.checkpoint, args.backend)
    if args.data:
        frames = hc18_frames(args.data, predictor, args.n)
        if not frames:
            raise InputError(f"{args.data}: the model's test split of this folder has no images")
    else:
        frames = synthetic_frames(args.n, seed=args.seed)
    print(run_demo(predictor, frames, args.out, progress=not args.quiet))
    print(f"overlays and report in {args.out}/")
    return 0


def _git_commit() -> str:
    import subprocess

    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _cmd_export(args: argparse.Namespace) -> int:
    if args.format == "safetensors":
        import json

        from fetalseg.inference.weights import export_safetensors, shipped_weights

        if not args.checkpoint or not args.checkpoint.endswith(".pt"):
            raise InputError("--format safetensors needs --checkpoint RUN/best.pt (a .pt file)")
        out = args.out or str(shipped_weights())
        info = {"git_commit": _git_commit(), "source": args.checkpoint, "note": args.note}
        path = export_safetensors(args.checkpoint, out, info)
        print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, fp16)")
        from fetalseg.inference.weights import load_model

        loaded = load_model(path)
        card = path.with_suffix(".json")
        card.write_text(json.dumps({"config": loaded.config, "info": loaded.info}, indent=2) + "\n")
        print(f"wrote {card} (how the model was trained)")
        return 0
    from fetalseg.config import default_data_root
    from fetalseg.inference.export import export_model

    report = export_model(args.checkpoint, args.out, args.int8, args.data or default_data_root())
    print("\n".join(report.lines()))
    return 0


def _cmd_benchmark(args: argparse.Namespace) -> int:
    if args.train:
        from fetalseg.training.speed import measure_train_speed

        print(
            f"training speed, BiSeNet 384x256, batch {args.batch_size}, "
            f"{args.threads} threads, {args.iterations} steps after 2 warm-up steps:"
        )
        import torch

        torch.set_num_threads(args.threads)
        for r in measure_train_speed(batch_size=args.batch_size, steps=args.iterations):
            print(f"  {r.option:22s} {r.images_per_s:6.2f} images/s")
        return 0
    from fetalseg.config import default_data_root
    from fetalseg.inference.benchmark import run_benchmark, to_markdown, write_results
    from fetalseg.inference.weights import shipped_int8

    int8 = shipped_int8() if args.checkpoint is None and shipped_int8().is_file() else None
    result = run_benchmark(
        args.checkpoint,
        args.data or default_data_root(),
        args.threads,
        args.iterations,
        int8_model=int8,
    )
    json_path, md_path = write_results(result, args.out)
    print(to_markdown(result))
    print(f"wrote {json_path} and {md_path}")
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from fetalseg.inference.predictor import Predictor
    from fetalseg.web.app import create_app
    from fetalseg.web.guard import IDLE_TIMEOUT_S, default_allowed_hosts, server_config

    if not 0 < args.port < 65536:
        raise InputError(f"--port {args.port}: must be 1-65535")
    import socket

    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    try:  # a port in use is refused now, not after loading the model and announcing the URL
        with socket.create_server((args.host, args.port), family=family):
            pass
    except OSError as e:
        why = (e.strerror or str(e)).split(" (while attempting")[0]
        raise InputError(f"--port {args.port}: cannot listen on {args.host} ({why})") from None
    for name, value in (
        ("--header-timeout", args.header_timeout),
        ("--body-timeout", args.body_timeout),
        ("--max-connections", args.max_connections),
    ):
        if not value > 0:
            raise InputError(f"{name} {value}: must be positive")
    hosts = set(args.allowed_host) | default_allowed_hosts(args.host)
    app = create_app(
        Predictor(args.checkpoint, args.backend, args.threads),
        allowed_hosts=hosts,
        allowed_origins=args.allowed_origin,
        body_timeout_s=args.body_timeout,
        idle_timeout_s=min(args.body_timeout, IDLE_TIMEOUT_S),
    )
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"fetalseg serve: warning: listening on {args.host}: there is no login; anyone "
            "who can reach this address can upload images",
            file=sys.stderr,
        )
    shown = f"[{args.host}]" if ":" in args.host else args.host
    print(f"fetalseg: page and API on http://{shown}:{args.port}/ (Ctrl+C to stop)")
    config = server_config(
        app, args.host, args.port, args.header_timeout, args.max_connections, args.log_level
    )
    uvicorn.Server(config).run()
    return 0


def _cmd_study(args: argparse.Namespace) -> int:
    from fetalseg.training.study import load_study_config, run_study

    study = load_study_config(args.config, args.set)
    if args.data:
        study.base.data.root = args.data
    if args.out:
        study.out = args.out
    report = run_study(study, progress=not args.quiet)
    print(Path(study.out, "study.md").read_text())
    print(f"{len(report['rows'])} rows; table, JSON and figure2.png in {study.out}/")
    return 0


def _add_model_args(p: argparse.ArgumentParser) -> None:
    from fetalseg.inference.predictor import BACKENDS

    p.add_argument("--checkpoint", help=".safetensors, .pt or .onnx (default: the shipped model)")
    p.add_argument(
        "--backend",
        default="auto",
        choices=BACKENDS,
        help="auto: the shipped int8 ONNX model on OpenVINO when no checkpoint is given, "
        "else PyTorch",
    )


def build_parser() -> argparse.ArgumentParser:
    from fetalseg.web.guard import BODY_TIMEOUT_S, HEADER_TIMEOUT_S, IDLE_TIMEOUT_S, MAX_CONNECTIONS

    parser = argparse.ArgumentParser(
        prog="fetalseg", description="Fetal head segmentation and biometry in 2D ultrasound."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("train", help="train a model (reference recipe by default)")
    p.add_argument("--config", help="YAML or TOML file overriding the defaults")
    p.add_argument("--data", help="HC18 folder (default: $FETALSEG_DATA or ../shared/hc18)")
    p.add_argument("--out", default="runs/bisenet", help="run folder (default: runs/bisenet)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt if present")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set train.epochs=10 (repeatable)",
    )
    p.add_argument(
        "--epochs", type=int, help="total epochs (also on --resume, to extend a finished run)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("evaluate", help="score a model on labelled HC18 images")
    _add_model_args(p)
    p.add_argument("--data", help="HC18 folder (default: $FETALSEG_DATA or ../shared/hc18)")
    p.add_argument(
        "--split",
        default="test",
        choices=("train", "val", "test", "all"),
        help="subject-level split, as the model's training config defines it (default: test)",
    )
    p.add_argument("--limit", type=int, default=0, help="only the first N images")
    p.add_argument("--out", default="out/evaluate", help="output folder")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser(
        "predict", help="segment and measure an image or a folder of images (DICOM too), or a clip"
    )
    p.add_argument(
        "input",
        help="image (PNG, JPEG, BMP, TIFF, DICOM), folder of images (HC18 _Annotation files "
        "skipped), or clip (.mp4 .avi .mov .mkv .gif, multi-frame DICOM); a DICOM file's own "
        "pixel size is used unless --pixel-size or --pixel-csv gives one",
    )
    _add_model_args(p)
    size = p.add_mutually_exclusive_group()
    size.add_argument(
        "--pixel-size", type=float, help="pixel size in mm (all images; wins over DICOM's own)"
    )
    size.add_argument(
        "--pixel-csv", help="CSV of filename,pixel size(mm) (HC18 format; wins over DICOM's own)"
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
    p.add_argument("--overwrite", action="store_true", help="replace earlier results in --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_predict)

    p = sub.add_parser("demo", help="segment and measure frames with known truth; no download")
    p.add_argument("--data", help="HC18 folder: use its test split instead of synthetic frames")
    _add_model_args(p)
    p.add_argument("-n", type=int, default=8, help="number of frames (default 8)")
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic frames")
    p.add_argument("--out", default="out/demo", help="output folder")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("export", help="export a model: ONNX (fp32 / int8) or fp16 safetensors")
    p.add_argument("--format", choices=("onnx", "safetensors"), default="onnx")
    p.add_argument("--checkpoint", help=".safetensors or .pt (default: the shipped model)")
    p.add_argument("--int8", action="store_true", help="also write a static int8 (QDQ) model")
    p.add_argument("--data", help="HC18 folder for calibration and the parity check")
    p.add_argument(
        "--out",
        help="output file (default: out/export/... or, for safetensors, "
        "the package's shipped weights)",
    )
    p.add_argument("--note", default="", help="free text stored with safetensors provenance")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("benchmark", help="latency/FPS of every model and backend on this CPU")
    p.add_argument("--checkpoint", help="BiSeNet weights (default: the shipped model)")
    p.add_argument("--data", help="HC18 folder for int8 calibration (default: synthetic frames)")
    p.add_argument("--threads", type=int, default=2, help="threads per backend (default 2)")
    p.add_argument("--iterations", type=int, default=100, help="timed iterations (default 100)")
    p.add_argument("--out", default="out/benchmark", help="output folder")
    p.add_argument(
        "--train", action="store_true", help="measure training images/s for each CPU option instead"
    )
    p.add_argument("--batch-size", type=int, default=8, help="batch size for --train")
    p.set_defaults(func=_cmd_benchmark)

    p = sub.add_parser("serve", help="web page and HTTP API for measuring images and clips")
    _add_model_args(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--threads", type=int, help="inference threads (default: the runtime's)")
    p.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="accept requests whose Host is NAME (repeatable; e.g. the name a reverse proxy "
        "forwards; '*': any). The names of --host are always accepted",
    )
    p.add_argument(
        "--allowed-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="accept POSTs from pages of ORIGIN (scheme://host[:port]; repeatable) besides "
        "the server's own",
    )
    p.add_argument(
        "--header-timeout",
        type=float,
        default=HEADER_TIMEOUT_S,
        help=f"seconds for a request's headers (default {HEADER_TIMEOUT_S:g})",
    )
    p.add_argument(
        "--body-timeout",
        type=float,
        default=BODY_TIMEOUT_S,
        help=f"seconds for a request's whole body (default {BODY_TIMEOUT_S:g}; also at most "
        f"{IDLE_TIMEOUT_S:g} s between two chunks)",
    )
    p.add_argument(
        "--max-connections",
        type=int,
        default=MAX_CONNECTIONS,
        help=f"open connections and running requests; 503 beyond (default {MAX_CONNECTIONS})",
    )
    p.add_argument(
        "--log-level", default="info", choices=("critical", "error", "warning", "info", "debug")
    )
    p.set_defaults(func=_cmd_serve)

    p = sub.add_parser("study", help="reproduce the reference's Table 1 / Figure 2 (resumable)")
    p.add_argument("--config", help="study YAML: base run config, rows, out")
    p.add_argument("--data", help="HC18 folder (default: $FETALSEG_DATA or ../shared/hc18)")
    p.add_argument("--out", help="study folder (default: runs/study)")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override the base run config, e.g. --set train.epochs=30",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_study)

    p = sub.add_parser("profile", help="parameters and GMACs of every model at the reference sizes")
    p.add_argument("--in-channels", type=int, default=1, choices=(1, 3))
    p.set_defaults(func=_cmd_profile)
    p = sub.add_parser("check-data", help="check HC18 annotations against the CSV's HC")
    p.add_argument("--data", help="HC18 folder (default: $FETALSEG_DATA or ../shared/hc18)")
    p.add_argument("--out", help="write the summary and per-image values as JSON here")
    p.add_argument("--csv", help="write the per-image values as CSV here")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_check_data)
    return parser


#: commands that need PyTorch (the ``train`` extra); the rest run on the core install
TRAIN_EXTRA_COMMANDS = frozenset({"train", "evaluate", "export", "benchmark", "study", "profile"})


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        if args.command in TRAIN_EXTRA_COMMANDS:
            require_extra("train", f"fetalseg {args.command}")
        return func(args)
    except InputError as e:
        print(f"fetalseg {args.command}: error: {e}", file=sys.stderr)
        return EXIT_USER_ERROR
    except OSError as e:  # a path given (e.g. --out naming a file) that cannot be written or read
        where = f"{e.filename}: " if e.filename else ""
        print(f"fetalseg {args.command}: error: {where}{e.strerror or e}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(f"fetalseg {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
