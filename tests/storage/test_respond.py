"""The audit log: hash-chained, append-only in the database itself, and `verify` finds any tampering."""

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from missioncontrol.domain import ServiceId
from missioncontrol.domain.respond import GENESIS_HASH, ActionRequest, ActionRequestId, ActionStatus
from missioncontrol.storage.respond import SqlActionLedger, entry_hash


def test_entries_chain_from_genesis(db_engine: Engine) -> None:
    ledger = SqlActionLedger(db_engine)
    first = ledger.audit(actor="alice", event="refuse", subject="x", details={"reason": "ünïcode ok"})
    second = ledger.audit(actor="bob", event="refuse", subject="y", details={"n": 2})
    assert first.seq == 1 and first.prev_hash == GENESIS_HASH
    assert second.seq == 2 and second.prev_hash == first.hash
    stored = ledger.entries()
    assert [e.hash for e in stored] == [first.hash, second.hash]
    assert stored[0].details == {"reason": "ünïcode ok"}
    assert stored[0].hash == entry_hash(
        seq=1,
        at=stored[0].at,
        actor="alice",
        event="refuse",
        subject="x",
        details='{"reason":"ünïcode ok"}',
        prev_hash=GENESIS_HASH,
    )
    result = ledger.verify()
    assert result.is_intact and result.entries == 2 and result.head_hash == second.hash


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"])
def test_the_database_refuses_updates_and_deletes(db_engine: Engine, statement: str) -> None:
    ledger = SqlActionLedger(db_engine)
    ledger.audit(actor="alice", event="refuse", subject="x", details={})
    with pytest.raises(DBAPIError, match="append-only"), db_engine.begin() as conn:
        conn.execute(text(statement))
    assert ledger.verify().is_intact and len(ledger.entries()) == 1


def _without_guard(engine: Engine, statement: str) -> None:
    """Tamper as someone with DDL rights would: lift the trigger, change a row, put the trigger back."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
            conn.execute(text(statement))
            conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))
            conn.execute(text(statement))


@pytest.mark.parametrize(
    ("statement", "problem"),
    [
        (
            'UPDATE audit_log SET details = \'{"reason":"nothing happened"}\' WHERE seq = 2',
            "entry 2: content",
        ),
        ("UPDATE audit_log SET actor = 'mallory' WHERE seq = 1", "entry 1: content"),
        ("DELETE FROM audit_log WHERE seq = 2", "entry 3: expected seq 2"),
        ("DELETE FROM audit_log WHERE seq = 1", "entry 2: expected seq 1"),
    ],
)
def test_verify_names_the_first_tampered_entry(db_engine: Engine, statement: str, problem: str) -> None:
    ledger = SqlActionLedger(db_engine)
    for i in range(3):
        ledger.audit(actor="alice", event="refuse", subject=f"s{i}", details={"reason": f"r{i}"})
    _without_guard(db_engine, statement)
    result = ledger.verify()
    assert not result.is_intact and result.problem.startswith(problem)


def test_a_rewritten_chain_is_caught_at_the_first_rewrite(db_engine: Engine) -> None:
    ledger = SqlActionLedger(db_engine)
    for i in range(3):
        ledger.audit(actor="alice", event="refuse", subject=f"s{i}", details={})
    forged = "f" * 64
    _without_guard(db_engine, f"UPDATE audit_log SET hash = '{forged}' WHERE seq = 2")
    assert ledger.verify().problem.startswith("entry 2: content")


def test_concurrent_appends_make_one_chain(db_engine: Engine) -> None:
    ledger = SqlActionLedger(db_engine)

    def append(worker: int) -> None:
        for i in range(10):
            ledger.audit(actor=f"w{worker}", event="refuse", subject=f"{worker}-{i}", details={})

    threads = [threading.Thread(target=append, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result = ledger.verify()
    assert result.is_intact and result.entries == 40


def test_requests_round_trip_and_status_moves_only_from_the_expected_state(db_engine: Engine) -> None:
    ledger = SqlActionLedger(db_engine)
    request = ActionRequest(
        id=ActionRequestId("act-1"),
        incident_id="inc-1",
        action="restart",
        service=ServiceId("checkout"),
        args=(("incident_id", "inc-1"), ("service", "checkout")),
        args_sha256="a" * 64,
        requested_by="alice",
        requested_at=datetime(2026, 12, 2, 9, 0, tzinfo=UTC),
        status=ActionStatus.APPROVED,
        needs_approval=False,
        rule_index=4,
    )
    ledger.add_request(request, details={"action": "restart"})
    assert ledger.get_request(ActionRequestId("act-1")) == request
    moved = ledger.set_status(
        request.id,
        ActionStatus.RUNNING,
        expected=ActionStatus.APPROVED,
        actor="alice",
        event="run",
        details={},
    )
    again = ledger.set_status(
        request.id, ActionStatus.RUNNING, expected=ActionStatus.APPROVED, actor="bob", event="run", details={}
    )
    assert moved and not again
    assert [e.event for e in ledger.entries()] == ["request", "run"]
    assert ledger.verify().is_intact
