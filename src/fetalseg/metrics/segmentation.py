"""Per-image segmentation metrics from confusion counts, then reductions.

Counts first (``tp, fp, fn, tn`` per image), ratios second, so every metric of a batch comes from
one pass and its definition is visible in one line. Conventions for empty sets (documented, and
never a silent NaN): a ratio whose denominator is 0 is 1.0 when its numerator is also 0 and both
truth and prediction agree (e.g. DSC of empty truth and empty prediction), else 0.0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Counts:
    """Confusion counts per image, each ``(N,) int64``."""

    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray
    tn: np.ndarray


def confusion_counts(pred: np.ndarray, truth: np.ndarray) -> Counts:
    """Counts for binary ``pred``/``truth``, ``(N, H, W)`` or ``(H, W)``; nonzero = head."""
    pred = np.asarray(pred).astype(bool)
    truth = np.asarray(truth).astype(bool)
    if pred.shape != truth.shape:
        raise ValueError(f"prediction {pred.shape} and truth {truth.shape} differ in shape")
    if pred.ndim == 2:
        pred, truth = pred[None], truth[None]
    axes = tuple(range(1, pred.ndim))
    tp = np.sum(pred & truth, axis=axes, dtype=np.int64)
    fp = np.sum(pred & ~truth, axis=axes, dtype=np.int64)
    fn = np.sum(~pred & truth, axis=axes, dtype=np.int64)
    tn = np.sum(~pred & ~truth, axis=axes, dtype=np.int64)
    return Counts(tp, fp, fn, tn)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` with ``0/0 = 1`` (nothing to find, nothing wrongly found)."""
    num = num.astype(np.float64)
    den = den.astype(np.float64)
    out = np.ones_like(num)
    np.divide(num, den, out=out, where=den > 0)
    return out


def dice(c: Counts) -> np.ndarray:
    """DSC = 2TP / (2TP + FP + FN); 1 when truth and prediction are both empty."""
    return _ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn)


def jaccard(c: Counts) -> np.ndarray:
    """JS = TP / (TP + FP + FN); 1 when both empty."""
    return _ratio(c.tp, c.tp + c.fp + c.fn)


def sensitivity(c: Counts) -> np.ndarray:
    """SE (recall) = TP / (TP + FN); 1 when the truth is empty (nothing was missed)."""
    return _ratio(c.tp, c.tp + c.fn)


def precision(c: Counts) -> np.ndarray:
    """PC = TP / (TP + FP); 1 when the prediction is empty (nothing wrongly claimed)."""
    return _ratio(c.tp, c.tp + c.fp)


def specificity(c: Counts) -> np.ndarray:
    """SP = TN / (TN + FP); 1 when the whole image is head."""
    return _ratio(c.tn, c.tn + c.fp)


def overlap_metrics(pred: np.ndarray, truth: np.ndarray) -> dict[str, np.ndarray]:
    """``{"dsc", "se", "pc", "sp", "js"}``, each ``(N,)`` in ``[0, 1]``."""
    c = confusion_counts(pred, truth)
    return {
        "dsc": dice(c),
        "se": sensitivity(c),
        "pc": precision(c),
        "sp": specificity(c),
        "js": jaccard(c),
    }
