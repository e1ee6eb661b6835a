"""The background worker: grouping keeps pace with investigations during an alert storm."""

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from missioncontrol.domain import (
    Alert,
    AlertStatus,
    Brief,
    CatalogEntry,
    Change,
    IncidentId,
    ServiceGraph,
    ServiceId,
    Severity,
)
from missioncontrol.engine.worker import IncidentWorker, WorkerConfig
from missioncontrol.storage.incidents import SqlIncidentStore, write_alerts
from missioncontrol.storage.world import SqlWorldModel

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def storm(count: int) -> list[Alert]:
    """`count` firing alerts of distinct fingerprints on two services, a second apart."""
    return [
        Alert(
            f"storm-{i:05d}",
            "HighErrorRate",
            Severity.WARNING,
            AlertStatus.FIRING,
            None,
            f"svc-{i % 2}",
            T0 + timedelta(seconds=i),
            T0 + timedelta(seconds=i),
        )
        for i in range(count)
    ]


def test_an_incident_is_investigated_before_a_backlog_of_alerts_is_all_grouped(db_engine: Engine) -> None:
    # A storm arriving faster than the grouper groups it used to hold every investigation back until
    # the backlog was empty: under sustained overload, no incident got a brief at all.
    store = SqlIncidentStore(db_engine)
    with db_engine.begin() as conn:
        write_alerts(conn, storm(200))
    backlog_at_first_investigation: list[int] = []
    investigated = threading.Event()

    def investigate(_incident_id: IncidentId) -> Brief | None:
        if not investigated.is_set():
            backlog_at_first_investigation.append(len(store.unprocessed_alerts(limit=1000)))
            investigated.set()
        return None

    worker = IncidentWorker(
        store,
        store,
        investigate,
        world=None,
        clock=lambda: T0 + timedelta(minutes=5),
        config=WorkerConfig(batch=1, linger_s=0.0, poll_s=0.05),
    )
    worker.start()
    try:
        assert investigated.wait(timeout=30)
        assert backlog_at_first_investigation[0] > 0  # it started while alerts still waited
        for _ in range(600):  # and the backlog still drains
            if not store.unprocessed_alerts(limit=1):
                break
            threading.Event().wait(0.05)
        assert not store.unprocessed_alerts(limit=1)
    finally:
        worker.close()
    assert store.open_incidents(since=T0)  # the storm became incident(s), every alert placed


class CountingWorld:
    """The real world model, counting how often the grouper asks it for the call graph."""

    def __init__(self, world: SqlWorldModel) -> None:
        self.world = world
        self.graph_reads = 0

    def graph_at(self, at: datetime) -> ServiceGraph:
        self.graph_reads += 1
        return self.world.graph_at(at)

    def changes_between(self, start: datetime, end: datetime) -> tuple[Change, ...]:
        return self.world.changes_between(start, end)


def test_the_first_alert_of_a_quiet_estate_opens_its_incident_without_reading_the_graph(
    db_engine: Engine,
) -> None:
    store = SqlIncidentStore(db_engine)
    world = CountingWorld(SqlWorldModel(db_engine, None))
    world.world.record_catalog(
        [
            CatalogEntry(ServiceId("checkout"), depends_on=(ServiceId("payments"),)),
            CatalogEntry(ServiceId("payments")),
        ],
        [],
        at=T0 - timedelta(days=1),
    )
    worker = IncidentWorker(
        store, store, lambda _id: None, world=world, clock=lambda: T0 + timedelta(minutes=5)
    )

    def fire(fingerprint: str, service: str, at_s: float) -> tuple[IncidentId, ...]:
        at = T0 + timedelta(seconds=at_s)
        alert = Alert(
            fingerprint,
            "HighErrorRate",
            Severity.WARNING,
            AlertStatus.FIRING,
            ServiceId(service),
            "e",
            at,
            at,
        )
        with db_engine.begin() as conn:
            write_alerts(conn, [alert])
        return worker.group_pending()

    (first,) = fire("p1", "payments", 0)
    assert world.graph_reads == 0  # nothing open, one service: the graph could place it nowhere else
    (again,) = fire("p2", "payments", 10)
    assert again == first and world.graph_reads == 1  # an incident is open now: the graph is asked
    (caller,) = fire("c1", "checkout", 20)
    assert caller == first  # checkout calls payments: the topology rule needed the graph, and had it
    incident = store.incident(first)
    assert incident is not None and [g.rule for g in incident.grouping] == ["new", "same_service", "topology"]
