"""The state store's engine, declarative base and migrations. SQLite by default, PostgreSQL in production.

Every table is declared on `Base` (one `MetaData`) and created only by Alembic migrations, never by
`create_all`, so SQLite and PostgreSQL always have the schema the migrations say.

Migrations live in `storage/migrations/versions/` as independent Alembic *branches*, one per area of
the state (`core`: alerts and incidents; `respond`: policy decisions, approvals, audit; `knowledge`:
resolutions and feedback; ...). Each branch is a linear chain whose first revision carries
`branch_labels = ("<area>",)`; a branch that needs another's tables names that revision in
`depends_on`. `migrate` upgrades to `heads`, so areas grow without fighting over one chain.
"""

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, MetaData, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# Named constraints, so Alembic can alter them on SQLite (batch mode) and PostgreSQL alike.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every state-store table."""

    metadata = MetaData(naming_convention=NAMING)


def create_db_engine(url: str) -> Engine:
    """Return an engine for `url`; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    # WAL lets readers run beside the one writer; synchronous=FULL makes a commit durable before we
    # acknowledge it (an accepted alert must survive a crash).
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def alembic_config(engine: Engine) -> Config:
    """Return an Alembic config that runs our migrations against `engine`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema up to date: every branch to its head."""
    command.upgrade(alembic_config(engine), "heads")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Return the session factory for `engine` (objects stay readable after commit)."""
    return sessionmaker(engine, expire_on_commit=False)
