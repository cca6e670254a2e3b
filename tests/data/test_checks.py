import csv
import json
import math
from dataclasses import replace

import cv2
import numpy as np
import pytest

from fetalseg.biometry import ramanujan_perimeter
from fetalseg.cli.main import main
from fetalseg.data.checks import (
    annotation_report,
    format_summary,
    summarize_report,
    write_report_csv,
)
from fetalseg.data.hc18 import TRAIN_CSV, Record, read_records
from fetalseg.errors import InputError

# (name, (w, h), centre, semi-axes px, angle deg, thickness, pixel size mm)
_ELLIPSES = [
    ("001_HC.png", (800, 540), (400, 270), (220, 160), 0, 1, 0.12),
    ("002_HC.png", (800, 540), (390, 280), (180, 130), 35, 2, 0.09),
    ("002_2HC.png", (744, 562), (370, 290), (250, 200), 120, 1, 0.15),
    ("003_HC.png", (600, 400), (300, 200), (120, 90), 80, 2, 0.2),
    ("004_HC.png", (800, 540), (410, 260), (150, 149), 10, 1, 0.07),
]


def _write_hc18(root):
    folder = root / "training_set"
    folder.mkdir(parents=True)
    rows = [["filename", "pixel size(mm)", "head circumference (mm)"]]
    rng = np.random.default_rng(0)
    for name, (w, h), centre, axes, angle, thickness, px in _ELLIPSES:
        image = rng.integers(0, 255, (h, w), dtype=np.uint8)
        outline = np.zeros((h, w), np.uint8)
        cv2.ellipse(outline, centre, axes, angle, 0, 360, 255, thickness)
        assert cv2.imwrite(str(folder / name), image)
        assert cv2.imwrite(str(folder / name.replace(".png", "_Annotation.png")), outline)
        rows.append([name, repr(px), f"{ramanujan_perimeter(axes[0] * px, axes[1] * px):.2f}"])
    with (root / TRAIN_CSV).open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    return root


@pytest.fixture
def synthetic_root(tmp_path):
    return _write_hc18(tmp_path / "hc18")


def test_report_on_synthetic_ellipses(synthetic_root):
    checks = annotation_report(read_records(synthetic_root))
    assert [c.file for c in checks] == sorted(e[0] for e in _ELLIPSES)
    by_name = {c.file: c for c in checks}
    for name, (w, h), *_ in _ELLIPSES:
        c = by_name[name]
        assert (c.width, c.height) == (w, h)
        assert c.hc_mask_mm is not None and c.hc_diff_mm is not None
        assert abs(c.hc_diff_mm) / c.hc_csv_mm < 0.005, c
        assert abs(c.area_rel_diff) < 0.02, c
        assert c.hc_diff_mm == pytest.approx(c.hc_mask_mm - c.hc_csv_mm)
        assert c.area_rel_diff == pytest.approx(c.mask_area_mm2 / c.implied_area_mm2 - 1)


def test_summary_fields(synthetic_root):
    checks = annotation_report(read_records(synthetic_root))
    s = summarize_report(checks)
    json.dumps(s)  # serialisable
    assert s["n"] == s["n_measured"] == len(_ELLIPSES)
    d = np.array([c.hc_diff_mm for c in checks])
    hc = s["hc_diff_mm"]
    assert hc["mean"] == pytest.approx(d.mean())
    assert hc["mean_abs"] == pytest.approx(np.abs(d).mean())
    assert hc["sd"] == pytest.approx(d.std(ddof=1))
    assert hc["max_abs"] == pytest.approx(np.abs(d).max())
    assert hc["max_abs_file"] == checks[int(np.argmax(np.abs(d)))].file
    assert hc["within_1mm"] == hc["within_3mm"] == 1.0
    area = s["area_rel_diff"]
    r = np.array([c.area_rel_diff for c in checks])
    assert area["mean_abs"] == pytest.approx(np.abs(r).mean())
    assert abs(area["worst"]) == pytest.approx(np.abs(r).max())
    assert area["n_over_limit"] == 0
    assert s["image_sizes"] == {"800x540": 3, "600x400": 1, "744x562": 1}
    text = format_summary(s, checks)
    assert text.startswith("## HC18 annotation check (5 labelled images)")
    assert "Worst 5 by |HC diff|" in text


def test_wrong_hc_in_csv_is_reported(synthetic_root):
    recs = read_records(synthetic_root)
    r0 = recs[0]
    bad = Record(r0.image, r0.subject, r0.pixel_size_mm, r0.hc_mm + 5.0, r0.annotation)
    checks = annotation_report([bad, *recs[1:]])
    assert checks[0].hc_diff_mm == pytest.approx(-5.0, abs=0.3)
    # HC 5 mm too large implies an ellipse ~ 2 * 5 / HC larger in area
    assert checks[0].area_rel_diff < -0.02
    s = summarize_report(checks)
    assert s["hc_diff_mm"]["max_abs_file"] == bad.name
    assert s["area_rel_diff"]["worst_file"] == bad.name
    assert s["hc_diff_mm"]["within_3mm"] == pytest.approx(0.8)


def test_unlabelled_records_are_skipped_or_refused(synthetic_root):
    recs = read_records(synthetic_root)
    unlabelled = Record(recs[0].image, recs[0].subject, recs[0].pixel_size_mm)
    assert len(annotation_report([unlabelled, *recs])) == len(recs)
    with pytest.raises(InputError, match="no labelled images"):
        annotation_report([unlabelled])
    with pytest.raises(InputError):
        summarize_report([])


def test_size_mismatch_names_the_annotation(synthetic_root):
    rec = read_records(synthetic_root)[0]
    cv2.imwrite(str(rec.annotation), np.zeros((10, 10), np.uint8))
    with pytest.raises(InputError, match="differs from its image"):
        annotation_report([rec])


def test_cli_check_data(synthetic_root, tmp_path, capsys):
    out, per_image = tmp_path / "report.json", tmp_path / "per_image.csv"
    argv = ["check-data", "--data", str(synthetic_root), "--out", str(out)]
    rc = main([*argv, "--csv", str(per_image)])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "HC diff, mean abs" in printed and "Worst 5" in printed
    report = json.loads(out.read_text())
    assert report["summary"]["n"] == len(_ELLIPSES)
    assert len(report["images"]) == len(_ELLIPSES)
    with per_image.open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(_ELLIPSES)
    assert math.isclose(float(rows[0]["hc_diff_mm"]), report["images"][0]["hc_diff_mm"])


def test_cli_check_data_missing_folder(tmp_path, capsys):
    assert main(["check-data", "--data", str(tmp_path / "nowhere")]) == 2
    assert "fetalseg check-data: error:" in capsys.readouterr().err


def test_write_report_csv_blank_for_none(synthetic_root, tmp_path):
    c = annotation_report(read_records(synthetic_root))[0]
    c = replace(c, hc_mask_mm=None, hc_diff_mm=None)
    path = tmp_path / "x.csv"
    write_report_csv(path, [c])
    row = next(csv.DictReader(path.open()))
    assert row["hc_mask_mm"] == "" and row["file"] == c.file


def test_real_data_first_20(hc18_root):
    checks = annotation_report(read_records(hc18_root)[:20])
    s = summarize_report(checks)
    assert s["n"] == s["n_measured"] == 20
    assert s["hc_diff_mm"]["mean_abs"] < 2.0
