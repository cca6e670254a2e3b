"""Guards in front of the web app: who may talk to it, and how slowly.

* **Host** (DNS rebinding): a page on another site can make a browser resolve its own name to
  127.0.0.1 and then talk to a server on localhost as if same-origin. The browser still sends
  the attacker's name in ``Host``, so requests whose ``Host`` is not one of the server's own
  names are refused (400). ``fetalseg serve`` derives the names from the address it listens on
  (``--allowed-host`` adds more, e.g. the name a reverse proxy forwards; ``*`` turns the check
  off).
* **Origin** (cross-site POST): a browser sends ``Origin`` with every cross-origin POST. A POST
  whose ``Origin`` is not the server's own (same scheme-less ``host[:port]`` as ``Host``) nor an
  allowed origin (``--allowed-origin``), or whose ``Sec-Fetch-Site`` says ``cross-site``, is
  refused (403). Clients that send no ``Origin`` (curl, scripts) are not browsers driven by
  another site and are served.
* **Slow bodies**: each chunk of a request body must arrive within ``idle_timeout_s`` and the
  whole body within ``body_timeout_s``; else 408 and the connection is closed. A multipart body
  that ends before its closing boundary (a cut upload whose last fields are missing) is 400,
  not a request without those fields.
* **Slow headers**: :func:`timed_h11_protocol` makes uvicorn close a connection whose request
  line and headers are not complete within ``header_timeout_s`` (uvicorn itself waits forever).
  The number of connections is capped by uvicorn's ``limit_concurrency`` (503 over it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["RequestGuard", "default_allowed_hosts", "server_config", "timed_h11_protocol"]

#: Defaults of ``fetalseg serve`` (seconds, connections); see the module doc.
HEADER_TIMEOUT_S = 10.0
BODY_TIMEOUT_S = 120.0
IDLE_TIMEOUT_S = 15.0
MAX_CONNECTIONS = 64

_UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def _host_name(host: str) -> str:
    """``"Example.org:8000" -> "example.org"``, ``"[::1]:8000" -> "::1"``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    if host.count(":") == 1:
        return host.split(":", 1)[0]
    return host  # a bare IPv6 address or a name without a port


def default_allowed_hosts(bind: str) -> set[str]:
    """The names a server listening on ``bind`` is reached by: loopback names for a loopback
    address; for a wildcard (``0.0.0.0``, ``::``) also this machine's name and addresses; for
    any other address, that address (and the loopback names)."""
    hosts = set(_LOOPBACK)
    bind = _host_name(bind)
    hosts.add(bind)
    if bind in ("0.0.0.0", "::", ""):
        names = {socket.gethostname(), socket.getfqdn()}
        for name in list(names):
            with contextlib.suppress(OSError):
                names.update(str(a[4][0]) for a in socket.getaddrinfo(name, None))
        hosts.update(n.lower() for n in names if n)
    return hosts


