"""`hems_catalogue`, the catalogue as a check of plain `schemathesis run` (SCHEMATHESIS_HOOKS)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from conformance.schemathesis_hooks import hems_catalogue

BASE = json.loads((Path(__file__).resolve().parents[2] / "cases/payloads/base/ended-charged.json").read_text())


class Answer:
    """What the check reads of a Schemathesis response: the status and the JSON body."""

    def __init__(self, status: int, body: object = None, text: str | None = None) -> None:
        self.status_code, self._body, self._text = status, body, text

    def json(self) -> object:
        if self._text is not None:
            return json.loads(self._text)
        return self._body


def test_a_conformant_200_passes():
    assert hems_catalogue(None, Answer(200, BASE), None) is None


def test_a_must_finding_fails_the_check_naming_the_invariant():
    broken = copy.deepcopy(BASE)
    broken["session"]["commands_applied"] += 1
    with pytest.raises(AssertionError, match="CNT-002 MUST /session/commands_applied"):
        hems_catalogue(None, Answer(200, broken), None)


def test_should_findings_and_other_answers_are_left_alone():
    unordered = copy.deepcopy(BASE)
    unordered["decisions"].reverse()  # TIM-002 is a SHOULD: hems-conformance reports it as a warning
    assert hems_catalogue(None, Answer(200, unordered), None) is None
    assert hems_catalogue(None, Answer(404, {"detail": "Not Found"}), None) is None
    assert hems_catalogue(None, Answer(200, text="<html>"), None) is None
