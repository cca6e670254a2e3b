"""One module per ``fetalseg`` sub-command.

Each module defines ``NAME`` (the command), ``HELP`` (one line), ``NEEDS_EXTRA`` (the pip extra
it needs beyond the core install, or ``None``), ``add_arguments(parser)`` and ``run(args) -> int``
(the exit code). Adding a command = one module here + its name in :data:`COMMANDS`. A module's
top level imports nothing heavy: the library is imported inside ``run``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

#: the sub-command modules, in the order ``fetalseg --help`` lists them
COMMANDS = (
    "predict",
    "report",
    "serve",
    "demo",
    "evaluate",
    "compare",
    "train",
    "export",
    "benchmark",
    "study",
    "profile",
    "check_data",
)


def command_modules() -> list[ModuleType]:
    """Import and return every command module (in :data:`COMMANDS` order)."""
    return [importlib.import_module(f"{__name__}.{name}") for name in COMMANDS]
