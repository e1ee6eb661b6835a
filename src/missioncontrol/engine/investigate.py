"""Investigate an incident: build its `Case` from the ports, diagnose it, and write the brief.

    incident ──► Case ──► Diagnoser.diagnose ──► Brief ──► enrichers, in order ──► BriefStore
    (store)      telemetry around the alert        impact, owner      knowledge, then respond
                 (TelemetryStore.read), graph and
                 changes as of then (WorldModel)

Each refresh stores a new version of the brief. An enricher that fails leaves the brief as it was
and says so in `Brief.notes`: a broken add-on never costs the operator the diagnosis.
"""

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from missioncontrol.domain import (
    Alert,
    AlertStatus,
    Brief,
    Case,
    Change,
    Diagnosis,
    Impact,
    Incident,
    IncidentId,
    ServiceGraph,
    ServiceId,
    Severity,
    Telemetry,
)
from missioncontrol.domain.collector import collector_paused
from missioncontrol.ports import (
    BriefEnricher,
    BriefStore,
    Diagnoser,
    IncidentStore,
    ReadGaps,
    TelemetryStore,
    WorldModel,
)

log = logging.getLogger(__name__)
RANK = {Severity.CRITICAL: 3, Severity.WARNING: 2, Severity.INFO: 1, Severity.UNKNOWN: 0}


@dataclass(frozen=True, slots=True)
class InvestigationConfig:
    """How much telemetry around the alert an investigation reads."""

    lookback: timedelta = timedelta(minutes=30)  # before the first alert: the baseline
    # After it, at most (never past now): the engine reads a case with an alert only up to the
    # time its brief is due (`EngineConfig.after_alert_s`), so more would be read for nothing.
    after: timedelta = timedelta(minutes=2)
    blast_hops: int = 3
    # Periods known to be healthy (a fault-free reference run): their telemetry is the case's
    # `baseline`, as offline cases carry one; empty: the baseline is only what came before the onset.
    reference_windows: tuple[tuple[datetime, datetime], ...] = ()
    # With a reference run that holds spans, the incident's own spans are read only from this long
    # before the alert (the engine's `EngineConfig.spans_weighed_before_alert_s`): it weighs no older
    # ones, and the graph they would add is the world model's. None reads them all.
    span_history: timedelta | None = None


def lead_alert(incident: Incident) -> Alert | None:
    """Return the alert the investigation starts from: the earliest of the most severe firing ones."""
    firing = [a for a in incident.alerts if a.status is AlertStatus.FIRING] or list(incident.alerts)
    if not firing:
        return None
    return min(firing, key=lambda a: (-RANK[a.severity], a.started_at, a.fingerprint))


def build_case(
    incident: Incident,
    *,
    telemetry: TelemetryStore | None,
    world: WorldModel | None,
    now: datetime,
    config: InvestigationConfig = InvestigationConfig(),
    baseline: Telemetry | Callable[[], Telemetry] | None = None,
) -> Case:
    """Return the case the engine sees for `incident`: its lead alert and the world around it.

    `baseline`, when given, is the reference windows' telemetry, or how to get it (`ReferenceCache`);
    else the reference windows are read from `telemetry`.

    The graph, the changes and the reference windows are read on a second thread while this one
    reads the incident's own window: a store query releases the GIL while it runs, so the queries of
    one overlap the other's conversion of hundreds of thousands of rows into spans.
    """
    alert = lead_alert(incident)
    anchor = alert.started_at if alert is not None else incident.opened_at
    start = anchor - config.lookback
    end = min(now, anchor + config.after)
    if end <= anchor:
        end = anchor + timedelta(minutes=1)

    def around() -> tuple[ServiceGraph | None, tuple[Change, ...], Telemetry]:
        graph = world.graph_at(anchor) if world is not None else None
        if baseline is None:
            reference = reference_telemetry(telemetry, config.reference_windows)
        else:
            reference = baseline if isinstance(baseline, Telemetry) else baseline()
        changes = world.changes_between(start, end) if world is not None else ()
        return graph, changes, reference

    # Older spans are left out only where a reference run can stand in for them: trimmed, the read
    # holds about a third fewer spans (on Nezha windows), and turning them into objects is most of it.
    spans_from = None
    if alert is not None and config.span_history is not None and (config.reference_windows or baseline):
        spans_from = anchor - config.span_history
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="investigate-around") as beside:
        rest = beside.submit(around)
        data = (
            telemetry.read(start=start, end=end, services=None, spans_from=spans_from)
            if telemetry is not None
            else Telemetry()
        )
        graph, changes, reference = rest.result()
    if spans_from is not None and not reference.spans and telemetry is not None:
        # The reference run holds no spans after all: the engine compares with the minutes before the
        # onset, so it needs the whole window's.
        data = telemetry.read(start=start, end=end, services=None)
    return Case(
        id=incident.id,
        system="live",
        telemetry=data,
        graph=graph,
        changes=changes,
        alert=alert,
        baseline=reference,
        description=incident.title,
    )


