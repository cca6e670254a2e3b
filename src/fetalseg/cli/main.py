"""``fetalseg`` command line: thin sub-commands over the library.

User errors (a bad file, a bad value) print one line naming the input and exit with code 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from fetalseg.errors import InputError

EXIT_USER_ERROR = 2


def _cmd_train(args: argparse.Namespace) -> int:
    from fetalseg.config import load_config
    from fetalseg.training.trainer import train

    cfg = load_config(args.config, args.set)
    if args.data:
        cfg.data.root = args.data
    best = train(cfg, args.out, resume=args.resume, progress=not args.quiet)
    print(f"best checkpoint: {best}")
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
        "--set", action="append", default=[], metavar="KEY=VALUE",
        help="override a config value, e.g. --set train.epochs=10 (repeatable)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_train)
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
