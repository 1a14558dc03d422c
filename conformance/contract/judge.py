"""Judging one payload: the compiled response schema (formats on) plus every semantic invariant.

`check`, the live run and the pytest cases all call `Judge.judge`, so a payload gets the same verdict
whichever way it reaches the suite.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import jsonschema_rs

from conformance.contract import pointers
from conformance.contract.catalogue import CATALOGUE, SEMANTIC, Invariant
from conformance.contract.clipping import MESSAGE_LIMIT, clip
from conformance.contract.findings import FINDINGS_BUILT, Finding, capped
from conformance.contract.levels import Level
from conformance.contract.payload import LazyView, SessionView, traced
from conformance.contract.schema_errors import Path, SchemaErrors
from conformance.contract.served import ServedCheck, path_parameters, path_pattern, served_session
from conformance.contract.settings import Settings
from conformance.contract.spec import RESPONSE_SCHEMA_NAME, Contract, load_contract
from conformance.errors import ContractError


@dataclass(frozen=True)
class Judgement:
    """All findings for one payload (the first FINDINGS_BUILT of each check built, the rest counted in `more` per
    check and level), the semantic invariants that could not be evaluated (a wrong shape where they read) and,
    for a payload of the right shape, the view the invariants read it through (coverage counts from its groups
    instead of walking the rows again)."""

    findings: list[Finding] = field(default_factory=list)
    not_evaluated: tuple[str, ...] = ()
    view: SessionView | None = field(default=None, repr=False, compare=False)
    more: Counter[tuple[str, Level]] = field(default_factory=Counter)

    @property
    def semantic_evaluated(self) -> bool:
        return not self.not_evaluated

    def fails(self, strict: bool = False) -> bool:
        return any(f.level.fails(strict) for f in self.findings) or any(level.fails(strict) for _, level in self.more)

    @property
    def ids(self) -> list[str]:
        return sorted({f.check_id for f in self.findings} | {check_id for check_id, _ in self.more})


def _as_json(value: Any) -> str:
    """The offending value as the payload spells it (null, true, "7"), shortened for a finding."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
        return clip(text.encode("utf-8", "backslashreplace").decode("utf-8"), MESSAGE_LIMIT)  # a lone surrogate as \ud800
    except (ValueError, RecursionError):
        return clip(repr(value), MESSAGE_LIMIT)


def _is_format_only(error: Any) -> bool:
    """True for a value of the right type in the wrong format, also inside `anyOf: [date-time, null]`."""
    kind = error.kind
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.Format):
        return True
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.AnyOf):
        return any(branch and all(_is_format_only(e) for e in branch) for branch in kind.context)
    return False


