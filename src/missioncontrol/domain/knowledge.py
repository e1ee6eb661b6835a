"""The knowledge bank's values: confirmed causes, operator feedback, and precedent for a new incident.

An incident leaves a `Fingerprint` (what it looked like: alerts, symptom, where the evidence was and
what it said), and, once resolved, a `Resolution` (what really caused it and what fixed it). Operators
may also confirm or reject single hypotheses (`Feedback`). `Knowledge` is the snapshot the engine
learns from; `SimilarIncident`, `ServiceKnowledge` and `AlertOutcome` are what it serves back.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from missioncontrol.domain.diagnosis import FaultKind
from missioncontrol.domain.errors import MissionControlError
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


class FeedbackVerdict(StrEnum):
    """An operator's word on one hypothesis."""

    CONFIRM = "confirm"
    REJECT = "reject"


@dataclass(frozen=True, slots=True)
class Resolution:
    """How an incident ended: the confirmed cause, the fix, and who said so.

    `is_actionable` is False when the incident needed no action (a noisy alert, a false alarm); then
    there is no cause service.
    """

    incident_id: str
    cause_service: ServiceId | None
    cause_fault: FaultKind | None
    fix: str
    resolved_at: datetime  # tz-aware, UTC
    resolved_by: str
    notes: str = ""
    is_actionable: bool = True


@dataclass(frozen=True, slots=True)
class Feedback:
    """An operator confirming or rejecting one hypothesis of an incident's brief."""

    incident_id: str
    service: ServiceId
    fault: FaultKind
    verdict: FeedbackVerdict
    given_at: datetime  # tz-aware, UTC
    given_by: str
    rank: int | None = None  # the hypothesis's 1-based rank in the brief, when given by rank
    note: str = ""


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What an incident looked like, as tokens a search can match, and optionally as an embedding.

    Tokens carry their field as a prefix (`alert:`, `signal:`, `symptom:`, `path:`, `evidence:`,
    `metric:`, `log:` …) so that a word in a log template never matches a service of the same name.
    `text` is the same content as a sentence, for a sentence-embedding model.
    """

    incident_id: str
    title: str
    symptom: ServiceId | None
    alerts: tuple[str, ...]  # names of the alerts that fired
    tokens: tuple[str, ...]
    text: str
    seen_at: datetime  # tz-aware, UTC
    embedding: tuple[float, ...] | None = None


@dataclass(frozen=True, slots=True)
class PastIncident:
    """A fingerprinted incident and, if resolved, how it ended; feedback given on it."""

    fingerprint: Fingerprint
    resolution: Resolution | None = None
    feedback: tuple[Feedback, ...] = ()

    @property
    def cause(self) -> tuple[ServiceId, FaultKind] | None:
        """Return the confirmed cause: the resolution's, else the last confirmed hypothesis's."""
        r = self.resolution
        if r is not None:
            if not r.is_actionable or r.cause_service is None:
                return None
            return r.cause_service, r.cause_fault or FaultKind.UNKNOWN
        confirmed = [f for f in self.feedback if f.verdict is FeedbackVerdict.CONFIRM]
        if confirmed:
            last = max(confirmed, key=lambda f: f.given_at)
            return last.service, last.fault
        return None

    @property
    def rejected(self) -> tuple[ServiceId, ...]:
        """Return the services operators said were not the cause."""
        cause = self.cause
        return tuple(
            dict.fromkeys(
                f.service
                for f in self.feedback
                if f.verdict is FeedbackVerdict.REJECT and (cause is None or f.service != cause[0])
            )
        )


@dataclass(frozen=True, slots=True)
class AlertOutcome:
    """How often an alert led to a real, actionable incident (its signal-to-noise)."""

    alert: str
    incidents: int  # resolved incidents the alert was part of
    actionable: int  # of which needed action (had a real cause)

    @property
    def signal_to_noise(self) -> float:
        """Return the smoothed share of actionable incidents (Laplace: one of each assumed)."""
        return (self.actionable + 1) / (self.incidents + 2)


@dataclass(frozen=True, slots=True)
class Knowledge:
    """Everything the knowledge bank knows, as the engine learns from it."""

    past: tuple[PastIncident, ...] = ()
    alerts: tuple[AlertOutcome, ...] = ()

    @property
    def resolved(self) -> tuple[PastIncident, ...]:
        """Return the past incidents with a confirmed cause."""
        return tuple(p for p in self.past if p.cause is not None)


@dataclass(frozen=True, slots=True)
class FaultPrior:
    """The smoothed probability that a service's confirmed cause was of this fault kind."""

    fault: FaultKind
    probability: float
    count: int


@dataclass(frozen=True, slots=True)
class Fragility:
    """A recurring confirmed cause of one service, with the fixes that worked."""

    service: ServiceId
    fault: FaultKind
    count: int
    last_at: datetime
    fixes: tuple[str, ...] = ()  # most recent first, each once


@dataclass(frozen=True, slots=True)
class ServiceKnowledge:
    """What the knowledge bank learnt about one service."""

    service: ServiceId
    incidents: int  # resolved incidents in which it was a suspect or the cause
    caused: int  # of which it was the confirmed cause
    rejected: int  # times operators said it was not the cause
    cause_rate: float  # smoothed share of those incidents it caused
    faults: tuple[FaultPrior, ...]  # most probable first
    fragilities: tuple[Fragility, ...]  # recurring causes, most frequent first


class NotInKnowledgeBank(MissionControlError):
    """The incident was never fingerprinted, so the knowledge bank cannot attach an ending to it."""
