"""The pinned contract: loading the OpenAPI document and the pieces of it the suite judges against."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from conformance.errors import ContractError

RESPONSE_SCHEMA_NAME = "HEMSSessionDetail"
SESSION_PATH = "/api/partners/v2.0/org/{org_id}/users/{user_id}/wallboxes/{wallbox_id}/hems-sessions/{session_id}"
_REPO_SPEC = Path(__file__).resolve().parents[2] / "spec"


def bundled_spec_path(name: str = "openapi.yaml") -> Path:
    """A file of `spec/` (the pinned spec by default): packaged with a wheel install, `spec/` in a checkout."""
    packaged = resources.files("conformance").joinpath(f"_spec/{name}")
    return Path(str(packaged)) if packaged.is_file() else _REPO_SPEC / name


class _NoAliasLoader(yaml.SafeLoader):
    """YAML without aliases: `*name` may expand a few kilobytes into billions of nodes (billion laughs), and
    an OpenAPI document has no need of them (JSON has none; `$ref` is how a spec repeats itself)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise ContractError(f"YAML aliases are not accepted (line {mark.line + 1}, column {mark.column + 1}): "
                                "they can expand without bound; repeat a schema with $ref")
        return super().compose_node(parent, index)


def read_document(path: Path, what: str) -> tuple[Any, str]:
    """A YAML or JSON document and the SHA-256 of its bytes; a ContractError naming the file otherwise
    (aliases included: a document that could expand without bound is refused before it is built)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ContractError(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    try:
        document = yaml.load(raw, Loader=_NoAliasLoader)
    except ContractError as exc:
        raise ContractError(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ContractError(f"{path}: not valid YAML/JSON{where}") from None
    except RecursionError:
        raise ContractError(f"{path}: not valid YAML/JSON: nested too deeply to parse") from None
    return document, hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True)
class Contract:
    """One OpenAPI document, with its digest and the parts the checks need."""

    path: Path
    sha256: str
    document: dict[str, Any] = field(repr=False)

    @property
    def title(self) -> str:
        return str(self.document.get("info", {}).get("title", ""))

    @property
    def version(self) -> str:
        return str(self.document.get("info", {}).get("version", ""))

    @cached_property
    def response_schema(self) -> dict[str, Any]:
        """A standalone JSON Schema 2020-12 for the 200 body; `#/components/...` refs resolve in it."""
        return {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$ref": f"#/components/schemas/{RESPONSE_SCHEMA_NAME}",
            "components": self.document.get("components", {}),
        }

    @cached_property
    def session_path(self) -> str:
        """The path template of the session endpoint (the one whose last parameter is session_id)."""
        return next((str(p) for p in self.document.get("paths", {}) if str(p).rstrip("/").endswith("{session_id}")),
                    SESSION_PATH)

    @cached_property
    def token_url(self) -> str:
        """The first OAuth2 tokenUrl the spec declares (both flows share one)."""
        schemes = self.document.get("components", {}).get("securitySchemes", {})
        for scheme in schemes.values():
            for flow in scheme.get("flows", {}).values():
                if "tokenUrl" in flow:
                    return str(flow["tokenUrl"])
        return "/api/partners/v2.0/auth/token"


def load_contract(path: str | Path | None = None) -> Contract:
    """Read and sanity-check an OpenAPI document; `None` means the pinned one."""
    spec_path = Path(path) if path is not None else bundled_spec_path()
    document, sha256 = read_document(spec_path, "spec")
    if not isinstance(document, dict):
        raise ContractError(f"{spec_path}: not an OpenAPI document (top level is not a mapping)")
    schemas = document.get("components", {}).get("schemas", {})
    if RESPONSE_SCHEMA_NAME not in schemas:
        raise ContractError(f"{spec_path}: no components.schemas.{RESPONSE_SCHEMA_NAME}")
    if SESSION_PATH not in document.get("paths", {}):
        raise ContractError(f"{spec_path}: no path {SESSION_PATH}")
    return Contract(path=spec_path, sha256=sha256, document=document)
