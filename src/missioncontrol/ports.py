"""Ports: the capabilities the engine and the drivers need, each a Protocol with one job."""

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

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
    Severity,
    Team,
    Telemetry,
    TimeMode,
)
from missioncontrol.domain.knowledge import Feedback, Fingerprint, Knowledge, PastIncident, Resolution
from missioncontrol.domain.respond import (
    ActionRequest,
    ActionRequestId,
    ActionSpec,
    ActionStatus,
    Approval,
    AuditEntry,
    AuditVerification,
    DeliveryResult,
    OutboundRequest,
    PageAction,
    RunOutcome,
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
        self,
        *,
        start: datetime,
        end: datetime,
        services: Collection[ServiceId] | None = None,
        spans_from: datetime | None = None,
    ) -> Telemetry:
        """Return the samples in [start, end), for these services or, with None, for all.

        `spans_from`, when later than `start`, leaves out older spans: a reader that weighs only the
        recent ones need not turn hundreds of thousands of older rows into objects.
        """
        ...


@runtime_checkable
class ReadGaps(Protocol):
    """A telemetry store that can say what its last read on the calling thread could not include.

    A pull source that was down, or whose queries failed, leaves the diagnosis blind to its data; the
    brief says so instead of reading as if it had seen everything.
    """

    def last_read_gaps(self) -> tuple[str, ...]:
        """Return one line per source the calling thread's last `read` missed (empty: nothing missed)."""
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


class TelemetrySource(Protocol):
    """Somewhere telemetry is pulled from at investigation time: Prometheus `query_range`, ...

    Never fails a whole pull for one bad query: problems come back as lines naming the query, the
    range, the step and the source ("no data" is one of them, not an empty success).

    Example::

        telemetry, problems = source.fetch(start=onset - timedelta(minutes=30), end=alert_at, services=scope)
    """

    name: str

    def fetch(
        self, *, start: datetime, end: datetime, services: Collection[ServiceId]
    ) -> tuple[Telemetry, tuple[str, ...]]:
        """Return the telemetry of these services over [start, end], and one line per problem."""
        ...


class CallGraphSource(Protocol):
    """Where calls between services are counted from spans: the telemetry store.

    Example::

        edges = store.call_edges(at - timedelta(hours=1), at)
        edges[(ServiceId("frontend"), ServiceId("checkout"))]   # calls seen in that window
    """

    def call_edges(self, start: datetime, end: datetime) -> Mapping[tuple[ServiceId, ServiceId], int]:
        """Return {(caller, callee): calls} for child spans that started in [start, end)."""
        ...


class ChangeLog(Protocol):
    """Where changes (deploys, config, flags, model versions) are recorded, at least once.

    Example::

        new = changelog.record_changes(to_changes(cdevents_payload))
        new == 0   # when the sender resent the same event
    """

    def record_changes(self, changes: Sequence[Change]) -> int:
        """Record these changes; return how many were new (known ones, by service/kind/at/description)."""
        ...


class Catalog(Protocol):
    """The service catalog's history: entries and teams as versions, so "as of t" has one answer.

    Example::

        catalog.record_catalog(entries, teams, at=received_at)   # unchanged entries add nothing
        owner = catalog.team(entry.owner)                        # who to page for a suspect
    """

    def record_catalog(self, entries: Sequence[CatalogEntry], teams: Sequence[Team], *, at: datetime) -> None:
        """Record what the catalog says at `at`; an entry or team that differs gets a new version."""
        ...

    def teams(self, *, at: datetime | None = None) -> tuple[Team, ...]:
        """Return the teams declared at `at` (default: now), by name."""
        ...

    def team(self, name: str, *, at: datetime | None = None) -> Team | None:
        """Return one team as declared at `at` (default: now), or None."""
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


@dataclass(frozen=True, slots=True)
class AlertPage:
    """One page of an incident's alerts, in the order they were received."""

    alerts: tuple[Alert, ...]
    next_after: int | None  # pass as `after` for the next page; None: this was the last page
    alert_count: int  # every alert of the incident


