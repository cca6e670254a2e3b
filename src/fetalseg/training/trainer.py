"""The training loop: reference recipe, per-epoch atomic checkpoints, exact resume, best model.

Run folder layout::

    run_dir/config.yaml   resolved config
    run_dir/last.pt       model + optimiser + scheduler + RNG + epoch (every epoch)
                          (with train.average_from: "model" is the weight average,
                          "train_model" the weights being trained)
    run_dir/best.pt       the epoch with the best validation score (train.select_by: DSC or HC ADF)
    run_dir/log.csv       epoch, train loss, val DSC, val HC ADF (mm), lr, images/s, seconds
    run_dir/curves.png    the log as plots

Data-parallel: launched under ``torchrun`` (``torch.distributed`` initialised), each rank trains on
its shard of every epoch's shuffled order and DDP averages the gradients; rank 0 writes files.

:func:`train` is a short loop over units each testable alone: :func:`resumed_config`,
:func:`placement`, :func:`seed_streams`, :func:`initial_model`, :func:`training_splits`,
:func:`prepare_run_dir`, then per epoch :func:`epoch_shard`, :func:`train_epoch`,
:func:`update_average`, :func:`validate`, :func:`select_best`, :func:`log_row` and
:func:`save_epoch`; the checkpointed state and its restoration are in
:mod:`fetalseg.training.checkpoint`, the log in :mod:`fetalseg.training.runlog`.
"""

from __future__ import annotations

import contextlib
import copy
import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from tqdm import tqdm

from fetalseg.config import RunConfig, TrainConfig, apply_overrides, from_dict, save_config, to_dict
from fetalseg.data.dataset import CachedSet, cache_records, iterate_batches, load_cached
from fetalseg.errors import InputError
from fetalseg.losses.dice import DeepSupervisionDiceLoss
from fetalseg.metrics.segmentation import overlap_metrics
from fetalseg.models import MODELS, SegmentationNet, create_model_from_config
from fetalseg.training.averaging import WeightAverage
from fetalseg.training.checkpoint import (
    Resumed,
    TrainingState,
    load_checkpoint,
    restore_training_state,
    save_atomic,
)
from fetalseg.training.hardware import pick_device, use_bf16
from fetalseg.training.runlog import append_log, plot_log, truncate_log

SELECT_BY = ("dsc", "hc_adf")


@dataclass
class TrainResult:
    best_path: Path
    last_path: Path
    #: as after the last epoch (unwrapped from DDP); the weight average once averaging started
    model: torch.nn.Module
    epochs_run: int  # epochs trained by this call (0 if the run was already complete)


@dataclass
class Splits:
    train: CachedSet
    val: CachedSet


