"""WHO fetal growth charts (Kiserud et al. 2017) for HC and BPD.

T. Kiserud, G. Piaggio, G. Carroli, et al., "The World Health Organization fetal growth charts:
a multinational longitudinal study of ultrasound biometric measurements and estimated fetal
weight", PLoS Med 14 (2017) e1002220, doi:10.1371/journal.pmed.1002220 (corrections
e1002284, 2017, and e1003526, 2021).

Model
    Quantile regression of ``log(y)`` on GA: for each quantile ``p``,
    ``log(y_p) = b0 + b1 GA + b2 GA^2 + b3 GA^3 + b4 GA^4`` (``b4 = 0`` for HC and BPD), GA in
    exact weeks, y in mm, valid 14-40 weeks. The coefficients are the published ones as
    distributed in the R package ``simpar1471/whoFetalStandards``
    (``data-raw/coeffs/coefficientsGlobalV3.csv``). The WHO charts have no OFD.

Centile of a value
    Between the tabulated quantiles (1, 2.5, 5, 10, 25, 50, 75, 90, 95, 97.5, 99 %) the centile
    is interpolated linearly on the mm scale, as ``whoFetalStandards::value2centile`` does;
    outside the 1st-99th centile no centile is given (the charts do not describe it). The
    z-score is ``Phi^-1(centile)`` (the WHO charts are not normal; the z-score is only a
    re-expression of the centile). The inverse (value at a centile) interpolates the same way,
    so the two are exact inverses.

Caliper convention
    HC: ellipse on the outer skull border. BPD: **outer-to-inner**, as stated in issue 18; the
    primary text was not available to check, but the WHO median BPD is 1.6-2.8 mm below the
    INTERGROWTH-21st mean (outer-to-outer) at 16-35 weeks while the HC medians agree within
    1.4 %, as expected of outer-to-inner (``tests/standards/test_conventions.py``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["WHO_GA_RANGE_WEEKS", "WHO_QUANTILES", "who_quantile_values_mm"]

WHO_GA_RANGE_WEEKS: tuple[float, float] = (14.0, 40.0)
"""GA range (exact weeks, inclusive) of the WHO fetal growth charts."""

WHO_QUANTILES: np.ndarray = np.array(
    [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975, 0.99]
)
"""Quantiles (fractions) for which Kiserud et al. give coefficients."""

# Rows: WHO_QUANTILES; columns b0, b1, b2, b3 (b4 = 0) for log(y in mm) vs GA in weeks.
_COEFFS: dict[str, np.ndarray] = {
    "hc": np.array(
        [
            [1.51782795874402e0, 2.99296859125438e-1, -7.52376152126206e-3, 6.7179373384666e-5],
            [1.59317517131532e0, 2.9459800552433e-1, -7.3860372566707e-3, 6.56951770216148e-5],
            [1.74883945698398e0, 2.78405280785763e-1, -6.77990950687641e-3, 5.83587774721548e-5],
            [1.83059537388222e0, 2.7244251174974e-1, -6.59546864496838e-3, 5.63957469365128e-5],
            [1.94181945227701e0, 2.6584757167445e-1, -6.44544904011178e-3, 5.54517813431795e-5],
            [2.09924879247164e0, 2.53373656106037e-1, -6.05647816678282e-3, 5.14256072059917e-5],
            [2.20777451923048e0, 2.45212320927953e-1, -5.78557948587613e-3, 4.83972618799514e-5],
            [2.31776999721364e0, 2.36651510200538e-1, -5.50781288608926e-3, 4.53975879344267e-5],
            [2.39550106176494e0, 2.29586666082063e-1, -5.25318141633775e-3, 4.23738937924844e-5],
            [2.50074069629423e0, 2.20067854715719e-1, -4.93623111462443e-3, 3.89066000946519e-5],
            [2.50189533265806e0, 2.23785148311865e-1, -5.14245402239348e-3, 4.20117020605557e-5],
        ]
    ),
    "bpd": np.array(
        [
            [5.91008401542612e-1, 2.51833515513537e-1, -5.82602136865785e-3, 4.85842528593502e-5],
            [5.8340478243682e-1, 2.57706867351367e-1, -6.08380366281251e-3, 5.16940376186165e-5],
            [6.40086541374477e-1, 2.5352855332296e-1, -5.91651627062447e-3, 4.94614232987744e-5],
            [6.7586050811029e-1, 2.5343383445191e-1, -5.95606903884204e-3, 5.03055604381436e-5],
            [7.69315103415485e-1, 2.49927024175735e-1, -5.92399444708251e-3, 5.076548429269e-5],
            [8.72984231314326e-1, 2.43385003540798e-1, -5.71172523683453e-3, 4.82880035733658e-5],
            [9.83298265402666e-1, 2.36071116567572e-1, -5.48348083012818e-3, 4.58419655773418e-5],
            [1.01351909208103e0, 2.37088857953509e-1, -5.5421492813894e-3, 4.65258350076297e-5],
            [1.11401192681678e0, 2.28258457814188e-1, -5.24271052970102e-3, 4.31665697359201e-5],
            [1.17917438634649e0, 2.24245686901115e-1, -5.13638678692311e-3, 4.21401138788865e-5],
            [1.18876528083144e0, 2.2624188722951e-1, -5.22504825833189e-3, 4.31577122241698e-5],
        ]
    ),
}


def who_quantile_values_mm(measure: str, ga_weeks: float) -> np.ndarray:
    """Values (mm) of ``measure`` ("hc", "bpd") at each of :data:`WHO_QUANTILES`, shape (11,).

    Kiserud et al. 2017 (module docstring); no range check on ``ga_weeks``.
    """
    b = _COEFFS[measure]
    g = float(ga_weeks)
    return np.exp(b[:, 0] + b[:, 1] * g + b[:, 2] * g**2 + b[:, 3] * g**3)
