"""What the board shows of an incident's brief, without reading the whole brief."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BriefSummary:
    """The latest brief of one incident, reduced to one board row's worth."""

    incident_id: str
    version: int
    suspect: str  # prime suspect service, "" when the brief has no hypothesis
    fault: str
    confidence: float  # the engine's confidence that the suspect is the cause
    owner: str
    verdict: str  # "act", "escalate" or "" without a decision
