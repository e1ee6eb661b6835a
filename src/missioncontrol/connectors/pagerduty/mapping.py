"""Map PagerDuty Events API v2 events sent TO Mission Control (trigger, acknowledge, resolve) to alerts.

Pure; no I/O. A monitoring tool that already speaks Events v2 can point at us instead of (or as well
as) PagerDuty. `dedup_key` is the fingerprint, so a resend, an acknowledge and a resolve all land on
the same alert. Only a trigger carries a `payload`; acknowledge and resolve carry the key alone.
PagerDuty's own urgency rule decides the severity table: `critical` and `error` page at high urgency.
"""

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from missioncontrol.domain import Alert, AlertProblem, AlertStatus, ServiceId, Severity
from missioncontrol.domain.timestamps import parse_storable_utc

SEVERITY = {
    "critical": Severity.CRITICAL,
    "error": Severity.CRITICAL,
    "warning": Severity.WARNING,
    "info": Severity.INFO,
}
ACTIONS = ("trigger", "acknowledge", "resolve")
SERVICE_DETAILS = ("service", "service_name", "app")  # custom_details keys that name the service


class _Bad(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _text(mapping: Mapping[str, Any], key: str, field: str, *, required: bool) -> str:
    value = mapping.get(key)
    if value is None or value == "":
        if required:
            raise _Bad(field, "is missing")
        return ""
    if not isinstance(value, str):
        raise _Bad(field, f"must be a string, not {type(value).__name__}")
    return value


def _time(value: str, field: str) -> datetime:
    try:
        return parse_storable_utc(value, form="ISO 8601")
    except ValueError as exc:  # what is wrong with it, or one the stores cannot hold
        raise _Bad(field, str(exc)) from None


def default_dedup_key(routing_key: str, payload: Mapping[str, Any]) -> str:
    """Return a stable key for a trigger sent without `dedup_key` (PagerDuty would mint one)."""
    basis = "\x1f".join([routing_key, str(payload.get("source", "")), str(payload.get("summary", ""))])
    return hashlib.sha256(basis.encode()).hexdigest()[:32]


def to_alert(event: Any, *, received_at: datetime) -> Alert:
    """Map one Events API v2 event to an alert; raises `_Bad` naming the field that is wrong."""
    if not isinstance(event, Mapping):
        raise _Bad("", f"must be a JSON object, not {type(event).__name__}")
    routing_key = _text(event, "routing_key", "routing_key", required=True)
    action = _text(event, "event_action", "event_action", required=True)
    if action not in ACTIONS:
        raise _Bad("event_action", f"{action!r} is not one of {', '.join(ACTIONS)}")
    dedup_key = _text(event, "dedup_key", "dedup_key", required=action != "trigger")
    labels = {"pagerduty_action": action}
    if action != "trigger":
        return Alert(
            fingerprint=dedup_key,
            name="",
            severity=Severity.UNKNOWN,
            status=AlertStatus.RESOLVED if action == "resolve" else AlertStatus.FIRING,
            service=None,
            signal="",
            started_at=received_at,
            received_at=received_at,
            labels=labels,
        )
    payload = event.get("payload")
    if not isinstance(payload, Mapping):
        raise _Bad("payload", "is missing (a trigger needs summary, source and severity)")
    summary = _text(payload, "summary", "payload.summary", required=True)
    source = _text(payload, "source", "payload.source", required=True)
    severity_text = _text(payload, "severity", "payload.severity", required=True)
    if severity_text not in SEVERITY:
        raise _Bad("payload.severity", f"{severity_text!r} is not one of {', '.join(SEVERITY)}")
    stamp = _text(payload, "timestamp", "payload.timestamp", required=False)
    details = payload.get("custom_details")
    details = details if isinstance(details, Mapping) else {}
    component = _text(payload, "component", "payload.component", required=False)
    service = next(
        (str(details[k]) for k in SERVICE_DETAILS if isinstance(details.get(k), str) and details[k]), ""
    )
    service = service or component or source
    for key in ("component", "group", "class", "source"):
        if isinstance(payload.get(key), str) and payload[key]:
            labels[key] = payload[key]
    labels.update(
        {f"detail_{k}": str(v) for k, v in details.items() if isinstance(v, str | int | float | bool)}
    )
    return Alert(
        fingerprint=dedup_key or default_dedup_key(routing_key, payload),
        name=_text(payload, "class", "payload.class", required=False) or summary,
        severity=SEVERITY[severity_text],
        status=AlertStatus.FIRING,
        service=ServiceId(service),
        signal=str(details.get("signal", "")),
        started_at=_time(stamp, "payload.timestamp") if stamp else received_at,
        received_at=received_at,
        summary=summary,
        labels=labels,
    )


def to_alerts(payload: object, *, received_at: datetime) -> tuple[list[Alert], list[AlertProblem]]:
    """Map one event, or a JSON array of events, to alerts; each bad event is one problem naming its field."""
    events = payload if isinstance(payload, list) else [payload]
    alerts: list[Alert] = []
    problems: list[AlertProblem] = []
    for i, event in enumerate(events):
        try:
            alerts.append(to_alert(event, received_at=received_at))
        except _Bad as bad:
            problems.append(AlertProblem(index=i, field=bad.field, message=bad.message))
    return alerts, problems
