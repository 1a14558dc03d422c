"""Headless Chromium for the report tests: open a file with the network cut, dump its DOM, measure its width,
screenshot it or print it, and read the printed PDF's text per page (poppler's pdftotext).

Debian's `chromium` and `poppler-utils` are installed by `.ci/run`. Without them the browser tests skip with
the reason, except in CI (CI=true), where a missing tool is a failure rather than a silently skipped check.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import zlib
from html import unescape
from pathlib import Path
from typing import Any

import pytest


def _tool(name: str, package: str) -> str:
    found = shutil.which(name)
    if found is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{name} is missing in CI: .ci/run installs Debian's {package}")
        pytest.skip(f"{name} is not installed (apt-get install {package}; .ci/run does it)")
    return found


def chromium() -> str:
    return _tool("chromium", "chromium")


def poppler(name: str) -> str:
    """pdftoppm or pdftotext."""
    return _tool(name, "poppler-utils")


def offline() -> list[str]:
    """A prefix that runs a command in a new network namespace (no network at all): as root, or as a user
    where user namespaces are allowed. Elsewhere none, and the browser flags below still block every host."""
    for prefix in (["unshare", "-n"], ["unshare", "-rn"]):
        if shutil.which("unshare") and subprocess.run([*prefix, "true"], capture_output=True).returncode == 0:
            return prefix
    return []


def browse(page: Path, profile: Path, *args: str, width: int = 1400) -> str:
    """Open `page` from disk in a fresh profile with the network cut, in a window `width` pixels wide; return
    what Chromium printed."""
    command = [*offline(), chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
               "--proxy-server=http://127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
               f"--user-data-dir={profile}", "--virtual-time-budget=10000", f"--window-size={width},2400", *args,
               page.as_uri()]
    result = subprocess.run(command, capture_output=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
    return result.stdout.decode("utf-8")


_MEASURE = """<script>addEventListener("load", () => document.body.setAttribute("data-measured", JSON.stringify(
  {scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth,
   innerWidth: innerWidth,
   wider: [...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > innerWidth)
     .slice(0, 5).map(e => `${e.tagName} ${e.className} ${e.id}`.trim())})));</script>"""


def measure(page: Path, profile: Path, width: int) -> dict[str, Any]:
    """The page's width as laid out in a window `width` pixels wide: document.documentElement.scrollWidth,
    clientWidth (the window less its scroll bar), innerWidth, and the first elements reaching past it. A copy
    of the page with a measuring script appended is opened (the report itself holds no script)."""
    copy = profile.with_name(f"{profile.name}-{page.name}")
    copy.write_text(page.read_text(encoding="utf-8") + _MEASURE, encoding="utf-8")
    dom = browse(copy, profile, "--dump-dom", width=width)
    found = re.search(r'data-measured="([^"]*)"', dom)
    assert found, "the measuring script did not run"
    measured: dict[str, Any] = json.loads(unescape(found.group(1)))
    return measured


def pdf_pages(pdf: Path) -> list[str]:
    """The text of each page of a PDF, in the order it was written (pdftotext -raw)."""
    result = subprocess.run([poppler("pdftotext"), "-raw", "-enc", "UTF-8", str(pdf), "-"], capture_output=True,
                            timeout=120, check=True)
    pages = result.stdout.decode("utf-8").split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


def page_requests(net_log: Path) -> list[str]:
    """The URLs the page itself asked for, from a `--log-net-log` file: requests whose initiator is an origin
    (the browser's own background traffic has none), file and data URLs left out."""
    log = json.loads(net_log.read_text(encoding="utf-8"))
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = (event["params"].get("url", "") for event in log["events"]
            if event["type"] == start and event.get("params", {}).get("initiator", "not an origin") != "not an origin")
    return sorted({url for url in urls if url and not url.startswith(("file:", "data:"))})


def png_pixels(png: bytes) -> bytes:
    """The filtered scanlines of a PNG (enough to tell a blank picture from a drawn one), without PIL."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    data, at = b"", 8
    while at < len(png):
        length, kind = struct.unpack(">I4s", png[at:at + 8])
        if kind == b"IDAT":
            data += png[at + 8:at + 8 + length]
        at += 12 + length
    return zlib.decompress(data)


def ppm_ink(ppm: bytes) -> float:
    """The share of pixels that are not white in a binary PPM (P6, as pdftoppm writes)."""
    magic, width, height, depth, pixels = ppm.split(maxsplit=4)
    assert magic == b"P6" and depth == b"255"
    count = int(width) * int(height)
    white = sum(1 for n in range(0, 3 * count, 3) if pixels[n:n + 3] == b"\xff\xff\xff")
    return 1 - white / count
