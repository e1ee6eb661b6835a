"""Investigation: a stored incident becomes a Case from the ports, a diagnosis, and a versioned brief."""

import gc
import threading
from collections.abc import Collection, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from missioncontrol import bootstrap
from missioncontrol.domain import (
    Alert,
    AlertStatus,
    Brief,
    Case,
    Change,
    Diagnosis,
    Incident,
    IncidentId,
    IncidentStatus,
    LabeledCase,
    LogRecord,
    ServiceGraph,
    ServiceId,
    Severity,
    Span,
    Telemetry,
)
from missioncontrol.domain.collector import collector_paused
from missioncontrol.engine.diagnose import EngineConfig
from missioncontrol.engine.investigate import (
    InvestigationConfig,
    Investigator,
    ReferenceCache,
    build_case,
    lead_alert,
)
from missioncontrol.engine.worker import IncidentWorker
from missioncontrol.ports import Diagnoser
from missioncontrol.settings import Settings
from missioncontrol.storage.incidents import SqlIncidentStore, write_alerts
from missioncontrol.storage.telemetry import ChdbTelemetryStore


@pytest.fixture(scope="module")
def labeled() -> LabeledCase:
    """A small simulated incident: 8 services, metrics only, a bad change in `content`."""
    return bootstrap.scale_cases(8, count=1, with_logs_and_spans=False)[0]


@pytest.fixture
def telemetry(tmp_path: Path, labeled: LabeledCase) -> Iterator[ChdbTelemetryStore]:
    store = ChdbTelemetryStore(tmp_path / "telemetry")
    store.append(labeled.case.telemetry)
    yield store
    store.close()


class Recorder:
    """An enricher that notes its name, so the order the investigator runs them in shows."""

    def __init__(self, name: str, *, fails: bool = False) -> None:
        self.name = name
        self.fails = fails

    def enrich(self, brief: Brief) -> Brief:
        if self.fails:
            raise RuntimeError("knowledge bank offline")
        return replace(brief, notes=(*brief.notes, self.name))


def stored_incident(db_engine: Engine, alert: Alert) -> tuple[SqlIncidentStore, IncidentId]:
    store = SqlIncidentStore(db_engine)
    with db_engine.begin() as conn:
        write_alerts(conn, [alert])
    worker = IncidentWorker(store, store, lambda _id: None, world=None, clock=lambda: alert.received_at)
    (incident_id,) = worker.group_pending()
    return store, incident_id


def test_investigation_reads_telemetry_around_the_alert_and_names_the_cause(
    db_engine: Engine, telemetry: ChdbTelemetryStore, labeled: LabeledCase
) -> None:
    alert = labeled.case.alert
    assert alert is not None and labeled.truth is not None
    store, incident_id = stored_incident(db_engine, alert)
    now = alert.started_at + timedelta(minutes=3)
    investigator = Investigator(
        bootstrap.build_engine(Settings(workers=1)),
        store,
        store,
        telemetry=telemetry,
        enrichers=(Recorder("knowledge"), Recorder("respond")),
        clock=lambda: now,
    )
    brief = investigator.investigate(incident_id)
    assert brief is not None and brief.version == 1
    assert brief.diagnosis.ranked_services[0] == labeled.truth.service
    assert brief.diagnosis.symptom == alert.service
    assert brief.notes[-2:] == ("knowledge", "respond")  # in the order given
    assert brief.impact.since == alert.started_at and alert.service in brief.impact.summary
    assert store.latest_brief(incident_id) == brief
    again = investigator.investigate(incident_id)
    assert again is not None and again.version == 2
    assert store.latest_brief(incident_id) == again


def test_a_failing_enricher_leaves_the_brief_and_says_so(db_engine: Engine, labeled: LabeledCase) -> None:
    alert = labeled.case.alert
    assert alert is not None
    store, incident_id = stored_incident(db_engine, alert)
    investigator = Investigator(
        bootstrap.build_engine(Settings(workers=1)),
        store,
        store,
        enrichers=(Recorder("knowledge", fails=True), Recorder("respond")),
        clock=lambda: alert.received_at,
    )
    brief = investigator.investigate(incident_id)
    assert brief is not None
    assert brief.notes[-2:] == ("knowledge could not run: knowledge bank offline", "respond")
    assert investigator.investigate(IncidentId("no-such")) is None


def test_case_is_anchored_on_the_most_severe_earliest_firing_alert() -> None:
    t0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)

    def a(fp: str, severity: Severity, at_s: int, status: AlertStatus = AlertStatus.FIRING) -> Alert:
        at = t0 + timedelta(seconds=at_s)
        return Alert(fp, "X", severity, status, None, "s", at, at)

    alerts = (
        a("warn", Severity.WARNING, 0),
        a("crit-late", Severity.CRITICAL, 60),
        a("crit", Severity.CRITICAL, 30),
        a("gone", Severity.CRITICAL, 10, AlertStatus.RESOLVED),
    )
    incident = Incident(IncidentId("i"), "t", IncidentStatus.OPEN, Severity.CRITICAL, None, t0, t0, alerts)
    assert lead_alert(incident) == alerts[2]
    now = t0 + timedelta(minutes=2)
    case = build_case(incident, telemetry=None, world=None, now=now)
    assert case.alert == alerts[2] and case.id == "i" and case.graph is None


