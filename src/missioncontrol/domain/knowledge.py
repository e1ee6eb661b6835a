"""The knowledge bank's values: confirmed causes, operator feedback, and precedent for a new incident."""

from dataclasses import dataclass
from datetime import datetime

from missioncontrol.domain.diagnosis import FaultKind
from missioncontrol.domain.ids import ServiceId


@dataclass(frozen=True, slots=True)
class SimilarIncident:
    """A past incident that resembles this one, with what fixed it."""

    incident_id: str
    title: str
    similarity: float  # 0..1, comparable only within one brief
    cause_service: ServiceId | None
    cause_fault: FaultKind | None
    fix: str = ""
    resolved_at: datetime | None = None
    why_similar: str = ""  # which symptoms and evidence matched
