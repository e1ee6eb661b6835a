"""Group commit: one writer thread turns many requests' alerts into one durable transaction.

Each request hands its alerts to `GroupCommitInbox.submit` and gets a future; the writer takes
everything waiting (up to `max_batch` alerts), writes it in one transaction, commits (SQLite with
synchronous=FULL: the commit is on disk), and only then resolves every request's future. One fsync
serves hundreds of requests, which is how one alert per request reaches thousands per second.

The queue is bounded in alerts: past `max_pending`, `submit` raises `Overloaded` at once, so an
overloaded server sheds with 503 + Retry-After instead of growing without bound.
"""

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from datetime import UTC, datetime

from sqlalchemy import Engine

from missioncontrol.domain import Acceptance, Alert, Overloaded
from missioncontrol.storage.incidents import write_alerts

log = logging.getLogger(__name__)


class GroupCommitInbox:
    """`ports.AlertInbox` on the SQL state store, with one writer thread doing group commits."""

    def __init__(
        self,
        engine: Engine,
        *,
        max_pending: int = 20_000,
        max_batch: int = 5_000,
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self.engine = engine
        self.max_pending = max_pending
        self.max_batch = max_batch
        self.on_commit = on_commit
        self._waiting: deque[tuple[Sequence[Alert], Future[Acceptance]]] = deque()
        self._pending = 0
        self._cond = threading.Condition()
        self._closing = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the writer thread (idempotent)."""
        if self._thread is None:
            self._closing = False
            self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
            self._thread.start()

    def close(self) -> None:
        """Commit what is waiting, then stop the writer thread."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    @property
    def pending(self) -> int:
        """Return how many alerts wait for the next commit."""
        with self._cond:
            return self._pending

    def submit(self, alerts: Sequence[Alert]) -> "Future[Acceptance]":
        """Queue `alerts` for the next group commit; return a future of the commit."""
        future: Future[Acceptance] = Future()
        with self._cond:
            if self._closing or self._thread is None:
                raise Overloaded("the server is not accepting alerts right now", retry_after_s=5)
            if self._pending and self._pending + len(alerts) > self.max_pending:
                raise Overloaded(
                    f"{self._pending} alerts are waiting for the store (limit {self.max_pending})",
                    retry_after_s=1,
                )
            self._waiting.append((alerts, future))
            self._pending += len(alerts)
            self._cond.notify()
        return future

    def _take(self) -> list[tuple[Sequence[Alert], Future[Acceptance]]]:
        with self._cond:
            while not self._waiting and not self._closing:
                self._cond.wait()
            batch: list[tuple[Sequence[Alert], Future[Acceptance]]] = []
            size = 0
            while self._waiting and (not batch or size + len(self._waiting[0][0]) <= self.max_batch):
                item = self._waiting.popleft()
                batch.append(item)
                size += len(item[0])
            return batch  # still counted in _pending until committed: the bound covers in-flight work

    def _run(self) -> None:
        while True:
            batch = self._take()
            if not batch:
                return  # closing, and nothing left
            try:
                self._commit(batch)
            finally:
                with self._cond:
                    self._pending -= sum(len(alerts) for alerts, _ in batch)

    def _commit(self, batch: list[tuple[Sequence[Alert], "Future[Acceptance]"]]) -> None:
        try:
            with self.engine.begin() as conn:
                write_alerts(conn, [a for alerts, _ in batch for a in alerts])
        except Exception as exc:  # every waiting request gets the error: none is acknowledged
            log.warning("group commit of %d requests failed: %s", len(batch), type(exc).__name__)
            for _, future in batch:
                _settle(future, exc)
            return
        committed_at = datetime.now(UTC)
        for alerts, future in batch:
            _settle(future, Acceptance(accepted=len(alerts), committed_at=committed_at))
        if self.on_commit is not None:
            self.on_commit()


def _settle(future: "Future[Acceptance]", outcome: Acceptance | BaseException) -> None:
    # A caller that stopped waiting may have cancelled its future; the writer must carry on regardless.
    if not future.set_running_or_notify_cancel():
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
