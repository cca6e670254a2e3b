"""The one rule for results on disk, used by every command and writer.

* An output that exists already (a non-empty folder, or a file) is refused unless ``overwrite``.
* With ``overwrite`` the whole output is replaced, never mixed with the previous run's files:
  results are written into a temporary sibling and swapped in only when the run finished, so a
  crash, a Ctrl+C or a refused input leaves the earlier results exactly as they were.
* Nothing is ever written inside the installed ``fetalseg`` package (its shipped model included).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from fetalseg.errors import InputError


def package_dir() -> Path:
    """The installed ``fetalseg`` package folder (resolved)."""
    return Path(__file__).resolve().parent


def check_destination(path: str | Path) -> Path:
    """``path`` as a :class:`Path`, refused (:class:`InputError`) inside the installed package."""
    path = Path(path)
    resolved = path.resolve()
    if resolved == package_dir() or package_dir() in resolved.parents:
        raise InputError(
            f"{path}: inside the installed fetalseg package; write results elsewhere (--out)"
        )
    return path


def _refuse_existing(path: Path, overwrite: bool) -> None:
    if overwrite or not (path.exists() or path.is_symlink()):
        return
    if path.is_dir() and not any(path.iterdir()):
        return
    raise InputError(f"{path}: already holds earlier results; pass --overwrite to replace them")


def _temporary_sibling(path: Path, folder: bool) -> Path:
    """A new, uniquely named temporary folder or empty file beside ``path``, made by a plain
    ``mkdir`` / exclusive ``open`` so that it gets the usual mode (0777 / 0666 less the umask;
    ``tempfile``'s are private). :class:`InputError` naming ``path`` (not the temporary name)
    when it cannot be made there (e.g. ``--out /proc/x``, a read-only folder)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.partial"
        if folder:
            tmp.mkdir()
        else:
            tmp.open("xb").close()
    except OSError as e:
        raise InputError(f"{path}: cannot write results there ({e.strerror or e})") from None
    return tmp


@contextlib.contextmanager
def output_dir(path: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Context manager giving a fresh folder to write a command's results into.

    On a clean exit the folder replaces ``path`` (atomically where the file system allows: a
    rename each way); on an exception it is deleted and ``path`` is left as it was.

    Raises:
        InputError: ``path`` holds earlier results and not ``overwrite``; ``path`` is a file;
            ``path`` is inside the installed package.
    """
    path = check_destination(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"{path}: is a file, not a folder for results")
    _refuse_existing(path, overwrite)
    tmp = _temporary_sibling(path, folder=True)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if path.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
        os.replace(path, old / path.name)
        os.replace(tmp, path)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, path)


@contextlib.contextmanager
def output_file(path: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Context manager giving a temporary path beside ``path`` to write one result file into;
    on a clean exit it replaces ``path`` (``os.replace``), on an exception it is deleted.

    Raises:
        InputError: ``path`` exists and not ``overwrite``; ``path`` is a folder; ``path`` is
            inside the installed package.
    """
    path = check_destination(path)
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a file name")
    _refuse_existing(path, overwrite)
    tmp = _temporary_sibling(path, folder=False)
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)


def write_bytes(path: str | Path, data: bytes, overwrite: bool = False) -> Path:
    """Write ``data`` to ``path`` under the rule above; returns ``path``."""
    with output_file(path, overwrite) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: str | Path, text: str, overwrite: bool = False) -> Path:
    """Write UTF-8 ``text`` to ``path`` under the rule above; returns ``path``."""
    return write_bytes(path, text.encode("utf-8"), overwrite)
