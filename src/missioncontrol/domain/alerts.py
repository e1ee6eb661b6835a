"""Alerts: what fired, where, and when."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from missioncontrol.domain.ids import ServiceId


class Severity(StrEnum):
    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"
    UNKNOWN = "unknown"


class AlertStatus(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert as it fired. `signal` names the breached series (e.g. `latency_p90`)."""

    fingerprint: str
    name: str
    severity: Severity
    status: AlertStatus
    service: ServiceId | None
    signal: str
    started_at: datetime  # tz-aware, UTC: when the rule fired
    received_at: datetime
    summary: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
