"""The core state store on SQLite and PostgreSQL: alerts dedup, incidents, grouping reasons, briefs."""

import sqlite3
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine

from missioncontrol.domain import (
    ActionOption,
    Alert,
    AlertStatus,
    Brief,
    Decision,
    Diagnosis,
    Evidence,
    EvidenceKind,
    FaultKind,
    GroupingReason,
    Hypothesis,
    Impact,
    IncidentId,
    IncidentStatus,
    Placement,
    ServiceId,
    Severity,
    SimilarIncident,
    Stance,
    Verdict,
    Weakened,
)
from missioncontrol.storage.board import SqlBoardReader
from missioncontrol.storage.briefs import brief_from_json, brief_to_json
from missioncontrol.storage.db import create_db_engine, migrate
from missioncontrol.storage.inbox import GroupCommitInbox
from missioncontrol.storage.incidents import SqlIncidentStore, _sqlite_write_lock, write_alerts

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def alert(
    fp: str, *, service: str = "payments", at_s: float = 0, status: AlertStatus = AlertStatus.FIRING
) -> Alert:
    return Alert(
        fingerprint=fp,
        name="HighErrorRate",
        severity=Severity.WARNING,
        status=status,
        service=ServiceId(service),
        signal="error_rate",
        started_at=T0 + timedelta(seconds=at_s),
        received_at=T0 + timedelta(seconds=at_s + 2),
        summary="errors above 5 %",
        labels={"alertname": "HighErrorRate", "service": service},
    )


def place(a: Alert, incident: str, *, opens: bool, rule: str = "new") -> Placement:
    reason = GroupingReason(
        fingerprint=a.fingerprint, rule=rule, explanation=f"{rule} because", at=a.received_at
    )
    return Placement(a, IncidentId(incident), reason, opens_incident=opens, title="HighErrorRate on payments")


def full_brief(version: int = 1) -> Brief:
    window = (T0 - timedelta(minutes=30), T0 + timedelta(minutes=5))
    evidence = Evidence(
        kind=EvidenceKind.METRIC_ANOMALY,
        service=ServiceId("db"),
        summary="cpu 4.1× baseline",
        source="metrics",
        query="db/cpu_usage",
        window=window,
        stance=Stance.SUPPORTS,
        value=0.93,
        baseline=0.22,
        weight=1.5,
    )
    top = Hypothesis(
        service=ServiceId("db"),
        fault=FaultKind.CPU,
        cause="CPU saturation in db",
        score=3.2,
        confidence=0.71,
        path=(ServiceId("payments"), ServiceId("db")),
        evidence=(evidence,),
        onset_at=T0 - timedelta(minutes=2),
    )
    other = Hypothesis(
        service=ServiceId("payments"),
        fault=FaultKind.BAD_CHANGE,
        cause="deploy v2",
        score=1.0,
        confidence=0.1,
        path=(ServiceId("payments"),),
        evidence=(),
        onset_at=None,
    )
    diagnosis = Diagnosis(
        case_id="inc-1",
        method="missioncontrol",
        symptom=ServiceId("payments"),
        onset_at=T0 - timedelta(minutes=2),
        window=window,
        hypotheses=(top,),
        weakened=(Weakened(hypothesis=other, reason="deploy after onset"),),
        blast_radius=(ServiceId("checkout"), ServiceId("frontend")),
        notes=("onset found",),
    )
    return Brief(
        incident_id=IncidentId("inc-1"),
        generated_at=T0 + timedelta(seconds=3),
        diagnosis=diagnosis,
        version=version,
        impact=Impact(signals=("payments error_rate",), since=T0, summary="1 alert"),
        owner="team-db",
        similar=(
            SimilarIncident(
                incident_id="inc-0",
                title="db cpu",
                similarity=0.8,
                cause_service=ServiceId("db"),
                cause_fault=FaultKind.CPU,
                fix="scaled db",
                resolved_at=T0 - timedelta(days=3),
                why_similar="same symptom",
            ),
        ),
        decision=Decision(
            verdict=Verdict.ESCALATE,
            on_duty_tier="L1",
            actions=(
                ActionOption(
                    action="restart",
                    service=ServiceId("db"),
                    tier="L2",
                    needs_approval_from=("L3",),
                    reason="cpu",
                ),
            ),
            escalate_to="team-db",
            missing_authority="restart on db needs L2",
            page_team="team-db",
            page_contacts=("db-oncall@example.com", "#db-oncall"),
        ),
        notes=("knowledge: 1 similar",),
    )


