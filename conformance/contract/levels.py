"""Finding levels: MUST fails the verdict, SHOULD warns (and fails under --strict), INFO informs."""

from __future__ import annotations

from enum import StrEnum

from conformance.errors import ConfigError


class Level(StrEnum):
    MUST = "MUST"
    SHOULD = "SHOULD"
    INFO = "INFO"
    OFF = "OFF"

    @classmethod
    def parse(cls, value: object, key: str) -> Level:
        try:
            return cls(str(value).upper())
        except ValueError:
            raise ConfigError(f"{key}: level must be one of MUST, SHOULD, INFO, OFF, not {value!r}") from None

    def fails(self, strict: bool) -> bool:
        return self is Level.MUST or (strict and self is Level.SHOULD)
