"""Model files with a missing or wrong config, model or metadata: one ``InputError`` naming
the file (issue 17: ``KeyError``, ``JSONDecodeError``, ``TypeError`` and ``ValueError``
tracebacks), for ``.pt`` checkpoints and ``.safetensors`` exports."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")

from fetalseg.errors import InputError  # noqa: E402
from fetalseg.inference.weights import export_safetensors, load_model  # noqa: E402


@pytest.fixture(scope="module")
def parts(tiny_checkpoint):
    ckpt = torch.load(tiny_checkpoint, map_location="cpu", weights_only=True)
    return ckpt["model"], ckpt["config"]


def _with(config: dict, section: str, **values) -> dict:
    out = json.loads(json.dumps(config))
    out[section].update(values)
    return out


@pytest.mark.parametrize(
    ("make", "expect"),
    [
        (lambda s, c: {"model": s}, "no model/config"),
        (lambda s, c: {"config": c}, "no model/config"),
        (lambda s, c: {"model": s, "config": {"model": {}}}, "lacks a valid model.name"),
        (lambda s, c: {"model": s, "config": c, "epoch": "x"}, "epoch is not an integer"),
        (lambda s, c: {"model": s, "config": _with(c, "data", width=100)}, "not a multiple of 32"),
        (lambda s, c: {"model": s, "config": _with(c, "model", name="nope")}, "unknown model"),
        (lambda s, c: {"model": {"a": torch.zeros(1)}, "config": c}, "do not match"),
    ],
)
def test_bad_checkpoint_is_one_input_error(tmp_path, parts, make, expect):
    path = tmp_path / "bad.pt"
    torch.save(make(*parts), path)
    with pytest.raises(InputError, match=rf"bad\.pt: .*{expect}"):
        load_model(path)


def test_checkpoint_without_epoch_and_scores_exports(tmp_path, parts):
    """Only ``model`` and ``config`` are needed (``export`` raised ``KeyError: 'epoch'``)."""
    state, config = parts
    torch.save({"model": state, "config": config}, tmp_path / "bare.pt")
    out = export_safetensors(tmp_path / "bare.pt", tmp_path / "bare.safetensors")
    assert load_model(out).info["epochs"] == 0


@pytest.mark.parametrize(
    ("metadata", "expect"),
    [
        ({"config": "{not json"}, "not valid JSON"),
        ({"info": "{}"}, "no fetalseg config"),
        ({"config": "[1, 2]"}, "lacks a valid"),
        ({"config": None, "info": "{bad"}, "not valid JSON"),
    ],
)
def test_bad_safetensors_metadata_is_one_input_error(tmp_path, parts, metadata, expect):
    from safetensors.torch import save_file

    state, config = parts
    if metadata.get("config", "") is None:
        metadata["config"] = json.dumps(config)
    path = tmp_path / "bad.safetensors"
    save_file({k: v.contiguous() for k, v in state.items()}, str(path), metadata=metadata)
    with pytest.raises(InputError, match=rf"bad\.safetensors: .*{expect}"):
        load_model(path)
