"""Segmentation metrics: overlap from confusion counts, boundary distances in mm, summaries."""

from fetalseg.metrics.segmentation import (
    Counts,
    confusion_counts,
    dice,
    jaccard,
    overlap_metrics,
    precision,
    sensitivity,
    specificity,
)
from fetalseg.metrics.summary import summarize
from fetalseg.metrics.surface import surface_distances

__all__ = [
    "Counts",
    "confusion_counts",
    "dice",
    "jaccard",
    "overlap_metrics",
    "precision",
    "sensitivity",
    "specificity",
    "summarize",
    "surface_distances",
]