class IncidentStore(Protocol):
    """Alerts waiting to be grouped, incidents with their alerts and grouping reasons.

    An alert is *unprocessed* from its commit until a grouping decision for it is recorded; both
    happen in separate transactions, so a crash between them loses nothing: the next start groups
    what is still unprocessed.

    Example::

        pending = store.unprocessed_alerts(limit=500)
        open_now = store.open_incidents(since=now - timedelta(hours=1))
        known = store.incidents_of({a.fingerprint for a in pending})
        store.record_placements(group(pending, open_now, graph, known=known))   # marks them processed
    """

    def unprocessed_alerts(self, *, limit: int) -> tuple[Alert, ...]:
        """Return up to `limit` committed alerts not yet grouped, oldest start first."""
        ...

    def open_incidents(self, *, since: datetime) -> tuple[Incident, ...]:
        """Return incidents not resolved and updated at or after `since`.

        Their `alerts` are representatives (the first and last alert of each service), enough to
        group by; `incident()` returns every alert.
        """
        ...

    def incidents_of(self, fingerprints: Collection[str]) -> dict[str, IncidentId]:
        """Return the incident each fingerprint already belongs to, for those that belong to one."""
        ...

    def record_placements(self, placements: Sequence[Placement]) -> tuple[IncidentId, ...]:
        """Open/extend incidents as decided, mark the alerts processed; return the incidents touched."""
        ...

    def incident(self, incident_id: IncidentId) -> Incident | None:
        """Return one incident with its alerts and grouping reasons, or None."""
        ...

    def incident_digest(self, incident_id: IncidentId) -> Incident | None:
        """Return one incident with a digest of its alerts and its grouping reasons, or None.

        The digest is the earliest alert of each service, alert name, severity and status, with
        `alerts_total` / `firing_total` counting them all: what an investigation reads, bounded by the
        distinct alerting series, not by the size of an alert storm.
        """
        ...

    def incident_alerts(self, incident_id: IncidentId, *, limit: int, after: int = 0) -> AlertPage | None:
        """Return up to `limit` of the incident's alerts in the order they were received, or None.

        `after` is the previous page's `next_after` (0 for the first page): a position, not an
        offset, so alerts received while a client pages come after it and no page repeats or shifts.
        (An alert received earlier but grouped only after a client passed its position is counted in
        `alert_count` and shown by `incident_digest`, not on a later page.)
        """
        ...

    def incidents(
        self, *, status: IncidentStatus | None = None, limit: int = 100, offset: int = 0
    ) -> tuple[Incident, ...]:
        """Return incidents newest-updated first, optionally only those with `status`.

        Their `alerts` are digests with totals, as `incident_digest` returns, without grouping reasons.
        """
        ...

    def resolve_incident(self, incident_id: IncidentId, *, at: datetime) -> bool:
        """Mark the incident resolved at `at` (an operator confirmed how it ended); False if unknown."""
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


class Embedder(Protocol):
    """An offline sentence-embedding model (optional): text in, unit-length vectors out.

    Example::

        a, b = embedder.embed(["payment latency high", "payments slow"])
        sum(x * y for x, y in zip(a, b))   # cosine similarity, since both have norm 1
    """

    name: str
    dimensions: int

    def embed(self, texts: Sequence[str]) -> list[tuple[float, ...]]:
        """Return one L2-normalised vector of `dimensions` floats per text, in order."""
        ...


