"""The plain records a run or a check produces, and what every report is built from: the exchanges a run
recorded, the evidence of its findings and the requests that showed them (sightings), the findings about
the spec, and per check its statement, how much it judged, what it found and its status.

Shared by the live run and `check`, so both report the same way; evidence is capped per check, so a
report stays small however many requests or payloads a run judges.
"""

from __future__ import annotations

import bisect
import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from conformance.contract.clipping import clip
from conformance.contract.coverage import NEEDS, Coverage, unexercised
from conformance.contract.cross import CROSS_NEEDS
from conformance.contract.findings import Finding
from conformance.contract.levels import Level
from conformance.report.excerpt import Excerpt, body_excerpt, excerpt

EVIDENCE_PER_CHECK = 10
SIGHTINGS_KEPT = 20  # requests listed under one finding; all of them are counted
STATUS_CAUSE = "status"  # a finding about the status an answer has (or that it has none): grouped per exchange
VALUE_LIMIT = 400  # characters of a finding's expected or actual value in a report, past which it is clipped
TEXT_LIMIT = 500  # characters of a message, pointer or label
SIBLING_KIND = "siblings"  # checks of the supplementary contract (spec/siblings.yaml): their own report section
REPLAY_PER_CHECK = 100  # requests recorded per check for `replay` (one per finding); past them findings are counted
# headers every request carries that say nothing about what it probes: `replay` sends its own
TRANSPORT_HEADERS = frozenset({"user-agent", "x-request-id", "accept", "accept-encoding", "connection",
                               "content-length", "host"})
Statuses = tuple[tuple[int, int], ...]  # the status ranges (inclusive) a judgement on the status alone accepts


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


@dataclass(frozen=True)
class Replayable:
    """The request behind a finding, as `replay` sends it again: method, URL, whose credentials, the headers that
    are the probe (not the transport's), how many findings of its check it showed, and, for a procedure's finding
    judged on the status alone, the statuses that would have been right."""

    method: str
    url: str
    tenant: str | None
    headers: tuple[tuple[str, str], ...]
    findings: int = 1
    statuses: Statuses = ()

    @classmethod
    def of(cls, exchange: Exchange, findings: int = 1, statuses: Statuses = ()) -> Replayable:
        headers = tuple((k, v) for k, v in exchange.request_headers.items() if k.lower() not in TRANSPORT_HEADERS)
        return cls(exchange.method, exchange.url, exchange.tenant, headers, findings, statuses)


@dataclass(frozen=True)
class Sighting:
    """One request that showed a finding: enough to find it again in a server log."""

    method: str
    url: str
    status: int
    note: str = ""


@dataclass
class Evidence:
    """A finding of the live run with what shows it: the exchange, a curl that reproduces it, and every request
    that showed the same finding (the first one included), `requests` of them in all."""

    finding: Finding
    exchange: Exchange | None = None
    curl: str = ""
    requests: int = 0
    seen_in: list[Sighting] = field(default_factory=list)
    cause: str = ""  # STATUS_CAUSE: findings of one exchange with the same cause are one finding
    also: list[str] = field(default_factory=list)  # "CHECK-ID: message" of the findings grouped under this one
    excerpt: Excerpt | None = None  # the body's window at the pointer, taken from the whole body when kept
    statuses: Statuses = ()  # a procedure's finding judged on the answer's status alone: the statuses it accepts

    def kept(self) -> Evidence:
        """This finding as a report keeps it: its body window taken now, from the whole parsed body (up to
        max_body_mib; the exchange's text is only its head), and the exchange without its parsed body, so
        that memory holds no more than EVIDENCE_PER_CHECK windows per check."""
        exchange = self.exchange
        if exchange is None:
            return replace(self)
        window = excerpt(exchange.body, self.finding.pointer) if exchange.body is not None \
            else body_excerpt(exchange.text, self.finding.pointer)
        return replace(self, exchange=exchange.evidence(), excerpt=window)

    def key(self) -> tuple[str, str, str, str]:
        """What makes two findings one defect: the check, the place, the message, the body it was found in."""
        return self.finding.check_id, self.finding.pointer, self.finding.message, body_key(self.exchange)

    def seen(self, other: Evidence) -> None:
        """Count one more request that showed the finding; keep the SIGHTINGS_KEPT first in (method, URL, status,
        note) order, not in arrival order, so the reports are the same for any --workers."""
        self.requests += 1
        if other.exchange is not None:
            exchange = other.exchange
            bisect.insort(self.seen_in, Sighting(exchange.method, exchange.url, exchange.status, exchange.note),
                          key=_sighting_order)
            del self.seen_in[SIGHTINGS_KEPT:]


def _sighting_order(sighting: Sighting) -> tuple[str, str, int, str]:
    return sighting.method, sighting.url, sighting.status, sighting.note


