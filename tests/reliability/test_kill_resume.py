"""Interrupted training: SIGKILL at random points, then ``--resume``, until every epoch is done.

A real ``python -m fetalseg.cli.main train`` process on tiny synthetic data is killed three
times: once as soon as an epoch's log row appears (before or while its checkpoint is written:
the window where a resumed run used to log that epoch twice), then twice at a random moment of
a later epoch. After every kill ``last.pt`` (if any) must load and hold a complete epoch; the
last resume must start right after it, finish all epochs, and leave a log with every epoch once.
"""

from __future__ import annotations

import csv
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fetalseg.training.checkpoint import load_checkpoint

EPOCHS = 6
TIME_LIMIT_S = 90.0  # the whole test, kills and runs included (~20 s on a busy 2-core CPU)
ARGS = [
    "--set",
    "data.synthetic=10",
    "--set",
    "data.width=64",
    "--set",
    "data.height=64",
    "--set",
    "train.batch_size=2",
    "--set",
    "train.max_steps_per_epoch=2",
    "--set",
    "train.precision=fp32",
    "--set",
    f"train.epochs={EPOCHS}",
    "--set",
    "train.threads=1",
]


def start(run: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "fetalseg.cli.main", "train", "--out", str(run), "--resume"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [*cmd, "--quiet", *ARGS],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def logged_epochs(run: Path) -> list[int]:
    """Epochs of the complete rows of ``log.csv`` (a half-written last line is left out)."""
    path = run / "log.csv"
    if not path.exists():
        return []
    text = path.read_text()
    complete = text[: text.rfind("\n") + 1]
    return [int(float(r["epoch"])) for r in csv.DictReader(complete.splitlines()) if r["epoch"]]


def checkpoint_epochs(run: Path) -> int:
    """Epochs held by ``last.pt`` (0 without one); it must load whenever it exists."""
    path = run / "last.pt"
    if not path.exists():
        return 0
    ckpt = load_checkpoint(path)
    assert {"model", "optimizer", "scheduler", "rng", "epoch"} <= set(ckpt)
    return int(ckpt["epoch"]) + 1


def wait_for(predicate, proc: subprocess.Popen, deadline: float) -> None:
    while not predicate():
        assert proc.poll() is None, f"training ended early:\n{proc.stdout.read()}"
        assert time.monotonic() < deadline, "time limit reached"
        time.sleep(0.005)


@pytest.mark.slow  # a real CLI training killed and resumed three times
def test_sigkill_then_resume_until_done(tmp_path):
    rng = random.Random(int(os.environ.get("FETALSEG_KILL_SEED", "0")))
    run = tmp_path / "run"
    deadline = time.monotonic() + TIME_LIMIT_S
    history = []
    for kill in range(3):
        done = checkpoint_epochs(run)
        logged_before = len(logged_epochs(run))
        proc = start(run)
        try:
            if kill == 0:  # right after the first log row: its checkpoint is not (fully) written
                wait_for(lambda n=logged_before: len(logged_epochs(run)) > n, proc, deadline)
            else:  # at a random moment of the epoch after the next checkpoint
                target_mtime = (run / "last.pt").stat().st_mtime if done else 0.0
                wait_for(
                    lambda t=target_mtime: (
                        (run / "last.pt").exists() and (run / "last.pt").stat().st_mtime > t
                    ),
                    proc,
                    deadline,
                )
                time.sleep(rng.uniform(0.0, 1.0))
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            proc.stdout.close()
        epochs = checkpoint_epochs(run)  # loads, whatever moment the kill came at
        history.append((done, epochs, logged_epochs(run)))
        assert epochs >= done
        assert epochs < EPOCHS, "killed too late: the run had finished"
        logged = logged_epochs(run)
        # The log may be one row ahead of the checkpoint (killed in between), never behind.
        assert logged[:epochs] == list(range(1, epochs + 1)), history
        assert len(logged) <= epochs + 1, history

    done = checkpoint_epochs(run)
    proc = start(run)
    out, _ = proc.communicate(timeout=max(deadline - time.monotonic(), 1.0))
    assert proc.returncode == 0, out
    assert f"({EPOCHS - done} epochs run)" in out, (out, history)  # resumed after `done`
    assert checkpoint_epochs(run) == EPOCHS
    assert logged_epochs(run) == list(range(1, EPOCHS + 1)), history
    assert (run / "best.pt").exists()
    assert not list(run.glob(".*.tmp")), "a killed save's temporary file was not cleaned up"
    print(f"(checkpoint epochs before, after, logged epochs) per kill: {history}")
