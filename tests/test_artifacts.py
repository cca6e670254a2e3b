"""ONNX metadata read from the protobuf wire format, without the onnx package."""

from __future__ import annotations

import json

import pytest

from fetalseg.artifacts import (
    CONFIG_KEY,
    INFO_KEY,
    _fields,
    onnx_metadata,
    onnx_model_info,
    onnx_properties,
    shipped_int8,
)
from fetalseg.errors import InputError


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _len_field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _entry(key: str, value: str) -> bytes:
    return _len_field(1, key.encode()) + _len_field(2, value.encode())


def test_properties_of_a_hand_made_model(tmp_path):
    config = {"data": {"width": 96, "height": 64}, "model": {"name": "bisenet", "in_channels": 1}}
    blob = (
        _varint(1 << 3 | 0)
        + _varint(10)  # ir_version = 10
        + _len_field(7, b"\x0a\x03abc")  # a graph we do not decode
        + _len_field(14, _entry(CONFIG_KEY, json.dumps(config)))
        + _len_field(14, _entry(INFO_KEY, '{"epochs": 3}'))
        + _len_field(14, _entry("other", "x"))
    )
    path = tmp_path / "m.onnx"
    path.write_bytes(blob)
    assert onnx_properties(path)["other"] == "x"
    assert onnx_metadata(path) == (config, {"epochs": 3})
    info = onnx_model_info(path)
    assert info.size == (96, 64) and info.in_channels == 1 and info.name == "bisenet"


def test_shipped_int8_model_describes_itself():
    info = onnx_model_info(shipped_int8())
    assert info.size == (384, 256) and info.name == "bisenet"
    assert "val_dsc" in info.info or "epochs" in info.info


def test_truncated_or_foreign_files_are_input_errors(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(_len_field(14, b"\x0a\x05ab"))  # entry shorter than it says
    with pytest.raises(InputError, match=r"bad\.onnx"):
        onnx_model_info(bad)
    plain = tmp_path / "plain.onnx"
    plain.write_bytes(_varint(8) + _varint(7))
    with pytest.raises(InputError, match="no fetalseg config"):
        onnx_model_info(plain)
    with pytest.raises(InputError, match="no such model"):
        onnx_model_info(tmp_path / "none.onnx")
    with pytest.raises(ValueError, match="wire type"):
        _fields(b"\x0b")  # wire type 3 (groups) is not used by ONNX


_GOOD = {"data": {"width": 96, "height": 64}, "model": {"name": "bisenet", "in_channels": 1}}


@pytest.mark.parametrize(
    ("config", "info", "expect"),
    [
        ("{not json", "{}", "not a fetalseg ONNX model"),  # was a JSONDecodeError
        ('{"model": {}}', "{}", "lacks a valid model.name"),  # was a KeyError message
        ("[1]", "{}", "lacks a valid"),
        (json.dumps({**_GOOD, "data": {"width": -96, "height": 64}}), "{}", "lacks a valid"),
        (json.dumps({**_GOOD, "data": {"width": "96", "height": 64}}), "{}", "lacks a valid"),
        (json.dumps(_GOOD), "{bad", "not a fetalseg ONNX model"),
    ],
)
def test_onnx_with_bad_metadata_is_one_input_error(tmp_path, config, info, expect):
    """A negative width went through to ``cv2.resize`` (an OpenCV assertion traceback)."""
    path = tmp_path / "m.onnx"
    path.write_bytes(
        _len_field(14, _entry(CONFIG_KEY, config)) + _len_field(14, _entry(INFO_KEY, info))
    )
    with pytest.raises(InputError, match=rf"m\.onnx: .*{expect}"):
        onnx_model_info(path)


def test_onnx_info_that_is_not_a_mapping_is_dropped(tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(
        _len_field(14, _entry(CONFIG_KEY, json.dumps(_GOOD)))
        + _len_field(14, _entry(INFO_KEY, "[1]"))
    )
    assert onnx_model_info(path).info == {}
