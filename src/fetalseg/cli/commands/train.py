"""``fetalseg train``: train a model (reference recipe by default)."""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterator

NAME = "train"
HELP = "train a model (reference recipe by default)"
NEEDS_EXTRA = "train"


def add_arguments(p: argparse.ArgumentParser) -> None:
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


def run(args: argparse.Namespace) -> int:
    from fetalseg.config import load_config
    from fetalseg.training.trainer import train

    cfg = load_config(args.config, args.set)
    if args.data:
        cfg.data.root = args.data
    with distributed_context():
        result = train(
            cfg,
            args.out,
            args.resume,
            progress=not args.quiet,
            epochs=args.epochs,
            overrides=args.set,
        )
    print(f"best checkpoint: {result.best_path} ({result.epochs_run} epochs run)")
    return 0


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
