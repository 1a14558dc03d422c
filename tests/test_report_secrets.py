"""Secrets never leave a run: over runs of every grant type against the reference deployment with known
credentials, no client secret, password, Basic credential or access token the server issued appears in
any byte the run wrote: its report folder, its stdout, its stderr."""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path

import pytest

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
        code = main(["run", "--config", str(config_dir / "target.toml"), "--profile", "quick"])
    out, err = capfd.readouterr()
    assert code == 1, out + err

    needles = {f"{kind} of {c.tenant}": value for c in credentials.values()
               for kind, value in (("client secret", c.client_secret), ("password", c.password))}
    for c in credentials.values():
        needles[f"Basic credentials of {c.client_id}"] = base64.b64encode(
            f"{c.client_id}:{c.client_secret}".encode()).decode()
    needles |= {f"issued token {n}": token for n, token in enumerate(issued)}
    assert len(issued) >= (grant_a != "none") + (grant_b != "none"), "the run never authenticated"

    written = {str(p.relative_to(cwd)): p.read_bytes() for p in cwd.rglob("*") if p.is_file()}
    assert sorted(Path(p).name for p in written) == ["junit.xml", "report.html", "summary.json"]
    written |= {"stdout": out.encode(), "stderr": err.encode()}
    leaks = [f"{what} in {where}" for where, data in written.items() for what, value in needles.items()
             if value.encode() in data]
    assert leaks == []

    summary = next(data for where, data in written.items() if where.endswith("summary.json")).decode()
    assert "[REDACTED]" in summary  # the evidence did carry credentials, masked
    if grant_a != "none":  # the token endpoint's own answer is evidence (token-cacheable): its token masked
        body = json.loads(summary)
        [tok] = [c for c in body["checks"] if c["id"] == "TOK-004"]
        assert any('"access_token": "[REDACTED]"' in line for f in tok["findings"] for line in f["excerpt"]["lines"])
