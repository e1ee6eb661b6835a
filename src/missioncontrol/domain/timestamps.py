"""The times Mission Control takes from outside: those its stores can hold, in UTC.

A timestamp in a webhook or a tool call is checked once, where it enters, and refused by name when it
falls outside 1970..2299:
- SQLite keeps times as text, and a year before 1000 comes back unreadable (strftime does not pad it,
  '26-05-24 02:17:16'): one such alert made the grouping worker fail on every pass;
- ClickHouse's DateTime64 ends in 2299;
- near year 1 or 9999 a time-zone offset has no UTC form at all (OverflowError), and lookbacks of days
  from such a time overflow too.
"""

from datetime import UTC, datetime

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2300, 1, 1, tzinfo=UTC)


def to_storable_utc(at: datetime) -> datetime:
    """Return `at` (time-zone aware) in UTC; raise ValueError saying why when no store can hold it."""
    try:
        in_utc = at.astimezone(UTC)
    except OverflowError:
        in_utc = None
    if in_utc is None or not EARLIEST <= in_utc < LATEST:
        raise ValueError(f"{at.isoformat()} is outside {EARLIEST.year}..{LATEST.year - 1} (UTC)")
    return in_utc


def parse_storable_utc(text: str, *, form: str = "ISO 8601") -> datetime:
    """Return the UTC time `text` names, with a time zone; raise ValueError saying what is wrong.

    The reason reads after a field's name: "is not an ISO 8601 timestamp: …", "has no time zone: …",
    or the range `to_storable_utc` refuses. `form` names the format the sender's spec promises.
    """
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"is not an {form} timestamp: {text!r}") from None
    if parsed.tzinfo is None:
        raise ValueError(f"has no time zone: {text!r}")
    return to_storable_utc(parsed)
