"""Findings of an independent probe (issue 17), each reproduced here before it was fixed.

Security (pickles, Host/Origin, slow clients), crashes and tracebacks, silently wrong values,
the one rule for results on disk and the exit code, and memory bounded by decoded size.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import torch

from fetalseg.cli.main import main
from fetalseg.errors import InputError
from fetalseg.training.checkpoint import load_checkpoint


def run(argv: list[object], capsys) -> tuple[int, str]:
    rc = main([str(a) for a in argv])
    return rc, capsys.readouterr().err


def assert_user_error(rc: int, err: str, names: str) -> None:
    lines = err.strip().splitlines()
    assert rc == 2, err
    assert len(lines) == 1, err
    assert names in lines[0], err
    assert "Traceback" not in err


# ---------------------------------------------------------------- security: pickles


class _Payload:
    """Unpickling this creates the file named ``marker``: code run by ``torch.load``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _evil_checkpoint(tmp_path: Path) -> tuple[Path, Path]:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"model": {}, "config": {}, "x": _Payload(marker)}, path)
    return path, marker


def test_a_pickle_payload_in_a_checkpoint_does_not_run(tmp_path):
    path, marker = _evil_checkpoint(tmp_path)
    with pytest.raises(InputError, match=r"evil\.pt"):
        load_checkpoint(path)
    assert not marker.exists()


@pytest.mark.parametrize("command", ["predict", "export", "serve"])
def test_commands_refuse_a_pickle_payload(command, tmp_path, capsys):
    path, marker = _evil_checkpoint(tmp_path)
    argv = {
        "predict": ["predict", tmp_path / "x.png", "--out", tmp_path / "o"],
        "export": ["export", "--format", "safetensors", "--out", tmp_path / "o.safetensors"],
        "serve": ["serve", "--port", _free_port()],
    }[command]
    if command == "predict":
        (tmp_path / "x.png").write_bytes(b"")
    rc, err = run([*argv, "--checkpoint", path], capsys)
    assert_user_error(rc, err, "evil.pt")
    assert not marker.exists()


def test_our_own_checkpoints_still_load(tiny_checkpoint):
    ckpt = load_checkpoint(tiny_checkpoint)
    assert {"model", "config", "optimizer", "rng", "epoch"} <= set(ckpt)


def _checkpoint_with(tmp_path: Path, tiny_checkpoint: Path, edit) -> Path:
    ckpt = torch.load(tiny_checkpoint, weights_only=True)
    edit(ckpt)
    path = tmp_path / "edited.pt"
    torch.save(ckpt, path)
    return path


@pytest.mark.parametrize(
    "edit",
    [
        lambda c: c.pop("config"),
        lambda c: c["config"].pop("model"),
        lambda c: c["config"]["data"].pop("width"),
        lambda c: c["config"]["data"].update(width="64"),
        lambda c: c["config"].update(model=[1]),
        lambda c: c["config"]["model"].update(name="resnet9000"),
        lambda c: c.update(model={"x": 1}),
        lambda c: c["model"].update({next(iter(c["model"])): torch.zeros(1, 2, 3)}),
    ],
    ids=[
        "no-config",
        "no-model-section",
        "no-width",
        "str-width",
        "list-model",
        "bad-name",
        "not-state-dict",
        "wrong-shape",
    ],
)
def test_checkpoint_with_bad_config_or_model(edit, tiny_checkpoint, tmp_path, capsys):
    path = _checkpoint_with(tmp_path, tiny_checkpoint, edit)
    (tmp_path / "x.png").write_bytes(b"")
    rc, err = run(
        ["predict", tmp_path / "x.png", "--checkpoint", path, "--out", tmp_path / "o"], capsys
    )
    assert_user_error(rc, err, "edited.pt")


@pytest.mark.parametrize(
    "meta",
    [
        {"config": "{not json"},
        {"config": "{}"},
        {"config": '{"model": {"name": "bisenet"}}'},
        {"config": "[]", "info": "x"},
    ],
)
def test_safetensors_with_bad_metadata(meta, tmp_path, capsys):
    from safetensors.torch import save_file

    path = tmp_path / "bad.safetensors"
    save_file({"w": torch.zeros(1)}, str(path), metadata=meta)
    (tmp_path / "x.png").write_bytes(b"")
    rc, err = run(
        ["predict", tmp_path / "x.png", "--checkpoint", path, "--out", tmp_path / "o"], capsys
    )
    assert_user_error(rc, err, "bad.safetensors")
