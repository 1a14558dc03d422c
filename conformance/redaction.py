"""Secrets never leave: every credential and token the run knows is masked in all it prints or writes."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping

PLACEHOLDER = "[REDACTED]"
_SENSITIVE_HEADERS = {"authorization", "proxy-authorization", "cookie", "set-cookie"}
# Tokens the run did not mint itself can still show up in a body: mask `Bearer <anything>` wherever it appears,
# also at the end of a quoted string (`"Bearer abc"` in JSON). RFC 6750 b64token; the challenge parameters
# of RFC 6750 §3 (`Bearer realm="..."`, `error=...`) stay readable.
_BEARER = re.compile(r'(?i)\b(bearer)\s+(?!(?:realm|scope|error|error_description|error_uri)\s*=)'
                     r'(?>[A-Za-z0-9\-._~+/]+=*)')
_MIN_SECRET = 4  # shorter values would mask innocent text and protect nothing


class Redactor:
    """Masks known secret values, Authorization-like headers and Bearer credentials in text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()
        self._pattern: re.Pattern[str] | None = None
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str) -> None:
        if not secret or len(secret) < _MIN_SECRET:
            return
        with self._lock:
            if secret not in self._secrets:
                self._secrets.add(secret)
                ordered = sorted(self._secrets, key=len, reverse=True)
                self._pattern = re.compile("|".join(re.escape(s) for s in ordered))

    def text(self, text: str) -> str:
        if self._pattern is not None:
            text = self._pattern.sub(PLACEHOLDER, text)
        return _BEARER.sub(lambda m: f"{m.group(1)} {PLACEHOLDER}", text)

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        out = {}
        for name, value in headers.items():
            if name.lower() in _SENSITIVE_HEADERS:
                scheme = value.split(" ", 1)[0] if " " in value else ""
                out[name] = f"{scheme} {PLACEHOLDER}".strip()
            else:
                out[name] = self.text(value)
        return out
