"""A `TelemetryStore` for investigations: what the embedded store holds, plus Prometheus series pulled now.

    store = PullingTelemetryStore(embedded, source, scope=lambda at: world.graph_at(at).services)
    case_telemetry = store.read(start=alert_at - timedelta(minutes=30), end=alert_at)   # both, merged

Writes go to the embedded store only. A read returns the embedded store's samples and, for every
service in scope, the source's PromQL series over the same window: the services asked for, or with
`services=None` (how the investigator reads) those the embedded samples name and those `scope` knows
(the world model's graph, catalog included) at the window's end.

Prometheus is an add-on, never a dependency: when it does not answer, the read returns the embedded
samples alone, `status()` says failed with the error, and for `retry_after_s` later reads skip the
pull instead of each waiting on a dead server. Every pull is logged with its problems.
"""

import logging
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from datetime import datetime

from missioncontrol.connectors.prometheus.client import PrometheusTelemetrySource
from missioncontrol.connectors.prometheus.mapping import PrometheusQueryError
from missioncontrol.domain import MetricSeries, ServiceId, Telemetry
from missioncontrol.ports import ConnectorState, ConnectorStatus, TelemetryStore

log = logging.getLogger(__name__)

ScopeLookup = Callable[[datetime], Collection[ServiceId]]


@dataclass(frozen=True, slots=True)
class PullConfig:
    """How much a read may pull: services per read, and how long a failed server is left alone."""

    max_services: int = 200  # services × queries = PromQL requests per investigation window
    check_timeout_s: float = 2.0  # the reachability check before each pull
    retry_after_s: float = 30.0  # after a failed check, reads skip the pull this long


class PullingTelemetryStore:
    """`ports.TelemetryStore`: the embedded store, with Prometheus series added to every read."""

    def __init__(
        self,
        store: TelemetryStore,
        source: PrometheusTelemetrySource,
        *,
        scope: ScopeLookup | None = None,
        config: PullConfig = PullConfig(),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.source = source
        self.scope = scope
        self.config = config
        self._clock = clock
        self._lock = threading.Lock()
        self._status = ConnectorStatus(source.name, ConnectorState.ENABLED, "configured; no pull yet")
        self._down_until = 0.0
        self._gaps = threading.local()  # what each thread's last read missed (`ports.ReadGaps`)

    def append(self, telemetry: Telemetry) -> None:
        """Store pushed samples in the embedded store (Prometheus keeps its own)."""
        self.store.append(telemetry)

    def read(
        self,
        *,
        start: datetime,
        end: datetime,
        services: Collection[ServiceId] | None = None,
        spans_from: datetime | None = None,
    ) -> Telemetry:
        """Return the embedded samples in [start, end) plus the pulled series of the services in scope."""
        self._gaps.lines = ()
        embedded = self.store.read(start=start, end=end, services=services, spans_from=spans_from)
        wanted = self._services(embedded, end) if services is None else sorted(set(services))
        if not wanted:
            return embedded
        pulled = self._pull(start, end, wanted)
        if not pulled:
            return embedded
        return replace(embedded, metrics=embedded.metrics + pulled)

    def last_read_gaps(self) -> tuple[str, ...]:
        """Return what this thread's last read could not pull from Prometheus (empty: nothing)."""
        lines: tuple[str, ...] = getattr(self._gaps, "lines", ())
        return lines

    def status(self) -> ConnectorStatus:
        """Return the source as the last pull left it: enabled (with what it pulled) or failed (why)."""
        with self._lock:
            return self._status

    def close(self) -> None:
        """Close the source's connections (the embedded store is closed by whoever opened it)."""
        self.source.close()

    def _services(self, embedded: Telemetry, end: datetime) -> list[ServiceId]:
        seen = dict.fromkeys(
            sorted(
                {m.service for m in embedded.metrics}
                | {r.service for r in embedded.logs}
                | {s.service for s in embedded.spans}
            )
        )
        if self.scope is not None:
            try:
                seen.update(dict.fromkeys(sorted(self.scope(end))))
            except Exception as exc:  # the world model failing must not cost the investigation
                log.warning("prometheus pull: scope lookup failed: %s: %s", type(exc).__name__, exc)
        return list(seen)

    def _pull(self, start: datetime, end: datetime, services: list[ServiceId]) -> tuple[MetricSeries, ...]:
        with self._lock:
            if self._clock() < self._down_until:
                # The last check failed moments ago: its status still says so.
                self._missed(f"not asked, it failed moments ago ({self._status.detail})")
                return ()
        try:
            self.source.check(timeout_s=self.config.check_timeout_s)
        except PrometheusQueryError as exc:
            log.warning("prometheus pull skipped, the investigation uses the embedded store: %s", exc)
            self._set(ConnectorState.FAILED, str(exc), down=True)
            self._missed(str(exc))
            return ()
        cut = ""
        if len(services) > self.config.max_services:
            cut = f"; scope of {len(services)} services cut to the first {self.config.max_services}"
            services = services[: self.config.max_services]
        report = self.source.pull(start=start, end=end, services=services)
        for problem in report.problems:
            log.info("prometheus pull: %s", problem)
        window = f"{start.isoformat()}..{end.isoformat()}"
        if report.queries and len(report.failed) == report.queries:
            self._set(ConnectorState.FAILED, f"every query failed ({window}); first: {report.failed[0]}")
            self._missed(f"every query failed; first: {report.failed[0]}")
            return ()
        if report.failed:
            self._missed(
                f"{len(report.failed)} of {report.queries} queries failed; first: {report.failed[0]}",
                partly=True,
            )
        if cut:
            self._missed(cut.removeprefix("; "), partly=True)
        summary = (
            f"last pull {window}: {len(report.series)} series of {len(services)} services, "
            f"{report.queries} queries, {len(report.failed)} failed, {len(report.notes)} no data or warnings"
        )
        self._set(
            ConnectorState.ENABLED,
            summary + cut + (f"; first failure: {report.failed[0]}" if report.failed else ""),
        )
        end_s = end.timestamp()
        return tuple(_before(series, end_s) for series in report.series if series.timestamps[0] < end_s)

    def _missed(self, why: str, *, partly: bool = False) -> None:
        what = "some of its series are" if partly else "its series are"
        line = f"{self.source.name}: {what} missing from this read: {why}"[:400]
        self._gaps.lines = (*getattr(self._gaps, "lines", ()), line)

    def _set(self, state: ConnectorState, detail: str, *, down: bool = False) -> None:
        with self._lock:
            self._status = ConnectorStatus(self.source.name, state, detail)
            self._down_until = self._clock() + self.config.retry_after_s if down else 0.0


def _before(series: MetricSeries, end_s: float) -> MetricSeries:
    """Return `series` without samples at or after `end_s`: reads are [start, end), query_range inclusive."""
    keep = sum(1 for t in series.timestamps if t < end_s)
    if keep == len(series.timestamps):
        return series
    return replace(series, timestamps=series.timestamps[:keep], values=series.values[:keep])