class CountingReads:
    """A telemetry store that counts reads and answers each window with one span starting in it."""

    def __init__(self) -> None:
        self.reads: list[tuple[datetime, datetime]] = []

    def read(
        self,
        *,
        start: datetime,
        end: datetime,
        services: Collection[ServiceId] | None = None,
        spans_from: datetime | None = None,
    ) -> Telemetry:
        self.reads.append((start, end))
        start_ns = int(start.timestamp()) * 1_000_000_000
        return Telemetry(
            spans=(Span("t", f"{len(self.reads)}", None, ServiceId("a"), "op", start_ns, start_ns),)
        )

    def append(self, telemetry: Telemetry) -> None:
        raise AssertionError("investigations never write telemetry")


def test_reference_windows_are_read_once_when_over_and_every_time_while_not() -> None:
    t0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    past = ((t0, t0 + timedelta(minutes=10)), (t0 + timedelta(hours=1), t0 + timedelta(hours=2)))
    store, cache = CountingReads(), ReferenceCache()
    now = t0 + timedelta(hours=3)
    first = cache.get(store, past, now=now)
    assert store.reads == list(past)
    assert [s.span_id for s in first.spans] == ["1", "2"]  # both windows, in order
    assert cache.get(store, past, now=now + timedelta(hours=1)) is first
    assert len(store.reads) == 2
    assert cache.get(store, (), now=now) == Telemetry() and cache.get(None, past, now=now) == Telemetry()

    ongoing = ((t0, now + timedelta(minutes=5)),)
    cache.get(store, ongoing, now=now)
    cache.get(store, ongoing, now=now)
    assert len(store.reads) == 4  # not over yet: late samples may still land in it
    other = CountingReads()
    cache.get(other, past, now=now)
    assert len(other.reads) == 2  # another store's windows are its own


def test_the_case_baseline_is_the_reference_windows_telemetry() -> None:
    t0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    alert = Alert("fp", "X", Severity.CRITICAL, AlertStatus.FIRING, ServiceId("a"), "s", t0, t0)
    incident = Incident(IncidentId("i"), "t", IncidentStatus.OPEN, Severity.CRITICAL, None, t0, t0, (alert,))
    windows = ((t0 - timedelta(days=1), t0 - timedelta(days=1) + timedelta(minutes=30)),)
    config = InvestigationConfig(reference_windows=windows)
    store = CountingReads()
    read_here = build_case(incident, telemetry=store, world=None, now=t0, config=config)
    given = Telemetry(logs=(LogRecord(1.0, ServiceId("a"), "m"),))
    handed = build_case(incident, telemetry=store, world=None, now=t0, config=config, baseline=given)
    assert [s.start_ns for s in read_here.baseline.spans] == [int(windows[0][0].timestamp()) * 1_000_000_000]
    assert handed.baseline is given
    assert store.reads.count(windows[0]) == 1  # handed a baseline, the case does not read it again


def test_with_a_reference_run_the_case_holds_only_the_spans_the_engine_weighs(tmp_path: Path) -> None:
    """A real chDB store: spans every minute for an hour before the alert, and a reference window."""
    t0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    alert = Alert("fp", "X", Severity.CRITICAL, AlertStatus.FIRING, ServiceId("a"), "s", t0, t0)
    incident = Incident(IncidentId("i"), "t", IncidentStatus.OPEN, Severity.CRITICAL, None, t0, t0, (alert,))

    def spans(first: datetime, minutes: int, tag: str) -> tuple[Span, ...]:
        return tuple(
            Span(f"{tag}{m:030x}", f"{m:016x}", None, ServiceId("a"), "op", ns, ns + 1_000_000)
            for m in range(minutes)
            if (ns := int((first + timedelta(minutes=m)).timestamp()) * 1_000_000_000)
        )

    history = timedelta(seconds=EngineConfig().spans_weighed_before_alert_s())
    reference = (t0 - timedelta(days=1), t0 - timedelta(days=1) + timedelta(minutes=10))
    with ChdbTelemetryStore(tmp_path / "telemetry") as store:
        store.append(Telemetry(spans=spans(t0 - timedelta(minutes=60), 62, "aa")))
        logs_only = (t0 - timedelta(days=2), t0 - timedelta(days=2) + timedelta(minutes=10))
        store.append(
            Telemetry(logs=(LogRecord((logs_only[0] + timedelta(minutes=1)).timestamp(), "a", "m"),))
        )
        store.append(Telemetry(spans=spans(reference[0], 10, "bb")))
        config = InvestigationConfig(reference_windows=(reference,), span_history=history)
        trimmed = build_case(incident, telemetry=store, world=None, now=t0, config=config)
        assert len(trimmed.baseline.spans) == 10
        assert min(s.start_ns for s in trimmed.telemetry.spans) == int((t0 - history).timestamp() * 1e9)
        assert len(trimmed.telemetry.spans) == history.total_seconds() // 60 + 1  # up to the alert
        assert len(trimmed.telemetry.metrics + trimmed.telemetry.logs) == 0
        whole = build_case(
            incident, telemetry=store, world=None, now=t0, config=replace(config, span_history=None)
        )
        assert len(whole.telemetry.spans) == 31  # the 30-minute lookback and the alert's minute
        # A reference without spans cannot stand in for the older ones: the whole window is read.
        no_spans = replace(config, reference_windows=(logs_only,))
        fallback = build_case(incident, telemetry=store, world=None, now=t0, config=no_spans)
        assert not fallback.baseline.spans and len(fallback.baseline.logs) == 1
        assert fallback.telemetry.spans == whole.telemetry.spans


