"""`missionctl approve`, `missionctl audit verify|list`, `missionctl policy check`, `missionctl page-bench`.

`approve` and `audit` talk to the state database from settings (the one `missionctl serve` uses) and
the policy at `MISSIONCONTROL_POLICY_PATH`; `approve` authenticates the caller as a policy principal
by their token (`--token` or `MISSIONCONTROL_TOKEN`), exactly as the API does.
"""

import hashlib
import hmac
import json
import statistics
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from missioncontrol import bootstrap
from missioncontrol.cli.errors import errors, fail
from missioncontrol.domain import MissionControlError
from missioncontrol.domain.respond import Policy, PolicyError, Principal
from missioncontrol.settings import Settings

console = Console()
audit_app = typer.Typer(help="Read and verify the hash-chained audit log.", no_args_is_help=True)
policy_app = typer.Typer(help="Check a response policy file.", no_args_is_help=True)

TokenOption = Annotated[
    str,
    typer.Option(
        "--token",
        envvar="MISSIONCONTROL_TOKEN",
        help="Your principal token (policy token_sha256).",
        show_default=False,
    ),
]


def _policy(settings: Settings) -> Policy:
    try:
        policy = bootstrap.build_policy(settings)
    except PolicyError as exc:
        raise fail(str(exc)) from None
    if policy is None:
        raise fail("no policy configured: set MISSIONCONTROL_POLICY_PATH (see docs/policy.md)")
    return policy


def _principal(policy: Policy, token: str) -> Principal:
    digest = hashlib.sha256(token.strip().encode()).hexdigest()
    found = None
    for p in policy.principals:
        if p.token_sha256 and hmac.compare_digest(p.token_sha256, digest):
            found = p
    if found is None:
        raise fail(f"the token is not a principal's in {policy.path}")
    return found


def approve(
    action_id: Annotated[str, typer.Argument(help="The action request id (act-...).")],
    token: TokenOption = "",
    args_sha256: Annotated[
        str | None, typer.Option("--args-sha256", help="The arguments hash you reviewed (from the request).")
    ] = None,
) -> None:
    """Approve an action request as the principal your token names."""
    if not token:
        raise fail("give your principal token with --token or MISSIONCONTROL_TOKEN")
    settings = Settings()
    policy = _policy(settings)
    who = _principal(policy, token)
    db = bootstrap.open_action_ledger(settings).engine
    desk = bootstrap.build_action_desk(settings, policy, db=db)
    try:
        request = desk.get(action_id)
        console.print(
            f"{request.action} on {request.service} for {request.incident_id}, requested by "
            f"{request.requested_by}: {dict(request.args)} (args_sha256 {request.args_sha256[:12]}…)"
        )
        approval = desk.approve(who, action_id, args_sha256=args_sha256)
        status = desk.get(action_id).status
    except MissionControlError as exc:
        raise fail(str(exc)) from None
    finally:
        db.dispose()
    console.print(
        f"[green]approved[/] by {who.name}, valid until {approval.expires_at.isoformat(timespec='seconds')}; "
        f"request is now {status}"
    )


@audit_app.command("verify")
def audit_verify() -> None:
    """Re-hash the whole audit chain; exit 1 naming the first entry that does not verify."""
    ledger = bootstrap.open_action_ledger(Settings())
    try:
        result = ledger.verify()
    finally:
        ledger.engine.dispose()
    if not result.is_intact:
        raise fail(f"audit log does NOT verify after {result.entries} good entries: {result.problem}", code=1)
    console.print(f"[green]audit log verifies[/]: {result.entries} entries, head {result.head_hash}")


@audit_app.command("list")
def audit_list(
    after: Annotated[int, typer.Option("--after", help="Show entries after this seq.")] = 0,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10000)] = 50,
) -> None:
    """Show audit entries, oldest first."""
    table = Table("seq", "at", "actor", "event", "subject", "details")
    ledger = bootstrap.open_action_ledger(Settings())
    try:
        entries = ledger.entries(after_seq=after, limit=limit)
    finally:
        ledger.engine.dispose()
    for e in entries:
        details = json.dumps(e.details, sort_keys=True)
        table.add_row(
            str(e.seq), e.at.isoformat(timespec="seconds"), e.actor, e.event, e.subject, details[:120]
        )
    console.print(table)


