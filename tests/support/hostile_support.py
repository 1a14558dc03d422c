"""Small loopback HTTP servers that misbehave on purpose (stdlib only), for the tests and bench/: bodies without
end, gzip bombs, answers dripped a byte at a time. Every loop is bounded in bytes and seconds, and stops as soon
as the client hangs up."""

from __future__ import annotations

import contextlib
import signal
import ssl
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import tomli_w

Answer = Callable[[BaseHTTPRequestHandler], None]
SESSION = {"org_id": "7d4f3c52-0c1e-4f7a-9a43-3f1b5f7a9c01", "user_id": "0b8e1a9d-5c2f-4e61-8d7a-2c9e4f6b1a02",
           "wallbox_id": "c3a1f5e7-9b2d-4c8e-a6f4-1d3b5e7f9a03", "session_id": 101}
TOKEN = "hostile-bearer-token-0123456789"


@contextlib.contextmanager
def hostile(answer: Answer, tls: ssl.SSLContext | None = None) -> Iterator[str]:
    """A loopback HTTP/1.1 server (HTTPS with `tls`) answering every request with `answer(handler)`; yields its
    base URL."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            with contextlib.suppress(OSError):  # the client hung up: that is what most tests want
                answer(self)
            self.close_connection = True

        do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def head(handler: BaseHTTPRequestHandler, status: int = 200, **headers: str) -> None:
    """Status line and headers; every connection serves one answer (said, so that no client reuses it)."""
    handler.send_response(status)
    handler.send_header("Connection", "close")
    handler.send_header("Content-Type", "application/json")
    for name, value in headers.items():
        handler.send_header(name.replace("_", "-"), value)
    handler.end_headers()


def endless_chunked(max_bytes: int = 2 << 30, max_s: float = 60.0) -> Answer:
    """A 200 whose chunked body never ends (until max_bytes or max_s, or the client hangs up)."""
    chunk = b"[" * 65536
    frame = b"%x\r\n%s\r\n" % (len(chunk), chunk)

    def answer(handler: BaseHTTPRequestHandler) -> None:
        head(handler, Transfer_Encoding="chunked")
        ends, sent = time.monotonic() + max_s, 0
        while sent < max_bytes and time.monotonic() < ends:
            handler.wfile.write(frame)
            sent += len(chunk)

    return answer


@cache
def gzip_bomb(decoded_mib: int = 1024) -> bytes:
    """gzip of `decoded_mib` MiB of zeros: about 1 KiB on the wire per MiB decoded."""
    packer, zeros = zlib.compressobj(9, zlib.DEFLATED, 31), bytes(1 << 20)
    return b"".join([*(packer.compress(zeros) for _ in range(decoded_mib)), packer.flush()])


def bomb(decoded_mib: int = 1024) -> Answer:
    body = gzip_bomb(decoded_mib)  # made before the server answers (1 GiB takes a few seconds)

    def answer(handler: BaseHTTPRequestHandler) -> None:
        head(handler, Content_Encoding="gzip", Content_Length=str(len(body)))
        handler.wfile.write(body)

    return answer


DRIPPED = b'{"session": {"id": 101}}' + b" " * 76


def drip(body: bytes = DRIPPED, every_s: float = 0.5, headers_too: bool = False, sent: list[int] | None = None) -> Answer:
    """An answer sent one byte every `every_s` seconds: the body only, or the status line and headers too; `sent`
    counts the bytes of the body that went out (1 each) before the client hung up."""

    def answer(handler: BaseHTTPRequestHandler) -> None:
        head_bytes = (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: application/json\r\n"
                      b"Content-Length: %d\r\n\r\n" % len(body))
        if not headers_too:
            handler.wfile.write(head_bytes)
        for n, byte in enumerate((head_bytes if headers_too else b"") + body):
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            if sent is not None and n >= (len(head_bytes) if headers_too else 0):
                sent.append(1)
            time.sleep(every_s)

    return answer


def target_toml(base_url: str, auth: dict[str, str] | None = None, **settings: Any) -> str:
    """A target config for a hostile server: one session, a bearer token (no token endpoint) unless `auth`."""
    return tomli_w.dumps({"base_url": base_url, **settings, "auth": auth or {"grant": "bearer", "token": TOKEN},
                          "sessions": [SESSION]})


CLIENT = {"grant": "client_credentials", "client_id": "c", "client_secret": "s3cret-value", "token_url": "/token"}


def answering(body: bytes) -> Answer:
    """A 200 with this JSON body, to every request."""

    def answer(handler: BaseHTTPRequestHandler) -> None:
        head(handler, Content_Length=str(len(body)))
        handler.wfile.write(body)

    return answer


ok = answering(b'{"session": {"id": 101}}')


def terminated_run(tmp_path: Path, folder: Path) -> tuple[int, str]:
    """(exit code, output) of `run` sent SIGTERM while inside its first request (to a target that drips)."""
    asked, dripping = threading.Event(), drip(every_s=0.5)

    def answer(handler: BaseHTTPRequestHandler) -> None:
        asked.set()
        dripping(handler)

    with hostile(answer) as url:
        (tmp_path / "t.toml").write_text(target_toml(url, timeout_s=60))
        process = subprocess.Popen([sys.executable, "-m", "conformance", "run", "--config", str(tmp_path / "t.toml"),
                                    "--report-dir", str(folder)], cwd=tmp_path, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
        try:
            if asked.wait(timeout=60):
                process.send_signal(signal.SIGTERM)
            output, _ = process.communicate(timeout=60)
        finally:
            process.kill()
    return process.returncode, output
