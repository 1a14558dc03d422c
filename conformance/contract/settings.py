"""The readings of the contract a user can choose: tolerances, vocabularies and per-invariant levels.

Every default is the reading the catalogue documents; every alternative is named in the report so a
verdict always says which reading it was made under.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from conformance.contract.levels import Level
from conformance.contract.vocabulary import DEFAULT_DISPATCH_VOCABULARY, VERDICTS, status_key
from conformance.errors import ConfigError


@dataclass(frozen=True)
class Settings:
    """How the catalogue reads the contract. Defaults are the catalogue's documented readings."""

    applied_verdicts: frozenset[str] = frozenset({"applied"})
    ineffective_verdicts: frozenset[str] = frozenset({"accepted_ineffective", "phase_switch_ineffective"})
    sent_verdicts: frozenset[str] = frozenset(VERDICTS)
    current_tolerance_a: float = 1.0
    current_tolerance_pct: float = 5.0
    amps_min: float = 6.0
    amps_max: float = 80.0
    nominal_voltage_v: float = 230.0
    voltage_tolerance_pct: float = 10.0
    watts_slack_a: float = 1.0
    clock_skew_s: float = 60.0
    dispatch_skew_s: float = 5.0
    dispatch_vocabulary: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_DISPATCH_VOCABULARY))
    levels: Mapping[str, Level] = field(default_factory=dict)

    @cached_property
    def _status_lookup(self) -> dict[str, str]:
        return {status_key(word): status for word, status in self.dispatch_vocabulary.items()}

    def dispatch_status(self, word: str) -> str | None:
        """The CommandStatus a dispatch_status word stands for, or None when the vocabulary lacks it."""
        lookup = self._status_lookup
        found = lookup.get(word)  # the common case: already a key ("applied")
        return found if found is not None else lookup.get(status_key(word))

    def level_of(self, check_id: str, default: Level) -> Level:
        """The level `[judge.levels]` sets for a check, else the check's own."""
        return self.levels.get(check_id, default)

    def current_tolerance(self, commanded_amps: float) -> float:
        return max(self.current_tolerance_a, abs(commanded_amps) * self.current_tolerance_pct / 100.0)

    def readings(self) -> dict[str, Any]:
        """The settings that differ from the defaults, for the report."""
        default = Settings()
        changed = {}
        for f in dataclasses.fields(self):
            value, base = getattr(self, f.name), getattr(default, f.name)
            if value != base:
                changed[f.name] = sorted(value) if isinstance(value, frozenset) else _plain(value)
        return changed


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: str(v.value if isinstance(v, Level) else v) for k, v in value.items()}
    return value


_VERDICT_SET_KEYS = ("applied_verdicts", "ineffective_verdicts", "sent_verdicts")
_NUMBER_KEYS = tuple(
    f.name for f in dataclasses.fields(Settings) if f.type == "float"
)


def settings_from_mapping(table: Mapping[str, Any], *, known_ids: Collection[str], where: str = "judge") -> Settings:
    """Build Settings from a TOML table such as `[judge]`; unknown keys and bad values are errors.

    `known_ids` are the check IDs `[judge.levels]` may name: the caller knows which checks it runs."""
    values: dict[str, Any] = {}
    for key, value in table.items():
        name = f"{where}.{key}"
        if key in _VERDICT_SET_KEYS:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{name}: expected a list of verdicts")
            unknown = sorted(set(value) - set(VERDICTS))
            if unknown:
                raise ConfigError(f"{name}: unknown verdict {unknown[0]!r} (known: {', '.join(VERDICTS)})")
            values[key] = frozenset(value)
        elif key in _NUMBER_KEYS:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
                raise ConfigError(f"{name}: expected a finite non-negative number")  # TOML has inf and nan
            values[key] = float(value)
        elif key == "dispatch_vocabulary":
            if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
                raise ConfigError(f"{name}: expected a table of status = canonical status")
            bad = sorted(set(value.values()) - set(DEFAULT_DISPATCH_VOCABULARY.values()))
            if bad:
                raise ConfigError(f"{name}: {bad[0]!r} is not one of applied, rejected, unreachable, timeout, not_capable")
            values[key] = DEFAULT_DISPATCH_VOCABULARY | {k.strip().casefold(): v for k, v in value.items()}
        elif key == "levels":
            values[key] = _levels_from_mapping(value, name, known_ids)
        else:
            known = sorted((*_VERDICT_SET_KEYS, *_NUMBER_KEYS, "dispatch_vocabulary", "levels"))
            raise ConfigError(f"{name}: unknown key (known: {', '.join(known)})")
    settings = Settings(**values)
    if settings.amps_min > settings.amps_max:  # no command could be in range: every one would fire PHY-002
        raise ConfigError(f"{where}.amps_min: {settings.amps_min:g} A is above {where}.amps_max "
                          f"({settings.amps_max:g} A)")
    return settings


def _levels_from_mapping(value: Any, name: str, known_ids: Collection[str]) -> dict[str, Level]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{name}: expected a table of CHECK-ID = level")
    levels = {}
    for invariant_id, level in value.items():
        if invariant_id not in known_ids:
            raise ConfigError(f"{name}.{invariant_id}: unknown invariant or live case")
        levels[invariant_id] = Level.parse(level, f"{name}.{invariant_id}")
    return levels


def read_toml(path: str | Path) -> dict[str, Any]:
    """A TOML file as a dict; unreadable or invalid is a ConfigError naming the file."""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: not UTF-8 (byte {exc.start})") from None
    except RecursionError:
        raise ConfigError(f"{path}: not valid TOML: nested too deeply to parse") from None


def load_settings(path: str | Path | None, *, known_ids: Collection[str]) -> Settings:
    """Read the `[judge]` table of a TOML file (the same file `run` reads); no file, the defaults."""
    if path is None:
        return Settings()
    document = read_toml(path)
    table = document.get("judge", {})
    if not isinstance(table, Mapping):
        raise ConfigError(f"{path}: judge: expected a table")
    try:
        return settings_from_mapping(table, known_ids=known_ids)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
