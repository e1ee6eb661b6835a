"""The state store's `core` area: alerts, incidents with grouping reasons, and versioned briefs.

`SqlIncidentStore` implements `ports.IncidentStore` and `ports.BriefStore` on SQLAlchemy 2, the same
code on SQLite and PostgreSQL. `write_alerts` is what the group-commit inbox (`storage.inbox`) runs
inside its one transaction per batch.
"""

import functools
import json
import sqlite3
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii as _quote  # what json.dumps quotes strings with
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, func, select, update

from missioncontrol.domain import (
    Alert,
    AlertStatus,
    Brief,
    GroupingReason,
    Incident,
    IncidentId,
    IncidentStatus,
    Placement,
    ServiceId,
    Severity,
)
from missioncontrol.ports import AlertPage
from missioncontrol.storage.briefs import brief_from_json, brief_to_json
from missioncontrol.storage.tables_core import AlertRow, BriefRow, GroupingReasonRow, IncidentRow

RANK = {Severity.CRITICAL: 3, Severity.WARNING: 2, Severity.INFO: 1, Severity.UNKNOWN: 0}
# Alerts placed per write transaction (see `record_placements`): short enough that an ingest commit
# waiting for SQLite's write lock waits a few milliseconds, long enough to keep statements per alert few.
PLACEMENTS_PER_TRANSACTION = 200
ALERTS = cast(Table, AlertRow.__table__)
INCIDENTS = cast(Table, IncidentRow.__table__)
REASONS = cast(Table, GroupingReasonRow.__table__)
BRIEFS = cast(Table, BriefRow.__table__)


def write_alerts(conn: Connection, alerts: Sequence[Alert]) -> None:
    """Insert new alerts as unprocessed; a known alert whose status changed is updated and re-queued.

    A resend of a known alert with the same status changes nothing, so at-least-once senders make no
    duplicates. Within one batch the last word on an alert wins, a resolution over a firing.
    """
    latest: dict[tuple[str, datetime], Alert] = {}
    for alert in alerts:
        key = (alert.fingerprint, alert.started_at)
        held = latest.get(key)
        if held is None or alert.status is AlertStatus.RESOLVED or held.status is not AlertStatus.RESOLVED:
            latest[key] = alert
    if not latest:
        return
    # The hot path of ingest: driver-level statements, not the ORM's per-row machinery.
    if conn.dialect.name == "sqlite":
        rows = _sqlite_alert_rows(latest.values())
        _sqlite_write_lock(conn)
        _sqlite_rows(conn, _UPSERT_SQLITE, rows)
    else:
        conn.exec_driver_sql(_UPSERT.replace("{false}", "false"), [_row(a) for a in latest.values()])


_COLUMNS = (
    "INSERT INTO alerts (fingerprint, starts_at, name, severity, status, service, signal, summary, labels, "
    "received_at, is_processed) VALUES "
)
_ON_CONFLICT = (
    " ON CONFLICT (fingerprint, starts_at) DO UPDATE SET status = excluded.status, is_processed = {false} "
    "WHERE alerts.status != excluded.status"
)
_UPSERT = _COLUMNS + "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, {false})" + _ON_CONFLICT
_UPSERT_SQLITE = (_COLUMNS, "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)", _ON_CONFLICT.format(false="0"))


def _sqlite_write_lock(conn: Connection, *, wait_s: float = 30.0) -> None:
    """Take SQLite's write lock for this transaction (BEGIN IMMEDIATE), trying every 1-2 ms.

    The lock is busy while the grouper writes a pass (tens of ms on a loaded machine). SQLite's own
    busy wait sleeps 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50 then 100 ms between tries, so a request
    waited up to that much more than the lock was busy: the tail of ingest latency. Within a
    transaction that already holds it (or will on its first write), this does nothing.
    """
    driver = conn.connection.driver_connection
    if driver is None or driver.in_transaction:
        return
    (busy_ms,) = driver.execute("PRAGMA busy_timeout").fetchone()
    driver.execute("PRAGMA busy_timeout = 0")
    try:
        deadline, pause = time.monotonic() + wait_s, 0.001
        while True:
            try:
                driver.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 1.25, 0.002)
    finally:
        driver.execute(f"PRAGMA busy_timeout = {int(busy_ms)}")


