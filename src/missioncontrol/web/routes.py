"""The board's pages and forms: a FastAPI router that `api.app.create_app` includes with one line.

    GET  /                      the board (filters: severity, service, team, q; wall=1 for a wall screen)
    GET  /board/stream          server-sent events: the board's rows re-rendered when the store changes
    GET  /incident/{id}         the incident page (graph, hypotheses with charts, decision, timeline, threads)
    POST /incident/{id}/threads[/{thread_id}]   open / update an investigation thread
    POST /incident/{id}/narrative               the optional LLM narrative of the brief
    GET  /analytics[.csv|.json] SRE-lead analytics and their exports
    GET|POST /login, POST /logout

Every page needs a signed-in principal (see `web.auth`); every POST checks the CSRF token.
Rendering and view models are pure (`web.views`, `web.svg`); this module only reads the runtime.
"""

import asyncio
import csv
import io
import json
import secrets
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from jinja2 import Environment, PackageLoader, select_autoescape

from missioncontrol.api.runtime import Runtime, get_runtime
from missioncontrol.domain import (
    CatalogEntry,
    IncidentId,
    MissionControlError,
    ServiceId,
)
from missioncontrol.domain.board import BriefSummary
from missioncontrol.domain.knowledge import Resolution
from missioncontrol.domain.respond import (
    ActionRequest,
    ActionRequestId,
    NotAllowed,
    Principal,
    UnknownActionRequest,
)
from missioncontrol.domain.threads import ThreadStatus
from missioncontrol.engine.actions import ActionDesk
from missioncontrol.engine.analytics import IncidentRecord, compute_analytics, to_table
from missioncontrol.engine.narrate import narrate
from missioncontrol.engine.respond import owner_of
from missioncontrol.storage.board import summarize
from missioncontrol.web.auth import (
    COOKIE,
    SESSION_MAX_AGE_S,
    Session,
    SessionSigner,
    csrf_ok,
    new_session,
    verify_password,
)
from missioncontrol.web.svg import render_bar_chart
from missioncontrol.web.views import (
    SEVERITY_ORDER,
    Board,
    Filters,
    TimelineEntry,
    build_board,
    build_incident_page,
)

router = APIRouter(include_in_schema=False)
BOARD_LIMIT = 2000  # open incidents drawn on the board; beyond that the filters narrow it
BRIEFS_ON_BOARD = 300  # briefs read for the top rows (the suspect column); the rest say "open it"
GROUPED_ON_BOARD = 100  # top rows whose alerts are listed with their grouping reasons
PAGE_ALERTS_IN_FULL = 500  # an incident page lists every alert up to this many, else their digest
STREAM_POLL_S = 1.0
COMMANDER_ROLES = ("incident-commander", "sre")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LIVE_TICK_S = 30
ANALYTICS_LIMIT = 500  # latest incidents the analytics cover (each needs its full brief)
AUDIT_SCAN = 100_000  # audit entries read to find an incident's action requests

_env = Environment(loader=PackageLoader("missioncontrol.web", "templates"), autoescape=select_autoescape())


def _render(name: str, **context: Any) -> str:
    return _env.get_template(name).render(**context)


def _signer(runtime: Runtime) -> SessionSigner:
    secret = runtime.web_secret
    if not secret:
        # No secret wired (a test app or a bare runtime): one per process, so sessions end on restart.
        secret = _PROCESS_SECRET
    return SessionSigner(secret)


_PROCESS_SECRET = secrets.token_urlsafe(32)
_LIVE_CACHE: dict[tuple[int, Filters, str, int], tuple[str, Board]] = {}
_LIVE_LOCK = threading.Lock()


def _session(request: Request, runtime: Runtime) -> Session | None:
    return _signer(runtime).loads(request.cookies.get(COOKIE))


def _principal(runtime: Runtime, name: str) -> Principal | None:
    if runtime.policy is None or not name:
        return None
    return next((p for p in runtime.policy.principals if p.name == name), None)


