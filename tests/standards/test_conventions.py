"""Evidence for the BPD caliper convention of each standard, from the standards' own numbers.

The primary papers' Methods were not available while writing ``fetalseg.standards``; issue 18
assumed INTERGROWTH-21st BPD to be outer-to-inner. These tests pin down what the published
equations themselves imply, so that a change of convention in the code has to face them.
"""

from __future__ import annotations

import numpy as np

from fetalseg.biometry import ramanujan_perimeter
from fetalseg.standards import (
    STANDARDS,
    bpd_outer_inner_from_outer_outer,
    bpd_outer_outer_from_outer_inner,
    ig_mean_mm,
    who_quantile_values_mm,
)


def test_intergrowth_hc_is_the_ellipse_of_its_bpd_and_ofd_outer_to_outer() -> None:
    # HC is an ellipse on the outer skull border; OFD is outer-to-outer. If BPD is the same kind
    # of diameter, the ellipse with axes BPD and OFD has perimeter HC.
    ga = np.arange(18, 39)
    hc = ig_mean_mm("hc", ga)
    bpd = ig_mean_mm("bpd", ga)
    ofd = ig_mean_mm("ofd", ga)
    as_oo = np.array([ramanujan_perimeter(o / 2, b / 2) for o, b in zip(ofd, bpd)])
    as_oi = np.array(
        [
            ramanujan_perimeter(o / 2, bpd_outer_outer_from_outer_inner(b) / 2)
            for o, b in zip(ofd, bpd)
        ]
    )
    assert (
        np.max(np.abs(as_oo / hc - 1)) < 0.0035
    )  # within 0.35 % at every week 18-38 (largest 0.32 %)
    assert np.min(as_oi / hc - 1) > 0.01  # outer-to-inner would be 1.2-1.6 % too large
    assert STANDARDS["intergrowth21"].conventions["bpd"] == "outer-to-outer"


def test_who_bpd_is_intergrowth_bpd_converted_to_outer_to_inner() -> None:
    # Same-sized heads (HC medians within 1.4 %) but WHO's BPD is smaller by what the
    # outer-to-outer -> outer-to-inner conversion predicts.
    for ga in (20, 25, 30, 35):
        hc_who = who_quantile_values_mm("hc", ga)[5]
        assert abs(hc_who / ig_mean_mm("hc", ga) - 1) < 0.015
        bpd_who = who_quantile_values_mm("bpd", ga)[5]
        bpd_ig = float(ig_mean_mm("bpd", ga))
        assert bpd_ig - bpd_who > 1.5
        assert abs(bpd_who - bpd_outer_inner_from_outer_outer(bpd_ig)) < 0.7
    assert STANDARDS["who2017"].conventions["bpd"] == "outer-to-inner"
