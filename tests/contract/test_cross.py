"""The cross-endpoint (XEP) and sibling-contract (SIB) checks as pure functions: each fires on its defect and
stays quiet on legitimate variation; the configuration keys of issue 9; the token request encodings."""

from __future__ import annotations

import base64
import copy
import datetime
import json
import re
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import unquote_plus

import pytest

from conformance.contract import cross
from conformance.contract.spec import load_contract
from conformance.errors import ConfigError
from conformance.live.fuzzing import names_a_route
from conformance.live.target import AuthConfig, Secret, config_from_mapping
from conformance.live.token_request import authlib_method, credentials, encoded, mismatch
from conformance.reference.dataset import build_fleet
from conformance.reference.variants import VARIANTS

ROOT = Path(__file__).resolve().parents[2]
FLEET = build_fleet(0)
ENDED = next(s.payload for s in FLEET.sessions if s.payload["session"]["ended_at"] is not None)
ONGOING = next(s.payload for s in FLEET.sessions if s.payload["session"]["ended_at"] is None)
FIELDS = cross.item_fields(load_contract())


def ids(findings) -> list[str]:
    return [f.pointer for f in findings]


# --- XEP-001 ---


def test_xep_001_fires_when_a_list_item_differs_from_the_detail():
    item = dict(ENDED["session"], commands_sent=ENDED["session"]["commands_sent"] + 1)
    assert ids(cross.item_matches_detail(item, ENDED, FIELDS)) == ["/session/commands_sent"]
    assert ids(cross.item_matches_detail({k: v for k, v in item.items() if k != "outcome"}, ENDED, FIELDS)) == [
        "/session/outcome", "/session/commands_sent"]


@pytest.mark.parametrize("variant", ["offset-timestamps", "float-numbers", "extra-properties"])
def test_xep_001_is_quiet_on_another_spelling_of_the_same_session(variant):
    spelled = VARIANTS[variant].transform(ENDED)
    assert list(cross.item_matches_detail(spelled["session"], ENDED, FIELDS)) == []
    assert list(cross.item_matches_detail(ENDED["session"], spelled, FIELDS)) == []


def test_xep_001_leaves_ongoing_sessions_alone():
    moved = dict(ONGOING["session"], commands_sent=ONGOING["session"]["commands_sent"] + 1)
    assert list(cross.item_matches_detail(moved, ONGOING, FIELDS)) == []


# --- XEP-002 ---


def _pages(*pages: list[int], total: int | None = None) -> list[dict]:
    count = total if total is not None else sum(map(len, pages))
    return [{"total": count, "items": [{"id": i} for i in page]} for page in pages]


def test_xep_002_fires_on_a_session_listed_twice_and_on_a_total_the_pages_do_not_hold():
    assert ids(cross.paging_consistent(_pages([1, 2], [2, 3]), complete=True, settled=True)) == ["/items/0/id", "/total"]
    assert ids(cross.paging_consistent(_pages([1, 2], [3], total=5), complete=True, settled=True)) == ["/total"]
    drifting = _pages([1, 2], [3])
    drifting[1]["total"] = 4
    assert ids(cross.paging_consistent(drifting, complete=True, settled=True)) == ["/total"]


def test_xep_002_is_quiet_on_honest_paging_a_cut_walk_and_a_window_still_filling():
    assert list(cross.paging_consistent(_pages([1, 2], [3]), complete=True, settled=True)) == []
    assert list(cross.paging_consistent(_pages([1, 2], total=9), complete=False, settled=True)) == []
    growing = _pages([1, 2], [3])
    growing[1]["total"] = 4  # a session started between the two requests: the window reaches today
    assert list(cross.paging_consistent(growing, complete=True, settled=False)) == []


def test_xep_002_fires_on_a_page_longer_than_its_limit_and_on_a_total_that_is_the_page_length():
    assert ids(cross.paging_consistent(_pages([1, 2, 3]), complete=True, settled=True, limit=2)) == ["/items"]
    page_length = [{"total": 2, "items": [{"id": 1}, {"id": 2}]}, {"total": 1, "items": [{"id": 3}]}]
    assert ids(cross.paging_consistent(page_length, complete=True, settled=True, limit=2)) == ["/total"]


