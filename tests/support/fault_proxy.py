"""A loopback HTTP proxy that puts a network between the suite and a deployment: some answers become a gateway's
passing trouble (a 503 with Retry-After: 1, a 502 HTML page, a reset connection), every answer may come late.

Shared by tests/e2e/test_transient.py (trouble) and bench/bench_latency.py (latency). It reads each request of a
kept-alive connection, decides its fate (a seeded draw, or `persistent` for one request that always fails the
same way), and forwards the others to the deployment byte for byte (a connection each: fuzzed request lines and headers arrive
as they were sent, and the deployment judges them).
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


def _answer(status: int, headers: list[tuple[str, str]], content: bytes) -> bytes:
    lines = [f"HTTP/1.1 {status} {httpx.codes.get_reason_phrase(status)}", *(f"{k}: {v}" for k, v in headers),
             f"Content-Length: {len(content)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + content


def _without_connection_headers(head: bytes, extra: bytes) -> bytes:
    """A message head without Connection and Keep-Alive, plus `extra` (a header line or nothing), and its end."""
    first, *lines = head.split(b"\r\n")
    kept = [line for line in lines if line and not line.lower().startswith((b"connection:", b"keep-alive:"))]
    return b"\r\n".join([first, *kept, *([extra] if extra else []), b"", b""])


def _delimited(answer: bytes) -> bool:
    """Whether an answer says where it ends (Content-Length or chunked), so the connection can stay open."""
    head = answer.partition(b"\r\n\r\n")[0].lower()
    return b"\r\ncontent-length:" in head or b"\r\ntransfer-encoding: chunked" in head


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

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                                 asyncio.CancelledError):  # cancelled: the proxy stops
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, *lines = head.decode("latin-1").split("\r\n")
                method, target, _ = request_line.split(" ", 2)
                length = next((int(line.split(":", 1)[1]) for line in lines
                               if line.lower().startswith("content-length:")), 0)
                body = await reader.readexactly(length) if length else b""
                kind = self.fate(method, target.split("?")[0])
                if kind == "reset":  # RST, not FIN: SO_LINGER 0, then close
                    writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                                               struct.pack("ii", 1, 0))
                    writer.transport.abort()
                    return
                if kind == "503":
                    answer = _answer(503, [("Content-Type", "application/json"), ("Retry-After", "1")], _UNAVAILABLE)
                elif kind == "502":
                    answer = _answer(502, [("Content-Type", "text/html")], _GATEWAY_PAGE)
                else:
                    answer = await self._forward(head, body)
                    if not answer:  # the deployment closed without an answer: so does the proxy
                        break
                if self.delay_s:
                    await asyncio.sleep(self.delay_s)
                writer.write(answer)
                await writer.drain()
                if not _delimited(answer):  # its end is where the connection closes
                    break
        with contextlib.suppress(OSError):
            writer.close()

    async def _forward(self, head: bytes, body: bytes) -> bytes:
        """The request as it came (bytes, on a connection of its own that closes after it), the answer as it
        came but for its connection headers: the client's connection stays open."""
        upstream = httpx.URL(self.upstream)
        reader, writer = await asyncio.open_connection(upstream.host, upstream.port)
        try:
            writer.write(_without_connection_headers(head.rstrip(b"\r\n"), b"Connection: close") + body)
            await writer.drain()
            answer = await reader.read()
        finally:
            writer.close()
        answer_head, separator, rest = answer.partition(b"\r\n\r\n")
        if not separator or not _delimited(answer):
            return answer  # as it came, its Connection: close included
        return _without_connection_headers(answer_head, b"") + rest

    @contextlib.contextmanager
    def running(self) -> Iterator[str]:
        """Serve on a free loopback port (in a thread of its own) and yield the proxy's base URL."""
        loop = asyncio.new_event_loop()
        started = threading.Event()
        state: dict[str, object] = {}

        async def main() -> None:
            server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
            state["port"] = server.sockets[0].getsockname()[1]
            state["stop"] = stop = asyncio.Event()
            started.set()
            async with server:
                await stop.wait()
            connections = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in connections:
                task.cancel()
            await asyncio.gather(*connections, return_exceptions=True)

        thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
        thread.start()
        started.wait(10)
        try:
            yield f"http://127.0.0.1:{state['port']}"
        finally:
            loop.call_soon_threadsafe(state["stop"].set)  # type: ignore[attr-defined]
            thread.join(timeout=10)
            loop.close()
