"""A loopback HTTP proxy that puts a network between the suite and a deployment: some answers become a gateway's
passing trouble (a 503 with Retry-After: 1, a 502 HTML page, a reset connection), every answer may come late.

Shared by tests/test_transient.py (trouble) and bench/bench_latency.py (latency). It reads each request of a
kept-alive connection, decides its fate (a seeded draw, or `persistent` for one request that always fails the
same way), and forwards the others to the deployment with httpx, the path byte for byte (`raw_path`).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
import threading
from collections import Counter
from collections.abc import Callable, Iterator

import httpx

KINDS = ("503", "502", "reset")
_GATEWAY_PAGE = (b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center>"
                 b"<hr><center>nginx</center></body></html>")
_UNAVAILABLE = b'{"detail": "Service Unavailable"}'
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "host",
               "accept-encoding", "proxy-connection", "te", "upgrade"}


class FaultProxy:
    """`trouble`: the share of requests answered with one of KINDS (drawn with `seed`); `delay_s`: added before
    every answer; `persistent(method, path)`: a kind for a request that always gets it, or None."""

    def __init__(self, upstream: str, *, trouble: float = 0.0, seed: int = 0, delay_s: float = 0.0,
                 persistent: Callable[[str, str], str | None] = lambda method, path: None) -> None:
        self.upstream, self.trouble, self.delay_s, self.persistent = upstream, trouble, delay_s, persistent
        self.injected: Counter[str] = Counter()  # what the proxy did, per kind
        self.forwarded = 0
        self._draw = random.Random(seed)
        self._lock = threading.Lock()

    def fate(self, method: str, path: str) -> str | None:
        with self._lock:
            kind = self.persistent(method, path)
            if kind is None and self._draw.random() < self.trouble:
                kind = self._draw.choice(KINDS)
            if kind is None:
                self.forwarded += 1
            else:
                self.injected[kind] += 1
            return kind

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, client: httpx.AsyncClient) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, *lines = head.decode("latin-1").split("\r\n")
                method, target, _ = request_line.split(" ", 2)
                headers = [tuple(part.strip() for part in line.split(":", 1)) for line in lines if ":" in line]
                length = next((int(v) for k, v in headers if k.lower() == "content-length"), 0)
                body = await reader.readexactly(length) if length else b""
                kind = self.fate(method, target.split("?")[0])
                if kind == "reset":  # RST, not FIN: SO_LINGER 0, then close
                    writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                                               struct.pack("ii", 1, 0))
                    writer.transport.abort()
                    return
                if kind == "503":
                    status, out_headers, content = 503, [("Content-Type", "application/json"), ("Retry-After", "1")], \
                        _UNAVAILABLE
                elif kind == "502":
                    status, out_headers, content = 502, [("Content-Type", "text/html")], _GATEWAY_PAGE
                else:
                    sent = [(k, v) for k, v in headers if k.lower() not in _HOP_BY_HOP]
                    url = httpx.URL(self.upstream).copy_with(raw_path=target.encode("latin-1"))
                    answer = await client.request(method, url, headers=sent, content=body)
                    status, content = answer.status_code, answer.content
                    out_headers = [(k, v) for k, v in answer.headers.multi_items() if k.lower() not in _HOP_BY_HOP]
                if self.delay_s:
                    await asyncio.sleep(self.delay_s)
                lines_out = [f"HTTP/1.1 {status} {httpx.codes.get_reason_phrase(status)}",
                             *(f"{k}: {v}" for k, v in out_headers), f"Content-Length: {len(content)}"]
                writer.write(("\r\n".join(lines_out) + "\r\n\r\n").encode("latin-1") + content)
                await writer.drain()
        with contextlib.suppress(OSError):
            writer.close()

    @contextlib.contextmanager
    def running(self) -> Iterator[str]:
        """Serve on a free loopback port (in a thread of its own) and yield the proxy's base URL."""
        loop = asyncio.new_event_loop()
        started = threading.Event()
        state: dict[str, object] = {}

        async def main() -> None:
            async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=64)) as client:
                server = await asyncio.start_server(lambda r, w: self._serve(r, w, client), "127.0.0.1", 0)
                state["port"] = server.sockets[0].getsockname()[1]
                state["stop"] = stop = asyncio.Event()
                started.set()
                async with server:
                    await stop.wait()

        thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
        thread.start()
        started.wait(10)
        try:
            yield f"http://127.0.0.1:{state['port']}"
        finally:
            loop.call_soon_threadsafe(state["stop"].set)  # type: ignore[attr-defined]
            thread.join(timeout=10)
            loop.close()