def load_splits(cfg: RunConfig, progress: bool = False) -> Splits:
    """Cache the train and validation parts (the test part is left untouched), from
    ``cfg.data.cache`` when it holds them."""
    d = cfg.data
    if d.synthetic > 0:
        from fetalseg.data.synthetic import synthetic_set

        n = d.synthetic
        n_val = max(2, n // 5)
        return Splits(
            synthetic_set(n - n_val, d.size, seed=d.split_seed),
            synthetic_set(n_val, d.size, seed=d.split_seed + 1),
        )
    from fetalseg.data.hc18 import read_records, split_subjects

    paths = [_cache_path(cfg, part) for part in ("train", "val")] if d.cache else []
    if paths and all(p.is_file() for p in paths) and not Path(d.root).exists():
        return Splits(*(load_cached(p) for p in paths))  # a machine with the cache alone
    records = read_records(d.root, "training_set")
    train, val, _test = split_subjects(records, d.fractions, d.split_seed)
    parts = []
    for recs, path in zip((train, val), paths or (None, None)):
        if path is not None and path.is_file():
            with contextlib.suppress(InputError):  # unreadable: decoded and written again
                cached = load_cached(path)
                if cached.describes(recs):
                    parts.append(cached)
                    continue
        part = cache_records(recs, d.size, progress)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            part.save(path)
        parts.append(part)
    return Splits(*parts)


def _cache_path(cfg: RunConfig, part: str) -> Path:
    """``cfg.data.cache / hc18_{part}_{W}x{H}_split{fractions}_seed{seed}.npz``."""
    d = cfg.data
    fractions = "-".join(f"{f:g}" for f in d.fractions)
    name = f"hc18_{part}_{d.width}x{d.height}_split{fractions}_seed{d.split_seed}.npz"
    return Path(d.cache) / name


def lr_factor(epoch: int, cfg_train) -> float:
    """Multiplier of the base lr at ``epoch`` (0-based): 1 until ``lr_decay_start``, then halved
    at the start and every ``lr_decay_every`` epochs after (reference: 50, 70, 90)."""
    if epoch < cfg_train.lr_decay_start:
        return 1.0
    steps = 1 + (epoch - cfg_train.lr_decay_start) // cfg_train.lr_decay_every
    return cfg_train.lr_decay_factor**steps


def check_config(cfg: RunConfig, resuming: bool = False) -> None:
    """Refuse values training cannot run with (:class:`InputError` naming the key), before any
    data is read. Input sizes are checked against the model's stride in :func:`train`."""
    d, t, aug = cfg.data, cfg.train, cfg.train.augment
    rules = [
        ("model.name", cfg.model.name.lower() in MODELS, "one of " + ", ".join(sorted(MODELS))),
        ("model.in_channels", cfg.model.in_channels in (1, 3), "1 or 3"),
        ("data.width", d.width >= 32, "at least 32"),
        ("data.height", d.height >= 32, "at least 32"),
        ("data.synthetic", d.synthetic == 0 or d.synthetic >= 4, "0 (HC18) or at least 4"),
        (
            "data.fractions",
            all(f >= 0 for f in d.fractions) and sum(d.fractions) > 0,
            "non-negative with a positive sum",
        ),
        ("train.epochs", t.epochs >= 1, "at least 1"),
        ("train.batch_size", t.batch_size >= 2, "at least 2 (BatchNorm needs 2 samples)"),
        ("train.lr", math.isfinite(t.lr) and t.lr > 0, "a positive number"),
        ("train.lr_decay_every", t.lr_decay_every >= 1, "at least 1"),
        ("train.lr_decay_factor", t.lr_decay_factor > 0, "positive"),
        ("train.precision", t.precision in ("auto", "bf16", "fp32"), "auto, bf16 or fp32"),
        ("train.max_steps_per_epoch", t.max_steps_per_epoch >= 0, "0 (all) or more"),
        ("train.threads", t.threads >= 0, "0 (default) or more"),
        ("train.bce_weight", math.isfinite(t.bce_weight) and t.bce_weight >= 0, "0 or more"),
        ("train.hc_weight", math.isfinite(t.hc_weight) and t.hc_weight >= 0, "0 or more"),
        ("train.select_by", t.select_by in SELECT_BY, " or ".join(SELECT_BY)),
        (
            "train.average_from",
            0 <= t.average_from <= t.epochs,
            f"0 (off) or an epoch from 1 to train.epochs ({t.epochs})",
        ),
        ("train.augment.gamma", aug.gamma >= 0, "0 (off) or more"),
        ("train.augment.contrast", 0 <= aug.contrast < 1, "from 0 (off) to below 1"),
        ("train.augment.brightness", 0 <= aug.brightness <= 1, "from 0 (off) to 1"),
        ("train.augment.aspect", aug.aspect >= 0, "0 (off) or more"),
        ("train.augment.blur", aug.blur >= 0, "0 (off) or more (pixels)"),
        ("train.augment.low_res", aug.low_res >= 0, "0 (off) or more"),
        ("train.augment.speckle", 0 <= aug.speckle <= 1, "from 0 (off) to 1"),
        ("train.augment.noise", 0 <= aug.noise <= 1, "from 0 (off) to 1"),
        ("train.augment.sector", 0 <= aug.sector <= 1, "a probability from 0 (off) to 1"),
        (
            "train.init_from",
            # a resumed run starts from its checkpoint, not from init_from
            resuming or t.init_from in ("", "shipped") or Path(t.init_from).is_file(),
            "empty, 'shipped' or an existing weights file",
        ),
    ]
    for key, ok, expected in rules:
        if not ok:
            value = cfg
            for name in key.split("."):
                value = getattr(value, name)
            raise InputError(f"config {key} = {value!r}: must be {expected}")


def _rank_world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


@torch.no_grad()
def predict_logits(
    model: torch.nn.Module,
    data: CachedSet,
    batch_size: int = 8,
    device: torch.device | None = None,
    bf16: bool = False,
    channels_last: bool = False,
    in_channels: int = 1,
) -> np.ndarray:
    """Logits ``(N, H, W) float32`` at the network size for every cached image."""
    device = device or next(model.parameters()).device
    model.eval()
    out = []
    for x, _ in iterate_batches(data, batch_size, in_channels=in_channels):
        x = x.to(device)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            out.append(model(x).float()[:, 0].cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, *data.images.shape[1:]), np.float32)


