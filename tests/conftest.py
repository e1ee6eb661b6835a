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
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, create_engine, text

from missioncontrol.storage.db import Base, create_db_engine, migrate

# CI runs on a shared 2-core machine: no per-example deadline (timing is for benchmarks), and the same
# examples every run, so a red CI names a real failure rather than a lucky draw.
hypothesis_settings.register_profile("ci", deadline=None, derandomize=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

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


class LoopbackReceiver:
    """A real HTTP server on 127.0.0.1 that records every request and can be told to fail some of them.

    `fail_every=2` answers every second request with `fail_status` (and `Retry-After: retry_after` when
    set); `received` keeps (method, path, headers, body) of every request, `delivered` only those answered
    with success (`ok_status`, `ok_body`).
    """

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.received: list[tuple[str, str, dict[str, str], bytes]] = []
        self.delivered: list[tuple[str, str, dict[str, str], bytes]] = []
        self.fail_every = 0
        self.fail_status = 503
        self.retry_after: str | None = None
        self.ok_status = 200
        self.ok_body = b"ok"
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                record = (self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                with receiver.lock:
                    receiver.received.append(record)
                    failing = receiver.fail_every and len(receiver.received) % receiver.fail_every == 0
                    if not failing:
                        receiver.delivered.append(record)
                if failing:
                    self.send_response(receiver.fail_status)
                    if receiver.retry_after is not None:
                        self.send_header("Retry-After", receiver.retry_after)
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                self.send_response(receiver.ok_status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(receiver.ok_body)))
                self.end_headers()
                self.wfile.write(receiver.ok_body)

            do_PUT = do_POST
            do_PATCH = do_POST
            do_DELETE = do_POST

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def loopback_receiver() -> Iterator[LoopbackReceiver]:
    """Yield a real HTTP receiver on loopback (see `LoopbackReceiver`)."""
    receiver = LoopbackReceiver()
    yield receiver
    receiver.close()