class KnowledgeBank(Protocol):
    """What past incidents taught: fingerprints, resolutions (confirmed causes, fixes) and feedback.

    The bank stores; `engine.learn` reasons (similar incidents, priors, signal-to-noise) over the
    `Knowledge` snapshot it returns. Recording is idempotent per incident: a second resolution of the
    same incident replaces the first, and its alert outcome counts are corrected, not added twice.

    Example::

        bank.remember(fingerprint)                       # when the incident's brief is built
        bank.record_resolution(Resolution(incident_id="inc-7", cause_service=ServiceId("db"), ...))
        knowledge = bank.knowledge()                     # past incidents and alert outcomes
    """

    def remember(self, fingerprint: Fingerprint) -> None:
        """Store (or replace) what an incident looked like."""
        ...

    def record_resolution(self, resolution: Resolution) -> None:
        """Record how an incident ended; raises NotInKnowledgeBank if it was never fingerprinted."""
        ...

    def record_feedback(self, feedback: Feedback) -> None:
        """Record an operator's confirmation or rejection of one hypothesis."""
        ...

    def past_incident(self, incident_id: str) -> PastIncident | None:
        """Return one incident's fingerprint, resolution and feedback, or None if unknown."""
        ...

    def knowledge(self) -> Knowledge:
        """Return every fingerprinted incident with its ending and feedback, and the alert outcomes."""
        ...


class OutboundHttp(Protocol):
    """The one way a request leaves the building: allow-listed, retried on 429/5xx, or only logged (dry run).

    Example::

        result = outbound.send(OutboundRequest("POST", "https://hooks.slack.com/services/T/B/x", body=b"{}"))
        result.is_delivered, result.attempts, result.is_dry_run
    """

    def send(self, request: OutboundRequest) -> DeliveryResult:
        """Deliver `request` at least once (within its attempts), or say why not; never raise for HTTP errors.

        Raises `OutboundRefused` when the URL is not allowed (not allow-listed, link-local, metadata).
        """
        ...


class Notifier(Protocol):
    """Posts a brief where people read it: a Slack channel, a generic JSON webhook.

    Example::

        slack.notify(brief).is_delivered
    """

    name: str

    def notify(self, brief: Brief) -> DeliveryResult:
        """Send the brief; delivery is at least once, so a receiver may see it twice."""
        ...


class Pager(Protocol):
    """Pages the owner of the suspected cause, and acknowledges or resolves that page (one key per incident).

    Example::

        pager.page(brief, action=PageAction.TRIGGER)   # dedup_key = brief.incident_id
        pager.page(brief, action=PageAction.RESOLVE)
    """

    name: str

    def page(
        self, brief: Brief, *, action: PageAction, severity: Severity = Severity.CRITICAL
    ) -> DeliveryResult:
        """Trigger, acknowledge or resolve the page for `brief.incident_id` (severity: the incident's)."""
        ...


class ActionRunner(Protocol):
    """Runs one declared runbook action with bound arguments: an argv command or an HTTP call.

    Example::

        outcome = runner.run(policy.action("restart"), {"service": "checkout", "namespace": "shop"})
    """

    def run(self, spec: ActionSpec, args: Mapping[str, str]) -> RunOutcome:
        """Run `spec` with `args` (already validated against the policy); never raise for a failed run."""
        ...


class ActionLedger(Protocol):
    """Keeps action requests, their approvals, and the append-only hash-chained audit log.

    Example::

        ledger.add_request(request, details={"reason": "memory leak"})   # stored and audited together
        ledger.verify().is_intact
    """

    def add_request(self, request: ActionRequest, *, details: Mapping[str, object]) -> None:
        """Store a new request and audit it ("request"), in one transaction."""
        ...

    def get_request(self, request_id: ActionRequestId) -> ActionRequest | None:
        """Return the request, or None."""
        ...

    def add_approval(self, approval: Approval, *, status: ActionStatus) -> None:
        """Store an approval, set the request's status, and audit it ("approve"), in one transaction."""
        ...

    def approvals(self, request_id: ActionRequestId) -> tuple[Approval, ...]:
        """Return every approval of the request, oldest first."""
        ...

    def set_status(
        self,
        request_id: ActionRequestId,
        status: ActionStatus,
        *,
        expected: ActionStatus,
        actor: str,
        event: str,
        details: Mapping[str, object],
    ) -> bool:
        """Move the request from `expected` to `status` and audit the event, in one transaction.

        Returns False, changing and auditing nothing, when the request is no longer in `expected`
        (someone else moved it first): a compare-and-set, so two runs cannot both claim one approval.
        """
        ...

    def audit(self, *, actor: str, event: str, subject: str, details: Mapping[str, object]) -> AuditEntry:
        """Append one entry to the audit log (e.g. a refusal) and return it, hashed and chained."""
        ...

    def entries(self, *, after_seq: int = 0, limit: int = 1000) -> tuple[AuditEntry, ...]:
        """Return audit entries with seq > after_seq, oldest first."""
        ...

    def verify(self) -> AuditVerification:
        """Re-hash the whole chain and report the first entry that does not verify."""
        ...