def _set_cookie(response: Response, request: Request, runtime: Runtime, session: Session) -> None:
    response.set_cookie(
        COOKIE,
        _signer(runtime).dumps(session),
        max_age=SESSION_MAX_AGE_S,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


class User:
    """The signed-in principal and their session (for the CSRF token in forms)."""

    def __init__(self, principal: Principal, session: Session) -> None:
        self.principal = principal
        self.session = session

    @property
    def name(self) -> str:
        return self.principal.name

    def has_role(self, *roles: str) -> bool:
        """Return True when the principal holds any of `roles`."""
        return any(r in self.principal.roles for r in roles)


def current_user(request: Request, runtime: Annotated[Runtime, Depends(get_runtime)]) -> User:
    """Return the signed-in principal, or send the browser to the sign-in page."""
    session = _session(request, runtime)
    principal = _principal(runtime, session.user) if session else None
    if session is None or principal is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        from urllib.parse import quote

        raise HTTPException(
            status_code=303, detail="sign in first", headers={"Location": f"/login?next={quote(target)}"}
        )
    return User(principal, session)


UserDep = Annotated[User, Depends(current_user)]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def _check_csrf(user_or_session: User | Session | None, token: str | None) -> None:
    session = user_or_session.session if isinstance(user_or_session, User) else user_or_session
    if not csrf_ok(session, token):
        raise HTTPException(
            status_code=403, detail="CSRF token missing or wrong: reload the page and try again"
        )


def _safe_next(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


# ---------------------------------------------------------------- sign-in


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, runtime: RuntimeDep, next: str = "/", error: str = "") -> Response:
    """Show the sign-in form (with a CSRF token in an anonymous session)."""
    session = _session(request, runtime) or new_session()
    response = HTMLResponse(
        _render("login.html", csrf=session.csrf, next=_safe_next(next), error=error, user=None)
    )
    _set_cookie(response, request, runtime, session)
    return response


@router.post("/login")
def login(
    request: Request,
    runtime: RuntimeDep,
    username: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=500)],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Sign in a policy principal whose password hash is in settings; rotate the session."""
    _check_csrf(_session(request, runtime), csrf_token)
    stored = runtime.settings.web_passwords.get(username)
    principal = _principal(runtime, username)
    if stored is None or principal is None or not verify_password(password, stored.get_secret_value()):
        session = _session(request, runtime) or new_session()
        html = _render(
            "login.html", csrf=session.csrf, next=_safe_next(next), error="Unknown user or wrong password."
        )
        return HTMLResponse(html, status_code=401)
    response = RedirectResponse(_safe_next(next), status_code=303)
    _set_cookie(response, request, runtime, new_session(username))
    return response


@router.post("/logout")
def logout(
    request: Request, runtime: RuntimeDep, user: UserDep, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    """Sign out: replace the session with an anonymous one."""
    _check_csrf(user, csrf_token)
    response = RedirectResponse("/login", status_code=303)
    _set_cookie(response, request, runtime, new_session())
    return response


# ---------------------------------------------------------------- the board


def _owners(runtime: Runtime, services: set[str]) -> dict[str, str]:
    """Return the owning team of each service: the catalog's, else the policy's, else unknown."""
    now = datetime.now(UTC)
    world, policy = runtime.world, runtime.policy

    def catalog(service: ServiceId) -> CatalogEntry | None:
        return world.catalog_entry(service, at=now) if world is not None else None

    owners: dict[str, str] = {}
    for service in services:
        if policy is not None:
            owners[service] = owner_of(ServiceId(service), policy=policy, catalog=catalog)
        elif (entry := catalog(ServiceId(service))) is not None and entry.owner:
            owners[service] = entry.owner
    return owners


def _board_context(runtime: Runtime, filters: Filters) -> dict[str, Any]:
    listed = runtime.incidents.open_incidents(since=EPOCH)  # every unresolved incident, with its alerts
    incidents = sorted(listed, key=lambda i: (SEVERITY_ORDER[i.severity], i.opened_at, i.id))[:BOARD_LIMIT]
    briefs: dict[str, BriefSummary] = {}
    if runtime.board is not None:
        # Set queries: grouping reasons for the rows whose alerts are listed, cached brief summaries.
        shown = incidents[:GROUPED_ON_BOARD]
        grouping = runtime.board.grouping(
            [i.id for i in shown], fingerprints={a.fingerprint for i in shown for a in i.alerts}
        )
        for k, incident in enumerate(incidents[:GROUPED_ON_BOARD]):
            incidents[k] = replace(incident, grouping=grouping.get(incident.id, ()))
        briefs = runtime.board.brief_summaries([i.id for i in incidents])
        # open_incidents holds representative alerts only: the row's count is every alert's.
        totals = runtime.board.alert_totals([i.id for i in incidents])
        incidents = [
            replace(i, alerts_total=totals[i.id][0], firing_total=totals[i.id][1]) if i.id in totals else i
            for i in incidents
        ]
    else:
        # The list query leaves grouping reasons out (cheap); the rows whose alerts are shown get them.
        for k, incident in enumerate(incidents[:GROUPED_ON_BOARD]):
            incidents[k] = runtime.incidents.incident_digest(incident.id) or incident
        for incident in incidents[:BRIEFS_ON_BOARD]:
            brief = runtime.briefs.latest_brief(incident.id)
            if brief is not None:
                briefs[incident.id] = summarize(brief)
    services: set[str] = {s for i in incidents for s in (i.symptom, *(a.service for a in i.alerts)) if s}
    services |= {b.suspect for b in briefs.values() if b.suspect}
    board = build_board(
        incidents, briefs, now=datetime.now(UTC), filters=filters, owners=_owners(runtime, services)
    )
    return {"board": board, "filters": filters}


def _filters(severity: str = "", service: str = "", team: str = "", q: str = "") -> Filters:
    return Filters(severity=severity[:20], service=service[:200], team=team[:200], q=q[:200])


FiltersDep = Annotated[Filters, Depends(_filters)]


def _live(runtime: Runtime, filters: Filters) -> tuple[str, Board]:
    """Return the board's live part as HTML and its view model, re-rendered only when the store moved.

    The key is the store's mark (any incident or brief changed) and a 30-second tick (so ages move on);
    every viewer of the same filters shares one render.
    """
    mark = _store_mark(runtime)
    key = (id(runtime), filters, mark, int(time.time() // LIVE_TICK_S))
    with _LIVE_LOCK:
        hit = _LIVE_CACHE.get(key)
    if hit is not None:
        return hit
    context = _board_context(runtime, filters)
    rendered = (_render("_board_live.html", **context), context["board"])
    with _LIVE_LOCK:
        if len(_LIVE_CACHE) > 64:
            _LIVE_CACHE.clear()
        _LIVE_CACHE[key] = rendered
    return rendered


def clear_live_cache() -> None:
    """Forget every rendered board (the benchmark times renders with and without it)."""
    with _LIVE_LOCK:
        _LIVE_CACHE.clear()


@router.get("/", response_class=HTMLResponse)
def board_page(runtime: RuntimeDep, user: UserDep, filters: FiltersDep, wall: int = 0) -> HTMLResponse:
    """Show the board: open incidents by severity and age, health by team, firing alerts and why grouped."""
    live, board = _live(runtime, filters)
    page = _render(
        "board.html",
        user=user,
        wall=bool(wall),
        csrf=user.session.csrf,
        live=live,
        board=board,
        filters=filters,
    )
    return HTMLResponse(page)


@router.get("/board/rows", response_class=HTMLResponse)
def board_rows(runtime: RuntimeDep, user: UserDep, filters: FiltersDep) -> HTMLResponse:  # noqa: ARG001
    """Return the board's live part alone (what the event stream sends)."""
    return HTMLResponse(_live(runtime, filters)[0])


