"""View models for the pages: domain values in, plain values for the templates out. Pure; no I/O.

Kept apart from the routes so the board's logic (ordering, filters, health roll-up, which evidence
gets which chart) is tested without HTTP, and the templates only lay things out.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from missioncontrol.domain.alerts import AlertStatus, Severity
from missioncontrol.domain.board import BriefSummary
from missioncontrol.domain.diagnosis import Evidence, EvidenceKind, Stance
from missioncontrol.domain.ids import ServiceId
from missioncontrol.domain.incidents import Brief, Incident, IncidentStatus
from missioncontrol.domain.telemetry import MetricSeries
from missioncontrol.domain.threads import Thread
from missioncontrol.domain.topology import ServiceGraph
from missioncontrol.web.svg import neighbourhood, render_graph_svg, render_sparkline, render_value_bars

SEVERITY_ORDER = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2, Severity.UNKNOWN: 3}
HEALTH = ("ok", "info", "warning", "critical")


def age_text(seconds: float) -> str:
    """Return a duration as a short human string: 45s, 12m, 3h 5m, 2d 4h."""
    s = int(max(0, seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"


@dataclass(frozen=True, slots=True)
class Filters:
    """What the board is narrowed to (query parameters); empty means everything."""

    severity: str = ""
    service: str = ""
    team: str = ""
    q: str = ""

    def as_query(self) -> str:
        """Return the filters as a query string (without '?'), empty ones left out."""
        from urllib.parse import urlencode

        pairs = {
            k: v
            for k, v in (
                ("severity", self.severity),
                ("service", self.service),
                ("team", self.team),
                ("q", self.q),
            )
            if v
        }
        return urlencode(pairs)


@dataclass(frozen=True, slots=True)
class IncidentRow:
    """One line of the board."""

    id: str
    title: str
    severity: str
    status: str
    age: str
    age_s: float
    symptom: str
    services: tuple[str, ...]
    alerts: int
    suspect: str
    confidence: str
    team: str
    verdict: str


@dataclass(frozen=True, slots=True)
class AlertRow:
    """A firing alert on the board, with why it was grouped where it is."""

    incident_id: str
    name: str
    service: str
    severity: str
    summary: str
    rule: str
    why: str


@dataclass(frozen=True, slots=True)
class Tile:
    """One service's health on the board."""

    service: str
    team: str
    health: str  # one of HEALTH
    incidents: int


@dataclass(frozen=True, slots=True)
class Board:
    """Everything the board page shows."""

    rows: tuple[IncidentRow, ...]
    alerts: tuple[AlertRow, ...]
    teams: tuple[tuple[str, tuple[Tile, ...]], ...]
    counts: Mapping[str, int]
    total_open: int
    filters: Filters
    services: tuple[str, ...] = ()
    team_names: tuple[str, ...] = ()


def _services_of(incident: Incident, brief: BriefSummary | None) -> tuple[str, ...]:
    names: dict[str, None] = {}
    if incident.symptom:
        names[incident.symptom] = None
    for alert in incident.alerts:
        if alert.service:
            names[alert.service] = None
    if brief and brief.suspect:
        names[brief.suspect] = None
    return tuple(names)


