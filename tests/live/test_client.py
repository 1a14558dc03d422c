"""The HTTP client and auth against the reference deployment: tokens fetched once and refreshed, bounded
retries on 429, infrastructure trouble as TargetError, and nothing secret in what it records."""

from __future__ import annotations

import contextlib
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
from reference_support import Clock, Misbehaving, authorization, hanging_up

from conformance.errors import ConfigError, TargetError
from conformance.live.client import NoAnswer, TargetClient, _retry_after, _seconds
from conformance.live.target import config_from_mapping
from conformance.reference.dataset import build_fleet
from conformance.reference.server import TOKEN_PATH, Deployment, start_in_thread
from conformance.reference.variants import RATE_LIMIT_EVERY, Variants


@contextlib.contextmanager
def client_for(variants=(), clock=None, rule=None, connections=10, **changes):
    """A TargetClient on a running deployment (`rule` answers some requests instead, see Misbehaving), and the
    deployment's request log."""
    log: list[str] = []
    deployment = Deployment(build_fleet(0), variants=Variants(variants), clock=clock or Clock(), log=log.append)
    if rule is not None:
        deployment.app = Misbehaving(deployment.app, rule)
    with start_in_thread(deployment) as url:
        mapping = deployment.target_config(url)
        mapping["auth"] |= changes.pop("auth", {})
        config = replace(config_from_mapping(mapping, default_token_url="/t"), **changes)
        waits: list[float] = []
        client = TargetClient(config, sleep=waits.append, connections=connections)
        try:
            yield client, deployment, log, waits
        finally:
            client.close()


def session_url(client: TargetClient, index: int = 0) -> str:
    ref = client.config.tenant.sessions[index]
    return client.url(f"/api/partners/v2.0/org/{ref.org_id}/users/{ref.user_id}/wallboxes/{ref.wallbox_id}"
                      f"/hems-sessions/{ref.session_id}")


def token_requests(log: list[str]) -> int:
    return sum(line.startswith("POST /api/partners/v2.0/auth/token ") for line in log)


@pytest.mark.parametrize("method", ["basic", "form"])
def test_a_token_is_fetched_once_for_many_requests(method):
    with client_for(auth={"token_auth_method": method}) as (client, _, log, _):
        statuses = [client.send("GET", session_url(client, i % 3)).status for i in range(10)]
    assert statuses == [200] * 10
    assert token_requests(log) == 1


def test_a_netrc_login_for_the_target_host_never_replaces_the_credentials(tmp_path, monkeypatch):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1\nlogin ci-user\npassword ci-password\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    with client_for() as (client, _, _, _):
        assert client.send("GET", session_url(client)).status == 200
        sent = []
        request = client.session.request
        client.session.request = lambda *args, **kwargs: sent.append(request(*args, **kwargs)) or sent[-1]
        client.send("GET", session_url(client), tenant=None)
        assert "Authorization" not in sent[-1].request.headers


@pytest.mark.e2e
def test_as_many_connections_are_kept_as_workers_send(caplog):
    with client_for(connections=16) as (client, _, _, _), ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(lambda i: client.send("GET", session_url(client, i % 3)).status, range(64)))
    assert statuses == [200] * 64
    assert "pool is full" not in caplog.text


def test_the_password_grant_of_tenant_b_works():
    with client_for() as (client, _, log, _):
        ref = client.config.tenant_b.sessions[0]
        url = client.url(f"/api/partners/v2.0/org/{ref.org_id}/users/{ref.user_id}/wallboxes/{ref.wallbox_id}"
                         f"/hems-sessions/{ref.session_id}")
        assert client.send("GET", url, tenant="b").status == 200


def test_a_token_the_server_expired_is_refetched_once_after_a_401():
    clock = Clock()
    with client_for(clock=clock) as (client, deployment, log, _):
        assert client.send("GET", session_url(client)).status == 200
        clock.now += 7200  # the server's clock: every token it issued has expired
        exchange = client.send("GET", session_url(client))
    assert exchange.status == 200
    assert token_requests(log) == 2


def test_a_late_401_for_a_token_already_replaced_keeps_the_new_one():
    """With --workers, every request in flight when a token expires gets a 401: one refetch serves them all."""
    with client_for() as (client, _, log, _):
        source = client.tokens["a"]
        stale = source.authorization()
        source.invalidate(stale)  # the first 401: dropped and refetched
        fresh = source.authorization()
        source.invalidate(stale)  # another thread's 401 for the old token, arriving later
        assert source.authorization() == fresh != stale
    assert token_requests(log) == 2


