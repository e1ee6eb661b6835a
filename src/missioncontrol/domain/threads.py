"""Investigation threads: lines of inquiry an incident commander assigns to people and tracks."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class ThreadStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    DROPPED = "dropped"


@dataclass(frozen=True, slots=True)
class Thread:
    """One line of inquiry in an incident ("check the payments pool size"), who owns it, where it stands."""

    id: int
    incident_id: str
    title: str
    assignee: str
    status: ThreadStatus
    created_by: str
    created_at: datetime  # tz-aware, UTC
    updated_at: datetime
    note: str = ""
