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
from missioncontrol.domain.incidents import (
    Acceptance,
    AlertProblem,
    Brief,
    GroupingReason,
    Impact,
    Incident,
    IncidentId,
    IncidentStatus,
    Overloaded,
    Placement,
)
from missioncontrol.domain.knowledge import SimilarIncident
from missioncontrol.domain.rejections import Rejection
from missioncontrol.domain.respond import ActionOption, Decision, Verdict
from missioncontrol.domain.telemetry import LogRecord, MetricSeries, Span, Telemetry
from missioncontrol.domain.topology import ServiceGraph

__all__ = [
    "CONFIDENT",
    "Acceptance",
    "ActionOption",
    "Alert",
    "AlertProblem",
    "AlertStatus",
    "Brief",
    "Case",
    "CaseFormatError",
    "CatalogEntry",
    "Change",
    "ChangeKind",
    "Decision",
    "Diagnosis",
    "Evidence",
    "EvidenceKind",
    "FaultKind",
    "GroupingReason",
    "Hypothesis",
    "Impact",
    "Incident",
    "IncidentId",
    "IncidentStatus",
    "LabeledCase",
    "LogRecord",
    "MetricSeries",
    "MissionControlError",
    "Overloaded",
    "Placement",
    "Rejection",
    "ServiceGraph",
    "ServiceId",
    "Severity",
    "SimilarIncident",
    "Span",
    "Stance",
    "Team",
    "Telemetry",
    "TimeMode",
    "Truth",
    "Verdict",
    "Weakened",
]
