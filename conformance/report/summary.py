"""Reports of a run or a check: the report folder and `summary.json`.

`summary.json` is the machine-readable record of a run: verdict, counts, every check with its status and
capped evidence, the findings about the spec, and the metadata that makes the run reproducible. It is built
in one place, `build_summary`, from the plain records (`records.py`) of `run` and `check` alike, and its
shape is `summary.schema.json` (format hems-conformance-summary/1). The other reports render it. Every
string written passes through the run's Redactor first.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import shlex
import tempfile
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from conformance import __version__
from conformance.contract.clipping import clip
from conformance.contract.coverage import Coverage
from conformance.contract.settings import Settings
from conformance.contract.spec import Contract
from conformance.errors import UsageError
from conformance.report.baseline import STALE_ONLY, Acceptance, exercised_checks, stale_only
from conformance.report.excerpt import body_excerpt
from conformance.report.proof import proof_of
from conformance.report.records import (
    SIBLING_KIND,
    TEXT_LIMIT,
    CheckRecord,
    Evidence,
    SpecFinding,
    Status,
    finding_entry,
)
from conformance.report.redaction import Redactor
from conformance.report.timeline import SessionSample

SUMMARY_FORMAT = "hems-conformance-summary/1"
SUMMARY_SCHEMA = Path(__file__).with_name("summary.schema.json")  # the JSON Schema of that format
SUMMARY, HTML, JUNIT, MARKDOWN = "summary.json", "report.html", "junit.xml", "summary.md"
# Evidence per check, whatever the run saw: the ledger keeps 10 findings, a report shows the first
# FULL_EVIDENCE with headers and body window, the rest in one line each, within these byte budgets.
FULL_EVIDENCE = 3
FULL_BUDGET = 10_000
CHECK_BUDGET = 16_000
URL_LIMIT = 500
CURL_LIMIT = 800
REPLAY_BUDGET = 1_000_000  # bytes of summary.json's `replay` section, shared equally by the failing checks
HEADERS_KEPT = 16
HEADER_LIMIT = 160
SEAL_LABEL = "summary.json SHA-256:"  # how summary.md and report.html name the summary.json they were written with
RUNNING = "running"  # the verdict of a summary.json whose run has not finished (or was killed)
EXIT_VERDICTS = {0: "conformant", 1: "non-conformant", 2: "incomplete", 3: "target could not be tested", 130: "interrupted"}


# --- the folder ---

_UNFINISHED: set[Path] = set()  # report folders this process created whose summary.json is not written yet
_UMASK = os.umask(0o022)  # read once, at import (umask can only be read by setting it), and put back
os.umask(_UMASK)


def write_report_file(path: Path, text: str) -> None:
    """Every report file is written so: into a new temporary file beside it, then renamed over it. A symlink
    at `path` (a reused folder, a committed link in a CI checkout) is replaced, never followed, and a full disk
    leaves the previous file whole, never a truncated one. OSError if it cannot be written."""
    fd, staged = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(staged, 0o666 & ~_UMASK)  # as open() would have made it (mkstemp makes it private)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(staged, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(staged)
        raise


@dataclass(frozen=True)
class ReportFolder:
    """Where one run's reports go; `latest` is the `reports/latest` link to move once they are written."""

    path: Path
    latest: Path | None = None

    @classmethod
    def create(cls, report_dir: str | None, now: datetime | None = None) -> ReportFolder:
        """`--report-dir` as given, or a new `reports/<UTC time>` folder under the current directory."""
        try:
            if report_dir:
                Path(report_dir).mkdir(parents=True, exist_ok=True)
                _UNFINISHED.add(Path(report_dir))
                return cls(Path(report_dir))
            base = Path("reports")
            base.mkdir(exist_ok=True)
            stamp = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H-%M-%SZ")
            for n in range(1, 100):
                path = base / (stamp if n == 1 else f"{stamp}-{n}")
                try:
                    path.mkdir()
                except FileExistsError:
                    continue
                _UNFINISHED.add(path)
                return cls(path, base / "latest")
            raise UsageError(f"cannot create a report folder: {base / stamp} and 98 siblings exist")
        except OSError as exc:
            raise UsageError(f"cannot create report folder {report_dir or 'reports/'}: {exc.strerror or exc}") from None

    def file(self, name: str) -> Path:
        return self.path / name

    def started(self, reports: Iterable[str] = ()) -> ReportFolder:
        """No earlier run's verdict stays in a reused folder: its `reports` go (the writers' names), and
        summary.json says "running" until this run replaces it (a run killed before that leaves "running", never
        an old "conformant"). Raises UsageError if the folder cannot be written."""
        try:
            for name in reports:
                if name != SUMMARY:
                    self.file(name).unlink(missing_ok=True)
            self._mark(RUNNING, None)
        except OSError as exc:
            raise UsageError(f"cannot write into report folder {self.path}: {exc.strerror or exc}") from None
        return self

    def interrupted_early(self) -> None:
        """Ctrl-C or SIGTERM before the run wrote its own summary (while the target starts, or before pytest's
        session reached the report plugin): the folder says "interrupted", not "running"."""
        try:
            if json.loads(self.file(SUMMARY).read_text(encoding="utf-8")).get("verdict") == RUNNING:
                self._mark(EXIT_VERDICTS[130], 130, checks=[])
        except (OSError, ValueError):
            pass

    def _mark(self, verdict: str, exit_code: int | None, **extra: Any) -> None:
        marker = {"format": SUMMARY_FORMAT, "verdict": verdict, "exit_code": exit_code,
                  "started": datetime.now(UTC).isoformat(timespec="seconds"), **extra}
        write_report_file(self.file(SUMMARY), json.dumps(marker) + "\n")

    def publish(self) -> None:
        """Point `latest` at this folder: a relative symlink, or a text file naming it where symlinks fail."""
        if self.latest is None or not self.file(SUMMARY).exists():
            return
        staged = self.latest.with_name(f".latest-{os.getpid()}")
        try:
            staged.unlink(missing_ok=True)
            try:
                os.symlink(self.path.name, staged)
            except (OSError, NotImplementedError):
                staged.write_text(self.path.name + "\n", encoding="utf-8")
            os.replace(staged, self.latest)
        except OSError:  # `latest` is a real directory, or the folder is read-only: the reports still stand
            staged.unlink(missing_ok=True)


