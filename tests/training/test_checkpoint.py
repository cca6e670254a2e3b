"""Training state: RNG streams, save and restore (what exact resume rests on)."""

from __future__ import annotations

import random

import numpy as np
import torch

from fetalseg.training.averaging import WeightAverage
from fetalseg.training.checkpoint import (
    TrainingState,
    load_checkpoint,
    restore_training_state,
    rng_state,
    save_atomic,
    set_rng_state,
)


def _draws(np_rng: np.random.Generator) -> tuple:
    return random.random(), float(np_rng.random()), float(torch.rand(1))


def test_rng_state_restores_every_stream():
    rng = np.random.default_rng(3)
    _draws(rng)
    state = rng_state(rng)
    first = _draws(rng)
    _draws(rng)
    set_rng_state(state, rng)
    assert _draws(rng) == first


def _objects(seed: int):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda e: 0.5**e)
    return model, optimizer, scheduler


def _step(model, optimizer, scheduler):
    model.train()
    optimizer.zero_grad()
    model(torch.randn(4, 3)).pow(2).mean().backward()
    optimizer.step()
    scheduler.step()


def test_state_saved_and_restored_continues_identically(tmp_path):
    model, optimizer, scheduler = _objects(0)
    order, aug = np.random.default_rng(1), np.random.default_rng([1, 0])
    _step(model, optimizer, scheduler)
    average = WeightAverage(model)
    average.update(model)
    saved = TrainingState(
        model=average.model,
        optimizer=optimizer,
        scheduler=scheduler,
        order_rng=order,
        aug_states=[aug.bit_generator.state],
        epoch=4,
        best_score=0.8,
        val_dsc=0.8,
        val_adf_mm=float("nan"),
        config={"model": {}, "data": {}},
        train_model=model,
        average_count=average.count,
    )
    save_atomic(saved.to_checkpoint(), tmp_path / "last.pt")
    expected_order = float(order.random())
    expected_aug = float(aug.random())
    _step(model, optimizer, scheduler)
    expected = [p.detach().clone() for p in model.parameters()]

    model2, optimizer2, scheduler2 = _objects(7)  # other weights, fresh optimiser
    order2, aug2 = np.random.default_rng(99), np.random.default_rng(98)
    ckpt = {**torch.load(tmp_path / "last.pt", weights_only=True)}
    resumed = restore_training_state(ckpt, model2, optimizer2, scheduler2, order2, aug2, rank=0)
    assert resumed.start_epoch == 5 and resumed.best_score == 0.8
    assert resumed.average is not None and resumed.average.count == 1
    for a, b in zip(resumed.average.model.parameters(), average.model.parameters()):
        assert torch.equal(a, b)
    assert float(order2.random()) == expected_order
    assert float(aug2.random()) == expected_aug
    assert scheduler2.last_epoch == scheduler.last_epoch - 1
    # the restored objects take the same next step as the originals did (Adam moments, and the
    # batch drawn from torch's restored stream)
    _step(model2, optimizer2, scheduler2)
    assert all(torch.equal(a, b) for a, b in zip(model2.parameters(), expected))


def test_a_checkpoint_without_best_score_uses_best_dsc():
    model, optimizer, scheduler = _objects(0)
    rng = np.random.default_rng(0)
    ckpt = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "rng": {"rank0": rng_state(rng), "aug": [rng.bit_generator.state]},
        "epoch": 0,
        "best_dsc": 0.5,
    }
    resumed = restore_training_state(ckpt, model, optimizer, scheduler, rng, rng)
    assert (resumed.start_epoch, resumed.best_score, resumed.average) == (1, 0.5, None)


def test_saved_checkpoint_passes_the_loader(tmp_path):
    model, optimizer, scheduler = _objects(0)
    rng = np.random.default_rng(0)
    config = {"model": {"name": "bisenet", "in_channels": 1}, "data": {"width": 64, "height": 64}}
    state = TrainingState(model, optimizer, scheduler, rng, [], 0, 0.1, 0.1, 1.0, config)
    save_atomic(state.to_checkpoint(), tmp_path / "x.pt")
    ckpt = load_checkpoint(tmp_path / "x.pt")
    assert "train_model" not in ckpt and ckpt["epoch"] == 0
