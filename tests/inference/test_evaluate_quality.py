"""The verdict in ``evaluate`` (per-image column, counts, risk-coverage) and ``demo``, on a few
HC18 test images with the shipped model."""

from __future__ import annotations

import csv
import json
import math

import pytest

from fetalseg.data.hc18 import read_records, split_subjects
from fetalseg.inference.demo import hc18_frames, run_demo
from fetalseg.inference.evaluate import evaluate_records, summary_markdown, write_outputs
from fetalseg.inference.predictor import Predictor
from fetalseg.quality.study import kept_by_level


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    return Predictor()


def test_kept_by_level_is_the_mean_of_the_kept_frames():
    levels = kept_by_level(["good", "check", "reject", "good"], [1.0, 3.0, 50.0, 2.0], [1, 1, 0, 1])
    assert [lv["frames"] for lv in levels] == [2, 3, 4]
    assert levels[0]["adf_mm"] == pytest.approx(1.5) and levels[0]["share"] == 0.5
    assert levels[2]["adf_mm"] == pytest.approx(14.0) and levels[2]["dsc"] == 0.75
    assert math.isnan(kept_by_level(["reject"], [9.0], [0.0])[0]["adf_mm"])


def test_evaluate_reports_the_verdict(hc18_root, predictor, tmp_path):
    cfg = predictor.loaded.config["data"]
    test = split_subjects(read_records(hc18_root), cfg["fractions"], cfg["split_seed"])[2][:3]
    ev = evaluate_records(predictor, test, progress=False, keep_examples=False)
    assert all(r["quality"] in ("good", "check", "reject") for r in ev.rows)
    assert sum(ev.summary["quality"].values()) == 3
    assert [lv["kept"] for lv in ev.summary["risk_coverage"]] == ["good", "good + check", "all"]
    assert ev.summary["risk_coverage"][2]["frames"] == 3
    paths = write_outputs(ev, tmp_path)
    rows = list(csv.DictReader(paths["csv"].open()))
    assert {"quality", "quality_reasons"} <= set(rows[0])
    assert json.loads(paths["json"].read_text())["quality"] == ev.summary["quality"]
    md = summary_markdown(ev)
    assert "quality: " in md and "| good + check |" in md


def test_demo_reports_the_verdict(hc18_root, predictor, tmp_path):
    report = run_demo(predictor, hc18_frames(hc18_root, predictor, 2), tmp_path, progress=False)
    assert "quality: " in report and "annotation yellow" in report
    table = [line for line in report.splitlines() if line.startswith("| ") and "_HC" in line]
    assert len(table) == 2
    assert all(t.split("|")[-2].split()[0] in ("good", "check", "reject") for t in table)
