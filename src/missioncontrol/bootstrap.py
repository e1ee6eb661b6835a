"""The composition root: the only place that instantiates connectors and wires them to the engine."""

import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine as SqlEngine

from missioncontrol.api.runtime import Runtime
from missioncontrol.connectors import alertmanager
from missioncontrol.connectors.casefolder import CaseFolderSource, write_case
from missioncontrol.connectors.nezha import NezhaSource
from missioncontrol.connectors.prometheus import PrometheusConfig, create_source
from missioncontrol.connectors.rcd import RcdSource
from missioncontrol.connectors.simulator import (
    SUPPORTED_FAULTS,
    SimulatorSource,
    demo_case,
    generate_estate,
    simulate_incident,
)
from missioncontrol.domain import Alert, IncidentId, LabeledCase, MissionControlError, TimeMode
from missioncontrol.engine.baselines import AlertCountRanker, BaroRanker, NSigmaRanker
from missioncontrol.engine.diagnose import Engine, EngineConfig
from missioncontrol.engine.investigate import Investigator
from missioncontrol.engine.learn import KnowledgeEnricher
from missioncontrol.engine.worker import IncidentWorker, WorkerConfig
from missioncontrol.ports import (
    CallGraphSource,
    CaseSource,
    Diagnoser,
    Embedder,
    IncidentStore,
    KnowledgeBank,
    TelemetrySource,
)
from missioncontrol.settings import Settings
from missioncontrol.storage.db import create_db_engine, migrate
from missioncontrol.storage.inbox import GroupCommitInbox
from missioncontrol.storage.incidents import SqlIncidentStore
from missioncontrol.storage.knowledge import SqlKnowledgeBank
from missioncontrol.storage.telemetry import ChdbTelemetryStore, ClickHouseTelemetryStore
from missioncontrol.storage.world import SqlWorldModel

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
    investigator = Investigator(build_engine(settings), store, store, clock=_utcnow)
    worker = IncidentWorker(
        store,
        store,
        investigator.investigate,
        world=None,
        clock=_utcnow,
        config=WorkerConfig(workers=settings.investigation_workers),
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
    wire_board(runtime, settings, db=db, diagnoser=investigator.diagnoser)  # web/ and mcp/
    runtime.knowledge = knowledge = build_knowledge_bank(settings, db)  # learn: first enricher of the brief
    runtime.enrichers = (
        build_knowledge_enricher(knowledge, incidents=store, embedder=build_embedder(settings)),
    )

    def start_worker() -> None:
        # Bound at start, not here: other areas fill runtime.telemetry, .world, .enrichers after this.
        investigator.telemetry = runtime.telemetry
        investigator.world = worker.world = runtime.world
        investigator.enrichers = tuple(runtime.enrichers)
        worker.start()

    runtime.on_start += [inbox.start, start_worker]
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


def build_embedder(settings: Settings) -> Embedder | None:  # noqa: ARG001  (no embedding settings yet)
    """Return the offline sentence embedder when its optional package is installed, else None."""
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
            incident = store.incident(IncidentId(incident_id))
            return incident.alerts if incident is not None else ()

        alerts_of = alerts_from_store
    return KnowledgeEnricher(bank, alerts_of=alerts_of, embedder=embedder)


def open_knowledge_state(settings: Settings) -> tuple[SqlKnowledgeBank, SqlIncidentStore]:
    """Return the knowledge bank and the incident and brief store on the state database, migrated."""
    db = create_db_engine(settings.state_database_url())
    migrate(db)
    return SqlKnowledgeBank(db), SqlIncidentStore(db)


def build_telemetry_store(settings: Settings) -> ChdbTelemetryStore | ClickHouseTelemetryStore:
    """Return the telemetry store: the ClickHouse at TELEMETRY_URL, else embedded chDB under STATE_DIR."""
    if settings.telemetry_url is not None:
        return ClickHouseTelemetryStore.from_url(
            settings.telemetry_url.get_secret_value(), database=settings.telemetry_database
        )
    return ChdbTelemetryStore(settings.telemetry_path(), database=settings.telemetry_database)


def build_world_model(
    settings: Settings, engine: SqlEngine, telemetry: CallGraphSource | None = None
) -> SqlWorldModel:
    """Return the world model on the state store; calls from `telemetry` (default: the settings' store)."""
    calls = telemetry if telemetry is not None else build_telemetry_store(settings)
    return SqlWorldModel(engine, calls, lookback=timedelta(seconds=settings.world_lookback_s))


def build_telemetry_sources(settings: Settings) -> tuple[TelemetrySource, ...]:
    """Return the pull sources configured for investigations: Prometheus when PROMETHEUS_URL is set."""
    if settings.prometheus_url is None:
        return ()
    config = PrometheusConfig(url=settings.prometheus_url, queries_file=settings.prometheus_queries)
    return (create_source(config),)


def wire_board(runtime: Runtime, settings: Settings, *, db: SqlEngine, diagnoser: Diagnoser) -> None:
    """Give the board and the MCP tools what they need: threads, session secret, engine, optional LLM."""
    from missioncontrol.storage.threads import ThreadStore

    runtime.threads = ThreadStore(db)
    runtime.diagnoser = diagnoser
    runtime.web_secret = web_secret(settings)
    if settings.llm_base_url and settings.llm_model:
        from missioncontrol.connectors.openai import OpenAIChatModel  # the optional `[llm]` extra

        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else ""
        runtime.language_model = OpenAIChatModel(
            base_url=settings.llm_base_url, model=settings.llm_model, api_key=key
        )


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
