"""Loading models for inference: the weights shipped in the package, or a training checkpoint.

The shipped file is fp16 safetensors (half the size, no pickle: loading it cannot run code); its
metadata holds the resolved training config and provenance, so a loaded model knows its input
size and how it was made. Auxiliary heads are training-only and are not shipped.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import torch
from torch import nn

from fetalseg.artifacts import (
    LoadedModel,
    check_model_config,
    load_checkpoint,
    onnx_model_info,
    shipped_int8,
    shipped_weights,
)
from fetalseg.errors import InputError
from fetalseg.models import SegmentationNet, create_model_from_config, model_class

__all__ = [
    "LoadedModel",
    "export_safetensors",
    "inference_state",
    "load_model",
    "shipped_int8",
    "shipped_weights",
]


def inference_state(
    state: dict[str, torch.Tensor], net: SegmentationNet | type[SegmentationNet]
) -> dict[str, torch.Tensor]:
    """``state`` of model ``net`` (an instance or its class) without the tensors of its
    training-only submodules (auxiliary heads): what inference (and fine-tuning) uses."""
    return {k: v for k, v in state.items() if not net.is_training_only(k)}


def _build(config: dict[str, Any], state: dict[str, torch.Tensor], source: Path) -> nn.Module:
    try:
        model = create_model_from_config(config["model"])  # pretrained: the file has them
        missing, unexpected = model.load_state_dict(
            {k: v.float() for k, v in state.items()}, strict=False
        )
    except (ValueError, RuntimeError, KeyError, TypeError) as e:  # unknown model; wrong shapes
        why = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
        raise InputError(f"{source}: weights do not fit the model ({why})") from None
    stride = model.output_stride
    if config["data"]["width"] % stride or config["data"]["height"] % stride:
        raise InputError(
            f"{source}: its config's input size {config['data']['width']}x"
            f"{config['data']['height']} is not a multiple of {stride}, as model "
            f"{config['model']['name']!r} needs"
        )
    missing = [k for k in missing if not model.is_training_only(k)]
    if missing or unexpected:
        raise InputError(
            f"{source}: weights do not match model {config['model']['name']!r} "
            f"({len(missing)} missing, {len(unexpected)} unexpected tensors)"
        )
    return model.eval()


def load_model(path: str | Path | None = None) -> LoadedModel:
    """Load ``path`` (``.safetensors`` export, ``.pt`` training checkpoint, or ``.onnx`` export,
    for which only the config is read), or the shipped model when ``path`` is ``None``."""
    source = Path(path) if path is not None else shipped_weights()
    if not source.is_file():
        hint = " (the package ships no trained model yet)" if path is None else ""
        raise InputError(f"{source}: no such model file{hint}")
    if source.suffix == ".onnx":
        m = onnx_model_info(source)
        return LoadedModel(m.config, m.info, m.source)
    if source.suffix == ".safetensors":
        from safetensors import safe_open

        try:
            with safe_open(str(source), framework="pt") as f:
                meta = f.metadata() or {}
                state = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - not a dict
        except Exception as e:
            raise InputError(f"{source}: not a readable safetensors file ({e})") from None
        if "config" not in meta:
            raise InputError(f"{source}: no fetalseg config in the file's metadata")
        try:
            config = json.loads(meta["config"])
            info = json.loads(meta.get("info", "{}"))
        except json.JSONDecodeError as e:
            raise InputError(f"{source}: its metadata is not valid JSON ({e.msg})") from None
        if not isinstance(info, dict):
            info = {}
        check_model_config(config, source)
    else:
        ckpt = load_checkpoint(source)
        config, state = ckpt["config"], ckpt["model"]
        info = {"epoch": ckpt.get("epoch", -1) + 1, "val_dsc": ckpt.get("val_dsc")}
    return LoadedModel(config, info, source, _build(config, state, source))


def export_safetensors(
    checkpoint: str | Path, out: str | Path, extra_info: dict[str, Any] | None = None
) -> Path:
    """Write a training checkpoint's inference weights as fp16 safetensors with metadata."""
    from safetensors.torch import save_file

    ckpt = load_checkpoint(checkpoint)
    net = model_class(ckpt["config"]["model"]["name"])
    state = {k: v.half().contiguous() for k, v in inference_state(ckpt["model"], net).items()}
    # BN's step counter is an integer: keep it exact rather than half.
    state.update({k: v for k, v in ckpt["model"].items() if k.endswith("num_batches_tracked")})
    info: dict[str, Any] = {"epochs": ckpt.get("epoch", -1) + 1}
    for key in ("val_dsc", "val_adf_mm"):  # JSON has no NaN
        value = ckpt.get(key)
        if isinstance(value, (int, float)) and math.isfinite(value):
            info[key] = float(value)
    info.update(extra_info or {})
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file(
        state, str(out), metadata={"config": json.dumps(ckpt["config"]), "info": json.dumps(info)}
    )
    return out
