"""Reports of a run or a check: the report folder, `summary.json`, and `hems-conformance report compare`.

`summary.json` is the machine-readable record of a run: verdict, counts, every check with its status and
capped evidence, the findings about the spec, and the metadata that makes the run reproducible. The HTML
and JUnit reports render the same data. Every string written passes through the run's Redactor first.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shlex
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema
import pytest

from conformance import __version__
from conformance.contract.levels import Level
from conformance.contract.settings import Settings
from conformance.contract.spec import Contract
from conformance.errors import InputError, UsageError
from conformance.live.ledger import CheckRecord, LiveFinding, Status
from conformance.report.excerpt import body_excerpt
from conformance.report.redaction import Redactor

if TYPE_CHECKING:
    from conformance.live.runner import LiveRun

SUMMARY_FORMAT = "hems-conformance-summary/1"
SUMMARY, HTML, JUNIT = "summary.json", "report.html", "junit.xml"
# Evidence per check, whatever the run saw: the ledger keeps 10 findings, a report shows the first
# FULL_EVIDENCE with headers and body window, the rest in one line each, within these byte budgets.
FULL_EVIDENCE = 3
FULL_BUDGET = 10_000
CHECK_BUDGET = 16_000
VALUE_LIMIT = 400
TEXT_LIMIT = 500
URL_LIMIT = 500
CURL_LIMIT = 800
HEADERS_KEPT = 16
HEADER_LIMIT = 160
RUNNING = "running"  # the verdict of a summary.json whose run has not finished (or was killed)
VERDICTS = {0: "conformant", 1: "non-conformant", 2: "incomplete", 3: "target could not be tested", 130: "interrupted"}


# --- the folder ---


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
                return cls(path, base / "latest")
            raise UsageError(f"cannot create a report folder: {base / stamp} and 98 siblings exist")
        except OSError as exc:
            raise UsageError(f"cannot create report folder {report_dir or 'reports/'}: {exc.strerror or exc}") from None

    def file(self, name: str) -> Path:
        return self.path / name

    def started(self) -> ReportFolder:
        """No earlier run's verdict stays in a reused folder: its reports go, and summary.json says "running"
        until this run replaces it (a run killed before that leaves "running", never an old "conformant").
        Raises UsageError if the folder cannot be written."""
        try:
            for name in (HTML, JUNIT):
                self.file(name).unlink(missing_ok=True)
            self.file(SUMMARY).write_text(json.dumps({"format": SUMMARY_FORMAT, "verdict": RUNNING, "exit_code": None,
                                                      "started": datetime.now(UTC).isoformat(timespec="seconds")})
                                          + "\n", encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write into report folder {self.path}: {exc.strerror or exc}") from None
        return self

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


def command_line(argv: Sequence[str]) -> str:
    """The `hems-conformance` command with these arguments, quoted for a POSIX shell."""
    return shlex.join(["hems-conformance", *argv])


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


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


def _headers(headers: dict[str, str]) -> dict[str, str]:
    return {clip(name, HEADER_LIMIT): clip(value, HEADER_LIMIT) for name, value in list(headers.items())[:HEADERS_KEPT]}


def live_finding_entry(finding: LiveFinding) -> dict[str, Any]:
    """One live finding with its evidence: request, response headers, the body window at the pointer, curl."""
    entry: dict[str, Any] = {"id": finding.check_id, "level": finding.level.value,
                             "message": clip(finding.message, TEXT_LIMIT), "pointer": clip(finding.pointer, TEXT_LIMIT),
                             "expected": clip_value(finding.expected), "actual": clip_value(finding.actual)}
    exchange = finding.exchange
    if exchange is None:
        return entry
    entry["request"] = {"method": exchange.method, "url": clip(exchange.url, URL_LIMIT),
                        "note": clip(exchange.note, TEXT_LIMIT), "headers": _headers(exchange.request_headers)}
    entry["response"] = {"status": exchange.status, "headers": _headers(exchange.headers),
                         "elapsed_ms": round(exchange.elapsed_ms, 1)}
    entry["excerpt"] = body_excerpt(exchange.text, finding.pointer).to_dict()
    entry["curl"] = clip(finding.curl, CURL_LIMIT)
    return entry


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


def check_entry(record: CheckRecord, strict: bool, findings: list[dict[str, Any]]) -> dict[str, Any]:
    """One catalogue entry or live case: what it states, where the spec says so, and what the run saw."""
    status = record.status(strict)
    return {
        "id": record.id,
        "kind": record.kind,
        "level": record.level.value,
        "statement": record.statement,
        "citation": record.citation,
        "status": status.value,
        "skip_reason": record.skip_reason() if status is Status.SKIPPED else "",
        "judged": record.judged,
        "findings_total": record.total_findings,
        "findings_by_level": {level.value: n for level, n in sorted(record.levels_seen.items())},
        "findings": cap_findings(findings),
    }


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
                 "path": str(contract.path)},
        "strict": strict,
        "readings": settings.readings(),
        "started_at": datetime.fromtimestamp(started, UTC).isoformat(timespec="seconds"),
        "duration_s": round(finished - started, 3),
        "command": command,
        "python": platform.python_version(),
    }


def redact_tree(value: Any, redactor: Redactor) -> Any:
    """Every string in a JSON-like tree, keys included, passed through the redactor."""
    if isinstance(value, str):
        return redactor.text(value)
    if isinstance(value, dict):
        return {redact_tree(k, redactor): redact_tree(v, redactor) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_tree(v, redactor) for v in value]
    return value


def write_summary(path: Path, summary: dict[str, Any], redactor: Redactor) -> None:
    text = json.dumps(redact_tree(summary, redactor), indent=2, ensure_ascii=False, default=str)
    path.write_text(text + "\n", encoding="utf-8")


def redact_file(path: Path, redactor: Redactor) -> None:
    """A second pass over a written report (HTML, JUnit): whatever slipped into it is masked."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return
    masked = redactor.text(text)
    if masked != text:
        path.write_text(masked, encoding="utf-8")


