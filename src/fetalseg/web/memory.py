"""Giving memory back: the server's resident size after a burst of requests.

Why the server grew and stayed grown
    FastAPI runs the synchronous endpoints on a pool of threads (40 by default). glibc's
    ``malloc`` gives threads that allocate at the same time separate *arenas* (up to 8 per
    core) and keeps freed blocks in them for reuse instead of returning them to the system. The
    frames, probability maps and overlays of a request are freed when it ends, but each arena
    keeps its high-water mark: with 16 clients the server went from 363 MB after the warm-up to
    ~720 MB and stayed there when the burst was over (``scripts/load_test.py``; the figures
    before and after are in ``docs/reliability.md``).

What is done (glibc only; elsewhere these are no-ops)
    * :func:`limit_malloc_arenas`: ``mallopt(M_ARENA_MAX, n)`` (``man 3 mallopt``) before the
      server starts, so the request threads share a few arenas instead of one each (the
      environment variable ``MALLOC_ARENA_MAX`` does the same, but must be set before Python
      starts).
    * :class:`IdleTrim`: when the last request in progress ends, ``malloc_trim(0)``
      (``man 3 malloc_trim``) hands the free pages of every arena back to the system, so the
      resident size returns near its baseline once a burst is over. During a burst some
      request is always in progress and nothing is trimmed (no cost per request).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import platform
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["IdleTrim", "limit_malloc_arenas", "release_free_memory"]

#: ``M_ARENA_MAX`` of glibc's ``<malloc.h>``.
_M_ARENA_MAX = -8
#: Arenas of ``fetalseg serve``: requests do their heavy work two at a time (``max_concurrent``)
#: and the model call is serialised, so more arenas only hold more freed memory.
SERVER_ARENAS = 2


@functools.cache
def _glibc() -> Any | None:
    """The C library, when it is glibc (which has ``mallopt`` and ``malloc_trim``)."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name) if name else None
    except OSError:
        return None


def limit_malloc_arenas(arenas: int = SERVER_ARENAS) -> bool:
    """Let at most ``arenas`` malloc arenas exist in this process; ``True`` if applied."""
    libc = _glibc()
    return bool(libc is not None and libc.mallopt(_M_ARENA_MAX, int(arenas)) == 1)


def release_free_memory() -> bool:
    """Return the free pages of every malloc arena to the system (``malloc_trim(0)``);
    ``True`` if some memory was released."""
    libc = _glibc()
    return bool(libc is not None and libc.malloc_trim(0) == 1)


class IdleTrim:
    """Counts requests in progress; when the last one ends, :func:`release_free_memory`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active = 0
        self.trims = 0  # how many times memory was trimmed (for tests and logs)

    @contextlib.contextmanager
    def request(self) -> Iterator[None]:
        """Wrap one request's work (including its wait for a slot)."""
        with self._lock:
            self._active += 1
        try:
            yield
        finally:
            with self._lock:
                self._active -= 1
                idle = self._active == 0
            if idle:
                release_free_memory()
                self.trims += 1
