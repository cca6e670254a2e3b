"""``fetalseg serve``: web page and HTTP API for measuring images and clips."""

from __future__ import annotations

import argparse
import sys

from fetalseg.cli.common import add_model_args
from fetalseg.errors import InputError

NAME = "serve"
HELP = "web page and HTTP API for measuring images and clips"
NEEDS_EXTRA = None


def add_arguments(p: argparse.ArgumentParser) -> None:
    from fetalseg.web.guard import BODY_TIMEOUT_S, HEADER_TIMEOUT_S, IDLE_TIMEOUT_S, MAX_CONNECTIONS

    add_model_args(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--threads", type=int, help="inference threads (default: the runtime's)")
    p.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="accept requests whose Host is NAME (repeatable; e.g. the name a reverse proxy "
        "forwards; '*': any). The names of --host are always accepted",
    )
    p.add_argument(
        "--allowed-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="accept POSTs from pages of ORIGIN (scheme://host[:port]; repeatable) besides "
        "the server's own",
    )
    p.add_argument(
        "--header-timeout",
        type=float,
        default=HEADER_TIMEOUT_S,
        help=f"seconds for a request's headers (default {HEADER_TIMEOUT_S:g})",
    )
    p.add_argument(
        "--body-timeout",
        type=float,
        default=BODY_TIMEOUT_S,
        help=f"seconds for a request's whole body (default {BODY_TIMEOUT_S:g}; also at most "
        f"{IDLE_TIMEOUT_S:g} s between two chunks)",
    )
    p.add_argument(
        "--max-connections",
        type=int,
        default=MAX_CONNECTIONS,
        help=f"open connections and running requests; 503 beyond (default {MAX_CONNECTIONS})",
    )
    p.add_argument(
        "--log-level", default="info", choices=("critical", "error", "warning", "info", "debug")
    )


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from fetalseg.inference.predictor import Predictor
    from fetalseg.web.app import create_app
    from fetalseg.web.guard import IDLE_TIMEOUT_S, default_allowed_hosts, server_config
    from fetalseg.web.memory import limit_malloc_arenas

    if not 0 < args.port < 65536:
        raise InputError(f"--port {args.port}: must be 1-65535")
    import socket

    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    try:  # a port in use is refused now, not after loading the model and announcing the URL
        with socket.create_server((args.host, args.port), family=family):
            pass
    except OSError as e:
        why = (e.strerror or str(e)).split(" (while attempting")[0]
        raise InputError(
            f"--host {args.host} --port {args.port}: cannot listen there ({why})"
        ) from None
    for name, value in (
        ("--header-timeout", args.header_timeout),
        ("--body-timeout", args.body_timeout),
        ("--max-connections", args.max_connections),
    ):
        if not value > 0:
            raise InputError(f"{name} {value}: must be positive")
    limit_malloc_arenas()  # before the request threads exist: see fetalseg.web.memory
    hosts = set(args.allowed_host) | default_allowed_hosts(args.host)
    app = create_app(
        Predictor(args.checkpoint, args.backend, args.threads),
        allowed_hosts=hosts,
        allowed_origins=args.allowed_origin,
        body_timeout_s=args.body_timeout,
        idle_timeout_s=min(args.body_timeout, IDLE_TIMEOUT_S),
    )
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"fetalseg serve: warning: listening on {args.host}: there is no login; anyone "
            "who can reach this address can upload images",
            file=sys.stderr,
        )
    shown = f"[{args.host}]" if ":" in args.host else args.host
    print(f"fetalseg: page and API on http://{shown}:{args.port}/ (Ctrl+C to stop)")
    config = server_config(
        app, args.host, args.port, args.header_timeout, args.max_connections, args.log_level
    )
    uvicorn.Server(config).run()
    return 0
