"""The target configuration: the documented shape loads, and every mistake is exit 2 naming its key."""

from __future__ import annotations

import base64

import pytest

from conformance.cli import main
from conformance.errors import ConfigError
from conformance.live.target import Secret, load_target
from conformance.report.redaction import Redactor

VALID = """
base_url = "http://127.0.0.1:1"
[auth]
grant = "client_credentials"
client_id = "c"
client_secret = "s3cret-value"
[[sessions]]
org_id = "7d4f3c52-0c1e-4f7a-9a43-3f1b5f7a9c01"
user_id = "0b8e1a9d-5c2f-4e61-8d7a-2c9e4f6b1a02"
wallbox_id = "c3a1f5e7-9b2d-4c8e-a6f4-1d3b5e7f9a03"
session_id = 101
"""


def _write(tmp_path, text: str):
    path = tmp_path / "target.toml"
    path.write_text(text)
    return path


def test_the_commented_example_loads(monkeypatch):
    monkeypatch.setenv("HEMS_CLIENT_SECRET", "one-secret")
    monkeypatch.setenv("HEMS_CLIENT_SECRET_B", "two-secret")
    config = load_target("examples/conformance.toml", default_token_url="/t")
    assert config.base_url == "https://staging.example.com"
    assert config.token_url(config.tenant) == "https://staging.example.com/api/partners/v2.0/auth/token"
    assert [s.session_id for s in config.tenant.sessions] == [101, 102]
    assert config.tenant_b and config.tenant_b.sessions[0].session_id == 301
    assert {"one-secret", "two-secret"} <= set(config.secrets())


def test_secrets_never_print():
    secret = Secret("hunter2-secret")
    assert "hunter2" not in repr(secret) and "hunter2" not in str(secret) and "hunter2" not in f"{[secret]}"


def test_the_basic_credentials_a_token_request_carries_are_secrets_too(tmp_path):
    config = load_target(_write(tmp_path, VALID.replace('"s3cret-value"', '"s3cret/val:ue"')), default_token_url="/t")
    redactor = Redactor(config.secrets())
    for sent in ("c:s3cret/val:ue", "c:s3cret%2Fval%3Aue"):  # plain, and form-urlencoded first (RFC 6749 §2.3.1)
        echoed = base64.b64encode(sent.encode()).decode()
        assert redactor.text(f'{{"raw": "{echoed}"}}') == '{"raw": "[REDACTED]"}'


