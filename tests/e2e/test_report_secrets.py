"""Secrets never leave a run: over runs of every grant type against the reference deployment with known
credentials, no client secret, password, Basic credential or access token the server issued appears in
any byte the run wrote: its report folder, its stdout, its stderr."""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path
from urllib.parse import parse_qsl, quote, quote_plus

import pytest
from reference_support import TokenEndpointWrapper

from conformance.cli import main
from conformance.reference.dataset import build_fleet
from conformance.reference.faults import Faults
from conformance.reference.oauth import make_credentials
from conformance.reference.server import TOKEN_PATH, Deployment, start_in_thread, write_target_config

# Faults whose findings carry requests with credentials, token endpoint answers and error bodies as evidence.
LEAKY = ["counters-off-by-one", "token-cacheable", "token-errors-not-rfc", "stack-trace-in-errors",
         "wrong-session-id"]


def auth(grant: str, creds, method: str = "basic", token: str = "") -> dict:
    table = {"grant": grant, "token_url": TOKEN_PATH}
    if grant in ("client_credentials", "password"):
        table |= {"client_id": creds.client_id, "client_secret": creds.client_secret, "token_auth_method": method}
    if grant == "password":
        table |= {"username": creds.username, "password": creds.password}
    if grant == "bearer":
        table["token"] = token
    return table


# (tenant A's grant and client authentication, tenant B's): together every grant and both methods
RUNS = {
    "client_credentials-basic+password": (("client_credentials", "basic"), ("password", "basic")),
    "client_credentials-form+bearer": (("client_credentials", "form"), ("bearer", "basic")),
    "password-form+none": (("password", "form"), ("none", "basic")),
    "none+client_credentials": (("none", "basic"), ("client_credentials", "form")),
}


@pytest.mark.parametrize("name", list(RUNS))
def test_no_secret_appears_in_anything_the_run_wrote(tmp_path, monkeypatch, capfd, name):
    (grant_a, method_a), (grant_b, method_b) = RUNS[name]
    fleet = build_fleet(0)
    given = {t.key: (f"client-secret-{secrets.token_hex(12)}", f"password-{secrets.token_hex(12)}")
             for t in fleet.tenants}
    credentials = make_credentials(((t.key, t.client_id, t.username) for t in fleet.tenants), given)
    faults = LEAKY + (["auth-not-enforced"] if "none" in (grant_a, grant_b) else [])  # else "none" cannot read
    deployment = Deployment(fleet, Faults(faults), credentials=credentials)
    issued: list[str] = []
    issue = deployment.issuer.issue

    def recording(tenant: str) -> tuple[str, int]:
        token, lifetime = issue(tenant)
        issued.append(token)
        return token, lifetime

    deployment.issuer.issue = recording
    first, second = (credentials[t.key] for t in fleet.tenants[:2])
    bearer = recording(second.tenant)[0] if grant_b == "bearer" else ""
    config_dir, cwd = tmp_path / "config", tmp_path / "cwd"
    config_dir.mkdir()
    cwd.mkdir()
    with start_in_thread(deployment) as url:
        target = deployment.target_config(url)
        target["auth"] = auth(grant_a, first, method_a)
        target["tenant_b"]["auth"] = auth(grant_b, second, method_b, bearer)
        write_target_config(str(config_dir / "target.toml"), target)
        monkeypatch.chdir(cwd)
        monkeypatch.setenv("GITHUB_ACTIONS", "true")  # annotations on stdout, summary.md into the job summary
        monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(config_dir / "step-summary.md"))
        code = main(["run", "--config", str(config_dir / "target.toml"), "--profile", "quick"])
    out, err = capfd.readouterr()
    assert code == 1, out + err
    assert "\n::error title=CNT-002::" in out  # the annotations are covered below, as stdout

    needles = {f"{kind} of {c.tenant}": value for c in credentials.values()
               for kind, value in (("client secret", c.client_secret), ("password", c.password))}
    for c in credentials.values():
        needles[f"Basic credentials of {c.client_id}"] = base64.b64encode(
            f"{c.client_id}:{c.client_secret}".encode()).decode()
    needles |= {f"issued token {n}": token for n, token in enumerate(issued)}
    assert len(issued) >= (grant_a != "none") + (grant_b != "none"), "the run never authenticated"

    written = {str(p.relative_to(cwd)): p.read_bytes() for p in cwd.rglob("*") if p.is_file()}
    assert sorted(Path(p).name for p in written) == ["gl-code-quality-report.json", "junit.xml", "report.html", "summary.json", "summary.md"]
    written |= {"stdout": out.encode(), "stderr": err.encode(),
                "the job summary": (config_dir / "step-summary.md").read_bytes()}
    leaks = [f"{what} in {where}" for where, data in written.items() for what, value in needles.items()
             if value.encode() in data]
    assert leaks == []

    summary = next(data for where, data in written.items() if where.endswith("summary.json")).decode()
    assert "[REDACTED]" in summary  # the evidence did carry credentials, masked
    if grant_a != "none":  # the token endpoint's own answer is evidence (token-cacheable): its token masked
        body = json.loads(summary)
        [tok] = [c for c in body["checks"] if c["id"] == "TOK-004"]
        assert any('"access_token": "[REDACTED]"' in line for f in tok["findings"] for line in f["excerpt"]["lines"])