def _store_mark(runtime: Runtime) -> str:
    """Return a cheap fingerprint of the store's state that moves when any incident or brief changes."""
    if runtime.board is not None:
        return runtime.board.mark()
    newest = runtime.incidents.incidents(limit=1)
    if not newest:
        return "empty"
    top = newest[0]
    brief = runtime.briefs.latest_brief(top.id)
    return f"{top.id}|{top.updated_at.isoformat()}|{top.status}|{brief.version if brief else 0}"


@router.get("/board/stream", dependencies=[Depends(current_user)])
async def board_stream(request: Request, runtime: RuntimeDep, filters: FiltersDep) -> StreamingResponse:
    """Stream the board's rows as server-sent events whenever the store changes (polled once a second)."""

    async def events() -> AsyncIterator[str]:
        mark = await asyncio.to_thread(_store_mark, runtime)
        yield "retry: 2000\n\n"
        quiet = 0.0
        while not await request.is_disconnected():
            await asyncio.sleep(STREAM_POLL_S)
            now_mark = await asyncio.to_thread(_store_mark, runtime)
            if now_mark != mark:
                mark = now_mark
                html = (await asyncio.to_thread(_live, runtime, filters))[0]
                yield "event: board\n" + "".join(f"data: {line}\n" for line in html.splitlines()) + "\n"
                quiet = 0.0
            else:
                quiet += STREAM_POLL_S
                if quiet >= 15:
                    yield ": keep-alive\n\n"
                    quiet = 0.0

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})


