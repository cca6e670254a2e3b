"""What the sub-commands share: exit codes, the batch exit-code rule, and the arguments
every command that writes results (``--overwrite``) or runs a model takes."""

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