def reference_telemetry(
    telemetry: TelemetryStore | None, windows: Sequence[tuple[datetime, datetime]]
) -> Telemetry:
    """Return the telemetry of the known-healthy reference windows, in order (empty without any)."""
    baseline = Telemetry()
    if telemetry is None:
        return baseline
    for ref_start, ref_end in windows:
        ref = telemetry.read(start=ref_start, end=ref_end, services=None)
        baseline = Telemetry(
            metrics=baseline.metrics + ref.metrics,
            logs=baseline.logs + ref.logs,
            spans=baseline.spans + ref.spans,
        )
    return baseline


class ReferenceCache:
    """The reference windows' telemetry, read once they are over and reused by every investigation.

    The windows are configured, known-healthy periods: once they end, what they hold no longer
    changes, yet each refresh of each brief read them again (on a Nezha case 870 series, 4k log
    lines and 8k spans, a tenth of the investigation). A window not yet over is read every time.
    Late samples for a past window are the one thing missed; that window is healthy by definition.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[int, tuple[tuple[datetime, datetime], ...]] | None = None
        self._value = Telemetry()

    def get(
        self,
        telemetry: TelemetryStore | None,
        windows: tuple[tuple[datetime, datetime], ...],
        *,
        now: datetime,
    ) -> Telemetry:
        """Return the windows' telemetry from `telemetry`, from the cache when already read and over."""
        if telemetry is None or not windows:
            return Telemetry()
        key = (id(telemetry), windows)
        with self._lock:
            if self._key == key:
                return self._value
        value = reference_telemetry(telemetry, windows)
        if all(end <= now for _, end in windows):
            with self._lock:
                self._key, self._value = key, value
        return value


def impact_of(incident: Incident, diagnosis: Diagnosis) -> Impact:
    """Return which signals are hurt, since when, and a one-line summary with the blast radius."""
    firing = [a for a in incident.alerts if a.status is AlertStatus.FIRING]
    signals = tuple(
        dict.fromkeys(f"{a.service or 'unknown service'} {a.signal}: {a.summary or a.name}" for a in firing)
    )
    since = min((a.started_at for a in incident.alerts), default=None)
    services = sorted({a.service for a in firing if a.service is not None})
    summary = (
        f"{incident.firing_count} alert(s) firing on {', '.join(services) or 'no named service'}"
        if firing
        else "every alert of this incident has resolved"
    )
    if diagnosis.blast_radius:
        summary += (
            f"; blast radius {len(diagnosis.blast_radius)} service(s): {', '.join(diagnosis.blast_radius)}"
        )
    return Impact(signals=signals, since=since, summary=summary)


class Investigator:
    """Turns an incident into a stored, enriched brief (a new version each time it runs)."""

    def __init__(
        self,
        diagnoser: Diagnoser,
        incidents: IncidentStore,
        briefs: BriefStore,
        *,
        telemetry: TelemetryStore | None = None,
        world: WorldModel | None = None,
        enrichers: Sequence[BriefEnricher] = (),
        clock: Callable[[], datetime],
        config: InvestigationConfig = InvestigationConfig(),
    ) -> None:
        self.diagnoser = diagnoser
        self.incidents = incidents
        self.briefs = briefs
        self.telemetry = telemetry
        self.world = world
        self.enrichers = tuple(enrichers)
        self.clock = clock
        self.config = config
        self._references = ReferenceCache()

    def investigate(self, incident_id: IncidentId) -> Brief | None:
        """Diagnose the incident, enrich and store the brief; return it (None if no such incident)."""
        # The digest: an alert storm's incident reads as one alert per series, not 100,000 objects.
        incident = self.incidents.incident_digest(incident_id)
        if incident is None:
            return None
        now = self.clock()
        with collector_paused():
            case = build_case(
                incident,
                telemetry=self.telemetry,
                world=self.world,
                now=now,
                config=self.config,
                baseline=lambda: self._references.get(self.telemetry, self.config.reference_windows, now=now),
            )
            # Asked on the thread that read the incident's window: what that read could not include.
            gaps = self.telemetry.last_read_gaps() if isinstance(self.telemetry, ReadGaps) else ()
            diagnosis = self.diagnoser.diagnose(case)
            alert = case.alert
            del case  # its spans go by reference counting before the collector is back: never scanned
        previous = self.briefs.latest_brief(incident_id)
        brief = Brief(
            incident_id=incident_id,
            generated_at=self.clock(),
            diagnosis=diagnosis,
            version=1 if previous is None else previous.version + 1,
            impact=impact_of(incident, diagnosis),
            owner=self._owner(diagnosis, incident, alert),
            notes=gaps,
        )
        for enricher in self.enrichers:
            try:
                brief = enricher.enrich(brief)
            except Exception as exc:  # an add-on failing must not cost the operator the diagnosis
                log.warning("enricher %s failed on %s: %s", enricher.name, incident_id, type(exc).__name__)
                brief = replace(brief, notes=(*brief.notes, f"{enricher.name} could not run: {exc}"[:300]))
        self.briefs.save_brief(brief)
        return brief

    def _owner(self, diagnosis: Diagnosis, incident: Incident, alert: Alert | None) -> str:
        if self.world is None:
            return ""
        at = alert.started_at if alert is not None else incident.opened_at
        candidates: list[ServiceId] = list(diagnosis.ranked_services[:1])
        if incident.symptom is not None:
            candidates.append(incident.symptom)
        for service in candidates:
            entry = self.world.catalog_entry(service, at=at)
            if entry is not None and entry.owner:
                return entry.owner
        return ""
