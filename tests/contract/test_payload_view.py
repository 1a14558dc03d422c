"""The view's shortcuts give exactly what the plain way gives: `instants` against `instant` value by value."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.contract.payload import instant, instants

_TWO = st.integers(0, 99).map("{:02d}".format)  # out of range on purpose: hour 24, minute 61, second 60
_LOCAL = st.builds("{}-{}-{}{}{}:{}:{}{}".format, st.sampled_from(["0001", "1970", "2026", "9999", "٢٠٢٦"]),
                   st.sampled_from(["01", "02", "06", "12", "13"]), st.sampled_from(["01", "28", "29", "30", "31"]),
                   st.sampled_from(["T", "t", " ", "+"]), _TWO, _TWO, _TWO,
                   st.sampled_from(["", ".5", ".123456", ".1234567", ",5", "."]))
_OFFSET = st.sampled_from(["Z", "z", "+00:00", "-00:00", "+01:00", "-12:00", "+14:00", "+23:59", "+24:00", "+01:60",
                           "+0100", "+01", ""])


@settings(max_examples=400, deadline=None)
@given(st.data())
@pytest.mark.e2e
def test_instants_equal_instant_value_by_value(data) -> None:
    offset = data.draw(_OFFSET)
    values = data.draw(st.lists(st.one_of(_LOCAL.map(lambda local: local + offset),  # one offset: the fast path
                                          st.builds(str.__add__, _LOCAL, _OFFSET), st.none(), st.integers(),
                                          st.just("2026-07-28T07:38:22Z\n2026-07-28T07:38:22")), max_size=6))
    assert instants(values) == [instant(v) for v in values]


def test_one_offset_and_utc_read_as_the_same_instants() -> None:
    assert instants(["2026-07-28T07:38:22+01:00", "2026-07-28T08:38:22.5+01:00"]) == \
        instants(["2026-07-28T06:38:22Z", "2026-07-28T07:38:22.500Z"])
    assert instants(["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59.999999-12:00"]) == \
        [instant("0001-01-01T00:00:00+01:00"), instant("9999-12-31T23:59:59.999999-12:00")]