def body_key(exchange: Exchange | None) -> str:
    return hashlib.blake2b(exchange.text.encode("utf-8", "replace"), digest_size=12).hexdigest() if exchange else ""


@dataclass
class SpecFinding:
    """A finding about the spec, not the deployment (information, outside the verdict)."""

    key: str
    message: str
    count: int = 0
    example: Exchange | None = None


class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    WARNING = "warning"  # SHOULD findings only (outside --strict): "warnings" never names INFO notes
    INFO = "info"  # its findings are all INFO: reported, never failing, counted apart as INFO notes
    SKIPPED = "skipped"
    ACCEPTED = "accepted"  # every finding that would fail is accepted by a baseline entry (--baseline)
    NOT_EXERCISED = "not_exercised"  # judged, found nothing, but never met what it judges: a vacuous pass


@dataclass
class CheckRecord:
    """One catalogue entry or live check and what the run saw of it."""

    id: str
    kind: str  # "invariant", "live", "fuzz" or SIBLING_KIND
    level: Level
    statement: str
    citation: str
    basis: str = ""  # an invariant's basis (normative, schema, domain, title); live cases cite their own
    judged: int = 0
    total_findings: int = 0
    findings: list[Any] = field(default_factory=list)  # the evidence kept, EVIDENCE_PER_CHECK at most
    skipped: str = ""
    unexercised: str = ""  # what the data or configuration would need to exercise this check, if it never was
    need: str = ""  # what the check declares it needs to be exercised: unmet while it judged nothing
    levels_seen: Counter[Level] = field(default_factory=Counter)
    accepted_levels: Counter[Level] = field(default_factory=Counter)  # of the findings a baseline entry accepted
    accepted_by: list[Any] = field(default_factory=list)  # those entries (baseline.Entry), each once
    replayable: list[Replayable] = field(default_factory=list)  # the request of each finding, REPLAY_PER_CHECK at most
    unrecorded: int = 0  # findings without one there: past REPLAY_PER_CHECK, or shown by no request

    def for_replay(self, exchange: Exchange | None, findings: int = 1, statuses: Statuses = ()) -> None:
        """Record the request behind `findings` new findings, for `replay`; past REPLAY_PER_CHECK, only count them."""
        if exchange is None or len(self.replayable) >= REPLAY_PER_CHECK:
            self.unrecorded += findings
        else:
            self.replayable.append(Replayable.of(exchange, findings, statuses))

    def accept(self, level: Level, entry: Any, count: int = 1) -> None:
        """`count` findings of this check are accepted by a baseline entry."""
        self.accepted_levels[level] += count
        if entry not in self.accepted_by:
            self.accepted_by.append(entry)

    def status(self, strict: bool) -> Status:
        if self.level is Level.OFF or (self.skipped and not self.total_findings):
            return Status.SKIPPED
        if any(level.fails(strict) for level in self.levels_seen - self.accepted_levels):
            return Status.FAILED
        if self.accepted_levels:
            return Status.ACCEPTED
        if self.total_findings:
            return Status.INFO if set(self.levels_seen) == {Level.INFO} else Status.WARNING
        if self.unexercised or (self.need and not self.judged and not self.skipped):
            return Status.NOT_EXERCISED  # never "passed" without its need: a check that judged nothing names it
        return Status.PASSED if self.judged else Status.SKIPPED

    def missing(self) -> str:
        """What this check would need to be exercised (when its status is not exercised)."""
        return self.unexercised or self.need

    def skip_reason(self) -> str:
        if self.level is Level.OFF:
            return "turned OFF in [judge.levels]"
        return self.skipped or ("nothing to judge: no response reached this check" if not self.judged else "")


def clip_value(value: Any) -> Any:
    """A finding's expected/actual value, kept as JSON when small, else a clipped text."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    else:
        if len(text) <= VALUE_LIMIT:
            return value
    return clip(text, VALUE_LIMIT)


def finding_entry(finding: Finding) -> dict[str, Any]:
    """A finding as summary.json holds it, for `run` and `check` alike; evidence is added beside it."""
    return {"id": finding.check_id, "level": finding.level.value, "message": clip(finding.message, TEXT_LIMIT),
            "pointer": clip(finding.pointer, TEXT_LIMIT), "expected": clip_value(finding.expected),
            "actual": clip_value(finding.actual)}


def declared_need(check_id: str) -> str:
    """What a catalogue or cross-endpoint check needs to be exercised, as it declares it (live cases declare
    theirs in conformance.live.registry)."""
    need = NEEDS.get(check_id)
    return need.text if need is not None else CROSS_NEEDS.get(check_id, "")


def mark_unexercised(records: dict[str, CheckRecord], coverage: Coverage) -> None:
    """Mark the catalogue invariants the judged sessions never exercised (and unmark the others)."""
    needs = unexercised(coverage)
    for check_id in NEEDS:
        if check_id in records:
            records[check_id].unexercised = needs.get(check_id, "")