def test_brief_json_round_trips_every_field() -> None:
    brief = full_brief()
    assert brief_from_json(brief_to_json(brief)) == brief
    bare = Brief(incident_id=IncidentId("x"), generated_at=T0, diagnosis=brief.diagnosis)
    assert brief_from_json(brief_to_json(bare)) == bare


def test_resent_alerts_make_no_duplicates_and_resolution_updates_status(db_engine: Engine) -> None:
    store = SqlIncidentStore(db_engine)
    with db_engine.begin() as conn:
        write_alerts(conn, [alert("a"), alert("b", at_s=5), alert("a")])
    with db_engine.begin() as conn:
        write_alerts(conn, [alert("a"), alert("b", at_s=5)])
    assert store.count_alerts() == 2
    store.record_placements(
        [place(alert("a"), "inc-1", opens=True), place(alert("b", at_s=5), "inc-1", opens=False)]
    )
    assert store.unprocessed_alerts(limit=10) == ()
    with db_engine.begin() as conn:
        write_alerts(conn, [alert("a", status=AlertStatus.RESOLVED)])
    (pending,) = store.unprocessed_alerts(limit=10)
    assert pending.fingerprint == "a" and pending.status is AlertStatus.RESOLVED
    assert store.count_alerts() == 2


def test_a_large_batch_is_stored_whole_read_back_equal_and_resent_without_duplicates(
    db_engine: Engine,
) -> None:
    """On SQLite a batch is written many rows per statement (256, 64, 16, 4, 1 at a time): 345 alerts
    cross every size. Times given in another zone, with and without microseconds, and labels in any
    script come back as they went in, and the stored times match what the grouper marks processed
    (also many rows per statement: incidents, alert marks, reasons in order, severities)."""
    plus_two = timezone(timedelta(hours=2))
    batch = [
        replace(
            alert(f"fp-{i:03d}", service=f"svc-{i % 7}", at_s=i * 1.000_001 if i % 2 else i),
            received_at=(T0 + timedelta(seconds=i)).astimezone(plus_two),
            labels={"alertname": "HighErrorRate", "note": f'grüße \u2028 "{i}"'},
        )
        for i in range(345)
    ]
    store = SqlIncidentStore(db_engine)
    with db_engine.begin() as conn:
        write_alerts(conn, batch)
    with db_engine.begin() as conn:
        write_alerts(conn, batch[::-1])
    assert store.count_alerts() == 345
    assert store.unprocessed_alerts(limit=1000) == tuple(batch)
    placed = [place(a, f"inc-{i % 7}", opens=i < 7) for i, a in enumerate(batch)]
    placed[-1] = replace(placed[-1], alert=replace(batch[-1], severity=Severity.CRITICAL))
    assert store.record_placements(placed) == tuple(f"inc-{i}" for i in range(7))
    assert store.unprocessed_alerts(limit=1000) == ()
    for k in range(7):
        incident = store.incident(IncidentId(f"inc-{k}"))
        assert incident is not None and incident.status is IncidentStatus.OPEN
        assert [a.fingerprint for a in incident.alerts] == [a.fingerprint for a in batch[k::7]]
        assert [g.fingerprint for g in incident.grouping] == [a.fingerprint for a in batch[k::7]]
        assert incident.severity is (Severity.CRITICAL if k == 344 % 7 else Severity.WARNING)


def test_unprocessed_alerts_come_back_oldest_first_with_every_field(db_engine: Engine) -> None:
    store = SqlIncidentStore(db_engine)
    with db_engine.begin() as conn:
        write_alerts(conn, [alert("late", at_s=60), alert("early")])
    assert [a.fingerprint for a in store.unprocessed_alerts(limit=10)] == ["early", "late"]
    assert store.unprocessed_alerts(limit=10)[0] == alert("early")


