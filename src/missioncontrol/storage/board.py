"""The board's reads, in a few set queries: grouping reasons by incident, and cached brief summaries.

A full brief is large (every evidence item with its query and window), and the board shows one line
of it. Summaries are kept in `web_brief_summaries` (the `web` migration branch), one row per incident
for the latest brief version seen; a newer version is summarised the first time the board meets it,
within a time budget per request, so one page never parses hundreds of briefs at once.
"""

import time
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Engine, Float, Integer, String, Table, and_, case, delete, func, insert, select
from sqlalchemy.orm import Mapped, mapped_column

from missioncontrol.domain.alerts import AlertStatus
from missioncontrol.domain.board import BriefSummary
from missioncontrol.domain.incidents import Brief, GroupingReason
from missioncontrol.storage.briefs import brief_from_json
from missioncontrol.storage.db import Base
from missioncontrol.storage.tables_core import AlertRow, BriefRow, GroupingReasonRow, IncidentRow

BRIEFS = cast(Table, BriefRow.__table__)
REASONS = cast(Table, GroupingReasonRow.__table__)
ALERTS = cast(Table, AlertRow.__table__)
CHUNK = 500  # ids per IN (...) list


class BriefSummaryRow(Base):
    """The latest summarised brief version of one incident."""

    __tablename__ = "web_brief_summaries"

    incident_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    suspect: Mapped[str] = mapped_column(String(256))
    fault: Mapped[str] = mapped_column(String(32))
    confidence: Mapped[float] = mapped_column(Float)
    owner: Mapped[str] = mapped_column(String(256))
    verdict: Mapped[str] = mapped_column(String(16))


SUMMARIES = cast(Table, BriefSummaryRow.__table__)


def summarize(brief: Brief) -> BriefSummary:
    """Return the board's line of `brief`."""
    top = brief.diagnosis.hypotheses[0] if brief.diagnosis.hypotheses else None
    return BriefSummary(
        incident_id=brief.incident_id,
        version=brief.version,
        suspect=top.service if top else "",
        fault=top.fault.value if top else "",
        confidence=brief.diagnosis.confidence_in(top.service) if top else 0.0,
        owner=brief.owner,
        verdict=brief.decision.verdict.value if brief.decision else "",
    )


def _chunks(ids: Sequence[str]) -> list[Sequence[str]]:
    return [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]


