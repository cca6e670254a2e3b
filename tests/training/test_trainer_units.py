"""The units :func:`fetalseg.training.trainer.train` is made of, each alone (no full run)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from fetalseg.config import RunConfig, load_config, to_dict
from fetalseg.data.synthetic import synthetic_set
from fetalseg.errors import InputError
from fetalseg.models import create_model
from fetalseg.training.runlog import LOG_FIELDS, append_log, read_log
from fetalseg.training.trainer import (
    EpochStats,
    Placement,
    epoch_line,
    epoch_shard,
    initial_model,
    log_row,
    optimisation,
    prepare_run_dir,
    resumed_config,
    seed_streams,
    select_best,
    train_epoch,
    update_average,
    validate,
)

CPU = Placement(rank=0, world=1, device=torch.device("cpu"), bf16=False, channels_last=False)


def _cfg(*overrides: str) -> RunConfig:
    base = ["data.width=64", "data.height=64", "train.batch_size=2", "train.precision=fp32"]
    return load_config(None, [*base, *overrides])


def test_resumed_config_applies_allowed_overrides_and_refuses_others():
    stored = to_dict(_cfg("train.epochs=3", "train.lr=0.001"))
    cfg = resumed_config(stored, ["train.epochs=5", "train.threads=1"])
    assert (cfg.train.epochs, cfg.train.threads, cfg.train.lr) == (5, 1, 0.001)
    assert resumed_config(stored, ["train.epochs=5"], epochs=7).train.epochs == 7
    assert resumed_config(stored, ["train.lr=0.001"]).train.lr == 0.001  # unchanged: fine
    with pytest.raises(InputError, match=r"train\.lr = 0\.1: a resumed run keeps .* 0\.001"):
        resumed_config(stored, ["train.lr=0.1"])
    with pytest.raises(InputError, match="unknown key"):
        resumed_config(stored, ["train.nope=1"])


def test_epoch_shards_split_one_order_across_ranks():
    t = _cfg("train.max_steps_per_epoch=0").train
    shards = [epoch_shard(np.random.default_rng(0), 11, t, rank, 2) for rank in (0, 1)]
    assert [len(s) for s in shards] == [4, 4]  # 5 per rank, cut to whole batches of 2
    assert not set(shards[0]) & set(shards[1])
    capped = epoch_shard(np.random.default_rng(0), 11, _cfg("train.max_steps_per_epoch=1").train)
    assert len(capped) == 2
    with pytest.raises(InputError, match="batch size 2 exceeds the 1 images per rank"):
        epoch_shard(np.random.default_rng(0), 3, t, 0, 2)


@pytest.mark.parametrize(
    ("score", "best", "epoch", "average_from", "fresh", "expected"),
    [
        (0.9, 0.8, 3, 0, False, (True, 0.9)),
        (0.7, 0.8, 3, 0, False, (False, 0.8)),
        (math.nan, -math.inf, 0, 0, True, (True, -math.inf)),  # a run always has a best.pt
        (math.nan, 0.8, 3, 0, False, (False, 0.8)),  # NaN never improves
        (0.5, 0.8, 3, 4, False, (True, 0.5)),  # averaging starts at epoch 4: best restarts
        (0.5, 0.8, 3, 1, False, (False, 0.8)),  # averaging from the start: no restart
    ],
)
def test_select_best(score, best, epoch, average_from, fresh, expected):
    assert select_best(score, best, epoch, average_from, fresh) == expected


def test_seed_streams_are_reproducible_and_per_rank_for_augmentation():
    a, b, other = seed_streams(3, 0), seed_streams(3, 0), seed_streams(3, 1)
    assert a.order.random() == b.order.random() == seed_streams(3, 1).order.random()
    assert a.aug.random() == b.aug.random() != other.aug.random()


def test_build_model_refuses_a_size_the_model_cannot_take():
    assert initial_model(_cfg(), resuming=False).output_stride == 32
    with pytest.raises(InputError, match="multiples of 32 for model 'bisenet'"):
        initial_model(_cfg("data.width=80"), resuming=False)
    assert initial_model(_cfg("model.name=unet", "data.width=80"), resuming=False).name == "unet"


def test_train_epoch_steps_the_optimiser_and_validate_scores():
    cfg = _cfg("model.name=unet", "train.max_steps_per_epoch=2")
    data = synthetic_set(6, (64, 64), seed=0)
    torch.manual_seed(0)
    model = create_model("unet", base_width=4)
    optimizer, _, loss_fn = optimisation(model, cfg.train)
    before = [p.detach().clone() for p in model.parameters()]
    indices = epoch_shard(np.random.default_rng(0), len(data), cfg.train)
    aug_rng = np.random.default_rng(1)
    stats = train_epoch(model, data, indices, cfg, optimizer, loss_fn, aug_rng, CPU)
    assert stats.images == 4 and stats.seconds > 0 and math.isfinite(stats.loss)
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    dsc, adf = validate(model, data, cfg, CPU)
    assert 0 <= dsc <= 1 and adf >= 0
    average = update_average(None, model, data, cfg, CPU)
    average = update_average(average, model, data, cfg, CPU)
    assert average.count == 2 and not average.model.training


def test_log_row_and_line():
    stats = EpochStats(loss=0.1234567, images=40, seconds=4.0)
    row = log_row(0, stats, 0.9123456, 1.23456, 3e-4, 12.34)
    assert list(row) == LOG_FIELDS
    assert row == {
        "epoch": 1,
        "train_loss": 0.123457,
        "val_dsc": 0.912346,
        "val_adf_mm": 1.2346,
        "lr": 3e-4,
        "images_per_s": 10.0,
        "seconds": 12.3,
    }
    assert epoch_line(row, "dsc", 0.9123) == (
        "epoch 1: loss 0.1235  val DSC 0.9123  HC ADF 1.23 mm  best dsc 0.9123  lr 3.00e-04  "
        "10.0 img/s"
    )


def test_prepare_run_dir_writes_config_truncates_log_and_drops_temporaries(tmp_path):
    stats = EpochStats(0.1, 4, 1.0)
    for epoch in range(3):
        append_log(tmp_path / "log.csv", log_row(epoch, stats, 0.9, 1.0, 1e-3, 1.0))
    stale = tmp_path / ".last.pt.abc.tmp"
    stale.write_bytes(b"cut")
    prepare_run_dir(tmp_path, _cfg(), epochs_done=2)
    assert (tmp_path / "config.yaml").is_file() and not stale.exists()
    assert [r["epoch"] for r in read_log(tmp_path / "log.csv")] == [1, 2]
