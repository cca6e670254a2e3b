"""``fetalseg`` command line: thin sub-commands over the library, one module per command
(:mod:`fetalseg.cli.commands`).

Exit codes, for every command: 0 done; 1 a batch where some inputs failed (each named on stderr
and in its row; 0 with ``--keep-going``); 2 a user error (a bad file or value: one line on
stderr naming the input; argparse's own errors too, :class:`~fetalseg.cli.common.OneLineParser`),
and a batch where every input failed (nothing written); 3 with ``predict --strict``
when all was measured but some verdict is ``reject``; 130 interrupted. The batch rule
is :func:`fetalseg.cli.common.batch_exit_code`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from fetalseg.cli.commands import command_modules
from fetalseg.cli.common import EXIT_INTERRUPTED, EXIT_USER_ERROR, OneLineParser, UsageError
from fetalseg.errors import InputError, require_extra


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="fetalseg", description="Fetal head segmentation and biometry in 2D ultrasound."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in command_modules():
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(func=module.run, needs_extra=module.NEEDS_EXTRA)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # a file name that is not UTF-8 never crashes a print
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    try:
        args = build_parser().parse_args(argv)
    except UsageError as e:
        print(e, file=sys.stderr)
        return EXIT_USER_ERROR
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        if args.needs_extra:
            require_extra(args.needs_extra, f"fetalseg {args.command}")
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
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
