"""``fetalseg benchmark``: latency/FPS of every model and backend on this CPU."""

from __future__ import annotations

import argparse

from fetalseg.cli.common import add_overwrite_arg, positive_int

NAME = "benchmark"
HELP = "latency/FPS of every model and backend on this CPU"
NEEDS_EXTRA = "train"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", help="BiSeNet weights (default: the shipped model)")
    p.add_argument("--data", help="HC18 folder for int8 calibration (default: synthetic frames)")
    p.add_argument("--threads", type=int, default=2, help="threads per backend (default 2)")
    p.add_argument("--iterations", type=int, default=100, help="timed iterations (default 100)")
    p.add_argument("--out", default="out/benchmark", help="output folder")
    add_overwrite_arg(p)
    p.add_argument(
        "--train", action="store_true", help="measure training images/s for each CPU option instead"
    )
    p.add_argument("--batch-size", type=int, default=8, help="batch size for --train (at least 2)")


#: Upper bounds: ``--iterations 1000000000000`` ran for ever, a huge ``--threads`` or
#: ``--batch-size`` only exhausts the machine.
MAX_ITERATIONS = 100_000
MAX_THREADS = 256
MAX_BATCH = 256


def check_args(args: argparse.Namespace) -> None:
    """Counts that make sense: :class:`InputError` naming the option otherwise. Training needs
    a batch of 2 or more (BatchNorm cannot normalise one image)."""
    positive_int(args.iterations, "--iterations", maximum=MAX_ITERATIONS)
    positive_int(args.threads, "--threads", maximum=MAX_THREADS)
    if args.train:
        positive_int(args.batch_size, "--batch-size", minimum=2, maximum=MAX_BATCH)


def run(args: argparse.Namespace) -> int:
    check_args(args)
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
    from fetalseg.destination import output_dir
    from fetalseg.inference.benchmark import run_benchmark, to_markdown, write_results
    from fetalseg.inference.weights import shipped_int8

    int8 = shipped_int8() if args.checkpoint is None and shipped_int8().is_file() else None
    with output_dir(args.out, args.overwrite) as tmp:  # refused before the timing runs
        result = run_benchmark(
            args.checkpoint,
            args.data or default_data_root(),
            args.threads,
            args.iterations,
            int8_model=int8,
        )
        json_path, md_path = write_results(result, tmp)
    print(to_markdown(result))
    print(f"wrote {args.out}/{json_path.name} and {args.out}/{md_path.name}")
    return 0