@pytest.mark.e2e
def test_429_is_retried_after_retry_after():
    with client_for(variants=["rate-limited"]) as (client, _, log, waits):
        statuses = [client.send("GET", session_url(client)).status for _ in range(RATE_LIMIT_EVERY + 2)]
    assert set(statuses) == {200}
    assert waits == [1.0]
    assert client.retries == 1


def test_429_beyond_the_retry_budget_is_the_answer_the_run_then_weighs():
    """Persisting on one request, trouble is that request's answer: the run probes whether the target answers
    others (a finding) or not (exit 3), see test_transient.py."""
    with client_for(variants=["rate-limited"], max_retries=0) as (client, _, _, waits):
        statuses = [client.send("GET", session_url(client)).status for _ in range(RATE_LIMIT_EVERY)]
    assert 429 in statuses and waits == []


@pytest.mark.e2e
def test_waiting_for_rate_limits_is_bounded_for_the_whole_run():
    with client_for(variants=["rate-limited"], max_retry_total_s=2.5) as (client, _, _, waits):
        with pytest.raises(TargetError, match=r"HTTP 429 again, and the run already waited 2 s for transient "
                                              r"trouble \(max_retry_total_s = 2.5\)"):
            for _ in range(RATE_LIMIT_EVERY * 4):
                client.send("GET", session_url(client))
    assert waits == [1.0, 1.0]


def test_rejected_credentials_are_a_configuration_error():
    with client_for(auth={"client_secret": "not-the-secret"}) as (client, _, _, _):
        with pytest.raises(ConfigError, match="rejected the configured credentials: invalid_client") as raised:
            client.send("GET", session_url(client))
    assert "not-the-secret" not in str(raised.value)


def test_a_token_endpoint_that_is_not_there_is_untestable():
    with client_for(auth={"token_url": "/no/such/token/endpoint"}) as (client, _, _, _):
        with pytest.raises(TargetError, match="token endpoint .* (is broken|answered)"):
            client.send("GET", session_url(client))


def test_recorded_exchanges_carry_no_credentials():
    with client_for() as (client, deployment, _, _):
        exchange = client.send("GET", session_url(client))
        token_answer = client.send("POST", client.config.token_url(client.config.tenant), tenant=None,
                                   data={"grant_type": "client_credentials"},
                                   auth=(client.config.tenant.auth.client_id, client.config.tenant.auth.client_secret.reveal()))
    recorded = repr(exchange.to_dict()) + repr(token_answer.to_dict()) + token_answer.text
    assert token_answer.status == 200 and "[REDACTED]" in token_answer.text
    for secret in client.config.secrets():
        assert secret not in recorded
    assert exchange.request_headers["Authorization"] == "Bearer [REDACTED]"


@pytest.mark.parametrize(("header", "seconds"), [("3", 3.0), (None, None), ("", None), ("soon", None)])
def test_retry_after_forms(header, seconds):
    assert _retry_after(header) == seconds


def test_retry_after_as_an_http_date_is_a_wait_in_seconds():
    assert 0.0 <= _retry_after("Wed, 21 Oct 2015 07:28:00 GMT") <= 1.0  # in the past: no wait


def token_endpoint_answers(status, headers, body):
    return lambda scope: (status, headers, body) if scope["path"] == TOKEN_PATH else None


@pytest.mark.parametrize(("headers", "body", "kind"), [
    ({"Content-Type": "text/html"}, b"<html><body>Sign in</body></html>", "text/html"),
    ({"Content-Type": "application/json"}, b"not json", "application/json"),
    ({"Content-Type": "application/json"}, b'["a list"]', "application/json"),
])
def test_a_token_answer_that_is_not_a_json_object_is_untestable(headers, body, kind):
    with client_for(rule=token_endpoint_answers(200, headers, body)) as (client, _, _, _):
        with pytest.raises(TargetError, match=rf"is broken: HTTP 200 with a body that is not a JSON object \({kind}\)"):
            client.send("GET", session_url(client))


def test_a_token_answer_without_a_token_names_its_status():
    # (a 401 without an RFC 6749 error names token_auth_method instead: tests/live/test_wire.py)
    rule = token_endpoint_answers(200, {"Content-Type": "application/json"}, b'{"token": "not-an-access-token"}')
    with client_for(rule=rule) as (client, _, _, _):
        with pytest.raises(TargetError, match="is broken: HTTP 200 without an access_token"):
            client.send("GET", session_url(client))


def test_a_redirecting_token_endpoint_is_untestable_and_the_credentials_do_not_follow_the_redirect():
    rule = token_endpoint_answers(302, {"Location": "/elsewhere/login"}, b"")
    with client_for(rule=rule) as (client, _, log, _):
        with pytest.raises(TargetError, match="answered 302, a redirect to /elsewhere/login .not followed"):
            client.send("GET", session_url(client))
    assert not [line for line in log if "/elsewhere" in line]


