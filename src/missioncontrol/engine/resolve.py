"""Resolve an incident: teach the knowledge bank, close the incident, and say so in a new brief version.

One use case for every door (API, CLI, board): the resolution is recorded first (it is what the next
diagnosis learns from), then the incident is marked resolved, then the brief gets a new version with a
note. Storing that version through the brief store is what lets a publisher resolve the page it sent.
"""

from dataclasses import replace

from missioncontrol.domain import Brief, IncidentId
from missioncontrol.domain.knowledge import Resolution
from missioncontrol.ports import BriefStore, IncidentStore, KnowledgeBank


def resolution_note(resolution: Resolution) -> str:
    """Return one line saying how the incident ended, for the brief."""
    who = f" by {resolution.resolved_by}" if resolution.resolved_by else ""
    if not resolution.is_actionable:
        return f"Resolved{who} as not actionable (false alarm or noise)."
    cause = f"{resolution.cause_service} ({resolution.cause_fault})"
    fix = f"; fix: {resolution.fix}" if resolution.fix else ""
    return f"Resolved{who}: confirmed cause {cause}{fix}."


def resolve_incident(
    resolution: Resolution, *, bank: KnowledgeBank, incidents: IncidentStore, briefs: BriefStore
) -> Brief | None:
    """Record `resolution`, mark its incident resolved, and store the closing brief (None if no brief)."""
    incident_id = IncidentId(resolution.incident_id)
    bank.record_resolution(resolution)
    incidents.resolve_incident(incident_id, at=resolution.resolved_at)
    latest = briefs.latest_brief(incident_id)
    if latest is None:
        return None
    closing = replace(
        latest,
        version=latest.version + 1,
        generated_at=resolution.resolved_at,
        notes=(*latest.notes, resolution_note(resolution)),
    )
    briefs.save_brief(closing)
    return closing
