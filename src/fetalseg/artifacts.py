"""Model artifacts: where the shipped files are, what an ONNX file says of itself, and training
checkpoints (written atomically, loaded without running code).

Training and inference both sit on this module (it imports nothing else of fetalseg but
:mod:`fetalseg.errors`), so neither has to import the other to find or read a model. It imports
no PyTorch: only the checkpoint functions need it, and import it when called.

Checkpoint loading never runs code: ``torch.load(weights_only=True)`` unpickles only tensors,
containers and plain values (what our checkpoints hold: state dicts, the config, epoch and
scores, RNG states); a file holding any other object (a pickle payload) is refused, as is one
whose ``model`` or ``config`` is not what a fetalseg checkpoint holds.

An exported ``.onnx`` file carries the resolved training config and its provenance as JSON in the
model's ``metadata_props`` (keys :data:`CONFIG_KEY`, :data:`INFO_KEY`). :func:`onnx_metadata`
reads them straight from the protobuf wire format, so the core install (ONNX Runtime / OpenVINO,
no ``onnx`` package, no torch) can load a model and know its input size.
"""

from __future__ import annotations

import json
import os
import pickle
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fetalseg.errors import InputError

if TYPE_CHECKING:
    from torch import nn

SHIPPED_NAME = "bisenet_hc18.safetensors"
SHIPPED_INT8_NAME = "bisenet_hc18_int8.onnx"

#: names of the exported graph's one input and one output
INPUT_NAME = "image"
OUTPUT_NAME = "logits"
#: ``metadata_props`` keys of an exported model (JSON values)
CONFIG_KEY = "fetalseg_config"
INFO_KEY = "fetalseg_info"

#: ``ModelProto.metadata_props`` field number (onnx.proto3: ``repeated StringStringEntryProto
#: metadata_props = 14``); in each entry ``key = 1``, ``value = 2``.
_METADATA_FIELD = 14


def shipped_weights() -> Path:
    """Path of the model shipped inside the package (fp16 safetensors; needs torch to run)."""
    return Path(str(resources.files("fetalseg") / "weights" / SHIPPED_NAME))


def shipped_int8() -> Path:
    """Path of the shipped model's static int8 ONNX export (the default inference backend)."""
    return Path(str(resources.files("fetalseg") / "weights" / SHIPPED_INT8_NAME))


@dataclass
class ModelInfo:
    """What is known of a model without running it.

    ``config``: the resolved training config (``data.width/height``, ``model.name`` ...);
    ``info``: provenance (epochs, validation DSC, source, precision ...); ``source``: the file.
    """

    config: dict[str, Any]
    info: dict[str, Any] = field(default_factory=dict)
    source: Path = Path()

    @property
    def size(self) -> tuple[int, int]:
        """Network input ``(W, H)`` in px."""
        return (int(self.config["data"]["width"]), int(self.config["data"]["height"]))

    @property
    def in_channels(self) -> int:
        return int(self.config["model"]["in_channels"])

    @property
    def name(self) -> str:
        """The architecture's registered name, e.g. ``"bisenet"``."""
        return str(self.config["model"]["name"])


@dataclass
class LoadedModel(ModelInfo):
    """:class:`ModelInfo` plus the PyTorch module (eval mode, fp32, CPU); ``model`` is ``None``
    for an ONNX file, of which only the config is read. Made by
    :func:`fetalseg.inference.weights.load_model`; export (:mod:`fetalseg.export`) and inference
    both take it."""

    model: nn.Module | None = None


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise ValueError("truncated or invalid varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def _fields(buf: bytes) -> list[tuple[int, int, Any]]:
    """``(field number, wire type, value)`` of one protobuf message (values of wire type 2 are
    ``bytes``; nested messages are not decoded)."""
    out: list[tuple[int, int, Any]] = []
    pos = 0
    while pos < len(buf):
        tag, pos = _varint(buf, pos)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos : pos + 8], pos + 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            value, pos = buf[pos : pos + length], pos + length
        elif wire == 5:
            value, pos = buf[pos : pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        if pos > len(buf):
            raise ValueError("truncated protobuf message")
        out.append((number, wire, value))
    return out


def onnx_properties(path: str | Path) -> dict[str, str]:
    """All ``metadata_props`` of an ``.onnx`` file as ``{key: value}``."""
    data = Path(path).read_bytes()
    props: dict[str, str] = {}
    for number, wire, value in _fields(data):
        if number != _METADATA_FIELD or wire != 2:
            continue
        entry = {n: v for n, w, v in _fields(value) if w == 2}
        props[entry.get(1, b"").decode("utf-8")] = entry.get(2, b"").decode("utf-8")
    return props


def onnx_metadata(path: str | Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(config, info)`` stored in an exported model; ``ValueError`` if it holds none."""
    props = onnx_properties(path)
    if CONFIG_KEY not in props:
        raise ValueError(f"{path}: no fetalseg config in the ONNX metadata")
    return json.loads(props[CONFIG_KEY]), json.loads(props.get(INFO_KEY, "{}"))


def onnx_model_info(path: str | Path) -> ModelInfo:
    """:class:`ModelInfo` of an ``.onnx`` export; :class:`InputError` naming the file if it is
    not a readable fetalseg model."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such model file")
    try:
        config, info = onnx_metadata(path)
    except (ValueError, UnicodeDecodeError) as e:  # JSONDecodeError is a ValueError
        raise InputError(f"{path}: not a fetalseg ONNX model ({e})") from None
    check_model_config(config, path)
    return ModelInfo(config, info if isinstance(info, dict) else {}, path)


def save_atomic(obj: Any, path: str | Path) -> None:
    """``torch.save`` to a temporary file in the same folder, fsync, then rename over ``path``."""
    import torch

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
    import torch

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
    for key in ("epoch",):
        if key in ckpt and type(ckpt[key]) is not int:
            raise InputError(f"{path}: not a fetalseg checkpoint ({key} is not an integer)")
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
            f"{source}: not a fetalseg model: its config lacks a valid model.name (text), "
            "model.in_channels, data.width or data.height (positive integers)"
        )