def train_step(
    model: torch.nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    loss_fn: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    bf16: bool,
) -> float:
    """One optimiser step; the forward pass under bf16 autocast when ``bf16``. Returns the loss."""
    with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=bf16):
        outputs = model(x)
    loss = loss_fn(outputs, y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.item()


def hc_abs_errors(logits: np.ndarray, data: CachedSet) -> np.ndarray:
    """``|HC_pred - HC_true|`` in mm per image whose true HC is known, from network-size
    ``logits (N, h, w)`` mapped back to each image's original grid (as at inference). A frame
    with no head found counts its whole true HC as the error, as :mod:`~fetalseg.inference.
    evaluate` does."""
    from fetalseg.biometry import hc_difference_mm, measure_head
    from fetalseg.data.preprocess import mask_on_original

    errors = []
    for logit, geom, px, hc in zip(logits, data.geometry, data.pixel_size_mm, data.hc_mm):
        if not math.isfinite(hc):
            continue
        measured = measure_head(mask_on_original(logit, geom), float(px)).hc_mm
        errors.append(abs(hc_difference_mm(measured, hc)))
    return np.asarray(errors, np.float64)


def _initial_weights(model: torch.nn.Module, cfg: RunConfig) -> None:
    """Load ``cfg.train.init_from`` into ``model`` (fine-tuning); refuse another model or size."""
    from fetalseg.inference.weights import inference_state, load_model

    path = cfg.train.init_from
    loaded = load_model(None if path == "shipped" else path)
    theirs = (loaded.config["model"]["name"], loaded.size, loaded.in_channels)
    ours = (cfg.model.name, cfg.data.size, cfg.model.in_channels)
    if theirs != ours:
        (m0, (w0, h0), c0), (m1, (w1, h1), c1) = theirs, ours
        raise InputError(
            f"config train.init_from = {path!r}: holds {m0} at {w0}x{h0} with {c0} channel(s); "
            f"this run trains {m1} at {w1}x{h1} with {c1}"
        )
    if loaded.model is None:
        raise InputError(
            f"config train.init_from = {path!r}: an ONNX export has no trainable weights; "
            "give the .safetensors or .pt file"
        )
    # Only the inference weights: the aux heads keep this run's own initialisation.
    model.load_state_dict(inference_state(loaded.model.state_dict(), model), strict=False)


#: the config values a resumed run may change (``--set`` / ``overrides``); any other change would
#: make the continuation a different run than the one checkpointed
RESUME_OVERRIDES = ("train.epochs", "train.threads")


def resumed_config(
    stored: dict[str, Any], overrides: Sequence[str] = (), epochs: int | None = None
) -> RunConfig:
    """The config a resumed run continues with: the one stored in its checkpoint, with
    ``overrides`` (``"section.key=value"``) applied, then ``epochs`` (if given) as the new total.
    An override of a key other than :data:`RESUME_OVERRIDES` that changes its stored value is
    refused (:class:`InputError`), never silently ignored."""
    before = _flatten(to_dict(from_dict(RunConfig, stored)))
    cfg = from_dict(RunConfig, apply_overrides(copy.deepcopy(stored), overrides))
    for key, value in _flatten(to_dict(cfg)).items():
        if key not in RESUME_OVERRIDES and value != before.get(key):
            raise InputError(
                f"config {key} = {value!r}: a resumed run keeps its stored value "
                f"{before.get(key)!r}; only {', '.join(RESUME_OVERRIDES)} may change on resume"
            )
    if epochs is not None:
        cfg.train.epochs = epochs
    return cfg


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


@dataclass
class Placement:
    """Where and how this process computes: its rank among ``world`` processes, the device,
    bf16 autocast, channels-last memory format."""

    rank: int
    world: int
    device: torch.device
    bf16: bool
    channels_last: bool

    @property
    def memory_format(self) -> torch.memory_format:
        return torch.channels_last if self.channels_last else torch.contiguous_format

    def inputs(self, x: torch.Tensor) -> torch.Tensor:
        """A batch of images moved to the device in the memory format."""
        return x.to(self.device, memory_format=self.memory_format)


def placement(t: TrainConfig) -> Placement:
    """This process's :class:`Placement` (under ``torchrun``: one CUDA device per rank)."""
    rank, world = _rank_world()
    device = pick_device()
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", rank % torch.cuda.device_count())
    return Placement(rank, world, device, use_bf16(t.precision, device), t.channels_last)


@dataclass
class Streams:
    """The run's random streams: ``order`` shuffles (identical on every rank: the same order),
    ``aug`` augments (one stream per rank). Python's and torch's global generators are seeded
    alongside."""

    order: np.random.Generator
    aug: np.random.Generator


def seed_streams(seed: int, rank: int) -> Streams:
    random.seed(seed)
    torch.manual_seed(seed)
    return Streams(np.random.default_rng(seed), np.random.default_rng([seed, rank]))


def initial_model(cfg: RunConfig, resuming: bool) -> SegmentationNet:
    """The model to train, before any data is read (so that a size it cannot take is refused
    at once): initialised, or from ``train.init_from`` (not when resuming: the checkpoint's
    weights come next)."""
    try:
        # a resumed run's weights come from its checkpoint: no need for the pretrained file
        model = create_model_from_config(
            to_dict(cfg.model), pretrained=cfg.model.pretrained and not resuming
        )
    except ValueError as e:
        raise InputError(f"config model: {e}") from None
    if cfg.train.init_from and not resuming:
        _initial_weights(model, cfg)
    s = model.output_stride
    if cfg.data.width % s or cfg.data.height % s:
        raise InputError(
            f"config data.width x data.height = {cfg.data.width}x{cfg.data.height}: "
            f"must be multiples of {s} for model {cfg.model.name!r}"
        )
    return model


def training_splits(cfg: RunConfig, world: int, progress: bool) -> Splits:
    """:func:`load_splits`, with the validation images added to training if
    ``data.train_on_val``; refuses splits training cannot use."""
    splits = load_splits(cfg, progress=progress)
    if cfg.data.train_on_val:
        splits = Splits(splits.train + splits.val, splits.val)
    if len(splits.train) < 2 * world:
        raise InputError(f"need at least {2 * world} training images, got {len(splits.train)}")
    if len(splits.val) == 0:
        raise InputError(
            f"config data.fractions = {tuple(cfg.data.fractions)}: the validation split is empty"
        )
    if cfg.train.select_by == "hc_adf" and not np.isfinite(splits.val.hc_mm).any():
        raise InputError("config train.select_by = 'hc_adf': no validation image has a known HC")
    return splits


def prepare_run_dir(run_dir: Path, cfg: RunConfig, epochs_done: int) -> None:
    """Create ``run_dir``, write ``config.yaml``, truncate the log to ``epochs_done`` epochs and
    remove temporaries of killed checkpoint saves (rank 0 only)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    save_config(cfg, run_dir / "config.yaml")
    # A kill after an epoch's log row but before its checkpoint leaves a row the checkpoint
    # does not hold: drop it (the epoch is trained again), so the log never repeats an epoch.
    truncate_log(run_dir / "log.csv", epochs_done)
    for name in ("last.pt", "best.pt"):
        for stale in run_dir.glob(f".{name}.*.tmp"):
            stale.unlink(missing_ok=True)


def epoch_shard(
    order_rng: np.random.Generator, n: int, t: TrainConfig, rank: int = 0, world: int = 1
) -> np.ndarray:
    """This rank's training indices for one epoch (a fresh permutation of ``range(n)`` drawn
    from ``order_rng``, cut to whole batches and ``train.max_steps_per_epoch``)."""
    order = order_rng.permutation(n)
    per_rank = len(order) // world
    shard = order[rank * per_rank : (rank + 1) * per_rank]
    steps = len(shard) // t.batch_size
    if t.max_steps_per_epoch:
        steps = min(steps, t.max_steps_per_epoch)
    if steps == 0:
        raise InputError(f"batch size {t.batch_size} exceeds the {len(shard)} images per rank")
    return shard[: steps * t.batch_size]


@dataclass
class EpochStats:
    """One epoch's training: mean loss, images seen (all ranks), seconds of training."""

    loss: float
    images: int
    seconds: float