class SqlBoardReader:
    """Set queries for the board on the state store (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def grouping(
        self, incident_ids: Sequence[str], *, fingerprints: Collection[str] | None = None
    ) -> dict[str, tuple[GroupingReason, ...]]:
        """Return the grouping reasons of these incidents, oldest first, by incident: every one, or
        only those of `fingerprints` (the alerts the board shows; a storm's incident has 100,000)."""
        out: dict[str, list[GroupingReason]] = {}
        wanted = None if fingerprints is None else sorted(set(fingerprints))
        with self.engine.connect() as conn:
            for part in _chunks(incident_ids):
                query = select(REASONS).where(REASONS.c.incident_id.in_(part)).order_by(REASONS.c.id)
                if wanted is not None:
                    query = query.where(REASONS.c.fingerprint.in_(wanted))
                for r in conn.execute(query):
                    out.setdefault(r.incident_id, []).append(
                        GroupingReason(r.fingerprint, r.rule, r.explanation, _utc(r.at))
                    )
        return {k: tuple(v) for k, v in out.items()}

    def brief_summaries(
        self, incident_ids: Sequence[str], *, budget_s: float = 0.25
    ) -> dict[str, BriefSummary]:
        """Return the latest brief's summary per incident; summarise new versions within `budget_s`.

        Incidents whose newest brief is not summarised yet and did not fit in the budget get the last
        summary kept (an older version) or none; the next read continues where this one stopped.
        """
        latest: dict[str, int] = {}
        kept: dict[str, BriefSummary] = {}
        with self.engine.connect() as conn:
            for part in _chunks(incident_ids):
                versions = (
                    select(BRIEFS.c.incident_id, func.max(BRIEFS.c.version))
                    .where(BRIEFS.c.incident_id.in_(part))
                    .group_by(BRIEFS.c.incident_id)
                )
                for incident_id, version in conn.execute(versions):
                    latest[incident_id] = version
                for r in conn.execute(select(SUMMARIES).where(SUMMARIES.c.incident_id.in_(part))):
                    kept[r.incident_id] = BriefSummary(
                        r.incident_id, r.version, r.suspect, r.fault, r.confidence, r.owner, r.verdict
                    )
        stale = [i for i in incident_ids if i in latest and (i not in kept or kept[i].version != latest[i])]
        deadline = time.perf_counter() + budget_s
        fresh: list[BriefSummary] = []
        with self.engine.connect() as conn:
            for incident_id in stale:
                if time.perf_counter() > deadline:
                    break
                body = conn.execute(
                    select(BRIEFS.c.body).where(
                        and_(BRIEFS.c.incident_id == incident_id, BRIEFS.c.version == latest[incident_id])
                    )
                ).scalar()
                if body is not None:
                    fresh.append(summarize(brief_from_json(body)))
        if fresh:
            with self.engine.begin() as conn:
                conn.execute(
                    delete(SUMMARIES).where(SUMMARIES.c.incident_id.in_([s.incident_id for s in fresh]))
                )
                conn.execute(
                    insert(SUMMARIES),
                    [
                        {
                            "incident_id": s.incident_id,
                            "version": s.version,
                            "suspect": s.suspect,
                            "fault": s.fault,
                            "confidence": s.confidence,
                            "owner": s.owner,
                            "verdict": s.verdict,
                        }
                        for s in fresh
                    ],
                )
            kept.update({s.incident_id: s for s in fresh})
        return kept

    def mark(self) -> str:
        """Return a fingerprint of everything the board shows; it moves when any incident or brief does."""
        incidents = cast(Table, IncidentRow.__table__)
        with self.engine.connect() as conn:
            n, updated = conn.execute(select(func.count(), func.max(incidents.c.updated_at))).one()
            briefs = conn.execute(select(func.count()).select_from(BRIEFS)).scalar()
        return f"{n}|{updated}|{briefs}"

    def brief_versions(self, incident_id: str) -> tuple[tuple[int, datetime], ...]:
        """Return every stored brief version of the incident with when it was generated, oldest first."""
        query = (
            select(BRIEFS.c.version, BRIEFS.c.generated_at)
            .where(BRIEFS.c.incident_id == incident_id)
            .order_by(BRIEFS.c.version)
        )
        with self.engine.connect() as conn:
            return tuple((v, _utc(at)) for v, at in conn.execute(query))

    def first_brief_at(self, incident_ids: Sequence[str]) -> dict[str, datetime]:
        """Return when each incident's first brief was generated (for alert → brief times)."""
        out: dict[str, datetime] = {}
        with self.engine.connect() as conn:
            for part in _chunks(incident_ids):
                query = (
                    select(BRIEFS.c.incident_id, func.min(BRIEFS.c.generated_at))
                    .where(BRIEFS.c.incident_id.in_(part))
                    .group_by(BRIEFS.c.incident_id)
                )
                for incident_id, at in conn.execute(query):
                    out[incident_id] = _utc(at)
        return out

    def alert_totals(self, incident_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
        """Return how many alerts each incident holds, and how many of them fire (one set query)."""
        out: dict[str, tuple[int, int]] = {}
        with self.engine.connect() as conn:
            for part in _chunks(incident_ids):
                firing = func.sum(case((ALERTS.c.status == AlertStatus.FIRING.value, 1), else_=0))
                query = (
                    select(ALERTS.c.incident_id, func.count(), firing)
                    .where(ALERTS.c.incident_id.in_(part))
                    .group_by(ALERTS.c.incident_id)
                )
                for incident_id, total, fire in conn.execute(query):
                    out[incident_id] = (int(total), int(fire or 0))
        return out


def _utc(value: datetime) -> datetime:
    from datetime import UTC

    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