def build_board(
    incidents: Iterable[Incident],
    briefs: Mapping[str, BriefSummary],
    *,
    now: datetime,
    filters: Filters,
    owners: Mapping[str, str] | None = None,
    known_services: Iterable[ServiceId] = (),
) -> Board:
    """Return the board: open incidents by severity then age, alerts with grouping, health by team."""
    owners = owners or {}
    rows: list[IncidentRow] = []
    alerts: list[AlertRow] = []
    worst: dict[str, int] = dict.fromkeys(known_services, 0)
    touching: dict[str, int] = {}
    team_of: dict[str, str] = dict(owners)
    counts = {s.value: 0 for s in Severity}
    open_incidents = [i for i in incidents if i.status is not IncidentStatus.RESOLVED]
    open_incidents.sort(key=lambda i: (SEVERITY_ORDER[i.severity], i.opened_at, i.id))
    needle = filters.q.lower()
    for incident in open_incidents:
        brief = briefs.get(incident.id)
        services = _services_of(incident, brief)
        level = HEALTH.index(incident.severity.value) if incident.severity.value in HEALTH else 1
        top = brief if brief and brief.suspect else None
        team = brief.owner if brief and brief.owner else owners.get(str(incident.symptom or ""), "")
        for s in services:
            worst[s] = max(worst.get(s, 0), level)
            touching[s] = touching.get(s, 0) + 1
        if top and top.owner:
            team_of.setdefault(top.suspect, top.owner)  # the catalog/policy owner wins when known
        counts[incident.severity.value] += 1
        if filters.severity and incident.severity.value != filters.severity:
            continue
        if filters.service and filters.service not in services:
            continue
        if filters.team and team != filters.team:
            continue
        if needle and needle not in f"{incident.title} {' '.join(services)} {incident.id}".lower():
            continue
        rows.append(
            IncidentRow(
                id=incident.id,
                title=incident.title,
                severity=incident.severity.value,
                status=incident.status.value,
                age=age_text((now - incident.opened_at).total_seconds()),
                age_s=(now - incident.opened_at).total_seconds(),
                symptom=incident.symptom or "",
                services=services,
                alerts=incident.alert_count,
                suspect=f"{top.suspect} ({top.fault})" if top else "investigating…",
                confidence=f"{top.confidence:.0%}" if top else "",
                team=team,
                verdict=brief.verdict if brief else "",
            )
        )
        reasons = {g.fingerprint: g for g in incident.grouping}
        for alert in incident.alerts:
            if alert.status is not AlertStatus.FIRING:
                continue
            reason = reasons.get(alert.fingerprint)
            alerts.append(
                AlertRow(
                    incident_id=incident.id,
                    name=alert.name,
                    service=alert.service or "",
                    severity=alert.severity.value,
                    summary=alert.summary,
                    rule=reason.rule if reason else "",
                    why=reason.explanation if reason else "",
                )
            )
    by_team: dict[str, list[Tile]] = {}
    for service in sorted(worst):
        team = team_of.get(service, "") or "unowned"
        by_team.setdefault(team, []).append(
            Tile(service, team, HEALTH[worst[service]], touching.get(service, 0))
        )
    teams = tuple(
        (team, tuple(sorted(tiles, key=lambda t: (-HEALTH.index(t.health), t.service))))
        for team, tiles in sorted(by_team.items())
    )
    return Board(
        rows=tuple(rows),
        alerts=tuple(alerts[:300]),
        teams=teams,
        counts=counts,
        total_open=len(open_incidents),
        filters=filters,
        services=tuple(sorted(worst)),
        team_names=tuple(sorted(by_team)),
    )


@dataclass(frozen=True, slots=True)
class EvidenceView:
    """One evidence item with its id, its chart and which kind of chart that is."""

    id: str
    evidence: Evidence
    chart_svg: str
    chart_kind: str  # "series" (from the telemetry store) or "bars" (value vs baseline from the brief)


@dataclass(frozen=True, slots=True)
class HypothesisView:
    """One ranked hypothesis with its evidence chain drawn."""

    rank: int
    service: str
    fault: str
    cause: str
    confidence: str
    path: tuple[str, ...]
    evidence: tuple[EvidenceView, ...]


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One dated line of the incident's story."""

    at: datetime
    kind: str  # alert, grouping, brief, thread, action, audit
    text: str


@dataclass(frozen=True, slots=True)
class IncidentPage:
    """Everything the incident page shows."""

    incident: Incident
    brief: Brief | None
    graph_svg: str
    graph_source: str  # "world model as of …" or "the hypotheses' paths"
    hypotheses: tuple[HypothesisView, ...]
    timeline: tuple[TimelineEntry, ...]
    threads: tuple[Thread, ...] = ()
    anomalous: tuple[str, ...] = field(default=())


def series_for(evidence: Evidence, series: Sequence[MetricSeries]) -> MetricSeries | None:
    """Return the stored series an evidence item was computed from, if it names one (service/metric)."""
    if evidence.kind is not EvidenceKind.METRIC_ANOMALY or "/" not in evidence.query:
        return None
    service, _, metric = evidence.query.partition("/")
    for s in series:
        if s.service == service and s.metric == metric:
            return s
    return None


