"""Domain alerts as an Alertmanager webhook v4 notification: what a sender (replay, demo) POSTs. Pure.

`to_alerts(to_webhook(alerts), received_at=t)` gives the same alerts back, received at `t`.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from missioncontrol.domain import Alert, AlertStatus

ZERO_TIME = "0001-01-01T00:00:00Z"  # Alertmanager's endsAt for an alert still firing


def rfc3339(at: datetime) -> str:
    """Return `at` as RFC 3339 in UTC with every fraction of a second it holds.

    Alertmanager writes Go's RFC3339Nano (as many digits as the time has). Cutting to milliseconds
    moved a replayed alert, and with it the investigation's window, by up to a millisecond: enough to
    take in or leave out a sample on the window's edge, so the live brief could differ from offline.
    """
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def alert_labels(alert: Alert) -> dict[str, str]:
    """Return the labels that map back to `alert`: its own plus alertname, severity, service, signal."""
    labels = dict(alert.labels)
    labels["alertname"] = alert.name
    if alert.severity.value != "unknown":
        labels.setdefault("severity", alert.severity.value)
    if alert.service is not None:
        labels["service"] = str(alert.service)
    if alert.signal and alert.signal != alert.name:
        labels["signal"] = alert.signal
    return labels


def to_webhook(alerts: Sequence[Alert], *, receiver: str = "missioncontrol") -> dict[str, Any]:
    """Return the Alertmanager webhook (version 4) notification carrying `alerts`."""
    raw = []
    for alert in alerts:
        item: dict[str, Any] = {
            "status": alert.status.value,
            "labels": alert_labels(alert),
            "annotations": {"summary": alert.summary} if alert.summary else {},
            "startsAt": rfc3339(alert.started_at),
            "endsAt": ZERO_TIME,
            "generatorURL": "",
            "fingerprint": alert.fingerprint,
        }
        raw.append(item)
    firing = any(a.status is AlertStatus.FIRING for a in alerts)
    common = dict.fromkeys(("alertname",), alerts[0].name) if alerts else {}
    return {
        "version": "4",
        "groupKey": "{}:{alertname=" + repr(alerts[0].name if alerts else "") + "}",
        "truncatedAlerts": 0,
        "status": "firing" if firing else "resolved",
        "receiver": receiver,
        "groupLabels": common,
        "commonLabels": common,
        "commonAnnotations": {},
        "externalURL": "",
        "alerts": raw,
    }
