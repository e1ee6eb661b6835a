"""Domain values: frozen dataclasses and enums, standard library only."""

from missioncontrol.domain.alerts import Alert, AlertStatus, Severity
from missioncontrol.domain.case import Case, LabeledCase, TimeMode, Truth
from missioncontrol.domain.catalog import CatalogEntry, Team
from missioncontrol.domain.changes import Change, ChangeKind
from missioncontrol.domain.diagnosis import (
    CONFIDENT,
    Diagnosis,
    Evidence,
    EvidenceKind,
    FaultKind,
    Hypothesis,
    Stance,
    Weakened,
)
from missioncontrol.domain.errors import CaseFormatError, MissionControlError
from missioncontrol.domain.ids import ServiceId
from missioncontrol.domain.telemetry import LogRecord, MetricSeries, Span, Telemetry
from missioncontrol.domain.topology import ServiceGraph

__all__ = [
    "CONFIDENT",
    "Alert",
    "AlertStatus",
    "Case",
    "CaseFormatError",
    "CatalogEntry",
    "Change",
    "ChangeKind",
    "Diagnosis",
    "Evidence",
    "EvidenceKind",
    "FaultKind",
    "Hypothesis",
    "LabeledCase",
    "LogRecord",
    "MetricSeries",
    "MissionControlError",
    "ServiceGraph",
    "ServiceId",
    "Severity",
    "Span",
    "Stance",
    "Team",
    "Telemetry",
    "TimeMode",
    "Truth",
    "Weakened",
]