# --- the live run ---


@dataclass
class RunReport:
    """The report side of one live run: how it was started, where its files go, its summary once finished."""

    run: LiveRun
    command: str
    folder: Path | None
    exit_code: int | None = None
    finished: float | None = None
    _summary: dict[str, Any] | None = field(default=None, repr=False)

    def finish(self, exit_code: int) -> None:
        self.exit_code = exit_code
        self.finished = time.time()
        self._summary = None

    def check(self, check_id: str) -> dict[str, Any]:
        record = self.run.ledger.records[check_id]
        return redact_tree(check_entry(record, self.run.options.strict,
                                       [live_finding_entry(f) for f in record.findings]), self.run.redactor)

    def summary(self) -> dict[str, Any]:
        if self._summary is None:
            if self.exit_code is None:
                self.finish(self.run.exit_code())
            self._summary = redact_tree(self._build(), self.run.redactor)
        return self._summary

    def _build(self) -> dict[str, Any]:
        run, code = self.run, int(self.exit_code or 0)
        checks = [self.check(check_id) for check_id in run.ledger.records]
        metadata = base_metadata(run.contract, run.config.settings, strict=run.options.strict, command=self.command,
                                 started=run.started, finished=self.finished or time.time())
        metadata |= {"target_url": run.config.base_url, "target_config": run.config.source,
                     "profile": run.options.profile, "seed": run.options.seed, "workers": run.options.workers,
                     "target_error": run.halted}
        return {
            "format": SUMMARY_FORMAT,
            "kind": "run",
            "verdict": VERDICTS.get(code, "incomplete"),
            "exit_code": code,
            "metadata": metadata,
            "counts": counts(checks),
            "checks": checks,
            "spec_findings": [{"key": s.key, "message": s.message, "count": s.count,
                               "example": None if s.example is None else
                               {"method": s.example.method, "url": s.example.url, "status": s.example.status}}
                              for s in run.ledger.spec_findings.values()],
            "notes": list(run.ledger.notes),
        }


def add_options(group: Any) -> None:
    group.addoption("--hems-report-dir", metavar="DIR",
                    help="write summary.json there (add --html/--junitxml for the other two reports)")
    group.addoption("--hems-command", metavar="TEXT", help="the command line to record as the way to reproduce")


