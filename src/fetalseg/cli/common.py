"""What the sub-commands share: exit codes, the batch exit-code rule, the parser whose errors
are one line, and the arguments every command that writes results (``--overwrite``), runs a
model or takes a pixel size takes."""

from __future__ import annotations

import argparse

#: a batch where some inputs failed (each named on stderr and in its row), without --keep-going
EXIT_SOME_FAILED = 1
#: a bad file or value: one line on stderr naming it; also a batch where every input failed
EXIT_USER_ERROR = 2
#: ``--strict``: every input measured, but some verdict is ``reject``
EXIT_REJECTED = 3
#: Ctrl+C
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """A command line argparse refused (unknown option, missing or malformed value): the one
    line :meth:`OneLineParser.error` says, shown by ``main`` with exit :data:`EXIT_USER_ERROR`."""


class OneLineParser(argparse.ArgumentParser):
    """An :class:`argparse.ArgumentParser` whose errors are one line like every other user
    error (``fetalseg predict: error: argument --pixel-size: 'abc' is not a number ...``),
    not its usage block: :meth:`error` raises :class:`UsageError` instead of printing the usage
    and exiting. Sub-command parsers are made of the same class."""

    def error(self, message: str):  # type: ignore[override]
        raise UsageError(f"{self.prog}: error: {message}; {self.prog} -h lists the options")


def pixel_size_arg(text: str) -> float:
    """``--pixel-size``'s ``type=``: the text as a float; a non-number is an argparse error
    naming the option and the value. The range (NaN and infinities included) is checked by
    :func:`fetalseg.quality.check_pixel_size`, the one check of a size a user gives."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text[:40]!r} is not a number of mm per pixel (e.g. 0.15)"
        ) from None


def add_model_args(p: argparse.ArgumentParser) -> None:
    """``--checkpoint`` and ``--backend``, for every command that runs a model."""
    from fetalseg.inference.predictor import BACKENDS

    p.add_argument("--checkpoint", help=".safetensors, .pt or .onnx (default: the shipped model)")
    p.add_argument(
        "--backend",
        default="auto",
        choices=BACKENDS,
        help="auto: the shipped int8 ONNX model on OpenVINO (ONNX Runtime without the "
        "openvino extra) when no checkpoint is given, else PyTorch",
    )


def batch_exit_code(n_inputs: int, n_failed: int, keep_going: bool = False) -> int:
    """The exit code of a command over many inputs, the rule for every such command:

    0 when none failed (or some did and ``keep_going``), :data:`EXIT_SOME_FAILED` when some but
    not all failed, :data:`EXIT_USER_ERROR` when every input failed (even with ``keep_going``:
    nothing was measured)."""
    if n_inputs > 0 and n_failed >= n_inputs:
        return EXIT_USER_ERROR
    if n_failed and not keep_going:
        return EXIT_SOME_FAILED
    return 0


def add_overwrite_arg(p: argparse.ArgumentParser) -> None:
    """``--overwrite``: the one switch of :mod:`fetalseg.destination`'s rule."""
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace earlier results at the output path (as a whole, once this run finished)",
    )


def positive_int(value: int, option: str, minimum: int = 1, maximum: int | None = None) -> int:
    """``value`` when ``>= minimum`` (and ``<= maximum``); else
    :class:`~fetalseg.errors.InputError` naming ``option`` (for counts such as
    ``--iterations`` and ``--threads``)."""
    from fetalseg.errors import InputError

    if value < minimum:
        raise InputError(f"{option} {value}: must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise InputError(f"{option} {value}: must be at most {maximum}")
    return value
