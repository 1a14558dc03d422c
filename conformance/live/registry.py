"""The registry of live checks: each case of `cases/live/*.json` (ID, level, statement, citation, params)
bound to the functions that exercise it, a procedure that sends requests and/or a check judged on every
response. The JSON files stay the data a reader edits; the functions are registered by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from conformance.errors import ConfigError
from conformance.live.live_cases import LiveCase, load_live_case_file, load_live_cases
from conformance.live.procedures import PROCEDURES, Procedure
from conformance.live.response_checks import RESPONSE_CHECKS, ResponseCheck

# What each procedure and response check needs to be exercised, by function name: a check that judged nothing is
# reported "not exercised" with it, never "passed". A function without an entry here fails tests/contract/test_needs.py.
FUNCTION_NEEDS: dict[str, str] = {
    "read_every_session": "a configured or discovered session",
    "unauthenticated": "a configured session to request without a valid token",
    "expired_token": "a token whose expires_in lies within auth.max_token_wait_s",
    "unknown_session": "a configured session (its parents, to ask for an unknown id under them)",
    "foreign_parents": "a configured session (its parents, to replace)",
    "moved_session": "two configured sessions of one org on different wallboxes or users",
    "cross_tenant": "a [tenant_b] table: a second tenant with its own sessions",
    "stable_reads": "an ended session among the first configured ones, answered 200",
    "undeclared_methods": "a configured session (its path, to send other methods to)",
    "token_success": "a token endpoint the configured grant uses",
    "token_bad_credentials": "a token endpoint the configured grant uses",
    "token_bad_request": "a token endpoint the configured grant uses",
    "token_no_store": "a token endpoint the configured grant uses",
    "fuzz": "a configured session to anchor the generated requests",
    "path_names_session": "a 200 of the session endpoint",
    "json_200": "a 200 of the session endpoint",
    "json_errors": "an error answer (4xx or 5xx) with a body",
    "no_internals": "an error answer (4xx or 5xx) with a body",
    "bearer_challenge": "a 401 answer",
    "allow_on_405": "a 405 answer",
    "no_server_error": "an answer of the session endpoint",
    "malformed_rejected": "an answer to a request with a malformed path parameter",
    "refresh_token_as_access": "a refresh token issued by the token endpoint (the password grant)",
    "scheme_case": "a configured session answered 200 with the issued token",
    "token_error_named": "a 401 answer to a request that carried a Bearer token",
    "sibling_isolation": "[discover] with [[wallboxes]]: the list and current routes",
    "distinct_tenant_tokens": "a [tenant_b] table: a second tenant with its own client",
    "not_shared_cacheable": "a 200 of a route read with a valid token",
    "no_foreign_ids": "an error answer with a body, and a configured session whose ids it could name",
    "token_basic_challenge": "a client authenticated by HTTP Basic (token_auth_method = \"basic\")",
    "token_basic_challenge_scheme": "a 401 with a challenge after HTTP Basic client authentication",
    "token_query_credentials": "a token endpoint the configured grant uses",
    "token_get_refused": "a token endpoint the configured grant uses",
    "token_no_refresh_for_client": "a client_credentials token answer",
    "token_extra_parameters": "a token endpoint the configured grant uses",
    "refresh_token_binding": "two tenants' clients and a refresh token issued to tenant B",
}


@dataclass(frozen=True)
class LiveCheck:
    case: LiveCase
    procedure: Procedure | None
    on_every_response: ResponseCheck | None

    @property
    def id(self) -> str:
        return self.case.id

    @property
    def need(self) -> str:
        """What the case needs to be exercised: its procedure's need, else its response check's."""
        return FUNCTION_NEEDS.get(self.case.procedure or "") or FUNCTION_NEEDS.get(self.case.on_every_response or "", "")


def bind(case: LiveCase, where: str) -> LiveCheck:
    """The case with its functions; a name nothing registered is a ConfigError naming the file and case."""
    if case.procedure is not None and case.procedure not in PROCEDURES:
        raise ConfigError(f"{where}: {case.id}: unknown procedure {case.procedure!r} (known: {', '.join(sorted(PROCEDURES))})")
    if case.on_every_response is not None and case.on_every_response not in RESPONSE_CHECKS:
        raise ConfigError(f"{where}: {case.id}: unknown response check {case.on_every_response!r} "
                          f"(known: {', '.join(sorted(RESPONSE_CHECKS))})")
    return LiveCheck(case, PROCEDURES.get(case.procedure or ""), RESPONSE_CHECKS.get(case.on_every_response or ""))


def load_check_file(path: Path) -> list[LiveCheck]:
    return [bind(case, str(path)) for case in load_live_case_file(path)]


def load_checks(directory: Path | None = None) -> list[LiveCheck]:
    return [bind(case, case.file) for case in load_live_cases(directory)]
