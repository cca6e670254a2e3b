"""Weight averaging: the mean is exact and BatchNorm statistics are measured again."""

from __future__ import annotations

import torch
from torch import nn

from fetalseg.training.averaging import WeightAverage


def _net(fill: float) -> nn.Module:
    net = nn.Sequential(nn.Conv2d(1, 2, 1), nn.BatchNorm2d(2))
    with torch.no_grad():
        for p in net.parameters():
            p.fill_(fill)
    return net


def test_mean_of_the_updates_is_exact():
    average = WeightAverage(_net(0.0))
    for fill in (1.0, 2.0, 6.0):
        average.update(_net(fill))
    assert average.count == 3
    assert all(torch.allclose(p, torch.full_like(p, 3.0)) for p in average.model.parameters())


def test_batchnorm_statistics_are_those_of_the_batches():
    torch.manual_seed(0)
    bn = nn.BatchNorm2d(3)
    average = WeightAverage(nn.Sequential(bn))
    batches = [torch.randn(4, 3, 5, 5) * 2 + 1 for _ in range(3)]
    average.recompute_batchnorm(batches)
    layer = average.model[0]
    everything = torch.cat(batches).transpose(0, 1).reshape(3, -1)
    assert torch.allclose(layer.running_mean, everything.mean(1), atol=1e-5)
    # the mean of the batches' unbiased variances: close to the pooled variance
    assert torch.allclose(layer.running_var, everything.var(1), rtol=0.05)
    assert layer.momentum == bn.momentum and not average.model.training
    assert torch.equal(layer.weight, bn.weight)  # parameters untouched
