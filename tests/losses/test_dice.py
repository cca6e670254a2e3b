import math

import pytest
import torch

from fetalseg.losses.dice import DeepSupervisionDiceLoss, dice_loss
from fetalseg.models import TrainOutputs


def test_dice_loss_hand_computed():
    # p = sigmoid(0) = 0.5 everywhere on 4 pixels, truth has 2 ones:
    # 1 - (2 * 1 + 1) / (2 + 2 + 1) = 0.4
    logits = torch.zeros(1, 1, 2, 2)
    target = torch.tensor([[[[1.0, 1.0], [0.0, 0.0]]]])
    assert dice_loss(smooth=1.0)(logits, target).item() == pytest.approx(0.4)


def test_dice_loss_perfect_and_empty():
    target = torch.zeros(2, 1, 4, 4)
    target[0, 0, :2] = 1
    logits = (target * 2 - 1) * 50
    assert dice_loss()(logits, target).item() == pytest.approx(0.0, abs=1e-6)


def test_deep_supervision_weights_aux_by_alpha():
    target = torch.ones(2, 1, 4, 4)
    good, bad = torch.full((2, 1, 4, 4), 20.0), torch.full((2, 1, 4, 4), -20.0)
    single = dice_loss()(bad, target).item()
    combo = DeepSupervisionDiceLoss(alpha=0.5)(TrainOutputs(good, (bad, bad)), target).item()
    assert combo == pytest.approx(0.5 * 2 * single, rel=1e-5)
    assert DeepSupervisionDiceLoss()(good, target).item() == pytest.approx(0.0, abs=1e-5)


def test_loss_is_fp32_under_bf16():
    logits = torch.zeros(2, 1, 8, 8, dtype=torch.bfloat16, requires_grad=True)
    loss = DeepSupervisionDiceLoss()(logits, torch.ones(2, 1, 8, 8))
    assert loss.dtype == torch.float32
    loss.backward()
    assert logits.grad is not None


def test_bce_term_on_the_final_output_only():
    # final logit 0 on 4 pixels: BCE = ln 2 exactly; aux outputs get Dice only.
    target = torch.tensor([[[[1.0, 1.0], [0.0, 0.0]]]])
    final, aux = torch.zeros(1, 1, 2, 2), torch.full((1, 1, 2, 2), -20.0)
    outputs = TrainOutputs(final, (aux,))
    plain = DeepSupervisionDiceLoss(alpha=1.0)(outputs, target).item()
    with_bce = DeepSupervisionDiceLoss(alpha=1.0, bce_weight=2.0)(outputs, target).item()
    assert with_bce - plain == pytest.approx(2.0 * math.log(2.0), rel=1e-5)
