"""Paired comparison of two models scored on the same images.

Two models' means on one test set differ by less than their spread over images, but most of
that spread is the images' (a hard image is hard for both), so the question "is B better than
A?" is asked of the per-image differences ``d_i = b_i - a_i``. Their mean gets a percentile
bootstrap confidence interval, images resampled with replacement (Efron & Tibshirani 1993,
*An Introduction to the Bootstrap*, ch. 13, the percentile interval). Several runs of one
recipe (seeds) are first averaged per image (:func:`mean_over_runs`), so the interval is about
the recipe, not one lucky seed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

#: resamples of the bootstrap: the percentile CI's bounds are stable to ~0.01 sd at 10 000
N_BOOT = 10_000


@dataclass(frozen=True)
class PairedDifference:
    """``b - a`` on ``n`` paired images: means, the mean difference and its CI.

    ``better`` is the fraction of images where B is better than A (by ``higher_is_better``),
    ``worse`` where it is worse; ties (equal values) are in neither.
    """

    n: int
    mean_a: float
    mean_b: float
    mean_diff: float
    ci_low: float
    ci_high: float
    level: float
    better: float
    worse: float


def paired_difference(
    a: Sequence[float],
    b: Sequence[float],
    *,
    higher_is_better: bool = True,
    level: float = 0.95,
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> PairedDifference:
    """The mean of ``b - a`` over paired images with a percentile bootstrap CI.

    ``a``, ``b``: ``(n,)`` values of one metric on the same images, in the same order (units
    kept: percent, mm). ``level``: the CI's coverage, in (0, 1). Deterministic for a ``seed``.
    Raises ``ValueError`` on unequal lengths, fewer than 2 images or a non-finite value.
    """
    va = np.asarray(a, dtype=np.float64)
    vb = np.asarray(b, dtype=np.float64)
    if va.shape != vb.shape or va.ndim != 1:
        raise ValueError(
            f"paired values must be two 1-D sequences of one length: {va.shape}, {vb.shape}"
        )
    if va.size < 2:
        raise ValueError(f"a paired comparison needs at least 2 images, got {va.size}")
    if not (np.isfinite(va).all() and np.isfinite(vb).all()):
        raise ValueError("paired values must be finite")
    if not 0 < level < 1:
        raise ValueError(f"level {level}: must be between 0 and 1")
    if n_boot < 1:
        raise ValueError(f"n_boot {n_boot}: must be at least 1")
    d = vb - va
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot)
    for start in range(0, n_boot, 1000):  # bounded memory: 1000 resamples at a time
        stop = min(start + 1000, n_boot)
        idx = rng.integers(0, d.size, size=(stop - start, d.size))
        means[start:stop] = d[idx].mean(axis=1)
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    sign = 1.0 if higher_is_better else -1.0
    return PairedDifference(
        n=int(d.size),
        mean_a=float(va.mean()),
        mean_b=float(vb.mean()),
        mean_diff=float(d.mean()),
        ci_low=float(low),
        ci_high=float(high),
        level=level,
        better=float((sign * d > 0).mean()),
        worse=float((sign * d < 0).mean()),
    )


def mean_over_runs(runs: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Per image, the mean of one metric over several runs (seeds) of a recipe.

    ``runs``: one ``{image name: value}`` per run, all over the same images. Raises
    ``ValueError`` naming an image that some run lacks, or on no runs.
    """
    if not runs:
        raise ValueError("no runs to average")
    names = set(runs[0])
    for i, run in enumerate(runs[1:], start=2):
        if set(run) != names:
            missing = sorted(names ^ set(run))
            raise ValueError(f"run {i} is not over the same images as run 1 (e.g. {missing[0]})")
    return {name: float(math.fsum(run[name] for run in runs) / len(runs)) for name in runs[0]}
