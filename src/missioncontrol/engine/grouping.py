"""Deduplicate alerts and group them into incidents by topology and time. Pure: no I/O, no clock.

An alert joins an open incident when one of these holds, checked in this order (the first wins):

    same_fingerprint  the alert (same fingerprint) is already part of the incident: a resend or a
                      status change (resolved)
    same_service      it fires on a service the incident already has, within the time window
    topology          its service is within `max_hops` calls (either direction) of one of the
                      incident's services in the world model's graph, within the time window
    new               none of the above: it opens an incident of its own

Every decision is a `Placement` carrying a `GroupingReason` whose explanation a person can read,
e.g. "checkout calls payments (1 hop) and fired 40 s after payments's HighErrorRate".
Incident ids derive from the opening alert, so grouping the same alerts again gives the same ids.
"""

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from missioncontrol.domain import (
    Alert,
    GroupingReason,
    Incident,
    IncidentId,
    Placement,
    ServiceGraph,
    ServiceId,
)


@dataclass(frozen=True, slots=True)
class GroupingConfig:
    """How near in the graph, and in time, an alert must be to join an incident."""

    max_hops: int = 2
    window: timedelta = timedelta(minutes=15)


def incident_id_for(alert: Alert) -> IncidentId:
    """Return the id of the incident `alert` opens: stable, so re-grouping after a crash agrees."""
    key = f"{alert.fingerprint}\x00{alert.started_at.isoformat()}"
    return IncidentId("inc-" + hashlib.sha256(key.encode()).hexdigest()[:16])


@dataclass(slots=True)
class _Open:
    id: IncidentId
    fingerprints: set[str]
    # service → the earliest alert on it, to name it in explanations
    by_service: dict[ServiceId, Alert]
    last_at: datetime
    first_at: datetime
    alerts: list[Alert] = field(default_factory=list)
    order: int = 0  # position among the open incidents: the earlier wins a tie


@dataclass(slots=True)
class _State:
    """The open incidents, indexed so that placing an alert does not scan all of them.

    An alert storm meets hundreds of open incidents; the fingerprint and service indexes keep
    each placement proportional to the incidents near the alert, not to all that are open.
    """

    incidents: dict[IncidentId, _Open] = field(default_factory=dict)
    by_fingerprint: dict[str, _Open] = field(default_factory=dict)
    by_service: dict[ServiceId, list[tuple[int, _Open]]] = field(default_factory=dict)
    near: dict[ServiceId, dict[ServiceId, int]] = field(default_factory=dict)

    def add(self, inc: _Open) -> None:
        inc.order = len(self.incidents)
        self.incidents[inc.id] = inc
        for fingerprint in inc.fingerprints:
            self.by_fingerprint.setdefault(fingerprint, inc)
        for position, service in enumerate(inc.by_service):
            self.by_service.setdefault(service, []).append((position, inc))

    def hops(self, graph: ServiceGraph | None, start: ServiceId, max_hops: int) -> dict[ServiceId, int]:
        found = self.near.get(start)
        if found is None:
            found = self.near[start] = _hops(graph, start, max_hops)
        return found


def _hops(graph: ServiceGraph | None, start: ServiceId, max_hops: int) -> dict[ServiceId, int]:
    """Return services within `max_hops` of `start` following calls either way, with the hop count."""
    if graph is None:
        return {start: 0}
    hops = {start: 0}
    frontier = [start]
    for depth in range(1, max_hops + 1):
        nxt: list[ServiceId] = []
        for node in frontier:
            for other in (*graph.callees(node), *graph.callers(node)):
                if other not in hops:
                    hops[other] = depth
                    nxt.append(other)
        frontier = nxt
    return hops


def _relation(graph: ServiceGraph | None, a: ServiceId, b: ServiceId, hops: int) -> str:
    unit = "hop" if hops == 1 else "hops"
    if graph is not None and b in graph.downstream(a, max_hops=hops):
        return f"{a} calls {b} ({hops} {unit})"
    if graph is not None and a in graph.downstream(b, max_hops=hops):
        return f"{b} calls {a} ({hops} {unit})"
    return f"{a} and {b} are {hops} {unit} apart in the call graph"


def _when(alert: Alert, other: Alert) -> str:
    delta = (alert.started_at - other.started_at).total_seconds()
    if abs(delta) < 1:
        return f"fired together with {other.service}'s {other.name}"
    side = "after" if delta > 0 else "before"
    return f"fired {abs(delta):.0f} s {side} {other.service}'s {other.name}"