def _sqlite_alert_rows(alerts: Iterable[Alert]) -> list[tuple[Any, ...]]:
    times: dict[datetime, str] = {}  # a batch's alerts share receipt times, storms their start times
    rows: list[tuple[Any, ...]] = []
    for a in alerts:
        started = times.get(a.started_at)
        if started is None:
            started = times[a.started_at] = _sqlite_time(a.started_at)
        received = times.get(a.received_at)
        if received is None:
            received = times[a.received_at] = _sqlite_time(a.received_at)
        rows.append(
            (
                a.fingerprint,
                started,
                a.name,
                a.severity.value,
                a.status.value,
                a.service,
                a.signal,
                a.summary,
                _labels_json(a.labels),
                received,
            )
        )
    return rows


# SQLite: many rows per statement. sqlite3 releases the GIL around every statement it steps, and an
# executemany steps once per row: each row then waited to take the GIL back from the other threads
# (the event loop, or the investigations beside the grouper: up to the 5 ms switch interval), while
# holding the database's one write lock. A few fixed statement sizes keep the prepared-statement
# cache warm.
_SQLITE_CHUNKS = (256, 64, 16, 4, 1)


def _sqlite_rows(conn: Connection, statement: tuple[str, str, str], rows: Sequence[Sequence[Any]]) -> None:
    """Run `head + row + tail` (`statement`, `?` placeholders) for every row, up to 256 rows per
    statement: `head + row, row, ... + tail`."""
    if not rows:
        return
    width = len(rows[0])
    most = _variable_limit(conn) // width
    flat = [value for row in rows for value in row]
    done = 0
    for size in _SQLITE_CHUNKS:
        if size > most:
            continue
        while len(rows) - done >= size:
            conn.exec_driver_sql(
                _sqlite_statement(*statement, size), tuple(flat[done * width : (done + size) * width])
            )
            done += size


@functools.cache
def _sqlite_statement(head: str, row: str, tail: str, rows: int) -> str:
    return head + ", ".join([row] * rows) + tail


def _variable_limit(conn: Connection) -> int:
    """Return how many `?` one statement may hold on this SQLite (32,766 since 3.32, 999 before)."""
    driver = conn.connection.driver_connection
    return int(driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)) if driver is not None else 999


def _labels_json(labels: Mapping[str, str]) -> str:
    """Return `json.dumps(dict(labels))` of string labels, written directly: a third of its cost."""
    try:
        return "{" + ", ".join([_quote(k) + ": " + _quote(v) for k, v in labels.items()]) + "}"
    except TypeError:  # not all strings after all
        return json.dumps(dict(labels))


def _sqlite_time(at: datetime) -> str:
    """Return `at` as SQLAlchemy stores a DateTime on SQLite (`%Y-%m-%d %H:%M:%S.%f`, UTC), so its
    reads and comparisons agree; `isoformat` writes the same text (years 1000..9999) at a fifth of
    `strftime`'s cost."""
    if at.tzinfo is not UTC:
        at = at.astimezone(UTC)
    return at.replace(tzinfo=None).isoformat(" ", "microseconds")


def _row(a: Alert) -> tuple[Any, ...]:
    return (
        a.fingerprint,
        a.started_at.astimezone(UTC),
        a.name,
        a.severity.value,
        a.status.value,
        a.service,
        a.signal,
        a.summary,
        json.dumps(dict(a.labels)),
        a.received_at.astimezone(UTC),
    )


def _executemany(conn: Connection, sql: str, rows: list[tuple[Any, ...]]) -> None:
    """Run `sql` (`%s` placeholders, `{true}`/`{false}`) once per row through the driver."""
    if not rows:
        return  # an empty parameter list would run the statement once, unbound
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(sql.replace("%s", "?").format(true=1, false=0), rows)
    else:
        conn.exec_driver_sql(sql.format(true="true", false="false"), rows)


