"""Weight averaging across epochs: stochastic weight averaging (SWA).

Izmailov, Podoprikhin, Garipov, Vetrov & Wilson, "Averaging weights leads to wider optima and
better generalization", UAI 2018. The equal-weight mean of the weights at the end of several
epochs, with BatchNorm's running statistics then measured again for the averaged weights (the
means of the epochs' statistics do not belong to the averaged network).

Why here: a run's validation HC error moves by 0.05–0.11 mm (sd) from one late epoch to the next
(``docs/hc_accuracy.md``), so which epoch is kept is partly luck; the average does not depend on
that pick.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

import torch
from torch import nn


class WeightAverage:
    """The running equal-weight mean of ``model``'s parameters over the calls to :meth:`update`.

    ``self.model`` is a copy of the model holding the mean (auxiliary heads included, so that it
    can be saved and resumed like the trained one); its BatchNorm statistics are valid only after
    :meth:`recompute_batchnorm`.
    """

    def __init__(self, model: nn.Module) -> None:
        self.model = copy.deepcopy(model)
        self.count = 0

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Add ``model``'s current parameters (same architecture) to the mean."""
        self.count += 1
        for mean, p in zip(self.model.parameters(), model.parameters(), strict=True):
            mean.lerp_(p.detach(), 1.0 / self.count)

    @torch.no_grad()
    def recompute_batchnorm(self, batches: Iterable[torch.Tensor], bf16: bool = False) -> None:
        """Replace every BatchNorm layer's running mean and variance by their average over
        ``batches`` (input tensors ``(B, C, H, W)`` on the model's device) passed through the
        averaged weights in training mode; the parameters are not changed."""
        layers = [m for m in self.model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        momenta = [m.momentum for m in layers]
        for m in layers:
            m.reset_running_stats()
            m.momentum = None  # None: a cumulative mean over the batches, not an exponential one
        self.model.train()
        for x in batches:
            with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=bf16):
                self.model(x)
        for m, momentum in zip(layers, momenta):
            m.momentum = momentum
        self.model.eval()
