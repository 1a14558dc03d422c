"""The observable clauses of the standards the spec adopts, as units of the traceability matrix.

The spec's OAuth2 security scheme adopts RFC 6749 and RFC 6750; its HTTP adopts RFC 9110 and RFC 9111; an API
of tenants' data answers to the OWASP API Security Top 10 (2023). Each clause below is quoted (`(...)` marks a cut)
with the checks that enforce it at the clause's own level, or a one-line reason why none can: not observable from
outside, or not applicable to this endpoint. `hems-conformance trace` lists them after the spec's units and exits 1
while one has neither, so a clause added here without a check or a reason fails the release gate.

House rules: data only; the check IDs are catalogue invariants or live cases (`tests/contract/test_trace.py` checks them).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Clause:
    standard: str  # "RFC 6749", "OWASP API Security Top 10 2023"
    section: str  # "§5.1", "API1"
    text: str  # the clause, quoted
    checks: tuple[str, ...] = ()
    reason: str | None = None  # why no check can enforce it (not observable, not applicable)

    @property
    def where(self) -> str:
        return f"{self.standard} {self.section}"


_6749, _6750, _9110, _9111, _OWASP = "RFC 6749", "RFC 6750", "RFC 9110", "RFC 9111", "OWASP API Security Top 10 2023"
_CLIENT_SIDE = "binds the client, not the server: the suite sends its requests so"

CLAUSES: tuple[Clause, ...] = (
    Clause(_6749, "§2.3.1", "The authorization server MUST support the HTTP Basic authentication scheme for "
           "authenticating clients that were issued a client password.", ("TOK-001", "TOK-005")),
    Clause(_6749, "§2.3.1", "The client identifier is encoded using the \"application/x-www-form-urlencoded\" "
           "encoding algorithm per Appendix B, and the encoded value is used as the username; the client password is "
           "encoded using the same algorithm and used as the password.", reason=f"{_CLIENT_SIDE} (a server decoding "
           "otherwise refuses the configured secret: exit 2, a configuration problem, never a pass)"),
    Clause(_6749, "§2.3.1", "Including the client credentials in the request-body using the two parameters is NOT "
           "RECOMMENDED and SHOULD be limited to clients unable to directly utilize the HTTP Basic authentication "
           "scheme", reason=f"{_CLIENT_SIDE} as [auth] token_auth_method says"),
    Clause(_6749, "§2.3.1", "The parameters can only be transmitted in the request-body and MUST NOT be included in "
           "the request URI.", ("TOK-006", "TOK-007")),
    Clause(_6749, "§3.2", "The client MUST use the HTTP \"POST\" method when making access token requests.",
           ("TOK-007",)),
    Clause(_6749, "§3.2", "Parameters sent without a value MUST be treated as if they were omitted from the request.",
           ("TOK-009",)),
    Clause(_6749, "§3.2", "The authorization server MUST ignore unrecognized request parameters.", ("TOK-009",)),
    Clause(_6749, "§3.2", "Request and response parameters MUST NOT be included more than once.",
           reason="a member repeated in a JSON token answer is gone once parsed (RFC 8259 §4 leaves it to the "
           "parser); the request side binds the client"),
    Clause(_6749, "§4.3.2", "The authorization server MUST: (...) authenticate the client if client authentication "
           "is included, and validate the resource owner password credentials", ("TOK-002",)),
    Clause(_6749, "§4.3.3", "If the access token request is valid and authorized, the authorization server issues an "
           "access token and optional refresh token as described in Section 5.1.", ("TOK-001", "AUTH-006")),
    Clause(_6749, "§4.4", "The client credentials grant type MUST only be used by confidential clients.",
           reason=f"{_CLIENT_SIDE} with the grant [auth] configures"),
    Clause(_6749, "§4.4.2", "The authorization server MUST authenticate the client.", ("TOK-002", "TOK-005")),
    Clause(_6749, "§4.4.3", "If the access token request is valid and authorized, the authorization server issues an "
           "access token as described in Section 5.1. A refresh token SHOULD NOT be included.", ("TOK-001", "TOK-008")),
    Clause(_6749, "§5.1", "access_token REQUIRED (...) token_type REQUIRED (...) expires_in RECOMMENDED",
           ("TOK-001",)),
    Clause(_6749, "§5.1", "The parameters are included in the entity-body of the HTTP response using the "
           "\"application/json\" media type", ("TOK-001",)),
    Clause(_6749, "§5.1", "The authorization server MUST include the HTTP \"Cache-Control\" response header field "
           "[RFC2616] with a value of \"no-store\" in any response containing tokens, credentials, or other sensitive "
           "information", ("TOK-004",)),
    Clause(_6749, "§5.1", "as well as the \"Pragma\" response header field [RFC2616] with a value of \"no-cache\".",
           reason="Pragma is deprecated (RFC 9111 §5.4) and obeyed only by HTTP/1.0 caches; every HTTP/1.1 cache obeys "
           "the no-store TOK-004 requires"),
    Clause(_6749, "§5.1", "The client MUST ignore unrecognized value names in the response.",
           reason=f"{_CLIENT_SIDE}: TOK-001 reads only what it judges"),
    Clause(_6749, "§5.2", "The authorization server responds with an HTTP 400 (Bad Request) status code (unless "
           "specified otherwise) and includes the following parameters with the response: error REQUIRED",
           ("TOK-002", "TOK-003")),
    Clause(_6749, "§5.2", "If the client attempted to authenticate via the \"Authorization\" request header field, the "
           "authorization server MUST respond with an HTTP 401 (Unauthorized) status code and include the "
           "\"WWW-Authenticate\" response header field matching the authentication scheme used by the client.",
           ("TOK-005", "TOK-011")),
    Clause(_6749, "§10.3", "Access token credentials (as well as any confidential access token attributes) MUST be "
           "kept confidential in transit and storage, and only shared among the authorization server, the resource "
           "servers the access token is valid for, and the client to whom the access token is issued.", ("OBJ-006",)),
    Clause(_6749, "§10.3", "Access token credentials MUST only be transmitted using TLS as described in Section 1.6 "
           "with server authentication as defined by [RFC2818].",
           reason="the transport is the deployment's base_url: the suite verifies certificates (verify_tls) and is "
           "tested on loopback over plain HTTP"),
    Clause(_6749, "§10.4", "Refresh tokens MUST be kept confidential in transit and storage, and shared only among the "
           "authorization server and the client to whom the refresh tokens were issued.", ("AUTH-006",)),
    Clause(_6749, "§10.4", "The authorization server MUST verify the binding between the refresh token and client "
           "identity whenever the client identity can be authenticated.", ("TOK-010",)),
    Clause(_6750, "§2.1", "credentials = \"Bearer\" 1*SP b64token", ("AUTH-002", "AUTH-007")),
    Clause(_6750, "§2.1", "Resource servers MUST support this method.", ("RSP-001",)),
    Clause(_6750, "§3", "If the protected resource request does not include authentication credentials or does not "
           "contain an access token that enables access to the protected resource, the resource server MUST include "
           "the HTTP \"WWW-Authenticate\" response header field", ("AUTH-004",)),
    Clause(_6750, "§3", "All challenges defined by this specification MUST use the auth-scheme value \"Bearer\".",
           ("AUTH-004",)),
    Clause(_6750, "§3", "If the protected resource request included an access token and failed authentication, the "
           "resource server SHOULD include the \"error\" attribute to provide the client with the reason why the "
           "access request was declined.", ("AUTH-008",)),
    Clause(_6750, "§3", "If the request lacks any authentication information (e.g., the client was unaware that "
           "authentication is necessary or attempted using an unsupported authentication method), the resource server "
           "SHOULD NOT include an error code or other error information.", ("AUTH-008",)),
    Clause(_6750, "§3.1", "invalid_request (...) The resource server SHOULD respond with the HTTP 400 (Bad Request) "
           "status code.", ("AUTH-002",)),
    Clause(_6750, "§3.1", "invalid_token (...) The resource SHOULD respond with the HTTP 401 (Unauthorized) status "
           "code.", ("AUTH-003", "AUTH-005", "AUTH-008")),
    Clause(_6750, "§3.1", "insufficient_scope (...) The resource server SHOULD respond with the HTTP 403 (Forbidden) "
           "status code and MAY include the \"scope\" attribute with the scope necessary to access the protected "
           "resource.", reason="the operation requires no scope (security: - OAuth2: []), so no request lacks one"),
    Clause(_9110, "§11.1", "It uses a case-insensitive token to identify the authentication scheme", ("AUTH-007",)),
    Clause(_9110, "§11.6.1", "A server generating a 401 (Unauthorized) response MUST send a WWW-Authenticate header "
           "field containing at least one challenge.", ("AUTH-004", "TOK-005")),
    Clause(_9110, "§15.5.2", "The server generating a 401 response MUST send a WWW-Authenticate header field (Section "
           "11.6.1) containing at least one challenge applicable to the target resource.", ("AUTH-004", "TOK-005")),
    Clause(_9110, "§15.5.6", "The origin server MUST generate an Allow header field in a 405 response containing a "
           "list of the target resource's currently supported methods.", ("MTH-002", "TOK-007")),
    Clause(_9111, "§3.5", "A shared cache MUST NOT use a cached response to a request with an Authorization header "
           "field (Section 11.6.2 of [HTTP]) to satisfy any subsequent request unless the response contains a "
           "Cache-Control field with a response directive (Section 5.2.2) that allows it to be stored by a shared "
           "cache", ("RSP-006",)),
    Clause(_9111, "§5.2.2.5", "The no-store response directive indicates that a cache MUST NOT store any part of "
           "either the immediate request or the response", ("TOK-004",)),
    Clause(_9111, "§5.2.2.7", "The unqualified private response directive indicates that a shared cache MUST NOT store "
           "the response (i.e., the response is intended for a single user).", ("RSP-006",)),
    Clause(_9111, "§5.2.2.9", "The public response directive indicates that a cache MAY store the response even if it "
           "would otherwise be prohibited", ("RSP-006",)),
    Clause(_9111, "§5.2.2.10", "The s-maxage response directive indicates that, for a shared cache, the maximum age "
           "specified by this directive overrides the maximum age specified by either the max-age directive or the "
           "Expires header field.", ("RSP-006",)),
    Clause(_OWASP, "API1", "Broken Object Level Authorization: object-level authorization checks should be considered "
           "in every function that accesses a data source using an ID from the user.",
           ("OBJ-001", "OBJ-002", "OBJ-003", "OBJ-004", "OBJ-005", "OBJ-006", "RSP-007")),
    Clause(_OWASP, "API2", "Broken Authentication: authentication mechanisms are often implemented incorrectly, "
           "allowing attackers to compromise authentication tokens",
           ("AUTH-001", "AUTH-002", "AUTH-003", "AUTH-005", "AUTH-006", "TOK-002", "TOK-006", "TOK-007", "TOK-010")),
    Clause(_OWASP, "API3", "Broken Object Property Level Authorization: lack of or improper authorization validation "
           "at the object property level", reason="the endpoint is read-only (no mass assignment) and every property "
           "the spec declares is its owner's to read; undeclared extras are a legitimate variation, not judged excessive"),
    Clause(_OWASP, "API8", "Security Misconfiguration: (...) Unnecessary features are enabled (e.g. HTTP verbs (...)) "
           "(...) Security or cache control directives are not sent to clients (...) Error messages include stack "
           "traces, or expose other sensitive information",
           ("RSP-003", "RSP-006", "TOK-004", "MTH-001", "MTH-002")),
)
