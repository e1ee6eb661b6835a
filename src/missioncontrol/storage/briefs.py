"""A `Brief` as JSON and back, field by field: what the `briefs` table stores. Round-trips exactly."""

from datetime import UTC, datetime
from typing import Any

from missioncontrol.domain import (
    ActionOption,
    Brief,
    Decision,
    Diagnosis,
    Evidence,
    EvidenceKind,
    FaultKind,
    Hypothesis,
    Impact,
    IncidentId,
    ServiceId,
    SimilarIncident,
    Stance,
    Verdict,
    Weakened,
)

FORMAT = 1  # bump with a reader for the old shape when a field changes meaning


def _t(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def _at(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _at_required(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _evidence_to_json(e: Evidence) -> dict[str, Any]:
    return {
        "kind": e.kind.value,
        "service": e.service,
        "summary": e.summary,
        "source": e.source,
        "query": e.query,
        "window": [_t(e.window[0]), _t(e.window[1])],
        "stance": e.stance.value,
        "value": e.value,
        "baseline": e.baseline,
        "weight": e.weight,
    }


def _evidence_from_json(d: dict[str, Any]) -> Evidence:
    return Evidence(
        kind=EvidenceKind(d["kind"]),
        service=ServiceId(d["service"]),
        summary=d["summary"],
        source=d["source"],
        query=d["query"],
        window=(_at_required(d["window"][0]), _at_required(d["window"][1])),
        stance=Stance(d["stance"]),
        value=d["value"],
        baseline=d["baseline"],
        weight=d["weight"],
    )


def _hypothesis_to_json(h: Hypothesis) -> dict[str, Any]:
    return {
        "service": h.service,
        "fault": h.fault.value,
        "cause": h.cause,
        "score": h.score,
        "confidence": h.confidence,
        "path": list(h.path),
        "evidence": [_evidence_to_json(e) for e in h.evidence],
        "onset_at": _t(h.onset_at),
    }


def _hypothesis_from_json(d: dict[str, Any]) -> Hypothesis:
    return Hypothesis(
        service=ServiceId(d["service"]),
        fault=FaultKind(d["fault"]),
        cause=d["cause"],
        score=d["score"],
        confidence=d["confidence"],
        path=tuple(ServiceId(s) for s in d["path"]),
        evidence=tuple(_evidence_from_json(e) for e in d["evidence"]),
        onset_at=_at(d["onset_at"]),
    )


def diagnosis_to_json(d: Diagnosis) -> dict[str, Any]:
    """Return a diagnosis as a JSON-ready dict."""
    return {
        "case_id": d.case_id,
        "method": d.method,
        "symptom": d.symptom,
        "onset_at": _t(d.onset_at),
        "window": [_t(d.window[0]), _t(d.window[1])],
        "hypotheses": [_hypothesis_to_json(h) for h in d.hypotheses],
        "weakened": [
            {"hypothesis": _hypothesis_to_json(w.hypothesis), "reason": w.reason} for w in d.weakened
        ],
        "blast_radius": list(d.blast_radius),
        "notes": list(d.notes),
    }


def diagnosis_from_json(d: dict[str, Any]) -> Diagnosis:
    """Return the diagnosis a `diagnosis_to_json` dict describes."""
    return Diagnosis(
        case_id=d["case_id"],
        method=d["method"],
        symptom=None if d["symptom"] is None else ServiceId(d["symptom"]),
        onset_at=_at(d["onset_at"]),
        window=(_at_required(d["window"][0]), _at_required(d["window"][1])),
        hypotheses=tuple(_hypothesis_from_json(h) for h in d["hypotheses"]),
        weakened=tuple(
            Weakened(hypothesis=_hypothesis_from_json(w["hypothesis"]), reason=w["reason"])
            for w in d["weakened"]
        ),
        blast_radius=tuple(ServiceId(s) for s in d["blast_radius"]),
        notes=tuple(d["notes"]),
    )


def _similar_to_json(s: SimilarIncident) -> dict[str, Any]:
    return {
        "incident_id": s.incident_id,
        "title": s.title,
        "similarity": s.similarity,
        "cause_service": s.cause_service,
        "cause_fault": None if s.cause_fault is None else s.cause_fault.value,
        "fix": s.fix,
        "resolved_at": _t(s.resolved_at),
        "why_similar": s.why_similar,
    }


def _similar_from_json(d: dict[str, Any]) -> SimilarIncident:
    return SimilarIncident(
        incident_id=d["incident_id"],
        title=d["title"],
        similarity=d["similarity"],
        cause_service=None if d["cause_service"] is None else ServiceId(d["cause_service"]),
        cause_fault=None if d["cause_fault"] is None else FaultKind(d["cause_fault"]),
        fix=d["fix"],
        resolved_at=_at(d["resolved_at"]),
        why_similar=d["why_similar"],
    )


def _decision_to_json(d: Decision) -> dict[str, Any]:
    return {
        "verdict": d.verdict.value,
        "on_duty_tier": d.on_duty_tier,
        "actions": [
            {
                "action": a.action,
                "service": a.service,
                "tier": a.tier,
                "needs_approval_from": list(a.needs_approval_from),
                "reason": a.reason,
            }
            for a in d.actions
        ],
        "escalate_to": d.escalate_to,
        "missing_authority": d.missing_authority,
        "page_team": d.page_team,
        "page_contacts": list(d.page_contacts),
    }


def _decision_from_json(d: dict[str, Any]) -> Decision:
    return Decision(
        verdict=Verdict(d["verdict"]),
        on_duty_tier=d["on_duty_tier"],
        actions=tuple(
            ActionOption(
                action=a["action"],
                service=ServiceId(a["service"]),
                tier=a["tier"],
                needs_approval_from=tuple(a["needs_approval_from"]),
                reason=a["reason"],
            )
            for a in d["actions"]
        ),
        escalate_to=d["escalate_to"],
        missing_authority=d["missing_authority"],
        page_team=d["page_team"],
        page_contacts=tuple(d.get("page_contacts", ())),  # briefs stored before contacts were kept
    )


def brief_to_json(brief: Brief) -> dict[str, Any]:
    """Return a brief as a JSON-ready dict holding every field."""
    return {
        "format": FORMAT,
        "incident_id": brief.incident_id,
        "generated_at": _t(brief.generated_at),
        "version": brief.version,
        "diagnosis": diagnosis_to_json(brief.diagnosis),
        "impact": {
            "signals": list(brief.impact.signals),
            "since": _t(brief.impact.since),
            "summary": brief.impact.summary,
        },
        "owner": brief.owner,
        "similar": [_similar_to_json(s) for s in brief.similar],
        "decision": None if brief.decision is None else _decision_to_json(brief.decision),
        "notes": list(brief.notes),
    }


def brief_from_json(d: dict[str, Any]) -> Brief:
    """Return the brief a `brief_to_json` dict describes."""
    if d.get("format") != FORMAT:
        raise ValueError(f"brief JSON format {d.get('format')!r} is not {FORMAT}")
    return Brief(
        incident_id=IncidentId(d["incident_id"]),
        generated_at=_at_required(d["generated_at"]),
        version=d["version"],
        diagnosis=diagnosis_from_json(d["diagnosis"]),
        impact=Impact(
            signals=tuple(d["impact"]["signals"]),
            since=_at(d["impact"]["since"]),
            summary=d["impact"]["summary"],
        ),
        owner=d["owner"],
        similar=tuple(_similar_from_json(s) for s in d["similar"]),
        decision=None if d["decision"] is None else _decision_from_json(d["decision"]),
        notes=tuple(d["notes"]),
    )
