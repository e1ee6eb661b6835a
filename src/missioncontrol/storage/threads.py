"""Investigation threads in the state store (the `web` migration branch): assign, track, close."""

from datetime import datetime

from sqlalchemy import Engine, Integer, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from missioncontrol.domain.errors import MissionControlError
from missioncontrol.domain.threads import Thread, ThreadStatus
from missioncontrol.storage.db import Base, session_factory
from missioncontrol.storage.tables_core import UtcDateTime


class NoSuchThread(MissionControlError):
    """The thread id names no thread of that incident."""


class ThreadRow(Base):
    """One investigation thread of one incident."""

    __tablename__ = "web_threads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(String(64), index=True)
    title: Mapped[str] = mapped_column(String(512))
    assignee: Mapped[str] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    note: Mapped[str] = mapped_column(Text, default="")

    def to_domain(self) -> Thread:
        """Return the row as a domain value."""
        return Thread(
            id=self.id,
            incident_id=self.incident_id,
            title=self.title,
            assignee=self.assignee,
            status=ThreadStatus(self.status),
            created_by=self.created_by,
            created_at=self.created_at,
            updated_at=self.updated_at,
            note=self.note,
        )


class ThreadStore:
    """Investigation threads on SQLite or PostgreSQL."""

    def __init__(self, engine: Engine) -> None:
        self._sessions = session_factory(engine)

    def open_thread(self, incident_id: str, *, title: str, assignee: str, by: str, at: datetime) -> Thread:
        """Start a thread on an incident, assigned to `assignee`; return it."""
        row = ThreadRow(
            incident_id=incident_id,
            title=title,
            assignee=assignee,
            status=ThreadStatus.OPEN.value,
            created_by=by,
            created_at=at,
            updated_at=at,
            note="",
        )
        with self._sessions.begin() as session:
            session.add(row)
            session.flush()
            return row.to_domain()

    def threads(self, incident_id: str) -> tuple[Thread, ...]:
        """Return the incident's threads, oldest first."""
        with self._sessions() as session:
            rows = session.scalars(
                select(ThreadRow).where(ThreadRow.incident_id == incident_id).order_by(ThreadRow.id)
            )
            return tuple(r.to_domain() for r in rows)

    def update_thread(
        self,
        incident_id: str,
        thread_id: int,
        *,
        at: datetime,
        status: ThreadStatus | None = None,
        assignee: str | None = None,
        note: str | None = None,
    ) -> Thread:
        """Reassign, annotate or close one thread; return it as it now stands."""
        with self._sessions.begin() as session:
            row = session.get(ThreadRow, thread_id)
            if row is None or row.incident_id != incident_id:
                raise NoSuchThread(f"no thread {thread_id} in incident {incident_id!r}")
            if status is not None:
                row.status = status.value
            if assignee is not None:
                row.assignee = assignee
            if note is not None:
                row.note = note
            row.updated_at = at
            session.flush()
            return row.to_domain()
