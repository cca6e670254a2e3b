"""Boundary distances in millimetres: Hausdorff (max and 95th percentile) and average symmetric
surface distance (ASSD), computed by MONAI with each image's own pixel spacing.

Empty sets, defined rather than NaN: both masks empty -> 0 mm (perfect agreement); exactly one
empty -> the image diagonal in mm, the largest distance possible on that frame, so a missed head
counts as the worst case in a mean instead of vanishing from it (MONAI itself returns NaN/inf).
"""

from __future__ import annotations

import math
import warnings

import numpy as np


def surface_distances(
    pred: np.ndarray, truth: np.ndarray, spacing_mm: tuple[float, float]
) -> dict[str, float]:
    """``{"hd_mm", "hd95_mm", "assd_mm"}`` for one ``(H, W)`` binary pair.

    ``spacing_mm = (row_mm, col_mm)``: the size of a pixel along y and along x.
    """
    import torch
    from monai.metrics import compute_average_surface_distance, compute_hausdorff_distance

    pred = np.asarray(pred).astype(bool)
    truth = np.asarray(truth).astype(bool)
    if pred.shape != truth.shape or pred.ndim != 2:
        raise ValueError(f"expected two (H, W) masks of one shape, got {pred.shape}, {truth.shape}")
    has_pred, has_truth = pred.any(), truth.any()
    if not has_pred and not has_truth:
        return {"hd_mm": 0.0, "hd95_mm": 0.0, "assd_mm": 0.0}
    if not (has_pred and has_truth):
        h, w = pred.shape
        diag = math.hypot(h * spacing_mm[0], w * spacing_mm[1])
        return {"hd_mm": diag, "hd95_mm": diag, "assd_mm": diag}
    p = torch.from_numpy(pred)[None, None]
    t = torch.from_numpy(truth)[None, None]
    spacing = [list(map(float, spacing_mm))]
    with warnings.catch_warnings():
        # MONAI 1.5+ warns about its own internal use of a deprecated argument.
        warnings.simplefilter("ignore", FutureWarning)
        hd = compute_hausdorff_distance(p, t, include_background=True, spacing=spacing)
        hd95 = compute_hausdorff_distance(
            p, t, include_background=True, percentile=95, spacing=spacing
        )
        assd = compute_average_surface_distance(
            p, t, include_background=True, symmetric=True, spacing=spacing
        )
    return {"hd_mm": float(hd), "hd95_mm": float(hd95), "assd_mm": float(assd)}
