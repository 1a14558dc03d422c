"""conformance.live.items: what a run says when a check stops on an error the suite did not expect."""

from __future__ import annotations

from conformance.live.items import _cause


def test_an_error_group_names_the_error_under_it():
    """Hypothesis's FlakyFailure is a group: the line must say what its first attempt met, not only 'Inconsistent'."""
    group = ExceptionGroup("Inconsistent results", [RuntimeError("dictionary changed size during iteration")])
    assert _cause(group) == ("ExceptionGroup: Inconsistent results (1 sub-exception); "
                             "first: RuntimeError: dictionary changed size during iteration")


def test_a_plain_error_is_its_type_and_message():
    assert _cause(ValueError("bad")) == "ValueError: bad"
