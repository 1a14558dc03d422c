"""The target configuration: which deployment to judge, how to authenticate, which sessions it serves.

Read from TOML (see `examples/conformance.toml`). Every error names the key; secrets are wrapped in
`Secret` so they never print, not even in a traceback.
"""

from __future__ import annotations

import datetime
import math
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from conformance.contract.settings import Settings, read_toml, settings_from_mapping
from conformance.errors import ConfigError
from conformance.live.live_cases import known_check_ids
from conformance.report.redaction import MIN_SECRET, basic_credentials

GRANTS = ("client_credentials", "password", "bearer", "none")
AUTH_TABLES = {"a": "auth", "b": "tenant_b.auth"}  # where each tenant's credentials are configured
TOKEN_AUTH_METHODS = ("basic", "form")
MAX_SECRET = 64 * 1024  # of a configured string: no credential is that long
DEFAULT_BODY_LIMIT = 32 * 1024 * 1024  # max_body_mib's default: long decision timelines are MBs
TOKEN_BODIES = ("form", "json")  # RFC 6749 §4.3.2 / §4.4.2 form encoding, or one JSON object (Podero's /oauth2/token/)
DEFAULT_MAX_SESSIONS = 500


class Secret:
    """A credential that prints as `***`; `.reveal()` is the only way to the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class SessionRef:
    """The coordinates of one session the deployment serves to a tenant."""

    org_id: str
    user_id: str
    wallbox_id: str
    session_id: int

    @property
    def path_parameters(self) -> dict[str, Any]:
        return {"org_id": self.org_id, "user_id": self.user_id, "wallbox_id": self.wallbox_id,
                "session_id": self.session_id}

    def label(self) -> str:
        return f"session {self.session_id} (org {self.org_id[:8]}…, wallbox {self.wallbox_id[:8]}…)"


@dataclass(frozen=True)
class WallboxRef:
    """A wallbox whose sessions the run discovers through the list route (`[[wallboxes]]`)."""

    org_id: str
    user_id: str
    wallbox_id: str

    @property
    def path_parameters(self) -> dict[str, str]:
        return {"org_id": self.org_id, "user_id": self.user_id, "wallbox_id": self.wallbox_id}

    def session(self, session_id: int) -> SessionRef:
        return SessionRef(self.org_id, self.user_id, self.wallbox_id, session_id)


@dataclass(frozen=True)
class Discovery:
    """`[discover]`: the inclusive UTC days the list route is asked for, and how many sessions a tenant may add."""

    from_day: datetime.date
    to_day: datetime.date
    max_sessions: int = DEFAULT_MAX_SESSIONS


@dataclass(frozen=True)
class AuthConfig:
    grant: str
    token_url: str = ""
    client_id: str = ""
    client_secret: Secret | None = None
    username: str = ""
    password: Secret | None = None
    token: Secret | None = None
    token_auth_method: str = "basic"
    scope: str = ""
    token_body: str = "form"
    max_token_wait_s: float = 10.0  # AUTH-005 waits for a token to expire only if it lives at most this long

    def secrets(self) -> list[str]:
        found = [s.reveal() for s in (self.client_secret, self.password, self.token) if s is not None]
        if self.client_secret is not None:  # the Authorization header the token request carries
            found += basic_credentials(self.client_id, self.client_secret.reveal())
        return found


@dataclass(frozen=True)
class TenantConfig:
    """One tenant of the target as `target.toml` configures it: its credentials, sessions and wallboxes."""

    auth: AuthConfig
    sessions: tuple[SessionRef, ...]
    wallboxes: tuple[WallboxRef, ...] = ()


@dataclass(frozen=True)
class TargetConfig:
    base_url: str
    tenant: TenantConfig
    tenant_b: TenantConfig | None = None
    settings: Settings = field(default_factory=Settings)
    timeout_s: float = 10.0
    verify_tls: bool | str = True
    max_retries: int = 3
    max_retry_wait_s: float = 30.0
    max_retry_total_s: float = 300.0
    max_rps: float | None = None  # at most this many requests started per second (a published rate limit)
    max_run_s: float | None = None  # None: the profile's default (RUN_BUDGETS_S)
    max_body_bytes: int = DEFAULT_BODY_LIMIT  # max_body_mib: bodies are read up to this, then no further
    source: str = "<built-in>"
    discover: Discovery | None = None

    def url(self, path: str) -> str:
        """`path` (the session path, a sibling route, a relative token URL) under base_url: see `joined`."""
        return joined(self.base_url, path)

    def token_url(self, tenant: TenantConfig) -> str:
        """The tenant's token URL: absolute exactly as given, or under base_url like the endpoint's path (its own
        trailing slash kept: `/oauth2/token/` is not `/oauth2/token` to a Django router)."""
        url = tenant.auth.token_url
        return url if urlsplit(url).scheme else self.url(url)

    def tenants(self) -> list[tuple[str, TenantConfig]]:
        """("a", tenant) and, when configured, ("b", tenant_b)."""
        return [("a", self.tenant)] + ([("b", self.tenant_b)] if self.tenant_b else [])

    def secrets(self) -> list[str]:
        """Every credential value, for redaction of everything the run writes."""
        found = list(self.tenant.auth.secrets())
        if self.tenant_b:
            found += self.tenant_b.auth.secrets()
        return [s for s in found if s]

    def with_base_url(self, base_url: str) -> TargetConfig:
        return replace(self, base_url=_check_url(base_url, "--base-url"))


def joined(base_url: str, path: str) -> str:
    """`path` appended to base_url's path with exactly one slash between them, whether base_url ends with one or
    `path` starts with one; everything else of base_url is kept as written (percent-encoding, a gateway's query
    such as `?code=...`), and `path`'s own query (if any) follows base_url's."""
    base = urlsplit(base_url)
    path_part, _, query = path.partition("?")
    query = "&".join(q for q in (base.query, query) if q)
    return urlunsplit(base._replace(path=base.path.rstrip("/") + "/" + path_part.lstrip("/"), query=query,
                                    fragment=""))


# --- parsing ---

_TOP_KEYS = {"base_url", "auth", "sessions", "tenant_b", "judge", "timeout_s", "verify_tls", "ca_bundle",
             "max_retries", "max_retry_wait_s", "max_retry_total_s", "max_rps", "max_run_s", "max_body_mib", "wallboxes",
             "discover"}
_AUTH_KEYS = {"grant", "token_url", "client_id", "client_secret", "client_secret_env", "username", "password",
              "password_env", "token", "token_env", "token_auth_method", "scope", "token_body", "max_token_wait_s"}
_WALLBOX_KEYS = {"org_id", "user_id", "wallbox_id"}
_SESSION_KEYS = _WALLBOX_KEYS | {"session_id"}
_DISCOVER_KEYS = {"from", "to", "max_sessions"}


def _check_url(value: Any, key: str) -> str:
    if not isinstance(value, str) or urlsplit(_no_userinfo(value, key)).scheme not in ("http", "https") \
            or not urlsplit(value).hostname:
        raise ConfigError(f"{key}: expected an http(s) URL, got {value!r}")
    try:
        urlsplit(value).port  # noqa: B018 (raises for a port that is not a number from 0 to 65535)
    except ValueError as exc:
        raise ConfigError(f"{key}: {exc} in {value!r}") from None
    if urlsplit(value).fragment:  # never sent: a request target has no fragment (RFC 9110 §7.1)
        raise ConfigError(f"{key}: a URL with a #fragment cannot be requested, got {value!r}")
    return value  # as written, byte for byte: a trailing slash or a percent-encoding can be what a router matches


def _token_url(value: str, key: str) -> str:
    """An absolute http(s) URL, or a path relative to base_url (nothing else: no file:, no //host)."""
    parts = urlsplit(_no_userinfo(value, key))
    if parts.scheme or parts.netloc:
        return _check_url(value, key)
    return value


def _no_userinfo(url: str, key: str) -> str:
    if "@" in urlsplit(url).netloc:  # requests would send it as Basic auth on every probe, and reports print URLs
        raise ConfigError(f"{key}: credentials in the URL are not supported (put them in [auth])")
    return url


def _unknown(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    for key in table:
        if key not in allowed:
            raise ConfigError(f"{where}{key}: unknown key (known: {', '.join(sorted(allowed))})")


def _string(table: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    if key not in table:
        if default is None:
            raise ConfigError(f"{where}{key}: missing")
        return default
    value = table[key]
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}{key}: expected a non-empty string")
    if len(value) > MAX_SECRET:
        raise ConfigError(f"{where}{key}: longer than {MAX_SECRET // 1024} KiB")
    return value


def _secret(table: Mapping[str, Any], key: str, where: str, required: bool) -> Secret | None:
    """`key = "literal"` or `key_env = "VARIABLE"`; never both. A value too short to be masked without masking
    ordinary text (see redaction.MIN_SECRET) is refused: the reports could not be kept free of it."""
    env_key = f"{key}_env"
    if key in table and env_key in table:
        raise ConfigError(f"{where}{key}: give either {key} or {env_key}, not both")
    if env_key in table:
        variable = _string(table, env_key, where)
        value = os.environ.get(variable)
        if not value:
            raise ConfigError(f"{where}{env_key}: environment variable {variable} is not set")
        if len(value) > MAX_SECRET:
            raise ConfigError(f"{where}{env_key}: environment variable {variable} is longer than {MAX_SECRET // 1024} KiB")
        named = f"{where}{env_key}: environment variable {variable}"
    elif key in table:
        value, named = _string(table, key, where), f"{where}{key}"
    elif required:
        raise ConfigError(f"{where}{key}: missing (or {env_key})")
    else:
        return None
    if len(value) < MIN_SECRET:
        raise ConfigError(f"{named} holds fewer than {MIN_SECRET} characters: too short to mask in output and reports "
                          "without masking ordinary words, so it is not used")
    return Secret(value)


def _auth(table: Any, where: str, default_token_url: str) -> AuthConfig:
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where.rstrip('.')}: expected a table")
    _unknown(table, _AUTH_KEYS, where)
    grant = _string(table, "grant", where)
    if grant not in GRANTS:
        raise ConfigError(f"{where}grant: {grant!r} is not one of {', '.join(GRANTS)}")
    method = _string(table, "token_auth_method", where, "basic")
    if method not in TOKEN_AUTH_METHODS:
        raise ConfigError(f"{where}token_auth_method: {method!r} is not one of {', '.join(TOKEN_AUTH_METHODS)}")
    body = _string(table, "token_body", where, "form")
    if body not in TOKEN_BODIES:
        raise ConfigError(f"{where}token_body: {body!r} is not one of {', '.join(TOKEN_BODIES)}")
    return AuthConfig(
        grant=grant,
        token_url=_token_url(_string(table, "token_url", where, default_token_url), f"{where}token_url"),
        # the password grant may come from a public client: no client_id, no client authentication (RFC 6749 §2.3)
        client_id=_string(table, "client_id", where, None if grant == "client_credentials" else ""),
        client_secret=_secret(table, "client_secret", where, required=grant == "client_credentials"),
        username=_string(table, "username", where) if grant == "password" else "",
        password=_secret(table, "password", where, required=grant == "password"),
        token=_secret(table, "token", where, required=grant == "bearer"),
        token_auth_method=method,
        scope=table.get("scope", ""),
        token_body=body,
        max_token_wait_s=_number(table, "max_token_wait_s", 10.0, where=where),
    )


def _entries(value: Any, where: str, keys: set[str]) -> list[tuple[str, Mapping[str, Any], WallboxRef]]:
    """Each `[[where]]` table with its place and its wallbox coordinates (three UUIDs)."""
    if not isinstance(value, list):
        raise ConfigError(f"{where}: expected [[{where}]] entries")
    found = []
    for n, entry in enumerate(value):
        at = f"{where}[{n}]."
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{at.rstrip('.')}: expected a table")
        _unknown(entry, keys, at)
        ids = {}
        for key in ("org_id", "user_id", "wallbox_id"):
            text = _string(entry, key, at)
            try:
                uuid.UUID(text)
            except ValueError:
                raise ConfigError(f"{at}{key}: {text!r} is not a UUID") from None
            ids[key] = text
        found.append((at, entry, WallboxRef(**ids)))
    return found


def _sessions(value: Any, where: str) -> tuple[SessionRef, ...]:
    refs = []
    for at, entry, wallbox in _entries(value, where, _SESSION_KEYS):
        session_id = entry.get("session_id")
        if isinstance(session_id, bool) or not isinstance(session_id, int):
            raise ConfigError(f"{at}session_id: {'missing' if session_id is None else 'expected an integer'}")
        refs.append(wallbox.session(session_id))
    return tuple(refs)


def _tenant(table: Mapping[str, Any], prefix: str, default_token_url: str) -> TenantConfig:
    """A tenant's auth, its `[[sessions]]` and its `[[wallboxes]]` (discovered); at least one of the two lists."""
    auth = _auth(table.get("auth"), prefix + "auth.", default_token_url)
    sessions = _sessions(table["sessions"], prefix + "sessions") if "sessions" in table else ()
    wallboxes = tuple(ref for _, _, ref in _entries(table.get("wallboxes", []), prefix + "wallboxes", _WALLBOX_KEYS))
    if not sessions and not wallboxes:
        raise ConfigError(f"{prefix}sessions: expected at least one [[{prefix}sessions]] or [[{prefix}wallboxes]] entry")
    return TenantConfig(auth, sessions, wallboxes)


def _day(table: Mapping[str, Any], key: str) -> datetime.date:
    """A TOML date or a "YYYY-MM-DD" string."""
    value = table.get(key)
    if isinstance(value, str):
        try:
            value = datetime.date.fromisoformat(value)
        except ValueError:
            pass
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value
    raise ConfigError(f"discover.{key}: {'missing' if value is None else 'expected a day YYYY-MM-DD'}")


def _discovery(document: Mapping[str, Any], tenants: list[TenantConfig]) -> Discovery | None:
    wanted = any(tenant.wallboxes for tenant in tenants)
    if "discover" not in document:
        if wanted:
            raise ConfigError("discover: [[wallboxes]] need a [discover] table with from and to")
        return None
    table = document["discover"]
    if not isinstance(table, Mapping):
        raise ConfigError("discover: expected a table")
    _unknown(table, _DISCOVER_KEYS, "discover.")
    if not wanted:
        raise ConfigError("discover: no [[wallboxes]] to discover sessions of")
    first, last = _day(table, "from"), _day(table, "to")
    if last < first:
        raise ConfigError(f"discover.to: {last} is before discover.from {first}")
    most = table.get("max_sessions", DEFAULT_MAX_SESSIONS)
    if isinstance(most, bool) or not isinstance(most, int) or most < 1:
        raise ConfigError("discover.max_sessions: expected a positive integer")
    return Discovery(first, last, most)


BUNDLED_SOURCE = "the bundled reference deployment"  # the source of `run`'s target without --config


def config_from_mapping(document: Mapping[str, Any], *, default_token_url: str, source: str = "<mapping>") -> TargetConfig:
    _unknown(document, _TOP_KEYS, "")
    tenant = _tenant(document, "", default_token_url)
    tenant_b = None
    if "tenant_b" in document:
        table = document["tenant_b"]
        if not isinstance(table, Mapping):
            raise ConfigError("tenant_b: expected a table")
        _unknown(table, {"auth", "sessions", "wallboxes"}, "tenant_b.")
        tenant_b = _tenant(table, "tenant_b.", default_token_url)
    discover = _discovery(document, [tenant] + ([tenant_b] if tenant_b else []))
    verify: bool | str = document.get("verify_tls", True)
    if not isinstance(verify, bool):
        raise ConfigError("verify_tls: expected true or false")
    if "ca_bundle" in document:
        bundle = _string(document, "ca_bundle", "")
        if not Path(bundle).is_file():
            raise ConfigError(f"ca_bundle: {bundle} is not a file")
        verify = bundle
    judge = document.get("judge", {})
    if not isinstance(judge, Mapping):
        raise ConfigError("judge: expected a table")
    return TargetConfig(
        base_url=_check_url(_string(document, "base_url", ""), "base_url"),
        tenant=tenant,
        tenant_b=tenant_b,
        settings=settings_from_mapping(judge, known_ids=known_check_ids()),
        timeout_s=_number(document, "timeout_s", 10.0, positive=True),
        verify_tls=verify,
        max_retries=int(_number(document, "max_retries", 3, integer=True)),
        max_retry_wait_s=_number(document, "max_retry_wait_s", 30.0),
        max_retry_total_s=_number(document, "max_retry_total_s", 300.0),
        max_rps=_number(document, "max_rps", None, positive=True),
        max_run_s=_number(document, "max_run_s", None, positive=True),
        max_body_bytes=int(_number(document, "max_body_mib", DEFAULT_BODY_LIMIT / 2**20, positive=True) * 2**20),
        source=source,
        discover=discover,
    )


def _number(table: Mapping[str, Any], key: str, default: Any, *, positive: bool = False, integer: bool = False,
            where: str = "") -> Any:
    """A finite number (an integer if `integer`), non-negative, or positive if `positive`; absent: `default`."""
    if key not in table:
        return default
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)) or not math.isfinite(value) \
            or value < 0 or (positive and value == 0):
        whole = " (an integer)" if integer else ""
        raise ConfigError(f"{where}{key}: expected a {'positive' if positive else 'non-negative'} number{whole}, got {value!r}")
    return float(value)


def load_target(path: str | Path, *, default_token_url: str) -> TargetConfig:
    """Read a target TOML file; any problem is a ConfigError naming the file and the key."""
    document = read_toml(path)
    try:
        return config_from_mapping(document, default_token_url=default_token_url, source=str(path))
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
