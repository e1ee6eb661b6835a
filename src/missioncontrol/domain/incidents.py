"""Incidents: alerts grouped by topology and time, each grouping with its reason, and the brief."""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import NewType

from missioncontrol.domain.alerts import Alert, AlertStatus, Severity
from missioncontrol.domain.diagnosis import Diagnosis
from missioncontrol.domain.errors import MissionControlError
from missioncontrol.domain.ids import ServiceId
from missioncontrol.domain.knowledge import SimilarIncident
from missioncontrol.domain.respond import Decision

IncidentId = NewType("IncidentId", str)


class IncidentStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class GroupingReason:
    """Why one alert joined (or opened) an incident, in words and in the rule that decided it."""

    fingerprint: str
    rule: str  # e.g. "new", "same_fingerprint", "topology", "same_service"
    explanation: str  # one sentence: "checkout calls payments (1 hop) and fired 40 s after it"
    at: datetime


@dataclass(frozen=True, slots=True)
class Incident:
    """Alerts that share a cause, as far as topology and time can tell."""

    id: IncidentId
    title: str
    status: IncidentStatus
    severity: Severity
    symptom: ServiceId | None
    opened_at: datetime
    updated_at: datetime
    alerts: tuple[Alert, ...] = ()
    grouping: tuple[GroupingReason, ...] = ()
    resolved_at: datetime | None = None
    # Set when `alerts` is a digest (`IncidentStore.incident_digest`: one alert per alerting series)
    # rather than every alert: how many alerts, and firing ones, the incident really holds.
    alerts_total: int | None = None
    firing_total: int | None = None

    @property
    def alert_count(self) -> int:
        """How many alerts the incident holds, also when `alerts` is a digest."""
        return len(self.alerts) if self.alerts_total is None else self.alerts_total

    @property
    def firing_count(self) -> int:
        """How many of its alerts are firing, also when `alerts` is a digest."""
        if self.firing_total is not None:
            return self.firing_total
        return sum(1 for a in self.alerts if a.status is AlertStatus.FIRING)


@dataclass(frozen=True, slots=True)
class Impact:
    """Which user-facing signals are hurt, since when, and how badly."""

    signals: tuple[str, ...] = ()  # e.g. "frontend latency_p90 3.2× baseline"
    since: datetime | None = None
    summary: str = ""


@dataclass(frozen=True, slots=True)
class Brief:
    """The incident state an operator acts on: the diagnosis plus impact, owner, precedent and decision.

    Built by `engine.investigate` and then passed through each `ports.BriefEnricher` in turn (knowledge
    bank, then the respond policy), each of which returns a new brief with its part filled in.
    """

    incident_id: IncidentId
    generated_at: datetime
    diagnosis: Diagnosis
    version: int = 1  # bumped each time the brief is refreshed with new evidence
    impact: Impact = field(default_factory=Impact)
    owner: str = ""  # team owning the prime suspect, from the catalog
    similar: tuple[SimilarIncident, ...] = ()
    decision: Decision | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AlertProblem:
    """Why one alert of a batch (or, with `index` None, the whole payload) was refused.

    `field` is the JSON path of the offending field as the sender wrote it, e.g. `alerts[3].startsAt`.
    """

    index: int | None
    field: str
    message: str


@dataclass(frozen=True, slots=True)
class Acceptance:
    """What the inbox durably committed for one request: every alert it was handed, new or already known."""

    accepted: int
    committed_at: datetime


@dataclass(frozen=True, slots=True)
class Placement:
    """One grouping decision: this alert goes to this incident (opening it if `opens_incident`), and why."""

    alert: Alert
    incident_id: IncidentId
    reason: GroupingReason
    opens_incident: bool = False
    title: str = ""  # the new incident's title, when it opens one


class Overloaded(MissionControlError):
    """The inbox cannot take more right now; the sender should retry after `retry_after_s` seconds."""

    def __init__(self, message: str, *, retry_after_s: float) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(message)
