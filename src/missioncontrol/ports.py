"""Ports: the capabilities the engine and the drivers need, each a Protocol with one job."""

from collections.abc import Collection, Iterator, Mapping, Sequence
from concurrent.futures import Future
from datetime import datetime
from typing import Protocol

from missioncontrol.domain import (
    Acceptance,
    Alert,
    Brief,
    Case,
    CatalogEntry,
    Change,
    Diagnosis,
    Incident,
    IncidentId,
    IncidentStatus,
    LabeledCase,
    Placement,
    ServiceGraph,
    ServiceId,
    Telemetry,
    TimeMode,
)


class Diagnoser(Protocol):
    """Something that turns a case into a ranked diagnosis: our engine, or a baseline method.

    Example::

        diagnosis = engine.diagnose(case)
        diagnosis.hypotheses[0].service   # the prime suspect
    """

    name: str

    def diagnose(self, case: Case) -> Diagnosis:
        """Return a diagnosis of `case`. Must be deterministic and never read the truth."""
        ...


class CaseSource(Protocol):
    """Somewhere past incidents come from: a case folder, a public dataset, the simulator.

    With `TimeMode.GIVEN` the fault start is handed to the engine in `Case.known_onset_at`; with
    `TimeMode.FOUND` the engine gets only the alert, or nothing, and finds the onset itself, and the
    case's time window is anchored on the alert (or chosen without the truth), never on the fault start.
    """

    name: str

    def cases(self, *, time_mode: TimeMode) -> Iterator[LabeledCase]:
        """Yield labelled cases in a stable order."""
        ...


class TelemetryStore(Protocol):
    """Where telemetry pushed to Mission Control (OTLP) is kept, and read back for an investigation.

    The embedded default is an in-process ClickHouse (chDB) holding the OpenTelemetry Collector's
    ClickHouse exporter schema; the same SQL runs against a user's ClickHouse cluster.

    Example::

        store.append(Telemetry(spans=spans))
        window = store.read(start=onset - timedelta(minutes=30), end=alert_at, services=None)
    """

    def append(self, telemetry: Telemetry) -> None:
        """Store these samples durably. Idempotent callers may send the same samples twice."""
        ...

    def read(
        self, *, start: datetime, end: datetime, services: Collection[ServiceId] | None = None
    ) -> Telemetry:
        """Return the samples in [start, end), for these services or, with None, for all."""
        ...


class WorldModel(Protocol):
    """The production world model, time-aware: what the estate looked like, and what had changed, at t.

    Example::

        graph = world.graph_at(datetime(2026, 12, 2, 9, 12, tzinfo=UTC))
        recent = world.changes_between(onset - timedelta(minutes=30), alert_at)
        owner = world.catalog_entry(ServiceId("checkout"), at=alert_at)
    """

    def graph_at(self, at: datetime) -> ServiceGraph:
        """Return the call graph (from spans, merged with catalog dependencies) as of `at`."""
        ...

    def changes_between(self, start: datetime, end: datetime) -> tuple[Change, ...]:
        """Return the changes (deploys, config, flags, model versions) in [start, end), oldest first."""
        ...

    def catalog_entry(self, service: ServiceId, *, at: datetime) -> CatalogEntry | None:
        """Return what the catalog said about `service` as of `at`, or None if it was not declared."""
        ...


class BriefEnricher(Protocol):
    """A step after the diagnosis that fills in part of the brief: precedent and priors, the decision.

    Enrichers run in a fixed order (knowledge bank first, then the respond policy) and never remove
    what an earlier step wrote. A knowledge enricher may re-rank hypotheses with learnt priors; it must
    keep every hypothesis and say so in the evidence (`EvidenceKind.PRIOR`).

    Example::

        brief = decision_enricher.enrich(knowledge_enricher.enrich(brief))
        brief.decision.verdict   # Verdict.ACT or Verdict.ESCALATE
    """

    name: str

    def enrich(self, brief: Brief) -> Brief:
        """Return a new brief with this step's part filled in."""
        ...


class AlertInbox(Protocol):
    """Where accepted alerts go first: a durable commit before anyone is told "accepted".

    `submit` never blocks on the database. The future resolves once the alerts are committed (so a
    2xx sent after it can be trusted), or fails with the database's error. Resending the same alerts
    (same fingerprint and start) is harmless: they are known, not added again; a resolved status
    updates the stored alert. When too much is waiting, `submit` raises `Overloaded` at once.

    Example::

        acceptance = inbox.submit(alerts).result()   # committed now
        acceptance.accepted                           # == len(alerts)
    """

    def submit(self, alerts: Sequence[Alert]) -> "Future[Acceptance]":
        """Queue `alerts` for the next group commit; return a future of the commit."""
        ...


class IncidentStore(Protocol):
    """Alerts waiting to be grouped, incidents with their alerts and grouping reasons.

    An alert is *unprocessed* from its commit until a grouping decision for it is recorded; both
    happen in separate transactions, so a crash between them loses nothing: the next start groups
    what is still unprocessed.

    Example::

        pending = store.unprocessed_alerts(limit=500)
        open_now = store.open_incidents(since=now - timedelta(hours=1))
        store.record_placements(group(pending, open_now, graph))   # marks them processed
    """

    def unprocessed_alerts(self, *, limit: int) -> tuple[Alert, ...]:
        """Return up to `limit` committed alerts not yet grouped, oldest start first."""
        ...

    def open_incidents(self, *, since: datetime) -> tuple[Incident, ...]:
        """Return incidents not resolved and updated at or after `since`, with their alerts."""
        ...

    def record_placements(self, placements: Sequence[Placement]) -> tuple[IncidentId, ...]:
        """Open/extend incidents as decided, mark the alerts processed; return the incidents touched."""
        ...

    def incident(self, incident_id: IncidentId) -> Incident | None:
        """Return one incident with its alerts and grouping reasons, or None."""
        ...

    def incidents(
        self, *, status: IncidentStatus | None = None, limit: int = 100, offset: int = 0
    ) -> tuple[Incident, ...]:
        """Return incidents newest-updated first, optionally only those with `status`."""
        ...


class BriefStore(Protocol):
    """Briefs by incident, versioned: each refresh stores a new version; readers get the latest.

    Example::

        store.save_brief(brief)                       # brief.version must be latest + 1
        store.latest_brief(brief.incident_id).version
    """

    def save_brief(self, brief: Brief) -> None:
        """Store `brief` as its incident's version `brief.version`."""
        ...

    def latest_brief(self, incident_id: IncidentId) -> Brief | None:
        """Return the newest brief of the incident, or None if none is stored yet."""
        ...

    def incidents_without_brief(self) -> tuple[IncidentId, ...]:
        """Return open incidents that have no brief yet (to investigate on start-up)."""
        ...


class LanguageModel(Protocol):
    """An optional language model behind any OpenAI-compatible endpoint. It narrates; it never decides.

    Whatever it returns is untrusted text: callers show it as narrative only, never parse it into a
    ranking, an action or a tool call.

    Example::

        text = model.complete([{"role": "system", "content": rules}, {"role": "user", "content": prompt}])
    """

    name: str

    def complete(self, messages: Sequence[Mapping[str, str]]) -> str:
        """Return the model's reply to these chat messages (role, content), as plain text."""
        ...
