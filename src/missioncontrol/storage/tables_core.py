"""The `core` area's tables: alerts (with the unprocessed marker), incidents, grouping reasons, briefs."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from missioncontrol.storage.db import Base


class UtcDateTime(TypeDecorator[datetime]):
    """A tz-aware UTC datetime on both servers (SQLite keeps no offset, so it is put back on read)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the state store keeps tz-aware UTC times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:  # noqa: ARG002
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class AlertRow(Base):
    """One alert as committed; (fingerprint, starts_at) is its identity, so a resend is no new row."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("fingerprint", "starts_at", name="uq_alerts_fingerprint_starts_at"),
        Index("ix_alerts_unprocessed", "is_processed", "starts_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    fingerprint: Mapped[str] = mapped_column(String(128))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime())
    name: Mapped[str] = mapped_column(String(256))
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    service: Mapped[str | None] = mapped_column(String(256), nullable=True)
    signal: Mapped[str] = mapped_column(String(256))
    summary: Mapped[str] = mapped_column(Text)
    labels: Mapped[dict[str, str]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # The unprocessed marker: False from commit until a grouping decision for it is recorded.
    is_processed: Mapped[bool] = mapped_column(Boolean, default=False)
    incident_id: Mapped[str | None] = mapped_column(
        String(64), ForeignKey("incidents.id"), nullable=True, index=True
    )


class IncidentRow(Base):
    __tablename__ = "incidents"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(512))
    status: Mapped[str] = mapped_column(String(16), index=True)
    severity: Mapped[str] = mapped_column(String(16))
    symptom: Mapped[str | None] = mapped_column(String(256), nullable=True)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class GroupingReasonRow(Base):
    __tablename__ = "grouping_reasons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(String(64), ForeignKey("incidents.id"), index=True)
    fingerprint: Mapped[str] = mapped_column(String(128))
    rule: Mapped[str] = mapped_column(String(32))
    explanation: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class BriefRow(Base):
    """One version of an incident's brief, the `Brief` as JSON (see `storage.briefs`)."""

    __tablename__ = "briefs"

    incident_id: Mapped[str] = mapped_column(String(64), ForeignKey("incidents.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    generated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
