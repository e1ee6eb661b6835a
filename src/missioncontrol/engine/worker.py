"""The background half of the live service: group committed alerts, investigate incidents.

    inbox commit ──wake──► grouper thread ──► IncidentStore.record_placements
                                                     │ incidents opened or joined
                                                     ▼
                                 investigation pool (N threads) ──► Investigator.investigate

Ingest never waits for any of this. Each incident has at most one investigation running; evidence
that arrives meanwhile (alerts joining, telemetry) marks it dirty and it runs once more when the
current run ends, no sooner than `debounce_s` after it, so a storm of alerts costs a few refreshes,
not one per alert. On start the grouper first takes what a crash left unprocessed, and incidents
left without a brief are investigated.
"""

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from missioncontrol.domain import Brief, IncidentId
from missioncontrol.engine.grouping import GroupingConfig, group
from missioncontrol.ports import BriefStore, IncidentStore, WorldModel

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    workers: int = 2
    batch: int = 1000  # alerts grouped per pass
    debounce_s: float = 2.0  # least time between two refreshes of one incident
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
            alerts = self.incidents.unprocessed_alerts(limit=self.config.batch)
            if not alerts:
                return tuple(touched)
            open_now = self.incidents.open_incidents(since=self.clock() - self.config.open_for)
            latest = max(a.started_at for a in alerts)
            graph = self.world.graph_at(latest) if self.world is not None else None
            known = self.incidents.incidents_of({a.fingerprint for a in alerts})
            placements = group(alerts, open_now, graph, known=known, config=self.grouping)
            for incident_id in self.incidents.record_placements(placements):
                touched[incident_id] = None

    def refresh(self, incident_id: IncidentId) -> None:
        """Investigate the incident now, or once more after the run in progress."""
        with self._lock:
            if incident_id in self._running:
                self._dirty.add(incident_id)
                return
            self._running.add(incident_id)
        self._submit(incident_id, delay_s=0.0)

    def telemetry_arrived(self) -> None:
        """Say new telemetry is stored: refresh the open incidents' briefs (debounced)."""
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
        while not self._stopping.is_set():
            self._wake.wait(timeout=5.0)
            self._wake.clear()
            if self._stopping.is_set():
                return
            try:
                touched = self.group_pending()
            except Exception:
                log.exception("grouping failed; retrying on the next wake")
                continue
            for incident_id in touched:
                self.refresh(incident_id)
