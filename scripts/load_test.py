"""Bounded load test of ``fetalseg serve`` on loopback: throughput, latency, errors, memory.

    python scripts/load_test.py [--checkpoint RUN/best.pt] [--clients 4] [--requests 100]
                                [--max-seconds 300] [--threads N] [--json out/load.json]

Starts ``fetalseg serve`` in a subprocess on a free port of 127.0.0.1 (never another address),
with ``--checkpoint`` (default: the shipped model, if the package has one), waits for
``/api/health``, sends one warm-up request, then ``--clients`` threads (one keep-alive
``httpx.Client`` each) POST a synthetic 800x540 PNG frame with ``pixel_size_mm`` to
``/api/measure`` until ``--requests`` requests are done or ``--max-seconds`` have passed, and
stops the server. With ``--slow-clients N``, N slow clients of each kind of
:data:`SLOW_KINDS` connect as the load starts, and the time until the server cut each off (and
its answer) is reported: the normal clients must still be served meanwhile.
Reports throughput, latency percentiles, the error count (must be 0: any
non-200 answer or transport error) and the server's resident memory (``VmRSS`` from
``/proc/PID/status``) after start-up, after the warm-up, half-way, at the end, and after
``--idle-seconds`` without requests (it should be flat: a leak grows it with every request; the
allocator's warm-up is over by half-way; after the idle wait it should be back near the
warm-up's figure: the server returns freed memory when it goes idle). Exit
code 1 if any request failed, the run did not complete, or RSS grew by more than
``--max-growth-mb`` in the second half. Linux only (``/proc``).
"""

from __future__ import annotations

import argparse
import json
import os
import select
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import httpx

