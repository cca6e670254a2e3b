"""Training on tiny synthetic data: a few steps, resume, DDP. Never a full schedule."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from fetalseg.config import load_config
from fetalseg.errors import InputError
from fetalseg.training.checkpoint import load_checkpoint
from fetalseg.training.runlog import read_log, truncate_log
from fetalseg.training.trainer import lr_factor, train

TINY = [
    "data.synthetic=10",
    "data.width=64",
    "data.height=64",
    "train.batch_size=2",
    "train.max_steps_per_epoch=2",
    "train.precision=fp32",
    "train.threads=1",
]


def tiny_cfg(*extra: str):
    return load_config(None, [*TINY, *extra])


def test_lr_schedule_is_the_reference():
    t = tiny_cfg().train
    assert [lr_factor(e, t) for e in (0, 49, 50, 69, 70, 89, 90, 99)] == [
        1,
        1,
        0.5,
        0.5,
        0.25,
        0.25,
        0.125,
        0.125,
    ]


@pytest.mark.slow  # a training run
def test_train_writes_run_folder(tmp_path):
    result = train(tiny_cfg("train.epochs=2"), tmp_path, progress=False)
    assert result.epochs_run == 2
    for name in ("config.yaml", "last.pt", "best.pt", "log.csv", "curves.png"):
        assert (tmp_path / name).is_file(), name
    log = read_log(tmp_path / "log.csv")
    assert [r["epoch"] for r in log] == [1, 2]
    assert all(0 <= r["val_dsc"] <= 1 and r["images_per_s"] > 0 for r in log)
    ckpt = load_checkpoint(tmp_path / "last.pt")
    assert ckpt["config"]["train"]["epochs"] == 2 and ckpt["epoch"] == 1
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())


@pytest.mark.slow  # a training run
def test_resume_continues_exactly(tmp_path):
    straight = train(tiny_cfg("train.epochs=3"), tmp_path / "a", progress=False)
    train(tiny_cfg("train.epochs=1"), tmp_path / "b", progress=False)
    resumed = train(tiny_cfg(), tmp_path / "b", resume=True, progress=False, epochs=3)
    assert resumed.epochs_run == 2
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [r["epoch"] for r in read_log(tmp_path / "b" / "log.csv")] == [1, 2, 3]
    again = train(tiny_cfg(), tmp_path / "b", resume=True, progress=False)
    assert again.epochs_run == 0  # already complete: nothing to do


@pytest.mark.slow  # a training run
def test_resume_applies_the_epochs_override_and_refuses_other_changes(tmp_path):
    """``fetalseg train --resume --set train.epochs=N`` extends the stored run (it used to be
    ignored: the stored config replaced the overridden one); other overrides are refused."""
    train(tiny_cfg("train.epochs=1"), tmp_path, progress=False)
    overrides = [*TINY, "train.epochs=2"]
    resumed = train(load_config(None, overrides), tmp_path, True, False, overrides=overrides)
    assert resumed.epochs_run == 1
    assert load_checkpoint(tmp_path / "last.pt")["config"]["train"]["epochs"] == 2
    with pytest.raises(InputError, match=r"train\.lr = 0\.1: a resumed run keeps"):
        train(tiny_cfg("train.lr=0.1"), tmp_path, True, False, overrides=["train.lr=0.1"])


@pytest.mark.slow  # a training run
def test_bf16_channels_last_step(tmp_path):
    result = train(
        tiny_cfg("train.epochs=1", "train.precision=bf16", "train.channels_last=true"),
        tmp_path,
        progress=False,
    )
    assert all(torch.isfinite(p).all() for p in result.model.parameters())


@pytest.mark.slow  # a training run
def test_best_by_hc_adf_logs_and_keeps_the_lowest(tmp_path):
    train(tiny_cfg("train.epochs=3", "train.select_by=hc_adf"), tmp_path, progress=False)
    log = read_log(tmp_path / "log.csv")
    adf = [r["val_adf_mm"] for r in log]
    assert all(a > 0 for a in adf)  # synthetic frames know their HC; untrained nets miss it
    best = load_checkpoint(tmp_path / "best.pt")
    assert best["val_adf_mm"] == pytest.approx(min(adf), abs=1e-3)
    assert best["best_score"] == pytest.approx(-min(adf), abs=1e-3)


@pytest.mark.slow  # a training run
def test_init_from_starts_at_the_given_weights(tmp_path, tiny_checkpoint):
    start = load_checkpoint(tiny_checkpoint)["model"]
    # lr 1e-12: Adam moves each weight by ~1e-12, so the end state is the start state.
    cfg = tiny_cfg("train.epochs=1", "train.lr=1e-12", f"train.init_from={tiny_checkpoint}")
    end = train(cfg, tmp_path, progress=False).model.state_dict()
    convs = [k for k in start if k.endswith("weight") and start[k].ndim == 4]
    convs = [k for k in convs if not k.startswith("aux")]  # aux heads keep their own init
    assert convs and all(torch.allclose(start[k], end[k], atol=1e-9) for k in convs)
    fresh = train(tiny_cfg("train.epochs=1", "train.lr=1e-12"), tmp_path / "fresh", progress=False)
    assert not torch.allclose(start[convs[0]], fresh.model.state_dict()[convs[0]])


def test_init_from_refuses_another_size_or_a_missing_file(tmp_path, tiny_checkpoint):
    other = tiny_cfg("data.width=96", f"train.init_from={tiny_checkpoint}")
    with pytest.raises(InputError, match="holds bisenet at 64x64"):
        train(other, tmp_path, progress=False)
    with pytest.raises(InputError, match=r"train\.init_from"):
        train(tiny_cfg(f"train.init_from={tmp_path / 'nope.pt'}"), tmp_path, progress=False)
    with pytest.raises(InputError, match=r"train\.select_by"):
        train(tiny_cfg("train.select_by=hd95"), tmp_path, progress=False)


@pytest.mark.parametrize("newline", ["\n", "\r\n"])  # csv.DictWriter wrote CRLF
def test_log_from_before_hc_adf_is_upgraded_on_resume(tmp_path, newline):
    log = tmp_path / "log.csv"
    lines = ["epoch,train_loss,val_dsc,lr,images_per_s,seconds"]
    lines += ["1,0.5,0.9,0.0003,10.0,50.0", "2,0.4,0.92,0.0003,10.0,50.0", "3,0.3,0.9"]
    log.write_bytes(newline.join(lines).encode())
    truncate_log(log, 2)
    rows = read_log(log)
    assert [r["epoch"] for r in rows] == [1, 2]
    assert rows[1]["val_dsc"] == 0.92 and rows[1]["lr"] == 0.0003
    assert all(r["val_adf_mm"] != r["val_adf_mm"] for r in rows)  # NaN: not measured then


@pytest.mark.slow  # a training run
def test_resume_of_a_checkpoint_that_knows_only_best_dsc(tmp_path):
    """Checkpoints written before ``best_score`` existed resume with their ``best_dsc``: an
    epoch scoring below it does not replace best.pt."""
    train(tiny_cfg("train.epochs=1"), tmp_path, progress=False)
    last = load_checkpoint(tmp_path / "last.pt")
    del last["best_score"]
    last["best_dsc"] = 2.0  # unbeatable: no later epoch may count as better
    torch.save(last, tmp_path / "last.pt")
    before = (tmp_path / "best.pt").stat().st_mtime_ns
    train(tiny_cfg(), tmp_path, resume=True, progress=False, epochs=2)
    assert (tmp_path / "best.pt").stat().st_mtime_ns == before
    assert load_checkpoint(tmp_path / "last.pt")["best_score"] == 2.0


def test_init_from_names_what_cannot_be_used(tmp_path, tiny_checkpoint):
    # the shipped model is 384x256: refused for a 64x64 run, with both sizes named
    with pytest.raises(InputError, match=r"holds bisenet at 384x256.*trains bisenet at 64x64"):
        train(tiny_cfg("train.init_from=shipped"), tmp_path, progress=False)
    from fetalseg.inference.weights import shipped_int8

    with pytest.raises(InputError, match="ONNX export has no trainable weights"):
        cfg = tiny_cfg("data.width=384", "data.height=256", f"train.init_from={shipped_int8()}")
        train(cfg, tmp_path, progress=False)


def test_too_few_images_is_clear(tmp_path):
    with pytest.raises(ValueError, match="batch size"):
        train(tiny_cfg("train.epochs=1", "train.batch_size=64"), tmp_path, progress=False)


WORKER = """
import sys, torch, torch.distributed as dist
from fetalseg.config import load_config
from fetalseg.training.trainer import train
dist.init_process_group("gloo")
cfg = load_config(None, sys.argv[2:])
result = train(cfg, sys.argv[1], progress=False)
torch.save(result.model.state_dict(), f"{sys.argv[1]}/rank{dist.get_rank()}.pt")
dist.destroy_process_group()
"""


@pytest.mark.slow  # a training run
def test_ddp_two_cpu_processes_end_identical(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    run = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        str(script),
        str(run),
        *TINY,
        "train.epochs=2",
        "train.average_from=2",  # the average's BatchNorm statistics are rank 0's too
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    w0 = torch.load(run / "rank0.pt")
    w1 = torch.load(run / "rank1.pt")
    assert all(torch.equal(w0[k], w1[k]) for k in w0)
    assert Path(run / "last.pt").is_file()


@pytest.mark.slow  # a training run
def test_data_cache_is_written_reused_and_enough_alone(tmp_path):
    from fetalseg.data.synthetic import write_hc18_layout

    root = write_hc18_layout(tmp_path / "hc18", n_subjects=12, frame_size=(128, 96))
    cache = tmp_path / "cache"
    sets = [
        "data.width=64",
        "data.height=64",
        "train.epochs=1",
        "train.batch_size=2",
        "train.max_steps_per_epoch=1",
        "train.precision=fp32",
        "train.threads=1",
        "data.soft_masks=true",
        "train.augment.gamma=0.3",
        f"data.cache={cache}",
    ]
    cfg = load_config(None, [*sets, f"data.root={root}"])
    train(cfg, tmp_path / "a", progress=False)
    files = sorted(p.name for p in cache.iterdir())
    assert files == [
        "hc18_train_64x64_split0.68-0.17-0.15_seed0.npz",
        "hc18_val_64x64_split0.68-0.17-0.15_seed0.npz",
    ]
    # without the images, the cache alone trains the same first epoch
    alone = load_config(None, [*sets, f"data.root={tmp_path / 'gone'}"])
    train(alone, tmp_path / "b", progress=False)
    a, b = read_log(tmp_path / "a" / "log.csv"), read_log(tmp_path / "b" / "log.csv")
    assert a[0]["train_loss"] == b[0]["train_loss"] and a[0]["val_dsc"] == b[0]["val_dsc"]


def test_a_stale_cache_is_rebuilt(tmp_path):
    from fetalseg.data.synthetic import write_hc18_layout
    from fetalseg.training.trainer import load_splits

    cfg = load_config(
        None,
        [
            f"data.root={write_hc18_layout(tmp_path / 'one', n_subjects=9, frame_size=(96, 64))}",
            "data.width=32",
            "data.height=32",
            f"data.cache={tmp_path / 'cache'}",
        ],
    )
    first = load_splits(cfg)
    cfg.data.root = str(write_hc18_layout(tmp_path / "two", n_subjects=12, frame_size=(96, 64)))
    second = load_splits(cfg)
    assert len(second.train) + len(second.val) > len(first.train) + len(first.val)


def test_a_cache_whose_pixel_sizes_changed_is_rebuilt(tmp_path):
    from fetalseg.data.synthetic import write_hc18_layout
    from fetalseg.training.trainer import load_splits

    root = write_hc18_layout(tmp_path / "hc18", n_subjects=9, frame_size=(96, 64))
    cfg = load_config(
        None,
        [f"data.root={root}", "data.width=32", "data.height=32", f"data.cache={tmp_path / 'c'}"],
    )
    first = load_splits(cfg)
    csv = root / "training_set_pixel_size_and_HC.csv"
    csv.write_text(csv.read_text().replace(",0.3,", ",0.25,"))
    second = load_splits(cfg)
    assert np.all(first.train.pixel_size_mm == 0.3)
    assert np.all(second.train.pixel_size_mm == 0.25)


@pytest.mark.slow  # a training run
def test_training_with_averaging_saves_the_mean_of_the_epochs(tmp_path):
    one = train(tiny_cfg("train.epochs=1"), tmp_path / "one", progress=False)
    two = train(
        tiny_cfg("train.epochs=2", "train.average_from=1"), tmp_path / "two", progress=False
    )
    last = load_checkpoint(tmp_path / "two" / "last.pt")
    assert last["average_count"] == 2
    w1, w2 = one.model.state_dict(), last["train_model"]
    params = dict(two.model.named_parameters())
    assert params and all(
        torch.allclose(p, (w1[k] + w2[k]) / 2, atol=1e-6) for k, p in params.items()
    )
    # averaging does not change what is trained: the same weights as a run without it
    plain = train(tiny_cfg("train.epochs=2"), tmp_path / "plain", progress=False)
    assert all(torch.equal(v, w2[k]) for k, v in plain.model.state_dict().items())


@pytest.mark.slow  # a training run
def test_averaging_resumes_exactly(tmp_path):
    # averaging from epoch 1: at the break the average (of 2 epochs) and the trained weights
    # differ, so resuming from the wrong one of the two shows
    cfg = ("train.average_from=1",)
    straight = train(tiny_cfg("train.epochs=3", *cfg), tmp_path / "a", progress=False)
    train(tiny_cfg("train.epochs=2", *cfg), tmp_path / "b", progress=False)
    resumed = train(tiny_cfg(*cfg), tmp_path / "b", resume=True, progress=False, epochs=3)
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    last_a, last_b = (load_checkpoint(tmp_path / r / "last.pt") for r in "ab")
    assert all(torch.equal(v, last_b["train_model"][k]) for k, v in last_a["train_model"].items())
    assert last_b["average_count"] == 3


@pytest.mark.slow  # a training run
def test_best_checkpoint_holds_an_average_once_averaging_starts(tmp_path):
    cfg = tiny_cfg("train.epochs=3", "train.average_from=3", "train.select_by=hc_adf")
    train(cfg, tmp_path, progress=False)
    best, last = (load_checkpoint(tmp_path / f"{n}.pt") for n in ("best", "last"))
    assert best["epoch"] == 2 and best["average_count"] == 1  # not an earlier, better epoch
    # its BatchNorm statistics were measured again, not those of the trained weights
    stats = [k for k in best["model"] if k.endswith("running_mean")]
    assert stats and any(not torch.equal(best["model"][k], last["train_model"][k]) for k in stats)


@pytest.mark.parametrize("value", ["-1", "4"])
def test_average_from_outside_the_run_is_refused(tmp_path, value):
    with pytest.raises(InputError, match=r"train\.average_from = -?\d: must be 0 \(off\)"):
        train(tiny_cfg("train.epochs=3", f"train.average_from={value}"), tmp_path, progress=False)


@pytest.mark.slow  # a training run
def test_train_on_val_adds_the_validation_images_to_each_epoch(tmp_path):
    def steps(*extra: str) -> int:
        cfg = tiny_cfg("train.epochs=1", "train.max_steps_per_epoch=0", *extra)
        train(cfg, tmp_path / "_".join(extra or ("plain",)), progress=False)
        optimizer = load_checkpoint(tmp_path / "_".join(extra or ("plain",)) / "last.pt")
        return int(optimizer["optimizer"]["state"][0]["step"])

    # 10 synthetic frames: 8 train + 2 validation, batches of 2
    assert (steps(), steps("data.train_on_val=true")) == (4, 5)
