"""What the HTTP app is handed by the composition root: stores, mapping functions, hooks.

`api` never imports a connector or builds a store itself; `bootstrap.build_runtime` fills a `Runtime`
and `api.app.create_app` serves it. Areas add what their routes need as one more field with a default
(a store, an enricher list, a notifier), so adding one is a one-line edit here and one in bootstrap.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Protocol

from fastapi import Depends, Request

from missioncontrol.domain import Alert, AlertProblem, CatalogEntry, Change, Rejection, Team, Telemetry
from missioncontrol.domain.respond import Policy
from missioncontrol.engine.actions import ActionDesk
from missioncontrol.ports import (
    AlertInbox,
    BriefEnricher,
    BriefStore,
    Catalog,
    ChangeLog,
    Diagnoser,
    IncidentStore,
    KnowledgeBank,
    LanguageModel,
    TelemetryStore,
    WorldModel,
)
from missioncontrol.settings import Settings
from missioncontrol.storage.board import SqlBoardReader
from missioncontrol.storage.threads import ThreadStore


class AlertMapper(Protocol):
    """A pure webhook mapping: payload in, the alerts it holds and a problem per alert that failed."""

    def __call__(
        self, payload: object, *, received_at: datetime
    ) -> tuple[list[Alert], list[AlertProblem]]: ...


@dataclass(frozen=True, slots=True)
class IngestMappers:
    """The pure mappings behind the ingest routes (OTLP, CDEvents, GitHub, Backstage), from bootstrap.

    Decoders raise `MissionControlError` when a body as a whole cannot be read (the route answers 400);
    otherwise they return what they mapped and a `Rejection` per item they could not.
    """

    decode_otlp: Callable[[str, bytes, bool], tuple[Telemetry, list[Rejection]]]  # signal, body, is_json
    otlp_response: Callable[[str, int, str, bool], bytes]  # signal, rejected, message, is_json
    otlp_status: Callable[[int, str, bool], bytes]  # gRPC code, message, is_json: a google.rpc.Status
    cdevents: Callable[[object], tuple[list[Change], list[Rejection]]]
    github: Callable[[str, object], tuple[list[Change], list[Rejection]]]  # X-GitHub-Event, payload
    # text, received_at, source name → entries, teams, rejections, notes
    backstage: Callable[
        [str, datetime, str], tuple[list[CatalogEntry], list[Team], list[Rejection], list[str]]
    ]
    github_secret: str | None = None  # when set, X-Hub-Signature-256 authenticates GitHub deliveries


@dataclass(slots=True)
class Runtime:
    """Everything the app serves from. Fields with defaults are optional parts of the service."""

    settings: Settings
    api_tokens: tuple[str, ...]  # resolved by bootstrap (settings, or the generated token file)
    inbox: AlertInbox
    incidents: IncidentStore
    briefs: BriefStore
    alert_mappers: Mapping[str, AlertMapper]  # "alertmanager", "grafana"
    telemetry: TelemetryStore | None = None
    world: WorldModel | None = None
    enrichers: tuple[BriefEnricher, ...] = ()
    ingest: IngestMappers | None = None  # OTLP, change and catalog routes (api/routes_ingest.py)
    changes: ChangeLog | None = None
    catalog: Catalog | None = None
    telemetry_arrived: Callable[[], None] | None = None  # call after storing telemetry: briefs refresh
    threads: ThreadStore | None = None  # web: investigation threads the commander assigns
    language_model: LanguageModel | None = None  # optional narrator (engine/narrate); None: no LLM
    policy: Policy | None = None  # respond: principals (web sign-in and roles), rules, approvals
    web_secret: str = ""  # web: signs the session cookie (bootstrap resolves it)
    diagnoser: Diagnoser | None = None  # mcp: investigate_service runs the engine on a window
    board: SqlBoardReader | None = None  # web: set queries and cached brief summaries for the board
    knowledge: KnowledgeBank | None = None  # learn: resolutions, feedback, precedent and priors
    actions: ActionDesk | None = None  # respond: request, approve, run actions; the audit log
    on_start: list[Callable[[], None]] = field(default_factory=list)  # run in order at app start-up
    on_stop: list[Callable[[], None]] = field(default_factory=list)  # run in reverse order at shutdown


async def get_runtime(request: Request) -> Runtime:
    """Return the runtime of the app serving `request` (a FastAPI dependency).

    `async` on purpose: FastAPI runs a plain `def` dependency in its thread pool, a thread hop per
    request that cost ingest a third of its time.
    """
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
