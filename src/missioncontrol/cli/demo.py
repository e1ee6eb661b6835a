"""`missionctl demo`: the whole loop on this machine — server up, estate sends, incident opens, brief printed.

    server (uvicorn, 127.0.0.1, SQLite + chDB in a temporary state dir)
      ◄── Backstage catalog, CDEvents deploy, OTLP/JSON metrics, logs, spans, Alertmanager alert
      ──► incident opened by the worker, investigated, brief stored ──► printed here; server stays up

The estate's catalog (`catalog-info.yaml` from the simulator: owners, systems, tiers, teams) names the
owning team of the suspected cause, and the shipped sample policy decides and pages that team (dry run).
`--once` exits after printing (tests, CI); `--offline` runs the engine on the case directly, no server,
and takes the owner and decision from the same catalog and policy.
"""

import json
import logging
import shutil
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from missioncontrol import bootstrap
from missioncontrol.cli.errors import fail
from missioncontrol.cli.live import InProcessServer
from missioncontrol.cli.render import brief, brief_outcome
from missioncontrol.cli.serialize import diagnosis_to_dict
from missioncontrol.domain import IncidentId, MissionControlError
from missioncontrol.loop import CaseSender, LiveResult
from missioncontrol.settings import Settings

console = Console()


def quiet_http_logs() -> None:
    """Keep per-request client and server logs off the terminal the brief is printed on."""
    for name in ("httpx", "httpcore", "uvicorn", "uvicorn.error", "mcp"):
        logging.getLogger(name).setLevel(logging.WARNING)


def sent_summary(result: LiveResult) -> str:
    """Return one line saying what went over the wire."""
    s = result.sent
    return (
        f"Sent over HTTP: {s.get('catalog', 0)} catalog components (Backstage YAML), "
        f"{s.get('changes', 0)} deploy(s) (CDEvents), {s.get('metric_points', 0):,} metric points, "
        f"{s.get('logs', 0):,} log records and {s.get('spans', 0):,} spans (OTLP/JSON), then 1 alert "
        f"(Alertmanager v4) — {result.requests} requests in {result.send_s:.1f} s."
    )


def demo(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the stored brief (or diagnosis) as JSON.")
    ] = False,
    once: Annotated[bool, typer.Option("--once", help="Exit after printing the brief (tests, CI).")] = False,
    offline: Annotated[
        bool, typer.Option("--offline", help="No server: run the engine on the case directly.")
    ] = False,
    port: Annotated[int, typer.Option("--port", help="Port on 127.0.0.1 (default: a free one).")] = 0,
    state_dir: Annotated[
        Path | None, typer.Option("--state-dir", help="Keep state here (default: a temporary folder).")
    ] = None,
) -> None:
    """Start the service, send it the simulated estate's incident over HTTP, and print the brief."""
    if offline:
        return _offline(as_json)
    quiet_http_logs()
    labeled = bootstrap.the_demo_case()
    temporary = state_dir is None
    folder = state_dir or Path(tempfile.mkdtemp(prefix="missioncontrol-demo-"))
    # The shipped example policy gives the brief its decision (act or escalate, whom to page); pages and
    # Slack posts are dry runs: recorded, never sent.
    settings = Settings(
        state_dir=folder,
        database_url=None,
        telemetry_url=None,
        policy_path=bootstrap.sample_policy_path(),
        notify_dry_run=True,
    )
    server = InProcessServer(settings, port=port)
    try:
        if not as_json:
            console.print(f"[dim]Starting Mission Control on 127.0.0.1 (state in {folder}) …[/]")
        started = time.perf_counter()
        server.start()
        up_s = time.perf_counter() - started
        with CaseSender(server.url, server.token, bootstrap.wire_formats()) as sender:
            result = sender.drive(labeled.case, timeout_s=120, catalog_yaml=bootstrap.the_demo_catalog())
        assert server.runtime is not None and result.incident_id is not None
        stored = server.runtime.briefs.latest_brief(IncidentId(result.incident_id))
        if stored is None:  # the poller saw it over HTTP, so the store has it
            raise MissionControlError(f"incident {result.incident_id} lost its brief")
        if as_json:
            console.print_json(json.dumps(result.brief))
        else:
            console.print(f"[dim]Server up in {up_s:.1f} s at {server.url}[/]")
            console.print(f"[dim]{sent_summary(result)}[/]")
            shown = replace(
                labeled.case, id=result.incident_id, description="live incident from the demo estate"
            )
            brief(console, shown, stored.diagnosis, truth=labeled.truth)
            brief_outcome(console, stored)
            console.print(
                f"[dim]Alert sent → brief stored and served after {result.client_latency_s:.2f} s "
                f"(diagnosis done {result.latency_s:.2f} s after the alert was received; the rest is "
                "the brief's enrichers and storing it).[/]"
            )
        if once:
            return None
        token_file = folder / "api-token"
        console.print(
            f"\nMission Control is up at [bold]{server.url}[/] — board at {server.url}/, API docs at "
            f"{server.url}/docs\n"
            f'  curl -H "Authorization: Bearer $(cat {token_file})" {server.url}/api/v1/incidents\n'
            "Press Ctrl-C to stop."
        )
        server.wait()
    except MissionControlError as exc:
        raise fail(str(exc)) from None
    finally:
        server.stop()
        if temporary:
            shutil.rmtree(folder, ignore_errors=True)
    return None


def _offline(as_json: bool) -> None:
    settings = Settings()
    labeled = bootstrap.the_demo_case()
    engine = bootstrap.build_engine(settings)
    started = time.perf_counter()
    diagnosis = engine.diagnose(labeled.case)
    elapsed = time.perf_counter() - started
    if as_json:
        console.print_json(json.dumps(diagnosis_to_dict(diagnosis)))
        return
    brief(console, labeled.case, diagnosis, truth=labeled.truth)
    # The same catalog and sample policy as the live demo name the owner and the decision.
    brief_outcome(console, bootstrap.offline_demo_brief(labeled, diagnosis, at=datetime.now(UTC)))
    console.print(f"[dim]Diagnosed in {elapsed:.2f} s.[/]")
