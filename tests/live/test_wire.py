"""Issue 19, the wire as configured: URLs sent byte for byte, the reference's Django routing of Podero's token
path, token-encoding mismatches named whatever the body, and TOK-001..004 reading the encoding they probe."""

from __future__ import annotations

import contextlib
import json

import pytest
from reference_support import TokenEndpointWrapper, hanging_up
from run_support import PODERO, failed_checks, reference, run_cli, summary

from conformance.contract.settings import read_toml
from conformance.errors import ConfigError, TargetError
from conformance.live.client import TargetClient
from conformance.live.target import config_from_mapping, joined
from conformance.live.token_request import redirect_hint
from conformance.reference.dataset import build_fleet
from conformance.reference.server import (
    PODERO_TOKEN_PATH,
    TOKEN_PATH,
    Deployment,
    start_in_thread,
    write_target_config,
)
from conformance.reference.variants import Variants

pytestmark = pytest.mark.usefixtures("in_tmp")  # each test in its own working directory


def request_lines(seen: list[str]):
    """A Misbehaving rule that records each request line as it reached the server (raw path and query)."""

    def record(scope):
        query = scope["query_string"].decode("latin-1")
        seen.append(f"{scope['method']} {scope['raw_path'].decode('latin-1')}{'?' + query if query else ''}")

    return record


# --- item 1: URLs exactly as configured ---


@pytest.mark.parametrize(("base", "path", "url"), [
    ("https://h", "/api/x", "https://h/api/x"),
    ("https://h/", "/api/x", "https://h/api/x"),
    ("https://h/gw/", "api/x", "https://h/gw/api/x"),
    ("https://h/gw", "/oauth2/token/", "https://h/gw/oauth2/token/"),
    ("https://h/a%2Fb%7e/", "/api/x", "https://h/a%2Fb%7e/api/x"),
    ("https://h/gw/?code=a%2Bb", "/api/x", "https://h/gw/api/x?code=a%2Bb"),
    ("https://h/gw?code=1", "/api/x?limit=2", "https://h/gw/api/x?code=1&limit=2"),
])
def test_a_path_joins_base_url_with_one_slash_keeping_the_rest_as_written(base, path, url):
    assert joined(base, path) == url


def _target(base_url: str, token_url: str) -> dict:
    return {"base_url": base_url, "auth": {"grant": "client_credentials", "client_id": "c", "client_secret": "s3cret",
                                           "token_url": token_url},
            "sessions": [{"org_id": "7d4f3c52-0c1e-4f7a-9a43-3f1b5f7a9c01",
                          "user_id": "0b8e1a9d-5c2f-4e61-8d7a-2c9e4f6b1a02",
                          "wallbox_id": "c3a1f5e7-9b2d-4c8e-a6f4-1d3b5e7f9a03", "session_id": 1}]}


def test_base_url_and_an_absolute_token_url_are_kept_as_written():
    config = config_from_mapping(_target("https://gw.example/podero/", "https://app.podero.com/oauth2/token/"),
                                 default_token_url="/t")
    assert config.base_url == "https://gw.example/podero/"
    assert config.token_url(config.tenant) == "https://app.podero.com/oauth2/token/"
    assert config.with_base_url("https://other.example/x/").base_url == "https://other.example/x/"
    with pytest.raises(ConfigError, match="base_url: a URL with a #fragment cannot be requested"):
        config_from_mapping(_target("https://gw.example/p#top", "/t"), default_token_url="/t")


OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"


def test_percent_encodings_trailing_slashes_and_queries_reach_the_wire_as_written():
    lines: list[bytes] = []
    with hanging_up(OK, received=lines) as origin:
        config = config_from_mapping(_target(origin + "/gw%7Eone/?code=a%2Bb", origin + "/o%7E/token/?tenant=x"),
                                     default_token_url="/t")
        client = TargetClient(config)
        try:
            client.send("GET", client.url("/api/partners/v2.0/hems-sessions"), tenant=None, params={"limit": 2})
            client.send("POST", config.token_url(config.tenant), tenant=None, data={"grant_type": "x"})
            with pytest.raises(TargetError, match="without an access_token"):  # the token source's own request
                client.tokens["a"].authorization()
        finally:
            client.close()
    assert lines == [b"GET /gw%7Eone/api/partners/v2.0/hems-sessions?code=a%2Bb&limit=2 HTTP/1.1",
                     b"POST /o%7E/token/?tenant=x HTTP/1.1", b"POST /o%7E/token/?tenant=x HTTP/1.1"]


