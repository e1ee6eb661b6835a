"""Investigation threads: open, reassign and close them, on SQLite and on PostgreSQL."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from missioncontrol.domain.threads import ThreadStatus
from missioncontrol.storage.threads import NoSuchThread, ThreadStore

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def test_threads_are_opened_reassigned_and_closed(db_engine: Engine) -> None:
    store = ThreadStore(db_engine)
    first = store.open_thread("inc-1", title="check payments pool size", assignee="alice", by="ic", at=T0)
    store.open_thread("inc-1", title="diff payments 2.3.1", assignee="bob", by="ic", at=T0)
    store.open_thread("inc-2", title="elsewhere", assignee="carol", by="ic", at=T0)
    later = T0 + timedelta(minutes=5)
    done = store.update_thread(
        "inc-1", first.id, at=later, status=ThreadStatus.DONE, assignee="dave", note="pool=10"
    )
    assert (done.status, done.assignee, done.note, done.updated_at) == (
        ThreadStatus.DONE,
        "dave",
        "pool=10",
        later,
    )
    threads = store.threads("inc-1")
    assert [t.title for t in threads] == ["check payments pool size", "diff payments 2.3.1"]
    assert threads[0].status is ThreadStatus.DONE and threads[0].created_at == T0
    assert threads[1].status is ThreadStatus.OPEN


def test_a_thread_of_another_incident_cannot_be_updated(db_engine: Engine) -> None:
    store = ThreadStore(db_engine)
    other = store.open_thread("inc-2", title="x", assignee="carol", by="ic", at=T0)
    with pytest.raises(NoSuchThread, match="inc-1"):
        store.update_thread("inc-1", other.id, at=T0, status=ThreadStatus.DONE)