def train_epoch(
    model: torch.nn.Module,
    data: CachedSet,
    indices: np.ndarray,
    cfg: RunConfig,
    optimizer: torch.optim.Optimizer,
    loss_fn: torch.nn.Module,
    aug_rng: np.random.Generator,
    where: Placement,
    desc: str = "",
    progress: bool = False,
) -> EpochStats:
    """One pass over ``data[indices]`` in batches of ``train.batch_size``, augmented from
    ``aug_rng``, one optimiser step per batch."""
    model.train()
    losses, seen, t0 = [], 0, time.perf_counter()
    steps = len(indices) // cfg.train.batch_size
    bar = tqdm(total=steps, desc=desc, disable=not progress, leave=False)
    batches = iterate_batches(
        data,
        cfg.train.batch_size,
        indices,
        cfg.train.augment,
        aug_rng,
        drop_last=True,
        in_channels=cfg.model.in_channels,
        soft=cfg.data.soft_masks,
    )
    for x, y in batches:
        x = where.inputs(x)
        losses.append(train_step(model, x, y.to(where.device), loss_fn, optimizer, where.bf16))
        seen += len(x)
        rate = seen * where.world / (time.perf_counter() - t0)
        bar.set_postfix(loss=f"{np.mean(losses):.4f}", img_s=f"{rate:.1f}")
        bar.update()
    bar.close()
    return EpochStats(float(np.mean(losses)), seen * where.world, time.perf_counter() - t0)


