"""Request and response models of the knowledge routes: resolutions, feedback, precedent, priors."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from missioncontrol.domain import FaultKind
from missioncontrol.domain.knowledge import (
    AlertOutcome,
    Feedback,
    FeedbackVerdict,
    Resolution,
    ServiceKnowledge,
    SimilarIncident,
)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ResolutionCreate(_In):
    """The confirmed cause of an incident and what fixed it."""

    cause_service: str | None = Field(
        default=None, max_length=256, description="The service that caused it; null when not actionable."
    )
    fault_kind: FaultKind | None = Field(default=None, description="What went wrong in that service.")
    fix: str = Field(default="", max_length=4000, description="What fixed it, for the next operator.")
    notes: str = Field(default="", max_length=20000)
    is_actionable: bool = Field(default=True, description="False for a false alarm or a noisy alert.")
    resolved_by: str = Field(default="api", min_length=1, max_length=256)


class ResolutionOut(_Out):
    incident_id: str
    cause_service: str | None
    cause_fault: str | None
    fix: str
    notes: str
    resolved_at: datetime
    resolved_by: str
    is_actionable: bool


class FeedbackCreate(_In):
    """Confirm or reject one hypothesis: by its 1-based rank in the latest brief, or by service and fault."""

    verdict: FeedbackVerdict
    hypothesis: int | None = Field(
        default=None, ge=1, le=100, description="1-based rank in the latest brief."
    )
    service: str | None = Field(default=None, max_length=256)
    fault_kind: FaultKind | None = None
    note: str = Field(default="", max_length=4000)
    given_by: str = Field(default="api", min_length=1, max_length=256)


class FeedbackOut(_Out):
    incident_id: str
    service: str
    fault: str
    verdict: str
    rank: int | None
    given_at: datetime
    given_by: str
    note: str


class SimilarOut(_Out):
    incident_id: str
    title: str
    similarity: float
    cause_service: str | None
    cause_fault: str | None
    fix: str
    resolved_at: datetime | None
    why_similar: str


class FaultPriorOut(_Out):
    fault: str
    probability: float
    count: int


class FragilityOut(_Out):
    fault: str
    count: int
    last_at: datetime
    fixes: list[str]


class ServiceKnowledgeOut(_Out):
    """What resolved incidents taught about one service."""

    service: str
    incidents: int
    caused: int
    rejected: int
    cause_rate: float
    faults: list[FaultPriorOut]
    fragilities: list[FragilityOut]


class AlertOutcomeOut(_Out):
    alert: str
    incidents: int
    actionable: int
    signal_to_noise: float


def to_resolution_out(r: Resolution) -> ResolutionOut:
    """Map a resolution to its response model."""
    return ResolutionOut(
        incident_id=r.incident_id,
        cause_service=r.cause_service,
        cause_fault=r.cause_fault.value if r.cause_fault else None,
        fix=r.fix,
        notes=r.notes,
        resolved_at=r.resolved_at,
        resolved_by=r.resolved_by,
        is_actionable=r.is_actionable,
    )


def to_feedback_out(f: Feedback) -> FeedbackOut:
    """Map feedback to its response model."""
    return FeedbackOut(
        incident_id=f.incident_id,
        service=f.service,
        fault=f.fault.value,
        verdict=f.verdict.value,
        rank=f.rank,
        given_at=f.given_at,
        given_by=f.given_by,
        note=f.note,
    )


def to_similar_out(s: SimilarIncident) -> SimilarOut:
    """Map a similar incident to its response model."""
    return SimilarOut(
        incident_id=s.incident_id,
        title=s.title,
        similarity=s.similarity,
        cause_service=s.cause_service,
        cause_fault=s.cause_fault.value if s.cause_fault else None,
        fix=s.fix,
        resolved_at=s.resolved_at,
        why_similar=s.why_similar,
    )


def to_service_knowledge_out(k: ServiceKnowledge) -> ServiceKnowledgeOut:
    """Map what was learnt about a service to its response model."""
    return ServiceKnowledgeOut(
        service=k.service,
        incidents=k.incidents,
        caused=k.caused,
        rejected=k.rejected,
        cause_rate=round(k.cause_rate, 4),
        faults=[
            FaultPriorOut(fault=f.fault.value, probability=round(f.probability, 4), count=f.count)
            for f in k.faults
        ],
        fragilities=[
            FragilityOut(fault=f.fault.value, count=f.count, last_at=f.last_at, fixes=list(f.fixes))
            for f in k.fragilities
        ],
    )


def to_alert_outcome_out(o: AlertOutcome) -> AlertOutcomeOut:
    """Map an alert's outcome counts to its response model."""
    return AlertOutcomeOut(
        alert=o.alert,
        incidents=o.incidents,
        actionable=o.actionable,
        signal_to_noise=round(o.signal_to_noise, 4),
    )
