"""The investigation tools other agents call, as plain functions over the ports. No MCP here.

Each returns JSON-ready data in the same shapes as the HTTP API (`api.schemas`), so an agent reading
a brief over MCP and a script reading it over HTTP see the same fields. Errors are `ToolError`s whose
message names exactly what was asked for and what was missing.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from missioncontrol.api.schemas import to_brief_out, to_incident_summary_out
from missioncontrol.domain import (
    Alert,
    AlertStatus,
    Brief,
    Case,
    IncidentId,
    IncidentStatus,
    MissionControlError,
    ServiceGraph,
    ServiceId,
    Severity,
    Telemetry,
)
from missioncontrol.domain.timestamps import EARLIEST, LATEST, to_storable_utc
from missioncontrol.ports import BriefStore, Diagnoser, IncidentStore, TelemetryStore, WorldModel
from missioncontrol.web.svg import neighbourhood

MAX_WINDOW = timedelta(hours=6)


class ToolError(MissionControlError):
    """A tool was asked for something that does not exist or cannot be answered."""


@dataclass(slots=True)
class Tools:
    """What the tools read: the stores, and optionally the world model, telemetry and a diagnoser."""

    incidents: IncidentStore
    briefs: BriefStore
    world: WorldModel | None = None
    telemetry: TelemetryStore | None = None
    diagnoser: Diagnoser | None = None

    def list_incidents(self, status: str = "open", limit: int = 50) -> dict[str, Any]:
        """Return incidents, newest activity first: `status` open, acknowledged, resolved or all."""
        wanted = None if status == "all" else _status(status)
        found = self.incidents.incidents(status=wanted, limit=max(1, min(limit, 500)))
        return {"incidents": [to_incident_summary_out(i).model_dump(mode="json") for i in found]}

    def get_brief(self, incident_id: str) -> dict[str, Any]:
        """Return the latest brief of an incident: impact, path, ranked hypotheses, decision."""
        return to_brief_out(self._brief(incident_id)).model_dump(mode="json")

    def explain_hypothesis(self, incident_id: str, rank: int = 1) -> dict[str, Any]:
        """Return one hypothesis in words: its path, each evidence item, and what it beat and why."""
        brief = self._brief(incident_id)
        hypotheses = brief.diagnosis.hypotheses
        if not 1 <= rank <= len(hypotheses):
            raise ToolError(
                f"incident {incident_id!r} has {len(hypotheses)} hypotheses; rank {rank} is not one"
            )
        h = hypotheses[rank - 1]
        lines = [
            f"#{rank}: {h.service} ({h.fault.value}) — {h.cause}; confidence {h.confidence:.0%}.",
            f"Path from the symptom: {' → '.join(h.path) or h.service}.",
        ]
        for k, e in enumerate(h.evidence, start=1):
            measured = (
                f" (value {e.value:.3g} vs baseline {e.baseline:.3g})"
                if e.value is not None and e.baseline is not None
                else ""
            )
            lines.append(
                f"H{rank}.E{k} [{e.stance.value}, {e.source}] {e.summary}{measured}; query: {e.query}"
            )
        weakened = [
            f"{w.hypothesis.service} ({w.hypothesis.fault.value}): {w.reason}"
            for w in brief.diagnosis.weakened
        ]
        return {
            "incident_id": incident_id,
            "rank": rank,
            "service": h.service,
            "fault": h.fault.value,
            "confidence": h.confidence,
            "explanation": "\n".join(lines),
            "weakened_alternatives": weakened,
            "is_confident": brief.diagnosis.is_confident,
        }

    def similar_incidents(self, incident_id: str) -> dict[str, Any]:
        """Return the past incidents the knowledge bank found similar, with what fixed them."""
        brief = self._brief(incident_id)
        return {"incident_id": incident_id, "similar": to_brief_out(brief).model_dump(mode="json")["similar"]}

    def service_graph_as_of(self, at: str, service: str = "", hops: int = 2) -> dict[str, Any]:
        """Return the call graph as of `at` (ISO 8601), whole or within `hops` of `service`."""
        if self.world is None:
            raise ToolError("no world model is wired: the service graph is unknown")
        when = _time(at, "at")
        graph = self.world.graph_at(when)
        if service:
            if ServiceId(service) not in graph.services:
                raise ToolError(f"service {service!r} is not in the graph as of {when.isoformat()}")
            graph = neighbourhood(graph, [ServiceId(service)], hops=max(1, min(hops, 6)))
        return _graph_json(graph, when)

    def investigate_service(self, service: str, start: str, end: str) -> dict[str, Any]:
        """Diagnose the estate around `service` over [start, end), as if an alert had fired on it at `end`."""
        if self.diagnoser is None or self.telemetry is None:
            raise ToolError(
                "investigate_service needs the telemetry store and the engine; neither is wired here"
            )
        t0, t1 = _time(start, "start"), _time(end, "end")
        if not t0 < t1 or t1 - t0 > MAX_WINDOW:
            raise ToolError(f"window {start}..{end} must be increasing and at most {MAX_WINDOW} long")
        data = self.telemetry.read(start=t0, end=t1, services=None)
        if not data.metrics and not data.spans and not data.logs:
            raise ToolError(f"no telemetry stored in {t0.isoformat()}..{t1.isoformat()}")
        alert = Alert(
            fingerprint=f"mcp:{service}:{t1.isoformat()}",
            name="investigate_service",
            severity=Severity.INFO,
            status=AlertStatus.FIRING,
            service=ServiceId(service),
            signal="",
            started_at=t1,
            received_at=t1,
            summary=f"asked over MCP: what is wrong around {service}?",
        )
        graph = self.world.graph_at(t1) if self.world is not None else None
        changes = self.world.changes_between(t0, t1) if self.world is not None else ()
        case = Case(
            id=f"mcp-{service}", system="live", telemetry=data, graph=graph, changes=changes, alert=alert
        )
        diagnosis = self.diagnoser.diagnose(case)
        brief = Brief(incident_id=IncidentId(case.id), generated_at=datetime.now(UTC), diagnosis=diagnosis)
        out = to_brief_out(brief).model_dump(mode="json")
        return {
            "service": service,
            "window": [t0.isoformat(), t1.isoformat()],
            "diagnosis": out["diagnosis"],
            "telemetry": _telemetry_counts(data),
        }

    def _brief(self, incident_id: str) -> Brief:
        brief = self.briefs.latest_brief(IncidentId(incident_id))
        if brief is None:
            if self.incidents.incident_digest(IncidentId(incident_id)) is None:
                raise ToolError(f"no incident {incident_id!r}")
            raise ToolError(f"incident {incident_id!r} has no brief yet: its investigation is running")
        return brief


def _status(value: str) -> IncidentStatus:
    try:
        return IncidentStatus(value)
    except ValueError:
        options = ", ".join([*(s.value for s in IncidentStatus), "all"])
        raise ToolError(f"status {value!r} is not one of {options}") from None


def _time(value: str, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ToolError(f"{name}={value!r} is not an ISO 8601 time (e.g. 2026-12-02T09:12:00Z)") from None
    parsed = parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    try:
        to_storable_utc(parsed)
    except ValueError:  # the world model's lookbacks overflow near year 1; telemetry ends in 2299
        raise ToolError(
            f"{name}={value!r} is outside {EARLIEST.year}..{LATEST.year - 1}, the times telemetry can hold"
        ) from None
    return parsed


def _graph_json(graph: ServiceGraph, at: datetime) -> dict[str, Any]:
    return {
        "at": at.isoformat(),
        "services": sorted(graph.services),
        "edges": [{"caller": a, "callee": b} for a, b in sorted(graph.edges)],
    }


def _telemetry_counts(data: Telemetry) -> dict[str, int]:
    return {"metric_series": len(data.metrics), "log_records": len(data.logs), "spans": len(data.spans)}