async def _send_json(send: Send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestGuard:
    """ASGI middleware: Host and Origin checks, body timeouts, complete multipart bodies.

    ``allowed_hosts``: accepted ``Host`` names (no port; ``None`` or ``"*"`` among them: any);
    ``allowed_origins``: origins (``scheme://host[:port]``) accepted on POST besides the
    server's own; ``body_timeout_s`` / ``idle_timeout_s``: seconds for a whole request body /
    between two of its chunks.
    """

    def __init__(
        self,
        app: ASGIApp,
        allowed_hosts: Iterable[str] | None = None,
        allowed_origins: Iterable[str] = (),
        body_timeout_s: float = 60.0,
        idle_timeout_s: float = 10.0,
    ) -> None:
        self.app = app
        hosts = None if allowed_hosts is None else {_host_name(h) for h in allowed_hosts}
        self.allowed_hosts = None if hosts is None or "*" in hosts else hosts
        self.allowed_origins = {o.strip().rstrip("/").lower() for o in allowed_origins}
        self.body_timeout_s = body_timeout_s
        self.idle_timeout_s = idle_timeout_s

    def _refusal(self, scope: Scope) -> tuple[int, str] | None:
        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])
        }
        host = headers.get("host", "")
        if self.allowed_hosts is not None and _host_name(host) not in self.allowed_hosts:
            shown = host[:80] or "(none)"
            return 400, f"Host {shown!r} is not one of this server's names (see --allowed-host)"
        if scope.get("method", "GET").upper() not in _UNSAFE_METHODS:
            return None
        origin = headers.get("origin")
        if origin is not None:
            o = origin.strip().rstrip("/").lower()
            same = urlsplit(o).netloc == host.strip().lower() and o != "null"
            if not same and o not in self.allowed_origins:
                return 403, f"cross-origin request from {origin[:80]!r} refused"
        elif headers.get("sec-fetch-site", "").lower() == "cross-site":
            return 403, "cross-site request refused"
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is not None:
            await _send_json(send, *refusal)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.body_timeout_s
        closing = _closing_delimiter(scope)
        tail = b""
        failure: tuple[int, str] | None = None
        started = False

        async def guarded_receive() -> Message:
            nonlocal tail, failure
            if failure is not None:
                return {"type": "http.disconnect"}
            wait = min(self.idle_timeout_s, deadline - loop.time())
            try:
                message = await asyncio.wait_for(receive(), timeout=max(wait, 0.0))
            except asyncio.TimeoutError:
                failure = (408, "request body too slow: timed out")
                return {"type": "http.disconnect"}
            if message["type"] == "http.request" and closing is not None:
                tail = (tail + message.get("body", b""))[-(len(closing) + 4) :]
                if not message.get("more_body", False) and closing not in tail:
                    failure = (400, "multipart body incomplete: it ends before its last field")
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if failure is not None:
                return  # the app's answer to a cut-off body is replaced by the failure
            started = True
            await send(message)

        try:
            await self.app(scope, guarded_receive, guarded_send)
        except Exception:
            if failure is None:
                raise
        if failure is not None and not started:
            await _send_json(send, *failure)


def _closing_delimiter(scope: Scope) -> bytes | None:
    """``b"--BOUNDARY--"`` of a multipart request (RFC 2046 5.1.1), else ``None``."""
    headers: dict[bytes, bytes] = dict(scope.get("headers", []))
    ctype = headers.get(b"content-type", b"").decode("latin-1")
    if not ctype.lower().startswith("multipart/"):
        return None
    for part in ctype.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "boundary" and value:
            return b"--" + value.strip('"').encode("latin-1") + b"--"
    return None


def timed_h11_protocol(header_timeout_s: float) -> type[Any]:
    """uvicorn's h11 protocol, closing a connection (408) whose request line and headers are
    not complete ``header_timeout_s`` after it opened or after its previous response."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class TimedH11Protocol(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None
        _seen_cycle: object = None

        def _arm(self) -> None:
            self._disarm()
            self._header_timer = self.loop.call_later(header_timeout_s, self._headers_too_slow)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_too_slow(self) -> None:
            self._header_timer = None
            if not self.transport.is_closing():
                self.transport.write(
                    b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\n"
                    b"connection: close\r\n\r\n"
                )
                self.transport.close()

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def handle_events(self) -> None:
            super().handle_events()
            if self.cycle is not None and self.cycle is not self._seen_cycle:
                self._seen_cycle = self.cycle  # a request's headers are complete
                self._disarm()

        def on_response_complete(self) -> None:
            finished = self.cycle
            super().on_response_complete()  # may start a pipelined request (a new cycle)
            if not self.transport.is_closing() and self.cycle is finished:
                self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

    return TimedH11Protocol


def server_config(
    app: ASGIApp,
    host: str,
    port: int,
    header_timeout_s: float = HEADER_TIMEOUT_S,
    max_connections: int = MAX_CONNECTIONS,
    log_level: str = "info",
) -> Any:
    """The ``uvicorn.Config`` of ``fetalseg serve``: the timed h11 protocol, at most
    ``max_connections`` connections and running requests (503 beyond), keep-alive 5 s."""
    import uvicorn

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=timed_h11_protocol(header_timeout_s),
        limit_concurrency=max_connections,
        timeout_keep_alive=5,
        log_level=log_level,
    )
