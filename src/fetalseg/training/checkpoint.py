"""Checkpoints written atomically: a kill at any moment leaves the previous file intact.

Loading never runs code: ``torch.load(weights_only=True)`` unpickles only tensors, containers
and plain values (what our checkpoints hold: state dicts, the config, epoch and scores, RNG
states); a file holding any other object (a pickle payload) is refused, as is one whose
``model`` or ``config`` is not what a fetalseg checkpoint holds.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

import torch

from fetalseg.errors import InputError


def save_atomic(obj: Any, path: str | Path) -> None:
    """``torch.save`` to a temporary file in the same folder, fsync, then rename over ``path``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a training checkpoint on the CPU; :class:`InputError` if it is not one."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such checkpoint")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise InputError(
            f"{path}: refused: the file holds objects other than tensors and plain values "
            "(loading it could run code)"
        ) from None
    except Exception as e:
        raise InputError(f"{path}: not a readable checkpoint ({type(e).__name__})") from None
    if not isinstance(ckpt, dict) or "model" not in ckpt or "config" not in ckpt:
        raise InputError(f"{path}: not a fetalseg checkpoint (no model/config)")
    state = ckpt["model"]
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise InputError(f"{path}: not a fetalseg checkpoint (its model is not a state dict)")
    check_model_config(ckpt["config"], path)
    return ckpt


def check_model_config(config: object, source: str | Path) -> None:
    """Refuse a model file whose stored config lacks what loading needs: ``model.name`` (str),
    ``model.in_channels``, ``data.width`` and ``data.height`` (positive integers)."""
    try:
        model, data = config["model"], config["data"]  # type: ignore[index]
        ok = isinstance(model["name"], str) and all(
            type(v) is int and v > 0 for v in (model["in_channels"], data["width"], data["height"])
        )
    except (KeyError, TypeError):
        ok = False
    if not ok:
        raise InputError(
            f"{source}: not a fetalseg model: its config lacks model.name, model.in_channels, "
            "data.width or data.height"
        )
