"""``fetalseg compare``: paired comparison of evaluate outputs."""

from __future__ import annotations

import csv
import json

import pytest

from fetalseg.cli.commands.compare import DIRECTION
from fetalseg.cli.main import main
from fetalseg.inference.evaluate import COLUMNS, TEXT


def write_results(folder, rows: dict[str, tuple[float, float]]) -> str:
    """An evaluate-style ``per_image.csv`` with ``file, dsc, adf_mm, hd95_mm``."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "per_image.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "dsc", "hd95_mm", "adf_mm", "status"])
        for name, (dsc, adf) in rows.items():
            w.writerow([name, dsc, 1.0, adf, "ok"])
    return str(folder)


IMAGES = [f"{i:03d}_HC.png" for i in range(20)]


def test_every_scored_column_but_the_signed_one_has_a_direction() -> None:
    scored = {c for c in COLUMNS if c not in TEXT} - {"df_mm"}
    assert set(DIRECTION) == scored


def test_candidate_seeds_averaged_and_difference_reported(tmp_path, capsys) -> None:
    ref = write_results(tmp_path / "ref", {f: (0.97, 2.0) for f in IMAGES})
    s0 = write_results(tmp_path / "s0", {f: (0.98, 1.5) for f in IMAGES})
    s1 = write_results(tmp_path / "s1", {f: (0.96, 1.7) for f in IMAGES})
    out = tmp_path / "cmp.json"
    code = main(["compare", "-a", ref, "-b", s0, s1 + "/per_image.csv", "--out", str(out)])
    assert code == 0
    result = json.loads(out.read_text())
    assert result["dsc"]["mean_diff"] == pytest.approx(0.0, abs=1e-12)  # (0.98 + 0.96) / 2
    assert result["adf_mm"]["mean_diff"] == pytest.approx(-0.4)
    assert result["adf_mm"]["better"] == 1.0
    text = capsys.readouterr().out
    assert "| adf_mm | 2.000 mm | 1.600 mm | -0.400 |" in text
    assert "20 paired images" in text


def test_different_images_are_refused(tmp_path, capsys) -> None:
    ref = write_results(tmp_path / "ref", {f: (0.97, 2.0) for f in IMAGES})
    cand = write_results(tmp_path / "cand", {f: (0.97, 2.0) for f in IMAGES[1:]})
    assert main(["compare", "-a", ref, "-b", cand]) == 2
    assert "not scored on the same images" in capsys.readouterr().err


def test_seeds_over_different_images_are_refused(tmp_path, capsys) -> None:
    ref = write_results(tmp_path / "ref", {f: (0.97, 2.0) for f in IMAGES})
    s0 = write_results(tmp_path / "s0", {f: (0.97, 2.0) for f in IMAGES})
    s1 = write_results(tmp_path / "s1", {f: (0.97, 2.0) for f in IMAGES[:-1]})
    assert main(["compare", "-a", ref, "-b", s0, s1]) == 2
    assert "--candidate" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("file,dsc\nx.png,0.9\n", "no column 'adf_mm'"),
        ("file,dsc,adf_mm,hd95_mm\nx.png,abc,1,1\n", "line 2: dsc = 'abc' is not a finite"),
        ("file,dsc,adf_mm,hd95_mm\nx.png,0.9,1,1\nx.png,0.9,1,1\n", "listed twice"),
        ("file,dsc,adf_mm,hd95_mm\n", "no images"),
    ],
)
def test_bad_results_file_named(tmp_path, capsys, content, message) -> None:
    ref = write_results(tmp_path / "ref", {f: (0.97, 2.0) for f in IMAGES})
    bad = tmp_path / "bad.csv"
    bad.write_text(content)
    assert main(["compare", "-a", ref, "-b", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and message in err


def test_unknown_metric_and_missing_folder(tmp_path, capsys) -> None:
    ref = write_results(tmp_path / "ref", {f: (0.97, 2.0) for f in IMAGES})
    assert main(["compare", "-a", ref, "-b", ref, "--metrics", "df_mm"]) == 2
    assert "unknown; valid" in capsys.readouterr().err
    assert main(["compare", "-a", ref, "-b", str(tmp_path / "nothing")]) == 2
    assert "no such file" in capsys.readouterr().err
