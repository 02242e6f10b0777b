"""Bounded local load test of ``gep serve``: unit and accounts queries at a fixed concurrency.

Starts ``gep serve`` on a free loopback port (127.0.0.1 only) on a store, then for a fixed
duration runs ``--concurrency`` client threads, each with one keep-alive connection, sending a
fixed mix of the planner app's queries (a unit's panel, its account lines for a year, GEP per
township for a year). Reports requests per second, p50/p95/p99 latency and errors; stops by
itself. Not a unit test: run it by hand::

    .venv/bin/gep demo --out /tmp/demo
    .venv/bin/python benchmarks/serve_load.py --folder /tmp/demo --concurrency 8 --duration 20

``--store PATH`` uses an existing store instead of appending ``--folder`` to a temporary one.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

GEP = Path(sys.executable).with_name("gep")
MAX_DURATION_S = 120.0
MAX_CONCURRENCY = 64


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(conn: http.client.HTTPConnection, path: str) -> tuple[int, bytes]:
    conn.request("GET", path)
    response = conn.getresponse()
    return response.status, response.read()


def _start_server(store: Path) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    process = subprocess.Popen(
        [str(GEP), "serve", "--store", str(store), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(
                f"gep serve exited: {process.stderr.read().decode() if process.stderr else ''}"
            )
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            if _get(conn, "/api/runs")[0] == 200:
                return process, port
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit("gep serve did not start within 60 s")


def _queries(port: int) -> list[str]:
    """The mix: for every township, its panel, its accounts for a year, and GEP per township."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    run = json.loads(_get(conn, "/api/runs")[1])["runs"][-1]
    run_id, year = run["run_id"], run["years"][-1]
    gep = json.loads(_get(conn, f"/api/runs/{run_id}/gep?level=township&year={year}")[1])
    # warm the server's cache once, as the page does when it opens
    _get(conn, f"/api/runs/{run_id}/units?level=township")
    units = [row["unit_id"] for row in gep["rows"]]
    paths = []
    for unit in units:
        paths.append(f"/api/runs/{run_id}/units/{unit}")
        paths.append(f"/api/runs/{run_id}/accounts?unit_id={unit}&year={year}")
    paths.append(f"/api/runs/{run_id}/gep?level=township&year={year}")
    return paths


def _worker(port: int, paths: list[str], stop_at: float, seed: int, out: dict) -> None:
    rng = random.Random(seed)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies, errors = [], 0
    while time.monotonic() < stop_at:
        start = time.perf_counter()
        try:
            status, _ = _get(conn, rng.choice(paths))
        except (OSError, http.client.HTTPException):
            status = 0
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        latencies.append(time.perf_counter() - start)
        errors += status != 200
    conn.close()
    out[seed] = (latencies, errors)


def run_load(port: int, *, concurrency: int, duration_s: float) -> dict[str, float]:
    """Run the query mix for ``duration_s`` at ``concurrency``; return the figures."""
    paths = _queries(port)
    results: dict[int, tuple[list[float], int]] = {}
    stop_at = time.monotonic() + duration_s
    threads = [
        threading.Thread(target=_worker, args=(port, paths, stop_at, seed, results))
        for seed in range(concurrency)
    ]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=duration_s + 60)
    elapsed = time.monotonic() - began
    latencies = sorted(x for lat, _ in results.values() for x in lat)
    errors = sum(e for _, e in results.values())
    quantiles = statistics.quantiles(latencies, n=100)
    return {
        "concurrency": concurrency,
        "duration_s": round(elapsed, 2),
        "requests": len(latencies),
        "errors": errors,
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(quantiles[49] * 1000, 2),
        "p95_ms": round(quantiles[94] * 1000, 2),
        "p99_ms": round(quantiles[98] * 1000, 2),
    }


def main() -> None:
    """Parse the arguments, start the server, run the load, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--store", type=Path, help="An existing accounts store.")
    source.add_argument("--folder", type=Path, help="A run's output folder to serve.")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--duration", type=float, default=20.0, help="Seconds of load.")
    parser.add_argument("--json", type=Path, help="Also write the figures to this file.")
    args = parser.parse_args()
    if not 1 <= args.concurrency <= MAX_CONCURRENCY:
        parser.error(f"--concurrency must be 1..{MAX_CONCURRENCY}")
    if not 0 < args.duration <= MAX_DURATION_S:
        parser.error(f"--duration must be in (0, {MAX_DURATION_S:g}] seconds")
    with tempfile.TemporaryDirectory() as tmp:
        store = args.store
        if store is None:
            store = Path(tmp) / "gep-store.duckdb"
            subprocess.run(
                [str(GEP), "store", "append", str(args.folder), "--store", str(store)], check=True
            )
        process, port = _start_server(store)
        try:
            figures = run_load(port, concurrency=args.concurrency, duration_s=args.duration)
        finally:
            process.terminate()
            process.wait(timeout=30)
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
