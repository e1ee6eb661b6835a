"""Ports: the capabilities the engine and the drivers need, each a Protocol with one job."""

from collections.abc import Collection, Iterator
from datetime import datetime
from typing import Protocol

from missioncontrol.domain import (
    Brief,
    Case,
    CatalogEntry,
    Change,
    Diagnosis,
    LabeledCase,
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