def test_token_url_absolute_or_relative_to_base(tmp_path):
    config = load_target(_write(tmp_path, VALID.replace('base_url = "http://127.0.0.1:1"',
                                                        'base_url = "http://127.0.0.1:1/prefix/"')), default_token_url="/t")
    assert config.token_url(config.tenant) == "http://127.0.0.1:1/prefix/t"
    absolute = VALID.replace('grant = "client_credentials"', 'grant = "client_credentials"\ntoken_url = "https://auth.example/token"')
    config = load_target(_write(tmp_path, absolute), default_token_url="/t")
    assert config.token_url(config.tenant) == "https://auth.example/token"


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda t: "surprise = 1\n" + t, "target.toml: surprise: unknown key"),
        (lambda t: t.replace('base_url = "http://127.0.0.1:1"', ""), "base_url: missing"),
        (lambda t: t.replace('base_url = "http://127.0.0.1:1"', 'base_url = "ftp://x"'), "base_url: expected an http(s) URL"),
        (lambda t: t.replace("http://127.0.0.1:1", "http://c:s3cret-value@127.0.0.1:1"),
         "base_url: credentials in the URL are not supported"),
        (lambda t: t.replace('client_id = "c"', 'client_id = "c"\ntoken_url = "https://c:s3cret-value@auth.example/t"'),
         "auth.token_url: credentials in the URL are not supported"),
        (lambda t: t.replace('client_id = "c"', ""), "auth.client_id: missing"),
        (lambda t: t.replace('"s3cret-value"', '"abc"'),
         "auth.client_secret holds fewer than 4 characters: too short to mask"),
        (lambda t: t.replace('client_secret = "s3cret-value"', 'client_secret_env = "HEMS_NOT_SET_ANYWHERE"'),
         "auth.client_secret_env: environment variable HEMS_NOT_SET_ANYWHERE is not set"),
        (lambda t: t.replace('client_id = "c"', 'client_id = "c"\nclient_secret_env = "X"'), "auth.client_secret: give either"),
        (lambda t: t.replace('"client_credentials"', '"implicit"'), "auth.grant: 'implicit' is not one of"),
        (lambda t: t.replace('client_id = "c"', 'client_id = "c"\ncolour = "red"'), "auth.colour: unknown key"),
        (lambda t: t.replace("session_id = 101", 'session_id = "101"'), "sessions[0].session_id: expected an integer"),
        (lambda t: t.replace('"7d4f3c52-0c1e-4f7a-9a43-3f1b5f7a9c01"', '"not-a-uuid"'), "sessions[0].org_id: 'not-a-uuid' is not a UUID"),
        (lambda t: t.split("[[sessions]]")[0], "sessions: expected at least one"),
        (lambda t: t + "\n[tenant_b]\nsessions = []\n", "tenant_b.auth: expected a table"),
        (lambda t: t + "\n[judge]\nwobble = 1\n", "judge.wobble: unknown key"),
        (lambda t: t + "\n[judge.levels]\n\"XYZ-001\" = \"MUST\"\n", "judge.levels.XYZ-001: unknown invariant or live case"),
        (lambda t: t + "\n[judge.levels]\n\"CNT-002\" = \"LOUD\"\n", "judge.levels.CNT-002: level must be one of"),
        (lambda t: "max_retries = -1\n" + t, "target.toml: max_retries: expected a non-negative number"),
        (lambda t: t.replace('client_id = "c"', 'client_id = "c"\nmax_token_wait_s = "10"'),
         "auth.max_token_wait_s: expected a non-negative number"),
        (lambda t: "base_url = [", "not valid TOML"),
        (lambda t: "timeout_s = 0\n" + t, "target.toml: timeout_s: expected a positive number, got 0"),
        (lambda t: "timeout_s = inf\n" + t, "target.toml: timeout_s: expected a positive number, got inf"),
        (lambda t: "timeout_s = nan\n" + t, "target.toml: timeout_s: expected a positive number, got nan"),
        (lambda t: "max_retry_wait_s = nan\n" + t, "target.toml: max_retry_wait_s: expected a non-negative number"),
        (lambda t: "max_retries = 1.5\n" + t, "target.toml: max_retries: expected a non-negative number (an integer)"),
        (lambda t: "max_retries = inf\n" + t, "target.toml: max_retries: expected a non-negative number (an integer)"),
        (lambda t: "max_run_s = -inf\n" + t, "target.toml: max_run_s: expected a positive number"),
        (lambda t: "max_body_mib = 0\n" + t, "target.toml: max_body_mib: expected a positive number"),
        (lambda t: t.replace("127.0.0.1:1", "127.0.0.1:65536"), "base_url: Port out of range 0-65535"),
        (lambda t: t.replace('client_id = "c"', 'client_id = "c"\ntoken_url = "file:///etc/passwd"'),
         "auth.token_url: expected an http(s) URL, got 'file:///etc/passwd'"),
        (lambda t: t.replace('client_id = "c"', 'client_id = "c"\ntoken_url = "//elsewhere.example/t"'),
         "auth.token_url: expected an http(s) URL"),
    ],
)
def test_config_mistakes_are_exit_2_naming_the_key(tmp_path, capsys, change, key):
    path = _write(tmp_path, change(VALID))
    with pytest.raises(ConfigError, match=None) as raised:
        load_target(path, default_token_url="/t")
    assert key in str(raised.value)
    assert main(["run", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert key in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "s3cret-value" not in err


def test_missing_config_file_is_exit_2(tmp_path, capsys):
    assert main(["run", "--config", str(tmp_path / "nope.toml")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_fault_flag_needs_the_bundled_deployment(tmp_path, capsys):
    assert main(["run", "--config", str(_write(tmp_path, VALID)), "--fault", "intermittent-500"]) == 2
    assert "--fault applies to the bundled reference deployment" in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "says"), [
    (["run", "--seed", "-1"], "argument --seed: expected an integer from 0 to 2**64 - 1, got -1"),
    (["run", "--seed", str(2**200)], "argument --seed: expected an integer from 0 to 2**64 - 1"),
    (["run", "--base-url", "http://127.0.0.1:99999"], "--base-url: Port out of range 0-65535"),
    (["serve", "--port", "70000"], "argument --port: expected a port from 0 to 65535, got 70000"),
])
def test_command_line_mistakes_are_exit_2_naming_the_flag_before_any_request(tmp_path, capsys, argv, says):
    if "--base-url" in argv:
        argv = [*argv, "--config", str(_write(tmp_path, VALID))]
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse's own way out
        code = exit_.code
    assert code == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1