@pytest.mark.e2e
def test_podero_s_absolute_token_url_with_its_trailing_slash_is_sent_as_written_and_conformant(tmp_path, capsys):
    """Done when: a deployment that serves tokens only at /oauth2/token/ (Django routing) works with the absolute
    URL from Podero's guide (and a base_url with a trailing slash): exit 0, the request lines as configured."""
    seen: list[str] = []

    def slashed(target):
        target["base_url"] += "/"
        assert target["auth"]["token_url"].endswith(PODERO_TOKEN_PATH) and "://" in target["auth"]["token_url"]

    with reference(tmp_path, variants=PODERO, edit=slashed, rule=request_lines(seen)) as config:
        code, output = run_cli(capsys, "--config", str(config), "--strict")
    assert code == 0, output
    assert "POST /oauth2/token/" in seen and "POST /oauth2/token" not in seen, seen
    assert not [line for line in seen if "//" in line.split(" ", 1)[1]], "a doubled slash was sent"
    assert any(line.startswith("GET /api/partners/v2.0/org/") for line in seen)


@pytest.mark.e2e
def test_the_slashless_token_path_of_a_django_routed_deployment_is_untestable_naming_token_url(tmp_path, capsys):
    def slashless(target):
        target["auth"]["token_url"] = target["auth"]["token_url"].rstrip("/")

    with reference(tmp_path, variants=PODERO, edit=slashless) as config:
        url = read_toml(config)["base_url"]
        code, output = run_cli(capsys, "--config", str(config))
    assert code == 3 and "answered 301" in output and "APPEND_SLASH" in output, output
    assert f"set token_url to {url}{PODERO_TOKEN_PATH} " in output, output


# --- item 2: mismatches named whatever the body ---

HTML_415 = (415, {"Content-Type": "text/html; charset=utf-8"},
            b"<!doctype html>\n<html lang=en>\n<title>415 Unsupported Media Type</title>\n<h1>Unsupported Media Type</h1>"
            b"\n<p>Did not attempt to load JSON data because the request Content-Type was not 'application/json'.</p>\n")
FASTAPI_422 = (422, {"Content-Type": "application/json"},
               b'{"detail":[{"type":"missing","loc":["body"],"msg":"Field required","input":null}]}')
PLAIN_400 = (400, {"Content-Type": "text/plain"}, b"Bad Request")


def token_answer(answer):
    """A rule answering every request to the spec's tokenUrl with `answer` (tenant B's and, in the plain reference,
    tenant A's token endpoint)."""
    return lambda scope: answer if scope["path"] == TOKEN_PATH else None


def error_line(output: str) -> str:
    [line] = [line for line in output.splitlines() if line.startswith("hems-conformance: error:")]
    return line


@pytest.mark.parametrize("answer", [HTML_415, FASTAPI_422, PLAIN_400], ids=["flask-415-html", "fastapi-422", "plain-400"])
@pytest.mark.parametrize("sent", ["form", "json"])
@pytest.mark.e2e
def test_a_framework_s_refusal_of_the_body_is_exit_2_naming_token_body(tmp_path, capsys, answer, sent):
    with reference(tmp_path, edit=lambda t: t["auth"].update(token_body=sent), rule=token_answer(answer)) as config:
        code, output = run_cli(capsys, "--config", str(config))
    other = "json" if sent == "form" else "form"
    assert code == 2, output
    line = error_line(output)
    assert "auth.token_body" in line and f'token_body = "{other}"' in line and str(answer[0]) in line, line
    assert "Traceback" not in output