def _times(bind: Callable[[datetime], str]) -> Callable[[datetime], str]:
    """Return `bind` remembering what it gave: a pass's alerts share start and grouping times."""
    seen: dict[datetime, str] = {}

    def bound(at: datetime) -> str:
        text = seen.get(at)
        if text is None:
            text = seen[at] = bind(at)
        return text

    return bound


def _utc(at: datetime) -> datetime:
    return at.astimezone(UTC)


_INCIDENT_COLUMNS = (
    "INSERT INTO incidents (id, title, status, severity, symptom, opened_at, updated_at, resolved_at) VALUES "
)
_OPEN_INCIDENTS = _INCIDENT_COLUMNS + "(%s, %s, %s, %s, %s, %s, %s, NULL) ON CONFLICT (id) DO NOTHING"
_OPEN_INCIDENTS_SQLITE = (_INCIDENT_COLUMNS, "(?, ?, ?, ?, ?, ?, ?, NULL)", " ON CONFLICT (id) DO NOTHING")
_MARK_ALERTS = (
    "UPDATE alerts SET incident_id = %s, is_processed = {true} WHERE fingerprint = %s AND starts_at = %s"
)
# SQLite 3.33+ (UPDATE ... FROM): each VALUES row finds its alert by the unique (fingerprint, starts_at).
_UPDATE_FROM = sqlite3.sqlite_version_info >= (3, 33, 0)
_MARK_ALERTS_SQLITE = (
    "UPDATE alerts SET incident_id = v.column1, is_processed = 1 FROM (VALUES ",
    "(?, ?, ?)",
    ") AS v WHERE alerts.fingerprint = v.column2 AND alerts.starts_at = v.column3",
)
_REASON_COLUMNS = "INSERT INTO grouping_reasons (incident_id, fingerprint, rule, explanation, at) VALUES "
_REASONS = _REASON_COLUMNS + "(%s, %s, %s, %s, %s)"
_REASONS_SQLITE = (
    _REASON_COLUMNS,
    "(?, ?, ?, ?, ?)",
    "",
)
_SEVERITIES_SQLITE = (
    "UPDATE incidents SET severity = v.column1, updated_at = v.column2 FROM (VALUES ",
    "(?, ?, ?)",
    ") AS v WHERE incidents.id = v.column3",
)


_UNPROCESSED_SQLITE = (
    "SELECT fingerprint, starts_at, name, severity, status, service, signal, summary, labels, received_at "
    "FROM alerts WHERE is_processed = 0 ORDER BY starts_at, id LIMIT ?"
)
_SEVERITY = {s.value: s for s in Severity}
_STATUS = {s.value: s for s in AlertStatus}


def _sqlite_alerts(rows: Iterable[Sequence[Any]]) -> tuple[Alert, ...]:
    """Return the alerts of `_UNPROCESSED_SQLITE` rows, equal to `_to_alert` of the same rows through
    SQLAlchemy: its result processors (time text parsed by a regex, a zone put on, the labels' JSON)
    and the enum lookups were a third of the grouper's CPU at a thousand alerts per pass."""
    times: dict[str, datetime] = {}
    alerts = []
    for fingerprint, starts, name, severity, status, service, signal, summary, labels, received in rows:
        started_at = times.get(starts)
        if started_at is None:
            started_at = times[starts] = datetime.fromisoformat(starts).replace(tzinfo=UTC)
        received_at = times.get(received)
        if received_at is None:
            received_at = times[received] = datetime.fromisoformat(received).replace(tzinfo=UTC)
        alerts.append(
            Alert(
                fingerprint,
                name,
                _SEVERITY[severity],
                _STATUS[status],
                None if service is None else ServiceId(service),
                signal,
                started_at,
                received_at,
                summary,
                (json.loads(labels) if labels else None) or {},
            )
        )
    return tuple(alerts)


