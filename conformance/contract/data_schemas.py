"""The JSON Schemas of the suite's own data files (`cases/payloads.schema.json`, `cases/live.schema.json`),
as the JSON-Schema-Test-Suite has its test-schema: the shape of a case file is declared there, once.

A violation reads as the nearest `errorMessage` the schema gives on the way to the failing keyword (the
ajv-errors convention), an unknown key as such, and otherwise as the validator's own message.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema_rs

from conformance.contract import pointers

_REPO_CASES = Path(__file__).resolve().parents[2] / "cases"


def bundled_cases_path(name: str) -> Path:
    """`cases/NAME` (a file or a folder): the copy a wheel carries, else the checkout's."""
    packaged = resources.files("conformance").joinpath(f"_cases/{name}")
    return Path(str(packaged)) if packaged.is_file() or packaged.is_dir() else _REPO_CASES / name


@cache
def _validator(name: str) -> tuple[Any, dict[str, Any]]:
    schema = json.loads(bundled_cases_path(name).read_text(encoding="utf-8"))
    return jsonschema_rs.validator_for(schema), schema


def schema_problems(document: Any, name: str) -> list[tuple[str, str]]:
    """(JSON pointer into the document, message) for each way `document` breaks the schema `name`."""
    validator, schema = _validator(name)
    problems = []
    for error in validator.iter_errors(document):
        problems.append((pointers.join(error.instance_path), _message(error, schema)))
    # the most specific first: an unknown key, then the deepest place
    return sorted(set(problems), key=lambda p: (not p[1].startswith("unknown key"), -p[0].count("/"), p))


def _message(error: Any, schema: dict[str, Any]) -> str:
    if isinstance(error.kind, jsonschema_rs.ValidationErrorKind.AdditionalProperties):
        parent = _node(schema, list(error.schema_path)[:-1])
        known = ", ".join(sorted(parent.get("properties", {})))
        return f"unknown key {error.kind.unexpected[0]!r} (known: {known})"
    message = error.message
    node: Any = schema
    for token in error.schema_path:
        node = _follow(schema, node)
        if not isinstance(node, (dict, list)):
            break
        node = node[token] if isinstance(node, list) else node.get(token)
        if isinstance(node, dict) and "errorMessage" in _follow(schema, node):
            message = _follow(schema, node)["errorMessage"]
    return message


def _follow(root: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and isinstance(node.get("$ref"), str):
        node = pointers.resolve(root, node["$ref"][1:])
    return node


def _node(root: dict[str, Any], path: list[Any]) -> dict[str, Any]:
    node: Any = root
    for token in path:
        node = _follow(root, node)
        node = node[token] if isinstance(node, list) else node.get(token)
    return _follow(root, node)
