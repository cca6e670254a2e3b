"""``fetalseg`` command line: thin sub-commands over the library.

User errors (a bad file, a bad value) print one line naming the input and exit with code 2.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence

from fetalseg.errors import InputError

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


def build_parser() -> argparse.ArgumentParser:
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

    p = sub.add_parser("profile", help="parameters and GMACs of every model at the reference sizes")
    p.add_argument("--in-channels", type=int, default=1, choices=(1, 3))
    p.set_defaults(func=_cmd_profile)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except InputError as e:
        print(f"fetalseg {args.command}: error: {e}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(f"fetalseg {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
