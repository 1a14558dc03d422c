"""Requests per second of the reference deployment's session endpoint on loopback.

Starts `hems-conformance serve` as its own process (so client and server do not share a GIL), reads the
target config it writes, and drives the session endpoint with N concurrent workers cycling over every
session of both tenants, bounded by a request count and a time budget. Two clients: `httpx` (an
httpx.AsyncClient, the kind of client a suite uses) and `raw` (bare asyncio streams speaking HTTP/1.1
keep-alive, cheap enough that the server becomes the limit). Prints the throughput, the client, the
concurrency, latency percentiles, and the CPU each side used: a side near 100 % of one core is the
bottleneck, which tells later runs whether the target or the suite limits them.

    python bench/bench_server.py [--client httpx|raw|both] [--concurrency 16] [--requests 5000]
                                 [--seconds 30] [--log]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx

SESSION = "/api/partners/v2.0/org/{org_id}/users/{user_id}/wallboxes/{wallbox_id}/hems-sessions/{session_id}"
Target = tuple[str, dict[str, str]]  # (path, headers)
Fetch = Callable[[str, dict[str, str]], Awaitable[int]]  # one GET -> status


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process, from /proc (Linux); 0.0 where that is not available."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _targets(config: dict) -> list[Target]:
    """Every session of both tenants with a token of its tenant, fetched once from the token endpoint."""
    targets = []
    async with httpx.AsyncClient(base_url=config["base_url"], timeout=30) as client:
        for auth, sessions in ((config["auth"], config["sessions"]),
                               (config["tenant_b"]["auth"], config["tenant_b"]["sessions"])):
            form = {"grant_type": auth["grant"]}
            if auth["grant"] == "password":
                form |= {"username": auth["username"], "password": auth["password"]}
            answer = await client.post(auth["token_url"], data=form, auth=(auth["client_id"], auth["client_secret"]))
            answer.raise_for_status()
            headers = {"Authorization": "Bearer " + answer.json()["access_token"]}
            targets += [(SESSION.format(**s), headers) for s in sessions]
    return targets


async def _run(targets: list[Target], workers: list[Fetch], total: int, seconds: float) -> tuple[list[float], int, float]:
    """Each worker fetches the next target until `total` requests are issued or `seconds` pass."""
    latencies: list[float] = []
    errors = issued = 0
    deadline = time.perf_counter() + seconds

    async def work(fetch: Fetch) -> None:
        nonlocal errors, issued
        while issued < total and time.perf_counter() < deadline:
            path, headers = targets[issued % len(targets)]
            issued += 1
            started = time.perf_counter()
            status = await fetch(path, headers)
            latencies.append(time.perf_counter() - started)
            errors += status != 200

    started = time.perf_counter()
    await asyncio.gather(*(work(fetch) for fetch in workers))
    return latencies, errors, time.perf_counter() - started


async def _with_httpx(base_url: str, targets: list[Target], concurrency: int, total: int, seconds: float):
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:
        async def fetch(path: str, headers: dict[str, str]) -> int:
            return (await client.get(path, headers=headers)).status_code

        return await _run(targets, [fetch] * concurrency, total, seconds)


async def _raw_connection(host: str, port: int) -> tuple[Fetch, Callable[[], None]]:
    """One keep-alive HTTP/1.1 connection: a GET writes the request and reads the answer by Content-Length."""
    reader, writer = await asyncio.open_connection(host, port)

    async def fetch(path: str, headers: dict[str, str]) -> int:
        lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", *(f"{k}: {v}" for k, v in headers.items())]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        length = next(int(line.split(":", 1)[1]) for line in head if line.lower().startswith("content-length:"))
        await reader.readexactly(length)
        return int(head[0].split()[1])

    return fetch, writer.close


async def _with_raw(base_url: str, targets: list[Target], concurrency: int, total: int, seconds: float):
    url = urlsplit(base_url)
    connections = [await _raw_connection(url.hostname, url.port) for _ in range(concurrency)]
    try:
        return await _run(targets, [fetch for fetch, _ in connections], total, seconds)
    finally:
        for _, close in connections:
            close()


CLIENTS = {
    "httpx": (_with_httpx, f"httpx {httpx.__version__} AsyncClient (asyncio, connection pool)"),
    "raw": (_with_raw, "raw asyncio streams, HTTP/1.1 keep-alive, one connection per worker"),
}


def _report(name: str, args: argparse.Namespace, latencies: list[float], errors: int, wall: float,
            server_cpu: float, client_cpu: float) -> None:
    latencies.sort()
    p50, p90, p99 = (1000 * latencies[min(len(latencies) - 1, int(q * len(latencies)))] for q in (0.5, 0.9, 0.99))
    print(f"client: {CLIENTS[name][1]}; concurrency {args.concurrency}")
    print(f"  requests: {len(latencies)} in {wall:.2f} s, {errors} not 200")
    print(f"  throughput: {len(latencies) / wall:.0f} requests/s")
    print(f"  latency ms: p50 {p50:.2f}  p90 {p90:.2f}  p99 {p99:.2f}  max {1000 * latencies[-1]:.2f}  "
          f"mean {1000 * statistics.fmean(latencies):.2f}")
    print(f"  CPU busy: server {100 * server_cpu / wall:.0f} %, client {100 * client_cpu / wall:.0f} % of one core")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--client", choices=(*CLIENTS, "both"), default="both")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--requests", type=int, default=5000, help="stop after this many requests")
    parser.add_argument("--seconds", type=float, default=30.0, help="stop after this long in any case")
    parser.add_argument("--log", action="store_true", help="keep the server's request log on (default: --quiet)")
    args = parser.parse_args()
    clients = list(CLIENTS) if args.client == "both" else [args.client]

    with tempfile.TemporaryDirectory() as tmp:
        config_path = Path(tmp) / "target.toml"
        command = [sys.executable, "-m", "conformance", "serve", "--port", "0", "--write-config", str(config_path)]
        server = subprocess.Popen(command + ([] if args.log else ["--quiet"]), stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True)
        try:
            banner = server.stdout.readline()
            if not config_path.exists():
                print(f"the server did not start: {banner.strip()}", file=sys.stderr)
                return 1
            config = tomllib.loads(config_path.read_text())
            targets = asyncio.run(_targets(config))
            print(f"session endpoint of the reference deployment on loopback "
                  f"({'request log on' if args.log else '--quiet'}); {os.cpu_count()} CPUs")
            failed = False
            for name in clients:
                drive = CLIENTS[name][0]
                asyncio.run(drive(config["base_url"], targets, 2, 50, 10))  # warm-up: first connections, caches
                server_cpu, client_cpu = _cpu_seconds(server.pid), time.process_time()
                latencies, errors, wall = asyncio.run(drive(config["base_url"], targets, args.concurrency,
                                                            args.requests, args.seconds))
                server_cpu, client_cpu = _cpu_seconds(server.pid) - server_cpu, time.process_time() - client_cpu
                _report(name, args, latencies, errors, wall, server_cpu, client_cpu)
                failed |= errors > 0
        finally:
            server.terminate()
            server.wait(timeout=30)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
