"""Running a command in-process and checking the one-line user-error rule, for the reliability
tests."""

from __future__ import annotations

from fetalseg.cli.main import main


def run(argv: list[object], capsys) -> tuple[int, str]:
    """``fetalseg ARGV`` in-process: ``(exit code, stderr)``."""
    rc = main([str(a) for a in argv])
    return rc, capsys.readouterr().err


def assert_user_error(rc: int, err: str, names: str) -> None:
    """Exit 2, one line on stderr naming ``names``, no traceback."""
    lines = err.strip().splitlines()
    assert rc == 2, err
    assert len(lines) == 1, err
    assert names in lines[0], err
    assert "Traceback" not in err
