"""Shared fixtures: a migrated state store on SQLite and on the real PostgreSQL server.

PostgreSQL is the server on 127.0.0.1:5432 that the machine (and CI, through `.ci/run`) runs. Each test
session creates its own database there, so engineers and CI runs on one machine never share state, and
drops it at the end. `MISSIONCONTROL_TEST_POSTGRES_URL` names the server's maintenance database.
"""

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from missioncontrol.storage.db import Base, create_db_engine, migrate

POSTGRES_ADMIN_URL = os.environ.get(
    "MISSIONCONTROL_TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/postgres"
)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """Create a fresh PostgreSQL database for this test session, migrate it, and drop it afterwards."""
    name = f"mc_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # the server is part of the test environment: say how to bring it up
        pytest.fail(
            f"PostgreSQL at {POSTGRES_ADMIN_URL} is not reachable ({exc}); `.ci/run` starts it and "
            "`make test` expects it, see README"
        )
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = create_db_engine(url)
    migrate(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_all(engine: Engine) -> None:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    if tables:
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """Yield a migrated, empty state store: once on SQLite, once on the real PostgreSQL server."""
    if request.param == "sqlite":
        engine = create_db_engine(f"sqlite:///{tmp_path / 'state.db'}")
        migrate(engine)
    else:
        engine = create_db_engine(request.getfixturevalue("postgres_url"))
        _truncate_all(engine)
    yield engine
    engine.dispose()