class Capability(StrEnum):
    """What a connector can do; a connector may have several (PagerDuty: alerts in, pages out)."""

    ALERT_SOURCE = "alert_source"  # alerts in (webhook or pull)
    TELEMETRY_SOURCE = "telemetry_source"  # spans, logs, metrics in (push or pull)
    CHANGE_SOURCE = "change_source"  # deploys, config, flags in
    CATALOG_SOURCE = "catalog_source"  # services, owners, teams, dependencies in
    CASE_SOURCE = "case_source"  # recorded incidents with their truth (datasets, the simulator)
    NOTIFIER = "notifier"  # briefs out (chat, webhooks)
    PAGER = "pager"  # pages out
    ACTION_RUNNER = "action_runner"  # remediation actions run
    POLICY_SOURCE = "policy_source"  # who may do what
    LANGUAGE_MODEL = "language_model"  # narration and questions over the evidence
    EMBEDDER = "embedder"  # sentence embeddings for similar-incident recall

    @property
    def is_ingest(self) -> bool:
        """Return True for live data in (these connectors ship recorded samples); datasets are not."""
        return self in _INGEST


_INGEST = frozenset(
    {
        Capability.ALERT_SOURCE,
        Capability.TELEMETRY_SOURCE,
        Capability.CHANGE_SOURCE,
        Capability.CATALOG_SOURCE,
    }
)


@dataclass(frozen=True, slots=True)
class ConnectorSpec:
    """How a connector presents itself to the registry: each connector package exposes one as `spec`.

    Registered through the `missioncontrol.connectors` entry point group (built-ins too, in our own
    pyproject). `config` is the connector's pydantic `<Vendor>Config` model (None: nothing to set);
    `factory` turns a validated config into the adapter (None: a pure mapping the routes call);
    `requires` names importable modules from an optional extra, so a missing one reads as disabled.

    Example::

        spec = ConnectorSpec(
            name="slack",
            summary="Briefs to a Slack channel (incoming webhook, Block Kit).",
            capabilities=frozenset({Capability.NOTIFIER}),
            config=SlackConfig,
            factory=lambda config: SlackNotifier(config),
            docs="docs/connectors/slack.md",
            samples=Path(__file__).parent / "samples",
        )
    """

    name: str  # the slug: folder, entry point and docs page name
    summary: str
    capabilities: frozenset[Capability]
    config: type[Any] | None = None
    factory: Callable[[Any], object] | None = None
    docs: str = ""  # repository-relative path of its docs page
    samples: Path | None = None
    requires: tuple[str, ...] = ()
    install: str = ""  # how to get `requires` (default: pip install 'missioncontrol[<name>]')
    needs_config: bool = False  # True: disabled until configured (a URL, a key)
    # For a pull source: ask the configured peer now whether it answers; return a line describing it
    # (its version), raise MissionControlError naming what is wrong. `connectors list` calls it.
    probe: Callable[[Any], str] | None = None


class ConnectorState(StrEnum):
    ENABLED = "enabled"
    DISABLED = "disabled"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ConnectorStatus:
    """What the registry says about one connector: enabled, disabled (reason) or failed (error)."""

    name: str
    state: ConnectorState
    detail: str = ""  # the reason it is disabled or the error it failed with
    spec: ConnectorSpec | None = None  # None when loading it failed
