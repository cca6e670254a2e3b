"""Paired differences with a bootstrap CI, against synthetic truth."""

from __future__ import annotations

import numpy as np
import pytest

from fetalseg.metrics.paired import mean_over_runs, paired_difference


def test_a_constant_difference_has_a_zero_width_interval() -> None:
    a = np.linspace(0.9, 0.99, 50)
    d = paired_difference(a, a + 0.01)
    assert d.mean_diff == pytest.approx(0.01)
    assert d.ci_low == pytest.approx(0.01) and d.ci_high == pytest.approx(0.01)
    assert (d.better, d.worse, d.n) == (1.0, 0.0, 50)


def test_interval_matches_the_normal_theory_one_for_many_images() -> None:
    rng = np.random.default_rng(1)
    a = rng.normal(2.0, 1.5, 2000)  # image difficulty, shared by both models
    diff = rng.normal(-0.1, 0.4, 2000)
    d = paired_difference(a, a + diff, higher_is_better=False)
    half = 1.96 * diff.std(ddof=1) / np.sqrt(diff.size)
    assert d.mean_diff == pytest.approx(diff.mean())
    assert d.ci_low == pytest.approx(diff.mean() - half, abs=0.15 * half)
    assert d.ci_high == pytest.approx(diff.mean() + half, abs=0.15 * half)
    # the shared difficulty (sd 1.5) does not widen the paired interval (sd 0.4)
    assert d.ci_high - d.ci_low < 2.5 * half


def test_coverage_of_the_95_interval_is_near_95_percent() -> None:
    rng = np.random.default_rng(2)
    hits = 0
    for trial in range(200):
        diff = rng.normal(0.3, 1.0, 40)
        d = paired_difference(np.zeros(40), diff, n_boot=2000, seed=trial)
        hits += d.ci_low <= 0.3 <= d.ci_high
    assert 0.88 <= hits / 200 <= 0.99


def test_direction_decides_better_and_worse() -> None:
    a = [1.0, 1.0, 1.0, 1.0]
    b = [0.5, 0.5, 2.0, 1.0]  # lower by 2 images, higher by 1, one tie
    lower = paired_difference(a, b, higher_is_better=False)
    higher = paired_difference(a, b, higher_is_better=True)
    assert (lower.better, lower.worse) == (0.5, 0.25)
    assert (higher.better, higher.worse) == (0.25, 0.5)


def test_same_seed_same_interval_other_seed_other_draw() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=30), rng.normal(size=30)
    assert paired_difference(a, b, seed=5) == paired_difference(a, b, seed=5)
    assert paired_difference(a, b, seed=5).ci_low != paired_difference(a, b, seed=6).ci_low


@pytest.mark.parametrize(
    ("a", "b", "kwargs", "match"),
    [
        ([1.0, 2.0], [1.0], {}, "one length"),
        ([1.0], [1.0], {}, "at least 2"),
        ([1.0, float("nan")], [1.0, 2.0], {}, "finite"),
        ([1.0, 2.0], [1.0, 2.0], {"level": 1.0}, "between 0 and 1"),
        ([1.0, 2.0], [1.0, 2.0], {"n_boot": 0}, "n_boot"),
    ],
)
def test_bad_input_is_refused(a, b, kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        paired_difference(a, b, **kwargs)


def test_mean_over_runs_averages_per_image_and_needs_the_same_images() -> None:
    runs = [{"x.png": 1.0, "y.png": 3.0}, {"y.png": 5.0, "x.png": 2.0}]
    assert mean_over_runs(runs) == {"x.png": 1.5, "y.png": 4.0}
    with pytest.raises(ValueError, match=r"z\.png"):
        mean_over_runs([{"x.png": 1.0}, {"x.png": 1.0, "z.png": 2.0}])
    with pytest.raises(ValueError, match="no runs"):
        mean_over_runs([])
