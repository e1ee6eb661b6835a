"""Incidents and their briefs, as the investigation worker stored them."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from missioncontrol.api.runtime import RuntimeDep
from missioncontrol.api.schemas import (
    CALLER_ERRORS,
    AlertPageOut,
    BriefOut,
    ErrorOut,
    IncidentOut,
    IncidentSummaryOut,
    to_alert_page_out,
    to_brief_out,
    to_incident_out,
    to_incident_summary_out,
)
from missioncontrol.api.security_docs import CALLER
from missioncontrol.domain import IncidentId, IncidentStatus

router = APIRouter(
    prefix="/api/v1/incidents",
    tags=["incidents"],
    dependencies=CALLER,
    responses=CALLER_ERRORS,
)
_NOT_FOUND: dict[int | str, dict[str, object]] = {
    404: {"model": ErrorOut, "description": "No such incident."}
}


@router.get("", response_model=list[IncidentSummaryOut], summary="List incidents, newest activity first")
def list_incidents(
    runtime: RuntimeDep,
    status: Annotated[IncidentStatus | None, Query(description="Only incidents in this state.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[IncidentSummaryOut]:
    """Return incidents, newest-updated first."""
    found = runtime.incidents.incidents(status=status, limit=limit, offset=offset)
    return [to_incident_summary_out(i) for i in found]


@router.get("/{incident_id}", response_model=IncidentOut, responses=_NOT_FOUND, summary="One incident")
def get_incident(
    incident_id: str,
    runtime: RuntimeDep,
    digest: Annotated[
        bool,
        Query(
            description="Only the earliest alert of each service, name, severity and status, with their "
            "reasons (`alert_count` still counts every alert): an alert storm's incident in a few dozen."
        ),
    ] = False,
) -> IncidentOut:
    """Return one incident with its alerts (all, or their digest) and the reason each joined it."""
    store = runtime.incidents
    incident = (
        store.incident_digest(IncidentId(incident_id)) if digest else store.incident(IncidentId(incident_id))
    )
    if incident is None:
        raise HTTPException(status_code=404, detail=f"no incident {incident_id!r}")
    return to_incident_out(incident)


@router.get(
    "/{incident_id}/alerts",
    response_model=AlertPageOut,
    responses=_NOT_FOUND,
    summary="An incident's alerts, a page at a time",
)
def list_incident_alerts(
    incident_id: str,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="Alerts per page.")] = 200,
    after: Annotated[
        int, Query(ge=0, le=2**62, description="The previous page's `next_after`; 0 for the first page.")
    ] = 0,
) -> AlertPageOut:
    """Return the incident's alerts in the order received, `limit` at a time: a storm's every alert."""
    page = runtime.incidents.incident_alerts(IncidentId(incident_id), limit=limit, after=after)
    if page is None:
        raise HTTPException(status_code=404, detail=f"no incident {incident_id!r}")
    return to_alert_page_out(page)


@router.get(
    "/{incident_id}/brief",
    response_model=BriefOut,
    responses={**_NOT_FOUND, 409: {"model": ErrorOut, "description": "Investigation still running."}},
    summary="The latest brief of an incident",
)
def get_brief(incident_id: str, runtime: RuntimeDep) -> BriefOut:
    """Return the newest brief of the incident (its `version` grows as evidence arrives)."""
    brief = runtime.briefs.latest_brief(IncidentId(incident_id))
    if brief is None:
        if runtime.incidents.incident_digest(IncidentId(incident_id)) is None:
            raise HTTPException(status_code=404, detail=f"no incident {incident_id!r}")
        raise HTTPException(
            status_code=409, detail=f"incident {incident_id!r} has no brief yet: its investigation is running"
        )
    return to_brief_out(brief)
