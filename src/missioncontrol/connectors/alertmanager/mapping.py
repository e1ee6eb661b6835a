"""Map Alertmanager webhook v4 payloads, and Grafana's variant of them, to domain alerts. Pure; no I/O.

Grafana's alerting webhook is the same document with `version: "1"` and a few extra top-level fields
(`orgId`, `state`, `title`, `message`) and extra per-alert fields (`values`, `valueString`,
`dashboardURL`, `panelURL`, `silenceURL`): one parser serves both, ignoring what it does not use.

Parsing never fails a batch: `to_alerts` returns the alerts it could map and one `AlertProblem` per
alert it could not, naming the alert's index and the field (`alerts[3].startsAt`).
"""

import hashlib
import re
from collections.abc import Mapping, Sequence
from datetime import datetime

from missioncontrol.domain import Alert, AlertProblem, AlertStatus, ServiceId, Severity
from missioncontrol.domain.timestamps import to_storable_utc

SEVERITY = {
    "critical": Severity.CRITICAL,
    "crit": Severity.CRITICAL,
    "page": Severity.CRITICAL,
    "error": Severity.CRITICAL,
    "high": Severity.CRITICAL,
    "warning": Severity.WARNING,
    "warn": Severity.WARNING,
    "medium": Severity.WARNING,
    "info": Severity.INFO,
    "low": Severity.INFO,
    "none": Severity.INFO,
}
STATUS = {"firing": AlertStatus.FIRING, "resolved": AlertStatus.RESOLVED}
# Labels that name the service an alert is about, most specific first (OTel, Kubernetes, Prometheus).
SERVICE_LABELS = ("service", "service_name", "app_kubernetes_io_name", "app", "container", "job")
# Labels that name the breached signal, else the alert's name stands for it.
SIGNAL_LABELS = ("signal", "metric", "__name__")
SUMMARY_ANNOTATIONS = ("summary", "description", "message")
VERSIONS = {"4", "1"}  # Alertmanager webhook v4; Grafana's variant says "1"
MAX_ALERTS = 10_000
MAX_TEXT = 4096

_RFC3339 = re.compile(r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


class _Bad(Exception):
    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message


def parse_rfc3339(value: str) -> datetime:
    """Return the UTC datetime of an RFC 3339 timestamp (Go writes up to nine fractional digits);
    ValueError when it is not one, or not a time the stores can hold (domain/timestamps.py)."""
    match = _RFC3339.match(value)
    if not match:
        raise ValueError(f"not an RFC 3339 timestamp: {value[:64]!r}")
    if value[10] == "T" and value[-1] != "z":
        # What senders write (`T`, `Z` or an offset): `fromisoformat` reads it as it is, fractions
        # past microseconds cut off as below. Whatever it refuses takes the long way, for its message.
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return to_storable_utc(parsed)
    date, clock, fraction, zone = match.groups()
    micros = (fraction or ".0")[1:7].ljust(6, "0")
    offset = "+00:00" if zone in ("Z", "z") else zone
    return to_storable_utc(datetime.fromisoformat(f"{date}T{clock}.{micros}{offset}"))


def _text_map(raw: object, field: str) -> dict[str, str]:
    if raw is None:
        return {}
    if type(raw) is dict:  # what a JSON parser makes: plain strings, short, need only a copy
        for key, value in raw.items():
            if type(value) is not str or type(key) is not str or len(value) > MAX_TEXT:
                break
        else:
            return dict(raw)
    if not isinstance(raw, Mapping):
        raise _Bad(field, f"must be an object of strings, got {type(raw).__name__}")
    out: dict[str, str] = {}
    for key, value in raw.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise _Bad(f"{field}.{key}", f"must be a string, got {type(value).__name__}")
        out[key] = value[:MAX_TEXT]
    return out


def _fingerprint(labels: Mapping[str, str]) -> str:
    """Return a stable fingerprint of a label set, for senders that leave `fingerprint` out."""
    canonical = "\x00".join(f"{k}\x01{v}" for k, v in sorted(labels.items()))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _first(values: Mapping[str, str], keys: tuple[str, ...]) -> str:
    """Return the value of the first of `keys` that `values` holds non-empty, else ""."""
    for key in keys:
        value = values.get(key)
        if value:
            return value
    return ""


def _to_alert(raw: object, where: str, *, received_at: datetime) -> Alert:
    if type(raw) is not dict and not isinstance(raw, Mapping):
        raise _Bad(where, f"must be an object, got {type(raw).__name__}")
    labels = _text_map(raw.get("labels"), f"{where}.labels")
    annotations = _text_map(raw.get("annotations"), f"{where}.annotations")
    name = labels.get("alertname", "")
    if not name:
        raise _Bad(f"{where}.labels.alertname", "is required and must be a non-empty string")
    status_raw = raw.get("status", "firing")
    status = STATUS.get(status_raw) if isinstance(status_raw, str) else None
    if status is None:
        raise _Bad(f"{where}.status", f"must be 'firing' or 'resolved', got {str(status_raw)[:32]!r}")
    starts = raw.get("startsAt")
    if not isinstance(starts, str):
        raise _Bad(f"{where}.startsAt", "is required: an RFC 3339 timestamp")
    try:
        started_at = parse_rfc3339(starts)
    except ValueError as exc:
        raise _Bad(f"{where}.startsAt", str(exc)) from None
    fingerprint = raw.get("fingerprint")
    if fingerprint is None or fingerprint == "":
        fingerprint = _fingerprint(labels)
    if not isinstance(fingerprint, str) or len(fingerprint) > 128:
        raise _Bad(f"{where}.fingerprint", "must be a string of at most 128 characters")
    service = _first(labels, SERVICE_LABELS)
    severity = labels.get("severity")
    return Alert(
        fingerprint,
        name[:256],
        SEVERITY.get(severity.lower(), Severity.UNKNOWN) if severity else Severity.UNKNOWN,
        status,
        ServiceId(service[:256]) if service else None,
        (_first(labels, SIGNAL_LABELS) or name)[:256],
        started_at,
        received_at,
        _first(annotations, SUMMARY_ANNOTATIONS),
        labels,
    )


def to_alerts(payload: object, *, received_at: datetime) -> tuple[list[Alert], list[AlertProblem]]:
    """Return the alerts of a webhook payload and a problem per alert (or payload) that could not map."""
    if not isinstance(payload, Mapping):
        return [], [AlertProblem(None, "$", f"must be a JSON object, got {type(payload).__name__}")]
    version = payload.get("version")
    if version is not None and str(version) not in VERSIONS:
        return [], [
            AlertProblem(None, "version", f"must be '4' (Alertmanager) or '1' (Grafana), got {version!r}")
        ]
    raw_alerts = payload.get("alerts")
    if not isinstance(raw_alerts, Sequence) or isinstance(raw_alerts, str | bytes):
        return [], [AlertProblem(None, "alerts", "is required: a list of alerts")]
    if len(raw_alerts) > MAX_ALERTS:
        return [], [AlertProblem(None, "alerts", f"holds {len(raw_alerts)} alerts; at most {MAX_ALERTS}")]
    alerts: list[Alert] = []
    problems: list[AlertProblem] = []
    for index, raw in enumerate(raw_alerts):
        try:
            alerts.append(_to_alert(raw, f"alerts[{index}]", received_at=received_at))
        except _Bad as bad:
            problems.append(AlertProblem(index, bad.field, bad.message))
    return alerts, problems