# --- building a summary ---


def local_path(path: str | Path) -> str:
    """A file as a report names it: as given when relative, else relative to the working directory when below
    it, else by its bare name. No report carries an absolute local path (a home, a checkout, an install)."""
    given = Path(path)
    if not given.is_absolute():
        return str(path)
    with contextlib.suppress(OSError):  # a working directory that is gone: the bare name
        for base, where in ((Path.cwd(), given), (Path.cwd().resolve(), given.resolve())):  # as given, then real
            with contextlib.suppress(ValueError):
                return str(where.relative_to(base))
    return given.name


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, in hex, read in blocks; OSError if it cannot be read."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def file_record(path: str | Path) -> dict[str, str]:
    """A file a report relies on (a target config, a baseline): its local name and the SHA-256 of its bytes, which
    says whether a reproduction reads the same file."""
    return {"path": local_path(path), "sha256": file_sha256(path)}


def _local_argument(argument: str) -> str:
    """An argument with an absolute path in it (`/a/b.toml`, `--spec=/a/b.yaml`) as `local_path` names it."""
    flag, equals, value = argument.partition("=") if argument.startswith("--") else ("", "", argument)
    return flag + equals + local_path(value) if os.path.isabs(value) else argument


def command_line(argv: Sequence[str], program: str = "hems-conformance") -> str:
    """The command with these arguments, paths named as `local_path` names them, quoted for a POSIX shell."""
    return shlex.join([program, *map(_local_argument, argv)])


def first_request(finding: dict[str, Any]) -> dict[str, Any]:
    """The request a finding of `run` names: the first of all that showed it (the same whichever one was kept)."""
    seen = [s for s in finding.get("seen_in") or [] if isinstance(s, dict)]
    return min(seen, key=lambda s: (str(s.get("url", "")), str(s.get("method", "")))) if seen else \
        finding.get("request") or {}


def finding_line(finding: dict[str, Any], named: bool = True) -> str:
    """A finding of summary.json in one line: check (unless `named` is false), level, pointer, message, and
    where it was seen."""
    request = first_request(finding)
    where = finding.get("source") or (f"{request.get('method')} {request.get('url')}" if request else "")
    if finding.get("requests", 1) > 1:
        where += f" and {finding['requests'] - 1} more request(s)"
    if finding.get("also"):
        where += f"; same cause for {', '.join(sorted({line.split(':')[0] for line in finding['also']}))}"
    return (f"{finding.get('id')} " * named + f"{finding.get('level')} {finding.get('pointer') or '/'}: "
            f"{finding.get('message')}" + (f" [{where}]" if where else ""))


