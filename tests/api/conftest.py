"""A live server for API tests: `create_app(build_runtime(...))` under uvicorn on a loopback port."""

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from pydantic import SecretStr
from sqlalchemy import Engine

from missioncontrol import bootstrap
from missioncontrol.api.app import create_app
from missioncontrol.api.runtime import Runtime
from missioncontrol.settings import Settings

TOKEN = "test-token-not-secret"
HMAC_SECRET = "hmac-secret-for-tests"


@dataclass
class Live:
    url: str
    runtime: Runtime
    client: httpx.Client

    def wait_for(self, what: str, check: "object", timeout_s: float = 20.0) -> object:
        """Poll `check()` until truthy (bounded); fail naming `what`."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            value = check()  # type: ignore[operator]
            if value:
                return value
            time.sleep(0.05)
        pytest.fail(f"timed out after {timeout_s} s waiting for {what}")


def serve_in_thread(runtime: Runtime) -> tuple[uvicorn.Server, threading.Thread, str]:
    """Start uvicorn on 127.0.0.1 (a free port) in a thread; return it once it accepts connections."""
    config = uvicorn.Config(create_app(runtime), host="127.0.0.1", port=0, log_level="error", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start within 20 s")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, thread, f"http://127.0.0.1:{port}"


def make_settings(tmp_path: Path, url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "state_dir": tmp_path / "state",
        "database_url": url,
        "api_tokens": [SecretStr(TOKEN)],
        "webhook_hmac_secret": SecretStr(HMAC_SECRET),
        "workers": 1,
        "investigation_workers": 1,
        "brief_refresh_s": 0.5,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def _running(tmp_path: Path, url: str) -> Iterator[Live]:
    runtime = bootstrap.build_runtime(make_settings(tmp_path, url))
    server, thread, base = serve_in_thread(runtime)
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as client:
        yield Live(base, runtime, client)
    server.should_exit = True
    thread.join(timeout=30)


@pytest.fixture
def live(db_engine: Engine, tmp_path: Path) -> Iterator[Live]:
    """Yield a running server on the test's database (SQLite, then PostgreSQL)."""
    yield from _running(tmp_path, db_engine.url.render_as_string(hide_password=False))


@pytest.fixture
def live_sqlite(tmp_path: Path) -> Iterator[Live]:
    """Yield a running server on a fresh SQLite state store (for tests where one database is enough)."""
    yield from _running(tmp_path, f"sqlite:///{tmp_path / 'state.db'}")
