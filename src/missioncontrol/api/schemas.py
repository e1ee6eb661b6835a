"""Request and response models of the API (pydantic, snake_case), mapped explicitly from domain values.

Out models read domain dataclasses attribute by attribute (`from_attributes`), so a field appears in
the API only when it is declared here.
"""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from missioncontrol.domain import AlertProblem, Brief, Incident
from missioncontrol.ports import AlertPage


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ProblemOut(_Out):
    """One refused alert (or, with `index` null, the whole payload): the field and what was wrong."""

    index: int | None = Field(description="Position of the alert in the payload's `alerts` list.")
    field: str = Field(description="JSON path of the offending field, e.g. `alerts[3].startsAt`.")
    message: str


class AlertsAcceptedOut(BaseModel):
    """The alerts of the payload that were durably committed, and those refused with why."""

    accepted: int = Field(description="Alerts committed to the state store before this answer was sent.")
    rejected: int = Field(description="Alerts refused; each is listed in `errors`.")
    errors: list[ProblemOut] = Field(default_factory=list)


class ErrorOut(BaseModel):
    """An error: one sentence naming what was wrong, and per-alert problems where there were any."""

    detail: str
    errors: list[ProblemOut] = Field(default_factory=list)


# Answers any authenticated route can give besides its own. FastAPI would document 422 as its own
# `HTTPValidationError` (a list of errors), but app.py answers a request that fails validation with
# one `ErrorOut` sentence naming the field; the spec says what the server sends.
CALLER_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "No valid bearer token or body signature."},
    422: {"model": ErrorOut, "description": "A parameter or body field is invalid; `detail` names it."},
}
# A JSON body that is not UTF-8 cannot be parsed at all: FastAPI answers 400 before validation.
BODY_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "The body cannot be parsed (not UTF-8 text)."},
}


class AlertOut(_Out):
    fingerprint: str
    name: str
    severity: str
    status: str
    service: str | None
    signal: str
    started_at: datetime
    received_at: datetime
    summary: str
    labels: dict[str, str]


class GroupingReasonOut(_Out):
    fingerprint: str
    rule: str = Field(description="new, same_fingerprint, same_service or topology.")
    explanation: str
    at: datetime


class IncidentOut(_Out):
    """An incident: alerts that share a cause as far as topology and time can tell, and why."""

    id: str
    title: str
    status: str
    severity: str
    symptom: str | None
    opened_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    alert_count: int = Field(description="Every alert of the incident, also when `alerts` is a digest.")
    firing_count: int = Field(description="How many of them are firing.")
    alerts: list[AlertOut]
    grouping: list[GroupingReasonOut]


class AlertPageOut(_Out):
    """One page of an incident's alerts, in the order they were received."""

    alerts: list[AlertOut]
    alert_count: int = Field(description="Every alert of the incident.")
    next_after: int | None = Field(
        description="Pass as `after` for the next page; null: this was the last page. Polling again "
        "with the last page's position later returns only alerts received since."
    )


class IncidentSummaryOut(_Out):
    id: str
    title: str
    status: str
    severity: str
    symptom: str | None
    opened_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    alert_count: int


class EvidenceOut(_Out):
    kind: str
    service: str
    summary: str
    source: str
    query: str
    window: tuple[datetime, datetime]
    stance: str
    value: float | None
    baseline: float | None
    weight: float


class HypothesisOut(_Out):
    service: str
    fault: str
    cause: str
    score: float
    confidence: float
    path: list[str]
    evidence: list[EvidenceOut]
    onset_at: datetime | None


class WeakenedOut(_Out):
    hypothesis: HypothesisOut
    reason: str


class DiagnosisOut(_Out):
    case_id: str
    method: str
    symptom: str | None
    onset_at: datetime | None
    window: tuple[datetime, datetime]
    hypotheses: list[HypothesisOut]
    weakened: list[WeakenedOut]
    blast_radius: list[str]
    notes: list[str]


class ImpactOut(_Out):
    signals: list[str]
    since: datetime | None
    summary: str


class SimilarIncidentOut(_Out):
    incident_id: str
    title: str
    similarity: float
    cause_service: str | None
    cause_fault: str | None
    fix: str
    resolved_at: datetime | None
    why_similar: str


class ActionOptionOut(_Out):
    action: str
    service: str
    tier: str
    needs_approval_from: list[str]
    reason: str


class DecisionOut(_Out):
    verdict: str
    on_duty_tier: str
    actions: list[ActionOptionOut]
    escalate_to: str
    missing_authority: str
    page_team: str
    page_contacts: list[str] = Field(description="How to reach the paged team: e-mail, chat channel, pager.")


class BriefOut(_Out):
    """The incident state an operator acts on: diagnosis, impact, owner, precedent and decision."""

    incident_id: str
    version: int = Field(description="Bumped each time the brief is refreshed with new evidence.")
    generated_at: datetime
    diagnosis: DiagnosisOut
    impact: ImpactOut
    owner: str
    similar: list[SimilarIncidentOut]
    decision: DecisionOut | None
    notes: list[str]


class HealthOut(BaseModel):
    status: str = "ok"


def to_problem_out(problem: AlertProblem) -> ProblemOut:
    """Return the API form of a mapping problem."""
    return ProblemOut(index=problem.index, field=problem.field, message=problem.message)


def to_incident_out(incident: Incident) -> IncidentOut:
    """Return the API form of an incident with its alerts and grouping reasons."""
    return IncidentOut.model_validate(incident)


def to_alert_page_out(page: AlertPage) -> AlertPageOut:
    """Return the API form of a page of alerts."""
    return AlertPageOut.model_validate(page)


def to_incident_summary_out(incident: Incident) -> IncidentSummaryOut:
    """Return the list-view form of an incident."""
    data: dict[str, Any] = {
        name: getattr(incident, name)
        for name in ("id", "title", "status", "severity", "symptom", "opened_at", "updated_at", "resolved_at")
    }
    return IncidentSummaryOut(**data, alert_count=incident.alert_count)


def to_brief_out(brief: Brief) -> BriefOut:
    """Return the API form of a brief."""
    return BriefOut.model_validate(brief)