from fetalseg.data.synthetic import synthetic_frame
from fetalseg.inference.weights import shipped_weights

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` in MB (``VmRSS``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


#: Slow clients (``--slow-clients N`` opens N of each kind during the load): the request's
#: first bytes, then one more byte every ``SLOW_STEP_S`` seconds: of the request line and
#: headers (``headers``), of the body (``trickle``); or a part of the body and then nothing
#: (``stalled``).
SLOW_KINDS = ("headers", "trickle", "stalled")
SLOW_STEP_S = 0.5
_SLOW_HEAD = (
    b"POST /api/measure HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 1000000\r\n\r\n"
)


def slow_client(port: int, kind: str, limit_s: float) -> dict[str, object]:
    """One slow client of ``kind`` (see :data:`SLOW_KINDS`): seconds until the server answered
    or closed the connection, and the status line it sent (``""``: closed without one)."""
    sock = socket.create_connection((HOST, port))
    t0 = time.perf_counter()
    if kind == "headers":
        pending = _SLOW_HEAD
    else:
        sock.sendall(_SLOW_HEAD + b"--b\r\n")
        pending = b"x" * 1_000_000 if kind == "trickle" else b""
    data = b""
    try:
        while time.perf_counter() - t0 < limit_s:
            readable, _, _ = select.select([sock], [], [], SLOW_STEP_S)
            if readable:
                chunk = sock.recv(4096)
                data += chunk
                if not chunk or b"\r\n" in data:
                    break
            elif pending:
                sock.send(pending[:1])
                pending = pending[1:]
    except OSError:  # reset by the server
        pass
    finally:
        sock.close()
    return {
        "kind": kind,
        "seconds": round(time.perf_counter() - t0, 1),
        "status": data.split(b"\r\n", 1)[0].decode("latin-1"),
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", help="model for the server (default: the shipped one)")
    parser.add_argument("--backend", default="auto", help="server backend (default auto)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients (default 4)")
    parser.add_argument("--requests", type=int, default=100, help="requests in all (default 100)")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="cap on the load phase")
    parser.add_argument("--threads", type=int, help="server inference threads (serve --threads)")
    parser.add_argument("--startup-seconds", type=float, default=120.0, help="wait for health")
    parser.add_argument(
        "--max-growth-mb",
        type=float,
        default=50.0,
        help="most RSS growth from half-way to the end still called flat (default 50 MB)",
    )
    parser.add_argument(
        "--idle-seconds",
        type=float,
        default=10.0,
        help="after the load, wait this long and read the server's RSS again (default 10 s)",
    )
    parser.add_argument(
        "--slow-clients",
        type=int,
        default=0,
        help="also open this many slow clients of each kind during the load (default 0)",
    )
    parser.add_argument("--json", help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    if args.clients < 1 or args.requests < 1 or args.max_seconds <= 0 or args.idle_seconds < 0:
        parser.error("--clients, --requests, --max-seconds must be positive, --idle-seconds >= 0")
    checkpoint = args.checkpoint
    if checkpoint is None:
        if not shipped_weights().is_file():
            parser.error("the package ships no model: pass --checkpoint RUN/best.pt")
        checkpoint = str(shipped_weights())

    image, _, _ = synthetic_frame(800, 540, rng=0)
    ok, buf = cv2.imencode(".png", image)
    assert ok
    png = buf.tobytes()
    port = free_port()
    base = f"http://{HOST}:{port}"
    cmd = [sys.executable, "-m", "fetalseg.cli.main", "serve", "--checkpoint", checkpoint]
    cmd += ["--backend", args.backend, "--host", HOST, "--port", str(port)]
    cmd += ["--log-level", "warning"] + (["--threads", str(args.threads)] if args.threads else [])
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    memory: dict[str, float] = {}
    latencies: list[float] = []
    server_ms: dict[str, list[float]] = {"model_ms": [], "queue_ms": [], "total_ms": []}
    errors: list[str] = []
    series: list[tuple[int, float]] = []  # (requests done, RSS MB) every tenth of the run
    lock = threading.Lock()
    issued = 0
    done = 0
    try:
        t_start = time.perf_counter()
        while True:
            if server.poll() is not None:
                print(f"server exited ({server.returncode}):\n{server.stderr.read()}")
                return 1
            try:
                if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.perf_counter() - t_start > args.startup_seconds:
                print("server did not start in time")
                return 1
            time.sleep(0.25)
        startup_s = time.perf_counter() - t_start
        memory["after_startup"] = rss_mb(server.pid)
        files = {"file": ("frame.png", png, "image/png")}
        form = {"pixel_size_mm": "0.15"}
        warm = httpx.post(f"{base}/api/measure", files=files, data=form, timeout=120)
        if warm.status_code != 200:
            print(f"warm-up request failed: {warm.status_code} {warm.text[:200]}")
            return 1
        warm_status = warm.json()["status"]
        memory["after_warmup"] = rss_mb(server.pid)
        deadline = time.perf_counter() + args.max_seconds

        def client() -> None:
            nonlocal issued, done
            with httpx.Client(base_url=base, timeout=120) as http:
                while True:
                    with lock:
                        if issued >= args.requests or time.perf_counter() > deadline:
                            return
                        issued += 1
                    t0 = time.perf_counter()
                    try:
                        r = http.post("/api/measure", files=files, data=form)
                        failed = None if r.status_code == 200 else f"{r.status_code} {r.text[:120]}"
                        timing = r.json().get("timing_ms", {}) if failed is None else {}
                    except (httpx.HTTPError, ValueError) as e:
                        failed, timing = f"{type(e).__name__}: {e}", {}
                    dt = time.perf_counter() - t0
                    with lock:
                        latencies.append(dt)
                        for k in server_ms:
                            if k in timing:
                                server_ms[k].append(float(timing[k]))
                        if failed:
                            errors.append(failed)
                        done += 1
                        if done == args.requests // 2:
                            memory["half_way"] = rss_mb(server.pid)
                        if done % max(1, args.requests // 10) == 0:
                            series.append((done, round(rss_mb(server.pid), 1)))

        slow: list[dict[str, object]] = []

        def slow_one(kind: str) -> None:
            r = slow_client(port, kind, args.max_seconds + 150)
            with lock:
                slow.append(r)

        slow_threads = [
            threading.Thread(target=slow_one, args=(kind,))
            for kind in SLOW_KINDS
            for _ in range(args.slow_clients)
        ]
        for t in slow_threads:
            t.start()
        threads = [threading.Thread(target=client) for _ in range(args.clients)]
        t_load = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        load_s = time.perf_counter() - t_load
        memory["end"] = rss_mb(server.pid)
        memory["peak_VmHWM"] = next(
            int(line.split()[1]) / 1024
            for line in Path(f"/proc/{server.pid}/status").read_text().splitlines()
            if line.startswith("VmHWM:")
        )
        time.sleep(args.idle_seconds)
        memory["after_idle"] = rss_mb(server.pid)
        for t in slow_threads:
            t.join()
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

    growth = memory["end"] - memory["after_warmup"]
    second_half = memory["end"] - memory.get("half_way", memory["end"])
    flat = second_half <= args.max_growth_mb
    result = {
        "checkpoint": checkpoint,
        "backend": args.backend,
        "clients": args.clients,
        "requests_planned": args.requests,
        "requests_done": done,
        "errors": len(errors),
        "startup_s": round(startup_s, 2),
        "load_s": round(load_s, 2),
        "throughput_req_s": round(done / load_s, 3),
        "latency_s": {
            "p50": round(percentile(latencies, 0.50), 3),
            "p95": round(percentile(latencies, 0.95), 3),
            "max": round(max(latencies), 3),
            "mean": round(statistics.fmean(latencies), 3),
        },
        "server_timing_ms_median": {
            k: round(statistics.median(v), 1) for k, v in server_ms.items() if v
        },
        "rss_mb": {k: round(v, 1) for k, v in memory.items()},
        "rss_mb_every_tenth": " ".join(f"{n}:{mb:.0f}" for n, mb in series),
        "rss_growth_after_warmup_mb": round(growth, 1),
        "rss_growth_second_half_mb": round(second_half, 1),
        "rss_flat": flat,
        "warmup_status": warm_status,
        "slow_clients": {
            kind: {
                "n": len(rs),
                "seconds_min_max": [min(r["seconds"] for r in rs), max(r["seconds"] for r in rs)],
                "statuses": sorted({str(r["status"]) for r in rs}),
            }
            for kind in SLOW_KINDS
            if (rs := [r for r in slow if r["kind"] == kind])
        },
        "cpu_count": os.cpu_count(),
        "loadavg_at_end": os.getloadavg(),
    }
    print(json.dumps(result, indent=2))
    for e in errors[:5]:
        print(f"error: {e}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0 if not errors and done == args.requests and flat else 1


if __name__ == "__main__":
    sys.exit(main())
