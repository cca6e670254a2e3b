"""Model artifacts without PyTorch: where the shipped files are, what an ONNX file says of itself.

Training and inference both sit on this module (it imports nothing else of fetalseg but
:mod:`fetalseg.errors`), so neither has to import the other to find a model.

An exported ``.onnx`` file carries the resolved training config and its provenance as JSON in the
model's ``metadata_props`` (keys :data:`CONFIG_KEY`, :data:`INFO_KEY`). :func:`onnx_metadata`
reads them straight from the protobuf wire format, so the core install (ONNX Runtime / OpenVINO,
no ``onnx`` package, no torch) can load a model and know its input size.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from fetalseg.errors import InputError

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
        model_info = ModelInfo(config, info, path)
        model_info.size, model_info.in_channels  # noqa: B018 - validates the config's keys
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: not a fetalseg ONNX model ({e})") from None
    return model_info
