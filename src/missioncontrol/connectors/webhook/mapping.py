"""Brief → a generic JSON document for any webhook receiver (snake_case, stable keys, `schema` versioned).

{"schema": "missioncontrol.brief/v1", "event": "brief", "incident_id": ..., "generated_at": ...,
 "version": 1, "symptom": ..., "owner": ..., "confident": true,
 "hypotheses": [{"service", "fault", "cause", "confidence", "path", "evidence": [{...}]}],
 "blast_radius": [...], "decision": {...} | null, "link": "..."}
"""

from typing import Any

from missioncontrol.domain import Brief

SCHEMA = "missioncontrol.brief/v1"


def to_payload(brief: Brief, *, event: str = "brief", link: str = "") -> dict[str, Any]:
    """Return the JSON-ready document for `brief`."""
    diagnosis = brief.diagnosis
    decision = brief.decision
    return {
        "schema": SCHEMA,
        "event": event,
        "incident_id": str(brief.incident_id),
        "generated_at": brief.generated_at.isoformat(),
        "version": brief.version,
        "symptom": diagnosis.symptom,
        "owner": brief.owner,
        "confident": diagnosis.is_confident,
        "hypotheses": [
            {
                "service": h.service,
                "fault": str(h.fault),
                "cause": h.cause,
                "confidence": round(h.confidence, 4),
                "path": list(h.path),
                "evidence": [
                    {
                        "kind": str(e.kind),
                        "summary": e.summary,
                        "source": e.source,
                        "query": e.query,
                        "stance": str(e.stance),
                        "window": [e.window[0].isoformat(), e.window[1].isoformat()],
                    }
                    for e in h.evidence[:10]
                ],
            }
            for h in diagnosis.hypotheses[:5]
        ],
        "blast_radius": list(diagnosis.blast_radius),
        "decision": (
            None
            if decision is None
            else {
                "verdict": str(decision.verdict),
                "on_duty_tier": decision.on_duty_tier,
                "summary": decision.summary,
                "actions": [
                    {
                        "action": o.action,
                        "service": o.service,
                        "tier": o.tier,
                        "needs_approval_from": list(o.needs_approval_from),
                        "reason": o.reason,
                    }
                    for o in decision.actions
                ],
                "escalate_to": decision.escalate_to,
                "missing_authority": decision.missing_authority,
                "page_team": decision.page_team,
                "handoff": decision.handoff,
            }
        ),
        "link": link,
    }