# ---------------------------------------------------------------- the incident page


def _incident_page_context(
    runtime: Runtime, incident_id: str, user: User, message: str = ""
) -> dict[str, Any]:
    incident = runtime.incidents.incident_digest(IncidentId(incident_id))
    if incident is None:
        raise HTTPException(status_code=404, detail=f"no incident {incident_id!r}")
    digest_note: tuple[TimelineEntry, ...] = ()
    if incident.alert_count <= PAGE_ALERTS_IN_FULL:
        incident = runtime.incidents.incident(incident.id) or incident
    else:  # an alert storm: its story is told by the first alert of each series, and says so
        digest_note = (
            TimelineEntry(
                incident.opened_at,
                "alert",
                f"{len(incident.alerts)} of {incident.alert_count} alerts shown "
                f"({incident.firing_count} firing): the first of each service, name, severity and status",
            ),
        )
    brief = runtime.briefs.latest_brief(incident.id)
    graph, graph_source = None, ""
    series: tuple[Any, ...] = ()
    if brief is not None and runtime.world is not None:
        at = brief.diagnosis.window[1]
        graph, graph_source = runtime.world.graph_at(at), f"world model as of {at:%Y-%m-%d %H:%M:%S} UTC"
    if brief is not None and runtime.telemetry is not None:
        services = {e.service for h in brief.diagnosis.hypotheses[:8] for e in h.evidence}
        start, end = brief.diagnosis.window
        series = runtime.telemetry.read(start=start, end=end, services=services).metrics
    threads = runtime.threads.threads(incident.id) if runtime.threads is not None else ()
    requests, audit = _actions_of(runtime, incident.id)
    versions = runtime.board.brief_versions(incident.id) if runtime.board is not None else ()
    page = build_incident_page(
        incident,
        brief,
        graph=graph,
        graph_source=graph_source,
        series=series,
        threads=threads,
        extra_timeline=(*digest_note, *audit),
        brief_versions=versions,
    )
    return {
        "page": page,
        "user": user,
        "csrf": user.session.csrf,
        "can_assign": user.has_role(*COMMANDER_ROLES),
        "has_llm": runtime.language_model is not None,
        "people": [p.name for p in runtime.policy.principals] if runtime.policy else [],
        "can_act": runtime.actions is not None,
        "requests": requests,
        "action_params": {a.name: a.params for a in runtime.policy.actions} if runtime.policy else {},
        "message": message,
    }


