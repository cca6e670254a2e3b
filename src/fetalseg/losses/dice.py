"""Dice losses (eq. 2 of the reference; Milletari et al., V-Net, 3DV 2016).

Soft Dice per image on sigmoid probabilities ``p`` and truth ``g``:
``L = 1 - (2 * sum(p * g) + s) / (sum(p) + sum(g) + s)``, averaged over the batch; the
smoothing ``s`` keeps an empty-truth, empty-prediction image at zero loss. MONAI's validated
``DiceLoss`` computes it.
"""

from __future__ import annotations

import torch
from monai.losses import DiceLoss
from torch import nn

from fetalseg.losses.circumference import CircumferenceLoss
from fetalseg.models.base import TrainOutputs


def dice_loss(smooth: float = 1.0) -> nn.Module:
    """Soft Dice loss on logits ``(N, 1, H, W)`` vs targets ``(N, 1, H, W)`` in ``{0, 1}``."""
    return DiceLoss(sigmoid=True, smooth_nr=smooth, smooth_dr=smooth, reduction="mean")


class DeepSupervisionDiceLoss(nn.Module):
    """``L = L_final + alpha * sum(L_aux)`` over a model's training outputs, plus
    ``bce_weight * BCE(final)`` and ``hc_weight * CircumferenceLoss(final)`` when those weights
    are > 0 (neither is in the reference: see :class:`fetalseg.config.TrainConfig`).

    ``forward(outputs, target)`` takes a logits tensor or a :class:`~fetalseg.models.base.
    TrainOutputs` (its ``aux`` are BiSeNet's two auxiliary heads; none for U-Net).
    Evaluated in fp32 even under bf16 autocast: sums over 10^5 pixels lose precision in bf16.
    """

    def __init__(
        self,
        alpha: float = 1.0,
        smooth: float = 1.0,
        bce_weight: float = 0.0,
        hc_weight: float = 0.0,
    ) -> None:
        super().__init__()
        self.alpha = alpha
        self.bce_weight = bce_weight
        self.hc_weight = hc_weight
        self.dice = dice_loss(smooth)
        self.circumference = CircumferenceLoss()

    def forward(self, outputs: torch.Tensor | TrainOutputs, target: torch.Tensor) -> torch.Tensor:
        if isinstance(outputs, torch.Tensor):
            outputs = TrainOutputs(outputs)
        final = outputs.logits.float()
        aux = [a.float() for a in outputs.aux]
        loss = self.dice(final, target)
        if self.bce_weight > 0:
            bce = nn.functional.binary_cross_entropy_with_logits(final, target)
            loss = loss + self.bce_weight * bce
        if self.hc_weight > 0:
            loss = loss + self.hc_weight * self.circumference(final, target)
        for a in aux:
            loss = loss + self.alpha * self.dice(a, target)
        return loss