def group(
    alerts: Sequence[Alert],
    open_incidents: Sequence[Incident],
    graph: ServiceGraph | None,
    *,
    known: Mapping[str, IncidentId] | None = None,
    config: GroupingConfig = GroupingConfig(),
) -> tuple[Placement, ...]:
    """Return one placement per alert: the incident it joins or opens, and why. Oldest alert first.

    `known` maps fingerprints already stored in an incident to it (a resend or a resolution): those
    go back to their incident whether or not it is still open.
    """
    state = _State()
    for incident in open_incidents:
        if not incident.alerts:
            continue
        by_service: dict[ServiceId, Alert] = {}
        for a in sorted(incident.alerts, key=lambda x: x.started_at):
            if a.service is not None:
                by_service.setdefault(a.service, a)
        state.add(
            _Open(
                id=incident.id,
                fingerprints={a.fingerprint for a in incident.alerts},
                by_service=by_service,
                last_at=max(a.started_at for a in incident.alerts),
                first_at=min(a.started_at for a in incident.alerts),
                alerts=list(incident.alerts),
            )
        )
    placements: list[Placement] = []
    for alert in sorted(alerts, key=lambda a: (a.started_at, a.fingerprint)):
        placement = _place(alert, state, graph, config, known or {})
        placements.append(placement)
        _remember(alert, placement, state)
    return tuple(placements)


def _place(
    alert: Alert,
    state: _State,
    graph: ServiceGraph | None,
    config: GroupingConfig,
    known: Mapping[str, IncidentId],
) -> Placement:
    def reason(rule: str, explanation: str) -> GroupingReason:
        return GroupingReason(
            fingerprint=alert.fingerprint, rule=rule, explanation=explanation, at=alert.received_at
        )

    joined = known.get(alert.fingerprint)
    if joined is None and (holder := state.by_fingerprint.get(alert.fingerprint)) is not None:
        joined = holder.id
    if joined is not None:
        what = "resolved" if alert.status.value == "resolved" else "fired again"
        explanation = f"{alert.name} (fingerprint {alert.fingerprint}) is already in this incident; it {what}"
        return Placement(alert, joined, reason("same_fingerprint", explanation))
    # The nearest incident in the graph, then in time; ties go to the earliest incident and, within
    # it, to its earliest service.
    best: tuple[int, float, int, int, _Open, ServiceId] | None = None
    if alert.service is not None:
        for service, distance in state.hops(graph, alert.service, config.max_hops).items():
            for position, inc in state.by_service.get(service, ()):
                if not inc.first_at - config.window <= alert.started_at <= inc.last_at + config.window:
                    continue
                gap = abs((alert.started_at - inc.last_at).total_seconds())
                candidate = (distance, gap, inc.order, position, inc, service)
                if best is None or candidate[:4] < best[:4]:
                    best = candidate
    if best is not None and alert.service is not None:
        distance, _, _, _, inc, service = best
        other = inc.by_service[service]
        minutes = config.window.total_seconds() / 60
        if distance == 0:
            text = f"{alert.name} fired on {service}, already in this incident, {_when(alert, other)}"
            return Placement(alert, inc.id, reason("same_service", text + f" (within {minutes:.0f} min)"))
        text = (
            f"{_relation(graph, alert.service, service, distance)} and {alert.service} {_when(alert, other)}"
        )
        return Placement(alert, inc.id, reason("topology", text + f" (within {minutes:.0f} min)"))
    where = f"on {alert.service}" if alert.service else "with no service label"
    scope = (
        f"no open incident has a service within {config.max_hops} hops"
        if alert.service
        else "it cannot be placed in the call graph"
    )
    title = f"{alert.name} on {alert.service}" if alert.service else alert.name
    return Placement(
        alert,
        incident_id_for(alert),
        reason("new", f"{alert.name} {where} opens a new incident: {scope} and firing within the window"),
        opens_incident=True,
        title=title,
    )


def _remember(alert: Alert, placement: Placement, state: _State) -> None:
    inc = state.incidents.get(placement.incident_id)
    if inc is None:
        inc = _Open(placement.incident_id, set(), {}, alert.started_at, alert.started_at)
        state.add(inc)
    inc.fingerprints.add(alert.fingerprint)
    state.by_fingerprint.setdefault(alert.fingerprint, inc)
    if alert.service is not None and alert.service not in inc.by_service:
        state.by_service.setdefault(alert.service, []).append((len(inc.by_service), inc))
        inc.by_service[alert.service] = alert
    inc.last_at = max(inc.last_at, alert.started_at)
    inc.first_at = min(inc.first_at, alert.started_at)
    inc.alerts.append(alert)