def trouble_line(summary: dict[str, Any]) -> str:
    """The transient trouble a run absorbed, in one line ("" for none, or a summary without it): what the
    console, summary.md and report.html say of the `transient` block of summary.json."""
    trouble = summary.get("transient") or {}
    absorbed = {kind: n for kind, n in (trouble.get("absorbed") or {}).items() if n}
    if not absorbed:
        return ""
    kinds = ", ".join(f"{n} {kind}" for kind, n in absorbed.items())
    return (f"transient trouble absorbed (retried, judged on the final answer): {kinds}; "
            f"{trouble.get('retries', 0)} retries, {trouble.get('waited_s', 0):g} s waited")


def every_check(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The checks of a summary: the catalogue's, the live cases and the cross-endpoint ones, then those of the
    sibling routes (`siblings`, reported apart but named wherever checks are named)."""
    siblings = summary.get("siblings")
    extra = siblings.get("checks") if isinstance(siblings, dict) else None
    return [*summary.get("checks", []), *(c for c in extra if isinstance(c, dict))] if isinstance(extra, list) \
        else list(summary.get("checks", []))


_TAGS = {Status.FAILED.value: "FAIL", Status.WARNING.value: "WARN", Status.INFO.value: "INFO"}


def console_lines(summary: dict[str, Any], shown: int = 10) -> list[str]:
    """What `run` prints before its verdict: a line per failing, warning (SHOULD) or INFO check with its first
    findings, sibling routes' checks included, then the skipped checks with their reasons (unless the run
    stopped: its one-line cause says why), then notes."""
    lines = []
    checks = every_check(summary)
    for check in checks:
        tag = _TAGS.get(check["status"])
        if tag is None:
            continue
        lines.append(f"{tag} {check['id']} {check['level']}: {check['statement']} "
                     f"({check['findings_total']} finding(s) over {check['judged']} judged)")
        lines += [f"    {finding_line(f, named=False)}" for f in check["findings"][:shown]]
        more = check["findings_total"] - len(check["findings"][:shown])
        if more > 0:
            lines.append(f"    ... {more} more in {HTML}")
    if not summary["metadata"].get("target_error") and summary["exit_code"] in (0, 1):
        lines += [f"SKIP {c['id']}: {c['skip_reason']}" for c in checks
                  if c["status"] == Status.SKIPPED.value]
    lines += [f"hems-conformance: note: {trouble_line(summary)}"] if trouble_line(summary) else []
    return lines + [f"hems-conformance: note: {note}" for note in summary.get("notes", [])]


def _compact(entry: dict[str, Any]) -> dict[str, Any]:
    """A finding without its bulky evidence (headers, body window): still explainable in one line."""
    short = {k: v for k, v in entry.items() if k != "excerpt"}
    for part in ("request", "response"):
        if isinstance(short.get(part), dict):
            short[part] = {k: v for k, v in short[part].items() if k != "headers"}
    return short


def cap_findings(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The findings a report keeps for one check: the first FULL_EVIDENCE with all their evidence (while
    FULL_BUDGET lasts), the next ones compact (while CHECK_BUDGET lasts). Counts are never capped."""
    kept: list[dict[str, Any]] = []
    spent = 0
    for n, entry in enumerate(entries):
        size = len(json.dumps(entry, ensure_ascii=False, default=str))
        if n >= FULL_EVIDENCE or spent + size > FULL_BUDGET:
            entry = _compact(entry)
            size = len(json.dumps(entry, ensure_ascii=False, default=str))
        if spent + size > CHECK_BUDGET:
            break
        kept.append(entry)
        spent += size
    return kept


def _headers(headers: dict[str, str]) -> dict[str, str]:
    return {clip(name, HEADER_LIMIT): clip(value, HEADER_LIMIT) for name, value in list(headers.items())[:HEADERS_KEPT]}


def evidence_entry(evidence: Evidence) -> dict[str, Any]:
    """One live finding with its evidence: request, response headers, the body window at the pointer, curl."""
    entry = finding_entry(evidence.finding)
    exchange = evidence.exchange
    if exchange is None:
        return entry
    entry["request_id"] = exchange.request_id
    entry["request"] = {"method": exchange.method, "url": clip(exchange.url, URL_LIMIT),
                        "note": clip(exchange.note, TEXT_LIMIT), "tenant": exchange.tenant,
                        "headers": _headers(exchange.request_headers)}
    entry["response"] = {"status": exchange.status, "headers": _headers(exchange.headers),
                         "elapsed_ms": round(exchange.elapsed_ms, 1)}
    window = evidence.excerpt or body_excerpt(exchange.text, evidence.finding.pointer)
    entry["excerpt"] = window.to_dict()
    entry["curl"] = clip(evidence.curl, CURL_LIMIT)
    entry["requests"] = evidence.requests
    entry["seen_in"] = sorted(({"method": s.method, "url": clip(s.url, URL_LIMIT), "status": s.status,
                                "note": clip(s.note, TEXT_LIMIT)} for s in evidence.seen_in),
                              key=lambda s: (s["url"], s["method"], s["note"], s["status"]))
    if evidence.also:
        entry["also"] = [clip(line, TEXT_LIMIT) for line in evidence.also]
    return entry


