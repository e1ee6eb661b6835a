"""The knowledge bank in the state store (`knowledge` migration branch): a `ports.KnowledgeBank`.

Tables: `knowledge_fingerprints` (what each incident looked like: tokens, sentence, optional
embedding), `knowledge_resolutions` (confirmed cause, fix, notes, who and when; one per incident),
`knowledge_feedback` (confirm/reject of one hypothesis) and `knowledge_alert_outcomes` (per alert name,
resolved incidents and how many were actionable: its signal-to-noise). Incident ids are the
incident store's, but no foreign key ties the areas: the bench and tests fingerprint incidents that
no store holds.
"""

from datetime import datetime

from sqlalchemy import JSON, Boolean, Engine, ForeignKey, Integer, String, Text, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from missioncontrol.domain import FaultKind, ServiceId
from missioncontrol.domain.knowledge import (
    AlertOutcome,
    Feedback,
    FeedbackVerdict,
    Fingerprint,
    Knowledge,
    NotInKnowledgeBank,
    PastIncident,
    Resolution,
)
from missioncontrol.storage.db import Base, session_factory
from missioncontrol.storage.tables_core import UtcDateTime


class FingerprintRow(Base):
    """What one incident looked like, as the knowledge bank matches it."""

    __tablename__ = "knowledge_fingerprints"

    incident_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    title: Mapped[str] = mapped_column(String(512))
    symptom: Mapped[str | None] = mapped_column(String(256), nullable=True)
    alerts: Mapped[list[str]] = mapped_column(JSON)
    tokens: Mapped[list[str]] = mapped_column(JSON)
    text: Mapped[str] = mapped_column(Text)
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime())
    embedding: Mapped[list[float] | None] = mapped_column(JSON, nullable=True)


class ResolutionRow(Base):
    """How one incident ended: confirmed cause, fix, notes."""

    __tablename__ = "knowledge_resolutions"

    incident_id: Mapped[str] = mapped_column(
        String(128), ForeignKey("knowledge_fingerprints.incident_id", ondelete="CASCADE"), primary_key=True
    )
    cause_service: Mapped[str | None] = mapped_column(String(256), nullable=True, index=True)
    cause_fault: Mapped[str | None] = mapped_column(String(32), nullable=True)
    fix: Mapped[str] = mapped_column(Text)
    notes: Mapped[str] = mapped_column(Text)
    resolved_at: Mapped[datetime] = mapped_column(UtcDateTime())
    resolved_by: Mapped[str] = mapped_column(String(256))
    is_actionable: Mapped[bool] = mapped_column(Boolean)


class FeedbackRow(Base):
    """An operator's confirmation or rejection of one hypothesis."""

    __tablename__ = "knowledge_feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(
        String(128), ForeignKey("knowledge_fingerprints.incident_id", ondelete="CASCADE"), index=True
    )
    service: Mapped[str] = mapped_column(String(256))
    fault: Mapped[str] = mapped_column(String(32))
    verdict: Mapped[str] = mapped_column(String(16))
    rank: Mapped[int | None] = mapped_column(Integer, nullable=True)
    given_at: Mapped[datetime] = mapped_column(UtcDateTime())
    given_by: Mapped[str] = mapped_column(String(256))
    note: Mapped[str] = mapped_column(Text)


class AlertOutcomeRow(Base):
    """Per alert name: resolved incidents it was part of, and how many needed action."""

    __tablename__ = "knowledge_alert_outcomes"

    alert: Mapped[str] = mapped_column(String(256), primary_key=True)
    incidents: Mapped[int] = mapped_column(Integer)
    actionable: Mapped[int] = mapped_column(Integer)


def _to_fingerprint(row: FingerprintRow) -> Fingerprint:
    return Fingerprint(
        incident_id=row.incident_id,
        title=row.title,
        symptom=ServiceId(row.symptom) if row.symptom else None,
        alerts=tuple(row.alerts),
        tokens=tuple(row.tokens),
        text=row.text,
        seen_at=row.seen_at,
        embedding=tuple(row.embedding) if row.embedding is not None else None,
    )


def _to_resolution(row: ResolutionRow) -> Resolution:
    return Resolution(
        incident_id=row.incident_id,
        cause_service=ServiceId(row.cause_service) if row.cause_service else None,
        cause_fault=FaultKind(row.cause_fault) if row.cause_fault else None,
        fix=row.fix,
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by,
        notes=row.notes,
        is_actionable=row.is_actionable,
    )


def _to_feedback(row: FeedbackRow) -> Feedback:
    return Feedback(
        incident_id=row.incident_id,
        service=ServiceId(row.service),
        fault=FaultKind(row.fault),
        verdict=FeedbackVerdict(row.verdict),
        given_at=row.given_at,
        given_by=row.given_by,
        rank=row.rank,
        note=row.note,
    )


