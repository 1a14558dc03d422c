"""How a token request is written: the grant's fields (RFC 6749 §4.3.2 / §4.4.2) as a form or as one JSON
object (`[auth] token_body`), the client authenticated by HTTP Basic, in the body, or not at all (a public
client's password grant, RFC 6749 §2.3). The token source and the TOK-* probes both write requests here, so
what the suite judges is what it authenticates with.

A token endpoint that reads only the other encoding sees no grant at all (JSON backends read a form body as
empty; form parsers read a JSON body as empty): its refusal is a configuration mismatch, named here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

from authlib.common.urls import url_decode

from conformance.errors import ConfigError
from conformance.live.target import TOKEN_AUTH_METHODS, TOKEN_BODIES, AuthConfig
from conformance.report.redaction import basic_credential

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
# How an endpoint refuses a body it cannot read: no grant_type found, or the framework's parse error (no RFC code).
_MISMATCH_STATUSES = (400, 415, 422)
_MISMATCH_ERRORS = ("invalid_request", "unsupported_grant_type")

AuthMethod = Callable[[Any, str, str, dict[str, str], str], tuple[str, dict[str, str], str]]


def credentials(auth: AuthConfig, secret: str | None) -> tuple[dict[str, str], tuple[str, str] | None]:
    """The client's credentials as body fields, or as an HTTP Basic pair; none for a client without client_id.
    A client_id without a secret is a public client: its id goes in the body (RFC 6749 §3.2.1)."""
    if not auth.client_id:
        return {}, None
    if secret is None:
        return {"client_id": auth.client_id}, None
    if auth.token_auth_method == "basic":
        return {}, (auth.client_id, secret)
    return {"client_id": auth.client_id, "client_secret": secret}, None


def encoded(auth: AuthConfig, fields: dict[str, str]) -> dict[str, Any]:
    """The `requests` keywords that send `fields` in the configured encoding, with its Content-Type even when there
    are none (a probe without grant_type and with HTTP Basic: requests would send no Content-Type for an empty form,
    and the endpoint would refuse the media type, not the missing grant)."""
    if auth.token_body == "json":
        return {"json": fields}
    return {"data": urlencode(fields), "headers": {"Content-Type": FORM}}


def authlib_method(auth: AuthConfig) -> AuthMethod:
    """An authlib client authentication method that writes the whole token request: client credentials as
    `credentials` says, then the body in the configured encoding."""

    def write(client: Any, method: str, uri: str, headers: dict[str, str], body: str) -> tuple[str, dict[str, str], str]:
        fields, basic = credentials(auth, client.client_secret)
        sent = dict(url_decode(body or "")) | fields
        if basic is not None:  # not authlib's encode_client_secret_basic, which skips the form-urlencoding
            headers["Authorization"] = f"Basic {basic_credential(*basic)}"
        if auth.token_body == "json":
            body, headers["Content-Type"] = json.dumps(sent), JSON
        else:
            body = urlencode(sent)
        headers["Content-Length"] = str(len(body.encode()))
        return uri, headers, body

    return write


def mismatch(where: str, url: str, auth: AuthConfig, status: int, body: Any, kind: str) -> ConfigError | None:
    """The refusal of a well-formed token request the way an endpoint reading the other encoding, or another client
    authentication, refuses it, as the one-line error naming the key to set; None for any other answer.

    `body` is the parsed answer (None when it is not JSON: a framework's HTML or plain-text error page), `kind` its
    Content-Type. A 400/415/422 without an RFC 6749 error code, or with one saying the grant was not found, is the
    token_body mismatch (Flask's HTML 415, FastAPI's 422 {"detail": ...}, a JSON backend reading a form as empty);
    a 401 without an RFC 6749 error code after the client authenticated is the token_auth_method mismatch."""
    error = body.get("error") if isinstance(body, dict) else None
    rfc = isinstance(error, str) and bool(error)
    said = f"{status} {error}" if rfc else f"{status} without an RFC 6749 error code ({kind})"
    if status == 401 and not rfc and auth.client_id and auth.client_secret is not None:
        other = next(m for m in TOKEN_AUTH_METHODS if m != auth.token_auth_method)
        how = {"basic": "HTTP Basic", "form": "client_id and client_secret in the body"}
        return ConfigError(f"{where}.token_auth_method: token endpoint {url} refused the client authenticated by "
                           f"{how[auth.token_auth_method]} with {said}, as an endpoint that reads "
                           f"{how[other]} does: set token_auth_method = \"{other}\" in [{where}] (or check client_id "
                           "and client_secret)")
    if status not in _MISMATCH_STATUSES or (rfc and error not in _MISMATCH_ERRORS):
        return None
    other = next(b for b in TOKEN_BODIES if b != auth.token_body)
    return ConfigError(f"{where}.token_body: token endpoint {url} refused the {auth.token_body}-encoded token request "
                       f"with {said}, as an endpoint that reads only {other} bodies does: set token_body = "
                       f"\"{other}\" in [{where}] (or check grant and token_url)")


def redirect_hint(url: str, location: str | None) -> str:
    """What to check when the token endpoint redirects (never followed: the credentials would go along): a redirect
    to the same path with a slash appended is Django's APPEND_SLASH, and the slashed URL is the token endpoint."""
    given = urlsplit(url)
    if location and urlsplit(urljoin(url, location)).path == given.path + "/":
        slashed = urlunsplit(given._replace(path=given.path + "/"))
        return f"not followed: the slashed path is the endpoint (Django's APPEND_SLASH), set token_url to {slashed} " \
               "or the URL as your provider writes it"
    return "not followed: is token_url right?"