class EchoingTokenEndpoint(TokenEndpointWrapper):
    """Wraps a deployment's ASGI app: every token endpoint answer also echoes what the request carried, the way a
    debugging mock might: the form body as sent (URL-encoded), its values decoded and JSON-escaped (ASCII-only, as
    UTF-8, and with `\\/`), the Authorization header with and without its scheme."""

    async def token_exchange(self, scope, receive, send) -> None:
        request = b""
        while True:
            message = await receive()
            request += message.get("body", b"")
            if not message.get("more_body"):
                break
        answer: dict = {"status": 500, "headers": [], "body": b""}

        async def replay():
            return {"type": "http.request", "body": request, "more_body": False}

        async def keep(message) -> None:
            if message["type"] == "http.response.start":
                answer["status"], answer["headers"] = message["status"], message.get("headers", [])
            else:
                answer["body"] += message.get("body", b"")

        await self.app(scope, replay, keep)
        header = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        values = [v for pair in parse_qsl(request.decode(), keep_blank_values=True) for v in pair]
        echoed = [request.decode(), header, header.partition(" ")[2], *values]
        extra = (f'"echo_ascii": {json.dumps(echoed)}, "echo_utf8": {json.dumps(echoed, ensure_ascii=False)}, '
                 f'"echo_slashes": {json.dumps(echoed).replace("/", chr(92) + "/")}')
        original = answer["body"].decode().strip()
        body = (original[:-1] + ", " + extra + "}" if original.endswith("}") else "{" + extra + "}").encode()
        headers = [(k, v) for k, v in answer["headers"] if k.lower() != b"content-length"]
        await send({"type": "http.response.start", "status": answer["status"],
                    "headers": [*headers, (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def sent_forms(client_id: str, secret: str) -> dict[str, str]:
    """Every encoding in which the suite sends `secret` (or could see it echoed), computed independently."""
    forms = {"raw": secret, "url-encoded": quote(secret, safe=""), "form-encoded": quote_plus(secret),
             "json": json.dumps(secret)[1:-1], "json-utf8": json.dumps(secret, ensure_ascii=False)[1:-1],
             "json-slashes": json.dumps(secret)[1:-1].replace("/", "\\/")}
    for user, password in ((client_id, secret), (quote(client_id, safe=""), quote(secret, safe=""))):
        basic = base64.b64encode(f"{user}:{password}".encode()).decode()
        forms |= {f"basic {user}": basic, f"basic {user} json-slashes": basic.replace("/", "\\/"),
                  f"basic {user} url-encoded": quote(basic, safe="")}
    return forms


@pytest.mark.parametrize("grant", ["client_credentials", "password"])
@pytest.mark.parametrize("method", ["basic", "form"])
def test_an_echoing_token_endpoint_leaks_no_encoding_of_any_secret_the_suite_sent(tmp_path, monkeypatch, capfd,
                                                                                   grant, method):
    fleet = build_fleet(0)
    # a secret whose encodings all differ from it (no `+` or `%`: authlib sends Basic credentials without
    # form-urlencoding them first, and the reference deployment decodes them as RFC 6749 §2.3.1 says)
    hard = 's/e c=t&"\\<b>?'

    given = {t.key: (f"{hard}{secrets.token_hex(6)}", f"{hard}ü{secrets.token_hex(6)}") for t in fleet.tenants}
    credentials = make_credentials(((t.key, t.client_id, t.username) for t in fleet.tenants), given)
    deployment = Deployment(fleet, Faults(["token-cacheable", "token-errors-not-rfc"]), credentials=credentials)
    deployment.app = EchoingTokenEndpoint(deployment.app)
    first = credentials[fleet.tenants[0].key]
    monkeypatch.chdir(tmp_path)
    with start_in_thread(deployment) as url:
        target = deployment.target_config(url)
        target["auth"] = auth(grant, first, method)
        write_target_config(str(tmp_path / "target.toml"), target)
        code = main(["run", "--config", str(tmp_path / "target.toml"), "--profile", "quick", "--report-dir", "out"])
    out, err = capfd.readouterr()
    assert code == 1, out + err

    sent = [(c.client_id, value) for c in credentials.values() for value in (c.client_secret, c.password)]
    sent += [(client_id, value + "x") for client_id, value in sent]  # TOK-002's wrong secret and password
    needles = {f"{name} of {value[-12:]}": form for client_id, value in sent
               for name, form in sent_forms(client_id, value).items()}
    written = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()} | {"stdout": out.encode(),
                                                                                 "stderr": err.encode()}
    assert sorted(written) == ["gl-code-quality-report.json", "junit.xml", "report.html", "stderr", "stdout", "summary.json", "summary.md"]
    assert b"echo_ascii" in written["summary.json"]  # the echoes are evidence, masked
    leaks = [f"{what} in {where}" for where, data in written.items() for what, form in needles.items()
             if form.encode() in data]
    assert leaks == []


# --- a secret straddling a clip: what the cut leaves of it is masked too (issue 21) ---


def straddling_body() -> bytes:
    """A session echoing the bearer token where the clips cut it: in /session/id, whose finding's message and
    value are cut at 240 characters 18 characters into the token, and in /session/ocpp_transaction_id, whose
    excerpt line is cut at 160 characters 12 characters into it."""
    from hostile_support import TOKEN
    from payload_support import BASE

    payload = json.loads(json.dumps(BASE))
    payload["session"] |= {"id": "P" * 220 + TOKEN, "ocpp_transaction_id": "O" * 120 + TOKEN}
    return json.dumps(payload).encode()


def test_no_head_of_a_secret_straddling_a_clip_appears_anywhere(tmp_path, monkeypatch, capfd):
    from hostile_support import TOKEN, answering, hostile, target_toml

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "r" / "step-summary.md"))
    with hostile(answering(straddling_body())) as url:
        (tmp_path / "t.toml").write_text(target_toml(url))
        assert main(["run", "--config", "t.toml", "--profile", "quick", "--report-dir", "r",
                     "--annotations", "github"]) == 1
        main(["replay", "r", "--config", "t.toml", "--max-requests", "3"])
    written = "".join(capfd.readouterr()) + "".join(p.read_text(encoding="utf-8") for p in (tmp_path / "r").iterdir())
    assert "is not allowed here: expected integer" in written and "X-Request-ID" in written
    assert (tmp_path / "r" / "step-summary.md").stat().st_size > 0
    assert TOKEN[:8] not in written


def test_wherever_a_clip_cuts_a_secret_no_head_of_8_characters_survives():
    from conformance.contract.clipping import clip
    from conformance.report.redaction import Redactor

    secret = "s3cret-value-of-some-length"
    redactor = Redactor([secret])
    for cut in range(len(secret) + 4):
        for text in (clip("x" * 200 + secret + " tail", 200 + cut), ("x" * 10 + secret)[: 10 + cut] + "\nnext line"):
            masked = redactor.text(text)
            assert secret[:8] not in masked and masked.startswith("x" * 10), (cut, masked)
    assert redactor.text("s3cret-v is a head, s3cret- is too short") == "[REDACTED] is a head, s3cret- is too short"
    jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhIn0.c2ln"  # another token sharing the issued one's header
    probe = "Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJoZW1zIiwiZXhwIjoxfQ.c2lnbmF0dXJl"
    assert Redactor([jwt]).known(probe) == probe and Redactor([jwt]).known(probe[:50] + "…") == "Bearer [REDACTED]…"
