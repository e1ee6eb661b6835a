"""Per-service findings gathered by the analyzers, before any ranking."""

from dataclasses import dataclass, field

from missioncontrol.domain import Change, ServiceId
from missioncontrol.engine.handlers import HandlerEnding
from missioncontrol.engine.logs import BrokenPair, TemplateShift
from missioncontrol.engine.metrics import SeriesScore
from missioncontrol.engine.signals import Family
from missioncontrol.engine.traces import NetworkShift, TimeShift


@dataclass(slots=True)
class ServiceFindings:
    """What every analyzer saw in one service. Mutable while gathering; read-only after."""

    service: ServiceId
    metrics: dict[Family, list[SeriesScore]] = field(default_factory=dict)
    log_shifts: list[TemplateShift] = field(default_factory=list)
    broken_pairs: list[BrokenPair] = field(default_factory=list)
    log_origin_votes: int = 0
    log_inherited_votes: int = 0
    log_traces_seen: int = 0  # traces of log_trace_ids() found among the window's spans
    self_time: TimeShift | None = None
    network: NetworkShift | None = None
    # Handlers (this service's, or its callers') that now end in a way pointing at this service.
    handler_endings: list[HandlerEnding] = field(default_factory=list)
    stops_after: HandlerEnding | None = None  # this service's handlers now stop right after a callee
    errors_originated: int = 0
    errors_originated_before: int = 0
    changes: list[Change] = field(default_factory=list)

    def best(self, family: Family) -> SeriesScore | None:
        """Return the strongest series of a family, if any."""
        scores = self.metrics.get(family)
        if not scores:
            return None
        return max(scores, key=lambda s: (s.strength, s.metric))

    def log_trace_ids(self) -> frozenset[str]:
        """Return the traces in which this service's logs clearly changed: new errors, broken pairs."""
        ids: set[str] = set()
        for shift in self.log_shifts:
            if shift.is_error and shift.is_new:
                ids.update(shift.trace_ids)
        for pair in self.broken_pairs:
            # Only pairs broken in most spans: a shifted workload mix breaks a few, a fault most.
            if pair.spans_missing * 2 >= pair.spans_with_first:
                ids.update(pair.trace_ids)
        return frozenset(ids)