def _broadcast_buffers(model: torch.nn.Module, world: int) -> None:
    """DDP averages gradients, but BN running statistics are per rank: take rank 0's so that
    every rank validates and ends with the same model."""
    if world > 1:
        for buf in model.buffers():
            dist.broadcast(buf, src=0)


def update_average(
    average: WeightAverage | None,
    model: torch.nn.Module,
    data: CachedSet,
    cfg: RunConfig,
    where: Placement,
) -> WeightAverage:
    """Add ``model``'s weights to the average (started if ``None``) and measure its BatchNorm
    statistics again on the training images (unaugmented, fixed order, or as many steps as the
    epoch was capped to); rank 0's statistics are then everyone's, as for the trained model."""
    average = average or WeightAverage(model)
    average.update(model)
    t = cfg.train
    inputs = iterate_batches(data, t.batch_size, drop_last=True, in_channels=cfg.model.in_channels)
    if t.max_steps_per_epoch:
        inputs = islice(inputs, t.max_steps_per_epoch)
    average.recompute_batchnorm((where.inputs(x) for x, _ in inputs), where.bf16)
    _broadcast_buffers(average.model, where.world)
    return average


def validate(
    model: torch.nn.Module, data: CachedSet, cfg: RunConfig, where: Placement
) -> tuple[float, float]:
    """Mean validation DSC and mean absolute HC difference (mm; NaN if no image has a known
    HC) of ``model`` on ``data``."""
    logits = predict_logits(
        model,
        data,
        cfg.train.batch_size,
        where.device,
        where.bf16,
        where.channels_last,
        cfg.model.in_channels,
    )
    dsc = float(overlap_metrics(logits > 0, data.masks)["dsc"].mean())
    errors = hc_abs_errors(logits, data)
    return dsc, float(errors.mean()) if errors.size else float("nan")