def _actions_of(runtime: Runtime, incident_id: str) -> tuple[list[ActionRequest], list[TimelineEntry]]:
    """Return the incident's action requests (current state) and its audit entries as timeline lines."""
    if runtime.actions is None:
        return [], []
    entries = runtime.actions.ledger.entries(after_seq=0, limit=AUDIT_SCAN)
    ids = [e.subject for e in entries if e.event == "request" and e.details.get("incident_id") == incident_id]
    mine = set(ids)
    timeline = [
        TimelineEntry(e.at, "audit", f"{e.actor} {e.event} {e.subject} {e.details.get('reason', '')}".strip())
        for e in entries
        if e.subject in mine or e.details.get("incident_id") == incident_id
    ]
    requests = [
        r for r in (runtime.actions.ledger.get_request(ActionRequestId(i)) for i in ids) if r is not None
    ]
    return requests, timeline


@router.get("/incident/{incident_id}", response_class=HTMLResponse)
def incident_page(incident_id: str, runtime: RuntimeDep, user: UserDep) -> HTMLResponse:
    """Show one incident: impact, graph, hypotheses with evidence charts, decision, timeline, threads."""
    return HTMLResponse(_render("incident.html", **_incident_page_context(runtime, incident_id, user)))


@router.post("/incident/{incident_id}/threads")
def open_thread(
    incident_id: str,
    runtime: RuntimeDep,
    user: UserDep,
    title: Annotated[str, Form(min_length=1, max_length=500)],
    assignee: Annotated[str, Form(min_length=1, max_length=200)],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Open an investigation thread and assign it (incident commanders and SREs only)."""
    _check_csrf(user, csrf_token)
    if not user.has_role(*COMMANDER_ROLES):
        raise HTTPException(
            status_code=403, detail=f"{user.name} may not assign threads: needs {COMMANDER_ROLES}"
        )
    if runtime.threads is None or runtime.incidents.incident(IncidentId(incident_id)) is None:
        raise HTTPException(status_code=404, detail=f"no incident {incident_id!r} (or no thread store)")
    runtime.threads.open_thread(
        incident_id, title=title, assignee=assignee, by=user.name, at=datetime.now(UTC)
    )
    return RedirectResponse(f"/incident/{incident_id}#threads", status_code=303)


@router.post("/incident/{incident_id}/threads/{thread_id}")
def update_thread(
    incident_id: str,
    thread_id: int,
    runtime: RuntimeDep,
    user: UserDep,
    status: Annotated[ThreadStatus, Form()],
    note: Annotated[str, Form(max_length=2000)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Close or drop a thread (its assignee, or a commander)."""
    _check_csrf(user, csrf_token)
    if runtime.threads is None:
        raise HTTPException(status_code=404, detail="no thread store")
    current = next((t for t in runtime.threads.threads(incident_id) if t.id == thread_id), None)
    if current is None:
        raise HTTPException(status_code=404, detail=f"no thread {thread_id} in incident {incident_id!r}")
    if current.assignee != user.name and not user.has_role(*COMMANDER_ROLES):
        raise HTTPException(
            status_code=403, detail=f"only {current.assignee} or a commander may update this thread"
        )
    runtime.threads.update_thread(
        incident_id, thread_id, at=datetime.now(UTC), status=status, note=note or None
    )
    return RedirectResponse(f"/incident/{incident_id}#threads", status_code=303)


def _act(runtime: Runtime, incident_id: str, user: User, step: Callable[[ActionDesk], str]) -> Response:
    """Run one respond step as the signed-in principal; show the page with its outcome or refusal."""
    if runtime.actions is None:
        raise HTTPException(status_code=404, detail="no response policy configured: actions are off")
    try:
        message, status = step(runtime.actions), 200
    except NotAllowed as exc:
        message, status = f"Refused: {exc}", 403
    except UnknownActionRequest as exc:
        message, status = f"Refused: {exc}", 404
    except MissionControlError as exc:
        message, status = f"Refused: {exc}", 422
    context = _incident_page_context(runtime, incident_id, user, message=message)
    return HTMLResponse(_render("incident.html", **context), status_code=status)


@router.post("/incident/{incident_id}/actions", response_class=HTMLResponse)
async def request_action(incident_id: str, request: Request, runtime: RuntimeDep, user: UserDep) -> Response:
    """Request an action (fields action, service, param_<name>) under the policy as the signed-in user."""
    form = await request.form()
    _check_csrf(user, str(form.get("csrf_token", "")))
    action, service = str(form.get("action", "")), str(form.get("service", ""))
    params = {k.removeprefix("param_"): str(v) for k, v in form.items() if k.startswith("param_")}

    def step(desk: ActionDesk) -> str:
        made = desk.request(
            user.principal, incident_id=incident_id, action=action, service=service, params=params
        )
        return f"Requested {made.action} on {made.service}: {made.status.value}."

    return await asyncio.to_thread(_act, runtime, incident_id, user, step)


@router.post("/incident/{incident_id}/actions/{request_id}/approve", response_class=HTMLResponse)
def approve_action(
    incident_id: str,
    request_id: str,
    runtime: RuntimeDep,
    user: UserDep,
    args_sha256: Annotated[str, Form(max_length=64)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Approve a pending request for the exact arguments shown (the respond layer checks who may)."""
    _check_csrf(user, csrf_token)

    def step(desk: ActionDesk) -> str:
        approval = desk.approve(user.principal, request_id, args_sha256=args_sha256 or None)
        return f"Approved {request_id} until {approval.expires_at:%H:%M:%S} UTC."

    return _act(runtime, incident_id, user, step)


@router.post("/incident/{incident_id}/actions/{request_id}/run", response_class=HTMLResponse)
def run_action(
    incident_id: str,
    request_id: str,
    runtime: RuntimeDep,
    user: UserDep,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Run an approved request once (the respond layer checks the approval and the runner's authority)."""
    _check_csrf(user, csrf_token)

    def step(desk: ActionDesk) -> str:
        outcome = desk.run(user.principal, request_id)
        return f"Ran {request_id}: {'succeeded' if outcome.is_success else 'failed'}."

    return _act(runtime, incident_id, user, step)


@router.post("/incident/{incident_id}/narrative", response_class=HTMLResponse)
def narrative(
    incident_id: str,
    runtime: RuntimeDep,
    user: UserDep,
    question: Annotated[str, Form(max_length=500)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """Return the optional LLM narrative of the brief (or its answer to a question): text only, cited."""
    _check_csrf(user, csrf_token)
    if runtime.language_model is None:
        raise HTTPException(status_code=404, detail="no language model configured (MISSIONCONTROL_LLM_MODEL)")
    brief = runtime.briefs.latest_brief(IncidentId(incident_id))
    if brief is None:
        raise HTTPException(status_code=404, detail=f"incident {incident_id!r} has no brief yet")
    story = narrate(brief, runtime.language_model, question=question or None)
    return HTMLResponse(_render("_narrative.html", story=story))


# ---------------------------------------------------------------- analytics


def _analytics(runtime: Runtime) -> Any:
    """Return the analytics over the latest ANALYTICS_LIMIT incidents and their confirmed causes."""
    resolutions: dict[str, Resolution] = {}
    if runtime.knowledge is not None:
        resolutions = {
            p.fingerprint.incident_id: p.resolution
            for p in runtime.knowledge.knowledge().past
            if p.resolution is not None
        }
    incidents = runtime.incidents.incidents(limit=ANALYTICS_LIMIT)
    first = runtime.board.first_brief_at([i.id for i in incidents]) if runtime.board is not None else {}
    records = []
    for incident in incidents:
        r = resolutions.get(incident.id)
        if r is not None and incident.resolved_at is None:
            incident = replace(incident, resolved_at=r.resolved_at)  # resolved in the knowledge bank
        records.append(
            IncidentRecord(
                incident,
                runtime.briefs.latest_brief(incident.id),
                first.get(incident.id),
                r.cause_service if r is not None and r.is_actionable else None,
                r.cause_fault if r is not None and r.is_actionable else None,
            )
        )
    return compute_analytics(records)


@router.get("/analytics", response_class=HTMLResponse)
def analytics_page(runtime: RuntimeDep, user: UserDep) -> HTMLResponse:
    """Show the SRE-lead analytics with charts."""
    a = _analytics(runtime)
    charts = {
        "rank": render_bar_chart([(f"rank {k}", float(v)) for k, v in a.rank_of_confirmed]),
        "tier": render_bar_chart([(k, float(v)) for k, v in a.escalations_by_tier]),
        "reason": render_bar_chart([(k, float(v)) for k, v in a.escalations_by_reason]),
        "wrong": render_bar_chart([(q.alert, float(q.wrong_first)) for q in a.alerts[:12]]),
        "noise": render_bar_chart(
            [(q.alert, q.signal_to_noise) for q in a.alerts[:12] if q.signal_to_noise is not None]
        ),
        "services": render_bar_chart([(c.key, c.mean_complexity) for c in a.complex_services[:12]]),
        "patterns": render_bar_chart([(c.key, c.mean_complexity) for c in a.complex_patterns[:12]]),
        "times": render_bar_chart(
            [
                (f"{name} {q}", v / 60)
                for name, d in (("→brief", a.alert_to_brief), ("→resolved", a.alert_to_resolution))
                for q, v in (("median", d.median_s), ("p90", d.p90_s))
                if v is not None
            ],
            unit=" min",
        ),
    }
    context = {"a": a, "charts": charts, "user": user, "csrf": user.session.csrf, "limit": ANALYTICS_LIMIT}
    return HTMLResponse(_render("analytics.html", **context))


@router.get("/analytics.json")
def analytics_json(runtime: RuntimeDep, user: UserDep) -> JSONResponse:  # noqa: ARG001
    """Export the analytics as JSON."""
    a = _analytics(runtime)
    body = asdict(a) | {"first_hypothesis_accuracy": a.first_hypothesis_accuracy}
    body["alerts"] = [asdict(q) | {"signal_to_noise": q.signal_to_noise} for q in a.alerts]
    return JSONResponse(json.loads(json.dumps(body, default=str)))


@router.get("/analytics.csv")
def analytics_csv(runtime: RuntimeDep, user: UserDep) -> PlainTextResponse:  # noqa: ARG001
    """Export the analytics as CSV (metric, key, value)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["metric", "key", "value"])
    writer.writeheader()
    writer.writerows(to_table(_analytics(runtime)))
    return PlainTextResponse(
        out.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="analytics.csv"'},
    )


# ---------------------------------------------------------------- static files


@router.get("/static/{name}")
def static(name: str) -> Response:
    """Serve the board's CSS and JS from package data."""
    types = {"board.css": "text/css", "board.js": "text/javascript"}
    if name not in types:
        raise HTTPException(status_code=404, detail=f"no static file {name!r}")
    body = files("missioncontrol.web").joinpath("static", name).read_text()
    return Response(body, media_type=types[name], headers={"Cache-Control": "max-age=300"})


def _relative_age(at: datetime) -> str:
    return f"{(datetime.now(UTC) - at) // timedelta(seconds=1)}s ago"


_env.filters["ago"] = _relative_age
