"""The `respond` area: action requests, their approvals, and the append-only, hash-chained audit log.

Audit chain: entry n stores `prev_hash` (entry n-1's hash, or 64 zeros for the first) and
`hash = sha256(canonical(seq, at, actor, event, subject, details, prev_hash))`, where canonical is
JSON with sorted keys, no spaces, UTF-8, and `at` in UTC ISO 8601 with microseconds. `prev_hash` is
unique, so the chain cannot fork; the database refuses UPDATE and DELETE on `audit_log` (a trigger on
both PostgreSQL and SQLite, created by the migration); `verify()` re-hashes every entry in order and
names the first one that does not match. Appends are serialised (a transaction-scoped advisory lock
on PostgreSQL; SQLite has one writer) and retried on a seq/prev_hash collision.
"""

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import (
    Boolean,
    Engine,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Mapped, Session, mapped_column

from missioncontrol.domain.ids import ServiceId
from missioncontrol.domain.respond import (
    GENESIS_HASH,
    ActionRequest,
    ActionRequestId,
    ActionStatus,
    Approval,
    AuditEntry,
    AuditVerification,
)
from missioncontrol.storage.db import Base, session_factory
from missioncontrol.storage.tables_core import UtcDateTime

AUDIT_LOCK_KEY = 0x6D63_6175  # "mcau": PostgreSQL advisory lock serialising audit appends
T = TypeVar("T")


class ActionRequestRow(Base):
    """One request to run an action with bound arguments."""

    __tablename__ = "action_requests"
    __table_args__ = (Index("ix_action_requests_incident_id", "incident_id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    incident_id: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    service: Mapped[str] = mapped_column(String(256))
    args: Mapped[str] = mapped_column(Text)  # canonical JSON of the sorted (name, value) pairs
    args_sha256: Mapped[str] = mapped_column(String(64))
    requested_by: Mapped[str] = mapped_column(String(128))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(16))
    needs_approval: Mapped[bool] = mapped_column(Boolean)
    rule_index: Mapped[int] = mapped_column(Integer)


class ActionApprovalRow(Base):
    """One approval of one request, bound to its arguments' hash, expiring."""

    __tablename__ = "action_approvals"
    __table_args__ = (UniqueConstraint("request_id", "approver", name="uq_action_approvals_request_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(String(64), ForeignKey("action_requests.id"))
    approver: Mapped[str] = mapped_column(String(128))
    args_sha256: Mapped[str] = mapped_column(String(64))
    approved_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AuditRow(Base):
    """One audit entry; never updated or deleted (the migration's triggers refuse it)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        UniqueConstraint("prev_hash", name="uq_audit_log_prev_hash"),
        UniqueConstraint("hash", name="uq_audit_log_hash"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(128))
    event: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(256))
    details: Mapped[str] = mapped_column(Text)  # canonical JSON
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


def canonical(value: Any) -> str:
    """Return the canonical JSON text hashed by the chain (sorted keys, no spaces, UTF-8 kept)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(
    *, seq: int, at: datetime, actor: str, event: str, subject: str, details: str, prev_hash: str
) -> str:
    """Return the sha256 of one entry's canonical encoding (`details` already canonical JSON)."""
    body = canonical(
        {
            "seq": seq,
            "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
            "actor": actor,
            "event": event,
            "subject": subject,
            "details": json.loads(details),
            "prev_hash": prev_hash,
        }
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


class SqlActionLedger:
    """`ports.ActionLedger` on the state store (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] | None = None) -> None:
        self.engine = engine
        self.sessions = session_factory(engine)
        self.clock = clock or (lambda: datetime.now(UTC))

    # --- transactions -------------------------------------------------------------------------

    def _write(self, work: Callable[[Session], T]) -> T:
        """Run `work` in one transaction, retrying when a concurrent append took the same seq."""
        for attempt in range(20):
            try:
                with self.sessions.begin() as session:
                    if self.engine.dialect.name == "postgresql":
                        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK_KEY})
                    else:
                        session.execute(text("SELECT 1"))  # open the transaction before reading the head
                    return work(session)
            except (IntegrityError, OperationalError) as exc:
                retryable = "audit_log" in str(exc) or "locked" in str(exc)
                if not retryable or attempt == 19:
                    raise
        raise AssertionError("unreachable")

    def _append(
        self, session: Session, *, actor: str, event: str, subject: str, details: Mapping[str, object]
    ) -> AuditEntry:
        head = session.execute(
            select(AuditRow.seq, AuditRow.hash).order_by(AuditRow.seq.desc()).limit(1)
        ).first()
        seq, prev = (head[0] + 1, head[1]) if head is not None else (1, GENESIS_HASH)
        at = self.clock().astimezone(UTC)
        body = canonical(dict(details))
        digest = entry_hash(
            seq=seq, at=at, actor=actor, event=event, subject=subject, details=body, prev_hash=prev
        )
        session.add(
            AuditRow(
                seq=seq,
                at=at,
                actor=actor,
                event=event,
                subject=subject,
                details=body,
                prev_hash=prev,
                hash=digest,
            )
        )
        session.flush()
        return AuditEntry(
            seq=seq,
            at=at,
            actor=actor,
            event=event,
            subject=subject,
            details=json.loads(body),
            prev_hash=prev,
            hash=digest,
        )

    # --- requests and approvals ---------------------------------------------------------------

    def add_request(self, request: ActionRequest, *, details: Mapping[str, object]) -> None:
        """Store a new request and audit it ("request"), in one transaction."""

        def work(session: Session) -> None:
            session.add(
                ActionRequestRow(
                    id=request.id,
                    incident_id=request.incident_id,
                    action=request.action,
                    service=request.service,
                    args=canonical([list(pair) for pair in request.args]),
                    args_sha256=request.args_sha256,
                    requested_by=request.requested_by,
                    requested_at=request.requested_at,
                    status=str(request.status),
                    needs_approval=request.needs_approval,
                    rule_index=request.rule_index,
                )
            )
            session.flush()
            self._append(
                session, actor=request.requested_by, event="request", subject=request.id, details=details
            )

        self._write(work)

    def get_request(self, request_id: ActionRequestId) -> ActionRequest | None:
        """Return the request, or None."""
        with self.sessions() as session:
            row = session.get(ActionRequestRow, request_id)
            return _to_request(row) if row is not None else None

    def add_approval(self, approval: Approval, *, status: ActionStatus) -> None:
        """Store an approval, set the request's status, and audit it ("approve"), in one transaction."""

        def work(session: Session) -> None:
            session.add(
                ActionApprovalRow(
                    request_id=approval.request_id,
                    approver=approval.approver,
                    args_sha256=approval.args_sha256,
                    approved_at=approval.approved_at,
                    expires_at=approval.expires_at,
                )
            )
            session.execute(
                update(ActionRequestRow)
                .where(ActionRequestRow.id == approval.request_id)
                .values(status=str(status))
            )
            session.flush()
            self._append(
                session,
                actor=approval.approver,
                event="approve",
                subject=approval.request_id,
                details={
                    "args_sha256": approval.args_sha256,
                    "expires_at": approval.expires_at.isoformat(),
                    "status": str(status),
                },
            )

        self._write(work)

    def approvals(self, request_id: ActionRequestId) -> tuple[Approval, ...]:
        """Return every approval of the request, oldest first."""
        with self.sessions() as session:
            rows = session.scalars(
                select(ActionApprovalRow)
                .where(ActionApprovalRow.request_id == request_id)
                .order_by(ActionApprovalRow.id)
            ).all()
            return tuple(
                Approval(
                    request_id=ActionRequestId(r.request_id),
                    approver=r.approver,
                    args_sha256=r.args_sha256,
                    approved_at=r.approved_at,
                    expires_at=r.expires_at,
                )
                for r in rows
            )

    def set_status(
        self,
        request_id: ActionRequestId,
        status: ActionStatus,
        *,
        expected: ActionStatus,
        actor: str,
        event: str,
        details: Mapping[str, object],
    ) -> bool:
        """Move the request from `expected` to `status` and audit it; False if it was no longer `expected`."""

        def work(session: Session) -> bool:
            moved = session.execute(
                update(ActionRequestRow)
                .where(ActionRequestRow.id == request_id, ActionRequestRow.status == str(expected))
                .values(status=str(status))
            )
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                return False
            self._append(session, actor=actor, event=event, subject=request_id, details=details)
            return True

        return self._write(work)

    # --- the audit log --------------------------------------------------------------------------

    def audit(self, *, actor: str, event: str, subject: str, details: Mapping[str, object]) -> AuditEntry:
        """Append one entry and return it, hashed and chained."""
        return self._write(
            lambda s: self._append(s, actor=actor, event=event, subject=subject, details=details)
        )

    def entries(self, *, after_seq: int = 0, limit: int = 1000) -> tuple[AuditEntry, ...]:
        """Return audit entries with seq > after_seq, oldest first."""
        with self.sessions() as session:
            rows = session.scalars(
                select(AuditRow).where(AuditRow.seq > after_seq).order_by(AuditRow.seq).limit(limit)
            ).all()
            return tuple(_to_entry(r) for r in rows)

    def _all_rows(self, page: int = 1000) -> Iterator[AuditRow]:
        after = -1
        while True:
            with self.sessions() as session:
                rows = session.scalars(
                    select(AuditRow).where(AuditRow.seq > after).order_by(AuditRow.seq).limit(page)
                ).all()
            yield from rows
            if len(rows) < page:
                return
            after = rows[-1].seq

    def verify(self) -> AuditVerification:
        """Re-hash the chain in order; report the first entry that does not verify."""
        prev = GENESIS_HASH
        count = 0
        for row in self._all_rows():
            count += 1
            if row.seq != count:
                return AuditVerification(
                    False, count - 1, f"entry {row.seq}: expected seq {count} (a gap)", prev
                )
            if row.prev_hash != prev:
                problem = f"entry {row.seq}: prev_hash does not match entry {row.seq - 1}'s hash"
                return AuditVerification(False, count - 1, problem, prev)
            try:
                digest = entry_hash(
                    seq=row.seq,
                    at=row.at,
                    actor=row.actor,
                    event=row.event,
                    subject=row.subject,
                    details=row.details,
                    prev_hash=row.prev_hash,
                )
            except ValueError:
                digest = ""
            if digest != row.hash:
                problem = f"entry {row.seq}: content does not match its hash (altered)"
                return AuditVerification(False, count - 1, problem, prev)
            prev = row.hash
        return AuditVerification(True, count, "", prev)


def _to_request(row: ActionRequestRow) -> ActionRequest:
    return ActionRequest(
        id=ActionRequestId(row.id),
        incident_id=row.incident_id,
        action=row.action,
        service=ServiceId(row.service),
        args=tuple((str(k), str(v)) for k, v in json.loads(row.args)),
        args_sha256=row.args_sha256,
        requested_by=row.requested_by,
        requested_at=row.requested_at,
        status=ActionStatus(row.status),
        needs_approval=row.needs_approval,
        rule_index=row.rule_index,
    )


def _to_entry(row: AuditRow) -> AuditEntry:
    return AuditEntry(
        seq=row.seq,
        at=row.at,
        actor=row.actor,
        event=row.event,
        subject=row.subject,
        details=json.loads(row.details),
        prev_hash=row.prev_hash,
        hash=row.hash,
    )