def select_best(
    score: float, best_score: float, epoch: int, average_from: int, fresh_start: bool
) -> tuple[bool, float]:
    """``(improved, new best score)`` after ``epoch`` (0-based), scores higher-is-better.

    A NaN score never improves, yet a run always has a ``best.pt`` (the first epoch of a run
    that did not resume counts as improved); once averaging starts (epoch ``average_from``,
    1-based, if > 1) the best restarts: only averages compete, an earlier epoch's single
    weights are not what it selects.
    """
    restart = average_from > 1 and epoch + 1 == average_from
    improved = score > best_score or (fresh_start and epoch == 0) or restart
    return improved, score if restart else max(best_score, score)


def optimisation(
    model: torch.nn.Module, t: TrainConfig
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR, torch.nn.Module]:
    """The reference recipe's optimiser (Adam), lr schedule (:func:`lr_factor`, stepped once per
    epoch) and loss (:class:`~fetalseg.losses.dice.DeepSupervisionDiceLoss`)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=t.lr)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda e: lr_factor(e, t))
    loss_fn = DeepSupervisionDiceLoss(alpha=t.alpha, bce_weight=t.bce_weight, hc_weight=t.hc_weight)
    return optimizer, scheduler, loss_fn


def log_row(
    epoch: int, stats: EpochStats, val_dsc: float, val_adf: float, lr: float, seconds: float
) -> dict[str, Any]:
    """The run log's row of ``epoch`` (0-based; logged 1-based), rounded for reading."""
    return {
        "epoch": epoch + 1,
        "train_loss": round(stats.loss, 6),
        "val_dsc": round(val_dsc, 6),
        "val_adf_mm": round(val_adf, 4),
        "lr": lr,
        "images_per_s": round(stats.images / stats.seconds, 2),
        "seconds": round(seconds, 1),
    }


def epoch_line(row: dict[str, Any], select_by: str, best_score: float) -> str:
    """The one line printed after each epoch."""
    return (
        f"epoch {row['epoch']}: loss {row['train_loss']:.4f}  val DSC {row['val_dsc']:.4f}"
        f"  HC ADF {row['val_adf_mm']:.2f} mm  best {select_by} {abs(best_score):.4f}"
        f"  lr {row['lr']:.2e}  {row['images_per_s']} img/s"
    )


def save_epoch(state: dict[str, Any], improved: bool, run_dir: Path) -> None:
    """Write ``best.pt`` (if ``improved``) then ``last.pt``, atomically, and the curves.

    Best before last: a kill in between leaves ``last.pt`` at the previous epoch, which is
    trained again and (exact resume) reaches the same ``best.pt``."""
    if improved:
        save_atomic(state, run_dir / "best.pt")
    save_atomic(state, run_dir / "last.pt")
    plot_log(run_dir / "log.csv", run_dir / "curves.png")


def _gather_aug_states(aug_rng: np.random.Generator, world: int) -> list[dict[str, Any]]:
    """Every rank's augmentation generator state (rank order), for the checkpoint."""
    if world == 1:
        return [aug_rng.bit_generator.state]
    states: list[Any] = [None] * world
    dist.all_gather_object(states, aug_rng.bit_generator.state)
    return states