def register(config: pytest.Config, run: LiveRun) -> None:
    """Plug the reports into a pytest session that judges a target (and pytest-html's hooks if it is on)."""
    folder = config.getoption("hems_report_dir", None)
    command = config.getoption("hems_command", None) or " ".join(["pytest", *config.invocation_params.args])
    report = RunReport(run, command, Path(folder) if folder else None)
    config.pluginmanager.register(ReportPlugin(report), "hems-conformance-report")
    if config.pluginmanager.hasplugin("html") and config.getoption("htmlpath", None):
        from conformance.report.html import HtmlHooks

        config.pluginmanager.register(HtmlHooks(report), "hems-conformance-html")


class ReportPlugin:
    """Writes summary.json when the session finishes and masks secrets in every report pytest wrote."""

    def __init__(self, report: RunReport) -> None:
        self.report = report

    def pytest_sessionfinish(self, session: pytest.Session) -> None:  # after the plugin's (tryfirst): the run's code
        self.report.finish(int(session.exitstatus))
        if self.report.folder is not None:
            self.report.folder.mkdir(parents=True, exist_ok=True)
            write_summary(self.report.folder / SUMMARY, self.report.summary(), self.report.run.redactor)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        folder = self.report.folder
        if folder is not None:
            written = ", ".join(name for name in (SUMMARY, HTML, JUNIT) if (folder / name).exists())
            terminalreporter.write_line(f"hems-conformance: reports in {folder}{os.sep} ({written})")

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        for option in ("htmlpath", "xmlpath"):
            path = config.getoption(option, None)
            if path:
                redact_file(Path(path), self.report.run.redactor)


# --- comparing two runs ---


def load_summary(path: str) -> dict[str, Any]:
    """A summary.json, given as the file or the report folder holding it; InputError if unreadable."""
    file = Path(path)
    if file.is_dir():
        file = file / SUMMARY
    try:
        summary = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{file}: cannot read: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise InputError(f"{file}: not a summary.json: {exc}") from None
    if isinstance(summary, dict) and summary.get("format") == SUMMARY_FORMAT and summary.get("verdict") == RUNNING:
        raise InputError(f"{file}: the run never finished (verdict {RUNNING}: still running, or killed)")
    if not isinstance(summary, dict) or summary.get("format") != SUMMARY_FORMAT or \
            not isinstance(summary.get("checks"), list):
        raise InputError(f"{file}: not a hems-conformance summary.json (format {SUMMARY_FORMAT})")
    problem = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(_SHAPE).iter_errors(summary))
    if problem is not None:
        where = "/" + "/".join(map(str, problem.absolute_path))
        raise InputError(f"{file}: not a hems-conformance summary.json: at {where}: {problem.message[:200]}")
    return summary


_TEXT = {"type": "string"}
_MAYBE_TEXT = {"type": ["string", "null"]}
# The parts of summary.json that `compare` reads, and their shapes.
_SHAPE = {
    "type": "object",
    "properties": {
        "verdict": _MAYBE_TEXT,
        "exit_code": {"type": ["integer", "null"]},
        "metadata": {"type": "object", "properties": {"strict": {"type": "boolean"}}},
        "checks": {"type": "array", "items": {
            "type": "object", "required": ["id", "status"],
            "properties": {"id": _TEXT, "status": _TEXT, "findings_total": {"type": "integer"},
                           "findings": {"type": "array", "items": {
                               "type": "object",
                               "properties": {"id": _TEXT, "level": _MAYBE_TEXT, "pointer": _MAYBE_TEXT,
                                              "message": _TEXT, "source": _MAYBE_TEXT,
                                              "request": {"type": ["object", "null"], "required": ["method", "url"],
                                                          "properties": {"method": _TEXT, "url": _TEXT}}}}}}}},
    },
}


_ORIGIN = re.compile(r"https?://[^/\s\"']+")


def finding_key(finding: dict[str, Any]) -> tuple[str, ...]:
    """What makes two findings the same across runs: check, place, message and request (host and port
    dropped, so two runs of a deployment on different ports compare)."""
    request = finding.get("request") or {}
    where = finding.get("source") or f"{request.get('method', '')} {_ORIGIN.sub('', request.get('url', ''))}"
    return (finding.get("id", ""), finding.get("pointer", ""), _ORIGIN.sub("", finding.get("message", "")), where)


