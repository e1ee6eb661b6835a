"""An incident case: what the engine may see, and the truth kept apart from it."""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from missioncontrol.domain.alerts import Alert
from missioncontrol.domain.changes import Change
from missioncontrol.domain.diagnosis import FaultKind
from missioncontrol.domain.ids import ServiceId
from missioncontrol.domain.telemetry import Telemetry
from missioncontrol.domain.topology import ServiceGraph


class TimeMode(StrEnum):
    """How a benchmark hands time to the engine."""

    GIVEN = "given"  # the true fault start is handed over, as the papers measure
    FOUND = "found"  # only the alert (or nothing): the engine finds the onset itself


@dataclass(frozen=True, slots=True)
class Case:
    """Everything the engine may look at for one incident. It never holds the truth.

    `known_onset_at` is set only when the fault's start is handed over (the papers' "time given"
    mode); otherwise the engine finds the onset from the alert, or from the telemetry alone.
    `baseline` is optional telemetry from a period known to be healthy (a fault-free reference run);
    without it the engine takes its baseline from before the onset.
    """

    id: str
    system: str
    telemetry: Telemetry
    graph: ServiceGraph | None = None
    changes: tuple[Change, ...] = ()
    alert: Alert | None = None
    known_onset_at: datetime | None = None
    baseline: Telemetry = field(default_factory=Telemetry)
    description: str = ""


@dataclass(frozen=True, slots=True)
class Truth:
    """The confirmed root cause, used only to score a diagnosis."""

    service: ServiceId
    fault: str  # the source's own label, e.g. "cpu_contention"
    kind: FaultKind
    started_at: datetime


@dataclass(frozen=True, slots=True)
class LabeledCase:
    case: Case
    truth: Truth | None = field(default=None)
