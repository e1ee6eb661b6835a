"""Times taken from outside: parsed once, in UTC, refused by name when no store can hold them."""

from datetime import UTC, datetime

import pytest

from missioncontrol.domain.timestamps import parse_storable_utc


def test_an_offset_time_comes_back_in_utc() -> None:
    assert parse_storable_utc("2026-12-03T13:00:00+01:00") == datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    assert parse_storable_utc("2026-12-03T12:00:00.5Z").microsecond == 500_000


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("yesterday", r"^is not an RFC 3339 timestamp: 'yesterday'$"),
        ("2026-12-03T12:00:00", r"^has no time zone: '2026-12-03T12:00:00'$"),
        ("0999-01-01T00:00:00Z", r"is outside 1970\.\.2299 \(UTC\)$"),
    ],
)
def test_what_is_wrong_is_said(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_storable_utc(text, form="RFC 3339")
