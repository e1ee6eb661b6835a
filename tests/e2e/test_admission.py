"""Admission control over real HTTP: past the in-flight bound, ingest is shed at once with 503."""

import asyncio
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from missioncontrol.api.admission import AdmissionLimit
from missioncontrol.cli.live import free_port

LIMIT = 3


@pytest.fixture
def slow_server() -> Iterator[tuple[str, threading.Event]]:
    release = threading.Event()
    app = FastAPI()
    app.add_middleware(AdmissionLimit, limit=LIMIT)

    @app.post("/api/v1/alerts/alertmanager")
    async def held() -> dict[str, bool]:
        while not release.is_set():
            await asyncio.sleep(0.01)
        return {"ok": True}

    @app.get("/api/v1/incidents")
    async def reads() -> list[str]:
        return []

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}", release
    release.set()
    server.should_exit = True
    thread.join(timeout=10)


def test_requests_over_the_bound_are_shed_at_once_and_the_rest_are_served(
    slow_server: tuple[str, threading.Event],
) -> None:
    url, release = slow_server

    async def scenario() -> tuple[list[httpx.Response], httpx.Response, httpx.Response, float]:
        async with httpx.AsyncClient(base_url=url, timeout=20) as client:
            held = [
                asyncio.create_task(client.post("/api/v1/alerts/alertmanager", json={})) for _ in range(LIMIT)
            ]
            await asyncio.sleep(0.5)  # all LIMIT are in flight now
            started = time.monotonic()
            shed = await client.post("/api/v1/alerts/alertmanager", json={"alerts": []})
            shed_s = time.monotonic() - started
            read = await client.get("/api/v1/incidents")  # reads are never shed
            release.set()
            return list(await asyncio.gather(*held)), shed, read, shed_s

    held, shed, read, shed_s = asyncio.run(scenario())

    assert shed.status_code == 503
    assert shed.headers["retry-after"] == "1"
    assert "resend" in shed.json()["detail"]
    assert shed_s < 2.0, "the shed answer does not wait for the requests in flight"
    assert read.status_code == 200
    assert [r.status_code for r in held] == [200] * LIMIT