def train(
    cfg: RunConfig,
    run_dir: str | Path,
    resume: bool = False,
    progress: bool = True,
    epochs: int | None = None,
    overrides: Sequence[str] = (),
) -> TrainResult:
    """Train per ``cfg`` into ``run_dir``.

    With ``resume``, continues from ``run_dir/last.pt`` exactly where it stopped (model,
    optimiser, scheduler, RNG streams, epoch, best score); the config stored there wins, with
    ``overrides`` (the ``section.key=value`` items already applied to ``cfg``) applied to it
    (only :data:`RESUME_OVERRIDES` may change), and ``epochs`` (if given) as a new total, e.g.
    to extend a finished run.
    """
    run_dir = Path(run_dir)
    last_path, best_path = run_dir / "last.pt", run_dir / "best.pt"
    ckpt = load_checkpoint(last_path) if resume and last_path.exists() else None
    if ckpt is not None:
        cfg = resumed_config(ckpt["config"], overrides, epochs)
    elif epochs is not None:
        cfg.train.epochs = epochs
    check_config(cfg, resuming=ckpt is not None)
    t = cfg.train
    if t.threads > 0:
        torch.set_num_threads(t.threads)
    where = placement(t)
    rank, world = where.rank, where.world
    streams = seed_streams(t.seed, rank)
    model = initial_model(cfg, resuming=ckpt is not None)
    splits = training_splits(cfg, world, progress and rank == 0)
    model.to(device=where.device, memory_format=where.memory_format)
    optimizer, scheduler, loss_fn = optimisation(model, t)
    state = Resumed(0, -math.inf, None)  # higher is better: DSC, or minus the HC ADF
    if ckpt is not None:
        try:
            state = restore_training_state(
                ckpt, model, optimizer, scheduler, streams.order, streams.aug, rank
            )
        except (KeyError, IndexError, TypeError, ValueError, RuntimeError) as e:
            why = f"{type(e).__name__}: {str(e).strip().splitlines()[0][:160]}" if str(e) else ""
            raise InputError(
                f"{last_path}: not a complete training checkpoint, cannot resume ({why})"
            ) from None
    ddp_model = model
    if world > 1:
        ddp_model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[where.device.index] if where.device.type == "cuda" else None
        )
    if rank == 0:
        prepare_run_dir(run_dir, cfg, state.start_epoch)
    best_score, average = state.best_score, state.average
    for epoch in range(state.start_epoch, t.epochs):
        t0 = time.perf_counter()
        indices = epoch_shard(streams.order, len(splits.train), t, rank, world)
        desc = f"epoch {epoch + 1}/{t.epochs}"
        stats = train_epoch(
            ddp_model,
            splits.train,
            indices,
            cfg,
            optimizer,
            loss_fn,
            streams.aug,
            where,
            desc,
            progress and rank == 0,
        )
        _broadcast_buffers(model, world)
        lr = optimizer.param_groups[0]["lr"]
        scheduler.step()
        scored = model
        if t.average_from and epoch + 1 >= t.average_from:
            average = update_average(average, model, splits.train, cfg, where)
            scored = average.model
        val_dsc, val_adf = validate(scored, splits.val, cfg, where)
        aug_states = _gather_aug_states(streams.aug, world)
        if rank == 0:
            row = log_row(epoch, stats, val_dsc, val_adf, lr, time.perf_counter() - t0)
            append_log(run_dir / "log.csv", row)
            score = val_dsc if t.select_by == "dsc" else -val_adf
            improved, best_score = select_best(
                score, best_score, epoch, t.average_from, fresh_start=ckpt is None
            )
            saved = TrainingState(
                model=scored,
                optimizer=optimizer,
                scheduler=scheduler,
                order_rng=streams.order,
                aug_states=aug_states,
                epoch=epoch,
                best_score=best_score,
                val_dsc=val_dsc,
                val_adf_mm=val_adf,
                config=to_dict(cfg),
                train_model=model if average is not None else None,
                average_count=average.count if average is not None else None,
            ).to_checkpoint()
            save_epoch(saved, improved, run_dir)
            if progress:
                tqdm.write(epoch_line(row, t.select_by, best_score))
        if world > 1:
            dist.barrier()
    epochs_run = max(0, t.epochs - state.start_epoch)
    return TrainResult(best_path, last_path, average.model if average else model, epochs_run)