@pytest.mark.parametrize("method", ["basic", "form"])
@pytest.mark.e2e
def test_a_401_without_an_rfc_6749_error_after_client_authentication_is_exit_2_naming_token_auth_method(
        tmp_path, capsys, method):
    refused = (401, {"Content-Type": "application/json"}, b'{"detail": "Unauthorized"}')
    with reference(tmp_path, edit=lambda t: t["auth"].update(token_auth_method=method),
                   rule=token_answer(refused)) as config:
        code, output = run_cli(capsys, "--config", str(config))
    other = "form" if method == "basic" else "basic"
    assert code == 2, output
    line = error_line(output)
    assert "auth.token_auth_method" in line and f'token_auth_method = "{other}"' in line, line


@pytest.mark.parametrize("answer", [(500, {"Content-Type": "text/html"}, b"<h1>Server Error (500)</h1>"),
                                    (400, {"Content-Type": "application/json"}, b'{"error": "invalid_scope"}')],
                         ids=["500-html", "400-other-rfc-error"])
@pytest.mark.e2e
def test_a_token_endpoint_answering_5xx_stays_exit_3_and_another_rfc_error_is_no_encoding_mismatch(
        tmp_path, capsys, answer):
    with reference(tmp_path, rule=token_answer(answer)) as config:
        code, output = run_cli(capsys, "--config", str(config))
    [line] = [line for line in output.splitlines() if "token endpoint" in line]
    assert "token_body" not in line and "token_auth_method" not in line, line
    assert code == (3 if answer[0] == 500 else 2), output


# --- item 3: token checks that follow the encoding ---


class GrantRewriting(TokenEndpointWrapper):
    """Wraps a deployment's app: a JSON token request to the spec's tokenUrl whose grant_type is one of `read_as`
    (None: missing or null) reaches the deployment as the password grant, as a TokenInput endpoint reading it so
    would answer it."""

    def __init__(self, app, read_as) -> None:
        super().__init__(app)
        self.read_as = read_as

    async def token_exchange(self, scope, receive, send) -> None:
        body, more = b"", True
        while more:
            message = await receive()
            body, more = body + message.get("body", b""), message.get("more_body", False)
        with contextlib.suppress(ValueError):
            fields = json.loads(body)
            if isinstance(fields, dict) and fields.get("grant_type") in self.read_as:
                body = json.dumps(fields | {"grant_type": "password"}).encode()
        headers = [(k, v) for k, v in scope["headers"] if k != b"content-length"]
        scope = dict(scope, headers=[*headers, (b"content-length", str(len(body)).encode())])
        sent = False

        async def replay():
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


class NinjaErrors(TokenEndpointWrapper):
    """Wraps a deployment's app: the spec's tokenUrl answers its refusals as Django Ninja's default handlers do,
    `{"detail": ...}` with the same status and no RFC 6749 error code (TokenInput's route documents none)."""

    async def token_exchange(self, scope, receive, send) -> None:
        start = {}

        async def rewrite(message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            if start["status"] >= 400:
                body = json.dumps({"detail": "Invalid credentials or request"}).encode()
                kept = [(k, v) for k, v in start["headers"] if k.lower() in (b"allow", b"www-authenticate")]  # as Ninja's
                start["headers"] = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                    *kept]
                message = {"type": "http.response.body", "body": body}
            await send(start)
            await send(message)

        await self.app(scope, receive, rewrite)


@contextlib.contextmanager
def token_input_target(tmp_path, read_as=(), token_body="json", ninja_errors=False):
    """The reference (podero-token for JSON: TokenInput) with tenant A on the password grant at the spec's tokenUrl
    as a public client, its grant types in `read_as` read as the password grant, its refusals Django Ninja's if
    asked; yields the target config's path."""
    deployment = Deployment(build_fleet(0), variants=Variants(PODERO if token_body == "json" else ()))
    deployment.app = GrantRewriting(deployment.app, read_as)
    if ninja_errors:
        deployment.app = NinjaErrors(deployment.app)
    owner = deployment.credentials["a"]
    with start_in_thread(deployment) as url:
        target = deployment.target_config(url)
        target["auth"] = {"grant": "password", "token_url": TOKEN_PATH, "username": owner.username,
                          "password": owner.password, "token_body": token_body}
        write_target_config(str(tmp_path / "target.toml"), target)
        yield tmp_path / "target.toml"


