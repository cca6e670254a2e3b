from __future__ import annotations

from pathlib import Path

import pytest

from fetalseg.destination import output_dir, output_file, package_dir, write_text
from fetalseg.errors import InputError


def test_new_folder_appears_only_after_success(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with output_dir(out) as tmp:
        (tmp / "a.csv").write_text("x")
        assert not out.exists()
    assert (out / "a.csv").read_text() == "x"
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_existing_results_refused_without_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "old.csv").write_text("old")
    with pytest.raises(InputError, match="--overwrite"), output_dir(out):
        pass
    assert (out / "old.csv").read_text() == "old"


def test_empty_existing_folder_is_fine(tmp_path: Path) -> None:
    with output_dir(tmp_path) as tmp:
        (tmp / "a").write_text("1")
    assert (tmp_path / "a").exists()


def test_overwrite_replaces_the_whole_folder(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "stale_overlay.png").write_text("old")
    with output_dir(out, overwrite=True) as tmp:
        (tmp / "new.csv").write_text("new")
    assert sorted(p.name for p in out.iterdir()) == ["new.csv"]
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_failure_keeps_earlier_results(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "old.csv").write_text("old")
    with pytest.raises(RuntimeError), output_dir(out, overwrite=True) as tmp:
        (tmp / "half.csv").write_text("half")
        raise RuntimeError("crash")
    assert sorted(p.name for p in out.iterdir()) == ["old.csv"]
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_file_rule(tmp_path: Path) -> None:
    f = tmp_path / "sub" / "r.json"
    write_text(f, "1")
    with pytest.raises(InputError, match="--overwrite"):
        write_text(f, "2")
    assert f.read_text() == "1"
    write_text(f, "2", overwrite=True)
    assert f.read_text() == "2"
    with pytest.raises(ValueError), output_file(f, overwrite=True) as tmp:
        tmp.write_text("3")
        raise ValueError
    assert f.read_text() == "2"
    assert sorted(p.name for p in f.parent.iterdir()) == ["r.json"]


def test_never_inside_the_package() -> None:
    with pytest.raises(InputError, match="inside the installed"):
        write_text(package_dir() / "models" / "x.safetensors", "x", overwrite=True)
    with pytest.raises(InputError, match="inside the installed"), output_dir(package_dir()):
        pass


def test_folder_and_file_mixups(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(InputError, match="is a file"), output_dir(tmp_path / "f"):
        pass
    with pytest.raises(InputError, match="is a folder"):
        write_text(tmp_path, "x", overwrite=True)


def test_results_get_the_usual_modes_not_private_ones(tmp_path: Path) -> None:
    import os
    import stat

    umask = os.umask(0o022)
    try:
        f = write_text(tmp_path / "report.html", "x")
        with output_dir(tmp_path / "run") as tmp:
            (tmp / "a").write_text("1")
    finally:
        os.umask(umask)
    assert stat.S_IMODE(f.stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "run").stat().st_mode) == 0o755