def _to_alert(row: Any) -> Alert:
    return Alert(
        fingerprint=row.fingerprint,
        name=row.name,
        severity=Severity(row.severity),
        status=AlertStatus(row.status),
        service=None if row.service is None else ServiceId(row.service),
        signal=row.signal,
        started_at=row.starts_at,
        received_at=row.received_at,
        summary=row.summary,
        labels=dict(row.labels or {}),
    )


class SqlIncidentStore:
    """Incidents, alerts, grouping reasons and briefs in the SQL state store."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- IncidentStore ---------------------------------------------------------------------------

    def unprocessed_alerts(self, *, limit: int) -> tuple[Alert, ...]:
        """Return up to `limit` committed alerts not yet grouped, oldest start first."""
        query = (
            select(ALERTS)
            .where(ALERTS.c.is_processed.is_(False))
            .order_by(ALERTS.c.starts_at, ALERTS.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            if conn.dialect.name == "sqlite":  # the grouper's every pass: rows read as the driver gives them
                return _sqlite_alerts(conn.exec_driver_sql(_UNPROCESSED_SQLITE, (limit,)))
            return tuple(_to_alert(r) for r in conn.execute(query))

    def open_incidents(self, *, since: datetime) -> tuple[Incident, ...]:
        """Return incidents not resolved and updated at or after `since`, with representative alerts.

        Grouping needs only the first and last alert of each service of an incident, not thousands of
        alerts per pass, so `alerts` holds those; `incident()` returns them all.
        """
        query = select(INCIDENTS).where(
            INCIDENTS.c.status != IncidentStatus.RESOLVED.value, INCIDENTS.c.updated_at >= since
        )
        with self.engine.connect() as conn:
            rows = list(conn.execute(query.order_by(INCIDENTS.c.opened_at)))
            if not rows:
                return ()
            ids = [r.id for r in rows]
            picks = select(func.min(ALERTS.c.id), func.max(ALERTS.c.id)).where(ALERTS.c.incident_id.in_(ids))
            chosen = {
                i
                for pair in conn.execute(picks.group_by(ALERTS.c.incident_id, ALERTS.c.service))
                for i in pair
            }
            return self._hydrate(conn, rows, reasons=False, alert_ids=chosen)

    def incidents_of(self, fingerprints: Collection[str]) -> dict[str, IncidentId]:
        """Return the incident each of these fingerprints already belongs to, where it belongs to one."""
        if not fingerprints:
            return {}
        query = select(ALERTS.c.fingerprint, ALERTS.c.incident_id).where(
            ALERTS.c.fingerprint.in_(sorted(set(fingerprints))), ALERTS.c.incident_id.is_not(None)
        )
        with self.engine.connect() as conn:
            return {f: IncidentId(i) for f, i in conn.execute(query.order_by(ALERTS.c.id))}

    def record_placements(self, placements: Sequence[Placement]) -> tuple[IncidentId, ...]:
        """Open/extend incidents as decided, mark the alerts processed; return the incidents touched.

        A grouping pass places up to a thousand alerts while ingest runs beside it, so this is a fixed
        handful of statements per slice of `PLACEMENTS_PER_TRANSACTION` (driver-level executemany),
        not a few per alert or incident. Each slice is its own transaction: one over a thousand alerts
        held SQLite's single write lock for 30-50 ms, and every ingest commit waited behind it. Slices
        go in order, so an incident is opened no later than the alerts placed in it; after a crash
        between two, the later slices' alerts are still unprocessed and are grouped again.
        """
        touched: dict[IncidentId, None] = {p.incident_id: None for p in placements}
        for start in range(0, len(placements), PLACEMENTS_PER_TRANSACTION):
            self._record_slice(placements[start : start + PLACEMENTS_PER_TRANSACTION])
        return tuple(touched)

    def _record_slice(self, placements: Sequence[Placement]) -> None:
        now = datetime.now(UTC)
        opening: dict[IncidentId, Placement] = {}
        for p in placements:
            if p.opens_incident:
                opening.setdefault(p.incident_id, p)
        sqlite = self.engine.dialect.name == "sqlite"
        at: Callable[[datetime], Any] = _times(_sqlite_time) if sqlite else _utc
        stamp = at(now)
        # Every row is built before the transaction: it holds the one write lock while it runs.
        incidents = [
            (
                p.incident_id,
                p.title or p.alert.name,
                IncidentStatus.OPEN.value,
                p.alert.severity.value,
                p.alert.service,
                at(p.alert.started_at),
                stamp,
            )
            for p in opening.values()
        ]
        marks = {(p.alert.fingerprint, p.alert.started_at): p.incident_id for p in placements}  # last wins
        alerts = [(incident, fingerprint, at(started)) for (fingerprint, started), incident in marks.items()]
        reasons = [
            (p.incident_id, p.reason.fingerprint, p.reason.rule, p.reason.explanation, at(p.reason.at))
            for p in placements
        ]
        worst: dict[str, Severity] = {}
        for p in placements:
            held = worst.get(p.incident_id, Severity.UNKNOWN)
            worst[p.incident_id] = max(held, p.alert.severity, key=RANK.__getitem__)
        with self.engine.begin() as conn:
            # Writing first (an incident another pass opened stays as it is) takes SQLite's write lock
            # at once: a read-then-write transaction would fail outright if another process (a second
            # HTTP worker's group commit) wrote in between.
            if sqlite:
                _sqlite_rows(conn, _OPEN_INCIDENTS_SQLITE, incidents)
                if _UPDATE_FROM:
                    _sqlite_rows(conn, _MARK_ALERTS_SQLITE, alerts)
                else:
                    _executemany(conn, _MARK_ALERTS, alerts)
                _sqlite_rows(conn, _REASONS_SQLITE, reasons)
            else:
                _executemany(conn, _OPEN_INCIDENTS, incidents)
                _executemany(conn, _MARK_ALERTS, alerts)
                _executemany(conn, _REASONS, reasons)
            self._refresh_states(conn, placements, worst, stamp)

    def _refresh_states(
        self, conn: Connection, placements: Sequence[Placement], worst: dict[str, Severity], now: object
    ) -> None:
        # An incident's severity is its worst alert's: an alert's severity never changes, so the worst
        # of the stored one and the newly placed alerts' is enough, without reading its alerts again.
        stored = select(INCIDENTS.c.id, INCIDENTS.c.severity).where(INCIDENTS.c.id.in_(sorted(worst)))
        for incident_id, severity in conn.execute(stored):
            worst[incident_id] = max(worst[incident_id], Severity(severity), key=RANK.__getitem__)
        states = [(severity.value, now, i) for i, severity in worst.items()]
        if conn.dialect.name == "sqlite" and _UPDATE_FROM:
            _sqlite_rows(conn, _SEVERITIES_SQLITE, states)
        else:
            _executemany(conn, "UPDATE incidents SET severity = %s, updated_at = %s WHERE id = %s", states)
        # It is resolved once every alert of it is: only a placed resolution can make that so.
        resolving = sorted({p.incident_id for p in placements if p.alert.status is AlertStatus.RESOLVED})
        if not resolving:
            return
        still_open = set(
            conn.execute(
                select(ALERTS.c.incident_id)
                .where(ALERTS.c.incident_id.in_(resolving), ALERTS.c.status != AlertStatus.RESOLVED.value)
                .distinct()
            ).scalars()
        )
        resolved = [(now, i) for i in resolving if i not in still_open]
        if resolved:
            _executemany(
                conn,
                f"UPDATE incidents SET status = '{IncidentStatus.RESOLVED.value}', resolved_at = %s "
                "WHERE id = %s",
                resolved,
            )

    def incident(self, incident_id: IncidentId) -> Incident | None:
        """Return one incident with its alerts and grouping reasons, or None."""
        with self.engine.connect() as conn:
            rows = list(conn.execute(select(INCIDENTS).where(INCIDENTS.c.id == incident_id)))
            found = self._hydrate(conn, rows, reasons=True)
        return found[0] if found else None

    def incident_digest(self, incident_id: IncidentId) -> Incident | None:
        """Return one incident with the earliest alert of each service, name, severity and status, the
        grouping reasons of those alerts, and how many alerts (and firing ones) it holds; or None.

        Two aggregate queries over the incident's alerts instead of turning each row into an object:
        an incident of 100,000 alerts reads as a few dozen.
        """
        with self.engine.connect() as conn:
            rows = list(conn.execute(select(INCIDENTS).where(INCIDENTS.c.id == incident_id)))
            if not rows:
                return None
            (incident,) = self._digests(conn, rows)
            fingerprints = sorted({a.fingerprint for a in incident.alerts})
            reasons = tuple(
                GroupingReason(fingerprint=g.fingerprint, rule=g.rule, explanation=g.explanation, at=g.at)
                for g in conn.execute(
                    select(REASONS)
                    .where(REASONS.c.incident_id == incident_id, REASONS.c.fingerprint.in_(fingerprints))
                    .order_by(REASONS.c.id)
                )
            )
        return replace(incident, grouping=reasons)

    def incident_alerts(self, incident_id: IncidentId, *, limit: int, after: int = 0) -> AlertPage | None:
        """Return up to `limit` of the incident's alerts after position `after`, in the order received.

        The position is the alert's row id (commit order), so a page is one index range scan however
        many alerts the incident holds, and alerts committed later always come after it.
        """
        with self.engine.connect() as conn:
            if conn.execute(select(INCIDENTS.c.id).where(INCIDENTS.c.id == incident_id)).first() is None:
                return None
            rows = list(
                conn.execute(
                    select(ALERTS)
                    .where(ALERTS.c.incident_id == incident_id, ALERTS.c.id > after)
                    .order_by(ALERTS.c.id)
                    .limit(limit + 1)
                )
            )
            total = conn.execute(
                select(func.count()).select_from(ALERTS).where(ALERTS.c.incident_id == incident_id)
            ).scalar_one()
        page = rows[:limit]
        more = len(rows) > limit
        return AlertPage(
            alerts=tuple(_to_alert(r) for r in page),
            next_after=int(page[-1].id) if more else None,
            alert_count=int(total),
        )

    def incidents(
        self, *, status: IncidentStatus | None = None, limit: int = 100, offset: int = 0
    ) -> tuple[Incident, ...]:
        """Return incidents newest-updated first, optionally only those with `status`, as digests."""
        query = select(INCIDENTS).order_by(INCIDENTS.c.updated_at.desc(), INCIDENTS.c.id)
        if status is not None:
            query = query.where(INCIDENTS.c.status == status.value)
        with self.engine.connect() as conn:
            return self._digests(conn, list(conn.execute(query.limit(limit).offset(offset))))

    def _digests(self, conn: Connection, rows: list[Any]) -> tuple[Incident, ...]:
        """Return `rows` as incidents holding their alerts' digest and totals (no grouping reasons)."""
        if not rows:
            return ()
        ids = [r.id for r in rows]
        series = (ALERTS.c.incident_id, ALERTS.c.service, ALERTS.c.name, ALERTS.c.severity, ALERTS.c.status)
        earliest = func.row_number().over(
            partition_by=series, order_by=(ALERTS.c.starts_at, ALERTS.c.fingerprint)
        )
        ranked = select(ALERTS.c.id, earliest.label("n")).where(ALERTS.c.incident_id.in_(ids)).subquery()
        chosen = set(conn.execute(select(ranked.c.id).where(ranked.c.n == 1)).scalars())
        counts: dict[str, dict[str, int]] = {i: {} for i in ids}
        by_status = select(ALERTS.c.incident_id, ALERTS.c.status, func.count()).where(
            ALERTS.c.incident_id.in_(ids)
        )
        for incident_id, alert_status, n in conn.execute(
            by_status.group_by(ALERTS.c.incident_id, ALERTS.c.status)
        ):
            counts[incident_id][alert_status] = n
        return tuple(
            replace(
                incident,
                alerts_total=sum(counts[incident.id].values()),
                firing_total=counts[incident.id].get(AlertStatus.FIRING.value, 0),
            )
            for incident in self._hydrate(conn, rows, reasons=False, alert_ids=chosen)
        )

    def resolve_incident(self, incident_id: IncidentId, *, at: datetime) -> bool:
        """Mark the incident resolved at `at`; False if there is no such incident."""
        with self.engine.begin() as conn:
            done = conn.execute(
                update(INCIDENTS)
                .where(INCIDENTS.c.id == incident_id)
                .values(status=IncidentStatus.RESOLVED.value, resolved_at=at, updated_at=at)
            )
        return bool(done.rowcount)

    def _hydrate(
        self, conn: Connection, rows: list[Any], *, reasons: bool, alert_ids: Collection[int] | None = None
    ) -> tuple[Incident, ...]:
        if not rows:
            return ()
        ids = [r.id for r in rows]
        alerts: dict[str, list[Alert]] = {i: [] for i in ids}
        which = ALERTS.c.incident_id.in_(ids) if alert_ids is None else ALERTS.c.id.in_(sorted(alert_ids))
        for a in conn.execute(select(ALERTS).where(which).order_by(ALERTS.c.starts_at, ALERTS.c.id)):
            alerts[a.incident_id].append(_to_alert(a))
        grouping: dict[str, list[GroupingReason]] = {i: [] for i in ids}
        if reasons:
            for g in conn.execute(
                select(REASONS).where(REASONS.c.incident_id.in_(ids)).order_by(REASONS.c.id)
            ):
                grouping[g.incident_id].append(
                    GroupingReason(fingerprint=g.fingerprint, rule=g.rule, explanation=g.explanation, at=g.at)
                )
        return tuple(
            Incident(
                id=IncidentId(r.id),
                title=r.title,
                status=IncidentStatus(r.status),
                severity=Severity(r.severity),
                symptom=None if r.symptom is None else ServiceId(r.symptom),
                opened_at=r.opened_at,
                updated_at=r.updated_at,
                alerts=tuple(alerts[r.id]),
                grouping=tuple(grouping[r.id]),
                resolved_at=r.resolved_at,
            )
            for r in rows
        )

    # -- BriefStore ------------------------------------------------------------------------------

    def save_brief(self, brief: Brief) -> None:
        """Store `brief` as its incident's version `brief.version`."""
        with self.engine.begin() as conn:
            conn.execute(
                BRIEFS.insert().values(
                    incident_id=brief.incident_id,
                    version=brief.version,
                    generated_at=brief.generated_at,
                    body=brief_to_json(brief),
                )
            )

    def latest_brief(self, incident_id: IncidentId) -> Brief | None:
        """Return the newest brief of the incident, or None if none is stored yet."""
        query = (
            select(BRIEFS.c.body)
            .where(BRIEFS.c.incident_id == incident_id)
            .order_by(BRIEFS.c.version.desc())
            .limit(1)
        )
        with self.engine.connect() as conn:
            body = conn.execute(query).scalar()
        return None if body is None else brief_from_json(body)

    def incidents_without_brief(self) -> tuple[IncidentId, ...]:
        """Return open incidents that have no brief yet (to investigate on start-up)."""
        has_brief = select(BRIEFS.c.incident_id).where(BRIEFS.c.incident_id == INCIDENTS.c.id).exists()
        query = (
            select(INCIDENTS.c.id)
            .where(INCIDENTS.c.status != IncidentStatus.RESOLVED.value, ~has_brief)
            .order_by(INCIDENTS.c.opened_at)
        )
        with self.engine.connect() as conn:
            return tuple(IncidentId(i) for i in conn.execute(query).scalars())

    def count_alerts(self) -> int:
        """Return how many alerts are stored (tests and the ingest benchmark check this)."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(ALERTS)).scalar_one())
