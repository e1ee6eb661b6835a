"""Storage adapters: the SQL state store (SQLAlchemy 2 + Alembic) and the telemetry store."""

# Every area's tables register on `db.Base` when imported, so the metadata always matches the migrations.
from missioncontrol.storage import (
    board,  # noqa: F401  (web: the board's brief summaries)
    knowledge,  # noqa: F401  (learn: the knowledge bank)
    respond,  # noqa: F401  (respond: action requests, approvals, audit log)
    tables_core,  # noqa: F401
    threads,  # noqa: F401  (web: investigation threads)
    world,  # noqa: F401  (world: catalog history, change log)
)