def chart_for(
    evidence: Evidence, series: Sequence[MetricSeries], onset_at: datetime | None
) -> tuple[str, str]:
    """Return (svg, kind): the series over the window where stored, else value against baseline bars."""
    found = series_for(evidence, series)
    if found is not None and len(found.values) >= 2:
        start, end = (t.timestamp() for t in evidence.window)
        points = [(t, v) for t, v in zip(found.timestamps, found.values, strict=True) if start <= t < end]
        if len(points) >= 2:
            mark = None
            if onset_at is not None:
                mark = next((i for i, (t, _) in enumerate(points) if t >= onset_at.timestamp()), None)
            return render_sparkline([v for _, v in points], mark_index=mark), "series"
    return render_value_bars(evidence.value, evidence.baseline), "bars"


def anomalous_services(brief: Brief) -> tuple[ServiceId, ...]:
    """Return the services with supporting evidence of their own (not mere propagation), in rank order."""
    seen: dict[ServiceId, None] = {}
    for h in brief.diagnosis.hypotheses:
        for e in h.evidence:
            if e.stance is Stance.SUPPORTS and e.kind not in (EvidenceKind.PROPAGATION, EvidenceKind.PRIOR):
                seen.setdefault(e.service, None)
    return tuple(seen)


def graph_from_paths(brief: Brief) -> ServiceGraph:
    """Return the graph the hypotheses' paths walk, for when no world model is wired."""
    edges: set[tuple[ServiceId, ServiceId]] = set()
    for h in brief.diagnosis.hypotheses:
        edges.update(zip(h.path, h.path[1:], strict=False))
    return ServiceGraph(edges=frozenset(edges), extra_services=frozenset(brief.diagnosis.blast_radius))


def build_incident_page(
    incident: Incident,
    brief: Brief | None,
    *,
    graph: ServiceGraph | None,
    graph_source: str,
    series: Sequence[MetricSeries] = (),
    threads: Sequence[Thread] = (),
    extra_timeline: Iterable[TimelineEntry] = (),
    brief_versions: Sequence[tuple[int, datetime]] = (),
) -> IncidentPage:
    """Return the incident page: graph picture, hypotheses with charts, timeline and threads."""
    hypotheses: list[HypothesisView] = []
    svg = ""
    anomalous: tuple[ServiceId, ...] = ()
    if brief is not None:
        anomalous = anomalous_services(brief)
        top = brief.diagnosis.hypotheses[0] if brief.diagnosis.hypotheses else None
        path = top.path if top else ()
        if graph is None or not graph.edges:
            graph, graph_source = graph_from_paths(brief), "the hypotheses' paths (no world model wired)"
        around = {*path, *anomalous[:6], *brief.diagnosis.blast_radius}
        svg = render_graph_svg(neighbourhood(graph, around, hops=1), path, set(anomalous))
        for rank, h in enumerate(brief.diagnosis.hypotheses[:8], start=1):
            views = []
            for k, e in enumerate(h.evidence, start=1):
                chart, kind = chart_for(e, series, h.onset_at or brief.diagnosis.onset_at)
                views.append(EvidenceView(f"H{rank}.E{k}", e, chart, kind))
            hypotheses.append(
                HypothesisView(
                    rank=rank,
                    service=h.service,
                    fault=h.fault.value,
                    cause=h.cause,
                    confidence=f"{h.confidence:.0%}",
                    path=tuple(h.path),
                    evidence=tuple(views),
                )
            )
    timeline = [
        TimelineEntry(a.received_at, "alert", f"{a.name} on {a.service or '?'}: {a.summary}")
        for a in incident.alerts
    ]
    timeline += [TimelineEntry(g.at, "grouping", f"{g.rule}: {g.explanation}") for g in incident.grouping]
    versions = brief_versions or ([(brief.version, brief.generated_at)] if brief is not None else [])
    timeline += [TimelineEntry(at, "brief", f"brief version {v} stored") for v, at in versions]
    for t in threads:
        timeline.append(TimelineEntry(t.created_at, "thread", f"thread '{t.title}' opened for {t.assignee}"))
        if t.updated_at != t.created_at:
            timeline.append(
                TimelineEntry(t.updated_at, "thread", f"thread '{t.title}': {t.status.value}, {t.assignee}")
            )
    timeline += list(extra_timeline)
    if incident.resolved_at is not None:
        timeline.append(TimelineEntry(incident.resolved_at, "resolved", "incident resolved"))
    timeline.sort(key=lambda e: e.at)
    return IncidentPage(
        incident=incident,
        brief=brief,
        graph_svg=svg,
        graph_source=graph_source,
        hypotheses=tuple(hypotheses),
        timeline=tuple(timeline),
        threads=tuple(threads),
        anomalous=tuple(anomalous),
    )
