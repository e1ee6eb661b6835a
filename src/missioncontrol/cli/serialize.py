"""Turn a diagnosis into plain JSON-ready data for `--json` output (snake_case, ISO 8601 times)."""

from datetime import datetime
from typing import Any

from missioncontrol.domain import Diagnosis, Evidence, Hypothesis


def _time(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def evidence_to_dict(e: Evidence) -> dict[str, Any]:
    """Return one evidence item as a dict."""
    return {
        "kind": e.kind.value,
        "service": e.service,
        "summary": e.summary,
        "source": e.source,
        "query": e.query,
        "window": [_time(e.window[0]), _time(e.window[1])],
        "stance": e.stance.value,
        "value": e.value,
        "baseline": e.baseline,
        "weight": round(e.weight, 4),
    }


def hypothesis_to_dict(h: Hypothesis) -> dict[str, Any]:
    """Return one hypothesis with its evidence chain as a dict."""
    return {
        "service": h.service,
        "fault": h.fault.value,
        "cause": h.cause,
        "score": round(h.score, 4),
        "confidence": h.confidence,
        "path": list(h.path),
        "onset_at": _time(h.onset_at),
        "evidence": [evidence_to_dict(e) for e in h.evidence],
    }


def diagnosis_to_dict(d: Diagnosis) -> dict[str, Any]:
    """Return the whole diagnosis as a dict."""
    return {
        "case_id": d.case_id,
        "method": d.method,
        "symptom": d.symptom,
        "onset_at": _time(d.onset_at),
        "window": [_time(d.window[0]), _time(d.window[1])],
        "is_confident": d.is_confident,
        "hypotheses": [hypothesis_to_dict(h) for h in d.hypotheses],
        "weakened": [
            {"service": w.hypothesis.service, "fault": w.hypothesis.fault.value, "reason": w.reason}
            for w in d.weakened
        ],
        "blast_radius": list(d.blast_radius),
        "notes": list(d.notes),
    }
