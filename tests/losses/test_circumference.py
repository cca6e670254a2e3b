"""The moment-ellipse HC loss on synthetic ellipses of known size."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fetalseg.biometry.ellipse import ramanujan_formula, ramanujan_perimeter
from fetalseg.losses.circumference import CircumferenceLoss, moment_semi_axes
from fetalseg.losses.dice import DeepSupervisionDiceLoss


def ellipse_map(a: float, b: float, angle_deg: float = 0.0, centre=(190.3, 130.7)) -> torch.Tensor:
    """A filled ellipse ``(1, 1, 256, 384) float32`` with semi-axes ``a``, ``b`` px: the pixels
    whose centre lies inside (cv2.ellipse's filled outline is ~0.4 % larger)."""
    y, x = np.mgrid[0:256, 0:384].astype(np.float64)
    t = np.deg2rad(angle_deg)
    u = (x - centre[0]) * np.cos(t) + (y - centre[1]) * np.sin(t)
    v = -(x - centre[0]) * np.sin(t) + (y - centre[1]) * np.cos(t)
    m = ((u / a) ** 2 + (v / b) ** 2 <= 1).astype(np.float32)
    return torch.from_numpy(m)[None, None]


def logits_of(mask: torch.Tensor, scale: float = 8.0) -> torch.Tensor:
    return (mask * 2 - 1) * scale


@pytest.mark.parametrize("angle", [0.0, 33.0, 90.0, 145.0])
def test_moment_axes_of_a_filled_ellipse(angle):
    a, b, mass = moment_semi_axes(ellipse_map(120, 80, angle))
    assert a.item() == pytest.approx(120, rel=1e-3) and b.item() == pytest.approx(80, rel=1e-3)
    assert mass.item() == pytest.approx(np.pi * 120 * 80, rel=1e-3)


def test_the_tensor_perimeter_is_the_measured_one():
    a, b = torch.tensor([140.0, 50.0, 7.0]), torch.tensor([90.0, 50.0, 1.0])
    got = ramanujan_formula(a, b)
    want = [ramanujan_perimeter(x, y) for x, y in zip(a.tolist(), b.tolist())]
    assert torch.allclose(got, torch.tensor(want), rtol=1e-6)


def test_loss_is_the_relative_hc_error():
    truth = ellipse_map(140, 90, 33)
    loss = CircumferenceLoss()
    assert loss(logits_of(truth), truth).item() == pytest.approx(0.0, abs=1e-6)
    smaller = ellipse_map(140 * 0.98, 90 * 0.98, 33)
    assert loss(logits_of(smaller), truth).item() == pytest.approx(0.02, abs=2e-3)
    moved = ellipse_map(140, 90, 33, centre=(170.0, 120.0))  # position is not HC
    assert loss(logits_of(moved), truth).item() == pytest.approx(0.0, abs=1e-3)


def test_faint_background_probability_is_ignored():
    truth = ellipse_map(100, 70)
    # logit -5 outside (p = 0.7 %) over ~80 % of the image: without the band, this mass at
    # large distances would inflate the second moments by far more than 1 %
    faint = torch.where(truth > 0, 8.0, -5.0)
    assert CircumferenceLoss()(faint, truth).item() < 1e-3
    assert CircumferenceLoss(band=0.0)(faint, truth).item() > 0.05


def test_a_gradient_step_moves_a_small_outline_towards_the_truth():
    truth = ellipse_map(100, 70)
    logits = logits_of(ellipse_map(95, 66), scale=2.0).requires_grad_(True)
    loss = CircumferenceLoss()
    before = loss(logits, truth)
    before.backward()
    assert torch.isfinite(logits.grad).all()
    after = loss(logits.detach() - 2e4 * logits.grad, truth)
    assert after.item() < before.item()


def test_empty_truths_are_left_out_and_keep_a_gradient():
    empty = torch.zeros(2, 1, 32, 32)
    logits = torch.randn(2, 1, 32, 32, requires_grad=True)
    loss = CircumferenceLoss()(logits, empty)
    assert loss.item() == 0.0
    loss.backward()
    assert logits.grad is not None and torch.count_nonzero(logits.grad) == 0


def test_a_band_of_half_or_more_is_refused():
    with pytest.raises(ValueError, match="band"):
        CircumferenceLoss(band=0.5)


def test_deep_supervision_adds_the_weighted_hc_term():
    truth = ellipse_map(100, 70)
    pred = logits_of(ellipse_map(96, 67))
    dice_only = DeepSupervisionDiceLoss()(pred, truth).item()
    hc = CircumferenceLoss()(pred, truth).item()
    combined = DeepSupervisionDiceLoss(hc_weight=2.0)(pred, truth).item()
    assert hc > 0.03 and combined == pytest.approx(dice_only + 2.0 * hc, rel=1e-5)
