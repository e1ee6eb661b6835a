"""`missionctl serve`: the live service (API, ingest, investigation worker) under uvicorn."""

import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich.console import Console

from missioncontrol import bootstrap
from missioncontrol.api.app import create_app
from missioncontrol.api.runtime import Runtime
from missioncontrol.cli.errors import fail
from missioncontrol.domain import MissionControlError
from missioncontrol.settings import Settings

console = Console(stderr=True)


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
    worker: Annotated[
        bool | None,
        typer.Option(
            "--worker/--no-worker",
            help="Group and investigate in this process (default), or leave it to `missionctl worker`.",
        ),
    ] = None,
) -> None:
    """Serve the API: alert webhooks in, incidents and briefs out (SQLite under the state dir by default)."""
    settings = Settings() if worker is None else Settings(run_worker=worker)
    runtime = _runtime(settings)
    where = (settings.database_url and "the configured database") or str(settings.state_dir / "state.db")
    token_hint = "" if settings.api_tokens else f" (bearer token in {settings.state_dir / 'api-token'})"
    console.print(f"Mission Control on [bold]http://{host}:{port}[/] — state in {where}{token_hint}")
    uvicorn.run(create_app(runtime), host=host, port=port, log_level=log_level, access_log=False)


def worker() -> None:
    """Group committed alerts and investigate incidents, beside a `serve --no-worker` on the same database."""
    settings = Settings(run_worker=True)
    console.print("Mission Control worker: grouping and investigating; Ctrl-C to stop")
    run_worker(settings, _runtime)


def run_worker(settings: Settings, build: Callable[[Settings], Runtime] = bootstrap.build_runtime) -> None:
    """Build the runtime and run its worker in this process until SIGINT or SIGTERM.

    At `settings.worker_nice`, because the server acknowledging alerts and this worker share the
    host's cores: measured with `bench --ingest --split-worker`, the server then kept more alerts/s
    (docs/benchmarks.md). Without contention the niceness changes nothing.
    """
    stop = threading.Event()  # set first: a SIGTERM while the runtime is built still stops cleanly
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    _lower_priority(settings.worker_nice)
    runtime = build(settings)
    for start in runtime.on_start:
        start()
    try:
        # Timed: a signal the kernel hands to another thread (chDB's, the grouper) only flags it for
        # the main thread, and an untimed wait never looks; the worker then ignored SIGTERM.
        while not stop.wait(timeout=0.5):
            pass
    finally:
        for halt in reversed(runtime.on_stop):
            halt()


def _lower_priority(by: int) -> None:
    # Linux keeps a niceness per thread and a new thread inherits its creator's: every thread there
    # is now (some were started at import, such as chDB's allocator's) is lowered, before building
    # the runtime starts the rest.
    if not by:
        return
    tasks = Path("/proc/self/task")
    for tid in [int(t.name) for t in tasks.iterdir()] if tasks.is_dir() else [0]:
        os.setpriority(os.PRIO_PROCESS, tid, min(os.getpriority(os.PRIO_PROCESS, tid) + by, 19))


def _runtime(settings: Settings) -> Runtime:
    """Build the service, or say on one line why it cannot start (exit 2)."""
    try:
        return bootstrap.build_runtime(settings)
    except MissionControlError as exc:
        raise fail(str(exc)) from None