def _describe(finding: dict[str, Any]) -> str:
    request = finding.get("request")
    where = finding.get("source") or (f"{request['method']} {request['url']}" if request else "")
    return (f"{finding.get('id')} {finding.get('level')} {finding.get('pointer') or '/'}: {finding.get('message')}"
            + (f" [{where}]" if where else ""))


@dataclass
class Comparison:
    old: dict[str, Any]
    new: dict[str, Any]
    new_findings: list[dict[str, Any]] = field(default_factory=list)
    fixed_findings: list[dict[str, Any]] = field(default_factory=list)
    changed: list[tuple[str, str, str]] = field(default_factory=list)  # (check id, old status, new status)
    worse: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"verdict: {self.old.get('verdict')} -> {self.new.get('verdict')}"]
        out += [f"changed: {check} {before} -> {after}" for check, before, after in self.changed]
        out += [f"new: {_describe(f)}" for f in self.new_findings]
        out += [f"fixed: {_describe(f)}" for f in self.fixed_findings]
        tail = "; ".join(self.worse) if self.worse else "nothing got worse"
        out.append(f"{len(self.new_findings)} new finding(s), {len(self.fixed_findings)} fixed, "
                   f"{len(self.changed)} changed verdict(s): {tail}")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"old_verdict": self.old.get("verdict"), "new_verdict": self.new.get("verdict"),
                "changed": [{"id": c, "old": o, "new": n} for c, o, n in self.changed],
                "new_findings": self.new_findings, "fixed_findings": self.fixed_findings, "worse": self.worse,
                "exit_code": 1 if self.worse else 0}


def compare(old: dict[str, Any], new: dict[str, Any]) -> Comparison:
    """New and fixed findings and changed check verdicts from OLD to NEW; `worse` says what newly fails.

    Evidence is capped per check, so a finding missing from a capped check's list may simply not have been
    kept: such a check only counts as worse through its verdict, never through one finding.
    """
    result = Comparison(old, new)
    strict = bool(new.get("metadata", {}).get("strict"))
    before = {c["id"]: c for c in old["checks"] if isinstance(c, dict) and "id" in c}
    if old.get("exit_code") == 0 and new.get("exit_code") not in (0, None):
        result.worse.append(f"verdict {old.get('verdict')} -> {new.get('verdict')}")
    for check in (c for c in new["checks"] if isinstance(c, dict) and "id" in c):
        previous = before.pop(check["id"], {"status": "absent", "findings": [], "findings_total": 0})
        if previous["status"] != check["status"]:
            result.changed.append((check["id"], previous["status"], check["status"]))
            if check["status"] == Status.FAILED.value:
                result.worse.append(f"{check['id']} now fails")
        old_keys = {finding_key(f): f for f in previous.get("findings", [])}
        new_keys = {finding_key(f): f for f in check.get("findings", [])}
        complete = previous.get("findings_total", 0) <= len(previous.get("findings", []))
        added = [f for key, f in new_keys.items() if key not in old_keys]
        result.new_findings += added
        if complete and previous["status"] == check["status"] == Status.FAILED.value \
                and any(_fails(f, strict) for f in added):
            result.worse.append(f"{check['id']} fails in new ways")
        result.fixed_findings += [f for key, f in old_keys.items() if key not in new_keys]
    for check in before.values():  # checks NEW does not have (another suite version): not "fixed", just gone
        result.changed.append((check["id"], check["status"], "absent"))
    return result


def _fails(finding: dict[str, Any], strict: bool) -> bool:
    try:
        return Level(str(finding.get("level"))).fails(strict)
    except ValueError:
        return False


def compare_command(old_path: str, new_path: str, output: str) -> int:
    """`hems-conformance report compare`: 0 nothing got worse, 1 something new fails, 2 unreadable input."""
    result = compare(load_summary(old_path), load_summary(new_path))
    if output == "json":
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(f"compare {old_path} -> {new_path}")
        for line in result.lines():
            print(line)
    return 1 if result.worse else 0
