"""Per-service findings gathered by the analyzers, before any ranking."""

from dataclasses import dataclass, field

from missioncontrol.domain import Change, ServiceId
from missioncontrol.engine.logs import TemplateShift
from missioncontrol.engine.metrics import SeriesScore
from missioncontrol.engine.signals import Family
from missioncontrol.engine.traces import SelfTimeShift


@dataclass(slots=True)
class ServiceFindings:
    """What every analyzer saw in one service. Mutable while gathering; read-only after."""

    service: ServiceId
    metrics: dict[Family, list[SeriesScore]] = field(default_factory=dict)
    log_shifts: list[TemplateShift] = field(default_factory=list)
    log_origin_votes: int = 0
    log_inherited_votes: int = 0
    self_time: SelfTimeShift | None = None
    errors_originated: int = 0
    errors_originated_before: int = 0
    changes: list[Change] = field(default_factory=list)

    def best(self, family: Family) -> SeriesScore | None:
        """Return the strongest series of a family, if any."""
        scores = self.metrics.get(family)
        if not scores:
            return None
        return max(scores, key=lambda s: (s.strength, s.metric))