def test_an_investigation_reads_no_further_than_the_engine_weighs() -> None:
    assert InvestigationConfig().after.total_seconds() == EngineConfig().after_alert_s


class SlowWorld:
    """A world model whose answers are awaited by the telemetry read: only a concurrent read ends."""

    def __init__(self, *, fails: bool = False) -> None:
        self.asked = threading.Event()
        self.fails = fails

    def graph_at(self, at: datetime) -> ServiceGraph:
        self.asked.set()
        if self.fails:
            raise RuntimeError("world model offline")
        return ServiceGraph(edges=frozenset({(ServiceId("a"), ServiceId("b"))}))

    def changes_between(self, start: datetime, end: datetime) -> tuple[Change, ...]:
        return ()


class WaitingReads(CountingReads):
    def __init__(self, world: SlowWorld) -> None:
        super().__init__()
        self.world = world

    def read(
        self,
        *,
        start: datetime,
        end: datetime,
        services: Collection[ServiceId] | None = None,
        spans_from: datetime | None = None,
    ) -> Telemetry:
        assert self.world.asked.wait(timeout=10), "the graph was not read beside the window"
        return super().read(start=start, end=end, services=services, spans_from=spans_from)


def test_the_graph_and_reference_are_read_beside_the_window_and_their_failure_is_the_investigations() -> None:
    t0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    alert = Alert("fp", "X", Severity.CRITICAL, AlertStatus.FIRING, ServiceId("a"), "s", t0, t0)
    incident = Incident(IncidentId("i"), "t", IncidentStatus.OPEN, Severity.CRITICAL, None, t0, t0, (alert,))
    world = SlowWorld()
    given = Telemetry(logs=(LogRecord(1.0, ServiceId("a"), "m"),))
    case = build_case(
        incident,
        telemetry=WaitingReads(world),
        world=world,
        now=t0,
        baseline=lambda: given,  # type: ignore[arg-type]
    )
    assert case.graph is not None and case.graph.edges == {("a", "b")}
    assert case.baseline is given and len(case.telemetry.spans) == 1
    broken = SlowWorld(fails=True)
    with pytest.raises(RuntimeError, match="world model offline"):
        build_case(incident, telemetry=WaitingReads(broken), world=broken, now=t0)  # type: ignore[arg-type]


class CollectorWatch:
    """A diagnoser that notes whether the cyclic collector runs while it diagnoses."""

    name = "watch"

    def __init__(self, engine: Diagnoser) -> None:
        self.engine = engine
        self.enabled: list[bool] = []

    def diagnose(self, case: Case) -> Diagnosis:
        self.enabled.append(gc.isenabled())
        return self.engine.diagnose(case)


def test_the_collector_is_paused_while_the_case_is_alive_and_given_back_as_found(
    db_engine: Engine, telemetry: ChdbTelemetryStore, labeled: LabeledCase
) -> None:
    alert = labeled.case.alert
    assert alert is not None
    store, incident_id = stored_incident(db_engine, alert)
    watch = CollectorWatch(bootstrap.build_engine(Settings(workers=1)))
    investigator = Investigator(
        watch, store, store, telemetry=telemetry, clock=lambda: alert.started_at + timedelta(minutes=3)
    )
    assert gc.isenabled()
    assert investigator.investigate(incident_id) is not None
    assert watch.enabled == [False] and gc.isenabled()
    gc.disable()
    try:
        investigator.investigate(incident_id)
        assert not gc.isenabled()  # a caller that turned it off keeps it off
    finally:
        gc.enable()
    # Several investigations, each with the store's own pause inside it, overlapping in time.
    barrier = threading.Barrier(4)

    def overlapping(i: int) -> bool:
        with collector_paused():
            barrier.wait(timeout=10)
            with collector_paused():
                return not gc.isenabled()

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert all(pool.map(overlapping, range(4)))
    assert gc.isenabled()
