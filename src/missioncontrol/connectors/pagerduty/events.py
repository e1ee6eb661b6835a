"""Brief → PagerDuty Events API v2 event (outbound): trigger, acknowledge, resolve; one dedup_key each.

Encoded from PagerDuty's "Send an Alert Event" reference (developer.pagerduty.com, Events API v2):
POST https://events.pagerduty.com/v2/enqueue with `routing_key` (the 32-character integration key),
`event_action` (`trigger` | `acknowledge` | `resolve`) and `dedup_key` (at most 255 characters). A
trigger also carries `payload` with the required `summary` (at most 1024 characters), `source` and
`severity` (`critical` | `error` | `warning` | `info`), and optional `timestamp`, `component`, `group`,
`class`, `custom_details`; plus optional `links` ({href, text}), `client` and `client_url`. Acknowledge
and resolve need only routing_key, dedup_key and event_action. A 202 answers success; 429 means rate
limited (about 120 events a minute per integration key) and is retried.

The dedup_key is the incident id, so every trigger, acknowledge and resolve of one incident lands on one
PagerDuty alert however often delivery is retried.
"""

from typing import Any

from missioncontrol.domain import Brief, Severity, Stance
from missioncontrol.domain.respond import PageAction

EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
MAX_SUMMARY = 1024
MAX_DEDUP_KEY = 255
PD_SEVERITIES = frozenset({"critical", "error", "warning", "info"})
SEVERITY: dict[Severity, str] = {
    Severity.CRITICAL: "critical",
    Severity.WARNING: "warning",
    Severity.INFO: "info",
    Severity.UNKNOWN: "error",  # unknown is treated as worth a page, below critical
}


def dedup_key(brief: Brief) -> str:
    """Return the stable dedup_key of the incident the brief belongs to."""
    return str(brief.incident_id)[:MAX_DEDUP_KEY]


def summary_of(brief: Brief) -> str:
    """Return the one-line alert summary: prime suspect, fault, confidence and the decision (≤ 1024 chars)."""
    diagnosis = brief.diagnosis
    if diagnosis.hypotheses:
        top = diagnosis.hypotheses[0]
        text = (
            f"[{brief.incident_id}] {diagnosis.symptom or 'symptom'}: suspected cause {top.service} "
            f"({top.fault}, {top.confidence:.0%}{'' if diagnosis.is_confident else ', not confident'})"
        )
    else:
        text = f"[{brief.incident_id}] {diagnosis.symptom or 'symptom'}: no confident cause yet"
    if brief.decision is not None and brief.decision.summary:
        text += f" — {brief.decision.summary}"
    return text if len(text) <= MAX_SUMMARY else text[: MAX_SUMMARY - 1] + "…"


def to_event(
    brief: Brief,
    *,
    routing_key: str,
    action: PageAction,
    severity: Severity = Severity.CRITICAL,
    link: str = "",
    client: str = "Mission Control",
) -> dict[str, Any]:
    """Return the Events v2 body for `action` on the brief's incident."""
    event: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": str(action),
        "dedup_key": dedup_key(brief),
    }
    if action is not PageAction.TRIGGER:
        return event
    diagnosis = brief.diagnosis
    top = diagnosis.hypotheses[0] if diagnosis.hypotheses else None
    decision = brief.decision
    details: dict[str, Any] = {
        "incident_id": str(brief.incident_id),
        "brief_version": brief.version,
        "symptom": diagnosis.symptom,
        "owner": brief.owner,
        "confident": diagnosis.is_confident,
        "hypotheses": [
            {
                "service": h.service,
                "fault": str(h.fault),
                "confidence": round(h.confidence, 3),
                "cause": h.cause,
            }
            for h in diagnosis.hypotheses[:3]
        ],
        "path": list(top.path) if top is not None else [],
        "evidence": [
            e.summary for e in (top.evidence if top is not None else ()) if e.stance is Stance.SUPPORTS
        ][:6],
        "blast_radius": list(diagnosis.blast_radius[:20]),
    }
    if decision is not None:
        details["decision"] = {
            "verdict": str(decision.verdict),
            "on_duty_tier": decision.on_duty_tier,
            "summary": decision.summary,
            "escalate_to": decision.escalate_to,
            "missing_authority": decision.missing_authority,
            "actions": [f"{o.action} {o.service}" for o in decision.actions],
        }
        details["handoff"] = decision.handoff[:4000]
    payload: dict[str, Any] = {
        "summary": summary_of(brief),
        "source": str(top.service if top is not None else diagnosis.symptom or "mission-control"),
        "severity": SEVERITY[severity],
        "timestamp": brief.generated_at.isoformat(),
        "component": str(top.service) if top is not None else "",
        "group": brief.owner or "",
        "class": str(top.fault) if top is not None else "unknown",
        "custom_details": details,
    }
    event["payload"] = {k: v for k, v in payload.items() if v != ""}
    event["client"] = client
    if link:
        event["client_url"] = link
        event["links"] = [{"href": link, "text": "Mission Control brief"}]
    return event


def event_problems(event: dict[str, Any]) -> list[str]:
    """Return every way `event` breaks the documented Events v2 shape (empty when it fits)."""
    problems: list[str] = []
    if not isinstance(event.get("routing_key"), str) or not event["routing_key"]:
        problems.append("routing_key: required")
    if event.get("event_action") not in ("trigger", "acknowledge", "resolve"):
        problems.append(f"event_action: {event.get('event_action')!r} is not trigger, acknowledge or resolve")
    key = event.get("dedup_key")
    if key is not None and (not isinstance(key, str) or len(key) > MAX_DEDUP_KEY):
        problems.append(f"dedup_key: a string of at most {MAX_DEDUP_KEY} characters")
    if event.get("event_action") != "trigger":
        if not key:
            problems.append("dedup_key: required to acknowledge or resolve")
        return problems
    payload = event.get("payload")
    if not isinstance(payload, dict):
        return [*problems, "payload: required for a trigger"]
    summary = payload.get("summary")
    if not isinstance(summary, str) or not 0 < len(summary) <= MAX_SUMMARY:
        problems.append(f"payload.summary: 1..{MAX_SUMMARY} characters")
    if not isinstance(payload.get("source"), str) or not payload["source"]:
        problems.append("payload.source: required")
    if payload.get("severity") not in PD_SEVERITIES:
        problems.append(
            f"payload.severity: {payload.get('severity')!r} is not one of {sorted(PD_SEVERITIES)}"
        )
    if "custom_details" in payload and not isinstance(payload["custom_details"], dict):
        problems.append("payload.custom_details: an object")
    for i, link in enumerate(event.get("links", [])):
        if not isinstance(link, dict) or not link.get("href"):
            problems.append(f"links[{i}].href: required")
    return problems