class Judge:
    """Compiles the contract's response schema once and judges payloads against the whole catalogue."""

    def __init__(self, contract: Contract | None = None, settings: Settings | None = None,
                 served: ServedCheck | None = None) -> None:
        self.contract = contract or load_contract()
        self.settings = settings or Settings()
        self.served = served  # judges the path's session_id in `judge_at`
        self._path = path_pattern(self.contract.session_path)
        try:
            self._errors = SchemaErrors(self.contract.response_schema)
        except (ValueError, jsonschema_rs.ValidationError, jsonschema_rs.ReferencingError) as exc:
            first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ContractError(f"{self.contract.path}: {RESPONSE_SCHEMA_NAME} is not a usable JSON Schema: {first_line}") from None
        # the semantic checks to run and their levels, for ended and for ongoing sessions: decided once, not per payload
        self._schema_levels = {id: self.level(CATALOGUE[id]) for id in ("SCH-001", "SCH-002")}
        self._plans = {ongoing: tuple((inv.id, inv.check, level) for inv in SEMANTIC if inv.check is not None
                                      and (level := inv.level_when(ongoing, self.settings)) is not Level.OFF)
                       for ongoing in (False, True)}

    def __reduce__(self) -> tuple[type[Judge], tuple[Contract, Settings, ServedCheck | None]]:
        """Pickled as its contract and settings (a worker process compiles the schema again)."""
        return Judge, (self.contract, self.settings, self.served)

    def level(self, invariant: Invariant, view: SessionView | None = None) -> Level:
        return invariant.level_for(view, self.settings)

    def judge(self, payload: Any) -> Judgement:
        findings, more, broken = self._schema_findings(payload)
        if broken:
            return self._judge_around(payload, findings, more, broken)
        view = SessionView(payload)
        settings = self.settings
        for check_id, check, level in self._plans[view.ongoing]:
            found = iter(check(view, settings))
            first = next(found, None)  # most checks find nothing: no capping, no list, for them
            if first is None:
                continue
            kept, uncounted = capped(found, FINDINGS_BUILT - 1)
            findings.append(first.stamped(check_id, level))
            findings.extend(finding.stamped(check_id, level) for finding in kept)
            if uncounted:
                more[check_id, level] += uncounted
        return Judgement(findings, view=view, more=more)

    def judge_at(self, payload: Any, path: str) -> Judgement | None:
        """Judge a response recorded with the path it answered; None if that is not the session endpoint's path.
        The served check, if any, judges the path's session_id against the body as a live run does."""
        parameters = path_parameters(self._path, path)
        if parameters is None:
            return None
        judgement = self.judge(payload)
        served = self.served
        finding = served_session(payload, parameters.get("session_id")) if served is not None else None
        if served is None or finding is None or served.level is Level.OFF:
            return judgement
        stamped = finding.stamped(served.id, served.level)
        return Judgement([stamped, *judgement.findings], judgement.not_evaluated, judgement.view, judgement.more)

    def _judge_around(self, payload: Any, findings: list[Finding], more: Counter[tuple[str, Level]],
                      broken: dict[Path, set[Path]]) -> Judgement:
        """A payload of the wrong shape: each semantic invariant is still judged if none of the values it reads
        is at or under a place the schema refused (its reads are traced, through a view that looks up only what
        the invariant asks for), and it does not trip over the shape."""
        reads: set[tuple[Any, ...]] = set()
        not_evaluated = []
        try:
            tree = traced(payload, (), reads)
        except RecursionError:
            tree = None
        for invariant in SEMANTIC:
            reads.clear()
            try:
                view = LazyView(tree)
                level = self.level(invariant, view)
                check = invariant.check  # every SEMANTIC invariant has one
                found, uncounted = ([], 0) if level is Level.OFF or check is None else capped(check(view, self.settings))
            except (LookupError, TypeError, AttributeError, ValueError, RecursionError):
                found = None
            if found is None or _reads_refused(reads, broken):
                not_evaluated.append(invariant.id)
            else:
                findings.extend(f.stamped(invariant.id, level) for f in found)
                if uncounted:
                    more[invariant.id, level] += uncounted
        return Judgement(findings, tuple(not_evaluated), more=more)

    def _schema_findings(self, payload: Any) -> tuple[list[Finding], Counter[tuple[str, Level]], dict[Path, set[Path]]]:
        """The schema's findings (the first FINDINGS_BUILT of SCH-001 and of SCH-002; the rest counted per check
        and level) and the places whose value the schema refused (SCH-001's): per place an error's path starts
        from, the paths below it (shared by the items of a long array, so a flood of them stays small)."""
        findings: list[Finding] = []
        more: Counter[tuple[str, Level]] = Counter()
        broken: dict[Path, set[Path]] = {}
        try:
            if self._errors.is_valid(payload):  # the common case: no error objects to build
                return findings, more, broken
            read: dict[int, tuple[Any, str, Path | None]] = {}  # the errors of identical items are the same objects
            tails: dict[Path, Path] = {}  # one copy of each path below a place: items share them
            built: Counter[str] = Counter()
            for place, error in self._errors.errors(payload):
                if (known := read.get(id(error))) is not None and known[0] is error:
                    _, check_id, tail = known
                else:
                    check_id, tail = _classified(error)
                    tail = tail if tail is None else tails.setdefault(tail, tail)
                    if len(read) < _ERRORS_REMEMBERED:
                        read[id(error)] = (error, check_id, tail)  # the error is held, so its id is not reused
                if tail is not None:
                    broken.setdefault(place, set()).add(tail)
                level = self._schema_levels[check_id]
                if level is Level.OFF:
                    continue
                if built[check_id] >= FINDINGS_BUILT:
                    more[check_id, level] += 1
                    continue
                built[check_id] += 1
                message, expected = _explained(error)
                findings.append(Finding(pointers.join((*place, *error.instance_path)), clip(message, MESSAGE_LIMIT),
                                        expected, _as_json(error.instance), check_id, level))
        except UnicodeEncodeError:  # jsonschema-rs takes only strings that UTF-8 can encode
            return self._unlocated_schema_finding(payload, "a string holds an unpaired surrogate, which is not "
                                                           "Unicode text")
        except ValueError:  # jsonschema-rs reports errors only within ~255 levels of nesting
            return self._unlocated_schema_finding(payload, "nested too deeply to locate the errors")
        return findings, more, broken

    def _unlocated_schema_finding(self, payload: Any, why: str) -> tuple[list[Finding], Counter[tuple[str, Level]],
                                                                         dict[Path, set[Path]]]:
        """One SCH-001 finding at the root for a payload the validator cannot list errors in, unless it is valid."""
        try:
            if self._errors.is_valid(payload):
                return [], Counter(), {}
        except ValueError:
            pass
        level = self._schema_levels["SCH-001"]
        found = [Finding("", f"the body does not validate against {RESPONSE_SCHEMA_NAME} ({why})",
                         f"valid per {RESPONSE_SCHEMA_NAME}", _as_json(payload), "SCH-001", level)]
        return [f for f in found if level is not Level.OFF], Counter(), {(): {()}}