def test_placements_open_incidents_with_reasons_and_resolve_them(db_engine: Engine) -> None:
    store = SqlIncidentStore(db_engine)
    a, b = alert("a"), alert("b", service="checkout", at_s=30)
    with db_engine.begin() as conn:
        write_alerts(conn, [a, b])
    touched = store.record_placements(
        [place(a, "inc-1", opens=True), place(b, "inc-1", opens=False, rule="topology")]
    )
    assert touched == (IncidentId("inc-1"),)
    incident = store.incident(IncidentId("inc-1"))
    assert incident is not None
    assert incident.status is IncidentStatus.OPEN and incident.symptom == "payments"
    assert incident.opened_at == T0 and incident.title == "HighErrorRate on payments"
    assert [x.fingerprint for x in incident.alerts] == ["a", "b"]
    assert [r.rule for r in incident.grouping] == ["new", "topology"]
    (open_now,) = store.open_incidents(since=datetime.now(UTC) - timedelta(minutes=1))
    assert open_now.id == "inc-1" and {x.fingerprint for x in open_now.alerts} == {"a", "b"}
    assert store.open_incidents(since=datetime.now(UTC) + timedelta(minutes=1)) == ()
    assert store.incidents_of(["a", "b", "zzz"]) == {"a": "inc-1", "b": "inc-1"}
    assert store.incidents_without_brief() == (IncidentId("inc-1"),)
    for x in (a, b):
        resolved = alert(
            x.fingerprint,
            service=x.service or "",
            at_s=(x.started_at - T0).total_seconds(),
            status=AlertStatus.RESOLVED,
        )
        with db_engine.begin() as conn:
            write_alerts(conn, [resolved])
        store.record_placements([place(resolved, "inc-1", opens=False, rule="same_fingerprint")])
    done = store.incident(IncidentId("inc-1"))
    assert done is not None and done.status is IncidentStatus.RESOLVED and done.resolved_at is not None
    assert store.incidents(status=IncidentStatus.RESOLVED)[0].id == "inc-1"
    assert store.incidents(status=IncidentStatus.OPEN) == ()
    assert store.incidents_without_brief() == ()


def test_briefs_are_versioned_and_the_latest_is_served(db_engine: Engine) -> None:
    store = SqlIncidentStore(db_engine)
    a = alert("a")
    with db_engine.begin() as conn:
        write_alerts(conn, [a])
    store.record_placements([place(a, "inc-1", opens=True)])
    assert store.latest_brief(IncidentId("inc-1")) is None
    store.save_brief(full_brief(version=1))
    store.save_brief(full_brief(version=2))
    assert store.latest_brief(IncidentId("inc-1")) == full_brief(version=2)
    assert store.incidents_without_brief() == ()
    with pytest.raises(Exception):  # noqa: B017  (the same version twice is a bug, whichever driver says so)
        store.save_brief(full_brief(version=2))


def test_group_commit_inbox_commits_before_the_future_resolves(db_engine: Engine) -> None:
    store = SqlIncidentStore(db_engine)
    commits: list[int] = []
    inbox = GroupCommitInbox(db_engine, on_commit=lambda: commits.append(store.count_alerts()))
    inbox.start()
    try:
        futures = [inbox.submit([alert(f"f{i}", at_s=i)]) for i in range(50)]
        results = [f.result(timeout=30) for f in futures]
    finally:
        inbox.close()
    assert sum(r.accepted for r in results) == 50
    assert store.count_alerts() == 50
    assert commits and commits[0] >= 1  # on_commit runs after the rows are visible


def test_open_incidents_hold_the_first_and_last_alert_of_each_service_only(db_engine: Engine) -> None:
    store = SqlIncidentStore(db_engine)
    alerts = [alert(f"p{i}", at_s=i) for i in range(5)] + [alert("c0", service="checkout", at_s=9)]
    with db_engine.begin() as conn:
        write_alerts(conn, alerts)
    store.record_placements([place(a, "inc-1", opens=i == 0) for i, a in enumerate(alerts)])
    (open_now,) = store.open_incidents(since=datetime.now(UTC) - timedelta(minutes=1))
    assert [a.fingerprint for a in open_now.alerts] == ["p0", "p4", "c0"]
    full = store.incident(IncidentId("inc-1"))
    assert full is not None and len(full.alerts) == 6


