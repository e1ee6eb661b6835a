"""The background half of the live service: group committed alerts, investigate incidents.

    inbox commit ──wake──► grouper thread ──► IncidentStore.record_placements
                                                     │ incidents opened or joined
                                                     ▼
                                 investigation pool (N threads) ──► Investigator.investigate

Ingest never waits for any of this. Each incident has at most one investigation running; evidence
that arrives meanwhile (alerts joining, telemetry) marks it dirty and it runs once more when the
current run ends, no sooner than `debounce_s` after it, so a storm of alerts costs a few refreshes,
not one per alert; the grouper likewise lingers a moment after a wake, so one pass groups the
alerts of many commits. A pass groups at most `batch` alerts and the incidents it touched are
investigated at once: a backlog (an alert storm faster than grouping) is worked through batch after
batch without holding back the briefs of what is already grouped. On start the grouper first
takes what a crash left unprocessed, and incidents left without a brief are investigated.
"""

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from missioncontrol.domain import Brief, IncidentId, ServiceGraph
from missioncontrol.engine.grouping import GroupingConfig, group
from missioncontrol.ports import BriefStore, IncidentStore, WorldModel

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    workers: int = 2
    batch: int = 1000  # alerts grouped per pass
    # After a wake, wait this long so one pass groups the commits of a burst. Every brief waits for
    # it once, so it is short; a backlog is grouped batch after batch without it.
    linger_s: float = 0.05
    debounce_s: float = 5.0  # least time between two refreshes of one incident
    poll_s: float = 1.0  # look for unprocessed alerts this often even unwoken (a worker in its own process)
    graph_ttl_s: float = 30.0  # the call graph changes slowly: reuse it for grouping this long
    open_for: timedelta = timedelta(hours=6)  # an incident idle longer takes no new alerts


class IncidentWorker:
    """Groups what the inbox committed and keeps every open incident's brief current."""

    def __init__(
        self,
        incidents: IncidentStore,
        briefs: BriefStore,
        investigate: Callable[[IncidentId], Brief | None],
        *,
        world: WorldModel | None,
        clock: Callable[[], datetime],
        grouping: GroupingConfig | None = None,
        config: WorkerConfig = WorkerConfig(),
    ) -> None:
        self.incidents = incidents
        self.briefs = briefs
        self.investigate = investigate
        self.world = world
        self.clock = clock
        self.grouping = grouping or GroupingConfig()
        self.config = config
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._running: set[IncidentId] = set()
        self._dirty: set[IncidentId] = set()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._telemetry_pending = False
        self._telemetry_refreshed = float("-inf")
        self._graph: tuple[float, ServiceGraph | None] | None = None

    def start(self) -> None:
        """Recover what a crash left, then group and investigate in the background."""
        self._stopping.clear()
        self._pool = ThreadPoolExecutor(self.config.workers, thread_name_prefix="investigate")
        self._thread = threading.Thread(target=self._loop, name="grouper", daemon=True)
        self._thread.start()
        self._wake.set()
        for incident_id in self.briefs.incidents_without_brief():
            self.refresh(incident_id)

    def close(self) -> None:
        """Stop grouping; let running investigations finish."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def wake(self) -> None:
        """Say new alerts are committed (the inbox calls this after each commit)."""
        self._wake.set()

    def group_pending(self) -> tuple[IncidentId, ...]:
        """Group every unprocessed alert now; return the incidents opened or joined."""
        touched: dict[IncidentId, None] = {}
        while True:
            batch, more = self._group_batch()
            touched.update(dict.fromkeys(batch))
            if not more:
                return tuple(touched)

    def _group_batch(self) -> tuple[tuple[IncidentId, ...], bool]:
        """Group at most one batch of unprocessed alerts; return the incidents touched and whether
        a full batch was taken (more may be waiting)."""
        alerts = self.incidents.unprocessed_alerts(limit=self.config.batch)
        if not alerts:
            return (), False
        open_now = self.incidents.open_incidents(since=self.clock() - self.config.open_for)
        # The call graph only places an alert near another service's incident. With none open and one
        # service alerting there is none, and the first alert of a quiet estate does not wait for the
        # graph query (0.1-0.4 s over an hour of spans) before its investigation starts.
        services = {a.service for a in alerts if a.service is not None}
        needs_graph = bool(open_now) or len(services) > 1
        graph = self._graph_for(max(a.started_at for a in alerts)) if needs_graph else None
        known = self.incidents.incidents_of({a.fingerprint for a in alerts})
        placements = group(alerts, open_now, graph, known=known, config=self.grouping)
        touched = tuple(dict.fromkeys(self.incidents.record_placements(placements)))
        return touched, len(alerts) >= self.config.batch

    def refresh(self, incident_id: IncidentId) -> None:
        """Investigate the incident now, or once more after the run in progress."""
        with self._lock:
            if incident_id in self._running:
                self._dirty.add(incident_id)
                return
            self._running.add(incident_id)
        self._submit(incident_id, delay_s=0.0)

    def telemetry_arrived(self) -> None:
        """Say new telemetry is stored: the open incidents' briefs refresh (at most every `debounce_s`).

        Cheap enough to call on every telemetry request: it only raises a flag for the grouper thread.
        """
        self._telemetry_pending = True

    def _graph_for(self, at: datetime) -> ServiceGraph | None:
        if self.world is None:
            return None
        now = time.monotonic()
        if self._graph is None or now - self._graph[0] > self.config.graph_ttl_s:
            self._graph = (now, self.world.graph_at(at))
        return self._graph[1]

    def _refresh_for_telemetry(self) -> None:
        now = time.monotonic()
        if not self._telemetry_pending or now - self._telemetry_refreshed < self.config.debounce_s:
            return
        self._telemetry_pending = False
        self._telemetry_refreshed = now
        for incident in self.incidents.open_incidents(since=self.clock() - self.config.open_for):
            self.refresh(incident.id)

    def _submit(self, incident_id: IncidentId, *, delay_s: float) -> None:
        pool = self._pool
        if pool is None or self._stopping.is_set():
            with self._lock:
                self._running.discard(incident_id)
            return
        try:
            pool.submit(self._run, incident_id, delay_s)
        except RuntimeError:  # shutting down
            with self._lock:
                self._running.discard(incident_id)

    def _run(self, incident_id: IncidentId, delay_s: float) -> None:
        if delay_s and self._stopping.wait(delay_s):
            return
        try:
            self.investigate(incident_id)
        except Exception:
            log.exception("investigation of %s failed", incident_id)
        with self._lock:
            again = incident_id in self._dirty
            self._dirty.discard(incident_id)
            if not again:
                self._running.discard(incident_id)
        if again:
            self._submit(incident_id, delay_s=self.config.debounce_s)

    def _loop(self) -> None:
        backlog = False
        while not self._stopping.is_set():
            # With a backlog, the next batch goes at once: an alert storm that arrives faster than one
            # pass groups it must not hold back the investigations of what is already grouped.
            if not backlog:
                self._wake.wait(timeout=self.config.poll_s)
                if self._stopping.wait(self.config.linger_s):
                    return
                self._wake.clear()
            try:
                touched, backlog = self._group_batch()
            except Exception:
                log.exception("grouping failed; retrying on the next wake")
                backlog = False
                continue
            for incident_id in touched:
                self.refresh(incident_id)
            try:
                self._refresh_for_telemetry()
            except Exception:
                log.exception("refreshing briefs for new telemetry failed")