# --- SIB-003, XEP-004, SIB-004: the list route as Podero documents it ---

DAY = datetime.date(2026, 6, 14)


def _item(session_id: int, started_at: str) -> dict:
    return {"id": session_id, "started_at": started_at}


def test_sib_003_fires_on_a_session_started_before_from_or_on_the_day_after_to():
    page = {"total": 3, "items": [_item(1, "2026-06-13T23:59:59Z"), _item(2, "2026-06-14T12:00:00Z"),
                                  _item(3, "2026-06-16T00:00:00Z")]}
    assert ids(cross.listed_in_window(page, DAY, DAY + datetime.timedelta(days=1))) == [
        "/items/0/started_at", "/items/2/started_at"]


def test_sib_003_is_quiet_on_the_window_edges_any_offset_and_an_unreadable_start():
    page = {"total": 4, "items": [_item(1, "2026-06-14T00:00:00Z"), _item(2, "2026-06-15T23:59:59.999Z"),
                                  _item(3, "2026-06-16T01:30:00+02:00"), _item(4, "not a date")]}
    assert list(cross.listed_in_window(page, DAY, DAY + datetime.timedelta(days=1))) == []


def test_xep_004_fires_on_a_to_read_as_exclusive_and_on_a_running_session_left_out():
    whole = [_item(1, "2026-06-14T09:00:00Z"), _item(2, "2026-06-15T09:00:00Z")]
    last = DAY + datetime.timedelta(days=1)
    exclusive = {DAY: [], last: []}  # from = to = day lists nothing when to is exclusive
    assert len(list(cross.windows_agree(whole, exclusive, DAY, last, settled=True))) == 2
    running = _item(3, "2026-06-15T10:00:00Z")
    found = list(cross.windows_agree(whole, {DAY: whole[:1]}, DAY, last, settled=True, running=running))
    assert [f.message.split(" (")[0] for f in found] == ["the running session 3"]
    extra = {DAY: [*whole[:1], _item(9, "2026-06-14T20:00:00Z")]}
    assert "session 9 is listed for the one-day window" in next(cross.windows_agree(whole, extra, DAY, last,
                                                                                   settled=True)).message


def test_xep_004_is_quiet_on_agreeing_windows_and_a_window_still_filling():
    whole = [_item(1, "2026-06-14T09:00:00Z"), _item(2, "2026-06-15T09:00:00+02:00")]
    last = DAY + datetime.timedelta(days=1)
    days = {DAY: whole[:1], last: whole[1:], last + datetime.timedelta(days=1): []}
    assert list(cross.windows_agree(whole, days, DAY, last, settled=True, running=whole[1])) == []
    filling = {DAY: [*whole[:1], _item(9, "2026-06-14T20:00:00Z")]}  # started between the two reads
    assert list(cross.windows_agree(whole, filling, DAY, last, settled=False)) == []
    outside = _item(3, "2026-07-01T10:00:00Z")  # running, but it started after the window
    assert list(cross.windows_agree(whole, {}, DAY, last, settled=True, running=outside)) == []


def test_sib_004_fires_on_an_accepted_or_crashing_out_of_range_query_and_is_quiet_on_any_4xx():
    assert len(list(cross.paging_refused([({"limit": 201}, 200), ({"offset": -1}, 500)]))) == 2
    assert list(cross.paging_refused([({"limit": 201}, 422), ({"offset": -1}, 400)])) == []


# --- XEP-003 ---


def test_xep_003_fires_on_an_ended_current_session_and_on_a_detail_that_disagrees():
    ended = {"session": ENDED}
    assert ids(cross.current_matches_detail(ended, ENDED)) == ["/session/session/ended_at"]
    other = copy.deepcopy(ONGOING)
    other["session"]["started_at"] = "2001-01-01T00:00:00Z"
    assert ids(cross.current_matches_detail({"session": ONGOING}, other)) == ["/session/session/started_at"]


def test_xep_003_is_quiet_when_the_detail_ended_meanwhile_or_spells_instants_otherwise():
    later = copy.deepcopy(ONGOING)
    later["session"]["ended_at"] = "2100-01-01T00:00:00Z"
    assert list(cross.current_matches_detail({"session": ONGOING}, later)) == []
    shifted = VARIANTS["offset-timestamps"].transform(ONGOING)
    assert list(cross.current_matches_detail({"session": ONGOING}, shifted)) == []