_ERRORS_REMEMBERED = 4096  # schema errors per payload whose reading is remembered (a flood repeats a few)


def _classified(error: Any) -> tuple[str, Path | None]:
    """SCH-002 for a value of the right type in the wrong format, else SCH-001 with the path (below the error's
    place) whose value the schema refused: a missing property's own path."""
    if _is_format_only(error):
        return "SCH-002", None
    kind = error.kind
    missing = (kind.property,) if isinstance(kind, jsonschema_rs.ValidationErrorKind.Required) else ()
    return "SCH-001", (*error.instance_path, *missing)


def _reads_refused(reads: set[Path], broken: dict[Path, set[Path]]) -> bool:
    """True if a value an invariant read is at or under a place the schema refused."""
    for read in reads:
        for start in range(len(read) + 1):
            below = broken.get(read[:start])
            if below and any(read[start:end] in below for end in range(start, len(read) + 1)):
                return True
    return False


def _alternatives(kind: Any) -> list[str]:
    """What a schema keyword allows, as words ('"a"', 'integer', 'null', 'a date-time'); [] if it is not a list."""
    kinds = jsonschema_rs.ValidationErrorKind
    if isinstance(kind, kinds.Enum):
        return [json.dumps(option, ensure_ascii=False) for option in kind.options]
    if isinstance(kind, kinds.Type):
        return list(kind.types)
    if isinstance(kind, kinds.Format):
        return [f"a {kind.format} with a UTC offset" if kind.format == "date-time" else f"a {kind.format}"]
    if isinstance(kind, kinds.AnyOf) and all(len(branch) == 1 for branch in kind.context):
        found = [_alternatives(branch[0].kind) for branch in kind.context]
        return [word for words in found for word in words] if all(found) else []
    return []


def _explained(error: Any) -> tuple[str, str]:
    """A schema error's message and expected value in the partner's terms: what is allowed, not where the
    schema says so (a schema pointer only where no short list of allowed values exists)."""
    where = "per schema at " + pointers.join(error.schema_path)
    if isinstance(error.instance, str) and _naive_date_time(error.instance) and _is_format_only(error):
        return f"{_as_json(error.instance)} is missing its UTC offset (Z or ±hh:mm)", "a date-time with a UTC offset"
    words = _alternatives(error.kind)
    if not words:
        return error.message, where
    allowed = words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"
    allowed = allowed if len(words) == 1 or not words[0].startswith('"') else f"one of {allowed}"
    return f"{_as_json(error.instance)} is not allowed here: expected {allowed}", allowed


def _naive_date_time(text: str) -> bool:
    try:
        return datetime.fromisoformat(text).tzinfo is None and "T" in text.upper()
    except ValueError:
        return False
