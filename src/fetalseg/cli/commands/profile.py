"""``fetalseg profile``: parameters and GMACs of every model at the reference sizes."""

from __future__ import annotations

import argparse

NAME = "profile"
HELP = "parameters and GMACs of every model at the reference sizes"
NEEDS_EXTRA = "train"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--in-channels", type=int, default=1, choices=(1, 3))


def run(args: argparse.Namespace) -> int:
    from fetalseg.models.profile import format_table, profile_models

    print(format_table(profile_models(in_channels=args.in_channels)))
    return 0
