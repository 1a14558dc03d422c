"""A payload's schema errors one at a time, without holding them all.

jsonschema-rs builds every error of an instance, each with a copy of the value it refuses, before it hands out
the first: 100,000 empty decisions are 900,000 errors and 2 GB. So a long array whose schema judges each item
on its own (`items` and annotations only, nothing that compares items) is judged item by item: the payload with
that array emptied first, then each item against the items schema, an item equal to a recent one through the
errors already built for it. The errors are those the whole validation lists, at the same places (each comes
with the place of its item, its own path being relative to the item); only their order differs (an array's
after the rest), and only for an array of SPLIT_MIN items or more, so ordinary payloads read as before.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import jsonschema_rs

SPLIT_MIN = 1000  # an array this long is judged item by item (a long real session has a few hundred decisions)
_CACHED_ITEMS = 256  # items whose errors are kept for identical items, per array
_CACHED_KEY = 4096  # characters: a longer item is judged again rather than compared
_CACHED_ERRORS = 64  # an item with more errors is not kept
_DEPTH = 8  # nesting of objects and arrays searched for long arrays
_ANNOTATIONS = {"title", "description", "$comment", "examples", "example", "default", "readOnly", "writeOnly",
                "deprecated", "externalDocs", "xml", "discriminator"}
# keywords that judge an object's properties one by one, never the value of a declared property as a whole
_OBJECT = _ANNOTATIONS | {"type", "properties", "required", "additionalProperties", "unevaluatedProperties",
                          "minProperties", "maxProperties", "propertyNames", "dependentRequired"}
_ARRAY = _ANNOTATIONS | {"type", "items"}  # each item on its own: no minItems, uniqueItems, contains, prefixItems
_DRAFT = "https://json-schema.org/draft/2020-12/schema"
_LOCAL = "#/components/"

Path = tuple[Any, ...]


class SchemaErrors:
    """A compiled schema (`schema`'s `$ref`s pointing into its `components`) that lists a payload's errors as
    (place, error): the error's instance path is relative to the place."""

    def __init__(self, schema: dict[str, Any], validate_formats: bool = True, _depth: int = 0) -> None:
        self.validator = jsonschema_rs.validator_for(schema, validate_formats=validate_formats)
        components = schema.get("components", {})
        self._arrays: list[tuple[Path, SchemaErrors]] = []
        if _depth < _DEPTH and _refs_local(schema):
            root = {k: v for k, v in schema.items() if k not in ("$schema", "components")}
            for path, items in _long_arrays(root, components, (), set(), _depth):
                sub = {"$schema": _DRAFT, **items, "components": components}
                self._arrays.append((path, SchemaErrors(sub, validate_formats, _depth + len(path) + 1)))
        self._cache: dict[tuple[int, str], list[tuple[Path, Any]]] = {}

    def is_valid(self, payload: Any) -> bool:
        return self.validator.is_valid(payload)

    def errors(self, payload: Any) -> Iterator[tuple[Path, Any]]:
        """Every error of `payload` with the place its instance path starts from; a long array item by item."""
        long = [(path, sub, value) for path, sub in self._arrays
                if isinstance(value := _at(payload, path), list) and len(value) >= SPLIT_MIN]
        if not long:
            for error in self.validator.iter_errors(payload):
                yield (), error
            return
        shell = payload
        for path, _, _ in long:
            shell = _emptied(shell, path)
        for error in self.validator.iter_errors(shell):
            yield (), error
        for n, (path, sub, items) in enumerate(long):
            for index, item in enumerate(items):
                if not sub.is_valid(item):
                    at = (*path, index)
                    for place, error in self._item_errors(n, sub, item):
                        yield (at, error) if not place else ((*at, *place), error)

    def _item_errors(self, array: int, sub: SchemaErrors, item: Any) -> Iterator[tuple[Path, Any]]:
        """The errors of one item: those built for an identical recent item of the same array, or built now."""
        try:
            key = (array, json.dumps(item, allow_nan=True)) if isinstance(item, (dict, list, str)) else None
        except (ValueError, TypeError, RecursionError):
            key = None
        if key is not None and len(key[1]) > _CACHED_KEY:
            key = None
        if key is not None and key in self._cache:
            yield from self._cache[key]
            return
        built: list[tuple[Path, Any]] | None = []
        for found in sub.errors(item):
            yield found
            if built is not None:
                built.append(found)
                if len(built) > _CACHED_ERRORS:
                    built = None
        if key is not None and built is not None:
            if len(self._cache) >= _CACHED_ITEMS:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = built


def _refs_local(schema: Any) -> bool:
    """Every `$ref` points into `#/components/`, so a part of the schema compiles beside the components."""
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if ref is not None and not (isinstance(ref, str) and ref.startswith(_LOCAL)):
                return False
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return True


def _resolved(schema: Any, components: dict[str, Any], seen: set[str]) -> dict[str, Any] | None:
    """The schema a chain of bare `$ref`s leads to; None if a `$ref` sits beside keywords that judge, loops,
    or leads nowhere."""
    while isinstance(schema, dict) and "$ref" in schema:
        ref = schema["$ref"]
        if set(schema) - _ANNOTATIONS - {"$ref"} or ref in seen:
            return None
        seen = seen | {ref}
        node: Any = {"components": components}
        for part in ref[2:].split("/"):
            node = node.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(node, dict) else None
        schema = node
    return schema if isinstance(schema, dict) else None


def _long_arrays(schema: Any, components: dict[str, Any], path: Path, seen: set[str],
                 depth: int) -> Iterator[tuple[Path, dict[str, Any]]]:
    """(path, items schema) of each array reached through plain object properties that judges its items one
    by one: where emptying the array changes no other error."""
    node = _resolved(schema, components, seen)
    if node is None or set(node) - _OBJECT or not isinstance(node.get("properties"), dict) or depth >= _DEPTH:
        return
    for name, sub in node["properties"].items():
        value = _resolved(sub, components, seen)
        if value is None:
            continue
        if isinstance(value.get("items"), dict) and not set(value) - _ARRAY and value.get("type", "array") == "array":
            yield (*path, name), value["items"]
        elif not set(value) - _OBJECT:
            yield from _long_arrays(value, components, (*path, name), seen, depth + 1)


def _at(payload: Any, path: Path) -> Any:
    for name in path:
        if not isinstance(payload, dict):
            return None
        payload = payload.get(name)
    return payload


def _emptied(payload: dict[str, Any], path: Path) -> dict[str, Any]:
    """A copy of `payload` (only along `path`) whose array at `path` is empty."""
    name, rest = path[0], path[1:]
    return {**payload, name: _emptied(payload[name], rest) if rest else []}
