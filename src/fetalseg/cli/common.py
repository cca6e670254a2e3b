"""What the sub-commands share: exit codes and the model-choice arguments."""

from __future__ import annotations

import argparse

#: a bad file or value: one line on stderr naming it
EXIT_USER_ERROR = 2
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
