"""Telemetry samples: metric series, log records and spans.

Bulk samples carry `timestamp` as Unix seconds (float, UTC) rather than `datetime`: an investigation
touches millions of them and they are only ever compared and subtracted. Discrete events (alerts,
changes, evidence windows) use tz-aware `datetime`.
"""

from dataclasses import dataclass, field

from missioncontrol.domain.ids import ServiceId


@dataclass(frozen=True, slots=True)
class MetricSeries:
    """One metric of one service. `timestamps` are Unix seconds, ascending, same length as `values`."""

    service: ServiceId
    metric: str
    timestamps: tuple[float, ...]
    values: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.timestamps) != len(self.values):
            raise ValueError(
                f"series {self.service}/{self.metric}: {len(self.timestamps)} timestamps "
                f"but {len(self.values)} values"
            )


@dataclass(frozen=True, slots=True)
class LogRecord:
    timestamp: float  # Unix seconds
    service: ServiceId
    message: str
    level: str = ""
    trace_id: str = ""
    span_id: str = ""


@dataclass(frozen=True, slots=True)
class Span:
    trace_id: str
    span_id: str
    parent_span_id: str | None  # None for a root span
    service: ServiceId
    operation: str
    start_ns: int
    end_ns: int
    is_error: bool | None = None  # None when the source does not say

    @property
    def duration_ns(self) -> int:
        return self.end_ns - self.start_ns


@dataclass(frozen=True, slots=True)
class Telemetry:
    """Everything observed about an estate over some time range."""

    metrics: tuple[MetricSeries, ...] = ()
    logs: tuple[LogRecord, ...] = field(default=())
    spans: tuple[Span, ...] = field(default=())

    @property
    def services(self) -> frozenset[ServiceId]:
        names = {m.service for m in self.metrics}
        names.update(r.service for r in self.logs)
        names.update(s.service for s in self.spans)
        return frozenset(names)
