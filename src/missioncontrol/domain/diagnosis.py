"""A diagnosis: ranked hypotheses, each carrying its receipts."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from missioncontrol.domain.ids import ServiceId


class FaultKind(StrEnum):
    """What went wrong in the suspected service."""

    CPU = "cpu"
    MEMORY = "memory"
    LATENCY = "latency"
    ERRORS = "errors"
    WRONG_OUTPUT = "wrong_output"  # answers 200 OK, on time, and wrong
    BAD_CHANGE = "bad_change"
    DEPENDENCY = "dependency"
    NETWORK = "network"
    UNKNOWN = "unknown"


class EvidenceKind(StrEnum):
    METRIC_ANOMALY = "metric_anomaly"
    LOG_PATTERN = "log_pattern"
    TRACE_LATENCY = "trace_latency"
    TRACE_ERROR = "trace_error"
    RECENT_CHANGE = "recent_change"
    PROPAGATION = "propagation"
    ONSET_ORDER = "onset_order"
    PRIOR = "prior"


class Stance(StrEnum):
    SUPPORTS = "supports"
    WEAKENS = "weakens"


@dataclass(frozen=True, slots=True)
class Evidence:
    """One observation for or against a hypothesis, with what it takes to re-run it."""

    kind: EvidenceKind
    service: ServiceId
    summary: str  # one sentence a human can read
    source: str  # where it came from: "metrics", "logs", "traces", "changes", "topology"
    query: str  # the exact series, template or query, so a human can re-run it
    window: tuple[datetime, datetime]
    stance: Stance
    value: float | None = None  # observed in the incident window
    baseline: float | None = None  # what is normal
    weight: float = 0.0  # contribution to the score; comparable only within one diagnosis


@dataclass(frozen=True, slots=True)
class Hypothesis:
    """A suspect and a fault kind, scored, with the path from the symptom and the evidence chain."""

    service: ServiceId
    fault: FaultKind
    cause: str
    score: float  # raw strength; comparable only within one Diagnosis
    confidence: float  # calibrated probability that this is the root cause, 0..1
    path: tuple[ServiceId, ...]  # symptom → … → suspected cause
    evidence: tuple[Evidence, ...]
    onset_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Weakened:
    """An alternative that lost, and why."""

    hypothesis: Hypothesis
    reason: str


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """The engine's answer for one incident."""

    case_id: str
    method: str
    symptom: ServiceId | None
    onset_at: datetime | None
    window: tuple[datetime, datetime]
    hypotheses: tuple[Hypothesis, ...]  # best first
    weakened: tuple[Weakened, ...] = ()
    blast_radius: tuple[ServiceId, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def is_confident(self) -> bool:
        """False when the honest answer is "no confident cause"."""
        return bool(self.hypotheses) and self.confidence_in(self.hypotheses[0].service) >= CONFIDENT

    def confidence_in(self, service: ServiceId) -> float:
        """Return the probability that `service` is the root cause, whatever the fault kind."""
        return min(1.0, sum(h.confidence for h in self.hypotheses if h.service == service))

    @property
    def ranked_services(self) -> tuple[ServiceId, ...]:
        """Return suspects best first, each once (a service may hold several fault hypotheses)."""
        seen: dict[ServiceId, None] = {}
        for h in self.hypotheses:
            seen.setdefault(h.service, None)
        return tuple(seen)


CONFIDENT = 0.5