# --- SIB ---

SIBLINGS = cross.load_siblings(load_contract())


def test_sib_checks_fire_on_answers_outside_the_sibling_contract():
    assert ids(SIBLINGS.problems("SIB-001", {"total": 1})[0]) == [""]
    assert ids(SIBLINGS.problems("SIB-001", {"total": 1, "items": [ENDED["session"] | {"id": "7"}]})[0]) == ["/items/0/id"]
    assert ids(SIBLINGS.problems("SIB-002", {"session": None})[0]) == ["/session"]


def test_sib_checks_are_quiet_on_what_the_reference_serves_and_its_variants():
    for payload in (ENDED, VARIANTS["float-numbers"].transform(ENDED), VARIANTS["extra-properties"].transform(ENDED)):
        assert SIBLINGS.problems("SIB-001", {"total": 1, "items": [payload["session"]]}) == ([], 0)
    assert SIBLINGS.problems("SIB-002", {"session": ONGOING}) == ([], 0)


def _folded(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("check_id", list(cross.CROSS))
def test_every_cross_quote_is_verbatim_from_the_sibling_contract_or_the_pinned_spec(check_id):
    sources = _folded((ROOT / "spec" / "siblings.yaml").read_text()) + _folded((ROOT / "spec" / "openapi.yaml").read_text())
    for quote in re.split(r"; ", cross.CROSS[check_id].spec):
        assert _folded(quote) in sources, (check_id, quote)


def test_every_cross_entry_is_in_the_generated_docs():
    doc = (ROOT / "docs" / "invariants.md").read_text(encoding="utf-8")
    for entry in cross.CROSS.values():
        assert f"### {entry.id} ({entry.level.value}, basis: {entry.basis})" in doc and f"> {entry.spec}\n" in doc


# --- negative generation and the `current` route ---


def test_a_generated_session_id_that_names_the_current_route_is_never_sent():
    assert names_a_route(SimpleNamespace(path_parameters={"session_id": "current"}))
    assert not names_a_route(SimpleNamespace(path_parameters={"session_id": "current-ish"}))
    assert not names_a_route(SimpleNamespace(path_parameters={"session_id": 7}))


# --- the configuration ---

WALLBOX = {"org_id": "7d4f3c52-0c1e-4f7a-9a43-3f1b5f7a9c01", "user_id": "0b8e1a9d-5c2f-4e61-8d7a-2c9e4f6b1a02",
           "wallbox_id": "c3a1f5e7-9b2d-4c8e-a6f4-1d3b5e7f9a03"}
BASE = {"base_url": "https://x.example", "auth": {"grant": "password", "username": "u", "password": "p4ssword"},
        "wallboxes": [WALLBOX], "discover": {"from": "2026-04-01", "to": "2026-04-30"}}


def test_a_password_grant_needs_no_client_id_and_sends_no_client_credentials():
    config = config_from_mapping(BASE, default_token_url="/t")
    assert config.tenant.auth.client_id == "" and credentials(config.tenant.auth, None) == ({}, None)


@pytest.mark.parametrize("change, message", [
    (lambda d: d["auth"].update(token_body="xml"), "auth.token_body: 'xml' is not one of form, json"),
    (lambda d: d.pop("discover"), "discover: [[wallboxes]] need a [discover] table"),
    (lambda d: d.pop("wallboxes"), "sessions: expected at least one [[sessions]] or [[wallboxes]]"),
    (lambda d: d["discover"].update(to="2026-03-01"), "discover.to: 2026-03-01 is before discover.from"),
    (lambda d: d["discover"].update({"from": "April"}), "discover.from: expected a day YYYY-MM-DD"),
    (lambda d: d["discover"].update(max_sessions=0), "discover.max_sessions: expected a positive integer"),
    (lambda d: d["discover"].update(colour="red"), "discover.colour: unknown key"),
    (lambda d: d["wallboxes"][0].update(session_id=1), "wallboxes[0].session_id: unknown key"),
    (lambda d: d.update(tenant_b={"auth": {"grant": "none"}}), "tenant_b.sessions: expected at least one"),
])
def test_discovery_and_encoding_mistakes_name_the_key(change, message):
    document = copy.deepcopy(BASE)
    change(document)
    with pytest.raises(ConfigError, match=re.escape(message)):
        config_from_mapping(document, default_token_url="/t")


def test_discover_without_wallboxes_is_refused():
    document = copy.deepcopy(BASE) | {"sessions": [WALLBOX | {"session_id": 1}]}
    del document["wallboxes"]
    with pytest.raises(ConfigError, match=re.escape("discover: no [[wallboxes]]")):
        config_from_mapping(document, default_token_url="/t")


# --- the token request encodings ---


def _auth(**kw) -> AuthConfig:
    return AuthConfig(**({"grant": "client_credentials", "client_id": "c", "client_secret": Secret("s")} | kw))


@pytest.mark.parametrize("method, body, fields, basic", [
    ("basic", "json", {}, ("c", "s")),
    ("form", "json", {"client_id": "c", "client_secret": "s"}, None),
    ("basic", "form", {}, ("c", "s")),
])
def test_client_credentials_go_where_token_auth_method_says_in_either_encoding(method, body, fields, basic):
    auth = _auth(token_auth_method=method, token_body=body)
    assert credentials(auth, "s") == (fields, basic)
    assert encoded(auth, {"grant_type": "x"}) == ({"json": {"grant_type": "x"}} if body == "json" else
                                                  {"data": "grant_type=x",
                                                   "headers": {"Content-Type": "application/x-www-form-urlencoded"}})


def test_the_authlib_method_writes_one_json_object_with_basic_auth():
    auth = _auth(token_body="json")
    client = SimpleNamespace(client_id="c", client_secret="s")
    _, headers, body = authlib_method(auth)(client, "POST", "https://t", {"Content-Length": "1"},
                                            "grant_type=client_credentials&scope=read")
    assert json.loads(body) == {"grant_type": "client_credentials", "scope": "read"}
    assert headers["Content-Type"] == "application/json" and headers["Authorization"].startswith("Basic ")
    assert headers["Content-Length"] == str(len(body))


@pytest.mark.parametrize("status, body, kind", [(400, {"error": "unsupported_grant_type"}, "application/json"),
                                                (400, {"error": "invalid_request"}, "application/json"),
                                                (400, {"detail": "Cannot parse request body"}, "application/json"),
                                                (415, {"detail": "x"}, "application/json"),
                                                (422, {"detail": [{"type": "missing"}]}, "application/json"),
                                                (415, None, "text/html"), (400, None, "text/plain")])
def test_a_refusal_of_the_encoding_names_token_body(status, body, kind):
    """Flask's HTML 415, a plain-text 400 and FastAPI's 422 {"detail"} name the encoding, as RFC 6749's codes do."""
    error = mismatch("auth", "https://t", _auth(), status, body, kind)
    assert error is not None and 'set token_body = "json" in [auth]' in str(error) and "\n" not in str(error)


@pytest.mark.parametrize("status, body", [(401, {"error": "invalid_client"}), (400, {"error": "invalid_grant"}),
                                          (400, {"error": "invalid_scope"}), (500, {}), (502, None)])
def test_other_refusals_are_not_blamed_on_the_encoding(status, body):
    assert mismatch("auth", "https://t", _auth(), status, body, "application/json") is None


@pytest.mark.parametrize("secret", ["plain-Secret_9", "a+b/c=", "50% off", "colon:inside", "ünïcode"])
def test_basic_client_credentials_are_form_urlencoded_first_and_decode_to_themselves(secret):
    """RFC 6749 §2.3.1: id and secret are form-urlencoded, then Base64. A server that decodes them (as the RFC
    says, and as unquote_plus does) gets back exactly what was configured; authlib's own encoder skips this."""
    client = SimpleNamespace(client_id="my client+1", client_secret=secret)
    _, headers, _ = authlib_method(_auth(client_id="my client+1"))(client, "POST", "https://t", {},
                                                                   "grant_type=client_credentials")
    user, _, password = base64.b64decode(headers["Authorization"].removeprefix("Basic ")).decode().partition(":")
    assert (unquote_plus(user), unquote_plus(password)) == ("my client+1", secret)
    assert "+" not in password and " " not in password