def checks_of(tmp_path) -> dict:
    return {c["id"]: c for c in summary(tmp_path)["checks"]}


@pytest.mark.e2e
def test_a_json_token_input_endpoint_issuing_a_token_for_a_missing_grant_type_passes_tok_003(tmp_path, capsys):
    with token_input_target(tmp_path, read_as=(None,)) as config:
        code, output = run_cli(capsys, "--config", str(config), "--strict")
    assert code == 0, output
    assert checks_of(tmp_path)["TOK-003"]["status"] == "passed" and checks_of(tmp_path)["TOK-003"]["judged"] == 2


@pytest.mark.e2e
def test_a_json_token_input_endpoint_issuing_a_token_for_an_unknown_grant_type_fails_tok_003(tmp_path, capsys):
    with token_input_target(tmp_path, read_as=(None, "urn:example:no-such-grant")) as config:
        code, output = run_cli(capsys, "--config", str(config))
    assert code == 1 and failed_checks(output) == {"TOK-003"}, output
    [finding] = checks_of(tmp_path)["TOK-003"]["findings"]
    assert "TokenInput, JSON request" in finding["message"] and "200 with an access token" in finding["message"], finding


@pytest.mark.e2e
def test_a_form_endpoint_issuing_a_token_for_a_missing_grant_type_fails_tok_003_by_rfc_6749(tmp_path, capsys):
    """The same leniency is not RFC 6749's: a form request without grant_type is invalid_request (§4, §5.2)."""
    deployment = Deployment(build_fleet(0))
    with start_in_thread(deployment) as url:
        original = deployment.issuer.tenant_for

        def lenient(fields, authorization, basic_only=False, **options):
            return original(fields if fields.get("grant_type") else fields | {"grant_type": "client_credentials"},
                            authorization, basic_only, **options)

        deployment.issuer.tenant_for = lenient
        write_target_config(str(tmp_path / "target.toml"), deployment.target_config(url))
        code, output = run_cli(capsys, "--config", str(tmp_path / "target.toml"))
    assert code == 1 and failed_checks(output) == {"TOK-003"}, output
    [finding] = checks_of(tmp_path)["TOK-003"]["findings"]
    assert "RFC 6749 §5.2, form request" in finding["message"] and "grant_type None" in finding["message"], finding


@pytest.mark.parametrize(("url", "location", "says"), [
    ("https://h/oauth2/token", "/oauth2/token/", "set token_url to https://h/oauth2/token/ "),
    ("https://h/oauth2/token?x=1", "https://h/oauth2/token/?x=1", "set token_url to https://h/oauth2/token/?x=1 "),
    ("https://h/oauth2/token/", "/login/", "is token_url right?"),
    ("https://h/oauth2/token", None, "is token_url right?"),
])
def test_a_redirect_of_the_token_request_says_what_to_check(url, location, says):
    assert says in redirect_hint(url, location)


@pytest.mark.parametrize("token_body", ["json", "form"])
@pytest.mark.e2e
def test_token_refusals_without_rfc_6749_codes_pass_the_json_reading_and_fail_the_form_one(tmp_path, capsys, token_body):
    """TokenInput's route documents no error format: Django Ninja's {"detail": ...} refusals are conformant for a
    JSON request; a form request is RFC 6749's, which requires the error code (TOK-002, TOK-003)."""
    with token_input_target(tmp_path, token_body=token_body, ninja_errors=True) as config:
        code, output = run_cli(capsys, "--config", str(config), "--strict")
    if token_body == "json":
        assert code == 0, output
        assert {checks_of(tmp_path)[i]["status"] for i in ("TOK-002", "TOK-003")} == {"passed"}
    else:
        assert code == 1 and failed_checks(output) == {"TOK-002", "TOK-003"}, output