def test_the_digest_holds_the_earliest_alert_of_each_series_and_counts_them_all(db_engine: Engine) -> None:
    store = SqlIncidentStore(db_engine)
    storm = [alert(f"p{i:03d}", at_s=10 + i) for i in range(200)]  # one series, 200 alerts
    storm += [alert(f"c{i}", service="checkout", at_s=5 + i) for i in range(3)]
    storm += [replace(alert("p-crit", at_s=400), severity=Severity.CRITICAL)]
    storm += [alert(f"r{i}", at_s=i, status=AlertStatus.RESOLVED) for i in range(4)]
    with db_engine.begin() as conn:
        write_alerts(conn, storm)
    store.record_placements([place(a, "inc-1", opens=i == 0) for i, a in enumerate(storm)])
    digest = store.incident_digest(IncidentId("inc-1"))
    full = store.incident(IncidentId("inc-1"))
    assert digest is not None and full is not None
    assert sorted(a.fingerprint for a in digest.alerts) == ["c0", "p-crit", "p000", "r0"]
    assert (digest.alert_count, digest.firing_count) == (208, 204) == (full.alert_count, full.firing_count)
    assert [r.fingerprint for r in digest.grouping] == ["p000", "c0", "p-crit", "r0"]  # of its alerts only
    assert digest.alerts[0].started_at == min(a.started_at for a in full.alerts)
    assert store.incident_digest(IncidentId("no-such")) is None
    (listed,) = store.incidents()  # the list view reads digests too, counts whole
    assert listed.alerts == digest.alerts and (listed.alert_count, listed.firing_count) == (208, 204)
    assert SqlBoardReader(db_engine).alert_totals(["inc-1", "no-such"]) == {"inc-1": (208, 204)}


def test_an_incidents_alerts_page_by_position_and_later_alerts_come_after_the_last_page(
    db_engine: Engine,
) -> None:
    store = SqlIncidentStore(db_engine)
    first = [alert(f"p{i:02d}", at_s=50 - i) for i in range(25)]  # received in an order unlike starts_at
    with db_engine.begin() as conn:
        write_alerts(conn, first)
        write_alerts(conn, [alert("elsewhere", service="checkout")])
    store.record_placements([place(a, "inc-1", opens=i == 0) for i, a in enumerate(first)])
    store.record_placements([place(alert("elsewhere", service="checkout"), "inc-2", opens=True)])

    seen: list[str] = []
    after, pages = 0, 0
    while True:
        page = store.incident_alerts(IncidentId("inc-1"), limit=10, after=after)
        assert page is not None and page.alert_count == 25
        seen += [a.fingerprint for a in page.alerts]
        pages += 1
        if page.next_after is None:
            break
        after = page.next_after
    assert seen == [a.fingerprint for a in first] and pages == 3  # every alert once, in receipt order

    later = [alert("late", at_s=-100)]  # started before all of them, received after
    with db_engine.begin() as conn:
        write_alerts(conn, later)
    store.record_placements([place(later[0], "inc-1", opens=False)])
    last = store.incident_alerts(IncidentId("inc-1"), limit=10, after=after)
    assert last is not None and [a.fingerprint for a in last.alerts] == [
        "p20",
        "p21",
        "p22",
        "p23",
        "p24",
        "late",
    ]
    assert last.alert_count == 26 and last.next_after is None
    exact = store.incident_alerts(IncidentId("inc-1"), limit=6, after=after)
    assert exact is not None and exact.next_after is None  # a full last page says it is the last
    assert store.incident_alerts(IncidentId("no-such"), limit=10) is None


def test_an_alert_write_waits_for_the_write_lock_then_takes_it_and_gives_up_only_after_its_wait(
    tmp_path: Path,
) -> None:
    """SQLite: write_alerts takes the write lock by trying every 1-2 ms (SQLite's own busy wait sleeps
    up to 100 ms between tries, and starves behind a writer that takes the lock back quickly)."""
    engine = create_db_engine(f"sqlite:///{tmp_path / 'state.db'}")
    migrate(engine)
    holder = sqlite3.connect(tmp_path / "state.db", isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.2, lambda: holder.execute("COMMIT"))
    release.start()
    started = time.monotonic()
    with engine.begin() as conn:
        write_alerts(conn, [alert("a")])
        assert time.monotonic() - started >= 0.15  # it waited for the holder
        (busy_ms,) = conn.exec_driver_sql("PRAGMA busy_timeout").one()
        assert busy_ms == 30_000  # the connection's own busy timeout is back
    release.join()
    assert SqlIncidentStore(engine).count_alerts() == 1
    holder.execute("BEGIN IMMEDIATE")
    with engine.connect() as conn, pytest.raises(sqlite3.OperationalError, match="locked"):
        _sqlite_write_lock(conn, wait_s=0.05)
    holder.execute("ROLLBACK")
    engine.dispose()