@pytest.mark.e2e
def test_a_server_slower_than_timeout_s_is_untestable_in_bounded_time():
    def slow(scope):
        return (200, {"Content-Type": "application/json"}, b"{}", 1.0) if scope["path"] != TOKEN_PATH else None

    with client_for(rule=slow, timeout_s=0.2) as (client, _, _, _):
        with pytest.raises(TargetError, match="hems-sessions/.*: timed out"):
            client.send("GET", session_url(client))


@pytest.mark.parametrize(("answer", "cause"), [(b"", "the server closed the connection without an answer"),
                                             (b"SSH-2.0-OpenSSH_9.6\r\n", "the answer is not HTTP .is the port right")])
def test_a_server_that_hangs_up_or_is_no_http_server_is_untestable_with_that_cause(answer, cause):
    with hanging_up(answer) as url, client_for() as (client, _, _, _):
        client.config = replace(client.config, base_url=url)
        with pytest.raises(TargetError, match=cause):
            client.send("GET", session_url(client), tenant=None)


def test_a_reset_is_retried_with_growing_waits_and_then_no_answer():
    with hanging_up() as url, client_for(max_retries=2) as (client, _, _, waits):
        client.config = replace(client.config, base_url=url)
        with pytest.raises(NoAnswer, match=r"closed the connection without an answer \(3 attempts\)") as raised:
            client.send("GET", session_url(client), tenant=None)
    assert raised.value.method == "GET" and raised.value.headers["X-Request-ID"]
    assert len(waits) == 2 and 0.25 <= waits[0] <= 0.5 and 0.5 <= waits[1] <= 1.0  # 0.5 s doubled, jittered
    assert client.trouble()["absorbed"] == {"reset": 2, "429": 0, "502": 0, "503": 0, "504": 0}


@pytest.mark.parametrize("status", [502, 503, 504])
def test_passing_gateway_trouble_is_retried_and_judged_on_the_final_answer(status):
    answered = []

    def once(scope):
        if scope["path"] != TOKEN_PATH and not answered:
            answered.append(status)
            return status, {"Content-Type": "text/html", "Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, b"<html/>"
        return None

    with client_for(rule=once) as (client, _, _, waits):
        exchange = client.send("GET", session_url(client))
    assert exchange.status == 200 and waits == [0.0]  # an HTTP-date in the past: no wait
    assert client.trouble()["absorbed"][str(status)] == 1


def test_trouble_that_persists_on_one_request_is_its_answer():
    with client_for(rule=lambda scope: (502, {}, b"bad gateway") if scope["path"] != TOKEN_PATH else None,
                    max_retries=1) as (client, _, _, waits):
        exchange = client.send("GET", session_url(client))
    assert exchange.status == 502 and len(waits) == 1


@pytest.mark.parametrize(("value", "seconds"), [(30, 30.0), (2.5, 2.5), ("30", 30.0), ("soon", None), (0, None),
                                                (-5, None), (True, None), (None, None), ("inf", None)])
def test_token_lifetimes_are_seconds_when_usable(value, seconds):
    assert _seconds(value) == seconds


def test_a_token_endpoint_echoing_the_authorization_header_leaks_no_client_secret():
    def echo(scope):
        if scope["path"] != TOKEN_PATH:
            return None
        # the header without its scheme too: as a debug field of an error body might show it
        received = authorization(scope)
        body = json.dumps({"error": "invalid_request", "received": received, "raw": received.partition(" ")[2]})
        return 400, {"Content-Type": "application/json"}, body.encode()

    with client_for(rule=echo) as (client, _, _, _):
        auth = client.config.tenant.auth
        answer = client.send("POST", client.config.token_url(client.config.tenant), tenant=None,
                             data={"grant_type": "client_credentials"}, auth=(auth.client_id, auth.client_secret.reveal()))
    assert answer.status == 400 and answer.body["received"].startswith("Basic ")
    assert answer.text.count("[REDACTED]") == 2, answer.text


def test_a_long_session_of_several_megabytes_is_parsed_for_judging():
    ref = {"session": {"id": 1}, "decisions": [{"time": "2025-06-01T10:00:00Z", "note": "x" * 200}] * 10_000}
    body = json.dumps(ref).encode()
    assert len(body) > 2 * 1024 * 1024

    with client_for(rule=lambda scope: None if scope["path"] == TOKEN_PATH else
                    (200, {"Content-Type": "application/json"}, body)) as (client, _, _, _):
        exchange = client.send("GET", session_url(client))
    assert exchange.body == ref and not exchange.too_large