def _entry_of(kept: Evidence | dict[str, Any]) -> dict[str, Any]:
    """A kept finding as summary.json holds it: a live finding's evidence, or `check`'s entry as it was made
    while its payload passed (a payload is gone by the time the summary is built)."""
    return kept if isinstance(kept, dict) else evidence_entry(kept)


def check_entry(record: CheckRecord, strict: bool) -> dict[str, Any]:
    """One catalogue entry or live case: what it states, where the spec says so, and what the run saw."""
    status = record.status(strict)
    return {
        "id": record.id,
        "kind": record.kind,
        "level": record.level.value,
        "statement": record.statement,
        "citation": record.citation,
        "basis": record.basis,
        "status": status.value,
        "skip_reason": record.skip_reason() if status is Status.SKIPPED else "",
        "needs": record.missing() if status is Status.NOT_EXERCISED else "",
        "proof": proof_of(record.id),
        "judged": record.judged,
        "findings_total": record.total_findings,
        "findings_by_level": {level.value: n for level, n in sorted(record.levels_seen.items())},
        "findings": cap_findings(_entry_of(kept) for kept in record.findings),
        **({"accepted_by": [entry.to_dict() for entry in record.accepted_by],
            "findings_accepted": sum(record.accepted_levels.values())} if record.accepted_by else {}),
    }


def replay_section(records: Iterable[CheckRecord], strict: bool) -> dict[str, Any]:
    """The request behind every finding of the failing checks (not only the findings kept as evidence), for
    `replay`: compact, at most REPLAY_PER_CHECK per check and an equal share of REPLAY_BUDGET bytes each; the
    findings past them counted under `unrecorded`."""
    failing = [r for r in records if r.kind != SIBLING_KIND and r.status(strict) is Status.FAILED]
    requests: list[dict[str, Any]] = []
    unrecorded: dict[str, int] = {}
    for record in failing:
        left, missing = REPLAY_BUDGET // len(failing), record.unrecorded
        for replayable in record.replayable:
            entry = {"check": record.id, "method": replayable.method, "url": clip(replayable.url, URL_LIMIT),
                     "tenant": replayable.tenant, "headers": _headers(dict(replayable.headers)),
                     "findings": replayable.findings,
                     **({"statuses": [list(pair) for pair in replayable.statuses]} if replayable.statuses else {})}
            left -= len(json.dumps(entry, ensure_ascii=False))
            if left < 0:
                missing += replayable.findings
            else:
                requests.append(entry)
        if missing:
            unrecorded[record.id] = missing
    return {"requests": requests, "unrecorded": unrecorded}


def counts(checks: Iterable[dict[str, Any]]) -> dict[str, Any]:
    by_status: Counter[str] = Counter({s.value: 0 for s in Status})
    by_level: Counter[str] = Counter()
    for check in checks:
        by_status[check["status"]] += 1
        by_level.update(check["findings_by_level"])
    return {"checks": dict(by_status), "findings_by_level": dict(sorted(by_level.items())),
            "findings": sum(by_level.values())}


def base_metadata(contract: Contract, settings: Settings, *, strict: bool, command: str, started: float,
                  finished: float) -> dict[str, Any]:
    """What every report states about how it was made: spec, suite, readings, time, the command."""
    return {
        "suite": "hems-conformance",
        "suite_version": __version__,
        "spec": {"title": contract.title, "version": contract.version, "sha256": contract.sha256,
                 "path": local_path(contract.path)},
        "strict": strict,
        "readings": settings.readings(),
        "started_at": datetime.fromtimestamp(started, UTC).isoformat(timespec="seconds"),
        "duration_s": round(finished - started, 3),
        "command": command,
        "python": platform.python_version(),
    }


@dataclass
class Produced:
    """What a run or a check produced, as plain records: everything summary.json is built from."""

    kind: str  # "run" or "check"
    records: dict[str, CheckRecord]
    coverage: Coverage
    sessions: SessionSample
    acceptance: Acceptance | None = None
    spec_findings: Iterable[SpecFinding] = ()
    notes: Sequence[str] = ()
    siblings: dict[str, str] | None = None  # run: the supplementary contract (path, sha256) its SIB checks judge
    input_errors: list[dict[str, str]] | None = None  # check: the first inputs that could not be read
    transient: dict[str, Any] | None = None  # run: the transient trouble the client absorbed, per kind