class SqlKnowledgeBank:
    """The knowledge bank on the SQL state store (SQLite or PostgreSQL), a `ports.KnowledgeBank`."""

    def __init__(self, engine: Engine) -> None:
        self._sessions = session_factory(engine)

    def remember(self, fingerprint: Fingerprint) -> None:
        """Store (or replace) what an incident looked like."""
        with self._sessions.begin() as session:
            row = session.get(FingerprintRow, fingerprint.incident_id)
            if row is None:
                row = FingerprintRow(incident_id=fingerprint.incident_id)
                session.add(row)
            row.title = fingerprint.title[:512]
            row.symptom = fingerprint.symptom
            row.alerts = list(fingerprint.alerts)
            row.tokens = list(fingerprint.tokens)
            row.text = fingerprint.text
            row.seen_at = fingerprint.seen_at
            row.embedding = list(fingerprint.embedding) if fingerprint.embedding is not None else None

    def record_resolution(self, resolution: Resolution) -> None:
        """Record how an incident ended, replacing an earlier resolution and its alert counts."""
        with self._sessions.begin() as session:
            fingerprint = session.get(FingerprintRow, resolution.incident_id)
            if fingerprint is None:
                raise NotInKnowledgeBank(
                    f"incident {resolution.incident_id!r} has no fingerprint in the knowledge bank: "
                    "it must be investigated (its brief built) before it can be resolved"
                )
            row = session.get(ResolutionRow, resolution.incident_id)
            if row is not None:
                self._count_alerts(session, fingerprint.alerts, row.is_actionable, sign=-1)
            else:
                row = ResolutionRow(incident_id=resolution.incident_id)
                session.add(row)
            row.cause_service = resolution.cause_service
            row.cause_fault = resolution.cause_fault.value if resolution.cause_fault else None
            row.fix = resolution.fix
            row.notes = resolution.notes
            row.resolved_at = resolution.resolved_at
            row.resolved_by = resolution.resolved_by
            row.is_actionable = resolution.is_actionable
            self._count_alerts(session, fingerprint.alerts, resolution.is_actionable, sign=1)

    @staticmethod
    def _count_alerts(session: Session, alerts: list[str], is_actionable: bool, *, sign: int) -> None:
        for name in dict.fromkeys(alerts):
            row = session.get(AlertOutcomeRow, name)
            if row is None:
                row = AlertOutcomeRow(alert=name, incidents=0, actionable=0)
                session.add(row)
            row.incidents = max(0, row.incidents + sign)
            row.actionable = max(0, row.actionable + (sign if is_actionable else 0))

    def record_feedback(self, feedback: Feedback) -> None:
        """Record an operator's confirmation or rejection of one hypothesis."""
        with self._sessions.begin() as session:
            if session.get(FingerprintRow, feedback.incident_id) is None:
                raise NotInKnowledgeBank(
                    f"incident {feedback.incident_id!r} has no fingerprint in the knowledge bank: "
                    "feedback needs an investigated incident"
                )
            session.add(
                FeedbackRow(
                    incident_id=feedback.incident_id,
                    service=feedback.service,
                    fault=feedback.fault.value,
                    verdict=feedback.verdict.value,
                    rank=feedback.rank,
                    given_at=feedback.given_at,
                    given_by=feedback.given_by,
                    note=feedback.note,
                )
            )

    def past_incident(self, incident_id: str) -> PastIncident | None:
        """Return one incident's fingerprint, resolution and feedback, or None if unknown."""
        with self._sessions() as session:
            row = session.get(FingerprintRow, incident_id)
            if row is None:
                return None
            resolution = session.get(ResolutionRow, incident_id)
            feedback = session.scalars(
                select(FeedbackRow).where(FeedbackRow.incident_id == incident_id).order_by(FeedbackRow.id)
            ).all()
            return PastIncident(
                fingerprint=_to_fingerprint(row),
                resolution=_to_resolution(resolution) if resolution else None,
                feedback=tuple(_to_feedback(f) for f in feedback),
            )

    def knowledge(self) -> Knowledge:
        """Return every fingerprinted incident with its ending and feedback, and the alert outcomes."""
        with self._sessions() as session:
            fingerprints = session.scalars(
                select(FingerprintRow).order_by(FingerprintRow.seen_at, FingerprintRow.incident_id)
            ).all()
            resolutions = {r.incident_id: r for r in session.scalars(select(ResolutionRow))}
            feedback: dict[str, list[Feedback]] = {}
            for f in session.scalars(select(FeedbackRow).order_by(FeedbackRow.id)):
                feedback.setdefault(f.incident_id, []).append(_to_feedback(f))
            outcomes = session.scalars(select(AlertOutcomeRow).order_by(AlertOutcomeRow.alert)).all()
            past = tuple(
                PastIncident(
                    fingerprint=_to_fingerprint(row),
                    resolution=(
                        _to_resolution(resolutions[row.incident_id])
                        if row.incident_id in resolutions
                        else None
                    ),
                    feedback=tuple(feedback.get(row.incident_id, ())),
                )
                for row in fingerprints
            )
            return Knowledge(
                past=past,
                alerts=tuple(
                    AlertOutcome(o.alert, o.incidents, o.actionable) for o in outcomes if o.incidents
                ),
            )

    def forget(self, incident_id: str) -> None:
        """Remove an incident and everything recorded about it (its alert counts are corrected)."""
        with self._sessions.begin() as session:
            fingerprint = session.get(FingerprintRow, incident_id)
            if fingerprint is None:
                return
            resolution = session.get(ResolutionRow, incident_id)
            if resolution is not None:
                self._count_alerts(session, fingerprint.alerts, resolution.is_actionable, sign=-1)
            session.execute(delete(FeedbackRow).where(FeedbackRow.incident_id == incident_id))
            session.execute(delete(ResolutionRow).where(ResolutionRow.incident_id == incident_id))
            session.delete(fingerprint)
