"""Secrets never leave: every credential and token the run knows is masked in all it prints or writes."""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
from collections.abc import Iterable, Mapping
from urllib.parse import quote, quote_plus

PLACEHOLDER = "[REDACTED]"
_SENSITIVE_HEADERS = {"authorization", "proxy-authorization", "cookie", "set-cookie"}
# Credentials the run did not mint itself can still show up in a body: mask `Bearer <b64token>` wherever it
# appears, also at the end of a quoted string (`"Bearer abc"` in JSON), and `Basic <base64 of a user:password>`.
# RFC 6750 b64token / RFC 7617 token68; the challenge parameters of RFC 6750 §3 and RFC 7617 §2
# (`Bearer realm="..."`, `error=...`, `Basic realm=...`) stay readable, and so does prose: a short word of
# letters only ("a Bearer challenge", "Bearer not a token") is no credential. Known secrets are masked whatever
# their shape (Redactor.add).
_CREDENTIAL = re.compile(r'(?i)\b(bearer|basic)\s+(?!(?:realm|scope|error|error_description|error_uri|charset)\s*=)'
                         r'(?>[A-Za-z0-9\-._~+/]+=*)')
PREFIX_MASKED = 8  # a head of a known secret this long is masked too: what a clip leaves of a secret at its cut
_TOKEN_CHARACTER = re.compile(r"[A-Za-z0-9\-._~+/=]")  # RFC 6750 b64token (an escape after a cut is a cut too)
MIN_SECRET = 4  # shorter values would mask innocent text and protect nothing (an issued token that short is refused)
# prose, up to a full stop: a random b64token this short and without digit or symbol is rare
_WORD = re.compile(r"[A-Za-z]{1,19}\.?")


def _mask_heads(text: str, secret: str) -> str:
    """`text` with every run of PREFIX_MASKED or more leading characters of `secret` masked where it is cut: at
    the end of the text or followed by the clip's ellipsis, a space, a line break or any other character no
    token continues with. Another token sharing a head (JWTs of one issuer share their header) goes on with
    token characters and stays: a case file's public probe is shown as it was sent."""
    head, out, at = secret[:PREFIX_MASKED], [], 0
    found = text.find(head)
    while found >= 0:
        end = found + PREFIX_MASKED
        while end < len(text) and end - found < len(secret) and text[end] == secret[end - found]:
            end += 1
        if end == len(text) or not _TOKEN_CHARACTER.match(text[end]):
            out += [text[at:found], PLACEHOLDER]
            at = end
        found = text.find(head, end)
    return "".join(out) + text[at:]


def _mask_credential(match: re.Match[str]) -> str:
    scheme, credential = match.group(1), match.group(0)[len(match.group(1)):].lstrip()
    if _WORD.fullmatch(credential) or (scheme.lower() == "basic" and not _is_basic_credential(credential)):
        return match.group(0)  # prose such as "Bearer challenge" or "basic auth", not a credential
    return f"{scheme} {PLACEHOLDER}"


def _is_basic_credential(text: str) -> bool:
    try:
        return b":" in base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False


def form_encoded(user: str, password: str) -> tuple[str, str]:
    """A client's id and secret as RFC 6749 §2.3.1 puts them in HTTP Basic: each form-urlencoded first. With
    `quote(safe="")` neither holds a '+' or a space, so decoders reading '+' as a space or not agree."""
    return quote(user, safe=""), quote(password, safe="")


def basic_credential(user: str, password: str) -> str:
    """The HTTP Basic credential the suite sends for a client: id and secret form-urlencoded, then Base64."""
    return base64.b64encode(":".join(form_encoded(user, password)).encode()).decode()


def basic_credentials(user: str, password: str) -> list[str]:
    """The HTTP Basic encodings of a client id and secret: form-urlencoded first (RFC 6749 §2.3.1), as the suite
    sends them, and plainly, as other clients do, so that an echo of the Authorization header is masked even
    without its scheme."""
    return sorted({basic_credential(user, password), base64.b64encode(f"{user}:{password}".encode()).decode()})


def encodings(secret: str) -> set[str]:
    """The forms in which a secret the suite sends can come back: as it is, form-urlencoded (`%20` or `+` for a
    space), JSON-escaped (non-ASCII as it is or as \\u escapes, `/` as it is or as `\\/`)."""
    escaped = json.dumps(secret)[1:-1]
    return {secret, quote(secret, safe=""), quote_plus(secret, safe=""), escaped, escaped.replace("/", "\\/"),
            json.dumps(secret, ensure_ascii=False)[1:-1]}


class Redactor:
    """Masks known secret values (in every encoding of `encodings`), Authorization-like headers and Bearer
    credentials in text, and the heads a clip leaves of known secrets. Its cost per text does not grow with a
    secret's size: each secret is two substring searches (whole, then its head), no pattern is compiled."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()
        self._ordered: tuple[str, ...] = ()  # longest first: a secret inside another is masked with it
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str) -> None:
        if not secret or len(secret) < MIN_SECRET:
            return
        with self._lock:
            new = {form for form in encodings(secret) if len(form) >= MIN_SECRET} - self._secrets
            if new:
                self._secrets |= new
                self._ordered = tuple(sorted(self._secrets, key=len, reverse=True))

    def add_basic(self, user: str, password: str) -> None:
        """The credentials of a Basic Authorization header the suite sends (probes too), and their parts."""
        for secret in (password, *basic_credentials(user, password)):
            self.add(secret)

    def known(self, text: str) -> str:
        """`text` with the known secrets masked, and nothing else: whole, and any head of PREFIX_MASKED characters
        or more, which is what a clip (a message cut at 240 characters, an excerpt line at 160, a body head) leaves
        of a secret that straddles the cut, wherever the cut falls."""
        for secret in self._ordered:
            if secret in text:
                text = text.replace(secret, PLACEHOLDER)
        for secret in self._ordered:
            if len(secret) > PREFIX_MASKED and secret[:PREFIX_MASKED] in text:
                text = _mask_heads(text, secret)
        return text

    def text(self, text: str) -> str:
        return _CREDENTIAL.sub(_mask_credential, self.known(text))

    def headers(self, headers: Mapping[str, str], public: bool = False) -> dict[str, str]:
        """Headers as they may be kept. `public`: their values are a case file's probes (a malformed token, another
        scheme), which a reproduction must send as they were: only known secrets are masked in them."""
        out = {}
        for name, value in headers.items():
            if public:
                out[name] = self.known(value)
            elif name.lower() in _SENSITIVE_HEADERS:
                scheme = value.split(" ", 1)[0] if " " in value else ""
                out[name] = f"{scheme} {PLACEHOLDER}".strip()
            else:
                out[name] = self.text(value)
        return out
