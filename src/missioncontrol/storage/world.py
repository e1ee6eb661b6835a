"""The world model: catalog history, the change log, and the call graph as of any time.

```
 graph_at(t) = calls seen in spans in [t - lookback, t)      (telemetry store, SQL over otel_traces)
             ∪ dependsOn of every catalog entry in force at t  (catalog_entries, valid_from ≤ t < valid_to)
```

Catalog entries and teams are kept as versions: recording a different description of a service at
time `at` closes the version in force (its `valid_to` becomes `at`) and opens a new one, so "what did
the catalog say at 09:05" has one answer. Recording the same description again changes nothing; a
version recorded late (an `at` before the newest one) is slotted into the history where it belongs.
Changes are keyed by a hash of (service, kind, at, description), so a resent deploy event is no new row.
"""

import hashlib
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

from sqlalchemy import (
    JSON,
    Connection,
    Engine,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from missioncontrol.domain import CatalogEntry, Change, ChangeKind, ServiceGraph, ServiceId, Team
from missioncontrol.ports import CallGraphSource
from missioncontrol.storage.db import Base
from missioncontrol.storage.tables_core import UtcDateTime


class CatalogEntryRow(Base):
    """One version of what the catalog declared about a service, in force over [valid_from, valid_to)."""

    __tablename__ = "catalog_entries"
    __table_args__ = (
        UniqueConstraint("service", "valid_from", name="uq_catalog_entries_service_valid_from"),
        Index("ix_catalog_entries_valid", "valid_from", "valid_to"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service: Mapped[str] = mapped_column(String(256))
    owner: Mapped[str] = mapped_column(String(256))
    system: Mapped[str] = mapped_column(String(256))
    lifecycle: Mapped[str] = mapped_column(String(64))
    tier: Mapped[str] = mapped_column(String(32))
    depends_on: Mapped[list[str]] = mapped_column(JSON)
    description: Mapped[str] = mapped_column(Text)
    valid_from: Mapped[datetime] = mapped_column(UtcDateTime())
    valid_to: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class CatalogTeamRow(Base):
    """One version of a team (Backstage Group), in force over [valid_from, valid_to)."""

    __tablename__ = "catalog_teams"
    __table_args__ = (UniqueConstraint("name", "valid_from", name="uq_catalog_teams_name_valid_from"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(256))
    display_name: Mapped[str] = mapped_column(String(256))
    email: Mapped[str] = mapped_column(String(256))
    slack_channel: Mapped[str] = mapped_column(String(256))
    pagerduty_service: Mapped[str] = mapped_column(String(256))
    members: Mapped[list[str]] = mapped_column(JSON)
    valid_from: Mapped[datetime] = mapped_column(UtcDateTime())
    valid_to: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class ChangeRow(Base):
    """One change (deploy, config, flag, model version); `key` is its natural key's hash."""

    __tablename__ = "changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    service: Mapped[str] = mapped_column(String(256), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    description: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())


T = TypeVar("T")

ENTRIES = cast(Table, CatalogEntryRow.__table__)
TEAMS = cast(Table, CatalogTeamRow.__table__)
CHANGES = cast(Table, ChangeRow.__table__)


def change_key(change: Change) -> str:
    """Return the natural key of a change: a hash of service, kind, instant and description."""
    at = change.at.astimezone(UTC).isoformat()
    text = "\x1f".join((change.service, change.kind.value, at, change.description))
    return hashlib.sha256(text.encode()).hexdigest()


def _entry_values(entry: CatalogEntry) -> dict[str, Any]:
    return {
        "service": entry.service,
        "owner": entry.owner,
        "system": entry.system,
        "lifecycle": entry.lifecycle,
        "tier": entry.tier,
        "depends_on": list(entry.depends_on),
        "description": entry.description,
    }


def _team_values(team: Team) -> dict[str, Any]:
    return {
        "name": team.name,
        "display_name": team.display_name,
        "email": team.email,
        "slack_channel": team.slack_channel,
        "pagerduty_service": team.pagerduty_service,
        "members": list(team.members),
    }


def _entry_from_row(row: Any) -> CatalogEntry:
    return CatalogEntry(
        service=ServiceId(row.service),
        owner=row.owner,
        system=row.system,
        lifecycle=row.lifecycle,
        tier=row.tier,
        depends_on=tuple(ServiceId(s) for s in row.depends_on),
        description=row.description,
        observed_at=row.valid_from,
    )


def _team_from_row(row: Any) -> Team:
    return Team(
        name=row.name,
        display_name=row.display_name,
        email=row.email,
        slack_channel=row.slack_channel,
        pagerduty_service=row.pagerduty_service,
        members=tuple(row.members),
    )


def _in_force(table: Table, at: datetime) -> Any:
    return (table.c.valid_from <= at) & or_(table.c.valid_to.is_(None), table.c.valid_to > at)


def _record_version(conn: Connection, table: Table, key: str, values: dict[str, Any], at: datetime) -> None:
    """Slot `values` into the history of `key` at `at`, closing and bounding its neighbours."""
    column = table.c[key]
    identity = values[key]
    versions = conn.execute(select(table).where(column == identity).order_by(table.c.valid_from)).all()
    content = [c for c in values if c != key]
    before = [v for v in versions if v.valid_from <= at]
    after = [v for v in versions if v.valid_from > at]
    current = before[-1] if before else None
    if current is not None and all(getattr(current, c) == values[c] for c in content):
        return  # the catalog says what it already said
    next_from = after[0].valid_from if after else None
    if current is not None and current.valid_from == at:
        conn.execute(table.update().where(table.c.id == current.id).values(**values, valid_to=next_from))
        return
    if current is not None:
        conn.execute(table.update().where(table.c.id == current.id).values(valid_to=at))
    conn.execute(table.insert().values(**values, valid_from=at, valid_to=next_from))


def _insert_ignoring_known(conn: Connection, rows: list[dict[str, Any]]) -> int:
    """Insert change rows whose key is new; return how many were inserted."""
    if not rows:
        return 0
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    statement = (
        dialect.insert(CHANGES).on_conflict_do_nothing(index_elements=["key"]).returning(CHANGES.c.key)
    )
    return len(conn.execute(statement, rows).all())


class SqlWorldModel:
    """WorldModel (and ChangeLog, Catalog) on the SQL state store plus the telemetry store's call edges.

    Example::

        world = SqlWorldModel(engine, telemetry_store, lookback=timedelta(hours=1))
        world.record_catalog(entries, teams, at=now)
        world.graph_at(alert_at).callees(ServiceId("checkout"))
    """

    def __init__(
        self, engine: Engine, calls: CallGraphSource | None, *, lookback: timedelta = timedelta(hours=1)
    ) -> None:
        self.engine = engine
        self.calls = calls
        self.lookback = lookback

    def graph_at(self, at: datetime) -> ServiceGraph:
        """Return the call graph as of `at`: calls seen in [at - lookback, at) ∪ catalog dependsOn at `at`."""
        _require_aware(at)
        edges: set[tuple[ServiceId, ServiceId]] = set()
        if self.calls is not None:
            edges.update(self.calls.call_edges(at - self.lookback, at))
        declared: set[ServiceId] = set()
        with self.engine.connect() as conn:
            rows = conn.execute(select(ENTRIES.c.service, ENTRIES.c.depends_on).where(_in_force(ENTRIES, at)))
            for service, depends_on in rows:
                declared.add(ServiceId(service))
                edges.update((ServiceId(service), ServiceId(d)) for d in depends_on if d != service)
        return ServiceGraph(edges=frozenset(edges), extra_services=frozenset(declared))

    def changes_between(self, start: datetime, end: datetime) -> tuple[Change, ...]:
        """Return the changes in [start, end), oldest first."""
        _require_aware(start, end)
        query = (
            select(CHANGES.c.service, CHANGES.c.kind, CHANGES.c.at, CHANGES.c.description)
            .where(CHANGES.c.at >= start, CHANGES.c.at < end)
            .order_by(CHANGES.c.at, CHANGES.c.service, CHANGES.c.id)
        )
        with self.engine.connect() as conn:
            return tuple(
                Change(service=ServiceId(s), kind=_kind(k), at=at, description=d)
                for s, k, at, d in conn.execute(query)
            )

    def catalog_entry(self, service: ServiceId, *, at: datetime) -> CatalogEntry | None:
        """Return what the catalog said about `service` as of `at`, or None if it was not declared."""
        _require_aware(at)
        query = select(ENTRIES).where(ENTRIES.c.service == service, _in_force(ENTRIES, at))
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _entry_from_row(row) if row is not None else None

    def catalog_entries(self, *, at: datetime) -> tuple[CatalogEntry, ...]:
        """Return every catalog entry in force at `at`, by service."""
        _require_aware(at)
        query = select(ENTRIES).where(_in_force(ENTRIES, at)).order_by(ENTRIES.c.service)
        with self.engine.connect() as conn:
            return tuple(_entry_from_row(row) for row in conn.execute(query))

    def teams(self, *, at: datetime | None = None) -> tuple[Team, ...]:
        """Return the teams in force at `at` (default: now), by name."""
        when = at or datetime.now(UTC)
        _require_aware(when)
        query = select(TEAMS).where(_in_force(TEAMS, when)).order_by(TEAMS.c.name)
        with self.engine.connect() as conn:
            return tuple(_team_from_row(row) for row in conn.execute(query))

    def team(self, name: str, *, at: datetime | None = None) -> Team | None:
        """Return one team as of `at` (default: now), or None if it was not declared then."""
        when = at or datetime.now(UTC)
        _require_aware(when)
        query = select(TEAMS).where(TEAMS.c.name == name, _in_force(TEAMS, when))
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _team_from_row(row) if row is not None else None

    def record_catalog(self, entries: Sequence[CatalogEntry], teams: Sequence[Team], *, at: datetime) -> None:
        """Record what the catalog says at `at`: a changed entry or team gets a new version from `at`."""
        _require_aware(at)
        with self.engine.begin() as conn:
            for entry in _last_word(entries, key=lambda e: e.service):
                _record_version(conn, ENTRIES, "service", _entry_values(entry), at)
            for team in _last_word(teams, key=lambda t: t.name):
                _record_version(conn, TEAMS, "name", _team_values(team), at)

    def record_changes(self, changes: Sequence[Change]) -> int:
        """Record changes; return how many were new (a resent change is known by its natural key)."""
        now = datetime.now(UTC)
        rows: dict[str, dict[str, Any]] = {}
        for change in changes:
            _require_aware(change.at)
            rows[change_key(change)] = {
                "key": change_key(change),
                "service": change.service,
                "kind": change.kind.value,
                "at": change.at,
                "description": change.description,
                "recorded_at": now,
            }
        with self.engine.begin() as conn:
            return _insert_ignoring_known(conn, list(rows.values()))


def _last_word(items: Iterable[T], *, key: Callable[[T], str]) -> list[T]:
    """Return one item per key, the last one given, in first-seen order."""
    chosen: dict[str, T] = {}
    for item in items:
        chosen[key(item)] = item
    return list(chosen.values())


def _kind(value: str) -> ChangeKind:
    try:
        return ChangeKind(value)
    except ValueError:
        return ChangeKind.OTHER


def _require_aware(*moments: datetime) -> None:
    for moment in moments:
        if moment.tzinfo is None:
            raise ValueError(f"naive datetime {moment!r}: the world model works in tz-aware UTC times")
