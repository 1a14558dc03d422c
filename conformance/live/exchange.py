"""One request and its answer as the run recorded them: what checks judge and reports show.

Its own module so that the ledger and the reports can hold exchanges without importing the HTTP client.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any


@dataclass
class Exchange:
    """One request and its response, with secrets already redacted: safe to print, store and report."""

    method: str
    url: str
    request_headers: dict[str, str]
    status: int
    headers: dict[str, str]
    text: str
    elapsed_ms: float
    note: str = ""  # how the request was built, e.g. "tenant B token"
    request_form: tuple[tuple[str, str], ...] = ()  # a form body sent (a token request), decoded, secrets masked
    request_basic: str = ""  # user:password of a Basic authentication added by the client, secrets masked
    body: Any = field(default=None, repr=False)  # parsed JSON, when the body is JSON
    too_large: bool = False  # over max_body_mib: read no further, not parsed, so neither judged nor called invalid
    request_id: str = ""  # the X-Request-ID it carried: how the API owner finds it in the server's logs
    tenant: str | None = None  # whose credentials it carried ("a", "b"), None for none: what replay sends again

    def evidence(self) -> Exchange:
        """What a kept finding holds: the redacted, clipped record without the parsed body."""
        return replace(self, body=None)

    @property
    def is_json(self) -> bool:
        return self.headers.get("content-type", "").split(";")[0].strip().lower().endswith("json")

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "url": self.url,
            "request_headers": self.request_headers,
            "status": self.status,
            "headers": self.headers,
            "body_excerpt": self.text[:4096],
            "elapsed_ms": round(self.elapsed_ms, 1),
            "note": self.note,
            "request_id": self.request_id,
        }