@policy_app.command("check")
def policy_check(file: Annotated[Path, typer.Argument(help="The policy YAML file.")]) -> None:
    """Validate a policy file; print every problem with its YAML path."""
    try:
        policy = bootstrap.read_policy_file(file)
    except PolicyError as exc:
        for where, what in exc.problems:
            errors.print(escape(f"{exc.path}: {where + ': ' if where else ''}{what}"))
        raise typer.Exit(code=2) from None
    console.print(
        f"{file}: [green]ok[/] — {len(policy.tiers)} tiers, {len(policy.teams)} teams, "
        f"{len(policy.principals)} principals, {len(policy.actions)} actions, {len(policy.rules)} rules"
    )


class _PageReceiver:
    """A dry-run PagerDuty receiver on loopback: answers 202 and notes when each trigger arrived."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, str]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                event = json.loads(body or b"{}")
                if event.get("event_action") == "trigger":
                    receiver.arrivals.append((time.monotonic(), str(event.get("dedup_key"))))
                self.send_response(202)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: object) -> None:  # noqa: ARG002  (quiet)
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def alert_to_page_latencies(count: int, *, workdir: Path, timeout_s: float = 30.0) -> list[float]:
    """Return, per alert, seconds from POSTing an Alertmanager webhook to its PagerDuty trigger arriving.

    The whole live service runs (uvicorn, SQLite, grouping, investigation with no LLM, the sample
    policy's decision, dispatch) and pages a dry-run receiver on loopback. Alerts are sent one at a
    time, each on its own service so each opens its own incident.
    """
    import httpx
    import uvicorn
    from pydantic import SecretStr

    from missioncontrol.api.app import create_app

    receiver = _PageReceiver()
    token = "bench-token"
    settings = Settings(
        state_dir=workdir,
        database_url=f"sqlite:///{workdir / 'state.db'}",
        api_tokens=[SecretStr(token)],
        policy_path=bootstrap.sample_policy_path(),
        pagerduty_routing_key=SecretStr("B" * 32),
        pagerduty_events_url=receiver.url + "/v2/enqueue",
        outbound_allow_hosts=["127.0.0.1"],
        outbound_allow_loopback=True,
    )
    runtime = bootstrap.build_runtime(settings)
    server = uvicorn.Server(uvicorn.Config(create_app(runtime), host="127.0.0.1", port=0, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    base = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    latencies: list[float] = []
    try:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
            for i in range(count):
                seen = len(receiver.arrivals)
                alert = {
                    "status": "firing",
                    "labels": {
                        "alertname": "HighLatency",
                        "service": f"bench-svc-{i}",
                        "severity": "critical",
                    },
                    "annotations": {"summary": f"bench-svc-{i} is slow"},
                    "startsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "endsAt": "0001-01-01T00:00:00Z",
                    "fingerprint": f"bench-{i:05d}",
                }
                body = {
                    "version": "4",
                    "status": "firing",
                    "receiver": "mc",
                    "groupKey": f"{{}}:{i}",
                    "alerts": [alert],
                }
                sent = time.monotonic()
                response = client.post("/api/v1/alerts/alertmanager", json=body)
                response.raise_for_status()
                deadline = sent + timeout_s
                while len(receiver.arrivals) <= seen and time.monotonic() < deadline:
                    time.sleep(0.002)
                if len(receiver.arrivals) <= seen:
                    raise MissionControlError(f"alert {i}: no page within {timeout_s:g} s")
                latencies.append(receiver.arrivals[seen][0] - sent)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        receiver.close()
    return latencies


def page_bench(
    count: Annotated[
        int, typer.Option("--count", min=1, max=10000, help="Alerts to send, one at a time.")
    ] = 50,
) -> None:
    """Time alert received → page sent through the whole live service (dry-run receiver on loopback)."""
    with tempfile.TemporaryDirectory(prefix="mc-page-bench-") as tmp:
        try:
            latencies = alert_to_page_latencies(count, workdir=Path(tmp))
        except MissionControlError as exc:
            raise fail(str(exc)) from None
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    console.print(
        f"alert → page over {len(latencies)} alerts: p50 {statistics.median(latencies) * 1000:.0f} ms, "
        f"p99 {p99 * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms (target p99 ≤ 2000 ms)"
    )
