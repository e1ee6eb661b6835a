"""The knowledge bank over HTTP: resolve an incident, confirm or reject a hypothesis, read what was learnt."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from missioncontrol.api.runtime import Runtime, RuntimeDep
from missioncontrol.api.schemas import BODY_ERRORS, CALLER_ERRORS, ErrorOut
from missioncontrol.api.schemas_knowledge import (
    AlertOutcomeOut,
    FeedbackCreate,
    FeedbackOut,
    ResolutionCreate,
    ResolutionOut,
    ServiceKnowledgeOut,
    SimilarOut,
    to_alert_outcome_out,
    to_feedback_out,
    to_resolution_out,
    to_service_knowledge_out,
    to_similar_out,
)
from missioncontrol.api.security_docs import CALLER
from missioncontrol.domain import IncidentId, ServiceId
from missioncontrol.domain.knowledge import Feedback, Resolution
from missioncontrol.engine.learn import alert_outcomes, remember_brief, service_knowledge, similar_to
from missioncontrol.engine.resolve import resolve_incident
from missioncontrol.ports import KnowledgeBank

router = APIRouter(prefix="/api/v1", tags=["knowledge"], dependencies=CALLER, responses=CALLER_ERRORS)
_ERRORS: dict[int | str, dict[str, object]] = {
    404: {"model": ErrorOut, "description": "No such incident."},
    409: {"model": ErrorOut, "description": "The incident has no brief yet (investigation running)."},
    503: {"model": ErrorOut, "description": "The knowledge bank is not configured."},
}


def _bank(runtime: Runtime) -> KnowledgeBank:
    if runtime.knowledge is None:
        raise HTTPException(status_code=503, detail="the knowledge bank is not configured on this server")
    return runtime.knowledge


def _known(runtime: Runtime, incident_id: str) -> KnowledgeBank:
    """Return the bank, with the incident fingerprinted (from its latest brief if need be)."""
    bank = _bank(runtime)
    if bank.past_incident(incident_id) is not None:
        return bank
    incident = runtime.incidents.incident(IncidentId(incident_id))
    if incident is None:
        raise HTTPException(status_code=404, detail=f"no incident {incident_id!r}")
    brief = runtime.briefs.latest_brief(IncidentId(incident_id))
    if brief is None:
        raise HTTPException(
            status_code=409, detail=f"incident {incident_id!r} has no brief yet: its investigation is running"
        )
    remember_brief(bank, brief, incident.alerts)
    return bank


@router.post(
    "/incidents/{incident_id}/resolve",
    response_model=ResolutionOut,
    responses={**_ERRORS, **BODY_ERRORS},
    summary="Record the confirmed cause and fix of an incident",
)
def resolve(incident_id: str, body: ResolutionCreate, runtime: RuntimeDep) -> ResolutionOut:
    """Record how the incident ended and close it; resolving again replaces the earlier resolution."""
    if body.is_actionable and (body.cause_service is None or body.fault_kind is None):
        raise HTTPException(
            status_code=422, detail="cause_service and fault_kind are required unless is_actionable is false"
        )
    bank = _known(runtime, incident_id)
    resolution = Resolution(
        incident_id=incident_id,
        cause_service=ServiceId(body.cause_service) if body.cause_service and body.is_actionable else None,
        cause_fault=body.fault_kind if body.is_actionable else None,
        fix=body.fix,
        resolved_at=datetime.now(UTC),
        resolved_by=body.resolved_by,
        notes=body.notes,
        is_actionable=body.is_actionable,
    )
    resolve_incident(resolution, bank=bank, incidents=runtime.incidents, briefs=runtime.briefs)
    return to_resolution_out(resolution)


@router.post(
    "/incidents/{incident_id}/feedback",
    response_model=FeedbackOut,
    responses={**_ERRORS, **BODY_ERRORS},
    summary="Confirm or reject one hypothesis of an incident's brief",
)
def feedback(incident_id: str, body: FeedbackCreate, runtime: RuntimeDep) -> FeedbackOut:
    """Record an operator's word on a hypothesis, named by its rank in the latest brief or by service."""
    bank = _known(runtime, incident_id)
    if body.hypothesis is not None:
        brief = runtime.briefs.latest_brief(IncidentId(incident_id))
        hypotheses = brief.diagnosis.hypotheses if brief is not None else ()
        if body.hypothesis > len(hypotheses):
            raise HTTPException(
                status_code=422,
                detail=f"hypothesis {body.hypothesis} does not exist: the latest brief has {len(hypotheses)}",
            )
        chosen = hypotheses[body.hypothesis - 1]
        service, fault = chosen.service, chosen.fault
    elif body.service is not None and body.fault_kind is not None:
        service, fault = ServiceId(body.service), body.fault_kind
    else:
        raise HTTPException(status_code=422, detail="give hypothesis (its rank), or service and fault_kind")
    given = Feedback(
        incident_id=incident_id,
        service=service,
        fault=fault,
        verdict=body.verdict,
        given_at=datetime.now(UTC),
        given_by=body.given_by,
        rank=body.hypothesis,
        note=body.note,
    )
    bank.record_feedback(given)
    return to_feedback_out(given)


@router.get(
    "/incidents/{incident_id}/similar",
    response_model=list[SimilarOut],
    responses=_ERRORS,
    summary="Resolved past incidents most like this one, with what fixed them",
)
def similar(
    incident_id: str, runtime: RuntimeDep, limit: Annotated[int, Query(ge=1, le=50)] = 3
) -> list[SimilarOut]:
    """Return the most similar resolved incidents, most similar first."""
    bank = _known(runtime, incident_id)
    found = similar_to(bank.knowledge(), incident_id, limit=limit)
    return [to_similar_out(s) for s in found or ()]


@router.get(
    "/knowledge/services/{service}",
    response_model=ServiceKnowledgeOut,
    responses={503: _ERRORS[503]},
    summary="What resolved incidents taught about a service: priors and fragilities",
)
def service(service: str, runtime: RuntimeDep) -> ServiceKnowledgeOut:
    """Return how often the service was the cause, of which fault kinds, and its recurring causes."""
    return to_service_knowledge_out(service_knowledge(_bank(runtime).knowledge(), ServiceId(service)))


@router.get(
    "/knowledge/alerts",
    response_model=list[AlertOutcomeOut],
    responses={503: _ERRORS[503]},
    summary="Per alert: how often it led to an actionable incident (signal-to-noise), noisiest first",
)
def alerts(runtime: RuntimeDep) -> list[AlertOutcomeOut]:
    """Return every alert's resolved-incident counts and smoothed signal-to-noise."""
    return [to_alert_outcome_out(o) for o in alert_outcomes(_bank(runtime).knowledge())]
