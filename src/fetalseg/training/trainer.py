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
"""

from __future__ import annotations

import contextlib
import csv
import math
import os
import random
import time
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from tqdm import tqdm

from fetalseg.config import RunConfig, from_dict, save_config, to_dict
from fetalseg.data.dataset import CachedSet, cache_records, iterate_batches, load_cached
from fetalseg.errors import InputError
from fetalseg.losses.dice import DeepSupervisionDiceLoss
from fetalseg.metrics.segmentation import overlap_metrics
from fetalseg.models import MODELS, create_model_from_config
from fetalseg.training.averaging import WeightAverage
from fetalseg.training.checkpoint import load_checkpoint, save_atomic
from fetalseg.training.hardware import pick_device, use_bf16

LOG_FIELDS = ["epoch", "train_loss", "val_dsc", "val_adf_mm", "lr", "images_per_s", "seconds"]
#: The log's columns before ``val_adf_mm`` was added: such logs are upgraded on resume.
_LEGACY_LOG_FIELDS = ["epoch", "train_loss", "val_dsc", "lr", "images_per_s", "seconds"]
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


def _rng_state(np_rng: np.random.Generator) -> dict[str, Any]:
    return {
        "python": random.getstate(),
        "numpy": np_rng.bit_generator.state,
        "torch": torch.get_rng_state(),
    }


def _set_rng_state(state: dict[str, Any], np_rng: np.random.Generator) -> None:
    random.setstate(state["python"])
    np_rng.bit_generator.state = state["numpy"]
    torch.set_rng_state(state["torch"])


def train(
    cfg: RunConfig,
    run_dir: str | Path,
    resume: bool = False,
    progress: bool = True,
    epochs: int | None = None,
) -> TrainResult:
    """Train per ``cfg`` into ``run_dir``.

    With ``resume``, continues from ``run_dir/last.pt`` exactly where it stopped (model,
    optimiser, scheduler, RNG streams, epoch, best score); the config stored there wins, except
    that ``epochs`` (if given) sets a new total, e.g. to extend a finished run.
    """
    run_dir = Path(run_dir)
    rank, world = _rank_world()
    last_path, best_path = run_dir / "last.pt", run_dir / "best.pt"
    ckpt = None
    if resume and last_path.exists():
        ckpt = load_checkpoint(last_path)
        cfg = from_dict(RunConfig, ckpt["config"])
    if epochs is not None:
        cfg.train.epochs = epochs
    check_config(cfg, resuming=ckpt is not None)
    t = cfg.train
    if t.threads > 0:
        torch.set_num_threads(t.threads)
    random.seed(t.seed)
    torch.manual_seed(t.seed)
    order_rng = np.random.default_rng(t.seed)  # identical on every rank: same shuffled order
    aug_rng = np.random.default_rng([t.seed, rank])  # own augmentation stream per rank

    device = pick_device()
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", rank % torch.cuda.device_count())
    bf16 = use_bf16(t.precision, device)
    memory_format = torch.channels_last if t.channels_last else torch.contiguous_format

    # The model is built before the data is read (no RNG is drawn in between), so that a size
    # it cannot take is refused at once.
    try:
        # a resumed run's weights come from its checkpoint: no need for the pretrained file
        model = create_model_from_config(
            to_dict(cfg.model), pretrained=cfg.model.pretrained and ckpt is None
        )
    except ValueError as e:
        raise InputError(f"config model: {e}") from None
    if t.init_from and ckpt is None:
        _initial_weights(model, cfg)
    stride = model.output_stride
    if cfg.data.width % stride or cfg.data.height % stride:
        raise InputError(
            f"config data.width x data.height = {cfg.data.width}x{cfg.data.height}: "
            f"must be multiples of {stride} for model {cfg.model.name!r}"
        )
    splits = load_splits(cfg, progress=progress and rank == 0)
    if cfg.data.train_on_val:
        splits = Splits(splits.train + splits.val, splits.val)
    if len(splits.train) < 2 * world:
        raise InputError(f"need at least {2 * world} training images, got {len(splits.train)}")
    if len(splits.val) == 0:
        raise InputError(
            f"config data.fractions = {tuple(cfg.data.fractions)}: the validation split is empty"
        )
    if t.select_by == "hc_adf" and not np.isfinite(splits.val.hc_mm).any():
        raise InputError("config train.select_by = 'hc_adf': no validation image has a known HC")
    model.to(device=device, memory_format=memory_format)
    optimizer = torch.optim.Adam(model.parameters(), lr=t.lr)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda e: lr_factor(e, t))
    loss_fn = DeepSupervisionDiceLoss(alpha=t.alpha, bce_weight=t.bce_weight, hc_weight=t.hc_weight)
    # Higher is better for both: DSC, or minus the HC ADF.
    start_epoch, best_score = 0, -math.inf
    average: WeightAverage | None = None
    if ckpt is not None:
        model.load_state_dict(ckpt.get("train_model", ckpt["model"]))
        if "average_count" in ckpt:
            average = WeightAverage(model)
            average.model.load_state_dict(ckpt["model"])
            average.count = ckpt["average_count"]
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        _set_rng_state(ckpt["rng"]["rank0"], order_rng)
        aug_rng.bit_generator.state = ckpt["rng"]["aug"][rank]
        start_epoch = ckpt["epoch"] + 1
        best_score = ckpt.get("best_score", ckpt.get("best_dsc", -math.inf))
    ddp_model = model
    if world > 1:
        ddp_model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )

    if rank == 0:
        run_dir.mkdir(parents=True, exist_ok=True)
        save_config(cfg, run_dir / "config.yaml")
        # A kill after an epoch's log row but before its checkpoint leaves a row the checkpoint
        # does not hold: drop it (the epoch is trained again), so the log never repeats an epoch.
        _truncate_log(run_dir / "log.csv", start_epoch)
        for name in (last_path.name, best_path.name):  # temporaries of saves that were killed
            for stale in run_dir.glob(f".{name}.*.tmp"):
                stale.unlink(missing_ok=True)
    batch = t.batch_size
    epochs_run = 0
    for epoch in range(start_epoch, t.epochs):
        epochs_run += 1
        order = order_rng.permutation(len(splits.train))
        per_rank = len(order) // world
        shard = order[rank * per_rank : (rank + 1) * per_rank]
        steps = len(shard) // batch
        if t.max_steps_per_epoch:
            steps = min(steps, t.max_steps_per_epoch)
        if steps == 0:
            raise InputError(f"batch size {batch} exceeds the {len(shard)} images per rank")
        ddp_model.train()
        losses, seen, t0 = [], 0, time.perf_counter()
        bar = tqdm(
            total=steps,
            desc=f"epoch {epoch + 1}/{t.epochs}",
            disable=not progress or rank > 0,
            leave=False,
        )
        batches = iterate_batches(
            splits.train,
            batch,
            shard[: steps * batch],
            t.augment,
            aug_rng,
            drop_last=True,
            in_channels=cfg.model.in_channels,
            soft=cfg.data.soft_masks,
        )
        for x, y in batches:
            x = x.to(device, memory_format=memory_format)
            losses.append(train_step(ddp_model, x, y.to(device), loss_fn, optimizer, bf16))
            seen += len(x)
            rate = seen * world / (time.perf_counter() - t0)
            bar.set_postfix(loss=f"{np.mean(losses):.4f}", img_s=f"{rate:.1f}")
            bar.update()
        bar.close()
        train_seconds = time.perf_counter() - t0
        if world > 1:
            # DDP averages gradients, but BN running statistics are per rank: take rank 0's so
            # that every rank validates and ends with the same model.
            for buf in model.buffers():
                dist.broadcast(buf, src=0)
        lr = optimizer.param_groups[0]["lr"]
        scheduler.step()

        scored = model
        if t.average_from and epoch + 1 >= t.average_from:
            average = average or WeightAverage(model)
            average.update(model)
            # All training images (unaugmented, fixed order), or as many steps as the epoch
            # was capped to; rank 0's statistics are then everyone's, as for the trained model.
            inputs = iterate_batches(
                splits.train, batch, drop_last=True, in_channels=cfg.model.in_channels
            )
            if t.max_steps_per_epoch:
                inputs = islice(inputs, t.max_steps_per_epoch)
            average.recompute_batchnorm(
                (x.to(device, memory_format=memory_format) for x, _ in inputs), bf16
            )
            if world > 1:
                for buf in average.model.buffers():
                    dist.broadcast(buf, src=0)
            scored = average.model
        logits = predict_logits(
            scored, splits.val, batch, device, bf16, t.channels_last, cfg.model.in_channels
        )
        val_dsc = float(overlap_metrics(logits > 0, splits.val.masks)["dsc"].mean())
        hc_errors = hc_abs_errors(logits, splits.val)
        val_adf = float(hc_errors.mean()) if hc_errors.size else float("nan")
        aug_states = [aug_rng.bit_generator.state]
        if world > 1:
            aug_states = [None] * world
            dist.all_gather_object(aug_states, aug_rng.bit_generator.state)
        if rank == 0:
            row = {
                "epoch": epoch + 1,
                "train_loss": round(float(np.mean(losses)), 6),
                "val_dsc": round(val_dsc, 6),
                "val_adf_mm": round(val_adf, 4),
                "lr": lr,
                "images_per_s": round(seen * world / train_seconds, 2),
                "seconds": round(time.perf_counter() - t0, 1),
            }
            _append_log(run_dir / "log.csv", row)
            score = val_dsc if t.select_by == "dsc" else -val_adf
            # a NaN score never improves, yet a run always has a best.pt; once averaging starts,
            # only averages compete (an earlier epoch's single weights are not what it selects)
            restart = t.average_from > 1 and epoch + 1 == t.average_from
            improved = score > best_score or (ckpt is None and epoch == 0) or restart
            best_score = score if restart else max(best_score, score)
            state = {
                "model": scored.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "rng": {"rank0": _rng_state(order_rng), "aug": aug_states},
                "epoch": epoch,
                "best_score": best_score,
                "val_dsc": val_dsc,
                "val_adf_mm": val_adf,
                "config": to_dict(cfg),
            }
            if average is not None:
                state["train_model"] = model.state_dict()
                state["average_count"] = average.count
            # best before last: a kill in between leaves last.pt at the previous epoch, which
            # is trained again and (exact resume) reaches the same best.pt.
            if improved:
                save_atomic(state, best_path)
            save_atomic(state, last_path)
            _plot_log(run_dir / "log.csv", run_dir / "curves.png")
            if progress:
                tqdm.write(
                    f"epoch {epoch + 1}: loss {row['train_loss']:.4f}  val DSC {val_dsc:.4f}"
                    f"  HC ADF {val_adf:.2f} mm  best {t.select_by} {abs(best_score):.4f}"
                    f"  lr {lr:.2e}  {row['images_per_s']} img/s"
                )
        if world > 1:
            dist.barrier()
    return TrainResult(best_path, last_path, average.model if average else model, epochs_run)


def _append_log(path: Path, row: dict[str, Any]) -> None:
    new = not path.exists()
    with path.open("a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=LOG_FIELDS)
        if new:
            writer.writeheader()
        writer.writerow(row)


def _truncate_log(path: Path, epochs_done: int) -> None:
    """Keep the header and the rows of epochs ``1..epochs_done``; drop later rows and a
    half-written last line (a killed write). Replaced atomically; removed if the header itself
    is incomplete."""
    if not path.exists():
        return
    with path.open(newline="") as f:
        lines = f.readlines()
    upgraded = bool(lines) and lines[0].rstrip("\r\n") == ",".join(_LEGACY_LOG_FIELDS)
    if upgraded:
        lines = _upgrade_legacy_log(lines)
    if not lines or lines[0] not in (",".join(LOG_FIELDS) + "\r\n", ",".join(LOG_FIELDS) + "\n"):
        path.unlink()
        return
    keep = lines[:1]
    for line in lines[1:]:
        cells = line.rstrip("\r\n").split(",")
        if not line.endswith("\n") or len(cells) != len(LOG_FIELDS):
            break
        try:
            if int(float(cells[0])) > epochs_done:
                break
        except ValueError:
            break
        keep.append(line)
    if keep != lines or upgraded:
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("w", newline="") as f:
            f.writelines(keep)
        os.replace(tmp, path)


def _upgrade_legacy_log(lines: list[str]) -> list[str]:
    """A log written before ``val_adf_mm`` existed, with that column as ``nan`` (not measured);
    a half-written last line stays half-written, for the caller to drop."""
    at = LOG_FIELDS.index("val_adf_mm")
    out = [",".join(LOG_FIELDS) + "\n"]
    for line in lines[1:]:
        if not line.endswith("\n"):
            out.append(line)
            break
        cells = line.rstrip("\r\n").split(",")
        out.append(",".join([*cells[:at], "nan", *cells[at:]]) + "\n")
    return out


def read_log(path: str | Path) -> list[dict[str, float]]:
    with Path(path).open(newline="") as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def _plot_log(log_path: Path, png_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_log(log_path)
    epochs = [r["epoch"] for r in rows]
    panels = {
        "train_loss": "training loss",
        "val_dsc": "validation DSC",
        "val_adf_mm": "validation HC ADF (mm)",
        "lr": "learning rate",
    }
    fig, axes = plt.subplots(1, len(panels), figsize=(16, 3.2))
    for ax, (key, title) in zip(axes, panels.items()):
        ax.plot(epochs, [r[key] for r in rows], marker=".")
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    with contextlib.suppress(OSError):
        fig.savefig(png_path, dpi=100)
    plt.close(fig)
