"""Headless Chromium for the report tests: open a file with the network cut, dump its DOM or screenshot it.

Debian's `chromium` is installed by `.ci/run`. Without it the browser tests skip with the reason, except
in CI (CI=true), where a missing browser is a failure rather than a silently skipped check.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("chromium is missing in CI: .ci/run installs Debian's chromium")
        pytest.skip("chromium is not installed (apt-get install chromium; .ci/run does it)")
    return found


def offline() -> list[str]:
    """A prefix that runs a command in a new network namespace (no network at all): as root, or as a user
    where user namespaces are allowed. Elsewhere none, and the browser flags below still block every host."""
    for prefix in (["unshare", "-n"], ["unshare", "-rn"]):
        if shutil.which("unshare") and subprocess.run([*prefix, "true"], capture_output=True).returncode == 0:
            return prefix
    return []


def browse(page: Path, profile: Path, *args: str) -> str:
    """Open `page` from disk in a fresh profile with the network cut; return what Chromium printed."""
    command = [*offline(), chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
               "--proxy-server=http://127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
               f"--user-data-dir={profile}", "--virtual-time-budget=10000", "--window-size=1400,2400", *args,
               page.as_uri()]
    result = subprocess.run(command, capture_output=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
    return result.stdout.decode("utf-8")
