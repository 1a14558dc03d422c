"""Issue 19, item 8: `run` against the real stack Podero's routes come from, not our imitation of it: Django with
APPEND_SLASH and django-oauth-toolkit's token view (tests/support/django_target). Tenant A authenticates with client
credentials, HTTP Basic and a JSON body at the absolute `/oauth2/token/` URL Podero's guide gives; tenant B with
the password grant as a public client at DOT's form endpoint; sessions are found through the list route."""

from __future__ import annotations

import json

import pytest
from django_target import FORM_TOKEN_PATH, JSON_TOKEN_PATH, provision, start
from run_support import failed_checks, run_cli

from conformance.reference.dataset import build_fleet
from conformance.reference.faults import Faults
from conformance.reference.oauth import make_credentials
from conformance.reference.server import Deployment, write_target_config
from conformance.reference.variants import Variants


@pytest.fixture(scope="module")
def django_url(tmp_path_factory):
    """Django configured and migrated once (temp-file sqlite), served on a free loopback port."""
    with start(tmp_path_factory.mktemp("django-target") / "db.sqlite3") as url:
        yield url


pytestmark = pytest.mark.usefixtures("in_tmp")  # each test in its own working directory


def django_target(tmp_path, url, faults=()) -> str:
    """Provision the Django target with the reference fleet (faults applied) and write the config a partner would:
    Podero's absolute token URL for tenant A, the password grant at DOT's form endpoint for tenant B, discovery."""
    fleet = Faults(faults).apply_to(build_fleet(0))
    credentials = make_credentials((t.key, t.client_id, t.username) for t in fleet.tenants)
    provision(fleet, credentials)
    target = Deployment(fleet, credentials=credentials, variants=Variants(["podero-token"])).target_config(url)
    assert target["auth"]["token_url"] == url + JSON_TOKEN_PATH and target["auth"]["token_body"] == "json"
    b = credentials["b"]
    target["tenant_b"]["auth"] = {"grant": "password", "token_url": FORM_TOKEN_PATH, "client_id": b.client_id,
                                  "username": b.username, "password": b.password, "token_body": "form"}
    for table in (target, target["tenant_b"]):
        del table["sessions"]  # every session is discovered through the list route
    write_target_config(str(tmp_path / "django.toml"), target)
    return str(tmp_path / "django.toml")


def summary(tmp_path) -> dict:
    return json.loads((tmp_path / "reports-under-test" / "summary.json").read_text())


def test_the_django_oauth_toolkit_target_is_conformant_with_podero_s_token_url(tmp_path, capsys, django_url):
    code, output = run_cli(capsys, "--config", django_target(tmp_path, django_url), "--strict")
    assert code == 0, output
    report = summary(tmp_path)
    judged = {c["id"]: c["judged"] for c in report["checks"] + report["siblings"]["checks"]}
    assert all(judged[i] for i in ("TOK-001", "TOK-002", "TOK-003", "TOK-004", "OBJ-004", "XEP-001", "XEP-002")), judged
    tenants = {s["tenant"] for s in report["metadata"]["sessions"] if s["source"] == "discovered"}
    assert tenants == {"a", "b"}
    assert report["metadata"]["token_body"] == {"a": "json", "b": "form"}


def test_the_django_oauth_toolkit_target_with_a_fault_is_non_conformant(tmp_path, capsys, django_url):
    code, output = run_cli(capsys, "--config", django_target(tmp_path, django_url, faults=["counters-off-by-one"]))
    assert code == 1 and "CNT-002" in failed_checks(output), output


def test_the_slashless_token_path_gets_django_s_redirect_never_a_token(tmp_path, capsys, django_url):
    config = django_target(tmp_path, django_url)
    text = open(config, encoding="utf-8").read().replace(JSON_TOKEN_PATH + '"', JSON_TOKEN_PATH.rstrip("/") + '"', 1)
    open(config, "w", encoding="utf-8").write(text)
    code, output = run_cli(capsys, "--config", config)
    assert code == 3 and "answered 301" in output, output


def test_a_form_request_to_dot_s_json_backend_is_exit_2_naming_token_body(tmp_path, capsys, django_url):
    config = django_target(tmp_path, django_url)
    text = open(config, encoding="utf-8").read().replace('token_body = "json"', 'token_body = "form"', 1)
    open(config, "w", encoding="utf-8").write(text)
    code, output = run_cli(capsys, "--config", config)
    assert code == 2 and 'set token_body = "json" in [auth]' in output, output