def build_summary(produced: Produced, *, strict: bool, exit_code: int, verdict: str, metadata: dict[str, Any],
                  counted: dict[str, Any] | None = None) -> dict[str, Any]:
    """summary.json, for `run` and `check` alike: `metadata` (base_metadata and what the command adds), the
    command's own `counted` totals beside the counts of checks and findings."""
    records = produced.records.values()
    checks = [check_entry(r, strict) for r in records if r.kind != SIBLING_KIND]
    siblings = [check_entry(r, strict) for r in records if r.kind == SIBLING_KIND]
    summary: dict[str, Any] = {
        "format": SUMMARY_FORMAT,
        "kind": produced.kind,
        "verdict": verdict,
        "exit_code": exit_code,
        "metadata": metadata,
        "counts": counts(checks + siblings) | (counted or {}),
        "checks": checks,
    }
    if produced.siblings is not None:
        summary["siblings"] = produced.siblings | {"checks": siblings}
    if produced.kind == "run":
        summary["replay"] = replay_section(records, strict)
    summary |= {"coverage": produced.coverage.to_dict(), "sessions": produced.sessions.to_dict()}
    if produced.input_errors is not None:
        summary["input_errors"] = produced.input_errors
    summary |= {
        "spec_findings": [{"key": s.key, "message": s.message, "count": s.count,
                           "example": None if s.example is None else
                           {"method": s.example.method, "url": s.example.url, "status": s.example.status}}
                          for s in produced.spec_findings],
        **({"transient": produced.transient} if produced.transient is not None else {}),
        "notes": list(produced.notes),
        **({"baseline": _baseline_entry(produced.acceptance, exercised_checks(records))} if produced.acceptance else {}),
    }
    if exit_code == 1 and stale_only(summary):  # the deployment passed; only the baseline needs work
        summary["verdict"] = STALE_ONLY
    return summary


def _baseline_entry(acceptance: Acceptance, exercised: Collection[str]) -> dict[str, Any]:
    """The baseline's account (`exercised`: the checks that met what they judge), its file named as `local_path`
    names it, with its SHA-256."""
    entry = acceptance.to_dict(exercised)
    file = entry.get("file")
    if not isinstance(file, (str, Path)):
        return entry
    with contextlib.suppress(OSError):
        return entry | {"file": local_path(file), "sha256": file_record(file)["sha256"]}
    return entry | {"file": local_path(file)}


def _each_string(value: Any, change: Callable[[str], str]) -> Any:
    """A JSON-like tree with every string, keys included, changed."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, dict):
        return {_each_string(k, change): _each_string(v, change) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_each_string(v, change) for v in value]
    return value


def redact_tree(value: Any, redactor: Redactor) -> Any:
    """Every string in a JSON-like tree, keys included, passed through the redactor."""
    return _each_string(value, redactor.text)


def local_names(value: Any, paths: Iterable[str]) -> Any:
    """A JSON-like tree with the absolute `paths` (a command's inputs, which its labels start with) named as
    `local_path` names them, wherever they appear: no report carries an absolute local path."""
    names = sorted(((path, local_path(path)) for path in set(paths) if os.path.isabs(path)), key=lambda n: -len(n[0]))

    def rename(text: str) -> str:
        for path, name in names:
            text = text.replace(path, name)
        return text

    return _each_string(value, rename) if names else value


def write_summary(path: Path, summary: dict[str, Any], redactor: Redactor) -> None:
    text = json.dumps(redact_tree(summary, redactor), indent=2, ensure_ascii=False, default=str)
    write_report_file(path, text + "\n")
    _UNFINISHED.discard(path.parent)


def mark_unfinished(exit_code: int, cause: str) -> None:
    """The last resort of a command stopped by an unexpected error: each report folder it created and did not
    finish gets a summary.json that says so (no earlier verdict, no "running"), naming the cause."""
    for folder in sorted(_UNFINISHED):
        marker = {"format": SUMMARY_FORMAT, "verdict": EXIT_VERDICTS[exit_code], "exit_code": exit_code,
                  "metadata": {"target_error": cause}, "checks": []}
        with contextlib.suppress(OSError):
            write_report_file(folder / SUMMARY, json.dumps(marker) + "\n")
    _UNFINISHED.clear()


def redact_file(path: Path, redactor: Redactor) -> None:
    """A second pass over a written report (HTML, JUnit): whatever slipped into it is masked."""
    try:
        text = path.read_text(encoding="utf-8")
        masked = redactor.text(text)
        if masked != text or path.is_symlink():
            write_report_file(path, masked)
    except OSError:
        return


